//! Per-connection analysis of packets at a capture point, in the spirit of Wireshark's
//! `tcp.analysis` flags, computed by us: every segment is classified, silences are measured, and
//! the signature detectors ([`crate::detect`]) are fed.
//!
//! Guarantees: streaming — state is kept per open connection (closed on RST or when both FINs are
//! acknowledged), so memory is bounded by the number of open connections, not the capture's
//! length; the same packets give the same report; tcpdump's relative sequence numbers are undone
//! (only ACK-bearing segments after a conversation's first are relative, see `trace::text`).
//!
//! Classification rules (per direction, "sender" = the packet's source):
//! - `new-data`: data (or SYN/FIN) starting at the highest sequence seen, or the first seen;
//! - `out-of-order`: data starting beyond the highest sequence seen (a hole before it), or data
//!   filling a hole within 3 ms of the hole being seen (reordering, not loss);
//! - `retransmission` (timeout), `fast-retransmission` (the receiver had sent >= 2 duplicate ACKs
//!   asking for it), `spurious-retransmission` (already acknowledged): data at or below the highest
//!   sequence seen, including hole fillers arriving later than 3 ms;
//! - `previous-segment-not-captured`: the receiver acknowledged past a hole whose data never
//!   appeared in the capture;
//! - `duplicate-ack`: a pure ACK repeating the previous ACK and window while the peer has data
//!   beyond it; `window-update`: same ACK, new window; `zero-window`: window 0;
//!   `zero-window-probe`: one byte sent into a zero window; `keep-alive`: a probe at seq − 1 (or,
//!   when the capture omits seq, a repeated ACK after at least 1 s of the sender's silence with
//!   nothing outstanding); `keep-alive-ack`: the peer's answer to it; `fin`, `rst`, `syn`.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::capture::{Endpoints, ImportError, ImportOptions, ImportStats, import_file};
use crate::clock::{Duration, Instant, secs};
use crate::detect::Finding;
use crate::detect::{self, Detector};
use crate::model::CapturePoint;
use crate::trace::Trace;
use crate::trace::packet::Packet;
use crate::trace::packet::TcpFlags;

/// Segment classes, in report order.
pub const CLASSES: [&str; 17] = [
    "syn",
    "new-data",
    "retransmission",
    "fast-retransmission",
    "spurious-retransmission",
    "out-of-order",
    "previous-segment-not-captured",
    "duplicate-ack",
    "keep-alive",
    "keep-alive-ack",
    "window-update",
    "zero-window",
    "zero-window-probe",
    "fin",
    "rst",
    "ack",
    "data-unknown-seq",
];

/// A set of classes (bit i = `CLASSES[i]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Classes(pub u32);

macro_rules! class_consts {
    ($($name:ident = $i:expr),* $(,)?) => {
        impl Classes { $(
            #[doc = concat!("Bit of `", stringify!($name), "`.")]
            pub const $name: u32 = 1 << $i;
        )* }
    };
}
class_consts!(
    SYN = 0,
    NEW_DATA = 1,
    RETRANSMISSION = 2,
    FAST_RETRANSMISSION = 3,
    SPURIOUS = 4,
    OUT_OF_ORDER = 5,
    PREV_NOT_CAPTURED = 6,
    DUP_ACK = 7,
    KEEP_ALIVE = 8,
    KEEP_ALIVE_ACK = 9,
    WINDOW_UPDATE = 10,
    ZERO_WINDOW = 11,
    ZERO_WINDOW_PROBE = 12,
    FIN = 13,
    RST = 14,
    ACK = 15,
    DATA_UNKNOWN_SEQ = 16
);

impl Classes {
    /// Contains any of these bits.
    pub fn any(self, bits: u32) -> bool {
        self.0 & bits != 0
    }
    /// Any kind of retransmission.
    pub fn is_retransmission(self) -> bool {
        self.any(Classes::RETRANSMISSION | Classes::FAST_RETRANSMISSION | Classes::SPURIOUS)
    }
    /// The class names, in report order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        CLASSES
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| *n)
    }
}

