//! Blueprints: layered, versioned cluster definitions with typed variables.
//!
//! Layers are merged in order; a layer may lock settings so that no later layer changes them
//! (that is how operations' policies hold everywhere). The resolved settings are hashed into a
//! [`crate::BlueprintVersion`]. Pure: no IO (the `fleet_core::repository` loader reads files).

mod layer;
mod resolve;
mod settings;
mod variables;

pub use layer::{Blueprint, Layer, Owner};
pub use resolve::ResolvedBlueprint;
pub use settings::{Addon, BlueprintInstance, PoolSettings, ProviderOverrides, SETTING_KEYS, Settings};
pub use variables::{VariableDecl, VariableProblems, VariableType, bind_variables, substitute};
