//! Entry points for the fuzz targets (`fuzz/`, run with `cargo +nightly fuzz run TARGET`) and for
//! the stable smoke test that replays their corpus in CI (`tests/it/fuzz_corpus.rs`): one function
//! per reader, taking arbitrary bytes as a user's file would bring them.
//!
//! Guarantees: each function returns normally for any input: bad input is an `Err` inside, never a
//! panic, an abort or an allocation that grows with a length field. Beyond "no panic", [`model`]
//! checks that `check` and `run` agree: a model that validates builds a simulation, which then runs
//! a bounded number of steps.

use std::path::Path;

use crate::capture::{ImportOptions, import_trace_from};
use crate::model::{CapturePoint, Scenario};

/// Steps a validated model is simulated for (enough for the handshake and the first data).
const MODEL_STEPS: u32 = 2_000;

/// A model file: parse and validate; a valid model must build a simulation and run.
///
/// # Panics
/// When a model that validates cannot be simulated (`check` and `run` disagree).
pub fn model(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    let Ok(scenario) = Scenario::from_toml(text, path) else {
        return;
    };
    let mut sim = match crate::Sim::new(&scenario) {
        Ok(sim) => sim,
        Err(e) => panic!("a model that validates does not build: {e}"),
    };
    let mut summary = crate::summary::SummaryBuilder::new(&scenario.name, scenario.seed);
    for _ in 0..MODEL_STEPS {
        match sim.step(&mut summary) {
            Ok(false) => {}
            Ok(true) | Err(_) => break,
        }
    }
}

/// A capture in any format tcpsim reads (told apart by content, as `analyze` does): imported
/// strictly, then leniently with its analysis and report.
pub fn capture(data: &[u8]) {
    let name = Path::new("fuzz.cap");
    let _ = crate::capture::import_reader(data, name, ImportOptions::default(), &mut |_, _| {});
    let opts = ImportOptions { lenient: true };
    if let Ok((trace, stats)) = import_trace_from(data, name, opts) {
        let a = crate::analyze::analyze_trace(&trace, CapturePoint::Server, Default::default());
        let _ = crate::report::analyze_text("fuzz.cap", &stats, &a);
    }
}

/// A pcap or pcapng capture, through the pcap importer whatever the first bytes.
pub fn pcap(data: &[u8]) {
    let _ = crate::capture::pcap::import(data, Path::new("fuzz.pcap"), &mut |_, _| {});
}

/// `plot`'s input: a sweep CSV (heatmap) or a capture (timeline), as `tcpsim plot` reads it.
pub fn plot(data: &[u8]) {
    let opts = crate::plot::PlotOptions::new("fuzz");
    let name = Path::new("fuzz.cap");
    let _ = crate::plot::plot_reader(data, name, &opts, None);
    let _ = crate::plot::plot_reader(data, name, &opts, Some("stale-seq-after-fin"));
}
