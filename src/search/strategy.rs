//! The proptest strategy of the search: scenarios drawn around a model from its `[search]` table
//! ([`crate::model::SearchSpace`]).
//!
//! Every knob is a choice between the model's own value (first, so shrinking moves towards it) and
//! a range; outage windows are a list that shrinks to fewer and shorter windows. Guarantees: the
//! same proptest RNG gives the same scenarios (the draw order is fixed by the tuple in
//! [`strategy`]).

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use crate::clock::Duration;
use crate::model::{
    Affects, AppModel, Dur, LossModel, OptDur, OutagePolicy, OutageSchedule, Phase, Scenario,
    SearchSpace, Window,
};

fn ms(d: Dur) -> u64 {
    d.0.total_millis()
}

/// One draw of every knob, before it is applied to the base model.
#[derive(Debug, Clone)]
struct Draw {
    /// Outage windows as (start, length) in ms; `None` keeps the model's schedule.
    windows: Option<Vec<(u64, u64)>>,
    /// A duty cycle drawn from the space's `duty_*` ranges; `None` keeps the model's schedule.
    duty: Option<OutageSchedule>,
    /// The client's initial (base) RTO.
    rto_initial: Dur,
    affects: Affects,
    policy: OutagePolicy,
    up_loss: LossModel,
    down_loss: LossModel,
    up_delay: Dur,
    down_delay: Dur,
    idle: OptDur,
    nagle: bool,
    interval: Dur,
    /// The stack's timer phases and the station's wake phase from the seed (else the model's).
    phases_from_seed: bool,
    seed: u64,
}

/// Up to `sp.windows` outage windows, or the model's schedule when the space has none.
fn windows(sp: &SearchSpace) -> BoxedStrategy<Option<Vec<(u64, u64)>>> {
    let ws = (ms(sp.window_start[0]), ms(sp.window_start[1]));
    let wl = (
        ms(sp.window_length[0]).max(1),
        ms(sp.window_length[1]).max(1),
    );
    if sp.windows == 0 || sp.duty() {
        Just(None).boxed()
    } else {
        prop::collection::vec((ws.0..=ws.1, wl.0..=wl.1), 0..=sp.windows)
            .prop_map(Some)
            .boxed()
    }
}

/// The model's value first, then the space's other choices.
fn model_first<T: Clone + PartialEq + std::fmt::Debug + 'static>(
    own: T,
    others: &[T],
) -> BoxedStrategy<T> {
    let mut choices = vec![own.clone()];
    choices.extend(others.iter().filter(|o| **o != own).cloned());
    prop::sample::select(choices).boxed()
}

fn loss(sp: &SearchSpace, m: &LossModel) -> BoxedStrategy<LossModel> {
    if let (Some(b), true) = (sp.loss_burst, sp.loss[1] > 0.0) {
        let rate = sp.burst_rate();
        prop_oneof![
            Just(m.clone()),
            (sp.loss[0]..=sp.loss[1]).prop_map(|p| LossModel::Bernoulli { p }),
            (rate, b[0]..=b[1]).prop_map(|(loss_rate, mean_burst)| LossModel::GilbertElliott {
                loss_rate,
                mean_burst
            })
        ]
        .boxed()
    } else if sp.loss[1] > 0.0 {
        prop_oneof![
            Just(m.clone()),
            (sp.loss[0]..=sp.loss[1]).prop_map(|p| LossModel::Bernoulli { p })
        ]
        .boxed()
    } else {
        Just(m.clone()).boxed()
    }
}

fn delay(sp: &SearchSpace, d: Dur) -> BoxedStrategy<Dur> {
    prop_oneof![
        Just(d),
        (ms(sp.delay[0])..=ms(sp.delay[1])).prop_map(Dur::ms)
    ]
    .boxed()
}

fn idle(sp: &SearchSpace, own: OptDur) -> BoxedStrategy<OptDur> {
    match sp.idle_timeout {
        Some(r) => prop_oneof![
            Just(own),
            (ms(r[0])..=ms(r[1])).prop_map(|v| OptDur(Some(Duration::from_millis(v))))
        ]
        .boxed(),
        None => Just(own).boxed(),
    }
}

