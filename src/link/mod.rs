//! The simulated path: two independent directions (uplink = client → server, downlink = server →
//! client), each with a delay, an optional serialisation rate and queue, random loss, and a shared
//! outage schedule that drops or holds frames.
//!
//! Guarantees:
//! - a frame's fate is decided when it is offered ([`Link::handle_frame`]), from the model, the
//!   direction's own random stream and the (deterministic) schedule, so the trace can record it at
//!   once;
//! - frames leave each direction in the order they were offered (held frames first, on release);
//!   deliveries across directions are ordered by arrival time, then by frame id;
//! - [`Link::poll_at`] reports the next arrival or outage edge, so idle time costs nothing.
//!
//! Modelling choices: a frame is judged at the instant it is offered; one already on its way when an
//! outage begins still arrives. Held frames are not subject to random loss (the access point's
//! buffered frames are sent with link-layer retries). Serialisation time is counted for frames that
//! are then lost on the air.

pub mod loss;
pub mod schedule;

use std::collections::VecDeque;
use std::sync::Arc;

use crate::clock::{Duration, Instant};
use crate::model::{Affects, DirectionModel, LinkModel, OutagePolicy};
use crate::rng::{SimRng, Stream};
use crate::trace::{Dir, Fate};
use loss::Loss;
use schedule::Schedule;

/// A frame in flight.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// Frame id (offer order across the whole link).
    pub id: u64,
    /// Direction.
    pub dir: Dir,
    /// IP packet bytes.
    pub bytes: Arc<[u8]>,
    /// When it arrives.
    pub at: Instant,
}

#[derive(Debug)]
struct Direction {
    dir: Dir,
    delay: Duration,
    bandwidth_bps: Option<u64>,
    queue_limit: Option<usize>,
    loss: Loss,
    rng: SimRng,
    affected: bool,
    /// When the transmitter is free again.
    busy_until: Instant,
    /// Serialisation end times of frames still queued (only tracked with a queue limit).
    queued: VecDeque<Instant>,
    /// Frames held in the current outage window: (window start, count).
    held: (Instant, usize),
    in_flight: VecDeque<Arrival>,
}

impl Direction {
    fn new(dir: Dir, m: &DirectionModel, affected: bool, rng: SimRng) -> Direction {
        Direction {
            dir,
            delay: m.delay.0,
            bandwidth_bps: m.bandwidth_bps,
            queue_limit: m.queue_limit,
            loss: Loss::new(&m.loss),
            rng,
            affected,
            busy_until: Instant::ZERO,
            queued: VecDeque::new(),
            held: (Instant::from_micros(i64::MIN), 0),
            in_flight: VecDeque::new(),
        }
    }

    fn serialisation(&self, len: usize) -> Duration {
        match self.bandwidth_bps {
            None => Duration::ZERO,
            Some(bps) => Duration::from_micros((len as u64 * 8 * 1_000_000).div_ceil(bps)),
        }
    }

    /// Puts a frame on the wire no earlier than `from`; returns its arrival time.
    fn transmit(&mut self, from: Instant, len: usize) -> Instant {
        let departure = from.max(self.busy_until) + self.serialisation(len);
        self.busy_until = departure;
        if self.queue_limit.is_some() {
            self.queued.push_back(departure);
        }
        departure + self.delay
    }
}

/// The two-direction link with its outage schedule.
#[derive(Debug)]
pub struct Link {
    up: Direction,
    down: Direction,
    schedule: Schedule,
    policy: OutagePolicy,
    hold_limit: usize,
    /// All outage edges at or before this instant have been reported.
    edges_done: Instant,
    /// Edges found but not yet returned by `poll_edge` (at most two per instant).
    pending_edges: VecDeque<(Instant, Dir, bool)>,
    next_id: u64,
}

impl Link {
    /// A link for `model`, drawing from the seed's link streams.
    pub fn new(model: &LinkModel, seed: u64) -> Link {
        let (ua, da) = match model.outage_affects {
            Affects::Both => (true, true),
            Affects::Uplink => (true, false),
            Affects::Downlink => (false, true),
        };
        Link {
            up: Direction::new(
                Dir::Uplink,
                &model.uplink,
                ua,
                SimRng::new(seed, Stream::UplinkLoss),
            ),
            down: Direction::new(
                Dir::Downlink,
                &model.downlink,
                da,
                SimRng::new(seed, Stream::DownlinkLoss),
            ),
            schedule: Schedule::new(&model.outage, SimRng::new(seed, Stream::Schedule)),
            policy: model.on_outage,
            hold_limit: model.hold_limit,
            edges_done: Instant::from_micros(i64::MIN),
            pending_edges: VecDeque::new(),
            next_id: 0,
        }
    }

    fn dir_mut(&mut self, dir: Dir) -> &mut Direction {
        match dir {
            Dir::Uplink => &mut self.up,
            Dir::Downlink => &mut self.down,
        }
    }

