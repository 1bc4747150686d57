//! Whether one run has a property ([`verdict`]), and what the run showed that is relevant to it.
//!
//! Guarantees: a pure function of the property and the run's report (or its error); a run that
//! fails (a livelock, an invalid scenario) does not have the property. The observations are one
//! line each, with fixed formatting (times in seconds to 3 decimals, features to 6), so reports
//! built from them are deterministic.

use std::fmt::Write as _;

use crate::detect::Finding;
use crate::model::{Direction, EndpointName, Property};
use crate::outcome::Outcome;
use crate::run::{Report, RunError};
use crate::summary::{EndpointSummary, Summary};

/// The result of checking one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Whether the run has the property.
    pub holds: bool,
    /// What the run showed that is relevant to the property (for a failure report), one line
    /// each.
    pub observed: Vec<String>,
}

/// Checks `property` on a run.
pub fn verdict(property: &Property, run: &Result<Report, RunError>) -> Verdict {
    let report = match run {
        Ok(r) => r,
        Err(e) => {
            return Verdict {
                holds: false,
                observed: vec![format!("the simulation failed: {}", crate::error_chain(e))],
            };
        }
    };
    let sum = &report.summary;
    let (holds, mut observed) = match property {
        Property::Never(sig) => match of(sum, sig).next() {
            Some(f) => (false, vec![finding_line(f)]),
            None => (true, vec![format!("no {sig}")]),
        },
        Property::Always(sig) => match of(sum, sig).next() {
            Some(f) => (true, vec![finding_line(f)]),
            None => (false, vec![format!("no {sig}")]),
        },
        Property::Outcome(want) => {
            let got = Outcome::of_summary(sum);
            (
                got == *want,
                vec![format!("outcome {got} (expected {want})")],
            )
        }
        Property::Feature {
            signature,
            feature,
            min,
            max,
        } => {
            let outside = |v: f64| min.is_some_and(|lo| v < lo) || max.is_some_and(|hi| v > hi);
            let values: Vec<(f64, f64)> = of(sum, signature)
                .filter_map(|f| f.features.get(feature).map(|&v| (f.at_s, v)))
                .collect();
            let bad = values.iter().find(|(_, v)| outside(*v));
            let shown = bad.or(values.first());
            let line = match shown {
                Some((at, v)) => format!(
                    "{signature}.{feature} = {v:.6} at {at:.3} s (bounds: {})",
                    bounds(*min, *max)
                ),
                None => format!("no {signature} with {feature}"),
            };
            (bad.is_none(), vec![line])
        }
        Property::Delivered {
            direction,
            min,
            max,
        } => {
            let d = match direction {
                Direction::Uplink => &sum.uplink,
                Direction::Downlink => &sum.downlink,
            };
            let n = d.bytes_delivered;
            let holds = min.is_none_or(|lo| n >= lo) && max.is_none_or(|hi| n <= hi);
            let name = match direction {
                Direction::Uplink => "uplink",
                Direction::Downlink => "downlink",
            };
            let line = format!(
                "{name}: {n} B delivered of {} B written (bounds: {})",
                d.bytes_written,
                bounds(min.map(|v| v as f64), max.map(|v| v as f64))
            );
            (holds, vec![line])
        }
        Property::FinalState(fs) => {
            let (name, e) = endpoint(sum, fs.side);
            (
                e.final_state == fs.state,
                vec![format!(
                    "{name} final state {} (expected {})",
                    e.final_state, fs.state
                )],
            )
        }
    };
    if !holds {
        observed.push(run_line(sum));
    }
    Verdict { holds, observed }
}

/// The findings of `sig` in a summary.
fn of<'a>(sum: &'a Summary, sig: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
    sum.findings.iter().filter(move |f| f.signature == sig)
}

/// An endpoint's name and summary.
fn endpoint(sum: &Summary, side: EndpointName) -> (&'static str, &EndpointSummary) {
    match side {
        EndpointName::Client => ("client", &sum.client),
        EndpointName::Server => ("server", &sum.server),
    }
}

/// `[min, max]` as text: `>= 1`, `<= 2`, `1 to 2`.
fn bounds(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(lo), Some(hi)) => format!("{lo} to {hi}"),
        (Some(lo), None) => format!(">= {lo}"),
        (None, Some(hi)) => format!("<= {hi}"),
        (None, None) => "none".to_string(),
    }
}

/// A finding with its time and features: `SIG at T s: k=v k=v`.
pub fn finding_line(f: &Finding) -> String {
    let mut line = format!("{} at {:.3} s:", f.signature, f.at_s);
    for (k, v) in &f.features {
        let _ = write!(line, " {k}={v:.6}");
    }
    line
}

/// The run at a glance: outcome, findings, final states and how it ended.
fn run_line(sum: &Summary) -> String {
    let mut line = format!("run: outcome {}", Outcome::of_summary(sum));
    if sum.findings.is_empty() {
        line.push_str(", no findings");
    } else {
        line.push_str(", findings");
        for f in &sum.findings {
            let _ = write!(line, " {}@{:.3}s", f.signature, f.at_s);
        }
    }
    let _ = write!(
        line,
        ", final states client {} server {}, ended {} at {:.3} s",
        sum.client.final_state, sum.server.final_state, sum.ended, sum.simulated_s
    );
    line
}
