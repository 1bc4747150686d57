//! `stale-seq-after-fin`: one side (the device) goes silent; the peer (the server) sends FIN carrying
//! ack A; the device ACKs the FIN; later the device sends data starting at A or below its highest
//! sequence sent; the server answers RST.
//!
//! Features (times in seconds, yes/no as 1/0; never NaN):
//! - `idle_before_fin_s`: FIN time − the last new in-order data the server received from the device.
//!   When the capture shows no such data (it starts inside the silence), the time since the last
//!   advance of the server's ACK, or since the connection's first packet, with
//!   `idle_before_fin_is_lower_bound` = 1 (the real idle time is at least this); else 0.
//! - `fin_to_ack_s` (from the server's first FIN to the device's ACK of it), `last_fin_to_ack_s`
//!   (from the last transmission of that FIN before the ACK), `fin_retransmitted` (the FIN was seen
//!   more than once before the ACK).
//! - `ack_to_stale_s`, `stale_to_rst_s`, `stale_is_retransmission`, `stale_seq_equals_fin_ack`,
//!   `stale_since_hole_s` (only when the stale segment fills a hole the capture saw open: time
//!   since then), `device_data_between_last_ack_and_fin` (device data segments seen after the
//!   server's last ACK before the FIN).

use super::{Detector, finding, span};
use crate::classes::{Seen, seq_after};
use crate::clock::Instant;
use crate::detect::Finding;
use crate::trace::packet::TcpFlags;

#[derive(Debug, Default)]
pub struct StaleSeqAfterFin {
    /// Per side: last in-order data it sent (as seen), last pure ACK it sent.
    last_in_order: [Option<Instant>; 2],
    last_ack: [Option<Instant>; 2],
    /// Per side: when its ACK last advanced, and its highest ACK.
    ack_advanced: [Option<Instant>; 2],
    max_ack: [Option<u32>; 2],
    /// The connection's first packet.
    first: Option<Instant>,
    data_since_ack: [u32; 2],
    /// (server side, FIN time, FIN seq, FIN's ack, device data between last ACK and FIN)
    fin: Option<(usize, Instant, u32, u32, u32)>,
    /// The last transmission of the FIN before the device's ACK, and how many there were.
    last_fin: Option<(Instant, u32)>,
    fin_acked: Option<Instant>,
    stale: Option<Stale>,
    reported: bool,
}

/// The device's stale segment.
#[derive(Debug, Clone, Copy)]
struct Stale {
    t: Instant,
    retransmission: bool,
    equals_fin_ack: bool,
    hole_seen: Option<Instant>,
}

impl StaleSeqAfterFin {
    /// The idle time before the FIN at `fin_t`, and whether it is only a lower bound.
    fn idle_before(&self, device: usize, fin_t: Instant) -> (f64, bool) {
        let server = 1 - device;
        match self.last_in_order[device] {
            Some(t) => (span(t, fin_t), false),
            None => {
                let since = self.ack_advanced[server].or(self.first).unwrap_or(fin_t);
                (span(since, fin_t), true)
            }
        }
    }

    fn report(&mut self, server: usize, fin_t: Instant, between: u32, rst_t: Instant) -> Finding {
        let device = 1 - server;
        let ack_t = self.fin_acked.expect("set");
        let st = self.stale.expect("set");
        let (idle, bound) = self.idle_before(device, fin_t);
        let (last_fin_t, fins) = self.last_fin.unwrap_or((fin_t, 1));
        let flag = |b: bool| f64::from(u8::from(b));
        let mut features = vec![
            ("idle_before_fin_s", idle),
            ("idle_before_fin_is_lower_bound", flag(bound)),
            ("fin_to_ack_s", span(fin_t, ack_t)),
            ("last_fin_to_ack_s", span(last_fin_t, ack_t)),
            ("fin_retransmitted", flag(fins > 1)),
            ("ack_to_stale_s", span(ack_t, st.t)),
            ("stale_to_rst_s", span(st.t, rst_t)),
            ("stale_is_retransmission", flag(st.retransmission)),
            ("stale_seq_equals_fin_ack", flag(st.equals_fin_ack)),
            ("device_data_between_last_ack_and_fin", f64::from(between)),
        ];
        if let Some(h) = st.hole_seen {
            features.push(("stale_since_hole_s", span(h, st.t)));
        }
        self.reported = true;
        finding("stale-seq-after-fin", st.t, &features)
    }
}