/// Thresholds.
#[derive(Debug, Clone, Copy)]
pub struct AnalyzeOptions {
    /// A direction silent for longer than this is reported as a silence.
    pub silence: Duration,
    /// Both directions silent this long counts as an outage (one-way-stall).
    pub outage: Duration,
    /// A sender without data for this long after an outage is stalled.
    pub stall: Duration,
    /// A connection idle this long before a RST is an idle reset.
    pub idle_reset: Duration,
    /// CLOSE-WAIT (peer's FIN ACKed, no FIN sent) this long is stuck.
    pub close_wait: Duration,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            silence: Duration::from_secs(1),
            outage: Duration::from_millis(500),
            stall: Duration::from_secs(1),
            idle_reset: Duration::from_secs(30),
            close_wait: Duration::from_secs(60),
        }
    }
}

/// One classified segment, as detectors see it.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// The packet, with sequence numbers made absolute when tcpdump printed them relative.
    pub p: Packet,
    /// 0 if sent by the connection's first-seen endpoint, else 1.
    pub from: usize,
    /// Its classes.
    pub classes: Classes,
    /// Data that advanced the receiver's in-order point.
    pub in_order: bool,
    /// For a retransmission: when the same sequence was first seen, and how many times before.
    pub first_sent: Option<(Instant, u32)>,
    /// For a hole filler: when the hole was first seen.
    pub hole_seen: Option<Instant>,
}

/// A silent stretch of one direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Silence {
    /// Sender's endpoint name.
    pub from: String,
    /// Start (last packet before).
    pub start_s: f64,
    /// Length.
    pub length_s: f64,
}

/// Most retransmissions and silences listed per connection (all are counted), so that memory is
/// bounded per connection whatever the capture's length.
pub const MAX_LISTED: usize = 1000;

/// One retransmitted segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retransmission {
    /// When it was seen.
    pub at_s: f64,
    /// Sender's endpoint name.
    pub from: String,
    /// Sequence number (as captured, made absolute if tcpdump printed it relative).
    pub seq: u32,
    /// Payload length.
    pub len: u32,
    /// `retransmission` (timeout), `fast-retransmission` or `spurious-retransmission`.
    pub kind: String,
    /// How many times this sequence was seen before.
    pub previous: u32,
    /// Time since it was first seen (when it was: a lost original is not in the capture).
    pub since_first_s: Option<f64>,
    /// For a segment filling a hole: time since the hole was seen.
    pub since_hole_s: Option<f64>,
}

/// The report of one connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnReport {
    /// Index in capture order.
    pub index: usize,
    /// First-seen endpoint.
    pub a: String,
    /// The other endpoint.
    pub b: String,
    /// First packet.
    pub first_s: f64,
    /// Last packet.
    pub last_s: f64,
    /// Packets.
    pub packets: u64,
    /// Segments per class (classes with a zero count are left out).
    pub classes: BTreeMap<String, u64>,
    /// Silences longer than the threshold (the first [`MAX_LISTED`]).
    pub silences: Vec<Silence>,
    /// How many silences there were in all.
    pub silence_count: u64,
    /// Retransmissions, in order (the first [`MAX_LISTED`] of them).
    pub retransmissions: Vec<Retransmission>,
    /// Findings of the signature detectors.
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Default)]
struct Dir {
    isn: Option<u32>,
    high: Option<u32>,
    holes: Vec<(u32, u32, Instant)>,
    /// Transmissions per starting sequence: (first time, count), for unacknowledged data.
    sent: BTreeMap<u32, (Instant, u32)>,
    last_ack: Option<u32>,
    last_win: Option<u32>,
    max_ack: Option<u32>,
    dupacks: u32,
    last_t: Option<Instant>,
    fin_seq: Option<u32>,
    fin_acked: bool,
    last_keepalive: bool,
}

