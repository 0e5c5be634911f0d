//! Runs Fleet's fleet-scale scenarios and prints one table: figure, target, bound or peer,
//! ratio, pass or miss.
//!
//! ```text
//! cargo run --release -p fleet-benches --bin report            # the full sizes
//! cargo run --release -p fleet-benches --bin report -- --quick # small and fast (the test command)
//! ```
//!
//! Set `FLEET_ETCD_ENDPOINT` to an etcd to measure the etcd store too. Exits 0 whether or not
//! targets are met (the table says); 1 if a scenario could not run.

use fleet_benches::table::{Row, Table};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// Bytes allocated and not yet freed (reallocations are counted in both totals).
fn live_bytes() -> usize {
    let stats = GLOBAL.stats();
    stats.bytes_allocated.saturating_sub(stats.bytes_deallocated)
}

/// Bytes allocated so far, freed or not.
fn allocated_bytes() -> usize {
    GLOBAL.stats().bytes_allocated
}

/// The sizes of one run.
struct Sizes {
    plans: &'static [usize],
    plan_repeats: usize,
    specs: usize,
    intents: usize,
    convergence: usize,
    failover: usize,
    api_shapes: &'static [usize],
}

const FULL: Sizes = Sizes {
    plans: &[1_000, 10_000, 100_000],
    plan_repeats: 9,
    specs: 1_000,
    intents: 2_000,
    convergence: 1_000,
    failover: 1_000,
    api_shapes: &[1_000, 10_000],
};
const QUICK: Sizes = Sizes {
    plans: &[200, 2_000],
    plan_repeats: 3,
    specs: 100,
    intents: 100,
    convergence: 100,
    failover: 60,
    api_shapes: &[200],
};

fn run(sizes: &Sizes) -> fleet::Result<Table> {
    let mut table = Table::default();
    table.rows.extend(fleet_benches::plan_scale::plan_rows(
        sizes.plans,
        sizes.plan_repeats,
        &live_bytes,
        &allocated_bytes,
    )?);
    table.rows.extend(fleet_benches::blueprint_cost::blueprint_rows(sizes.specs, 50)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| fleet::Error::Unavailable { message: err.to_string() })?;
    table.rows.extend(runtime.block_on(fleet_benches::store_rate::store_rows(sizes.intents))?);
    table.rows.extend(fleet_benches::convergence::convergence_rows(sizes.convergence)?);
    table.rows.extend(fleet_benches::failover_scale::failover_rows(sizes.failover)?);
    table.rows.extend(fleet_benches::api_shapes::api_shape_rows(sizes.api_shapes)?);
    Ok(table)
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let started = std::time::Instant::now();
    match run(if quick { &QUICK } else { &FULL }) {
        Ok(mut table) => {
            let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
            table.rows.push(Row::info("machine", format!("{} {cores} cores", std::env::consts::ARCH)));
            table.rows.push(Row::info("report run time (wall)", fleet_benches::table::show(started.elapsed())));
            println!("{table}");
            let misses = table.rows.iter().filter(|row| row.pass == Some(false)).count();
            println!(
                "{} figures judged, {misses} targets missed",
                table.rows.iter().filter(|r| r.pass.is_some()).count()
            );
        }
        Err(err) => {
            eprintln!("report: {err}");
            std::process::exit(1);
        }
    }
}
