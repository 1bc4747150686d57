//! What a search's result is worth beyond its own run: how often the reproducer reproduces over
//! other seeds ([`robustness`]), and which of the model's `[search]` ranges the case sits at the
//! edge of ([`at_bounds`]: a nearest miss there says which range to widen).
//!
//! Guarantees: [`robustness`] runs seeds `seed, seed+1, …` (wrapping), as `tcpsim sweep` does, in
//! parallel with results counted in seed order, so the thread count does not change it;
//! [`at_bounds`] is a pure function of the model and the case.

use serde::Serialize;

use crate::model::{AppModel, Dur, LossModel, OutageSchedule, Scenario, SearchSpace};

use super::refine::Goal;
use super::sweep::par_map;

/// How often a reproducer reproduces over seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Robustness {
    /// Seeds run.
    pub seeds: u32,
    /// Runs whose finding matches the target at the tolerance.
    pub matched: u32,
    /// Runs that show the signature at all.
    pub shown: u32,
}

impl Robustness {
    /// The fraction of seeds that matched.
    pub fn rate(&self) -> f64 {
        if self.seeds == 0 {
            1.0
        } else {
            f64::from(self.matched) / f64::from(self.seeds)
        }
    }
}

/// Runs `s` with `seeds` seeds from its own on `threads` threads and counts the matches.
pub fn robustness(s: &Scenario, goal: &Goal, seeds: u32, threads: usize) -> Robustness {
    let cases: Vec<Scenario> = (0..u64::from(seeds))
        .map(|i| Scenario {
            seed: s.seed.wrapping_add(i),
            ..s.clone()
        })
        .collect();
    let results = par_map(&cases, threads, |_, c| goal.score(c).map(|sc| sc.matches()));
    Robustness {
        seeds,
        matched: results.iter().filter(|r| **r == Some(true)).count() as u32,
        shown: results.iter().filter(|r| r.is_some()).count() as u32,
    }
}

/// The `[search]` ranges of `base` that `case` sits at an end of, one line each
/// (`"window_length: window 3 is 30s, the range's upper end"`), in a fixed order.
pub fn at_bounds(base: &Scenario, case: &Scenario) -> Vec<String> {
    let sp = base.search.clone().unwrap_or_default();
    let mut out = Vec::new();
    if let OutageSchedule::Windows { windows } = &case.link.outage
        && sp.windows > 0
    {
        for (i, w) in windows.iter().enumerate() {
            edge(
                &mut out,
                "window_start",
                format!("window {}", i + 1),
                w.at,
                sp.window_start,
            );
            edge(
                &mut out,
                "window_length",
                format!("window {}", i + 1),
                w.len,
                sp.window_length,
            );
        }
    }
    for (name, d, own) in [
        ("uplink", case.link.uplink.delay, base.link.uplink.delay),
        (
            "downlink",
            case.link.downlink.delay,
            base.link.downlink.delay,
        ),
    ] {
        if d != own {
            edge(&mut out, "delay", format!("the {name} delay"), d, sp.delay);
        }
    }
    if let (Some(r), Some(v)) = (sp.idle_timeout, case.server.idle_timeout.0)
        && case.server.idle_timeout != base.server.idle_timeout
    {
        edge(
            &mut out,
            "idle_timeout",
            "the server's idle timeout".into(),
            Dur(v),
            r,
        );
    }
    if let Some(r) = sp.rto_initial
        && case.client.tcp.rto_initial != base.client.tcp.rto_initial
    {
        edge(
            &mut out,
            "rto_initial",
            "the client's initial RTO".into(),
            case.client.tcp.rto_initial,
            r,
        );
    }
    if let (Some(r), AppModel::Periodic { interval, .. }) = (sp.interval, &case.client.app)
        && case.client.app != base.client.app
    {
        edge(
            &mut out,
            "interval",
            "the message interval".into(),
            *interval,
            r,
        );
    }
    if let OutageSchedule::DutyCycle {
        period,
        down,
        phase,
        jitter,
    } = &case.link.outage
        && case.link.outage != base.link.outage
    {
        for (key, what, v, r) in [
            (
                "duty_period",
                "the duty cycle's period",
                period,
                sp.duty_period,
            ),
            (
                "duty_down",
                "the duty cycle's down time",
                down,
                sp.duty_down,
            ),
            ("duty_phase", "the duty cycle's phase", phase, sp.duty_phase),
            (
                "duty_jitter",
                "the duty cycle's jitter",
                jitter,
                sp.duty_jitter,
            ),
        ] {
            if let Some(r) = r {
                edge(&mut out, key, what.into(), *v, r);
            }
        }
    }
    if let OutageSchedule::Windows { windows } = &case.link.outage
        && sp.windows > 0
        && windows.len() >= sp.windows
    {
        out.push(format!(
            "windows: all {} windows the space allows are used",
            sp.windows
        ));
    }
    loss_bounds(&sp, case, &mut out);
    out
}

