//! Turning a trace into what the timeline draws: per direction, its segments (relative sequence
//! ranges, with their kind) and the peer's ACKs and windows; for simulated traces also the outage
//! windows, the TCP state lanes and the senders' unacknowledged and unsent bytes.
//!
//! Both readers take one event (or packet) at a time and keep their series thinned
//! ([`super::thin`]), so memory stays flat however long the trace.
//!
//! Guarantees: a pure function of the trace; a segment is drawn as a retransmission by the one rule
//! the summary and the analysis use ([`SendTracker`]); simulated traces are read from the sender's side
//! (every frame offered, with its fate), imported captures only as captured (no fates, outages,
//! states or unsent bytes are invented), with times relative to the connection's first packet.

use crate::capture::{Endpoints, TimeArg, TimeBase, TimeKind};
use crate::classes::{SendTracker, Sent};
use crate::clock::{Instant, secs};
use crate::trace::packet::{Ipv4Segment, Packet, TcpFlags};
use crate::trace::{AppEvent, Dir, Event, EventKind, Fate, TcpState};

use super::PlotError;
use super::thin::{Peaks, SeqRange, Thinned};

/// How a segment is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    /// Data starting at or beyond the highest sequence sent before ([`Sent::New`],
    /// [`Sent::Ahead`]).
    New,
    /// Data starting below the highest sequence sent before ([`Sent::Retransmission`], even when
    /// it also carries new bytes), or a keep-alive probe's old byte ([`Sent::KeepAlive`]).
    Retransmission,
    /// A frame the link dropped (simulated only), where it was sent.
    Dropped,
    /// A frame the link held back (simulated only), where it was sent.
    Held,
    /// A FIN.
    Fin,
    /// An RST.
    Rst,
}

impl Kind {
    /// Every kind, in drawing (and legend) order.
    pub(super) const ALL: [Kind; 6] = [
        Kind::New,
        Kind::Retransmission,
        Kind::Dropped,
        Kind::Held,
        Kind::Fin,
        Kind::Rst,
    ];
}

/// One direction's frames, relative to its first sequence number.
#[derive(Default)]
pub(super) struct Flow {
    /// "address.port → address.port" (or endpoint names of a capture); empty if never seen.
    pub(super) name: String,
    /// The first sequence number seen: relative 0.
    base: Option<u32>,
    /// The highest sequence sent (the end of the highest segment), and the rule classifying the
    /// next segment.
    send: SendTracker,
    /// Segments: (time, kind, relative range), thinned while read.
    pub(super) segs: Thinned<Kind, SeqRange>,
    /// The peer's ACKs of this flow: (time, (), (ack, ack + window)), thinned while read.
    pub(super) acks: Thinned<(), Peaks<i64>>,
    /// Link-down windows of this direction: (start, end).
    pub(super) outages: Vec<(f64, f64)>,
}

impl Flow {
    /// `seq` relative to the flow's first sequence number (which it becomes if it is the first).
    fn rel(&mut self, seq: u32) -> i64 {
        let base = *self.base.get_or_insert(seq);
        i64::from(seq.wrapping_sub(base) as i32)
    }

    /// The highest sequence sent, relative, once a segment occupying sequence space was seen.
    fn high(&mut self) -> Option<i64> {
        self.send.high.map(|h| self.rel(h))
    }

    /// Records a segment (not an RST) occupying `seq_len` sequence numbers from `seq` (`len` of
    /// them data) with TCP `flags`: its FIN and data marks, the data as new or a retransmission
    /// ([`SendTracker::classify`]). Returns its relative range.
    fn add_segment(
        &mut self,
        t: f64,
        seq: u32,
        seq_len: u32,
        len: u32,
        flags: TcpFlags,
    ) -> (i64, i64) {
        let lo = self.rel(seq);
        let hi = lo + i64::from(seq_len);
        let sent = self.send.classify(seq, seq_len, len, flags);
        if flags.contains(TcpFlags::FIN) {
            self.segs.push(t, Kind::Fin, SeqRange { lo, hi });
        }
        if len > 0 {
            let kind = match sent {
                Sent::Retransmission | Sent::KeepAlive => Kind::Retransmission,
                Sent::New | Sent::Ahead | Sent::NoSequenceSpace => Kind::New,
            };
            self.segs.push(t, kind, SeqRange { lo, hi });
        }
        (lo, hi)
    }

