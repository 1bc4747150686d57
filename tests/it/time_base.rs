//! Issue 11, items 2 and 3: analysis without NaN, and one time base. Reports show each time as
//! the capture shows it and as seconds since its first packet; `plot --from/--to` take both forms;
//! an empty window is an error; captures are drawn in the same orientation as runs.

use std::process::Output;

use crate::cli::tcpsim;
use crate::plots::texts;
use crate::{root, scratch};

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const B: &str = "tests/data/observed/esp32-wifi-stale-fin-b.txt";

// Proves `analyze` shows times as the capture prints them (13:52:27.497668, a tcpdump time of day)
// and as seconds since its first packet, in the text and in the JSON (`*_s` and `*_time`), where
// it used to print seconds since midnight (49947.497668 s).
#[test]
fn analyze_shows_both_forms() {
    let text = ok(&tcpsim(&["analyze", B]));
    assert!(
        text.contains("13:52:27.497668 (+0.000000 s) .. 13:53:24.164826 (+56.667158 s)"),
        "{text}"
    );
    assert!(
        text.contains("FINDING stale-seq-after-fin at 13:53:24.164800 (+56.667132 s)"),
        "{text}"
    );
    assert!(!text.contains("49947"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&tcpsim(&["analyze", "--json", B]))).unwrap();
    let c = &json["connections"][0];
    assert_eq!(c["first_s"], 0.0);
    assert_eq!(c["first_time"], "13:52:27.497668");
    assert_eq!(c["silences"][0]["start_time"], "13:52:28.084207");
    let f = &json["findings"][0];
    assert_eq!(f["at_s"], 56.667132);
    assert_eq!(f["at_time"], "13:53:24.164800");
    // No NaN anywhere: serde_json writes NaN as null; every feature is a number.
    let features = f["features"].as_object().unwrap();
    assert!(features.values().all(|v| v.is_f64()), "{f}");
    assert!(!text.contains("NaN"), "{text}");
    assert_eq!(f["features"]["stale_since_hole_s"], 46.290323);
    assert_eq!(f["features"]["idle_before_fin_is_lower_bound"], 0.0);
}

// Proves a capture that starts inside the silence (the device's lost segment and everything before
// the FIN's silence are not in it) reports the idle time before the FIN as a bound, flagged, not
// NaN; and that a FIN sent twice is recorded with FIN→ACK from the first and from the last.
#[test]
fn capture_starting_in_the_silence() {
    let dir = scratch("time_base_silence");
    let cap = dir.join("late.txt");
    std::fs::write(
        &cap,
        "13:52:40.000000 IP srv.20271 > dev.57443: Flags [.], ack 100300, win 65535, length 0\n\
         13:52:52.847055 IP srv.20271 > dev.57443: Flags [F.], seq 167, ack 100300, win 65535, length 0\n\
         13:52:53.067055 IP srv.20271 > dev.57443: Flags [F.], seq 167, ack 100300, win 65535, length 0\n\
         13:52:53.104287 IP dev.57443 > srv.20271: Flags [.], ack 168, win 5593, length 0\n\
         13:53:24.164800 IP dev.57443 > srv.20271: Flags [P.], seq 100300:101278, ack 168, win 5593, length 978\n\
         13:53:24.164826 IP srv.20271 > dev.57443: Flags [R], seq 4269714103, win 0, length 0\n",
    )
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&ok(&tcpsim(&["analyze", "--json", cap.to_str().unwrap()]))).unwrap();
    let f = &json["findings"][0]["features"];
    assert_eq!(f["idle_before_fin_s"], 12.847055, "{f}");
    assert_eq!(f["idle_before_fin_is_lower_bound"], 1.0);
    assert_eq!(f["fin_retransmitted"], 1.0);
    assert_eq!(f["fin_to_ack_s"], 0.257232);
    assert_eq!(f["last_fin_to_ack_s"], 0.037232);
    let svg = dir.join("late.svg");
    ok(&tcpsim(&[
        "plot",
        cap.to_str().unwrap(),
        "--out",
        svg.to_str().unwrap(),
    ]));
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(!svg.contains("NaN"));
    assert!(
        texts(&svg)
            .iter()
            .any(|t| t.starts_with("server FIN after ≥12.85 s idle")),
        "{:?}",
        texts(&svg)
    );
}

