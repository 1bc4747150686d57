//! What the analysis reports per connection ([`ConnReport`]: classes, silences, retransmissions,
//! findings) and how a finished connection's state becomes one.
//!
//! Guarantees: these types are what `tcpsim analyze --json` serialises, field for field; classes
//! are keyed by their report names, findings are sorted by time then signature, and endpoint ids
//! are replaced by the capture's endpoint names.

use std::collections::BTreeMap;

use serde::Serialize;

use super::conn::Conn;
use crate::capture::Endpoints;
use crate::classes::{CLASSES, WIRESHARK};
use crate::clock::{Duration, Instant};
use crate::detect::Finding;

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

/// Most retransmissions listed per connection (all are counted in the classes), so that memory is
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
    /// Wireshark's own analysis, where the capture carries it (tshark text's bracketed expert
    /// info): packets per label, named as [`crate::classes::WIRESHARK`] says; left out when empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub wireshark: BTreeMap<String, u64>,
    /// Silences longer than the threshold (the first [`MAX_LISTED`] of them).
    pub silences: Vec<Silence>,
    /// How many silences there were in all, listed or not.
    pub silence_count: u64,
    /// Retransmissions, in order (the first [`MAX_LISTED`] of them).
    pub retransmissions: Vec<Retransmission>,
    /// Findings of the signature detectors.
    pub findings: Vec<Finding>,
}

/// A duration in seconds.
fn dur_s(d: Duration) -> f64 {
    d.total_micros() as f64 / 1e6
}

/// The report of a finished connection (its detectors already finished), with endpoint names
/// from `endpoints` and times in seconds since `origin`.
pub(super) fn conn_report(c: Conn, endpoints: &Endpoints, origin: Instant) -> ConnReport {
    let name = |from: usize| endpoints.get(c.ends[from]).to_string();
    let o = origin.total_micros();
    let since = |t: Instant| (t.total_micros() - o) as f64 / 1e6;
    let mut findings = c.findings;
    for f in &mut findings {
        f.at_s = ((f.at_s * 1e6).round() as i64 - o) as f64 / 1e6;
    }
    findings.sort_by(|a, b| {
        a.at_s
            .total_cmp(&b.at_s)
            .then(a.signature.cmp(&b.signature))
    });
    ConnReport {
        index: c.index,
        a: name(0),
        b: name(1),
        first_s: since(c.first),
        last_s: since(c.last),
        packets: c.packets,
        classes: CLASSES
            .iter()
            .zip(c.counts)
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k.to_string(), n))
            .collect(),
        wireshark: WIRESHARK
            .iter()
            .zip(c.wireshark)
            .filter(|(_, n)| *n > 0)
            .map(|((_, k), n)| (k.to_string(), n))
            .collect(),
        silences: c
            .silences
            .iter()
            .map(|(from, start, len)| Silence {
                from: name(*from),
                start_s: since(*start),
                length_s: dur_s(*len),
            })
            .collect(),
        silence_count: c.silence_count,
        retransmissions: c
            .retrans
            .iter()
            .map(|(from, r)| Retransmission {
                at_s: since(r.p.t),
                from: name(*from),
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
                    .map(|f| dur_s(r.p.t - f.0)),
                since_hole_s: r.hole_seen.map(|h| dur_s(r.p.t - h)),
            })
            .collect(),
        findings,
    }
}
