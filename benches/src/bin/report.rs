//! Runs Fleet's fleet-scale scenarios and prints one table: figure, target, bound or peer,
//! ratio, pass or miss.
//!
//! ```text
//! cargo run --release -p fleet-benches --bin report            # the full sizes
//! cargo run --release -p fleet-benches --bin report -- --quick # small and fast (the test command)
//! ```

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// Bytes allocated and not yet freed (reallocations are counted in both totals).
fn live_bytes() -> usize {
    let stats = GLOBAL.stats();
    stats.bytes_allocated.saturating_sub(stats.bytes_deallocated)
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let sizes: &[usize] = if quick { &[1_000, 5_000] } else { &[1_000, 10_000, 100_000] };
    let mut table = fleet_benches::table::Table::default();
    match fleet_benches::plan_scale::plan_rows(sizes, if quick { 3 } else { 9 }, &live_bytes) {
        Ok(rows) => table.rows.extend(rows),
        Err(err) => {
            eprintln!("report: {err}");
            std::process::exit(1);
        }
    }
    println!("{table}");
}
