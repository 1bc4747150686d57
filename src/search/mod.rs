//! Searching the parameter space around a model for conditions that reproduce a signature — and,
//! with a target capture, its measured features — then shrinking the reproducer to a minimal model.
//!
//! proptest does the work: [`strategy`] draws scenarios from the model and its `[search]` table
//! ([`crate::model::SearchSpace`]); the property under test is "the signature does not occur", so
//! proptest's counterexample is the reproducer, and its shrinking makes it minimal: fewer and
//! shorter outage windows, and the model's own settings wherever they suffice (every knob is a
//! choice between the model's value, tried first when shrinking, and a range).
//!
//! Guarantees: the same model, options and seed give the same reproducer (proptest's RNG is fixed
//! from the seed, simulations are deterministic); every case is a whole simulation with the analysis
//! detectors run on its frames at the model's capture point, exactly as `tcpsim run` does.

pub mod matching;
pub mod mitigate;
pub mod refine;
mod strategy;
pub mod sweep;
pub mod verdict;

pub use strategy::{replay, strategy};

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::Path;

use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};

use crate::analyze::{AnalyzeOptions, analyze_file};
use crate::detect::Finding;
use crate::model::Scenario;
use crate::run::{Analyse, simulate};

/// What a search looks for.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// The signature to reproduce.
    pub target: String,
    /// Features to match (from a capture), if any.
    pub matching: Option<Target>,
    /// Generated cases to try before giving up (shrinking runs come on top).
    pub cases: u32,
    /// Seed of proptest's generator.
    pub seed: u64,
    /// Relative tolerance of a timing (or other measured) feature's match (0.05 = 5 %).
    pub tolerance: f64,
    /// Absolute tolerance floor of timing features, in seconds.
    pub min_tolerance: f64,
    /// Most shrinking steps (each a simulation).
    pub max_shrink_iters: u32,
    /// With a target: most simulations of the refinement's local search after the generation
    /// phase ([`refine::refine`]; its simplification adds at most one per window and knob).
    pub refine: u32,
    /// Worker threads of the refinement (the result does not depend on them).
    pub threads: usize,
    /// With a target: seeds the reproducer is run with to measure how often it matches
    /// ([`verdict::robustness`]); 0 skips it.
    pub seeds: u32,
    /// With a target: the least fraction of those seeds that must match for a reproducer.
    pub min_rate: f64,
}

impl SearchOptions {
    /// Defaults: 500 cases, seed 0, 5 % or 0.1 s (whichever is larger), 200 shrink steps, 1,000
    /// refinement runs, one thread, robustness over 10 seeds with no least rate.
    pub fn new(target: &str) -> SearchOptions {
        SearchOptions {
            target: target.to_string(),
            matching: None,
            cases: 500,
            seed: 0,
            tolerance: 0.05,
            min_tolerance: 0.1,
            max_shrink_iters: 200,
            refine: 1000,
            threads: 1,
            seeds: 10,
            min_rate: 0.0,
        }
    }
}

/// The features a reproducer must match, as measured on a capture.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Where they come from.
    pub source: String,
    /// The finding's features.
    pub features: BTreeMap<String, f64>,
}

/// Search errors (bad target capture or signature).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// The signature is not one the detectors know.
    #[error("unknown signature {0:?} (known: {known})", known = known_signatures())]
    UnknownSignature(String),
    /// The target capture could not be read.
    #[error(transparent)]
    Capture(#[from] crate::capture::ImportError),
    /// The target capture does not show the signature.
    #[error("{path}: the capture shows no {signature} finding to match")]
    NotInCapture {
        /// The capture.
        path: String,
        /// The signature.
        signature: String,
    },
}

fn known_signatures() -> String {
    crate::detect::signatures().collect::<Vec<_>>().join(", ")
}

/// Checks that a signature exists.
///
/// # Errors
/// [`SearchError::UnknownSignature`].
pub fn check_signature(sig: &str) -> Result<(), SearchError> {
    if crate::detect::signatures().any(|s| s == sig) {
        Ok(())
    } else {
        Err(SearchError::UnknownSignature(sig.to_string()))
    }
}

