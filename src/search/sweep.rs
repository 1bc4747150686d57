//! `tcpsim sweep`: a grid of parameter values × K seeds, every run a simulation with the detectors,
//! on all cores; a CSV row per run and per grid cell.
//!
//! Guarantees: the output does not depend on the number of threads (results are stored by run
//! index); rows are written as blocks of runs finish, in order, so memory stays flat; a grid of more
//! than [`MAX_RUNS`] runs is refused before anything runs; `--shard I/N` runs a contiguous block of cells, and the shards' CSVs, concatenated in
//! order, are byte for byte the unsharded CSV (only shard 1 writes the header).
//!
//! CSV columns (written by the `csv` crate, so a reason with a comma is quoted): `kind` (`run`,
//! `cell`, or `invalid` for a cell whose overrides make an invalid model), `cell`, `run` and `seed`
//! (empty but on run rows), one column per swept parameter, one column per signature (a run's count
//! of findings; a cell's rate: the fraction of its seeds with at least one), one per connection
//! outcome (`survived`, `reset`, `aborted`, `closed`: 1 or 0 for a run, the fraction for a cell),
//! `bytes_delivered`, `bytes_undelivered`, `messages_skipped` (a run's, a cell's mean), `features`
//! (a run's findings as `signature.feature=value` separated by `;`) and `error` (why a run failed,
//! or why a cell is invalid).

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::clock::{format_duration, parse_duration};
use crate::detect::Finding;
use crate::model::{ModelError, ModelErrorKind, Scenario};
use crate::outcome::Outcome;

/// Applies `f` to every item on `threads` threads; results come back in item order. When the
/// system refuses a thread (a process or memory limit), the work goes on with the threads it has,
/// or on the calling thread: never a panic.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    let slots: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            let r = f(i, item);
            *slots[i].lock().expect("no panics while holding") = Some(r);
        }
    };
    std::thread::scope(|scope| {
        let wanted = threads.max(1).min(items.len().max(1));
        let spawned = (0..wanted)
            .take_while(|_| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, work)
                    .is_ok()
            })
            .count();
        if spawned == 0 {
            work();
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .expect("not poisoned")
                .expect("every slot filled")
        })
        .collect()
}

/// The most worker threads `--jobs` asks for.
pub const MAX_JOBS: usize = 1024;

/// Parses `--jobs`: 1 to [`MAX_JOBS`].
///
/// # Errors
/// A message for the command line.
pub fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
        _ => Err(format!("expected a number of threads from 1 to {MAX_JOBS}")),
    }
}

/// Worker threads: `jobs`, or every core when not given (at least one).
pub fn threads(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// One swept parameter: a dotted model key and its values (as `--set` values).
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Dotted key.
    pub key: String,
    /// Values, in order.
    pub values: Vec<String>,
}

/// A `--param` or `--shard` argument that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SweepArgError {
    /// Not `NAME=FROM..TO:STEPS`.
    #[error("--param {0:?}: expected NAME=FROM..TO:STEPS, e.g. server.idle_timeout=5s..30s:6")]
    Param(String),
    /// A range end that is not a finite number, or an integer range past ±2^53 (where a step
    /// would no longer be the integer it names).
    #[error("--param {0:?}: {1}")]
    Value(String, &'static str),
    /// `--seeds` outside 1..=[`MAX_SEEDS`].
    #[error("--seeds {0}: expected 1 to {MAX_SEEDS}")]
    Seeds(u32),
    /// Not `I/N` with 1 ≤ I ≤ N.
    #[error("--shard {0:?}: expected I/N with 1 <= I <= N, e.g. 2/8")]
    Shard(String),
}

/// Checks a `--seeds` count: 1 to [`MAX_SEEDS`].
///
/// # Errors
/// [`SweepArgError::Seeds`].
pub fn check_seeds(seeds: u32) -> Result<(), SweepArgError> {
    if (1..=MAX_SEEDS).contains(&seeds) {
        Ok(())
    } else {
        Err(SweepArgError::Seeds(seeds))
    }
}

