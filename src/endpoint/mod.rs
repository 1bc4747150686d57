//! An endpoint: one smoltcp interface with one TCP socket, its device, and its application.
//!
//! The client connects at time zero; the server listens. The endpoint reports TCP state changes and
//! application events as [`EventKind`]s, and implements the `linux` close policy, which smoltcp
//! lacks: once the application has closed, a segment carrying new data (ending beyond the last ACK
//! we sent) makes the endpoint discard its socket, so smoltcp's interface answers that segment with
//! its RST reply: seq = the segment's ack, no ACK flag, window 0 — Linux's reply
//! (`tcp_rcv_state_process`).
//!
//! Guarantees: the interface's `random_seed` comes from the endpoint's own random stream; no other
//! randomness is used.

pub mod app;
pub mod device;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, CongestionControl, State};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

use crate::classes::seq_after;
use crate::clock::{Instant, earliest};
use crate::model::{ClosePolicy, Congestion, EndpointModel};
use crate::rng::{SimRng, Stream};
use crate::trace::packet::{Ipv4Segment, TcpFlags, clamp_syn_mss};
use crate::trace::{AppEvent, EventKind, Side};
use app::App;
use device::SimDevice;

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
        config.random_seed = SimRng::new(seed, stream).next_u64();
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
        socket.set_keep_alive(t.keep_alive.0.map(|d| clock.duration(d)));
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
        }
    }

    /// A frame arrives from the link at `now`; the stack reads it at its next poll (due at `now`).
    pub fn handle_frame(
        &mut self,
        now: Instant,
        mut frame: Vec<u8>,
        out: &mut Vec<EventKind<'static>>,
    ) {
        if let Some(s) = Ipv4Segment::parse(&frame).map(|s| s.tcp) {
            if s.has(TcpFlags::RST) {
                self.rst_received = true;
            }
            let new_data = s.len > 0
                && self
                    .last_ack_sent
                    .is_none_or(|a| seq_after(s.seq.wrapping_add(s.len), a));
            if self.close_policy == ClosePolicy::Linux
                && self.app.closed()
                && new_data
                && let Some(h) = self.handle.take()
            {
                self.sockets.remove(h);
                self.aborted = true;
                out.push(EventKind::App {
                    side: self.side,
                    event: AppEvent::Abort {
                        why: "new data after close",
                    },
                });
                self.set_state(State::Closed, out);
            }
        }
        if let Some(m) = self.clamp_mss {
            clamp_syn_mss(&mut frame, m);
        }
        self.device.rx.push_back(frame);
        self.next_poll = Some(now);
    }

    fn set_state(&mut self, to: State, out: &mut Vec<EventKind<'static>>) {
        if to == self.state {
            return;
        }
        let from = self.state;
        self.state = to;
        out.push(EventKind::State {
            side: self.side,
            from,
            to,
        });
        let normal_end =
            matches!(from, State::TimeWait | State::LastAck | State::Closing) && !self.rst_received;
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

    fn note_state(&mut self, out: &mut Vec<EventKind<'static>>) {
        if let Some(h) = self.handle {
            let s = self.sockets.get::<tcp::Socket>(h).state();
            self.set_state(s, out);
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
        self.poll_stack(now, out);
        self.device.lend_pool(pool);
    }

    fn poll_stack(&mut self, now: Instant, out: &mut Vec<EventKind<'static>>) {
        // Bounded: an application that keeps finding work continues at the next step.
        for _ in 0..8 {
            let stack_now = self.clock.to_stack(now);
            self.iface
                .poll(stack_now, &mut self.device, &mut self.sockets);
            self.note_state(out);
            let Some(h) = self.handle else { break };
            let socket = self.sockets.get_mut::<tcp::Socket>(h);
            let did = self.app.drive(now, socket, out);
            self.note_state(out);
            if !did {
                break;
            }
        }
        self.next_poll = if !self.device.rx.is_empty() {
            Some(now)
        } else {
            let stack = self
                .iface
                .poll_at(self.clock.to_stack(now), &self.sockets)
                .map(|t| self.clock.to_sim(t).max(now));
            earliest(stack, self.app.poll_at(now))
        };
    }

    /// The next frame the stack transmitted, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        let p = self.device.tx.pop_front()?;
        if let Some(s) = Ipv4Segment::parse(&p).map(|s| s.tcp)
            && s.has(TcpFlags::ACK)
        {
            self.last_ack_sent = Some(s.ack);
        }
        Some(p)
    }

    /// When the endpoint next needs polling, if ever (computed by the last [`Endpoint::poll`] or
    /// set by an arriving frame); never earlier than `now`.
    pub fn poll_at(&self, now: Instant) -> Option<Instant> {
        self.next_poll.map(|t| t.max(now))
    }

    /// The connection is over for this endpoint: it was established and is now closed (or in
    /// TIME-WAIT).
    pub fn is_done(&self) -> bool {
        self.app.connected() && matches!(self.state, State::Closed | State::TimeWait)
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