    /// Offers a frame at `now`; returns its id and fate. Delivered and held frames are queued for
    /// [`Link::poll_delivery`].
    pub fn handle_frame(&mut self, now: Instant, dir: Dir, bytes: Arc<[u8]>) -> (u64, Fate) {
        let id = self.next_id;
        self.next_id += 1;
        let outage = self.schedule.down_window(now);
        let (policy, hold_limit) = (self.policy, self.hold_limit);
        let d = self.dir_mut(dir);
        while d.queued.front().is_some_and(|&t| t <= now) {
            d.queued.pop_front();
        }
        let len = bytes.len();
        let fate = match outage.filter(|_| d.affected) {
            Some(w) => match policy {
                OutagePolicy::Drop => Fate::OutageDropped,
                OutagePolicy::Hold => {
                    if d.held.0 != w.start {
                        d.held = (w.start, 0);
                    }
                    if d.held.1 >= hold_limit {
                        Fate::HoldOverflow
                    } else {
                        d.held.1 += 1;
                        let at = d.transmit(w.end, len);
                        Fate::Held { until: w.end, at }
                    }
                }
            },
            None => {
                if d.queue_limit.is_some_and(|limit| d.queued.len() >= limit) {
                    Fate::QueueDropped
                } else {
                    let at = d.transmit(now, len);
                    if d.loss.lose(&mut d.rng) {
                        Fate::Lost
                    } else {
                        Fate::Delivered { at }
                    }
                }
            }
        };
        if let Fate::Delivered { at } | Fate::Held { at, .. } = fate {
            debug_assert!(
                d.in_flight.back().is_none_or(|b| b.at <= at),
                "FIFO per direction"
            );
            d.in_flight.push_back(Arrival {
                id,
                dir: d.dir,
                bytes,
                at,
            });
        }
        (id, fate)
    }

    /// The next frame due at or before `now`, earliest arrival first, ties by frame id.
    pub fn poll_delivery(&mut self, now: Instant) -> Option<Arrival> {
        let key = |d: &Direction| {
            d.in_flight
                .front()
                .filter(|a| a.at <= now)
                .map(|a| (a.at, a.id))
        };
        let pick = match (key(&self.up), key(&self.down)) {
            (None, None) => return None,
            (Some(_), None) => Dir::Uplink,
            (None, Some(_)) => Dir::Downlink,
            (Some(u), Some(d)) => {
                if u <= d {
                    Dir::Uplink
                } else {
                    Dir::Downlink
                }
            }
        };
        self.dir_mut(pick).in_flight.pop_front()
    }

    /// The next outage edge at or before `now`: (time, direction, link up after the edge).
    /// Edges come in time order, uplink before downlink at the same instant.
    pub fn poll_edge(&mut self, now: Instant) -> Option<(Instant, Dir, bool)> {
        if self.pending_edges.is_empty() {
            let w = self.schedule.window_after(self.edges_done)?;
            let (t, up) = if w.start > self.edges_done {
                (w.start, false)
            } else {
                (w.end, true)
            };
            if t > now {
                return None;
            }
            self.edges_done = t;
            for d in [&self.up, &self.down] {
                if d.affected {
                    self.pending_edges.push_back((t, d.dir, up));
                }
            }
        }
        self.pending_edges.pop_front()
    }

    /// When the link next needs attention: an arrival or an outage edge.
    pub fn poll_at(&mut self, _now: Instant) -> Option<Instant> {
        let arrival = [&self.up, &self.down]
            .into_iter()
            .filter_map(|d| d.in_flight.front().map(|a| a.at))
            .min();
        let edge = if self.pending_edges.is_empty() && (self.up.affected || self.down.affected) {
            self.schedule.window_after(self.edges_done).map(|w| {
                if w.start > self.edges_done {
                    w.start
                } else {
                    w.end
                }
            })
        } else {
            self.pending_edges.front().map(|e| e.0)
        };
        [arrival, edge].into_iter().flatten().min()
    }

    /// Frames offered so far.
    pub fn frames_offered(&self) -> u64 {
        self.next_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dur, LossModel, OutageSchedule, Window as MWindow};

    fn link(m: LinkModel) -> Link {
        Link::new(&m, 1)
    }
    fn ms(v: i64) -> Instant {
        Instant::from_millis(v)
    }
    fn frame(n: usize) -> Arc<[u8]> {
        vec![0u8; n].into()
    }
    fn outage_1s_to_3s(policy: OutagePolicy) -> LinkModel {
        LinkModel {
            outage: OutageSchedule::Windows {
                windows: vec![MWindow {
                    at: Dur::secs(1),
                    len: Dur::secs(2),
                }],
            },
            on_outage: policy,
            hold_limit: 2,
            ..LinkModel::default()
        }
    }