/// Parses `NAME=FROM..TO:STEPS` (durations with units, or numbers; STEPS ≥ 1 evenly spaced values
/// including both ends).
///
/// # Errors
/// [`SweepArgError::Param`].
pub fn parse_param(spec: &str) -> Result<Param, SweepArgError> {
    let usage = || SweepArgError::Param(spec.to_string());
    let (key, range) = spec.split_once('=').ok_or_else(usage)?;
    let (range, steps) = range.rsplit_once(':').ok_or_else(usage)?;
    let (from, to) = range.split_once("..").ok_or_else(usage)?;
    let steps: usize = steps.trim().parse().map_err(|_| usage())?;
    if steps == 0 || steps > 10_000 || key.trim().is_empty() {
        return Err(usage());
    }
    let at = |i: usize, a: f64, b: f64| {
        if steps == 1 {
            a
        } else {
            a + (b - a) * i as f64 / (steps - 1) as f64
        }
    };
    let values = match (parse_duration(from), parse_duration(to)) {
        (Ok(a), Ok(b)) => (0..steps)
            .map(|i| {
                let us = at(i, a.total_micros() as f64, b.total_micros() as f64).round() as u64;
                format_duration(crate::clock::Duration::from_micros(us))
            })
            .collect(),
        _ => {
            let a: f64 = from.trim().parse().map_err(|_| usage())?;
            let b: f64 = to.trim().parse().map_err(|_| usage())?;
            let value = |why| SweepArgError::Value(spec.to_string(), why);
            if !a.is_finite() || !b.is_finite() {
                return Err(value("the range's ends must be finite numbers"));
            }
            let integers = !from.contains(['.', 'e', 'E']) && !to.contains(['.', 'e', 'E']);
            if integers && a.abs().max(b.abs()) > 2f64.powi(53) {
                return Err(value("an integer range must stay within ±9007199254740992"));
            }
            (0..steps)
                .map(|i| {
                    let v = at(i, a, b);
                    if integers {
                        format!("{}", v.round() as i64)
                    } else {
                        float_text(v)
                    }
                })
                .collect()
        }
    };
    Ok(Param {
        key: key.trim().to_string(),
        values,
    })
}

/// A float as a `--set` value TOML reads as a number: as Rust writes it (`0.05`, `2`), unless that
/// is long (`1e20` is written with 21 digits, which TOML takes for an integer out of range, and
/// `1e-320` with 320), then in exponent form (`1e20`, `1e-320`).
fn float_text(v: f64) -> String {
    let plain = format!("{v}");
    if plain.len() > 24 || (!plain.contains('.') && plain.parse::<i64>().is_err()) {
        format!("{v:e}")
    } else {
        plain
    }
}

/// Which block of cells to run: shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// Parses `I/N`.
    ///
    /// # Errors
    /// [`SweepArgError::Shard`].
    pub fn parse(s: &str) -> Result<Shard, SweepArgError> {
        let bad = || SweepArgError::Shard(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The cells of `total` this shard runs: a contiguous block.
    pub fn cells(&self, total: usize) -> std::ops::Range<usize> {
        // In u128: a grid of 10^16 cells times a shard index must not overflow.
        let at = |i: usize| (total as u128 * i as u128 / self.count as u128) as usize;
        at(self.index - 1)..at(self.index)
    }
}

/// One run's outcome.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Its findings (empty if the run failed).
    pub findings: Vec<Finding>,
    /// Why it failed, if it did (a livelock).
    pub error: Option<String>,
    /// How the connection ended up ([`crate::outcome::Outcome`]; `None` if the run failed).
    pub outcome: Option<crate::outcome::Outcome>,
    /// Bytes the applications read, both directions.
    pub bytes_delivered: u64,
    /// Bytes the applications wrote that the peer never read, both directions (lost with the
    /// connection, or still on their way at the end).
    pub bytes_undelivered: u64,
    /// Messages periodic writers dropped because the send buffer was full, both sides.
    pub messages_skipped: u64,
}