fn after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

struct Conn {
    index: usize,
    ends: [u32; 2],
    dirs: [Dir; 2],
    relative: Option<bool>,
    first: Instant,
    last: Instant,
    packets: u64,
    counts: [u64; CLASSES.len()],
    silences: Vec<(usize, Instant, Duration)>,
    silence_count: u64,
    retrans: Vec<(usize, Seen)>,
    detectors: Vec<Box<dyn Detector>>,
    findings: Vec<Finding>,
    closed: bool,
}

/// Streams packets into per-connection analyses.
pub struct Analyzer {
    opts: AnalyzeOptions,
    open: HashMap<(u32, u32), Conn>,
    done: Vec<Conn>,
    next_index: usize,
    /// The latest packet time seen: the end of the capture so far.
    last_t: Option<Instant>,
}

impl Analyzer {
    /// An analyzer with these thresholds.
    pub fn new(opts: AnalyzeOptions) -> Analyzer {
        Analyzer {
            opts,
            open: HashMap::new(),
            done: Vec::new(),
            next_index: 0,
            last_t: None,
        }
    }

    /// Handles the next packet (packets must come in capture order).
    pub fn handle(&mut self, p: &Packet) {
        self.last_t = Some(self.last_t.map_or(p.t, |l| l.max(p.t)));
        let key = (p.src.min(p.dst), p.src.max(p.dst));
        let fresh_syn = p.has(TcpFlags::SYN) && !p.has(TcpFlags::ACK);
        if let Some(c) = self.open.get(&key)
            && fresh_syn
            && (c.closed || c.dirs.iter().any(|d| d.high.is_some()))
        {
            let c = self.open.remove(&key).expect("present");
            self.close(c);
        }
        let opts = self.opts;
        let next_index = &mut self.next_index;
        let c = self.open.entry(key).or_insert_with(|| {
            let index = *next_index;
            *next_index += 1;
            Conn {
                index,
                ends: [p.src, p.dst],
                dirs: Default::default(),
                relative: None,
                first: p.t,
                last: p.t,
                packets: 0,
                counts: [0; CLASSES.len()],
                silences: Vec::new(),
                silence_count: 0,
                retrans: Vec::new(),
                detectors: detect::instantiate(&opts),
                findings: Vec::new(),
                closed: false,
            }
        });
        c.handle(p, &opts);
        if c.closed {
            let c = self.open.remove(&key).expect("present");
            self.close(c);
        }
    }

    fn close(&mut self, c: Conn) {
        let end = c.last;
        self.close_at(c, end);
    }

    fn close_at(&mut self, mut c: Conn, end: Instant) {
        for d in &mut c.detectors {
            d.finish(end, &mut c.findings);
        }
        self.done.push(c);
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
            self.close_at(c, until);
        }
        self.done.sort_by_key(|c| c.index);
        self.done
            .into_iter()
            .map(|c| {
                let mut findings = c.findings;
                findings.sort_by(|a, b| {
                    a.at_s
                        .total_cmp(&b.at_s)
                        .then(a.signature.cmp(&b.signature))
                });
                ConnReport {
                    index: c.index,
                    a: endpoints.get(c.ends[0]).to_string(),
                    b: endpoints.get(c.ends[1]).to_string(),
                    first_s: secs(c.first),
                    last_s: secs(c.last),
                    packets: c.packets,
                    classes: CLASSES
                        .iter()
                        .zip(c.counts)
                        .filter(|(_, n)| *n > 0)
                        .map(|(k, n)| (k.to_string(), n))
                        .collect(),
                    silences: c
                        .silences
                        .iter()
                        .map(|(from, start, len)| Silence {
                            from: endpoints.get(c.ends[*from]).to_string(),
                            start_s: secs(*start),
                            length_s: len.total_micros() as f64 / 1e6,
                        })
                        .collect(),
                    silence_count: c.silence_count,
                    retransmissions: c
                        .retrans
                        .iter()
                        .map(|(from, r)| Retransmission {
                            at_s: secs(r.p.t),
                            from: endpoints.get(c.ends[*from]).to_string(),
                            seq: r.p.seq,
                            len: r.p.len,
                            kind: r
                                .classes
                                .names()
                                .find(|n| n.contains("retransmission"))
                                .unwrap_or("retransmission")
                                .to_string(),
                            previous: r.first_sent.map_or(0, |f| f.1),
                            since_first_s: r
                                .first_sent
                                .filter(|f| f.0 < r.p.t)
                                .map(|f| (r.p.t - f.0).total_micros() as f64 / 1e6),
                            since_hole_s: r
                                .hole_seen
                                .map(|h| (r.p.t - h).total_micros() as f64 / 1e6),
                        })
                        .collect(),
                    findings,
                }
            })
            .collect()
    }
}

