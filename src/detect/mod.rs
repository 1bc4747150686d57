//! Signature detectors: each recognises one way connections die, from the classified segments of one
//! connection ([`crate::classes::Seen`]), and reports [`Finding`]s whose time features end in `_s`.
//!
//! Detectors are streaming state machines, one instance per connection, listed in `REGISTRY`
//! (order = report order). Each lives in its own file with unit tests on small hand-built
//! connections.
//!
//! Layering: detectors depend on [`crate::classes`] (what a classified segment is) and their own
//! [`DetectOptions`], never on [`crate::analyze`], which instantiates them: no module cycle.

mod close_wait_stuck;
mod idle_reset;
mod one_way_stall;
mod rto_backoff;
mod stale_seq_after_fin;

use std::collections::BTreeMap;

use crate::classes::Seen;
use crate::clock::{Duration, Instant, secs};

/// The detectors' thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectOptions {
    /// Both directions silent this long counts as an outage (one-way-stall).
    pub outage: Duration,
    /// A sender without data for this long after an outage is stalled.
    pub stall: Duration,
    /// A connection idle this long before a RST is an idle reset.
    pub idle_reset: Duration,
    /// CLOSE-WAIT (peer's FIN ACKed, no FIN sent) this long is stuck.
    pub close_wait: Duration,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions {
            outage: Duration::from_millis(500),
            stall: Duration::from_secs(1),
            idle_reset: Duration::from_secs(30),
            close_wait: Duration::from_secs(60),
        }
    }
}

/// A signature finding: one occurrence of a signature, with its measured features.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    /// Signature name.
    pub signature: String,
    /// When it happened.
    pub at_s: f64,
    /// Named features; time features end in `_s`.
    pub features: BTreeMap<String, f64>,
}

/// A per-connection signature detector.
pub(crate) trait Detector {
    /// Handles the connection's next classified segment.
    fn handle(&mut self, s: &Seen, out: &mut Vec<Finding>);
    /// The connection ended (or the capture did) at `end`.
    fn finish(&mut self, _end: Instant, _out: &mut Vec<Finding>) {}
}

type Make = fn(&DetectOptions) -> Box<dyn Detector>;

/// Every detector: its signature name, the names of the features its findings can carry, and its
/// constructor, in report order. [`finding`] checks that a detector reports only the features
/// listed here, so `[[expect]]` can refuse a misspelt one.
type Entry = (&'static str, &'static [&'static str], Make);

pub(crate) const REGISTRY: [Entry; 5] = [
    (
        "stale-seq-after-fin",
        &[
            "idle_before_fin_s",
            "idle_before_fin_is_lower_bound",
            "fin_to_ack_s",
            "last_fin_to_ack_s",
            "fin_retransmitted",
            "ack_to_stale_s",
            "stale_to_rst_s",
            "stale_is_retransmission",
            "stale_seq_equals_fin_ack",
            "device_data_between_last_ack_and_fin",
            "stale_since_hole_s",
        ],
        |_| Box::new(stale_seq_after_fin::StaleSeqAfterFin::default()),
    ),
    ("rto-backoff", &rto_backoff::FEATURES, |_| {
        Box::new(rto_backoff::RtoBackoff::default())
    }),
    (
        "one-way-stall",
        &["outage_s", "stalled_s", "acks_without_data", "peer_window"],
        |o| Box::new(one_way_stall::OneWayStall::new(o)),
    ),
    ("idle-reset", &["idle_s", "keepalive_interval_s"], |o| {
        Box::new(idle_reset::IdleReset::new(o))
    }),
    ("close-wait-stuck", &["close_wait_s", "still_open"], |o| {
        Box::new(close_wait_stuck::CloseWaitStuck::new(o))
    }),
];

/// The signature names, in report order.
pub fn signatures() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|(n, _, _)| *n)
}

