//! `stale-seq-after-fin`: one side (the device) goes silent; the peer (the server) sends FIN carrying
//! ack A; the device ACKs the FIN; later the device sends data starting at A or below its highest
//! sequence sent; the server answers RST.
//!
//! Features: `idle_before_fin_s` (FIN time − last new in-order data the server received from the
//! device), `fin_to_ack_s`, `ack_to_stale_s`, `stale_to_rst_s`, `stale_is_retransmission` (1/0),
//! `stale_seq_equals_fin_ack` (1/0), `device_data_between_last_ack_and_fin` (device data segments
//! seen after the server's last ACK before the FIN).

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
    data_since_ack: [u32; 2],
    /// (server side, FIN time, FIN seq, FIN's ack, device data between last ACK and FIN)
    fin: Option<(usize, Instant, u32, u32, u32)>,
    fin_acked: Option<Instant>,
    stale: Option<(Instant, bool, bool)>,
    reported: bool,
}

impl Detector for StaleSeqAfterFin {
    fn handle(&mut self, s: &Seen, out: &mut Vec<Finding>) {
        let p = &s.p;
        let me = s.from;
        if self.reported {
            return;
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
                        self.stale = Some((p.t, s.classes.is_retransmission(), p.seq == fin_ack));
                    }
                    return;
                }
                if let (Some((stale_t, retrans, equal)), true) =
                    (self.stale, me == server && p.has(TcpFlags::RST))
                {
                    let ack_t = self.fin_acked.expect("set");
                    let idle = self.last_in_order[device].map_or(f64::NAN, |t| span(t, fin_t));
                    out.push(finding(
                        "stale-seq-after-fin",
                        stale_t,
                        &[
                            ("idle_before_fin_s", idle),
                            ("fin_to_ack_s", span(fin_t, ack_t)),
                            ("ack_to_stale_s", span(ack_t, stale_t)),
                            ("stale_to_rst_s", span(stale_t, p.t)),
                            ("stale_is_retransmission", f64::from(u8::from(retrans))),
                            ("stale_seq_equals_fin_ack", f64::from(u8::from(equal))),
                            ("device_data_between_last_ack_and_fin", f64::from(between)),
                        ],
                    ));
                    self.reported = true;
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
