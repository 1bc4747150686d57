//! Refinement: after the generation phase has found a case that shows the signature, a local
//! search that keeps improving the case's distance to the target capture within a budget of
//! simulations, then a simplification pass that puts back the model's own value of every knob that
//! does not help.
//!
//! The method is a (1+λ) evolution strategy, written here rather than taken from an optimiser
//! crate because the space is not a vector of reals: a case is a model, and the moves that matter
//! are the model's own events, read from the case's finding (see `Move`): "cover the stale
//! retransmission with an outage that starts after the FIN's ACK" pushes it to the next backoff
//! slot (lwIP's 22.5 s to 46.5 s), "cover the FIN" makes the server retransmit it. The continuous
//! moves (an outage window's start and length, a delay, a timer or wake phase, a loss rate, the
//! idle timeout) take a normal step whose size is drawn log-uniformly from 1 ms to 5 s for every
//! mutant: the features react at every scale, from a 40 ms message slot to a backoff slot, and a
//! step size adapted to the last success starves the other scales. Every move stays inside the
//! model's `[search]` space (window starts and lengths are drawn in their ranges; overlapping
//! windows are then laid end to end, as the generation does, which can move a start later); an
//! event's window that would start past the space's latest start moves the whole episode (every
//! window) earlier instead.
//!
//! Guarantees: deterministic for a given start, target and seed (moves come from the
//! `Stream::Search` stream of the search seed; a generation's λ = [`LAMBDA`] mutants are evaluated
//! in parallel but compared in their fixed order, so the thread count does not change the result);
//! the returned case is never worse than the start (a matching start stays matching); the
//! simplification only accepts a change that keeps a match and does not increase the distance.

use crate::detect::Finding;
use crate::model::{
    Affects, Dur, LossModel, OptDur, OutagePolicy, OutageSchedule, Phase, Scenario, SearchSpace,
};
use crate::rng::{SimRng, Stream};
use crate::run::{Analyse, simulate};

use super::Target;
use super::matching::{self, Compared};
use super::strategy::schedule;
use super::sweep::par_map;

/// Mutants per generation (fixed, so the result does not depend on the machine's cores).
pub const LAMBDA: usize = 8;

/// Stop refining when every feature is within this fraction of what the tolerance allows (at the
/// default 5 % / 0.1 s: 0.5 % or 10 ms), closer than the captures' own timestamps are meaningful.
const PRECISE: f64 = 0.1;

/// A simulated case and its finding closest to the target.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The case.
    pub scenario: Scenario,
    /// Its finding of the signature that is closest to the target.
    pub finding: Finding,
    /// Every target feature compared with the finding.
    pub compared: Vec<Compared>,
    /// [`matching::score`] of `compared`.
    pub score: f64,
}

impl Scored {
    /// Whether every feature matches.
    pub fn matches(&self) -> bool {
        self.compared.iter().all(|c| c.matches)
    }

    /// Whether `self` is strictly better than `other`: a match beats a miss, then the lower score.
    fn better_than(&self, other: &Scored) -> bool {
        match (self.matches(), other.matches()) {
            (true, false) => true,
            (false, true) => false,
            _ => self.score < other.score,
        }
    }
}

/// What the refinement compares against: the signature, the target and the tolerance.
#[derive(Debug, Clone, Copy)]
pub struct Goal<'a> {
    /// The signature.
    pub signature: &'a str,
    /// The target's features.
    pub target: &'a Target,
    /// Relative tolerance.
    pub tol: f64,
    /// Absolute floor of timing features, in seconds.
    pub floor: f64,
}

impl Goal<'_> {
    /// Simulates `s` (no outputs) and returns its finding of the signature closest to the target,
    /// or `None` when the run shows none (or fails).
    pub fn score(&self, s: &Scenario) -> Option<Scored> {
        let report = simulate(s, &mut (), Analyse::Yes).ok()?;
        let mut best: Option<Scored> = None;
        for f in report.summary.findings {
            if f.signature != self.signature {
                continue;
            }
            let compared = matching::compare(&f, &self.target.features, self.tol, self.floor);
            let score = matching::score(&compared);
            let this = Scored {
                scenario: s.clone(),
                finding: f,
                compared,
                score,
            };
            if best.as_ref().is_none_or(|b| this.better_than(b)) {
                best = Some(this);
            }
        }
        best
    }
}

