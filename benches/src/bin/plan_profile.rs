//! Plans a 100,000-cluster fleet in a loop, for profilers.
fn main() {
    let (desired, observed) = fleet_benches::plan_scale::fleet_state(100_000).expect("fleet");
    let capabilities = std::collections::BTreeMap::from([(
        fleet::model::ProviderName::new("bench").expect("valid"),
        fleet::provider::Capabilities::all(),
    )]);
    let started = std::time::Instant::now();
    for _ in 0..30 {
        let planned = fleet::plan::plan(&desired, &observed, &capabilities, std::time::SystemTime::now());
        std::hint::black_box(&planned);
    }
    println!("{:?} per plan", started.elapsed() / 30);
}
