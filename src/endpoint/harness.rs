//! The harness answering for an emulated stack where smoltcp's own timers differ from it:
//! TIME-WAIT length, the FIN-WAIT-2 timeout of a closed socket, and keep-alive.
//!
//! - **TIME-WAIT** lasts `time_wait` (lwIP 2 MSL = 120 s, Linux 60 s) instead of smoltcp's 10 s:
//!   once smoltcp's socket has left TIME-WAIT, the harness keeps the connection there, answers a
//!   retransmitted FIN (or data) with an ACK of what was received, and ends on an RST or the timer.
//! - **FIN-WAIT-2**: a socket the application closed is dropped after `fin_wait2` without the
//!   peer's FIN (lwIP `TCP_FIN_WAIT_TIMEOUT` 20 s, Linux `tcp_fin_timeout` 60 s); later segments get
//!   the RST a stack gives for an unknown connection.
//! - **Keep-alive** (`keep_alive` on): after `keep_alive` without receiving anything, a probe: a
//!   segment without data at seq − 1 (Linux: snd.una − 1; lwIP: snd.nxt − 1) carrying the current
//!   ACK; then one every `keep_alive_interval` while none is answered; after `keep_alive_probes`
//!   unanswered probes, the next expiry sends RST|ACK and aborts (lwIP `tcp_keepalive`/`pcb_reset`,
//!   Linux `tcp_keepalive_timer`). Linux sends no probe while data is outstanding.
//!
//! Sequence numbers come from the frames the endpoint sends and receives, so the harness needs
//! nothing from smoltcp's internals.

use crate::classes::seq_after;
use crate::clock::{Duration, Instant};
use crate::profile::{Emulate, TcpModel};
use crate::trace::packet::{Packet, TcpFlags};

use super::frame::Tuple;

/// What the harness wants done at a poll.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this frame (a keep-alive probe).
    Send(Vec<u8>),
    /// Send this RST and abort the connection (keep-alive gave up).
    Reset(Vec<u8>),
    /// Drop the socket silently (FIN-WAIT-2 timeout).
    DropSocket,
    /// TIME-WAIT is over.
    TimeWaitOver,
}

/// The harness of one endpoint.
#[derive(Debug)]
pub struct Harness {
    kind: Emulate,
    tuple: Option<Tuple>,
    snd_nxt: u32,
    snd_una: u32,
    rcv_nxt: u32,
    win: u16,
    last_rx: Instant,
    keep_alive: Option<Duration>,
    ka_interval: Duration,
    ka_probes: u32,
    probes_sent: u32,
    /// Linux defers a probe while data is outstanding: the deadline moved here.
    ka_deferred: Option<Instant>,
    time_wait: Duration,
    tw_until: Option<Instant>,
    fin_wait2: Option<Duration>,
    fw2_until: Option<Instant>,
}

impl Harness {
    /// The harness for an endpoint with these settings (`kind` is not smoltcp).
    pub fn new(t: &TcpModel) -> Harness {
        Harness {
            kind: t.emulate,
            tuple: None,
            snd_nxt: 0,
            snd_una: 0,
            rcv_nxt: 0,
            win: 0,
            last_rx: Instant::ZERO,
            keep_alive: t.keep_alive.0,
            ka_interval: t.keep_alive_interval.0,
            ka_probes: t.keep_alive_probes,
            probes_sent: 0,
            ka_deferred: None,
            time_wait: t.time_wait.0,
            tw_until: None,
            fin_wait2: t.fin_wait2.0,
            fw2_until: None,
        }
    }

    /// A frame we send.
    pub fn on_sent(&mut self, frame: &[u8], s: &Packet) {
        if self.tuple.is_none() {
            self.tuple = Tuple::of(frame);
        }
        let end = s.seq.wrapping_add(s.seq_len());
        if s.has(TcpFlags::SYN) || seq_after(end, self.snd_nxt) {
            self.snd_nxt = end;
        }
        if s.has(TcpFlags::SYN) {
            self.snd_una = s.seq;
        }
        if s.has(TcpFlags::ACK) && !s.has(TcpFlags::RST) {
            self.rcv_nxt = s.ack;
            self.win = s.win as u16;
        }
    }