impl Conn {
    fn handle(&mut self, raw: &Packet, opts: &AnalyzeOptions) {
        let from = usize::from(raw.src != self.ends[0]);
        let to = 1 - from;
        let mut p = *raw;
        self.packets += 1;
        if p.t > self.last {
            self.last = p.t;
        }
        // Silence of this direction.
        let prev_t = self.dirs[from].last_t;
        if let Some(prev) = prev_t
            && p.t >= prev
            && p.t - prev > opts.silence
        {
            self.silences.push((from, prev, p.t - prev));
        }
        self.dirs[from].last_t = Some(p.t);

        // Undo tcpdump's relative numbering (see trace::text for the rule).
        if p.has(TcpFlags::SYN) && p.seq_known {
            self.dirs[from].isn = Some(p.seq);
        } else if p.has(TcpFlags::ACK) {
            if self.relative.is_none() {
                // Absolute numbers continue from the ISN; relative ones start again from 1.
                // Whichever the printed value is nearer to is how it was printed.
                let relative = |v: u32, isn: u32| {
                    let from_isn = (v.wrapping_sub(isn.wrapping_add(1)) as i32).unsigned_abs();
                    let from_one = (v.wrapping_sub(1) as i32).unsigned_abs();
                    from_one < from_isn
                };
                if let (Some(isn), true) = (self.dirs[from].isn, p.seq_known) {
                    self.relative = Some(relative(p.seq, isn));
                } else if let Some(isn) = self.dirs[to].isn {
                    self.relative = Some(relative(p.ack, isn));
                }
            }
            if self.relative == Some(true) {
                if let Some(isn) = self.dirs[from].isn {
                    p.seq = p.seq.wrapping_add(isn);
                }
                if let Some(isn) = self.dirs[to].isn {
                    p.ack = p.ack.wrapping_add(isn);
                }
            }
        }

        let mut c = 0u32;
        let mut in_order = false;
        let mut first_sent = None;
        let mut hole_seen = None;
        if p.has(TcpFlags::SYN) {
            c |= Classes::SYN;
        }
        if p.has(TcpFlags::FIN) {
            c |= Classes::FIN;
        }
        if p.has(TcpFlags::RST) {
            c |= Classes::RST;
        }
        let n = p.seq_len();
        let peer_acked = self.dirs[to].max_ack;
        let peer_win_zero = self.dirs[to].last_win == Some(0);
        let peer_dupacks_for = (self.dirs[to].dupacks >= 2)
            .then_some(self.dirs[to].last_ack)
            .flatten();
        if n > 0 && !p.has(TcpFlags::RST) {
            if !p.seq_known {
                c |= Classes::DATA_UNKNOWN_SEQ;
            } else {
                let d = &mut self.dirs[from];
                let (seq, end) = (p.seq, p.seq.wrapping_add(n));
                if p.has(TcpFlags::FIN) {
                    d.fin_seq = Some(end.wrapping_sub(1));
                }
                match d.high {
                    None => {
                        if p.len > 0 || p.has(TcpFlags::FIN) {
                            c |= Classes::NEW_DATA;
                        }
                        d.high = Some(end);
                    }
                    Some(h) if seq == h => {
                        if peer_win_zero && p.len == 1 {
                            c |= Classes::ZERO_WINDOW_PROBE;
                        } else if p.len > 0 || p.has(TcpFlags::FIN) {
                            c |= Classes::NEW_DATA;
                        }
                        d.high = Some(end);
                    }
                    Some(h) if after(seq, h) => {
                        if peer_acked.is_some_and(|a| !after(seq, a)) {
                            // The receiver already acknowledged the missing range: the capture
                            // missed it.
                            c |= Classes::PREV_NOT_CAPTURED;
                        } else {
                            c |= Classes::OUT_OF_ORDER;
                            d.holes.push((h, seq, p.t));
                            if d.holes.len() > 64 {
                                d.holes.remove(0);
                            }
                        }
                        d.high = Some(end);
                    }
                    Some(h) => {
                        if p.len == 1 && end == h && !p.has(TcpFlags::FIN | TcpFlags::SYN) {
                            c |= Classes::KEEP_ALIVE;
                        } else {
                            // A hole filler?
                            let filled = d
                                .holes
                                .iter()
                                .position(|&(hs, he, _)| after(end, hs) && after(he, seq));
                            if let Some(i) = filled {
                                let (hs, he, seen) = d.holes[i];
                                hole_seen = Some(seen);
                                let covers_low = !after(seq, hs);
                                let covers_high = !after(he, end);
                                if covers_low && covers_high {
                                    d.holes.remove(i);
                                } else if covers_low {
                                    d.holes[i].0 = end;
                                } else {
                                    d.holes[i].1 = seq;
                                }
                            }
                            if filled.is_some()
                                && p.t - hole_seen.expect("set") <= Duration::from_millis(3)
                            {
                                c |= Classes::OUT_OF_ORDER;
                            } else if peer_acked.is_some_and(|a| !after(end, a)) {
                                c |= Classes::SPURIOUS;
                            } else if peer_dupacks_for == Some(seq) {
                                c |= Classes::FAST_RETRANSMISSION;
                            } else {
                                c |= Classes::RETRANSMISSION;
                            }
                            if after(end, h) {
                                d.high = Some(end);
                            }
                        }
                    }
                }
                // In-order: it advanced the receiver's acknowledged point (as far as seen so far).
                in_order = match peer_acked {
                    Some(a) => !after(seq, a) && after(end, a),
                    None => c & Classes::NEW_DATA != 0,
                };
                let entry = d.sent.entry(seq).or_insert((p.t, 0));
                if c & (Classes::RETRANSMISSION | Classes::FAST_RETRANSMISSION | Classes::SPURIOUS)
                    != 0
                {
                    first_sent = Some(*entry);
                }
                entry.1 += 1;
                if d.sent.len() > 4096 {
                    let oldest = *d.sent.keys().next().expect("non-empty");
                    d.sent.remove(&oldest);
                }
            }
        }

        if p.has(TcpFlags::ACK) && !p.has(TcpFlags::RST) {
            let d = &self.dirs[from];
            let peer_high = self.dirs[to].high;
            let same_ack = d.last_ack == Some(p.ack);
            let pure = n == 0;
            if pure {
                let peer_keepalive = self.dirs[to].last_keepalive;
                let was_silent =
                    prev_t.is_some_and(|t| p.t >= t && p.t - t >= Duration::from_secs(1));
                let nothing_outstanding = peer_high.is_none_or(|h| !after(h, p.ack));
                let probe = if p.seq_known {
                    d.high.is_some_and(|h| p.seq == h.wrapping_sub(1))
                } else {
                    same_ack && was_silent && nothing_outstanding
                };
                if peer_keepalive && nothing_outstanding {
                    c |= Classes::KEEP_ALIVE_ACK;
                } else if probe {
                    c |= Classes::KEEP_ALIVE;
                } else if p.win == 0 {
                    c |= Classes::ZERO_WINDOW;
                } else if same_ack
                    && d.last_win == Some(p.win)
                    && peer_high.is_some_and(|h| after(h, p.ack))
                    && c & Classes::FIN == 0
                {
                    c |= Classes::DUP_ACK;
                } else if same_ack && d.last_win.is_some_and(|w| w != p.win) {
                    c |= Classes::WINDOW_UPDATE;
                } else if c == 0 {
                    c |= Classes::ACK;
                }
            } else if p.win == 0 {
                c |= Classes::ZERO_WINDOW;
            }
            // ACK bookkeeping.
            let acks_past_hole: Vec<usize> = {
                let peer = &self.dirs[to];
                peer.holes
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, he, _))| !after(*he, p.ack))
                    .map(|(i, _)| i)
                    .collect()
            };
            if !acks_past_hole.is_empty() {
                c |= Classes::PREV_NOT_CAPTURED;
                let peer = &mut self.dirs[to];
                for i in acks_past_hole.into_iter().rev() {
                    peer.holes.remove(i);
                }
            }
            let d = &mut self.dirs[from];
            if c & Classes::DUP_ACK != 0 {
                d.dupacks += 1;
            } else if !same_ack {
                d.dupacks = 0;
            }
            d.last_ack = Some(p.ack);
            d.last_win = Some(p.win);
            if d.max_ack.is_none_or(|m| after(p.ack, m)) {
                d.max_ack = Some(p.ack);
                let peer = &mut self.dirs[to];
                let acked: Vec<u32> = peer
                    .sent
                    .keys()
                    .copied()
                    .filter(|&s| !after(s, p.ack) && s != p.ack)
                    .collect();
                for s in acked {
                    peer.sent.remove(&s);
                }
                if let Some(f) = peer.fin_seq
                    && after(p.ack, f)
                {
                    peer.fin_acked = true;
                }
            }
        } else if !p.has(TcpFlags::ACK) && c == 0 {
            c |= Classes::ACK;
        }
        if p.win == 0 && !p.has(TcpFlags::RST) {
            c |= Classes::ZERO_WINDOW;
        }
        self.dirs[from].last_keepalive = c & Classes::KEEP_ALIVE != 0;
        for (i, count) in self.counts.iter_mut().enumerate() {
            if c & (1 << i) != 0 {
                *count += 1;
            }
        }
        let seen = Seen {
            p,
            from,
            classes: Classes(c),
            in_order,
            first_sent,
            hole_seen,
        };
        if seen.classes.is_retransmission() && self.retrans.len() < MAX_LISTED {
            self.retrans.push((from, seen));
        }
        for d in &mut self.detectors {
            d.handle(&seen, &mut self.findings);
        }
        if p.has(TcpFlags::RST) || (self.dirs[0].fin_acked && self.dirs[1].fin_acked) {
            self.closed = true;
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
}

