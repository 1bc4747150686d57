//! `idle-reset`: a connection idle (no packet either way) for at least the idle threshold is reset
//! by the path (a load balancer or NAT forgetting the flow) or by the peer
//! (tests/data/observed/keepalive-*.txt).
//!
//! Features: `idle_s` (from the last packet before the RST), and, when keep-alive probes were seen,
//! `keepalive_interval_s` (the time from the last activity before the first probe to that probe,
//! or between probes).

use super::{DetectOptions, Detector, finding, span};
use crate::classes::{Classes, Seen};
use crate::clock::{Duration, Instant};
use crate::detect::Finding;

pub struct IdleReset {
    idle: Duration,
    last_any: Option<Instant>,
    last_activity: Option<Instant>,
    keepalive_interval: Option<f64>,
}

impl IdleReset {
    pub fn new(o: &DetectOptions) -> Self {
        IdleReset {
            idle: o.idle_reset,
            last_any: None,
            last_activity: None,
            keepalive_interval: None,
        }
    }
}

impl Detector for IdleReset {
    fn handle(&mut self, s: &Seen, out: &mut Vec<Finding>) {
        let p = &s.p;
        if s.classes.intersects(Classes::RST) {
            if let Some(last) = self.last_any
                && p.t >= last
                && p.t - last >= self.idle
            {
                let mut features = vec![("idle_s", span(last, p.t))];
                if let Some(k) = self.keepalive_interval {
                    features.push(("keepalive_interval_s", k));
                }
                out.push(finding("idle-reset", p.t, &features));
            }
        } else if s.classes.intersects(Classes::KEEP_ALIVE) {
            if let Some(a) = self.last_activity {
                self.keepalive_interval = Some(span(a, p.t));
            }
            self.last_activity = Some(p.t);
        } else if !s.classes.intersects(Classes::KEEP_ALIVE_ACK) {
            self.last_activity = Some(p.t);
        }
        self.last_any = Some(p.t);
    }
}

#[cfg(test)]
mod tests {
    use crate::detect::testkit::*;

    // Proves a RST after 90 s of idle is found with idle_s = 90, and one after 1 s is not.
    #[test]
    fn reset_after_idle() {
        let f = found(
            &[
                data_a(0, 1, 76),
                ack_b(90, 77),
                seg(90_090, false, RST, 1, 0, 0, 0),
            ],
            "idle-reset",
        );
        assert_eq!(f.len(), 1);
        assert!((feat(&f[0], "idle_s") - 90.0).abs() < 1e-9);
        assert!(
            found(
                &[
                    data_a(0, 1, 76),
                    ack_b(90, 77),
                    seg(1_090, false, RST, 1, 0, 0, 0)
                ],
                "idle-reset"
            )
            .is_empty()
        );
    }

    // Proves keep-alive probes (seq one below the next byte) give the keep-alive interval.
    #[test]
    fn keepalive_interval() {
        let f = found(
            &[
                data_a(0, 1, 76),
                ack_b(90, 77),
                seg(60_090, true, ACK, 76, 1, 58, 0),
                seg(60_180, false, ACK, 1, 77, 58, 0),
                seg(120_180, false, RST, 1, 0, 0, 0),
            ],
            "idle-reset",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert!((feat(&f[0], "keepalive_interval_s") - 60.0).abs() < 1e-9);
        assert!((feat(&f[0], "idle_s") - 60.0).abs() < 1e-9);
    }
}
