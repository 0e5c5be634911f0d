//! Self-service: [`EnvironmentRequest`]s from teams, checked against [`TeamPolicy`] quotas and
//! guardrails.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ClusterId, ClusterSpec, ProviderName, Region, SizeClass, TeamName};

/// A team's request for an environment: a real cluster of its own, for a while.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct EnvironmentRequest {
    /// The environment's name, which becomes its cluster id.
    pub name: ClusterId,
    /// The asking team.
    pub team: TeamName,
    /// The blueprint to build it from.
    pub blueprint: String,
    /// Values of the blueprint's variables.
    #[serde(default)]
    pub variables: BTreeMap<String, Value>,
    /// The provider.
    pub provider: ProviderName,
    /// The region.
    pub region: Region,
    /// A size class for every node pool, if not the blueprint's.
    #[serde(default)]
    pub size: Option<SizeClass>,
    /// How long it lives.
    #[serde(default, with = "crate::serde_opt_duration")]
    pub ttl: Option<Duration>,
}

impl EnvironmentRequest {
    /// `team`'s request for the environment `name`, built from `blueprint` on `provider` in
    /// `region`, with the blueprint's variables and sizes and no TTL (add them with the
    /// `with_` methods).
    ///
    /// ```
    /// use std::time::Duration;
    /// use fleet_core::fleet_spec::EnvironmentRequest;
    /// use fleet_core::{ClusterId, ProviderName, Region, SizeClass, TeamName};
    /// let request = EnvironmentRequest::new(
    ///     ClusterId::new("alice-checkout").unwrap(),
    ///     TeamName::new("payments").unwrap(),
    ///     "web-app",
    ///     ProviderName::new("sim-aws").unwrap(),
    ///     Region::new("eu-west-1").unwrap(),
    /// )
    /// .with_variable("workers", 2)
    /// .with_size(SizeClass::Small)
    /// .with_ttl(Duration::from_secs(8 * 3600));
    /// assert_eq!(request.variables["workers"], 2);
    /// ```
    pub fn new(
        name: ClusterId,
        team: TeamName,
        blueprint: impl Into<String>,
        provider: ProviderName,
        region: Region,
    ) -> Self {
        Self {
            name,
            team,
            blueprint: blueprint.into(),
            variables: BTreeMap::new(),
            provider,
            region,
            size: None,
            ttl: None,
        }
    }

    /// Sets the blueprint variable `name` to `value`.
    pub fn with_variable(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.variables.insert(name.into(), value.into());
        self
    }

    /// Asks for `size` in every node pool whose size ops did not lock.
    pub fn with_size(mut self, size: SizeClass) -> Self {
        self.size = Some(size);
        self
    }

    /// Sets how long it lives.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

/// How much a team may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Quota {
    /// Clusters at most.
    pub clusters: u32,
    /// Nodes at most (each cluster counts its pools' `maxCount`).
    pub nodes: u64,
}

/// A team's quotas and guardrails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct TeamPolicy {
    /// The team.
    pub team: TeamName,
    /// Its quota.
    pub quota: Quota,
    /// Providers it may use (empty: any).
    #[serde(default)]
    pub allowed_providers: Vec<ProviderName>,
    /// Regions it may use (empty: any).
    #[serde(default)]
    pub allowed_regions: Vec<Region>,
    /// Size classes it may use (empty: any).
    #[serde(default)]
    pub allowed_sizes: Vec<SizeClass>,
    /// Longest TTL; when set, every request must give a TTL.
    #[serde(default, with = "crate::serde_opt_duration")]
    pub max_ttl: Option<Duration>,
}

/// Why a request was rejected: the rule it broke and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("request `{request}` of team `{team}` rejected by rule `{rule}`: {message}")]
#[non_exhaustive]
pub struct Rejection {
    /// The request.
    pub request: ClusterId,
    /// The asking team.
    pub team: TeamName,
    /// The rule, e.g. `quota.clusters`, `allowedRegions`, `maxTtl`, `blueprint`.
    pub rule: String,
    /// The request's field the rule judged (its name in the request document, e.g. `region`,
    /// `ttl`, `size`; `team` for the team's policy and cluster quota).
    pub field: String,
    /// What was asked and what is allowed.
    pub message: String,
}

