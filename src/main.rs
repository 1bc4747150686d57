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
        /// Outputs to write: any of text,pcap,csv,summary, or all, or none.
        #[arg(long, default_value = "all", value_parser = Outputs::parse)]
        outputs: Outputs,
    },
    /// Validate a model without running it.
    Check {
        /// The model file(s).
        #[arg(required = true)]
        models: Vec<PathBuf>,
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
        Command::Check { models } => {
            for m in models {
                let s = Scenario::load(&m)?;
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
            outputs,
        } => {
            let mut s = Scenario::load(&model)?;
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
