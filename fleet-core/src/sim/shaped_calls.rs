//! The calls a [`SimProvider`]'s `list` and `get` make under each [`ApiShape`]: one call, pages,
//! or pages of names with a describe per cluster the [`DescribeCache`] cannot vouch for.
//!
//! Where a `list` or `get` makes several calls (the EKS and AKS shapes), the provider paces
//! every one of them at its read rate, as a real provider must: the engine's API budget counts
//! one call per method, and only the provider knows what a method costs.

use std::collections::HashSet;
use std::time::Duration;

use tokio::time::Instant;

use super::api_shape::{ApiShape, PAGE_SIZE};
use super::call_log::Operation;
use super::cloud::Target;
use super::provider::SimProvider;
use super::state::SimState;
use crate::observe::{DescribeCache, ReadPacer, list_regions};
use crate::{Cluster, ClusterId, Error, FleetTags, Listing, Region, Result};

/// What a provider keeps between calls where the API lists names only: the last description
/// of each listed cluster (`None`: another fleet's), and the pacing of its calls.
#[derive(Debug)]
pub(crate) struct Observer {
    pub(crate) described: DescribeCache<Option<Cluster>>,
    reads: ReadPacer,
}

impl Observer {
    pub(crate) fn new(provider: &SimProvider) -> Self {
        let cloud = provider.cloud();
        let reads = cloud.info().rate_limits.reads;
        let calls_per_describe = ApiShape::Eks.calls_per_describe() as u32;
        Self {
            described: DescribeCache::within(cloud.resync(), reads, calls_per_describe),
            reads: ReadPacer::new(reads),
        }
    }
}

impl SimProvider {
    /// The fleet's clusters, as the cloud's API shape lists them.
    pub(crate) async fn shaped_list(&self) -> Result<Listing> {
        match self.cloud().api_shape() {
            ApiShape::Eks => self.list_by_names().await,
            ApiShape::Aks => self.list_by_pages().await,
            _ => {
                let fleet = self.fleet();
                self.cloud().call(fleet, Operation::List, Target::Fleet, |state, _, now| state.list(fleet, now)).await
            }
        }
    }

    /// Cluster `id`, as the cloud's API shape describes it: for the EKS shape, with its node
    /// pools listed and each described.
    pub(crate) async fn shaped_get(&self, id: &ClusterId) -> Result<Cluster> {
        let get = |state: &mut SimState, _, now| state.get(id, now);
        if self.cloud().api_shape() != ApiShape::Eks {
            return self.read(Operation::Get, Target::Cluster(id), get).await;
        }
        let mut cluster = self.paced_read(Operation::Get, Target::Cluster(id), get).await?;
        if cluster.phase != crate::ClusterPhase::Creating {
            self.list_node_pools(&mut cluster).await?;
            for _ in 0..cluster.node_pools.len() {
                self.paced(Operation::DescribeNodePool, id).await?;
            }
        }
        self.observer().described.record_cluster(&cluster.region, &cluster, self.fleet(), Instant::now());
        Ok(cluster)
    }

    /// Runs a change to cluster `id` in `region`, then forgets what was described of it, so
    /// that the next list describes it again.
    pub(crate) async fn changing<T>(
        &self,
        region: Option<Region>,
        id: &ClusterId,
        change: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let result = change.await;
        if let Some(region) = region {
            self.observer().described.forget(&region, id.as_str());
        }
        result
    }

    /// A read call of one of the provider's methods: paced with the calls of lists and gets
    /// where the shape makes several per method (EKS, AKS), so that together they keep to the
    /// read rate; a plain call otherwise.
    pub(crate) async fn read<T>(
        &self,
        operation: Operation,
        target: Target<'_>,
        run: impl FnOnce(&mut SimState, Duration, Instant) -> Result<T>,
    ) -> Result<T> {
        match self.cloud().api_shape() {
            ApiShape::Eks | ApiShape::Aks => self.paced_read(operation, target, run).await,
            _ => self.cloud().call(self.fleet(), operation, target, run).await,
        }
    }

