//! The model file format (`models/*.toml`): the project's contract with its users.
//!
//! This is the only module that knows the format. It guarantees:
//! - unknown keys are rejected, every field has a documented default, and `seed` is required;
//! - every error (syntax, type, or a value that makes no sense) names the file, line, column and the
//!   dotted field path (`models/x.toml:12:9: link.outage.down: ...`);
//! - [`Scenario::to_toml`] writes the resolved model with every default filled in, and loading that
//!   text gives back an equal [`Scenario`] (so `run.toml` reproduces a run).
//!
//! Durations are strings with units (`"250ms"`, `"15s"`, `"1h"`); optional durations also accept
//! `"off"`.

use std::fmt;
use std::net::Ipv4Addr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::clock::{Duration, format_duration, parse_duration};
use crate::profile::Profile;

/// The format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// A duration in a model file: a string with units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl Dur {
    /// A duration of `ms` milliseconds.
    pub const fn ms(ms: u64) -> Dur {
        Dur(Duration::from_millis(ms))
    }
    /// A duration of `s` seconds.
    pub const fn secs(s: u64) -> Dur {
        Dur(Duration::from_secs(s))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl std::str::FromStr for Dur {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_duration(s).map(Dur)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An optional duration: a string with units, or `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OptDur(pub Option<Duration>);

impl OptDur {
    /// Off.
    pub const OFF: OptDur = OptDur(None);
}

impl fmt::Display for OptDur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("off"),
            Some(d) => f.write_str(&format_duration(d)),
        }
    }
}

impl std::str::FromStr for OptDur {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim() == "off" {
            Ok(OptDur(None))
        } else {
            parse_duration(s)
                .map(|d| OptDur(Some(d)))
                .map_err(|e| format!("{e}, or \"off\""))
        }
    }
}

impl Serialize for OptDur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for OptDur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A whole simulation experiment: link, two endpoints, seed and duration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Format version; must be [`FORMAT_VERSION`].
    pub version: u32,
    /// Short name; the default output directory is `runs/<name>`.
    pub name: String,
    /// Free text: what the model is for.
    #[serde(default)]
    pub description: String,
    /// The seed every random stream is derived from. Required.
    pub seed: u64,
    /// How much virtual time to simulate at most (default `"60s"`).
    #[serde(default = "default_duration")]
    pub duration: Dur,
    /// Where `trace.txt` and `trace.pcap` are captured.
    #[serde(default)]
    pub capture: CapturePoint,
    /// The path between the endpoints.
    #[serde(default)]
    pub link: LinkModel,
    /// The device: it opens the connection.
    pub client: EndpointModel,
    /// The server: it listens.
    #[serde(default = "EndpointModel::default_server")]
    pub server: EndpointModel,
    /// The parameter space `tcpsim search` explores around this model; absent means the defaults
    /// of [`SearchSpace`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchSpace>,
}

/// Ranges `tcpsim search` draws from. Each knob is either left as the model has it or drawn from its
/// range; shrinking prefers the model's value, fewer windows and shorter ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSpace {
    /// At most this many outage windows (they replace the model's outage schedule; 0 keeps it).
    #[serde(default = "default_windows")]
    pub windows: usize,
    /// Range of a window's start.
    #[serde(default = "default_window_start")]
    pub window_start: [Dur; 2],
    /// Range of a window's length.
    #[serde(default = "default_window_length")]
    pub window_length: [Dur; 2],
    /// Directions an outage may affect.
    #[serde(default = "default_directions")]
    pub directions: Vec<Affects>,
    /// Outage policies to try.
    #[serde(default = "default_policies")]
    pub policies: Vec<OutagePolicy>,
    /// Range of a Bernoulli loss probability per direction (`[0, 0]`: no loss).
    #[serde(default = "default_loss")]
    pub loss: [f64; 2],
    /// Range of the one-way delay per direction.
    #[serde(default = "default_delay_range")]
    pub delay: [Dur; 2],
    /// Range of the server's read-idle timeout; absent keeps the model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<[Dur; 2]>,
    /// Also try the client's Nagle setting flipped.
    #[serde(default = "default_true")]
    pub nagle: bool,
    /// Range of a periodic client's message interval; absent keeps the model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<[Dur; 2]>,
}

fn default_true() -> bool {
    true
}
fn default_windows() -> usize {
    2
}
fn default_window_start() -> [Dur; 2] {
    [Dur::secs(1), Dur::secs(40)]
}
fn default_window_length() -> [Dur; 2] {
    [Dur::ms(100), Dur::secs(20)]
}
fn default_directions() -> Vec<Affects> {
    vec![Affects::Both, Affects::Uplink, Affects::Downlink]
}
fn default_policies() -> Vec<OutagePolicy> {
    vec![OutagePolicy::Drop, OutagePolicy::Hold]
}
fn default_loss() -> [f64; 2] {
    [0.0, 0.02]
}
fn default_delay_range() -> [Dur; 2] {
    [Dur::ms(1), Dur::ms(50)]
}

impl Default for SearchSpace {
    fn default() -> Self {
        SearchSpace {
            windows: default_windows(),
            window_start: default_window_start(),
            window_length: default_window_length(),
            directions: default_directions(),
            policies: default_policies(),
            loss: default_loss(),
            delay: default_delay_range(),
            idle_timeout: None,
            nagle: true,
            interval: None,
        }
    }
}

fn default_duration() -> Dur {
    Dur::secs(60)
}

/// Where the text and pcap traces are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CapturePoint {
    /// On the server's interface (where the field captures were taken): what it sends, when it
    /// sends it, and what reaches it, when it arrives.
    #[default]
    Server,
    /// On the client's interface.
    Client,
    /// Every frame offered to the link, at the time it was offered, whatever its fate.
    Link,
}

/// The path: one direction each way, and an outage schedule shared by the directions it affects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkModel {
    /// Client → server.
    #[serde(default)]
    pub uplink: DirectionModel,
    /// Server → client.
    #[serde(default)]
    pub downlink: DirectionModel,
    /// When the link is down.
    #[serde(default)]
    pub outage: OutageSchedule,
    /// Which directions the outage schedule affects.
    #[serde(default)]
    pub outage_affects: Affects,
    /// What happens to a frame offered while its direction is down.
    #[serde(default)]
    pub on_outage: OutagePolicy,
    /// With `on_outage = "hold"`: how many frames each direction buffers; more are dropped.
    #[serde(default = "default_hold_limit")]
    pub hold_limit: usize,
    /// WiFi power save of the station (the client); absent means always awake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_save: Option<PowerSave>,
    /// A load balancer or NAT on the path with a flow idle timeout; absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middlebox: Option<Middlebox>,
}

/// WiFi power save (ESP-IDF's default `WIFI_PS_MIN_MODEM`): the station wakes at every DTIM beacon;
/// the access point holds downlink frames until then. An outage longer than `beacon_loss` is a
/// disconnection: frames in it are lost, not held.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerSave {
    /// Beacon interval (default 102.4 ms).
    #[serde(default = "default_beacon")]
    pub beacon_interval: Dur,
    /// Beacons per DTIM (default 1): the station wakes every `beacon_interval × dtim`.
    #[serde(default = "default_dtim")]
    pub dtim: u32,
    /// Without beacons this long the station disconnects (default 6 s).
    #[serde(default = "default_beacon_loss")]
    pub beacon_loss: Dur,
}

fn default_beacon() -> Dur {
    Dur(Duration::from_micros(102_400))
}
fn default_dtim() -> u32 {
    1
}
fn default_beacon_loss() -> Dur {
    Dur::secs(6)
}

/// A middlebox (load balancer, NAT) that forgets a flow after `idle_timeout` without packets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Middlebox {
    /// Idle time after which the flow is forgotten.
    pub idle_timeout: Dur,
    /// Whom it sends a RST when the flow expires (default the client).
    #[serde(default = "default_notify")]
    pub on_expiry: Notify,
    /// What it does with later packets of the forgotten flow (default drop).
    #[serde(default)]
    pub after_expiry: AfterExpiry,
}

fn default_notify() -> Notify {
    Notify::Client
}

/// Who gets a RST when a middlebox forgets a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Notify {
    /// Nobody: the flow vanishes silently.
    None,
    /// The client.
    Client,
    /// The server.
    Server,
    /// Both.
    Both,
}

/// What a middlebox does with packets of a flow it has forgotten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AfterExpiry {
    /// Drop them.
    #[default]
    Drop,
    /// Drop them and answer the sender with a RST.
    Rst,
}

fn default_hold_limit() -> usize {
    64
}

impl Default for LinkModel {
    fn default() -> Self {
        LinkModel {
            uplink: DirectionModel::default(),
            downlink: DirectionModel::default(),
            outage: OutageSchedule::None,
            outage_affects: Affects::Both,
            on_outage: OutagePolicy::Drop,
            hold_limit: default_hold_limit(),
            power_save: None,
            middlebox: None,
        }
    }
}

/// One direction of the link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectionModel {
    /// One-way propagation delay (default `"5ms"`).
    #[serde(default = "default_delay")]
    pub delay: Dur,
    /// Serialisation rate in bits per second; absent means infinitely fast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth_bps: Option<u64>,
    /// Frames that may wait for serialisation; more are dropped. Absent means unbounded. Only
    /// meaningful with `bandwidth_bps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_limit: Option<usize>,
    /// Random loss of frames sent while the link is up.
    #[serde(default)]
    pub loss: LossModel,
}

fn default_delay() -> Dur {
    Dur::ms(5)
}

impl Default for DirectionModel {
    fn default() -> Self {
        DirectionModel {
            delay: default_delay(),
            bandwidth_bps: None,
            queue_limit: None,
            loss: LossModel::None,
        }
    }
}

/// Random loss.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LossModel {
    /// No random loss.
    #[default]
    None,
    /// Each frame is lost independently with probability `p`.
    Bernoulli {
        /// Loss probability, 0 to 1.
        p: f64,
    },
    /// Two-state burst loss: frames in the bad state are lost, in the good state delivered.
    GilbertElliott {
        /// Long-run fraction of frames lost, 0 to 1 (exclusive).
        loss_rate: f64,
        /// Mean number of consecutive frames lost in a burst, at least 1.
        mean_burst: f64,
    },
}

