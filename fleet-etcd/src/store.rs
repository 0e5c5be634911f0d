//! [`EtcdStore`]: the engine's journal, observations, events of record and placements in
//! etcd, each write one transaction. A store made by a [`crate::Replica`] is fenced: a write
//! about a logical cluster also compares, in the same transaction, the create revision of the
//! owner key of that cluster's shard with the one the replica got when it took the shard, so
//! a replica that lost the shard (paused, partitioned, lease expired) cannot write.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use etcd_client::{Client, Compare, CompareOp, GetOptions, Txn, TxnOp, TxnOpResponse};
use fleet_core::failover::MoveReport;
use fleet_core::fleet_spec::DesiredFleet;
use fleet_core::store::{
    AcceptedEnvironment, EventRecord, Intent, IntentOutcome, NewIntent, Placement, RecordKind, StateStore,
};
use fleet_core::{Cluster, ClusterId, ClusterIdentity, Error, FleetName, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::connect::{connect, etcd_error};
use crate::held::Held;
use crate::keys::Keys;

/// Attempts of a write that loses a race on a counter or record before it gives up.
const ATTEMPTS: usize = 64;

/// Keys a read of many records asks etcd for at once: a page stays below the etcd client's
/// 4 MiB limit on one answer while records stay under 8 KiB (a stored cluster is well under
/// one), where a fleet's whole observation in one answer passes it at a few thousand clusters.
const PAGE: i64 = 500;

/// Fleet's state store on etcd; see the module documentation.
///
/// ```no_run
/// use std::sync::Arc;
/// use fleet_core::engine::Engine;
/// use fleet_core::FleetName;
/// # async fn demo(provider: Arc<dyn fleet_core::ClusterProvider>) -> fleet_core::Result<()> {
/// let fleet = FleetName::new("prod")?;
/// let store = fleet_etcd::EtcdStore::connect(&["http://127.0.0.1:2379"], &fleet).await?;
/// let engine = Engine::builder(fleet).provider(provider).store(Arc::new(store)).build()?;
/// # Ok(()) }
/// ```
pub struct EtcdStore {
    client: Client,
    keys: Keys,
    held: Option<Arc<Held>>,
    /// The identity of each cluster id seen, for fencing writes that name only the id.
    identities: Mutex<BTreeMap<ClusterId, ClusterIdentity>>,
    /// Write requests sent; see [`EtcdStore::writes`].
    writes: AtomicU64,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore").field("keys", &self.keys).field("fenced", &self.held.is_some()).finish()
    }
}

/// How a transaction ended.
enum Written {
    Yes,
    /// The store's own compares failed: another writer came first.
    Raced,
}

/// The first key after every key that starts with `prefix` (etcd's range end of a prefix).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte was 0xff: the range runs to the end of the keys.
    vec![0]
}

fn to_json<T: Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|err| Error::Store { message: format!("etcd: cannot write {what}"), source: Some(Box::new(err)) })
}

fn from_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|err| Error::Store {
        message: format!("etcd: {what} is not a valid record"),
        source: Some(Box::new(err)),
    })
}

impl EtcdStore {
    /// Connects to etcd at `endpoints` for `fleet`, unfenced: for a single engine, or for
    /// reading. Replicas get fenced stores from [`crate::Replica::store`].
    pub async fn connect<E: AsRef<str>>(endpoints: &[E], fleet: &FleetName) -> Result<Self> {
        Ok(Self::new(connect(endpoints).await?, Keys::new(fleet), None))
    }

    pub(crate) fn new(client: Client, keys: Keys, held: Option<Arc<Held>>) -> Self {
        Self { client, keys, held, identities: Mutex::new(BTreeMap::new()), writes: AtomicU64::new(0) }
    }

    /// How many write requests this store has sent to etcd since it was made: every
    /// transaction that puts or deletes (counted when sent, whether or not its compares held
    /// and it wrote) and every put. Reads are not counted, nor the shard and lease keys a
    /// [`crate::Replica`] writes for itself. A steady pass of an engine on this store, where
    /// nothing changed, sends none.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Publishes the desired fleet that replicas following this fleet reconcile towards
    /// (see [`crate::Replica::attach`]).
    pub async fn publish_desired(&self, desired: &DesiredFleet) -> Result<()> {
        let value = to_json(desired, "the desired fleet")?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.client
            .clone()
            .put(self.keys.desired(), value, None)
            .await
            .map_err(etcd_error("publish the desired fleet"))?;
        Ok(())
    }

