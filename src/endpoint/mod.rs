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

use std::sync::Arc;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, CongestionControl, State};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

use crate::clock::Instant;
use crate::model::{ClosePolicy, Congestion, EndpointModel};
use crate::rng::{SimRng, Stream};
use crate::trace::packet::peek_tcp;
use crate::trace::{AppEvent, EventKind, Side};
use app::App;
use device::SimDevice;

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
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0u8; t.rx_buffer]),
            tcp::SocketBuffer::new(vec![0u8; t.tx_buffer]),
        );
        socket.set_nagle_enabled(t.nagle);
        socket.set_ack_delay(t.ack_delay.0);
        socket.set_keep_alive(t.keep_alive.0);
        socket.set_timeout(t.user_timeout.0);
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
        }
    }

    /// Which endpoint this is.
    pub fn side(&self) -> Side {
        self.side
    }

    /// Current TCP state (`Closed` once the socket is gone).
    pub fn state(&self) -> State {
        self.state
    }

    /// The application.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// A frame arrives from the link.
    pub fn handle_frame(&mut self, bytes: Arc<[u8]>, out: &mut Vec<EventKind>) {
        if let Some((flags, seq, _, len)) = peek_tcp(&bytes).map(|p| (p.flags, p.seq, p.ack, p.len))
        {
            if flags & 0x04 != 0 {
                self.rst_received = true;
            }
            let new_data = len > 0
                && self
                    .last_ack_sent
                    .is_none_or(|a| (seq.wrapping_add(len).wrapping_sub(a) as i32) > 0);
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
        self.device.rx.push_back(bytes);
        self.next_poll = Some(Instant::ZERO);
    }

    fn set_state(&mut self, to: State, out: &mut Vec<EventKind>) {
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

    fn note_state(&mut self, out: &mut Vec<EventKind>) {
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
    pub fn poll(&mut self, now: Instant, out: &mut Vec<EventKind>) {
        // Bounded: an application that keeps finding work continues at the next step.
        for _ in 0..8 {
            self.iface.poll(now, &mut self.device, &mut self.sockets);
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
            let stack = self.iface.poll_at(now, &self.sockets);
            [stack, self.app.poll_at(now)].into_iter().flatten().min()
        };
    }

    /// The next frame the stack transmitted, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        let p = self.device.tx.pop_front()?;
        if let Some((flags, ack)) = peek_tcp(&p).map(|p| (p.flags, p.ack))
            && flags & 0x10 != 0
        {
            self.last_ack_sent = Some(ack);
        }
        Some(p)
    }

    /// When the endpoint next needs polling, if ever (computed by the last [`Endpoint::poll`]).
    pub fn poll_at(&self, _now: Instant) -> Option<Instant> {
        self.next_poll
    }

    /// The connection is over for this endpoint: it was established and is now closed (or in
    /// TIME-WAIT).
    pub fn is_done(&self) -> bool {
        self.app.connected() && matches!(self.state, State::Closed | State::TimeWait)
    }
}