/// The features a finding of `signature` can carry (`None` for an unknown signature).
pub fn features(signature: &str) -> Option<&'static [&'static str]> {
    REGISTRY
        .iter()
        .find(|(n, _, _)| *n == signature)
        .map(|(_, f, _)| *f)
}

/// One instance of every detector, for a new connection.
pub(crate) fn instantiate(opts: &DetectOptions) -> Vec<Box<dyn Detector>> {
    REGISTRY.iter().map(|(_, _, make)| make(opts)).collect()
}

/// Builds a finding.
pub(crate) fn finding(signature: &str, at: Instant, features: &[(&str, f64)]) -> Finding {
    // Always checked (a scan of a few names per finding): the detectors' unit tests, which run in
    // release builds too, then prove every feature they report is listed in REGISTRY.
    assert!(
        features
            .iter()
            .all(|(k, _)| self::features(signature).is_some_and(|known| known.contains(k))),
        "{signature}: a feature missing from REGISTRY in {features:?}"
    );
    Finding {
        signature: signature.to_string(),
        at_s: secs(at),
        features: features
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// Seconds between two instants.
pub(crate) fn span(from: Instant, to: Instant) -> f64 {
    (to - from).total_micros() as f64 / 1e6 * if to >= from { 1.0 } else { -1.0 }
}

#[cfg(test)]
pub(crate) mod testkit {
    //! Tiny hand-built connections for detector tests: `a` is endpoint 0, `b` endpoint 1.
    use crate::analyze::{AnalyzeOptions, Analyzer, ConnReport};
    use crate::capture::Endpoints;
    use crate::clock::Instant;
    pub use crate::trace::packet::Packet;
    use crate::trace::packet::TcpFlags;

    /// Flag shorthands for readable timelines.
    pub const SYN: TcpFlags = TcpFlags::SYN;
    /// FIN.
    pub const FIN: TcpFlags = TcpFlags::FIN;
    /// RST.
    pub const RST: TcpFlags = TcpFlags::RST;
    /// PSH.
    pub const PSH: TcpFlags = TcpFlags::PSH;
    /// ACK.
    pub const ACK: TcpFlags = TcpFlags::ACK;

    /// A segment: time in ms, from a (true) or b, flags, seq, ack, win, len.
    pub fn seg(
        ms: i64,
        from_a: bool,
        fl: TcpFlags,
        seq: u32,
        ack: u32,
        win: u32,
        len: u32,
    ) -> Packet {
        Packet {
            t: Instant::from_millis(ms),
            src: if from_a { 0 } else { 1 },
            dst: if from_a { 1 } else { 0 },
            flags: fl,
            seq,
            ack,
            win,
            len,
            seq_known: true,
            wireshark: 0,
        }
    }

    /// Data from a.
    pub fn data_a(ms: i64, seq: u32, len: u32) -> Packet {
        seg(ms, true, PSH | ACK, seq, 1, 5744, len)
    }
    /// Pure ACK from b.
    pub fn ack_b(ms: i64, ack: u32) -> Packet {
        seg(ms, false, ACK, 1, ack, 64000, 0)
    }

    /// Runs the analysis over hand-built packets.
    pub fn analyze(packets: &[Packet]) -> Vec<ConnReport> {
        let mut e = Endpoints::default();
        e.name("a.1");
        e.name("b.2");
        let mut an = Analyzer::new(AnalyzeOptions::default());
        for p in packets {
            an.handle(p);
        }
        an.finish(&e)
    }

    /// The findings of one signature.
    pub fn found(packets: &[Packet], sig: &str) -> Vec<crate::detect::Finding> {
        analyze(packets)
            .into_iter()
            .flat_map(|c| c.findings)
            .filter(|f| f.signature == sig)
            .collect()
    }

    /// A feature of a finding.
    pub fn feat(f: &crate::detect::Finding, k: &str) -> f64 {
        *f.features
            .get(k)
            .unwrap_or_else(|| panic!("no feature {k} in {f:?}"))
    }
}
