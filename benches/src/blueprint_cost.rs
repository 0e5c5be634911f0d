//! Blueprint resolution and hashing: resolving the example repository's `web-app` blueprint,
//! and turning a fleet spec into the specs of every cluster (resolution, checks, hashes).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fleet::model::{ProviderName, Region};
use fleet::provider::{Capabilities, ProviderInfo};
use fleet::repository::Repository;
use fleet::{Error, Result};

use crate::table::{Row, show};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/fleet")
}

fn invalid(err: impl std::fmt::Display) -> Error {
    Error::InvalidSpec { path: "examples/fleet".into(), reason: err.to_string() }
}

/// The example repository's blueprints and layers with a fleet spec of `count` web clusters
/// spread over three regions.
fn repository(count: usize) -> Result<Repository> {
    let mut sources: Vec<(PathBuf, String)> = Vec::new();
    for folder in ["blueprints", "layers", "manifests"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(examples().join(folder))
            .map_err(invalid)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for file in files {
            if folder == "manifests" {
                continue;
            }
            sources.push((file.clone(), std::fs::read_to_string(&file).map_err(invalid)?));
        }
    }
    let per_region = count.div_ceil(3).max(1);
    let fleet = format!(
        "kind: FleetSpec\nspec:\n  name: bench\n  templates:\n    - name: web\n      blueprint: web-app\n      team: payments\n      variables: {{workers: 5}}\n      placements:\n        - {{provider: sim, regions: [r0, r1, r2], count: {per_region}}}\n"
    );
    sources.push((PathBuf::from("fleet.yaml"), fleet));
    let borrowed: Vec<(PathBuf, &str)> = sources.iter().map(|(path, text)| (path.clone(), text.as_str())).collect();
    let mut repository = Repository::from_sources(&borrowed).map_err(invalid)?;
    // Add-on manifests are files the loader inlines from disk; the bench leaves them out.
    for blueprint in repository.blueprints.values_mut() {
        for layer in &mut blueprint.layers {
            layer.set.remove("addons");
        }
    }
    Ok(repository)
}

/// Times resolving one blueprint and building the desired specs of `count` clusters.
pub fn blueprint_rows(count: usize, repeats: usize) -> Result<Vec<Row>> {
    let repository = repository(count)?;
    let blueprint = repository.blueprints.get("web-app").ok_or_else(|| invalid("no web-app blueprint"))?;
    let variables = BTreeMap::from([("workers".to_owned(), serde_json::json!(5))]);
    let started = Instant::now();
    for _ in 0..repeats.max(1) {
        blueprint.resolve(&variables, &[]).map_err(invalid)?;
    }
    let resolve = started.elapsed() / repeats.max(1) as u32;
    let regions = (0..3).map(|n| Region::new(format!("r{n}"))).collect::<std::result::Result<Vec<_>, _>>()?;
    // A provider that applies every setting the example's ops layers lock.
    let providers = [ProviderInfo::new(ProviderName::new("sim")?, regions).with_capabilities(Capabilities::all())];
    let started = Instant::now();
    let desired = repository.desired(&providers).map_err(invalid)?;
    let elapsed = started.elapsed();
    let clusters = desired.fleet.clusters.len().max(1);
    let per_cluster = Duration::from_secs_f64(elapsed.as_secs_f64() / clusters as f64);
    Ok(vec![
        Row::info("resolve the web-app blueprint (3 layers, variables, locks, hash)", show(resolve)),
        Row::info(format!("fleet spec to {clusters} cluster specs, per cluster"), show(per_cluster)),
    ])
}
