//! Runs Fleet's fleet-scale scenarios and prints one table: figure, target, bound or peer,
//! ratio, pass or miss; and writes two SVG charts, `failover.svg` and `convergence.svg`
//! (clusters recovered, and clusters running, over virtual time against their bounds).
//!
//! ```text
//! cargo run --release -p fleet-benches --bin report            # the full sizes
//! cargo run --release -p fleet-benches --bin report -- --quick # small and fast (the test command)
//! cargo run --release -p fleet-benches --bin report -- --charts DIR # charts there
//! cargo run --release -p fleet-benches --bin report -- --million # and a fleet of a million
//! ```
//!
//! The charts go to `target/fleet-report/` of the workspace unless `--charts` says where.
//! Set `FLEET_ETCD_ENDPOINT` to an etcd to measure the etcd store's intent rate too; the
//! `--million` rows start an etcd of their own (`FLEET_ETCD_BIN`, else the one `./scripts/test`
//! installs into `.venv`; without either they say so). Exits 0 whether or not targets are met
//! (the table says); 1 if a scenario could not run or a chart not be written; 2 for an argument
//! it does not know.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fleet_benches::charts::{self, Finishes};
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
    /// The etcd replicas' lease time-to-live in the `--million` rows.
    lease_ttl: Duration,
}

const FULL: Sizes = Sizes {
    plans: &[1_000, 10_000, 100_000],
    plan_repeats: 9,
    specs: 1_000,
    intents: 2_000,
    convergence: 1_000,
    failover: 1_000,
    api_shapes: &[1_000, 10_000],
    // What `ReplicaOptions` gives by default.
    lease_ttl: Duration::from_secs(10),
};
const QUICK: Sizes = Sizes {
    plans: &[200, 2_000],
    plan_repeats: 3,
    specs: 100,
    intents: 100,
    convergence: 100,
    failover: 60,
    api_shapes: &[200],
    // Short, so that a replica's takeover is measured in a few seconds.
    lease_ttl: Duration::from_secs(2),
};

const USAGE: &str = "usage: report [--quick] [--charts DIR] [--million [COUNT]]";

/// What the command line asks for.
struct Options {
    /// The small sizes.
    quick: bool,
    /// Where the charts go.
    charts: PathBuf,
    /// The size of the one-process fleet measured too (`--million`, default 1,000,000).
    million: Option<usize>,
}

/// The options of `args` (without the program name); `Err` with the message to print when
/// they are not understood, `Ok(None)` for `--help`.
fn options(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    // The bench crate's directory sits in the workspace's.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut options = Options {
        quick: false,
        charts: workspace.parent().unwrap_or(workspace).join("target/fleet-report"),
        million: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--charts" => options.charts = args.next().ok_or("--charts needs a directory")?.into(),
            "--million" => options.million = Some(1_000_000),
            count if options.million.is_some() && count.parse::<usize>().is_ok() => {
                options.million = count.parse().ok();
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Some(options))
}

/// The table, and the runs the charts draw.
struct Report {
    table: Table,
    failover: Vec<Finishes>,
    convergence: Vec<Finishes>,
}

/// Clusters changed in the incremental pass of `--million` (at most 1% of the fleet).
const CHANGED: usize = 1000;

fn run(sizes: &Sizes, million: Option<usize>) -> fleet::Result<Report> {
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
    let (rows, convergence) = fleet_benches::convergence::convergence_runs(sizes.convergence)?;
    table.rows.extend(rows);
    let (rows, failover) = fleet_benches::failover_scale::failover_runs(sizes.failover)?;
    table.rows.extend(rows);
    table.rows.extend(fleet_benches::api_shapes::api_shape_rows(sizes.api_shapes)?);
    if let Some(count) = million {
        // SQLite, etcd and the virtual-time runs at a tenth of the size: the stores' first
        // passes write every cluster once, and a run from empty makes every cluster.
        table.rows.extend(fleet_benches::million::million_rows(count, count / 10, sizes.lease_ttl)?);
        table.rows.extend(fleet_benches::incremental::incremental_rows(count, CHANGED.min(count / 100).max(1))?);
    }
    Ok(Report { table, failover, convergence })
}

/// Writes both charts into `dir`; their paths.
fn write_charts(dir: &Path, report: &Report) -> std::io::Result<[PathBuf; 2]> {
    let (failover, convergence) = (dir.join("failover.svg"), dir.join("convergence.svg"));
    charts::failover_chart(&failover, &report.failover)?;
    charts::convergence_chart(&convergence, &report.convergence)?;
    Ok([failover, convergence])
}

fn main() {
    let options = match options(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(message) => {
            eprintln!("report: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let started = std::time::Instant::now();
    match run(if options.quick { &QUICK } else { &FULL }, options.million) {
        Ok(mut report) => {
            let table = &mut report.table;
            let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
            table.rows.push(Row::info("machine", format!("{} {cores} cores", std::env::consts::ARCH)));
            table.rows.push(Row::info("report run time (wall)", fleet_benches::table::show(started.elapsed())));
            println!("{table}");
            let misses = table.rows.iter().filter(|row| row.pass == Some(false)).count();
            println!(
                "{} figures judged, {misses} targets missed",
                table.rows.iter().filter(|r| r.pass.is_some()).count()
            );
            match write_charts(&options.charts, &report) {
                Ok(paths) => paths.iter().for_each(|path| println!("chart: {}", path.display())),
                Err(err) => {
                    eprintln!("report: charts not written to {}: {err}", options.charts.display());
                    std::process::exit(1);
                }
            }
        }
        Err(err) => {
            eprintln!("report: {err}");
            std::process::exit(1);
        }
    }
}
