//! Timeline plots and heatmaps: deterministic, showing what matters, inventing nothing, thinned.

use tcpsim::capture::TimeArg;
use tcpsim::plot::{PlotOptions, heatmap, timeline};
use tcpsim::run_trace;

use crate::{model, root};

/// The text of every `<text>` element.
pub(crate) fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|r| Some(r[r.find('>')? + 1..r.find("</text>")?].trim().to_string()))
        .collect()
}

fn has_text(svg: &str, label: &str) -> bool {
    texts(svg).iter().any(|t| t == label)
}

fn stale_fin_svg(opts: &PlotOptions) -> String {
    let s = model("esp32-wifi-stale-fin.toml");
    let (trace, _) = run_trace(&s).unwrap();
    timeline(&trace, s.capture, opts).unwrap()
}

// Proves the plot is a pure function of its input (byte for byte), and that for the stale-FIN model
// it shows what a reader needs: the outage band, the dropped retransmissions, the FIN and RST, the
// finding's measured delays, and the TCP states; text uses only the generic sans-serif family (no
// system font named).
#[test]
fn stale_fin_timeline() {
    let opts = PlotOptions::new("esp32-wifi-stale-fin");
    let a = stale_fin_svg(&opts);
    assert_eq!(a, stale_fin_svg(&opts));
    for label in [
        "link down (this direction)",
        "dropped (where sent)",
        "retransmission",
        "FIN",
        "RST",
        "server FIN after 15.20 s idle",
        "FIN ACKed +0.022 s",
        "stale data +6.85 s",
        "CLOSE-WAIT",
        "FIN-WAIT-2",
        "time (s)",
        "relative sequence (bytes)",
    ] {
        assert!(has_text(&a, label), "missing {label:?} in {:?}", texts(&a));
    }
    let families: std::collections::BTreeSet<&str> = a
        .split("font-family=\"")
        .skip(1)
        .map(|r| &r[..r.find('"').unwrap()])
        .collect();
    assert_eq!(families.into_iter().collect::<Vec<_>>(), ["sans-serif"]);
}

// Proves a time window restricts the axis: a 20–40 s window labels 20 s and 40 s and not 0 s.
#[test]
fn time_window() {
    let mut opts = PlotOptions::new("window");
    opts.from = Some(TimeArg::Seconds(20.0));
    opts.to = Some(TimeArg::Seconds(40.0));
    let svg = stale_fin_svg(&opts);
    assert!(
        has_text(&svg, "20.00") && has_text(&svg, "40.00"),
        "window labels"
    );
    assert!(!has_text(&svg, "0.00"));
    opts.from = Some(TimeArg::Seconds(50.0));
    opts.to = Some(TimeArg::Seconds(10.0));
    assert!(
        timeline(
            &run_trace(&model("esp32-wifi-stale-fin.toml")).unwrap().0,
            tcpsim::model::CapturePoint::Server,
            &opts
        )
        .is_err()
    );
}

// Proves a capture is drawn from what was captured only: no outage bands, fates or states are
// invented; its time axis starts at the first packet; the finding is annotated with its delays.
#[test]
fn capture_timeline_invents_nothing() {
    let path = root().join("tests/data/observed/esp32-wifi-stale-fin-b.txt");
    let (trace, _) = tcpsim::capture::import_trace(&path, Default::default()).unwrap();
    let svg = timeline(
        &trace,
        tcpsim::model::CapturePoint::Server,
        &PlotOptions::new("b"),
    )
    .unwrap();
    assert!(
        texts(&svg)
            .iter()
            .any(|t| t.ends_with("capture, t = 0 at its first packet (13:52:27.497668)"))
    );
    assert!(has_text(&svg, "stale data +31.28 s") && has_text(&svg, "FIN ACKed +0.037 s"));
    for invented in [
        "link down",
        "dropped",
        "held",
        "TCP state",
        "unacknowledged",
    ] {
        assert!(
            !texts(&svg).iter().any(|t| t.contains(invented)),
            "{invented:?} drawn for a capture"
        );
    }
    let mut opts = PlotOptions::new("b");
    opts.conn = 1;
    assert!(
        timeline(&trace, tcpsim::model::CapturePoint::Server, &opts).is_err(),
        "only one connection"
    );
}

