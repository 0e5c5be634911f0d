//! The readiness of `examples/fleet` on its simulated clouds, as the `readiness` example prints
//! it: one template ready, one not (and why), one that cannot meet its objective.

use std::time::Duration;

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_example_repository_has_a_ready_template_one_not_ready_and_an_objective_missed() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fleet");
    let readiness = fleet_examples::demo_readiness(dir).await.unwrap();

    let api = readiness.template("template/api").expect("api is judged");
    assert!(api.is_ready() && api.meets_objective(), "{readiness}");

    let web = readiness.template("template/web").expect("web is judged");
    assert!(!web.is_ready(), "{readiness}");
    let not_ready: Vec<String> = web.outages.iter().filter(|o| !o.is_ready()).map(|o| o.outage.to_string()).collect();
    assert_eq!(not_ready, ["loss of sim-aws"], "{readiness}");
    let reasons = web.outages.iter().flat_map(|o| o.reasons.iter()).cloned().collect::<Vec<_>>().join("; ");
    assert!(reasons.contains("anti-affinity"), "the reason is named: {reasons}");

    let pipeline = readiness.template("template/pipeline").expect("pipeline is judged");
    assert!(pipeline.is_ready(), "{readiness}");
    assert!(!pipeline.meets_objective(), "{readiness}");
    assert_eq!(pipeline.objective, Duration::from_secs(600));
    assert!(pipeline.outages.iter().all(|o| o.expected_recovery.is_some_and(|t| t > pipeline.objective)));
    assert!(readiness.to_string().contains("ready, misses objective"), "{readiness}");
}
