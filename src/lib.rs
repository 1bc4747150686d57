//! tcpsim: a deterministic TCP behaviour simulator.
//!
//! Two real TCP stacks (smoltcp) talk over a simulated WiFi link with scheduled, per-direction
//! outages (drop, or hold as an access point buffering for a dozing station), random loss, delay and
//! bandwidth, under a virtual clock. A run produces a [`Trace`] of typed events; the outputs
//! (tcpdump-style text, pcap, CSV, JSON summary, plots) and the analysis are functions of that
//! trace, and an imported capture becomes the same `Trace`.
//!
//! # Example
//! ```
//! use tcpsim::{run_trace, Scenario};
//! use tcpsim::model::{AppModel, Dur};
//! use tcpsim::trace::{AppEvent, Side};
//!
//! let scenario = Scenario::builder("example", 1)
//!     .duration("10s".parse()?)
//!     .client_app(AppModel::Bulk { bytes: 20_000, start: Dur::zero() })
//!     .build()?;
//! let (trace, report) = run_trace(&scenario)?;
//! let read: usize = trace
//!     .app_events(Side::Server)
//!     .map(|(_, e)| if let AppEvent::Read { len } = e { len } else { 0 })
//!     .sum();
//! assert_eq!(read, 20_000);
//! assert_eq!(report.summary.uplink.bytes_delivered, 20_000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How data flows
//! - **Simulating**: model file → [`model::Scenario`] (validated, every default resolved) →
//!   [`Sim`] (link + two endpoints under the next-event clock) → [`trace::Event`]s, streamed to
//!   [`trace::EventSink`]s the caller owns: writers (`trace.txt`, pcap, CSV), the summary
//!   ([`summary`]), the analysis ([`analyze::AnalysisSink`]), an in-memory [`Trace`].
//!   [`run::simulate`] is the one function that wires this up; `tcpsim run`, sweeps, searches and
//!   mitigation checks all go through it.
//! - **Analysing**: a capture file (tcpdump text, pcap, pcapng) → [`capture`] importers →
//!   [`trace::packet::Packet`]s (or a [`Trace`] of them) → [`analyze`] (per-connection segment
//!   classes, one retransmission rule) → [`detect`] (signature detectors) → [`detect::Finding`]s.
//!   A simulated trace reaches the same analysis through [`capture::CaptureView`].
//!
//! # Module map
//! - [`model`]: the model file format (serde, validation, located errors, `--set`, `run.toml`) and
//!   [`model::ScenarioBuilder`] for models written in Rust.
//! - [`profile`]: stack presets (`lwip-esp32`, `linux`, `smoltcp`), the TCP settings they fill, and
//!   how each differs from the real stack.
//! - [`clock`]: virtual time (smoltcp's `Instant`/`Duration`) and the duration syntax.
//! - `rng`, `link`, `endpoint` (crate-private): seeded ChaCha20 streams; the two-direction link
//!   (delay, bandwidth, queue, loss, outages, drop/hold, power save, middlebox); a smoltcp interface
//!   with one TCP socket and its application.
//! - [`sim`]: the next-event loop, [`Sim`].
//! - [`trace`]: events, [`Trace`], the one decoded packet type ([`trace::packet::Segment`]) and the
//!   writers (text, pcap, CSV).
//! - [`summary`]: `summary.json`, folded from the events.
//! - [`run`]: [`run::simulate`], [`run_trace`], and `tcpsim run`'s atomic output directory.
//! - [`capture`]: packets at a capture point, from a trace or imported from a capture file.
//! - [`timebase`]: a capture's times as it shows them and as seconds since its first packet.
//! - [`classes`]: segment classes, [`classes::Seen`] and the one retransmission rule (a leaf).
//! - [`analyze`]: per-connection segment classification (retransmissions, dup ACKs, keep-alives...).
//! - [`detect`]: signature detectors (stale-seq-after-fin, rto-backoff, one-way-stall, idle-reset,
//!   close-wait-stuck) and their [`detect::Finding`]s.
//! - [`search`]: proptest search for reproducers ([`search::falsify`], shared with `tcpsim test`),
//!   sweeps, mitigation checks.
//! - [`outcome`]: a connection's outcome (survived, reset, aborted, closed) from a run's summary.
//! - [`expect`]: `tcpsim test`, the `[[expect]]` properties of model files checked over their
//!   `[search]` space, with counterexample files.
//! - [`plot`]: timeline and heatmap SVGs.
//! - [`report`]: the text and JSON reports the command line prints (and `tcpsim test`'s JUnit XML).
//! - [`analyze_output`]: `analyze`'s report over many captures, streamed through temporary files.
//! - [`fsio`]: atomic file writes.
//!
//! # Determinism
//! - Time is [`clock::Instant`] from `Instant::ZERO`; the library never reads the wall clock.
//! - Every random draw comes from a ChaCha20 stream derived from the model's seed and a fixed stream
//!   number (one per link direction, the outage schedule and each endpoint); smoltcp's
//!   `Config::random_seed` is drawn from the endpoint's stream.
//! - Ties are broken by sequence numbers (frame ids, event `seq`); no hash-map iteration reaches any
//!   output.
//! - The same model and seed give byte-identical outputs across runs, builds and machines.
//!
//! # Errors and panics
//! Bad model files and I/O failures are typed errors carrying their context ([`model::ModelError`]
//! names file, line, column and field). Broken internal invariants panic.

