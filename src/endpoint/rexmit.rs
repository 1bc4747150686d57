//! The retransmission layer: *when* and *what* an endpoint emulating lwIP or Linux retransmits.
//!
//! smoltcp stays the TCP state machine; this layer sits between its device and the link and owns
//! every transmission of sequence space that was already sent once:
//! - smoltcp's new data passes through and is recorded as sent, segment by segment, with its
//!   original boundaries (lwIP keeps them: a retransmission is the original first unacked segment);
//! - anything smoltcp sends again (its own RTO, fast retransmission or go-back-N) is dropped, and
//!   the part of a re-cut segment beyond what was sent is kept as new data;
//! - the layer runs the real stack's timer and retransmits from its record, with the current ACK
//!   number and window: on timeout the first unacked segment, then go-back-N as ACKs return under
//!   a congestion window of one segment growing by one per ACK; after three duplicate ACKs (by the
//!   real stack's definition: no data, no SYN or FIN, same window) the first unacked segment;
//! - while it resends, smoltcp's new data waits behind it (held, released in order).
//!
//! lwIP (`tcp.c`, `tcp_in.c`, `tcp_out.c` of esp-lwip 2.1.3-esp; docs/STACK-FACTS.md §1.3-1.4):
//! the timer counts 500 ms slow-timer ticks whose phase is the model's (or the seed's): it fires on
//! the `rto`-th tick after it (re)starts, so the first wait is in (base − 0.5 s, base]; later waits
//! are base × {2, 4, …, 64, 128, 128, …} (`tcp_backoff`), recomputed from the base; any ACK of new
//! data restarts it at the base; the base adapts to RTT samples in whole ticks (Van Jacobson's
//! estimator as lwIP codes it). After `max_retries` retransmissions the next tick drops the
//! connection without an RST.
//!
//! Linux (`include/net/tcp.h`; docs/STACK-FACTS.md §2): RTO = srtt + max(rto_min, 4·rttvar) from
//! RFC 6298 samples in microseconds (the handshake gives the first), initially `rto_initial`,
//! doubling per timeout up to `rto_max`; after `max_retries` retransmissions the next timeout
//! drops the connection (Linux's `tcp_retries2` counts the same way, though it bounds the total
//! time rather than the count).
//!
//! Approximate: SYN retransmissions stay smoltcp's; fast recovery does not inflate the window; the
//! congestion window only paces the go-back-N resends (new data is paced by smoltcp's own).

use std::collections::VecDeque;

use crate::classes::seq_after;
use crate::clock::{Duration, Grid, Instant};
use crate::profile::Emulate;
use crate::trace::packet::{Ipv4Segment, Packet, TcpFlags};

use super::frame;

/// `tcp_backoff` of lwIP's `tcp.c`: the RTO after the n-th timeout is the base shifted by this.
const LWIP_BACKOFF: [u32; 13] = [1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 7, 7, 7];

/// One segment as first sent: its sequence range and the frame.
#[derive(Debug)]
struct Sent {
    seq: u32,
    end: u32,
    frame: Vec<u8>,
}

/// What the layer did with a frame smoltcp sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it as it is.
    Pass(Vec<u8>),
    /// Send this frame instead (trimmed to its new part, or a pure ACK).
    Send(Vec<u8>),
    /// Dropped: smoltcp resent what the layer owns.
    Drop,
    /// Kept until the layer's resends are done.
    Held,
}

/// The settings of the layer (from the endpoint's `[tcp]`).
#[derive(Debug, Clone, Copy)]
pub struct RexmitConfig {
    /// lwIP or Linux.
    pub kind: Emulate,
    /// Our MSS.
    pub mss: u32,
    /// lwIP: the base RTO; Linux: the initial RTO.
    pub rto_initial: Duration,
    /// Linux: floor of the variance term.
    pub rto_min: Duration,
    /// Linux: the largest RTO.
    pub rto_max: Duration,
    /// Retransmissions before giving up (0: never).
    pub max_retries: u32,
    /// lwIP: the slow timer's period (500 ms) and phase.
    pub tick: Duration,
    /// lwIP: the slow timer's phase, in [0, tick).
    pub phase: Duration,
}

/// An RTT sample being timed: the sequence number whose ACK ends it, and when it was sent.
#[derive(Debug, Clone, Copy)]
struct Probe {
    seq: u32,
    at: Instant,
}