    /// A frame from the peer at `now`.
    pub fn on_received(&mut self, now: Instant, s: &Packet) {
        self.last_rx = now;
        self.probes_sent = 0;
        self.ka_deferred = None;
        if s.has(TcpFlags::ACK) && seq_after(s.ack, self.snd_una) {
            self.snd_una = s.ack;
        }
    }

    /// The connection entered state `to` at `now` (`app_closed`: our application has closed).
    pub fn on_state(&mut self, now: Instant, to: smoltcp::socket::tcp::State, app_closed: bool) {
        use smoltcp::socket::tcp::State;
        if to == State::TimeWait && self.tw_until.is_none() {
            self.tw_until = Some(now + self.time_wait);
        }
        self.fw2_until = match (to, self.fin_wait2) {
            (State::FinWait2, Some(d)) if app_closed => Some(now + d),
            _ => None,
        };
    }

    /// In the harness's TIME-WAIT at `now` (smoltcp's may be over).
    pub fn in_time_wait(&self, now: Instant) -> bool {
        self.tw_until.is_some_and(|t| now < t)
    }

    /// A frame arriving in the harness's TIME-WAIT (after smoltcp's): the reply, if any, and
    /// whether TIME-WAIT ends (an RST).
    pub fn time_wait_reply(&mut self, s: &Packet) -> (Option<Vec<u8>>, bool) {
        if s.has(TcpFlags::RST) {
            self.tw_until = None;
            return (None, true);
        }
        let reply = (s.seq_len() > 0)
            .then(|| {
                self.tuple
                    .map(|t| t.bare(self.snd_nxt, self.rcv_nxt, self.win, false))
            })
            .flatten();
        (reply, false)
    }

    /// The keep-alive deadline, when keep-alive applies in state `established`.
    fn keep_alive_at(&self) -> Option<Instant> {
        let idle = self.keep_alive?;
        self.ka_deferred.or(Some(
            self.last_rx + idle + self.ka_interval * self.probes_sent,
        ))
    }

    /// When the harness next needs [`Harness::poll`]; `established`: the connection can carry a
    /// keep-alive (ESTABLISHED or CLOSE-WAIT).
    pub fn poll_at(&self, established: bool) -> Option<Instant> {
        let ka = if established {
            self.keep_alive_at()
        } else {
            None
        };
        crate::clock::earliest(crate::clock::earliest(ka, self.tw_until), self.fw2_until)
    }

    /// Runs the harness's timers at `now`.
    pub fn poll(&mut self, now: Instant, established: bool) -> Option<Action> {
        if self.tw_until.is_some_and(|t| t <= now) {
            self.tw_until = None;
            return Some(Action::TimeWaitOver);
        }
        if self.fw2_until.is_some_and(|t| t <= now) {
            self.fw2_until = None;
            return Some(Action::DropSocket);
        }
        if !established || self.keep_alive_at().is_none_or(|t| t > now) {
            return None;
        }
        let tuple = self.tuple?;
        if self.probes_sent >= self.ka_probes {
            self.keep_alive = None;
            return Some(Action::Reset(tuple.bare(
                self.snd_nxt,
                self.rcv_nxt,
                self.win,
                true,
            )));
        }
        if self.kind == Emulate::Linux && self.snd_una != self.snd_nxt {
            self.ka_deferred = Some(now + self.keep_alive.unwrap_or(self.ka_interval));
            return None;
        }
        self.ka_deferred = None;
        self.probes_sent += 1;
        let seq = match self.kind {
            Emulate::Linux => self.snd_una,
            _ => self.snd_nxt,
        };
        Some(Action::Send(tuple.bare(
            seq.wrapping_sub(1),
            self.rcv_nxt,
            self.win,
            false,
        )))
    }
}
