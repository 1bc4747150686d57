//! Outage schedules: when the link is down.
//!
//! A schedule is a lazily generated, time-ordered sequence of non-overlapping windows
//! `[start, end)`. Jittered duty cycles draw one number per cycle, in cycle order, from the
//! schedule's own random stream, so the windows depend only on the model and seed, never on how
//! often or when the schedule is queried. Queries must come with non-decreasing times (the
//! simulation's clock only moves forward): windows that ended before the latest query are
//! forgotten, so memory stays constant.

use crate::clock::{Duration, Instant};
use crate::model::OutageSchedule;
use crate::rng::SimRng;

/// An outage window `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First instant down.
    pub start: Instant,
    /// First instant up again.
    pub end: Instant,
}

#[derive(Debug, Clone)]
enum Generator {
    None,
    Duty {
        period: Duration,
        down: Duration,
        phase: Duration,
        jitter: Duration,
        cycle: u64,
        rng: Box<SimRng>,
    },
    List {
        windows: Vec<Window>,
        next: usize,
    },
}

impl Generator {
    fn next_window(&mut self) -> Option<Window> {
        match self {
            Generator::None => None,
            Generator::Duty {
                period,
                down,
                phase,
                jitter,
                cycle,
                rng,
            } => {
                let base =
                    Instant::ZERO + *phase + Duration::from_micros(period.total_micros() * *cycle);
                let start = base + Duration::from_micros(rng.up_to(jitter.total_micros()));
                *cycle += 1;
                Some(Window {
                    start,
                    end: start + *down,
                })
            }
            Generator::List { windows, next } => {
                let w = windows.get(*next).copied();
                *next += 1;
                w
            }
        }
    }
}

/// A running outage schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    generator: Generator,
    /// The first window whose end is after the last query time.
    current: Option<Window>,
    last_query: Instant,
}

impl Schedule {
    /// The schedule of a model; `rng` is only drawn from for jitter.
    ///
    pub fn new(model: &OutageSchedule, rng: SimRng) -> Schedule {
        let mut generator = match model {
            OutageSchedule::None => Generator::None,
            OutageSchedule::DutyCycle {
                period,
                down,
                phase,
                jitter,
            } => Generator::Duty {
                period: period.0,
                down: down.0,
                phase: phase.0,
                jitter: jitter.0,
                cycle: 0,
                rng: Box::new(rng),
            },
            OutageSchedule::Windows { windows } => Generator::List {
                windows: windows
                    .iter()
                    .map(|w| Window {
                        start: Instant::ZERO + w.at.0,
                        end: Instant::ZERO + w.at.0 + w.len.0,
                    })
                    .collect(),
                next: 0,
            },
        };
        let current = generator.next_window();
        Schedule {
            generator,
            current,
            last_query: Instant::from_micros(i64::MIN),
        }
    }

    /// The first window that ends after `t`: the one `t` is in, or the next one. Windows that ended
    /// before the latest query time are forgotten, so a query for an earlier `t` is answered as
    /// for the latest query time.
    pub fn window_after(&mut self, t: Instant) -> Option<Window> {
        let t = t.max(self.last_query);
        self.last_query = t;
        while let Some(w) = self.current {
            if w.end > t {
                break;
            }
            self.current = self.generator.next_window();
        }
        self.current
    }

    /// The window `t` falls in, if the link is down at `t`.
    pub fn down_window(&mut self, t: Instant) -> Option<Window> {
        self.window_after(t).filter(|w| w.start <= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dur, Window as MWindow};
    use crate::rng::Stream;

    fn duty(period: u64, down: u64, phase: u64, jitter: u64) -> Schedule {
        Schedule::new(
            &OutageSchedule::DutyCycle {
                period: Dur::ms(period),
                down: Dur::ms(down),
                phase: Dur::ms(phase),
                jitter: Dur::ms(jitter),
            },
            SimRng::new(1, Stream::Schedule),
        )
    }

    fn ms(v: i64) -> Instant {
        Instant::from_millis(v)
    }

    // Proves a duty cycle is down exactly on [phase + k·period, + down) at the window's edges.
    #[test]
    fn duty_cycle_edges() {
        let mut s = duty(1000, 200, 300, 0);
        let down = |s: &mut Schedule, t| s.down_window(ms(t)).is_some();
        assert!(!down(&mut s, 0));
        assert!(!down(&mut s, 299));
        assert!(down(&mut s, 300));
        assert!(down(&mut s, 499));
        assert!(!down(&mut s, 500));
        assert!(down(&mut s, 1300));
        assert!(!down(&mut s, 1500));
        assert_eq!(
            s.window_after(ms(1500)),
            Some(Window {
                start: ms(2300),
                end: ms(2500)
            })
        );
    }

    // Proves jitter moves each start within [0, jitter] and the windows never overlap.
    #[test]
    fn jitter_bounded_and_ordered() {
        let mut s = duty(1000, 200, 0, 300);
        let mut prev_end = Instant::from_micros(i64::MIN);
        let mut t = ms(0);
        let mut distinct = std::collections::BTreeSet::new();
        for k in 0..200 {
            let w = s.window_after(t).unwrap();
            let offset = (w.start - ms(k * 1000)).total_micros();
            assert!(offset <= 300_000, "window {k} offset {offset}us");
            assert!(w.start >= prev_end);
            distinct.insert(offset);
            prev_end = w.end;
            t = w.end;
        }
        assert!(
            distinct.len() > 100,
            "jitter should vary: {}",
            distinct.len()
        );
    }

    // Proves the windows do not depend on how often the schedule is queried.
    #[test]
    fn windows_independent_of_query_pattern() {
        let mut coarse = duty(1000, 200, 0, 300);
        let mut fine = duty(1000, 200, 0, 300);
        for t in (0..50_000).step_by(7) {
            fine.window_after(ms(t));
        }
        let a = coarse.window_after(ms(50_000));
        let b = fine.window_after(ms(50_000));
        assert_eq!(a, b);
    }

    // Proves an explicit list is followed and then the link stays up.
    #[test]
    fn explicit_windows() {
        let mut s = Schedule::new(
            &OutageSchedule::Windows {
                windows: vec![
                    MWindow {
                        at: Dur::secs(1),
                        len: Dur::secs(2),
                    },
                    MWindow {
                        at: Dur::secs(10),
                        len: Dur::ms(500),
                    },
                ],
            },
            SimRng::new(1, Stream::Schedule),
        );
        assert!(s.down_window(ms(999)).is_none());
        assert!(s.down_window(ms(1000)).is_some());
        assert!(s.down_window(ms(3000)).is_none());
        assert!(s.down_window(ms(10_499)).is_some());
        assert!(s.down_window(ms(10_500)).is_none());
        assert_eq!(s.window_after(ms(10_500)), None);
    }
}