    /// One read of a list or get, paced to the read rate.
    async fn paced_read<T>(
        &self,
        operation: Operation,
        target: Target<'_>,
        run: impl FnOnce(&mut SimState, Duration, Instant) -> Result<T>,
    ) -> Result<T> {
        self.observer().reads.pace().await;
        self.cloud().call(self.fleet(), operation, target, run).await
    }

    /// One paced call about cluster `id` that answers nothing but its cost.
    async fn paced(&self, operation: Operation, id: &ClusterId) -> Result<()> {
        self.paced_read(operation, Target::Cluster(id), |state, _, now| state.get(id, now).map(|_| ())).await
    }

    async fn list_node_pools(&self, cluster: &mut Cluster) -> Result<()> {
        let id = cluster.id.clone();
        cluster.node_pools = self
            .paced_read(Operation::ListNodePools, Target::Cluster(&id), |state, _, now| state.node_pools(&id, now))
            .await?;
        Ok(())
    }

    /// Every page of a paged list, one paced call each: `page` answers the page after a name
    /// (the first with `None`) and the name the next page starts after.
    async fn every_page<T>(
        &self,
        target: Target<'_>,
        page: impl Fn(&mut SimState, Option<&ClusterId>, Instant) -> (Vec<T>, Option<ClusterId>),
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut after: Option<ClusterId> = None;
        loop {
            let (found, next) =
                self.paced_read(Operation::List, target, |state, _, now| Ok(page(state, after.as_ref(), now))).await?;
            items.extend(found);
            match next {
                Some(name) => after = Some(name),
                None => return Ok(items),
            }
        }
    }

    /// AKS-like: pages of every fleet's clusters with their tags, this fleet's kept.
    async fn list_by_pages(&self) -> Result<Listing> {
        let fleet = self.fleet();
        let clusters =
            self.every_page(Target::Fleet, |state, after, now| state.page(fleet, after, PAGE_SIZE, now)).await?;
        self.cloud().with_state(|state| state.listing(clusters))
    }

    /// EKS-like: every region at once, each listing its names by page and describing those the
    /// cache cannot vouch for.
    async fn list_by_names(&self) -> Result<Listing> {
        let info = self.cloud().info();
        list_regions(&info.name, &info.regions, |region| self.list_region(region)).await
    }

    async fn list_region(&self, region: &Region) -> Result<Vec<Cluster>> {
        let fleet = self.fleet();
        let names = self
            .every_page(Target::Region(region), |state, after, now| state.names_page(region, after, PAGE_SIZE, now))
            .await?;
        let described = &self.observer().described;
        described.keep_listed(region, &names.iter().map(ClusterId::as_str).collect::<HashSet<_>>());
        let mut clusters = Vec::new();
        for id in names {
            if let Some(kept) = described.fresh(region, id.as_str(), Instant::now()) {
                clusters.extend(kept);
                continue;
            }
            let cluster =
                self.paced_read(Operation::Describe, Target::Cluster(&id), |state, _, now| state.get(&id, now)).await;
            let mut cluster = match cluster {
                Ok(cluster) => cluster,
                Err(Error::NotFound { .. }) => continue,
                Err(err) => return Err(err),
            };
            if !FleetTags::belongs_to(&cluster.tags, fleet) {
                described.record_cluster(region, &cluster, fleet, Instant::now());
                continue;
            }
            if cluster.phase.is_running() {
                match self.list_node_pools(&mut cluster).await {
                    Ok(()) => {}
                    Err(Error::NotFound { .. }) => continue,
                    Err(err) => return Err(err),
                }
            }
            described.record_cluster(region, &cluster, fleet, Instant::now());
            clusters.push(cluster);
        }
        Ok(clusters)
    }
}