/// The retransmission layer of one endpoint.
#[derive(Debug)]
pub struct Rexmit {
    cfg: RexmitConfig,
    /// Sent and not wholly acknowledged, in sequence order.
    segs: VecDeque<Sent>,
    /// The oldest unacknowledged sequence number (known once the handshake is seen).
    una: Option<u32>,
    /// The end of everything smoltcp has produced (sent or held).
    seen_max: Option<u32>,
    /// Go-back-N: the index in `segs` of the next segment to resend.
    resend: Option<usize>,
    held: VecDeque<Vec<u8>>,
    deadline: Option<Instant>,
    /// The deadline is the give-up point, not a retransmission.
    give_up_due: bool,
    nrtx: u32,
    /// lwIP's estimator, in ticks (`sa` scaled by 8, as lwIP keeps it).
    sa: i64,
    sv: i64,
    rto_ticks: i64,
    /// Linux's estimator, in microseconds.
    srtt: Option<i64>,
    rttvar: i64,
    rto: Duration,
    probe: Option<Probe>,
    /// Our SYN's sequence number (a second SYN with it is a retransmission: no sample).
    syn_seq: Option<u32>,
    lastack: Option<u32>,
    dupacks: u32,
    peer_win: Option<u32>,
    cwnd: u32,
    /// The ACK number and window of our latest frame: what a resent frame carries.
    current: Option<(u32, u16)>,
    /// The ACK number of the last frame that went out.
    acked_out: Option<u32>,
    /// Buffers of acknowledged segments, reused for new records.
    spare: Vec<Vec<u8>>,
    done: bool,
}

impl Rexmit {
    /// A layer with nothing sent.
    pub fn new(cfg: RexmitConfig) -> Rexmit {
        let base_ticks = (cfg.rto_initial.total_micros() / cfg.tick.total_micros().max(1)) as i64;
        Rexmit {
            cfg,
            segs: VecDeque::new(),
            una: None,
            seen_max: None,
            resend: None,
            held: VecDeque::new(),
            deadline: None,
            give_up_due: false,
            nrtx: 0,
            sa: 0,
            sv: base_ticks.max(1),
            rto_ticks: base_ticks.max(1),
            srtt: None,
            rttvar: 0,
            rto: cfg.rto_initial,
            probe: None,
            syn_seq: None,
            lastack: None,
            dupacks: 0,
            peer_win: None,
            cwnd: cfg.mss,
            current: None,
            acked_out: None,
            spare: Vec::new(),
            done: false,
        }
    }

    /// When the layer next needs [`Rexmit::poll`].
    pub fn poll_at(&self) -> Option<Instant> {
        self.deadline
    }

    /// The lwIP base RTO now, in ticks (for tests and reports).
    pub fn base_ticks(&self) -> i64 {
        (self.sa >> 3) + self.sv
    }

    /// Number of slow-timer ticks at or before `t`.
    fn ticks(&self, t: Instant) -> i64 {
        self.grid().ticks_through(t)
    }

    /// The first slow-timer tick strictly after `t`.
    fn tick_after(&self, t: Instant) -> Instant {
        self.grid().after(t)
    }

    fn grid(&self) -> Grid {
        Grid {
            phase: self.cfg.phase,
            period: self.cfg.tick,
        }
    }

    /// (Re)starts the timer at `now` with the current RTO.
    fn restart(&mut self, now: Instant) {
        self.give_up_due = false;
        self.deadline = Some(match self.cfg.kind {
            Emulate::Lwip => {
                self.tick_after(now) + self.cfg.tick * (self.rto_ticks.max(1) as u32 - 1)
            }
            _ => now + self.rto,
        });
    }

