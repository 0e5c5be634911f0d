//! EKS errors as Fleet's errors: by the service's error code and the HTTP status, keeping the
//! SDK error as source, with the retry time the service asked for.

use std::time::{Duration, SystemTime};

use aws_sdk_eks::config::http::HttpResponse;
use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eks::primitives::{DateTime, DateTimeFormat};
use fleet_core::{Error, RequestKind};

/// Error codes AWS services throttle with (the AWS SDKs' list, which EKS's
/// `ThrottlingException` is part of).
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
];

/// Maps an SDK error of `doing` (e.g. ``create cluster `web-1` ``) into Fleet's error:
/// - `ResourceNotFoundException` -> `NotFound`;
/// - `ResourceInUseException` -> `AlreadyExists` when the request creates, `Conflict` otherwise;
/// - throttling (`ThrottlingException` and the other AWS throttling codes, or HTTP 429) ->
///   `RateLimited`, with the wait the service asked for: `x-amz-retry-after` (milliseconds, the
///   header the AWS SDKs read) or the standard `Retry-After` (seconds or an HTTP date);
/// - `AccessDeniedException` and friends -> `PermissionDenied`; bad credentials -> `Unauthenticated`;
/// - `ResourceLimitExceededException` -> `QuotaExceeded`;
/// - `InvalidParameterException`, `InvalidRequestException` -> `InvalidSpec`;
/// - no connection or a timeout -> `Unavailable`; server errors (`ServerException`,
///   `ServiceUnavailableException`, any other HTTP 5xx) -> `Unavailable`;
/// - anything else -> `Provider`, with the SDK error as its source.
pub(crate) fn map_sdk_error<E>(doing: &str, request: RequestKind, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) = &err {
        return Error::Unavailable { message: format!("{doing}: the EKS API could not be reached") };
    }
    let code = err.code().unwrap_or_default().to_owned();
    let message = format!("{doing}: {}", err.message().unwrap_or(code.as_str()));
    let status = err.raw_response().map(|r| r.status().as_u16());
    if status == Some(429) || THROTTLING_CODES.contains(&code.as_str()) {
        let retry_after = err.raw_response().and_then(|response| {
            let headers = response.headers();
            retry_after(|name| headers.get(name), SystemTime::now())
        });
        return Error::RateLimited { retry_after };
    }
    match code.as_str() {
        "ResourceNotFoundException" | "NotFoundException" => Error::NotFound { resource: message },
        "ResourceInUseException" => request.conflict(message),
        "ResourcePropagationDelayException" => Error::Conflict { message },
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" | "UnauthorizedException" => {
            Error::PermissionDenied { message }
        }
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "InvalidClientTokenId" => Error::Unauthenticated { message },
        "ResourceLimitExceededException" => Error::QuotaExceeded { message },
        "InvalidParameterException" | "InvalidRequestException" | "ValidationException" => {
            Error::InvalidSpec { path: "eks".into(), reason: message }
        }
        "ServerException" | "ServiceUnavailableException" | "InternalFailure" | "ServiceUnavailable" => {
            Error::Unavailable { message }
        }
        _ if status.is_some_and(|s| (500..600).contains(&s)) => Error::Unavailable { message },
        _ => Error::Provider { message, source: Some(Box::new(err)) },
    }
}