/// When the link is down.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OutageSchedule {
    /// Never.
    #[default]
    None,
    /// Down for `down` once every `period`, starting `phase` into each period, each start moved later
    /// by a uniform random amount in `[0, jitter]`.
    DutyCycle {
        /// Cycle length.
        period: Dur,
        /// Down time per cycle.
        down: Dur,
        /// Offset of the down window within each cycle.
        #[serde(default = "Dur::zero")]
        phase: Dur,
        /// Largest random delay added to each window's start.
        #[serde(default = "Dur::zero")]
        jitter: Dur,
    },
    /// An explicit list of down windows, in time order, not overlapping.
    Windows {
        /// The windows.
        windows: Vec<Window>,
    },
}

impl Dur {
    /// Zero.
    pub fn zero() -> Dur {
        Dur(Duration::ZERO)
    }
}

/// One outage window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Start.
    pub at: Dur,
    /// Length.
    #[serde(rename = "for")]
    pub len: Dur,
}

/// Which directions an outage affects (uplink = client → server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Affects {
    /// Both directions.
    #[default]
    Both,
    /// Client → server only.
    Uplink,
    /// Server → client only.
    Downlink,
}

/// What a down link does with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutagePolicy {
    /// The frame is lost (a partition).
    #[default]
    Drop,
    /// The frame is buffered (as an access point holds frames for a dozing station) and released in
    /// order when the link comes back; a full buffer drops.
    Hold,
}

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
            },
            app: r.app,
            idle_timeout: r.idle_timeout,
            on_peer_close: r.on_peer_close,
            close_policy: r.close_policy.unwrap_or(r.stack.close_policy()),
        }
    }
}

