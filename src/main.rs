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
        /// Also write timeline.svg (keeps the trace in memory for the plot).
        #[arg(long)]
        plot: bool,
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
    /// Search the model's parameter space for conditions that reproduce a signature (optionally
    /// matching a capture's features), shrink the reproducer, and write it as a model file.
    Search {
        /// The model to search around (its [search] table narrows or widens the ranges).
        model: PathBuf,
        /// The signature to reproduce.
        #[arg(long)]
        target: String,
        /// A capture whose finding's features the reproducer must match.
        #[arg(long = "match", value_name = "CAPTURE")]
        matching: Option<PathBuf>,
        /// Relative tolerance of a feature match (the absolute floor is 0.5).
        #[arg(long, default_value_t = 0.25)]
        tolerance: f64,
        /// Cases to try.
        #[arg(long, default_value_t = 500)]
        cases: u32,
        /// Seed of the search (same seed, same result).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Where to write the reproducer (default runs/<model>-<signature>.toml).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a grid of parameter values × K seeds on all cores; a CSV row per run and per cell.
    Sweep {
        /// The model.
        model: PathBuf,
        /// NAME=FROM..TO:STEPS, e.g. server.idle_timeout=5s..30s:6 (repeatable; the grid is the product).
        #[arg(long = "param", value_name = "NAME=FROM..TO:STEPS", required = true)]
        params: Vec<String>,
        /// Seeds per cell (the model's seed, +1, ...).
        #[arg(long, default_value_t = 1)]
        seeds: u32,
        /// CSV output (default stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run only shard I of N (1-based), a contiguous block of cells; shard CSVs concatenate.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Threads (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// How often a signature still occurs under candidate changes, across K seeds.
    Mitigate {
        /// The model.
        model: PathBuf,
        /// The signature.
        #[arg(long)]
        target: String,
        /// A candidate change: KEY=VALUE, several joined with ';' (repeatable).
        #[arg(long = "try", value_name = "KEY=VALUE", required = true)]
        candidates: Vec<String>,
        /// Seeds per candidate.
        #[arg(long, default_value_t = 10)]
        seeds: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Threads (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Draw a timeline (SVG) of a run directory or a capture, or a heatmap of a sweep CSV.
    Plot {
        /// A `tcpsim run` directory, a capture (tcpdump text, pcap, pcapng) or a sweep CSV.
        input: PathBuf,
        /// Output SVG (default: RUN_DIR/timeline.svg, or the input with .svg).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Start of the time window, in seconds.
        #[arg(long)]
        from: Option<f64>,
        /// End of the time window, in seconds.
        #[arg(long)]
        to: Option<f64>,
        /// Which connection of a capture (0 = the first).
        #[arg(long, default_value_t = 0)]
        conn: usize,
        /// For a sweep CSV: the signature whose rate to show.
        #[arg(long)]
        target: Option<String>,
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

fn parse_dur(s: &str) -> Result<Dur, tcpsim::clock::DurationError> {
    s.parse()
}

fn main() -> ExitCode {
    // smoltcp logs through `log`: RUST_LOG=debug shows the stacks' own view.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("off")).init();
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
        Command::Plot {
            input,
            out: svg_out,
            from,
            to,
            conn,
            target,
        } => plot(&input, svg_out, from, to, conn, target.as_deref()),
        Command::Sweep {
            model,
            params,
            seeds,
            out: csv_out,
            shard,
            jobs,
        } => sweep(&model, &params, seeds, csv_out, shard.as_deref(), jobs),
        Command::Mitigate {
            model,
            target,
            candidates,
            seeds,
            json,
            jobs,
        } => mitigate(&model, &target, &candidates, seeds, json, jobs),
        Command::Search {
            model,
            target,
            matching,
            tolerance,
            cases,
            seed,
            out,
        } => search(
            &model,
            &target,
            matching.as_deref(),
            tolerance,
            cases,
            seed,
            out,
        ),
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
            plot: with_plot,
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
            let outputs = Outputs {
                plot: with_plot,
                ..outputs
            };
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

/// A progress bar on stderr when it is a terminal; nothing otherwise.
fn progress_bar() -> impl FnMut(u64, u64) {
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    move |done, total| {
        if tty && (done % 5 == 0 || done == total) {
            let width = 40;
            let filled = ((done.min(total) * width) / total.max(1)) as usize;
            eprint!(
                "\r[{}{}] {done} runs",
                "#".repeat(filled),
                ".".repeat(width as usize - filled)
            );
        }
    }
}

fn search(
    model: &std::path::Path,
    target: &str,
    matching: Option<&std::path::Path>,
    tolerance: f64,
    cases: u32,
    seed: u64,
    out_path: Option<PathBuf>,
) -> Result<ExitCode> {
    use tcpsim::search::{SearchOptions, reproducer_toml, search, target_from_capture};
    if !(tolerance >= 0.0 && tolerance.is_finite()) {
        anyhow::bail!("--tolerance: {tolerance} must be a non-negative number");
    }
    let base = Scenario::load(model)?;
    tcpsim::search::check_signature(target)?;
    let mut opts = SearchOptions::new(target);
    opts.cases = cases;
    opts.seed = seed;
    opts.tolerance = tolerance;
    if let Some(c) = matching {
        opts.matching = Some(target_from_capture(c, target)?);
    }
    let started = std::time::Instant::now();
    let outcome = search(&base, &opts, &mut progress_bar())?;
    let wall = started.elapsed().as_secs_f64();
    {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            eprintln!();
        }
    }
    let Some(found) = &outcome.found else {
        out(&format!(
            "no {target} reproducer in {} case(s) ({wall:.1} s); widen the model's [search] ranges or try more --cases\n",
            outcome.cases
        ))?;
        return Ok(ExitCode::from(1));
    };
    let text = reproducer_toml(found, &opts, &outcome);
    let path = out_path
        .unwrap_or_else(|| PathBuf::from("runs").join(format!("{}-{target}.toml", base.name)));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("toml.partial");
    std::fs::write(&tmp, &text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    let mut report = format!(
        "found {target} after {} case(s), shrunk in {} run(s), {wall:.1} s; reproducer: {}\n\n{}\n",
        outcome.cases,
        outcome.shrink_runs,
        path.display(),
        text
    );
    report += &format!("{:<40} {:>14} {:>14}\n", "feature", "reproducer", "target");
    for (k, v) in &found.finding.features {
        let want = opts
            .matching
            .as_ref()
            .and_then(|t| t.features.get(k))
            .map_or("-".to_string(), |w| format!("{w:.6}"));
        report += &format!("{k:<40} {v:>14.6} {want:>14}\n");
    }
    out(&report)?;
    Ok(ExitCode::SUCCESS)
}

fn threads(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

fn read_model(model: &std::path::Path) -> Result<String> {
    // Validate the file itself first, so its errors carry file:line:col.
    Scenario::load(model)?;
    std::fs::read_to_string(model).with_context(|| format!("reading {}", model.display()))
}

fn sweep(
    model: &std::path::Path,
    params: &[String],
    seeds: u32,
    csv_out: Option<PathBuf>,
    shard: Option<&str>,
    jobs: Option<usize>,
) -> Result<ExitCode> {
    use tcpsim::search::sweep::{Shard, Sweep, parse_param};
    let params = params
        .iter()
        .map(|p| parse_param(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let shard = shard
        .map(Shard::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?
        .unwrap_or(Shard { index: 1, count: 1 });
    if seeds == 0 {
        anyhow::bail!("--seeds must be at least 1");
    }
    let text = read_model(model)?;
    let sweep = Sweep {
        text: &text,
        path: model,
        params: &params,
        seeds,
        shard,
        threads: threads(jobs),
    };
    let bar = std::sync::Mutex::new(progress_bar());
    let csv =
        sweep.run(&|done, total| (bar.lock().expect("progress"))(done as u64, total as u64))?;
    {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            eprintln!();
        }
    }
    match csv_out {
        Some(path) => {
            let tmp = path.with_extension("csv.partial");
            std::fs::write(&tmp, &csv).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        }
        None => out(&csv)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn mitigate(
    model: &std::path::Path,
    target: &str,
    candidates: &[String],
    seeds: u32,
    json: bool,
    jobs: Option<usize>,
) -> Result<ExitCode> {
    tcpsim::search::check_signature(target)?;
    if seeds == 0 {
        anyhow::bail!("--seeds must be at least 1");
    }
    let text = read_model(model)?;
    let rows =
        tcpsim::search::mitigate::mitigate(&text, model, target, candidates, seeds, threads(jobs))?;
    if json {
        out(&(serde_json::to_string_pretty(&rows)? + "\n"))?;
    } else {
        let width = rows
            .iter()
            .map(|r| r.candidate.len())
            .max()
            .unwrap_or(10)
            .max(10);
        let mut t = format!(
            "{:<width$}  {:>5}  {:>6}  {:>6}\n",
            "candidate", "runs", target, "rate"
        );
        for r in &rows {
            t += &format!(
                "{:<width$}  {:>5}  {:>6}  {:>5.0}%\n",
                r.candidate,
                r.runs,
                r.occurrences,
                r.rate * 100.0
            );
            if r.errors > 0 {
                t += &format!("{:<width$}  ({} run(s) failed: livelock)\n", "", r.errors);
            }
        }
        out(&t)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a file through a temporary name, so a failure never leaves half a file.
fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn plot(
    input: &std::path::Path,
    svg_out: Option<PathBuf>,
    from: Option<f64>,
    to: Option<f64>,
    conn: usize,
    target: Option<&str>,
) -> Result<ExitCode> {
    use tcpsim::plot::{PlotOptions, heatmap, timeline};
    let title = input.file_name().map_or_else(
        || input.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let (svg, default_out) = if input.is_dir() {
        // A run directory: re-simulate its resolved model (deterministic) for the full trace.
        let model = input.join("run.toml");
        let s = Scenario::load(&model)
            .with_context(|| format!("{}: not a tcpsim run directory", input.display()))?;
        let (trace, _) = tcpsim::run::run_trace(&s)?;
        let mut opts = PlotOptions::new(&s.name);
        opts.from = from;
        opts.to = to;
        (
            timeline(&trace, s.capture, &opts)?,
            input.join("timeline.svg"),
        )
    } else {
        let head = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
        if head.starts_with(b"kind,cell,run,seed") {
            let text = String::from_utf8(head)
                .with_context(|| format!("{}: not UTF-8", input.display()))?;
            (heatmap(&text, target, &title)?, input.with_extension("svg"))
        } else {
            let (trace, _) = tcpsim::capture::import_trace(input, Default::default())?;
            let mut opts = PlotOptions::new(&title);
            opts.from = from;
            opts.to = to;
            opts.conn = conn;
            (
                timeline(&trace, tcpsim::model::CapturePoint::Server, &opts)?,
                input.with_extension("svg"),
            )
        }
    };
    let path = svg_out.unwrap_or(default_out);
    write_atomic(&path, svg.as_bytes())?;
    out(&format!("wrote {}\n", path.display()))?;
    Ok(ExitCode::SUCCESS)
}
