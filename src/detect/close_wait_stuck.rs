//! `close-wait-stuck`: a side acknowledges its peer's FIN but sends no FIN of its own for longer than
//! the threshold (its application never closes: CLOSE-WAIT).
//!
//! Features: `close_wait_s` (from the ACK of the peer's FIN to the side's own FIN, a RST, or the end
//! of the connection), `still_open` (1 if it never closed while captured).

use super::{DetectOptions, Detector, finding, span};
use crate::classes::{Seen, seq_after};
use crate::clock::{Duration, Instant};
use crate::detect::Finding;
use crate::trace::packet::TcpFlags;

pub struct CloseWaitStuck {
    threshold: Duration,
    /// Per side: the sequence number of the FIN it sent.
    fin_seq: [Option<u32>; 2],
    /// Per side: when it acknowledged the peer's FIN (entering CLOSE-WAIT), if it has not closed.
    since: [Option<Instant>; 2],
    reported: [bool; 2],
}

impl CloseWaitStuck {
    pub fn new(o: &DetectOptions) -> Self {
        CloseWaitStuck {
            threshold: o.close_wait,
            fin_seq: [None; 2],
            since: [None; 2],
            reported: [false; 2],
        }
    }

    fn end_wait(&mut self, side: usize, at: Instant, still_open: bool, out: &mut Vec<Finding>) {
        if let Some(since) = self.since[side].take()
            && !self.reported[side]
            && at >= since
            && at - since > self.threshold
        {
            self.reported[side] = true;
            out.push(finding(
                "close-wait-stuck",
                since,
                &[
                    ("close_wait_s", span(since, at)),
                    ("still_open", f64::from(u8::from(still_open))),
                ],
            ));
        }
    }
}

impl Detector for CloseWaitStuck {
    fn handle(&mut self, s: &Seen, out: &mut Vec<Finding>) {
        let p = &s.p;
        let me = s.from;
        if p.has(TcpFlags::RST) {
            for side in 0..2 {
                self.end_wait(side, p.t, false, out);
            }
            return;
        }
        if p.has(TcpFlags::FIN) {
            self.fin_seq[me] = Some(p.seq.wrapping_add(p.len));
            self.end_wait(me, p.t, false, out);
        }
        if let Some(f) = self.fin_seq[1 - me] {
            let covers = seq_after(p.ack, f);
            if p.has(TcpFlags::ACK)
                && covers
                && self.fin_seq[me].is_none()
                && self.since[me].is_none()
            {
                self.since[me] = Some(p.t);
            }
        }
    }

    fn finish(&mut self, end: Instant, out: &mut Vec<Finding>) {
        for side in 0..2 {
            self.end_wait(side, end, true, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::detect::testkit::*;

    // Proves a side that ACKs the peer's FIN and keeps talking for 100 s without a FIN is stuck,
    // and one that closes 1 s later is not.
    #[test]
    fn stuck_and_not() {
        let fin_a = seg(0, true, FIN | ACK, 1, 1, 5744, 0);
        let ack_fin = ack_b(10, 2);
        let f = found(
            &[fin_a, ack_fin, seg(100_000, false, ACK, 1, 2, 64000, 0)],
            "close-wait-stuck",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert!((feat(&f[0], "close_wait_s") - 99.99).abs() < 1e-9);
        assert_eq!(feat(&f[0], "still_open"), 1.0);
        let closes = [
            fin_a,
            ack_fin,
            seg(1_010, false, FIN | ACK, 1, 2, 64000, 0),
            seg(1_020, true, ACK, 2, 2, 5744, 0),
        ];
        assert!(found(&closes, "close-wait-stuck").is_empty());
    }
}
