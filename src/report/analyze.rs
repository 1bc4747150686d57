//! The `analyze` reports: per capture a text block (connections, segment classes,
//! retransmissions, silences, findings), or one JSON document over all captures.
//!
//! Guarantees: classes are listed in [`crate::analyze::CLASSES`] order, features in key order;
//! times print with microsecond precision (durations with millisecond precision), features with six
//! decimals; every JSON connection and finding carries the name of its capture.
//!
//! One time base ([`crate::capture::TimeBase`]): every `*_s` time is seconds since the capture's
//! first packet (a run's: since its start), the origin `plot` draws from; the text shows each time
//! also as the capture shows it (`13:52:37.614385 (+10.116717 s)`), and the JSON gives it beside
//! the seconds as `*_time` (`first_time`, `at_time`, `start_time`) where the capture has a clock.

use std::fmt::Write as _;

use crate::analyze::{Analysis, CLASSES, ConnReport};
use crate::capture::{ImportStats, TimeBase};

/// The text report of one capture named `name`: a header line (packets, connections, non-TCP
/// packets skipped), then per connection its endpoints and span, its segment classes, its
/// retransmissions, silences and findings.
pub fn analyze_text(name: &str, stats: &ImportStats, analysis: &Analysis) -> String {
    let mut text = analyze_header(name, stats, analysis.connections.len() as u64);
    for c in &analysis.connections {
        connection_text(&mut text, c, &analysis.time);
    }
    text
}

/// The header line of one capture's text report: `== NAME: N TCP packets, M connection(s)`, and
/// what was skipped.
pub fn analyze_header(name: &str, stats: &ImportStats, connections: u64) -> String {
    let mut text = format!(
        "== {name}: {} TCP packets, {connections} connection(s)",
        stats.packets,
    );
    if stats.non_tcp > 0 {
        let _ = write!(text, ", {} non-TCP packets skipped", stats.non_tcp);
    }
    if stats.placed_in_flow > 0 {
        let _ = write!(
            text,
            ", {} of them higher-layer packets placed in their flow",
            stats.placed_in_flow
        );
    }
    if stats.no_tcp_fields > 0 {
        let _ = write!(
            text,
            ", {} packets without TCP fields not imported",
            stats.no_tcp_fields
        );
    }
    text.push('\n');
    text
}

/// Appends one connection's lines to `text`, times shown on `time`.
pub fn connection_text(text: &mut String, c: &ConnReport, time: &TimeBase) {
    let _ = write!(
        text,
        "connection {}: {} <-> {}, {} packets, {} .. {}\n  ",
        c.index,
        c.a,
        c.b,
        c.packets,
        time.show(c.first_s),
        time.show(c.last_s)
    );
    let classes: Vec<String> = CLASSES
        .iter()
        .filter_map(|k| c.classes.get(*k).map(|n| format!("{k} {n}")))
        .collect();
    *text += &classes.join(", ");
    text.push('\n');
    if !c.wireshark.is_empty() {
        let labels: Vec<String> = crate::classes::WIRESHARK
            .iter()
            .filter_map(|(_, k)| c.wireshark.get(*k).map(|n| format!("{k} {n}")))
            .collect();
        let _ = writeln!(text, "  wireshark's own analysis: {}", labels.join(", "));
    }
    for r in &c.retransmissions {
        let _ = write!(
            text,
            "  {} at {} from {} seq {} len {}",
            r.kind,
            time.show(r.at_s),
            r.from,
            r.seq,
            r.len
        );
        if let Some(d) = r.since_first_s {
            let _ = write!(text, ", {d:.3} s after first sent");
        }
        if let Some(d) = r.since_hole_s {
            let _ = write!(text, ", {d:.3} s after the hole was seen");
        }
        text.push('\n');
    }
    for s in &c.silences {
        let _ = writeln!(
            text,
            "  silence: {} sent nothing for {:.3} s from {}",
            s.from,
            s.length_s,
            time.show(s.start_s)
        );
    }
    let unlisted = c.silence_count.saturating_sub(c.silences.len() as u64);
    if unlisted > 0 {
        let _ = writeln!(text, "  ... and {unlisted} more silences (not listed)");
    }
    for f in &c.findings {
        let feats: Vec<String> = f
            .features
            .iter()
            .map(|(k, v)| format!("{k}={v:.6}"))
            .collect();
        let _ = writeln!(
            text,
            "  FINDING {} at {}: {}",
            f.signature,
            time.show(f.at_s),
            feats.join(", ")
        );
    }
}

