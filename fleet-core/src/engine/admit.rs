//! Admission: which of a plan's actions a pass runs now, and why each of the others waits.
//! Pure: the pass hands in what it observed and the engine's state as they stand, and gets a
//! verdict per action back, with the grace clock of unwanted clusters as it is to be kept.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;

use super::by_name::named;
use super::unseen::Unseen;
use crate::plan::{Action, DeleteReason};
use crate::{Cluster, ClusterId, ClusterPhase, ProviderName, Region};

/// Why an action of the plan does not run this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hold {
    /// Its provider or region could not be listed, or its cluster is out of sight: a cluster
    /// may be there that the pass cannot see.
    Unreachable,
    /// The engine has no provider of that name.
    NoProvider(ProviderName),
    /// An unwanted cluster within its garbage-collection grace period.
    AwaitingGrace,
    /// The same action for the same blueprint version failed for good before.
    FailedBefore(String),
    /// Replacements are halted (a health gate failed).
    Halted(String),
    /// Replacements beyond this pass's wave.
    Deferred,
    /// An action on the cluster is still running.
    InFlight,
}

/// What becomes of one action of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Runs now.
    Run,
    /// Nothing to do: settled, or about a cluster no longer observed.
    Nothing,
    /// Waits, for this reason.
    Held(Hold),
}

impl Verdict {
    /// Whether the pass could reach the action's cluster: its provider and region answered.
    pub(crate) fn reached(&self) -> bool {
        !matches!(self, Verdict::Nothing | Verdict::Held(Hold::Unreachable | Hold::NoProvider(_)))
    }
}

/// What admission reads: the pass's observation and the engine's state as they stand.
pub(crate) struct Admission<'a> {
    /// The clusters observed, sorted by id.
    pub observed: &'a [Cluster],
    pub unseen: &'a Unseen,
    pub providers: &'a BTreeSet<ProviderName>,
    /// Clusters whose last action failed for good, with the blueprint version it was for.
    pub failed: &'a BTreeMap<ClusterId, (String, String)>,
    /// Why replacements are halted, if they are.
    pub halted: Option<&'a str>,
    /// How many replacements may start this pass.
    pub wave: usize,
    /// When each unwanted cluster was first seen unwanted.
    pub unwanted_since: &'a BTreeMap<ClusterId, Instant>,
    pub gc_grace: Duration,
    pub now: Instant,
    pub in_flight: &'a BTreeSet<ClusterId>,
}

/// The verdicts on a plan's actions, in order, and when each cluster still unwanted was first
/// seen so (the clusters no longer unwanted forgotten).
#[derive(Debug)]
pub(crate) struct Admitted {
    pub verdicts: Vec<(Action, Verdict)>,
    pub unwanted_since: BTreeMap<ClusterId, Instant>,
}

/// The provider and, where known, the region an action works in; `None` when the action has
/// nothing to do (its cluster is settled or no longer observed).
/// `observed` is sorted by id, as the pass keeps it: each lookup is a binary search, so that
/// judging a pass's actions costs `n log n`, not `n²`.
pub(crate) fn place<'a>(action: &'a Action, observed: &'a [Cluster]) -> Option<(&'a ProviderName, Option<&'a Region>)> {
    let of_cluster = |id: &ClusterId| named(observed, id).first().map(|c| (&c.provider, Some(&c.region)));
    match action {
        Action::Create { spec } | Action::Update { spec, .. } | Action::Replace { spec, .. } => {
            Some((&spec.provider, Some(&spec.region)))
        }
        Action::Delete { provider, .. } => Some((provider, None)),
        Action::Hibernate { id } | Action::Resume { id } => of_cluster(id),
        // Unchanged, but an operation is still under way: the pass waits for it.
        Action::Unchanged { id } => {
            named(observed, id).iter().find(|c| c.phase.is_in_progress()).map(|c| (&c.provider, Some(&c.region)))
        }
    }
}

/// The cluster an action changes, when one exists already.
fn touched(action: &Action) -> Option<&ClusterId> {
    match action {
        Action::Update { spec, .. } => Some(&spec.id),
        Action::Replace { old, .. } => Some(old),
        Action::Delete { id, .. } | Action::Hibernate { id } | Action::Resume { id } | Action::Unchanged { id } => {
            Some(id)
        }
        Action::Create { .. } => None,
    }
}

/// The blueprint version an action brings (empty for actions that bring none).
pub(crate) fn version_of(action: &Action) -> String {
    match action {
        Action::Create { spec } | Action::Update { spec, .. } | Action::Replace { spec, .. } => {
            spec.blueprint_version.to_string()
        }
        _ => String::new(),
    }
}

