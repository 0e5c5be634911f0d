//! The report's figures measured in virtual time are deterministic (paused clock, seeded
//! clouds), so every target they are judged against is held here: failover at the report's
//! size of 1,000 clusters, convergence at 300 (its figure at 1,000 takes a minute of a debug
//! build); steady observation is held by the `api_shapes` module's own test. Wall-clock figures
//! are only reported, never asserted.

use fleet_benches::table::Row;

fn assert_all_pass(rows: &[Row]) {
    let judged: Vec<&Row> = rows.iter().filter(|row| row.pass.is_some()).collect();
    assert!(!judged.is_empty(), "no figure was judged: {rows:?}");
    let missed: Vec<&&Row> = judged.iter().filter(|row| row.pass == Some(false)).collect();
    assert!(missed.is_empty(), "targets missed: {missed:#?}");
}

#[test]
fn convergence_on_every_api_shape_stays_within_its_bound() {
    assert_all_pass(&fleet_benches::convergence::virtual_convergence_rows(300).unwrap());
}

#[test]
fn failover_on_every_api_shape_stays_within_its_bound() {
    assert_all_pass(&fleet_benches::failover_scale::failover_rows(1_000).unwrap());
}
