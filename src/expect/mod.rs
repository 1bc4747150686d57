//! `tcpsim test`: checking the `[[expect]]` properties of model files
//! ([`crate::model::Expect`]) over each model's `[search]` space, with proptest.
//!
//! For every property of every model, in order:
//! 1. a saved counterexample (`DIR/<model name>--<property slug>.toml`, written by an earlier
//!    failure) is tried first, replayed onto the current model ([`crate::search::replay`]): if
//!    the property still fails there, that is the failure;
//! 2. a model without a `[search]` table is one case: the model itself (with the property's `set`
//!    overrides);
//! 3. otherwise [`crate::search::falsify`] draws `cases` scenarios from the space with a fixed
//!    seed and shrinks the first that fails (fewer and shorter outages, the model's own settings
//!    wherever they suffice).
//!
//! Guarantees: the same models, options, saved files and seed give the same results, whatever the
//! number of threads (each property is checked on its own, results come back in order). Nothing
//! here writes a file or reads the wall clock: a failure carries its counterexample file's path
//! and text, and the caller writes it ([`crate::fsio::write_atomic`]) unless it is a saved
//! counterexample that still fails (that file is left as it is). A saved file that does not
//! load as a model is ignored (a new failure replaces it).

mod verdict;

pub use verdict::{Verdict, finding_line, verdict};

use std::path::{Path, PathBuf};

use crate::model::{ModelError, Property, Scenario, slug};
use crate::run::{Analyse, simulate};
use crate::search::{Falsify, falsify, replay};

/// Errors before any property is checked (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestError {
    /// A model (or a property's `set` overrides) does not load.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A directory cannot be listed.
    #[error("{}: cannot list the directory", path.display())]
    ListDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Nothing to test.
    #[error("{}: no model files (*.toml)", path.display())]
    NoModels {
        /// The directory.
        path: PathBuf,
    },
    /// Two properties (of models sharing a name) would save their counterexamples to one file,
    /// or the JUnit report would overwrite a counterexample.
    #[error("{} would be written twice: {first} and {second} (give the models different names, or --junit another file)", path.display())]
    SameOutput {
        /// The file.
        path: PathBuf,
        /// What writes it first.
        first: String,
        /// What writes it again.
        second: String,
    },
    /// An output is an input, or not a regular file.
    #[error(transparent)]
    Output(#[from] crate::fsio::FsError),
}

/// Checks, before any property runs, every file `tcpsim test` may write: each property's
/// counterexample file and the JUnit report. None may be anything but a regular file, the report
/// may not be one of the `inputs` (the model files), and no two may be the same file. (A model
/// stored as its own counterexample is legitimate to test, since a saved counterexample that
/// still fails is not rewritten; whether it would be replaced is known only after the search, and
/// the caller checks then.)
///
/// # Errors
/// [`TestError::Output`] or [`TestError::SameOutput`].
pub fn check_outputs(
    cases: &[PropertyCase],
    opts: &TestOptions,
    junit: Option<&Path>,
    inputs: &[PathBuf],
) -> Result<(), TestError> {
    let mut writes: Vec<(PathBuf, String)> = cases
        .iter()
        .map(|c| {
            let what = format!("{}: {:?}", c.path.display(), c.name);
            (saved_path(&opts.saved, &c.base.name, &c.name), what)
        })
        .collect();
    writes.extend(junit.map(|j| (j.to_owned(), "--junit".to_string())));
    // Compared as absolute paths, so `./x` and `x` are one file.
    let absolute: Vec<_> = writes
        .iter()
        .map(|(p, _)| std::path::absolute(p).ok())
        .collect();
    for (i, (path, what)) in writes.iter().enumerate() {
        crate::fsio::ensure_regular_or_absent(path)?;
        if i == cases.len() {
            crate::fsio::ensure_not_input(path, inputs)?; // the JUnit report
        }
        if let Some(j) = absolute[..i].iter().position(|a| *a == absolute[i]) {
            return Err(TestError::SameOutput {
                path: path.clone(),
                first: writes[j].1.clone(),
                second: what.clone(),
            });
        }
    }
    Ok(())
}

/// How to test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOptions {
    /// Generated cases per property (shrinking runs come on top).
    pub cases: u32,
    /// Seed of proptest's generator.
    pub seed: u64,
    /// Most shrinking steps per failure.
    pub max_shrink_iters: u32,
    /// Threads (properties are checked in parallel).
    pub threads: usize,
    /// Where counterexamples are saved and read back (`tcpsim-test`).
    pub saved: PathBuf,
}

