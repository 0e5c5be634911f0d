//! Resolution: merge a blueprint's layers in order, enforce locks, substitute variables,
//! type-check the result, and hash it into a version.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::variables::{bind_variables, substitute};
use super::{Blueprint, Layer, SETTING_KEYS, Settings};
use crate::{BlueprintVersion, ProviderInfo, Region, SpecError, SpecErrors};

/// A blueprint resolved with one set of variable values.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolvedBlueprint {
    /// The blueprint's name.
    pub name: String,
    /// The effective settings.
    pub settings: Settings,
    /// The hash of the settings' canonical form.
    pub version: BlueprintVersion,
    /// Every locked path with the layer that locked it (e.g. `network.privateEndpoint` →
    /// `layer `security` (security.yaml) (owner ops)`), so that a refusal can name it.
    pub locked_by: BTreeMap<String, String>,
}

impl ResolvedBlueprint {
    /// Checks the settings against what `info` declares, for a cluster in `region`, returning
    /// every problem:
    /// - the region exists;
    /// - every capability the settings need is there (hibernation), and every setting is one the
    ///   provider applies ([`crate::Capabilities::unsupported_settings`]): a setting the provider
    ///   cannot apply is refused, never dropped, naming the setting, the provider and the layer
    ///   that locked it;
    /// - the Kubernetes version is offered there, where the provider's list is known
    ///   ([`ProviderInfo::offers`]);
    /// - a system pool with at least one node, where the provider needs one.
    pub fn check_provider(&self, info: &ProviderInfo, region: &Region) -> Result<(), SpecErrors> {
        if !info.has_region(region) {
            let known = info.regions.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
            return Err(SpecError::new(
                "region",
                format!("provider `{}` has no region `{region}`; it has: {known}", info.name),
            )
            .into());
        }
        let mut errors = Vec::new();
        let settings = &self.settings;
        if settings.hibernation && !info.capabilities.hibernation {
            errors.push(SpecError::new(
                "hibernation",
                format!("blueprint `{}` enables hibernation, which provider `{}` cannot do", self.name, info.name),
            ));
        }
        for (path, what) in info.capabilities.unsupported(settings.audit_logging, &settings.network) {
            errors.push(SpecError::new(
                path,
                format!(
                    "blueprint `{}` asks for {what} (`{path}`{}), which provider `{}` cannot apply; refused rather \
                     than dropped",
                    self.name,
                    self.lock_note(path),
                    info.name
                ),
            ));
        }
        let version = settings
            .providers
            .get(&info.name)
            .and_then(|overrides| overrides.kubernetes_version)
            .unwrap_or(settings.kubernetes_version);
        if info.offers(region, version) == Some(false) {
            let offered = info.offered_versions.get(region).map(Vec::as_slice).unwrap_or_default();
            let offered = offered.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            errors.push(SpecError::new(
                "kubernetesVersion",
                format!(
                    "Kubernetes {version} is not offered by provider `{}` in `{region}`; it offers: {offered}{}",
                    info.name,
                    self.lock_note("kubernetesVersion"),
                ),
            ));
        }
        if info.system_pool_required {
            match settings.node_pools.iter().find(|(_, pool)| pool.system) {
                None => errors.push(SpecError::new(
                    "nodePools",
                    format!(
                        "provider `{}` needs a system pool: mark one node pool `system: true` (at least one node)",
                        info.name
                    ),
                )),
                Some((name, pool)) if pool.min_count == 0 => errors.push(SpecError::new(
                    format!("nodePools.{name}.minCount"),
                    format!("the system pool `{name}` needs at least one node on provider `{}`", info.name),
                )),
                Some(_) => {}
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(SpecErrors(errors)) }
    }

    /// The layer that locked `path` or a parent of it (`nodePools.system.size` is locked by a
    /// lock of `nodePools.system`), if any.
    pub fn locker_of(&self, path: &str) -> Option<&str> {
        self.locked_by
            .iter()
            .find(|(lock, _)| path == lock.as_str() || path.starts_with(&format!("{lock}.")))
            .map(|(_, layer)| layer.as_str())
    }

    /// `, locked by <layer>` when `path` or a parent of it is locked, else nothing.
    fn lock_note(&self, path: &str) -> String {
        self.locker_of(path).map(|layer| format!(", locked by {layer}")).unwrap_or_default()
    }
}

impl Blueprint {
    /// Resolves the blueprint with `variables`, then `extra` layers on top (e.g. a self-service
    /// request's own layer), each checked against the locks of every layer before it.
    ///
    /// Every problem found is returned: unknown, missing or invalid variables, unknown
    /// references, lock violations (naming the offending layer and file, the field, and the
    /// locking layer), and settings of the wrong shape.
    pub fn resolve(
        &self,
        variables: &BTreeMap<String, Value>,
        extra: &[Layer],
    ) -> Result<ResolvedBlueprint, SpecErrors> {
        let in_blueprint = |err: SpecError| match &self.source {
            Some(file) => err.in_file(file),
            None => err,
        };
        let bound = bind_variables(&self.variables, variables).map_err(|problems| {
            SpecErrors(
                problems.into_iter().map(|(path, message)| in_blueprint(SpecError::new(path, message))).collect(),
            )
        })?;
        let mut errors = Vec::new();
        let mut merged = Value::Object(Map::new());
        let mut locks: Vec<(&str, &Layer)> = Vec::new();
        let layers: Vec<&Layer> = self.layers.iter().chain(extra).collect();
        for layer in &layers {
            let in_layer = |err: SpecError| match &layer.source {
                Some(file) => err.in_file(file),
                None => err,
            };
            for lock in &layer.lock {
                let root = lock.split('.').next().unwrap_or_default();
                if !SETTING_KEYS.contains(&root) {
                    errors.push(in_layer(SpecError::new(
                        format!("layers.{}.lock", layer.name),
                        format!("cannot lock unknown setting `{lock}`; settings are {}", SETTING_KEYS.join(", ")),
                    )));
                }
            }
            let set = match substitute(&Value::Object(layer.set.clone()), &bound, "") {
                Ok(set) => set,
                Err(problems) => {
                    errors.extend(problems.into_iter().map(|(path, message)| {
                        in_layer(SpecError::new(path, format!("{message} (in {})", layer.origin())))
                    }));
                    continue;
                }
            };
            let mut next = merged.clone();
            deep_merge(&mut next, &set);
            for (path, locker) in &locks {
                if lookup(&merged, path) != lookup(&next, path) {
                    errors.push(in_layer(SpecError::new(
                        *path,
                        format!(
                            "{} (owner {}) changes `{path}`, locked by {} (owner {})",
                            layer.origin(),
                            layer.owner,
                            locker.origin(),
                            locker.owner
                        ),
                    )));
                }
            }
            merged = next;
            locks.extend(layer.lock.iter().map(|lock| (lock.as_str(), *layer)));
        }
        if !errors.is_empty() {
            return Err(SpecErrors(errors));
        }
        let settings: Settings = serde_path_to_error::deserialize(&merged).map_err(|err| {
            let path = err.path().to_string();
            let culprit = layers.iter().rev().find(|layer| sets_path(&layer.set, &path));
            let message = match culprit {
                Some(layer) => format!("{} (set by {})", err.inner(), layer.origin()),
                None => err.inner().to_string(),
            };
            let error = SpecError::new(if path == "." { String::new() } else { path }, message);
            SpecErrors(vec![match culprit.and_then(|layer| layer.source.as_ref()) {
                Some(file) => error.in_file(file),
                None => in_blueprint(error),
            }])
        })?;
        let version = BlueprintVersion::of(&settings);
        let locked_by = locks
            .iter()
            .map(|(path, layer)| ((*path).to_owned(), format!("{} (owner {})", layer.origin(), layer.owner)))
            .collect();
        Ok(ResolvedBlueprint { name: self.name.clone(), settings, version, locked_by })
    }
}

/// Merges `overlay` into `base`: mappings merge key by key, anything else replaces.
fn deep_merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(key) {
                    Some(existing) => deep_merge(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

/// The value at a dotted path, if any.
fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |current, key| current.as_object()?.get(key))
}

/// Whether a layer's own settings touch `path` (a serde path such as `nodePools.a.minCount`).
fn sets_path(set: &Map<String, Value>, path: &str) -> bool {
    let mut current = set;
    for key in path.split('.') {
        match current.get(key) {
            Some(Value::Object(next)) => current = next,
            Some(_) => return true,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::{Owner, VariableDecl};
    use serde_json::json;

    fn layer(name: &str, owner: Owner, set: Value, locks: &[&str]) -> Layer {
        let Value::Object(map) = set else { panic!("set must be a mapping") };
        let mut layer = Layer::new(name, owner, map).with_locks(locks.iter().copied());
        layer.source = Some(format!("{name}.yaml").into());
        layer
    }

    fn team() -> Owner {
        Owner::Team(crate::TeamName::new("payments").unwrap())
    }

    fn base() -> Layer {
        layer(
            "base",
            Owner::Ops,
            json!({"kubernetesVersion": "1.31", "nodePools": {"system": {"size": "small", "minCount": 1, "maxCount": 3}}}),
            &["kubernetesVersion"],
        )
    }

    fn security() -> Layer {
        layer(
            "security",
            Owner::Ops,
            json!({"auditLogging": true, "network": {"privateEndpoint": true}}),
            &["auditLogging", "network.privateEndpoint"],
        )
    }

    #[test]
    fn layers_merge_in_order() {
        let team_layer = layer(
            "team",
            team(),
            json!({"nodePools": {"workers": {"size": "medium", "minCount": 2, "maxCount": 5}}, "network": {"allowedCidrs": ["10.0.0.0/8"]}}),
            &[],
        );
        let blueprint = Blueprint::new("web", BTreeMap::new(), vec![base(), security(), team_layer]);
        let resolved = blueprint.resolve(&BTreeMap::new(), &[]).unwrap();
        assert_eq!(resolved.settings.node_pools.len(), 2);
        assert!(resolved.settings.audit_logging);
        assert!(resolved.settings.network.private_endpoint, "deep merge keeps the locked sibling");
        assert_eq!(resolved.settings.network.allowed_cidrs, ["10.0.0.0/8"]);
    }

    #[test]
    fn a_lock_violation_names_layer_file_field_and_locker() {
        let sneaky = layer("team", team(), json!({"auditLogging": false}), &[]);
        let blueprint = Blueprint::new("web", BTreeMap::new(), vec![base(), security(), sneaky]);
        let errors = blueprint.resolve(&BTreeMap::new(), &[]).unwrap_err();
        assert_eq!(errors.0.len(), 1);
        let text = errors.0[0].to_string();
        assert!(text.starts_with("team.yaml: `auditLogging`: layer `team` (team.yaml) (owner payments)"), "{text}");
        assert!(text.contains("locked by layer `security` (security.yaml) (owner ops)"), "{text}");
    }

    #[test]
    fn replacing_a_locked_parent_is_a_violation_and_setting_the_same_value_is_not() {
        let parent = layer("team", team(), json!({"network": {"privateEndpoint": false, "networkPolicy": true}}), &[]);
        let blueprint = Blueprint::new("web", BTreeMap::new(), vec![base(), security(), parent]);
        assert!(blueprint.resolve(&BTreeMap::new(), &[]).is_err());
        let same = layer("team", team(), json!({"auditLogging": true}), &[]);
        let blueprint = Blueprint::new("web", BTreeMap::new(), vec![base(), security(), same]);
        assert!(blueprint.resolve(&BTreeMap::new(), &[]).is_ok());
    }

    #[test]
    fn extra_layers_are_checked_against_every_lock() {
        let blueprint = Blueprint::new("web", BTreeMap::new(), vec![base(), security()]);
        let request = layer("request", team(), json!({"kubernetesVersion": "1.32"}), &[]);
        let errors = blueprint.resolve(&BTreeMap::new(), &[request]).unwrap_err();
        assert!(errors.to_string().contains("locked by layer `base`"), "{errors}");
    }

    #[test]
    fn variables_are_substituted_and_checked() {
        let decl: VariableDecl =
            serde_json::from_value(json!({"type": "integer", "min": 1, "max": 9, "default": 2})).unwrap();
        let workers = layer(
            "team",
            team(),
            json!({"nodePools": {"workers": {"size": "small", "minCount": 1, "maxCount": "${workers}"}}}),
            &[],
        );
        let blueprint = Blueprint::new("web", BTreeMap::from([("workers".to_owned(), decl)]), vec![base(), workers]);
        let resolved = blueprint.resolve(&BTreeMap::new(), &[]).unwrap();
        assert_eq!(resolved.settings.node_pools.values().map(|p| p.max_count).max(), Some(3));
        let five = blueprint.resolve(&BTreeMap::from([("workers".to_owned(), json!(5))]), &[]).unwrap();
        assert_ne!(resolved.version, five.version);
        let errors = blueprint.resolve(&BTreeMap::from([("workers".to_owned(), json!(50))]), &[]).unwrap_err();
        assert!(errors.to_string().contains("`variables.workers`: 50 is greater than the maximum 9"), "{errors}");
    }

    #[test]
    fn wrong_shapes_name_the_path_and_the_layer_that_set_it() {
        let bad = layer(
            "team",
            team(),
            json!({"nodePools": {"workers": {"size": "huge", "minCount": 1, "maxCount": 2}}}),
            &[],
        );
        let blueprint = Blueprint::new("web", BTreeMap::new(), vec![base(), bad]);
        let errors = blueprint.resolve(&BTreeMap::new(), &[]).unwrap_err();
        let text = errors.to_string();
        assert!(text.contains("team.yaml: `nodePools.workers.size`"), "{text}");
        assert!(text.contains("set by layer `team`"), "{text}");
        let unknown = layer("team", team(), json!({"colour": "blue"}), &[]);
        let errors =
            Blueprint::new("web", BTreeMap::new(), vec![base(), unknown]).resolve(&BTreeMap::new(), &[]).unwrap_err();
        assert!(errors.to_string().contains("unknown field `colour`"), "{errors}");
    }

    #[test]
    fn unknown_lock_paths_are_rejected() {
        let odd = layer("odd", Owner::Ops, json!({}), &["colour"]);
        let errors =
            Blueprint::new("web", BTreeMap::new(), vec![base(), odd]).resolve(&BTreeMap::new(), &[]).unwrap_err();
        assert!(errors.to_string().contains("cannot lock unknown setting `colour`"), "{errors}");
    }
}