    /// The published desired fleet, if any.
    pub async fn desired(&self) -> Result<Option<DesiredFleet>> {
        let response =
            self.client.clone().get(self.keys.desired(), None).await.map_err(etcd_error("read the desired fleet"))?;
        response.kvs().first().map(|kv| from_json(kv.value(), "the desired fleet")).transpose()
    }

    /// Every record under `prefix`, in key order.
    async fn get_prefix<T: DeserializeOwned>(&self, prefix: String, what: &str) -> Result<Vec<T>> {
        let end = prefix_end(prefix.as_bytes());
        self.get_range(prefix.into_bytes(), end, what).await
    }

    /// Every record from key `start` up to `end` (excluded), in key order, read by pages of
    /// [`PAGE`] keys all at the revision of the first page: one consistent view, however many.
    async fn get_range<T: DeserializeOwned>(&self, start: Vec<u8>, end: Vec<u8>, what: &str) -> Result<Vec<T>> {
        let mut records = Vec::new();
        let (mut from, mut revision) = (start, 0);
        loop {
            let options = GetOptions::new().with_range(end.clone()).with_limit(PAGE).with_revision(revision);
            let response =
                self.client.clone().get(from, Some(options)).await.map_err(etcd_error(&format!("read {what}")))?;
            if revision == 0 {
                revision = response.header().map_or(0, |header| header.revision());
            }
            for kv in response.kvs() {
                records.push(from_json(kv.value(), what)?);
            }
            match response.kvs().last() {
                Some(last) if response.more() => {
                    // The next page starts right after the last key read.
                    from = last.key().to_vec();
                    from.push(0);
                }
                _ => return Ok(records),
            }
        }
    }

    /// The value and mod revision of `key` (revision 0: absent).
    async fn get_one<T: DeserializeOwned>(&self, key: &str, what: &str) -> Result<(Option<T>, i64)> {
        let response = self.client.clone().get(key, None).await.map_err(etcd_error(&format!("read {what}")))?;
        match response.kvs().first() {
            Some(kv) => Ok((Some(from_json(kv.value(), what)?), kv.mod_revision())),
            None => Ok((None, 0)),
        }
    }

    fn remember(&self, id: &ClusterId, identity: &ClusterIdentity) {
        self.identities.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id.clone(), identity.clone());
    }

    /// The identity of cluster `id`: as seen before, else from its stored observation's tags,
    /// else the id itself.
    async fn identity_of(&self, id: &ClusterId) -> Result<ClusterIdentity> {
        if self.held.is_none() {
            return Ok(ClusterIdentity::of(id));
        }
        if let Some(identity) = self.identities.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(id) {
            return Ok(identity.clone());
        }
        let (stored, _) = self.get_one::<Cluster>(&self.keys.observed(id), "an observed cluster").await?;
        let identity =
            stored.and_then(|cluster| cluster.fleet_tags()).map_or_else(|| ClusterIdentity::of(id), |t| t.identity);
        self.remember(id, &identity);
        Ok(identity)
    }

    async fn identity_of_intent(&self, intent: &NewIntent) -> Result<ClusterIdentity> {
        match &intent.spec {
            Some(spec) => {
                let identity = spec.identity();
                self.remember(&intent.cluster, &identity);
                Ok(identity)
            }
            None => self.identity_of(&intent.cluster).await,
        }
    }

    /// Runs `ops` if `compares` hold and, for a fenced store writing about `identity`, this
    /// replica still holds the identity's shard.
    async fn write(
        &self,
        identity: Option<&ClusterIdentity>,
        mut compares: Vec<Compare>,
        ops: Vec<TxnOp>,
    ) -> Result<Written> {
        let fence = match (&self.held, identity) {
            (Some(held), Some(identity)) => {
                let shard = held.shard_of(identity);
                let Some(token) = held.token(shard) else {
                    return Err(Error::Conflict {
                        message: format!("this replica does not hold shard {shard}, which `{identity}` is in"),
                    });
                };
                let key = self.keys.shard(shard);
                compares.push(Compare::create_revision(key.clone(), CompareOp::Equal, token));
                Some((held, shard, key, token))
            }
            _ => None,
        };
        let otherwise = fence.as_ref().map(|(_, _, key, _)| vec![TxnOp::get(key.clone(), None)]).unwrap_or_default();
        let txn = Txn::new().when(compares).and_then(ops).or_else(otherwise);
        self.writes.fetch_add(1, Ordering::Relaxed);
        let response = self.client.clone().txn(txn).await.map_err(etcd_error("write"))?;
        if response.succeeded() {
            return Ok(Written::Yes);
        }
        if let Some((held, shard, _, token)) = fence {
            let owner_now = response.op_responses().into_iter().find_map(|op| match op {
                TxnOpResponse::Get(get) => Some(get.kvs().first().map(|kv| kv.create_revision()).unwrap_or(0)),
                _ => None,
            });
            if owner_now != Some(token) {
                held.drop_shard(shard);
                return Err(Error::Conflict {
                    message: format!(
                        "this replica lost shard {shard}: another replica holds it now, the write was refused"
                    ),
                });
            }
        }
        Ok(Written::Raced)
    }

    /// Appends a record under the next number of `counter`; returns the number.
    async fn append(
        &self,
        counter: &str,
        identity: Option<&ClusterIdentity>,
        record: impl Fn(u64) -> Result<(String, String)>,
    ) -> Result<u64> {
        let counter_key = self.keys.counter(counter);
        for _ in 0..ATTEMPTS {
            let (last, revision) = self.get_one::<u64>(&counter_key, counter).await?;
            let next = last.unwrap_or(0) + 1;
            let (key, value) = record(next)?;
            let compares = vec![Compare::mod_revision(counter_key.clone(), CompareOp::Equal, revision)];
            let ops = vec![TxnOp::put(counter_key.clone(), next.to_string(), None), TxnOp::put(key, value, None)];
            if let Written::Yes = self.write(identity, compares, ops).await? {
                return Ok(next);
            }
        }
        Err(Error::Conflict { message: format!("etcd store: {counter} stayed contended for {ATTEMPTS} attempts") })
    }

    /// Writes `key` only if its mod revision is still `revision`; a lost race is `Conflict`.
    async fn replace(
        &self,
        identity: &ClusterIdentity,
        key: String,
        revision: i64,
        op: TxnOp,
        what: &str,
    ) -> Result<()> {
        let compares = vec![Compare::mod_revision(key, CompareOp::Equal, revision)];
        match self.write(Some(identity), compares, vec![op]).await? {
            Written::Yes => Ok(()),
            Written::Raced => Err(Error::Conflict { message: format!("{what} changed meanwhile") }),
        }
    }
}

