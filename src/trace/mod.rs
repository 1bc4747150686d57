//! The trace: what happened, as typed events in time order. The boundary between simulating and
//! reporting.
//!
//! The simulation emits [`Event`]s into [`EventSink`]s as it goes; writers (text, pcap, CSV,
//! summary) are sinks, so long runs stream to disk and memory stays flat. [`Trace`] is the in-memory
//! sink, for the library, tests and analysis; every writer can also be fed a whole `Trace`
//! ([`Trace::replay`]), so outputs are functions of a trace, testable without a simulation.
//!
//! Events borrow their frame bytes ([`Event<'a>`]): the simulation hands sinks a view of the frame
//! it holds, so no frame is copied or allocated to be reported; [`Trace`] keeps its own copy of each
//! frame in one byte arena.
//!
//! Guarantees: events arrive in non-decreasing time, with a strictly increasing `seq` that breaks
//! ties; frame bytes are the exact IPv4 packets the stacks exchanged.

pub mod csv;
pub(crate) mod fastfmt;
pub mod packet;
pub mod pcap;
pub mod text;

pub use smoltcp::socket::tcp::State as TcpState;
use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};

use crate::clock::Instant;

/// Where the text and pcap traces are taken (a point of view on the trace's frames).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CapturePoint {
    /// On the server's interface (where the field captures were taken): what it sends, when it
    /// sends it, and what reaches it, when it arrives.
    #[default]
    Server,
    /// On the client's interface.
    Client,
    /// Every frame offered to the link, at the time it was offered, whatever its fate.
    Link,
}

/// One of the two endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// The device: it opens the connection.
    Client,
    /// The server: it listens.
    Server,
}

impl Side {
    /// The direction this side sends in.
    pub fn sends(self) -> Dir {
        match self {
            Side::Client => Dir::Uplink,
            Side::Server => Dir::Downlink,
        }
    }
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// A link direction. Uplink is client → server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dir {
    /// Client → server.
    Uplink,
    /// Server → client.
    Downlink,
}

impl Dir {
    /// The side that sends in this direction.
    pub fn sender(self) -> Side {
        match self {
            Dir::Uplink => Side::Client,
            Dir::Downlink => Side::Server,
        }
    }
    /// The side that receives in this direction.
    pub fn receiver(self) -> Side {
        match self {
            Dir::Uplink => Side::Server,
            Dir::Downlink => Side::Client,
        }
    }
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Dir::Uplink => "uplink",
            Dir::Downlink => "downlink",
        }
    }
}

/// What the link did with a frame, decided when it was offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fate {
    /// Arrives at `at`.
    Delivered {
        /// Arrival time.
        at: Instant,
    },
    /// Held during an outage until `until`, then arrives at `at`.
    Held {
        /// When the outage ends and the frame is released.
        until: Instant,
        /// Arrival time.
        at: Instant,
    },
    /// Lost at random.
    Lost,
    /// Dropped because the link was down (`on_outage = "drop"`).
    OutageDropped,
    /// Dropped because the hold buffer was full.
    HoldOverflow,
    /// Dropped because the serialisation queue was full.
    QueueDropped,
    /// Dropped by a middlebox that had forgotten the flow.
    MiddleboxDropped,
}

impl Fate {
    /// Stable lower-case name used in CSV and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Fate::Delivered { .. } => "delivered",
            Fate::Held { .. } => "held",
            Fate::Lost => "lost",
            Fate::OutageDropped => "outage-dropped",
            Fate::HoldOverflow => "hold-overflow",
            Fate::QueueDropped => "queue-dropped",
            Fate::MiddleboxDropped => "middlebox-dropped",
        }
    }
    /// Arrival time, for frames that arrive.
    pub fn arrival(self) -> Option<Instant> {
        match self {
            Fate::Delivered { at } | Fate::Held { at, .. } => Some(at),
            _ => None,
        }
    }
    /// All fate names, in report order.
    pub const NAMES: [&'static str; 7] = [
        "delivered",
        "held",
        "lost",
        "outage-dropped",
        "hold-overflow",
        "queue-dropped",
        "middlebox-dropped",
    ];
}

