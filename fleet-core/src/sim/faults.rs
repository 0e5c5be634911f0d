//! Faults a simulated cloud can be told to inject: failed calls, lost responses, outages.

use std::collections::BTreeMap;
use std::time::Duration;

use super::call_log::Operation;
use super::rng::SimRng;
use crate::Error;

/// An error a simulated call can be made to fail with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InjectedError {
    /// A transient server error ([`Error::Unavailable`], retryable).
    Unavailable,
    /// Throttling ([`Error::RateLimited`] with this `Retry-After`).
    RateLimited(Duration),
    /// An operation in progress ([`Error::Conflict`], retryable).
    Conflict,
    /// A quota ([`Error::QuotaExceeded`]).
    QuotaExceeded,
    /// Missing permission ([`Error::PermissionDenied`]).
    PermissionDenied,
    /// An unexpected provider failure ([`Error::Provider`], not retryable).
    Internal,
}

impl InjectedError {
    pub(crate) fn to_error(self, operation: Operation) -> Error {
        let message = format!("injected fault on {operation}");
        match self {
            InjectedError::Unavailable => Error::Unavailable { message },
            InjectedError::RateLimited(retry_after) => Error::RateLimited { retry_after: Some(retry_after) },
            InjectedError::Conflict => Error::Conflict { message },
            InjectedError::QuotaExceeded => Error::QuotaExceeded { message },
            InjectedError::PermissionDenied => Error::PermissionDenied { message },
            InjectedError::Internal => Error::Provider { message, source: None },
        }
    }
}

/// Faults configured for one operation.
#[derive(Debug, Clone, Default)]
struct OperationFaults {
    /// Fail the next calls, in order, with these errors.
    fail_next: Vec<InjectedError>,
    /// Fail each call with this probability and error.
    error_probability: Option<(f64, InjectedError)>,
    /// Lose the response of this many next successful calls.
    lose_next: u32,
    /// Lose each successful response with this probability.
    loss_probability: f64,
}

/// Every injected fault of a simulated cloud.
#[derive(Debug, Clone, Default)]
pub(crate) struct Faults {
    by_operation: BTreeMap<Operation, OperationFaults>,
}

impl Faults {
    pub(crate) fn fail_next(&mut self, operation: Operation, count: u32, error: InjectedError) {
        let faults = self.by_operation.entry(operation).or_default();
        faults.fail_next.extend(std::iter::repeat_n(error, count as usize));
    }

    pub(crate) fn set_error_probability(&mut self, operation: Operation, probability: f64, error: InjectedError) {
        self.by_operation.entry(operation).or_default().error_probability =
            (probability > 0.0).then_some((probability.min(1.0), error));
    }

    pub(crate) fn lose_next_responses(&mut self, operation: Operation, count: u32) {
        self.by_operation.entry(operation).or_default().lose_next += count;
    }

    pub(crate) fn set_loss_probability(&mut self, operation: Operation, probability: f64) {
        self.by_operation.entry(operation).or_default().loss_probability = probability.clamp(0.0, 1.0);
    }

    /// The error this call fails with before taking effect, if any. Draws from `rng` only when
    /// a probability is configured, so that unfaulted runs consume the same random numbers.
    pub(crate) fn error_for(&mut self, operation: Operation, rng: &mut SimRng) -> Option<InjectedError> {
        let faults = self.by_operation.get_mut(&operation)?;
        if !faults.fail_next.is_empty() {
            return Some(faults.fail_next.remove(0));
        }
        let (probability, error) = faults.error_probability?;
        rng.chance(probability).then_some(error)
    }

    /// Whether this successful call's response is lost.
    pub(crate) fn loses_response(&mut self, operation: Operation, rng: &mut SimRng) -> bool {
        let Some(faults) = self.by_operation.get_mut(&operation) else {
            return false;
        };
        if faults.lose_next > 0 {
            faults.lose_next -= 1;
            return true;
        }
        rng.chance(faults.loss_probability)
    }
}