impl TestOptions {
    /// Defaults: 256 cases (proptest's default), seed 0, 200 shrink steps, one thread,
    /// `tcpsim-test/`.
    pub fn new() -> TestOptions {
        TestOptions {
            cases: 256,
            seed: 0,
            max_shrink_iters: 200,
            threads: 1,
            saved: PathBuf::from("tcpsim-test"),
        }
    }
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions::new()
    }
}

/// One property of one model, ready to check.
#[derive(Debug, Clone)]
pub struct PropertyCase {
    /// The model file.
    pub path: PathBuf,
    /// The model as the property sees it (its `set` overrides applied).
    pub base: Scenario,
    /// The property's index among the model's `[[expect]]` tables.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// Its check.
    pub property: Property,
}

/// The model files `inputs` name: a file as it is, a directory's `*.toml` files in sorted order.
///
/// # Errors
/// [`TestError::ListDir`], [`TestError::NoModels`] for a directory without model files.
pub fn model_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, TestError> {
    let mut files = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            files.push(input.clone());
            continue;
        }
        let list = |source| TestError::ListDir {
            path: input.clone(),
            source,
        };
        let mut found: Vec<PathBuf> = std::fs::read_dir(input)
            .map_err(list)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(list)?;
        found.retain(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"));
        found.sort();
        if found.is_empty() {
            return Err(TestError::NoModels {
                path: input.clone(),
            });
        }
        files.extend(found);
    }
    Ok(files)
}

/// Every property of every model file, in file order then table order. All models are loaded
/// (and every property's overrides applied) before anything runs, so a bad file is reported
/// before any work.
///
/// # Errors
/// The first model (or override) that does not load.
pub fn properties(files: &[PathBuf]) -> Result<Vec<PropertyCase>, TestError> {
    let mut cases = Vec::new();
    for path in files {
        let text = crate::model::read_model(path)?;
        let model = Scenario::from_toml(&text, path)?;
        for (index, e) in model.expect.iter().enumerate() {
            cases.push(PropertyCase {
                path: path.clone(),
                base: Scenario::for_expect(&text, path, index)?,
                index,
                name: e.name.clone(),
                property: e.property(index).expect("validated when loaded"),
            });
        }
    }
    Ok(cases)
}

/// A property that does not hold: the counterexample and what it showed.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The (shrunk) scenario that fails.
    pub counterexample: Scenario,
    /// What it showed that is relevant to the property.
    pub observed: Vec<String>,
    /// How it differs from the model: `key = value` in `--set` syntax.
    pub conditions: Vec<String>,
    /// Whether it is a saved counterexample that still fails.
    pub saved: bool,
    /// Where the counterexample file goes.
    pub file: PathBuf,
    /// The counterexample file's text.
    pub file_text: String,
}

/// The result of checking one property.
#[derive(Debug, Clone)]
pub struct PropertyResult {
    /// The model file.
    pub path: PathBuf,
    /// The model's name.
    pub model: String,
    /// The property's name.
    pub name: String,
    /// Cases run until the first failure (or all of them).
    pub cases: u64,
    /// Simulations spent shrinking.
    pub shrink_runs: u64,
    /// `None` when the property holds (or was not checked).
    pub failure: Option<Failure>,
    /// Why the property could not be checked: the search space gave too many models that do not
    /// validate before the case budget was spent (proptest gave up). Such a property neither
    /// passes nor fails; `tcpsim test` exits 2.
    pub not_checked: Option<String>,
}

/// The exit code of `tcpsim test` for `results`: 2 when a property could not be checked (an
/// error), else 1 when one fails, else 0.
pub fn exit_code(results: &[PropertyResult]) -> u8 {
    if results.iter().any(|r| r.not_checked.is_some()) {
        2
    } else if results.iter().any(|r| r.failure.is_some()) {
        1
    } else {
        0
    }
}

/// Checks every property; results in the order of `cases`.
pub fn run(cases: &[PropertyCase], opts: &TestOptions) -> Vec<PropertyResult> {
    crate::search::sweep::par_map(cases, opts.threads, |_, c| check(c, opts))
}

/// The name (and file stem) of a property's counterexample: `MODEL--PROPERTY-SLUG`.
pub fn counterexample_name(model: &str, property: &str) -> String {
    format!("{model}--{}", slug(property))
}

/// Where a property's counterexample is saved: `DIR/MODEL--PROPERTY-SLUG.toml`.
pub fn saved_path(dir: &Path, model: &str, property: &str) -> PathBuf {
    dir.join(format!("{}.toml", counterexample_name(model, property)))
}