#[async_trait]
impl StateStore for EtcdStore {
    async fn record_intent(&self, intent: NewIntent, recorded_at: SystemTime) -> Result<u64> {
        let identity = self.identity_of_intent(&intent).await?;
        self.append("intents", Some(&identity), |id| {
            // `Intent` is built by its serde form: its fields are not all Fleet's to set.
            let record = serde_json::json!({"id": id, "intent": &intent, "recorded_at": recorded_at, "outcome": null});
            Ok((self.keys.intent(id), to_json(&record, "an intent")?))
        })
        .await
    }

    async fn resolve_intent(&self, id: u64, outcome: IntentOutcome) -> Result<()> {
        let key = self.keys.intent(id);
        let (stored, revision) = self.get_one::<Intent>(&key, "an intent").await?;
        let Some(mut intent) = stored else {
            return Err(Error::NotFound { resource: format!("intent {id}") });
        };
        let identity = self.identity_of_intent(&intent.intent).await?;
        intent.outcome = Some(outcome);
        let value = to_json(&intent, "an intent")?;
        self.replace(&identity, key.clone(), revision, TxnOp::put(key, value, None), &format!("intent {id}")).await
    }

    async fn pending_intents(&self) -> Result<Vec<Intent>> {
        Ok(self.intents().await?.into_iter().filter(|intent| intent.outcome.is_none()).collect())
    }

    async fn intents(&self) -> Result<Vec<Intent>> {
        let mut intents: Vec<Intent> = self.get_prefix(self.keys.intents(), "intents").await?;
        intents.sort_by_key(|intent| intent.id);
        Ok(intents)
    }

    async fn put_observed(&self, cluster: &Cluster) -> Result<()> {
        let identity = cluster.fleet_tags().map_or_else(|| ClusterIdentity::of(&cluster.id), |tags| tags.identity);
        self.remember(&cluster.id, &identity);
        let op = TxnOp::put(self.keys.observed(&cluster.id), to_json(cluster, "an observed cluster")?, None);
        self.write(Some(&identity), Vec::new(), vec![op]).await.map(|_| ())
    }

    async fn remove_observed(&self, id: &ClusterId) -> Result<()> {
        let identity = self.identity_of(id).await?;
        let op = TxnOp::delete(self.keys.observed(id), None);
        self.write(Some(&identity), Vec::new(), vec![op]).await.map(|_| ())
    }

