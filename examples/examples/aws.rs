//! AWS: plans a small fleet of two EKS clusters in a real AWS account and, with `--apply`,
//! creates it (`--delete` removes it again).
//!
//! ```text
//! export AWS_REGION=eu-west-1                 # and credentials: AWS_PROFILE, or access keys
//! export FLEET_EKS_CLUSTER_ROLE=arn:aws:iam::123456789012:role/eks-cluster
//! export FLEET_EKS_NODE_ROLE=arn:aws:iam::123456789012:role/eks-node
//! export FLEET_EKS_SUBNETS=subnet-0abc,subnet-0def
//! cargo run -p fleet-examples --features aws --example aws             # plan only
//! cargo run -p fleet-examples --features aws --example aws -- --apply  # create (about 15 minutes)
//! cargo run -p fleet-examples --features aws --example aws -- --delete # delete
//! ```
//!
//! Without credentials or settings it says what is missing and exits with status 1. Real EKS
//! clusters cost money while they run.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use fleet::aws::EksProviderBuilder;
use fleet::engine::{Engine, EngineEvent};
use fleet::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet::model::{ClusterId, FleetName, NodePool, NodePoolName, Region, SizeClass};
use fleet::plan::plan;
use fleet::{ClusterProvider, ClusterSpec};

type Error = Box<dyn std::error::Error>;

fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

async fn run(apply: bool, delete: bool) -> Result<(), Error> {
    let fleet = FleetName::new("fleet-example")?;
    let mut builder = EksProviderBuilder::from_env(fleet.clone());
    if let Some(role) = setting("FLEET_EKS_CLUSTER_ROLE") {
        builder = builder.with_cluster_role_arn(role);
    }
    if let Some(role) = setting("FLEET_EKS_NODE_ROLE") {
        builder = builder.with_node_role_arn(role);
    }
    let region = setting("AWS_REGION").or_else(|| setting("AWS_DEFAULT_REGION"));
    if let Some(region) = &region {
        let region = Region::new(region)?;
        builder = builder.with_regions(vec![region.clone()]);
        if let Some(subnets) = setting("FLEET_EKS_SUBNETS") {
            builder = builder.with_subnets(region, subnets.split(',').map(str::to_owned).collect());
        }
    }
    let provider = Arc::new(builder.build().await.map_err(|err| {
        format!("{err}\n(set FLEET_EKS_CLUSTER_ROLE, FLEET_EKS_NODE_ROLE and FLEET_EKS_SUBNETS as this example's documentation shows)")
    })?);
    let region = provider.info().regions[0].clone();
    let clusters = if delete {
        Vec::new()
    } else {
        (0..2)
            .map(|i| -> Result<DesiredCluster, Error> {
                let spec = ClusterSpec::builder(
                    ClusterId::new(format!("example-{i}"))?,
                    provider.info().name.clone(),
                    region.clone(),
                    "1.33".parse()?,
                )
                .node_pool(NodePool::new(NodePoolName::new("workers")?, SizeClass::Small, 1, 2)?)
                .build()?;
                Ok(DesiredCluster::new(spec, "example", 0))
            })
            .collect::<Result<_, _>>()?
    };
    let desired = DesiredFleet::new(fleet.clone(), clusters);
    let listing = provider.list().await?;
    for unreachable in &listing.unreachable {
        println!(
            "warning: {} could not be listed ({}): the plan knows none of its clusters",
            unreachable.region, unreachable.error
        );
    }
    let observed = listing.into_clusters();
    let capabilities = BTreeMap::from([(provider.info().name.clone(), provider.info().capabilities)]);
    println!("{}", plan(&desired, &observed, &capabilities, SystemTime::now()));
    if !apply && !delete {
        println!("\nNothing changed. Run with --apply to create the clusters (they cost money while they run).");
        return Ok(());
    }
    let engine = Engine::builder(fleet).provider(provider.clone()).build()?;
    engine.set_desired(desired)?;
    let mut events = engine.subscribe();
    tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            if let EngineEvent::ActionStarted { cluster, action } | EngineEvent::ActionSucceeded { cluster, action } =
                &event
            {
                println!(
                    "  {action} {cluster}: {}",
                    if matches!(event, EngineEvent::ActionStarted { .. }) { "started" } else { "done" }
                );
            }
        }
    });
    loop {
        let report = engine.run_once().await?;
        if let Some((cluster, reason)) = report.failed.iter().next() {
            return Err(format!("{cluster}: {reason}").into());
        }
        if report.converged {
            break;
        }
    }
    println!("Done.");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let apply = std::env::args().any(|arg| arg == "--apply");
    let delete = std::env::args().any(|arg| arg == "--delete");
    match run(apply, delete).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("aws example: {err}");
            ExitCode::FAILURE
        }
    }
}
