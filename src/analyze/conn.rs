//! One connection's running state: per direction what was sent, acknowledged and advertised, and
//! the classification of each next segment (the rules are in the [`crate::analyze`] header).
//!
//! Guarantees: memory per connection is bounded for holes (at most 64 open), unacknowledged
//! transmissions (4096), listed retransmissions and listed silences ([`MAX_LISTED`] each, all
//! counted); whether a
//! segment is new, ahead of a hole, a keep-alive or a retransmission is decided by the one rule,
//! [`SendTracker`], and only refined here.

use std::collections::BTreeMap;

use super::{AnalyzeOptions, MAX_LISTED};
use crate::classes::{CLASSES, Classes, Seen, SendTracker, Sent, WIRESHARK, seq_after as after};
use crate::clock::{Duration, Instant};
use crate::detect::{self, Detector, Finding};
use crate::trace::packet::{Packet, TcpFlags};

/// A hole filler arriving within this long of the hole being seen was reordered, not lost.
const REORDERING: Duration = Duration::from_millis(3);

/// A retransmission following two or more duplicate ACKs for it within this long of the last one
/// (or within two round trips through its sender, when the capture measured a longer one) is a
/// fast retransmission. 20 ms is Wireshark's window (`packet-tcp.c`), right for captures taken at
/// the sender; the round-trip term covers captures taken elsewhere on the path.
const FAST_RETRANSMIT_WINDOW: Duration = Duration::from_millis(20);

/// One direction of a connection, named after its sender.
#[derive(Debug, Clone, Default)]
pub(super) struct Dir {
    /// The sender's initial sequence number, from its SYN.
    isn: Option<u32>,
    /// The highest sequence sent, and the rule classifying the next segment against it.
    pub(super) send: SendTracker,
    /// Sequence ranges skipped over (start, end, when seen), oldest first.
    holes: Vec<(u32, u32, Instant)>,
    /// Transmissions per starting sequence: (first time, count), for unacknowledged data.
    sent: BTreeMap<u32, (Instant, u32)>,
    /// The sender's last ACK and window.
    last_ack: Option<u32>,
    last_win: Option<u32>,
    /// The highest ACK the sender sent.
    max_ack: Option<u32>,
    /// Duplicate ACKs the sender sent in a row, and when it sent the last one.
    dupacks: u32,
    last_dupack_t: Option<Instant>,
    /// The shortest time from this direction's data passing the capture point to the peer's ACK of
    /// it (data sent once only, as Karn's rule says): a round trip from here through the peer.
    min_rtt: Option<Duration>,
    /// The sender's last packet.
    last_t: Option<Instant>,
    /// The sequence number of the sender's FIN, and whether the peer acknowledged it.
    fin_seq: Option<u32>,
    fin_acked: bool,
    /// The sender's last packet was a keep-alive.
    last_keepalive: bool,
}

impl Dir {
    /// Marks the hole that `seq..end` fills (partly or wholly) as filled that far; returns when
    /// the hole was seen, if the segment filled one.
    fn fill_hole(&mut self, seq: u32, end: u32) -> Option<Instant> {
        let i = self
            .holes
            .iter()
            .position(|&(hs, he, _)| after(end, hs) && after(he, seq))?;
        let (hs, he, seen) = self.holes[i];
        let covers_low = !after(seq, hs);
        let covers_high = !after(he, end);
        if covers_low && covers_high {
            self.holes.remove(i);
        } else if covers_low {
            self.holes[i].0 = end;
        } else {
            self.holes[i].1 = seq;
        }
        Some(seen)
    }

    /// Counts a transmission starting at `seq` at `t`; returns (first time, count) as it was
    /// before this one. Keeps at most 4096 unacknowledged starting sequences.
    fn record_sent(&mut self, seq: u32, t: Instant) -> (Instant, u32) {
        let entry = self.sent.entry(seq).or_insert((t, 0));
        let before = *entry;
        entry.1 += 1;
        if self.sent.len() > 4096 {
            let oldest = *self.sent.keys().next().expect("non-empty");
            self.sent.remove(&oldest);
        }
        before
    }
}

/// What the data of a segment was found to be.
#[derive(Debug, Default)]
struct DataClass {
    classes: Classes,
    in_order: bool,
    first_sent: Option<(Instant, u32)>,
    hole_seen: Option<Instant>,
}

/// What a direction's sender knows of its peer when its segment arrives.
struct PeerView {
    /// The highest ACK the peer sent.
    acked: Option<u32>,
    /// The peer advertised a zero window last.
    win_zero: bool,
    /// The sequence the peer sent two or more duplicate ACKs for, and when it sent the last.
    dupacks_for: Option<(u32, Instant)>,
    /// How soon after the last duplicate ACK a retransmission counts as fast.
    fast_window: Duration,
}