/// The features of the first `signature` finding in a capture.
///
/// # Errors
/// The capture cannot be read or does not show the signature.
pub fn target_from_capture(path: &Path, signature: &str) -> Result<Target, SearchError> {
    check_signature(signature)?;
    let (analysis, _) = analyze_file(path, Default::default(), AnalyzeOptions::default())
        .map_err(SearchError::Capture)?;
    let f = analysis
        .findings
        .into_iter()
        .find(|f| f.signature == signature)
        .ok_or_else(|| SearchError::NotInCapture {
            path: path.display().to_string(),
            signature: signature.to_string(),
        })?;
    Ok(Target {
        source: path.display().to_string(),
        features: f.features,
    })
}

/// Whether `f` matches every feature of `target` ([`matching::compare`]): timing features within
/// max(tol·|want|, floor), other measures within tol·|want|, yes/no features and counts exactly,
/// bounded features as bounds; a feature `f` lacks does not match.
pub fn matches(f: &Finding, target: &Target, tol: f64, floor: f64) -> bool {
    matching::compare(f, &target.features, tol, floor)
        .iter()
        .all(|c| c.matches)
}

/// Simulates `s` (no outputs) and returns the first finding of `signature` that matches the target
/// (if any is given). A run that fails (livelock) counts as no finding.
pub fn evaluate(
    s: &Scenario,
    signature: &str,
    target: Option<&Target>,
    tol: f64,
    floor: f64,
) -> Option<Finding> {
    let report = simulate(s, &mut (), Analyse::Yes).ok()?;
    (report.summary.findings.into_iter())
        .filter(|f| f.signature == signature)
        .find(|f| target.is_none_or(|t| matches(f, t, tol, floor)))
}

/// A reproducer.
#[derive(Debug, Clone)]
pub struct Found {
    /// The shrunk model.
    pub scenario: Scenario,
    /// Its finding.
    pub finding: Finding,
}

/// How a search went.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The minimal reproducer, if one was found.
    pub found: Option<Found>,
    /// Cases generated until the first reproducer (or all of them).
    pub cases: u64,
    /// Simulations spent shrinking.
    pub shrink_runs: u64,
    /// With a target: simulations spent refining (and simplifying) after the generation phase.
    pub refine_runs: u64,
    /// With a target: the [`matching::score`] the refinement started from and ended with.
    pub refined: Option<(f64, f64)>,
    /// With a target and no match: the case whose finding came closest ([`matching::score`]), with
    /// every feature compared.
    pub nearest: Option<Nearest>,
    /// With a target and a reproducer: how often it matches over `SearchOptions::seeds` seeds.
    pub robustness: Option<verdict::Robustness>,
    /// With a target: the `[search]` ranges the result (reproducer or nearest miss) sits at an end
    /// of ([`verdict::at_bounds`]).
    pub at_bounds: Vec<String>,
}

impl SearchOptions {
    /// The generation phase's budget.
    fn falsify_budget(&self) -> Falsify {
        Falsify {
            cases: self.cases,
            seed: self.seed,
            max_shrink_iters: self.max_shrink_iters,
        }
    }
}

/// The committed generic model (`models/esp32-wifi-generic.toml`), for the search's unit tests.
#[cfg(test)]
pub(crate) fn generic_model() -> Scenario {
    let text = include_str!("../../models/esp32-wifi-generic.toml");
    Scenario::from_toml(text, std::path::Path::new("generic.toml")).expect("committed model")
}

impl Outcome {
    /// Whether the reproducer's robustness reaches `min_rate` (true when it was not measured).
    pub fn meets(&self, min_rate: f64) -> bool {
        self.robustness.is_none_or(|r| r.rate() >= min_rate)
    }
}

/// The closest case of a search that found no match.
#[derive(Debug, Clone)]
pub struct Nearest {
    /// The case.
    pub scenario: Scenario,
    /// Its finding of the signature.
    pub finding: Finding,
    /// Every target feature compared with it.
    pub compared: Vec<matching::Compared>,
}

