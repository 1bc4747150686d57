//! Issue 12 (reliability): bounded and streaming reads, limits refused up front, one writer per
//! output, the largest seed, and the fuzz corpus replayed on stable. Each test failed before the
//! change it covers.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::{root, scratch};

fn tcpsim_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("piped");
        // A closed pipe (the command refused early) is not the test's failure.
        let _ = pipe.write_all(bytes);
    }
    child.wait_with_output().expect("waits")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn model_path(name: &str) -> String {
    root().join("models").join(name).display().to_string()
}

/// A small simulated run's capture files.
fn small_run(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("run");
    let o = tcpsim_in(
        dir,
        &[
            "run",
            &model_path("esp32-wifi-stale-fin.toml"),
            "--out",
            out.to_str().unwrap(),
            "--force",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    out
}

// Proves `-` reads standard input for `check`, `analyze` (text and pcap) and `plot`, and that a
// FIFO streams: all of these failed or saw nothing before (the importer seeked back to the start).
#[test]
fn stdin_and_fifos_stream() {
    let dir = scratch("rel_stdin");
    let run = small_run(&dir);
    let model = fs::read(root().join("models/esp32-wifi-stale-fin.toml")).unwrap();
    let o = tcpsim_in(&dir, &["check", "-"], Some(&model));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let by_file = tcpsim_in(
        &dir,
        &["analyze", run.join("trace.pcap").to_str().unwrap()],
        None,
    );
    for f in ["trace.pcap", "trace.txt"] {
        let bytes = fs::read(run.join(f)).unwrap();
        let o = tcpsim_in(&dir, &["analyze", "-"], Some(&bytes));
        assert_eq!(o.status.code(), Some(0), "{f}: {}", text(&o.stderr));
        // Same analysis as from the file (the first line names the input).
        let skip_name = |b: &[u8]| text(b).lines().skip(1).collect::<Vec<_>>().join("\n");
        assert_eq!(skip_name(&o.stdout), skip_name(&by_file.stdout), "{f}");
    }
    let bytes = fs::read(run.join("trace.pcap")).unwrap();
    let o = tcpsim_in(&dir, &["plot", "-", "--out", "p.svg"], Some(&bytes));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        fs::read_to_string(dir.join("p.svg"))
            .unwrap()
            .contains("<svg")
    );

    #[cfg(unix)]
    {
        let fifo = dir.join("fifo");
        let made = Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let writer = {
                let fifo = fifo.clone();
                std::thread::spawn(move || fs::write(fifo, bytes).unwrap())
            };
            let o = tcpsim_in(&dir, &["analyze", fifo.to_str().unwrap()], None);
            writer.join().unwrap();
            assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
            assert!(text(&o.stdout).contains("stale-seq-after-fin"));
        }
    }
}