    /// A frame smoltcp sent at `now`, with its header fields `s`: pass it, drop it, or hold it.
    pub fn on_transmit(&mut self, now: Instant, frame: Vec<u8>, s: &Packet) -> Verdict {
        let s = *s;
        if self.done {
            return Verdict::Pass(frame);
        }
        if s.has(TcpFlags::RST) {
            self.finish();
            return Verdict::Pass(frame);
        }
        if s.has(TcpFlags::ACK) {
            self.current = Some((s.ack, s.win as u16));
        }
        let len = s.seq_len();
        if (len == 0 || s.has(TcpFlags::SYN)) && s.has(TcpFlags::ACK) {
            self.acked_out = Some(s.ack);
        }
        if s.has(TcpFlags::SYN) {
            // smoltcp keeps the handshake; the layer only times it (Karn: not a resent SYN).
            let first = self.syn_seq.is_none_or(|q| q != s.seq);
            self.syn_seq = Some(s.seq);
            self.probe = first.then_some(Probe {
                seq: s.seq.wrapping_add(1),
                at: now,
            });
            self.seen_max = Some(s.seq.wrapping_add(1));
            self.una = Some(s.seq);
            return Verdict::Pass(frame);
        }
        if len == 0 {
            return Verdict::Pass(frame);
        }
        let (start, end) = (s.seq, s.seq.wrapping_add(len));
        let seen = *self.seen_max.get_or_insert(start);
        // What smoltcp acknowledges must go out even when its segment does not.
        let new_ack = s.has(TcpFlags::ACK) && self.acked_out != Some(s.ack);
        let pure_ack =
            |f: &[u8]| frame::Tuple::of(f).map(|t| t.bare(seen, s.ack, s.win as u16, false));
        if !seq_after(end, seen) {
            return match pure_ack(&frame).filter(|_| new_ack) {
                Some(a) => {
                    self.acked_out = Some(s.ack);
                    Verdict::Send(a)
                }
                None => Verdict::Drop,
            };
        }
        let trimmed = seq_after(seen, start);
        let frame = if trimmed {
            match frame::trim_front(&frame, seen.wrapping_sub(start) as usize) {
                Some(f) => f,
                None => return Verdict::Drop,
            }
        } else {
            frame
        };
        self.seen_max = Some(end);
        if self.resend.is_some() || !self.held.is_empty() {
            let ack = pure_ack(&frame).filter(|_| new_ack);
            self.held.push_back(frame);
            if let Some(a) = ack {
                self.acked_out = Some(s.ack);
                return Verdict::Send(a);
            }
            return Verdict::Held;
        }
        self.record(now, &frame, seen, end);
        if s.has(TcpFlags::ACK) {
            self.acked_out = Some(s.ack);
        }
        if trimmed {
            Verdict::Send(frame)
        } else {
            Verdict::Pass(frame)
        }
    }

    /// Records a new segment as sent at `now`; starts the timer and an RTT sample if idle.
    fn record(&mut self, now: Instant, frame: &[u8], seq: u32, end: u32) {
        self.una.get_or_insert(seq);
        if self.deadline.is_none() {
            self.restart(now);
        }
        if self.probe.is_none() {
            let seq = match self.cfg.kind {
                // lwIP times `rtseq` = the segment's first byte and ends on an ACK beyond it.
                Emulate::Lwip => seq.wrapping_add(1),
                _ => end,
            };
            self.probe = Some(Probe { seq, at: now });
        }
        let mut copy = self.spare.pop().unwrap_or_default();
        copy.clear();
        copy.extend_from_slice(frame);
        self.segs.push_back(Sent {
            seq,
            end,
            frame: copy,
        });
    }

    /// The layer stops: the connection was reset or given up.
    fn finish(&mut self) {
        self.done = true;
        self.segs.clear();
        self.held.clear();
        self.deadline = None;
        self.resend = None;
    }

    /// Resends `segs[i]` with the current ACK number and window.
    fn resend_frame(&mut self, i: usize) -> Vec<u8> {
        let mut f = self.segs[i].frame.clone();
        if let Some((ack, win)) = self.current {
            frame::set_ack_win(&mut f, ack, win);
            self.acked_out = Some(ack);
        }
        f
    }

    /// A frame arrives from the peer at `now`; resends and released frames go to `out`.
    pub fn on_receive(&mut self, now: Instant, s: &Packet, out: &mut Vec<Vec<u8>>) {
        if self.done {
            return;
        }
        if s.has(TcpFlags::RST) {
            self.finish();
            return;
        }
        if !s.has(TcpFlags::ACK) {
            return;
        }
        let Some(una) = self.una else { return };
        if seq_after(s.ack, una) && !seq_after(s.ack, self.seen_max.unwrap_or(una)) {
            self.on_new_ack(now, una, s.ack, out);
        } else if self.is_dupack(s) {
            self.dupacks += 1;
            if self.dupacks == 3 {
                self.fast_retransmit(now, out);
            }
        }
        self.lastack = Some(s.ack);
        self.peer_win = Some(s.win);
    }

    /// The real stacks' duplicate ACK: nothing in it (no data, SYN or FIN), the same ACK number
    /// and window as the last, and data outstanding. A peer's FIN is never one.
    fn is_dupack(&self, s: &Packet) -> bool {
        s.seq_len() == 0
            && !self.segs.is_empty()
            && self.lastack == Some(s.ack)
            && self.peer_win == Some(s.win)
    }

