//! Accepted self-service environments: what a team was promised, kept in the state store until
//! its TTL ends or the team deletes it, so that no reload of the repository, restart or crash
//! loses it.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::ClusterId;
use crate::fleet_spec::{DesiredCluster, EnvironmentRequest};

/// A self-service environment the fleet accepted: the request as the team made it and the
/// cluster it was scheduled as. The engine wants the cluster for as long as the record is
/// stored, whatever desired fleet it is given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AcceptedEnvironment {
    /// The request as the team made it.
    pub request: EnvironmentRequest,
    /// The cluster it was scheduled as (its spec carries the team and the TTL).
    pub cluster: DesiredCluster,
    /// When it was accepted, by the engine's clock.
    pub accepted_at: SystemTime,
}

impl AcceptedEnvironment {
    /// The environment `request` accepted `at` as `cluster`.
    pub fn new(request: EnvironmentRequest, cluster: DesiredCluster, at: SystemTime) -> Self {
        Self { request, cluster, accepted_at: at }
    }

    /// Its cluster's id (the request's name).
    pub fn id(&self) -> &ClusterId {
        &self.cluster.spec.id
    }
}
