//! The `[link]` table of the model format: per-direction delay, bandwidth, queue and loss, the
//! outage schedule and what a down link does, WiFi power save and a middlebox.
//!
//! Guarantees: only known keys are accepted, and every field left out gets the default documented
//! on it. Whether values make sense together is checked by [`Scenario::validate`].
//!
//! [`Scenario::validate`]: super::Scenario::validate

use serde::{Deserialize, Serialize};

use crate::clock::{Dur, Duration, Phase};

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
    /// Where the wake-ups fall on their grid (an offset from time zero), or `"seed"` (default).
    #[serde(default)]
    pub phase: Phase,
    /// The station stays awake this long after it sends or receives a frame (default 50 ms,
    /// ESP-IDF's `CONFIG_ESP_WIFI_SLP_DEFAULT_MIN_ACTIVE_TIME`), so a peer answering within it
    /// reaches it at once; `"0s"` for a station that dozes right away.
    #[serde(default = "default_awake_after")]
    pub awake_after: Dur,
}

fn default_awake_after() -> Dur {
    Dur::ms(50)
}

impl Default for PowerSave {
    /// ESP-IDF's modem sleep with the format's defaults: 102.4 ms beacons, DTIM 1, 6 s beacon
    /// loss, wake phase from the seed, awake 50 ms after traffic.
    fn default() -> PowerSave {
        PowerSave {
            beacon_interval: default_beacon(),
            dtim: default_dtim(),
            beacon_loss: default_beacon_loss(),
            phase: Phase::SEED,
            awake_after: default_awake_after(),
        }
    }
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
#[non_exhaustive]
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
#[non_exhaustive]
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