    fn fast_retransmit(&mut self, now: Instant, out: &mut Vec<Vec<u8>>) {
        if self.segs.is_empty() {
            return;
        }
        out.push(self.resend_frame(0));
        self.probe = None;
        self.restart(now);
    }

    /// An ACK of new data: the segments it covers are done, the backoff is forgotten, the timer
    /// restarts (or stops), and go-back-N goes on.
    fn on_new_ack(&mut self, now: Instant, una: u32, ack: u32, out: &mut Vec<Vec<u8>>) {
        self.sample(now, ack);
        self.una = Some(ack);
        let mut popped = 0;
        while self.segs.front().is_some_and(|g| !seq_after(g.end, ack)) {
            if let Some(g) = self.segs.pop_front()
                && self.spare.len() < 16
            {
                self.spare.push(g.frame);
            }
            popped += 1;
        }
        self.resend = self.resend.map(|i| i.saturating_sub(popped));
        self.nrtx = 0;
        self.dupacks = 0;
        self.rto_ticks = self.base_ticks();
        if let (Emulate::Linux, Some(srtt)) = (self.cfg.kind, self.srtt) {
            self.rto = self.linux_rto(srtt);
        }
        let acked = ack.wrapping_sub(una);
        self.cwnd = self.cwnd.saturating_add(acked.min(self.cfg.mss));
        if self.segs.is_empty() && self.held.is_empty() {
            self.deadline = None;
            self.resend = None;
        } else {
            self.restart(now);
        }
        self.go_back_n(now, out);
    }

    /// Resends what the window allows, then releases held frames once everything is resent.
    fn go_back_n(&mut self, now: Instant, out: &mut Vec<Vec<u8>>) {
        let una = self.una.unwrap_or(0);
        let limit = self.cwnd.min(self.peer_win.unwrap_or(u32::MAX)).max(1);
        while let Some(i) = self.resend {
            if i >= self.segs.len() {
                self.resend = None;
                break;
            }
            let flight = if i == 0 {
                0
            } else {
                self.segs[i - 1].end.wrapping_sub(una)
            };
            let len = self.segs[i].end.wrapping_sub(self.segs[i].seq);
            if flight > 0 && flight + len > limit {
                return;
            }
            out.push(self.resend_frame(i));
            self.resend = Some(i + 1);
        }
        while let Some(f) = self.held.pop_front() {
            let Some((seq, len)) = Ipv4Segment::parse(&f).map(|s| (s.tcp.seq, s.tcp.seq_len()))
            else {
                continue;
            };
            let end = seq.wrapping_add(len);
            let flight = self.segs.back().map_or(0, |g| g.end.wrapping_sub(una));
            if flight > 0 && flight + len > limit {
                self.held.push_front(f);
                return;
            }
            let mut f = f;
            if let Some((ack, win)) = self.current {
                frame::set_ack_win(&mut f, ack, win);
                self.acked_out = Some(ack);
            }
            self.record(now, &f, seq, end);
            out.push(f);
        }
    }

    /// An RTT sample if the ACK ends the one being timed.
    fn sample(&mut self, now: Instant, ack: u32) {
        let Some(p) = self.probe else { return };
        if seq_after(p.seq, ack) {
            return;
        }
        self.probe = None;
        match self.cfg.kind {
            Emulate::Lwip => {
                // tcp_in.c: m in whole ticks, Van Jacobson's integer estimator.
                let mut m = self.ticks(now) - self.ticks(p.at);
                m -= self.sa >> 3;
                self.sa += m;
                m = m.abs();
                m -= self.sv >> 2;
                self.sv += m;
                self.rto_ticks = self.base_ticks();
            }
            _ => {
                let r = (now - p.at).total_micros() as i64;
                let srtt = match self.srtt {
                    None => {
                        self.rttvar = r / 2;
                        r
                    }
                    Some(s) => {
                        self.rttvar = (3 * self.rttvar + (s - r).abs()) / 4;
                        (7 * s + r) / 8
                    }
                };
                self.srtt = Some(srtt);
                self.rto = self.linux_rto(srtt);
            }
        }
    }

