//! Running a scenario: [`simulate`] (the one simulate-and-analyse function, used by `tcpsim run`,
//! sweeps, searches and mitigation checks), [`run_trace`] (the whole trace in memory) and
//! [`run_to_dir`] (`tcpsim run`'s output directory).
//!
//! Guarantees: outputs stream to disk while the simulation runs (memory stays flat); they are
//! written into a hidden temporary directory beside the destination (unique to the run) and
//! renamed into place only when complete, so a failed or interrupted run never leaves a
//! half-written output directory; the destination is resolved first and may not be the current
//! directory or one of its parents; an existing destination is refused unless `force` is set, and
//! even then only one holding nothing but files tcpsim writes (or nothing) is replaced.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use crate::analyze::{AnalysisSink, AnalyzeOptions};
use crate::clock::Instant;
use crate::model::{ModelError, Scenario};
use crate::sim::{Ended, Sim, SimError};
use crate::summary::{Summary, SummaryBuilder};
use crate::trace::csv::{EventsCsv, PacketsCsv};
use crate::trace::pcap::PcapWriter;
use crate::trace::text::TextWriter;
use crate::trace::{EventSink, Trace};

/// Which output files to write (`run.toml` is always written). Every file, `timeline.svg` included,
/// comes from the one simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outputs {
    /// `trace.txt`.
    pub text: bool,
    /// `trace.pcap`.
    pub pcap: bool,
    /// `packets.csv` and `events.csv`.
    pub csv: bool,
    /// `summary.json`.
    pub summary: bool,
    /// `timeline.svg` (drawn from series thinned as the run goes; not part of `all`).
    pub plot: bool,
}

impl Outputs {
    /// Every output.
    pub const ALL: Outputs = Outputs {
        text: true,
        pcap: true,
        csv: true,
        summary: true,
        plot: false,
    };
    /// Only `run.toml`.
    pub const NONE: Outputs = Outputs {
        text: false,
        pcap: false,
        csv: false,
        summary: false,
        plot: false,
    };

    /// Parses a comma-separated list of `text`, `pcap`, `csv`, `summary`, or `all` / `none`.
    ///
    /// # Errors
    /// [`UnknownOutput`] naming the unknown item.
    pub fn parse(list: &str) -> Result<Outputs, UnknownOutput> {
        let mut o = Outputs::NONE;
        for item in list.split(',').map(str::trim) {
            match item {
                "text" => o.text = true,
                "pcap" => o.pcap = true,
                "csv" => o.csv = true,
                "summary" => o.summary = true,
                "all" => {
                    o = Outputs {
                        plot: o.plot,
                        ..Outputs::ALL
                    }
                }
                "none" => {}
                other => return Err(UnknownOutput(other.to_string())),
            }
        }
        Ok(o)
    }
}

/// An `--outputs` item that is not an output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown output {0:?}: choose from text, pcap, csv, summary, all, none")]
pub struct UnknownOutput(pub String);

/// The outcome of a finished run.
#[derive(Debug, Clone)]
pub struct Report {
    /// When the run ended.
    pub end: Instant,
    /// Why.
    pub ended: Ended,
    /// Steps taken.
    pub steps: u64,
    /// The run's summary (with the analysis's findings when the run was analysed).
    pub summary: Summary,
}

impl Report {
    /// The connection's outcome (survived, reset, aborted, closed): see [`crate::outcome`].
    pub fn outcome(&self) -> crate::outcome::Outcome {
        crate::outcome::Outcome::of_summary(&self.summary)
    }
}

/// Whether [`simulate`] analyses the run (segment classes and signature detectors at the model's
/// capture point) to fill the summary's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analyse {
    /// Run the detectors.
    Yes,
    /// Counters only (cheaper).
    No,
}

