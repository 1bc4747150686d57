//! The simulation loop: two endpoints and a link under a next-event virtual clock.
//!
//! This is the only module that touches both endpoints and the link, so the determinism review has
//! one file to read. Each [`Sim::step`] runs everything due at the current instant in a fixed order
//! (outage edges, deliveries by arrival time then frame id, the client, then the server, their
//! transmissions in order), then jumps the clock to the earliest `poll_at` of the parts. Nothing is
//! polled on a fixed tick; idle time costs nothing.
//!
//! The simulation owns no outputs: every call to [`Sim::step`] or [`Sim::run`] takes the
//! [`EventSink`] that receives the events (a writer, a [`Trace`](crate::Trace), a tuple or `Vec` of
//! them), so results are read from sinks the caller owns. Frames are recycled through a buffer pool
//! and reported to sinks by reference: a run in steady state allocates nothing per frame.
//!
//! Guarantees: the same scenario gives the same events, in the same order, every time; time never
//! goes backwards; the run stops at `duration` or once both applications are done; a loop that stops
//! making progress at one instant is reported as [`SimError::Livelock`] instead of hanging.

use std::io;

use crate::clock::{Clock, Instant, earliest};
use crate::endpoint::Endpoint;
use crate::link::Link;
use crate::model::{ModelError, Scenario};
use crate::trace::{Event, EventKind, EventSink, Side};

/// Spare frame buffers kept for reuse (about 2 MB of 1500-byte frames).
const POOL_MAX: usize = 1024;

/// Steps allowed at one instant before the run is declared a livelock.
pub const LIVELOCK_STEPS: u64 = 10_000;

/// Why a run stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// Too many steps at one instant without time advancing.
    #[error(
        "livelock: more than {LIVELOCK_STEPS} steps at t={} s without time advancing",
        crate::clock::fmt_secs(*at)
    )]
    Livelock {
        /// The instant.
        at: Instant,
    },
    /// An output sink failed.
    #[error("writing outputs")]
    Io(#[from] io::Error),
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ended {
    /// Both applications finished and their connections closed.
    AppsDone,
    /// The model's duration was reached.
    Duration,
}

impl Ended {
    /// Stable name (`apps-done`, `duration`).
    pub fn name(self) -> &'static str {
        match self {
            Ended::AppsDone => "apps-done",
            Ended::Duration => "duration",
        }
    }
}

/// How a finished run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// When the run ended.
    pub end: Instant,
    /// Why.
    pub ended: Ended,
    /// Steps taken.
    pub steps: u64,
}

/// A simulation in progress.
pub struct Sim {
    clock: Clock,
    deadline: Instant,
    link: Link,
    client: Endpoint,
    server: Endpoint,
    /// Events of the endpoints, emitted in order after each call into them.
    scratch: Vec<EventKind<'static>>,
    /// Spare frame buffers.
    pool: Vec<Vec<u8>>,
    next_seq: u64,
    steps: u64,
    ended: Option<Ended>,
}

/// Hands events to a sink, numbering them.
struct Emitter<'s> {
    next_seq: &'s mut u64,
    sink: &'s mut dyn EventSink,
}

impl Emitter<'_> {
    fn emit(&mut self, t: Instant, kind: EventKind<'_>) -> io::Result<()> {
        let seq = *self.next_seq;
        *self.next_seq += 1;
        self.sink.handle_event(&Event { t, seq, kind })
    }

    fn emit_all(&mut self, t: Instant, kinds: &mut Vec<EventKind<'static>>) -> io::Result<()> {
        for k in kinds.drain(..) {
            self.emit(t, k)?;
        }
        Ok(())
    }
}

