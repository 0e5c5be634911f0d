//! GKE errors as Fleet's errors: by gRPC status code, else by HTTP status, else by what failed.

use fleet_core::Error;
use google_cloud_gax::error::rpc::Code;

/// Maps a client error of `doing` into Fleet's error:
/// - `NOT_FOUND` -> `NotFound`; `ALREADY_EXISTS` -> `AlreadyExists` when creating, else `Conflict`;
/// - `RESOURCE_EXHAUSTED` -> `QuotaExceeded` when it names a quota, else `RateLimited`;
/// - `PERMISSION_DENIED` -> `PermissionDenied`; `UNAUTHENTICATED` -> `Unauthenticated`;
/// - `FAILED_PRECONDITION` and `ABORTED` -> `Conflict`; `INVALID_ARGUMENT` -> `InvalidSpec`;
/// - `UNAVAILABLE`, `INTERNAL`, no connection -> `Unavailable`; `DEADLINE_EXCEEDED` -> `Timeout`;
/// - anything else -> `Provider`, with the client error as its source.
pub fn map_gcp_error(doing: &str, creating: bool, err: google_cloud_gax::error::Error) -> Error {
    // A call whose retries ran out carries the last attempt's error as its source.
    let last = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<google_cloud_gax::error::Error>());
    let status = err.status().or_else(|| last.and_then(|e| e.status()));
    let code = status.map(|status| status.code).or_else(|| {
        err.http_status_code().map(|http| match http {
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
        Some(Code::AlreadyExists) if creating => Error::AlreadyExists { resource: message },
        Some(Code::AlreadyExists) | Some(Code::FailedPrecondition) | Some(Code::Aborted) => Error::Conflict { message },
        Some(Code::ResourceExhausted) if said.to_ascii_lowercase().contains("quota") => {
            Error::QuotaExceeded { message }
        }
        Some(Code::ResourceExhausted) => Error::RateLimited { retry_after: None },
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
