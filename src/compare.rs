//! A capture against a reproducer, as `tcpsim plot CAPTURE --with RUN_DIR` and `tcpsim search
//! --plot` draw it ([`crate::plot::compare`]): this module finds the two traces (a run directory is
//! re-simulated from its `run.toml` into pcap bytes, a model found by the search likewise, a
//! second capture is imported) and hands them to the plot.
//!
//! Guarantees: the reproducer's side is the pcap the run writes at its capture point, imported by
//! the same importer as the capture, so both sides are read alike; nothing is written here.

use std::path::Path;

use crate::capture::{ImportOptions, import_trace, import_trace_from};
use crate::model::Scenario;
use crate::plot::{PlotOptions, Side, compare};
use crate::run::run_pcap;
use crate::trace::Trace;

/// What went wrong comparing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// A capture could not be read.
    #[error(transparent)]
    Import(#[from] crate::capture::ImportError),
    /// The run directory's or model file's model could not be loaded.
    #[error("{path}: not a tcpsim run directory or model")]
    NotARun {
        /// The directory.
        path: String,
        /// Why its run.toml did not load.
        #[source]
        source: crate::model::ModelError,
    },
    /// The signature asked for is not one the detectors know.
    #[error("--target: unknown signature {0:?} (known: {known})", known = crate::detect::signatures().collect::<Vec<_>>().join(", "))]
    UnknownSignature(String),
    /// The capture given is a directory (a run directory goes after `--with`).
    #[error("{0}: a directory, not a capture (a run directory goes after --with)")]
    CaptureIsDir(String),
    /// Both sides were given as `-`: standard input can be read once.
    #[error("the capture and --with are both standard input (-), which can be read only once")]
    StdinTwice,
    /// The reproducer did not run.
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    /// The plot could not be drawn.
    #[error(transparent)]
    Plot(#[from] crate::plot::PlotError),
}

/// The capture at `capture` against `with`: a run directory (its `run.toml` re-simulated), a
/// model file (run), or another capture. Returns the SVG.
///
/// # Errors
/// [`CompareError`] naming what could not be read or drawn.
pub fn plot_with(
    capture: &Path,
    with: &Path,
    signature: Option<&str>,
    opts: &PlotOptions,
) -> Result<String, CompareError> {
    if capture.is_dir() {
        return Err(CompareError::CaptureIsDir(capture.display().to_string()));
    }
    if crate::fsio::is_stdin(capture) && crate::fsio::is_stdin(with) {
        return Err(CompareError::StdinTwice);
    }
    if let Some(s) = signature.filter(|s| !crate::detect::signatures().any(|k| k == *s)) {
        return Err(CompareError::UnknownSignature(s.to_string()));
    }
    let import = ImportOptions {
        lenient: opts.lenient,
    };
    let model = with.extension().is_some_and(|e| e == "toml");
    let (other, name) = if with.is_dir() || model {
        let file = if model {
            with.to_path_buf()
        } else {
            with.join("run.toml")
        };
        let s = Scenario::load(&file).map_err(|source| CompareError::NotARun {
            path: with.display().to_string(),
            source,
        })?;
        let name = format!("reproducer {} ({})", with.display(), s.name);
        (run_trace(&s, with)?, name)
    } else {
        (import_trace(with, import)?.0, with.display().to_string())
    };
    against(capture, import, &other, &name, signature, opts)
}

/// The capture at `capture` against the model `reproducer` (run here), named `name`.
///
/// # Errors
/// As [`plot_with`].
pub fn plot_model(
    capture: &Path,
    reproducer: &Scenario,
    name: &str,
    signature: Option<&str>,
    opts: &PlotOptions,
) -> Result<String, CompareError> {
    let other = run_trace(reproducer, Path::new(name))?;
    let name = format!("reproducer {name}");
    against(
        capture,
        ImportOptions::default(),
        &other,
        &name,
        signature,
        opts,
    )
}

/// A model run into its pcap at its capture point and imported back (`name` names it in errors).
fn run_trace(s: &Scenario, name: &Path) -> Result<Trace, CompareError> {
    let pcap = run_pcap(s)?;
    Ok(import_trace_from(&pcap[..], name, ImportOptions::default())?.0)
}

/// The capture at `capture` (imported with `import`) drawn above `other`, named `name`.
fn against(
    capture: &Path,
    import: ImportOptions,
    other: &Trace,
    name: &str,
    signature: Option<&str>,
    opts: &PlotOptions,
) -> Result<String, CompareError> {
    let (trace, _) = import_trace(capture, import)?;
    let cap_name = format!("capture {}", capture.display());
    let capture = Side {
        trace: &trace,
        name: &cap_name,
    };
    let other = Side { trace: other, name };
    Ok(compare(capture, other, signature, opts)?)
}
