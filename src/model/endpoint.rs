//! Endpoint tables of the model format (`[client]`, `[server]`): stack profile, TCP overrides,
//! address, port and application.
//!
//! Guarantees: an endpoint as written names only known keys; every `[x.tcp]` setting left out is
//! the profile's ([`Profile::tcp`]), and the close policy is the profile's unless set. Addresses
//! and ports are filled in by [`Scenario::resolve`](super::Scenario::resolve).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::clock::{Dur, OptDur, Phase};
use crate::profile::{ClosePolicy, Congestion, Emulate, Profile, TcpModel};

/// One TCP endpoint: its stack settings and its application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawEndpoint")]
pub struct EndpointModel {
    /// The stack profile the TCP settings and close policy start from.
    pub stack: Profile,
    /// IPv4 address; defaults to 192.168.31.204 for the client and 192.168.31.10 for the server
    /// (filled in on load).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Ipv4Addr>,
    /// TCP port; defaults to 54680 for the client and 20271 for the server (filled in on load).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Stack settings (the profile's, with the file's overrides).
    pub tcp: TcpModel,
    /// The application driving the socket.
    pub app: AppModel,
    /// Bytes the application writes once, as soon as the connection is established, before its
    /// own traffic (a server's protocol greeting, e.g. a websocket handshake response); 0 = none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub greeting: u64,
    /// The application closes after this long without reading new data (`"off"` by default).
    pub idle_timeout: OptDur,
    /// What the application does when the peer closes its half (reads end of stream).
    pub on_peer_close: OnPeerClose,
    /// How the stack treats data arriving after the application closed (default: the profile's).
    pub close_policy: ClosePolicy,
}

/// An endpoint as written in a file: every stack setting optional, resolved against `stack`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoint {
    #[serde(default)]
    stack: Profile,
    #[serde(default)]
    address: Option<Ipv4Addr>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    tcp: RawTcp,
    #[serde(default)]
    app: AppModel,
    #[serde(default)]
    greeting: u64,
    #[serde(default)]
    idle_timeout: OptDur,
    #[serde(default)]
    on_peer_close: OnPeerClose,
    #[serde(default)]
    close_policy: Option<ClosePolicy>,
}

/// `[x.tcp]` as written: each field overrides the profile's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTcp {
    rx_buffer: Option<usize>,
    tx_buffer: Option<usize>,
    mss: Option<usize>,
    nagle: Option<bool>,
    ack_delay: Option<OptDur>,
    congestion: Option<Congestion>,
    keep_alive: Option<OptDur>,
    user_timeout: Option<OptDur>,
    timer_scale: Option<f64>,
    timer_tick: Option<OptDur>,
    clamp_peer_mss: Option<bool>,
    emulate: Option<Emulate>,
    rto_initial: Option<Dur>,
    rto_min: Option<Dur>,
    rto_max: Option<Dur>,
    max_retries: Option<u32>,
    slow_timer_phase: Option<Phase>,
    fast_timer_phase: Option<Phase>,
    time_wait: Option<Dur>,
    fin_wait2: Option<OptDur>,
    keep_alive_interval: Option<Dur>,
    keep_alive_probes: Option<u32>,
}