fn nagle(sp: &SearchSpace, own: bool) -> BoxedStrategy<bool> {
    if sp.nagle {
        prop_oneof![Just(own), Just(!own)].boxed()
    } else {
        Just(own).boxed()
    }
}

fn interval(sp: &SearchSpace, app: &AppModel) -> BoxedStrategy<Dur> {
    match (app, sp.interval) {
        (AppModel::Periodic { interval, .. }, Some(r)) => prop_oneof![
            Just(*interval),
            (ms(r[0]).max(1)..=ms(r[1]).max(1)).prop_map(Dur::ms)
        ]
        .boxed(),
        (AppModel::Periodic { interval, .. }, None) => Just(*interval).boxed(),
        _ => Just(Dur::ms(1)).boxed(),
    }
}

/// A schedule's duty-cycle period, down time, phase and jitter; for another schedule, 30 s, 5 s,
/// 0 s, 0 s (what a duty-cycle range left out of `[search]` then keeps).
fn duty_parts(own: &OutageSchedule) -> (Dur, Dur, Dur, Dur) {
    match own {
        OutageSchedule::DutyCycle {
            period,
            down,
            phase,
            jitter,
        } => (*period, *down, *phase, *jitter),
        _ => (Dur::secs(30), Dur::secs(5), Dur::zero(), Dur::zero()),
    }
}

/// A range in ms, or the model's value alone.
fn ms_range(r: Option<[Dur; 2]>, own: Dur) -> std::ops::RangeInclusive<u64> {
    r.map_or(ms(own)..=ms(own), |r| ms(r[0])..=ms(r[1]))
}

/// The model's schedule first, then duty cycles drawn from the space's `duty_*` ranges (a key not
/// given keeps the model's duty cycle's value, or 0 s for phase and jitter).
fn duty(sp: &SearchSpace, own: &OutageSchedule) -> BoxedStrategy<Option<OutageSchedule>> {
    if !sp.duty() {
        return Just(None).boxed();
    }
    let (p, d, ph, j) = duty_parts(own);
    let ranges = (
        ms_range(sp.duty_period, p),
        ms_range(sp.duty_down, d),
        ms_range(sp.duty_phase, ph),
        ms_range(sp.duty_jitter, j),
    );
    prop_oneof![
        Just(None),
        ranges.prop_map(
            |(period, down, phase, jitter)| Some(OutageSchedule::DutyCycle {
                period: Dur::ms(period),
                down: Dur::ms(down),
                phase: Dur::ms(phase),
                jitter: Dur::ms(jitter),
            })
        )
    ]
    .boxed()
}

/// The windows of a draw as a schedule: sorted, non-overlapping (a window starting inside the
/// previous one is moved to just after it).
pub(super) fn schedule(mut w: Vec<(u64, u64)>) -> OutageSchedule {
    w.sort_unstable();
    let mut list = Vec::new();
    let mut end = 0;
    for (start, len) in w {
        let start = start.max(end);
        list.push(Window {
            at: Dur::ms(start),
            len: Dur::ms(len),
        });
        end = start + len + 1;
    }
    if list.is_empty() {
        OutageSchedule::None
    } else {
        OutageSchedule::Windows { windows: list }
    }
}

/// `base` with the draw applied.
fn apply(base: &Scenario, d: Draw) -> Scenario {
    let mut s = base.clone();
    if let Some(w) = d.windows {
        s.link.outage = schedule(w);
    }
    if let Some(duty) = d.duty {
        s.link.outage = duty;
    }
    s.client.tcp.rto_initial = d.rto_initial;
    s.link.outage_affects = d.affects;
    s.link.on_outage = d.policy;
    s.link.uplink.loss = d.up_loss;
    s.link.downlink.loss = d.down_loss;
    s.link.uplink.delay = d.up_delay;
    s.link.downlink.delay = d.down_delay;
    s.server.idle_timeout = d.idle;
    s.client.tcp.nagle = d.nagle;
    if d.phases_from_seed {
        for t in [&mut s.client.tcp, &mut s.server.tcp] {
            t.slow_timer_phase = Phase::SEED;
            t.fast_timer_phase = Phase::SEED;
        }
        if let Some(ps) = &mut s.link.power_save {
            ps.phase = Phase::SEED;
        }
    }
    if let AppModel::Periodic { interval: i, .. } = &mut s.client.app {
        *i = d.interval;
    }
    s.seed = d.seed;
    s
}

