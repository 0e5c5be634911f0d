//! ARM errors as Fleet's errors: by the ARM error code where it says more than the HTTP
//! status, else by the status.

use std::time::Duration;

use fleet_core::{Error, RequestKind};

use crate::model::{ErrorDetail, ErrorResponse};

/// ARM and AKS codes that mean a quota or capacity is used up, whatever the status.
const QUOTA_CODES: &[&str] = &[
    "QuotaExceeded",
    "OperationNotAllowedQuotaExceeded",
    "SkuNotAvailable",
    "AllocationFailed",
    "ZonalAllocationFailed",
    "OverconstrainedAllocationRequest",
    "InsufficientSubnetSize",
    "PublicIPCountLimitReached",
];

/// What an ARM answer said: its status, its `Retry-After`, its error body.
#[derive(Debug, Clone)]
pub(crate) struct ArmFailure {
    /// The HTTP status.
    pub status: u16,
    /// The `Retry-After` the answer carried.
    pub retry_after: Option<Duration>,
    /// The ARM error code (`ResourceNotFound`, `AuthorizationFailed`, ...), empty if none.
    pub code: String,
    /// The ARM error message.
    pub message: String,
}

impl ArmFailure {
    /// Reads an error answer; a body that is not an ARM error keeps its first 200 characters
    /// as the message.
    pub fn parse(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Self {
        let detail = match serde_json::from_slice::<ErrorResponse>(body) {
            Ok(response) => response.error,
            Err(_) => {
                ErrorDetail { code: String::new(), message: String::from_utf8_lossy(body).chars().take(200).collect() }
            }
        };
        Self { status, retry_after, code: detail.code, message: detail.message }
    }
}

/// Maps a failed ARM call of `doing` into Fleet's error:
/// - quota and capacity codes, or a message naming a quota -> `QuotaExceeded`;
/// - 404 -> `NotFound` (`ResourceGroupNotFound` on a create -> `InvalidSpec`);
/// - 409, and 412 from `If-None-Match: *` on a create -> `AlreadyExists` when the request
///   creates, else `Conflict`;
/// - 429 -> `RateLimited` with the answer's `Retry-After`;
/// - 401 -> `Unauthenticated`; 403 -> `PermissionDenied`; other 4xx -> `InvalidSpec`;
/// - 408 and 504 -> `Timeout`; 5xx -> `Unavailable`.
pub(crate) fn map_arm_error(doing: &str, request: RequestKind, failure: ArmFailure) -> Error {
    let said = if failure.code.is_empty() {
        failure.message.clone()
    } else {
        format!("{} ({})", failure.message, failure.code)
    };
    let message = format!("{doing}: {said}");
    if QUOTA_CODES.contains(&failure.code.as_str()) || failure.message.to_ascii_lowercase().contains("quota") {
        return Error::QuotaExceeded { message };
    }
    match failure.status {
        404 if request == RequestKind::Creates && failure.code == "ResourceGroupNotFound" => {
            Error::InvalidSpec { path: "resource group".into(), reason: message }
        }
        404 => Error::NotFound { resource: message },
        409 | 412 => request.conflict(message),
        429 => Error::RateLimited { retry_after: failure.retry_after },
        401 => Error::Unauthenticated { message },
        403 => Error::PermissionDenied { message },
        408 | 504 => Error::Timeout { message },
        400..=499 => Error::InvalidSpec { path: "aks".into(), reason: message },
        _ => Error::Unavailable { message },
    }
}

/// Maps the error of a long-running operation that ended `Failed` or `Canceled`.
pub(crate) fn operation_failed(doing: &str, status: &str, detail: Option<ErrorDetail>) -> Error {
    let detail = detail.unwrap_or_default();
    let failure = ArmFailure { status: 0, retry_after: None, code: detail.code, message: detail.message };
    match map_arm_error(doing, RequestKind::ReadsOrChanges, failure.clone()) {
        Error::QuotaExceeded { message } => Error::QuotaExceeded { message },
        _ => Error::Provider {
            message: format!("{doing}: the operation ended {status}: {} ({})", failure.message, failure.code),
            source: None,
        },
    }
}

/// Whole seconds (`Retry-After: 7`), as ARM sends them; anything else is ignored.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_arms_code() {
        let body = br#"{"error":{"code":"AuthorizationFailed","message":"no access"}}"#;
        let err = map_arm_error("get `web-1`", RequestKind::ReadsOrChanges, ArmFailure::parse(403, None, body));
        assert_eq!(err.kind(), fleet_core::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("AuthorizationFailed"));
    }
    use fleet_core::ErrorKind;

    fn kind(status: u16, code: &str, message: &str, request: RequestKind) -> ErrorKind {
        let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
        map_arm_error("doing", request, ArmFailure::parse(status, None, body.as_bytes())).kind()
    }

    #[test]
    fn arm_codes_and_statuses_map_to_fleets_kinds() {
        assert_eq!(kind(404, "ResourceNotFound", "gone", RequestKind::ReadsOrChanges), ErrorKind::NotFound);
        assert_eq!(kind(404, "ResourceGroupNotFound", "no rg", RequestKind::Creates), ErrorKind::InvalidSpec);
        assert_eq!(
            kind(409, "OperationNotAllowed", "another operation", RequestKind::ReadsOrChanges),
            ErrorKind::Conflict
        );
        assert_eq!(kind(412, "PreconditionFailed", "exists", RequestKind::Creates), ErrorKind::AlreadyExists);
        assert_eq!(
            kind(
                409,
                "OperationNotAllowed",
                "exceeding approved Total Regional Cores quota",
                RequestKind::ReadsOrChanges
            ),
            ErrorKind::QuotaExceeded
        );
        assert_eq!(kind(400, "SkuNotAvailable", "not in westeurope", RequestKind::Creates), ErrorKind::QuotaExceeded);
        assert_eq!(kind(429, "TooManyRequests", "slow down", RequestKind::ReadsOrChanges), ErrorKind::RateLimited);
        assert_eq!(
            kind(401, "ExpiredAuthenticationToken", "expired", RequestKind::ReadsOrChanges),
            ErrorKind::Unauthenticated
        );
        assert_eq!(kind(403, "AuthorizationFailed", "no", RequestKind::ReadsOrChanges), ErrorKind::PermissionDenied);
        assert_eq!(kind(400, "InvalidParameter", "bad vm size", RequestKind::Creates), ErrorKind::InvalidSpec);
        assert_eq!(kind(503, "ServiceUnavailable", "later", RequestKind::ReadsOrChanges), ErrorKind::Unavailable);
        assert_eq!(kind(504, "GatewayTimeout", "late", RequestKind::ReadsOrChanges), ErrorKind::Timeout);
    }

    #[test]
    fn a_body_that_is_not_an_arm_error_is_kept_short() {
        let failure = ArmFailure::parse(502, None, "x".repeat(10_000).as_bytes());
        assert_eq!(failure.message.len(), 200);
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
