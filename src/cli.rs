//! The command line's arguments: the clap definitions of `tcpsim` and its subcommands, parsed by
//! `main.rs` (which resolves them into library types, calls the library and maps the outcome to an
//! exit code).
//!
//! Guarantees: the doc comments below are the `--help` text, so they say what each argument means
//! to a user; parsing only checks syntax (a duration, an outputs list), never reads a file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use tcpsim::capture::TimeArg;
use tcpsim::model::Dur;
use tcpsim::run::Outputs;

/// A deterministic TCP behaviour simulator: two smoltcp stacks over a scheduled WiFi link.
#[derive(Debug, Parser)]
#[command(name = "tcpsim", version, about)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate a model and write its outputs to a directory.
    Run(RunArgs),
    /// Analyse captures (tcpdump text, pcap, pcapng) or run directories: classify every segment
    /// and run the signature detectors.
    Analyze(AnalyzeArgs),
    /// Search the model's parameter space for conditions that reproduce a signature (optionally
    /// matching a capture's features), shrink the reproducer, and write it as a model file.
    Search(SearchArgs),
    /// Run a grid of parameter values × K seeds on all cores; a CSV row per run and per cell.
    Sweep(SweepArgs),
    /// How often a signature still occurs under candidate changes, across K seeds.
    Mitigate(MitigateArgs),
    /// Draw a timeline (SVG) of a run directory or a capture, or a heatmap of a sweep CSV.
    Plot(PlotArgs),
    /// Validate a model without running it.
    Check(CheckArgs),
    /// Check the [[expect]] properties of models over their [search] space (exit 1 when one
    /// fails); write counterexamples under tcpsim-test/ and, optionally, a JUnit XML report.
    Test(TestArgs),
}

/// The arguments of `tcpsim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The model file (TOML).
    pub model: PathBuf,
    /// Override the model's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the model's duration (e.g. "10m", "1h").
    #[arg(long, value_parser = parse_dur)]
    pub duration: Option<Dur>,
    /// Output directory (default runs/<model name>).
    #[arg(long, value_parser = out_path)]
    pub out: Option<PathBuf>,
    /// Replace an existing output directory.
    #[arg(long)]
    pub force: bool,
    /// Override a model field, e.g. --set client.tcp.keep_alive=70s (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Outputs to write: any of text,pcap,csv,summary, or all, or none.
    #[arg(long, default_value = "all", value_parser = Outputs::parse)]
    pub outputs: Outputs,
    /// Also write timeline.svg (keeps the trace in memory for the plot).
    #[arg(long)]
    pub plot: bool,
}

/// The arguments of `tcpsim analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Capture files or `tcpsim run` output directories.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Print {"connections": [...], "findings": [...]} as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 unless this signature is found.
    #[arg(long, value_name = "SIGNATURE")]
    pub expect: Option<String>,
    /// Skip text lines that are not packets (with a warning and a count) instead of failing.
    #[arg(long)]
    pub lenient: bool,
}

/// The arguments of `tcpsim search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The model to search around (its [search] table narrows or widens the ranges).
    pub model: PathBuf,
    /// The signature to reproduce.
    #[arg(long)]
    pub target: String,
    /// A capture whose finding's features the reproducer must match.
    #[arg(long = "match", value_name = "CAPTURE")]
    pub matching: Option<PathBuf>,
    /// Relative tolerance of a timing feature's match (yes/no features and counts match exactly,
    /// bounds as bounds).
    #[arg(long, default_value_t = 0.05)]
    pub tolerance: f64,
    /// Absolute floor of a timing feature's tolerance, in seconds (the larger of the two applies).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.1)]
    pub floor: f64,
    /// Cases to generate before refining.
    #[arg(long, default_value_t = 500)]
    pub cases: u32,
    /// With --match: most simulations refining the closest case towards the capture.
    #[arg(long, value_name = "RUNS", default_value_t = 1000)]
    pub refine: u32,
    /// Worker threads of the refinement (default: every core; the result does not depend on it).
    #[arg(short, long, value_parser = tcpsim::search::sweep::parse_jobs)]
    pub jobs: Option<usize>,
    /// With --match: run the reproducer with this many seeds (its own, +1, ...) and report how
    /// often it matches; 0 skips it.
    #[arg(long, value_name = "K", default_value_t = 10)]
    pub seeds: u32,
    /// With --match: the least fraction of those seeds that must match, else no reproducer (exit 1).
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub min_rate: f64,
    /// Print the result as JSON (features compared, nearest miss, robustness, ranges at their ends).
    #[arg(long)]
    pub json: bool,
    /// With --match: also draw the capture above the reproducer, aligned at the FIN, beside the
    /// reproducer (its path with .compare.svg).
    #[arg(long)]
    pub plot: bool,
    /// Seed of the search (same seed, same result).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the reproducer (default runs/<model>-<signature>.toml).
    #[arg(long, value_parser = out_path)]
    pub out: Option<PathBuf>,
    /// Replace the output file if it exists (never an input).
    #[arg(long)]
    pub force: bool,
}

