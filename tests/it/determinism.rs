//! Determinism: the same model and seed give byte-identical outputs; another seed changes them.

use std::fs;

use tcpsim::run::{Outputs, run_to_dir};

use crate::{model, scratch};

const FILES: [&str; 6] = [
    "trace.txt",
    "trace.pcap",
    "packets.csv",
    "events.csv",
    "summary.json",
    "run.toml",
];

// Proves two runs of the same model and seed write byte-identical files, and that a different
// seed changes the trace (so the seed really reaches the random streams).
#[test]
fn same_seed_same_bytes_other_seed_differs() {
    let dir = scratch("determinism");
    let mut s = model("esp32-wifi-telemetry.toml");
    s.duration = tcpsim::model::Dur::secs(120);
    // Loss on both directions and jitter, so every random stream is exercised.
    s.link.uplink.loss = tcpsim::model::LossModel::Bernoulli { p: 0.02 };
    s.link.downlink.loss = tcpsim::model::LossModel::GilbertElliott {
        loss_rate: 0.02,
        mean_burst: 2.0,
    };
    s.link.outage = tcpsim::model::OutageSchedule::DutyCycle {
        period: tcpsim::model::Dur::secs(30),
        down: tcpsim::model::Dur::secs(6),
        phase: tcpsim::model::Dur::secs(10),
        jitter: tcpsim::model::Dur::secs(3),
    };
    run_to_dir(&s, &dir.join("a"), false, Outputs::ALL).unwrap();
    run_to_dir(&s, &dir.join("b"), false, Outputs::ALL).unwrap();
    for f in FILES {
        let a = fs::read(dir.join("a").join(f)).unwrap();
        let b = fs::read(dir.join("b").join(f)).unwrap();
        assert!(!a.is_empty(), "{f} is empty");
        assert!(a == b, "{f} differs between two runs of the same seed");
    }
    s.seed += 1;
    run_to_dir(&s, &dir.join("c"), false, Outputs::ALL).unwrap();
    let a = fs::read(dir.join("a/trace.txt")).unwrap();
    let c = fs::read(dir.join("c/trace.txt")).unwrap();
    assert!(a != c, "a different seed produced the same trace");
}

// Proves run.toml reproduces the run: running the resolved model gives the same outputs,
// including run.toml itself (resolving is idempotent).
#[test]
fn run_toml_reproduces_outputs() {
    let dir = scratch("run_toml");
    let s = model("esp32-wifi-stale-fin.toml");
    run_to_dir(&s, &dir.join("a"), false, Outputs::ALL).unwrap();
    let resolved = tcpsim::Scenario::load(&dir.join("a/run.toml")).unwrap();
    assert_eq!(resolved, s);
    run_to_dir(&resolved, &dir.join("b"), false, Outputs::ALL).unwrap();
    for f in FILES {
        assert!(
            fs::read(dir.join("a").join(f)).unwrap() == fs::read(dir.join("b").join(f)).unwrap(),
            "{f} differs after re-running run.toml"
        );
    }
}

// Proves the in-memory trace equals itself across runs and that outputs are functions of it:
// replaying the trace into a text writer gives the same bytes as the streamed trace.txt.
#[test]
fn outputs_are_functions_of_the_trace() {
    let dir = scratch("replay");
    let s = model("esp32-wifi-stale-fin.toml");
    let (t1, _) = tcpsim::run_trace(&s).unwrap();
    let (t2, _) = tcpsim::run_trace(&s).unwrap();
    assert_eq!(t1, t2);
    run_to_dir(&s, &dir.join("a"), false, Outputs::ALL).unwrap();
    let mut w = tcpsim::trace::text::TextWriter::new(Vec::new(), s.capture);
    t1.replay(&mut w).unwrap();
    assert_eq!(
        String::from_utf8(w.into_inner()).unwrap(),
        fs::read_to_string(dir.join("a/trace.txt")).unwrap()
    );
}
