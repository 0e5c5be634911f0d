//! Observing a large fleet within a cloud's read limits: listing regions side by side
//! ([`join_all`]) at the provider's read rate ([`ReadPacer`]), and describing again only what a
//! list cannot vouch for ([`DescribeCache`]). Provider crates use these; so does the simulated
//! cloud's EKS-like API shape ([`crate::sim::ApiShape`]).

mod describe_cache;
mod pacer;
mod regions;

pub use describe_cache::{DEFAULT_RESYNC, DescribeCache, RESYNC_SHARE};
pub use pacer::{ReadPacer, join_all};
pub use regions::list_regions;