impl Analysis {
    fn new(connections: Vec<ConnReport>) -> Analysis {
        let findings = connections
            .iter()
            .flat_map(|c| c.findings.iter().cloned())
            .collect();
        Analysis {
            connections,
            findings,
        }
    }

    /// Whether any finding has this signature.
    pub fn has(&self, signature: &str) -> bool {
        self.findings.iter().any(|f| f.signature == signature)
    }
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
    Ok((Analysis::new(an.finish(&endpoints)), stats))
}

/// Analyses a trace (simulated, at `point`, or imported); connections still open are observed
/// until the trace's end.
pub fn analyze_trace(trace: &Trace, point: CapturePoint, opts: AnalyzeOptions) -> Analysis {
    let (packets, endpoints) = crate::capture::trace_packets(trace, point);
    let mut an = Analyzer::new(opts);
    for p in &packets {
        an.handle(p);
    }
    Analysis::new(an.finish_at(&endpoints, trace.end))
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
            analyzer: Some(Analyzer::new(opts)),
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
            self.result = Some(Analysis::new(an.finish_at(self.view.endpoints(), end)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::detect::testkit::*;

    fn classes(
        packets: &[crate::trace::packet::Packet],
    ) -> std::collections::BTreeMap<String, u64> {
        analyze(packets).remove(0).classes
    }

    // Proves fast retransmission: two duplicate ACKs for 101, then 101 resent.
    #[test]
    fn fast_retransmission() {
        let c = classes(&[
            data_a(0, 1, 100),
            data_a(1, 101, 100),
            data_a(2, 201, 100),
            ack_b(10, 101),
            ack_b(11, 101),
            ack_b(12, 101),
            data_a(13, 101, 100),
        ]);
        assert_eq!(c.get("duplicate-ack"), Some(&2), "{c:?}");
        assert_eq!(c.get("fast-retransmission"), Some(&1), "{c:?}");
        assert_eq!(c.get("retransmission"), None);
    }

    // Proves a retransmission of data already acknowledged is spurious.
    #[test]
    fn spurious_retransmission() {
        let c = classes(&[data_a(0, 1, 100), ack_b(10, 101), data_a(1_000, 1, 100)]);
        assert_eq!(c.get("spurious-retransmission"), Some(&1), "{c:?}");
    }

    // Proves zero window, a one-byte zero-window probe, then a window update (same ACK, new window).
    #[test]
    fn zero_window_probe_and_update() {
        let c = classes(&[
            data_a(0, 1, 100),
            seg(10, false, ACK, 1, 101, 0, 0),
            data_a(500, 101, 1),
            seg(510, false, ACK, 1, 101, 4000, 0),
        ]);
        assert_eq!(c.get("zero-window"), Some(&1), "{c:?}");
        assert_eq!(c.get("zero-window-probe"), Some(&1), "{c:?}");
        assert_eq!(c.get("window-update"), Some(&1), "{c:?}");
    }

    // Proves a keep-alive with a known seq (one below the next byte) and its ACK, and that a
    // capture starting with a gap the receiver already acknowledged is "previous segment not
    // captured", not out-of-order.
    #[test]
    fn keepalive_and_not_captured() {
        let c = classes(&[
            data_a(0, 1, 100),
            ack_b(10, 101),
            seg(60_000, true, ACK, 100, 1, 5744, 0),
            ack_b(60_010, 101),
        ]);
        assert_eq!(
            (c.get("keep-alive"), c.get("keep-alive-ack")),
            (Some(&1), Some(&1)),
            "{c:?}"
        );
        let c = classes(&[data_a(0, 1, 100), ack_b(10, 301), data_a(20, 301, 100)]);
        assert_eq!(c.get("previous-segment-not-captured"), Some(&1), "{c:?}");
        assert_eq!(c.get("out-of-order"), None);
    }

    // Proves tcpdump's relative numbering is undone: a handshake with absolute ISNs followed by
    // relative data and ACKs is one consistent stream (no gaps, no retransmissions).
    #[test]
    fn relative_numbers_undone() {
        let c = classes(&[
            seg(0, true, SYN, 4_000_000_000, 0, 5744, 0),
            seg(5, false, SYN | ACK, 3_000_000_000, 4_000_000_001, 64000, 0),
            seg(10, true, ACK, 1, 1, 5744, 0),
            seg(11, true, PSH | ACK, 1, 1, 5744, 100),
            seg(20, false, ACK, 1, 101, 64000, 0),
            seg(21, true, PSH | ACK, 101, 1, 5744, 100),
        ]);
        assert_eq!(c.get("new-data"), Some(&2), "{c:?}");
        assert!(
            c.keys()
                .all(|k| !k.contains("retransmission") && k != "out-of-order"),
            "{c:?}"
        );
    }
}
