//! [`MoveReport`]: the record of one failover move, as the state store keeps it.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::{ClusterIdentity, Location};

/// One logical cluster moved by failover, as the report shows it and the state store keeps it
/// ([`StateStore::put_failover_move`](crate::store::StateStore::put_failover_move)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MoveReport {
    /// The logical cluster.
    pub identity: ClusterIdentity,
    /// When its first failed check was, by the engine's clock: with `identity`, what names
    /// the move.
    pub started_at: SystemTime,
    /// Its template.
    pub template: String,
    /// Its priority.
    pub priority: i32,
    /// Where it was lost.
    pub from: Location,
    /// Where it went.
    pub to: Location,
    /// From its first failed check to the judgement that it was lost.
    #[serde(with = "crate::serde_duration")]
    pub detection: Duration,
    /// From its first failed check to the placement decision (detection plus any wait for the
    /// template's parallel-failover limit).
    #[serde(with = "crate::serde_duration")]
    pub decided_after: Duration,
    /// From the decision to the replacement serving as the active placement.
    #[serde(with = "crate::serde_opt_duration")]
    pub create_time: Option<Duration>,
    /// From its first failed check to the replacement serving.
    #[serde(with = "crate::serde_opt_duration")]
    pub recovery_time: Option<Duration>,
    /// The earliest it could have served again: detection, the wait for the API budget and
    /// operation slots, and the provider's typical create latency (a create faster than
    /// typical can finish before it).
    #[serde(with = "crate::serde_duration")]
    pub lower_bound: Duration,
    /// The recovery time objective of its template.
    #[serde(with = "crate::serde_duration")]
    pub rto: Duration,
    /// Whether it has moved back to its home since.
    pub failed_back: bool,
}

impl MoveReport {
    /// `started_at` in milliseconds since the epoch: with `identity`, what a state store keys
    /// the move by, so that moves sort as they began.
    pub fn started_millis(&self) -> u64 {
        self.started_at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }

    /// Whether it served again within its RTO (`false` while it has not yet).
    pub fn within_rto(&self) -> bool {
        self.recovery_time.is_some_and(|took| took <= self.rto)
    }
}
