//! GKE errors as Fleet's errors: by gRPC status code, else by HTTP status, else by what failed.

use std::time::Duration;

use fleet_core::{Error, RequestKind};
use google_cloud_gax::error::rpc::{Code, Status, StatusDetails};

/// The `ErrorInfo` reason Google APIs give a request refused for its rate (AIP-193).
const RATE_LIMIT_REASON: &str = "RATE_LIMIT_EXCEEDED";

/// Maps a client error of `doing` into Fleet's error:
/// - `NOT_FOUND` -> `NotFound`; `ALREADY_EXISTS` -> `AlreadyExists` when the request creates, else `Conflict`;
/// - `RESOURCE_EXHAUSTED` -> `RateLimited` when it is about the rate of requests (a
///   `RetryInfo` detail, a `Retry-After` header, the `RATE_LIMIT_EXCEEDED` reason, or a limit
///   per minute or per second), with the delay the API asked for; else `QuotaExceeded` when
///   it names a quota; else `RateLimited`;
/// - `PERMISSION_DENIED` -> `PermissionDenied`; `UNAUTHENTICATED` -> `Unauthenticated`;
/// - `FAILED_PRECONDITION` and `ABORTED` -> `Conflict`; `INVALID_ARGUMENT` -> `InvalidSpec`;
/// - `UNAVAILABLE`, `INTERNAL`, no connection -> `Unavailable`; `DEADLINE_EXCEEDED` -> `Timeout`;
/// - anything else -> `Provider`, with the client error as its source.
pub(crate) fn map_gcp_error(doing: &str, request: RequestKind, err: google_cloud_gax::error::Error) -> Error {
    // A call whose retries ran out carries the last attempt's error as its source.
    let last = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<google_cloud_gax::error::Error>());
    let status = err.status().or_else(|| last.and_then(|e| e.status()));
    let code = status.map(|status| status.code).or_else(|| {
        err.http_status_code().or_else(|| last.and_then(|e| e.http_status_code())).map(|http| match http {
            400 => Code::InvalidArgument,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::NotFound,
            409 => Code::AlreadyExists,
            412 => Code::FailedPrecondition,
            429 => Code::ResourceExhausted,
            500 => Code::Internal,
            503 => Code::Unavailable,
            504 => Code::DeadlineExceeded,
            _ => Code::Unknown,
        })
    });
    let said = status.map(|status| status.message.clone()).unwrap_or_else(|| err.to_string());
    let message = format!("{doing}: {said}");
    if err.is_authentication() {
        return Error::Unauthenticated { message };
    }
    if err.is_timeout() {
        return Error::Timeout { message };
    }
    if code.is_none() && (err.is_connect() || err.is_io() || err.is_transport()) {
        return Error::Unavailable { message: format!("{doing}: the GKE API could not be reached") };
    }
    match code {
        Some(Code::NotFound) => Error::NotFound { resource: message },
        Some(Code::AlreadyExists) => request.conflict(message),
        Some(Code::FailedPrecondition) | Some(Code::Aborted) => Error::Conflict { message },
        Some(Code::ResourceExhausted) => {
            let retry_after = status
                .and_then(retry_delay)
                .or_else(|| err.http_headers().or_else(|| last.and_then(|e| e.http_headers())).and_then(retry_after));
            if retry_after.is_none() && !is_about_rate(status, &said) && said.to_ascii_lowercase().contains("quota") {
                Error::QuotaExceeded { message }
            } else {
                Error::RateLimited { retry_after }
            }
        }
        Some(Code::PermissionDenied) => Error::PermissionDenied { message },
        Some(Code::Unauthenticated) => Error::Unauthenticated { message },
        Some(Code::InvalidArgument) | Some(Code::OutOfRange) => {
            Error::InvalidSpec { path: "gke".into(), reason: message }
        }
        Some(Code::Unavailable) | Some(Code::Internal) => Error::Unavailable { message },
        Some(Code::DeadlineExceeded) => Error::Timeout { message },
        _ => Error::Provider { message, source: Some(Box::new(err)) },
    }
}

/// The delay of a `google.rpc.RetryInfo` detail, if the status has one.
fn retry_delay(status: &Status) -> Option<Duration> {
    status.details.iter().find_map(|detail| match detail {
        StatusDetails::RetryInfo(info) => info.retry_delay.and_then(|delay| Duration::try_from(delay).ok()),
        _ => None,
    })
}

/// A `Retry-After` header in seconds (the form Google's front ends send).
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    let seconds: f64 = value.parse().ok()?;
    (0.0..86_400.0).contains(&seconds).then(|| Duration::from_secs_f64(seconds))
}

/// Whether a `RESOURCE_EXHAUSTED` status is about the rate of requests rather than an
/// allocation quota.
fn is_about_rate(status: Option<&Status>, said: &str) -> bool {
    let by_reason = status.is_some_and(|status| {
        status
            .details
            .iter()
            .any(|detail| matches!(detail, StatusDetails::ErrorInfo(info) if info.reason == RATE_LIMIT_REASON))
    });
    let said = said.to_ascii_lowercase();
    by_reason || said.contains("per minute") || said.contains("per second") || said.contains("rate limit")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_seconds_and_nonsense_is_ignored() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1.5"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        for nonsense in ["-1", "Wed, 21 Oct 2015 07:28:00 GMT", "1e300", "NaN", ""] {
            headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from_static(nonsense));
            assert_eq!(retry_after(&headers), None, "{nonsense}");
        }
    }
}
