//! `tcpsim mitigate`: how often a signature still occurs under candidate changes, across K seeds,
//! beside the unchanged model.
//!
//! A candidate is one or more `KEY=VALUE` model overrides separated by `;` (e.g.
//! `server.idle_timeout=30s` or `client.tcp.keep_alive=5s;client.tcp.nagle=false`). Each is run with
//! the model's seed, +1, ... +K−1, in parallel; results do not depend on the thread count. Every run
//! is judged by the connection too ([`crate::outcome::Outcome`]: survived, reset, aborted, closed),
//! with the bytes delivered and lost: a change that removes the signature by resetting or aborting
//! the connection is not a fix, and the ranking says so.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::sweep::{RunResult, par_map, run_one};
use crate::model::{ModelError, Scenario};
use crate::outcome::Outcome;

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// `(unchanged)` or the candidate as given.
    pub candidate: String,
    /// Runs.
    pub runs: u32,
    /// Runs in which the signature occurred.
    pub occurrences: u32,
    /// occurrences / runs.
    pub rate: f64,
    /// Runs that failed (livelock), counted as not occurring.
    pub errors: u32,
    /// Runs per connection outcome (`survived`, `reset`, `aborted`, `closed`; every key present).
    pub outcomes: BTreeMap<String, u32>,
    /// Runs in which the signature did not occur and the connection survived: what a fix must
    /// achieve (a candidate that trades the signature for a reset or an abort is no fix).
    pub fixed: u32,
    /// Bytes the applications read, summed over the runs.
    pub bytes_delivered: u64,
    /// Bytes written that the peer never read, summed over the runs.
    pub bytes_undelivered: u64,
    /// Messages writers dropped for a full send buffer, summed over the runs.
    pub messages_skipped: u64,
}

/// Runs the unchanged model (with `base_sets` applied) and every candidate (on top of them) over
/// `seeds` seeds. Rows: the unchanged model first, then the candidates ranked by runs fixed
/// (signature gone and connection survived), then by rate, then as given.
///
/// # Errors
/// A candidate that makes the model invalid (checked before anything runs).
pub fn mitigate(
    text: &str,
    path: &Path,
    target: &str,
    (base_sets, candidates): (&[String], &[String]),
    seeds: u32,
    threads: usize,
) -> Result<Vec<Row>, ModelError> {
    let mut labels = vec!["(unchanged)".to_string()];
    let mut scenarios = Vec::new();
    let base = Scenario::from_toml_with(text, path, base_sets)?;
    let mut models = vec![base];
    for c in candidates {
        let mut sets = base_sets.to_vec();
        sets.extend(
            c.split(';')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        );
        models.push(Scenario::from_toml_with(text, path, &sets)?);
        labels.push(c.clone());
    }
    for (m, model) in models.iter().enumerate() {
        for k in 0..seeds {
            let mut s = model.clone();
            s.seed = model.seed.wrapping_add(u64::from(k));
            scenarios.push((m, s));
        }
    }
    let results = par_map(&scenarios, threads, |_, (_, s)| run_one(s));
    let mut rows: Vec<Row> = labels
        .into_iter()
        .enumerate()
        .map(|(m, candidate)| {
            let mine: Vec<_> = scenarios
                .iter()
                .zip(&results)
                .filter(|((i, _), _)| *i == m)
                .map(|(_, r)| r)
                .collect();
            row(candidate, &mine, target)
        })
        .collect();
    rows[1..].sort_by(|a, b| b.fixed.cmp(&a.fixed).then(a.rate.total_cmp(&b.rate)));
    Ok(rows)
}

/// The row of one candidate's runs.
fn row(candidate: String, runs: &[&RunResult], target: &str) -> Row {
    let occurs = |r: &RunResult| r.findings.iter().any(|f| f.signature == target);
    let occurrences = runs.iter().filter(|r| occurs(r)).count() as u32;
    let n = runs.len() as u32;
    let mut outcomes: BTreeMap<String, u32> =
        Outcome::ALL.iter().map(|o| (o.to_string(), 0)).collect();
    for o in runs.iter().filter_map(|r| r.outcome) {
        *outcomes.entry(o.to_string()).or_default() += 1;
    }
    Row {
        candidate,
        runs: n,
        occurrences,
        rate: if n == 0 {
            0.0
        } else {
            f64::from(occurrences) / f64::from(n)
        },
        errors: runs.iter().filter(|r| r.error.is_some()).count() as u32,
        fixed: runs
            .iter()
            .filter(|r| !occurs(r) && r.outcome == Some(Outcome::Survived))
            .count() as u32,
        outcomes,
        bytes_delivered: runs.iter().map(|r| r.bytes_delivered).sum(),
        bytes_undelivered: runs.iter().map(|r| r.bytes_undelivered).sum(),
        messages_skipped: runs.iter().map(|r| r.messages_skipped).sum(),
    }
}
