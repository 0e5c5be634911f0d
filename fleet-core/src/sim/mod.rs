//! A simulated cloud, **not a real one**: [`SimCloud`] and its per-fleet [`SimProvider`].
//!
//! Always built (it is no test-only mock): it runs the quickstart, the benches and the chaos
//! tests, deterministically from a seed and in virtual time under `tokio::time::pause`.
//! Faults: failed calls ([`SimCloud::fail_next`], [`SimCloud::set_error_probability`]), lost
//! responses ([`SimCloud::lose_next_responses`]), throttling (rate limits), region outages
//! ([`SimCloud::fail_region`]) and whole-provider outages ([`SimCloud::fail_provider`]).
//! Its API can be shaped like EKS's, GKE's or AKS's ([`ApiShape`]), so that observing a large
//! fleet costs the calls and time it would there.

mod api_shape;
mod call_log;
mod cloud;
mod faults;
mod latency;
mod probe;
mod provider;
#[cfg(feature = "yaml")]
mod repository;
pub(crate) mod rng;
mod shaped_calls;
mod state;

pub use api_shape::{ApiShape, PAGE_SIZE};
pub use call_log::{CallOutcome, CallRecord, Operation};
pub use cloud::{SimCloud, SimCloudBuilder};
pub use faults::InjectedError;
pub use latency::{Latency, LatencyModel};
pub use provider::SimProvider;
#[cfg(feature = "yaml")]
pub use repository::{DEFAULT_REGION_CAPACITY, clouds_for, providers_of};
pub use state::{Creation, RegionCapacity};