    /// Records the peer's ACK of this flow at `t`: the ACK line and the window's edge. Returns the
    /// relative ACK.
    fn add_ack(&mut self, t: f64, ack: u32, win: u32) -> i64 {
        let ack = self.rel(ack);
        self.acks.push(t, (), Peaks(ack, ack + i64::from(win)));
        ack
    }
}

/// The lanes under the sequence panels (simulated traces only).
#[derive(Default)]
pub(super) struct Lanes {
    /// Per side: (start, state).
    pub(super) states: [Vec<(f64, TcpState)>; 2],
    /// Per sender: (time, (), (unacked bytes, unsent bytes)), thinned while read.
    pub(super) bytes: [Thinned<(), Peaks<f64>>; 2],
}

/// Everything the timeline needs, extracted from a trace.
pub(super) struct Data {
    /// Per direction (simulated: by link direction; capture: first sender first).
    pub(super) flows: [Flow; 2],
    /// The state and bytes lanes (simulated traces only).
    pub(super) lanes: Option<Lanes>,
    /// Time of the first event (seconds).
    pub(super) start: f64,
    /// Time of the last event, or the run's end (seconds).
    pub(super) end: f64,
    /// Whether the trace was simulated (rather than imported).
    pub(super) simulated: bool,
    /// What the times count from: a run's start, or a capture's first packet (any connection's:
    /// the same origin as `analyze`'s report), and how the capture shows its times.
    pub(super) base: TimeBase,
    /// What t = 0 is, in words ("its first packet", or "its first FIN" for an aligned plot).
    pub(super) zero: &'static str,
}

/// The running state of reading a simulated trace, event by event.
#[derive(Default)]
pub(super) struct Simulated {
    flows: [Flow; 2],
    lanes: Lanes,
    /// Per side: bytes the application wrote.
    written: [u64; 2],
    /// Per direction: the highest relative sequence sent.
    high_sent: [i64; 2],
    /// Per direction: the highest relative sequence the peer acknowledged.
    high_acked: [i64; 2],
    /// Per direction: since when the link is down.
    down_since: [Option<f64>; 2],
    /// Times of the first and last events (seconds).
    span: (f64, f64),
    /// Whether any simulated event was seen.
    seen: bool,
}

impl Simulated {
    /// A frame offered to the link at `t`: its segment, its fate, the ACK it carries, and the
    /// sender's unacknowledged and unsent bytes.
    fn offered(&mut self, t: f64, dir: Dir, bytes: &[u8], fate: &Fate, by_middlebox: bool) {
        let Some(frame) = Ipv4Segment::parse(bytes) else {
            return;
        };
        let s = frame.tcp;
        let d = dir as usize;
        let f = &mut self.flows[d];
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
            f.segs.push(t, Kind::Rst, SeqRange { lo, hi: lo });
            (lo, lo)
        } else {
            f.add_segment(t, s.seq, s.seq_len(), s.len, s.flags)
        };
        if s.seq_len() > 0 && !s.has(TcpFlags::RST) {
            self.high_sent[d] = self.high_sent[d].max(hi);
        }
        if let Some(k) = kind {
            f.segs.push(
                t,
                k,
                SeqRange {
                    lo,
                    hi: hi.max(lo + 1),
                },
            );
        }
        // This frame's ACK acknowledges the other flow.
        if s.has(TcpFlags::ACK) && !s.has(TcpFlags::RST) {
            let ack = self.flows[1 - d].add_ack(t, s.ack, s.win);
            self.high_acked[1 - d] = self.high_acked[1 - d].max(ack);
        }
        let side = dir.sender() as usize;
        self.lanes.bytes[side].push(
            t,
            (),
            Peaks(
                (self.high_sent[d] - self.high_acked[d]).max(0) as f64,
                (self.written[side] as i64 - self.high_sent[d] + 1).max(0) as f64,
            ),
        );
    }

    /// The link of direction `dir` went up or down at `t`.
    fn link(&mut self, t: f64, dir: Dir, up: bool) {
        let d = dir as usize;
        if up {
            if let Some(s0) = self.down_since[d].take() {
                self.flows[d].outages.push((s0, t));
            }
        } else {
            self.down_since[d] = Some(t);
        }
    }
}