impl PeerView {
    /// The kind of a segment `seq..end` sent at `t` that starts below the highest sequence sent
    /// (`hole_seen`: when the hole it fills was seen): a hole filler within [`REORDERING`] is
    /// out-of-order, data the peer already acknowledged is spurious, data the peer sent two or
    /// more duplicate ACKs for, arriving within [`FAST_RETRANSMIT_WINDOW`] (or two round trips) of
    /// the last, is a fast retransmission, anything else a timeout's.
    fn retransmission_kind(
        &self,
        t: Instant,
        seq: u32,
        end: u32,
        hole_seen: Option<Instant>,
    ) -> Classes {
        if hole_seen.is_some_and(|h| t - h <= REORDERING) {
            Classes::OUT_OF_ORDER
        } else if self.acked.is_some_and(|a| !after(end, a)) {
            Classes::SPURIOUS
        } else if self
            .dupacks_for
            .is_some_and(|(s, at)| s == seq && t >= at && t - at <= self.fast_window)
        {
            Classes::FAST_RETRANSMISSION
        } else {
            Classes::RETRANSMISSION
        }
    }
}

/// One connection.
pub(super) struct Conn {
    pub(super) index: usize,
    /// Endpoint ids: the first-seen endpoint, then the other.
    pub(super) ends: [u32; 2],
    pub(super) dirs: [Dir; 2],
    /// Whether tcpdump printed sequence numbers relative (decided on the first ACK seen).
    relative: Option<bool>,
    pub(super) first: Instant,
    pub(super) last: Instant,
    pub(super) packets: u64,
    /// Segments per class, in [`CLASSES`] order.
    pub(super) counts: [u64; CLASSES.len()],
    /// Packets per Wireshark label (tshark text), in [`WIRESHARK`] order.
    pub(super) wireshark: [u64; WIRESHARK.len()],
    /// (sender, start, length), the first [`MAX_LISTED`].
    pub(super) silences: Vec<(usize, Instant, Duration)>,
    /// Every silence, listed or not.
    pub(super) silence_count: u64,
    /// (sender, segment), the first [`MAX_LISTED`].
    pub(super) retrans: Vec<(usize, Seen)>,
    pub(super) detectors: Vec<Box<dyn Detector>>,
    pub(super) findings: Vec<Finding>,
    /// Closed by an RST or both FINs acknowledged.
    pub(super) closed: bool,
}

impl Conn {
    /// A connection whose first packet is `p`, number `index` in capture order.
    pub(super) fn new(index: usize, p: &Packet, opts: &AnalyzeOptions) -> Conn {
        Conn {
            index,
            ends: [p.src, p.dst],
            dirs: Default::default(),
            relative: None,
            first: p.t,
            last: p.t,
            packets: 0,
            counts: [0; CLASSES.len()],
            wireshark: [0; WIRESHARK.len()],
            silences: Vec::new(),
            silence_count: 0,
            retrans: Vec::new(),
            detectors: detect::instantiate(&opts.detect),
            findings: Vec::new(),
            closed: false,
        }
    }

    /// Classifies the connection's next packet and feeds it to the detectors.
    pub(super) fn handle(&mut self, raw: &Packet, opts: &AnalyzeOptions) {
        let from = usize::from(raw.src != self.ends[0]);
        let mut p = *raw;
        self.packets += 1;
        if p.wireshark != 0 {
            for (i, n) in self.wireshark.iter_mut().enumerate() {
                *n += u64::from(p.wireshark >> i & 1);
            }
        }
        if p.t > self.last {
            self.last = p.t;
        }
        let prev_t = self.track_silence(&p, from, opts.silence);
        self.undo_relative(&mut p, from);
        let mut c = Classes::empty();
        c.set(Classes::SYN, p.has(TcpFlags::SYN));
        c.set(Classes::FIN, p.has(TcpFlags::FIN));
        c.set(Classes::RST, p.has(TcpFlags::RST));
        let data = self.classify_data(&p, from);
        c |= data.classes;
        if p.has(TcpFlags::ACK) && !p.has(TcpFlags::RST) {
            c |= self.classify_ack(&p, from, prev_t, c);
            c |= self.ack_bookkeeping(&p, from, c);
        } else if !p.has(TcpFlags::ACK) && c.is_empty() {
            c |= Classes::ACK;
        }
        if p.win == 0 && !p.has(TcpFlags::RST) {
            c |= Classes::ZERO_WINDOW;
        }
        self.feed(Seen {
            p,
            from,
            classes: c,
            in_order: data.in_order,
            first_sent: data.first_sent,
            hole_seen: data.hole_seen,
        });
    }