/// Searches around `base` for a reproducer; `progress(runs_so_far, budget)` is called after
/// every simulation.
///
/// Without a target: proptest draws cases until one shows the signature, then shrinks it. With a
/// target capture, in three phases:
/// 1. generation: proptest draws cases until one matches the target loosely (five times the
///    tolerance, at least 25 % or 0.5 s), and shrinks it keeping that loose match;
/// 2. refinement ([`refine::refine`]): from the better of the shrunk case and the closest case
///    seen (so a search whose generation matched nothing still refines its nearest miss), a local
///    search improves the distance to the target within `opts.refine` simulations;
/// 3. simplification: every knob that does not help goes back to the model's value, keeping the
///    match.
///
/// The result is a reproducer when the refined case matches at the tolerance, else the nearest
/// miss.
///
/// # Errors
/// An unknown signature.
pub fn search(
    base: &Scenario,
    opts: &SearchOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Outcome, SearchError> {
    check_signature(&opts.target)?;
    let Some(target) = &opts.matching else {
        return Ok(search_signature(base, opts, progress));
    };
    let goal = refine::Goal {
        signature: &opts.target,
        target,
        tol: opts.tolerance,
        floor: opts.min_tolerance,
    };
    let (loose_tol, loose_floor) = (
        (opts.tolerance * 5.0).max(0.25),
        (opts.min_tolerance * 5.0).max(0.5),
    );
    // The closest case of the generation phase, at the tolerance.
    let nearest: RefCell<Option<refine::Scored>> = RefCell::new(None);
    let budget = u64::from(opts.cases) + u64::from(opts.refine);
    let falsified = falsify(
        base,
        &opts.falsify_budget(),
        &|s| {
            let Some(scored) = goal.score(s) else {
                return false;
            };
            let loose =
                matching::compare(&scored.finding, &target.features, loose_tol, loose_floor);
            let mut best = nearest.borrow_mut();
            if best.as_ref().is_none_or(|b| scored.score < b.score) {
                *best = Some(scored);
            }
            loose.iter().all(|c| c.matches)
        },
        &mut |d, _| progress(d, budget),
    );
    let cases = falsified.first_failure.unwrap_or(falsified.runs);
    let shrunk = (falsified.counterexample.as_ref()).and_then(|s| goal.score(s));
    let start = match (shrunk, nearest.into_inner()) {
        (Some(a), Some(b)) if b.score < a.score => Some(b),
        (Some(a), _) => Some(a),
        (None, b) => b,
    };
    let mut outcome = Outcome {
        found: None,
        cases,
        shrink_runs: falsified.runs - cases,
        refine_runs: 0,
        refined: None,
        nearest: None,
        robustness: None,
        at_bounds: Vec::new(),
    };
    let Some(start) = start else {
        return Ok(outcome);
    };
    let done = falsified.runs;
    let refined = refine::refine(
        base,
        start,
        &goal,
        &refine::Budget {
            runs: opts.refine,
            seed: opts.seed,
            threads: opts.threads,
        },
        &mut |r, _| progress(done + r, budget),
    );
    outcome.refine_runs = refined.runs;
    outcome.refined = Some((refined.start_score, refined.best.score));
    let best = refined.best;
    outcome.at_bounds = verdict::at_bounds(base, &best.scenario);
    if best.matches() {
        if opts.seeds > 0 {
            let r = verdict::robustness(&best.scenario, &goal, opts.seeds, opts.threads);
            outcome.robustness = Some(r);
        }
        let mut scenario = best.scenario;
        scenario.name = format!("{}-{}", base.name, opts.target);
        outcome.found = Some(Found {
            scenario,
            finding: best.finding,
        });
    } else {
        outcome.nearest = Some(Nearest {
            scenario: best.scenario,
            finding: best.finding,
            compared: best.compared,
        });
    }
    Ok(outcome)
}

/// The search without a target: the first case that shows the signature, shrunk.
fn search_signature(
    base: &Scenario,
    opts: &SearchOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Outcome {
    let falsified = falsify(
        base,
        &opts.falsify_budget(),
        &|s| evaluate(s, &opts.target, None, 0.0, 0.0).is_some(),
        progress,
    );
    let cases = falsified.first_failure.unwrap_or(falsified.runs);
    let found = falsified.counterexample.map(|mut scenario| {
        let finding = evaluate(&scenario, &opts.target, None, 0.0, 0.0)
            .expect("the shrunk reproducer reproduces (simulations are deterministic)");
        scenario.name = format!("{}-{}", base.name, opts.target);
        Found { scenario, finding }
    });
    Outcome {
        shrink_runs: if found.is_some() {
            falsified.runs - cases
        } else {
            0
        },
        found,
        cases,
        refine_runs: 0,
        refined: None,
        nearest: None,
        robustness: None,
        at_bounds: Vec::new(),
    }
}

/// The budget of [`falsify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Falsify {
    /// Generated cases to try before giving up (shrinking runs come on top).
    pub cases: u32,
    /// Seed of proptest's generator.
    pub seed: u64,
    /// Most shrinking steps.
    pub max_shrink_iters: u32,
}

/// What [`falsify`] found.
#[derive(Debug, Clone)]
pub struct Falsified {
    /// The shrunk scenario that fails, if one was found.
    pub counterexample: Option<Scenario>,
    /// Every evaluation, generated and shrinking.
    pub runs: u64,
    /// The evaluation (1-based) that first failed.
    pub first_failure: Option<u64>,
    /// The evaluations of scenarios that validated (rejected ones are drawn, not evaluated).
    pub valid: u64,
    /// How many scenarios had validated when the first failed.
    pub valid_at_failure: Option<u64>,
    /// Why proptest stopped early without a failure (too many scenarios that do not validate):
    /// then the property was not checked over the whole budget.
    pub gave_up: Option<String>,
}

/// Draws scenarios around `base` ([`strategy`]) until one `fails`, then shrinks it: the proptest
/// runner shared by `tcpsim search` (fails = the signature occurs) and `tcpsim test` (fails = a
/// property does not hold). Scenarios that do not validate are rejected, not evaluated;
/// `progress(runs_so_far, cases_budget)` is called before every evaluation. The same `base`,
/// budget and `fails` give the same result.
pub fn falsify(
    base: &Scenario,
    budget: &Falsify,
    fails: &dyn Fn(&Scenario) -> bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Falsified {
    let mut runner = TestRunner::new(Config {
        cases: budget.cases,
        rng_seed: RngSeed::Fixed(budget.seed),
        failure_persistence: None,
        max_shrink_iters: budget.max_shrink_iters,
        max_global_rejects: budget.cases.saturating_mul(4),
        ..Config::default()
    });
    let runs = Cell::new(0u64);
    let first_failure = Cell::new(None::<u64>);
    let valid = Cell::new(0u64);
    let valid_at_failure = Cell::new(None::<u64>);
    let progress = RefCell::new(progress);
    let strat = strategy(base);
    let result = runner.run(&strat, |s| {
        runs.set(runs.get() + 1);
        (progress.borrow_mut())(runs.get(), u64::from(budget.cases));
        if s.validate().is_err() {
            return Err(TestCaseError::reject("invalid scenario"));
        }
        valid.set(valid.get() + 1);
        if fails(&s) {
            if first_failure.get().is_none() {
                first_failure.set(Some(runs.get()));
                valid_at_failure.set(Some(valid.get()));
            }
            Err(TestCaseError::fail("property failed"))
        } else {
            Ok(())
        }
    });
    let (counterexample, gave_up) = match result {
        Err(TestError::Fail(_, scenario)) => (Some(scenario), None),
        Err(TestError::Abort(why)) => (None, Some(why.to_string())),
        Ok(()) => (None, None),
    };
    Falsified {
        counterexample,
        runs: runs.get(),
        first_failure: first_failure.get(),
        valid: valid.get(),
        valid_at_failure: valid_at_failure.get(),
        gave_up,
    }
}

/// The reproducer as a model file: a header saying how it was found and what it shows, then the
/// resolved model.
pub fn reproducer_toml(found: &Found, opts: &SearchOptions, outcome: &Outcome) -> String {
    let mut head = format!(
        "# Reproducer for `{}` found by `tcpsim search --target {} --seed {}` after {} case(s),\n# shrunk in {} further run(s). `tcpsim run` on this file reproduces it.\n",
        opts.target, opts.target, opts.seed, outcome.cases, outcome.shrink_runs
    );
    if let Some(t) = &opts.matching {
        head += &format!(
            "# Matches the features of {}: times within {}% or {} s, yes/no features and counts \
             exactly, bounds as bounds.\n",
            t.source,
            opts.tolerance * 100.0,
            opts.min_tolerance
        );
    }
    head += "# Features:";
    for (k, v) in &found.finding.features {
        head += &format!(" {k}={v:.6}");
    }
    head.push('\n');
    let mut s = found.scenario.clone();
    // The base model's properties are not the reproducer's.
    s.expect.clear();
    s.description = format!("Reproducer of {} (tcpsim search)", opts.target);
    head + &s.to_toml()
}
