//! [`StandIn`]: the EKS behaviour the region proxies add in front of moto (a stand-in, not
//! EKS): it records every `CreateCluster` body as sent (moto keeps `logging` and
//! `resourcesVpcConfig` but drops `accessConfig`), refuses what EKS refuses and moto accepts
//! (a version EKS does not offer, `publicAccessCidrs` without public access, tags beyond EKS's
//! limits), and answers, in EKS's documented shapes, the calls moto 5.2 has no route for:
//! `DescribeClusterVersions`, `CreateAddon`, `CreateAccessEntry`, `AssociateAccessPolicy`,
//! `UpdateClusterVersion` and `UpdateNodegroupVersion`. Upgrades are kept here and written into
//! moto's `DescribeCluster` and `DescribeNodegroup` answers ([`StandIn::rewrite`]); like EKS,
//! the stand-in upgrades a control plane by one minor version only, and only while every node
//! group runs its minor version, and never a node group past its control plane. Upgrades take
//! effect at once (moto's clusters are active at once, too). Given the addresses of a simulated
//! Kubernetes API ([`StandIn::report_endpoints`]), it writes them into `DescribeCluster`
//! answers as the clusters' `endpoint` (moto's is a made-up host), one for clusters with a
//! public endpoint and one for private-only clusters, as seen from outside their VPC.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use serde_json::{Value, json};

/// Versions in standard support, as the stand-in's `DescribeClusterVersions` lists them.
pub const STANDARD: &[&str] = &["1.33", "1.34", "1.35", "1.36"];
/// Versions in (paid) extended support: listed, and accepted by `CreateCluster`.
pub const EXTENDED: &[&str] = &["1.31", "1.32"];

/// What the stand-in answers itself: a status, an error type (for errors) and a JSON body.
pub struct Answer {
    pub status: u16,
    pub error_type: Option<&'static str>,
    pub body: String,
}

impl Answer {
    fn ok(body: Value) -> Option<Answer> {
        Some(Answer { status: 200, error_type: None, body: body.to_string() })
    }

    fn refuse(status: u16, error_type: &'static str, message: &str) -> Option<Answer> {
        Some(Answer { status, error_type: Some(error_type), body: json!({ "message": message }).to_string() })
    }
}

/// What the stand-in keeps, by region and cluster name.
#[derive(Default)]
struct Recorded {
    creates: BTreeMap<(String, String), Value>,
    addons: BTreeMap<(String, String), BTreeMap<String, Value>>,
    access_entries: BTreeMap<(String, String), BTreeSet<String>>,
    access_policies: BTreeMap<(String, String), Vec<(String, String)>>,
    /// Control-plane versions of the clusters created through the stand-in.
    versions: BTreeMap<(String, String), String>,
    /// Node group versions, by cluster and node group.
    nodegroup_versions: BTreeMap<(String, String), BTreeMap<String, String>>,
}

/// The API server addresses `DescribeCluster` answers carry ([`StandIn::report_endpoints`]).
#[derive(Clone)]
struct Endpoints {
    public: String,
    private: String,
}

/// The stand-in, shared by the proxies of every region.
#[derive(Default)]
pub struct StandIn {
    recorded: Mutex<Recorded>,
    endpoints: Mutex<Option<Endpoints>>,
}

fn key(region: &str, cluster: &str) -> (String, String) {
    (region.to_owned(), cluster.to_owned())
}

/// The minor number of a `1.x` version.
fn minor(version: &str) -> Option<u32> {
    version.split('.').nth(1)?.parse().ok()
}

/// `UpdateClusterVersion`'s and `UpdateNodegroupVersion`'s answer.
fn update_answer(version: &str) -> Option<Answer> {
    Answer::ok(json!({"update": {
        "id": "d7a0ba18-9a87-4450-b5a0-825e6e84496f", "status": "InProgress", "type": "VersionUpdate",
        "params": [{"type": "Version", "value": version}], "errors": [],
    }}))
}

/// `%xx`-decoded `text` (principal ARNs travel encoded in paths).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// EKS's tag rules: at most 50 tags, keys of at most 128 and values of at most 256 characters.
fn tags_refused(tags: Option<&Value>) -> Option<String> {
    let tags = tags?.as_object()?;
    if tags.len() > 50 {
        return Some(format!("a resource takes at most 50 tags, not {}", tags.len()));
    }
    tags.iter().find_map(|(k, v)| {
        let long = k.chars().count() > 128 || v.as_str().is_some_and(|v| v.chars().count() > 256);
        long.then(|| format!("tag `{k}` is longer than EKS allows (keys 128, values 256 characters)"))
    })
}

