//! The one error type every provider maps its failures into.
//!
//! No SDK error type appears in the variants: provider crates translate their errors here and
//! keep the original as a boxed `source` where useful. Messages never contain secrets.

use std::time::Duration;

/// A boxed error kept as the source of an [`Error::Provider`] or [`Error::Store`] error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with Fleet's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in Fleet, from spec validation to provider calls.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The cluster (or other resource) does not exist.
    #[error("{resource} not found")]
    NotFound {
        /// What was looked for, e.g. ``cluster `web-1` ``.
        resource: String,
    },
    /// A resource with that name exists and does not belong to the caller.
    #[error("{resource} already exists")]
    AlreadyExists {
        /// What exists.
        resource: String,
    },
    /// An account, region or capacity quota is used up.
    #[error("quota exceeded: {message}")]
    QuotaExceeded {
        /// Which quota, as the provider says it.
        message: String,
    },
    /// The provider's API refused the call for its rate; try again after `retry_after`.
    #[error("rate limited{}", retry_after.map(|d| format!(", retry after {d:?}")).unwrap_or_default())]
    RateLimited {
        /// How long the provider asked to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// No valid credentials.
    #[error("unauthenticated: {message}")]
    Unauthenticated {
        /// The provider's explanation.
        message: String,
    },
    /// Valid credentials without the needed permission.
    #[error("permission denied: {message}")]
    PermissionDenied {
        /// The provider's explanation.
        message: String,
    },
    /// The resource is in a state that does not allow the call now (e.g. an operation is in
    /// progress); retrying later may succeed.
    #[error("conflict: {message}")]
    Conflict {
        /// What conflicts.
        message: String,
    },
    /// The provider cannot do this (see its [`crate::Capabilities`]).
    #[error("unsupported: {operation}")]
    Unsupported {
        /// The operation that is not supported.
        operation: String,
    },
    /// A spec, file or argument is invalid.
    #[error("invalid spec at `{path}`: {reason}")]
    InvalidSpec {
        /// Where: a field path such as `placements[2].regions[0]`, or a file and a path.
        path: String,
        /// What was expected.
        reason: String,
    },
    /// The provider or region cannot be reached, or answered with a transient server error.
    #[error("unavailable: {message}")]
    Unavailable {
        /// What was unavailable.
        message: String,
    },
    /// Waiting for an operation took longer than allowed.
    #[error("timed out: {message}")]
    Timeout {
        /// What was waited for.
        message: String,
    },
    /// Any other provider failure; not retried.
    #[error("provider error: {message}")]
    Provider {
        /// What failed.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// The state store could not read or write Fleet's records; not retried.
    #[error("state store: {message}")]
    Store {
        /// What failed.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// A task of the engine or the failover controller ended abnormally: it panicked or was
    /// cancelled.
    #[error("task ended abnormally: {message}")]
    Task {
        /// Which task, and how it ended.
        message: String,
    },
}

/// The kind of an [`Error`], without its details: comparable, copyable, loggable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[allow(missing_docs)] // each kind is its `Error` variant
pub enum ErrorKind {
    NotFound,
    AlreadyExists,
    QuotaExceeded,
    RateLimited,
    Unauthenticated,
    PermissionDenied,
    Conflict,
    Unsupported,
    InvalidSpec,
    Unavailable,
    Timeout,
    Provider,
    Store,
    Task,
}

impl ErrorKind {
    /// The kind as a fixed `snake_case` name, e.g. `rate_limited`: for metric labels and logs.
    ///
    /// ```
    /// use fleet_core::{Error, ErrorKind};
    /// assert_eq!(ErrorKind::QuotaExceeded.as_str(), "quota_exceeded");
    /// assert_eq!(Error::Timeout { message: "x".into() }.kind().as_str(), "timeout");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::InvalidSpec => "invalid_spec",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Provider => "provider",
            ErrorKind::Store => "store",
            ErrorKind::Task => "task",
        }
    }
}

impl Error {
    /// Whether the same call may succeed if repeated later: rate limits, transient
    /// unavailability, conflicts with an operation in progress, and time-outs.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fleet_core::Error;
    /// let throttled = Error::RateLimited { retry_after: Some(Duration::from_secs(2)) };
    /// assert!(throttled.is_retryable());
    /// assert_eq!(throttled.retry_after(), Some(Duration::from_secs(2)));
    /// assert!(!Error::Unsupported { operation: "hibernate".into() }.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. } | Error::Unavailable { .. } | Error::Conflict { .. } | Error::Timeout { .. }
        )
    }

    /// How long the provider asked the caller to wait before retrying, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::QuotaExceeded { .. } => ErrorKind::QuotaExceeded,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Unauthenticated { .. } => ErrorKind::Unauthenticated,
            Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            Error::Conflict { .. } => ErrorKind::Conflict,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::InvalidSpec { .. } => ErrorKind::InvalidSpec,
            Error::Unavailable { .. } => ErrorKind::Unavailable,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Provider { .. } => ErrorKind::Provider,
            Error::Store { .. } => ErrorKind::Store,
            Error::Task { .. } => ErrorKind::Task,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_and_task_failures_say_where_they_came_from_and_keep_their_source() {
        let disk = std::io::Error::other("disk full");
        let store = Error::Store { message: "write intent 4".into(), source: Some(Box::new(disk)) };
        assert_eq!(store.kind(), ErrorKind::Store);
        assert_eq!(store.to_string(), "state store: write intent 4");
        assert_eq!(std::error::Error::source(&store).map(ToString::to_string).as_deref(), Some("disk full"));
        let task = Error::Task { message: "an action task: panicked".into() };
        assert_eq!(
            (task.kind(), task.to_string().as_str()),
            (ErrorKind::Task, "task ended abnormally: an action task: panicked")
        );
    }

    #[test]
    fn only_transient_errors_are_retryable() {
        let retryable = [
            Error::RateLimited { retry_after: None },
            Error::Unavailable { message: "x".into() },
            Error::Conflict { message: "x".into() },
            Error::Timeout { message: "x".into() },
        ];
        for err in &retryable {
            assert!(err.is_retryable(), "{err}");
        }
        let permanent = [
            Error::NotFound { resource: "x".into() },
            Error::AlreadyExists { resource: "x".into() },
            Error::QuotaExceeded { message: "x".into() },
            Error::Unauthenticated { message: "x".into() },
            Error::PermissionDenied { message: "x".into() },
            Error::Unsupported { operation: "x".into() },
            Error::InvalidSpec { path: "p".into(), reason: "r".into() },
            Error::Provider { message: "x".into(), source: None },
            Error::Store { message: "x".into(), source: None },
            Error::Task { message: "x".into() },
        ];
        for err in &permanent {
            assert!(!err.is_retryable(), "{err}");
            assert_eq!(err.retry_after(), None);
        }
    }

    #[test]
    fn messages_name_what_and_where() {
        let err = Error::InvalidSpec { path: "placements[2].regions[0]".into(), reason: "unknown region".into() };
        assert_eq!(err.to_string(), "invalid spec at `placements[2].regions[0]`: unknown region");
        let throttled = Error::RateLimited { retry_after: Some(Duration::from_millis(1500)) };
        assert_eq!(throttled.to_string(), "rate limited, retry after 1.5s");
    }

    #[test]
    fn provider_errors_keep_their_source() {
        let source: BoxError = "socket closed".into();
        let err = Error::Provider { message: "describe failed".into(), source: Some(source) };
        let chained = std::error::Error::source(&err).map(|s| s.to_string());
        assert_eq!(chained.as_deref(), Some("socket closed"));
    }
}
