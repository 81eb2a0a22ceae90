//! The benchmark runner's building blocks: each suite measures our implementation and the
//! reference tool (kubectl, helm, ...) on the same input in the same run, and reports ratios.
//!
//! A suite is a function `fn(&BenchConfig) -> anyhow::Result<Vec<Row>>` registered in [`SUITES`];
//! `scripts/bench` runs them all (or the ones named) in release mode and prints one table.

pub mod agent;
pub mod apiserver;
pub mod deploy;
pub mod helm;
pub mod kustomize;
pub mod render;
pub mod ssa;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Settings shared by every suite.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// How many timed repetitions per measurement (the median is reported).
    pub repetitions: usize,
    /// A quick run: fewer repetitions and smaller inputs, for smoke-testing the runner itself.
    pub quick: bool,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            repetitions: 5,
            quick: false,
        }
    }
}

/// Which direction is better for a measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Smaller is better (durations, bytes).
    Lower,
    /// Larger is better (throughput).
    Higher,
}

/// One measured quantity.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// The value, in `unit`.
    pub value: f64,
    /// Unit shown in the table (`ms`, `ops/s`, `MiB`).
    pub unit: &'static str,
}

/// One line of the result table.
#[derive(Clone, Debug)]
pub struct Row {
    /// Suite name (`kustomize`, `render`, `deploy`, ...).
    pub suite: &'static str,
    /// What was measured.
    pub case: String,
    /// Our implementation.
    pub ours: Measurement,
    /// The reference tool on the same input, when there is one, with its name.
    pub reference: Option<(String, Measurement)>,
    /// Which direction is better.
    pub better: Better,
    /// The goal, as a ratio in our favour (e.g. `30.0` = 30x faster), or an absolute bound
    /// on `ours` when there is no reference.
    pub target: Option<f64>,
}

impl Row {
    /// How many times better we are than the reference (above 1.0 = we win).
    pub fn ratio(&self) -> Option<f64> {
        let (_, reference) = self.reference.as_ref()?;
        if self.ours.value == 0.0 || reference.value == 0.0 {
            return None;
        }
        Some(match self.better {
            Better::Lower => reference.value / self.ours.value,
            Better::Higher => self.ours.value / reference.value,
        })
    }

    /// Whether the target is met (`None` when the row has no target).
    pub fn meets_target(&self) -> Option<bool> {
        let target = self.target?;
        Some(match (self.ratio(), self.better) {
            (Some(ratio), _) => ratio >= target,
            (None, Better::Lower) => self.ours.value <= target,
            (None, Better::Higher) => self.ours.value >= target,
        })
    }
}

/// A registered suite.
pub struct Suite {
    /// Name used on the command line.
    pub name: &'static str,
    /// What it measures, one line.
    pub about: &'static str,
    /// Runs the suite.
    pub run: fn(&BenchConfig) -> anyhow::Result<Vec<Row>>,
}

/// Every suite, in the order the runner executes them. Add yours here.
pub const SUITES: &[Suite] = &[
    Suite {
        name: "agent",
        about: "kluctl-agent: binary size, idle and peak memory, artifact change to Ready (1,000 objects)",
        run: agent::run,
    },
    Suite {
        name: "kustomize",
        about: "native Kustomize builds vs kubectl kustomize (corpus folders, 200-directory project)",
        run: kustomize::run,
    },
    Suite {
        name: "helm",
        about: "render of microservices-demo/3 -t prod vs helm template + kubectl kustomize; helm-pull vs helm pull",
        run: helm::run,
    },
    Suite {
        name: "ssa",
        about: "server-side apply and managed fields per request, 1 and 8 threads",
        run: ssa::run,
    },
    Suite {
        name: "deploy",
        about: "deploy, re-deploy and diff of 1,000 objects vs kubectl apply/diff --server-side",
        run: deploy::deploy,
    },
    Suite {
        name: "apiserver",
        about: "test API server: server-side applies/s and gets/s with 8 clients, start time",
        run: apiserver::ssa_throughput,
    },
    Suite {
        name: "render",
        about: "project render (templating, Kustomize, post-processing) vs kubectl kustomize per item",
        run: render::run,
    },
];

/// Runs `f` `repetitions` times (after one warm-up run) and returns the median duration.
pub fn median_duration<F: FnMut() -> anyhow::Result<()>>(repetitions: usize, mut f: F) -> anyhow::Result<Duration> {
    f()?;
    let mut samples = Vec::with_capacity(repetitions.max(1));
    for _ in 0..repetitions.max(1) {
        let start = Instant::now();
        f()?;
        samples.push(start.elapsed());
    }
    samples.sort();
    Ok(samples[samples.len() / 2])
}

/// Milliseconds as a measurement.
pub fn millis(duration: Duration) -> Measurement {
    Measurement {
        value: duration.as_secs_f64() * 1000.0,
        unit: "ms",
    }
}

/// Formats rows as an aligned text table with ratios and target verdicts.
pub fn format_table(rows: &[Row]) -> String {
    let mut lines = vec![[
        "suite".to_string(),
        "case".to_string(),
        "ours".to_string(),
        "reference".to_string(),
        "ratio".to_string(),
        "target".to_string(),
    ]];
    for row in rows {
        let ours = format!("{:.2} {}", row.ours.value, row.ours.unit);
        let reference = match &row.reference {
            Some((name, m)) => format!("{:.2} {} ({name})", m.value, m.unit),
            None => "-".to_string(),
        };
        let ratio = row
            .ratio()
            .map(|r| format!("{r:.1}x"))
            .unwrap_or_else(|| "-".to_string());
        let target = match (row.target, row.meets_target()) {
            (Some(t), Some(ok)) => {
                let goal = if row.reference.is_some() {
                    format!(">= {t}x")
                } else {
                    format!("{t} {}", row.ours.unit)
                };
                format!("{goal} {}", if ok { "met" } else { "MISSED" })
            }
            _ => "-".to_string(),
        };
        lines.push([row.suite.to_string(), row.case.clone(), ours, reference, ratio, target]);
    }
    let mut widths = [0usize; 6];
    for line in &lines {
        for (i, cell) in line.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in &lines {
        for (i, cell) in line.iter().enumerate() {
            let _ = write!(out, "{:<width$}  ", cell, width = widths[i]);
        }
        out = out.trim_end().to_string();
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ours: f64, reference: f64, better: Better, target: f64) -> Row {
        Row {
            suite: "s",
            case: "c".into(),
            ours: Measurement {
                value: ours,
                unit: "ms",
            },
            reference: Some((
                "ref".into(),
                Measurement {
                    value: reference,
                    unit: "ms",
                },
            )),
            better,
            target: Some(target),
        }
    }

    #[test]
    fn ratios_favour_us_in_both_directions() {
        assert_eq!(row(10.0, 300.0, Better::Lower, 30.0).ratio(), Some(30.0));
        assert_eq!(row(300.0, 10.0, Better::Higher, 30.0).ratio(), Some(30.0));
        assert_eq!(row(20.0, 300.0, Better::Lower, 30.0).meets_target(), Some(false));
    }

    #[test]
    fn table_shows_ratio_and_verdict() {
        let table = format_table(&[row(10.0, 300.0, Better::Lower, 3.0)]);
        assert!(table.contains("30.0x"), "{table}");
        assert!(table.contains(">= 3x met"), "{table}");
    }
}