// Proves long runs are thinned to the pixel columns: an hour of telemetry (~108,000 frames) draws
// a small fraction as many SVG elements, and still every kind of mark.
#[test]
fn hour_long_run_is_thinned() {
    let mut s = model("esp32-wifi-telemetry.toml");
    s.duration = tcpsim::model::Dur::secs(3600);
    let (trace, report) = run_trace(&s).unwrap();
    let frames = report.summary.uplink.frames.offered + report.summary.downlink.frames.offered;
    let svg = timeline(&trace, s.capture, &PlotOptions::new("hour")).unwrap();
    let elements = svg.matches('<').count() as u64;
    assert!(frames > 100_000, "{frames}");
    assert!(
        elements * 10 < frames,
        "{elements} SVG elements for {frames} frames"
    );
    assert!(has_text(&svg, "dropped (where sent)") && has_text(&svg, "link down (this direction)"));
}

// Proves the sweep heatmap shows each cell's rate: with a 30 s read timeout the stale FIN never
// happens (0%), with 10 s and a 12 s fade it always does (100%).
#[test]
fn sweep_heatmap() {
    let path = root().join("models/esp32-wifi-stale-fin.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let params = [
        tcpsim::search::sweep::parse_param("server.idle_timeout=10s..30s:2").unwrap(),
        tcpsim::search::sweep::parse_param("link.outage.windows.0.for=12s..12s:1").unwrap(),
    ];
    let csv = tcpsim::search::sweep::Sweep {
        text: &text,
        path: &path,
        params: &params,
        seeds: 1,
        shard: tcpsim::search::sweep::Shard { index: 1, count: 1 },
        threads: 1,
    }
    .run(&|_, _| {})
    .unwrap();
    let svg = heatmap(&csv, None, "sweep").unwrap();
    assert!(
        texts(&svg)
            .iter()
            .any(|t| t.ends_with("rate of stale-seq-after-fin"))
    );
    assert!(
        has_text(&svg, "100%") && has_text(&svg, "0%"),
        "{:?}",
        texts(&svg)
    );
    assert_eq!(svg, heatmap(&csv, None, "sweep").unwrap());
    assert!(heatmap("a,b\n1,2\n", None, "x").is_err());
}

