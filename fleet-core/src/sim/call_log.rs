//! The simulated cloud's record of every call, for assertions and for replaying failures.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::{ClusterId, ErrorKind, FleetName};

/// A provider operation, as the simulator counts and faults it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Operation {
    /// [`ClusterProvider::create`](crate::ClusterProvider::create).
    Create,
    /// [`ClusterProvider::get`](crate::ClusterProvider::get), or the describe it starts with.
    Get,
    /// One call of a list: the whole list, or one page of it (see [`super::ApiShape`]).
    List,
    /// A describe of one listed cluster, which a list makes where the API lists names only.
    Describe,
    /// The list of one cluster's node pools, where the API keeps them apart.
    ListNodePools,
    /// A describe of one node pool, where the API keeps them apart.
    DescribeNodePool,
    /// [`ClusterProvider::update`](crate::ClusterProvider::update).
    Update,
    /// [`ClusterProvider::delete`](crate::ClusterProvider::delete).
    Delete,
    /// [`ClusterProvider::credentials`](crate::ClusterProvider::credentials).
    Credentials,
    /// [`ClusterProvider::hibernate`](crate::ClusterProvider::hibernate).
    Hibernate,
    /// [`ClusterProvider::resume`](crate::ClusterProvider::resume).
    Resume,
    /// [`ClusterProvider::team_credentials`](crate::ClusterProvider::team_credentials).
    TeamCredentials,
    /// [`ClusterProvider::room`](crate::ClusterProvider::room).
    Room,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 13] = [
        Operation::Create,
        Operation::Get,
        Operation::List,
        Operation::Describe,
        Operation::ListNodePools,
        Operation::DescribeNodePool,
        Operation::Update,
        Operation::Delete,
        Operation::Credentials,
        Operation::Hibernate,
        Operation::Resume,
        Operation::TeamCredentials,
        Operation::Room,
    ];

    /// Whether the operation changes anything (and so counts against the write rate limit).
    pub fn is_write(&self) -> bool {
        !matches!(
            self,
            Operation::Get
                | Operation::List
                | Operation::Describe
                | Operation::ListNodePools
                | Operation::DescribeNodePool
                | Operation::Credentials
                | Operation::Room
        )
    }

    /// Lowercase name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Get => "get",
            Operation::List => "list",
            Operation::Describe => "describe",
            Operation::ListNodePools => "list_node_pools",
            Operation::DescribeNodePool => "describe_node_pool",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Credentials => "credentials",
            Operation::Hibernate => "hibernate",
            Operation::Resume => "resume",
            Operation::TeamCredentials => "team_credentials",
            Operation::Room => "room",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a simulated call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum CallOutcome {
    /// It succeeded and the caller was told so.
    Ok,
    /// It failed without effect.
    Failed(ErrorKind),
    /// It took effect, but the response was lost: the caller saw an error.
    ResponseLost,
    /// The cloud's own rate limit refused it: the caller went over the API budget (and saw
    /// [`crate::Error::RateLimited`]). Throttling injected as a fault is `Failed` instead.
    OverBudget,
}

/// One call to a simulated cloud.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CallRecord {
    /// Position in the log, from 0.
    pub seq: u64,
    /// Virtual time since the cloud was built, when the call was answered.
    pub at: Duration,
    /// The fleet whose provider made the call.
    pub fleet: FleetName,
    /// What was called.
    pub operation: Operation,
    /// The cluster it was about, if one.
    pub cluster: Option<ClusterId>,
    /// How it ended.
    pub outcome: CallOutcome,
}

impl fmt::Display for CallRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {:>10.3}s {} {}", self.seq, self.at.as_secs_f64(), self.fleet, self.operation)?;
        if let Some(cluster) = &self.cluster {
            write!(f, " {cluster}")?;
        }
        write!(f, " -> {:?}", self.outcome)
    }
}
