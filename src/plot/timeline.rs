//! The timeline picture: the title, one time–sequence panel per direction (outage bands, ACK and
//! window lines, segment bars and markers, findings), then, for simulated traces, the lanes drawn
//! by `lanes.rs`.
//!
//! Guarantees: a pure function of the trace and the options (byte for byte); marks are thinned to
//! one per pixel column and kind; finding labels never overlap and stay inside the plot.

use std::collections::BTreeMap;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::extract::{Captured, Data, Flow, Kind, Simulated};
use super::findings::annotations;
use super::lanes::{draw_bytes_panel, draw_state_panel};
use super::layout::{Layout, Window, place_labels, steps};
use super::style::{
    ACK, Area, F64Chart, FINDING, Legend, OUTAGE, Sample, WINDOW, draw_legend, kind_style,
    time_mesh,
};
use super::thin::{Peaks, SeqRange};
use super::{PlotError, PlotOptions};
use crate::analyze::{AnalyzeOptions, Analyzer};
use crate::capture::{CaptureView, Endpoints, TimeArg, TimeBase, TimeKind};
use crate::clock::Instant;
use crate::detect::Finding;
use crate::model::CapturePoint;
use crate::trace::packet::Packet;
use crate::trace::{Event, EventKind, EventSink, Trace};

/// Draws a trace's timeline as SVG (see [`TimelineSink`] for drawing one without the trace).
///
/// # Errors
/// Nothing to plot (no packets, an empty window, a missing connection).
pub fn timeline(
    trace: &Trace,
    point: CapturePoint,
    opts: &PlotOptions,
) -> Result<String, PlotError> {
    let mut sink = TimelineSink::new(point, opts.conn).window(opts.from, opts.to);
    sink.view = CaptureView::new(point, &trace.endpoints);
    if !trace.endpoints.is_empty() {
        // An imported trace: report times count from its first packet.
        sink.analyzer = Analyzer::new(AnalyzeOptions::default());
    }
    for e in trace.events() {
        sink.sim.handle(&e);
        if let Some(p) = sink.view.packet(&e) {
            sink.analyzer.handle(&p);
            if matches!(e.kind, EventKind::Captured { .. }) {
                sink.captured.handle(&p, sink.view.endpoints());
            }
        }
    }
    sink.draw_at(None, trace.time, trace.end, opts)
}

/// Draws an imported trace's timeline with times counted from `origin` (seconds before it
/// negative, the axis in seconds), its findings placed on the same axis: one side of a plot of two
/// traces aligned at an event ([`super::compare`]).
///
/// # Errors
/// As [`timeline`].
pub(super) fn timeline_from(
    trace: &Trace,
    origin: Instant,
    opts: &PlotOptions,
) -> Result<String, PlotError> {
    let mut sink = TimelineSink::new(CapturePoint::Server, opts.conn).window(opts.from, opts.to);
    sink.view = CaptureView::new(CapturePoint::Server, &trace.endpoints);
    sink.analyzer = Analyzer::new(AnalyzeOptions::default());
    sink.captured.set_origin(origin);
    let mut first = None;
    for e in trace.events() {
        if let Some(p) = sink.view.packet(&e) {
            first.get_or_insert(p.t);
            sink.analyzer.handle(&p);
            sink.captured.handle(&p, sink.view.endpoints());
        }
    }
    // The analyzer counts from the first packet; the axis from `origin`.
    sink.findings_shift = first.map_or(0.0, |f| crate::clock::secs(f) - crate::clock::secs(origin));
    sink.draw_at(None, trace.time, trace.end, opts)
}

/// Collects a timeline while a run goes or a capture is read, thinned as it reads (each series
/// keeps 32,768 points, then at most 8,192 time bins): memory stays flat however long the run. Feed
/// it a run's events (it is an [`EventSink`]) or a capture's packets ([`TimelineSink::packet`]),
/// then draw it ([`TimelineSink::draw`], [`TimelineSink::draw_capture`]).
pub struct TimelineSink {
    sim: Simulated,
    captured: Captured,
    analyzer: Analyzer,
    view: CaptureView,
    end: Instant,
    /// Packets of an imported capture came ([`TimelineSink::packet`]).
    importing: bool,
    /// Seconds added to the findings' times to put them on the plot's axis.
    findings_shift: f64,
}

