//! Segment classes and the one retransmission rule: the vocabulary shared by the analysis
//! ([`crate::analyze`]), the signature detectors ([`crate::detect`]), the run summary
//! ([`crate::summary`]) and the timeline plot ([`crate::plot`]).
//!
//! A leaf module: it depends on [`crate::trace::packet`] and [`crate::clock`] only, so the
//! analysis can instantiate detectors that consume [`Seen`] segments without a module cycle
//! (classes ← detect ← analyze).
//!
//! Guarantees: [`CLASSES`] (the report order) is derived from the one table [`Classes::NAMED`],
//! which lists every flag once, in bit order; [`SendTracker`] is the only place that decides
//! whether a segment is new, ahead of a hole, a keep-alive or a retransmission, so a run's
//! `summary.json`, its timeline and its analysis agree on every segment.

use bitflags::bitflags;

use crate::clock::Instant;
use crate::trace::packet::{Packet, TcpFlags};

bitflags! {
    /// A set of segment classes (see [`crate::analyze`] for the rules). Bit order is report
    /// order; [`Classes::NAMED`] gives each bit its report name.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
    pub struct Classes: u32 {
        /// `syn`.
        const SYN = 1 << 0;
        /// `new-data`.
        const NEW_DATA = 1 << 1;
        /// `retransmission` (on timeout).
        const RETRANSMISSION = 1 << 2;
        /// `fast-retransmission`.
        const FAST_RETRANSMISSION = 1 << 3;
        /// `spurious-retransmission`.
        const SPURIOUS = 1 << 4;
        /// `out-of-order`.
        const OUT_OF_ORDER = 1 << 5;
        /// `previous-segment-not-captured`.
        const PREV_NOT_CAPTURED = 1 << 6;
        /// `duplicate-ack`.
        const DUP_ACK = 1 << 7;
        /// `keep-alive`.
        const KEEP_ALIVE = 1 << 8;
        /// `keep-alive-ack`.
        const KEEP_ALIVE_ACK = 1 << 9;
        /// `window-update`.
        const WINDOW_UPDATE = 1 << 10;
        /// `zero-window`.
        const ZERO_WINDOW = 1 << 11;
        /// `zero-window-probe`.
        const ZERO_WINDOW_PROBE = 1 << 12;
        /// `fin`.
        const FIN = 1 << 13;
        /// `rst`.
        const RST = 1 << 14;
        /// `ack`.
        const ACK = 1 << 15;
        /// `data-unknown-seq`.
        const DATA_UNKNOWN_SEQ = 1 << 16;
    }
}

impl Classes {
    /// Every class with its report name, in report order (= bit order).
    pub const NAMED: [(Classes, &'static str); 17] = [
        (Classes::SYN, "syn"),
        (Classes::NEW_DATA, "new-data"),
        (Classes::RETRANSMISSION, "retransmission"),
        (Classes::FAST_RETRANSMISSION, "fast-retransmission"),
        (Classes::SPURIOUS, "spurious-retransmission"),
        (Classes::OUT_OF_ORDER, "out-of-order"),
        (Classes::PREV_NOT_CAPTURED, "previous-segment-not-captured"),
        (Classes::DUP_ACK, "duplicate-ack"),
        (Classes::KEEP_ALIVE, "keep-alive"),
        (Classes::KEEP_ALIVE_ACK, "keep-alive-ack"),
        (Classes::WINDOW_UPDATE, "window-update"),
        (Classes::ZERO_WINDOW, "zero-window"),
        (Classes::ZERO_WINDOW_PROBE, "zero-window-probe"),
        (Classes::FIN, "fin"),
        (Classes::RST, "rst"),
        (Classes::ACK, "ack"),
        (Classes::DATA_UNKNOWN_SEQ, "data-unknown-seq"),
    ];

    /// Any kind of retransmission (timeout, fast or spurious).
    pub const ANY_RETRANSMISSION: Classes = Classes::RETRANSMISSION
        .union(Classes::FAST_RETRANSMISSION)
        .union(Classes::SPURIOUS);

    /// Any kind of retransmission.
    pub fn is_retransmission(self) -> bool {
        self.intersects(Classes::ANY_RETRANSMISSION)
    }

    /// The class names, in report order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Classes::NAMED
            .iter()
            .filter(move |(c, _)| self.contains(*c))
            .map(|(_, n)| *n)
    }
}