impl From<RawEndpoint> for EndpointModel {
    fn from(r: RawEndpoint) -> EndpointModel {
        let d = r.stack.tcp();
        let t = r.tcp;
        EndpointModel {
            stack: r.stack,
            address: r.address,
            port: r.port,
            tcp: TcpModel {
                rx_buffer: t.rx_buffer.unwrap_or(d.rx_buffer),
                tx_buffer: t.tx_buffer.unwrap_or(d.tx_buffer),
                mss: t.mss.unwrap_or(d.mss),
                nagle: t.nagle.unwrap_or(d.nagle),
                ack_delay: t.ack_delay.unwrap_or(d.ack_delay),
                congestion: t.congestion.unwrap_or(d.congestion),
                keep_alive: t.keep_alive.unwrap_or(d.keep_alive),
                user_timeout: t.user_timeout.unwrap_or(d.user_timeout),
                timer_scale: t.timer_scale.unwrap_or(d.timer_scale),
                timer_tick: t.timer_tick.unwrap_or(d.timer_tick),
                clamp_peer_mss: t.clamp_peer_mss.unwrap_or(d.clamp_peer_mss),
                emulate: t.emulate.unwrap_or(d.emulate),
                rto_initial: t.rto_initial.unwrap_or(d.rto_initial),
                rto_min: t.rto_min.unwrap_or(d.rto_min),
                rto_max: t.rto_max.unwrap_or(d.rto_max),
                max_retries: t.max_retries.unwrap_or(d.max_retries),
                slow_timer_phase: t.slow_timer_phase.unwrap_or(d.slow_timer_phase),
                fast_timer_phase: t.fast_timer_phase.unwrap_or(d.fast_timer_phase),
                time_wait: t.time_wait.unwrap_or(d.time_wait),
                fin_wait2: t.fin_wait2.unwrap_or(d.fin_wait2),
                keep_alive_interval: t.keep_alive_interval.unwrap_or(d.keep_alive_interval),
                keep_alive_probes: t.keep_alive_probes.unwrap_or(d.keep_alive_probes),
            },
            app: r.app,
            greeting: r.greeting,
            idle_timeout: r.idle_timeout,
            on_peer_close: r.on_peer_close,
            close_policy: r.close_policy.unwrap_or(r.stack.close_policy()),
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The client's default address and port (the device in the field captures).
pub const CLIENT_DEFAULT: (Ipv4Addr, u16) = (Ipv4Addr::new(192, 168, 31, 204), 54680);
/// The server's default address and port.
pub const SERVER_DEFAULT: (Ipv4Addr, u16) = (Ipv4Addr::new(192, 168, 31, 10), 20271);

impl EndpointModel {
    /// The endpoint's address (after [`Scenario::resolve`](super::Scenario::resolve)).
    pub fn addr(&self) -> Ipv4Addr {
        self.address.expect("resolved scenario has addresses")
    }

    /// The endpoint's port (after [`Scenario::resolve`](super::Scenario::resolve)).
    pub fn port(&self) -> u16 {
        self.port.expect("resolved scenario has ports")
    }

    /// The server when the file has no `[server]`: a smoltcp sink.
    pub(super) fn default_server() -> EndpointModel {
        EndpointModel {
            stack: Profile::Smoltcp,
            address: Some(SERVER_DEFAULT.0),
            port: Some(SERVER_DEFAULT.1),
            tcp: Profile::Smoltcp.tcp(),
            app: AppModel::Sink,
            greeting: 0,
            idle_timeout: OptDur::OFF,
            on_peer_close: OnPeerClose::Close,
            close_policy: ClosePolicy::Smoltcp,
        }
    }
}

/// What an application does when it reads end of stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnPeerClose {
    /// Close its own half as soon as it sees the peer's FIN.
    #[default]
    Close,
    /// Carry on as if nothing happened (an application that never reads, or ignores EOF).
    KeepOpen,
}

/// The application on an endpoint.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub enum AppModel {
    /// Reads everything and writes nothing.
    #[default]
    Sink,
    /// Writes one message every `interval`, cycling through `sizes`.
    Periodic {
        /// Time between messages.
        interval: Dur,
        /// Message sizes in bytes, used in turn.
        sizes: Vec<usize>,
        /// What happens to a message that does not fit the send buffer.
        #[serde(default)]
        when_full: WhenFull,
        /// Time of the first message after the connection is established.
        #[serde(default = "Dur::zero")]
        start: Dur,
        /// Stop (and close) after this many messages; absent means never.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
    },
    /// Writes `bytes` as fast as the socket takes them, then closes.
    Bulk {
        /// Total bytes.
        bytes: u64,
        /// Delay after the connection is established.
        #[serde(default = "Dur::zero")]
        start: Dur,
    },
    /// A relay with the zero-length-read bug: when data arrives it reads into a zero-length buffer,
    /// gets 0, takes it for end of file, and closes without reading or answering.
    EofOnZeroRead,
    /// On the client: sends `request` bytes, waits for `response` bytes, waits `delay`, `count`
    /// times, then closes. On the server: reads `request` bytes, waits `delay`, answers with
    /// `response` bytes, for every request.
    RequestResponse {
        /// Request size in bytes.
        request: u64,
        /// Response size in bytes.
        response: u64,
        /// Client: think time between exchanges. Server: time before answering.
        #[serde(default = "Dur::zero")]
        delay: Dur,
        /// Client: number of exchanges.
        #[serde(default = "default_count")]
        count: u64,
    },
}

fn default_count() -> u64 {
    1
}

/// What a periodic writer does with a message the send buffer cannot take whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhenFull {
    /// Drop the message (counted as skipped).
    #[default]
    Skip,
    /// Write what fits and block until the rest is written; ticks missed meanwhile are not made up
    /// (counted as waited).
    Wait,
}