/// Something an application did or saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppEvent {
    /// The connection is established (first seen by the application).
    Connected,
    /// Wrote `len` bytes into the socket.
    Write {
        /// Bytes.
        len: usize,
    },
    /// A message of `len` bytes did not fit the send buffer and was dropped.
    WriteSkipped {
        /// Message size.
        len: usize,
    },
    /// A message of `len` bytes did not fit the send buffer; the application blocks until it is
    /// written.
    WriteWaited {
        /// Message size.
        len: usize,
    },
    /// Read `len` bytes.
    Read {
        /// Bytes.
        len: usize,
    },
    /// Bytes read differ from the bytes the peer wrote, first at stream offset `offset` (never
    /// expected: a stack or simulator bug).
    ReadMismatch {
        /// Stream offset of the first wrong byte.
        offset: u64,
    },
    /// Read end of stream: the peer closed its half.
    PeerClosed,
    /// No new data for the idle timeout: the application closes.
    IdleTimeout,
    /// The application closed its half (FIN follows).
    Close,
    /// The connection was aborted locally (user timeout, or the `linux` close policy discarding a
    /// closed socket that received new data).
    Abort {
        /// Why.
        why: &'static str,
    },
    /// The connection was reset by the peer.
    Reset,
}

impl fmt::Display for AppEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppEvent::Connected => write!(f, "connected"),
            AppEvent::Write { len } => write!(f, "write {len}"),
            AppEvent::WriteSkipped { len } => write!(f, "write-skipped {len}"),
            AppEvent::WriteWaited { len } => write!(f, "write-waited {len}"),
            AppEvent::Read { len } => write!(f, "read {len}"),
            AppEvent::ReadMismatch { offset } => write!(f, "read-mismatch at {offset}"),
            AppEvent::PeerClosed => write!(f, "peer-closed"),
            AppEvent::IdleTimeout => write!(f, "idle-timeout"),
            AppEvent::Close => write!(f, "close"),
            AppEvent::Abort { why } => write!(f, "abort ({why})"),
            AppEvent::Reset => write!(f, "reset"),
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind<'a> {
    /// A frame was offered to the link (sent by the direction's sender, or injected on the path by
    /// a middlebox) and its fate decided.
    Offered {
        /// Frame id, unique in the run.
        id: u64,
        /// Direction.
        dir: Dir,
        /// The IPv4 packet.
        bytes: &'a [u8],
        /// Its fate.
        fate: Fate,
        /// Injected by a middlebox on the path (a forged RST), not sent by an endpoint.
        by_middlebox: bool,
    },
    /// A frame reached the direction's receiver.
    Delivered {
        /// Frame id.
        id: u64,
        /// Direction.
        dir: Dir,
        /// The IPv4 packet.
        bytes: &'a [u8],
    },
    /// A direction went down (`up = false`) or came back.
    Link {
        /// Direction.
        dir: Dir,
        /// Up after this edge.
        up: bool,
    },
    /// An endpoint's TCP state changed.
    State {
        /// Endpoint.
        side: Side,
        /// Old state.
        from: TcpState,
        /// New state.
        to: TcpState,
    },
    /// A packet of an imported capture (seen at the capture point; no fate is known).
    Captured {
        /// The packet; its endpoints index [`Trace::endpoints`].
        packet: packet::Packet,
    },
    /// An application event.
    App {
        /// Endpoint.
        side: Side,
        /// What happened.
        event: AppEvent,
    },
}

/// A timestamped event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// Virtual time.
    pub t: Instant,
    /// Position in the trace (breaks ties between events at the same time).
    pub seq: u64,
    /// What happened.
    pub kind: EventKind<'a>,
}

