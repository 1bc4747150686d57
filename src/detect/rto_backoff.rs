//! `rto-backoff`: a segment retransmitted on timeout two or more times. The intervals between its
//! transmissions show the sender's retransmission timer backing off.
//!
//! Features: `retransmissions`, `base_rto_s` (the first interval: the timer's value when it first
//! fired), `growth_factor` (geometric mean of successive interval ratios: 2 for doubling),
//! `interval_1_s`, `interval_2_s`, ... (up to 8), `total_s`. `growth_factor` is left out when it is
//! undefined (no non-zero interval is followed by another), never NaN. Reported when the segment is finally
//! acknowledged or the connection ends; at the time of the first retransmission.

use std::collections::BTreeMap;

/// Every feature an `rto-backoff` finding can carry (the intervals last, in order).
pub(super) const FEATURES: [&str; 12] = [
    "retransmissions",
    "base_rto_s",
    "total_s",
    "growth_factor",
    "interval_1_s",
    "interval_2_s",
    "interval_3_s",
    "interval_4_s",
    "interval_5_s",
    "interval_6_s",
    "interval_7_s",
    "interval_8_s",
];

use super::{Detector, finding, span};
use crate::classes::{Classes, Seen, seq_after};
use crate::clock::Instant;
use crate::detect::Finding;

#[derive(Debug, Default)]
pub struct RtoBackoff {
    /// (sender, seq) → transmission times (the first as first seen).
    chains: BTreeMap<(usize, u32), Vec<Instant>>,
}

impl RtoBackoff {
    fn report(times: &[Instant], out: &mut Vec<Finding>) {
        if times.len() < 3 {
            return;
        }
        let intervals: Vec<f64> = times.windows(2).map(|w| span(w[0], w[1])).collect();
        let ratios: Vec<f64> = intervals
            .windows(2)
            .filter(|w| w[0] > 0.0)
            .map(|w| w[1] / w[0])
            .collect();
        // Undefined when every interval before another is zero (copies of one packet): left out.
        let growth = (!ratios.is_empty())
            .then(|| (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp());
        let mut features: Vec<(&str, f64)> = vec![
            ("retransmissions", (times.len() - 1) as f64),
            ("base_rto_s", intervals[0]),
            ("total_s", span(times[0], *times.last().expect("3+"))),
        ];
        features.extend(growth.map(|g| ("growth_factor", g)));
        let names = FEATURES[4..].iter().copied(); // interval_1_s ... interval_8_s
        features.extend(names.zip(intervals.iter().copied()));
        out.push(finding("rto-backoff", times[1], &features));
    }
}

impl Detector for RtoBackoff {
    fn handle(&mut self, s: &Seen, out: &mut Vec<Finding>) {
        let p = &s.p;
        if s.classes.intersects(Classes::RETRANSMISSION)
            && let Some((first, _)) = s.first_sent
        {
            self.chains
                .entry((s.from, p.seq))
                .or_insert_with(|| vec![first])
                .push(p.t);
        }
        // An ACK from the other side past a chain's segment ends that chain.
        let acked: Vec<(usize, u32)> = self
            .chains
            .keys()
            .filter(|(from, seq)| *from != s.from && seq_after(p.ack, *seq))
            .copied()
            .collect();
        for k in acked {
            let times = self.chains.remove(&k).expect("present");
            Self::report(&times, out);
        }
    }

    fn finish(&mut self, _end: Instant, out: &mut Vec<Finding>) {
        for times in std::mem::take(&mut self.chains).into_values() {
            Self::report(&times, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::detect::testkit::*;

    // Proves a segment sent at 0 and retransmitted at 1, 3 and 7 s (doubling) is reported with base
    // 1 s and growth 2, when it is finally acknowledged.
    #[test]
    fn doubling_chain() {
        let f = found(
            &[
                data_a(0, 1, 100),
                data_a(1_000, 1, 100),
                data_a(3_000, 1, 100),
                data_a(7_000, 1, 100),
                ack_b(7_010, 101),
            ],
            "rto-backoff",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(feat(&f[0], "retransmissions"), 3.0);
        assert!((feat(&f[0], "base_rto_s") - 1.0).abs() < 1e-9);
        assert!((feat(&f[0], "growth_factor") - 2.0).abs() < 1e-9);
        assert!((feat(&f[0], "interval_3_s") - 4.0).abs() < 1e-9);
        assert!((f[0].at_s - 1.0).abs() < 1e-9);
    }

    // Proves a single retransmission is not a backoff.
    #[test]
    fn one_retransmission_is_not_backoff() {
        assert!(
            found(
                &[data_a(0, 1, 100), data_a(1_000, 1, 100), ack_b(1_010, 101)],
                "rto-backoff"
            )
            .is_empty()
        );
    }
}