/// The budget of a refinement.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Most simulations of the local search (in generations of [`LAMBDA`]); the simplification
    /// adds at most one per window and knob.
    pub runs: u32,
    /// The search seed (moves are drawn from its `Stream::Search` stream).
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
}

/// How a refinement went.
#[derive(Debug, Clone)]
pub struct Refined {
    /// The best case.
    pub best: Scored,
    /// Simulations spent.
    pub runs: u64,
    /// The start's score.
    pub start_score: f64,
}

/// Refines `start` (a case of `base`'s search space) towards `goal` within `budget`, then
/// simplifies it; `progress(runs, budget)` after every generation.
pub fn refine(
    base: &Scenario,
    start: Scored,
    goal: &Goal,
    budget: &Budget,
    progress: &mut dyn FnMut(u64, u64),
) -> Refined {
    let sp = base.search.clone().unwrap_or_default();
    let mut rng = SimRng::new(budget.seed, Stream::Search);
    let start_score = start.score;
    let mut best = start;
    let mut runs = 0u64;
    let total = u64::from(budget.runs);
    while runs + LAMBDA as u64 <= total && !precise(&best) {
        let mutants: Vec<Scenario> = (0..LAMBDA)
            .map(|_| {
                // A step size log-uniform between 1 ms and 5 s: the features react to every
                // scale, from a 40 ms message slot to a backoff slot's seconds.
                let step_ms = 10f64.powf(rng.unit() * 3.7);
                mutate(&best, &sp, &mut rng, step_ms)
            })
            .collect();
        let scored = par_map(&mutants, budget.threads, |_, s| {
            s.validate().ok().and_then(|_| goal.score(s))
        });
        runs += LAMBDA as u64;
        let winner = scored
            .into_iter()
            .flatten()
            .fold(None::<Scored>, |acc, s| match acc {
                Some(a) if !s.better_than(&a) => Some(a),
                _ => Some(s),
            });
        if let Some(w) = winner.filter(|w| w.better_than(&best)) {
            best = w;
        }
        progress(runs, total);
    }
    let (best, simplify_runs) = simplify(base, best, goal);
    Refined {
        best,
        runs: runs + simplify_runs,
        start_score,
    }
}

/// Whether every feature is within [`PRECISE`] of what the tolerance allows.
fn precise(s: &Scored) -> bool {
    s.compared.iter().all(|c| c.distance <= PRECISE)
}

/// One change to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    /// Move an outage window's start.
    Shift,
    /// Change an outage window's length.
    Stretch,
    /// Add an outage from just after the device's ACK of the FIN to just after the stale data, so
    /// that retransmission is lost and the next backoff slot's comes instead.
    CoverStale,
    /// Add an outage over the server's FIN, so the server retransmits it.
    CoverFin,
    /// Remove an outage window.
    Drop,
    /// Change a one-way delay.
    Delay,
    /// Set or move a timer phase or the station's wake phase.
    Phase,
    /// Draw another model seed (loss draws, phases from the seed).
    Reseed,
    /// Change a loss rate.
    Loss,
    /// Change the server's idle timeout.
    Idle,
    /// Change the client's message interval.
    Interval,
    /// Another direction or policy of the outages.
    Kind,
    /// Change a duty cycle's period, down time, phase or jitter.
    Duty,
    /// Change the client's initial (base) RTO.
    Rto,
}

/// The moves `sp` allows on a case with `windows` outage windows and `finding`.
fn moves(sp: &SearchSpace, windows: usize, finding: &Finding) -> Vec<Move> {
    let mut m = Vec::new();
    if sp.duty() {
        m.extend([Move::Duty, Move::Duty]);
    } else if sp.windows > 0 {
        if windows > 0 {
            m.extend([Move::Shift, Move::Shift, Move::Stretch, Move::Stretch]);
            m.push(Move::Drop);
        }
        let has = |k: &str| finding.features.contains_key(k);
        if has("ack_to_stale_s") {
            m.push(Move::CoverStale);
        }
        if has("fin_to_ack_s") {
            m.push(Move::CoverFin);
        }
    }
    if sp.delay[0] < sp.delay[1] {
        m.push(Move::Delay);
    }
    if sp.phases {
        m.extend([Move::Phase, Move::Phase]);
    }
    m.push(Move::Reseed);
    if sp.loss[1] > 0.0 {
        m.push(Move::Loss);
    }
    if sp.idle_timeout.is_some() {
        m.push(Move::Idle);
    }
    if sp.interval.is_some() {
        m.push(Move::Interval);
    }
    if sp.rto_initial.is_some() {
        m.push(Move::Rto);
    }
    if sp.directions.len() + sp.policies.len() > 2 {
        m.push(Move::Kind);
    }
    m
}

