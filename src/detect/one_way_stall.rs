//! `one-way-stall`: after an outage (both directions silent for at least the outage threshold), one
//! side delivers data again while the other — which was sending data just before the outage, and
//! now only acknowledges (so it is alive and the peer's window is open) — sends no data for longer
//! than the stall threshold (tests/data/observed/nodelay-outage-stall.txt).
//!
//! Heuristic limits: a capture cannot show whether the stalled side's application has data to
//! send; "was sending data within the stall threshold before the outage" and "acknowledges at
//! least three of the peer's new segments without sending data" stand in for it.
//!
//! Features: `outage_s`, `stalled_s` (from the stalled side's last data to its next data or the end
//! of the connection), `acks_without_data`, `peer_window` (the window the peer advertised).

use super::{DetectOptions, Detector, finding, span};
use crate::classes::{Classes, Seen};
use crate::clock::{Duration, Instant};
use crate::detect::Finding;

/// After an outage: who resumed and what the other side has done since.
#[derive(Debug, Clone, Copy)]
struct Watch {
    at: Instant,
    outage_s: f64,
    stalled: usize,
    stalled_last_data: Instant,
    acks: u32,
}

pub struct OneWayStall {
    outage: Duration,
    stall: Duration,
    last_any: Option<Instant>,
    last_data: [Option<Instant>; 2],
    last_win: [u32; 2],
    /// Outage just ended: (start, end); waiting for the first data.
    outage_end: Option<(Instant, Instant)>,
    watch: Option<Watch>,
    done: bool,
}

impl OneWayStall {
    pub fn new(o: &DetectOptions) -> Self {
        OneWayStall {
            outage: o.outage,
            stall: o.stall,
            last_any: None,
            last_data: [None; 2],
            last_win: [0; 2],
            outage_end: None,
            watch: None,
            done: false,
        }
    }

    fn report(&mut self, until: Instant, out: &mut Vec<Finding>) {
        if let Some(w) = self.watch.take() {
            let stalled_s = span(w.stalled_last_data, until);
            if w.acks >= 3 && stalled_s > self.stall.total_micros() as f64 / 1e6 {
                out.push(finding(
                    "one-way-stall",
                    w.at,
                    &[
                        ("outage_s", w.outage_s),
                        ("stalled_s", stalled_s),
                        ("acks_without_data", f64::from(w.acks)),
                        ("peer_window", f64::from(self.last_win[1 - w.stalled])),
                    ],
                ));
                self.done = true;
            }
        }
    }
}

impl Detector for OneWayStall {
    fn handle(&mut self, s: &Seen, out: &mut Vec<Finding>) {
        let p = &s.p;
        if self.done {
            return;
        }
        if let Some(prev) = self.last_any
            && p.t >= prev
            && p.t - prev >= self.outage
        {
            self.report(prev, out);
            self.outage_end = Some((prev, p.t));
        }
        self.last_any = Some(p.t);
        self.last_win[s.from] = p.win;
        let me = s.from;
        if p.len > 0 {
            if let Some((start, end)) = self.outage_end.take() {
                // `me` resumes; the other side is watched if it was sending just before the outage.
                let other = 1 - me;
                if let Some(last) = self.last_data[other]
                    && start >= last
                    && start - last <= self.stall
                {
                    self.watch = Some(Watch {
                        at: end,
                        outage_s: span(start, end),
                        stalled: other,
                        stalled_last_data: last,
                        acks: 0,
                    });
                }
            }
            if self.watch.is_some_and(|w| w.stalled == me) {
                self.report(p.t, out);
            }
            self.last_data[me] = Some(p.t);
        } else if let Some(w) = &mut self.watch
            && w.stalled == me
            && p.len == 0
            && !s.classes.intersects(Classes::KEEP_ALIVE)
        {
            w.acks += 1;
        }
    }

    fn finish(&mut self, end: Instant, out: &mut Vec<Finding>) {
        self.report(end, out);
    }
}

#[cfg(test)]
mod tests {
    use crate::detect::testkit::*;

    fn data_b(ms: i64, seq: u32, len: u32) -> crate::trace::packet::Packet {
        seg(ms, false, PSH | ACK, seq, 1000, 13756, len)
    }
    fn ack_a(ms: i64, ack: u32) -> crate::trace::packet::Packet {
        seg(ms, true, ACK, 1000, ack, 1448, 0)
    }

    // Proves the stall of tests/data/observed/nodelay-outage-stall.txt in miniature: a sends data,
    // 1 s of silence, b resumes sending, a only ACKs (4 times) and sends no data: found, with the
    // stall measured from a's last data to the end.
    #[test]
    fn stall_after_outage() {
        let f = found(
            &[
                data_a(0, 1, 761),
                ack_b(1, 762),
                data_b(1_025, 1, 762),
                ack_a(1_026, 763),
                data_b(1_027, 763, 118),
                ack_a(1_028, 881),
                data_b(1_029, 881, 116),
                ack_a(1_030, 997),
                data_b(1_031, 997, 117),
                ack_a(1_032, 1114),
            ],
            "one-way-stall",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert!((feat(&f[0], "stalled_s") - 1.032).abs() < 1e-9);
        assert!((feat(&f[0], "outage_s") - 1.024).abs() < 1e-9);
        assert_eq!(feat(&f[0], "acks_without_data"), 4.0);
    }

    // Proves a side that resumes its own data after the outage is not stalled, and that a side that
    // was not sending before the outage (a pure receiver) is not either.
    #[test]
    fn recovery_is_not_a_stall() {
        let resumed = [
            data_a(0, 1, 761),
            ack_b(1, 762),
            data_b(1_025, 1, 762),
            ack_a(1_026, 763),
            data_b(1_027, 763, 118),
            ack_a(1_028, 881),
            data_a(1_029, 762, 100),
            data_b(1_030, 881, 116),
            ack_a(1_031, 997),
            ack_a(2_500, 997),
        ];
        assert!(found(&resumed, "one-way-stall").is_empty());
        let receiver = [
            ack_a(0, 1),
            data_b(1_025, 1, 762),
            ack_a(1_026, 763),
            data_b(1_027, 763, 118),
            ack_a(1_028, 881),
            data_b(1_029, 881, 116),
            ack_a(1_030, 997),
            ack_a(3_000, 997),
        ];
        assert!(found(&receiver, "one-way-stall").is_empty());
    }
}