// Proves readers are bounded: /dev/zero and a 3 MB line are refused after at most a little more
// than their limit (they used to be read whole: 2-15 GB), a model larger than 1 MB is refused,
// and a pcap record larger than 256 KB is an error naming its byte offset.
#[test]
fn reads_are_bounded() {
    let dir = scratch("rel_bounded");
    for args in [
        vec!["analyze", "/dev/zero"],
        vec!["plot", "/dev/zero", "--out", "z.svg"],
        vec!["check", "/dev/zero"],
    ] {
        let o = tcpsim_in(&dir, &args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).len() < 300, "{}", text(&o.stderr));
    }
    let long = dir.join("long.txt");
    fs::write(&long, vec![b'a'; 3 << 20]).unwrap();
    let o = tcpsim_in(&dir, &["analyze", long.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains(":1: a line longer than 1 MB"),
        "{}",
        text(&o.stderr)
    );

    // A pcap header, then one record claiming 300 KB of captured bytes (and having them).
    let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    pcap.extend_from_slice(&[0; 8]);
    pcap.extend_from_slice(&(1u32 << 20).to_le_bytes());
    pcap.extend_from_slice(&1u32.to_le_bytes());
    let len = 300u32 << 10;
    pcap.extend_from_slice(&[0; 8]);
    pcap.extend_from_slice(&len.to_le_bytes());
    pcap.extend_from_slice(&len.to_le_bytes());
    pcap.extend(std::iter::repeat_n(0u8, len as usize));
    let big = dir.join("big.pcap");
    fs::write(&big, pcap).unwrap();
    let o = tcpsim_in(&dir, &["analyze", big.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("the record at byte 24 is larger than 256 KB"),
        "{}",
        text(&o.stderr)
    );
}

// Proves a record between 64 KB (the reader's first buffer) and 256 KB is read, not refused: it
// used to be "a block is larger than 64 KiB".
#[test]
fn large_pcap_records_are_read() {
    let dir = scratch("rel_large_record");
    let run = small_run(&dir);
    let mut pcap = fs::read(run.join("trace.pcap")).unwrap();
    // One more record: 100 KB of zeros (a non-TCP frame) at the end.
    let len = 100u32 << 10;
    pcap.extend_from_slice(&[0; 8]);
    pcap.extend_from_slice(&len.to_le_bytes());
    pcap.extend_from_slice(&len.to_le_bytes());
    pcap.extend(std::iter::repeat_n(0u8, len as usize));
    let file = dir.join("jumbo.pcap");
    fs::write(&file, pcap).unwrap();
    let o = tcpsim_in(&dir, &["analyze", file.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("1 non-TCP packets skipped"),
        "{}",
        text(&o.stdout)
    );
}

// Proves grids and seed counts over the documented limits are refused before anything runs (three
// 10,000-step parameters used to abort allocating 8 TB; mitigate --seeds 4294967295 aborted).
#[test]
fn grids_and_seeds_are_limited() {
    let dir = scratch("rel_limits");
    let m = model_path("esp32-wifi-stale-fin.toml");
    let o = tcpsim_in(
        &dir,
        &[
            "sweep",
            &m,
            "--param",
            "server.idle_timeout=1s..100s:10000",
            "--param",
            "link.uplink.delay=1ms..9ms:10000",
            "--param",
            "link.downlink.delay=1ms..9ms:10000",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("the grid is too large"),
        "{}",
        text(&o.stderr)
    );
    for args in [
        vec![
            "sweep",
            &m,
            "--param",
            "server.idle_timeout=10s..20s:2",
            "--seeds",
            "4294967295",
        ],
        vec![
            "mitigate",
            &m,
            "--target",
            "stale-seq-after-fin",
            "--try",
            "server.idle_timeout=30s",
            "--seeds",
            "4294967295",
        ],
    ] {
        let o = tcpsim_in(&dir, &args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            text(&o.stderr).contains("expected 1 to 100000"),
            "{}",
            text(&o.stderr)
        );
    }
}

// Proves a sweep streams its rows (blocks of runs written as they finish) with the same bytes as
// when all were held: a 3,000-run sweep (three blocks) equals its two shards concatenated, and every
// cell row follows its runs.
#[test]
fn sweep_rows_stream_in_order() {
    use tcpsim::search::sweep::{Shard, Sweep, parse_param};
    let path = root().join("models/keepalive-vs-idle-timeout.toml");
    let text_ = fs::read_to_string(&path).unwrap();
    let params = [parse_param("server.idle_timeout=60s..400s:1500").unwrap()];
    let sweep = |index, count| Sweep {
        text: &text_,
        path: &path,
        params: &params,
        seeds: 2,
        shard: Shard { index, count },
        threads: 2,
    };
    let whole = sweep(1, 1).run(&|_, _| {}).unwrap();
    let halves = sweep(1, 2).run(&|_, _| {}).unwrap() + &sweep(2, 2).run(&|_, _| {}).unwrap();
    assert_eq!(whole, halves);
    let rows: Vec<&str> = whole.lines().skip(1).collect();
    assert_eq!(rows.len(), 1500 * 3);
    for (c, cell) in rows.chunks(3).enumerate() {
        assert!(
            cell[0].starts_with(&format!("run,{c},{},", 2 * c)),
            "{}",
            cell[0]
        );
        assert!(
            cell[1].starts_with(&format!("run,{c},{},", 2 * c + 1)),
            "{}",
            cell[1]
        );
        assert!(cell[2].starts_with(&format!("cell,{c},,")), "{}", cell[2]);
    }
}

// Proves two runs to one --out at once never mix: of six concurrent runs with different seeds, the
// ones that finish write the directory whole (run.toml and summary.json agree on the seed) and the
// others exit 2 saying another run is writing it; no lock file is left behind.
#[test]
fn concurrent_runs_to_one_place() {
    let dir = scratch("rel_lock");
    let m = model_path("esp32-wifi-telemetry.toml");
    let children: Vec<_> = (1..=6)
        .map(|seed| {
            Command::new(env!("CARGO_BIN_EXE_tcpsim"))
                .args(["run", &m, "--duration", "2h", "--out", "od", "--force"])
                .args(["--set", &format!("seed={seed}")])
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ok = 0;
    for c in children {
        let o = c.wait_with_output().unwrap();
        match o.status.code() {
            Some(0) => ok += 1,
            Some(2) => assert!(
                text(&o.stderr).contains("being written by another tcpsim run"),
                "{}",
                text(&o.stderr)
            ),
            other => panic!("exit {other:?}: {}", text(&o.stderr)),
        }
    }
    assert!(ok >= 1);
    let toml = fs::read_to_string(dir.join("od/run.toml")).unwrap();
    let summary = fs::read_to_string(dir.join("od/summary.json")).unwrap();
    let seed = toml
        .lines()
        .find_map(|l| l.strip_prefix("seed = "))
        .unwrap();
    assert!(
        summary.contains(&format!("\"seed\": {seed},")),
        "{seed} vs {summary}"
    );
    let left: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "od")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

// Proves the largest seed works through --set as in a file (TOML integers stop at 2^63-1, so the
// override arrives as a string), and that a bad seed is named in the user's terms.
#[test]
fn largest_seed_through_set() {
    let dir = scratch("rel_seed");
    let m = model_path("esp32-wifi-telemetry.toml");
    let o = tcpsim_in(
        &dir,
        &["check", &m, "--set", "seed=18446744073709551615"],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("seed 18446744073709551615"));
    for (bad, says) in [
        ("-1", "integer `-1`"),
        ("18446744073709551616", "found \"184"),
    ] {
        let o = tcpsim_in(&dir, &["check", &m, "--set", &format!("seed={bad}")], None);
        assert_eq!(o.status.code(), Some(2));
        let e = text(&o.stderr);
        assert!(
            e.contains("expected an integer from 0 to 18446744073709551615"),
            "{e}"
        );
        assert!(e.contains(says), "{e}");
        assert!(!e.contains("enum"), "{e}");
    }
}

// Proves every fuzz target's corpus (the committed seeds and any regression inputs) goes through
// the same entry points as `cargo fuzz` without a panic: the stable smoke test of the fuzz targets.
#[test]
fn fuzz_corpus_replays() {
    type Entry = fn(&[u8]);
    let targets: [(&str, Entry); 4] = [
        ("model", tcpsim::fuzzing::model),
        ("capture", tcpsim::fuzzing::capture),
        ("pcap", tcpsim::fuzzing::pcap),
        ("plot", tcpsim::fuzzing::plot),
    ];
    for (name, entry) in targets {
        let mut n = 0;
        for sub in ["seeds", "regressions"] {
            let Ok(dir) = fs::read_dir(root().join("fuzz").join(sub).join(name)) else {
                continue;
            };
            let mut files: Vec<_> = dir.map(|e| e.unwrap().path()).collect();
            files.sort();
            for f in files {
                entry(&fs::read(&f).unwrap());
                n += 1;
            }
        }
        assert!(n > 0, "no corpus for fuzz target {name}");
    }
}

// Proves model errors stay readable whatever the user pasted: a 5,000-character value or key in an
// override (or a file) is cut to its head, tail and length, where the whole value used to be
// echoed (10-15 KB per message).
#[test]
fn long_values_are_clipped_in_errors() {
    let dir = scratch("rel_clip");
    let m = model_path("esp32-wifi-telemetry.toml");
    let long = "A".repeat(5000);
    for set in [
        format!("link.outage.kind=\"{long}\""),
        format!("{long}=1"),
        format!("duration=\"{long}s\""),
    ] {
        let o = tcpsim_in(&dir, &["check", &m, "--set", &set], None);
        assert_eq!(o.status.code(), Some(2));
        let e = text(&o.stderr);
        assert!(e.len() < 700, "{} bytes: {e}", e.len());
        assert!(e.contains("characters)"), "{e}");
    }
}

/// Runs tcpsim in `dir` with standard input read from the file `stdin`.
fn tcpsim_stdin_file(dir: &Path, args: &[&str], stdin: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .args(args)
        .current_dir(dir)
        .stdin(fs::File::open(stdin).expect("stdin file"))
        .output()
        .expect("runs")
}

// Proves the stress review's output findings stay fixed (exit 2, nothing replaced):
// - an output naming a FIFO or a directory is refused even with --force (as root, `plot --out
//   /dev/null` used to replace the device with a regular file; a FIFO is the same check, testable
//   without root), and the FIFO and the directory are left as they were;
// - `plot --with RUN_DIR --out RUN_DIR/trace.pcap` is refused: the run's capture is an input;
// - `plot - --out c.txt < c.txt` is refused: standard input reading a file makes that file an input;
// - `plot - --with -` says standard input can be read once, and `plot - --with CAP` writes
//   `compare.svg` (it wrote a file named `-.compare.svg`);
// - `tcpsim test` on a model stored where its own counterexample would be saved refuses to write
//   over it (it replaced the model).
#[test]
#[cfg(unix)]
fn outputs_never_replace_special_files_or_stdin_inputs() {
    let dir = scratch("rel_special_outputs");
    let cap = dir.join("c.txt");
    fs::copy(
        root().join("tests/data/observed/esp32-wifi-stale-fin-a.txt"),
        &cap,
    )
    .unwrap();
    let cap_bytes = fs::read(&cap).unwrap();
    let refused = |o: &Output, says: &str| {
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        assert!(text(&o.stderr).contains(says), "{}", text(&o.stderr));
    };

    let fifo = dir.join("fifo");
    if Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        let o = tcpsim_in(&dir, &["plot", "c.txt", "--out", "fifo"], None);
        refused(
            &o,
            "refusing to write fifo: it is a FIFO, not a regular file",
        );
        use std::os::unix::fs::FileTypeExt;
        assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
    } else {
        eprintln!("SKIPPED (FIFO part): mkfifo is not available");
    }
    fs::create_dir_all(dir.join("d")).unwrap();
    let model = model_path("esp32-wifi-generic.toml");
    let args = [
        "search",
        &model,
        "--target",
        "stale-seq-after-fin",
        "--out",
        "d",
        "--force",
    ];
    refused(
        &tcpsim_in(&dir, &args, None),
        "refusing to write d: it is a directory",
    );
    assert!(dir.join("d").is_dir());

    let run = small_run(&dir);
    let pcap = fs::read(run.join("trace.pcap")).unwrap();
    let args = ["plot", "c.txt", "--with", "run", "--out", "run/trace.pcap"];
    refused(
        &tcpsim_in(&dir, &args, None),
        "it is the input run/trace.pcap",
    );
    assert_eq!(fs::read(run.join("trace.pcap")).unwrap(), pcap);

    let o = tcpsim_stdin_file(&dir, &["plot", "-", "--out", "c.txt"], &cap);
    refused(
        &o,
        "refusing to write c.txt: it is the input <standard input>",
    );
    assert_eq!(fs::read(&cap).unwrap(), cap_bytes);
    let o = tcpsim_stdin_file(&dir, &["plot", "-", "--with", "-"], &cap);
    refused(&o, "can be read only once");
    let o = tcpsim_stdin_file(&dir, &["plot", "-", "--with", "c.txt"], &cap);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(dir.join("compare.svg").is_file() && !dir.join("-.compare.svg").exists());

    let saved = dir.join("tcpsim-test/esp32-wifi-generic--no-stale-data-after-the-fin.toml");
    fs::create_dir_all(saved.parent().unwrap()).unwrap();
    let property =
        "\n[[expect]]\nname = \"no stale data after the FIN\"\nnever = \"stale-seq-after-fin\"\n";
    let body = fs::read_to_string(&model).unwrap() + property;
    fs::write(&saved, &body).unwrap();
    let saved_arg = saved.to_str().unwrap();
    let o = tcpsim_in(
        &dir,
        &["test", saved_arg, "--cases", "64", "--jobs", "1"],
        None,
    );
    refused(&o, "it is the input");
    assert_eq!(
        fs::read_to_string(&saved).unwrap(),
        body,
        "the model was replaced"
    );
}

// Proves the second stress review's output findings stay fixed, each refused with exit 2 before
// any work and with nothing written:
// - `run R/run.toml --out R --force` (it replaced its own model);
// - an output path ending in `/` or under a regular file (found only after the sweep had run);
// - `tcpsim test` with two models of one name (both counterexamples went to one file), with
//   `--junit` naming a counterexample file, and with a FIFO where a saved counterexample would be
//   (it blocked reading it).
#[test]
#[cfg(unix)]
fn outputs_checked_before_work() {
    let dir = scratch("rel_outputs_before_work");
    let refused = |o: &Output, says: &str| {
        assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
        assert!(text(&o.stderr).contains(says), "{}", text(&o.stderr));
        assert!(o.stdout.is_empty(), "work was done: {}", text(&o.stdout));
    };
    let run = small_run(&dir);
    let model = fs::read(run.join("run.toml")).unwrap();
    let args = ["run", "run/run.toml", "--out", "run", "--force"];
    refused(
        &tcpsim_in(&dir, &args, None),
        "it is the input run/run.toml",
    );
    assert_eq!(fs::read(run.join("run.toml")).unwrap(), model);

    fs::write(dir.join("f"), "a file").unwrap();
    let leak = model_path("close-wait-leak.toml");
    for (out, says) in [
        ("c.csv/", "it is a directory path"),
        ("f/x.csv", "its parent is not a directory"),
    ] {
        let args = [
            "sweep",
            &leak,
            "--param",
            "duration=1s..2s:2",
            "--out",
            out,
            "--force",
        ];
        refused(&tcpsim_in(&dir, &args, None), says);
    }
    assert!(!dir.join("c.csv").exists());
    // A run over a file said the file "holds files tcpsim did not write".
    let args = ["run", &leak, "--out", "f", "--force"];
    refused(&tcpsim_in(&dir, &args, None), "f is not a directory");
    assert_eq!(fs::read(dir.join("f")).unwrap(), b"a file");

    let generic = fs::read_to_string(model_path("esp32-wifi-generic.toml")).unwrap();
    let head = &generic[..generic.find("\n# Properties over").unwrap()];
    let body = format!("{head}\n[[expect]]\nname = \"fails\"\nnever = \"stale-seq-after-fin\"\n")
        .replace("name = \"esp32-wifi-generic\"", "name = \"foo\"");
    fs::write(dir.join("a.toml"), &body).unwrap();
    fs::write(dir.join("b.toml"), &body).unwrap();
    let saved = "tcpsim-test/foo--fails.toml";
    let o = tcpsim_in(&dir, &["test", "a.toml", "b.toml", "--cases", "8"], None);
    refused(
        &o,
        &format!("{saved} would be written twice: a.toml: \"fails\" and b.toml"),
    );
    let junit = format!("./{saved}"); // another spelling of the same file
    let o = tcpsim_in(
        &dir,
        &["test", "a.toml", "--cases", "8", "--junit", &junit],
        None,
    );
    refused(&o, "would be written twice: a.toml: \"fails\" and --junit");
    assert!(!dir.join(saved).exists());
    fs::create_dir_all(dir.join("tcpsim-test")).unwrap();
    if Command::new("mkfifo")
        .arg(dir.join(saved))
        .status()
        .is_ok_and(|s| s.success())
    {
        let o = tcpsim_in(&dir, &["test", "a.toml", "--cases", "8"], None);
        refused(&o, "it is a FIFO, not a regular file");
    } else {
        eprintln!("SKIPPED (FIFO part): mkfifo is not available");
    }
}