impl TimelineSink {
    /// A timeline of the run seen at `point`, or of connection `conn` of a capture.
    pub fn new(point: CapturePoint, conn: usize) -> TimelineSink {
        TimelineSink {
            sim: Simulated::default(),
            captured: Captured::new(conn, (None, None)),
            analyzer: Analyzer::for_run(AnalyzeOptions::default()),
            view: CaptureView::new(point, &[]),
            end: Instant::ZERO,
            importing: false,
            findings_shift: 0.0,
        }
    }

    /// Entries the run's thinned series hold.
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.sim.held()
    }

    /// Keeps only what falls in the plot's window (`--from`, `--to`: seconds of the run, or
    /// seconds since a capture's first packet, a time of day or a date and time), so a zoomed plot
    /// is thinned within its window. A window the trace cannot have (a time of day for a run) is
    /// reported when drawing.
    pub fn window(mut self, from: Option<TimeArg>, to: Option<TimeArg>) -> TimelineSink {
        let run = TimeBase::run();
        let at =
            |a: Option<TimeArg>, none: f64| a.and_then(|a| run.resolve(a).ok()).unwrap_or(none);
        self.sim
            .keep_only(at(from, f64::NEG_INFINITY), at(to, f64::INFINITY));
        self.captured = Captured::new(self.captured.conn(), (from, to));
        self
    }

    /// Reads one packet of an imported capture; `names` are its endpoint names.
    pub fn packet(&mut self, p: &Packet, names: &Endpoints) {
        if !self.importing {
            // A capture, not a run: report times count from its first packet.
            self.importing = true;
            self.analyzer = Analyzer::new(AnalyzeOptions::default());
        }
        self.analyzer.handle(p);
        self.captured.handle(p, names);
        self.end = p.t;
    }

    /// Draws a run's timeline as SVG.
    ///
    /// # Errors
    /// Nothing to plot (an empty window).
    pub fn draw(self, opts: &PlotOptions) -> Result<String, PlotError> {
        let end = self.end;
        self.draw_at(None, TimeKind::Relative, end, opts)
    }

    /// Draws a capture's timeline as SVG; `names` are its endpoint names (from the importer).
    ///
    /// # Errors
    /// Nothing to plot (no packets, an empty window, a missing connection).
    pub fn draw_capture(
        self,
        names: &Endpoints,
        kind: TimeKind,
        opts: &PlotOptions,
    ) -> Result<String, PlotError> {
        let end = self.end;
        self.draw_at(Some(names), kind, end, opts)
    }

    /// Draws with the endpoint `names` of a capture, or else those the sink's view collected;
    /// `kind`: what a capture's timestamps are.
    fn draw_at(
        self,
        names: Option<&Endpoints>,
        kind: TimeKind,
        end: Instant,
        opts: &PlotOptions,
    ) -> Result<String, PlotError> {
        let names = names.unwrap_or(self.view.endpoints());
        let findings = self.analyzer.finish_at(names, end);
        let shift = self.findings_shift;
        let findings = (findings.into_iter().flat_map(|c| c.findings))
            .map(|f| Finding {
                at_s: f.at_s + shift,
                ..f
            })
            .collect::<Vec<_>>();
        let data = if self.sim.seen() {
            self.sim.finish(end)
        } else {
            self.captured.finish(names, kind)?
        };
        draw(&data, &findings, opts)
    }
}

impl EventSink for TimelineSink {
    fn handle_event(&mut self, e: &Event<'_>) -> std::io::Result<()> {
        self.sim.handle(e);
        if let Some(p) = self.view.packet(e) {
            self.analyzer.handle(&p);
        }
        Ok(())
    }

    fn finish(&mut self, end: Instant) -> std::io::Result<()> {
        self.end = end;
        Ok(())
    }
}

