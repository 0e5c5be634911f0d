//! EKS errors as Fleet's errors: by the service's error code, keeping the SDK error as source.

use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use fleet_core::Error;

/// Maps an SDK error of `doing` (e.g. ``create cluster `web-1` ``) into Fleet's error:
/// - `ResourceNotFoundException` -> `NotFound`;
/// - `ResourceInUseException` -> `AlreadyExists` when creating, `Conflict` otherwise;
/// - throttling (`ThrottlingException`, `TooManyRequestsException`, HTTP 429) -> `RateLimited`;
/// - `AccessDeniedException` and friends -> `PermissionDenied`; bad credentials -> `Unauthenticated`;
/// - `ResourceLimitExceededException` -> `QuotaExceeded`;
/// - `InvalidParameterException`, `InvalidRequestException` -> `InvalidSpec`;
/// - no connection or a timeout -> `Unavailable`; server errors -> `Unavailable`;
/// - anything else -> `Provider`, with the SDK error as its source.
pub fn map_sdk_error<E, R>(doing: &str, creating: bool, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = err.code().unwrap_or_default().to_owned();
    let message = format!("{doing}: {}", err.message().unwrap_or(code.as_str()));
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            return Error::Unavailable { message: format!("{doing}: the EKS API could not be reached") };
        }
        _ => {}
    }
    match code.as_str() {
        "ResourceNotFoundException" | "NotFoundException" => Error::NotFound { resource: message },
        "ResourceInUseException" if creating => Error::AlreadyExists { resource: message },
        "ResourceInUseException" | "ResourcePropagationDelayException" => Error::Conflict { message },
        "ThrottlingException" | "TooManyRequestsException" | "Throttling" | "RequestLimitExceeded" => {
            Error::RateLimited { retry_after: None }
        }
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
        "ServerException" | "ServiceUnavailableException" => Error::Unavailable { message },
        _ => Error::Provider { message, source: Some(Box::new(err)) },
    }
}