impl Simulated {
    /// Reads one event of a simulated run (an imported capture's packets are not read here).
    pub(super) fn handle(&mut self, e: &Event<'_>) {
        if matches!(e.kind, EventKind::Captured { .. }) {
            return;
        }
        let t = secs(e.t);
        if !self.seen {
            self.span = (t, t);
            self.seen = true;
        }
        self.span = (self.span.0.min(t), self.span.1.max(t));
        match e.kind {
            EventKind::Offered {
                dir,
                bytes,
                fate,
                by_middlebox,
                ..
            } => self.offered(t, dir, bytes, &fate, by_middlebox),
            EventKind::Link { dir, up } => self.link(t, dir, up),
            EventKind::State { side, to, .. } => self.lanes.states[side as usize].push((t, to)),
            EventKind::App {
                side,
                event: AppEvent::Write { len },
            } => self.written[side as usize] += len as u64,
            _ => {}
        }
    }

    /// Keeps only the points from `from` to `to` (seconds) in the thinned series.
    pub(super) fn keep_only(&mut self, from: f64, to: f64) {
        for f in &mut self.flows {
            f.segs.keep_only(from, to);
            f.acks.keep_only(from, to);
        }
        for b in &mut self.lanes.bytes {
            b.keep_only(from, to);
        }
    }

    /// Whether any simulated event was read.
    pub(super) fn seen(&self) -> bool {
        self.seen
    }

    /// Entries held by the thinned series (segments, ACKs, bytes).
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        let flows: usize = self
            .flows
            .iter()
            .map(|f| f.segs.held() + f.acks.held())
            .sum();
        flows
            + self
                .lanes
                .bytes
                .iter()
                .map(super::thin::Thinned::held)
                .sum::<usize>()
    }

    /// What the timeline draws, for a run that ended at `end`.
    pub(super) fn finish(mut self, end: Instant) -> Data {
        let end_t = secs(end).max(self.span.1);
        // Outages still open at the end last until the end.
        for (d, s0) in self.down_since.iter().enumerate() {
            if let Some(s0) = s0 {
                self.flows[d].outages.push((*s0, end_t));
            }
        }
        Data {
            flows: self.flows,
            lanes: Some(self.lanes),
            start: if self.seen {
                self.span.0
            } else {
                f64::INFINITY
            },
            end: end_t,
            simulated: true,
            base: TimeBase::run(),
            zero: "the start of the run",
        }
    }
}

/// The unordered endpoint pair of a packet: its connection.
fn pair(p: &Packet) -> (u32, u32) {
    (p.src.min(p.dst), p.src.max(p.dst))
}

/// The running state of reading an imported capture, packet by packet: the packets of connection
/// `conn` (the `conn`-th endpoint pair in order of first appearance), as captured.
pub(super) struct Captured {
    conn: usize,
    flows: [Flow; 2],
    /// The connection's endpoint pair, once seen.
    key: Option<(u32, u32)>,
    /// The pairs seen before it (dropped once it is found).
    pairs: std::collections::BTreeSet<(u32, u32)>,
    /// The first sender of the connection: direction 0.
    first: u32,
    /// Times of the connection's first and last packets (seconds).
    span: (f64, f64),
    packets: u64,
    /// The capture's first packet (any connection's): the origin of the axis.
    origin: Option<Instant>,
    /// The origin was set to an event ([`Captured::set_origin`]), not the first packet.
    aligned: bool,
    /// The plot's window as given, resolved at the first packet.
    window: (Option<TimeArg>, Option<TimeArg>),
    /// The endpoint that sent a SYN without ACK (the client), or received a SYN-ACK.
    client: Option<u32>,
}

impl Captured {
    /// Reads connection `conn`; only points in `window` are kept.
    pub(super) fn new(conn: usize, window: (Option<TimeArg>, Option<TimeArg>)) -> Captured {
        Captured {
            window,
            conn,
            flows: Default::default(),
            key: None,
            pairs: Default::default(),
            first: 0,
            span: (f64::INFINITY, f64::NEG_INFINITY),
            packets: 0,
            origin: None,
            aligned: false,
            client: None,
        }
    }

    /// Counts times from `origin` instead of the capture's first packet (for a plot aligned at an
    /// event: times before it are negative).
    pub(super) fn set_origin(&mut self, origin: Instant) {
        self.origin = Some(origin);
        self.aligned = true;
    }

    /// The connection read (0 = the first).
    pub(super) fn conn(&self) -> usize {
        self.conn
    }