/// A consumer of events, fed in trace order.
pub trait EventSink {
    /// Handles one event.
    ///
    /// # Errors
    /// I/O errors of writers.
    fn handle_event(&mut self, event: &Event<'_>) -> io::Result<()>;

    /// Called once after the last event, with the time the run ended.
    ///
    /// # Errors
    /// I/O errors of writers.
    fn finish(&mut self, _end: Instant) -> io::Result<()> {
        Ok(())
    }
}

/// A whole trace in memory: every event, with its frames copied into one byte arena.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The events; frame events hold an empty slice here, their bytes are `frames[range]`.
    records: Vec<(Event<'static>, std::ops::Range<usize>)>,
    frames: Vec<u8>,
    /// Frames offered and not yet delivered (or never to be): id → bytes in `frames`, so that a
    /// delivery shares its offer's copy.
    in_flight: std::collections::HashMap<u64, std::ops::Range<usize>>,
    /// When the run ended.
    pub end: Instant,
    /// Endpoint names of an imported capture (indexed by [`packet::Packet`]'s ids); empty
    /// for simulated traces, whose frames carry their addresses.
    pub endpoints: Vec<String>,
    /// What an imported capture's timestamps are (relative for simulated traces).
    pub time: crate::timebase::TimeKind,
}

impl Default for Trace {
    fn default() -> Self {
        Trace {
            records: Vec::new(),
            frames: Vec::new(),
            in_flight: Default::default(),
            end: Instant::ZERO,
            endpoints: Vec::new(),
            time: crate::timebase::TimeKind::Relative,
        }
    }
}

impl Trace {
    /// Appends an event (its frame bytes copied; a delivery whose offer is in the trace shares the
    /// offer's copy).
    pub fn push(&mut self, e: &Event<'_>) {
        let (kind, range) = match e.kind {
            EventKind::Offered {
                id,
                dir,
                bytes,
                fate,
                by_middlebox,
            } => {
                let range = self.store(bytes);
                if fate.arrival().is_some() {
                    self.in_flight.insert(id, range.clone());
                }
                (
                    EventKind::Offered {
                        id,
                        dir,
                        bytes: &[],
                        fate,
                        by_middlebox,
                    },
                    range,
                )
            }
            EventKind::Delivered { id, dir, bytes } => {
                let range = match self.in_flight.remove(&id) {
                    Some(r) if self.frames[r.clone()] == *bytes => r,
                    _ => self.store(bytes),
                };
                (
                    EventKind::Delivered {
                        id,
                        dir,
                        bytes: &[],
                    },
                    range,
                )
            }
            EventKind::Link { dir, up } => (EventKind::Link { dir, up }, 0..0),
            EventKind::State { side, from, to } => (EventKind::State { side, from, to }, 0..0),
            EventKind::Captured { packet } => (EventKind::Captured { packet }, 0..0),
            EventKind::App { side, event } => (EventKind::App { side, event }, 0..0),
        };
        self.records.push((
            Event {
                t: e.t,
                seq: e.seq,
                kind,
            },
            range,
        ));
    }

    fn store(&mut self, bytes: &[u8]) -> std::ops::Range<usize> {
        let start = self.frames.len();
        self.frames.extend_from_slice(bytes);
        start..self.frames.len()
    }

    /// The number of events.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// No events.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The events, in order.
    pub fn events(&self) -> impl DoubleEndedIterator<Item = Event<'_>> + ExactSizeIterator + '_ {
        self.records.iter().map(|(e, range)| {
            let mut e: Event<'_> = *e;
            match &mut e.kind {
                EventKind::Offered { bytes, .. } | EventKind::Delivered { bytes, .. } => {
                    *bytes = &self.frames[range.clone()];
                }
                _ => {}
            }
            e
        })
    }

    /// Feeds every event to `sink`, then finishes it.
    ///
    /// # Errors
    /// The sink's first error.
    pub fn replay(&self, sink: &mut dyn EventSink) -> io::Result<()> {
        for e in self.events() {
            sink.handle_event(&e)?;
        }
        sink.finish(self.end)
    }

