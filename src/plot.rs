//! Timeline plots: see the outage, the silence, the backoff, the FIN and the RST.
//!
//! [`timeline`] draws a trace (simulated or imported) as SVG: a time–sequence graph per direction in
//! the Stevens/tcptrace style (data segments as vertical bars over their sequence range,
//! retransmissions in their own colour, the ACK line and the receive-window line, FIN and RST marked,
//! dropped and held frames marked where they were sent, outage windows shaded), then lanes with each
//! endpoint's TCP state and the senders' unacknowledged and unsent bytes, all on one time axis, with
//! the analysis findings annotated. [`heatmap`] draws a sweep CSV as a signature's rate over two
//! parameters.
//!
//! Guarantees: the SVG is a pure function of its input (byte for byte) and needs no system fonts
//! (plotters' SVG backend writes `<text>`; label widths are estimated, and labels are placed so they
//! do not overlap). Long traces are thinned to the plot's pixel columns: per column and kind, one bar
//! from the lowest to the highest sequence, one ACK point, one marker — never more elements than the
//! plot has pixels. Simulated traces are plotted from the sender's side (every frame offered, with its
//! fate); imported captures show what was captured, and nothing is invented (no fates, no outages, no
//! TCP states, no unsent bytes).

use std::collections::BTreeMap;
use std::fmt;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::analyze::{AnalyzeOptions, analyze_trace};
use crate::capture::CaptureView;
use crate::clock::secs;
use crate::detect::Finding;
use crate::model::CapturePoint;
use crate::trace::packet::{Ipv4Segment, TcpFlags};
use crate::trace::{AppEvent, EventKind, Fate, Side, TcpState, Trace};

/// What went wrong drawing.
#[derive(Debug)]
pub struct PlotError(pub String);

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlotError {}

fn err<E: fmt::Display>(e: E) -> PlotError {
    PlotError(e.to_string())
}

/// Options of a timeline plot.
#[derive(Debug, Clone)]
pub struct PlotOptions {
    /// Title (model name or capture file).
    pub title: String,
    /// Start of the time window (seconds), default the first event.
    pub from: Option<f64>,
    /// End of the time window (seconds), default the last event.
    pub to: Option<f64>,
    /// For imported captures: which connection (0 = the first).
    pub conn: usize,
    /// Width in pixels.
    pub width: u32,
}

