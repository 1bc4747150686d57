//! The real `tcpsim` executable: exit codes, files written, error messages, pcap readable by tshark.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::{root, scratch};

pub(crate) fn tcpsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

// Proves `run` writes every output file, exits 0, and prints a summary.
#[test]
fn run_writes_all_outputs() {
    let dir = scratch("cli_run").join("out");
    let o = tcpsim(&["run", "models/esp32-wifi-stale-fin.toml", "--out", p(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in [
        "trace.txt",
        "trace.pcap",
        "packets.csv",
        "events.csv",
        "summary.json",
        "run.toml",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("esp32-wifi-stale-fin: seed 1"), "{out}");
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    // The analysis detectors ran on the server-side frames and found the model's signature.
    assert_eq!(summary["findings"][0]["signature"], "stale-seq-after-fin");
    assert_eq!(summary["findings"].as_array().unwrap().len(), 1);
    assert_eq!(summary["seed"], 1);
    // Both CSVs parse with a strict reader (same column count on every row, header first), and
    // packets.csv has one row per frame the summary counts.
    let mut packets = csv::Reader::from_path(dir.join("packets.csv")).unwrap();
    assert_eq!(packets.headers().unwrap().len(), 13);
    let mut rows = 0u64;
    for r in packets.records() {
        r.expect("well-formed row");
        rows += 1;
    }
    let offered = summary["uplink"]["frames"]["offered"].as_u64().unwrap()
        + summary["downlink"]["frames"]["offered"].as_u64().unwrap();
    assert_eq!(rows, offered);
    let mut events = csv::Reader::from_path(dir.join("events.csv")).unwrap();
    assert_eq!(events.headers().unwrap().len(), 7);
    let kinds: std::collections::BTreeSet<String> = events
        .records()
        .map(|r| r.expect("well-formed row")[2].to_string())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["app", "delivered", "link", "offered", "tcp-state"]
    );
}

// Proves an existing output directory is refused (exit 2, untouched) without --force and replaced
// with it; and that --outputs none writes only run.toml.
#[test]
fn existing_dir_needs_force() {
    let dir = scratch("cli_force").join("out");
    assert_eq!(
        tcpsim(&[
            "run",
            "models/esp32-wifi-stale-fin.toml",
            "--out",
            p(&dir),
            "--outputs",
            "none"
        ])
        .status
        .code(),
        Some(0)
    );
    let names = |d: &Path| {
        let mut v: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&dir), ["run.toml"]);
    let o = tcpsim(&["run", "models/esp32-wifi-stale-fin.toml", "--out", p(&dir)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(
        names(&dir),
        ["run.toml"],
        "refused run must not touch the directory"
    );
    let o = tcpsim(&[
        "run",
        "models/esp32-wifi-stale-fin.toml",
        "--out",
        p(&dir),
        "--force",
        "--outputs",
        "text,summary",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(names(&dir), ["run.toml", "summary.json", "trace.txt"]);
    let left: Vec<_> = fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "temporary directories left: {left:?}");
}

// Proves --force never deletes a directory that is not a tcpsim output directory.
#[test]
fn force_refuses_foreign_directory() {
    let dir = scratch("cli_foreign");
    fs::write(dir.join("precious.txt"), "keep me").unwrap();
    let o = tcpsim(&[
        "run",
        "models/esp32-wifi-stale-fin.toml",
        "--out",
        p(&dir),
        "--force",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("holds files tcpsim did not write"),
        "{}",
        stderr(&o)
    );
    assert!(dir.join("precious.txt").is_file());
}

// Proves malformed and invalid model files exit 2 with file:line:col and the field, never a panic,
// and leave no output directory.
#[test]
fn bad_models_exit_2_with_location() {
    let dir = scratch("cli_bad");
    let good = fs::read_to_string(root().join("models/esp32-wifi-stale-fin.toml")).unwrap();
    let cases = [
        ("syntax.toml", good.replace("seed = 1", "seed = = 1"), ""),
        (
            "unknown.toml",
            good.replace("seed = 1", "seed = 1\ncolour = 3"),
            "colour",
        ),
        (
            "duration.toml",
            good.replace("duration = \"90s\"", "duration = \"90\""),
            "duration",
        ),
        (
            "invalid.toml",
            good.replace("for = \"12s\"", "for = \"0s\""),
            "link.outage.windows.0.for",
        ),
        ("noseed.toml", good.replace("seed = 1\n", ""), "seed"),
        // An integer TOML itself cannot hold is still located at its field (stress review).
        (
            "huge.toml",
            good.replace("greeting = 166", "greeting = 99999999999999999999"),
            "server.greeting: invalid value: integer `99999999999999999999` (too large)",
        ),
        (
            "dup.toml",
            good.replace("seed = 1", "seed = 1\nseed = 2"),
            "duplicate key `seed`",
        ),
    ];
    for (name, text, field) in cases {
        let path = dir.join(name);
        fs::write(&path, &text).unwrap();
        let out = dir.join(format!("{name}.out"));
        for args in [
            vec!["check", p(&path)],
            vec!["run", p(&path), "--out", p(&out)],
        ] {
            let o = tcpsim(&args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{name} {args:?}: {err}");
            assert!(!err.contains("panicked"), "{err}");
            for rust in ["usize", "u64", "f64", "i128"] {
                assert!(!err.contains(rust), "{name}: a Rust type name in {err:?}");
            }
            let located = err.lines().any(|l| {
                let after = l.split_once(&format!("{name}:")).map(|x| x.1).unwrap_or("");
                let mut parts = after.splitn(3, ':');
                let line_ok = parts.next().is_some_and(|x| x.parse::<usize>().is_ok());
                let col_ok = parts.next().is_some_and(|x| x.parse::<usize>().is_ok());
                line_ok && col_ok && l.contains(field)
            });
            assert!(
                located,
                "{name}: no file:line:col naming {field:?} in {err:?}"
            );
            assert!(!out.exists(), "{name}: output written for a bad model");
        }
    }
    let o = tcpsim(&["run", p(&dir.join("missing.toml"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.toml"), "{}", stderr(&o));
}

// Proves bad command-line arguments exit 2 with a message, and --help exits 0.
#[test]
fn bad_arguments_exit_2() {
    for args in [
        vec!["run"],
        vec![
            "run",
            "models/esp32-wifi-stale-fin.toml",
            "--duration",
            "15",
        ],
        vec![
            "run",
            "models/esp32-wifi-stale-fin.toml",
            "--outputs",
            "text,video",
        ],
        vec!["run", "models/esp32-wifi-stale-fin.toml", "--seed", "-1"],
        vec!["frobnicate"],
        // --jobs 0 used to mean 1 silently; 2000 threads could abort the process (stress review).
        vec![
            "sweep",
            "models/close-wait-leak.toml",
            "--param",
            "duration=1s..2s:2",
            "--jobs",
            "0",
        ],
        vec![
            "mitigate",
            "models/close-wait-leak.toml",
            "--target",
            "close-wait-stuck",
            "--try",
            "server.app.close_after=1s",
            "--jobs",
            "2000",
        ],
        vec!["test", "models/close-wait-leak.toml", "--jobs=-1"],
        // An output named `-` made a file called `-`.
        vec!["test", "models/close-wait-leak.toml", "--junit", "-"],
        vec![
            "plot",
            "tests/data/observed/esp32-wifi-stale-fin-a.txt",
            "--out",
            "-",
        ],
    ] {
        let o = tcpsim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            !stderr(&o).is_empty() && !stderr(&o).contains("panicked"),
            "{args:?}"
        );
        if args.iter().any(|a| a.starts_with("--jobs")) {
            assert!(
                stderr(&o).contains("from 1 to 1024"),
                "{args:?}: {}",
                stderr(&o)
            );
        }
    }
    assert_eq!(tcpsim(&["--help"]).status.code(), Some(0));
}

// Proves every committed model is valid (`tcpsim check` accepts it).
#[test]
fn committed_models_check() {
    let mut n = 0;
    for e in fs::read_dir(root().join("models")).unwrap() {
        let path = e.unwrap().path();
        let o = tcpsim(&["check", p(&path)]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            stderr(&o)
        );
        n += 1;
    }
    assert!(n >= 2);
}

// Proves the pcap is a valid capture: tshark reads it without error, and it holds exactly as many
// frames as packets.csv marks as captured at the model's capture point; tshark finds no bad
// checksum.
#[test]
fn pcap_read_back_by_tshark() {
    if !crate::have_tool("tshark", "pcap_read_back_by_tshark") {
        return;
    }
    let dir = scratch("cli_tshark").join("out");
    let o = tcpsim(&[
        "run",
        "models/esp32-wifi-telemetry.toml",
        "--duration",
        "2m",
        "--out",
        p(&dir),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = Command::new("tshark")
        .args([
            "-r",
            p(&dir.join("trace.pcap")),
            "-o",
            "tcp.check_checksum:TRUE",
            "-T",
            "fields",
            "-e",
            "tcp.checksum.status",
        ])
        .output()
        .expect("tshark is installed (.ci/run installs it; locally: apt-get install tshark)");
    assert!(
        t.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&t.stderr)
    );
    let lines = String::from_utf8_lossy(&t.stdout);
    let frames = lines.lines().count();
    assert!(
        lines.lines().all(|l| l.trim() == "1"),
        "tshark did not find every checksum good (1 = Good)"
    );
    let mut csv = csv::Reader::from_path(dir.join("packets.csv")).unwrap();
    let captured = csv
        .records()
        .filter(|r| &r.as_ref().unwrap()[12] == "1")
        .count();
    assert!(frames > 1000, "{frames}");
    assert_eq!(frames, captured);
}

fn observed(name: &str) -> String {
    root()
        .join("tests/data/observed")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

// Proves `analyze --expect` follows grep's convention: 0 when the signature is found, 1 when it is
// absent, 2 for an unknown signature; and that the text report names the finding and its features.
#[test]
fn analyze_expect_exit_codes() {
    let o = tcpsim(&[
        "analyze",
        &observed("esp32-wifi-stale-fin-a.txt"),
        "--expect",
        "stale-seq-after-fin",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("FINDING stale-seq-after-fin") && text.contains("fin_to_ack_s=0.015921"),
        "{text}"
    );
    let o = tcpsim(&[
        "analyze",
        &observed("keepalive-60s-survives.txt"),
        "--expect",
        "idle-reset",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = tcpsim(&[
        "analyze",
        &observed("keepalive-60s-survives.txt"),
        "--expect",
        "no-such-thing",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown signature"), "{}", stderr(&o));
}

// Proves --json prints {"connections", "findings"}, each tagged with its capture, over several
// inputs, including a run directory.
#[test]
fn analyze_json_over_inputs() {
    let dir = scratch("cli_analyze_json").join("run");
    assert_eq!(
        tcpsim(&["run", "models/esp32-wifi-stale-fin.toml", "--out", p(&dir)])
            .status
            .code(),
        Some(0)
    );
    let o = tcpsim(&[
        "analyze",
        "--json",
        &observed("keepalive-100s-reset.txt"),
        p(&dir),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let sigs: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["signature"].as_str().unwrap())
        .collect();
    assert_eq!(sigs, ["idle-reset", "stale-seq-after-fin"]);
    assert_eq!(v["connections"].as_array().unwrap().len(), 2);
    assert!(
        v["findings"][1]["capture"]
            .as_str()
            .unwrap()
            .ends_with("trace.pcap")
    );
}

// Proves pcapng (converted from our pcap by editcap) analyses exactly as the pcap does, and so does
// the run's trace.txt, whose tcpdump-style relative sequence numbers the analysis must undo.
#[test]
fn analyze_pcapng_same_as_pcap() {
    if !crate::have_tool("editcap", "analyze_pcapng_same_as_pcap") {
        return;
    }
    let dir = scratch("cli_pcapng");
    let run = dir.join("run");
    assert_eq!(
        tcpsim(&["run", "models/esp32-wifi-stale-fin.toml", "--out", p(&run)])
            .status
            .code(),
        Some(0)
    );
    let ng = dir.join("trace.pcapng");
    let e = Command::new("editcap")
        .args(["-F", "pcapng", p(&run.join("trace.pcap")), p(&ng)])
        .output()
        .expect("editcap is installed with tshark");
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    let a = tcpsim(&["analyze", "--json", p(&run.join("trace.pcap"))]);
    let b = tcpsim(&["analyze", "--json", p(&ng)]);
    let strip = |o: &Output| {
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        for c in v["connections"].as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("capture");
        }
        for c in v["findings"].as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("capture");
        }
        v
    };
    let c = tcpsim(&["analyze", "--json", p(&run.join("trace.txt"))]);
    assert_eq!(strip(&a), strip(&b));
    assert_eq!(strip(&a), strip(&c));
    assert_eq!(strip(&a)["findings"].as_array().unwrap().len(), 1);
}

// Proves empty, corrupt and truncated captures exit 2 with a message naming the file, and a text
// line that is not a packet names its line; --lenient turns that into a warning.
#[test]
fn analyze_bad_captures() {
    let dir = scratch("cli_bad_captures");
    let empty = dir.join("empty.txt");
    fs::write(&empty, "").unwrap();
    let junk = dir.join("junk.txt");
    // 8 newline-terminated lines, a blank line 9, then the junk on line 10.
    fs::write(
        &junk,
        format!(
            "{}\nthis is not a packet\n",
            fs::read_to_string(observed("keepalive-100s-reset.txt")).unwrap()
        ),
    )
    .unwrap();
    let run = dir.join("run");
    assert_eq!(
        tcpsim(&[
            "run",
            "models/esp32-wifi-stale-fin.toml",
            "--out",
            p(&run),
            "--outputs",
            "pcap"
        ])
        .status
        .code(),
        Some(0)
    );
    let pcap = fs::read(run.join("trace.pcap")).unwrap();
    let cut = dir.join("cut.pcap");
    fs::write(&cut, &pcap[..pcap.len() / 2]).unwrap();
    let mut bad = pcap.clone();
    bad[24..40].fill(0xff);
    let corrupt = dir.join("corrupt.pcap");
    fs::write(&corrupt, &bad).unwrap();
    for (f, needle) in [
        (&empty, "empty"),
        (&junk, "junk.txt:10:"),
        (&cut, "truncated"),
        (&corrupt, "corrupt.pcap"),
    ] {
        let o = tcpsim(&["analyze", p(f)]);
        assert_eq!(o.status.code(), Some(2), "{}", f.display());
        let err = stderr(&o);
        assert!(
            err.contains(needle) && !err.contains("panicked"),
            "{}: {err}",
            f.display()
        );
    }
    let o = tcpsim(&["analyze", p(&junk), "--lenient", "--expect", "idle-reset"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("skipped 1 line"), "{}", stderr(&o));
}

// Proves the search/sweep/mitigate commands' exit codes: a found reproducer is written and exits 0
// (and `tcpsim run` on it finds the signature); nothing found exits 1; an unknown signature, a bad
// --param or --shard exits 2.
#[test]
fn search_sweep_mitigate_cli() {
    let dir = scratch("cli_search");
    let repro = dir.join("repro.toml");
    let o = tcpsim(&[
        "search",
        "models/esp32-wifi-generic.toml",
        "--target",
        "stale-seq-after-fin",
        "--match",
        &observed("esp32-wifi-stale-fin-a.txt"),
        "--cases",
        "100",
        "--out",
        p(&repro),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("ack_to_stale_s"));
    let run = dir.join("run");
    assert_eq!(
        tcpsim(&["run", p(&repro), "--out", p(&run)]).status.code(),
        Some(0)
    );
    assert!(
        fs::read_to_string(run.join("summary.json"))
            .unwrap()
            .contains("stale-seq-after-fin")
    );
    let none = tcpsim(&[
        "search",
        "models/esp32-wifi-generic.toml",
        "--target",
        "one-way-stall",
        "--cases",
        "3",
        "--out",
        p(&dir.join("none.toml")),
    ]);
    assert_eq!(none.status.code(), Some(1));
    assert!(!dir.join("none.toml").exists());
    for args in [
        vec![
            "search",
            "models/esp32-wifi-generic.toml",
            "--target",
            "nope",
        ],
        vec![
            "sweep",
            "models/esp32-wifi-stale-fin.toml",
            "--param",
            "seed=1..2",
        ],
        vec![
            "sweep",
            "models/esp32-wifi-stale-fin.toml",
            "--param",
            "seed=1..2:2",
            "--shard",
            "3/2",
        ],
        vec![
            "mitigate",
            "models/esp32-wifi-stale-fin.toml",
            "--target",
            "stale-seq-after-fin",
            "--try",
            "client.tcp.colour=red",
        ],
    ] {
        let o = tcpsim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
    let o = tcpsim(&[
        "mitigate",
        "models/esp32-wifi-stale-fin.toml",
        "--target",
        "stale-seq-after-fin",
        "--try",
        "server.idle_timeout=30s",
        "--seeds",
        "2",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[1]["rate"], 0.0);
}

// Proves `run --plot` writes timeline.svg, `plot RUN_DIR` redraws the same bytes, and bad plot
// inputs exit 2.
#[test]
fn plot_cli() {
    let dir = scratch("cli_plot");
    let run = dir.join("run");
    let o = tcpsim(&[
        "run",
        "models/esp32-wifi-stale-fin.toml",
        "--out",
        p(&run),
        "--plot",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let first = fs::read(run.join("timeline.svg")).unwrap();
    let again = dir.join("again.svg");
    assert_eq!(
        tcpsim(&["plot", p(&run), "--out", p(&again)]).status.code(),
        Some(0)
    );
    assert!(
        fs::read(&again).unwrap() == first,
        "plot of the run directory differs from run --plot"
    );
    let empty = dir.join("empty");
    fs::create_dir_all(&empty).unwrap();
    for args in [
        vec!["plot", p(&dir.join("missing.txt"))],
        vec!["plot", p(&empty)],
        vec!["plot", p(&run), "--from", "50", "--to", "10"],
    ] {
        let o = tcpsim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
    let o = tcpsim(&[
        "plot",
        &observed("keepalive-100s-reset.txt"),
        "--out",
        p(&dir.join("ka.svg")),
        "--conn",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

// Proves a closed stdout pipe is not an error (exit 0, no panic): the reader goes away after 10 bytes
// of a sweep CSV far larger than the pipe buffer.
#[test]
fn broken_pipe_is_success() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .args([
            "sweep",
            "models/gateway-zero-read-eof.toml",
            "--param",
            "seed=1..4000:4000",
            "--jobs",
            "1",
        ])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    assert_eq!(&first, b"kind,cell,");
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// Proves the regression of issue 12, item 5: no output replaces an input. A text capture named
// `.svg` is plotted beside itself (`cap.timeline.svg`) and left as it was; `--out` naming the input
// (directly, or through another spelling of its path) is refused with exit 2 for plot, search,
// sweep and test --junit, and every input keeps its bytes.
#[test]
fn issue_12_outputs_never_replace_inputs() {
    let dir = scratch("cli_over_input");
    let cap = dir.join("cap.svg");
    fs::copy(observed("esp32-wifi-stale-fin-a.txt"), &cap).unwrap();
    let cap_bytes = fs::read(&cap).unwrap();
    let o = tcpsim(&["plot", p(&cap)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        fs::read(&cap).unwrap(),
        cap_bytes,
        "the capture was replaced"
    );
    assert!(dir.join("cap.timeline.svg").is_file());

    let model = dir.join("m.toml");
    fs::copy(root().join("models/esp32-wifi-stale-fin.toml"), &model).unwrap();
    let model_bytes = fs::read(&model).unwrap();
    let other_spelling = dir.join(".").join("m.toml");
    for args in [
        vec!["plot", p(&cap), "--out", p(&cap)],
        vec![
            "search",
            p(&model),
            "--target",
            "stale-seq-after-fin",
            "--cases",
            "20",
            "--out",
            p(&model),
        ],
        vec![
            "sweep",
            p(&model),
            "--param",
            "server.idle_timeout=10s..20s:2",
            "--out",
            p(&other_spelling),
        ],
        vec!["test", p(&model), "--junit", p(&model)],
    ] {
        let o = tcpsim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("refusing to write"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert_eq!(
            fs::read(&cap).unwrap(),
            cap_bytes,
            "{args:?} replaced the capture"
        );
        assert_eq!(
            fs::read(&model).unwrap(),
            model_bytes,
            "{args:?} replaced the model"
        );
    }
}

// Proves the regression of issue 12, item 3: `--out` is resolved before anything is replaced.
// `od/.` and `od/../od` replace `od` itself (outputs land in it, nothing stranded beside it);
// `.` and a parent of the current directory are refused; a directory holding a file tcpsim did
// not write (even beside a `run.toml`) is refused with --force and keeps every file.
#[test]
fn issue_12_force_replaces_only_tcpsim_outputs() {
    let dir = scratch("cli_force_resolve");
    let run = |out: &str| {
        Command::new(env!("CARGO_BIN_EXE_tcpsim"))
            .args(["run", p(&root().join("models/close-wait-leak.toml"))])
            .args(["--out", out, "--force", "--outputs", "summary"])
            .current_dir(&dir)
            .output()
            .expect("runs")
    };
    assert_eq!(run("od").status.code(), Some(0));
    for spelling in ["od/.", "od/../od"] {
        let o = run(spelling);
        assert_eq!(o.status.code(), Some(0), "{spelling}: {}", stderr(&o));
        assert!(dir.join("od/summary.json").is_file(), "{spelling}");
    }
    for spelling in [".", "od/.."] {
        let o = run(spelling);
        assert_eq!(o.status.code(), Some(2), "{spelling}: {}", stderr(&o));
        assert!(stderr(&o).contains("current directory"), "{}", stderr(&o));
    }
    fs::create_dir(dir.join("keep")).unwrap();
    fs::write(dir.join("keep/run.toml"), "").unwrap();
    fs::write(dir.join("keep/mine.txt"), "precious").unwrap();
    let o = run("keep");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(dir.join("keep/mine.txt")).unwrap(),
        "precious"
    );
    let stranded: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(
        stranded.is_empty(),
        "temporary directories left: {stranded:?}"
    );
}

// Proves the regression of issue 12, item 10 (errors in the user's terms): a file of zeros is
// called binary data in one short line, and broken pcap data is described without the parser
// crate's type names (`HeaderNotRecognized`, `NomError`, `BufferTooSmall`, `UnexpectedEof`).
#[test]
fn issue_12_capture_errors_in_user_terms() {
    let dir = scratch("cli_capture_errors");
    let zeros = dir.join("zeros.pcap");
    fs::write(&zeros, vec![0u8; 20 << 20]).unwrap();
    let mut truncated = vec![0xd4, 0xc3, 0xb2, 0xa1];
    truncated.extend_from_slice(b"garbage");
    let short = dir.join("short.pcap");
    fs::write(&short, truncated).unwrap();
    for (file, says) in [(&zeros, "binary data"), (&short, "truncated")] {
        let o = tcpsim(&["analyze", p(file)]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(e.contains(says), "{e}");
        assert!(e.len() < 300, "a {} byte message", e.len());
        for internal in [
            "HeaderNotRecognized",
            "NomError",
            "BufferTooSmall",
            "UnexpectedEof",
        ] {
            assert!(!e.contains(internal), "{e}");
        }
    }
}

// Proves the regression of issue 12, item 9: a run interrupted by SIGINT or SIGTERM removes its
// temporary directory and exits 130, and a temporary directory left by a killed run (its process
// gone) is removed by the next run to the same place. Unix only (signals sent with `kill`).
#[cfg(unix)]
#[test]
fn issue_12_interrupted_runs_leave_nothing() {
    let dir = scratch("cli_interrupt");
    let partials = || -> Vec<String> {
        fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".partial"))
            .collect()
    };
    for signal in ["-INT", "-TERM"] {
        // A stale directory of a process that cannot exist (above any pid_max).
        fs::create_dir(dir.join(".od.4294967294-0.partial")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
            .args(["run", p(&root().join("models/esp32-wifi-telemetry.toml"))])
            .args(["--duration", "100h", "--out", "od"])
            .current_dir(&dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while partials().len() != 1 || partials()[0].contains("4294967294") {
            assert!(
                started.elapsed().as_secs() < 10,
                "run never started: {:?}",
                partials()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let pid = child.id().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{signal}: {status:?}");
        assert!(partials().is_empty(), "{signal}: left {:?}", partials());
        assert!(!dir.join("od").exists(), "{signal}: a half-written od");
    }
}
