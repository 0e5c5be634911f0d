//! What failover did: per moved cluster, when the loss began and was judged, when the move was
//! decided and finished, against the recovery time objective and the lower bound.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::Location;
use crate::{ClusterId, format_duration};

/// One logical cluster moved by failover, as the report shows it and the state store keeps it
/// ([`StateStore::put_failover_move`](crate::store::StateStore::put_failover_move)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MoveReport {
    /// The logical cluster.
    pub identity: ClusterId,
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

/// An old cluster left where it was lost, to be deleted once its place answers again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AwaitingCleanup {
    /// Its name at its provider.
    pub cluster: ClusterId,
    /// The logical cluster it served.
    pub identity: ClusterId,
    /// Where it is.
    pub location: Location,
}

/// Everything failover did since the controller started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FailoverReport {
    /// Every move, ordered by when its loss began, then by identity.
    pub moves: Vec<MoveReport>,
    /// Lost clusters that could not be placed, with the reason.
    pub degraded: BTreeMap<ClusterId, String>,
    /// Old clusters not yet deleted because their place does not answer.
    pub awaiting_cleanup: Vec<AwaitingCleanup>,
    /// From the first failed check to the last move finishing; `None` while any is under way.
    #[serde(with = "crate::serde_opt_duration")]
    pub recovery_time: Option<Duration>,
    /// The lower bound of that recovery time: the latest of the moves' lower bounds, from the
    /// same start.
    #[serde(with = "crate::serde_opt_duration")]
    pub lower_bound: Option<Duration>,
}

impl FailoverReport {
    /// Whether every move finished within its RTO.
    pub fn all_within_rto(&self) -> bool {
        self.moves.iter().all(MoveReport::within_rto)
    }
}

impl fmt::Display for FailoverReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |d: Option<Duration>| d.map_or_else(|| "-".to_owned(), format_duration);
        writeln!(
            f,
            "{:<28} {:<22} {:<22} {:>9} {:>9} {:>9} {:>9} {:>6}",
            "cluster", "from", "to", "detect", "create", "recovery", "bound", "rto"
        )?;
        for m in &self.moves {
            writeln!(
                f,
                "{:<28} {:<22} {:<22} {:>9} {:>9} {:>9} {:>9} {:>6}",
                m.identity.as_str(),
                m.from.to_string(),
                m.to.to_string(),
                format_duration(m.detection),
                text(m.create_time),
                text(m.recovery_time),
                format_duration(m.lower_bound),
                if m.within_rto() { "met" } else { "missed" },
            )?;
        }
        for (identity, reason) in &self.degraded {
            writeln!(f, "degraded {identity}: {reason}")?;
        }
        for old in &self.awaiting_cleanup {
            write!(f, "awaiting cleanup: `{}`", old.cluster)?;
            if old.cluster != old.identity {
                write!(f, " (of {})", old.identity)?;
            }
            writeln!(f, " at {}", old.location)?;
        }
        write!(
            f,
            "{} moved, {} degraded; recovery {} against a lower bound of {}",
            self.moves.len(),
            self.degraded.len(),
            text(self.recovery_time),
            text(self.lower_bound)
        )
    }
}
