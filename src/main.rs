//! The `tcpsim` command line: parses arguments, calls the library, maps the outcome to an exit code
//! (0 ok, 1 a check failed, 2 error). No simulation logic lives here.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use tcpsim::Scenario;
use tcpsim::clock::format_duration;
use tcpsim::model::Dur;
use tcpsim::run::{Outputs, run_to_dir};

/// A deterministic TCP behaviour simulator: two smoltcp stacks over a scheduled WiFi link.
#[derive(Parser)]
#[command(name = "tcpsim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a model and write its outputs to a directory.
    Run {
        /// The model file (TOML).
        model: PathBuf,
        /// Override the model's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Override the model's duration (e.g. "10m", "1h").
        #[arg(long, value_parser = parse_dur)]
        duration: Option<Dur>,
        /// Output directory (default runs/<model name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an existing output directory.
        #[arg(long)]
        force: bool,
        /// Override a model field, e.g. --set client.tcp.keep_alive=70s (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Outputs to write: any of text,pcap,csv,summary, or all, or none.
        #[arg(long, default_value = "all", value_parser = Outputs::parse)]
        outputs: Outputs,
    },
    /// Analyse captures (tcpdump text, pcap, pcapng) or run directories: classify every segment
    /// and run the signature detectors.
    Analyze {
        /// Capture files or `tcpsim run` output directories.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Print {"connections": [...], "findings": [...]} as JSON.
        #[arg(long)]
        json: bool,
        /// Exit 1 unless this signature is found.
        #[arg(long, value_name = "SIGNATURE")]
        expect: Option<String>,
        /// Skip text lines that are not packets (with a warning and a count) instead of failing.
        #[arg(long)]
        lenient: bool,
    },
    /// Validate a model without running it.
    Check {
        /// The model file(s).
        #[arg(required = true)]
        models: Vec<PathBuf>,
        /// Override a model field, e.g. --set client.tcp.keep_alive=70s (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
}