/// The `analyze --json` document over `(capture name, analysis)` pairs:
/// `{"connections": [...], "findings": [...]}`, each connection and finding with a `capture` field,
/// pretty-printed, followed by a newline.
///
/// # Errors
/// When a report cannot be serialised (not expected: all fields are plain data).
pub fn analyze_json<'a>(
    captures: impl IntoIterator<Item = (&'a str, &'a Analysis)>,
) -> Result<String, serde_json::Error> {
    let mut connections = Vec::new();
    let mut findings = Vec::new();
    for (name, analysis) in captures {
        for c in &analysis.connections {
            connections.push(connection_json(name, c, &analysis.time)?);
        }
        for f in &analysis.findings {
            findings.push(finding_json(name, f, &analysis.time)?);
        }
    }
    let doc = serde_json::json!({ "connections": connections, "findings": findings });
    super::json_document(&doc)
}

/// One connection of the `analyze --json` document: its report, its capture's name, and each time
/// as the capture shows it.
///
/// # Errors
/// As [`analyze_json`].
pub fn connection_json(
    capture: &str,
    c: &ConnReport,
    time: &TimeBase,
) -> Result<serde_json::Value, serde_json::Error> {
    let mut v = serde_json::to_value(c)?;
    v["capture"] = serde_json::Value::String(capture.to_owned());
    add_clock(&mut v, &["first_s", "last_s"], time);
    for list in ["retransmissions", "silences", "findings"] {
        if let Some(items) = v[list].as_array_mut() {
            items
                .iter_mut()
                .for_each(|i| add_clock(i, &["at_s", "start_s"], time));
        }
    }
    Ok(v)
}

/// One finding of the `analyze --json` document, with its capture's name and its time as the
/// capture shows it.
///
/// # Errors
/// As [`analyze_json`].
pub fn finding_json(
    capture: &str,
    f: &crate::detect::Finding,
    time: &TimeBase,
) -> Result<serde_json::Value, serde_json::Error> {
    let mut v = serde_json::to_value(f)?;
    v["capture"] = serde_json::Value::String(capture.to_owned());
    add_clock(&mut v, &["at_s"], time);
    Ok(v)
}

/// Adds `NAME_time` beside each `NAME_s` of `keys` that `v` has: the time as the capture shows it
/// (nothing for relative times: the seconds are all there is).
fn add_clock(v: &mut serde_json::Value, keys: &[&str], time: &TimeBase) {
    for k in keys {
        if let Some(s) = v.get(*k).and_then(serde_json::Value::as_f64)
            && let Some(clock) = time.clock(time.at(s))
        {
            let name = format!("{}_time", k.trim_end_matches("_s"));
            v[name] = serde_json::Value::String(clock);
        }
    }
}

/// The warning for a lenient import that skipped lines (with a few examples), or `None` when it
/// skipped none.
pub fn skipped_lines_warning(path: &std::path::Path, stats: &ImportStats) -> Option<String> {
    let mut w = String::new();
    if stats.skipped_lines > 0 {
        w += &format!(
            "tcpsim: warning: {}: skipped {} line(s) that are not packets, e.g. line {}\n",
            path.display(),
            stats.skipped_lines,
            stats.skipped_examples.join(" | line ")
        );
    }
    if stats.no_tcp_fields > 0 {
        w += &format!(
            "tcpsim: warning: {}: {} packet(s) of a protocol over TCP (HTTP, MQTT, ...) show no TCP \
             fields (Seq=, Ack=, Len=) and were not imported; export them with TCP fields, e.g. \
             `tshark -r CAPTURE --disable-protocol http --disable-protocol mqtt`, or give tcpsim \
             the pcap itself\n",
            path.display(),
            stats.no_tcp_fields
        );
    }
    if !stats.unsupported_links.is_empty() {
        w += &format!(
            "tcpsim: warning: {}: skipped {}\n",
            path.display(),
            crate::capture::link_types_text(&stats.unsupported_links)
        );
    }
    (!w.is_empty()).then_some(w)
}