impl SearchArgs {
    /// Where the reproducer goes (`--out`, default `runs/<model>-<signature>.toml`) and, with
    /// `--plot` and `--match`, its comparison plot (beside it, `.compare.svg`).
    pub fn outputs(&self, model_name: &str) -> (PathBuf, Option<PathBuf>) {
        let path = (self.out.clone()).unwrap_or_else(|| {
            PathBuf::from("runs").join(format!("{model_name}-{}.toml", self.target))
        });
        let plot =
            (self.plot && self.matching.is_some()).then(|| path.with_extension("compare.svg"));
        (path, plot)
    }

    /// The search options these arguments ask for (the target capture is read later).
    ///
    /// # Errors
    /// A tolerance, floor or rate out of range, or too many seeds.
    pub fn options(&self) -> anyhow::Result<tcpsim::search::SearchOptions> {
        for (flag, v) in [("--tolerance", self.tolerance), ("--floor", self.floor)] {
            if !(v >= 0.0 && v.is_finite()) {
                anyhow::bail!("{flag}: {v} must be a non-negative number");
            }
        }
        if !(0.0..=1.0).contains(&self.min_rate) {
            anyhow::bail!(
                "--min-rate: {} must be a fraction from 0 to 1",
                self.min_rate
            );
        }
        if self.min_rate > 0.0 && self.seeds == 0 {
            anyhow::bail!("--min-rate needs seeds to measure the rate over (--seeds is 0)");
        }
        if self.tolerance == 0.0 && self.floor == 0.0 {
            anyhow::bail!("--tolerance and --floor are both 0: no time could ever match");
        }
        if self.plot && self.matching.is_none() {
            anyhow::bail!("--plot draws the capture against the reproducer: it needs --match");
        }
        tcpsim::search::sweep::check_seeds(self.seeds.max(1))?;
        let mut opts = tcpsim::search::SearchOptions::new(&self.target);
        opts.cases = self.cases;
        opts.seed = self.seed;
        opts.tolerance = self.tolerance;
        opts.min_tolerance = self.floor;
        opts.refine = self.refine;
        opts.threads = tcpsim::search::sweep::threads(self.jobs);
        (opts.seeds, opts.min_rate) = (self.seeds, self.min_rate);
        Ok(opts)
    }
}

/// The arguments of `tcpsim sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The model.
    pub model: PathBuf,
    /// NAME=FROM..TO:STEPS, e.g. server.idle_timeout=5s..30s:6 (repeatable; the grid is the product).
    #[arg(long = "param", value_name = "NAME=FROM..TO:STEPS", required = true)]
    pub params: Vec<String>,
    /// Seeds per cell (the model's seed, +1, ...).
    #[arg(long, default_value_t = 1)]
    pub seeds: u32,
    /// CSV output (default stdout).
    #[arg(long, value_parser = out_path)]
    pub out: Option<PathBuf>,
    /// Replace the output file if it exists (never an input).
    #[arg(long)]
    pub force: bool,
    /// Run only shard I of N (1-based), a contiguous block of cells; shard CSVs concatenate.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Threads (default: all cores).
    #[arg(long, value_parser = tcpsim::search::sweep::parse_jobs)]
    pub jobs: Option<usize>,
}