/// Scenarios around `base`, drawn from its search space (or the defaults).
pub fn strategy(base: &Scenario) -> BoxedStrategy<Scenario> {
    let sp = base.search.clone().unwrap_or_default();
    let draws = (
        windows(&sp),
        model_first(base.link.outage_affects, &sp.directions),
        model_first(base.link.on_outage, &sp.policies),
        loss(&sp, &base.link.uplink.loss),
        loss(&sp, &base.link.downlink.loss),
        delay(&sp, base.link.uplink.delay),
        delay(&sp, base.link.downlink.delay),
        idle(&sp, base.server.idle_timeout),
        nagle(&sp, base.client.tcp.nagle),
        interval(&sp, &base.client.app),
        (
            prop_oneof![Just(base.seed), any::<u64>()],
            if sp.phases {
                any::<bool>().boxed()
            } else {
                Just(false).boxed()
            },
            duty(&sp, &base.link.outage),
            match sp.rto_initial {
                Some(r) => prop_oneof![
                    Just(base.client.tcp.rto_initial),
                    (ms(r[0])..=ms(r[1])).prop_map(Dur::ms)
                ]
                .boxed(),
                None => Just(base.client.tcp.rto_initial).boxed(),
            },
        ),
    );
    let base = base.clone();
    draws
        .prop_map(
            |(
                windows,
                affects,
                policy,
                up_loss,
                down_loss,
                up_delay,
                down_delay,
                idle,
                nagle,
                interval,
                (seed, phases_from_seed, duty, rto_initial),
            )| Draw {
                windows,
                duty,
                rto_initial,
                affects,
                policy,
                up_loss,
                down_loss,
                up_delay,
                down_delay,
                idle,
                nagle,
                interval,
                phases_from_seed,
                seed,
            },
        )
        .prop_map(move |d| apply(&base, d))
        .boxed()
}

/// `saved` if it is `ok`, else `own`.
fn pick<T>(ok: bool, saved: T, own: T) -> T {
    if ok { saved } else { own }
}

/// Whether `v` is `own` or within `[lo, hi]` (in ms).
fn allowed_ms(v: Dur, own: Dur, r: [Dur; 2]) -> bool {
    v == own || (ms(r[0])..=ms(r[1])).contains(&ms(v))
}

/// The outage windows of `saved` as a draw, if the space can draw them.
fn saved_windows(sp: &SearchSpace, saved: &OutageSchedule) -> Option<Vec<(u64, u64)>> {
    if sp.windows == 0 {
        return None;
    }
    let list: Vec<(u64, u64)> = match saved {
        OutageSchedule::None => Vec::new(),
        OutageSchedule::Windows { windows } => {
            windows.iter().map(|w| (ms(w.at), ms(w.len))).collect()
        }
        OutageSchedule::DutyCycle { .. } => return None,
    };
    let inside = |(at, len): &(u64, u64)| {
        *at >= ms(sp.window_start[0])
            && *len >= ms(sp.window_length[0]).max(1)
            && *len <= ms(sp.window_length[1]).max(1)
    };
    (list.len() <= sp.windows && list.iter().all(inside)).then_some(list)
}

