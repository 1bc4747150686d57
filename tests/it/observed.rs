//! The analysis on the real field captures (in tests/data/observed so the
//! tests do not depend on the checkout layout): each yields its expected findings and nothing else.

use std::path::PathBuf;

use tcpsim::analyze::{Analysis, analyze_file};
use tcpsim::detect::Finding;

fn analyze(name: &str) -> Analysis {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/observed")
        .join(name);
    analyze_file(&path, Default::default(), Default::default())
        .unwrap()
        .0
}

fn only(a: &Analysis, sig: &str) -> Finding {
    let sigs: Vec<&str> = a.findings.iter().map(|f| f.signature.as_str()).collect();
    assert_eq!(sigs, [sig], "expected exactly one {sig}");
    a.findings[0].clone()
}

fn f(x: &Finding, k: &str) -> f64 {
    x.features[k]
}

fn close(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol
}

// Proves stale-seq-after-fin on capture a with the field numbers: FIN→ACK 0.016 s, ACK→stale 6.86
// s, idle before FIN ~15.3 s, stale seq = the FIN's ack, no device data between the server's last
// ACK and the FIN.
#[test]
fn stale_fin_a() {
    let x = only(
        &analyze("esp32-wifi-stale-fin-a.txt"),
        "stale-seq-after-fin",
    );
    assert!(close(f(&x, "fin_to_ack_s"), 0.016, 0.0005), "{x:?}");
    assert!(close(f(&x, "ack_to_stale_s"), 6.86, 0.005), "{x:?}");
    assert!(
        (14.97..=15.55).contains(&f(&x, "idle_before_fin_s")),
        "{x:?}"
    );
    assert_eq!(f(&x, "stale_seq_equals_fin_ack"), 1.0);
    assert_eq!(f(&x, "device_data_between_last_ack_and_fin"), 0.0);
    assert!(f(&x, "stale_to_rst_s") < 0.001);
}

// Proves the same on capture b (FIN→ACK 0.037 s, ACK→stale 31.28 s), where the stale segment is a
// retransmission of data the server never received.
#[test]
fn stale_fin_b() {
    let x = only(
        &analyze("esp32-wifi-stale-fin-b.txt"),
        "stale-seq-after-fin",
    );
    assert!(close(f(&x, "fin_to_ack_s"), 0.037, 0.0005), "{x:?}");
    assert!(close(f(&x, "ack_to_stale_s"), 31.28, 0.005), "{x:?}");
    assert!(
        (14.97..=15.55).contains(&f(&x, "idle_before_fin_s")),
        "{x:?}"
    );
    assert_eq!(f(&x, "stale_is_retransmission"), 1.0);
}

// Proves rto-hole's classes: one out-of-order segment, one duplicate ACK, and a timeout
// retransmission filling the hole 3.59 s after it was seen; no finding.
#[test]
fn rto_hole() {
    let a = analyze("esp32-wifi-rto-hole.txt");
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    let c = &a.connections[0];
    assert_eq!(c.classes.get("out-of-order"), Some(&1));
    assert_eq!(c.classes.get("duplicate-ack"), Some(&1));
    assert_eq!(c.classes.get("retransmission"), Some(&1));
    let r = &c.retransmissions[0];
    assert_eq!(
        (r.kind.as_str(), r.seq, r.len),
        ("retransmission", 29499, 64)
    );
    assert!(close(r.since_hole_s.unwrap(), 3.59, 0.005), "{r:?}");
}

// Proves one-way-stall on the NODELAY stall capture and not on the recovered one.
#[test]
fn nodelay_outage() {
    let x = only(&analyze("nodelay-outage-stall.txt"), "one-way-stall");
    assert!(
        f(&x, "outage_s") > 1.0 && f(&x, "acks_without_data") >= 3.0,
        "{x:?}"
    );
    assert!(analyze("nodelay-outage-recovered.txt").findings.is_empty());
}

// Proves idle-reset after 90 s with a 100 s keep-alive, and none with 60 s or 70 s keep-alives
// (whose probes and answers are classified as such).
#[test]
fn keepalive_vs_idle_timeout() {
    let x = only(&analyze("keepalive-100s-reset.txt"), "idle-reset");
    assert!(close(f(&x, "idle_s"), 90.0, 0.01), "{x:?}");
    for (name, probes) in [
        ("keepalive-60s-survives.txt", 2),
        ("keepalive-70s-survives.txt", 1),
    ] {
        let a = analyze(name);
        assert!(a.findings.is_empty(), "{name}: {:?}", a.findings);
        assert_eq!(
            a.connections[0].classes.get("keep-alive"),
            Some(&probes),
            "{name}"
        );
        assert_eq!(
            a.connections[0].classes.get("keep-alive-ack"),
            Some(&1),
            "{name}"
        );
    }
}

/// Every file of `dir` (recursively) whose name ends with one of `exts`.
fn files(dir: &std::path::Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, exts, out);
        } else if exts.iter().any(|x| p.to_string_lossy().ends_with(x)) {
            out.push(p);
        }
    }
}

// Proves the repository is self-contained (issue 11, item 5): the README, the docs, the models and
// the sources never point into `../shared` (a clone does not have it), and every repository path
// the README names in backticks (`tests/data/observed/...`, `docs/...`, `models/...`, `plots/...`,
// `benches/...`, `fuzz/...`) exists.
#[test]
fn repository_is_self_contained() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut all = vec![root.join("README.md")];
    for (dir, exts) in [
        ("docs", &[".md"][..]),
        ("models", &[".toml"][..]),
        ("src", &[".rs"][..]),
        ("benches", &[".rs", ".py"][..]),
    ] {
        files(&root.join(dir), exts, &mut all);
    }
    for f in &all {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            !text.contains("../shared") && !text.contains("shared/observed"),
            "{} points outside the repository",
            f.display()
        );
    }
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let prefixes = [
        "tests/data/observed/",
        "docs/",
        "models/",
        "plots/",
        "benches/",
        "fuzz/",
    ];
    let (mut named, mut missing) = (0, Vec::new());
    for quoted in readme.split('`').skip(1).step_by(2) {
        let path = quoted.split_whitespace().next().unwrap_or("");
        // Error-message examples name a line (`models/x.toml:14:8`) and placeholders (TARGET):
        // not files of the repository.
        if prefixes.iter().any(|p| path.starts_with(p))
            && !path.contains(['*', '<', '{', ':'])
            && !path.contains("TARGET")
        {
            let path = path.trim_end_matches([',', '.', ')']);
            if !root.join(path).exists() {
                missing.push(path.to_string());
            }
            named += 1;
        }
    }
    assert!(
        missing.is_empty(),
        "the README names files not in the repository: {missing:?}"
    );
    assert!(named >= 5, "only {named} paths found: the scan is broken");
}
