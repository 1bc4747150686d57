//! A capture against its reproducer: the two timelines one above the other on one time axis, in
//! seconds from each trace's first FIN, both in the same orientation (the client's direction
//! first, as every timeline), then a table of both findings' features side by side.
//!
//! Guarantees: a pure function of the two traces and the options (byte for byte); both sides go
//! through the same importer path (a run is compared through its pcap, as `analyze` would read
//! it), so the orientation, the findings and their features are computed alike; both panels share
//! one time window, so a time has the same x position in both.

use std::fmt::Write as _;

use super::timeline::timeline_from;
use super::{PlotError, PlotOptions};
use crate::analyze::analyze_trace;
use crate::capture::{CaptureView, TimeArg};
use crate::clock::{Instant, secs};
use crate::detect::Finding;
use crate::model::CapturePoint;
use crate::trace::Trace;
use crate::trace::packet::TcpFlags;

/// How far each side of the FIN the shared window reaches at most, by default (seconds).
const REACH_S: f64 = 60.0;

/// One side of the comparison: an imported trace (a capture, or a run's pcap imported) and its
/// name for the panel's title.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The trace.
    pub trace: &'a Trace,
    /// What it is ("capture a.txt", "reproducer runs/x").
    pub name: &'a str,
}

/// The time of a trace's first FIN and its first packet.
fn fin_and_first(t: &Trace) -> Option<(Instant, Instant, Instant)> {
    let mut view = CaptureView::new(CapturePoint::Server, &t.endpoints);
    let mut first = None;
    let mut fin = None;
    let mut last = None;
    for e in t.events() {
        if let Some(p) = view.packet(&e) {
            first.get_or_insert(p.t);
            last = Some(p.t);
            if fin.is_none() && p.has(TcpFlags::FIN) {
                fin = Some(p.t);
            }
        }
    }
    Some((fin?, first?, last?))
}

/// The first finding of `signature` (or any, without one) of a trace.
fn finding(t: &Trace, signature: Option<&str>) -> Option<Finding> {
    let a = analyze_trace(t, CapturePoint::Server, Default::default());
    (a.findings.into_iter()).find(|f| signature.is_none_or(|s| f.signature == s))
}

/// Draws `capture` above `reproducer`, aligned at their first FINs (t = 0), with a table of the
/// features of their first `signature` finding (or first finding). `opts.from`/`opts.to` are
/// seconds from the FIN; by default the window spans both traces, at most a minute each side.
///
/// # Errors
/// [`PlotError::NoFin`] when a trace has no FIN to align at, or a side's timeline error.
pub fn compare(
    capture: Side,
    reproducer: Side,
    signature: Option<&str>,
    opts: &PlotOptions,
) -> Result<String, PlotError> {
    let mut sides = Vec::new();
    for s in [capture, reproducer] {
        let (fin, first, last) = fin_and_first(s.trace).ok_or_else(|| PlotError::NoFin {
            name: s.name.to_string(),
        })?;
        sides.push((s, fin, first, last));
    }
    let before = sides
        .iter()
        .map(|(_, fin, first, _)| secs(*fin) - secs(*first))
        .fold(0.0, f64::max)
        .min(REACH_S);
    let after = sides
        .iter()
        .map(|(_, fin, _, last)| secs(*last) - secs(*fin))
        .fold(0.0, f64::max)
        .min(REACH_S);
    let window = PlotOptions {
        from: Some(opts.from.unwrap_or(TimeArg::Seconds(-before))),
        to: Some(opts.to.unwrap_or(TimeArg::Seconds(after + 0.5))),
        ..opts.clone()
    };
    let mut panels = Vec::new();
    for (s, fin, _, _) in &sides {
        let o = PlotOptions {
            title: s.name.to_string(),
            ..window.clone()
        };
        panels.push(timeline_from(s.trace, *fin, &o)?);
    }
    let features = [capture, reproducer].map(|s| finding(s.trace, signature));
    Ok(stack(
        &panels,
        &table(&features, [capture.name, reproducer.name]),
    ))
}

/// The features of the two findings side by side, one line each (monospace text).
fn table(findings: &[Option<Finding>; 2], names: [&str; 2]) -> Vec<String> {
    let mut keys: Vec<&String> = findings
        .iter()
        .flatten()
        .flat_map(|f| f.features.keys())
        .collect();
    keys.sort();
    keys.dedup();
    let sig = |f: &Option<Finding>| {
        f.as_ref()
            .map_or("no finding".to_string(), |f| f.signature.clone())
    };
    let mut lines = vec![
        format!("capture:    {} — {}", names[0], sig(&findings[0])),
        format!("reproducer: {} — {}", names[1], sig(&findings[1])),
        format!(
            "{:<40} {:>14} {:>14} {:>12}",
            "feature", "capture", "reproducer", "difference"
        ),
    ];
    for k in keys {
        let v = findings
            .clone()
            .map(|f| f.and_then(|f| f.features.get(k).copied()));
        let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.6}"));
        let diff = match v {
            [Some(a), Some(b)] => format!("{:+.6}", b - a),
            _ => "-".into(),
        };
        lines.push(format!(
            "{k:<40} {:>14} {:>14} {diff:>12}",
            show(v[0]),
            show(v[1])
        ));
    }
    lines
}

/// `<svg width="W" height="H"`'s W and H.
fn size(svg: &str) -> (u32, u32) {
    let attr = |name: &str| {
        let at = svg
            .find(&format!("{name}=\""))
            .map(|i| i + name.len() + 2)?;
        svg[at..].split('"').next()?.parse::<u32>().ok()
    };
    (attr("width").unwrap_or(1400), attr("height").unwrap_or(600))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The panels one above the other, then the table's lines, as one SVG.
fn stack(panels: &[String], lines: &[String]) -> String {
    const LINE: u32 = 18;
    let width = panels.iter().map(|p| size(p).0).max().unwrap_or(1400);
    let heights: Vec<u32> = panels.iter().map(|p| size(p).1).collect();
    let table_h = LINE * (lines.len() as u32 + 2);
    let height = heights.iter().sum::<u32>() + table_h;
    let mut out = format!(
        "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#FFFFFF\"/>\n"
    );
    let mut y = 0;
    for (p, h) in panels.iter().zip(&heights) {
        let body = p.trim_start_matches(|c| c != '<');
        let body = body.strip_prefix("<?xml").map_or(body, |rest| {
            rest.split_once("?>").map_or(rest, |(_, r)| r.trim_start())
        });
        out += &body.replacen("<svg ", &format!("<svg x=\"0\" y=\"{y}\" "), 1);
        out.push('\n');
        y += h;
    }
    let _ = writeln!(
        out,
        "<g font-family=\"monospace\" font-size=\"14\" fill=\"#000000\">"
    );
    for (i, l) in lines.iter().enumerate() {
        let _ = writeln!(
            out,
            "<text x=\"20\" y=\"{}\" xml:space=\"preserve\">{}</text>",
            y + LINE * (i as u32 + 2),
            escape(l)
        );
    }
    out += "</g>\n</svg>\n";
    out
}