    // Proves a frame on an up link arrives after the one-way delay.
    #[test]
    fn delay_applies() {
        let mut l = link(LinkModel::default());
        let (id, fate) = l.handle_frame(ms(10), Dir::Uplink, frame(100));
        assert_eq!(fate, Fate::Delivered { at: ms(15) });
        assert!(l.poll_delivery(ms(14)).is_none());
        assert_eq!(l.poll_at(ms(10)), Some(ms(15)));
        assert_eq!(l.poll_delivery(ms(15)).unwrap().id, id);
    }

    // Proves drop policy loses frames offered during the outage, and only then.
    #[test]
    fn drop_during_outage() {
        let mut l = link(outage_1s_to_3s(OutagePolicy::Drop));
        assert!(matches!(
            l.handle_frame(ms(999), Dir::Uplink, frame(1)).1,
            Fate::Delivered { .. }
        ));
        assert_eq!(
            l.handle_frame(ms(1000), Dir::Uplink, frame(1)).1,
            Fate::OutageDropped
        );
        assert_eq!(
            l.handle_frame(ms(2999), Dir::Downlink, frame(1)).1,
            Fate::OutageDropped
        );
        assert!(matches!(
            l.handle_frame(ms(3000), Dir::Uplink, frame(1)).1,
            Fate::Delivered { .. }
        ));
    }

    // Proves hold policy releases frames in order at the window's end, and overflows past the limit.
    #[test]
    fn hold_releases_in_order_and_overflows() {
        let mut l = link(outage_1s_to_3s(OutagePolicy::Hold));
        let (a, fa) = l.handle_frame(ms(1100), Dir::Downlink, frame(1));
        let (b, fb) = l.handle_frame(ms(1200), Dir::Downlink, frame(1));
        let (_, fc) = l.handle_frame(ms(1300), Dir::Downlink, frame(1));
        assert_eq!(
            fa,
            Fate::Held {
                until: ms(3000),
                at: ms(3005)
            }
        );
        assert_eq!(
            fb,
            Fate::Held {
                until: ms(3000),
                at: ms(3005)
            }
        );
        assert_eq!(fc, Fate::HoldOverflow);
        assert!(l.poll_delivery(ms(3004)).is_none());
        assert_eq!(l.poll_delivery(ms(3005)).unwrap().id, a);
        assert_eq!(l.poll_delivery(ms(3005)).unwrap().id, b);
    }

    // Proves outage edges are reported once each, in order, per affected direction.
    #[test]
    fn edges_reported_in_order() {
        let mut m = outage_1s_to_3s(OutagePolicy::Drop);
        m.outage_affects = Affects::Uplink;
        let mut l = link(m);
        assert_eq!(l.poll_at(ms(0)), Some(ms(1000)));
        assert_eq!(l.poll_edge(ms(999)), None);
        assert_eq!(l.poll_edge(ms(5000)), Some((ms(1000), Dir::Uplink, false)));
        assert_eq!(l.poll_edge(ms(5000)), Some((ms(3000), Dir::Uplink, true)));
        assert_eq!(l.poll_edge(ms(5000)), None);
        assert_eq!(l.poll_at(ms(5000)), None);
        // the downlink is unaffected
        assert!(matches!(
            l.handle_frame(ms(5000), Dir::Downlink, frame(1)).1,
            Fate::Delivered { .. }
        ));
    }

    // Proves serialisation delay spaces back-to-back frames and the queue limit drops the excess.
    #[test]
    fn bandwidth_and_queue_limit() {
        let mut m = LinkModel::default();
        m.uplink.bandwidth_bps = Some(8_000); // 1 byte per ms
        m.uplink.queue_limit = Some(2);
        m.uplink.delay = Dur::ms(0);
        let mut l = link(m);
        assert_eq!(
            l.handle_frame(ms(0), Dir::Uplink, frame(10)).1,
            Fate::Delivered { at: ms(10) }
        );
        assert_eq!(
            l.handle_frame(ms(0), Dir::Uplink, frame(10)).1,
            Fate::Delivered { at: ms(20) }
        );
        assert_eq!(
            l.handle_frame(ms(0), Dir::Uplink, frame(10)).1,
            Fate::QueueDropped
        );
        assert_eq!(
            l.handle_frame(ms(10), Dir::Uplink, frame(10)).1,
            Fate::Delivered { at: ms(30) }
        );
    }

    // Proves random loss draws from the direction's own stream: changing downlink loss leaves the
    // uplink's verdicts unchanged.
    #[test]
    fn loss_streams_independent() {
        let verdicts = |down_p: f64| {
            let mut m = LinkModel::default();
            m.uplink.loss = LossModel::Bernoulli { p: 0.3 };
            m.downlink.loss = LossModel::Bernoulli { p: down_p };
            let mut l = link(m);
            (0..200)
                .map(|i| {
                    l.handle_frame(ms(i), Dir::Downlink, frame(1));
                    l.handle_frame(ms(i), Dir::Uplink, frame(1)).1 == Fate::Lost
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(verdicts(0.0), verdicts(0.9));
    }
}
