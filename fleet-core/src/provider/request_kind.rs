//! What a provider's request to its cloud does, as far as the meaning of its errors depends on
//! it: the same refusal means "already exists" on a create and "conflict" on anything else.

use crate::Error;

/// What a request to a cloud API does, for a provider crate's error mapper.
///
/// ```
/// use fleet_core::{ErrorKind, RequestKind};
/// let taken = RequestKind::Creates.conflict("create `web-1`: name in use".into());
/// assert_eq!(taken.kind(), ErrorKind::AlreadyExists);
/// let busy = RequestKind::ReadsOrChanges.conflict("delete `web-1`: an update runs".into());
/// assert_eq!(busy.kind(), ErrorKind::Conflict);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// The request creates a resource: a conflict means that the resource already exists.
    Creates,
    /// The request reads, changes or deletes a resource (or lists them): a conflict means that
    /// another operation holds the resource.
    ReadsOrChanges,
}

impl RequestKind {
    /// The error of a conflict answer (EKS `ResourceInUseException`, GKE `ALREADY_EXISTS`,
    /// ARM `409`) to a request of this kind: [`Error::AlreadyExists`] for a create,
    /// [`Error::Conflict`] otherwise.
    pub fn conflict(self, message: String) -> Error {
        match self {
            Self::Creates => Error::AlreadyExists { resource: message },
            Self::ReadsOrChanges => Error::Conflict { message },
        }
    }
}