/// Simulates `scenario` to the end, streaming every event to `sink`, and returns its report: the
/// summary folded from the events and, with [`Analyse::Yes`], the findings of the analysis at the
/// model's capture point. Every part of tcpsim that runs a scenario runs it through here.
///
/// # Errors
/// An invalid scenario, a livelock, or the sink's I/O error.
pub fn simulate(
    scenario: &Scenario,
    sink: &mut dyn EventSink,
    analyse: Analyse,
) -> Result<Report, RunError> {
    let sim = Sim::new(scenario)?;
    let mut summary = SummaryBuilder::new(&scenario.name, scenario.seed);
    let mut analysis = (analyse == Analyse::Yes)
        .then(|| AnalysisSink::new(scenario.capture, AnalyzeOptions::default()));
    let finished = match &mut analysis {
        Some(a) => sim.run(&mut (&mut summary, (a, sink))),
        None => sim.run(&mut (&mut summary, sink)),
    }?;
    let findings = analysis
        .and_then(AnalysisSink::into_analysis)
        .map(|a| a.findings)
        .unwrap_or_default();
    Ok(Report {
        end: finished.end,
        ended: finished.ended,
        steps: finished.steps,
        summary: summary.summary(finished.end, finished.ended.name(), findings),
    })
}

/// Runs `scenario` to the end and returns its whole trace and its analysed report.
///
/// # Errors
/// As [`simulate`].
pub fn run_trace(scenario: &Scenario) -> Result<(Trace, Report), RunError> {
    let mut trace = Trace::default();
    let report = simulate(scenario, &mut trace, Analyse::Yes)?;
    Ok((trace, report))
}

/// Simulates a scenario into the bytes of its `trace.pcap` (frames at its capture point), without
/// writing anything: what `tcpsim search` compares with a capture through the pcap importer.
///
/// # Errors
/// The run fails.
pub fn run_pcap(scenario: &Scenario) -> Result<Vec<u8>, RunError> {
    let mut pcap = PcapWriter::new(Vec::new(), scenario.capture).map_err(|err| RunError::Io {
        path: "trace.pcap".into(),
        err,
    })?;
    simulate(scenario, &mut pcap, Analyse::No)?;
    Ok(pcap.into_inner())
}

/// What went wrong running a scenario or writing a run directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The destination exists and `force` was not given.
    #[error("{} already exists (use --force to replace it)", .0.display())]
    Exists(PathBuf),
    /// The destination exists but holds something tcpsim did not write.
    #[error(
        "{} exists and holds files tcpsim did not write (it writes only {}); refusing to replace it",
        .0.display(),
        OUTPUT_FILES.join(", ")
    )]
    NotOurs(PathBuf),
    /// The destination exists and is not a directory (a file, FIFO or device).
    #[error("{} is not a directory; refusing to replace it with a run's outputs", .0.display())]
    NotADirectory(PathBuf),
    /// The destination is the current directory or one of its parents.
    #[error(
        "{} is the current directory or one of its parents; refusing to write outputs there",
        .0.display()
    )]
    Encloses(PathBuf),
    /// Another tcpsim process is writing the destination.
    #[error("{} is being written by another tcpsim run; try again when it finishes", .0.display())]
    Busy(PathBuf),
    /// A file could not be written.
    #[error("{}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        err: io::Error,
    },
    /// The scenario is invalid.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The simulation failed.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The timeline could not be drawn.
    #[error("drawing timeline.svg")]
    Plot(#[from] crate::plot::PlotError),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> RunError + '_ {
    move |err| RunError::Io {
        path: path.to_owned(),
        err,
    }
}

fn create(path: &Path) -> Result<BufWriter<File>, RunError> {
    File::create(path)
        .map(|f| BufWriter::with_capacity(1 << 16, f))
        .map_err(io_at(path))
}

/// The names of the files `run_to_dir` writes: a directory holding nothing else is a tcpsim output
/// directory that `--force` may replace.
pub const OUTPUT_FILES: [&str; 7] = [
    "run.toml",
    "trace.txt",
    "trace.pcap",
    "packets.csv",
    "events.csv",
    "summary.json",
    "timeline.svg",
];

