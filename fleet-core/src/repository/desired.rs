//! Turning a loaded repository into the desired fleet: templates resolved and placed, requests
//! checked against team policies.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::Repository;
use crate::blueprint::{BlueprintInstance, Layer, Owner, ResolvedBlueprint};
use crate::fleet_spec::FailoverPolicy;
use crate::fleet_spec::{
    AntiAffinity, DesiredCluster, DesiredFleet, EnvironmentRequest, FleetSpec, Rejection, Usage, cluster_id,
};
use crate::{ProviderInfo, SpecError, SpecErrors, TeamName};

/// The desired fleet, and the environment requests that were turned down.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Desired {
    /// Every cluster that should exist.
    pub fleet: DesiredFleet,
    /// Requests rejected, each with the rule it broke.
    pub rejected: Vec<Rejection>,
    /// The failover policies of the templates that declare one, by the origin of their
    /// clusters (`template/<name>`), ready for
    /// [`crate::failover::FailoverControllerBuilder::policies`].
    pub failover: BTreeMap<String, FailoverPolicy>,
}

impl Repository {
    /// Resolves the repository's one fleet spec against the providers in `providers`, then
    /// schedules its environment requests within their teams' policies.
    ///
    /// Returns every problem of the fleet spec (unknown blueprint, provider or region, invalid
    /// variables, lock violations, spread violations, duplicate ids); a request that breaks a
    /// rule does not fail the whole fleet but is listed in [`Desired::rejected`].
    pub fn desired(&self, providers: &[ProviderInfo]) -> Result<Desired, SpecErrors> {
        let (file, spec) = match self.fleet_specs.as_slice() {
            [one] => one,
            [] => return Err(SpecError::new("", "no FleetSpec document found").into()),
            [_, second, ..] => {
                return Err(SpecError::new("", "more than one FleetSpec document").in_file(&second.0).into());
            }
        };
        let by_name: BTreeMap<_, _> = providers.iter().map(|info| (&info.name, info)).collect();
        let mut errors = Vec::new();
        let mut clusters = self.template_clusters(file, spec, &by_name, &mut errors);
        let failover = failover_policies(spec, &by_name, &mut errors);
        for error in &mut errors {
            if error.file.is_none() {
                error.file = Some(file.clone());
            }
        }
        let mut seen = BTreeSet::new();
        for cluster in &clusters {
            if !seen.insert(cluster.spec.id.clone()) {
                errors.push(
                    SpecError::new("spec.templates", format!("two clusters get the id `{}`", cluster.spec.id))
                        .in_file(file),
                );
            }
        }
        if !errors.is_empty() {
            return Err(SpecErrors(errors));
        }
        let mut usage: BTreeMap<TeamName, Usage> = BTreeMap::new();
        for cluster in &clusters {
            if let Some(team) = &cluster.spec.owner_team {
                usage.entry(team.clone()).or_default().add(&cluster.spec);
            }
        }
        let mut rejected = Vec::new();
        for (_, request) in &self.requests {
            match self.schedule(request, &by_name, &usage, &seen) {
                Ok(cluster) => {
                    usage.entry(request.team.clone()).or_default().add(&cluster.spec);
                    seen.insert(cluster.spec.id.clone());
                    clusters.push(cluster);
                }
                Err(rejection) => rejected.push(rejection),
            }
        }
        Ok(Desired { fleet: DesiredFleet::new(spec.name.clone(), clusters), rejected, failover })
    }