/// The wait a response whose headers `header` reads asks for: `x-amz-retry-after` in
/// milliseconds, else `Retry-After` in seconds or as an HTTP date (measured from `now`).
/// Unparsable values are ignored.
fn retry_after<'h>(header: impl Fn(&str) -> Option<&'h str>, now: SystemTime) -> Option<Duration> {
    if let Some(millis) = header("x-amz-retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_millis(millis));
    }
    let value = header("retry-after")?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::from_str(value, DateTimeFormat::HttpDate).ok()?;
    let at = SystemTime::try_from(at).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use aws_sdk_eks::error::ErrorMetadata;
    use aws_sdk_eks::operation::delete_cluster::DeleteClusterError;
    use aws_smithy_types::body::SdkBody;
    use fleet_core::ErrorKind;

    use super::*;

    /// An answer of EKS with `status`, error `code` and `headers`, as the SDK hands it over.
    fn answer(
        status: u16,
        code: &str,
        headers: &[(&'static str, &'static str)],
    ) -> SdkError<DeleteClusterError, HttpResponse> {
        let mut raw = HttpResponse::new(status.try_into().expect("a valid status"), SdkBody::empty());
        for (name, value) in headers {
            raw.headers_mut().insert(*name, *value);
        }
        let metadata = ErrorMetadata::builder().code(code).message("what EKS said").build();
        SdkError::service_error(DeleteClusterError::generic(metadata), raw)
    }

    fn kind(request: RequestKind, status: u16, code: &str) -> ErrorKind {
        map_sdk_error("doing", request, answer(status, code, &[])).kind()
    }

    #[test]
    fn eks_codes_map_to_fleets_kinds() {
        let other = RequestKind::ReadsOrChanges;
        assert_eq!(kind(other, 404, "ResourceNotFoundException"), ErrorKind::NotFound);
        assert_eq!(kind(RequestKind::Creates, 409, "ResourceInUseException"), ErrorKind::AlreadyExists);
        assert_eq!(kind(other, 409, "ResourceInUseException"), ErrorKind::Conflict, "a delete with node groups");
        assert_eq!(kind(other, 428, "ResourcePropagationDelayException"), ErrorKind::Conflict);
        assert_eq!(kind(other, 403, "AccessDeniedException"), ErrorKind::PermissionDenied);
        assert_eq!(kind(other, 403, "ExpiredTokenException"), ErrorKind::Unauthenticated);
        assert_eq!(kind(RequestKind::Creates, 400, "ResourceLimitExceededException"), ErrorKind::QuotaExceeded);
        assert_eq!(kind(RequestKind::Creates, 400, "InvalidParameterException"), ErrorKind::InvalidSpec);
        assert_eq!(kind(other, 400, "InvalidRequestException"), ErrorKind::InvalidSpec);
        assert_eq!(kind(other, 500, "ServerException"), ErrorKind::Unavailable);
        assert_eq!(kind(other, 502, "SomethingNew"), ErrorKind::Unavailable, "any 5xx");
        assert_eq!(kind(other, 400, "SomethingNew"), ErrorKind::Provider);
    }

    #[test]
    fn throttling_keeps_the_wait_eks_asked_for() {
        let throttled = map_sdk_error(
            "list",
            RequestKind::ReadsOrChanges,
            answer(400, "ThrottlingException", &[("x-amz-retry-after", "2500")]),
        );
        assert!(
            matches!(throttled, Error::RateLimited { retry_after: Some(wait) } if wait == Duration::from_millis(2500)),
            "{throttled:?}"
        );
        let by_status = map_sdk_error("list", RequestKind::ReadsOrChanges, answer(429, "", &[("retry-after", "3")]));
        assert!(
            matches!(by_status, Error::RateLimited { retry_after: Some(wait) } if wait == Duration::from_secs(3)),
            "{by_status:?}"
        );
    }

    #[test]
    fn the_message_says_what_was_done_and_what_eks_said() {
        let err = map_sdk_error(
            "delete cluster `web-1`",
            RequestKind::ReadsOrChanges,
            answer(404, "ResourceNotFoundException", &[]),
        );
        assert!(err.to_string().contains("delete cluster `web-1`: what EKS said"), "{err}");
    }

    fn wait(headers: &[(&'static str, &'static str)]) -> Option<Duration> {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01T00:00:00Z
        retry_after(|name| headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, v)| *v), now)
    }

    #[test]
    fn the_retry_time_is_read_from_either_header() {
        assert_eq!(wait(&[("x-amz-retry-after", "7000")]), Some(Duration::from_secs(7)));
        assert_eq!(wait(&[("Retry-After", "12")]), Some(Duration::from_secs(12)));
        assert_eq!(wait(&[("Retry-After", "Thu, 01 Jan 2026 00:00:30 GMT")]), Some(Duration::from_secs(30)));
        assert_eq!(
            wait(&[("x-amz-retry-after", "1500"), ("Retry-After", "9")]),
            Some(Duration::from_millis(1500)),
            "the AWS header first"
        );
        assert_eq!(wait(&[("Retry-After", "soon")]), None);
        assert_eq!(wait(&[]), None);
        assert_eq!(wait(&[("Retry-After", "Wed, 31 Dec 2025 23:00:00 GMT")]), Some(Duration::ZERO), "a past date");
    }
}
