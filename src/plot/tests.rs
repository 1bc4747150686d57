//! Unit tests of the plot module's geometry.

use super::layout::{place_labels, text_width};
use crate::capture::TimeArg;

// Proves labels are placed in rows so that no two on the same row overlap and none runs past
// the plot's right edge.
#[test]
fn labels_do_not_overlap() {
    let labels: Vec<(f64, String)> = [
        (10.0, "server FIN after 15.04 s idle"),
        (12.0, "FIN ACKed +0.038 s"),
        (300.0, "stale data +7.55 s"),
        (302.0, "RST +0.000 s"),
    ]
    .iter()
    .map(|(x, t)| (*x, t.to_string()))
    .collect();
    let placed = place_labels(&labels, 12.0, 400.0);
    for i in 0..labels.len() {
        let (li, ri) = (placed[i].0, placed[i].0 + text_width(&labels[i].1, 12.0));
        assert!(
            li >= 0.0 && ri <= 400.0,
            "{:?} runs past the edge",
            labels[i]
        );
        for j in i + 1..labels.len() {
            if placed[i].1 == placed[j].1 {
                let (lj, rj) = (placed[j].0, placed[j].0 + text_width(&labels[j].1, 12.0));
                assert!(
                    ri <= lj || rj <= li,
                    "{:?} overlaps {:?}",
                    labels[i],
                    labels[j]
                );
            }
        }
    }
    // "stale data +7.55 s" at 300 px would end at ~433 px, past the 400 px edge: flipped left of
    // its point. "RST +0.000 s" at 302 px ends at ~394 px: it stays right of its point.
    assert!(placed[2].0 < 300.0, "{:?}", placed[2]);
    assert_eq!(placed[3].0, 302.0);
}

// Proves a heatmap cell without a rate (NaN: no run of the cell succeeded) is labelled "n/a", not
// "NaN%" (issue 12, item 10), and that rates print as whole percents.
#[test]
fn heatmap_labels_never_nan() {
    assert_eq!(super::heatmap::rate_label(f64::NAN), "n/a");
    assert_eq!(super::heatmap::rate_label(0.5), "50%");
    assert_eq!(super::heatmap::rate_label(1.0), "100%");
}

// Proves `run --plot` thins while the run goes (issue 12, item 8: a 24 h run held 1.6 GB): after
// 2 simulated hours (about 240,000 frames, far above the raw limit) the sink's six series hold at
// most their bins, the same as after 1 hour, and the timeline still draws with its findings.
#[test]
fn timeline_sink_memory_is_flat() {
    use super::thin::{MAX_BINS, RAW_LIMIT};
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/esp32-wifi-telemetry.toml");
    let mut held = Vec::new();
    for hours in [1, 2] {
        let mut s = crate::Scenario::load(&path).unwrap();
        s.duration = crate::model::Dur::secs(3600 * hours);
        let mut sink = super::TimelineSink::new(s.capture, 0);
        crate::simulate(&s, &mut sink, crate::Analyse::No).unwrap();
        held.push(sink.held());
        let svg = sink.draw(&super::PlotOptions::new("flat")).unwrap();
        assert!(svg.contains("<svg"));
    }
    // Six series (two flows' segments and ACKs, two senders' bytes), each past RAW_LIMIT points.
    assert!(held[1] <= 6 * 6 * MAX_BINS as usize, "{held:?}");
    assert!(held[1] < 6 * RAW_LIMIT, "{held:?}");
    assert!(held[1] <= held[0] * 11 / 10, "grew with the run: {held:?}");
}

// Review regression: a zoomed plot (`--from`/`--to`) thins within its window, not over the whole
// run: of a 2 h run, a 10 s window keeps its few hundred points as they are (before, the bins were
// sized to the whole run, 10-20 s wide, and the window drew one mark).
#[test]
fn zoomed_window_keeps_its_points() {
    use super::thin::RAW_LIMIT;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/esp32-wifi-telemetry.toml");
    let mut s = crate::Scenario::load(&path).unwrap();
    s.duration = crate::model::Dur::secs(7200);
    let mut sink = super::TimelineSink::new(s.capture, 0).window(
        Some(TimeArg::Seconds(3600.0)),
        Some(TimeArg::Seconds(3610.0)),
    );
    crate::simulate(&s, &mut sink, crate::Analyse::No).unwrap();
    let held = sink.held();
    // About 33 frames a second over 10 s, each giving a point to a few of the six series: kept
    // as they are, far below the raw limit.
    assert!(held > 300 && held < 6 * 400 && held < RAW_LIMIT, "{held}");
    let mut opts = super::PlotOptions::new("zoom");
    (opts.from, opts.to) = (
        Some(TimeArg::Seconds(3600.0)),
        Some(TimeArg::Seconds(3610.0)),
    );
    assert!(sink.draw(&opts).unwrap().contains("<svg"));
}

