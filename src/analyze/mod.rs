//! Per-connection analysis of packets at a capture point, in the spirit of Wireshark's
//! `tcp.analysis` flags, computed by us: every segment is classified, silences are measured, and
//! the signature detectors ([`crate::detect`]) are fed.
//!
//! Layout: [`Analyzer`] keys open connections and hands each packet to its per-connection state
//! (`conn`), which classifies it with the one retransmission rule of [`crate::classes`]
//! ([`SendTracker`](crate::classes::SendTracker)) and feeds the detectors; `report` turns a
//! finished connection into a [`ConnReport`].
//!
//! Guarantees: streaming — state is kept per open connection (closed on RST or when both FINs are
//! acknowledged); with [`Analyzer::handle_named`] and [`Analyzer::drain_closed`] (or
//! [`analyze_file_each`]) a closed connection is handed out as its report at once, so memory is
//! bounded by the connections open at one time, not the capture's length or its number of
//! connections. A connection the capture never shows closing (only one direction captured, the
//! last ACK missing) stays open to the end: about 3.7 KB each. The same packets give the same report; tcpdump's relative sequence numbers are undone
//! (only ACK-bearing segments after a conversation's first are relative, see `trace::text`);
//! open connections live in a hash map, but reports come out in order of first packet (the map is
//! never iterated in its own order).
//!
//! Classification rules (per direction, "sender" = the packet's source):
//! - `new-data`: data (or FIN) starting at the highest sequence seen, or the first seen;
//! - `out-of-order`: data starting beyond the highest sequence seen (a hole before it), or data
//!   filling a hole within 3 ms of the hole being seen (reordering, not loss); also a direction's
//!   first data seen when it starts beyond what the receiver has acknowledged (the capture began
//!   after the segment before it was sent: a hole is recorded, so its filler reports `since_hole_s`;
//!   at a sender-side capture that segment may only be in flight, and the receiver's later ACK
//!   past it makes it `previous-segment-not-captured`);
//! - `retransmission` (timeout), `fast-retransmission` (the receiver had sent >= 2 duplicate ACKs
//!   asking for it, the last within 20 ms or two round trips through the sender, Karn-sampled),
//!   `spurious-retransmission` (already acknowledged): data starting below the
//!   highest sequence seen (even when it also carries new bytes), including hole fillers arriving
//!   later than 3 ms;
//! - `previous-segment-not-captured`: the receiver acknowledged past a hole whose data never
//!   appeared in the capture;
//! - `duplicate-ack`: a pure ACK repeating the previous ACK and window while the peer has data
//!   beyond it; `window-update`: same ACK, new window; `zero-window`: window 0;
//!   `zero-window-probe`: one byte sent into a zero window; `keep-alive`: a probe at seq − 1 (or,
//!   when the capture omits seq, a repeated ACK after at least 1 s of the sender's silence with
//!   nothing outstanding); `keep-alive-ack`: the peer's answer to it; `fin`, `rst`, `syn`.

mod conn;
mod report;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::fasthash::FastMap;

use serde::Serialize;

use crate::capture::{Endpoints, ImportError, ImportOptions, ImportStats, TimeBase, import_file};
pub use crate::classes::{CLASSES, Classes, Seen};
use crate::clock::{Duration, Instant};
use crate::detect::{DetectOptions, Finding};
use crate::model::CapturePoint;
use crate::trace::Trace;
use crate::trace::packet::{Packet, TcpFlags};
use conn::Conn;
pub use report::{ConnReport, MAX_LISTED, Retransmission, Silence};

/// Thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalyzeOptions {
    /// A direction silent for longer than this is reported as a silence.
    pub silence: Duration,
    /// The signature detectors' thresholds.
    pub detect: DetectOptions,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            silence: Duration::from_secs(1),
            detect: DetectOptions::default(),
        }
    }
}

/// Streams packets into per-connection analyses.
pub struct Analyzer {
    opts: AnalyzeOptions,
    open: FastMap<(u32, u32), Conn>,
    /// Closed connections not handed out yet, by index.
    done: BTreeMap<usize, Finished>,
    next_index: usize,
    /// The latest packet time seen: the end of the capture so far.
    last_t: Option<Instant>,
    /// Report times count from here: the first packet, or a run's start.
    origin: Option<Instant>,
}

impl Analyzer {
    /// An analyzer with these thresholds, for a capture: report times count from its first
    /// packet.
    pub fn new(opts: AnalyzeOptions) -> Analyzer {
        Analyzer {
            opts,
            open: FastMap::default(),
            done: BTreeMap::new(),
            next_index: 0,
            last_t: None,
            origin: None,
        }
    }