impl StandIn {
    /// The stand-in's answer to a request in `region` (request line `line`, JSON `body`), or
    /// `None` to let moto answer.
    pub fn answer(&self, region: &str, line: &str, body: &[u8]) -> Option<Answer> {
        let mut words = line.split_whitespace();
        let (method, target) = (words.next()?, words.next()?);
        let path = target.split('?').next().unwrap_or_default();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let mut recorded = self.recorded.lock().unwrap();
        match (method, parts.as_slice()) {
            ("GET", ["cluster-versions"]) => {
                let listed = |versions: &[&str], status: &str| -> Vec<Value> {
                    versions
                        .iter()
                        .map(|v| json!({"clusterVersion": v, "clusterType": "eks", "versionStatus": status}))
                        .collect()
                };
                let mut versions = listed(EXTENDED, "EXTENDED_SUPPORT");
                versions.extend(listed(STANDARD, "STANDARD_SUPPORT"));
                Answer::ok(json!({ "clusterVersions": versions }))
            }
            ("POST", ["clusters"]) => {
                let version = body["version"].as_str().unwrap_or_default();
                if !STANDARD.contains(&version) && !EXTENDED.contains(&version) {
                    return Answer::refuse(
                        400,
                        "InvalidParameterException",
                        &format!("unsupported Kubernetes version {version}"),
                    );
                }
                let vpc = &body["resourcesVpcConfig"];
                let cidrs = vpc["publicAccessCidrs"].as_array().is_some_and(|c| !c.is_empty());
                if cidrs && vpc["endpointPublicAccess"] == json!(false) {
                    return Answer::refuse(
                        400,
                        "InvalidParameterException",
                        "publicAccessCidrs can only be set when endpointPublicAccess is true",
                    );
                }
                if let Some(reason) = tags_refused(body.get("tags")) {
                    return Answer::refuse(400, "BadRequestException", &reason);
                }
                let name = body["name"].as_str().unwrap_or_default();
                recorded.creates.entry(key(region, name)).or_insert_with(|| body.clone());
                recorded.versions.entry(key(region, name)).or_insert_with(|| version.to_owned());
                None
            }
            ("POST", ["clusters", name, "node-groups"]) => {
                let k = key(region, name);
                let cluster = recorded.versions.get(&k).cloned().unwrap_or_default();
                let version = body["version"].as_str().map_or(cluster, str::to_owned);
                let group = body["nodegroupName"].as_str().unwrap_or_default().to_owned();
                recorded.nodegroup_versions.entry(k).or_default().entry(group).or_insert(version);
                None
            }
            ("DELETE", ["clusters", name, "node-groups", group]) => {
                if let Some(groups) = recorded.nodegroup_versions.get_mut(&key(region, name)) {
                    groups.remove(*group);
                }
                None
            }
            ("POST", ["clusters", name, "updates"]) => {
                let k = key(region, name);
                let current = recorded.versions.get(&k)?.clone();
                let wanted = body["version"].as_str().unwrap_or_default().to_owned();
                let refuse = |why: String| Answer::refuse(400, "InvalidParameterException", &why);
                if minor(&wanted) != minor(&current).map(|m| m + 1) {
                    return refuse(format!("Unsupported Kubernetes minor version update from {current} to {wanted}"));
                }
                if !STANDARD.contains(&wanted.as_str()) && !EXTENDED.contains(&wanted.as_str()) {
                    return refuse(format!("unsupported Kubernetes version {wanted}"));
                }
                let groups = recorded.nodegroup_versions.get(&k).cloned().unwrap_or_default();
                if let Some((group, at)) = groups.iter().find(|(_, v)| minor(v) != minor(&current)) {
                    return Answer::refuse(
                        400,
                        "InvalidRequestException",
                        &format!(
                            "Nodegroup {group} runs {at}: every node group must run the cluster's version {current} \
                             before the cluster is updated to {wanted}"
                        ),
                    );
                }
                recorded.versions.insert(k, wanted.clone());
                update_answer(&wanted)
            }
            ("POST", ["clusters", name, "node-groups", group, "update-version"]) => {
                let k = key(region, name);
                let cluster = recorded.versions.get(&k)?.clone();
                let wanted = body["version"].as_str().map_or(cluster.clone(), str::to_owned);
                if minor(&wanted) > minor(&cluster) {
                    return Answer::refuse(
                        400,
                        "InvalidParameterException",
                        &format!("Requested Nodegroup version {wanted} is above the cluster's version {cluster}"),
                    );
                }
                recorded.nodegroup_versions.entry(k).or_default().insert((*group).to_owned(), wanted.clone());
                update_answer(&wanted)
            }
            ("POST", ["tags", ..]) => {
                let reason = tags_refused(body.get("tags"))?;
                Answer::refuse(400, "BadRequestException", &reason)
            }
            ("DELETE", ["clusters", name]) => {
                let k = key(region, name);
                recorded.addons.remove(&k);
                recorded.access_entries.remove(&k);
                recorded.access_policies.remove(&k);
                recorded.versions.remove(&k);
                recorded.nodegroup_versions.remove(&k);
                recorded.creates.remove(&k);
                None
            }
            ("POST", ["clusters", name, "addons"]) => {
                let addon = body["addonName"].as_str().unwrap_or_default().to_owned();
                let addons = recorded.addons.entry(key(region, name)).or_default();
                if addons.contains_key(&addon) {
                    return Answer::refuse(409, "ResourceInUseException", &format!("Addon {addon} already exists"));
                }
                addons.insert(addon.clone(), body.clone());
                Answer::ok(json!({"addon": {
                    "addonName": addon, "clusterName": name, "status": "CREATING",
                    "configurationValues": body["configurationValues"],
                }}))
            }
            ("POST", ["clusters", name, "access-entries"]) => {
                let principal = body["principalArn"].as_str().unwrap_or_default().to_owned();
                let entries = recorded.access_entries.entry(key(region, name)).or_default();
                if !entries.insert(principal.clone()) {
                    return Answer::refuse(
                        409,
                        "ResourceInUseException",
                        &format!("The specified access entry resource is already in use on this cluster: {principal}"),
                    );
                }
                Answer::ok(json!({"accessEntry": {
                    "clusterName": name, "principalArn": principal, "type": "STANDARD", "kubernetesGroups": [],
                }}))
            }
            ("POST", ["clusters", name, "access-entries", principal, "access-policies"]) => {
                let principal = decode(principal);
                let k = key(region, name);
                if !recorded.access_entries.get(&k).is_some_and(|e| e.contains(&principal)) {
                    return Answer::refuse(
                        404,
                        "ResourceNotFoundException",
                        &format!("The specified principalArn could not be found: {principal}"),
                    );
                }
                let policy = body["policyArn"].as_str().unwrap_or_default().to_owned();
                recorded.access_policies.entry(k).or_default().push((principal.clone(), policy.clone()));
                Answer::ok(json!({"clusterName": name, "principalArn": principal,
                    "associatedAccessPolicy": {"policyArn": policy, "accessScope": body["accessScope"]}}))
            }
            _ => None,
        }
    }

