//! The `[search]` table of the model format: the parameter space `tcpsim search` explores around a
//! model.
//!
//! Guarantees: only known keys are accepted, and an absent table or key means the defaults below.

use serde::{Deserialize, Serialize};

use super::{Affects, OutagePolicy};
use crate::clock::Dur;

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
    /// Also try the stacks' timer phases (lwIP's slow and fast timers) and the station's wake
    /// phase drawn from the seed where the model fixes them, so seeds explore their spread.
    #[serde(default = "default_true")]
    pub phases: bool,
    /// Range of a periodic client's message interval; absent keeps the model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<[Dur; 2]>,
    /// Range of the client's initial retransmission timeout, the base its backoff shifts (lwIP:
    /// `LWIP_TCP_RTO_TIME`, 1.5 s in ESP-IDF; with 500 ms ticks, 2 s is a base of 4 ticks and
    /// retransmissions 2, 6, 14, 30, 62 s after the timer starts); absent keeps the model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_initial: Option<[Dur; 2]>,
    /// Range of the mean number of frames a loss burst takes (Gilbert–Elliott loss, at a long-run
    /// rate drawn from `loss`); absent draws independent (Bernoulli) loss only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_burst: Option<[f64; 2]>,
    /// Range of a duty-cycled outage's period. Any `duty_*` key makes the search draw duty cycles
    /// (period, down time, phase, jitter) instead of outage windows; a key left out keeps the
    /// model's duty cycle's value (or 0 s for phase and jitter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duty_period: Option<[Dur; 2]>,
    /// Range of a duty-cycled outage's down time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duty_down: Option<[Dur; 2]>,
    /// Range of a duty-cycled outage's phase (where in each period it starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duty_phase: Option<[Dur; 2]>,
    /// Range of a duty-cycled outage's jitter (largest random delay of each start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duty_jitter: Option<[Dur; 2]>,
}

impl SearchSpace {
    /// The range burst loss draws its long-run rate from: `loss`, its lower end raised above 0
    /// (a Gilbert–Elliott rate must be positive) but never past its upper end.
    pub fn burst_rate(&self) -> std::ops::RangeInclusive<f64> {
        let hi = self.loss[1];
        self.loss[0].max(hi * 1e-3)..=hi
    }

    /// Whether the space draws duty cycles (any `duty_*` key).
    pub fn duty(&self) -> bool {
        self.duty_period.is_some()
            || self.duty_down.is_some()
            || self.duty_phase.is_some()
            || self.duty_jitter.is_some()
    }
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
            phases: true,
            interval: None,
            loss_burst: None,
            rto_initial: None,
            duty_period: None,
            duty_down: None,
            duty_phase: None,
            duty_jitter: None,
        }
    }
}
