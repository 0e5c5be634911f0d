//! What failover did: per moved cluster, when the loss began and was judged, when the move was
//! decided and finished, against the recovery time objective and the lower bound.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::store::MoveReport;
use crate::{ClusterId, ClusterIdentity, Location, format_duration};

/// An old cluster left where it was lost, to be deleted once its place answers again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AwaitingCleanup {
    /// Its name at its provider.
    pub cluster: ClusterId,
    /// The logical cluster it served.
    pub identity: ClusterIdentity,
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
    pub degraded: BTreeMap<ClusterIdentity, String>,
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
            if !old.identity.is_named(&old.cluster) {
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
