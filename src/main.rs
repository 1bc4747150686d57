//! The `tcpsim` command line: parses arguments (`cli.rs`, clap), resolves them into library types,
//! calls the library, prints its reports ([`tcpsim::report`]) and maps the outcome to an exit code
//! (0 ok, 1 a check failed, 2 error; a closed stdout pipe is not an error). No simulation logic and
//! no report formatting live here; the wall clock is read only here, to time runs and searches.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

mod cli;

use cli::{
    AnalyzeArgs, CheckArgs, Cli, Command, MitigateArgs, PlotArgs, RunArgs, SearchArgs, SweepArgs,
    TestArgs,
};
use tcpsim::{Scenario, fsio, report};

fn main() -> ExitCode {
    // smoltcp logs through `log`: RUST_LOG=debug shows the stacks' own view.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("off")).init();
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        let _ = e.print();
        std::process::exit(if e.use_stderr() { 2 } else { 0 })
    });
    // Interrupted (SIGINT, SIGTERM): no half-written output directory is left behind.
    let _ = ctrlc::set_handler(|| {
        tcpsim::run::remove_partial_dirs();
        std::process::exit(130)
    });
    let outcome = match cli.command {
        Command::Run(a) => run(a),
        Command::Analyze(a) => analyze(a),
        Command::Search(a) => search(a),
        Command::Sweep(a) => sweep(a),
        Command::Mitigate(a) => mitigate(a),
        Command::Plot(a) => plot(a),
        Command::Check(a) => check(a),
        Command::Test(a) => test(a),
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("tcpsim: error: {e:#}");
        ExitCode::from(2)
    })
}