impl RunResult {
    /// Bytes delivered, bytes undelivered, messages skipped (the CSV's [`NUMBERS`]).
    fn numbers(&self) -> [u64; 3] {
        [
            self.bytes_delivered,
            self.bytes_undelivered,
            self.messages_skipped,
        ]
    }
}

/// Runs one scenario with the detectors and no outputs.
pub fn run_one(s: &Scenario) -> RunResult {
    match crate::run::simulate(s, &mut (), crate::run::Analyse::Yes) {
        Ok(report) => {
            let sum = &report.summary;
            let dirs = [&sum.uplink, &sum.downlink];
            RunResult {
                outcome: Some(crate::outcome::Outcome::of_summary(sum)),
                bytes_delivered: dirs.iter().map(|d| d.bytes_delivered).sum(),
                bytes_undelivered: dirs
                    .iter()
                    .map(|d| d.bytes_written.saturating_sub(d.bytes_delivered))
                    .sum(),
                messages_skipped: sum.client.messages_skipped + sum.server.messages_skipped,
                findings: report.summary.findings,
                error: None,
            }
        }
        Err(e) => RunResult {
            findings: Vec::new(),
            error: Some(crate::error_chain(&e)),
            outcome: None,
            bytes_delivered: 0,
            bytes_undelivered: 0,
            messages_skipped: 0,
        },
    }
}

/// A sweep: the model text and path, the parameters, seeds per cell.
pub struct Sweep<'a> {
    /// Model text.
    pub text: &'a str,
    /// Model path (for errors).
    pub path: &'a Path,
    /// Swept parameters (the grid is their product, the first varying slowest).
    pub params: &'a [Param],
    /// Seeds per cell: the model's seed, +1, ... +K−1.
    pub seeds: u32,
    /// Which cells to run.
    pub shard: Shard,
    /// Threads.
    pub threads: usize,
}