impl Rejection {
    /// A rejection of `request` by `rule`.
    pub fn new(request: &EnvironmentRequest, rule: &str, message: impl Into<String>) -> Self {
        Self {
            request: request.name.clone(),
            team: request.team.clone(),
            rule: rule.to_owned(),
            field: field_judged_by(rule, request).to_owned(),
            message: message.into(),
        }
    }
}

/// The field of `request` that `rule` judges.
fn field_judged_by(rule: &str, request: &EnvironmentRequest) -> &'static str {
    match rule {
        "allowedProviders" | "provider" => "provider",
        "allowedRegions" | "region" => "region",
        "maxTtl" => "ttl",
        "allowedSizes" | "quota.nodes" | "locked" => {
            if request.size.is_some() {
                "size"
            } else {
                "variables"
            }
        }
        "policy" | "quota.clusters" => "team",
        "name" => "name",
        _ => "blueprint",
    }
}

/// What a team already uses: clusters and nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Clusters.
    pub clusters: u32,
    /// Nodes.
    pub nodes: u64,
}

impl Usage {
    /// Adds a cluster.
    pub fn add(&mut self, spec: &ClusterSpec) {
        self.clusters += 1;
        self.nodes += spec.max_nodes();
    }
}

impl TeamPolicy {
    /// Checks where and how long a request asks for: allowed providers, allowed regions and the
    /// maximum TTL. Returns the first rule broken.
    pub fn check_placement(&self, request: &EnvironmentRequest) -> Result<(), Rejection> {
        let list = |items: Vec<String>| items.join(", ");
        if !self.allowed_providers.is_empty() && !self.allowed_providers.contains(&request.provider) {
            let allowed = list(self.allowed_providers.iter().map(ToString::to_string).collect());
            return Err(Rejection::new(
                request,
                "allowedProviders",
                format!("provider `{}` is not one of {allowed}", request.provider),
            ));
        }
        if !self.allowed_regions.is_empty() && !self.allowed_regions.contains(&request.region) {
            let allowed = list(self.allowed_regions.iter().map(ToString::to_string).collect());
            return Err(Rejection::new(
                request,
                "allowedRegions",
                format!("region `{}` is not one of {allowed}", request.region),
            ));
        }
        if let Some(max) = self.max_ttl {
            match request.ttl {
                None => {
                    return Err(Rejection::new(
                        request,
                        "maxTtl",
                        format!("a TTL is required (at most {})", crate::format_duration(max)),
                    ));
                }
                Some(ttl) if ttl > max => {
                    return Err(Rejection::new(
                        request,
                        "maxTtl",
                        format!(
                            "TTL {} exceeds the maximum {}",
                            crate::format_duration(ttl),
                            crate::format_duration(max)
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Checks a request, whose resolved cluster is `spec`, against this policy given what the
    /// team already uses: [`check_placement`](Self::check_placement), allowed sizes, and the
    /// cluster and node quotas. Returns the first rule broken.
    pub fn check(&self, request: &EnvironmentRequest, spec: &ClusterSpec, used: Usage) -> Result<(), Rejection> {
        self.check_placement(request)?;
        let list = |items: Vec<String>| items.join(", ");
        if !self.allowed_sizes.is_empty()
            && let Some(pool) = spec.node_pools.iter().find(|pool| !self.allowed_sizes.contains(&pool.size))
        {
            let allowed = list(self.allowed_sizes.iter().map(ToString::to_string).collect());
            return Err(Rejection::new(
                request,
                "allowedSizes",
                format!("node pool `{}` is {}, allowed sizes are {allowed}", pool.name, pool.size),
            ));
        }
        if used.clusters + 1 > self.quota.clusters {
            return Err(Rejection::new(
                request,
                "quota.clusters",
                format!("team has {} of {} clusters", used.clusters, self.quota.clusters),
            ));
        }
        if used.nodes + spec.max_nodes() > self.quota.nodes {
            return Err(Rejection::new(
                request,
                "quota.nodes",
                format!(
                    "team uses {} of {} nodes, this request needs {}",
                    used.nodes,
                    self.quota.nodes,
                    spec.max_nodes()
                ),
            ));
        }
        Ok(())
    }
}