impl Sim {
    /// Builds a simulation of `scenario`.
    ///
    /// # Errors
    /// The scenario fails validation (only possible for scenarios built in code; loaded files are
    /// validated on load).
    pub fn new(scenario: &Scenario) -> Result<Sim, ModelError> {
        scenario.check()?;
        let seed = scenario.seed;
        Ok(Sim {
            clock: Clock::new(),
            deadline: Instant::ZERO + scenario.duration.0,
            link: Link::new(&scenario.link, seed),
            client: Endpoint::new(Side::Client, &scenario.client, &scenario.server, seed),
            server: Endpoint::new(Side::Server, &scenario.server, &scenario.client, seed),
            scratch: Vec::new(),
            pool: Vec::new(),
            next_seq: 0,
            steps: 0,
            ended: None,
        })
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Runs everything due at the current instant, reporting events to `sink`, then advances the
    /// clock to the next event. Returns `Ok(true)` once the run is over (calling again is a no-op
    /// that returns `Ok(true)`).
    ///
    /// # Errors
    /// [`SimError::Livelock`] or the sink's I/O error.
    pub fn step(&mut self, sink: &mut dyn EventSink) -> Result<bool, SimError> {
        if self.ended.is_some() {
            return Ok(true);
        }
        self.steps += 1;
        let now = self.clock.now();
        self.handle_link(now, sink)?;
        for side in [Side::Client, Side::Server] {
            self.poll_endpoint(side, now, sink)?;
        }
        if self.client.is_done() && self.server.is_done() {
            return self.finish(now, Ended::AppsDone, sink);
        }
        let next = earliest(
            earliest(self.client.poll_at(now), self.server.poll_at(now)),
            self.link.poll_at(now),
        );
        match next {
            Some(t) if t <= self.deadline => {
                if self.clock.advance_to(t.max(now)) > LIVELOCK_STEPS {
                    return Err(SimError::Livelock { at: now });
                }
                Ok(false)
            }
            _ => {
                let end = self.deadline.max(now);
                self.clock.advance_to(end);
                self.finish(end, Ended::Duration, sink)
            }
        }
    }

    /// Outage edges, middlebox injections and deliveries due at `now`.
    fn handle_link(&mut self, now: Instant, sink: &mut dyn EventSink) -> io::Result<()> {
        let mut out = Emitter {
            next_seq: &mut self.next_seq,
            sink,
        };
        while let Some((t, dir, up)) = self.link.poll_edge(now) {
            out.emit(t, EventKind::Link { dir, up })?;
        }
        while let Some((dir, bytes, id, fate)) = self.link.poll_injected(now) {
            out.emit(
                now,
                EventKind::Offered {
                    id,
                    dir,
                    bytes: &bytes,
                    fate,
                    by_middlebox: true,
                },
            )?;
            self.pool.extend(self.link.enqueue(id, dir, fate, bytes));
        }
        while let Some(a) = self.link.poll_delivery(now) {
            out.emit(
                now,
                EventKind::Delivered {
                    id: a.id,
                    dir: a.dir,
                    bytes: &a.bytes,
                },
            )?;
            let to = match a.dir.receiver() {
                Side::Client => &mut self.client,
                Side::Server => &mut self.server,
            };
            to.handle_frame(now, a.bytes, &mut self.scratch);
            out.emit_all(now, &mut self.scratch)?;
        }
        Ok(())
    }

    /// Lets one endpoint run if it is due, and offers what it transmitted to the link.
    fn poll_endpoint(
        &mut self,
        side: Side,
        now: Instant,
        sink: &mut dyn EventSink,
    ) -> io::Result<()> {
        let ep = match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        };
        if !ep.is_due(now) {
            return Ok(());
        }
        ep.poll(now, &mut self.pool, &mut self.scratch);
        let mut out = Emitter {
            next_seq: &mut self.next_seq,
            sink,
        };
        out.emit_all(now, &mut self.scratch)?;
        let dir = side.sends();
        while let Some(frame) = ep.poll_transmit() {
            let (id, fate) = self.link.handle_frame(now, dir, &frame);
            out.emit(
                now,
                EventKind::Offered {
                    id,
                    dir,
                    bytes: &frame,
                    fate,
                    by_middlebox: false,
                },
            )?;
            self.pool.extend(self.link.enqueue(id, dir, fate, frame));
        }
        // Frames in flight return to the pool as they are read; what is more than a window's worth
        // is freed, so the pool is bounded whatever the traffic.
        self.pool.truncate(POOL_MAX);
        Ok(())
    }

    fn finish(
        &mut self,
        end: Instant,
        ended: Ended,
        sink: &mut dyn EventSink,
    ) -> Result<bool, SimError> {
        self.ended = Some(ended);
        sink.finish(end)?;
        Ok(true)
    }

    /// Steps until the run is over, reporting every event to `sink`.
    ///
    /// # Errors
    /// As [`Sim::step`].
    pub fn run(mut self, sink: &mut dyn EventSink) -> Result<Finished, SimError> {
        while !self.step(sink)? {}
        Ok(self.finished())
    }

    /// Where the run stands (final once [`Sim::step`] returned `Ok(true)`).
    pub fn finished(&self) -> Finished {
        Finished {
            end: self.clock.now(),
            ended: self.ended.unwrap_or(Ended::Duration),
            steps: self.steps,
        }
    }
}