impl Sweep<'_> {
    /// Number of cells in the whole grid.
    pub fn cells(&self) -> usize {
        self.params.iter().map(|p| p.values.len()).product()
    }

    /// The `--set` values of cell `c`.
    pub fn cell_values(&self, mut c: usize) -> Vec<&str> {
        let mut out = vec![""; self.params.len()];
        for (i, p) in self.params.iter().enumerate().rev() {
            out[i] = &p.values[c % p.values.len()];
            c /= p.values.len();
        }
        out
    }

    /// Runs this shard's cells and returns the CSV text (see [`Sweep::run_to`]).
    ///
    /// # Errors
    /// As [`Sweep::run_to`].
    pub fn run(&self, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<String, SweepError> {
        let mut csv = Vec::new();
        self.run_to(&mut csv, progress)?;
        Ok(String::from_utf8(csv).expect("the CSV is built from UTF-8 text"))
    }

    /// Runs this shard's cells and writes the CSV to `w` as runs finish, in order: runs are done
    /// in blocks of [`RUNS_PER_BLOCK`], so memory stays flat however large the grid. A cell whose
    /// overrides make an invalid model is an `invalid` row with the reason, and the sweep goes on.
    ///
    /// # Errors
    /// [`SweepError::TooLarge`] (before anything runs) for a shard of more than [`MAX_RUNS`] runs; a
    /// write error.
    pub fn run_to(
        &self,
        w: &mut dyn std::io::Write,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<(), SweepError> {
        let seeds = self.seeds.max(1) as usize;
        let cells = self.shard.cells(self.checked_cells()?);
        let total = cells.len() * seeds;
        self.check_params()?;
        let sigs: Vec<&str> = crate::detect::signatures().collect();
        let mut out = csv::WriterBuilder::new().has_headers(false).from_writer(w);
        if self.shard.index == 1 {
            out.write_record(self.header(&sigs))?;
        }
        let done = AtomicUsize::new(0);
        let mut cell = CellTally::new(sigs.len());
        let mut base: Option<(usize, Result<Scenario, String>)> = None;
        let first_run = cells.start as u128 * seeds as u128;
        for block in (0..total).step_by(RUNS_PER_BLOCK) {
            let mut runs = Vec::with_capacity(RUNS_PER_BLOCK.min(total - block));
            for i in block..(block + RUNS_PER_BLOCK).min(total) {
                let (c, k) = (cells.start + i / seeds, i % seeds);
                if base.as_ref().is_none_or(|(bc, _)| *bc != c) {
                    base = Some((c, self.cell_model(c).map_err(|e| e.to_string())));
                }
                let model = base.as_ref().expect("just set").1.clone().map(|mut s| {
                    s.seed = s.seed.wrapping_add(k as u64);
                    s
                });
                runs.push((c, model));
            }
            let results = par_map(&runs, self.threads, |_, (_, s)| {
                let r = s.as_ref().ok().map(run_one);
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                r
            });
            for (j, ((c, s), r)) in runs.iter().zip(&results).enumerate() {
                let run = first_run + (block + j) as u128;
                if let (Ok(s), Some(r)) = (s, r) {
                    out.write_record(self.run_row(*c, run, s.seed, r, &sigs))?;
                    cell.add(r, &sigs);
                }
                if run % seeds as u128 == seeds as u128 - 1 {
                    out.write_record(match s {
                        Ok(_) => self.cell_row(*c, &cell, seeds),
                        Err(reason) => self.invalid_row(*c, sigs.len(), reason),
                    })?;
                    cell = CellTally::new(sigs.len());
                }
            }
            out.flush()?;
        }
        Ok(())
    }

    /// The grid's cell count, refused when this shard has over [`MAX_RUNS`] runs (with the
    /// seeds), before anything is allocated.
    fn checked_cells(&self) -> Result<usize, SweepError> {
        let cells = self
            .params
            .iter()
            .try_fold(1usize, |n, p| n.checked_mul(p.values.len()));
        let runs = |c: usize| {
            self.shard
                .cells(c)
                .len()
                .checked_mul(self.seeds.max(1) as usize)
        };
        match cells.and_then(|c| Some((c, runs(c)?))) {
            Some((cells, runs)) if runs <= MAX_RUNS => Ok(cells),
            _ => Err(SweepError::TooLarge {
                limit: MAX_RUNS,
                params: self.params.iter().map(|p| p.values.len()).collect(),
                seeds: self.seeds,
            }),
        }
    }

    /// Refuses a parameter no cell can use before anything runs: set alone to either end of its
    /// range, the model must parse (a misspelt key or a value of the wrong type would make every row
    /// `invalid`). A value that parses but is out of range, alone or with the other parameters,
    /// stays an `invalid` row: that is a finding, not a mistake.
    fn check_params(&self) -> Result<(), SweepError> {
        for (i, p) in self.params.iter().enumerate() {
            if self.params[..i].iter().any(|q| q.key == p.key) {
                return Err(SweepError::DuplicateParam(p.key.clone()));
            }
            for v in [p.values.first(), p.values.last()].into_iter().flatten() {
                let set = [format!("{}={v}", p.key)];
                match Scenario::from_toml_with(self.text, self.path, &set) {
                    Err(error) if matches!(error.kind, ModelErrorKind::Parse(_)) => {
                        return Err(SweepError::Param {
                            key: p.key.clone(),
                            error,
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// The model of cell `c`: the model text with the cell's values as overrides.
    fn cell_model(&self, c: usize) -> Result<Scenario, ModelError> {
        let sets: Vec<String> = self
            .params
            .iter()
            .zip(self.cell_values(c))
            .map(|(p, v)| format!("{}={v}", p.key))
            .collect();
        Scenario::from_toml_with(self.text, self.path, &sets)
    }

    fn header(&self, sigs: &[&str]) -> Vec<String> {
        let mut h: Vec<String> = ["kind", "cell", "run", "seed"].map(String::from).to_vec();
        h.extend(self.params.iter().map(|p| p.key.clone()));
        h.extend(sigs.iter().map(|s| s.to_string()));
        h.extend(Outcome::ALL.map(|o| o.name().to_string()));
        h.extend(NUMBERS.map(String::from));
        h.extend(["features", "error"].map(String::from));
        h
    }

    /// The first columns of a row: kind, cell, run, seed and the cell's values.
    fn row_start(&self, kind: &str, c: usize, run: String, seed: String) -> Vec<String> {
        let mut r = vec![kind.to_string(), c.to_string(), run, seed];
        r.extend(self.cell_values(c).into_iter().map(String::from));
        r
    }

    /// A run's row: its count of findings per signature, 1 under its outcome, its bytes and
    /// messages, its findings' features, and why it failed (if it did).
    fn run_row(&self, c: usize, run: u128, seed: u64, r: &RunResult, sigs: &[&str]) -> Vec<String> {
        let mut row = self.row_start("run", c, run.to_string(), seed.to_string());
        for sig in sigs {
            let n = r.findings.iter().filter(|f| f.signature == *sig).count();
            row.push(n.to_string());
        }
        row.extend(Outcome::ALL.map(|o| u8::from(r.outcome == Some(o)).to_string()));
        row.extend(r.numbers().map(|n| n.to_string()));
        let feats: Vec<String> = (r.findings.iter())
            .flat_map(|f| {
                (f.features.iter()).map(move |(k, v)| format!("{}.{k}={v:.6}", f.signature))
            })
            .collect();
        row.push(feats.join(";"));
        row.push(r.error.clone().unwrap_or_default());
        row
    }

    /// A cell's row: per signature the fraction of its seeds with a finding, per outcome the
    /// fraction of its seeds that ended so, and the mean bytes and messages.
    fn cell_row(&self, c: usize, t: &CellTally, seeds: usize) -> Vec<String> {
        let mut row = self.row_start("cell", c, String::new(), String::new());
        let frac = |n: u64| (n as f64 / seeds as f64).to_string();
        row.extend(t.hits.iter().map(|h| frac(*h)));
        row.extend(t.outcomes.iter().map(|h| frac(*h)));
        row.extend(t.numbers.iter().map(|n| frac(*n)));
        row.extend([String::new(), String::new()]);
        row
    }

    /// The row of a cell whose overrides make an invalid model: no numbers, the reason.
    fn invalid_row(&self, c: usize, sigs: usize, reason: &str) -> Vec<String> {
        let mut row = self.row_start("invalid", c, String::new(), String::new());
        let blanks = sigs + Outcome::ALL.len() + NUMBERS.len() + 1;
        row.extend(std::iter::repeat_n(String::new(), blanks));
        row.push(reason.to_string());
        row
    }
}

/// The per-run numbers after the outcome columns.
const NUMBERS: [&str; 3] = ["bytes_delivered", "bytes_undelivered", "messages_skipped"];

/// What a cell's row sums over its seeds.
struct CellTally {
    /// Per signature: runs with at least one finding.
    hits: Vec<u64>,
    /// Per outcome ([`Outcome::ALL`]): runs that ended so.
    outcomes: [u64; 4],
    /// Sums of [`NUMBERS`].
    numbers: [u64; 3],
}

impl CellTally {
    fn new(sigs: usize) -> CellTally {
        CellTally {
            hits: vec![0; sigs],
            outcomes: [0; 4],
            numbers: [0; 3],
        }
    }

    fn add(&mut self, r: &RunResult, sigs: &[&str]) {
        for (h, sig) in self.hits.iter_mut().zip(sigs) {
            *h += u64::from(r.findings.iter().any(|f| f.signature == *sig));
        }
        for (n, o) in self.outcomes.iter_mut().zip(Outcome::ALL) {
            *n += u64::from(r.outcome == Some(o));
        }
        for (n, v) in self.numbers.iter_mut().zip(r.numbers()) {
            *n += v;
        }
    }
}

/// The most runs (cells × seeds) one sweep takes: larger grids are refused before anything runs.
pub const MAX_RUNS: usize = 1_000_000;

/// The most seeds per cell (`sweep --seeds`) or per candidate (`mitigate --seeds`).
pub const MAX_SEEDS: u32 = 100_000;

/// Runs simulated (and held in memory) at a time; rows are written after each block.
pub const RUNS_PER_BLOCK: usize = 1024;

/// What stops a sweep.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// The grid has more runs than [`MAX_RUNS`].
    #[error(
        "the grid is too large: {} values x {seeds} seeds is more than {limit} runs for one process; use fewer steps or seeds, or split it with --shard",
        params.iter().map(ToString::to_string).collect::<Vec<_>>().join(" x ")
    )]
    TooLarge {
        /// The limit.
        limit: usize,
        /// Values per parameter.
        params: Vec<usize>,
        /// Seeds per cell.
        seeds: u32,
    },
    /// A parameter no cell can use: set alone to an end of its range, the model does not parse
    /// (an unknown key, a value of the wrong type).
    #[error("--param {}: {error}", crate::clip_words(key))]
    Param {
        /// The parameter's key.
        key: String,
        /// The model's error (its whole message; not a `source`, so it is printed once).
        error: ModelError,
    },
    /// Two `--param`s name one key (the CSV would have two columns of that name).
    #[error("--param {}: given twice", crate::clip_words(.0))]
    DuplicateParam(String),
    /// Writing the CSV failed.
    #[error("writing the CSV")]
    Write(#[from] std::io::Error),
    /// The CSV writer failed (other than on I/O, which is [`SweepError::Write`]).
    #[error("writing the CSV: {0}")]
    Csv(String),
}

impl From<csv::Error> for SweepError {
    fn from(e: csv::Error) -> SweepError {
        let text = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(io) => SweepError::Write(io),
            _ => SweepError::Csv(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves parameter ranges: durations and numbers, both ends included, one step = FROM only.
    #[test]
    fn param_ranges() {
        assert_eq!(
            parse_param("server.idle_timeout=5s..30s:6").unwrap().values,
            ["5s", "10s", "15s", "20s", "25s", "30s"]
        );
        assert_eq!(parse_param("a.b=1..3:3").unwrap().values, ["1", "2", "3"]);
        // Stress review: 1e20 was written with 21 digits, which TOML reads as an integer too large.
        assert_eq!(
            parse_param("a.p=0.5..1e20:2").unwrap().values,
            ["0.5", "1e20"]
        );
        assert_eq!(
            parse_param("a.p=1e-320..0.0:2").unwrap().values,
            ["1e-320", "0"]
        );
        assert_eq!(
            parse_param("a.p=0.0..0.1:3").unwrap().values,
            ["0", "0.05", "0.1"]
        );
        assert_eq!(parse_param("x=250ms..1s:1").unwrap().values, ["250ms"]);
        for bad in ["x=1..2", "x=1:3", "=1..2:3", "x=a..b:2", "x=1..2:0"] {
            assert!(parse_param(bad).is_err(), "{bad}");
        }
    }

    // Review regression: the shard arithmetic of a 10^16-cell grid does not overflow (it panicked
    // in debug builds and wrapped in release).
    #[test]
    fn huge_shards_do_not_overflow() {
        let total = 10_000_000_000_000_000usize;
        let last = Shard {
            index: 10_000_000_000,
            count: 10_000_000_000,
        };
        assert_eq!(last.cells(total), total - 1_000_000..total);
    }

    // Proves shards partition the cells into contiguous blocks that cover them exactly once.
    #[test]
    fn shards_partition() {
        for total in [0, 1, 7, 10] {
            for n in 1..=5 {
                let blocks: Vec<usize> = (1..=n)
                    .flat_map(|i| Shard { index: i, count: n }.cells(total))
                    .collect();
                assert_eq!(
                    blocks,
                    (0..total).collect::<Vec<_>>(),
                    "{total} cells, {n} shards"
                );
            }
        }
        assert!(
            Shard::parse("0/3").is_err()
                && Shard::parse("4/3").is_err()
                && Shard::parse("x").is_err()
        );
    }

    // Proves par_map returns results in item order whatever the thread count.
    #[test]
    fn par_map_order() {
        let items: Vec<u64> = (0..100).collect();
        for t in [1, 2, 7] {
            assert_eq!(
                par_map(&items, t, |i, x| (i as u64) * 1000 + x * x),
                items.iter().map(|x| x * 1000 + x * x).collect::<Vec<_>>()
            );
        }
    }
}
