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

/// The times of connection `conn`'s (in order of first packet) first FIN, first packet and last
/// packet; `None` for the FIN when it has none.
///
/// # Errors
/// [`PlotError::NoPackets`] or [`PlotError::NoSuchConnection`].
fn fin_and_first(t: &Trace, conn: usize) -> Result<(Option<Instant>, Instant, Instant), PlotError> {
    let mut view = CaptureView::new(CapturePoint::Server, &t.endpoints);
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let (mut fin, mut span) = (None, None::<(Instant, Instant)>);
    for e in t.events() {
        let Some(p) = view.packet(&e) else { continue };
        let pair = (p.src.min(p.dst), p.src.max(p.dst));
        let index = match pairs.iter().position(|q| *q == pair) {
            Some(i) => i,
            None if pairs.len() <= conn => {
                pairs.push(pair);
                pairs.len() - 1
            }
            None => continue,
        };
        if index != conn {
            continue;
        }
        span = Some(span.map_or((p.t, p.t), |(a, _)| (a, p.t)));
        if fin.is_none() && p.has(TcpFlags::FIN) {
            fin = Some(p.t);
        }
    }
    match span {
        Some((first, last)) => Ok((fin, first, last)),
        None if pairs.is_empty() => Err(PlotError::NoPackets),
        None => Err(PlotError::NoSuchConnection {
            conn,
            count: pairs.len(),
        }),
    }
}

/// The first finding of `signature` (or any, without one) of connection `conn` of a trace.
fn finding(t: &Trace, conn: usize, signature: Option<&str>) -> Option<Finding> {
    let a = analyze_trace(t, CapturePoint::Server, Default::default());
    let c = a.connections.into_iter().nth(conn)?;
    (c.findings.into_iter()).find(|f| signature.is_none_or(|s| f.signature == s))
}

/// Draws `capture` (its connection `opts.conn`) above `reproducer` (its first connection), aligned
/// at their first FINs (t = 0), with a table of the features of their first `signature` finding
/// (or first finding). `opts.from`/`opts.to` are seconds from the FIN; by default the window spans
/// both traces, at most a minute each side.
///
/// # Errors
/// [`PlotError::NoFin`] when a connection has no FIN to align at, no such connection, or a side's
/// timeline error.
pub fn compare(
    capture: Side,
    reproducer: Side,
    signature: Option<&str>,
    opts: &PlotOptions,
) -> Result<String, PlotError> {
    let mut sides = Vec::new();
    for (s, conn) in [(capture, opts.conn), (reproducer, 0)] {
        let (fin, first, last) = fin_and_first(s.trace, conn)?;
        let fin = fin.ok_or_else(|| PlotError::NoFin {
            name: s.name.to_string(),
        })?;
        sides.push((s, conn, fin, first, last));
    }
    let before = sides
        .iter()
        .map(|(_, _, fin, first, _)| secs(*fin) - secs(*first))
        .fold(0.0, f64::max)
        .min(REACH_S);
    let after = sides
        .iter()
        .map(|(_, _, fin, _, last)| secs(*last) - secs(*fin))
        .fold(0.0, f64::max)
        .min(REACH_S);
    let window = PlotOptions {
        from: Some(opts.from.unwrap_or(TimeArg::Seconds(-before))),
        to: Some(opts.to.unwrap_or(TimeArg::Seconds(after + 0.5))),
        ..opts.clone()
    };
    let mut panels = Vec::new();
    for (s, conn, fin, _, _) in &sides {
        let o = PlotOptions {
            title: s.name.to_string(),
            conn: *conn,
            ..window.clone()
        };
        panels.push(timeline_from(s.trace, *fin, &o)?);
    }
    let features =
        [(capture, opts.conn), (reproducer, 0)].map(|(s, conn)| finding(s.trace, conn, signature));
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
