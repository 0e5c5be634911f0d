//! [`ConformanceHooks`]: what a test harness can do to the backend directly, beside the
//! provider under test, so that the kit can check what the provider does when the backend
//! holds clusters Fleet did not make, loses a region, fails or throttles.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::{AppliedSettings, ClusterId, Region, Result};

/// Acts on the backend directly. Every hook is optional: the default answers `None` ("this
/// backend cannot"), and a check that needs a missing hook is reported as skipped, naming
/// the hook, never passed.
///
/// ```
/// use std::collections::BTreeMap;
/// use fleet_core::conformance::ConformanceHooks;
/// use fleet_core::{ClusterId, Region, Result};
///
/// /// A backend that can only have regions cut (say, by pointing them at a closed port).
/// struct MyHooks;
///
/// #[fleet_core::async_trait]
/// impl ConformanceHooks for MyHooks {
///     async fn cut_region(&self, region: &Region) -> Option<Result<()>> {
///         let _ = region; // point the region's endpoint at a closed port here
///         Some(Ok(()))
///     }
///     async fn restore_region(&self, region: &Region) -> Option<Result<()>> {
///         let _ = region;
///         Some(Ok(()))
///     }
/// }
/// ```
#[async_trait]
pub trait ConformanceHooks: Send + Sync {
    /// Makes a running cluster `id` in `region` on the backend directly, carrying exactly
    /// `tags`: none for an untagged cluster, another fleet's [`crate::FleetTags`] for a
    /// foreign one.
    async fn plant_cluster(
        &self,
        id: &ClusterId,
        region: &Region,
        tags: &BTreeMap<String, String>,
    ) -> Option<Result<()>> {
        let _ = (id, region, tags);
        None
    }

    /// Removes a cluster [`plant_cluster`](Self::plant_cluster) made, on the backend directly;
    /// [`crate::Error::NotFound`] when it is no longer there.
    async fn remove_planted(&self, id: &ClusterId, region: &Region) -> Option<Result<()>> {
        let _ = (id, region);
        None
    }

    /// Makes `region` unreachable to the provider under test while its other regions answer.
    async fn cut_region(&self, region: &Region) -> Option<Result<()>> {
        let _ = region;
        None
    }

    /// Makes a region [`cut_region`](Self::cut_region) cut reachable again.
    async fn restore_region(&self, region: &Region) -> Option<Result<()>> {
        let _ = region;
        None
    }

    /// Makes the provider's next `count` API calls fail with a transient server error (an
    /// HTTP 500 or 503, or the backend's equivalent).
    async fn fail_next_calls(&self, count: u32) -> Option<Result<()>> {
        let _ = count;
        None
    }

    /// Makes the provider's next `count` API calls throttled, the backend asking to retry
    /// after `retry_after` (an HTTP 429 with `Retry-After`, or the backend's equivalent).
    async fn throttle_next_calls(&self, count: u32, retry_after: Duration) -> Option<Result<()>> {
        let _ = (count, retry_after);
        None
    }

    /// The settings the backend recorded for cluster `id` in `region` from the provider's
    /// requests (network and audit logging, as the cloud's API stored them), so that the kit
    /// can check that every setting the provider declares is applied.
    async fn applied_settings(&self, id: &ClusterId, region: &Region) -> Option<Result<AppliedSettings>> {
        let _ = (id, region);
        None
    }

    /// Whether the backend's clusters serve a Kubernetes API, so that team access can be set
    /// up in them. Default: `false` (a local stand-in of a cloud API serves none).
    fn clusters_serve_kubernetes_api(&self) -> bool {
        false
    }
}

/// The hooks of a harness that has none: every hook-based check is skipped.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl ConformanceHooks for NoHooks {}