impl Detector for StaleSeqAfterFin {
    fn handle(&mut self, s: &Seen, out: &mut Vec<Finding>) {
        let p = &s.p;
        let me = s.from;
        if self.reported {
            return;
        }
        self.first.get_or_insert(p.t);
        // ACK advances before the FIN only: the bound measures the silence that led to it.
        if self.fin.is_none() && p.has(TcpFlags::ACK) && !p.has(TcpFlags::RST) {
            if self.max_ack[me].is_some_and(|m| seq_after(p.ack, m)) {
                self.ack_advanced[me] = Some(p.t);
            }
            if self.max_ack[me].is_none_or(|m| seq_after(p.ack, m)) {
                self.max_ack[me] = Some(p.ack);
            }
        }
        match self.fin {
            None => {
                if p.len > 0 {
                    self.data_since_ack[me] += 1;
                    if s.in_order {
                        self.last_in_order[me] = Some(p.t);
                    }
                }
                if p.has(TcpFlags::FIN) {
                    let dev = 1 - me;
                    self.fin = Some((me, p.t, p.seq, p.ack, self.data_since_ack[dev]));
                } else if p.len == 0 && p.has(TcpFlags::ACK) {
                    self.last_ack[me] = Some(p.t);
                    self.data_since_ack[1 - me] = 0;
                }
            }
            Some((server, fin_t, fin_seq, fin_ack, between)) => {
                let device = 1 - server;
                if self.fin_acked.is_none() && me == server && p.has(TcpFlags::FIN) {
                    // The FIN again (the device's ACK has not come yet).
                    if p.seq == fin_seq && p.t > fin_t {
                        let n = self.last_fin.map_or(1, |f| f.1);
                        self.last_fin = Some((p.t, n + 1));
                    }
                    return;
                }
                if self.fin_acked.is_none() {
                    // The device's ACK of the FIN (ack covers the FIN).
                    let covers =
                        !p.seq_known || p.ack.wrapping_sub(fin_seq.wrapping_add(1)) as i32 >= 0;
                    if me == device
                        && p.has(TcpFlags::ACK)
                        && p.len == 0
                        && covers
                        && !p.has(TcpFlags::RST)
                    {
                        self.fin_acked = Some(p.t);
                    }
                    return;
                }
                if self.stale.is_none() && me == device && p.len > 0 {
                    let at_or_below = !seq_after(p.seq, fin_ack);
                    if at_or_below || s.classes.is_retransmission() {
                        self.stale = Some(Stale {
                            t: p.t,
                            retransmission: s.classes.is_retransmission(),
                            equals_fin_ack: p.seq == fin_ack,
                            hole_seen: s.hole_seen,
                        });
                    }
                    return;
                }
                if self.stale.is_some() && me == server && p.has(TcpFlags::RST) {
                    let f = self.report(server, fin_t, between, p.t);
                    out.push(f);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::detect::testkit::*;

    // Proves the field pattern is found with its measured delays: device data to 100, 15 s of
    // silence, server FIN (ack 100), device ACK 16 ms later, stale data at 100 after 6.9 s, RST.
    #[test]
    fn field_pattern() {
        let f = found(
            &[
                data_a(0, 1, 99),
                ack_b(1, 100),
                seg(15_000, false, FIN | ACK, 1, 100, 64000, 0),
                seg(15_016, true, ACK, 100, 2, 5593, 0),
                seg(21_916, true, PSH | ACK, 100, 2, 5593, 99),
                seg(21_917, false, RST, 2, 0, 0, 0),
            ],
            "stale-seq-after-fin",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        let f = &f[0];
        assert!((feat(f, "idle_before_fin_s") - 15.0).abs() < 1e-9);
        assert!((feat(f, "fin_to_ack_s") - 0.016).abs() < 1e-9);
        assert!((feat(f, "ack_to_stale_s") - 6.9).abs() < 1e-9);
        assert!((feat(f, "stale_to_rst_s") - 0.001).abs() < 1e-9);
        assert_eq!(feat(f, "stale_seq_equals_fin_ack"), 1.0);
        assert_eq!(feat(f, "device_data_between_last_ack_and_fin"), 0.0);
        assert!((f.at_s - 21.916).abs() < 1e-9);
    }

    // Proves the bound and FIN-retransmission features: a capture that starts inside the silence
    // (its first device packet comes after the FIN) reports the idle time since the first packet
    // as a lower bound, never NaN; a FIN sent twice before the device's ACK is flagged, with
    // FIN→ACK measured from both transmissions; the field-pattern test above shows the flags at 0.
    #[test]
    fn capture_starting_in_the_silence_and_retransmitted_fin() {
        let f = found(
            &[
                ack_b(0, 100),
                seg(12_000, false, FIN | ACK, 1, 100, 64000, 0),
                seg(12_220, false, FIN | ACK, 1, 100, 64000, 0),
                seg(12_250, true, ACK, 100, 2, 5593, 0),
                seg(43_530, true, PSH | ACK, 100, 2, 5593, 99),
                seg(43_531, false, RST, 2, 0, 0, 0),
            ],
            "stale-seq-after-fin",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        let f = &f[0];
        assert!((feat(f, "idle_before_fin_s") - 12.0).abs() < 1e-9);
        assert_eq!(feat(f, "idle_before_fin_is_lower_bound"), 1.0);
        assert_eq!(feat(f, "fin_retransmitted"), 1.0);
        assert!((feat(f, "fin_to_ack_s") - 0.25).abs() < 1e-9);
        assert!((feat(f, "last_fin_to_ack_s") - 0.03).abs() < 1e-9);
        assert!(f.features.values().all(|v| v.is_finite()), "{f:?}");
        assert!(!f.features.contains_key("stale_since_hole_s"));
    }

    // Proves the bound counts ACK advances before the FIN only (review: data the device sent and
    // the server acknowledged after the FIN made the bound negative, -1.05 s).
    #[test]
    fn bound_ignores_acks_after_the_fin() {
        let f = found(
            &[
                ack_b(0, 100),
                seg(12_000, false, FIN | ACK, 1, 100, 64000, 0),
                seg(12_030, true, ACK, 100, 2, 5593, 0),
                seg(13_000, true, PSH | ACK, 200, 2, 5593, 100),
                seg(13_050, false, ACK, 2, 300, 64000, 0),
                seg(20_000, true, PSH | ACK, 100, 2, 5593, 100),
                seg(20_001, false, RST, 2, 0, 0, 0),
            ],
            "stale-seq-after-fin",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(feat(&f[0], "idle_before_fin_is_lower_bound"), 1.0);
        assert!((feat(&f[0], "idle_before_fin_s") - 12.0).abs() < 1e-9);
    }

    // Proves a stale segment that fills a hole the capture saw open (an out-of-order segment came
    // after it was lost) carries the time since the hole was seen, as capture b shows (46.29 s).
    #[test]
    fn stale_hole_filler_has_since_hole() {
        let f = found(
            &[
                data_a(0, 1, 99),
                ack_b(1, 100),
                data_a(1_000, 199, 99),
                ack_b(1_001, 100),
                seg(16_000, false, FIN | ACK, 1, 100, 64000, 0),
                seg(16_030, true, ACK, 298, 2, 5593, 0),
                seg(47_290, true, PSH | ACK, 100, 2, 5593, 99),
                seg(47_291, false, RST, 2, 0, 0, 0),
            ],
            "stale-seq-after-fin",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert!((feat(&f[0], "stale_since_hole_s") - 46.29).abs() < 1e-9);
        assert_eq!(feat(&f[0], "idle_before_fin_is_lower_bound"), 0.0);
        assert_eq!(feat(&f[0], "fin_retransmitted"), 0.0);
    }

    // Proves no finding without the RST (an orderly close) or without the device's ACK of the FIN.
    #[test]
    fn needs_ack_and_rst() {
        let base = [
            data_a(0, 1, 99),
            ack_b(1, 100),
            seg(15_000, false, FIN | ACK, 1, 100, 64000, 0),
        ];
        let mut no_rst = base.to_vec();
        no_rst.extend([
            seg(15_016, true, ACK, 100, 2, 5593, 0),
            seg(21_916, true, FIN | ACK, 100, 2, 5593, 0),
        ]);
        assert!(found(&no_rst, "stale-seq-after-fin").is_empty());
        let mut no_ack = base.to_vec();
        no_ack.extend([
            seg(21_916, true, PSH | ACK, 100, 2, 5593, 99),
            seg(21_917, false, RST, 2, 0, 0, 0),
        ]);
        assert!(found(&no_ack, "stale-seq-after-fin").is_empty());
    }
}
