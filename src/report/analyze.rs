//! The `analyze` reports: per capture a text block (connections, segment classes,
//! retransmissions, silences, findings), or one JSON document over all captures.
//!
//! Guarantees: classes are listed in [`crate::analyze::CLASSES`] order, features in key order;
//! times print with microsecond precision (durations with millisecond precision), features with six
//! decimals; every JSON connection and finding carries the name of its capture.

use std::fmt::Write as _;

use crate::analyze::{Analysis, CLASSES, ConnReport};
use crate::capture::ImportStats;

/// The text report of one capture named `name`: a header line (packets, connections, non-TCP
/// packets skipped), then per connection its endpoints and span, its segment classes, its
/// retransmissions, silences and findings.
pub fn analyze_text(name: &str, stats: &ImportStats, analysis: &Analysis) -> String {
    let mut text = format!(
        "== {name}: {} TCP packets, {} connection(s)",
        stats.packets,
        analysis.connections.len()
    );
    if stats.non_tcp > 0 {
        let _ = write!(text, ", {} non-TCP packets skipped", stats.non_tcp);
    }
    if stats.no_tcp_fields > 0 {
        let _ = write!(
            text,
            ", {} packets without TCP fields not imported",
            stats.no_tcp_fields
        );
    }
    text.push('\n');
    for c in &analysis.connections {
        connection_text(&mut text, c);
    }
    text
}

/// Appends one connection's lines to `text`.
fn connection_text(text: &mut String, c: &ConnReport) {
    let _ = write!(
        text,
        "connection {}: {} <-> {}, {} packets, {:.6} .. {:.6} s\n  ",
        c.index, c.a, c.b, c.packets, c.first_s, c.last_s
    );
    let classes: Vec<String> = CLASSES
        .iter()
        .filter_map(|k| c.classes.get(*k).map(|n| format!("{k} {n}")))
        .collect();
    *text += &classes.join(", ");
    text.push('\n');
    for r in &c.retransmissions {
        let _ = write!(
            text,
            "  {} at {:.6} s from {} seq {} len {}",
            r.kind, r.at_s, r.from, r.seq, r.len
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
            "  silence: {} sent nothing for {:.3} s from {:.6} s",
            s.from, s.length_s, s.start_s
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
            "  FINDING {} at {:.6} s: {}",
            f.signature,
            f.at_s,
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
        let tagged = |v: serde_json::Result<serde_json::Value>| {
            v.map(|mut v| {
                v["capture"] = serde_json::Value::String(name.to_owned());
                v
            })
        };
        for c in &analysis.connections {
            connections.push(tagged(serde_json::to_value(c))?);
        }
        for f in &analysis.findings {
            findings.push(tagged(serde_json::to_value(f))?);
        }
    }
    let doc = serde_json::json!({ "connections": connections, "findings": findings });
    super::json_document(&doc)
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
