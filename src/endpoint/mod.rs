//! An endpoint: one smoltcp interface with one TCP socket, its device, and its application.
//!
//! The client connects at time zero; the server listens. The endpoint reports TCP state changes and
//! application events as [`EventKind`]s, and implements the `linux` close policy, which smoltcp
//! lacks: once the application has closed, a segment carrying new data (ending beyond the last ACK
//! we sent) makes the endpoint discard its socket, so smoltcp's interface answers that segment with
//! its RST reply: seq = the segment's ack, no ACK flag, window 0 — Linux's reply
//! (`tcp_rcv_state_process`).
//!
//! Around smoltcp, an endpoint whose `emulate` is `lwip` or `linux` runs tcpsim's layers for what
//! smoltcp cannot be configured into (each module says what it models and how exactly):
//! - [`rexmit`]: when and what is retransmitted (the real stack's RTO, backoff, give-up, segments);
//! - [`lwip`]: lwIP's SYN options, announced window and fast-timer delayed ACKs;
//! - [`linux`]: Linux's announced window;
//! - [`harness`]: TIME-WAIT and FIN-WAIT-2 lengths and keep-alive, answered for the stack.
//!
//! A frame smoltcp sends goes: [`lwip::LwipOut::rewrite`] → [`rexmit::Rexmit::on_transmit`] →
//! [`lwip::LwipOut::shape`] → the link. A frame from the link is seen by the layers, then by
//! smoltcp. The `lwip` close policy aborts on data after close (smoltcp's RST|ACK carries its
//! snd.nxt and rcv.nxt, as `tcp_abort` does) and discards the data.
//!
//! Guarantees: the interface's `random_seed` is the first draw of the endpoint's own random stream
//! and the timer phases the next two; no other randomness is used.

pub mod app;
pub mod device;
pub mod frame;
pub mod harness;
pub mod linux;
pub mod lwip;
pub mod rexmit;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, CongestionControl, State};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

use crate::classes::seq_after;
use crate::clock::{Instant, earliest};
use crate::model::{ClosePolicy, Congestion, Emulate, EndpointModel};
use crate::rng::{SimRng, Stream};
use crate::trace::packet::{Ipv4Segment, Packet, TcpFlags, clamp_syn_mss};
use crate::trace::{AppEvent, EventKind, Side};
use app::App;
use device::SimDevice;
use harness::{Action, Harness};
use lwip::LwipOut;
use rexmit::{Rexmit, RexmitConfig, Verdict};

/// The clock an endpoint's stack sees: simulated time slowed by `timer_scale` and optionally
/// quantised to `timer_tick`, so smoltcp's built-in timers can stand in for another stack's.
#[derive(Debug, Clone, Copy)]
pub struct StackClock {
    /// Simulated microseconds per 1000 stack microseconds.
    per_mille: u64,
    /// Quantum of the stack clock, in stack microseconds.
    tick_us: Option<u64>,
}

impl StackClock {
    /// A clock `scale` times slower than simulated time, quantised to `tick` (in stack time) if set.
    pub fn new(scale: f64, tick: Option<crate::clock::Duration>) -> StackClock {
        let per_mille = ((scale * 1000.0).round() as u64).max(1);
        StackClock {
            per_mille,
            tick_us: tick.map(|t| (t.total_micros() * 1000 / per_mille).max(1)),
        }
    }

    /// Stack time at simulated time `t`.
    pub fn to_stack(self, t: Instant) -> Instant {
        let us = t.total_micros().max(0) as u64 * 1000 / self.per_mille;
        let us = match self.tick_us {
            Some(k) => us / k * k,
            None => us,
        };
        Instant::from_micros(us as i64)
    }

    /// The first simulated time at which the stack clock reads `t` or later.
    pub fn to_sim(self, t: Instant) -> Instant {
        let us = t.total_micros().max(0) as u64;
        let us = match self.tick_us {
            Some(k) => us.div_ceil(k) * k,
            None => us,
        };
        Instant::from_micros((us * self.per_mille).div_ceil(1000) as i64)
    }

    /// A simulated duration expressed in stack time (so configured timers mean simulated time).
    pub fn duration(self, d: crate::clock::Duration) -> crate::clock::Duration {
        crate::clock::Duration::from_micros(d.total_micros() * 1000 / self.per_mille)
    }
}

