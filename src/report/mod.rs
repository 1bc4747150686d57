//! The command line's reports, rendered as text (or JSON) from library results: the `run` summary
//! lines, the `check` line, the `analyze` text and JSON documents ([`analyze`]), the `search`
//! report and feature table ([`search`]), the `mitigate` table, and the `test` report and JUnit XML
//! ([`mod@test`]).
//!
//! Guarantees:
//! - every function is pure: it formats what it is given and returns a `String`; nothing here reads
//!   the wall clock (elapsed wall time is a parameter, measured by the caller) or touches a file;
//! - the same inputs give the same bytes; maps are iterated in their (sorted) key order;
//! - every rendered line ends with `\n`, so reports concatenate.

pub mod analyze;
pub mod search;
pub mod test;

use std::fmt::Write as _;
use std::path::Path;

use crate::Scenario;
use crate::run::Report;
use crate::search::mitigate::Row;

pub use analyze::{analyze_json, analyze_text, skipped_lines_warning};
pub use search::{
    feature_table, robustness_line, search_found, search_json, search_not_found, search_report,
};
pub use test::{junit, test_result, test_totals};

/// The `check` line of a valid model: `PATH: ok (NAME, seed SEED, DURATION)`.
pub fn check_line(path: &Path, scenario: &Scenario) -> String {
    format!(
        "{}: ok ({}, seed {}, {})\n",
        path.display(),
        scenario.name,
        scenario.seed,
        scenario.duration
    )
}

/// The `run` summary: simulated time and how it ended, the speed against `wall_s` seconds of wall
/// time (measured by the caller), per-direction frame fates and byte counts, the final TCP states
/// and the output directory `dir`.
pub fn run_summary(report: &Report, dir: &Path, wall_s: f64) -> String {
    let sum = &report.summary;
    let mut text = format!(
        "{}: seed {}, simulated {} s ({}) in {:.3} s wall ({:.0}x real time)\n",
        sum.model,
        sum.seed,
        crate::clock::fmt_secs(report.end),
        sum.ended,
        wall_s,
        crate::clock::secs(report.end) / wall_s.max(1e-9)
    );
    for (name, d) in [("uplink  ", &sum.uplink), ("downlink", &sum.downlink)] {
        let f = &d.frames;
        let _ = writeln!(
            text,
            "  {name}: {} frames ({} delivered, {} held, {} lost, {} outage-dropped, {} overflow), \
             {} B written, {} B delivered, {} retransmissions",
            f.offered,
            f.delivered,
            f.held,
            f.lost,
            f.outage_dropped,
            f.hold_overflow + f.queue_dropped,
            d.bytes_written,
            d.bytes_delivered,
            d.retransmissions
        );
    }
    let _ = write!(
        text,
        "  final states: client {}, server {}\n  outputs: {}\n",
        sum.client.final_state,
        sum.server.final_state,
        dir.display()
    );
    text
}

/// The `mitigate` table: per candidate (in the ranking [`crate::search::mitigate::mitigate`] gives)
/// its runs, how many showed `target` and the rate, how many it fixed (signature gone and
/// connection survived), the runs per connection outcome, and the bytes written but never read; a
/// candidate whose runs partly failed gets a second line saying how many. The first column is as
/// wide as the longest candidate (at least 10).
pub fn mitigate_table(rows: &[Row], target: &str) -> String {
    let width = rows
        .iter()
        .map(|r| r.candidate.len())
        .max()
        .unwrap_or(10)
        .max(10);
    let sig = target.len().max(6);
    let mut t = format!(
        "{:<width$}  {:>5}  {:>sig$}  {:>6}  {:>5}  {:>8}  {:>5}  {:>7}  {:>6}  {:>11}\n",
        "candidate",
        "runs",
        target,
        "rate",
        "fixed",
        "survived",
        "reset",
        "aborted",
        "closed",
        "undelivered"
    );
    for r in rows {
        let n = |k: &str| r.outcomes.get(k).copied().unwrap_or(0);
        let _ = writeln!(
            t,
            "{:<width$}  {:>5}  {:>sig$}  {:>5.0}%  {:>5}  {:>8}  {:>5}  {:>7}  {:>6}  {:>9} B",
            r.candidate,
            r.runs,
            r.occurrences,
            r.rate * 100.0,
            r.fixed,
            n("survived"),
            n("reset"),
            n("aborted"),
            n("closed"),
            r.bytes_undelivered
        );
        if r.errors > 0 {
            let _ = writeln!(t, "{:<width$}  ({} run(s) failed: livelock)", "", r.errors);
        }
    }
    t
}

/// Any serialisable value as pretty-printed JSON followed by a newline (the `--json` outputs).
///
/// # Errors
/// When `value` cannot be serialised (a map with non-string keys, a failing `Serialize`).
pub fn json_document<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod chain_tests {
    // Proves an I/O failure inside a run error prints with its cause, once.
    #[test]
    fn error_chain_joins_sources() {
        let e = crate::run::RunError::Io {
            path: "out/trace.txt".into(),
            err: std::io::Error::other("disk full"),
        };
        assert_eq!(crate::error_chain(&e), "out/trace.txt: disk full");
    }
}