    async fn observed(&self) -> Result<Vec<Cluster>> {
        let mut clusters: Vec<Cluster> = self.get_prefix(self.keys.observed_all(), "observed clusters").await?;
        clusters.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(clusters)
    }

    async fn append_event(
        &self,
        kind: RecordKind,
        cluster: Option<&ClusterId>,
        message: &str,
        at: SystemTime,
    ) -> Result<u64> {
        let identity = match cluster {
            Some(id) => Some(self.identity_of(id).await?),
            None => None,
        };
        self.append("events", identity.as_ref(), |seq| {
            let record = serde_json::json!({
                "seq": seq, "at": at, "kind": kind, "cluster": cluster, "message": message,
            });
            Ok((self.keys.event(seq), to_json(&record, "an event")?))
        })
        .await
    }

    async fn events_after(&self, after: u64) -> Result<Vec<EventRecord>> {
        let start = self.keys.event(after.saturating_add(1));
        let end = format!("{}\u{7f}", self.keys.events());
        self.get_range(start.into_bytes(), end.into_bytes(), "an event").await
    }

    async fn placements(&self) -> Result<Vec<Placement>> {
        let mut placements: Vec<Placement> = self.get_prefix(self.keys.placements(), "placements").await?;
        placements.sort_by(|a, b| a.identity.cmp(&b.identity));
        Ok(placements)
    }

    async fn placement(&self, identity: &ClusterIdentity) -> Result<Option<Placement>> {
        Ok(self.get_one(&self.keys.placement(identity), "a placement").await?.0)
    }

    async fn write_placement(&self, placement: &Placement) -> Result<Placement> {
        let key = self.keys.placement(&placement.identity);
        let (stored, revision) = self.get_one::<Placement>(&key, "a placement").await?;
        let current = stored.map_or(0, |p| p.generation);
        if current != placement.generation {
            return Err(Error::Conflict {
                message: format!(
                    "placement of `{}` is at generation {current}, not {}",
                    placement.identity, placement.generation
                ),
            });
        }
        let mut next = placement.clone();
        next.generation += 1;
        let op = TxnOp::put(key.clone(), to_json(&next, "a placement")?, None);
        self.replace(&placement.identity, key, revision, op, &format!("placement of `{}`", placement.identity)).await?;
        Ok(next)
    }

    async fn remove_placement(&self, identity: &ClusterIdentity, generation: u64) -> Result<()> {
        let key = self.keys.placement(identity);
        let (stored, revision) = self.get_one::<Placement>(&key, "a placement").await?;
        let Some(stored) = stored else { return Ok(()) };
        if stored.generation != generation {
            return Err(Error::Conflict {
                message: format!("placement of `{identity}` is at generation {}, not {generation}", stored.generation),
            });
        }
        let op = TxnOp::delete(key.clone(), None);
        self.replace(identity, key, revision, op, &format!("placement of `{identity}`")).await
    }

    /// Unfenced: an environment is what a team was promised, recorded by whichever replica
    /// took the request, not an action on a cluster of a shard.
    async fn put_environment(&self, environment: &AcceptedEnvironment) -> Result<()> {
        let op = TxnOp::put(self.keys.environment(environment.id()), to_json(environment, "an environment")?, None);
        self.write(None, Vec::new(), vec![op]).await?;
        Ok(())
    }

    async fn remove_environment(&self, id: &ClusterId) -> Result<()> {
        self.write(None, Vec::new(), vec![TxnOp::delete(self.keys.environment(id), None)]).await?;
        Ok(())
    }

    async fn environments(&self) -> Result<Vec<AcceptedEnvironment>> {
        let mut environments: Vec<AcceptedEnvironment> =
            self.get_prefix(self.keys.environments(), "environments").await?;
        environments.sort_by(|a, b| a.id().cmp(b.id()));
        Ok(environments)
    }

    /// Unfenced: a move's record is history, written by whichever replica's controller made
    /// or finished the move.
    async fn put_failover_move(&self, report: &MoveReport) -> Result<()> {
        let key = self.keys.failover_move(report.started_millis(), &report.identity);
        self.write(None, Vec::new(), vec![TxnOp::put(key, to_json(report, "a failover move")?, None)]).await?;
        Ok(())
    }

    async fn failover_moves(&self) -> Result<Vec<MoveReport>> {
        // Keys sort as moves started, then by identity.
        self.get_prefix(self.keys.failover_moves(), "failover moves").await
    }
}