/// Judges each action of `actions` in order (see [`Hold`] for why one waits); replacements
/// take the wave's places in order.
pub(crate) fn admit(actions: Vec<Action>, on: &Admission) -> Admitted {
    let unreachable: BTreeSet<&ClusterId> =
        on.observed.iter().filter(|c| c.phase == ClusterPhase::Unreachable).map(|c| &c.id).collect();
    // An unchanged cluster has something to wait for only when an operation is under way on
    // it: in a steady fleet, none, and most actions are judged without a lookup.
    let busy: BTreeSet<&ClusterId> = on.observed.iter().filter(|c| c.phase.is_in_progress()).map(|c| &c.id).collect();
    let mut unwanted_since = BTreeMap::new();
    let mut wave = 0;
    let verdicts = actions
        .into_iter()
        .map(|action| {
            let verdict = match &action {
                Action::Unchanged { id } if !busy.contains(id) => Verdict::Nothing,
                _ => judge(&action, on, &unreachable, &mut unwanted_since, &mut wave),
            };
            (action, verdict)
        })
        .collect();
    Admitted { verdicts, unwanted_since }
}

fn judge(
    action: &Action,
    on: &Admission,
    unreachable: &BTreeSet<&ClusterId>,
    unwanted_since: &mut BTreeMap<ClusterId, Instant>,
    wave: &mut usize,
) -> Verdict {
    let Some((provider, region)) = place(action, on.observed) else { return Verdict::Nothing };
    if on.unseen.covers_provider(provider) || region.is_some_and(|r| on.unseen.covers(provider, r)) {
        return Verdict::Held(Hold::Unreachable);
    }
    if touched(action).is_some_and(|id| unreachable.contains(id)) {
        return Verdict::Held(Hold::Unreachable);
    }
    if !on.providers.contains(provider) {
        return Verdict::Held(Hold::NoProvider(provider.clone()));
    }
    let id = &action.cluster_id();
    if let Action::Delete { reason: DeleteReason::NotWanted, .. } = action {
        let since = *on.unwanted_since.get(id).unwrap_or(&on.now);
        unwanted_since.insert(id.clone(), since);
        if on.now.duration_since(since) < on.gc_grace {
            return Verdict::Held(Hold::AwaitingGrace);
        }
    }
    if let Some((reason, failed_version)) = on.failed.get(id)
        && *failed_version == version_of(action)
    {
        return Verdict::Held(Hold::FailedBefore(reason.clone()));
    }
    let replacing = matches!(action, Action::Replace { .. });
    if replacing {
        if let Some(reason) = on.halted {
            return Verdict::Held(Hold::Halted(reason.to_owned()));
        }
        if *wave >= on.wave {
            return Verdict::Held(Hold::Deferred);
        }
    }
    if on.in_flight.contains(id) {
        return Verdict::Held(Hold::InFlight);
    }
    if replacing {
        *wave += 1;
    }
    Verdict::Run
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClusterSpec, KubernetesVersion, NodePool, NodePoolName, SizeClass};

    fn name(text: &str) -> ProviderName {
        ProviderName::new(text).unwrap()
    }

    fn spec(id: &str, version: &str) -> ClusterSpec {
        ClusterSpec::builder(
            ClusterId::new(id).unwrap(),
            name("sim"),
            Region::new("east").unwrap(),
            KubernetesVersion::new(1, 34, None),
        )
        .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
        .blueprint_version(crate::BlueprintVersion::new(version).unwrap())
        .build()
        .unwrap()
    }

    fn running(id: &str, phase: ClusterPhase) -> Cluster {
        Cluster::new(ClusterId::new(id).unwrap(), name("sim"), id, Region::new("east").unwrap(), phase)
    }

    fn replace(id: &str) -> Action {
        let old = ClusterId::new(id).unwrap();
        Action::Replace { spec: Box::new(spec(&format!("{id}-2"), "v2")), old, changes: Vec::new() }
    }

    #[test]
    fn an_action_finds_its_cluster_among_clusters_of_the_same_name() {
        let at = |id: &str, provider: &str, phase: ClusterPhase| {
            Cluster::new(ClusterId::new(id).unwrap(), name(provider), id, Region::new("east").unwrap(), phase)
        };
        // Sorted by id, as the pass keeps them; `b` at two providers.
        let observed = [
            at("a", "sim", ClusterPhase::Running),
            at("b", "other", ClusterPhase::Running),
            at("b", "sim", ClusterPhase::Creating),
            at("c", "sim", ClusterPhase::Running),
        ];
        let id = |text: &str| ClusterId::new(text).unwrap();
        let unchanged = |text: &str| Action::Unchanged { id: id(text) };
        let provider_of = |action: &Action| place(action, &observed).map(|(provider, _)| provider.to_string());
        assert_eq!(provider_of(&unchanged("b")), Some("sim".into()), "the one whose operation is under way");
        assert_eq!(provider_of(&Action::Hibernate { id: id("b") }), Some("other".into()), "the first of the name");
        assert_eq!(provider_of(&unchanged("c")), None, "settled: nothing to do");
        assert_eq!(provider_of(&Action::Resume { id: id("a") }), Some("sim".into()));
        assert_eq!(provider_of(&Action::Resume { id: id("zz") }), None, "not observed");
        assert_eq!(provider_of(&Action::Resume { id: id("a0") }), None, "between two names");
    }

    fn verdicts(admitted: &Admitted) -> Vec<Verdict> {
        admitted.verdicts.iter().map(|(_, verdict)| verdict.clone()).collect()
    }

    struct State {
        observed: Vec<Cluster>,
        unseen: Unseen,
        providers: BTreeSet<ProviderName>,
        failed: BTreeMap<ClusterId, (String, String)>,
        unwanted_since: BTreeMap<ClusterId, Instant>,
        in_flight: BTreeSet<ClusterId>,
        now: Instant,
    }

    impl State {
        fn new(mut observed: Vec<Cluster>) -> Self {
            observed.sort_by(|a, b| a.id.cmp(&b.id));
            Self {
                observed,
                unseen: Unseen::default(),
                providers: BTreeSet::from([name("sim")]),
                failed: BTreeMap::new(),
                unwanted_since: BTreeMap::new(),
                in_flight: BTreeSet::new(),
                now: Instant::now(),
            }
        }

        fn admission(&self, halted: Option<&'static str>, wave: usize) -> Admission<'_> {
            Admission {
                observed: &self.observed,
                unseen: &self.unseen,
                providers: &self.providers,
                failed: &self.failed,
                halted,
                wave,
                unwanted_since: &self.unwanted_since,
                gc_grace: Duration::from_secs(60),
                now: self.now,
                in_flight: &self.in_flight,
            }
        }
    }

    #[test]
    fn replacements_fill_the_wave_in_order_and_a_halt_holds_them_all() {
        let state = State::new(["a", "b", "c"].iter().map(|id| running(id, ClusterPhase::Running)).collect());
        let actions = || vec![replace("a"), replace("b"), replace("c")];
        let admitted = admit(actions(), &state.admission(None, 2));
        assert_eq!(verdicts(&admitted), [Verdict::Run, Verdict::Run, Verdict::Held(Hold::Deferred)]);
        let halted = admit(actions(), &state.admission(Some("canary failed"), 2));
        assert!(verdicts(&halted).iter().all(|v| *v == Verdict::Held(Hold::Halted("canary failed".into()))));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unwanted_cluster_waits_out_its_grace_and_the_clock_is_kept_only_while_unwanted() {
        let mut state = State::new(vec![running("old", ClusterPhase::Running)]);
        let delete = || Action::Delete {
            id: ClusterId::new("old").unwrap(),
            provider: name("sim"),
            region: Region::new("east").unwrap(),
            reason: DeleteReason::NotWanted,
        };
        let first = admit(vec![delete()], &state.admission(None, 1));
        assert_eq!(verdicts(&first), [Verdict::Held(Hold::AwaitingGrace)]);
        state.unwanted_since = first.unwanted_since;
        tokio::time::advance(Duration::from_secs(61)).await;
        state.now = Instant::now();
        let later = admit(vec![delete()], &state.admission(None, 1));
        assert_eq!(verdicts(&later), [Verdict::Run]);
        assert_eq!(later.unwanted_since, state.unwanted_since, "the first sighting is kept");
        assert!(admit(Vec::new(), &state.admission(None, 1)).unwanted_since.is_empty(), "wanted again: forgotten");
    }

    #[test]
    fn nothing_runs_where_the_pass_could_not_look_or_on_a_busy_or_failed_cluster() {
        let mut state = State::new(vec![running("a", ClusterPhase::Unreachable), running("b", ClusterPhase::Running)]);
        state.in_flight.insert(ClusterId::new("b").unwrap());
        state.failed.insert(ClusterId::new("c").unwrap(), ("quota".into(), "v1".into()));
        state.unseen.add_region(name("sim"), Region::new("west").unwrap());
        let mut west = spec("w", "v1");
        west.region = Region::new("west").unwrap();
        let mut elsewhere = spec("x", "v1");
        elsewhere.provider = name("other");
        let actions = vec![
            Action::Hibernate { id: ClusterId::new("a").unwrap() },
            Action::Hibernate { id: ClusterId::new("b").unwrap() },
            Action::Create { spec: Box::new(spec("c", "v1")) },
            Action::Create { spec: Box::new(spec("c", "v2")) },
            Action::Create { spec: Box::new(west) },
            Action::Create { spec: Box::new(elsewhere) },
            Action::Unchanged { id: ClusterId::new("b").unwrap() },
            Action::Resume { id: ClusterId::new("gone").unwrap() },
        ];
        assert_eq!(
            verdicts(&admit(actions, &state.admission(None, 1))),
            [
                Verdict::Held(Hold::Unreachable),
                Verdict::Held(Hold::InFlight),
                Verdict::Held(Hold::FailedBefore("quota".into())),
                Verdict::Run,
                Verdict::Held(Hold::Unreachable),
                Verdict::Held(Hold::NoProvider(name("other"))),
                Verdict::Nothing,
                Verdict::Nothing,
            ]
        );
    }
}
