//! Failover: health checks, loss detection, and choosing new placements.
//!
//! A [`HealthCheck`] says whether a cluster serves ([`PhaseAndProbe`] combines the provider's
//! phase with a probe of the API server). A [`LossDetector`] turns checks over time into
//! judgements that a cluster, a region or a whole provider is lost, after configurable
//! consecutive failures and grace periods. [`choose_placements`] picks where lost clusters
//! go: ordered fallbacks, anti-affinity, capacity and quotas, higher priority first.

mod detect;
mod health;
mod placement;

pub use detect::{Location, Loss, LossDetector, LossThresholds};
pub use health::{ApiProbe, Health, HealthCheck, PhaseAndProbe};
pub(crate) use placement::relocate;
pub use placement::{Decision, Displaced, FailoverPolicy, Fallback, OnReturn, PlacementView, Room, choose_placements};