    fn template_clusters(
        &self,
        file: &std::path::Path,
        spec: &FleetSpec,
        providers: &BTreeMap<&crate::ProviderName, &ProviderInfo>,
        errors: &mut Vec<SpecError>,
    ) -> Vec<DesiredCluster> {
        let mut clusters = Vec::new();
        for (t, template) in spec.templates.iter().enumerate() {
            let at = format!("spec.templates[{t}]");
            let Some(blueprint) = self.blueprints.get(&template.blueprint) else {
                let known = self.blueprints.keys().cloned().collect::<Vec<_>>().join(", ");
                errors.push(SpecError::new(
                    format!("{at}.blueprint"),
                    format!("no blueprint `{}`; known: {known}", template.blueprint),
                ));
                continue;
            };
            let resolved = match blueprint.resolve(&template.variables, &[]) {
                Ok(resolved) => resolved,
                Err(SpecErrors(more)) => {
                    // A variable's value is written in the fleet spec, not in the blueprint:
                    // its error is the fleet spec's, at the template's path.
                    errors.extend(more.into_iter().map(
                        |e| match e.path.strip_prefix("variables.").map(str::to_owned) {
                            Some(name) => {
                                let place = spec.variable_places.get(&(t, name)).copied();
                                e.under(&at).written_at(file, place)
                            }
                            None => e,
                        },
                    ));
                    continue;
                }
            };
            let mut per_region: BTreeMap<(String, String), u32> = BTreeMap::new();
            let mut per_provider: BTreeMap<String, u32> = BTreeMap::new();
            for (p, placement) in template.placements.iter().enumerate() {
                let at = format!("{at}.placements[{p}]");
                let Some(info) = providers.get(&placement.provider) else {
                    errors.push(unknown_provider(&at, &placement.provider, providers));
                    continue;
                };
                for (r, region) in placement.regions.iter().enumerate() {
                    if let Err(SpecErrors(problems)) = resolved.check_provider(info, region) {
                        errors.extend(problems.into_iter().map(|problem| {
                            let message = match problem.path.as_str() {
                                "region" => problem.message,
                                setting => format!("{setting}: {}", problem.message),
                            };
                            SpecError::new(format!("{at}.regions[{r}]"), message)
                        }));
                        continue;
                    }
                    for _ in 0..placement.count.get() {
                        let key = (placement.provider.to_string(), region.to_string());
                        let index = per_region.entry(key).or_default();
                        let provider_count = per_provider.entry(placement.provider.to_string()).or_default();
                        *provider_count += 1;
                        let spread_broken = match template.anti_affinity {
                            AntiAffinity::Region => *index >= 1,
                            AntiAffinity::Provider => *provider_count > 1,
                            _ => false,
                        };
                        if spread_broken {
                            errors.push(SpecError::new(
                                format!("{at}.regions[{r}]"),
                                format!(
                                    "anti-affinity `{:?}` allows one cluster of template `{}` per {}",
                                    template.anti_affinity,
                                    template.name,
                                    if template.anti_affinity == AntiAffinity::Region { "region" } else { "provider" }
                                ),
                            ));
                            break;
                        }
                        let Some(id) = cluster_id(&template.name, &placement.provider, region, *index) else {
                            errors.push(SpecError::new(
                                format!("{at}.name"),
                                format!("template name `{}` cannot form a cluster id", template.name),
                            ));
                            break;
                        };
                        *index += 1;
                        let target = BlueprintInstance::new(id, placement.provider.clone(), region.clone())
                            .with_owner_team(template.team.clone());
                        match desired_cluster(
                            &resolved,
                            &target,
                            Self::template_origin(&template.name),
                            placement.priority,
                        ) {
                            Ok(cluster) => clusters.push(cluster),
                            Err(err) => errors.push(err.under(&at)),
                        }
                    }
                }
            }
        }
        clusters
    }

    /// The origin of a template's clusters.
    pub(crate) fn template_origin(template: &str) -> String {
        format!("template/{template}")
    }