/// Writes to stdout; a closed pipe is not an error.
fn out(text: &str) -> Result<()> {
    let mut so = std::io::stdout().lock();
    match so.write_all(text.as_bytes()).and_then(|_| so.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn check(a: CheckArgs) -> Result<ExitCode> {
    for m in &a.models {
        out(&report::check_line(m, &Scenario::load_with(m, &a.set)?))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn test(a: TestArgs) -> Result<ExitCode> {
    use tcpsim::expect::{TestOptions, model_files, properties};
    let files = model_files(&a.models)?;
    let cases = properties(&files)?;
    let opts = TestOptions {
        cases: a.cases,
        seed: a.seed,
        threads: tcpsim::search::sweep::threads(a.jobs),
        ..TestOptions::new()
    };
    tcpsim::expect::check_outputs(&cases, &opts, a.junit.as_deref(), &files)?;
    let results = tcpsim::expect::run(&cases, &opts);
    // New counterexamples are written; a saved one that still fails is left as it is.
    let written = results
        .iter()
        .filter_map(|r| r.failure.as_ref().filter(|f| !f.saved));
    let junit = a.junit.iter().map(|path| (path, report::junit(&results)));
    for (path, text) in written.map(|f| (&f.file, f.file_text.clone())).chain(junit) {
        fsio::ensure_not_input(path, &files)?;
        fsio::create_parent_dir(path)?;
        fsio::write_atomic(path, text.as_bytes())?;
    }
    let text: String = results.iter().map(report::test_result).collect();
    out(&(text + &report::test_totals(&results)))?;
    Ok(ExitCode::from(tcpsim::expect::exit_code(&results)))
}

fn run(a: RunArgs) -> Result<ExitCode> {
    let mut s = Scenario::load_with(&a.model, &a.set)?;
    if let Some(seed) = a.seed {
        s.seed = seed;
    }
    if let Some(d) = a.duration {
        s.duration = d;
        s.validate()
            .map_err(|inv| anyhow::anyhow!("--duration: {}", inv.message))?;
    }
    let dir = a.out.unwrap_or_else(|| PathBuf::from("runs").join(&s.name));
    fsio::ensure_dir_not_input(&dir, &[&a.model])?; // `run R/run.toml --out R --force`
    let outputs = tcpsim::run::Outputs {
        plot: a.plot,
        ..a.outputs
    };
    let started = Instant::now();
    let report = tcpsim::run::run_to_dir(&s, &dir, a.force, outputs)
        .with_context(|| format!("running {}", a.model.display()))?;
    let wall = started.elapsed().as_secs_f64();
    out(&report::run_summary(&report, &dir, wall))?;
    Ok(ExitCode::SUCCESS)
}

fn analyze(a: AnalyzeArgs) -> Result<ExitCode> {
    use tcpsim::analyze::AnalyzeOptions;
    if let Some(sig) = &a.expect {
        tcpsim::search::check_signature(sig).context("--expect")?;
    }
    let import = tcpsim::capture::ImportOptions { lenient: a.lenient };
    let mut report = tcpsim::analyze_output::AnalyzeOutput::new(a.json)?;
    for input in &a.inputs {
        let path = fsio::capture_in(input)?;
        let name = path.display().to_string();
        let stats = report.add_capture(&path, &name, import, AnalyzeOptions::default())?;
        if let Some(warning) = report::skipped_lines_warning(&path, &stats) {
            eprint!("{warning}");
        }
    }
    let found = (a.expect.as_deref()).is_none_or(|sig| report.has(sig));
    let mut so = std::io::stdout().lock();
    match report.finish(&mut so).and_then(|_| so.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(if found {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A progress bar of runs on stderr, drawn only when stderr is a terminal (hidden otherwise).
fn progress_bar() -> ProgressBar {
    let style = ProgressStyle::with_template("[{bar:40}] {pos} runs")
        .expect("a valid progress template")
        .progress_chars("#.");
    ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(style)
}

/// Shows `done` runs of `total` on `bar`.
fn show_progress(bar: &ProgressBar, done: u64, total: u64) {
    bar.set_length(total);
    bar.set_position(done);
}

fn search(a: SearchArgs) -> Result<ExitCode> {
    use tcpsim::search::{reproducer_toml, target_from_capture};
    let mut opts = a.options()?;
    let base = Scenario::load(&a.model)?;
    tcpsim::search::check_signature(&a.target)?;
    let (path, plot) = a.outputs(&base.name);
    let inputs = [&a.model, a.matching.as_ref().unwrap_or(&a.model)];
    // Checked before the search (no minutes lost to a refusal) and again before writing.
    for p in std::iter::once(&path).chain(&plot) {
        fsio::ensure_output_file(p, &inputs, a.force)?;
    }
    if let Some(c) = &a.matching {
        opts.matching = Some(target_from_capture(c, &a.target)?);
    }
    let bar = progress_bar();
    let started = Instant::now();
    let outcome = tcpsim::search::search(&base, &opts, &mut |d, t| show_progress(&bar, d, t))?;
    let wall = started.elapsed().as_secs_f64();
    bar.abandon();
    let found = (outcome.found.as_ref()).filter(|_| outcome.meets(a.min_rate));
    let text = found.map(|f| reproducer_toml(f, &opts, &outcome));
    if let Some(text) = &text {
        fsio::ensure_output_file(&path, &inputs, a.force)?;
        fsio::create_parent_dir(&path)?;
        fsio::write_atomic(&path, text.as_bytes())?;
        if let (Some(p), Some(f), Some(c)) = (&plot, found, &a.matching) {
            let opts = tcpsim::plot::PlotOptions::new("search");
            let name = path.display().to_string();
            let svg = tcpsim::compare::plot_model(c, &f.scenario, &name, Some(&a.target), &opts)?;
            fsio::ensure_output_file(p, &inputs, a.force)?;
            fsio::write_atomic(p, svg.as_bytes())?;
            eprintln!("plot: {}", p.display());
        }
    }
    let written = text.as_deref().map(|t| (path.as_path(), t));
    out(&report::search_report(
        &outcome, &opts, written, a.json, wall,
    ))?;
    Ok(if text.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn sweep(a: SweepArgs) -> Result<ExitCode> {
    use tcpsim::search::sweep::{Shard, Sweep, SweepError, parse_param};
    let params = (a.params.iter().map(|p| parse_param(p))).collect::<Result<Vec<_>, _>>()?;
    let shard =
        (a.shard.as_deref().map(Shard::parse).transpose())?.unwrap_or(Shard { index: 1, count: 1 });
    tcpsim::search::sweep::check_seeds(a.seeds)?;
    let text = Scenario::load_text(&a.model)?.1;
    let sweep = Sweep {
        text: &text,
        path: &a.model,
        params: &params,
        seeds: a.seeds,
        shard,
        threads: tcpsim::search::sweep::threads(a.jobs),
    };
    let bar = progress_bar();
    let show = |d: usize, t: usize| show_progress(&bar, d as u64, t as u64);
    match &a.out {
        Some(path) => {
            fsio::ensure_output_file(path, &[&a.model], a.force)?;
            fsio::write_atomic_with(path, |w| sweep.run_to(w, &show)).map_err(|e| match e {
                fsio::AtomicWriteError::Fs(e) => anyhow::Error::from(e),
                fsio::AtomicWriteError::Producer(e) => e.into(),
            })?;
        }
        // A reader that went away (`| head`) ends the sweep quietly.
        None => match sweep.run_to(&mut std::io::stdout().lock(), &show) {
            Err(SweepError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            r => r?,
        },
    }
    bar.abandon();
    Ok(ExitCode::SUCCESS)
}

fn mitigate(a: MitigateArgs) -> Result<ExitCode> {
    tcpsim::search::check_signature(&a.target)?;
    tcpsim::search::sweep::check_seeds(a.seeds)?;
    let text = Scenario::load_text(&a.model)?.1;
    let threads = tcpsim::search::sweep::threads(a.jobs);
    let rows = tcpsim::search::mitigate::mitigate(
        &text,
        &a.model,
        &a.target,
        (&a.set, &a.candidates),
        a.seeds,
        threads,
    )?;
    out(&if a.json {
        report::json_document(&rows)?
    } else {
        report::mitigate_table(&rows, &a.target)
    })?;
    Ok(ExitCode::SUCCESS)
}

fn plot(a: PlotArgs) -> Result<ExitCode> {
    use tcpsim::plot::{PlotOptions, TimelineSink};
    let input = a.input.as_path();
    let title = input.file_name().map_or_else(
        || input.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut opts = PlotOptions::new(&title);
    (opts.from, opts.to, opts.conn, opts.lenient) = (a.from, a.to, a.conn, a.lenient);
    let path = a
        .out
        .unwrap_or_else(|| fsio::plot_path(input, a.with.is_some()));
    let inputs = [input, a.with.as_deref().unwrap_or(input)];
    fsio::ensure_not_input(&path, &inputs)?; // before drawing, and again before writing
    let svg = if let Some(with) = &a.with {
        tcpsim::compare::plot_with(input, with, a.target.as_deref(), &opts)?
    } else if input.is_dir() {
        // A run directory: re-simulate its resolved model (deterministic), thinned as it runs.
        let s = Scenario::load(&input.join("run.toml"))
            .with_context(|| format!("{}: not a tcpsim run directory", input.display()))?;
        let mut sink = TimelineSink::new(s.capture, 0).window(a.from, a.to);
        tcpsim::simulate(&s, &mut sink, tcpsim::Analyse::No)?;
        opts.title = s.name.clone();
        sink.draw(&opts)?
    } else {
        let (svg, stats) = tcpsim::plot::plot_file(input, &opts, a.target.as_deref())?;
        if let Some(w) = stats.and_then(|st| report::skipped_lines_warning(input, &st)) {
            eprint!("{w}");
        }
        svg
    };
    fsio::ensure_not_input(&path, &inputs)?;
    fsio::create_parent_dir(&path)?;
    fsio::write_atomic(&path, svg.as_bytes())?;
    out(&format!("wrote {}\n", path.display()))?;
    Ok(ExitCode::SUCCESS)
}