impl PlotOptions {
    /// Defaults: the whole trace, the first connection, 1400 px wide.
    pub fn new(title: &str) -> PlotOptions {
        PlotOptions {
            title: title.to_string(),
            from: None,
            to: None,
            conn: 0,
            width: 1400,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    New,
    Retransmission,
    Dropped,
    Held,
    Fin,
    Rst,
}

/// One direction's frames, relative to its first sequence number.
#[derive(Default)]
struct Flow {
    name: String,
    base: Option<u32>,
    high: Option<i64>,
    segs: Vec<(f64, i64, i64, Kind)>,
    /// The peer's ACKs of this flow: (time, ack, ack + window).
    acks: Vec<(f64, i64, i64)>,
    outages: Vec<(f64, f64)>,
}

impl Flow {
    fn rel(&mut self, seq: u32) -> i64 {
        let base = *self.base.get_or_insert(seq);
        i64::from(seq.wrapping_sub(base) as i32)
    }

    /// Records a segment occupying `seq_len` sequence numbers from `seq` (`len` of them data):
    /// its FIN and data marks, the data as new or a retransmission (not beyond the highest sequence
    /// seen). Returns its relative range.
    fn add_segment(&mut self, t: f64, seq: u32, seq_len: u32, len: u32, fin: bool) -> (i64, i64) {
        let lo = self.rel(seq);
        let hi = lo + i64::from(seq_len);
        let retrans = seq_len > 0 && self.high.is_some_and(|h| hi <= h);
        if seq_len > 0 {
            self.high = Some(self.high.map_or(hi, |h| h.max(hi)));
        }
        if fin {
            self.segs.push((t, lo, hi, Kind::Fin));
        }
        if len > 0 {
            let kind = if retrans {
                Kind::Retransmission
            } else {
                Kind::New
            };
            self.segs.push((t, lo, hi, kind));
        }
        (lo, hi)
    }
}

struct Lanes {
    /// Per side: (start, state).
    states: [Vec<(f64, TcpState)>; 2],
    /// Per sender: (time, unacked bytes, unsent bytes).
    bytes: [Vec<(f64, f64, f64)>; 2],
}

/// Everything the timeline needs, extracted from a trace.
struct Data {
    flows: [Flow; 2],
    lanes: Option<Lanes>,
    start: f64,
    end: f64,
    simulated: bool,
    /// Subtracted from capture times (the first packet's), so the axis starts at 0.
    offset: f64,
}

fn extract(trace: &Trace, point: CapturePoint, conn: usize) -> Result<Data, PlotError> {
    let simulated = trace
        .events()
        .any(|e| matches!(e.kind, EventKind::Offered { .. }));
    let mut flows: [Flow; 2] = Default::default();
    let (mut start, mut end) = (f64::INFINITY, f64::NEG_INFINITY);
    if simulated {
        let mut written = [0u64; 2];
        let mut high_sent = [0i64; 2];
        let mut high_acked = [0i64; 2];
        let mut lanes = Lanes {
            states: Default::default(),
            bytes: Default::default(),
        };
        let mut down_since: [Option<f64>; 2] = [None, None];
        for e in trace.events() {
            let t = secs(e.t);
            start = start.min(t);
            end = end.max(t);
            match &e.kind {
                EventKind::Offered {
                    dir,
                    bytes,
                    fate,
                    by_middlebox,
                    ..
                } => {
                    let Some(frame) = Ipv4Segment::parse(bytes) else {
                        continue;
                    };
                    let s = frame.tcp;
                    let d = *dir as usize;
                    let f = &mut flows[d];
                    if f.name.is_empty() && !by_middlebox {
                        f.name = format!("{}.{} → {}.{}", frame.src, s.sport, frame.dst, s.dport);
                    }
                    let kind = match fate {
                        Fate::Held { .. } => Some(Kind::Held),
                        f if f.arrival().is_none() => Some(Kind::Dropped),
                        _ => None,
                    };
                    let (lo, hi) = if s.has(TcpFlags::RST) {
                        let lo = f.rel(s.seq);
                        f.segs.push((t, lo, lo, Kind::Rst));
                        (lo, lo)
                    } else {
                        f.add_segment(t, s.seq, s.seq_len(), s.len, s.has(TcpFlags::FIN))
                    };
                    if s.seq_len() > 0 && !s.has(TcpFlags::RST) {
                        high_sent[d] = high_sent[d].max(hi);
                    }
                    if let Some(k) = kind {
                        f.segs.push((t, lo, hi.max(lo + 1), k));
                    }
                    // This frame's ACK acknowledges the other flow.
                    if s.has(TcpFlags::ACK) && !s.has(TcpFlags::RST) {
                        let o = &mut flows[1 - d];
                        let ack = o.rel(s.ack);
                        o.acks.push((t, ack, ack + i64::from(s.win)));
                        high_acked[1 - d] = high_acked[1 - d].max(ack);
                    }
                    let side = dir.sender() as usize;
                    lanes.bytes[side].push((
                        t,
                        (high_sent[d] - high_acked[d]).max(0) as f64,
                        (written[side] as i64 - high_sent[d] + 1).max(0) as f64,
                    ));
                }
                EventKind::Link { dir, up } => {
                    let d = *dir as usize;
                    if *up {
                        if let Some(s0) = down_since[d].take() {
                            flows[d].outages.push((s0, t));
                        }
                    } else {
                        down_since[d] = Some(t);
                    }
                }
                EventKind::State { side, to, .. } => lanes.states[*side as usize].push((t, *to)),
                EventKind::App {
                    side,
                    event: AppEvent::Write { len },
                } => written[*side as usize] += *len as u64,
                _ => {}
            }
        }
        let end_t = secs(trace.end).max(end);
        for (d, s0) in down_since.iter().enumerate() {
            if let Some(s0) = s0 {
                flows[d].outages.push((*s0, end_t));
            }
        }
        return Ok(Data {
            flows,
            lanes: Some(lanes),
            start,
            end: end_t,
            simulated,
            offset: 0.0,
        });
    }
    // Imported: the packets of one connection, as captured.
    let mut view = CaptureView::new(point, &trace.endpoints);
    let packets: Vec<_> = trace.events().filter_map(|e| view.packet(&e)).collect();
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for p in &packets {
        let key = (p.src.min(p.dst), p.src.max(p.dst));
        if !pairs.contains(&key) {
            pairs.push(key);
        }
    }
    let key = *pairs.get(conn).ok_or_else(|| {
        PlotError(format!(
            "no connection {conn} (the capture has {})",
            pairs.len()
        ))
    })?;
    let names = view.endpoints();
    let first = packets
        .iter()
        .find(|p| (p.src.min(p.dst), p.src.max(p.dst)) == key)
        .expect("the pair came from a packet");
    let a = first.src;
    for p in packets
        .iter()
        .filter(|p| (p.src.min(p.dst), p.src.max(p.dst)) == key)
    {
        let t = secs(p.t);
        start = start.min(t);
        end = end.max(t);
        let d = usize::from(p.src != a);
        let f = &mut flows[d];
        if f.name.is_empty() {
            f.name = format!("{} → {}", names.get(p.src), names.get(p.dst));
        }
        if p.seq_known && !p.has(TcpFlags::RST) {
            f.add_segment(t, p.seq, p.seq_len(), p.len, p.has(TcpFlags::FIN));
        } else if p.has(TcpFlags::RST) {
            // A bare RST's seq may be absolute (tcpdump prints it so): mark it at the flow's top.
            let y = f.high.unwrap_or(0);
            f.segs.push((t, y, y, Kind::Rst));
        }
        if p.has(TcpFlags::ACK) && !p.has(TcpFlags::RST) {
            let o = &mut flows[1 - d];
            let ack = o.rel(p.ack);
            o.acks.push((t, ack, ack + i64::from(p.win)));
        }
    }
    if packets.is_empty() {
        return Err(PlotError("nothing to plot: no TCP packets".into()));
    }
    // Time since the first packet of the connection, as Wireshark shows it.
    let offset = start;
    for f in &mut flows {
        f.segs.iter_mut().for_each(|s| s.0 -= offset);
        f.acks.iter_mut().for_each(|a| a.0 -= offset);
    }
    Ok(Data {
        flows,
        lanes: None,
        start: 0.0,
        end: end - offset,
        simulated: false,
        offset,
    })
}

fn kind_style(k: Kind) -> (RGBColor, &'static str) {
    match k {
        Kind::New => (RGBColor(31, 90, 180), "data"),
        Kind::Retransmission => (RGBColor(214, 39, 40), "retransmission"),
        Kind::Dropped => (RGBColor(120, 120, 120), "dropped (where sent)"),
        Kind::Held => (RGBColor(148, 103, 189), "held (where sent)"),
        Kind::Fin => (RGBColor(0, 140, 70), "FIN"),
        Kind::Rst => (RGBColor(0, 0, 0), "RST"),
    }
}

const ACK: RGBColor = RGBColor(44, 160, 44);
const WINDOW: RGBColor = RGBColor(255, 160, 30);
const OUTAGE: RGBColor = RGBColor(255, 205, 205);

/// Approximate width of `text` at `size` px in a sans-serif font.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.58
}

/// Places labels in rows so that none overlap and none runs past `right` (pixels): a label that
/// would is put to the left of its point. Returns each label's (left edge, row).
fn place_labels(labels: &[(f64, String)], size: f64, right: f64) -> Vec<(f64, usize)> {
    let mut rows: Vec<f64> = Vec::new();
    labels
        .iter()
        .map(|(x, text)| {
            let w = text_width(text, size) + 8.0;
            let left = if x + w > right { (x - w).max(0.0) } else { *x };
            let row = rows
                .iter()
                .position(|&end| end <= left)
                .unwrap_or(rows.len());
            if row == rows.len() {
                rows.push(f64::NEG_INFINITY);
            }
            rows[row] = left + w;
            (left, row)
        })
        .collect()
}

/// A step line through `points`: each value holds until the next point.
fn steps(points: impl IntoIterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (t, v) in points {
        if let Some(&(_, prev)) = out.last() {
            out.push((t, prev));
        }
        out.push((t, v));
    }
    out
}

/// One legend entry: how to draw its sample, and its text.
#[derive(Clone, Copy)]
enum Sample {
    Line(RGBColor),
    Bar(RGBColor),
    Cross(RGBColor),
    Circle(RGBColor),
    Triangle(RGBColor),
    Band(RGBColor),
}

/// Draws a legend in its own area (to the right of a chart), one entry per line.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    items: &[(Sample, &str)],
) -> Result<(), PlotError> {
    for (i, (sample, label)) in items.iter().enumerate() {
        let y = 40 + 18 * i as i32;
        let x = 8;
        match *sample {
            Sample::Line(c) => area.draw(&PathElement::new(
                vec![(x, y), (x + 18, y)],
                c.stroke_width(2),
            )),
            Sample::Bar(c) => area.draw(&PathElement::new(
                vec![(x + 9, y - 6), (x + 9, y + 6)],
                c.stroke_width(3),
            )),
            Sample::Cross(c) => area.draw(&Cross::new((x + 9, y), 4, c.stroke_width(2))),
            Sample::Circle(c) => area.draw(&Circle::new((x + 9, y), 4, c.stroke_width(2))),
            Sample::Triangle(c) => area.draw(&TriangleMarker::new((x + 9, y), 6, c.filled())),
            Sample::Band(c) => {
                area.draw(&Rectangle::new([(x, y - 6), (x + 18, y + 6)], c.filled()))
            }
        }
        .map_err(err)?;
        area.draw(&Text::new(
            label.to_string(),
            (x + 26, y),
            TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// Annotations for the findings: (time, label).
fn annotations(findings: &[Finding]) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    for f in findings {
        let g = |k: &str| f.features.get(k).copied().unwrap_or(f64::NAN);
        if f.signature == "stale-seq-after-fin" {
            let (ack_to_stale, fin_to_ack) = (g("ack_to_stale_s"), g("fin_to_ack_s"));
            let ack_t = f.at_s - ack_to_stale;
            let fin_t = ack_t - fin_to_ack;
            out.push((
                fin_t,
                format!("server FIN after {:.2} s idle", g("idle_before_fin_s")),
            ));
            out.push((ack_t, format!("FIN ACKed +{fin_to_ack:.3} s")));
            out.push((f.at_s, format!("stale data +{ack_to_stale:.2} s")));
            out.push((
                f.at_s + g("stale_to_rst_s"),
                format!("RST +{:.3} s", g("stale_to_rst_s")),
            ));
        } else {
            let main: Vec<String> = f
                .features
                .iter()
                .filter(|(k, _)| k.ends_with("_s") && !k.starts_with("interval_"))
                .take(2)
                .map(|(k, v)| format!("{}={v:.2}", k.trim_end_matches("_s")))
                .collect();
            out.push((f.at_s, format!("{} {}", f.signature, main.join(" "))));
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

fn state_colour(s: TcpState) -> RGBColor {
    match s {
        TcpState::Established => RGBColor(168, 220, 168),
        TcpState::CloseWait => RGBColor(255, 200, 120),
        TcpState::FinWait1 | TcpState::FinWait2 | TcpState::Closing | TcpState::LastAck => {
            RGBColor(255, 235, 140)
        }
        TcpState::TimeWait => RGBColor(200, 200, 240),
        TcpState::SynSent | TcpState::SynReceived | TcpState::Listen => RGBColor(210, 230, 250),
        TcpState::Closed => RGBColor(225, 225, 225),
    }
}

type TimeChart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// The grid and axes shared by every panel over time: seconds on x, `y_desc` on y.
fn time_mesh(chart: &mut TimeChart<'_, '_>, y_desc: &str) -> Result<(), PlotError> {
    chart
        .configure_mesh()
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(220, 220, 220))
        .x_desc("time (s)")
        .y_desc(y_desc)
        .y_label_formatter(&|v| format!("{:.0}", v))
        .x_label_formatter(&|v| format!("{:.2}", v))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(err)
}

/// Draws a trace's timeline as SVG.
///
/// # Errors
/// Nothing to plot (no packets, an empty window, a missing connection).
pub fn timeline(
    trace: &Trace,
    point: CapturePoint,
    opts: &PlotOptions,
) -> Result<String, PlotError> {
    let data = extract(trace, point, opts.conn)?;
    let findings = analyze_trace(trace, point, AnalyzeOptions::default()).findings;
    // Unless a window is given, pad the data's span by 2% so that the first and last events are not
    // on the frame.
    let pad_t = (data.end - data.start).max(0.001) * 0.02;
    let from = opts.from.unwrap_or(data.start - pad_t);
    let to = opts.to.unwrap_or(data.end + pad_t);
    if to.partial_cmp(&from) != Some(std::cmp::Ordering::Greater) {
        return Err(PlotError(format!(
            "empty time window: from {from} s to {to} s"
        )));
    }
    let width = opts.width.max(700);
    let legend_w = 230u32;
    let lanes = data.lanes.is_some();
    let (panel_h, state_h, bytes_h) = (
        300u32,
        if lanes { 90 } else { 0 },
        if lanes { 170 } else { 0 },
    );
    let height = 50 + 2 * panel_h + state_h + bytes_h + 30;
    let y_label = 110u32;
    let plot_px = f64::from(width - legend_w - y_label - 20);
    let bins = plot_px.max(1.0) as usize;
    let bin_of = |t: f64| {
        (((t - from) / (to - from)) * bins as f64)
            .floor()
            .clamp(0.0, bins as f64 - 1.0) as usize
    };
    let bin_t = |b: usize| from + (b as f64 + 0.5) / bins as f64 * (to - from);
    let in_window = |t: f64| t >= from && t <= to;
    let annot: Vec<(f64, String)> = annotations(&findings)
        .into_iter()
        .map(|(t, l)| (t - data.offset, l))
        .filter(|(t, _)| in_window(*t))
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let subtitle = if data.simulated {
            "simulated: every frame where it was sent, with its fate".to_string()
        } else {
            let o = data.offset;
            let at = if (0.0..86_400.0).contains(&o) {
                let us = (o * 1e6).round() as u64;
                format!(
                    "{:02}:{:02}:{:02}.{:06}",
                    us / 3_600_000_000,
                    us / 60_000_000 % 60,
                    us / 1_000_000 % 60,
                    us % 1_000_000
                )
            } else {
                format!("{o:.6} s")
            };
            format!("capture, t = 0 at its first packet ({at})")
        };
        let root = root
            .titled(&format!("{} — {subtitle}", opts.title), ("sans-serif", 22))
            .map_err(err)?;
        let mut breaks = vec![panel_h as i32, 2 * panel_h as i32];
        if lanes {
            breaks.push((2 * panel_h + state_h) as i32);
        }
        let rows = root.split_by_breakpoints([] as [i32; 0], breaks);
        let split_at = width - legend_w;
        for (i, flow) in data.flows.iter().enumerate() {
            let (area, legend_area) = rows[i].split_horizontally(split_at);
            let ys = flow
                .segs
                .iter()
                .filter(|s| in_window(s.0))
                .flat_map(|s| [s.1, s.2])
                .chain(flow.acks.iter().filter(|a| in_window(a.0)).map(|a| a.1));
            let (mut y0, mut y1) =
                ys.fold((i64::MAX, i64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
            if y0 > y1 {
                (y0, y1) = (0, 1);
            }
            let span = (y1 - y0) as f64;
            let pad = (span * 0.06).max(10.0);
            // Headroom above the data for the finding labels.
            let label_rows = if i == 0 {
                place_labels(
                    &annot
                        .iter()
                        .map(|(t, l)| ((t - from) / (to - from) * plot_px, l.clone()))
                        .collect::<Vec<_>>(),
                    12.0,
                    plot_px,
                )
                .iter()
                .map(|r| r.1 + 1)
                .max()
                .unwrap_or(0)
            } else {
                0
            };
            let (y0, y1) = (
                y0 as f64 - pad,
                y1 as f64 + pad + (span + 2.0 * pad) * 0.075 * label_rows as f64,
            );
            let min_bar = (y1 - y0) * 0.012;
            let name = if flow.name.is_empty() {
                format!("direction {}", i + 1)
            } else {
                flow.name.clone()
            };
            let mut chart = ChartBuilder::on(&area)
                .margin_left(10)
                .margin_right(10)
                .margin_top(4)
                .x_label_area_size(30)
                .y_label_area_size(y_label)
                .caption(format!("{name}: sequence over time"), ("sans-serif", 15))
                .build_cartesian_2d(from..to, y0..y1)
                .map_err(err)?;
            time_mesh(&mut chart, "relative sequence (bytes)")?;
            let mut legend: Vec<(Sample, &str)> = Vec::new();
            let outages: Vec<&(f64, f64)> = flow
                .outages
                .iter()
                .filter(|(a, b)| *b >= from && *a <= to)
                .collect();
            if !outages.is_empty() {
                chart
                    .draw_series(outages.iter().map(|(a, b)| {
                        Rectangle::new(
                            [(a.max(from), y0), (b.min(to), y1)],
                            OUTAGE.mix(0.6).filled(),
                        )
                    }))
                    .map_err(err)?;
                legend.push((Sample::Band(OUTAGE), "link down (this direction)"));
            }
            // ACK and window: step lines, one point per pixel column.
            let mut ack_bins: BTreeMap<usize, (f64, i64, i64)> = BTreeMap::new();
            for &(t, ack, edge) in flow.acks.iter().filter(|a| in_window(a.0)) {
                let e = ack_bins.entry(bin_of(t)).or_insert((t, ack, edge));
                *e = (e.0, e.1.max(ack), e.2.max(edge));
            }
            if !ack_bins.is_empty() {
                let last = |v: f64| std::iter::once((to, v));
                let (wl, al) = ack_bins
                    .values()
                    .last()
                    .map(|&(_, a, w)| (w as f64, a as f64))
                    .expect("non-empty");
                chart
                    .draw_series(LineSeries::new(
                        steps(
                            ack_bins
                                .values()
                                .map(|&(t, _, w)| (t, w as f64))
                                .chain(last(wl)),
                        ),
                        WINDOW.stroke_width(1),
                    ))
                    .map_err(err)?;
                chart
                    .draw_series(LineSeries::new(
                        steps(
                            ack_bins
                                .values()
                                .map(|&(t, a, _)| (t, a as f64))
                                .chain(last(al)),
                        ),
                        ACK.stroke_width(2),
                    ))
                    .map_err(err)?;
                legend.push((Sample::Line(ACK), "ACK (of this direction)"));
                legend.push((Sample::Line(WINDOW), "receive window (ack + win)"));
            }
            // Segments: one bar (or marker) per kind and pixel column.
            let mut bars: BTreeMap<(Kind, usize), (f64, i64, i64)> = BTreeMap::new();
            for &(t, lo, hi, k) in flow.segs.iter().filter(|s| in_window(s.0)) {
                let e = bars
                    .entry((k, bin_of(t)))
                    .or_insert((bin_t(bin_of(t)), lo, hi));
                e.1 = e.1.min(lo);
                e.2 = e.2.max(hi);
            }
            for kind in [
                Kind::New,
                Kind::Retransmission,
                Kind::Dropped,
                Kind::Held,
                Kind::Fin,
                Kind::Rst,
            ] {
                let items: Vec<(f64, i64, i64)> = bars
                    .iter()
                    .filter(|((k, _), _)| *k == kind)
                    .map(|(_, v)| *v)
                    .collect();
                if items.is_empty() {
                    continue;
                }
                let (colour, label) = kind_style(kind);
                match kind {
                    Kind::New | Kind::Retransmission => {
                        chart
                            .draw_series(items.iter().map(|&(t, lo, hi)| {
                                let (lo, hi) = (lo as f64, (hi as f64).max(lo as f64 + min_bar));
                                PathElement::new(
                                    vec![(t, lo), (t, hi)],
                                    colour.stroke_width(if kind == Kind::New { 2 } else { 3 }),
                                )
                            }))
                            .map_err(err)?;
                        legend.push((Sample::Bar(colour), label));
                    }
                    Kind::Dropped => {
                        chart
                            .draw_series(items.iter().map(|&(t, lo, _)| {
                                Cross::new((t, lo as f64), 5, colour.stroke_width(2))
                            }))
                            .map_err(err)?;
                        legend.push((Sample::Cross(colour), label));
                    }
                    Kind::Held => {
                        chart
                            .draw_series(items.iter().map(|&(t, lo, _)| {
                                Circle::new((t, lo as f64), 5, colour.stroke_width(2))
                            }))
                            .map_err(err)?;
                        legend.push((Sample::Circle(colour), label));
                    }
                    Kind::Fin | Kind::Rst => {
                        chart
                            .draw_series(items.iter().map(|&(t, lo, _)| {
                                TriangleMarker::new((t, lo as f64), 7, colour.filled())
                            }))
                            .map_err(err)?;
                        legend.push((Sample::Triangle(colour), label));
                    }
                }
            }
            // Findings: dashed lines through both panels; labels in the top panel's headroom.
            for (t, _) in &annot {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(*t, y0), (*t, y1)],
                        6,
                        4,
                        RGBColor(90, 90, 90).stroke_width(1),
                    ))
                    .map_err(err)?;
            }
            if i == 0 && !annot.is_empty() {
                let px_to_t = |x: f64| from + x / plot_px * (to - from);
                let labels: Vec<(f64, String)> = annot
                    .iter()
                    .map(|(t, l)| ((t - from) / (to - from) * plot_px, l.clone()))
                    .collect();
                let placed = place_labels(&labels, 12.0, plot_px);
                let row_h = (y1 - y0) * 0.075;
                for ((_, l), (left, row)) in annot.iter().zip(placed) {
                    let y = y1 - row_h * (row as f64 + 0.6);
                    let style = TextStyle::from(("sans-serif", 12).into_font())
                        .color(&RGBColor(30, 30, 30))
                        .pos(Pos::new(HPos::Left, VPos::Center));
                    chart
                        .draw_series(std::iter::once(Text::new(
                            l.clone(),
                            (px_to_t(left + 4.0), y),
                            style,
                        )))
                        .map_err(err)?;
                }
                legend.push((Sample::Line(RGBColor(90, 90, 90)), "finding (see labels)"));
            }
            draw_legend(&legend_area, &legend)?;
        }
        if let Some(l) = &data.lanes {
            let (area, legend_area) = rows[2].split_horizontally(split_at);
            let mut chart = ChartBuilder::on(&area)
                .margin_left(10)
                .margin_right(10)
                .x_label_area_size(0)
                .y_label_area_size(y_label)
                .caption("TCP state", ("sans-serif", 15))
                .build_cartesian_2d(from..to, 0.0..2.0)
                .map_err(err)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .y_labels(0)
                .x_labels(0)
                .draw()
                .map_err(err)?;
            for (side, states) in l.states.iter().enumerate() {
                let lane = 1.0 - side as f64;
                let name = if side == Side::Client as usize {
                    "client "
                } else {
                    "server "
                };
                chart
                    .draw_series(std::iter::once(Text::new(
                        name.to_string(),
                        (from, lane + 0.5),
                        TextStyle::from(("sans-serif", 12).into_font())
                            .pos(Pos::new(HPos::Right, VPos::Center)),
                    )))
                    .map_err(err)?;
                for (j, &(t, st)) in states.iter().enumerate() {
                    let next = states.get(j + 1).map_or(to, |n| n.0);
                    if next < from || t > to {
                        continue;
                    }
                    let (a, b) = (t.max(from), next.min(to));
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(a, lane + 0.1), (b, lane + 0.9)],
                            state_colour(st).filled(),
                        )))
                        .map_err(err)?;
                    let px = (b - a) / (to - from) * plot_px;
                    let label = st.to_string();
                    if px > text_width(&label, 11.0) + 6.0 {
                        chart
                            .draw_series(std::iter::once(Text::new(
                                label,
                                ((a + b) / 2.0, lane + 0.5),
                                TextStyle::from(("sans-serif", 11).into_font())
                                    .pos(Pos::new(HPos::Center, VPos::Center)),
                            )))
                            .map_err(err)?;
                    }
                }
            }
            draw_legend(
                &legend_area,
                &[
                    (
                        Sample::Band(state_colour(TcpState::Established)),
                        "established",
                    ),
                    (
                        Sample::Band(state_colour(TcpState::CloseWait)),
                        "close-wait",
                    ),
                    (
                        Sample::Band(state_colour(TcpState::FinWait2)),
                        "closing (FIN sent)",
                    ),
                ],
            )?;
            // Unacknowledged and unsent bytes per sender.
            let (area, legend_area) = rows[3].split_horizontally(split_at);
            let pts = |side: usize, which: usize| -> Vec<(f64, f64)> {
                let mut per_bin: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
                for &(t, un, us) in l.bytes[side].iter().filter(|p| in_window(p.0)) {
                    let v = if which == 0 { un } else { us };
                    let e = per_bin.entry(bin_of(t)).or_insert((bin_t(bin_of(t)), v));
                    e.1 = e.1.max(v);
                }
                per_bin.into_values().collect()
            };
            let ymax = (0..2)
                .flat_map(|s| {
                    l.bytes[s]
                        .iter()
                        .filter(|p| in_window(p.0))
                        .map(|p| p.1.max(p.2))
                })
                .fold(1.0f64, f64::max)
                * 1.15;
            let mut chart = ChartBuilder::on(&area)
                .margin_left(10)
                .margin_right(10)
                .x_label_area_size(30)
                .y_label_area_size(y_label)
                .caption(
                    "senders' unacknowledged and unsent bytes (peak per pixel)",
                    ("sans-serif", 15),
                )
                .build_cartesian_2d(from..to, 0.0..ymax)
                .map_err(err)?;
            time_mesh(&mut chart, "bytes")?;
            let mut legend: Vec<(Sample, &str)> = Vec::new();
            for (side, which, colour, label) in [
                (0, 0, RGBColor(31, 90, 180), "client unacknowledged"),
                (0, 1, RGBColor(120, 170, 230), "client unsent"),
                (1, 0, RGBColor(214, 39, 40), "server unacknowledged"),
                (1, 1, RGBColor(240, 150, 150), "server unsent"),
            ] {
                let p = pts(side, which);
                if p.iter().all(|v| v.1 == 0.0) {
                    continue;
                }
                chart
                    .draw_series(LineSeries::new(steps(p), colour.stroke_width(2)))
                    .map_err(err)?;
                legend.push((Sample::Line(colour), label));
            }
            draw_legend(&legend_area, &legend)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Draws a sweep CSV as a heatmap of `signature`'s rate (default: the first signature with a
/// non-zero rate) over the first two swept parameters (the mean over any others).
///
/// # Errors
/// Not a sweep CSV, or no such signature.
pub fn heatmap(csv_text: &str, signature: Option<&str>, title: &str) -> Result<String, PlotError> {
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let head: Vec<String> = rdr
        .headers()
        .map_err(err)?
        .iter()
        .map(str::to_string)
        .collect();
    if head.first().map(String::as_str) != Some("kind")
        || head.get(3).map(String::as_str) != Some("seed")
    {
        return Err(PlotError(
            "not a tcpsim sweep CSV (header kind,cell,run,seed,...)".into(),
        ));
    }
    let sigs: Vec<&str> = crate::detect::signatures().collect();
    let first_sig = head
        .iter()
        .position(|h| sigs.contains(&h.as_str()))
        .ok_or_else(|| PlotError("no signature columns".into()))?;
    let params: Vec<String> = head[4..first_sig].to_vec();
    let cells: Vec<csv::StringRecord> = rdr
        .records()
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?
        .into_iter()
        .filter(|r| &r[0] == "cell")
        .collect();
    if cells.is_empty() || params.is_empty() {
        return Err(PlotError("the sweep has no cells".into()));
    }
    let col = match signature {
        Some(s) => head
            .iter()
            .position(|h| h == s)
            .ok_or_else(|| PlotError(format!("no column for signature {s:?}")))?,
        None => (first_sig..first_sig + sigs.len())
            .find(|&c| {
                cells
                    .iter()
                    .any(|r| r[c].parse::<f64>().unwrap_or(0.0) > 0.0)
            })
            .unwrap_or(first_sig),
    };
    let sig = head[col].clone();
    let values = |p: usize| -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for r in &cells {
            if !v.contains(&r[4 + p].to_string()) {
                v.push(r[4 + p].to_string());
            }
        }
        v
    };
    let xs = values(0);
    let ys = if params.len() > 1 {
        values(1)
    } else {
        vec![String::new()]
    };
    let mut grid = vec![vec![(0.0, 0u32); xs.len()]; ys.len()];
    for r in &cells {
        let xi = xs.iter().position(|v| *v == r[4]).expect("seen");
        let yi = if params.len() > 1 {
            ys.iter().position(|v| *v == r[5]).expect("seen")
        } else {
            0
        };
        let rate: f64 = r[col].parse().map_err(err)?;
        grid[yi][xi].0 += rate;
        grid[yi][xi].1 += 1;
    }
    let (w, h) = (160 + 90 * xs.len() as u32, 140 + 50 * ys.len() as u32);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w.max(520), h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let root = root
            .titled(&format!("{title}: rate of {sig}"), ("sans-serif", 18))
            .map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(110)
            .build_cartesian_2d(0.0..xs.len() as f64, 0.0..ys.len() as f64)
            .map_err(err)?;
        let xl = xs.clone();
        let yl = ys.clone();
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(xs.len() * 2 + 1)
            .y_labels(ys.len() * 2 + 1)
            .x_label_formatter(&|v| {
                let i = v.floor() as usize;
                if (v - i as f64 - 0.5).abs() < 1e-9 {
                    xl.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| {
                let i = v.floor() as usize;
                if (v - i as f64 - 0.5).abs() < 1e-9 {
                    yl.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc(params[0].as_str())
            .y_desc(params.get(1).map_or("", String::as_str))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        for (yi, row) in grid.iter().enumerate() {
            for (xi, &(sum, n)) in row.iter().enumerate() {
                let rate = if n == 0 { 0.0 } else { sum / f64::from(n) };
                let shade = (255.0 - rate * 200.0) as u8;
                let (x, y) = (xi as f64, yi as f64);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x, y), (x + 1.0, y + 1.0)],
                        RGBColor(255, shade, shade).filled(),
                    )))
                    .map_err(err)?;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x, y), (x + 1.0, y + 1.0)],
                        RGBColor(200, 200, 200).stroke_width(1),
                    )))
                    .map_err(err)?;
                let style = TextStyle::from(("sans-serif", 13).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Center));
                chart
                    .draw_series(std::iter::once(Text::new(
                        format!("{:.0}%", rate * 100.0),
                        (x + 0.5, y + 0.5),
                        style,
                    )))
                    .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