/// Whether `dir` holds only files tcpsim writes (or nothing): replacing it loses nothing else.
fn only_outputs(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.into_iter().all(|e| {
        e.is_ok_and(|e| {
            e.file_type().is_ok_and(|t| t.is_file())
                && e.file_name()
                    .to_str()
                    .is_some_and(|n| OUTPUT_FILES.contains(&n))
        })
    })
}

/// `out` as an absolute path without `.`, `..` or links in its existing part, and its parent and
/// name; refuses the current directory and its ancestors (issue 12: `--out .` and `--out od/..`).
fn resolve_out(out: &Path) -> Result<(PathBuf, PathBuf, String), RunError> {
    let bad = || RunError::NotOurs(out.to_owned());
    let abs = std::path::absolute(out).map_err(io_at(out))?;
    // Existing part canonical (links resolved); the rest appended, `.` and `..` folded.
    let mut resolved = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !resolved.pop() {
                    return Err(bad());
                }
            }
            c => {
                resolved.push(c);
                if let Ok(canon) = fs::canonicalize(&resolved) {
                    resolved = canon;
                }
            }
        }
    }
    let cwd = std::env::current_dir().map_err(io_at(out))?;
    let cwd = fs::canonicalize(&cwd).unwrap_or(cwd);
    let (Some(parent), Some(name)) = (resolved.parent(), resolved.file_name()) else {
        return Err(bad());
    };
    if cwd.starts_with(&resolved) {
        return Err(RunError::Encloses(out.to_owned()));
    }
    Ok((
        resolved.clone(),
        parent.to_owned(),
        name.to_string_lossy().into_owned(),
    ))
}

/// Simulates `scenario` and writes the chosen outputs into directory `out`.
///
/// `out` is resolved first (`od/.` and `od/../od` are `od`); the current directory and its parents
/// are refused. An existing `out` is replaced only with `force`, and only when it holds nothing but
/// files tcpsim writes ([`OUTPUT_FILES`]) — a directory with anything else in it is refused whole.
///
/// # Errors
/// [`RunError`]; on error nothing is left at `out` (an existing directory is kept as it was).
pub fn run_to_dir(
    scenario: &Scenario,
    out: &Path,
    force: bool,
    outputs: Outputs,
) -> Result<Report, RunError> {
    let (dest, parent, name) = resolve_out(out)?;
    fs::create_dir_all(&parent).map_err(io_at(&parent))?;
    // One writer per destination: of two runs to one place, one writes it whole, the other stops.
    let _lock = crate::fsio::OutputLock::try_acquire(&parent, &name)
        .map_err(io_at(out))?
        .ok_or_else(|| RunError::Busy(out.to_owned()))?;
    if dest.exists() {
        if !force {
            return Err(RunError::Exists(out.to_owned()));
        }
        if !dest.is_dir() {
            return Err(RunError::NotADirectory(out.to_owned()));
        }
        if !only_outputs(&dest) {
            return Err(RunError::NotOurs(out.to_owned()));
        }
    }
    let out = dest.as_path();
    let tmp = PartialDir::create(&parent, &name).map_err(io_at(out))?;
    // Errors name the destination, not the temporary directory.
    let report = write_all(scenario, &tmp.0, outputs).map_err(|e| match e {
        RunError::Io { err, .. } => RunError::Io {
            path: out.to_owned(),
            err,
        },
        e => e,
    })?;
    if out.exists() {
        fs::remove_dir_all(out).map_err(io_at(out))?;
    }
    fs::rename(&tmp.0, out).map_err(io_at(out))?;
    tmp.keep();
    Ok(report)
}

/// A hidden directory beside the destination, unique to this process and run
/// (`.NAME.PID-N.partial`), removed when dropped.
struct PartialDir(PathBuf);

