//! `tcpsim run`'s job as a library function: simulate a scenario and write its output directory.
//!
//! Guarantees: outputs stream to disk while the simulation runs (memory stays flat); they are
//! written into a hidden temporary directory beside the destination and renamed into place only
//! when complete, so a failed or interrupted run never leaves a half-written output directory; an
//! existing destination is refused unless `force` is set, and even then only a previous tcpsim
//! output directory (one holding `run.toml`) or an empty directory is replaced.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use crate::analyze::{AnalysisSink, AnalyzeOptions};
use crate::model::{ModelError, Scenario};
use crate::sim::{Report, Sim, SimError};
use crate::trace::csv::{EventsCsv, PacketsCsv};
use crate::trace::pcap::PcapWriter;
use crate::trace::text::TextWriter;

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
    /// `timeline.svg` (keeps the whole trace in memory for the plot; not part of `all`).
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
    /// A message naming the unknown item.
    pub fn parse(list: &str) -> Result<Outputs, String> {
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
                other => {
                    return Err(format!(
                        "unknown output {other:?}: choose from text, pcap, csv, summary, all, none"
                    ));
                }
            }
        }
        Ok(o)
    }
}

/// What went wrong writing a run directory.
#[derive(Debug)]
pub enum RunError {
    /// The destination exists and `force` was not given.
    Exists(PathBuf),
    /// The destination exists but does not look like a tcpsim output directory.
    NotOurs(PathBuf),
    /// A file could not be written.
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        err: io::Error,
    },
    /// The scenario is invalid.
    Model(ModelError),
    /// The simulation failed.
    Sim(SimError),
    /// The timeline could not be drawn.
    Plot(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Exists(p) => write!(
                f,
                "{} already exists (use --force to replace it)",
                p.display()
            ),
            RunError::NotOurs(p) => write!(
                f,
                "{} exists and is not a tcpsim output directory (no run.toml); refusing to replace it",
                p.display()
            ),
            RunError::Io { path, err } => write!(f, "{}: {err}", path.display()),
            RunError::Model(e) => e.fmt(f),
            RunError::Sim(e) => e.fmt(f),
            RunError::Plot(e) => write!(f, "drawing timeline.svg: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

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

/// Simulates `scenario` and writes the chosen outputs into directory `out`.
///
/// # Errors
/// [`RunError`]; on error nothing is left at `out` (an existing directory is kept as it was).
pub fn run_to_dir(
    scenario: &Scenario,
    out: &Path,
    force: bool,
    outputs: Outputs,
) -> Result<Report, RunError> {
    if out.exists() {
        if !force {
            return Err(RunError::Exists(out.to_owned()));
        }
        let empty = fs::read_dir(out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !out.is_dir() || !(empty || out.join("run.toml").is_file()) {
            return Err(RunError::NotOurs(out.to_owned()));
        }
    }
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_at(&parent))?;
    let tmp = parent.join(format!(".{name}.partial"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_at(&tmp))?;
    }
    fs::create_dir(&tmp).map_err(io_at(&tmp))?;
    let result = write_all(scenario, &tmp, outputs);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if out.exists() {
        fs::remove_dir_all(out).map_err(io_at(out))?;
    }
    fs::rename(&tmp, out).map_err(io_at(out))?;
    Ok(report)
}

fn write_all(scenario: &Scenario, dir: &Path, o: Outputs) -> Result<Report, RunError> {
    let toml_path = dir.join("run.toml");
    fs::write(&toml_path, run_toml(scenario)).map_err(io_at(&toml_path))?;
    let mut sim = Sim::new(scenario).map_err(RunError::Model)?;
    let point = scenario.capture;
    if o.text {
        sim.add_sink(Box::new(TextWriter::new(
            create(&dir.join("trace.txt"))?,
            point,
        )));
    }
    if o.pcap {
        let p = dir.join("trace.pcap");
        sim.add_sink(Box::new(
            PcapWriter::new(create(&p)?, point).map_err(io_at(&p))?,
        ));
    }
    if o.csv {
        let p = dir.join("packets.csv");
        sim.add_sink(Box::new(
            PacketsCsv::new(create(&p)?, point).map_err(io_at(&p))?,
        ));
        let p = dir.join("events.csv");
        sim.add_sink(Box::new(EventsCsv::new(create(&p)?).map_err(io_at(&p))?));
    }
    let analysis = o.summary.then(|| {
        let sink = AnalysisSink::new(point, AnalyzeOptions::default());
        let result = sink.result();
        sim.add_sink(Box::new(sink));
        result
    });
    let trace = o.plot.then(|| {
        let sink = crate::sim::SharedTrace::default();
        sim.add_sink(Box::new(sink.clone()));
        sink
    });
    let mut report = sim.run().map_err(|e| match e {
        SimError::Io(err) => RunError::Io {
            path: dir.to_owned(),
            err,
        },
        e => RunError::Sim(e),
    })?;
    if let Some(a) = analysis.and_then(|r| r.borrow_mut().take()) {
        report.summary.findings = a.findings;
    }
    if let Some(trace) = trace {
        let svg = crate::plot::timeline(
            &trace.take(),
            point,
            &crate::plot::PlotOptions::new(&scenario.name),
        )
        .map_err(|e| RunError::Plot(e.to_string()))?;
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
