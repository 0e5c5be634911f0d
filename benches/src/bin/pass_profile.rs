//! Runs `PASSES` steady engine passes (default 1) over a fleet of `COUNT` clusters (default
//! 20,000) on the **simulated** cloud with the memory store, for a profiler: `perf record
//! target/release/pass_profile 20000 10`.

fn main() {
    let count: usize = std::env::args().nth(1).and_then(|arg| arg.parse().ok()).unwrap_or(20_000);
    let passes: usize = std::env::args().nth(2).and_then(|arg| arg.parse().ok()).unwrap_or(1);
    match fleet_benches::million::steady_pass_time(count, passes) {
        Ok(took) => println!("steady pass over {count} clusters: {}", fleet_benches::table::show(took)),
        Err(err) => {
            eprintln!("pass_profile: {err}");
            std::process::exit(1);
        }
    }
}