/// A normal draw (Box–Muller) with standard deviation `sd`.
fn normal(rng: &mut SimRng, sd: f64) -> f64 {
    let u = rng.unit().max(f64::MIN_POSITIVE);
    let v = rng.unit();
    sd * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn pick<T: Copy>(rng: &mut SimRng, items: &[T]) -> T {
    items[rng.up_to(items.len() as u64 - 1) as usize]
}

/// `v_ms` moved by a normal step of `sd_ms`, kept inside `[lo, hi]`, to the millisecond (model
/// files stay readable).
fn step(rng: &mut SimRng, v_ms: f64, sd_ms: f64, [lo, hi]: [Dur; 2]) -> Dur {
    let lo = lo.0.total_micros() as f64 / 1000.0;
    let hi = hi.0.total_micros() as f64 / 1000.0;
    Dur::ms((v_ms + normal(rng, sd_ms)).clamp(lo, hi.max(lo)).round() as u64)
}

fn ms(d: Dur) -> f64 {
    d.0.total_micros() as f64 / 1000.0
}

/// The windows of a case as (start, length) in µs (empty unless it has a window list).
fn windows_us(s: &Scenario) -> Vec<(u64, u64)> {
    match &s.link.outage {
        OutageSchedule::Windows { windows } => windows
            .iter()
            .map(|w| (w.at.0.total_micros(), w.len.0.total_micros()))
            .collect(),
        _ => Vec::new(),
    }
}

/// A mutant of `from`: one move, sometimes two.
fn mutate(from: &Scored, sp: &SearchSpace, rng: &mut SimRng, step_ms: f64) -> Scenario {
    let mut s = from.scenario.clone();
    let count = if rng.chance(0.3) { 2 } else { 1 };
    for _ in 0..count {
        let ws = windows_us(&s);
        let choices = moves(sp, ws.len(), &from.finding);
        if choices.is_empty() {
            break;
        }
        apply_move(&mut s, pick(rng, &choices), from, sp, rng, step_ms);
    }
    s
}

/// Adds the window [start, end] (µs) to `ws`: when it would start past the space's latest start,
/// every window moves earlier by the excess first (the episode keeps its shape), if they can.
fn add_window(ws: &mut Vec<(u64, u64)>, sp: &SearchSpace, start_us: u64, end_us: u64) {
    make_room(ws, sp.windows);
    let (first, last) = (
        sp.window_start[0].0.total_micros(),
        sp.window_start[1].0.total_micros(),
    );
    let excess = start_us.saturating_sub(last);
    let earliest = ws.iter().map(|w| w.0).min().unwrap_or(u64::MAX);
    let room = earliest.checked_sub(excess).is_some_and(|e| e >= first);
    let (start_us, end_us) = if excess > 0 && room {
        for w in ws.iter_mut() {
            w.0 -= excess;
        }
        (start_us - excess, end_us.saturating_sub(excess))
    } else {
        (start_us, end_us)
    };
    let lo = sp.window_length[0].0.total_micros().max(1000);
    let hi = sp.window_length[1].0.total_micros().max(lo);
    let at = start_us.clamp(first, last);
    ws.push((at, end_us.saturating_sub(at).clamp(lo, hi)));
}

/// The moves on the outage windows `ws` (µs).
fn window_move(
    ws: &mut Vec<(u64, u64)>,
    mv: Move,
    from: &Scored,
    sp: &SearchSpace,
    rng: &mut SimRng,
    step_ms: f64,
) {
    let feature = |k: &str| from.finding.features.get(k).copied();
    let us = |secs: f64| (secs.max(0.0) * 1e6) as u64;
    match mv {
        Move::Shift | Move::Stretch | Move::Drop if !ws.is_empty() => {
            let i = rng.up_to(ws.len() as u64 - 1) as usize;
            let (at, len) = ws[i];
            match mv {
                Move::Shift => {
                    let at = step(rng, at as f64 / 1000.0, step_ms, sp.window_start);
                    ws[i].0 = at.0.total_micros();
                }
                Move::Stretch => {
                    let len = step(rng, len as f64 / 1000.0, step_ms, sp.window_length);
                    ws[i].1 = len.0.total_micros().max(1000);
                }
                _ => {
                    ws.remove(i);
                }
            }
        }
        Move::CoverStale => {
            if let Some(a2s) = feature("ack_to_stale_s") {
                let stale = from.finding.at_s;
                let after_ack = 0.001 + rng.unit() * 0.3;
                let past_stale = 0.001 + rng.unit() * 0.5;
                let (at, end) = (us(stale - a2s + after_ack), us(stale + past_stale));
                // A window already between the ACK and the stale data is stretched over it;
                // else a window is added.
                match ws
                    .iter_mut()
                    .find(|w| w.0 >= us(stale - a2s) && w.0 < us(stale))
                {
                    Some(w) => {
                        let lo = sp.window_length[0].0.total_micros().max(1000);
                        let hi = sp.window_length[1].0.total_micros().max(lo);
                        w.1 = end.saturating_sub(w.0).clamp(lo, hi);
                    }
                    None => add_window(ws, sp, at, end),
                }
            }
        }
        Move::CoverFin => {
            if let (Some(f2a), Some(a2s)) = (feature("fin_to_ack_s"), feature("ack_to_stale_s")) {
                let fin = from.finding.at_s - a2s - f2a;
                let len = 0.01 + rng.unit() * 0.5;
                add_window(ws, sp, us(fin - 0.005), us(fin + len));
            }
        }
        _ => {}
    }
}

fn apply_move(
    s: &mut Scenario,
    mv: Move,
    from: &Scored,
    sp: &SearchSpace,
    rng: &mut SimRng,
    step_ms: f64,
) {
    let mut ws = windows_us(s);
    match mv {
        Move::Shift | Move::Stretch | Move::Drop | Move::CoverStale | Move::CoverFin => {
            window_move(&mut ws, mv, from, sp, rng, step_ms);
        }
        Move::Delay => {
            let d = if rng.chance(0.5) {
                &mut s.link.uplink.delay
            } else {
                &mut s.link.downlink.delay
            };
            *d = step(rng, ms(*d), (step_ms / 100.0).max(0.5), sp.delay);
        }
        Move::Phase => phase_move(s, rng, step_ms),
        Move::Duty => duty_move(s, sp, rng, step_ms),
        Move::Rto => {
            if let Some(r) = sp.rto_initial {
                let rto = &mut s.client.tcp.rto_initial;
                *rto = step(rng, ms(*rto), step_ms, r);
            }
        }
        Move::Reseed => s.seed = rng.next_u64(),
        Move::Loss => {
            let l = if rng.chance(0.5) {
                &mut s.link.uplink.loss
            } else {
                &mut s.link.downlink.loss
            };
            let sd = (sp.loss[1] - sp.loss[0]) / 4.0;
            *l = match (l.clone(), sp.loss_burst) {
                (
                    LossModel::GilbertElliott {
                        loss_rate,
                        mean_burst,
                    },
                    Some(b),
                ) => LossModel::GilbertElliott {
                    loss_rate: (loss_rate + normal(rng, sd))
                        .clamp(*sp.burst_rate().start(), *sp.burst_rate().end()),
                    mean_burst: (mean_burst + normal(rng, (b[1] - b[0]) / 4.0)).clamp(b[0], b[1]),
                },
                (other, _) => {
                    let p = match other {
                        LossModel::Bernoulli { p } => p,
                        _ => 0.0,
                    };
                    let p = (p + normal(rng, sd)).clamp(sp.loss[0], sp.loss[1]);
                    LossModel::Bernoulli { p }
                }
            };
        }
        Move::Idle => {
            if let (Some(r), Some(v)) = (sp.idle_timeout, s.server.idle_timeout.0) {
                let moved = step(rng, v.total_micros() as f64 / 1000.0, step_ms, r);
                s.server.idle_timeout = OptDur(Some(moved.0));
                // Half the time the station's wake grid moves with the FIN, so the FIN still
                // finds the station as it did (awake, or dozing as long).
                if sp.phases && rng.chance(0.5) {
                    let by = moved.0.total_micros() as i64 - v.total_micros() as i64;
                    shift_wake(s, by);
                }
            }
        }
        Move::Interval => {
            if let (Some(r), crate::model::AppModel::Periodic { interval, .. }) =
                (sp.interval, &mut s.client.app)
            {
                *interval = step(rng, ms(*interval), (step_ms / 50.0).max(1.0), r);
            }
        }
        Move::Kind => {
            if rng.chance(0.5) && !sp.directions.is_empty() {
                s.link.outage_affects = pick::<Affects>(rng, &sp.directions);
            } else if !sp.policies.is_empty() {
                s.link.on_outage = pick::<OutagePolicy>(rng, &sp.policies);
            }
        }
    }
    if sp.windows > 0 && !sp.duty() {
        let w = ws.into_iter().map(|(a, l)| (a / 1000, (l / 1000).max(1)));
        s.link.outage = schedule(w.collect());
    }
}

/// Moves one of a duty cycle's parts that the space gives a range, within it.
fn duty_move(s: &mut Scenario, sp: &SearchSpace, rng: &mut SimRng, step_ms: f64) {
    let OutageSchedule::DutyCycle {
        period,
        down,
        phase,
        jitter,
    } = &mut s.link.outage
    else {
        return;
    };
    let parts = [
        (period, sp.duty_period),
        (down, sp.duty_down),
        (phase, sp.duty_phase),
        (jitter, sp.duty_jitter),
    ];
    let ranged: Vec<_> = parts.into_iter().filter(|(_, r)| r.is_some()).collect();
    if ranged.is_empty() {
        return;
    }
    let i = rng.up_to(ranged.len() as u64 - 1) as usize;
    let (part, range) = ranged.into_iter().nth(i).expect("in range");
    let range = range.expect("filtered");
    *part = step(rng, ms(*part), step_ms, range);
}

/// Removes the latest window when `ws` already has the space's most (a window added for an event
/// replaces the one after the others).
fn make_room(ws: &mut Vec<(u64, u64)>, most: usize) {
    while !ws.is_empty() && ws.len() >= most {
        let last = (0..ws.len()).max_by_key(|&i| ws[i].0).unwrap_or(0);
        ws.remove(last);
    }
}

/// Moves the station's wake phase by `by_us` (a phase from the seed is first fixed at the value the
/// seed gives it, as the link draws it).
fn shift_wake(s: &mut Scenario, by_us: i64) {
    let seed = s.seed;
    let Some(p) = &mut s.link.power_save else {
        return;
    };
    let period = p.beacon_interval.0 * p.dtim.max(1);
    let draw = SimRng::new(seed, Stream::PowerSave).unit();
    let now = p.phase.resolve(period, draw).total_micros() as i64;
    let period = period.total_micros().max(1000) as i64;
    let ms = (now + by_us).rem_euclid(period) / 1000;
    p.phase = Phase(Some(crate::clock::Duration::from_millis(ms as u64)));
}

/// Sets or moves one of the client's timer phases or the station's wake phase: a phase drawn from
/// the seed becomes a uniform draw on its grid, a fixed one moves by a step.
fn phase_move(s: &mut Scenario, rng: &mut SimRng, step_ms: f64) {
    let ps_period = s
        .link
        .power_save
        .as_ref()
        .map(|p| p.beacon_interval.0.total_micros() * u64::from(p.dtim.max(1)));
    let which = rng.up_to(if ps_period.is_some() { 2 } else { 1 });
    let (phase, period_us) = match which {
        0 => (&mut s.client.tcp.slow_timer_phase, 500_000),
        1 => (&mut s.client.tcp.fast_timer_phase, 250_000),
        _ => match (&mut s.link.power_save, ps_period) {
            (Some(p), Some(period)) => (&mut p.phase, period),
            _ => return,
        },
    };
    let now = match phase.0 {
        Some(d) => d.total_micros() as f64,
        None => rng.unit() * period_us as f64,
    };
    let moved = (now + normal(rng, step_ms * 1000.0 / 4.0)).rem_euclid(period_us as f64);
    let moved_ms = (moved / 1000.0).round() as u64 % (period_us / 1000).max(1);
    *phase = Phase(Some(crate::clock::Duration::from_millis(moved_ms)));
}

/// Puts back the model's own value of every knob whose change does not help: each tried once, in
/// a fixed order, kept when the case still matches (if it did) and its score does not grow.
/// Returns the simplified case and the simulations spent.
fn simplify(base: &Scenario, mut best: Scored, goal: &Goal) -> (Scored, u64) {
    let mut runs = 0;
    let edits: Vec<fn(&mut Scenario, &Scenario, usize)> = vec![
        |s, _, i| {
            let mut ws = windows_us(s);
            if i < ws.len() {
                ws.remove(i);
                let w = ws.into_iter().map(|(a, l)| (a / 1000, (l / 1000).max(1)));
                s.link.outage = schedule(w.collect());
            }
        },
        |s, b, _| s.link.uplink.loss = b.link.uplink.loss.clone(),
        |s, b, _| s.link.downlink.loss = b.link.downlink.loss.clone(),
        |s, b, _| s.link.uplink.delay = b.link.uplink.delay,
        |s, b, _| s.link.downlink.delay = b.link.downlink.delay,
        |s, b, _| s.server.idle_timeout = b.server.idle_timeout,
        |s, b, _| s.client.app = b.client.app.clone(),
        |s, b, _| s.client.tcp.nagle = b.client.tcp.nagle,
        |s, b, _| s.client.tcp.rto_initial = b.client.tcp.rto_initial,
        |s, b, _| s.client.tcp.fast_timer_phase = b.client.tcp.fast_timer_phase,
        |s, b, _| s.client.tcp.slow_timer_phase = b.client.tcp.slow_timer_phase,
        |s, b, _| s.server.tcp = b.server.tcp.clone(),
        |s, b, _| {
            if let (Some(p), Some(bp)) = (&mut s.link.power_save, &b.link.power_save) {
                p.phase = bp.phase;
            }
        },
        |s, b, _| s.seed = b.seed,
        |s, b, _| s.link.outage = b.link.outage.clone(),
    ];
    let windows = windows_us(&best.scenario).len();
    let tries = (0..windows)
        .rev()
        .map(|i| (0, i))
        .chain((1..edits.len()).map(|e| (e, 0)));
    for (e, i) in tries {
        let mut s = best.scenario.clone();
        edits[e](&mut s, base, i);
        if s == best.scenario || s.validate().is_err() {
            continue;
        }
        runs += 1;
        if let Some(c) = goal.score(&s)
            && (c.matches() || !best.matches())
            && c.score <= best.score
        {
            best = c;
        }
    }
    (best, runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Window;
    use std::collections::BTreeMap;

    use crate::search::generic_model as generic;

    // Review regressions: mutating cases of odd but valid spaces neither panics nor leaves the
    // space's ranges: burst loss whose rate range tops out below 1e-4 (the clamp's ends crossed),
    // and a window added past the latest start when the space starts at 0 s (the episode moved
    // earlier by more than a window's start underflowed). Every mutant's windows keep lengths in
    // range and its loss in range.
    #[test]
    fn odd_spaces_mutate_without_panics() {
        let mut base = generic();
        let sp = SearchSpace {
            windows: 2,
            window_start: [Dur::zero(), Dur::secs(5)],
            window_length: [Dur::ms(100), Dur::secs(30)],
            loss: [0.0, 0.00005],
            loss_burst: Some([1.0, 5.0]),
            ..SearchSpace::default()
        };
        base.search = Some(sp.clone());
        let mut case = base.clone();
        case.link.uplink.loss = LossModel::GilbertElliott {
            loss_rate: 0.00004,
            mean_burst: 2.0,
        };
        case.link.outage = OutageSchedule::Windows {
            windows: vec![Window {
                at: Dur::secs(1),
                len: Dur::secs(1),
            }],
        };
        let features: BTreeMap<String, f64> = [("ack_to_stale_s", 7.0), ("fin_to_ack_s", 0.02)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let from = Scored {
            scenario: case,
            finding: Finding {
                signature: "stale-seq-after-fin".into(),
                at_s: 30.0,
                features,
            },
            compared: Vec::new(),
            score: 1.0,
        };
        let mut rng = SimRng::new(7, Stream::Search);
        for _ in 0..3000 {
            let step_ms = 10f64.powf(rng.unit() * 3.7);
            let m = mutate(&from, &sp, &mut rng, step_ms);
            for (at, len) in windows_us(&m) {
                assert!((100_000..=30_000_000).contains(&len), "{len}");
                // Starts in [0, 5 s], laid end to end after at most one earlier window.
                assert!(at <= 36_000_000, "{at}");
            }
            for l in [&m.link.uplink.loss, &m.link.downlink.loss] {
                if let LossModel::GilbertElliott { loss_rate, .. } = l {
                    assert!(*loss_rate > 0.0 && *loss_rate <= 0.00005, "{loss_rate}");
                }
            }
        }
    }
}