/// Segment class names, in report order (the names of [`Classes::NAMED`]).
pub const CLASSES: [&str; Classes::NAMED.len()] = {
    let mut names = [""; Classes::NAMED.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = Classes::NAMED[i].1;
        i += 1;
    }
    names
};

// Every flag is named exactly once, in bit order: bit i is `NAMED[i]`.
const _: () = {
    let mut i = 0;
    while i < Classes::NAMED.len() {
        assert!(Classes::NAMED[i].0.bits() == 1 << i);
        i += 1;
    }
    assert!(Classes::all().bits().count_ones() as usize == Classes::NAMED.len());
};

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

/// Wireshark's own TCP analysis, as tshark text shows it in brackets at the head of a packet's
/// Info (`[TCP Retransmission]`, `[TCP Dup ACK 12#1]`): each label's prefix and the name tcpsim
/// reports it under (its own class name where the two mean the same). A capture imported from
/// tshark text keeps these beside tcpsim's classes ([`crate::trace::packet::Packet::wireshark`],
/// one bit per entry), so a report can show both. Longer prefixes come first.
pub const WIRESHARK: [(&str, &str); 15] = [
    ("TCP Spurious Retransmission", "spurious-retransmission"),
    ("TCP Fast Retransmission", "fast-retransmission"),
    ("TCP Retransmission", "retransmission"),
    ("TCP Out-Of-Order", "out-of-order"),
    ("TCP Dup ACK", "duplicate-ack"),
    (
        "TCP Previous segment not captured",
        "previous-segment-not-captured",
    ),
    ("TCP ACKed unseen segment", "acked-unseen-segment"),
    ("TCP ZeroWindowProbeAck", "zero-window-probe-ack"),
    ("TCP ZeroWindowProbe", "zero-window-probe"),
    ("TCP ZeroWindow", "zero-window"),
    ("TCP Keep-Alive ACK", "keep-alive-ack"),
    ("TCP Keep-Alive", "keep-alive"),
    ("TCP Window Update", "window-update"),
    ("TCP Window Full", "window-full"),
    ("TCP Port numbers reused", "port-numbers-reused"),
];

/// The [`WIRESHARK`] bit of a bracketed label's text (0 for labels that are not TCP analysis).
pub fn wireshark_bit(label: &str) -> u16 {
    WIRESHARK
        .iter()
        .position(|(prefix, _)| label.starts_with(prefix))
        .map_or(0, |i| 1 << i)
}

/// Whether sequence number `a` comes after `b` (modulo 2^32, as TCP compares them).
pub fn seq_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// What a segment that a sender sent is, judged by its sequence numbers against everything that
/// sender sent before ([`SendTracker::classify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Starts at the highest sequence sent so far (or is the first segment seen).
    New,
    /// Starts beyond the highest sequence sent so far: a hole lies before it.
    Ahead,
    /// A keep-alive probe: one byte (no SYN or FIN) ending at the highest sequence sent.
    KeepAlive,
    /// Starts below the highest sequence sent so far (and is not a keep-alive): a retransmission,
    /// even when it also carries new bytes beyond it (a re-cut segment), as Wireshark counts it.
    Retransmission,
    /// Occupies no sequence space (a pure ACK), or is an RST: not a transmission of data.
    NoSequenceSpace,
}

/// One sender's highest sequence sent, and the rule that classifies its next segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendTracker {
    /// The end of the highest segment sent so far (the next new sequence number), once a segment
    /// occupying sequence space was seen.
    pub high: Option<u32>,
}