    pub(crate) fn schedule(
        &self,
        request: &EnvironmentRequest,
        providers: &BTreeMap<&crate::ProviderName, &ProviderInfo>,
        usage: &BTreeMap<TeamName, Usage>,
        taken: &BTreeSet<crate::ClusterId>,
    ) -> Result<DesiredCluster, Rejection> {
        let reject = |rule: &str, message: String| Rejection::new(request, rule, message);
        let blueprint = self
            .blueprints
            .get(&request.blueprint)
            .ok_or_else(|| reject("blueprint", format!("no blueprint `{}`", request.blueprint)))?;
        let info = providers
            .get(&request.provider)
            .ok_or_else(|| reject("provider", format!("unknown provider `{}`", request.provider)))?;
        let policy = self
            .policies
            .get(&request.team)
            .ok_or_else(|| reject("policy", format!("team `{}` has no TeamPolicy", request.team)))?;
        policy.check_placement(request)?;
        if taken.contains(&request.name) {
            return Err(reject("name", format!("cluster id `{}` is already taken", request.name)));
        }
        let resolution_rule = |errors: &SpecErrors| {
            if errors.0.iter().any(|e| e.message.contains("locked by")) { "locked" } else { "blueprint" }
        };
        let base = blueprint
            .resolve(&request.variables, &[])
            .map_err(|errors| reject(resolution_rule(&errors), errors.to_string()))?;
        let resolved = match request.size {
            None => base,
            Some(size) => {
                // The size goes to the pools whose size no layer locked (an ops-locked system
                // pool keeps its own); when every pool's size is locked, it goes to all of
                // them, so that resolution names the lock a different size would break.
                let open: Vec<_> = base
                    .settings
                    .node_pools
                    .keys()
                    .filter(|name| base.locker_of(&format!("nodePools.{name}.size")).is_none())
                    .collect();
                let sized = if open.is_empty() { base.settings.node_pools.keys().collect() } else { open };
                let pools: Map<String, Value> =
                    sized.into_iter().map(|name| (name.to_string(), serde_json::json!({ "size": size }))).collect();
                let mut set = Map::new();
                set.insert("nodePools".into(), Value::Object(pools));
                let layer = Layer::new(format!("request {}", request.name), Owner::Team(request.team.clone()), set);
                blueprint
                    .resolve(&request.variables, &[layer])
                    .map_err(|errors| reject(resolution_rule(&errors), errors.to_string()))?
            }
        };
        resolved.check_provider(info, &request.region).map_err(|SpecErrors(problems)| {
            let rule = if problems.iter().any(|problem| problem.path == "region") { "region" } else { "provider" };
            let message = problems.iter().map(|problem| format!("{}: {}", problem.path, problem.message));
            reject(rule, message.collect::<Vec<_>>().join("; "))
        })?;
        let target = BlueprintInstance::new(request.name.clone(), request.provider.clone(), request.region.clone())
            .with_owner_team(Some(request.team.clone()))
            .with_ttl(request.ttl);
        let cluster = desired_cluster(&resolved, &target, format!("request/{}", request.name), 0)
            .map_err(|err| reject("blueprint", err.to_string()))?;
        policy.check(request, &cluster.spec, usage.get(&request.team).copied().unwrap_or_default())?;
        Ok(cluster)
    }
}

fn desired_cluster(
    resolved: &ResolvedBlueprint,
    instance: &BlueprintInstance,
    origin: String,
    priority: i32,
) -> Result<DesiredCluster, SpecError> {
    let spec = resolved.settings.cluster_spec(instance, &resolved.version).map_err(|err| match err {
        crate::Error::InvalidSpec { path, reason } => SpecError::new(path, reason),
        other => SpecError::new("", other.to_string()),
    })?;
    Ok(DesiredCluster::new(spec, origin, priority).with_addons(resolved.settings.addons.clone()))
}

/// Every template's failover policy, its fallbacks checked against the providers, with the
/// template's anti-affinity.
fn failover_policies(
    spec: &FleetSpec,
    providers: &BTreeMap<&crate::ProviderName, &ProviderInfo>,
    errors: &mut Vec<SpecError>,
) -> BTreeMap<String, FailoverPolicy> {
    let mut policies = BTreeMap::new();
    for (t, template) in spec.templates.iter().enumerate() {
        let Some(policy) = &template.failover else { continue };
        for (f, fallback) in policy.fallbacks.iter().enumerate() {
            let at = format!("spec.templates[{t}].failover.fallbacks[{f}]");
            let Some(info) = providers.get(&fallback.provider) else {
                errors.push(unknown_provider(&at, &fallback.provider, providers));
                continue;
            };
            for (r, region) in fallback.regions.iter().enumerate() {
                if !info.has_region(region) {
                    errors.push(SpecError::new(
                        format!("{at}.regions[{r}]"),
                        format!("provider `{}` has no region `{region}`", fallback.provider),
                    ));
                }
            }
        }
        let policy = policy.clone().with_anti_affinity(template.anti_affinity);
        policies.insert(Repository::template_origin(&template.name), policy);
    }
    policies
}

/// The error of a reference at `at` to a provider the repository is not resolved against.
fn unknown_provider(
    at: &str,
    provider: &crate::ProviderName,
    providers: &BTreeMap<&crate::ProviderName, &ProviderInfo>,
) -> SpecError {
    let known = providers.keys().map(|n| n.as_str()).collect::<Vec<_>>().join(", ");
    SpecError::new(format!("{at}.provider"), format!("unknown provider `{provider}`; known: {known}"))
}
