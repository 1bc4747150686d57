//! Unit tests of the report renderers: each pins the exact bytes of one representative case.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::analyze::{Analysis, ConnReport, Retransmission, Silence};
use crate::capture::ImportStats;
use crate::detect::Finding;
use crate::search::{Found, Outcome, Target};

const MODEL: &str = r#"
version = 1
name = "example"
seed = 7
duration = "10s"
[client.app]
kind = "bulk"
bytes = 20000
"#;

fn scenario() -> Scenario {
    Scenario::from_toml(MODEL, Path::new("example.toml")).unwrap()
}

fn finding() -> Finding {
    Finding {
        signature: "rto-backoff".into(),
        at_s: 1.5,
        features: BTreeMap::from([("a_s".into(), 1.0), ("b".into(), 2.5)]),
    }
}

fn analysis() -> Analysis {
    let conn = ConnReport {
        index: 0,
        a: "10.0.0.1.1000".into(),
        b: "10.0.0.2.80".into(),
        first_s: 0.5,
        last_s: 2.25,
        packets: 9,
        classes: BTreeMap::from([("ack".into(), 4), ("new-data".into(), 5)]),
        wireshark: BTreeMap::new(),
        silences: vec![Silence {
            from: "10.0.0.2.80".into(),
            start_s: 0.75,
            length_s: 1.25,
        }],
        silence_count: 1,
        retransmissions: vec![Retransmission {
            at_s: 2.0,
            from: "10.0.0.1.1000".into(),
            seq: 100,
            len: 10,
            kind: "retransmission".into(),
            previous: 1,
            since_first_s: Some(1.0),
            since_hole_s: None,
        }],
        findings: vec![finding()],
    };
    Analysis {
        findings: conn.findings.clone(),
        connections: vec![conn],
        time: tcpsim_time(),
    }
}

// Proves the check line names file, model, seed and duration as the model file spells it.
#[test]
fn check_line_of_a_model() {
    assert_eq!(
        check_line(Path::new("m/example.toml"), &scenario()),
        "m/example.toml: ok (example, seed 7, 10s)\n"
    );
}

// Proves the run summary of a real (tiny) run: speed from the given wall time, both directions,
// final states and the output directory.
#[test]
fn run_summary_of_a_run() {
    let (_, report) = crate::run::run_trace(&scenario()).unwrap();
    let text = run_summary(&report, Path::new("runs/example"), 0.5);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    let end = crate::clock::secs(report.end);
    assert_eq!(
        lines[0],
        format!(
            "example: seed 7, simulated {} s ({}) in 0.500 s wall ({:.0}x real time)",
            crate::clock::fmt_secs(report.end),
            report.summary.ended,
            end / 0.5
        )
    );
    assert!(lines[1].starts_with("  uplink  : "), "{text}");
    assert!(lines[1].contains(", 20000 B written, 20000 B delivered, "));
    assert!(lines[2].starts_with("  downlink: "), "{text}");
    assert!(lines[3].starts_with("  final states: client "), "{text}");
    assert_eq!(lines[4], "  outputs: runs/example");
}

// Proves the mitigate table's layout: the first column widens to the longest candidate, rates are
// whole percents, the fixed runs and each outcome get a column, and failed runs get their own line.
#[test]
fn mitigate_table_layout() {
    let outcomes = |s, r, a, c| {
        BTreeMap::from([
            ("survived".to_string(), s),
            ("reset".to_string(), r),
            ("aborted".to_string(), a),
            ("closed".to_string(), c),
        ])
    };
    let rows = [
        Row {
            candidate: "(unchanged)".into(),
            runs: 3,
            occurrences: 3,
            rate: 1.0,
            errors: 0,
            outcomes: outcomes(0, 3, 0, 0),
            fixed: 0,
            bytes_delivered: 900,
            bytes_undelivered: 297,
            messages_skipped: 0,
        },
        Row {
            candidate: "x=1".into(),
            runs: 3,
            occurrences: 1,
            rate: 1.0 / 3.0,
            errors: 2,
            outcomes: outcomes(1, 0, 0, 0),
            fixed: 0,
            bytes_delivered: 300,
            bytes_undelivered: 0,
            messages_skipped: 0,
        },
    ];
    assert_eq!(
        mitigate_table(&rows, "rto-backoff"),
        "candidate     runs  rto-backoff    rate  fixed  survived  reset  aborted  closed  undelivered\n\
         (unchanged)      3            3    100%      0         0      3        0       0        297 B\n\
         x=1              3            1     33%      0         1      0        0       0          0 B\n\
         \x20            (2 run(s) failed: livelock)\n"
    );
}

// Proves the JSON document is pretty-printed with a final newline.
#[test]
fn json_document_ends_with_newline() {
    assert_eq!(json_document(&[1, 2]).unwrap(), "[\n  1,\n  2\n]\n");
}