    /// The frames offered to the link: the event, its direction, bytes and fate.
    pub fn frames(&self) -> impl Iterator<Item = (Event<'_>, Dir, &[u8], Fate)> + '_ {
        self.events().filter_map(|e| match e.kind {
            EventKind::Offered {
                dir, bytes, fate, ..
            } => Some((e, dir, bytes, fate)),
            _ => None,
        })
    }

    /// The application events of one side.
    pub fn app_events(&self, side: Side) -> impl Iterator<Item = (Instant, AppEvent)> + '_ {
        self.records.iter().filter_map(move |(e, _)| match e.kind {
            EventKind::App { side: s, event } if s == side => Some((e.t, event)),
            _ => None,
        })
    }
}

impl EventSink for Trace {
    fn handle_event(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.push(event);
        Ok(())
    }
    fn finish(&mut self, end: Instant) -> io::Result<()> {
        self.end = end;
        Ok(())
    }
}

impl<T: EventSink + ?Sized> EventSink for &mut T {
    fn handle_event(&mut self, event: &Event<'_>) -> io::Result<()> {
        (**self).handle_event(event)
    }
    fn finish(&mut self, end: Instant) -> io::Result<()> {
        (**self).finish(end)
    }
}

impl<T: EventSink + ?Sized> EventSink for Box<T> {
    fn handle_event(&mut self, event: &Event<'_>) -> io::Result<()> {
        (**self).handle_event(event)
    }
    fn finish(&mut self, end: Instant) -> io::Result<()> {
        (**self).finish(end)
    }
}

/// Every sink of the list, in order.
impl<S: EventSink> EventSink for [S] {
    fn handle_event(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.iter_mut().try_for_each(|s| s.handle_event(event))
    }
    fn finish(&mut self, end: Instant) -> io::Result<()> {
        self.iter_mut().try_for_each(|s| s.finish(end))
    }
}

/// Every sink of the list, in order.
impl<S: EventSink> EventSink for Vec<S> {
    fn handle_event(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.as_mut_slice().handle_event(event)
    }
    fn finish(&mut self, end: Instant) -> io::Result<()> {
        self.as_mut_slice().finish(end)
    }
}

/// Both sinks, the first first.
impl<A: EventSink, B: EventSink> EventSink for (A, B) {
    fn handle_event(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.0.handle_event(event)?;
        self.1.handle_event(event)
    }
    fn finish(&mut self, end: Instant) -> io::Result<()> {
        self.0.finish(end)?;
        self.1.finish(end)
    }
}

/// A sink that ignores everything.
impl EventSink for () {
    fn handle_event(&mut self, _event: &Event<'_>) -> io::Result<()> {
        Ok(())
    }
}

/// Whether a capture point sees a frame of direction `dir` at its offer (`delivery = false`, the
/// sender's interface) or at its delivery (`delivery = true`, the receiver's interface). `Link`
/// sees every offer and no delivery.
pub fn sees(point: CapturePoint, dir: Dir, delivery: bool) -> bool {
    use CapturePoint as C;
    let side = if delivery {
        dir.receiver()
    } else {
        dir.sender()
    };
    match point {
        C::Link => !delivery,
        C::Server => side == Side::Server,
        C::Client => side == Side::Client,
    }
}

/// Whether a capture point sees a frame's offer: the sender's interface does, unless a middlebox
/// injected it mid-path (then only the `link` capture point does).
pub fn offer_seen(point: CapturePoint, dir: Dir, by_middlebox: bool) -> bool {
    if by_middlebox {
        point == CapturePoint::Link
    } else {
        sees(point, dir, false)
    }
}

/// Whether an event is a frame seen at the capture point.
pub fn captured(point: CapturePoint, kind: &EventKind<'_>) -> bool {
    match kind {
        EventKind::Offered {
            dir, by_middlebox, ..
        } => offer_seen(point, *dir, *by_middlebox),
        EventKind::Delivered { dir, .. } => sees(point, *dir, true),
        _ => false,
    }
}