/// The client's default address and port (the device in the field captures).
pub const CLIENT_DEFAULT: (Ipv4Addr, u16) = (Ipv4Addr::new(192, 168, 31, 204), 54680);
/// The server's default address and port.
pub const SERVER_DEFAULT: (Ipv4Addr, u16) = (Ipv4Addr::new(192, 168, 31, 10), 20271);

impl EndpointModel {
    /// The endpoint's address (after [`Scenario::resolve`]).
    pub fn addr(&self) -> Ipv4Addr {
        self.address.expect("resolved scenario has addresses")
    }

    /// The endpoint's port (after [`Scenario::resolve`]).
    pub fn port(&self) -> u16 {
        self.port.expect("resolved scenario has ports")
    }

    fn default_server() -> EndpointModel {
        EndpointModel {
            stack: Profile::Smoltcp,
            address: Some(SERVER_DEFAULT.0),
            port: Some(SERVER_DEFAULT.1),
            tcp: Profile::Smoltcp.tcp(),
            app: AppModel::Sink,
            idle_timeout: OptDur::OFF,
            on_peer_close: OnPeerClose::Close,
            close_policy: ClosePolicy::Smoltcp,
        }
    }
}

/// TCP stack settings (smoltcp's knobs), resolved: the profile's values with the file's overrides.
/// Durations here are simulated time; `timer_scale` only stretches smoltcp's built-in timers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TcpModel {
    /// Receive buffer in bytes (the advertised window).
    pub rx_buffer: usize,
    /// Send buffer in bytes.
    pub tx_buffer: usize,
    /// Maximum segment size (the interface MTU is MSS + 40).
    pub mss: usize,
    /// Nagle's algorithm.
    pub nagle: bool,
    /// Delayed-ACK timer, or `"off"` to ACK at once.
    pub ack_delay: OptDur,
    /// Congestion control.
    pub congestion: Congestion,
    /// Keep-alive interval, or `"off"`.
    pub keep_alive: OptDur,
    /// Abort the connection after this long without progress, or `"off"`.
    pub user_timeout: OptDur,
    /// smoltcp's built-in timers (RTO: initial and minimum 1 s, maximum 60 s; TIME-WAIT 10 s;
    /// zero-window probes) run this many times slower than simulated time. 1.5 turns smoltcp's
    /// retransmission schedule (1, 3, 7, 15, 31 s) into lwIP's (1.5, 4.5, 10.5, 22.5, 46.5 s).
    pub timer_scale: f64,
    /// Quantise the stack's clock to this grid (as lwIP's 500 ms slow timer), or `"off"`. Applies to
    /// every stack timer, delayed ACKs included.
    pub timer_tick: OptDur,
    /// Treat the peer's announced MSS as at most our own, as lwIP effectively does when it sizes its
    /// congestion window from its own MSS (smoltcp uses the peer's).
    pub clamp_peer_mss: bool,
}

impl Default for TcpModel {
    fn default() -> Self {
        Profile::Smoltcp.tcp()
    }
}

/// Congestion control algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Congestion {
    /// None: smoltcp sends whatever the window allows and resends the whole flight on timeout.
    None,
    /// Reno: a timeout collapses the window to one segment.
    #[default]
    Reno,
    /// CUBIC.
    Cubic,
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

/// How the stack treats new data arriving after the application has closed the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClosePolicy {
    /// smoltcp's own behaviour: the data is accepted and ACKed.
    #[default]
    Smoltcp,
    /// Linux's: the socket is gone and the data is answered with a bare RST whose seq is the
    /// segment's ack (`tcp_rcv_state_process`, RFC 1122 "MUST send a reset").
    Linux,
}

/// The application on an endpoint.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
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

/// What went wrong with a model file.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelErrorKind {
    /// The file could not be read.
    Io(String),
    /// TOML syntax, a wrong type, an unknown key or a missing field.
    Parse(String),
    /// A value that parses but makes no sense (e.g. an outage longer than its period).
    Invalid(String),
}

/// A model file error, located: `file:line:col: field: message`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: usize,
    /// 1-based column, when known.
    pub col: usize,
    /// Dotted field path (`link.outage.down`), when known.
    pub field: String,
    /// What is wrong.
    pub kind: ModelErrorKind,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.col)?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        match &self.kind {
            ModelErrorKind::Io(m) => write!(f, ": cannot read: {m}"),
            ModelErrorKind::Parse(m) | ModelErrorKind::Invalid(m) => write!(f, ": {m}"),
        }
    }
}

impl std::error::Error for ModelError {}