    /// An analyzer for a simulated run: report times are the run's clock.
    pub fn for_run(opts: AnalyzeOptions) -> Analyzer {
        Analyzer {
            origin: Some(Instant::ZERO),
            ..Analyzer::new(opts)
        }
    }

    /// Where report times count from (the first packet, a run's start, or zero before any packet).
    pub fn origin(&self) -> Instant {
        self.origin.unwrap_or(Instant::ZERO)
    }

    /// Handles the next packet (packets must come in capture order).
    pub fn handle(&mut self, p: &Packet) {
        self.handle_inner(p, None);
    }

    /// As [`Analyzer::handle`], with the capture's endpoint names so far: a connection that
    /// closes is reduced to its report at once (for [`Analyzer::drain_closed`]).
    pub fn handle_named(&mut self, p: &Packet, names: &Endpoints) {
        self.handle_inner(p, Some(names));
    }

    /// Hands `each` the reports of the connections closed so far, in order of first packet among
    /// themselves (a connection still open may come before them: [`ConnReport::index`] tells the
    /// order); names from `names`.
    pub fn drain_closed(&mut self, names: &Endpoints, each: &mut dyn FnMut(ConnReport)) {
        let origin = self.origin();
        while let Some((_, f)) = self.done.pop_first() {
            each(f.report(names, origin));
        }
    }

    fn handle_inner(&mut self, p: &Packet, names: Option<&Endpoints>) {
        self.last_t = Some(self.last_t.map_or(p.t, |l| l.max(p.t)));
        self.origin.get_or_insert(p.t);
        let key = (p.src.min(p.dst), p.src.max(p.dst));
        let fresh_syn = p.has(TcpFlags::SYN) && !p.has(TcpFlags::ACK);
        if let Some(c) = self.open.get(&key)
            && fresh_syn
            && (c.closed || c.dirs.iter().any(|d| d.send.high.is_some()))
        {
            let c = self.open.remove(&key).expect("present");
            self.close(c, names);
        }
        let opts = self.opts;
        let next_index = &mut self.next_index;
        let c = self.open.entry(key).or_insert_with(|| {
            let index = *next_index;
            *next_index += 1;
            Conn::new(index, p, &opts)
        });
        c.handle(p, &opts);
        if c.closed {
            let c = self.open.remove(&key).expect("present");
            self.close(c, names);
        }
    }

    fn close(&mut self, c: Conn, names: Option<&Endpoints>) {
        let end = c.last;
        self.close_at(c, end, names);
    }

    fn close_at(&mut self, mut c: Conn, end: Instant, names: Option<&Endpoints>) {
        for d in &mut c.detectors {
            d.finish(end, &mut c.findings);
        }
        let index = c.index;
        let f = match names {
            Some(n) => Finished::Report(report::conn_report(c, n, self.origin())),
            None => Finished::Conn(Box::new(c)),
        };
        self.done.insert(index, f);
    }

    /// Finishes every connection and returns the reports, in order of first packet. Connections
    /// still open are observed until the end of the capture (its last packet).
    pub fn finish(self, endpoints: &Endpoints) -> Vec<ConnReport> {
        let end = self.last_t.unwrap_or(Instant::ZERO);
        self.finish_at(endpoints, end)
    }

    /// As [`Analyzer::finish`], with connections still open observed until `end` (e.g. the end of
    /// a simulated run).
    pub fn finish_at(mut self, endpoints: &Endpoints, end: Instant) -> Vec<ConnReport> {
        let mut open: Vec<Conn> = self.open.drain().map(|(_, c)| c).collect();
        open.sort_by_key(|c| c.index);
        for c in open {
            let until = end.max(c.last);
            self.close_at(c, until, None);
        }
        let origin = self.origin();
        self.done
            .into_values()
            .map(|f| f.report(endpoints, origin))
            .collect()
    }
}

/// A closed connection waiting to be handed out: its state, or already its report.
enum Finished {
    Conn(Box<Conn>),
    Report(ConnReport),
}

impl Finished {
    fn report(self, names: &Endpoints, origin: Instant) -> ConnReport {
        match self {
            Finished::Conn(c) => report::conn_report(*c, names, origin),
            Finished::Report(r) => r,
        }
    }
}

