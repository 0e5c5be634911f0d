//! The deterministic chaos suite over many seeds (see `fleet_core::chaos`).
//!
//! - `FLEET_CHAOS_SEEDS=N` runs seeds `0..N` (default 500); `FLEET_CHAOS_FIRST=K` starts at K.
//! - `FLEET_CHAOS_SEED=S` runs the one seed S (the replay command of a failure sets it).
//! - `FLEET_CHAOS_STEPS=N` sets the steps per run (default 30).
//! - `FLEET_CHAOS_SQLITE_EVERY=N` gives one seed in N an SQLite store (default 5; 0: none).
//! - `FLEET_CHAOS_FOCUS=c3` makes a failure show every call, event and intent about `c3`.
//!
//! Ten thousand seeds: `FLEET_CHAOS_SEEDS=10000 cargo test --release -p fleet-core --features chaos --test chaos -- --nocapture`.

use std::sync::Mutex;

use fleet_core::chaos::{ChaosFailure, ChaosOptions, ChaosReport, run_seed_blocking};

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(text.trim().parse().unwrap_or_else(|_| panic!("{name} must be a number, not `{text}`")))
}

fn options() -> ChaosOptions {
    let mut options = ChaosOptions::default();
    if let Some(steps) = env_number("FLEET_CHAOS_STEPS") {
        options.steps = steps as usize;
    }
    if let Some(every) = env_number("FLEET_CHAOS_SQLITE_EVERY") {
        options.sqlite_every = every;
    }
    options
}

#[test]
fn every_seed_keeps_every_invariant() {
    let seeds: Vec<u64> = match env_number("FLEET_CHAOS_SEED") {
        Some(seed) => vec![seed],
        None => {
            let first = env_number("FLEET_CHAOS_FIRST").unwrap_or(0);
            (first..first + env_number("FLEET_CHAOS_SEEDS").unwrap_or(500)).collect()
        }
    };
    let options = options();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(seeds.len().max(1));
    let total = Mutex::new(ChaosReport::default());
    let failures: Mutex<Vec<ChaosFailure>> = Mutex::new(Vec::new());
    let sqlite_runs = Mutex::new(0u64);
    std::thread::scope(|scope| {
        for thread in 0..threads {
            let (seeds, options, total, failures, sqlite_runs) = (&seeds, &options, &total, &failures, &sqlite_runs);
            scope.spawn(move || {
                for seed in seeds.iter().skip(thread).step_by(threads) {
                    match run_seed_blocking(*seed, options) {
                        Ok(run) => {
                            if run.report.store == "sqlite" {
                                *sqlite_runs.lock().unwrap() += 1;
                            }
                            total.lock().unwrap().add(&run.report);
                        }
                        Err(failure) => failures.lock().unwrap().push(failure),
                    }
                }
            });
        }
    });
    let total = total.into_inner().unwrap();
    let failures = failures.into_inner().unwrap();
    println!(
        "{} seeds ({} on SQLite), {} failed: {total}",
        seeds.len(),
        sqlite_runs.into_inner().unwrap(),
        failures.len()
    );
    for failure in &failures {
        println!("{failure}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} seeds broke an invariant; first: {}",
        failures.len(),
        seeds.len(),
        failures[0]
    );
    if seeds.len() >= 50 {
        assert!(
            total.crashes > 0 && total.faulted_calls > 0 && total.spec_changes > 0,
            "the suite exercised nothing: {total}"
        );
        for kind in ["error_rate", "failed_calls", "lost_responses", "region_outage", "provider_outage"] {
            assert!(total.faults.by_kind.get(kind).copied().unwrap_or(0) > 0, "no `{kind}` fault injected: {total}");
        }
    }
}

#[test]
fn a_seed_replays_exactly() {
    let mut options = ChaosOptions::default();
    options.steps = 12;
    // Seeds 0, 5, 10, ... keep their journal in SQLite, the others in memory.
    for seed in 0..24 {
        let first = run_seed_blocking(seed, &options).unwrap_or_else(|failure| panic!("{failure}"));
        let second = run_seed_blocking(seed, &options).unwrap_or_else(|failure| panic!("{failure}"));
        assert_eq!(first.report, second.report, "seed {seed}");
        for (a, b) in first.clouds.iter().zip(&second.clouds) {
            assert_eq!(a.call_log(), b.call_log(), "seed {seed}: the same calls at the same virtual times");
            assert_eq!(a.creations(), b.creations(), "seed {seed}");
        }
    }
    let other = run_seed_blocking(4, &options).unwrap();
    let third = run_seed_blocking(3, &options).unwrap();
    assert_ne!(other.clouds[0].call_log(), third.clouds[0].call_log(), "another seed is another run");
}

#[test]
fn a_failure_names_the_command_that_replays_it() {
    let failure = ChaosFailure::new(42, 7, "no orphan: [\"c3\"]".into(), 30);
    let text = failure.to_string();
    assert!(text.contains("seed 42") && text.contains("step 7") && text.contains("no orphan"), "{text}");
    assert!(
        text.contains(
            "FLEET_CHAOS_SEED=42 FLEET_CHAOS_STEPS=30 cargo test -p fleet-core --features chaos --test chaos"
        )
    );
}