/// A semantic problem found by [`Scenario::validate`]: the dotted field and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    /// Dotted field path.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Scenario {
    /// Reads and validates a model file.
    ///
    /// # Errors
    /// [`ModelError`] naming the file, line, column and field.
    pub fn load(path: &Path) -> Result<Scenario, ModelError> {
        Scenario::from_toml(&read_model(path)?, path)
    }

    /// Reads a model file, applies `KEY=VALUE` overrides (dotted keys, TOML values; a value that is
    /// not valid TOML is taken as a string, so `client.tcp.keep_alive=70s` works), then validates.
    ///
    /// # Errors
    /// [`ModelError`]: for a problem in an override, the field is reported as `--set KEY`.
    pub fn load_with(path: &Path, overrides: &[String]) -> Result<Scenario, ModelError> {
        let text = read_model(path)?;
        if overrides.is_empty() {
            return Scenario::from_toml(&text, path);
        }
        Scenario::from_toml_with(&text, path, overrides)
    }

    /// As [`Scenario::load_with`], from text already read.
    ///
    /// # Errors
    /// As [`Scenario::load_with`].
    pub fn from_toml_with(
        text: &str,
        path: &Path,
        overrides: &[String],
    ) -> Result<Scenario, ModelError> {
        // Syntax errors in the file itself are reported against the file.
        let mut doc: toml_edit::DocumentMut = match text.parse() {
            Ok(d) => d,
            Err(_) => return Scenario::from_toml(text, path),
        };
        let mut keys = Vec::new();
        for o in overrides {
            let bad = |message: String| ModelError {
                path: path.to_owned(),
                line: 0,
                col: 0,
                field: format!("--set {o}"),
                kind: ModelErrorKind::Invalid(message),
            };
            let (key, value) = o
                .split_once('=')
                .ok_or_else(|| bad("expected KEY=VALUE".into()))?;
            let key = key.trim();
            let parts: Vec<&str> = key.split('.').collect();
            if key.is_empty() || parts.iter().any(|p| p.is_empty()) {
                return Err(bad("expected a dotted key such as client.tcp.nagle".into()));
            }
            let value: toml_edit::Value = value
                .trim()
                .parse()
                .unwrap_or_else(|_| toml_edit::Value::from(value.trim()));
            set_path(Node::Item(doc.as_item_mut()), &parts, value).map_err(bad)?;
            keys.push((key.to_string(), o.clone()));
        }
        Scenario::from_toml(&doc.to_string(), path).map_err(|mut e| {
            if let Some((_, o)) = keys.iter().find(|(k, _)| {
                e.field == *k
                    || e.field.starts_with(&format!("{k}."))
                    || k.starts_with(&format!("{}.", e.field))
            }) {
                e.field = format!("--set {o}: {}", e.field);
                e.line = 0;
                e.col = 0;
            }
            e
        })
    }

    /// Parses and validates model text; `path` is only used in errors.
    ///
    /// # Errors
    /// [`ModelError`] naming the file, line, column and field.
    pub fn from_toml(text: &str, path: &Path) -> Result<Scenario, ModelError> {
        let locate = |span: Option<Range<usize>>, field: String, kind: ModelErrorKind| {
            let (line, col) = span.map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            ModelError {
                path: path.to_owned(),
                line,
                col,
                field,
                kind,
            }
        };
        let mut scenario: Scenario = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().to_string();
            let field = e
                .span()
                .and_then(|s| field_at(text, s.start))
                .unwrap_or_default();
            // Errors inside internally tagged tables (`kind = ...`) carry the whole table's span:
            // point at the offending key instead when the message says which one.
            let (span, field) = refine(text, &field, &message)
                .map(|(s, f)| (Some(s), f))
                .unwrap_or((e.span(), field));
            locate(span, field, ModelErrorKind::Parse(message))
        })?;
        scenario.resolve();
        if let Err(inv) = scenario.validate() {
            let span = span_of_field(text, &inv.field);
            return Err(locate(
                span,
                inv.field,
                ModelErrorKind::Invalid(inv.message),
            ));
        }
        Ok(scenario)
    }

    /// Fills in the defaults that depend on the endpoint's role (addresses and ports).
    pub fn resolve(&mut self) {
        for (e, (addr, port)) in [
            (&mut self.client, CLIENT_DEFAULT),
            (&mut self.server, SERVER_DEFAULT),
        ] {
            e.address.get_or_insert(addr);
            e.port.get_or_insert(port);
        }
    }

    /// The resolved model as TOML, every default filled in. Loading it gives an equal scenario.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a validated scenario always serialises")
    }

    /// Checks that values make sense together.
    ///
    /// # Errors
    /// The first problem found, with its dotted field path.
    pub fn validate(&self) -> Result<(), Invalid> {
        let bad = |field: &str, message: String| {
            Err(Invalid {
                field: field.to_string(),
                message,
            })
        };
        if self.version != FORMAT_VERSION {
            return bad(
                "version",
                format!(
                    "this build reads format version {FORMAT_VERSION}, not {}",
                    self.version
                ),
            );
        }
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || self.name.starts_with('.')
        {
            return bad(
                "name",
                format!(
                    "{:?} must be non-empty and use only letters, digits, '-', '_' and '.' (it names the output directory)",
                    self.name
                ),
            );
        }
        if self.duration.0 == Duration::ZERO {
            return bad("duration", "must be longer than 0s".into());
        }
        if self.duration.0 > Duration::from_secs(366 * 24 * 3600) {
            return bad("duration", "must be at most a year".into());
        }
        for (dname, d) in [
            ("link.uplink", &self.link.uplink),
            ("link.downlink", &self.link.downlink),
        ] {
            if d.delay.0 > Duration::from_secs(60) {
                return bad(&format!("{dname}.delay"), "must be at most 60s".into());
            }
            if d.bandwidth_bps == Some(0) {
                return bad(
                    &format!("{dname}.bandwidth_bps"),
                    "must be positive (leave it out for an infinitely fast link)".into(),
                );
            }
            if d.queue_limit == Some(0) {
                return bad(
                    &format!("{dname}.queue_limit"),
                    "must be at least 1 frame".into(),
                );
            }
            match d.loss {
                LossModel::None => {}
                LossModel::Bernoulli { p } => {
                    if !(0.0..=1.0).contains(&p) {
                        return bad(
                            &format!("{dname}.loss.p"),
                            format!("{p} is not a probability (0 to 1)"),
                        );
                    }
                }
                LossModel::GilbertElliott {
                    loss_rate,
                    mean_burst,
                } => {
                    if !(0.0..1.0).contains(&loss_rate) {
                        return bad(
                            &format!("{dname}.loss.loss_rate"),
                            format!("{loss_rate} must be at least 0 and below 1"),
                        );
                    }
                    if !(mean_burst >= 1.0 && mean_burst.is_finite()) {
                        return bad(
                            &format!("{dname}.loss.mean_burst"),
                            format!("{mean_burst} must be at least 1 frame"),
                        );
                    }
                }
            }
        }
        match &self.link.outage {
            OutageSchedule::None => {}
            OutageSchedule::DutyCycle {
                period,
                down,
                phase,
                jitter,
            } => {
                if period.0 == Duration::ZERO {
                    return bad("link.outage.period", "must be longer than 0s".into());
                }
                if down.0 + jitter.0 >= period.0 {
                    return bad(
                        "link.outage.down",
                        format!(
                            "down ({down}) plus jitter ({jitter}) must be shorter than the period ({period})"
                        ),
                    );
                }
                if phase.0 >= period.0 {
                    return bad(
                        "link.outage.phase",
                        format!("{phase} must be shorter than the period ({period})"),
                    );
                }
            }
            OutageSchedule::Windows { windows } => {
                let mut end = Duration::ZERO;
                for (i, w) in windows.iter().enumerate() {
                    if w.len.0 == Duration::ZERO {
                        return bad(
                            &format!("link.outage.windows.{i}.for"),
                            "must be longer than 0s".into(),
                        );
                    }
                    if i > 0 && w.at.0 < end {
                        return bad(
                            &format!("link.outage.windows.{i}.at"),
                            format!(
                                "{} starts before the previous window ends ({})",
                                w.at,
                                Dur(end)
                            ),
                        );
                    }
                    end = w.at.0 + w.len.0;
                }
            }
        }
        if let Some(ps) = &self.link.power_save {
            if ps.beacon_interval.0 == Duration::ZERO
                || ps.beacon_interval.0 > Duration::from_secs(10)
            {
                return bad(
                    "link.power_save.beacon_interval",
                    "must be between 1us and 10s".into(),
                );
            }
            if !(1..=255).contains(&ps.dtim) {
                return bad(
                    "link.power_save.dtim",
                    format!("{} must be between 1 and 255", ps.dtim),
                );
            }
        }
        if let Some(mb) = &self.link.middlebox
            && mb.idle_timeout.0 == Duration::ZERO
        {
            return bad(
                "link.middlebox.idle_timeout",
                "must be longer than 0s".into(),
            );
        }
        if self.link.hold_limit == 0 {
            return bad("link.hold_limit", "must be at least 1 frame".into());
        }
        for (ename, e) in [("client", &self.client), ("server", &self.server)] {
            let t = &e.tcp;
            if !(64..=65495).contains(&t.mss) {
                return bad(
                    &format!("{ename}.tcp.mss"),
                    format!("{} must be between 64 and 65495", t.mss),
                );
            }
            for (f, v) in [("rx_buffer", t.rx_buffer), ("tx_buffer", t.tx_buffer)] {
                if !(1..=(1 << 30)).contains(&v) {
                    return bad(
                        &format!("{ename}.tcp.{f}"),
                        format!("{v} must be between 1 and 1073741824 bytes"),
                    );
                }
            }
            if !(0.1..=100.0).contains(&t.timer_scale) {
                return bad(
                    &format!("{ename}.tcp.timer_scale"),
                    format!("{} must be between 0.1 and 100", t.timer_scale),
                );
            }
            if t.timer_tick.0 == Some(Duration::ZERO) {
                return bad(
                    &format!("{ename}.tcp.timer_tick"),
                    "must be longer than 0s, or \"off\"".into(),
                );
            }
            if e.port == Some(0) {
                return bad(&format!("{ename}.port"), "must not be 0".into());
            }
            if e.idle_timeout.0 == Some(Duration::ZERO) {
                return bad(
                    &format!("{ename}.idle_timeout"),
                    "must be longer than 0s, or \"off\"".into(),
                );
            }
            for (f, v) in [
                ("keep_alive", t.keep_alive),
                ("user_timeout", t.user_timeout),
            ] {
                if v.0 == Some(Duration::ZERO) {
                    return bad(
                        &format!("{ename}.tcp.{f}"),
                        "must be longer than 0s, or \"off\"".into(),
                    );
                }
            }
            match &e.app {
                AppModel::Sink => {}
                AppModel::Periodic {
                    interval,
                    sizes,
                    count,
                    ..
                } => {
                    if interval.0 == Duration::ZERO {
                        return bad(
                            &format!("{ename}.app.interval"),
                            "must be longer than 0s".into(),
                        );
                    }
                    if sizes.is_empty() {
                        return bad(
                            &format!("{ename}.app.sizes"),
                            "needs at least one message size".into(),
                        );
                    }
                    if let Some(i) = sizes.iter().position(|&s| s == 0 || s > 1 << 24) {
                        return bad(
                            &format!("{ename}.app.sizes.{i}"),
                            format!("{} must be between 1 and 16777216 bytes", sizes[i]),
                        );
                    }
                    if *count == Some(0) {
                        return bad(
                            &format!("{ename}.app.count"),
                            "must be at least 1 (leave it out for no limit)".into(),
                        );
                    }
                }
                AppModel::Bulk { .. } | AppModel::EofOnZeroRead => {}
                AppModel::RequestResponse {
                    request,
                    response,
                    count,
                    ..
                } => {
                    if *request == 0 {
                        return bad(
                            &format!("{ename}.app.request"),
                            "must be at least 1 byte".into(),
                        );
                    }
                    if *response == 0 {
                        return bad(
                            &format!("{ename}.app.response"),
                            "must be at least 1 byte".into(),
                        );
                    }
                    if *count == 0 {
                        return bad(&format!("{ename}.app.count"), "must be at least 1".into());
                    }
                }
            }
        }
        if let Some(sp) = &self.search {
            let range = |f: &str, r: &[Dur; 2]| {
                if r[0] > r[1] {
                    bad(
                        &format!("search.{f}"),
                        format!("[{}, {}] is not a range (low first)", r[0], r[1]),
                    )
                } else {
                    Ok(())
                }
            };
            range("window_start", &sp.window_start)?;
            range("window_length", &sp.window_length)?;
            range("delay", &sp.delay)?;
            if let Some(r) = &sp.idle_timeout {
                range("idle_timeout", r)?;
                if r[0].0 == Duration::ZERO {
                    return bad("search.idle_timeout", "must start above 0s".into());
                }
            }
            if let Some(r) = &sp.interval {
                range("interval", r)?;
                if r[0].0 == Duration::ZERO {
                    return bad("search.interval", "must start above 0s".into());
                }
            }
            if sp.window_length[0].0 == Duration::ZERO {
                return bad("search.window_length", "must start above 0s".into());
            }
            if sp.windows > 8 {
                return bad("search.windows", format!("{} is more than 8", sp.windows));
            }
            if sp.directions.is_empty() || sp.policies.is_empty() {
                return bad(
                    "search.directions",
                    "directions and policies need at least one entry".into(),
                );
            }
            if !(0.0..=1.0).contains(&sp.loss[0]) || !(sp.loss[0]..=1.0).contains(&sp.loss[1]) {
                return bad(
                    "search.loss",
                    format!("{:?} must be a probability range", sp.loss),
                );
            }
        }
        if self.client.address.is_none()
            || self.client.port.is_none()
            || self.server.address.is_none()
            || self.server.port.is_none()
        {
            return bad(
                "client",
                "addresses and ports must be resolved (call Scenario::resolve)".into(),
            );
        }
        if self.client.address == self.server.address {
            return bad("server.address", "must differ from client.address".into());
        }
        Ok(())
    }
}

