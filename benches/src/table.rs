//! The report's table: one row per figure, with its target, the bound or peer figure it is
//! compared with, the ratio, and whether the target is met.

use std::fmt;
use std::time::Duration;

/// One measured figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What was measured.
    pub figure: String,
    /// The measurement, with its unit.
    pub measured: String,
    /// The target, in words (`< 50 ms`), or `-`.
    pub target: String,
    /// The bound or peer figure compared with, or `-`.
    pub reference: String,
    /// Measured over reference (or over target), when one applies.
    pub ratio: Option<f64>,
    /// Whether the target is met; `None` when the row has no target.
    pub pass: Option<bool>,
}

impl Row {
    /// A row without target or reference.
    pub fn info(figure: impl Into<String>, measured: impl Into<String>) -> Self {
        Self {
            figure: figure.into(),
            measured: measured.into(),
            target: "-".into(),
            reference: "-".into(),
            ratio: None,
            pass: None,
        }
    }

    /// A row judged against `target`: passes when `pass`.
    pub fn judged(
        figure: impl Into<String>,
        measured: impl Into<String>,
        target: impl Into<String>,
        pass: bool,
    ) -> Self {
        Self { target: target.into(), pass: Some(pass), ..Self::info(figure, measured) }
    }

    /// A row of `bytes` per cluster judged against the target of at most 1 KiB.
    pub fn kib_per_cluster(figure: impl Into<String>, bytes: u64) -> Self {
        Self::judged(figure, format!("{bytes} B"), "< 1 KiB", bytes < 1024).against("1024 B", bytes as f64 / 1024.0)
    }

    /// Adds the reference it was compared with and the ratio.
    pub fn against(mut self, reference: impl Into<String>, ratio: f64) -> Self {
        self.reference = reference.into();
        self.ratio = Some(ratio);
        self
    }
}

/// A duration for humans: `812 µs`, `3.4 ms`, `1.25 s`, `9m 06s`.
pub fn show(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds >= 120.0 {
        let whole = duration.as_secs();
        format!("{}m {:02}s", whole / 60, whole % 60)
    } else if seconds >= 1.0 {
        format!("{seconds:.2} s")
    } else if seconds >= 0.001 {
        format!("{:.1} ms", seconds * 1e3)
    } else {
        format!("{:.0} µs", seconds * 1e6)
    }
}

/// Every row, as a Markdown table.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Table {
    /// The rows, in the order measured.
    pub rows: Vec<Row>,
}

impl Table {
    /// Whether every judged row passes.
    pub fn all_pass(&self) -> bool {
        self.rows.iter().all(|row| row.pass != Some(false))
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| figure | measured | target | bound or peer | ratio | result |")?;
        writeln!(f, "|---|---|---|---|---|---|")?;
        for row in &self.rows {
            let ratio = row.ratio.map_or_else(
                || "-".to_owned(),
                |r| if r != 0.0 && r.abs() < 0.01 { format!("{r:.1e}") } else { format!("{r:.3}") },
            );
            let result = match row.pass {
                Some(true) => "pass",
                Some(false) => "MISS",
                None => "-",
            };
            writeln!(
                f,
                "| {} | {} | {} | {} | {ratio} | {result} |",
                row.figure, row.measured, row.target, row.reference
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_render_with_their_verdicts() {
        let table = Table {
            rows: vec![
                Row::judged("plan", show(Duration::from_micros(3400)), "< 50 ms", true),
                Row::judged("recovery", show(Duration::from_secs(546)), "<= 1.1x bound", false)
                    .against(show(Duration::from_secs(500)), 1.092),
            ],
        };
        let text = table.to_string();
        assert!(text.contains("| plan | 3.4 ms | < 50 ms | - | - | pass |"), "{text}");
        assert!(text.contains("| recovery | 9m 06s | <= 1.1x bound | 8m 20s | 1.092 | MISS |"), "{text}");
        assert!(!table.all_pass());
    }
}
