//! tcpsim: a deterministic TCP behaviour simulator.
//!
//! Two real TCP stacks (smoltcp) talk over a simulated WiFi link with scheduled, per-direction
//! outages (drop, or hold as an access point buffering for a dozing station), random loss, delay and
//! bandwidth, under a virtual clock. A run produces a [`Trace`] of typed events; the outputs
//! (tcpdump-style text, pcap, CSV, JSON summary) are functions of that trace.
//!
//! # Example
//! ```
//! use std::path::Path;
//! use tcpsim::{Scenario, sim::run_trace, trace::{AppEvent, Side}};
//!
//! let model = r#"
//! version = 1
//! name = "example"
//! seed = 1
//! duration = "10s"
//! [client.app]
//! kind = "bulk"
//! bytes = 20000
//! "#;
//! let scenario = Scenario::from_toml(model, Path::new("example.toml")).unwrap();
//! let (trace, report) = run_trace(&scenario).unwrap();
//! let read: usize = trace
//!     .app_events(Side::Server)
//!     .map(|(_, e)| if let AppEvent::Read { len } = e { len } else { 0 })
//!     .sum();
//! assert_eq!(read, 20000);
//! assert_eq!(report.summary.uplink.bytes_delivered, 20000);
//! ```
//!
//! # Module map
//! - [`model`]: the model file format (serde, validation, located errors, resolved `run.toml`).
//! - [`profile`]: stack presets (`lwip-esp32`, `linux`, `smoltcp`) and how each differs from the real stack.
//! - [`clock`]: virtual time (smoltcp's `Instant`/`Duration`) and the duration syntax.
//! - [`rng`]: seeded ChaCha20 streams, one per link direction, schedule and endpoint.
//! - [`link`]: the two-direction link: delay, bandwidth, queue, loss, outage schedule, drop/hold.
//! - [`endpoint`]: a smoltcp interface + TCP socket + application; the `linux` close policy.
//! - [`sim`]: the next-event loop; [`Sim`], [`sim::run_trace`].
//! - [`trace`]: events, [`Trace`], and the writers (text, pcap, CSV, summary).
//! - [`run`]: simulate into an output directory, atomically.
//! - [`analyze`]: per-connection segment classification (retransmissions, dup ACKs, keep-alives...).
//! - [`detect`]: signature detectors (stale-seq-after-fin, rto-backoff, one-way-stall, idle-reset,
//!   close-wait-stuck).
//! - [`capture`]: packets at a capture point, from a trace or imported from tcpdump text, pcap, pcapng.
//!
//! # Determinism
//! - Time is [`clock::Instant`] from `Instant::ZERO`; the library never reads the wall clock.
//! - Every random draw comes from a ChaCha20 stream derived from the model's seed and a fixed stream
//!   number ([`rng::Stream`]); smoltcp's `Config::random_seed` is drawn from the endpoint's stream.
//! - Ties are broken by sequence numbers (frame ids, event `seq`); no hash-map iteration reaches any
//!   output.
//! - The same model and seed give byte-identical outputs across runs, builds and machines.
//!
//! # Errors and panics
//! Bad model files and I/O failures are typed errors carrying their context ([`model::ModelError`]
//! names file, line, column and field). Broken internal invariants panic.

#![warn(missing_docs)]

pub mod analyze;
pub mod capture;
pub mod cli;
pub mod clock;
pub mod detect;
pub mod endpoint;
pub mod fsio;
pub mod link;
pub mod model;
pub mod plot;
pub mod profile;
pub mod report;
pub mod rng;
pub mod run;
pub mod search;
pub mod sim;
pub mod trace;

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use model::Scenario;
pub use sim::{Report, Sim, SimError};
pub use trace::{Event, EventKind, Trace};
