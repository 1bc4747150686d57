//! The simulation loop: two endpoints and a link under a next-event virtual clock.
//!
//! This is the only module that touches both endpoints and the link, so the determinism review has
//! one file to read. Each [`Sim::step`] runs everything due at the current instant in a fixed order
//! (outage edges, deliveries by arrival time then frame id, the client, then the server, their
//! transmissions in order), then jumps the clock to the earliest `poll_at` of the parts. Nothing is
//! polled on a fixed tick; idle time costs nothing.
//!
//! Guarantees: the same scenario gives the same events, in the same order, every time; time never
//! goes backwards; the run stops at `duration` or once both applications are done; a loop that stops
//! making progress at one instant is reported as [`SimError::Livelock`] instead of hanging.

use std::fmt;
use std::io;
use std::sync::Arc;

use crate::clock::{Clock, Instant};
use crate::endpoint::Endpoint;
use crate::link::Link;
use crate::model::{ModelError, ModelErrorKind, Scenario};
use crate::trace::summary::{Summary, SummaryBuilder};
use crate::trace::{Event, EventKind, EventSink, Side, Trace};

/// Steps allowed at one instant before the run is declared a livelock.
pub const LIVELOCK_STEPS: u64 = 10_000;

/// Why a run stopped with an error.
#[derive(Debug)]
pub enum SimError {
    /// Too many steps at one instant without time advancing.
    Livelock {
        /// The instant.
        at: Instant,
    },
    /// An output sink failed.
    Io(io::Error),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Livelock { at } => write!(
                f,
                "livelock: more than {LIVELOCK_STEPS} steps at t={} s without time advancing",
                crate::clock::fmt_secs(*at)
            ),
            SimError::Io(e) => write!(f, "writing outputs: {e}"),
        }
    }
}

impl std::error::Error for SimError {}

impl From<io::Error> for SimError {
    fn from(e: io::Error) -> Self {
        SimError::Io(e)
    }
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// The outcome of a finished run.
#[derive(Debug, Clone)]
pub struct Report {
    /// When the run ended.
    pub end: Instant,
    /// Why.
    pub ended: Ended,
    /// Steps taken.
    pub steps: u64,
    /// The run's summary.
    pub summary: Summary,
}

/// A simulation in progress.
pub struct Sim {
    clock: Clock,
    deadline: Instant,
    link: Link,
    client: Endpoint,
    server: Endpoint,
    sinks: Vec<Box<dyn EventSink>>,
    summary: SummaryBuilder,
    scratch: Vec<EventKind>,
    next_seq: u64,
    steps: u64,
    ended: Option<Ended>,
}

impl Sim {
    /// Builds a simulation of `scenario`.
    ///
    /// # Errors
    /// The scenario fails validation (only possible for scenarios built in code; loaded files are
    /// validated on load).
    pub fn new(scenario: &Scenario) -> Result<Sim, ModelError> {
        scenario.validate().map_err(|inv| ModelError {
            path: "<scenario>".into(),
            line: 0,
            col: 0,
            field: inv.field,
            kind: ModelErrorKind::Invalid(inv.message),
        })?;
        let seed = scenario.seed;
        Ok(Sim {
            clock: Clock::new(),
            deadline: Instant::ZERO + scenario.duration.0,
            link: Link::new(&scenario.link, seed),
            client: Endpoint::new(Side::Client, &scenario.client, &scenario.server, seed),
            server: Endpoint::new(Side::Server, &scenario.server, &scenario.client, seed),
            sinks: Vec::new(),
            summary: SummaryBuilder::new(&scenario.name, seed),
            scratch: Vec::new(),
            next_seq: 0,
            steps: 0,
            ended: None,
        })
    }