/// The duty cycle of `saved` as a draw, if the space can draw it.
fn saved_duty(
    sp: &SearchSpace,
    own: &OutageSchedule,
    saved: &OutageSchedule,
) -> Option<OutageSchedule> {
    let OutageSchedule::DutyCycle {
        period,
        down,
        phase,
        jitter,
    } = saved
    else {
        return None;
    };
    let (p, d, ph, j) = duty_parts(own);
    let inside = ms_range(sp.duty_period, p).contains(&ms(*period))
        && ms_range(sp.duty_down, d).contains(&ms(*down))
        && ms_range(sp.duty_phase, ph).contains(&ms(*phase))
        && ms_range(sp.duty_jitter, j).contains(&ms(*jitter));
    (sp.duty() && inside && saved != own).then(|| saved.clone())
}

/// The point of `base`'s search space that `saved` (an earlier counterexample, possibly of an
/// older version of the model) was drawn at: every knob the space varies is taken from `saved`
/// when the space can draw its value, everything else from `base`. So a saved counterexample is
/// re-checked against the current model — a fix in a setting the space does not vary takes
/// effect — and a knob whose saved value the current space no longer allows keeps `base`'s.
pub fn replay(base: &Scenario, saved: &Scenario) -> Scenario {
    let sp = base.search.clone().unwrap_or_default();
    let (bl, sl) = (&base.link, &saved.link);
    let loss = |saved: &LossModel, own: &LossModel| match saved {
        LossModel::Bernoulli { p } if sp.loss[1] > 0.0 && (sp.loss[0]..=sp.loss[1]).contains(p) => {
            saved.clone()
        }
        LossModel::GilbertElliott {
            loss_rate,
            mean_burst,
        } if sp
            .loss_burst
            .is_some_and(|b| (b[0]..=b[1]).contains(mean_burst))
            && sp.burst_rate().contains(loss_rate) =>
        {
            saved.clone()
        }
        _ => own.clone(),
    };
    let interval = match (&base.client.app, &saved.client.app, sp.interval) {
        (
            AppModel::Periodic { interval: own, .. },
            AppModel::Periodic { interval: v, .. },
            Some(r),
        ) if allowed_ms(*v, *own, r) => *v,
        (AppModel::Periodic { interval: own, .. }, _, _) => *own,
        _ => Dur::ms(1),
    };
    let idle = match (sp.idle_timeout, saved.server.idle_timeout.0) {
        (Some(r), Some(v)) if allowed_ms(Dur(v), Dur(v), r) => saved.server.idle_timeout,
        _ => base.server.idle_timeout,
    };
    let draw = Draw {
        windows: saved_windows(&sp, &sl.outage),
        duty: saved_duty(&sp, &bl.outage, &sl.outage),
        rto_initial: match sp.rto_initial {
            Some(r) if allowed_ms(saved.client.tcp.rto_initial, base.client.tcp.rto_initial, r) => {
                saved.client.tcp.rto_initial
            }
            _ => base.client.tcp.rto_initial,
        },
        affects: pick(
            sp.directions.contains(&sl.outage_affects) || sl.outage_affects == bl.outage_affects,
            sl.outage_affects,
            bl.outage_affects,
        ),
        policy: pick(
            sp.policies.contains(&sl.on_outage) || sl.on_outage == bl.on_outage,
            sl.on_outage,
            bl.on_outage,
        ),
        up_loss: loss(&sl.uplink.loss, &bl.uplink.loss),
        down_loss: loss(&sl.downlink.loss, &bl.downlink.loss),
        up_delay: pick(
            allowed_ms(sl.uplink.delay, bl.uplink.delay, sp.delay),
            sl.uplink.delay,
            bl.uplink.delay,
        ),
        down_delay: pick(
            allowed_ms(sl.downlink.delay, bl.downlink.delay, sp.delay),
            sl.downlink.delay,
            bl.downlink.delay,
        ),
        idle,
        nagle: pick(sp.nagle, saved.client.tcp.nagle, base.client.tcp.nagle),
        interval,
        phases_from_seed: sp.phases
            && saved.client.tcp.slow_timer_phase == Phase::SEED
            && base.client.tcp.slow_timer_phase != Phase::SEED,
        seed: saved.seed,
    };
    apply(base, draw)
}