/// Checks one property (the steps of the module documentation).
pub fn check(c: &PropertyCase, opts: &TestOptions) -> PropertyResult {
    let evaluate = |s: &Scenario| verdict(&c.property, &simulate(s, &mut (), Analyse::Yes));
    let file = saved_path(&opts.saved, &c.base.name, &c.name);
    let result = |cases, shrink_runs, failure| PropertyResult {
        path: c.path.clone(),
        model: c.base.name.clone(),
        name: c.name.clone(),
        cases,
        shrink_runs,
        failure,
        not_checked: None,
    };
    let fail = |s: Scenario, v: Verdict, saved: bool| {
        Some(failure(c, s, v, saved, file.clone(), opts.seed))
    };
    // Only a regular file is read as a saved counterexample (a FIFO there would block).
    if let Some(saved) = (file.is_file().then(|| crate::model::read_model(&file)))
        .and_then(Result::ok)
        .and_then(|text| Scenario::from_toml(&text, &file).ok())
    {
        let s = if c.base.search.is_some() {
            replay(&c.base, &saved)
        } else {
            c.base.clone()
        };
        let v = evaluate(&s);
        if !v.holds {
            return result(1, 0, fail(s, v, true));
        }
    }
    if c.base.search.is_none() {
        let v = evaluate(&c.base);
        return match v.holds {
            true => result(1, 0, None),
            false => result(1, 0, fail(c.base.clone(), v, false)),
        };
    }
    let budget = Falsify {
        cases: opts.cases,
        seed: opts.seed,
        max_shrink_iters: opts.max_shrink_iters,
    };
    let found = falsify(&c.base, &budget, &|s| !evaluate(s).holds, &mut |_, _| {});
    // Cases are the scenarios that validated and were checked: a rejected draw checks nothing.
    let cases = found.valid_at_failure.unwrap_or(found.valid);
    match found.counterexample {
        None => {
            let mut r = result(cases, 0, None);
            r.not_checked = found.gave_up.map(|why| {
                format!(
                    "only {} of {} drawn cases were valid models ({why}): narrow the [search] \
                     space or fix the model",
                    found.valid, found.runs
                )
            });
            r
        }
        Some(s) => {
            let v = evaluate(&s);
            result(cases, found.valid - cases, fail(s, v, false))
        }
    }
}

/// The failure of `c` at `s`, with its counterexample file.
fn failure(
    c: &PropertyCase,
    s: Scenario,
    v: Verdict,
    saved: bool,
    file: PathBuf,
    seed: u64,
) -> Failure {
    let mut model = s.clone();
    model.name = counterexample_name(&c.base.name, &c.name);
    model.description = format!("Counterexample of {:?} (tcpsim test)", c.name);
    model.search = None;
    let mut expect = c.base.expect[c.index].clone();
    expect.set.clear();
    model.expect = vec![expect];
    let mut head = format!(
        "# Counterexample of {:?} ({}), found by `tcpsim test --seed {seed}`.\n\
         # `tcpsim run` on this file reproduces it; `tcpsim test` tries it first (replayed onto the\n\
         # current model), and replaces it when it finds a new one.\n",
        c.name,
        c.path.display()
    );
    for line in &v.observed {
        head += &format!("# {line}\n");
    }
    Failure {
        conditions: differences(&c.base, &s),
        counterexample: s,
        observed: v.observed,
        saved,
        file,
        file_text: head + &model.to_toml(),
    }
}

/// The settings of `other` that differ from `base`, as `key = value` (dotted keys, TOML values;
/// the model's name, description, `[search]` and `[[expect]]` left out).
pub fn differences(base: &Scenario, other: &Scenario) -> Vec<String> {
    let flat = |s: &Scenario| {
        let mut out = Vec::new();
        let value = toml::Value::try_from(s).expect("a scenario serialises");
        if let toml::Value::Table(t) = value {
            for (k, v) in t {
                if !matches!(k.as_str(), "name" | "description" | "search" | "expect") {
                    flatten(&k, &v, &mut out);
                }
            }
        }
        out
    };
    let (a, b) = (flat(base), flat(other));
    let mut diff: Vec<String> = b
        .iter()
        .filter(|(k, v)| !a.iter().any(|(ka, va)| ka == k && va == v))
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    // Keys the base has and the counterexample lacks.
    for (k, _) in &a {
        if !b.iter().any(|(kb, _)| kb == k) {
            diff.push(format!("{k} removed"));
        }
    }
    diff
}

/// Dotted leaves of a TOML value; an array, or a table holding a `kind` (a tagged choice), is one
/// leaf written inline.
fn flatten(key: &str, v: &toml::Value, out: &mut Vec<(String, String)>) {
    match v {
        toml::Value::Table(t) if !t.contains_key("kind") => {
            for (k, v) in t {
                flatten(&format!("{key}.{k}"), v, out);
            }
        }
        _ => out.push((key.to_string(), inline(v))),
    }
}

/// A TOML value on one line.
fn inline(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => {
            let items: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{k} = {}", inline(v)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
        toml::Value::Array(a) => {
            let items: Vec<String> = a.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}
