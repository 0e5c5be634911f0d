//! Failover readiness of a GitOps repository, before any outage: for the loss of each region and
//! of each provider its templates run in, whether their clusters can be recreated at their
//! fallbacks (room, offered Kubernetes versions, settings, add-ons) and how fast, against each
//! template's recovery objective. The providers are the repository's own, **simulated**. In
//! `examples/fleet`, `api` is ready; `web` is not (its anti-affinity leaves one of its clusters
//! nowhere to go when all of `sim-aws` is lost); `pipeline` is ready but cannot meet its
//! 10-minute objective.
//!
//! Run with `cargo run -p fleet-examples --example readiness -- examples/fleet` (add `--json`
//! for the machine-readable report).

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let Some(dir) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: readiness <repository directory> [--json]");
        return ExitCode::from(2);
    };
    match judge(dir, json).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{dir}: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn judge(dir: &str, json: bool) -> Result<(), Box<dyn std::error::Error>> {
    let readiness = fleet_examples::demo_readiness(dir).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&readiness)?);
    } else {
        print!("{readiness}");
        for template in &readiness.templates {
            let verdict = match (template.is_ready(), template.meets_objective()) {
                (false, _) => "NOT READY",
                (true, false) => "ready, but misses its objective",
                (true, true) => "ready within its objective",
            };
            println!("{}: {verdict}", template.template);
        }
    }
    Ok(())
}