/// Draws extracted data and the findings to annotate as SVG.
fn draw(data: &Data, findings: &[Finding], opts: &PlotOptions) -> Result<String, PlotError> {
    let layout = Layout::new(opts.width, data.lanes.is_some());
    let win = Window::new(data, opts, layout.plot_px())?;
    // Findings count from the same origin as the data (the analyzer's: a run's start or the
    // capture's first packet).
    let annot: Vec<(f64, String)> = annotations(findings)
        .into_iter()
        .filter(|(t, _)| win.contains(*t))
        .collect();
    let scene = Scene {
        win,
        y_label: layout.y_label,
        annot,
    };
    let mut svg = String::new();
    draw_timeline(&mut svg, data, &scene, &layout, &opts.title)?;
    Ok(svg)
}

/// What every panel of one timeline shares.
pub(super) struct Scene {
    /// The time window and its pixel columns.
    pub(super) win: Window,
    /// Width of the y label area of every panel.
    pub(super) y_label: u32,
    /// The findings inside the window: (time, label), by time.
    annot: Vec<(f64, String)>,
}

/// Draws the whole picture into `svg`.
fn draw_timeline(
    svg: &mut String,
    data: &Data,
    scene: &Scene,
    layout: &Layout,
    title: &str,
) -> Result<(), PlotError> {
    let root = SVGBackend::with_string(svg, (layout.width, layout.height)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(&format!("{title} — {}", subtitle(data)), ("sans-serif", 22))?;
    let lanes = data.lanes.is_some();
    let rows = root.split_by_breakpoints([] as [i32; 0], layout.breaks(lanes));
    let split_at = layout.legend_at();
    for (i, flow) in data.flows.iter().enumerate() {
        let (area, legend_area) = rows[i].split_horizontally(split_at);
        draw_sequence_panel(scene, i, flow, &area, &legend_area)?;
    }
    if let Some(l) = &data.lanes {
        let (area, legend_area) = rows[2].split_horizontally(split_at);
        draw_state_panel(scene, l, &area, &legend_area)?;
        let (area, legend_area) = rows[3].split_horizontally(split_at);
        draw_bytes_panel(scene, l, &area, &legend_area)?;
    }
    root.present()?;
    Ok(())
}

/// What the picture shows: a simulation from the sender's side, or a capture (with the time of
/// its first packet, which is t = 0, as the capture shows it).
fn subtitle(data: &Data) -> String {
    if data.simulated {
        return "simulated: every frame where it was sent, with its fate".to_string();
    }
    let at = data
        .base
        .clock(data.base.origin)
        .unwrap_or_else(|| format!("{:.6} s", crate::clock::secs(data.base.origin)));
    format!("capture, t = 0 at {} ({at})", data.zero)
}

/// Draws direction `index`'s time–sequence panel and its legend.
fn draw_sequence_panel(
    scene: &Scene,
    index: usize,
    flow: &Flow,
    area: &Area<'_>,
    legend_area: &Area<'_>,
) -> Result<(), PlotError> {
    let top = index == 0;
    let (y0, y1) = scene.sequence_range(flow, top);
    let name = if flow.name.is_empty() {
        format!("direction {}", index + 1)
    } else {
        flow.name.clone()
    };
    let win = &scene.win;
    let mut chart = ChartBuilder::on(area)
        .margin_left(10)
        .margin_right(10)
        .margin_top(4)
        .x_label_area_size(30)
        .y_label_area_size(scene.y_label)
        .caption(format!("{name}: sequence over time"), ("sans-serif", 15))
        .build_cartesian_2d(win.from..win.to, y0..y1)?;
    time_mesh(&mut chart, "relative sequence (bytes)")?;
    let mut legend = Legend::new();
    draw_outages(&mut chart, flow, win, (y0, y1), &mut legend)?;
    draw_acks(&mut chart, flow, win, &mut legend)?;
    draw_segments(&mut chart, flow, win, (y1 - y0) * 0.012, &mut legend)?;
    scene.draw_findings(&mut chart, (y0, y1), top, &mut legend)?;
    draw_legend(legend_area, &legend)
}

impl Scene {
    /// The y range of `flow`'s panel: its sequences and ACKs in the window, padded, with headroom
    /// above for the finding labels in the `top` panel.
    fn sequence_range(&self, flow: &Flow, top: bool) -> (f64, f64) {
        let win = &self.win;
        let ys = flow
            .segs
            .iter()
            .filter(|s| win.contains(s.0))
            .flat_map(|s| [s.2.lo, s.2.hi])
            .chain(
                flow.acks
                    .iter()
                    .filter(|a| win.contains(a.0))
                    .map(|a| a.2.0),
            );
        let (mut y0, mut y1) = ys.fold((i64::MAX, i64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
        if y0 > y1 {
            (y0, y1) = (0, 1);
        }
        let span = (y1 - y0) as f64;
        let pad = (span * 0.06).max(10.0);
        let label_rows = if top {
            self.place_finding_labels()
                .iter()
                .map(|r| r.1 + 1)
                .max()
                .unwrap_or(0)
        } else {
            0
        };
        (
            y0 as f64 - pad,
            y1 as f64 + pad + (span + 2.0 * pad) * 0.075 * label_rows as f64,
        )
    }

    /// Each finding label's (left edge in pixels, row).
    fn place_finding_labels(&self) -> Vec<(f64, usize)> {
        let labels: Vec<(f64, String)> = self
            .annot
            .iter()
            .map(|(t, l)| (self.win.px(*t), l.clone()))
            .collect();
        place_labels(&labels, 12.0, self.win.plot_px)
    }

    /// Findings: dashed lines through every sequence panel; in the `top` panel, their labels in the
    /// headroom.
    fn draw_findings(
        &self,
        chart: &mut F64Chart<'_, '_>,
        (y0, y1): (f64, f64),
        top: bool,
        legend: &mut Legend,
    ) -> Result<(), PlotError> {
        for (t, _) in &self.annot {
            chart.draw_series(DashedLineSeries::new(
                vec![(*t, y0), (*t, y1)],
                6,
                4,
                FINDING.stroke_width(1),
            ))?;
        }
        if top && !self.annot.is_empty() {
            self.draw_finding_labels(chart, (y0, y1))?;
            legend.push((Sample::Line(FINDING), "finding (see labels)"));
        }
        Ok(())
    }

    /// The finding labels, in rows from the top of the panel down.
    fn draw_finding_labels(
        &self,
        chart: &mut F64Chart<'_, '_>,
        (y0, y1): (f64, f64),
    ) -> Result<(), PlotError> {
        let placed = self.place_finding_labels();
        let row_h = (y1 - y0) * 0.075;
        for ((_, l), (left, row)) in self.annot.iter().zip(placed) {
            let y = y1 - row_h * (row as f64 + 0.6);
            let style = TextStyle::from(("sans-serif", 12).into_font())
                .color(&RGBColor(30, 30, 30))
                .pos(Pos::new(HPos::Left, VPos::Center));
            chart.draw_series(std::iter::once(Text::new(
                l.clone(),
                (self.win.t_at_px(left + 4.0), y),
                style,
            )))?;
        }
        Ok(())
    }
}

/// The link-down windows of the flow's direction, as bands over the panel's height.
fn draw_outages(
    chart: &mut F64Chart<'_, '_>,
    flow: &Flow,
    win: &Window,
    (y0, y1): (f64, f64),
    legend: &mut Legend,
) -> Result<(), PlotError> {
    let (from, to) = (win.from, win.to);
    let outages: Vec<&(f64, f64)> = flow
        .outages
        .iter()
        .filter(|(a, b)| *b >= from && *a <= to)
        .collect();
    if outages.is_empty() {
        return Ok(());
    }
    chart.draw_series(outages.iter().map(|(a, b)| {
        Rectangle::new(
            [(a.max(from), y0), (b.min(to), y1)],
            OUTAGE.mix(0.6).filled(),
        )
    }))?;
    legend.push((Sample::Band(OUTAGE), "link down (this direction)"));
    Ok(())
}

/// The peer's ACK and window edge: step lines, one point per pixel column (the highest).
fn draw_acks(
    chart: &mut F64Chart<'_, '_>,
    flow: &Flow,
    win: &Window,
    legend: &mut Legend,
) -> Result<(), PlotError> {
    let mut ack_bins: BTreeMap<usize, (f64, i64, i64)> = BTreeMap::new();
    for (t, (), Peaks(ack, edge)) in flow.acks.iter().filter(|a| win.contains(a.0)) {
        let e = ack_bins.entry(win.bin_of(t)).or_insert((t, ack, edge));
        *e = (e.0, e.1.max(ack), e.2.max(edge));
    }
    let Some(&(_, al, wl)) = ack_bins.values().last() else {
        return Ok(());
    };
    let last = |v: i64| std::iter::once((win.to, v as f64));
    let window = ack_bins.values().map(|&(t, _, w)| (t, w as f64));
    chart.draw_series(LineSeries::new(
        steps(window.chain(last(wl))),
        WINDOW.stroke_width(1),
    ))?;
    let acks = ack_bins.values().map(|&(t, a, _)| (t, a as f64));
    chart.draw_series(LineSeries::new(
        steps(acks.chain(last(al))),
        ACK.stroke_width(2),
    ))?;
    legend.push((Sample::Line(ACK), "ACK (of this direction)"));
    legend.push((Sample::Line(WINDOW), "receive window (ack + win)"));
    Ok(())
}

/// The segments: one bar (or marker) per kind and pixel column, from the lowest to the highest
/// sequence; bars at least `min_bar` high.
fn draw_segments(
    chart: &mut F64Chart<'_, '_>,
    flow: &Flow,
    win: &Window,
    min_bar: f64,
    legend: &mut Legend,
) -> Result<(), PlotError> {
    let mut bars: BTreeMap<(Kind, usize), (f64, i64, i64)> = BTreeMap::new();
    for (t, k, SeqRange { lo, hi }) in flow.segs.iter().filter(|s| win.contains(s.0)) {
        let e = bars
            .entry((k, win.bin_of(t)))
            .or_insert((win.bin_t(win.bin_of(t)), lo, hi));
        e.1 = e.1.min(lo);
        e.2 = e.2.max(hi);
    }
    for kind in Kind::ALL {
        let items: Vec<(f64, i64, i64)> = bars
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, v)| *v)
            .collect();
        if !items.is_empty() {
            legend.push(draw_marks(chart, kind, &items, min_bar)?);
        }
    }
    Ok(())
}

/// Draws the marks of one kind, `items` as (time, low, high); returns its legend entry.
fn draw_marks(
    chart: &mut F64Chart<'_, '_>,
    kind: Kind,
    items: &[(f64, i64, i64)],
    min_bar: f64,
) -> Result<(Sample, &'static str), PlotError> {
    let (colour, label) = kind_style(kind);
    let sample = match kind {
        Kind::New | Kind::Retransmission => {
            let width = if kind == Kind::New { 2 } else { 3 };
            chart.draw_series(items.iter().map(|&(t, lo, hi)| {
                let (lo, hi) = (lo as f64, (hi as f64).max(lo as f64 + min_bar));
                PathElement::new(vec![(t, lo), (t, hi)], colour.stroke_width(width))
            }))?;
            Sample::Bar(colour)
        }
        Kind::Dropped => {
            chart.draw_series(
                items
                    .iter()
                    .map(|&(t, lo, _)| Cross::new((t, lo as f64), 5, colour.stroke_width(2))),
            )?;
            Sample::Cross(colour)
        }
        Kind::Held => {
            chart.draw_series(
                items
                    .iter()
                    .map(|&(t, lo, _)| Circle::new((t, lo as f64), 5, colour.stroke_width(2))),
            )?;
            Sample::Circle(colour)
        }
        Kind::Fin | Kind::Rst => {
            chart.draw_series(
                items
                    .iter()
                    .map(|&(t, lo, _)| TriangleMarker::new((t, lo as f64), 7, colour.filled())),
            )?;
            Sample::Triangle(colour)
        }
    };
    Ok((sample, label))
}