fn parse_dur(s: &str) -> Result<Dur, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tcpsim: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Writes to stdout; a closed pipe is not an error.
fn out(text: &str) -> Result<()> {
    let mut so = std::io::stdout().lock();
    match so.write_all(text.as_bytes()).and_then(|_| so.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn real_main(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Analyze {
            inputs,
            json,
            expect,
            lenient,
        } => analyze(&inputs, json, expect.as_deref(), lenient),
        Command::Check { models, set } => {
            for m in models {
                let s = Scenario::load_with(&m, &set)?;
                out(&format!(
                    "{}: ok ({}, seed {}, {})\n",
                    m.display(),
                    s.name,
                    s.seed,
                    s.duration
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            model,
            seed,
            duration,
            out: dir,
            force,
            set,
            outputs,
        } => {
            let mut s = Scenario::load_with(&model, &set)?;
            if let Some(seed) = seed {
                s.seed = seed;
            }
            if let Some(d) = duration {
                s.duration = d;
                s.validate()
                    .map_err(|inv| anyhow::anyhow!("--duration: {}", inv.message))?;
            }
            let dir = dir.unwrap_or_else(|| PathBuf::from("runs").join(&s.name));
            let started = std::time::Instant::now();
            let report = run_to_dir(&s, &dir, force, outputs)
                .with_context(|| format!("running {}", model.display()))?;
            let wall = started.elapsed().as_secs_f64();
            let sum = &report.summary;
            let mut text = format!(
                "{}: seed {}, simulated {} s ({}) in {:.3} s wall ({:.0}x real time)\n",
                sum.model,
                sum.seed,
                tcpsim::clock::fmt_secs(report.end),
                sum.ended,
                wall,
                tcpsim::clock::secs(report.end) / wall.max(1e-9)
            );
            for (name, d) in [("uplink  ", &sum.uplink), ("downlink", &sum.downlink)] {
                let f = &d.frames;
                text += &format!(
                    "  {name}: {} frames ({} delivered, {} held, {} lost, {} outage-dropped, {} overflow), \
                     {} B written, {} B delivered, {} retransmissions\n",
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
            text += &format!(
                "  final states: client {}, server {}\n  outputs: {}\n",
                sum.client.final_state,
                sum.server.final_state,
                dir.display()
            );
            out(&text)?;
            let _ = format_duration;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The capture inside a run directory, or the path itself.
fn capture_path(input: &std::path::Path) -> Result<PathBuf> {
    if !input.is_dir() {
        return Ok(input.to_owned());
    }
    for name in ["trace.pcap", "trace.txt"] {
        let p = input.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    anyhow::bail!(
        "{}: a directory without trace.pcap or trace.txt (run with --outputs including pcap or text)",
        input.display()
    )
}

fn analyze(
    inputs: &[PathBuf],
    json: bool,
    expect: Option<&str>,
    lenient: bool,
) -> Result<ExitCode> {
    use tcpsim::analyze::{AnalyzeOptions, analyze_file};
    use tcpsim::capture::ImportOptions;
    if let Some(sig) = expect
        && !tcpsim::detect::signatures().any(|s| s == sig)
    {
        let known: Vec<&str> = tcpsim::detect::signatures().collect();
        anyhow::bail!(
            "--expect: unknown signature {sig:?} (known: {})",
            known.join(", ")
        );
    }
    let mut text = String::new();
    let mut all_conns = Vec::new();
    let mut all_findings = Vec::new();
    let mut found = false;
    for input in inputs {
        let path = capture_path(input)?;
        let (analysis, stats) =
            analyze_file(&path, ImportOptions { lenient }, AnalyzeOptions::default())?;
        if stats.skipped_lines > 0 {
            eprintln!(
                "tcpsim: warning: {}: skipped {} line(s) that are not packets, e.g. line {}",
                path.display(),
                stats.skipped_lines,
                stats.skipped_examples.join(" | line ")
            );
        }
        found |= expect.is_some_and(|sig| analysis.has(sig));
        let name = path.display().to_string();
        text += &format!(
            "== {name}: {} TCP packets, {} connection(s)",
            stats.packets,
            analysis.connections.len()
        );
        if stats.non_tcp > 0 {
            text += &format!(", {} non-TCP packets skipped", stats.non_tcp);
        }
        text.push('\n');
        for c in &analysis.connections {
            text += &format!(
                "connection {}: {} <-> {}, {} packets, {:.6} .. {:.6} s\n  ",
                c.index, c.a, c.b, c.packets, c.first_s, c.last_s
            );
            let classes: Vec<String> = tcpsim::analyze::CLASSES
                .iter()
                .filter_map(|k| c.classes.get(*k).map(|n| format!("{k} {n}")))
                .collect();
            text += &classes.join(", ");
            text.push('\n');
            for r in &c.retransmissions {
                text += &format!(
                    "  {} at {:.6} s from {} seq {} len {}",
                    r.kind, r.at_s, r.from, r.seq, r.len
                );
                if let Some(d) = r.since_first_s {
                    text += &format!(", {d:.3} s after first sent");
                }
                if let Some(d) = r.since_hole_s {
                    text += &format!(", {d:.3} s after the hole was seen");
                }
                text.push('\n');
            }
            for s in &c.silences {
                text += &format!(
                    "  silence: {} sent nothing for {:.3} s from {:.6} s\n",
                    s.from, s.length_s, s.start_s
                );
            }
            for f in &c.findings {
                let feats: Vec<String> = f
                    .features
                    .iter()
                    .map(|(k, v)| format!("{k}={v:.6}"))
                    .collect();
                text += &format!(
                    "  FINDING {} at {:.6} s: {}\n",
                    f.signature,
                    f.at_s,
                    feats.join(", ")
                );
            }
        }
        if json {
            for c in analysis.connections {
                let mut v = serde_json::to_value(&c)?;
                v["capture"] = serde_json::Value::String(name.clone());
                all_conns.push(v);
            }
            for f in analysis.findings {
                let mut v = serde_json::to_value(&f)?;
                v["capture"] = serde_json::Value::String(name.clone());
                all_findings.push(v);
            }
        }
    }
    if json {
        let doc = serde_json::json!({ "connections": all_conns, "findings": all_findings });
        out(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
    } else {
        out(&text)?;
    }
    Ok(if expect.is_some() && !found {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