/// Reads a model file's text; an I/O error names the file.
fn read_model(path: &Path) -> Result<String, ModelError> {
    std::fs::read_to_string(path).map_err(|e| ModelError {
        path: path.to_owned(),
        line: 0,
        col: 0,
        field: String::new(),
        kind: ModelErrorKind::Io(e.to_string()),
    })
}

/// A place in a TOML document being edited by `--set`.
enum Node<'a> {
    Item(&'a mut toml_edit::Item),
    Value(&'a mut toml_edit::Value),
    Table(&'a mut toml_edit::Table),
}

/// Sets `parts` (dotted key components; numbers index arrays) under `node` to `value`, creating
/// missing tables.
fn set_path(node: Node<'_>, parts: &[&str], value: toml_edit::Value) -> Result<(), String> {
    let (part, rest) = parts.split_first().expect("non-empty path");
    let last = rest.is_empty();
    let index = || {
        part.parse::<usize>()
            .map_err(|_| format!("{part}: expected an array index"))
    };
    match node {
        Node::Item(toml_edit::Item::ArrayOfTables(a)) => {
            let i = index()?;
            let len = a.len();
            let t = a
                .get_mut(i)
                .ok_or_else(|| format!("{part}: no element {i} (the array has {len})"))?;
            if last {
                return Err(format!(
                    "{part}: cannot replace a whole [[table]]; set its fields"
                ));
            }
            set_path(Node::Table(t), rest, value)
        }
        Node::Item(toml_edit::Item::Value(v)) => set_path(Node::Value(v), parts, value),
        Node::Item(item) => {
            let t = item
                .as_table_like_mut()
                .ok_or_else(|| format!("{part}: the key above it is not a table"))?;
            table_step(t, part, rest, value)
        }
        Node::Table(t) => table_step(t, part, rest, value),
        Node::Value(toml_edit::Value::Array(a)) => {
            let i = index()?;
            let len = a.len();
            if last {
                let slot = a
                    .get_mut(i)
                    .ok_or_else(|| format!("{part}: no element {i} (the array has {len})"))?;
                *slot = value;
                return Ok(());
            }
            let v = a
                .get_mut(i)
                .ok_or_else(|| format!("{part}: no element {i} (the array has {len})"))?;
            set_path(Node::Value(v), rest, value)
        }
        Node::Value(toml_edit::Value::InlineTable(t)) => table_step(t, part, rest, value),
        Node::Value(_) => Err(format!("{part}: the key above it is not a table")),
    }
}

fn table_step(
    t: &mut dyn toml_edit::TableLike,
    part: &str,
    rest: &[&str],
    value: toml_edit::Value,
) -> Result<(), String> {
    if rest.is_empty() {
        t.insert(part, toml_edit::Item::Value(value));
        return Ok(());
    }
    if t.get(part).is_none() {
        t.insert(part, toml_edit::Item::Table(toml_edit::Table::new()));
    }
    set_path(
        Node::Item(t.get_mut(part).expect("just inserted")),
        rest,
        value,
    )
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The dotted path of the innermost key whose key or value contains `offset`.
fn field_at(text: &str, offset: usize) -> Option<String> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut best: Option<(usize, String)> = None;
    walk(
        doc.as_item(),
        String::new(),
        &mut |path, key_span, item_span| {
            let inside = |s: &Option<Range<usize>>| {
                s.as_ref()
                    .is_some_and(|s| s.contains(&offset) || s.start == offset)
            };
            if inside(&key_span) || inside(&item_span) {
                let width = item_span.as_ref().map_or(usize::MAX, |s| s.len());
                if best
                    .as_ref()
                    .is_none_or(|(w, p)| width < *w || (width == *w && path.len() > p.len()))
                {
                    best = Some((width, path.to_string()));
                }
            }
        },
    );
    best.map(|(_, p)| p)
}

/// For an error reported on a whole table, the key the message names: an unknown field by its
/// name, a wrong value by its literal (`invalid type: string "x"`, ``integer `5` ``).
fn refine(text: &str, table: &str, message: &str) -> Option<(Range<usize>, String)> {
    let between = |open: &str, close: char| {
        let start = message.find(open)? + open.len();
        let len = message[start..].find(close)?;
        Some(message[start..start + len].to_string())
    };
    let unknown = between("unknown field `", '`');
    let literal = between("string \"", '"')
        .map(|v| format!("{v:?}"))
        .or_else(|| between("integer `", '`'))
        .or_else(|| between("floating point `", '`'))
        .or_else(|| between("boolean `", '`'));
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut found = None;
    walk(
        doc.as_item(),
        String::new(),
        &mut |path, key_span, value_span| {
            let Some(key) = path.strip_prefix(table).and_then(|k| k.strip_prefix('.')) else {
                return;
            };
            if key.contains('.') || found.is_some() {
                return;
            }
            let value_text = value_span
                .as_ref()
                .and_then(|s| text.get(s.clone()))
                .map(str::trim);
            if unknown.as_deref() == Some(key) {
                found = key_span.map(|s| (s, path.to_string()));
            } else if literal.is_some() && value_text == literal.as_deref() {
                found = value_span.map(|s| (s, path.to_string()));
            }
        },
    );
    found
}

/// The span of a dotted field's value, or of the nearest enclosing table that exists.
fn span_of_field(text: &str, field: &str) -> Option<Range<usize>> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut found: Option<(usize, Range<usize>)> = None;
    walk(
        doc.as_item(),
        String::new(),
        &mut |path, key_span, item_span| {
            let matches = field == path || field.starts_with(&format!("{path}."));
            if matches && !path.is_empty() {
                let depth = path.len();
                if let Some(span) = item_span.or(key_span)
                    && found.as_ref().is_none_or(|(d, _)| depth > *d)
                {
                    found = Some((depth, span));
                }
            }
        },
    );
    found.map(|(_, s)| s)
}

type Visit<'a> = dyn FnMut(&str, Option<Range<usize>>, Option<Range<usize>>) + 'a;

fn walk(item: &toml_edit::Item, path: String, visit: &mut Visit<'_>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match item {
        toml_edit::Item::Table(t) => {
            for (k, v) in t.iter() {
                let key_span = t.key(k).and_then(|k| k.span());
                let p = join(k);
                visit(&p, key_span, v.span());
                walk(v, p, visit);
            }
        }
        toml_edit::Item::Value(toml_edit::Value::InlineTable(t)) => {
            for (k, v) in t.iter() {
                let key_span = t.key(k).and_then(|k| k.span());
                let p = join(k);
                visit(&p, key_span, v.span());
                walk(&toml_edit::Item::Value(v.clone()), p, visit);
            }
        }
        toml_edit::Item::Value(toml_edit::Value::Array(a)) => {
            for (i, v) in a.iter().enumerate() {
                let p = join(&i.to_string());
                visit(&p, None, v.span());
                walk(&toml_edit::Item::Value(v.clone()), p, visit);
            }
        }
        toml_edit::Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                let p = join(&i.to_string());
                visit(&p, None, t.span());
                walk(&toml_edit::Item::Table(t.clone()), p, visit);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
version = 1
name = "t"
seed = 7
[client.app]
kind = "bulk"
bytes = 1000
"#;

    fn parse(text: &str) -> Result<Scenario, ModelError> {
        Scenario::from_toml(text, Path::new("m.toml"))
    }

    // Proves a minimal model gets the documented defaults.
    #[test]
    fn minimal_model_defaults() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!(s.duration, Dur::secs(60));
        assert_eq!(s.capture, CapturePoint::Server);
        assert_eq!(s.link.uplink.delay, Dur::ms(5));
        assert_eq!(s.server.app, AppModel::Sink);
        assert_eq!(s.client.stack, Profile::Smoltcp);
        assert_eq!(
            s.client.tcp.congestion,
            Congestion::Cubic,
            "smoltcp's own default"
        );
        assert_eq!(
            s.client.tcp.ack_delay,
            OptDur(Some(Duration::from_millis(10)))
        );
    }

    // Proves a profile supplies every stack default, the file overrides field by field, the close
    // policy follows the profile unless set, and the resolved form round-trips.
    #[test]
    fn profiles_with_overrides() {
        let text = format!(
            "{MINIMAL}[client]\nstack = \"lwip-esp32\"\ntcp = {{ mss = 1400 }}\n[server]\nstack = \"linux\"\n"
        );
        let text = text.replace("[client.app]\nkind = \"bulk\"\nbytes = 1000\n", "");
        let text = format!("{text}[client.app]\nkind = \"bulk\"\nbytes = 1000\n");
        let s = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(s.client.tcp.mss, 1400);
        assert_eq!(
            (s.client.tcp.rx_buffer, s.client.tcp.timer_scale),
            (5744, 1.5)
        );
        assert!(s.client.tcp.clamp_peer_mss);
        assert_eq!(s.server.close_policy, ClosePolicy::Linux);
        assert_eq!(
            s.server.tcp.ack_delay,
            OptDur(Some(Duration::from_millis(40)))
        );
        assert_eq!(s.client.close_policy, ClosePolicy::Smoltcp);
        let back = parse(&s.to_toml()).unwrap();
        assert_eq!(back, s);
        let bad = parse(&text.replace("mss = 1400", "mss = 1400, timer_scale = 0.0")).unwrap_err();
        assert_eq!(bad.field, "client.tcp.timer_scale", "{bad}");
    }

    // Proves --set overrides: dotted keys into existing and new tables, TOML values or bare strings,
    // and errors naming the override.
    #[test]
    fn overrides() {
        let dir = std::env::temp_dir().join(format!("tcpsim-model-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("m.toml");
        std::fs::write(&p, MINIMAL).unwrap();
        let set = |o: &[&str]| {
            Scenario::load_with(&p, &o.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        let s = set(&[
            "client.tcp.keep_alive=70s",
            "client.tcp.nagle=false",
            "seed=9",
            "link.middlebox.idle_timeout=90s",
        ])
        .unwrap();
        assert_eq!(
            s.client.tcp.keep_alive,
            OptDur(Some(Duration::from_secs(70)))
        );
        assert!(!s.client.tcp.nagle);
        assert_eq!(s.seed, 9);
        assert_eq!(s.link.middlebox.unwrap().idle_timeout, Dur::secs(90));
        let e = set(&["client.tcp.keep_alive=7"]).unwrap_err();
        assert!(
            e.to_string().contains("--set client.tcp.keep_alive=7"),
            "{e}"
        );
        let e = set(&["client.tcp.colour=red"]).unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
        assert!(
            set(&["nonsense"])
                .unwrap_err()
                .to_string()
                .contains("KEY=VALUE")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    // Proves the resolved TOML round-trips to an equal scenario (run.toml reproduces the run).
    #[test]
    fn resolved_round_trip() {
        let mut s = parse(MINIMAL).unwrap();
        s.link.outage = OutageSchedule::DutyCycle {
            period: Dur::secs(30),
            down: Dur::secs(6),
            phase: Dur::ms(1500),
            jitter: Dur::ms(250),
        };
        s.link.uplink.loss = LossModel::GilbertElliott {
            loss_rate: 0.01,
            mean_burst: 3.0,
        };
        s.link.downlink.bandwidth_bps = Some(1_000_000);
        let text = s.to_toml();
        let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(s, back, "{text}");
    }

    // Proves a missing seed is an error naming the field.
    #[test]
    fn seed_is_required() {
        let e = parse(&MINIMAL.replace("seed = 7", "")).unwrap_err();
        assert!(e.to_string().contains("seed"), "{e}");
        assert!(matches!(e.kind, ModelErrorKind::Parse(_)));
    }

    // Proves an unknown key is rejected with its line, column and path.
    #[test]
    fn unknown_key_located() {
        let text = format!("{MINIMAL}colour = \"red\"\n");
        let e = parse(&text).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (8, "client.app.colour"), "{e}");
        assert!(
            e.to_string().starts_with("m.toml:8:1: client.app.colour: "),
            "{e}"
        );
    }

    // Proves a bad duration names the field and its position.
    #[test]
    fn bad_duration_located() {
        let text = MINIMAL.replace("seed = 7", "seed = 7\nduration = \"15\"");
        let e = parse(&text).unwrap_err();
        assert_eq!(
            (e.line, e.col, e.field.as_str()),
            (5, 12, "duration"),
            "{e}"
        );
        assert!(e.to_string().contains("unit"), "{e}");
    }

    // Proves semantic errors point at the offending value.
    #[test]
    fn invalid_outage_located() {
        let text = format!(
            "{MINIMAL}[link.outage]\nkind = \"duty-cycle\"\nperiod = \"5s\"\ndown = \"6s\"\n"
        );
        let e = parse(&text).unwrap_err();
        assert_eq!(
            (e.line, e.col, e.field.as_str()),
            (11, 8, "link.outage.down"),
            "{e}"
        );
        assert!(matches!(e.kind, ModelErrorKind::Invalid(_)));
    }

    // Proves overlapping outage windows are rejected with the window's index.
    #[test]
    fn overlapping_windows() {
        let text = format!(
            "{MINIMAL}[link]\noutage = {{ kind = \"windows\", windows = [{{ at = \"1s\", for = \"2s\" }}, {{ at = \"2s\", for = \"1s\" }}] }}\n"
        );
        let e = parse(&text).unwrap_err();
        assert_eq!(e.field, "link.outage.windows.1.at", "{e}");
        assert_eq!(e.line, 9, "{e}");
    }

    // Proves a wrong type is reported at the value, with the field path.
    #[test]
    fn wrong_type_located() {
        let text = MINIMAL.replace("bytes = 1000", "bytes = \"lots\"");
        let e = parse(&text).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (7, "client.app.bytes"), "{e}");
    }
}