/// Runs the tcpsim binary in the repository root.
fn tcpsim(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tcpsim"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

/// The `<text>` elements of the `i`-th nested panel (`<svg x="0" y=...>`) that are axis tick
/// labels of time (a number with two decimals).
fn time_ticks(svg: &str, i: usize) -> Vec<String> {
    let panel = svg.split("<svg x=\"0\"").nth(i + 1).unwrap();
    let panel = &panel[..panel.find("</svg>").unwrap()];
    texts(panel)
        .into_iter()
        .filter(|t| t.parse::<f64>().is_ok() && t.contains('.'))
        .collect()
}

// Proves `plot CAPTURE --with MODEL` (issue 10, item 8) draws both on one time axis aligned at the
// FIN: each panel says t = 0 is its first FIN (the capture's at 13:52:52.847055, as the capture
// shows it), the two panels carry the same time ticks (same window, so a time has one x position),
// and the table pairs the features: capture b against the committed stale-FIN model shows b's
// ACK→stale 31.280513 beside the model's own value; capture b against itself differs by zero in
// every feature. A capture without a FIN is an error naming it (exit 2), and no file is written.
#[test]
fn capture_with_reproducer_aligned_at_fin() {
    let dir = crate::scratch("plot_with");
    let plot_with = |capture: &str, with: &str, out: &std::path::Path| {
        let data = |f: &str| format!("tests/data/observed/{f}");
        let (capture, with) = (data(capture), with.replace("OBS/", "tests/data/observed/"));
        tcpsim(&[
            "plot",
            &capture,
            "--with",
            &with,
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let out = dir.join("b.compare.svg");
    let o = plot_with(
        "esp32-wifi-stale-fin-b.txt",
        "models/esp32-wifi-stale-fin.toml",
        &out,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let svg = std::fs::read_to_string(&out).unwrap();
    let t = texts(&svg);
    assert!(
        t.iter()
            .any(|l| l.ends_with("t = 0 at its first FIN (13:52:52.847055)")),
        "{t:?}"
    );
    assert_eq!(
        t.iter()
            .filter(|l| l.contains("t = 0 at its first FIN"))
            .count(),
        2
    );
    let (ticks_capture, ticks_model) = (time_ticks(&svg, 0), time_ticks(&svg, 1));
    assert!(
        ticks_capture.contains(&"0.00".to_string()),
        "{ticks_capture:?}"
    );
    assert_eq!(ticks_capture, ticks_model);
    let row = t.iter().find(|l| l.starts_with("ack_to_stale_s")).unwrap();
    assert!(row.split_whitespace().nth(1) == Some("31.280513"), "{row}");
    let same = dir.join("same.svg");
    let o = plot_with(
        "esp32-wifi-stale-fin-b.txt",
        "OBS/esp32-wifi-stale-fin-b.txt",
        &same,
    );
    assert_eq!(o.status.code(), Some(0));
    let rows: Vec<String> = texts(&std::fs::read_to_string(&same).unwrap())
        .into_iter()
        .filter(|l| l.ends_with("_s") || l.contains("_s ") || l.contains("stale_"))
        .filter(|l| !l.starts_with("feature"))
        .collect();
    assert!(rows.len() >= 8, "{rows:?}");
    assert!(rows.iter().all(|r| r.ends_with("+0.000000")), "{rows:?}");
    let none = dir.join("none.svg");
    let o = plot_with(
        "keepalive-60s-survives.txt",
        "OBS/esp32-wifi-stale-fin-b.txt",
        &none,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no FIN to align"),
        "{o:?}"
    );
    assert!(!none.exists());
}

// Review regressions of `plot --with`: it aligns the connection `--conn` picks, at that
// connection's FIN (a capture holding capture a's connection, then capture b's: --conn 0 is
// 13:29:58.797195, --conn 1 is 13:52:52.847055), refuses a connection the capture lacks, a
// directory as the capture and an unknown --target (exit 2), and never writes over the run
// directory's run.toml.
#[test]
fn plot_with_connection_and_inputs() {
    let dir = crate::scratch("plot_with_conn");
    let data = root().join("tests/data/observed");
    let a = std::fs::read_to_string(data.join("esp32-wifi-stale-fin-a.txt")).unwrap();
    let b = std::fs::read_to_string(data.join("esp32-wifi-stale-fin-b.txt")).unwrap();
    let two = dir.join("two.txt");
    std::fs::write(&two, a + &b).unwrap();
    let with = "tests/data/observed/esp32-wifi-stale-fin-b.txt";
    for (conn, fin) in [("0", "13:29:58.797195"), ("1", "13:52:52.847055")] {
        let out = dir.join(format!("c{conn}.svg"));
        let o = tcpsim(
            &[
                "plot",
                two.to_str().unwrap(),
                "--with",
                with,
                "--conn",
                conn,
            ]
            .into_iter()
            .chain(["--out", out.to_str().unwrap()])
            .collect::<Vec<_>>(),
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let svg = std::fs::read_to_string(&out).unwrap();
        assert!(
            svg.contains(&format!("t = 0 at its first FIN ({fin})")),
            "conn {conn}"
        );
    }
    let o = tcpsim(&["plot", two.to_str().unwrap(), "--with", with, "--conn", "5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no connection 5 (the capture has 2)"));
    let run = dir.join("run");
    let o = tcpsim(&[
        "run",
        "models/esp32-wifi-stale-fin.toml",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let run_toml = run.join("run.toml");
    let before = std::fs::read(&run_toml).unwrap();
    let o = tcpsim(&[
        "plot",
        with,
        "--with",
        run.to_str().unwrap(),
        "--out",
        run_toml.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&run_toml).unwrap(), before);
    let o = tcpsim(&["plot", run.to_str().unwrap(), "--with", with]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("a directory, not a capture"));
    // A window holding nothing names the span in seconds from the FIN, signed.
    let o = tcpsim(&["plot", with, "--with", with, "--from", "100", "--to", "200"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("13:52:27.497668 (-25.349387 s)")
            && err.contains("seconds since its first FIN"),
        "{err}"
    );
    let o = tcpsim(&["plot", with, "--with", with, "--target", "no-such-sig"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown signature \"no-such-sig\""));
}