// Proves the analyze text block: header with non-TCP count, classes in CLASSES order,
// retransmission, silence and finding lines with their precisions, each time shown as the
// capture's time of day (origin 13:52:27.497668 plus the seconds) and as seconds since its first
// packet; a capture with relative times shows the seconds alone.
#[test]
fn analyze_text_block() {
    let stats = ImportStats {
        packets: 9,
        non_tcp: 2,
        ..Default::default()
    };
    assert_eq!(
        analyze_text("cap.txt", &stats, &analysis()),
        "== cap.txt: 9 TCP packets, 1 connection(s), 2 non-TCP packets skipped\n\
         connection 0: 10.0.0.1.1000 <-> 10.0.0.2.80, 9 packets, 13:52:27.997668 (+0.500000 s) .. 13:52:29.747668 (+2.250000 s)\n\
         \x20 new-data 5, ack 4\n\
         \x20 retransmission at 13:52:29.497668 (+2.000000 s) from 10.0.0.1.1000 seq 100 len 10, 1.000 s after first sent\n\
         \x20 silence: 10.0.0.2.80 sent nothing for 1.250 s from 13:52:28.247668 (+0.750000 s)\n\
         \x20 FINDING rto-backoff at 13:52:28.997668 (+1.500000 s): a_s=1.000000, b=2.500000\n"
    );
    let mut relative = analysis();
    relative.time = crate::capture::TimeBase::run();
    let text = analyze_text("cap.txt", &stats, &relative);
    assert!(
        text.contains("9 packets, 0.500000 s .. 2.250000 s\n"),
        "{text}"
    );
}

// Proves every JSON connection and finding carries its capture's name, in input order.
#[test]
fn analyze_json_tags_captures() {
    let (a, b) = (analysis(), analysis());
    let doc = analyze_json([("one.txt", &a), ("two.pcap", &b)]).unwrap();
    assert!(doc.ends_with("}\n"));
    let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(v["connections"][0]["capture"], "one.txt");
    assert_eq!(v["connections"][1]["capture"], "two.pcap");
    assert_eq!(v["findings"][1]["capture"], "two.pcap");
    assert_eq!(v["findings"][0]["signature"], "rto-backoff");
}

// Proves the lenient-import warning appears only when lines were skipped, with its examples.
#[test]
fn skipped_lines_warning_only_when_skipped() {
    let mut stats = ImportStats::default();
    assert_eq!(skipped_lines_warning(Path::new("c.txt"), &stats), None);
    stats.skipped_lines = 2;
    stats.skipped_examples = vec!["3: junk".into(), "9: more".into()];
    assert_eq!(
        skipped_lines_warning(Path::new("c.txt"), &stats).unwrap(),
        "tcpsim: warning: c.txt: skipped 2 line(s) that are not packets, e.g. line 3: junk | line 9: more\n"
    );
}

// Proves the search reports: nothing found, and found with the feature table against a target:
// each target feature with the reproducer's value, what the tolerance allows (max(25 % of 1.25,
// 0.5) = 0.5), the distance (0.25 / 0.5) and how it was compared; without a target, the
// reproducer's features alone.
#[test]
fn search_reports() {
    let outcome = Outcome {
        found: None,
        cases: 12,
        shrink_runs: 3,
        refine_runs: 0,
        refined: None,
        nearest: None,
        robustness: None,
        at_bounds: Vec::new(),
    };
    assert_eq!(
        search_not_found("rto-backoff", &outcome, 1.26),
        "no rto-backoff reproducer in 12 case(s) (1.3 s); widen the model's [search] ranges or try more --cases\n"
    );
    let found = Found {
        scenario: scenario(),
        finding: finding(),
    };
    let target = Target {
        source: "cap.txt".into(),
        features: BTreeMap::from([("a_s".into(), 1.25)]),
    };
    let text = search_found(
        "rto-backoff",
        &outcome,
        &found,
        Some((&target, 0.25, 0.5)),
        Path::new("runs/r.toml"),
        "name = \"r\"\n",
        2.0,
    );
    assert_eq!(
        text,
        format!(
            "found rto-backoff after 12 case(s), shrunk in 3 run(s), 2.0 s; reproducer: runs/r.toml\n\n\
             name = \"r\"\n\n\
             {:<40} {:>14} {:>14} {:>10} {:>9}  compared as\n\
             {:<40} {:>14} {:>14} {:>10} {:>9}  time, within tolerance\n",
            "feature",
            "reproducer",
            "target",
            "allowed",
            "distance",
            "a_s",
            "1.000000",
            "1.250000",
            "0.500000",
            "0.500"
        )
    );
    // A refined search says how many runs refining took and the score before and after.
    let refined = Outcome {
        refine_runs: 208,
        refined: Some((21.5, 0.25)),
        ..outcome.clone()
    };
    assert!(
        search_not_found("rto-backoff", &refined, 1.0).starts_with(
            "no rto-backoff reproducer in 12 case(s), refined in 208 run(s) (score 21.500 → 0.250, \
             the sum of the feature distances) (1.0 s)"
        ),
        "{}",
        search_not_found("rto-backoff", &refined, 1.0)
    );
    assert_eq!(
        feature_table(&found, None, 0.0, 0.0),
        format!(
            "{:<40} {:>14}\n{:<40} {:>14}\n{:<40} {:>14}\n",
            "feature", "reproducer", "a_s", "1.000000", "b", "2.500000"
        )
    );
}

/// Times of day starting at 13:52:27.497668, as a tcpdump capture shows them.
fn tcpsim_time() -> crate::capture::TimeBase {
    crate::capture::TimeBase {
        kind: crate::capture::TimeKind::TimeOfDay,
        origin: crate::clock::Instant::from_micros(
            (13 * 3600 + 52 * 60 + 27) * 1_000_000_i64 + 497_668,
        ),
    }
}