#![warn(missing_docs)]

pub mod analyze;
pub mod analyze_output;
pub mod capture;
pub mod classes;
pub mod clock;
pub mod compare;
pub mod detect;
pub(crate) mod endpoint;
pub mod expect;
mod fasthash;
pub mod fsio;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod link;
pub mod model;
pub mod outcome;
pub mod plot;
pub mod profile;
pub mod report;
pub(crate) mod rng;
pub mod run;
pub mod search;
pub mod sim;
pub mod summary;
pub mod timebase;
pub mod trace;

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use model::Scenario;

/// An error and its sources, joined with `": "` (what `anyhow`'s `{:#}` prints), for reports that
/// carry an error as text.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
pub use run::{Analyse, Report, run_trace, simulate};
pub use sim::{Sim, SimError};
pub use trace::{Event, EventKind, Trace};

/// At most 100 characters of `text` for an error message, control characters escaped (a binary
/// file read as text must not fill the terminal).
pub(crate) fn clip_text(text: &str) -> String {
    let mut s = String::new();
    for c in text.chars().take(100) {
        if c.is_control() {
            s.extend(c.escape_default());
        } else {
            s.push(c);
        }
    }
    if text.chars().nth(100).is_some() {
        s.push_str("...");
    }
    s
}

/// `text` for an error message with every word (a run without whitespace) longer than 60
/// characters cut to its first 40 and last 10 and its length, and control characters escaped: a value echoed
/// from a model or an override stays readable however long it was.
pub(crate) fn clip_words(text: &str) -> String {
    const LONG: usize = 60;
    let mut out = String::with_capacity(text.len().min(1024));
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, after) = rest.split_at(end);
        let n = word.chars().count();
        let push = |out: &mut String, c: char| {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        };
        if n > LONG {
            // The head, the tail (its closing quote and punctuation), and the length.
            word.chars().take(40).for_each(|c| push(&mut out, c));
            out.push_str("...");
            word.chars().skip(n - 10).for_each(|c| push(&mut out, c));
            out.push_str(&format!(" ({n} characters)"));
        } else {
            word.chars().for_each(|c| push(&mut out, c));
        }
        let ws = after.len() - after.trim_start().len();
        let (space, next) = after.split_at(ws);
        for c in space.chars() {
            out.push(if c == '\n' || c == ' ' { c } else { ' ' });
        }
        rest = next;
    }
    out
}