/// The header fields of a TCP/IPv4 frame (a `Packet` owns no bytes), or `None`.
fn header(f: &[u8]) -> Option<Packet> {
    Ipv4Segment::parse(f).map(|s| Packet::new(Instant::ZERO, 0, 0, &s.tcp))
}

/// One simulated host.
pub struct Endpoint {
    side: Side,
    iface: Interface,
    sockets: SocketSet<'static>,
    handle: Option<SocketHandle>,
    device: SimDevice,
    app: App,
    close_policy: ClosePolicy,
    state: State,
    /// The ack number of the last segment we sent: everything below it has been received.
    last_ack_sent: Option<u32>,
    rst_received: bool,
    aborted: bool,
    /// The deadline computed after the last poll; valid until the next poll or arriving frame.
    next_poll: Option<Instant>,
    clock: StackClock,
    clamp_mss: Option<u16>,
    /// The emulated stack's layers (none with `emulate = "smoltcp"`).
    rexmit: Option<Rexmit>,
    lwip: Option<LwipOut>,
    linux: Option<linux::LinuxWindow>,
    harness: Option<Harness>,
    /// Frames ready for the link, in order.
    out: std::collections::VecDeque<Vec<u8>>,
    /// Frames the layers produced while handling an event, before they are shaped.
    staged: Vec<Vec<u8>>,
}

