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
    Affects, AppModel, Dur, LossModel, OptDur, OutagePolicy, OutageSchedule, Scenario, SearchSpace,
    Window,
};

fn ms(d: Dur) -> u64 {
    d.0.total_millis()
}

/// One draw of every knob, before it is applied to the base model, in draw order: outage windows as
/// (start, length) in ms (`None` keeps the model's schedule), affected directions, outage policy,
/// uplink and downlink loss, uplink and downlink delay, the server's idle timeout, Nagle, the
/// message interval, the seed.
type Draw = (
    Option<Vec<(u64, u64)>>,
    Affects,
    OutagePolicy,
    LossModel,
    LossModel,
    Dur,
    Dur,
    OptDur,
    bool,
    Dur,
    u64,
);

/// Up to `sp.windows` outage windows, or the model's schedule when the space has none.
fn windows(sp: &SearchSpace) -> BoxedStrategy<Option<Vec<(u64, u64)>>> {
    let ws = (ms(sp.window_start[0]), ms(sp.window_start[1]));
    let wl = (
        ms(sp.window_length[0]).max(1),
        ms(sp.window_length[1]).max(1),
    );
    if sp.windows == 0 {
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
    if sp.loss[1] > 0.0 {
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

/// The windows of a draw as a schedule: sorted, non-overlapping (a window starting inside the
/// previous one is moved to just after it).
fn schedule(mut w: Vec<(u64, u64)>) -> OutageSchedule {
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
    let (
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
        seed,
    ) = d;
    let mut s = base.clone();
    if let Some(w) = windows {
        s.link.outage = schedule(w);
    }
    s.link.outage_affects = affects;
    s.link.on_outage = policy;
    s.link.uplink.loss = up_loss;
    s.link.downlink.loss = down_loss;
    s.link.uplink.delay = up_delay;
    s.link.downlink.delay = down_delay;
    s.server.idle_timeout = idle;
    s.client.tcp.nagle = nagle;
    if let AppModel::Periodic { interval: i, .. } = &mut s.client.app {
        *i = interval;
    }
    s.seed = seed;
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
        prop_oneof![Just(base.seed), any::<u64>()],
    );
    let base = base.clone();
    draws.prop_map(move |d: Draw| apply(&base, d)).boxed()
}