impl SendTracker {
    /// Classifies a segment of `seq_len` sequence numbers from `seq` (`len` of them data, the rest
    /// SYN and FIN) with TCP `flags`, and moves the highest sequence sent past it.
    pub fn classify(&mut self, seq: u32, seq_len: u32, len: u32, flags: TcpFlags) -> Sent {
        if seq_len == 0 || flags.contains(TcpFlags::RST) {
            return Sent::NoSequenceSpace;
        }
        let end = seq.wrapping_add(seq_len);
        let sent = match self.high {
            None => Sent::New,
            Some(h) if seq == h => Sent::New,
            Some(h) if seq_after(seq, h) => Sent::Ahead,
            Some(h) if len == 1 && end == h && !flags.intersects(TcpFlags::FIN | TcpFlags::SYN) => {
                return Sent::KeepAlive;
            }
            Some(_) => Sent::Retransmission,
        };
        if self.high.is_none_or(|h| seq_after(end, h)) {
            self.high = Some(end);
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(t: &mut SendTracker, seq: u32, len: u32) -> Sent {
        t.classify(seq, len, len, TcpFlags::ACK | TcpFlags::PSH)
    }

    // Proves the report order is the bit order and every name is listed once.
    #[test]
    fn names_follow_bits() {
        assert_eq!(CLASSES[0], "syn");
        assert_eq!(CLASSES[16], "data-unknown-seq");
        let all: Vec<_> = Classes::all().names().collect();
        assert_eq!(all, CLASSES);
        let some = Classes::FIN | Classes::SYN | Classes::DUP_ACK;
        assert_eq!(
            some.names().collect::<Vec<_>>(),
            ["syn", "duplicate-ack", "fin"]
        );
        assert!(Classes::SPURIOUS.is_retransmission());
        assert!(!Classes::OUT_OF_ORDER.is_retransmission());
    }

    // Proves the base rule: in-order data is new, data beyond a hole is ahead, a resend is a
    // retransmission, a byte just below the top is a keep-alive, a pure ACK or RST is neither.
    #[test]
    fn base_rule() {
        let mut t = SendTracker::default();
        assert_eq!(t.classify(1000, 1, 0, TcpFlags::SYN), Sent::New);
        assert_eq!(data(&mut t, 1001, 100), Sent::New);
        assert_eq!(data(&mut t, 1301, 100), Sent::Ahead);
        assert_eq!(t.high, Some(1401));
        assert_eq!(data(&mut t, 1101, 200), Sent::Retransmission);
        assert_eq!(data(&mut t, 1400, 1), Sent::KeepAlive);
        // One byte and a FIN ending at the top is a retransmission, not a keep-alive.
        assert_eq!(t.classify(1399, 2, 1, TcpFlags::FIN), Sent::Retransmission);
        assert_eq!(t.classify(1401, 0, 0, TcpFlags::ACK), Sent::NoSequenceSpace);
        assert_eq!(t.classify(1401, 0, 0, TcpFlags::RST), Sent::NoSequenceSpace);
        assert_eq!(t.high, Some(1401));
        // Across the wrap of the sequence space.
        let mut t = SendTracker::default();
        assert_eq!(data(&mut t, u32::MAX - 9, 10), Sent::New);
        assert_eq!(data(&mut t, 0, 10), Sent::New);
        assert_eq!(data(&mut t, u32::MAX - 9, 10), Sent::Retransmission);
        assert_eq!(t.high, Some(10));
    }

    // Proves a re-cut retransmission — starting below the highest sequence sent but reaching past
    // it with new bytes — is a retransmission (Wireshark's rule), and that it still moves the
    // highest sequence sent, so the next in-order segment is new.
    #[test]
    fn recut_segment_is_a_retransmission() {
        let mut t = SendTracker::default();
        assert_eq!(data(&mut t, 1, 100), Sent::New);
        assert_eq!(data(&mut t, 101, 50), Sent::New);
        assert_eq!(t.high, Some(151));
        // The sender's timer fires and it re-cuts 1..=200: old bytes 1..151 and new 151..201.
        assert_eq!(data(&mut t, 1, 200), Sent::Retransmission);
        assert_eq!(t.high, Some(201));
        assert_eq!(data(&mut t, 201, 100), Sent::New);
    }
}
