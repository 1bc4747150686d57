//! lwIP's header fields and ACK timing on the frames an lwIP-emulating endpoint sends.
//!
//! smoltcp builds the frames; this layer rewrites what lwIP does differently (esp-lwip 2.1.3-esp,
//! docs/STACK-FACTS.md §1.1, §1.5):
//! - **SYN options**: MSS only — ESP-IDF builds lwIP without window scaling or SACK;
//! - **announced window**: lwIP advertises `rcv_ann_right_edge − rcv_nxt` and moves the right
//!   edge only when it would grow by at least min(`TCP_WND`/2, MSS) (`tcp_update_rcv_ann_wnd`),
//!   and a received FIN takes one byte of window for good (`rcv_wnd -= tcplen`): so a device that
//!   read a 166-byte greeting keeps announcing 5594, and 5593 after the peer's FIN, as in the field;
//! - **delayed ACK**: the ACK of one in-order data segment waits for the next tick of the 250 ms
//!   fast timer (`tcp_fasttmr`, phase from the model or the seed); a second segment is ACKed at
//!   once (`tcp_ack`); a FIN, an out-of-order segment or a window update is ACKed at once; a frame
//!   carrying data carries the ACK and cancels the pending one.
//!
//! smoltcp runs with its own delayed ACK off, so it ACKs every segment at once and this layer
//! decides which ACKs wait.

use crate::classes::seq_after;
use crate::clock::{Duration, Grid, Instant};
use crate::trace::packet::{Ipv4Segment, Packet, TcpFlags};

use super::frame;

/// The lwIP output rules of one endpoint.
#[derive(Debug)]
pub struct LwipOut {
    /// Right edge of the window last announced.
    ann_right: Option<u32>,
    /// Smallest growth of the right edge that lwIP announces.
    threshold: u32,
    /// The peer's FIN has been received: one byte of window is gone.
    fin_in: bool,
    /// The 250 ms fast timer's ticks.
    fast: Grid,
    /// A pure ACK waiting for the fast timer: when it goes, and the frame.
    held: Option<(Instant, Vec<u8>)>,
    /// In-order data segments received since our last ACK went out.
    unacked_segs: u32,
    /// The last segment received was in order, carried data and no FIN.
    plain_in_order: bool,
    /// The ACK number of the last frame we sent.
    last_ack: Option<u32>,
    last_ack_win: Option<(u32, u32)>,
}

impl LwipOut {
    /// The rules for a receive buffer of `rx_cap` bytes and an MSS of `mss`, the fast timer at
    /// `fast_phase` on its 250 ms grid.
    pub fn new(rx_cap: usize, mss: usize, fast_phase: Duration) -> LwipOut {
        LwipOut {
            ann_right: None,
            threshold: (rx_cap / 2).min(mss) as u32,
            fin_in: false,
            fast: Grid {
                phase: fast_phase,
                period: Duration::from_millis(250),
            },
            held: None,
            unacked_segs: 0,
            plain_in_order: false,
            last_ack: None,
            last_ack_win: None,
        }
    }

    /// A frame from the peer (before the stack reads it).
    pub fn on_receive(&mut self, s: &Packet) {
        if s.has(TcpFlags::FIN) {
            self.fin_in = true;
        }
        if s.seq_len() == 0 {
            return;
        }
        let in_order = self.last_ack.is_none_or(|a| a == s.seq);
        self.plain_in_order = in_order && s.len > 0 && !s.has(TcpFlags::FIN | TcpFlags::SYN);
        self.unacked_segs += 1;
    }

    /// Rewrites a frame smoltcp built into lwIP's: SYN options, announced window (`p`, its header
    /// fields, follows the window).
    pub fn rewrite(&mut self, f: Vec<u8>, p: &mut Packet) -> Vec<u8> {
        let (syn, ack, seq_ack, win) = (
            p.has(TcpFlags::SYN),
            p.has(TcpFlags::ACK) && !p.has(TcpFlags::RST),
            p.ack,
            p.win,
        );
        let mut f = if syn {
            frame::syn_mss_only(&f).unwrap_or(f)
        } else {
            f
        };
        if ack {
            let wnd = win.saturating_sub(u32::from(self.fin_in));
            let right = seq_ack.wrapping_add(wnd);
            let announced = match self.ann_right {
                Some(r) if seq_after(r.wrapping_add(self.threshold), right) => {
                    if seq_after(seq_ack, r) {
                        0
                    } else {
                        r.wrapping_sub(seq_ack)
                    }
                }
                _ => {
                    self.ann_right = Some(right);
                    wnd
                }
            };
            if announced != win {
                let w = announced.min(u32::from(u16::MAX)) as u16;
                frame::set_win(&mut f, w);
                p.win = u32::from(w);
            }
        }
        f
    }

    /// Decides when a frame goes out at `now`: `Some` now, or `None` (held for the fast timer, or
    /// dropped as a repeat of the last ACK with nothing new to acknowledge).
    pub fn shape(&mut self, now: Instant, f: Vec<u8>, s: &Packet) -> Option<Vec<u8>> {
        if !s.has(TcpFlags::ACK) || s.has(TcpFlags::RST) {
            return Some(f);
        }
        let pure = s.seq_len() == 0;
        if pure && self.unacked_segs == 0 && self.last_ack_win == Some((s.ack, s.win)) {
            // Nothing received since the last ACK and nothing changed: lwIP sends nothing.
            return None;
        }
        if pure && self.unacked_segs == 1 && self.plain_in_order {
            let due = self.fast.after(now);
            self.held = Some((due, f));
            return None;
        }
        self.held = None;
        self.sent(s.ack, s.win);
        Some(f)
    }

    fn sent(&mut self, ack: u32, win: u32) {
        self.unacked_segs = 0;
        self.last_ack = Some(ack);
        self.last_ack_win = Some((ack, win));
    }

    /// The held ACK, if its tick has come.
    pub fn poll(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.held.as_ref().is_some_and(|(due, _)| *due <= now) {
            let (_, f) = self.held.take()?;
            if let Some(s) = Ipv4Segment::parse(&f).map(|s| s.tcp) {
                self.sent(s.ack, s.win);
            }
            return Some(f);
        }
        None
    }

    /// When the held ACK goes.
    pub fn poll_at(&self) -> Option<Instant> {
        self.held.as_ref().map(|(due, _)| *due)
    }
}
