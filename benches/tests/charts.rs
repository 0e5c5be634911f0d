//! The report's charts: tiny failover and convergence runs give each cluster's finish and
//! bound, and both charts drawn from them hold every run's curves, the legend and the axis
//! captions.

use std::path::PathBuf;
use std::time::Duration;

use fleet_benches::charts::{self, Finishes};
use fleet_benches::table::{Row, show};

/// A fresh directory for this test's charts.
fn chart_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("charts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Every run has one finish and one bound per cluster, none before the origin, and its latest
/// bound is no later than a tenth over its latest finish (the report's own targets).
fn assert_plausible(runs: &[Finishes], clusters: usize) {
    assert_eq!(runs.len(), 4, "the generic API and three shapes: {runs:?}");
    for run in runs {
        assert_eq!(run.measured.len(), clusters, "{run:?}");
        assert_eq!(run.bound.len(), clusters, "{run:?}");
        assert!(run.measured.iter().chain(&run.bound).all(|d| !d.is_zero()), "{run:?}");
        let latest = run.measured.iter().max().copied().unwrap_or_default();
        let bound = run.bound.iter().max().copied().unwrap_or_default();
        assert!(latest.as_secs_f64() <= bound.as_secs_f64() * 1.1, "{}: {latest:?} vs bound {bound:?}", run.label);
    }
}

/// The SVG at `path`, checked to hold a curve (solid and dashed) per run, each run's legend
/// and the axis captions.
fn assert_chart(path: &std::path::Path, runs: &[Finishes], captions: &[&str]) {
    let svg = std::fs::read_to_string(path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    // Each run: its solid step line (one polyline) and its dashed bound (many short ones), and
    // a legend swatch of each.
    let polylines = svg.matches("<polyline").count();
    assert!(polylines >= 4 * runs.len(), "{polylines} polylines for {} runs", runs.len());
    for run in runs {
        assert!(svg.contains(&format!(">\n{}\n</text>", run.label)), "no legend for {}", run.label);
        assert!(svg.contains(&format!(">\n{}: lower bound\n</text>", run.label)), "no bound legend for {}", run.label);
    }
    for caption in captions {
        assert!(svg.contains(caption), "no `{caption}` in the chart");
    }
}

/// The latest of `finishes`, as the table shows durations.
fn latest(finishes: &[Duration]) -> String {
    show(finishes.iter().max().copied().unwrap_or_default())
}

/// Each run's latest bound is the bound of its row (one row per run, `rows` apart).
fn assert_bounds_match(rows: &[Row], step: usize, runs: &[Finishes]) {
    for (row, run) in rows.iter().step_by(step).zip(runs) {
        assert!(row.reference.starts_with(&latest(&run.bound)), "{}: {row:?} vs {:?}", run.label, run.bound);
    }
}

#[test]
fn failover_chart_shows_every_shape_against_its_bound() {
    let (rows, runs) = fleet_benches::failover_scale::failover_runs(20).unwrap();
    // 40% of the clusters lose their region.
    assert_plausible(&runs, 8);
    // Two rows per run; the curves end where the table's recovery time and bound do.
    assert_bounds_match(&rows, 2, &runs);
    for (row, run) in rows.iter().step_by(2).zip(&runs) {
        assert_eq!(row.measured, latest(&run.measured), "{}: {row:?}", run.label);
    }
    let path = chart_dir("failover").join("failover.svg");
    charts::failover_chart(&path, &runs).unwrap();
    assert_chart(&path, &runs, &["clusters recovered", "virtual minutes since the first failed health check"]);
}

#[test]
fn convergence_chart_shows_every_shape_against_its_bound() {
    let (rows, runs) = fleet_benches::convergence::virtual_convergence_runs(30).unwrap();
    assert_plausible(&runs, 30);
    assert_bounds_match(&rows, 1, &runs);
    let path = chart_dir("convergence").join("convergence.svg");
    charts::convergence_chart(&path, &runs).unwrap();
    assert_chart(&path, &runs, &["clusters running", "virtual minutes since the desired fleet was set"]);
}

#[test]
fn a_run_without_clusters_still_draws() {
    let minute = Duration::from_secs(60);
    let runs = [
        Finishes { label: "generic API".into(), measured: vec![2 * minute, 3 * minute], bound: vec![2 * minute; 2] },
        Finishes { label: "empty".into(), measured: Vec::new(), bound: Vec::new() },
    ];
    let path = chart_dir("small").join("nested").join("small.svg");
    charts::draw(&path, "small", "x caption", "y caption", &runs).unwrap();
    assert_chart(&path, &runs, &["x caption", "y caption", ">\nsmall\n</text>"]);
}