    /// Moto's answer `body` to a request in `region` with the stand-in's upgrades written in
    /// (`DescribeCluster`'s `version`, `DescribeNodegroup`'s), or `None` to relay it as it is.
    pub fn rewrite(&self, region: &str, line: &str, body: &[u8]) -> Option<Vec<u8>> {
        let mut words = line.split_whitespace();
        let (method, target) = (words.next()?, words.next()?);
        let path = target.split('?').next().unwrap_or_default();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let recorded = self.recorded.lock().unwrap();
        let mut answer: Value = serde_json::from_slice(body).ok()?;
        match (method, parts.as_slice()) {
            ("GET", ["clusters", name]) => {
                let version = recorded.versions.get(&key(region, name));
                let endpoints = self.endpoints.lock().unwrap().clone();
                if version.is_none() && endpoints.is_none() {
                    return None;
                }
                let cluster = answer.get_mut("cluster")?.as_object_mut()?;
                if let Some(version) = version {
                    cluster.insert("version".into(), json!(version));
                }
                if let Some(endpoints) = endpoints {
                    let public = cluster
                        .get("resourcesVpcConfig")
                        .and_then(|vpc| vpc.get("endpointPublicAccess"))
                        .and_then(Value::as_bool)
                        .unwrap_or(true);
                    let endpoint = if public { endpoints.public } else { endpoints.private };
                    cluster.insert("endpoint".into(), json!(endpoint));
                    // The simulated API serves plain HTTP: no certificate authority to name
                    // (moto's `certificateAuthority.data` is random text, not a PEM).
                    cluster.remove("certificateAuthority");
                }
            }
            ("GET", ["clusters", name, "node-groups", group]) => {
                let version = recorded.nodegroup_versions.get(&key(region, name))?.get(*group)?;
                answer.get_mut("nodegroup")?.as_object_mut()?.insert("version".into(), json!(version));
            }
            _ => return None,
        }
        Some(answer.to_string().into_bytes())
    }

    /// From now on, `DescribeCluster` answers name `public` as the API server endpoint of
    /// clusters with a public endpoint, and `private` as that of private-only clusters
    /// (`endpointPublicAccess: false`), with no certificate authority (a simulated API
    /// server over plain HTTP).
    pub fn report_endpoints(&self, public: &str, private: &str) {
        *self.endpoints.lock().unwrap() = Some(Endpoints { public: public.to_owned(), private: private.to_owned() });
    }

    /// Whether `DescribeCluster` answers name a simulated API server ([`Self::report_endpoints`]).
    pub fn reports_endpoints(&self) -> bool {
        self.endpoints.lock().unwrap().is_some()
    }

    /// The `CreateCluster` body sent for `cluster` in `region`, as sent.
    pub fn create_body(&self, region: &str, cluster: &str) -> Option<Value> {
        self.recorded.lock().unwrap().creates.get(&key(region, cluster)).cloned()
    }

    /// The `CreateAddon` body of `addon` in `cluster`, as sent.
    pub fn addon(&self, region: &str, cluster: &str, addon: &str) -> Option<Value> {
        self.recorded.lock().unwrap().addons.get(&key(region, cluster))?.get(addon).cloned()
    }

    /// The (principal, policy) associations made in `cluster`.
    pub fn access_policies(&self, region: &str, cluster: &str) -> Vec<(String, String)> {
        self.recorded.lock().unwrap().access_policies.get(&key(region, cluster)).cloned().unwrap_or_default()
    }
}
