//! SVG charts of the report's virtual-time scenarios: how many clusters had finished (recovered
//! after a failover, or running after convergence from empty) over time, each run as a step
//! line next to its lower bound's own curve (when each cluster could have finished at the
//! earliest), dashed, in the same colour.
//!
//! Drawn with `plotters`' SVG backend, which writes `<text>` elements itself: no font files,
//! no font features, no C dependencies (the text's extent is estimated, the viewer renders it).

use std::io;
use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;

/// When each cluster of one run finished, and the earliest each could have: the two curves of
/// one run on a chart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Finishes {
    /// The run, as the legend names it (`eks API`).
    pub label: String,
    /// When each cluster finished, from the run's origin (virtual time), in any order.
    pub measured: Vec<Duration>,
    /// When each could have finished at the earliest, from the same origin: the lower bound's
    /// curve, in any order.
    pub bound: Vec<Duration>,
}

/// Width and height of a chart, in pixels.
const SIZE: (u32, u32) = (960, 560);

/// One colour per run, in order (repeated past the fourth).
const COLOURS: [RGBColor; 4] =
    [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44), RGBColor(148, 103, 189)];

/// The failover chart: clusters recovered over virtual time since the first failed check, per
/// run (API shape), against each run's bound; written to `path`.
pub fn failover_chart(path: &Path, runs: &[Finishes]) -> io::Result<()> {
    let moved = runs.first().map_or(0, |run| run.measured.len());
    draw(
        path,
        &format!("Region failover: {moved} clusters recreated elsewhere, against the lower bound"),
        "virtual minutes since the first failed health check (simulated clouds)",
        "clusters recovered",
        runs,
    )
}

/// The convergence chart: clusters running over virtual time since the desired fleet was set,
/// per run (API shape), against each run's bound; written to `path`.
pub fn convergence_chart(path: &Path, runs: &[Finishes]) -> io::Result<()> {
    let count = runs.first().map_or(0, |run| run.measured.len());
    draw(
        path,
        &format!("Convergence from empty: {count} clusters created, against the lower bound"),
        "virtual minutes since the desired fleet was set (simulated cloud)",
        "clusters running",
        runs,
    )
}

/// Draws `runs` to an SVG file at `path` (its directory is created): a solid step line of
/// each run's finishes and a dashed one of its bound, titled `title`, with axis captions.
pub fn draw(path: &Path, title: &str, x_caption: &str, y_caption: &str, runs: &[Finishes]) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let minutes = |d: &Duration| d.as_secs_f64() / 60.0;
    let latest = runs.iter().flat_map(|run| run.measured.iter().chain(&run.bound)).map(minutes).fold(0.0, f64::max);
    let most = runs.iter().map(|run| run.measured.len().max(run.bound.len())).max().unwrap_or(0);
    let x_end = (latest * 1.05).max(1.0);
    let y_end = (most as f64 * 1.05).max(1.0);

    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(failed)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x_end, 0.0..y_end)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_desc(x_caption)
        .y_desc(y_caption)
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 13))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE)
        .draw()
        .map_err(failed)?;
    for (index, run) in runs.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(steps(&run.measured, x_end), colour.stroke_width(2)))
            .map_err(failed)?
            .label(run.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(2)));
        chart
            .draw_series(DashedLineSeries::new(steps(&run.bound, x_end), 6, 4, colour.stroke_width(2)))
            .map_err(failed)?
            .label(format!("{}: lower bound", run.label))
            .legend(move |(x, y)| {
                let dash = |from: i32| PathElement::new(vec![(from, 0), (from + 6, 0)], colour.stroke_width(2));
                EmptyElement::at((x, y)) + dash(0) + dash(9) + dash(18)
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(failed)?;
    root.present().map_err(failed)
}

/// The step curve of `finishes`: (minutes, how many had finished by then), from the origin to
/// `until` minutes.
fn steps(finishes: &[Duration], until: f64) -> Vec<(f64, f64)> {
    let mut minutes: Vec<f64> = finishes.iter().map(|d| d.as_secs_f64() / 60.0).collect();
    minutes.sort_by(f64::total_cmp);
    let mut points = Vec::with_capacity(2 * minutes.len() + 2);
    points.push((0.0, 0.0));
    for (done, at) in minutes.into_iter().enumerate() {
        points.push((at, done as f64));
        points.push((at, done as f64 + 1.0));
    }
    points.push((until, finishes.len() as f64));
    points
}

/// A drawing error as an I/O error (the SVG backend's only failure is writing the file).
fn failed(err: impl std::error::Error) -> io::Error {
    io::Error::other(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_rise_by_one_at_each_finish() {
        let minute = Duration::from_secs(60);
        let points = steps(&[2 * minute, minute], 3.0);
        assert_eq!(points, [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (3.0, 2.0)]);
    }
}
