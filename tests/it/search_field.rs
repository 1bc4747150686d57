//! The field question, answered precisely: from the generic model, `search --match` finds for each
//! capture (the two field captures and two it was never tuned on) a reproducer as close as the
//! issue asks, by the mechanism the capture shows.

use std::path::Path;

use tcpsim::Scenario;
use tcpsim::analyze::analyze_trace;
use tcpsim::search::matching::{self, Kind};
use tcpsim::search::{Outcome, SearchOptions, reproducer_toml, search, target_from_capture};

use crate::{model, root};

const STALE: &str = "stale-seq-after-fin";

/// The search from `models/esp32-wifi-generic.toml` with the CLI's defaults, on `threads` threads.
fn field_search(capture: &str, threads: usize) -> (SearchOptions, Outcome) {
    let base = model("esp32-wifi-generic.toml");
    let mut opts = SearchOptions::new(STALE);
    opts.threads = threads;
    opts.matching =
        Some(target_from_capture(&root().join("tests/data").join(capture), STALE).unwrap());
    let outcome = search(&base, &opts, &mut |_, _| {}).unwrap();
    (opts, outcome)
}

// Proves item 6 of the search issue for every capture in the repository and two variants it was
// never tuned on (tests/data/unseen/: capture a's FIN later and answered after 210 ms; capture b's
// FIN lost once and retransmitted): the reproducer found from the generic model has ACK→stale
// within 3 % of the capture's, FIN→ACK (first and last FIN) within 50 ms, idle before the FIN
// within 0.3 s, every yes/no feature and count equal (so a retransmitted FIN is retransmitted in
// the reproducer too); and the written model file, loaded back and run on its own, shows the same
// finding (the header's claim is true, and shrinking kept the match).
#[test]
fn reproduces_each_capture_precisely() {
    for capture in [
        "observed/esp32-wifi-stale-fin-a.txt",
        "observed/esp32-wifi-stale-fin-b.txt",
        "unseen/esp32-wifi-stale-fin-c.txt",
        "unseen/esp32-wifi-stale-fin-d.txt",
    ] {
        let (opts, outcome) = field_search(capture, 2);
        let target = &opts.matching.as_ref().unwrap().features;
        let found = outcome
            .found
            .as_ref()
            .unwrap_or_else(|| panic!("{capture}: no reproducer: {:?}", outcome.nearest));
        let got = |k: &str| found.finding.features[k];
        let off = |k: &str| (got(k) - target[k]).abs();
        assert!(
            off("ack_to_stale_s") <= 0.03 * target["ack_to_stale_s"],
            "{capture}: ACK→stale {} vs {}",
            got("ack_to_stale_s"),
            target["ack_to_stale_s"]
        );
        for k in ["fin_to_ack_s", "last_fin_to_ack_s"] {
            assert!(
                off(k) <= 0.050,
                "{capture}: {k} {} vs {}",
                got(k),
                target[k]
            );
        }
        assert!(off("idle_before_fin_s") <= 0.3, "{capture}: idle");
        for (k, want) in target {
            if matches!(matching::kind(k), Kind::Flag | Kind::Count) {
                assert_eq!(got(k), *want, "{capture}: {k}");
            }
        }
        let text = reproducer_toml(found, &opts, &outcome);
        let reloaded = Scenario::from_toml(&text, Path::new("repro.toml")).unwrap();
        let (trace, _) = tcpsim::run_trace(&reloaded).unwrap();
        let a = analyze_trace(&trace, reloaded.capture, Default::default());
        assert!(
            a.findings.contains(&found.finding),
            "{capture}: the reproducer file shows {:?}",
            a.findings
        );
    }
}

// Proves the refinement does not depend on the machine: the search on capture b (the one that
// needs the refinement's event moves: no generated case matches it) writes the same reproducer on
// one thread and on three.
#[test]
fn refinement_is_independent_of_threads() {
    let (opts, one) = field_search("observed/esp32-wifi-stale-fin-b.txt", 1);
    let (_, three) = field_search("observed/esp32-wifi-stale-fin-b.txt", 3);
    assert!(one.refine_runs > 0);
    assert_eq!(
        reproducer_toml(one.found.as_ref().unwrap(), &opts, &one),
        reproducer_toml(three.found.as_ref().unwrap(), &opts, &three)
    );
}
