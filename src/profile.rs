//! Stack profiles: named presets for an endpoint's TCP settings (`stack = "lwip-esp32"` in a model),
//! overridable field by field in `[client.tcp]` / `[server.tcp]`.
//!
//! smoltcp is the stack; a profile sets its knobs, and where smoltcp cannot be configured into the
//! real stack's behaviour, `emulate` selects tcpsim's layers around it. Every row below says whether
//! it is exact or approximate; each exact row has a test in `tests/it/fidelity.rs` citing its
//! source. Sources: docs/STACK-FACTS.md, docs/FIELD-NOTES.md.
//!
//! This module owns the stack-side types a profile fills ([`TcpModel`], [`Congestion`],
//! [`ClosePolicy`]); it depends only on [`crate::clock`], and the model format
//! ([`crate::model`], which re-exports these types) depends on it. Every profile gives a complete,
//! valid [`TcpModel`].
//!
//! # `lwip-esp32` (ESP-IDF's lwIP, esp-lwip 2.1.3-esp; docs/STACK-FACTS.md §1)
//! `emulate = "lwip"`: tcpsim's layers around smoltcp (`src/endpoint/`) keep lwIP's timers.
//!
//! | behaviour | value | exact or approximate |
//! | --- | --- | --- |
//! | MSS, buffers | 1440; 5760 (`TCP_WND`, `TCP_SND_BUF` of ESP-IDF v5) | exact |
//! | SYN | MSS option only (no window scale, no SACK) | exact |
//! | announced window | right edge moves in steps of min(`TCP_WND`/2, MSS); the peer's FIN takes one byte | exact (5594, 5593 as in the field) |
//! | retransmission timer | 500 ms slow-timer ticks at `slow_timer_phase` (seed by default); first timeout on the base-th tick after the timer (re)starts | exact |
//! | backoff | base × {2, 4, …, 64, 128, 128…} from the base; an ACK of new data returns to the base | exact |
//! | base RTO | `rto_initial` 1.5 s, then Van Jacobson's estimator in whole ticks | exact |
//! | what is resent | the first unacked segment as first sent; then go-back-N, one more segment per ACK | exact for the first; the window growth after is simplified |
//! | give-up | after `max_retries` = 12, the next tick drops the connection without an RST | exact |
//! | duplicate ACK, fast retransmit | no data, no SYN/FIN, same window; the 3rd triggers it; a FIN is never one | exact; fast-recovery window inflation not modelled |
//! | delayed ACK | at the next 250 ms fast-timer tick (`fast_timer_phase`); the 2nd segment, a FIN or out-of-order data at once | exact |
//! | data after the app closed | RST\|ACK from the pcb (`tcp_abort`), the data discarded (`close_policy = "lwip"`) | exact |
//! | TIME-WAIT; FIN-WAIT-2 of a closed socket | 120 s (2 MSL); 20 s | exact |
//! | keep-alive (`keep_alive` = idle time) | probes at snd.nxt − 1 every `keep_alive_interval` (75 s), RST after `keep_alive_probes` (9) | exact |
//! | congestion window, Nagle | smoltcp's Reno (cwnd = 1 MSS on timeout, peer MSS clamped to ours) and Nagle | approximate: smoltcp's growth rules |
//! | SYN retransmissions | smoltcp's (1 s, doubling) | approximate (lwIP: 1.5 s base) |
//!
//! # `linux` (a Linux server; include/net/tcp.h, tcp_input.c; docs/STACK-FACTS.md §2)
//! `emulate = "linux"`.
//!
//! | behaviour | value | exact or approximate |
//! | --- | --- | --- |
//! | MSS, buffers | 1460; 65535 | buffers approximate (Linux autotunes) |
//! | RTO | srtt + max(`rto_min` 200 ms, 4·rttvar), RFC 6298 samples (the handshake first), initial 1 s, doubling to `rto_max` 120 s | exact to the microsecond; no F-RTO or timestamps |
//! | give-up | after `max_retries` = 15 retransmissions, at the next timeout, silently | approximate: Linux bounds the time (924.6 s), not the count |
//! | ACKs | at once (`ack_delay = "off"`: quick ACK, as the field server) | approximate: Linux leaves quick-ACK mode for 40–200 ms delayed ACKs on bulk transfers |
//! | announced window | kept while within one MSS below the free space, else free space rounded down to the peer's MSS | approximate (no autotuning) |
//! | data after close | bare RST, seq = the segment's ack (`close_policy = "linux"`) | exact |
//! | TIME-WAIT; orphan FIN-WAIT-2 | 60 s; 60 s | exact |
//! | keep-alive | zero-length probes at snd.una − 1, none while data is outstanding; RST after 9 | exact |
//! | congestion | smoltcp's CUBIC | approximate |
//!
//! # `smoltcp`
//! smoltcp's own defaults: CUBIC (the default with the `socket-tcp-cubic` feature), 10 ms delayed
//! ACK, Nagle on, close policy `smoltcp` (late data accepted); buffers 65535 and MSS 1460, which
//! smoltcp leaves to the user.

use serde::{Deserialize, Serialize};

use crate::clock::{Dur, Duration, OptDur, Phase};

/// A named stack preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Profile {
    /// smoltcp's own defaults.
    #[default]
    Smoltcp,
    /// ESP-IDF's lwIP on an ESP32.
    LwipEsp32,
    /// A Linux server.
    Linux,
}