/// The analysis of a whole capture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// Per connection, in order of first packet.
    pub connections: Vec<ConnReport>,
    /// Every connection's findings, in connection order.
    pub findings: Vec<Finding>,
    /// What the report's times (`*_s`: seconds since the origin) are measured from, and how the
    /// capture shows them.
    #[serde(skip)]
    pub time: TimeBase,
}

impl Analysis {
    pub(crate) fn new(connections: Vec<ConnReport>, time: TimeBase) -> Analysis {
        let findings = connections
            .iter()
            .flat_map(|c| c.findings.iter().cloned())
            .collect();
        Analysis {
            connections,
            findings,
            time,
        }
    }

    /// Whether any finding has this signature.
    pub fn has(&self, signature: &str) -> bool {
        self.findings.iter().any(|f| f.signature == signature)
    }
}

/// Imports and analyses a capture file, streaming, handing `each` every connection's report as
/// soon as it closes (in order of closing; [`ConnReport::index`] is the order of first packet), with
/// the capture's time base: memory stays bounded by the connections open at once, however many
/// the capture has.
///
/// # Errors
/// As [`import_file`]; `each` may have been called for the connections before the error.
pub fn analyze_file_each(
    path: &std::path::Path,
    import: ImportOptions,
    opts: AnalyzeOptions,
    each: &mut dyn FnMut(ConnReport, &TimeBase),
) -> Result<ImportStats, ImportError> {
    let mut an = Analyzer::new(opts);
    let (endpoints, stats) = import_file(path, import, &mut |p, names| {
        an.handle_named(p, names);
        let base = TimeBase::new(names.time_kind(), an.origin());
        an.drain_closed(names, &mut |r| each(r, &base));
    })?;
    let base = TimeBase::new(stats.time, an.origin());
    for r in an.finish(&endpoints) {
        each(r, &base);
    }
    Ok(stats)
}

/// Imports and analyses a capture file, streaming.
///
/// # Errors
/// As [`import_file`].
pub fn analyze_file(
    path: &std::path::Path,
    import: ImportOptions,
    opts: AnalyzeOptions,
) -> Result<(Analysis, ImportStats), ImportError> {
    let mut an = Analyzer::new(opts);
    let (endpoints, stats) = import_file(path, import, &mut |p, _| an.handle(p))?;
    let time = TimeBase::new(stats.time, an.origin());
    Ok((Analysis::new(an.finish(&endpoints), time), stats))
}

/// Analyses a trace (simulated, at `point`, or imported); connections still open are observed
/// until the trace's end. A simulated trace's times are its clock; an imported one's count from
/// its first packet.
pub fn analyze_trace(trace: &Trace, point: CapturePoint, opts: AnalyzeOptions) -> Analysis {
    let (packets, endpoints) = crate::capture::trace_packets(trace, point);
    let mut an = if trace.endpoints.is_empty() {
        Analyzer::for_run(opts)
    } else {
        Analyzer::new(opts)
    };
    for p in &packets {
        an.handle(p);
    }
    let time = TimeBase::new(trace.time, an.origin());
    Analysis::new(an.finish_at(&endpoints, trace.end), time)
}

/// An [`crate::trace::EventSink`] that analyses a simulation's frames at a capture point as they
/// happen; [`AnalysisSink::into_analysis`] gives the result once the run has finished.
pub struct AnalysisSink {
    view: crate::capture::CaptureView,
    analyzer: Option<Analyzer>,
    result: Option<Analysis>,
}

impl AnalysisSink {
    /// A sink for `point` with these thresholds.
    pub fn new(point: CapturePoint, opts: AnalyzeOptions) -> AnalysisSink {
        AnalysisSink {
            view: crate::capture::CaptureView::new(point, &[]),
            analyzer: Some(Analyzer::for_run(opts)),
            result: None,
        }
    }

    /// The analysis, once the run has finished (`None` before).
    pub fn into_analysis(self) -> Option<Analysis> {
        self.result
    }
}

impl crate::trace::EventSink for AnalysisSink {
    fn handle_event(&mut self, e: &crate::trace::Event<'_>) -> std::io::Result<()> {
        if let (Some(an), Some(p)) = (self.analyzer.as_mut(), self.view.packet(e)) {
            an.handle(&p);
        }
        Ok(())
    }

    fn finish(&mut self, end: Instant) -> std::io::Result<()> {
        if let Some(an) = self.analyzer.take() {
            let time = TimeBase::run();
            self.result = Some(Analysis::new(
                an.finish_at(self.view.endpoints(), end),
                time,
            ));
        }
        Ok(())
    }
}