/// The loss knobs of `case` at an end of their range.
fn loss_bounds(sp: &SearchSpace, case: &Scenario, out: &mut Vec<String>) {
    for (name, l) in [
        ("uplink", &case.link.uplink.loss),
        ("downlink", &case.link.downlink.loss),
    ] {
        let (rate, burst) = match l {
            LossModel::Bernoulli { p } => (*p, None),
            LossModel::GilbertElliott {
                loss_rate,
                mean_burst,
            } => (*loss_rate, Some(*mean_burst)),
            _ => continue,
        };
        if sp.loss[1] > 0.0 && rate >= sp.loss[1] {
            out.push(format!(
                "loss: the {name} loss is {rate}, the range's upper end"
            ));
        }
        if let (Some(b), Some(r)) = (burst, sp.loss_burst)
            && r[0] < r[1]
            && (b <= r[0] || b >= r[1])
        {
            let end = if b <= r[0] { "lower" } else { "upper" };
            out.push(format!(
                "loss_burst: the {name} mean burst is {b} frames, the range's {end} end"
            ));
        }
    }
}

/// Adds "KEY: WHAT is V, the range's lower|upper end" to `out` when `v` is at an end of `r`.
fn edge(out: &mut Vec<String>, key: &str, what: String, v: Dur, r: [Dur; 2]) {
    if r[0] == r[1] {
        return;
    }
    let end = if v <= r[0] {
        "lower"
    } else if v >= r[1] {
        "upper"
    } else {
        return;
    };
    out.push(format!("{key}: {what} is {v}, the range's {end} end"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OptDur, Window};

    use crate::search::generic_model as generic;

    // Proves each range the case sits at an end of is named, with the value and which end: a
    // window at the latest start and the longest length, the uplink delay at the range's top, the
    // idle timeout at its bottom, and every window of the space in use; a value inside its range
    // (the second window) and a knob left at the model's own value (the downlink delay, 5 ms, below
    // the range) are not.
    #[test]
    fn names_the_ranges_at_their_ends() {
        let base = generic();
        let mut case = base.clone();
        case.link.outage = OutageSchedule::Windows {
            windows: vec![
                Window {
                    at: Dur::secs(2),
                    len: Dur::secs(3),
                },
                Window {
                    at: Dur::secs(10),
                    len: Dur::secs(5),
                },
                Window {
                    at: Dur::secs(40),
                    len: Dur::secs(30),
                },
            ],
        };
        case.link.uplink.delay = Dur::ms(20);
        case.server.idle_timeout = OptDur(Some(crate::clock::Duration::from_millis(14_900)));
        assert_eq!(
            at_bounds(&base, &case),
            [
                "window_start: window 3 is 40s, the range's upper end",
                "window_length: window 3 is 30s, the range's upper end",
                "delay: the uplink delay is 20ms, the range's upper end",
                "idle_timeout: the server's idle timeout is 14900ms, the range's lower end",
                "windows: all 3 windows the space allows are used",
            ]
        );
        assert!(at_bounds(&base, &base).is_empty());
        // Review regression: a knob at the model's own value is not "at a bound", even when the
        // model's value is a range's end (the 40 ms interval, range 40–60 ms).
        let mut own = base.clone();
        if let Some(sp) = &mut own.search {
            sp.interval = Some([Dur::ms(40), Dur::ms(60)]);
        }
        assert!(
            at_bounds(&own, &own).is_empty(),
            "{:?}",
            at_bounds(&own, &own)
        );
    }

    // Proves the rate is matched over seeds run, and a robustness not measured (no seeds) is 1.
    #[test]
    fn rate() {
        let r = Robustness {
            seeds: 10,
            matched: 3,
            shown: 9,
        };
        assert_eq!(r.rate(), 0.3);
        let none = Robustness {
            seeds: 0,
            matched: 0,
            shown: 0,
        };
        assert_eq!(none.rate(), 1.0);
    }
}
