//! Plans a GitOps repository of Fleet declarations against an empty **simulated** fleet and
//! prints the plan like `terraform plan`, then every environment request that was rejected
//! and why.
//!
//! Run with `cargo run -p fleet-examples --example plan -- examples/fleet` (add `--json` for
//! the machine-readable plan).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::SystemTime;

use fleet::plan::plan;
use fleet::repository::Repository;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let Some(dir) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: plan <repository directory> [--json]");
        return ExitCode::from(2);
    };
    let repository = match Repository::load_dir(dir) {
        Ok(repository) => repository,
        Err(errors) => {
            eprintln!("{dir}: {errors}");
            return ExitCode::FAILURE;
        }
    };
    // The repository's own providers, simulated.
    let clouds = fleet_examples::demo_clouds(&repository, 1);
    let infos: Vec<_> = clouds.iter().map(|cloud| cloud.info().clone()).collect();
    let desired = match repository.desired(&infos) {
        Ok(desired) => desired,
        Err(errors) => {
            eprintln!("{dir}: {errors}");
            return ExitCode::FAILURE;
        }
    };
    let capabilities: BTreeMap<_, _> = infos.iter().map(|info| (info.name.clone(), info.capabilities)).collect();
    let plan = plan(&desired.fleet, &[], &capabilities, SystemTime::now());
    if json {
        println!("{}", plan.to_json());
    } else {
        println!("{plan}");
    }
    if !desired.rejected.is_empty() {
        eprintln!("\nRejected environment requests:");
        for rejection in &desired.rejected {
            eprintln!("  ! {rejection}");
        }
    }
    ExitCode::SUCCESS
}
