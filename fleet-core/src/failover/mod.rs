//! Failover, part one: health checks and loss detection.
//!
//! A [`HealthCheck`] says whether a cluster serves ([`PhaseAndProbe`] combines the provider's
//! phase with a probe of the API server). A [`LossDetector`] turns checks over time into
//! judgements that a cluster, a region or a whole provider is lost, after configurable
//! consecutive failures and grace periods.

mod detect;
mod health;

pub use detect::{Location, Loss, LossDetector, LossThresholds};
pub use health::{ApiProbe, Health, HealthCheck, PhaseAndProbe};