    /// Reads one packet; `names` are the capture's endpoint names.
    pub(super) fn handle(&mut self, p: &Packet, names: &Endpoints) {
        self.packets += 1;
        let origin = *self.origin.get_or_insert(p.t);
        let key = pair(p);
        match self.key {
            Some(k) if k != key => return,
            Some(_) => {}
            None => {
                if self.pairs.contains(&key) {
                    return;
                }
                if self.pairs.len() < self.conn {
                    self.pairs.insert(key);
                    return;
                }
                self.key = Some(key);
                self.first = p.src;
                self.pairs = Default::default();
                // The window in the capture's seconds. The importer tells what the timestamps are
                // only at the end; a time of day or a date is resolved here as the value shows it
                // (a day or more: a date), and checked again when drawing.
                let base = TimeBase {
                    kind: if origin.total_micros() >= 86_400_000_000 {
                        TimeKind::DateTime
                    } else {
                        TimeKind::TimeOfDay
                    },
                    origin,
                };
                let at = |a: Option<TimeArg>, none: f64| {
                    a.and_then(|a| base.resolve(a).ok())
                        .map_or(none, |s| s + secs(origin))
                };
                let (from, to) = (
                    at(self.window.0, f64::NEG_INFINITY),
                    at(self.window.1, f64::INFINITY),
                );
                for f in &mut self.flows {
                    f.segs.keep_only(from, to);
                    f.acks.keep_only(from, to);
                }
            }
        }
        if p.has(TcpFlags::SYN) && self.client.is_none() {
            self.client = Some(if p.has(TcpFlags::ACK) { p.dst } else { p.src });
        }
        let t = secs(p.t);
        self.span = (self.span.0.min(t), self.span.1.max(t));
        let d = usize::from(p.src != self.first);
        let f = &mut self.flows[d];
        if f.name.is_empty() {
            f.name = format!("{} → {}", names.get(p.src), names.get(p.dst));
        }
        if p.seq_known && !p.has(TcpFlags::RST) {
            f.add_segment(t, p.seq, p.seq_len(), p.len, p.flags);
        } else if p.has(TcpFlags::RST) {
            // A bare RST's seq may be absolute (tcpdump prints it so): mark it at the flow's top.
            let y = f.high().unwrap_or(0);
            f.segs.push(t, Kind::Rst, SeqRange { lo: y, hi: y });
        }
        if p.has(TcpFlags::ACK) && !p.has(TcpFlags::RST) {
            self.flows[1 - d].add_ack(t, p.ack, p.win);
        }
    }

    /// What the timeline draws: times since the capture's first packet, as Wireshark shows them;
    /// `names` are the capture's endpoint names, `kind` what its timestamps are. The client's
    /// direction comes first, as in a run's plot: the client is the endpoint that sent the SYN,
    /// or, without one in the capture, the one on the higher port (ephemeral ports are high; a
    /// service name such as `http` is a well-known port).
    ///
    /// # Errors
    /// [`PlotError::NoPackets`], or [`PlotError::NoSuchConnection`].
    pub(super) fn finish(mut self, names: &Endpoints, kind: TimeKind) -> Result<Data, PlotError> {
        if self.packets == 0 {
            return Err(PlotError::NoPackets);
        }
        if self.key.is_none() {
            return Err(PlotError::NoSuchConnection {
                conn: self.conn,
                count: self.pairs.len(),
            });
        }
        let origin = self.origin.unwrap_or(Instant::ZERO);
        let offset = secs(origin);
        for f in &mut self.flows {
            f.segs.shift(offset);
            f.acks.shift(offset);
        }
        let (a, b) = self.key.expect("checked");
        let other = if self.first == a { b } else { a };
        let port = |e: u32| {
            let name = names.get(e);
            let tail = name.rsplit_once('.').map_or(name, |(_, p)| p);
            tail.parse::<u32>().unwrap_or(0)
        };
        let client = self.client.unwrap_or(if port(other) > port(self.first) {
            other
        } else {
            self.first
        });
        if client != self.first {
            self.flows.swap(0, 1);
        }
        Ok(Data {
            flows: self.flows,
            lanes: None,
            start: self.span.0 - offset,
            end: self.span.1 - offset,
            simulated: false,
            base: TimeBase::new(kind, origin),
            zero: if self.aligned {
                "its first FIN"
            } else {
                "its first packet"
            },
        })
    }
}
