//! Kind: two clusters from the example repository (`examples/fleet`), made on this machine with
//! [Kind](https://kind.sigs.k8s.io), their add-ons applied through the Kubernetes API.
//!
//! ```text
//! cargo run -p fleet-examples --example kind             # create (or keep) the clusters
//! cargo run -p fleet-examples --example kind -- --cleanup  # delete them
//! ```
//!
//! Needs `kind` on `PATH` and a running container engine (Docker or Podman); without them it
//! says what is missing and exits with status 1. Creating the clusters takes a few minutes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use fleet::ClusterProvider;
use fleet::addons::KubeAddons;
use fleet::engine::{Engine, EngineEvent};
use fleet::fleet_spec::DesiredFleet;
use fleet::kind::KindProvider;
use fleet::model::FleetName;
use fleet::repository::Repository;

type Error = Box<dyn std::error::Error>;

/// The example repository's blueprints, placed on Kind instead of the simulated clouds.
const KIND_FLEET: &str = "
kind: FleetSpec
spec:
  name: laptop
  templates:
    - name: web
      blueprint: web-app
      team: payments
      variables: {workers: 1, tier: gold}
      placements:
        - {provider: kind, regions: [local], count: 2}
";

async fn run(cleanup: bool) -> Result<(), Error> {
    let fleet = FleetName::new("laptop")?;
    let provider = Arc::new(KindProvider::builder(fleet.clone()).build()?);
    let mut repository = Repository::load_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("fleet"))?;
    repository.fleet_specs = Repository::from_sources(&[(PathBuf::from("kind-fleet.yaml"), KIND_FLEET)])?.fleet_specs;
    repository.requests.clear();
    let desired = repository.desired(&[provider.info().clone()])?;

    let engine =
        Engine::builder(fleet.clone()).provider(provider.clone()).addons(Arc::new(KubeAddons::new())).build()?;
    engine.set_desired(if cleanup { DesiredFleet::new(fleet, Vec::new()) } else { desired.fleet.clone() })?;
    let mut events = engine.subscribe();
    tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            match event {
                EngineEvent::ActionStarted { cluster, action } => println!("  {action} {cluster} ..."),
                EngineEvent::ClusterReady { cluster } => println!("  {cluster} is running"),
                EngineEvent::AddonsApplied { cluster, applied, pruned } => {
                    println!("  {cluster}: {applied} add-on objects applied, {pruned} pruned")
                }
                EngineEvent::ActionFailed { cluster, error, .. } => println!("  {cluster}: {error}"),
                _ => {}
            }
        }
    });
    println!("{} the example fleet on Kind", if cleanup { "Deleting" } else { "Creating" });
    for _ in 0..5 {
        let report = engine.run_once().await?;
        if let Some((cluster, reason)) = report.failed.iter().next() {
            return Err(format!("{cluster}: {reason}").into());
        }
        if report.converged {
            break;
        }
    }
    if cleanup {
        println!("Done: no clusters of fleet `laptop` are left.");
        return Ok(());
    }
    println!("\nReady. To use a cluster:");
    for cluster in provider.list().await?.clusters {
        println!(
            "  kind get kubeconfig --name {0} > {0}.kubeconfig && kubectl --kubeconfig {0}.kubeconfig get nodes",
            cluster.id
        );
    }
    println!("Delete them with: cargo run -p fleet-examples --example kind -- --cleanup");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cleanup = std::env::args().any(|arg| arg == "--cleanup");
    match run(cleanup).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kind example: {err}");
            ExitCode::FAILURE
        }
    }
}