/// The arguments of `tcpsim mitigate`.
#[derive(Debug, Args)]
pub struct MitigateArgs {
    /// The model.
    pub model: PathBuf,
    /// The signature.
    #[arg(long)]
    pub target: String,
    /// A candidate change: KEY=VALUE, several joined with ';' (repeatable).
    #[arg(long = "try", value_name = "KEY=VALUE", required = true)]
    pub candidates: Vec<String>,
    /// Override a field of the base model, for the unchanged run and every candidate
    /// (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Seeds per candidate.
    #[arg(long, default_value_t = 10)]
    pub seeds: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Threads (default: all cores).
    #[arg(long, value_parser = tcpsim::search::sweep::parse_jobs)]
    pub jobs: Option<usize>,
}

/// The arguments of `tcpsim plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A `tcpsim run` directory, a capture (tcpdump text, pcap, pcapng) or a sweep CSV.
    pub input: PathBuf,
    /// Output SVG (default: RUN_DIR/timeline.svg, or the input with .svg; never the input itself).
    #[arg(long, value_parser = out_path)]
    pub out: Option<PathBuf>,
    /// Start of the time window: seconds of a run or since a capture's first packet (12.5), a
    /// capture's time of day (13:52:30.25) or date and time ("2026-11-21 13:52:30").
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub from: Option<TimeArg>,
    /// End of the time window, in the same forms as --from.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub to: Option<TimeArg>,
    /// For a text capture: skip lines that are not packets (counted and reported) instead of
    /// failing.
    #[arg(long)]
    pub lenient: bool,
    /// Which connection of a capture (0 = the first).
    #[arg(long, default_value_t = 0)]
    pub conn: usize,
    /// For a sweep CSV: the signature whose rate to show; with --with: the finding whose features
    /// the table compares (default: the first finding).
    #[arg(long)]
    pub target: Option<String>,
    /// Draw the capture above this reproducer (a `tcpsim run` directory, re-simulated, or another
    /// capture) on one time axis, aligned at their first FINs, with both findings' features
    /// (default output: the capture with .compare.svg). --from/--to are then seconds from the FIN.
    #[arg(long, value_name = "RUN_DIR")]
    pub with: Option<PathBuf>,
}

/// The arguments of `tcpsim check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The model file(s).
    #[arg(required = true)]
    pub models: Vec<PathBuf>,
    /// Override a model field, e.g. --set client.tcp.keep_alive=70s (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// The arguments of `tcpsim test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Model files, or directories whose *.toml files are tested in sorted order.
    #[arg(default_value = "models")]
    pub models: Vec<PathBuf>,
    /// Generated cases per property, for a model with a [search] table (shrinking comes on top).
    #[arg(long, default_value_t = 256)]
    pub cases: u32,
    /// Seed of the case generator (the same seed checks the same cases).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also write a JUnit XML report here (GitHub Actions, GitLab CI, Jenkins).
    #[arg(long, value_name = "FILE", value_parser = out_path)]
    pub junit: Option<PathBuf>,
    /// Threads (default: all cores); the report does not depend on it.
    #[arg(long, value_parser = tcpsim::search::sweep::parse_jobs)]
    pub jobs: Option<usize>,
}

/// Parses a `--duration` value ("10m", "1h").
fn parse_dur(s: &str) -> Result<Dur, tcpsim::clock::DurationError> {
    s.parse()
}

/// An output path: not empty, and not `-` (which means standard input for inputs; an output named
/// `-` would be a file by that name, not standard output).
fn out_path(s: &str) -> Result<PathBuf, String> {
    match s {
        "" => Err("an empty path".into()),
        "-" => Err("`-` is not an output here: give a file name".into()),
        _ => Ok(PathBuf::from(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    // Proves the definitions are consistent (clap's own checks: no clashing names, valid defaults).
    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    // Proves a typical command line parses into its arguments, with the defaults filled in.
    #[test]
    fn parses_a_search() {
        let cli =
            Cli::try_parse_from(["tcpsim", "search", "m.toml", "--target", "rto-backoff"]).unwrap();
        let Command::Search(a) = cli.command else {
            panic!("not a search: {:?}", cli.command)
        };
        assert_eq!(a.model, PathBuf::from("m.toml"));
        assert_eq!(
            (a.target.as_str(), a.cases, a.seed),
            ("rto-backoff", 500, 0)
        );
        assert_eq!((a.tolerance, a.floor, a.refine), (0.05, 0.1, 1000));
        assert!(Cli::try_parse_from(["tcpsim", "run", "m.toml", "--duration", "ten"]).is_err());
    }
}