    /// Records a silence of the sender's direction ending at `p`; returns the sender's previous
    /// packet time.
    fn track_silence(&mut self, p: &Packet, from: usize, silence: Duration) -> Option<Instant> {
        let prev_t = self.dirs[from].last_t;
        if let Some(prev) = prev_t
            && p.t >= prev
            && p.t - prev > silence
        {
            self.silence_count += 1;
            if self.silences.len() < MAX_LISTED {
                self.silences.push((from, prev, p.t - prev));
            }
        }
        self.dirs[from].last_t = Some(p.t);
        prev_t
    }

    /// Undoes tcpdump's relative numbering (see `trace::text` for the rule): records ISNs from
    /// SYNs and, once the first ACK-bearing segment tells how numbers were printed, makes them
    /// absolute.
    fn undo_relative(&mut self, p: &mut Packet, from: usize) {
        let to = 1 - from;
        if p.has(TcpFlags::SYN) && p.seq_known {
            self.dirs[from].isn = Some(p.seq);
            return;
        }
        if !p.has(TcpFlags::ACK) {
            return;
        }
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

    /// Classifies the sequence space a segment occupies (data, SYN, FIN) with the one rule
    /// ([`SendTracker`]), refined: zero-window probes, holes, retransmission kinds.
    fn classify_data(&mut self, p: &Packet, from: usize) -> DataClass {
        let mut out = DataClass::default();
        let n = p.seq_len();
        if n == 0 || p.has(TcpFlags::RST) {
            return out;
        }
        if !p.seq_known {
            out.classes = Classes::DATA_UNKNOWN_SEQ;
            return out;
        }
        let peer = &self.dirs[1 - from];
        let peer = PeerView {
            acked: peer.max_ack,
            win_zero: peer.last_win == Some(0),
            dupacks_for: (peer.dupacks >= 2)
                .then_some(peer.last_ack.zip(peer.last_dupack_t))
                .flatten(),
            // The dup ACK passes the capture point, reaches the sender, and its retransmission
            // comes back: a round trip through the sender, measured on the peer's data.
            fast_window: peer.min_rtt.map_or(FAST_RETRANSMIT_WINDOW, |r| {
                FAST_RETRANSMIT_WINDOW.max(r * 2)
            }),
        };
        let d = &mut self.dirs[from];
        let (seq, end) = (p.seq, p.seq.wrapping_add(n));
        if p.has(TcpFlags::FIN) {
            d.fin_seq = Some(end.wrapping_sub(1));
        }
        let high = d.send.high;
        // The direction's first data seen, beyond what the receiver has acknowledged: the
        // capture started after a segment before it was sent (and lost, or still on its way).
        let first_ahead = high
            .is_none()
            .then_some(peer.acked)
            .flatten()
            .filter(|&a| after(seq, a) && !p.has(TcpFlags::SYN));
        let c = &mut out.classes;
        match d.send.classify(seq, n, p.len, p.flags) {
            Sent::New if let Some(a) = first_ahead => {
                *c |= Classes::OUT_OF_ORDER;
                d.holes.push((a, seq, p.t));
            }
            Sent::New if high.is_some() && peer.win_zero && p.len == 1 => {
                *c |= Classes::ZERO_WINDOW_PROBE;
            }
            Sent::New if p.len > 0 || p.has(TcpFlags::FIN) => *c |= Classes::NEW_DATA,
            Sent::New | Sent::NoSequenceSpace => {}
            Sent::Ahead if peer.acked.is_some_and(|a| !after(seq, a)) => {
                // The receiver already acknowledged the missing range: the capture missed it.
                *c |= Classes::PREV_NOT_CAPTURED;
            }
            Sent::Ahead => {
                *c |= Classes::OUT_OF_ORDER;
                d.holes.push((high.expect("ahead of a sequence"), seq, p.t));
                if d.holes.len() > 64 {
                    d.holes.remove(0);
                }
            }
            Sent::KeepAlive => *c |= Classes::KEEP_ALIVE,
            Sent::Retransmission => {
                out.hole_seen = d.fill_hole(seq, end);
                *c |= peer.retransmission_kind(p.t, seq, end, out.hole_seen);
            }
        }
        // In-order: it advanced the receiver's acknowledged point (as far as seen so far).
        out.in_order = match peer.acked {
            Some(a) => !after(seq, a) && after(end, a),
            None => c.contains(Classes::NEW_DATA),
        };
        let first_sent = d.record_sent(seq, p.t);
        if c.is_retransmission() {
            out.first_sent = Some(first_sent);
        }
        out
    }

    /// Classifies what an ACK-bearing segment's ACK and window say (`c`: its classes so far;
    /// `prev_t`: the sender's previous packet). Returns the classes to add.
    fn classify_ack(
        &self,
        p: &Packet,
        from: usize,
        prev_t: Option<Instant>,
        c: Classes,
    ) -> Classes {
        let d = &self.dirs[from];
        let peer = &self.dirs[1 - from];
        let peer_high = peer.send.high;
        let same_ack = d.last_ack == Some(p.ack);
        if p.seq_len() > 0 {
            return if p.win == 0 {
                Classes::ZERO_WINDOW
            } else {
                Classes::empty()
            };
        }
        let was_silent = prev_t.is_some_and(|t| p.t >= t && p.t - t >= Duration::from_secs(1));
        let nothing_outstanding = peer_high.is_none_or(|h| !after(h, p.ack));
        let probe = if p.seq_known {
            d.send.high.is_some_and(|h| p.seq == h.wrapping_sub(1))
        } else {
            same_ack && was_silent && nothing_outstanding
        };
        if peer.last_keepalive && nothing_outstanding {
            Classes::KEEP_ALIVE_ACK
        } else if probe {
            Classes::KEEP_ALIVE
        } else if p.win == 0 {
            Classes::ZERO_WINDOW
        } else if same_ack
            && d.last_win == Some(p.win)
            && peer_high.is_some_and(|h| after(h, p.ack))
            && !c.contains(Classes::FIN)
        {
            Classes::DUP_ACK
        } else if same_ack && d.last_win.is_some_and(|w| w != p.win) {
            Classes::WINDOW_UPDATE
        } else if c.is_empty() {
            Classes::ACK
        } else {
            Classes::empty()
        }
    }

    /// Applies an ACK (`c`: the segment's classes so far): holes acknowledged past without being
    /// filled, duplicate-ACK runs, the sender's last ACK and window, acknowledged transmissions and
    /// FIN. Returns the classes to add (`previous-segment-not-captured`).
    fn ack_bookkeeping(&mut self, p: &Packet, from: usize, c: Classes) -> Classes {
        let to = 1 - from;
        let mut added = Classes::empty();
        let peer = &mut self.dirs[to];
        let before = peer.holes.len();
        peer.holes.retain(|&(_, he, _)| after(he, p.ack));
        if peer.holes.len() != before {
            added |= Classes::PREV_NOT_CAPTURED;
        }
        let d = &mut self.dirs[from];
        if c.contains(Classes::DUP_ACK) {
            d.dupacks += 1;
            d.last_dupack_t = Some(p.t);
        } else if d.last_ack != Some(p.ack) {
            d.dupacks = 0;
        }
        d.last_ack = Some(p.ack);
        d.last_win = Some(p.win);
        if d.max_ack.is_none_or(|m| after(p.ack, m)) {
            d.max_ack = Some(p.ack);
            let peer = &mut self.dirs[to];
            // Karn's rule: no sample from an ACK that covers anything sent more than once (it may
            // answer the resend), and none from data the clock says came after the ACK.
            let covered = || peer.sent.iter().filter(|&(&s, _)| after(p.ack, s));
            if covered().all(|(_, &(t0, n))| n == 1 && t0 <= p.t)
                && let Some(rtt) = covered().map(|(_, (t0, _))| p.t - *t0).min()
            {
                peer.min_rtt = Some(peer.min_rtt.map_or(rtt, |m| m.min(rtt)));
            }
            peer.sent.retain(|&s, _| after(s, p.ack) || s == p.ack);
            if let Some(f) = peer.fin_seq
                && after(p.ack, f)
            {
                peer.fin_acked = true;
            }
        }
        added
    }

    /// Counts a classified segment, lists it if it is a retransmission, feeds it to the detectors
    /// and closes the connection on an RST or once both FINs are acknowledged.
    fn feed(&mut self, seen: Seen) {
        let c = seen.classes;
        self.dirs[seen.from].last_keepalive = c.contains(Classes::KEEP_ALIVE);
        for ((class, _), count) in Classes::NAMED.iter().zip(&mut self.counts) {
            if c.contains(*class) {
                *count += 1;
            }
        }
        if c.is_retransmission() && self.retrans.len() < MAX_LISTED {
            self.retrans.push((seen.from, seen));
        }
        for d in &mut self.detectors {
            d.handle(&seen, &mut self.findings);
        }
        if seen.p.has(TcpFlags::RST) || (self.dirs[0].fin_acked && self.dirs[1].fin_acked) {
            self.closed = true;
        }
    }
}