    /// Adds an output that receives every event from now on.
    pub fn add_sink(&mut self, sink: Box<dyn EventSink>) {
        self.sinks.push(sink);
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// One endpoint.
    pub fn endpoint(&self, side: Side) -> &Endpoint {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }

    fn emit(&mut self, t: Instant, kind: EventKind) -> io::Result<()> {
        let e = Event {
            t,
            seq: self.next_seq,
            kind,
        };
        self.next_seq += 1;
        self.summary.handle_event(&e)?;
        for s in &mut self.sinks {
            s.handle_event(&e)?;
        }
        Ok(())
    }

    fn flush_scratch(&mut self, now: Instant) -> io::Result<()> {
        let mut scratch = std::mem::take(&mut self.scratch);
        for k in scratch.drain(..) {
            self.emit(now, k)?;
        }
        self.scratch = scratch;
        Ok(())
    }

    /// Runs everything due at the current instant, then advances the clock to the next event.
    /// Returns `Ok(true)` once the run is over (calling again is a no-op that returns `Ok(true)`).
    ///
    /// # Errors
    /// [`SimError::Livelock`] or an output's I/O error.
    pub fn step(&mut self) -> Result<bool, SimError> {
        if self.ended.is_some() {
            return Ok(true);
        }
        self.steps += 1;
        let now = self.clock.now();

        while let Some((t, dir, up)) = self.link.poll_edge(now) {
            self.emit(t, EventKind::Link { dir, up })?;
        }
        while let Some((dir, bytes, id, fate)) = self.link.poll_injected(now) {
            self.emit(
                now,
                EventKind::Offered {
                    id,
                    dir,
                    bytes,
                    fate,
                    by_middlebox: true,
                },
            )?;
        }
        while let Some(a) = self.link.poll_delivery(now) {
            self.emit(
                now,
                EventKind::Delivered {
                    id: a.id,
                    dir: a.dir,
                    bytes: a.bytes.clone(),
                },
            )?;
            let to = match a.dir.receiver() {
                Side::Client => &mut self.client,
                Side::Server => &mut self.server,
            };
            to.handle_frame(a.bytes, &mut self.scratch);
            self.flush_scratch(now)?;
        }
        for side in [Side::Client, Side::Server] {
            let ep = match side {
                Side::Client => &mut self.client,
                Side::Server => &mut self.server,
            };
            if !ep.is_due(now) {
                continue;
            }
            ep.poll(now, &mut self.scratch);
            self.flush_scratch(now)?;
            loop {
                let ep = match side {
                    Side::Client => &mut self.client,
                    Side::Server => &mut self.server,
                };
                let Some(p) = ep.poll_transmit() else { break };
                let bytes: Arc<[u8]> = p.into();
                let dir = side.sends();
                let (id, fate) = self.link.handle_frame(now, dir, bytes.clone());
                self.emit(
                    now,
                    EventKind::Offered {
                        id,
                        dir,
                        bytes,
                        fate,
                        by_middlebox: false,
                    },
                )?;
            }
        }

        if self.client.is_done() && self.server.is_done() {
            return self.finish(now, Ended::AppsDone);
        }
        let next = [
            self.client.poll_at(now),
            self.server.poll_at(now),
            self.link.poll_at(now),
        ]
        .into_iter()
        .flatten()
        .min();
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
                self.finish(end, Ended::Duration)
            }
        }
    }

    fn finish(&mut self, end: Instant, ended: Ended) -> Result<bool, SimError> {
        self.ended = Some(ended);
        for s in &mut self.sinks {
            s.finish(end)?;
        }
        Ok(true)
    }

    /// Steps until the run is over.
    ///
    /// # Errors
    /// As [`Sim::step`].
    pub fn run(mut self) -> Result<Report, SimError> {
        while !self.step()? {}
        Ok(self.report())
    }

    /// The report so far (final once [`Sim::step`] returned `Ok(true)`).
    pub fn report(&self) -> Report {
        let ended = self.ended.unwrap_or(Ended::Duration);
        Report {
            end: self.clock.now(),
            ended,
            steps: self.steps,
            summary: self.summary.summary(self.clock.now(), ended.name()),
        }
    }
}

/// Runs `scenario` to the end and returns its whole trace and report.
///
/// # Errors
/// [`RunTraceError::Model`] for an invalid scenario, [`RunTraceError::Sim`] if the run fails.
pub fn run_trace(scenario: &Scenario) -> Result<(Trace, Report), RunTraceError> {
    let mut sim = Sim::new(scenario).map_err(RunTraceError::Model)?;
    let shared = SharedTrace::default();
    sim.add_sink(Box::new(shared.clone()));
    let report = sim.run().map_err(RunTraceError::Sim)?;
    let trace = shared.take();
    Ok((trace, report))
}

/// Error of [`run_trace`].
#[derive(Debug)]
pub enum RunTraceError {
    /// The scenario is invalid.
    Model(ModelError),
    /// The run failed.
    Sim(SimError),
}

impl fmt::Display for RunTraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunTraceError::Model(e) => e.fmt(f),
            RunTraceError::Sim(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RunTraceError {}

/// A [`Trace`] sink that can be read back after the sim (which owns its sinks) is gone.
#[derive(Clone, Default)]
pub struct SharedTrace(std::rc::Rc<std::cell::RefCell<Trace>>);

impl SharedTrace {
    /// Takes the trace collected so far.
    pub fn take(&self) -> Trace {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

impl EventSink for SharedTrace {
    fn handle_event(&mut self, e: &Event) -> io::Result<()> {
        self.0.borrow_mut().handle_event(e)
    }
    fn finish(&mut self, end: Instant) -> io::Result<()> {
        self.0.borrow_mut().finish(end)
    }
}
