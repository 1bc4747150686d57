//! `tcpsim mitigate`: how often a signature still occurs under candidate changes, across K seeds,
//! beside the unchanged model.
//!
//! A candidate is one or more `KEY=VALUE` model overrides separated by `;` (e.g.
//! `server.idle_timeout=30s` or `client.tcp.keep_alive=5s;client.tcp.nagle=false`). Each is run with
//! the model's seed, +1, ... +K−1, in parallel; results do not depend on the thread count.

use std::path::Path;

use serde::Serialize;

use super::sweep::{par_map, run_one};
use crate::model::{ModelError, Scenario};

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
}

/// Runs the unchanged model and every candidate over `seeds` seeds.
///
/// # Errors
/// A candidate that makes the model invalid (checked before anything runs).
pub fn mitigate(
    text: &str,
    path: &Path,
    target: &str,
    candidates: &[String],
    seeds: u32,
    threads: usize,
) -> Result<Vec<Row>, ModelError> {
    let mut labels = vec!["(unchanged)".to_string()];
    let mut scenarios = Vec::new();
    let base = Scenario::from_toml_with(text, path, &[])?;
    let mut models = vec![base];
    for c in candidates {
        let sets: Vec<String> = c
            .split(';')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
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
    Ok(labels
        .into_iter()
        .enumerate()
        .map(|(m, candidate)| {
            let mine: Vec<_> = scenarios
                .iter()
                .zip(&results)
                .filter(|((i, _), _)| *i == m)
                .map(|(_, r)| r)
                .collect();
            let occurrences = mine
                .iter()
                .filter(|r| r.findings.iter().any(|f| f.signature == target))
                .count() as u32;
            let runs = mine.len() as u32;
            Row {
                candidate,
                runs,
                occurrences,
                rate: if runs == 0 {
                    0.0
                } else {
                    f64::from(occurrences) / f64::from(runs)
                },
                errors: mine.iter().filter(|r| r.error.is_some()).count() as u32,
            }
        })
        .collect())
}