// Proves `plot --from/--to` take the capture's time of day as well as seconds since its first
// packet (the same window draws the same SVG), and that a window holding none of the capture is
// an error (exit 2) naming the capture's span in both forms; before, `--from 51403` drew nothing.
#[test]
fn plot_windows_in_both_forms() {
    let dir = scratch("time_base_plot");
    let out = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let (a, b) = (out("tod.svg"), out("secs.svg"));
    ok(&tcpsim(&[
        "plot", B, "--from", "13:52:50", "--to", "13:53:30", "--out", &a,
    ]));
    ok(&tcpsim(&[
        "plot",
        B,
        "--from",
        "22.502332",
        "--to",
        "62.502332",
        "--out",
        &b,
    ]));
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert_eq!(a, b);
    let o = tcpsim(&["plot", B, "--from", "51403", "--out", &out("none.svg")]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("empty time window")
            && e.contains(
                "the capture spans 13:52:27.497668 (+0.000000 s) .. 13:53:24.164826 (+56.667158 s)"
            ),
        "{e}"
    );
    assert!(!dir.join("none.svg").exists());
    let o = tcpsim(&[
        "plot",
        B,
        "--from",
        "2026-11-21 13:52:50",
        "--out",
        &out("d.svg"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no date"));
}

// Proves a capture is drawn in a run's orientation, the client (the device) first: capture b
// begins with the server's ACK, and its first panel is still the device's data to the server,
// as in the plot of its model.
#[test]
fn captures_and_runs_in_the_same_orientation() {
    let dir = scratch("time_base_orientation");
    let svg = dir.join("b.svg");
    ok(&tcpsim(&["plot", B, "--out", svg.to_str().unwrap()]));
    let t = texts(&std::fs::read_to_string(&svg).unwrap());
    let flows: Vec<&String> = t.iter().filter(|s| s.contains(" → ")).collect();
    assert!(
        flows[0].starts_with("192.168.31.204.57443 → laios54-manjaro.20271"),
        "{flows:?}"
    );
    let run = dir.join("run");
    ok(&tcpsim(&[
        "run",
        "models/esp32-wifi-stale-fin-b.toml",
        "--outputs",
        "none",
        "--plot",
        "--out",
        run.to_str().unwrap(),
    ]));
    let t = texts(&std::fs::read_to_string(run.join("timeline.svg")).unwrap());
    let flows: Vec<&String> = t.iter().filter(|s| s.contains(" → ")).collect();
    assert!(flows[0].starts_with("192.168.31.204."), "{flows:?}");
}

// Proves `plot --lenient` skips lines that are not packets and says so, as `analyze --lenient`
// does; without it the same capture is an error naming the line.
#[test]
fn plot_lenient() {
    let dir = scratch("time_base_lenient");
    let cap = dir.join("junk.txt");
    let text = std::fs::read_to_string(root().join(B)).unwrap();
    std::fs::write(&cap, format!("{text}this is not a packet\n")).unwrap();
    let svg = dir.join("junk.svg");
    let (c, s) = (cap.to_str().unwrap(), svg.to_str().unwrap());
    let o = tcpsim(&["plot", c, "--out", s]);
    assert_eq!(o.status.code(), Some(2));
    let junk_line = format!("junk.txt:{}:", text.lines().count() + 1);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&junk_line),
        "{o:?}"
    );
    let o = tcpsim(&["plot", c, "--lenient", "--out", s]);
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("skipped 1 line"),
        "{o:?}"
    );
    assert!(svg.exists());
}