    /// Linux's RTO from its estimator: srtt + max(rto_min, 4·rttvar), at most rto_max.
    fn linux_rto(&self, srtt: i64) -> Duration {
        let min = self.cfg.rto_min.total_micros() as i64;
        let us = srtt + (4 * self.rttvar).max(min);
        Duration::from_micros(us as u64).min(self.cfg.rto_max)
    }

    /// Runs the timer at `now`: a retransmission into `out`, or `true` when the connection is to
    /// be dropped (retries exhausted).
    pub fn poll(&mut self, now: Instant, out: &mut Vec<Vec<u8>>) -> bool {
        if self.deadline.is_none_or(|d| d > now) {
            return false;
        }
        if self.segs.is_empty() {
            self.deadline = None;
            return false;
        }
        let max = self.cfg.max_retries;
        if self.give_up_due || (self.cfg.kind != Emulate::Lwip && max > 0 && self.nrtx >= max) {
            self.finish();
            return true;
        }
        // A timeout: back off, collapse the window, resend the first unacked segment.
        match self.cfg.kind {
            Emulate::Lwip => {
                let shift = LWIP_BACKOFF[(self.nrtx as usize).min(LWIP_BACKOFF.len() - 1)];
                self.rto_ticks = (self.base_ticks() << shift).min(0x7fff);
            }
            _ => self.rto = (self.rto * 2).min(self.cfg.rto_max),
        }
        self.nrtx += 1;
        self.cwnd = self.cfg.mss;
        self.probe = None;
        self.dupacks = 0;
        out.push(self.resend_frame(0));
        self.resend = Some(1);
        match self.cfg.kind {
            // tcp_slowtmr drops the pcb at the tick after the last retransmission.
            Emulate::Lwip if max > 0 && self.nrtx >= max => {
                self.deadline = Some(now + self.cfg.tick);
                self.give_up_due = true;
            }
            Emulate::Lwip => self.deadline = Some(now + self.cfg.tick * self.rto_ticks as u32),
            _ => self.deadline = Some(now + self.rto),
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lwip(phase_ms: u64) -> Rexmit {
        Rexmit::new(RexmitConfig {
            kind: Emulate::Lwip,
            mss: 1440,
            rto_initial: Duration::from_millis(1500),
            rto_min: Duration::from_millis(500),
            rto_max: Duration::from_secs(100),
            max_retries: 12,
            tick: Duration::from_millis(500),
            phase: Duration::from_millis(phase_ms),
        })
    }

    // Proves lwIP's base RTO adapts in whole ticks (tcp_in.c:1358-1380, Van Jacobson's estimator on
    // `m` = ticks between send and ACK): samples of 0 ticks (a LAN RTT inside one tick) keep the
    // 1.5 s base at 3 ticks — sv never decays below 3 — while samples of 2 ticks (RTT ~1 s) raise it.
    #[test]
    fn lwip_base_rto_adapts_in_whole_ticks() {
        let mut r = lwip(0);
        for k in 0..50 {
            let t = Instant::from_millis(100 + 500 * k);
            r.probe = Some(Probe { seq: 1, at: t });
            r.sample(t + Duration::from_millis(5), 2);
        }
        assert_eq!(r.base_ticks(), 3);
        for k in 0..50 {
            let t = Instant::from_millis(100 + 500 * k);
            r.probe = Some(Probe { seq: 1, at: t });
            r.sample(t + Duration::from_millis(1000), 2);
        }
        assert!(r.base_ticks() >= 4, "{}", r.base_ticks());
    }

    // Proves lwIP's tick arithmetic: ticks are counted at phase + k·500 ms, the next tick is
    // strictly after the instant, and a restart at t fires on the 3rd tick after t, so within
    // (1.0 s, 1.5 s] of t (tcp.c: rtime counts ticks, fires at rtime >= rto).
    #[test]
    fn lwip_first_timeout_is_the_base_th_tick_after_the_restart() {
        let mut r = lwip(120);
        assert_eq!(r.ticks(Instant::from_millis(119)), 0);
        assert_eq!(r.ticks(Instant::from_millis(120)), 1);
        assert_eq!(
            r.tick_after(Instant::from_millis(120)),
            Instant::from_millis(620)
        );
        for t in [0i64, 119, 120, 121, 600, 619, 620, 999] {
            r.restart(Instant::from_millis(t));
            let wait = r.deadline.unwrap() - Instant::from_millis(t);
            assert!(
                wait > Duration::from_millis(1000) && wait <= Duration::from_millis(1500),
                "restart at {t} ms waits {wait}"
            );
        }
    }
}
