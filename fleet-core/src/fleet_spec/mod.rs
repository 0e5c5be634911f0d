//! What clusters a fleet should have: [`FleetSpec`] templates and placements, and self-service
//! [`EnvironmentRequest`]s under [`TeamPolicy`] quotas and guardrails. Pure: no IO.

mod failover_policy;
mod request;
mod spec;

pub use failover_policy::{FailoverPolicy, Fallback, OnReturn};
pub use request::{EnvironmentRequest, Quota, Rejection, TeamPolicy, Usage};
pub use spec::{AntiAffinity, DesiredCluster, DesiredFleet, FleetSpec, PlacementSpec, Template, cluster_id};