impl Profile {
    /// The profile's TCP settings.
    pub fn tcp(self) -> TcpModel {
        let ms = |v| OptDur(Some(Duration::from_millis(v)));
        match self {
            Profile::Smoltcp => TcpModel {
                rx_buffer: 65535,
                tx_buffer: 65535,
                mss: 1460,
                nagle: true,
                ack_delay: ms(10),
                congestion: Congestion::Cubic,
                keep_alive: OptDur::OFF,
                user_timeout: OptDur::OFF,
                timer_scale: 1.0,
                timer_tick: OptDur::OFF,
                clamp_peer_mss: false,
                emulate: Emulate::Smoltcp,
                rto_initial: Dur::secs(1),
                rto_min: Dur::secs(1),
                rto_max: Dur::secs(60),
                max_retries: 0,
                slow_timer_phase: Phase::SEED,
                fast_timer_phase: Phase::SEED,
                time_wait: Dur::secs(10),
                fin_wait2: OptDur::OFF,
                keep_alive_interval: Dur::secs(75),
                keep_alive_probes: 9,
            },
            Profile::LwipEsp32 => TcpModel {
                rx_buffer: 5760,
                tx_buffer: 5760,
                mss: 1440,
                nagle: true,
                ack_delay: OptDur::OFF,
                congestion: Congestion::Reno,
                keep_alive: OptDur::OFF,
                user_timeout: OptDur::OFF,
                timer_scale: 1.0,
                timer_tick: OptDur::OFF,
                clamp_peer_mss: true,
                emulate: Emulate::Lwip,
                rto_initial: Dur::ms(1500),
                rto_min: Dur::ms(500),
                rto_max: Dur::secs(16383),
                max_retries: 12,
                slow_timer_phase: Phase::SEED,
                fast_timer_phase: Phase::SEED,
                time_wait: Dur::secs(120),
                fin_wait2: OptDur(Some(Duration::from_secs(20))),
                keep_alive_interval: Dur::secs(75),
                keep_alive_probes: 9,
            },
            Profile::Linux => TcpModel {
                rx_buffer: 65535,
                tx_buffer: 65535,
                mss: 1460,
                nagle: true,
                ack_delay: OptDur::OFF,
                congestion: Congestion::Cubic,
                keep_alive: OptDur::OFF,
                user_timeout: OptDur::OFF,
                timer_scale: 1.0,
                timer_tick: OptDur::OFF,
                clamp_peer_mss: false,
                emulate: Emulate::Linux,
                rto_initial: Dur::secs(1),
                rto_min: Dur::ms(200),
                rto_max: Dur::secs(120),
                max_retries: 15,
                slow_timer_phase: Phase::SEED,
                fast_timer_phase: Phase::SEED,
                time_wait: Dur::secs(60),
                fin_wait2: OptDur(Some(Duration::from_secs(60))),
                keep_alive_interval: Dur::secs(75),
                keep_alive_probes: 9,
            },
        }
    }

    /// The profile's close policy.
    pub fn close_policy(self) -> ClosePolicy {
        match self {
            Profile::Linux => ClosePolicy::Linux,
            Profile::LwipEsp32 => ClosePolicy::Lwip,
            Profile::Smoltcp => ClosePolicy::Smoltcp,
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
    /// Which real stack's timers and retransmission rules tcpsim's layer around smoltcp keeps
    /// (`"smoltcp"`: none, smoltcp's own). The fields below apply to `"lwip"` and `"linux"`.
    pub emulate: Emulate,
    /// The first retransmission timeout. lwIP: the base RTO (`LWIP_TCP_RTO_TIME`), counted in
    /// 500 ms slow-timer ticks and adapting from there; Linux: `TCP_TIMEOUT_INIT`.
    pub rto_initial: Dur,
    /// Linux: the floor of the RTO's variance term (`TCP_RTO_MIN`): RTO = srtt + max(rto_min,
    /// 4·rttvar). lwIP: the slow-timer tick (500 ms), not settable.
    pub rto_min: Dur,
    /// Linux: the largest RTO (`TCP_RTO_MAX`). lwIP's waits are the base × 128 at most.
    pub rto_max: Dur,
    /// Retransmissions of one segment before the connection is dropped silently (lwIP
    /// `TCP_MAXRTX`, Linux `tcp_retries2`); 0 = never give up.
    pub max_retries: u32,
    /// lwIP: the phase of the 500 ms slow timer (retransmissions), or `"seed"`.
    pub slow_timer_phase: Phase,
    /// lwIP: the phase of the 250 ms fast timer (delayed ACKs), or `"seed"`.
    pub fast_timer_phase: Phase,
    /// How long TIME-WAIT lasts (lwIP 2 MSL = 120 s, Linux `TCP_TIMEWAIT_LEN` = 60 s).
    pub time_wait: Dur,
    /// How long a socket the application closed waits in FIN-WAIT-2 for the peer's FIN before it is
    /// dropped (lwIP `TCP_FIN_WAIT_TIMEOUT` 20 s, Linux `tcp_fin_timeout` 60 s), or `"off"`.
    pub fin_wait2: OptDur,
    /// Keep-alive (with `keep_alive` on, which is then the idle time before the first probe): time
    /// between unanswered probes.
    pub keep_alive_interval: Dur,
    /// Keep-alive: unanswered probes before the connection is reset.
    pub keep_alive_probes: u32,
}

/// The real stack whose timers and retransmission rules tcpsim keeps around smoltcp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Emulate {
    /// None: smoltcp's own timers and retransmissions.
    #[default]
    Smoltcp,
    /// lwIP (ESP-IDF): 500 ms slow timer, shift-from-base backoff, 250 ms fast timer.
    Lwip,
    /// Linux: RFC 6298 RTO with a 200 ms floor, quick ACKs.
    Linux,
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
    /// lwIP's: the pcb is aborted and sends RST|ACK with its own snd.nxt and rcv.nxt (`tcp_in.c`
    /// `TF_RXCLOSED` → `tcp_abort`); the data is discarded.
    Lwip,
}