impl Endpoint {
    /// Builds the endpoint `side` (`me`) talking to `peer`; the client starts connecting at once.
    pub fn new(side: Side, me: &EndpointModel, peer: &EndpointModel, seed: u64) -> Endpoint {
        let stream = match side {
            Side::Client => Stream::Client,
            Side::Server => Stream::Server,
        };
        let mut device = SimDevice::new(me.tcp.mss + 40);
        let mut config = Config::new(HardwareAddress::Ip);
        let mut rng = SimRng::new(seed, stream);
        config.random_seed = rng.next_u64();
        let (slow_draw, fast_draw) = (rng.unit(), rng.unit());
        let mut iface = Interface::new(config, &mut device, Instant::ZERO);
        iface.update_ip_addrs(|addrs| {
            // Prefix 0: the peer is on-link whatever the addresses.
            addrs
                .push(IpCidr::new(IpAddress::Ipv4(me.addr()), 0))
                .expect("one address fits");
        });
        let t = &me.tcp;
        let clock = StackClock::new(t.timer_scale, t.timer_tick.0);
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0u8; t.rx_buffer]),
            tcp::SocketBuffer::new(vec![0u8; t.tx_buffer]),
        );
        socket.set_nagle_enabled(t.nagle);
        socket.set_ack_delay(t.ack_delay.0.map(|d| clock.duration(d)));
        let emulated = t.emulate != Emulate::Smoltcp;
        if !emulated {
            socket.set_keep_alive(t.keep_alive.0.map(|d| clock.duration(d)));
        }
        socket.set_timeout(t.user_timeout.0.map(|d| clock.duration(d)));
        socket.set_congestion_control(match t.congestion {
            Congestion::None => CongestionControl::None,
            Congestion::Reno => CongestionControl::Reno,
            Congestion::Cubic => CongestionControl::Cubic,
        });
        match side {
            Side::Client => socket
                .connect(
                    iface.context(),
                    (IpAddress::Ipv4(peer.addr()), peer.port()),
                    me.port(),
                )
                .expect("validated endpoints can connect"),
            Side::Server => socket.listen(me.port()).expect("validated port can listen"),
        }
        let state = socket.state();
        let mut sockets = SocketSet::new(Vec::with_capacity(1));
        let handle = sockets.add(socket);
        Endpoint {
            side,
            iface,
            sockets,
            handle: Some(handle),
            device,
            app: App::new(side, me),
            close_policy: me.close_policy,
            state,
            last_ack_sent: None,
            rst_received: false,
            aborted: false,
            next_poll: Some(Instant::ZERO),
            clock,
            clamp_mss: t
                .clamp_peer_mss
                .then_some(t.mss.min(usize::from(u16::MAX)) as u16),
            rexmit: emulated.then(|| {
                let tick = crate::clock::Duration::from_millis(500);
                Rexmit::new(RexmitConfig {
                    kind: t.emulate,
                    mss: t.mss as u32,
                    rto_initial: t.rto_initial.0,
                    rto_min: t.rto_min.0,
                    rto_max: t.rto_max.0,
                    max_retries: t.max_retries,
                    tick,
                    phase: t.slow_timer_phase.resolve(tick, slow_draw),
                })
            }),
            lwip: (t.emulate == Emulate::Lwip).then(|| {
                let tick = crate::clock::Duration::from_millis(250);
                LwipOut::new(
                    t.rx_buffer,
                    t.mss,
                    t.fast_timer_phase.resolve(tick, fast_draw),
                )
            }),
            linux: (t.emulate == Emulate::Linux).then(|| linux::LinuxWindow::new(t.mss)),
            harness: emulated.then(|| Harness::new(t)),
            out: Default::default(),
            staged: Vec::new(),
        }
    }

    /// A frame arrives from the link at `now`; the stack reads it at its next poll (due at `now`).
    pub fn handle_frame(
        &mut self,
        now: Instant,
        mut frame: Vec<u8>,
        out: &mut Vec<EventKind<'static>>,
    ) {
        self.next_poll = Some(now);
        let Some(p) = Ipv4Segment::parse(&frame).map(|s| Packet::new(now, 0, 0, &s.tcp)) else {
            self.device.rx.push_back(frame);
            return;
        };
        if let Some(h) = self.harness.as_mut() {
            h.on_received(now, &p);
            if self.state == State::TimeWait && self.handle.is_none() {
                // The harness's TIME-WAIT, after smoltcp's: it answers for the stack.
                let (reply, over) = h.time_wait_reply(&p);
                self.out.extend(reply);
                if over {
                    self.set_state(now, State::Closed, out);
                }
                return;
            }
        }
        if p.has(TcpFlags::RST) {
            self.rst_received = true;
        }
        let new_data = p.len > 0
            && self
                .last_ack_sent
                .is_none_or(|a| seq_after(p.seq.wrapping_add(p.len), a));
        if self.app.closed() && new_data && self.data_after_close(now, out) {
            return;
        }
        if let Some(l) = self.lwip.as_mut() {
            l.on_receive(&p);
        }
        if let Some(l) = self.linux.as_mut() {
            l.on_receive(&frame, &p);
        }
        if let Some(r) = self.rexmit.as_mut() {
            r.on_receive(now, &p, &mut self.staged);
            self.flush_staged(now);
        }
        if let Some(m) = self.clamp_mss {
            clamp_syn_mss(&mut frame, m);
        }
        self.device.rx.push_back(frame);
    }

    /// New data arrived after the application closed: the close policy decides. Returns whether
    /// the frame is consumed (the stack must not see it).
    fn data_after_close(&mut self, now: Instant, out: &mut Vec<EventKind<'static>>) -> bool {
        match self.close_policy {
            ClosePolicy::Smoltcp => false,
            // Linux: the socket is gone; smoltcp's interface answers the segment with its bare
            // RST reply (seq = the segment's ack), as tcp_v4_send_reset does.
            ClosePolicy::Linux => {
                self.drop_socket(now, "new data after close", out);
                false
            }
            // lwIP: tcp_abort sends RST|ACK from the pcb; the data is discarded.
            ClosePolicy::Lwip => {
                if let Some(h) = self.handle {
                    self.sockets.get_mut::<tcp::Socket>(h).abort();
                    self.aborted = true;
                    out.push(EventKind::App {
                        side: self.side,
                        event: AppEvent::Abort {
                            why: "new data after close",
                        },
                    });
                }
                true
            }
        }
    }

    /// Removes the socket (no RST of its own) and reports the abort.
    fn drop_socket(&mut self, now: Instant, why: &'static str, out: &mut Vec<EventKind<'static>>) {
        if let Some(h) = self.handle.take() {
            self.sockets.remove(h);
            self.aborted = true;
            out.push(EventKind::App {
                side: self.side,
                event: AppEvent::Abort { why },
            });
            self.set_state(now, State::Closed, out);
        }
    }

    fn set_state(&mut self, now: Instant, to: State, out: &mut Vec<EventKind<'static>>) {
        if to == self.state {
            return;
        }
        let from = self.state;
        if from == State::TimeWait
            && to == State::Closed
            && self.harness.as_ref().is_some_and(|h| h.in_time_wait(now))
        {
            // smoltcp's TIME-WAIT is over; the emulated stack's is not: the harness takes over.
            if let Some(h) = self.handle.take() {
                self.sockets.remove(h);
            }
            return;
        }
        self.state = to;
        out.push(EventKind::State {
            side: self.side,
            from,
            to,
        });
        if let Some(h) = self.harness.as_mut() {
            h.on_state(now, to, self.app.closed());
        }
        let normal_end = matches!(from, State::TimeWait | State::LastAck | State::Closing)
            && !self.rst_received
            || (from == State::FinWait2 && self.app.closed() && !self.rst_received);
        if to == State::Closed && !self.aborted && !normal_end && from != State::Listen {
            self.app.abandon();
            let event = if self.rst_received {
                AppEvent::Reset
            } else {
                AppEvent::Abort { why: "timeout" }
            };
            out.push(EventKind::App {
                side: self.side,
                event,
            });
        }
    }

    fn note_state(&mut self, now: Instant, out: &mut Vec<EventKind<'static>>) {
        if let Some(h) = self.handle {
            let s = self.sockets.get::<tcp::Socket>(h).state();
            self.set_state(now, s, out);
        }
    }

    /// Whether the endpoint has anything to do at `now` (a frame arrived, or a deadline passed).
    pub fn is_due(&self, now: Instant) -> bool {
        self.next_poll.is_some_and(|t| t <= now)
    }

    /// Lets the stack and the application run at `now`: receive, act, transmit. Then computes the
    /// next deadline ([`Endpoint::poll_at`]).
    /// Frame buffers come from and return to `pool` meanwhile.
    pub fn poll(
        &mut self,
        now: Instant,
        pool: &mut Vec<Vec<u8>>,
        out: &mut Vec<EventKind<'static>>,
    ) {
        self.device.lend_pool(pool);
        self.poll_layers(now, out);
        self.poll_stack(now, out);
        self.device.lend_pool(pool);
    }

    /// The emulated stack's timers: retransmissions, give-up, keep-alive, TIME-WAIT, FIN-WAIT-2,
    /// delayed ACKs.
    fn poll_layers(&mut self, now: Instant, out: &mut Vec<EventKind<'static>>) {
        if let Some(r) = self.rexmit.as_mut()
            && r.poll(now, &mut self.staged)
        {
            // lwIP's tcp_slowtmr / Linux's tcp_write_timeout: dropped without an RST.
            self.drop_socket(now, "retry limit", out);
        }
        self.flush_staged(now);
        let established = matches!(self.state, State::Established | State::CloseWait);
        let action = self.harness.as_mut().and_then(|h| h.poll(now, established));
        match action {
            Some(Action::Send(f)) => self.out.push_back(f),
            Some(Action::Reset(f)) => {
                self.out.push_back(f);
                self.drop_socket(now, "keep-alive", out);
            }
            // A closed socket's FIN-WAIT-2 or TIME-WAIT is over: the socket goes quietly.
            Some(Action::DropSocket | Action::TimeWaitOver) => {
                if let Some(h) = self.handle.take() {
                    self.sockets.remove(h);
                }
                self.set_state(now, State::Closed, out);
            }
            None => {}
        }
        if let Some(f) = self.lwip.as_mut().and_then(|l| l.poll(now)) {
            self.send(f);
        }
    }

    /// Shapes the frames the layers produced and queues them for the link.
    fn flush_staged(&mut self, now: Instant) {
        for f in std::mem::take(&mut self.staged) {
            self.shape(now, f);
        }
    }

    /// lwIP's ACK timing, then the link.
    fn shape(&mut self, now: Instant, f: Vec<u8>) {
        if let Some(p) = header(&f) {
            self.shape_parsed(now, f, &p);
        } else {
            self.out.push_back(f);
        }
    }

    /// [`Endpoint::shape`] for a frame whose header fields are `p`.
    fn shape_parsed(&mut self, now: Instant, f: Vec<u8>, p: &Packet) {
        let f = match self.lwip.as_mut() {
            Some(l) => l.shape(now, f, p),
            None => Some(f),
        };
        if let Some(f) = f {
            self.send_parsed(f, p);
        }
    }

    /// Queues a frame for the link, noting what it acknowledges.
    fn send(&mut self, f: Vec<u8>) {
        match header(&f) {
            Some(p) => self.send_parsed(f, &p),
            None => self.out.push_back(f),
        }
    }

    /// [`Endpoint::send`] for a frame whose header fields are `p`.
    fn send_parsed(&mut self, f: Vec<u8>, p: &Packet) {
        if p.has(TcpFlags::ACK) {
            self.last_ack_sent = Some(p.ack);
        }
        if let Some(h) = self.harness.as_mut() {
            h.on_sent(&f, p);
        }
        self.out.push_back(f);
    }

    /// Frames smoltcp transmitted: through the layers to the link.
    fn take_transmitted(&mut self, now: Instant) {
        while let Some(f) = self.device.tx.pop_front() {
            let Some(mut p) = header(&f) else {
                self.out.push_back(f);
                continue;
            };
            let f = match (self.lwip.as_mut(), self.linux.as_mut()) {
                (Some(l), _) => l.rewrite(f, &mut p),
                (_, Some(l)) => l.rewrite(f, &mut p),
                _ => f,
            };
            let verdict = match self.rexmit.as_mut() {
                Some(r) => r.on_transmit(now, f, &p),
                None => Verdict::Pass(f),
            };
            match verdict {
                Verdict::Pass(f) => self.shape_parsed(now, f, &p),
                Verdict::Send(f) => self.shape(now, f),
                Verdict::Drop | Verdict::Held => {}
            }
        }
    }

    fn poll_stack(&mut self, now: Instant, out: &mut Vec<EventKind<'static>>) {
        // Bounded: an application that keeps finding work continues at the next step.
        for _ in 0..8 {
            let Some(h) = self.handle else { break };
            let stack_now = self.clock.to_stack(now);
            self.iface
                .poll(stack_now, &mut self.device, &mut self.sockets);
            self.take_transmitted(now);
            self.note_state(now, out);
            if self.handle != Some(h) {
                break;
            }
            let socket = self.sockets.get_mut::<tcp::Socket>(h);
            let did = self.app.drive(now, socket, out);
            self.note_state(now, out);
            if !did {
                break;
            }
        }
        if self.handle.is_none() {
            // No socket: the interface still answers what arrives (with RSTs).
            let stack_now = self.clock.to_stack(now);
            self.iface
                .poll(stack_now, &mut self.device, &mut self.sockets);
            self.take_transmitted(now);
        }
        self.next_poll = if !self.device.rx.is_empty() {
            Some(now)
        } else {
            let stack = self
                .handle
                .and_then(|_| self.iface.poll_at(self.clock.to_stack(now), &self.sockets))
                .map(|t| self.clock.to_sim(t).max(now));
            let established = matches!(self.state, State::Established | State::CloseWait);
            let layers = earliest(
                earliest(
                    self.rexmit.as_ref().and_then(Rexmit::poll_at),
                    self.lwip.as_ref().and_then(LwipOut::poll_at),
                ),
                self.harness.as_ref().and_then(|h| h.poll_at(established)),
            );
            earliest(earliest(stack, self.app.poll_at(now)), layers).map(|t| t.max(now))
        };
    }

    /// The next frame for the link, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    /// When the endpoint next needs polling, if ever (computed by the last [`Endpoint::poll`] or
    /// set by an arriving frame); never earlier than `now`.
    pub fn poll_at(&self, now: Instant) -> Option<Instant> {
        self.next_poll.map(|t| t.max(now))
    }

    /// The connection is over for this endpoint: it was established and is now closed (or in
    /// smoltcp's TIME-WAIT).
    /// With an emulated stack, TIME-WAIT lasts its real length (it still answers a retransmitted
    /// FIN), so the connection is over only when it ends.
    pub fn is_done(&self) -> bool {
        self.app.connected()
            && (self.state == State::Closed
                || (self.state == State::TimeWait && self.harness.is_none()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Duration;

    // Proves the stack clock scales and inverts: the first simulated instant at which the stack
    // reads T is T·scale, and with a tick, the next grid point.
    #[test]
    fn stack_clock_scale_and_tick() {
        let c = StackClock::new(1.5, None);
        assert_eq!(
            c.to_stack(Instant::from_millis(1500)),
            Instant::from_millis(1000)
        );
        assert_eq!(
            c.to_sim(Instant::from_millis(1000)),
            Instant::from_millis(1500)
        );
        assert_eq!(
            c.duration(Duration::from_millis(150)),
            Duration::from_millis(100)
        );
        for us in [0i64, 1, 999, 1_000_001, 7_777_777] {
            let t = Instant::from_micros(us);
            assert!(
                c.to_stack(c.to_sim(t)) >= t
                    && c.to_stack(c.to_sim(t) - Duration::from_micros(1))
                        < t.max(Instant::from_micros(1))
            );
        }
        let q = StackClock::new(1.0, Some(Duration::from_millis(500)));
        assert_eq!(
            q.to_stack(Instant::from_millis(1499)),
            Instant::from_millis(1000)
        );
        assert_eq!(
            q.to_sim(Instant::from_millis(1010)),
            Instant::from_millis(1500)
        );
    }
}