/// The temporary directories of the runs in progress, for [`remove_partial_dirs`].
static PARTIALS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Removes the temporary directories of every run in progress in this process: what a signal
/// handler calls before the process exits (SIGINT, SIGTERM), so an interrupted run leaves nothing
/// behind (issue 12, item 9). `tcpsim` installs such a handler.
pub fn remove_partial_dirs() {
    let dirs = PARTIALS.lock().map(|mut d| std::mem::take(&mut *d));
    for dir in dirs.unwrap_or_default() {
        let _ = fs::remove_dir_all(dir);
    }
    crate::fsio::remove_lock_files();
}

impl PartialDir {
    fn create(parent: &Path, name: &str) -> io::Result<PartialDir> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        remove_stale(parent, name);
        loop {
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = parent.join(format!(".{name}.{}-{n}.partial", std::process::id()));
            match fs::create_dir(&p) {
                Ok(()) => {
                    if let Ok(mut d) = PARTIALS.lock() {
                        d.push(p.clone());
                    }
                    return Ok(PartialDir(p));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The directory has been renamed into place: nothing is left to remove.
    fn keep(self) {
        self.forget_path();
        std::mem::forget(self);
    }

    fn forget_path(&self) {
        if let Ok(mut d) = PARTIALS.lock() {
            d.retain(|p| *p != self.0);
        }
    }
}

impl Drop for PartialDir {
    fn drop(&mut self) {
        self.forget_path();
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Removes the temporary directories `.NAME.PID-N.partial` in `parent` left by runs that were
/// killed (their process no longer exists; on Linux, where `/proc` tells).
fn remove_stale(parent: &Path, name: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let prefix = format!(".{name}.");
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let pid = file
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".partial"))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, n)| n.parse::<u64>().ok().and(pid.parse::<u32>().ok()));
        if let Some(pid) = pid
            && pid != std::process::id()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

fn write_all(scenario: &Scenario, dir: &Path, o: Outputs) -> Result<Report, RunError> {
    let toml_path = dir.join("run.toml");
    fs::write(&toml_path, run_toml(scenario)).map_err(io_at(&toml_path))?;
    let point = scenario.capture;
    let mut sinks: Vec<Box<dyn EventSink>> = Vec::new();
    if o.text {
        sinks.push(Box::new(TextWriter::new(
            create(&dir.join("trace.txt"))?,
            point,
        )));
    }
    if o.pcap {
        let p = dir.join("trace.pcap");
        sinks.push(Box::new(
            PcapWriter::new(create(&p)?, point).map_err(io_at(&p))?,
        ));
    }
    if o.csv {
        let p = dir.join("packets.csv");
        sinks.push(Box::new(
            PacketsCsv::new(create(&p)?, point).map_err(io_at(&p))?,
        ));
        let p = dir.join("events.csv");
        sinks.push(Box::new(EventsCsv::new(create(&p)?).map_err(io_at(&p))?));
    }
    let mut timeline = o.plot.then(|| crate::plot::TimelineSink::new(point, 0));
    let analyse = if o.summary { Analyse::Yes } else { Analyse::No };
    let result = match &mut timeline {
        Some(t) => simulate(scenario, &mut (&mut sinks, t), analyse),
        None => simulate(scenario, &mut sinks, analyse),
    };
    let report = result.map_err(|e| match e {
        RunError::Sim(SimError::Io(err)) => RunError::Io {
            path: dir.to_owned(),
            err,
        },
        e => e,
    })?;
    if let Some(timeline) = timeline {
        let svg = timeline.draw(&crate::plot::PlotOptions::new(&scenario.name))?;
        let p = dir.join("timeline.svg");
        fs::write(&p, svg).map_err(io_at(&p))?;
    }
    if o.summary {
        let p = dir.join("summary.json");
        fs::write(&p, report.summary.to_json()).map_err(io_at(&p))?;
    }
    Ok(report)
}

/// The text of `run.toml`: a header comment, then the resolved model with every default filled in.
pub fn run_toml(scenario: &Scenario) -> String {
    format!(
        "# Resolved model written by tcpsim {}: every default filled in.\n# `tcpsim run run.toml` reproduces this run.\n{}",
        env!("CARGO_PKG_VERSION"),
        scenario.to_toml()
    )
}
