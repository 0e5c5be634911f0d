//! The incremental rows at a small size: the same changes make the same store writes in a
//! fleet ten times the size.

use fleet_benches::incremental::{changed_pass, incremental_rows};

#[test]
fn the_same_changes_write_the_same_in_a_larger_fleet() {
    let small = changed_pass(300, 20).unwrap();
    let large = changed_pass(3000, 20).unwrap();
    assert!(small.writes > 0, "an update is journalled: {small:?}");
    assert_eq!(small.writes, large.writes, "{small:?} {large:?}");
    let rows = incremental_rows(1000, 10).unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows[1].figure.contains("changing 10 of 1000 clusters"), "{:?}", rows[1]);
    assert!(rows[1].pass == Some(true), "{:?}", rows[1]);
}
