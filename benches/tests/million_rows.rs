//! The report's `--million` rows at a small size: 2,000 clusters, and 200 for the rows at a
//! tenth of the size (SQLite, etcd, convergence and failover in virtual time). The etcd rows
//! need the etcd that `./scripts/test` installs into `.venv` (or `FLEET_ETCD_BIN`), as the
//! fleet-etcd tests do. Wall-clock figures are only checked to be there.

use std::time::Duration;

use fleet_benches::table::Row;

fn row<'r>(rows: &'r [Row], figure: &str) -> &'r Row {
    rows.iter().find(|row| row.figure.contains(figure)).unwrap_or_else(|| panic!("no row `{figure}` in {rows:#?}"))
}

#[test]
fn the_million_rows_hold_the_stores_and_the_virtual_time_runs_at_a_tenth() {
    let rows = fleet_benches::million::million_rows(2_000, 200, Duration::from_secs(2)).unwrap();

    let sqlite = row(&rows, "SQLite store: rows a steady pass writes (200 clusters)");
    assert_eq!((sqlite.measured.as_str(), sqlite.pass), ("0", Some(true)));

    let etcd = row(&rows, "etcd store: writes a steady pass makes (200 clusters)");
    assert_eq!((etcd.measured.as_str(), etcd.pass), ("0", Some(true)), "etcd must be there: run ./scripts/test once");
    row(&rows, "engine pass over 200 clusters, steady, etcd store (wall)");
    let held = row(&rows, "etcd: a replica holds every shard of a killed one (200 clusters");
    assert!(held.figure.contains("lease TTL 2.00 s"), "{held:?}");
    let takeover = row(&rows, "etcd: a replica takes over a killed one's shards and passes over all 200 clusters");
    assert!(takeover.reference.starts_with("lease TTL 2.00 s + a steady pass"), "{takeover:?}");
    assert!(takeover.ratio.is_some_and(|ratio| ratio > 0.0), "{takeover:?}");
    let survivor =
        row(&rows, "etcd: the surviving replica's passes and writes from the kill to that pass (200 clusters)");
    assert!(survivor.measured.ends_with(", 0 writes"), "taking over writes nothing: {survivor:?}");

    for (figure, shape) in [
        ("200 clusters from empty, 7-min creates, 5 writes/s (virtual)", "generic"),
        ("gke API: 200 clusters from empty", "gke"),
        ("aks API: 200 clusters from empty", "aks"),
    ] {
        let convergence = row(&rows, figure);
        assert_eq!(convergence.pass, Some(true), "{convergence:?}");
        row(&rows, &format!("the run above, {shape} API, 200 clusters from empty (wall)"));
    }
    let failover = row(&rows, "failover: 80 of 200 clusters lose their region, recovery (virtual)");
    assert_eq!(failover.pass, Some(true), "{failover:?}");
    row(&rows, "the run above, generic API, failover of 200 clusters (wall)");
}