// Fuzzing regression (the `plot` target's first crash): a sweep CSV whose header misspells some
// signature columns, or names one before the parameters, indexed past the end of a row; now it
// draws the columns it has or says what is missing, never panics.
#[test]
fn heatmap_with_odd_signature_columns() {
    let csv = "kind,cell,run,seed,p,stale-seq-after-fgn,one-way-stall,idle-reset,features\n\
               cell,0,,,1s,0,0,0,\n";
    assert!(super::heatmap(csv, None, "t").unwrap().contains("<svg"));
    let early = "kind,idle-reset,run,seed,p,one-way-stall,features\ncell,0,,,1s,0.5,\n";
    assert!(super::heatmap(early, None, "t").is_ok());
    let none = "kind,idle-reset,run,seed,p,features\ncell,0,,,1s,\n";
    assert!(matches!(
        super::heatmap(none, None, "t"),
        Err(super::PlotError::NoSignatureColumns)
    ));
}

// Proves a long axis is binned (issue 12, stress review: 3,000 × 3,000 values made a 3 GB SVG):
// 200 values of the first parameter become 50 columns of 4 consecutive values, labelled
// `first..last` (an SVG text element holds its label on a line of its own), each the mean of its cells' rates (0, 0.1, 0.2, 0.3 → 15%), and the axis title
// says so; an axis of at most MAX_AXIS values is drawn value by value.
#[test]
fn heatmap_bins_long_axes() {
    let mut csv = String::from("kind,cell,run,seed,delay,idle-reset,features\n");
    for i in 0..200 {
        csv += &format!("cell,{i},,,{i}ms,{},\n", f64::from(i % 4) / 10.0);
    }
    let svg = super::heatmap(&csv, None, "t").unwrap();
    assert!(
        svg.contains("\n0ms..3ms\n") && svg.contains("\n196ms..199ms\n"),
        "labels"
    );
    assert!(!svg.contains("\n4ms\n"), "no value drawn alone");
    assert_eq!(
        svg.matches("\n15%\n").count(),
        50,
        "each bin the mean of its four rates"
    );
    assert!(svg.contains("delay (4 values per bin)"));
    let short: String = csv
        .lines()
        .take(1 + super::heatmap::MAX_AXIS)
        .collect::<Vec<_>>()
        .join("\n");
    let svg = super::heatmap(&short, None, "t").unwrap();
    assert!(
        svg.contains("\n59ms\n") && !svg.contains(".."),
        "one column per value"
    );
    // A pasted 5,000-character value is cut in its label (120 such values made a 60 MB SVG).
    let head = "kind,cell,run,seed,delay,idle-reset,features";
    let long = format!("{head}\ncell,0,,,{},0.5,\n", "x y".repeat(2000));
    let svg = super::heatmap(&long, None, "t").unwrap();
    assert!(
        svg.len() < 20_000 && svg.contains("(6000 chars)"),
        "{}",
        svg.len()
    );
}

// Proves a sweep CSV row that is not a sweep's is an error naming its line, in the user's terms
// (not the csv crate's "CSV error: record 1 (line: 2, byte: ...)"), and that read through
// `plot_reader` the error names the file; and that a spreadsheet's UTF-8 byte order mark before the
// header is accepted (it was read as a capture: "not a tcpdump packet line").
#[test]
fn sweep_csv_errors_name_file_and_line() {
    let head = "kind,cell,run,seed,delay,idle-reset,features\n";
    let err = |body: &str| {
        super::heatmap(&format!("{head}{body}"), None, "t")
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("cell,0,,,1ms,0,\ncell,1,,\n"),
        "line 3: 4 fields where the header has 7"
    );
    assert_eq!(
        err("cell,0,,,1ms,1e308,\n"),
        "line 2: idle-reset: \"1e308\" is not a rate from 0 to 1"
    );
    assert_eq!(
        err("cell,0,,,1ms,-inf,\n"),
        "line 2: idle-reset: \"-inf\" is not a rate from 0 to 1"
    );
    assert!(super::heatmap(&format!("{head}cell,0,,,1ms,NaN,\n"), None, "t").is_ok());
    let opts = super::PlotOptions::new("t");
    let name = std::path::Path::new("sweep.csv");
    let bad = format!("{head}cell,0,,,1ms,2,\n");
    let e = super::plot_reader(bad.as_bytes(), name, &opts, None).unwrap_err();
    assert_eq!(
        format!("{:#}", anyhow::Error::from(e)),
        "sweep.csv: line 2: idle-reset: \"2\" is not a rate from 0 to 1"
    );
    let bom = format!("\u{feff}{head}cell,0,,,1ms,0.5,\n");
    let (svg, stats) = super::plot_reader(bom.as_bytes(), name, &opts, None).unwrap();
    assert!(svg.contains("\n50%\n") && stats.is_none());
}
