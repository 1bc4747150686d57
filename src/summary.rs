//! `summary.json`: what a run amounted to, folded from its events (and the analysis's findings).
//!
//! Counters are documented on their fields. Retransmissions are inferred from the wire as an analyst
//! would (smoltcp exposes no counters), by the one rule the analysis and the timeline use
//! ([`SendTracker`]): a segment that occupies sequence space (data, SYN or FIN) and starts below the
//! highest sequence its sender already sent is a retransmission (even when it also carries new
//! bytes), unless it is a keep-alive probe. Memory is constant whatever the run's length.

use serde::Serialize;

use crate::classes::{SendTracker, Sent};
use crate::clock::{Instant, secs};
use crate::detect::Finding;
use crate::trace::packet::Ipv4Segment;
use crate::trace::{AppEvent, Dir, Event, EventKind, EventSink, Fate, Side, TcpState};

/// Frames per fate, for one direction.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FateCounts {
    /// Offered to the link.
    pub offered: u64,
    /// Arrived without being held.
    pub delivered: u64,
    /// Held during an outage, then arrived.
    pub held: u64,
    /// Lost at random.
    pub lost: u64,
    /// Dropped because the link was down.
    pub outage_dropped: u64,
    /// Dropped because the hold buffer was full.
    pub hold_overflow: u64,
    /// Dropped because the serialisation queue was full.
    pub queue_dropped: u64,
    /// Dropped by a middlebox that had forgotten the flow.
    pub middlebox_dropped: u64,
    /// Of the offered frames, RSTs injected by a middlebox.
    pub middlebox_injected: u64,
}

/// Per-direction totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DirectionSummary {
    /// Frames by fate.
    pub frames: FateCounts,
    /// Bytes the sender's application wrote into its socket.
    pub bytes_written: u64,
    /// Bytes the receiver's application read.
    pub bytes_delivered: u64,
    /// Segments carrying data, SYN or FIN.
    pub data_segments: u64,
    /// Of those, retransmissions: segments starting below the highest sequence sent before
    /// ([`Sent::Retransmission`]).
    pub retransmissions: u64,
    /// Keep-alive probes (one byte, no SYN or FIN, just below the highest sequence sent), not
    /// counted as retransmissions.
    pub keepalives: u64,
    /// Times the outage schedule took this direction down.
    pub outages: u64,
}

/// Per-endpoint outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointSummary {
    /// TCP state at the end of the run.
    pub final_state: String,
    /// Messages dropped by a periodic writer because the send buffer was full.
    pub messages_skipped: u64,
    /// Messages a periodic writer had to wait to write.
    pub messages_waited: u64,
    /// Reads whose bytes differ from what the peer wrote (always 0 unless something is broken).
    pub corrupt_reads: u64,
    /// Application events of note, in order (idle timeout, close, abort, reset), with times.
    pub milestones: Vec<Milestone>,
}

/// A timed application milestone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Milestone {
    /// When.
    pub at_s: f64,
    /// What (`connected`, `peer-closed`, `idle-timeout`, `close`, `abort (...)`, `reset`).
    pub event: String,
}

/// The whole summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Model name.
    pub model: String,
    /// Seed.
    pub seed: u64,
    /// Virtual seconds simulated.
    pub simulated_s: f64,
    /// Why the run ended: `apps-done` or `duration`.
    pub ended: String,
    /// Client → server.
    pub uplink: DirectionSummary,
    /// Server → client.
    pub downlink: DirectionSummary,
    /// The client.
    pub client: EndpointSummary,
    /// The server.
    pub server: EndpointSummary,
    /// Signature findings of the analysis at the model's capture point (empty when the run was
    /// not analysed).
    pub findings: Vec<Finding>,
}

impl Summary {
    /// The summary for one direction.
    pub fn dir(&self, dir: Dir) -> &DirectionSummary {
        match dir {
            Dir::Uplink => &self.uplink,
            Dir::Downlink => &self.downlink,
        }
    }

    /// Pretty JSON, newline-terminated.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("summary serialises");
        s.push('\n');
        s
    }
}

#[derive(Debug, Default)]
struct DirState {
    sum: DirectionSummary,
    /// The highest sequence sent so far, and the rule classifying the next segment.
    send: SendTracker,
}

#[derive(Debug)]
struct EndState {
    state: TcpState,
    skipped: u64,
    waited: u64,
    corrupt: u64,
    milestones: Vec<Milestone>,
}

impl Default for EndState {
    fn default() -> Self {
        EndState {
            state: TcpState::Closed,
            skipped: 0,
            waited: 0,
            corrupt: 0,
            milestones: Vec::new(),
        }
    }
}

/// Builds a [`Summary`] from events.
#[derive(Debug)]
pub struct SummaryBuilder {
    model: String,
    seed: u64,
    dirs: [DirState; 2],
    ends: [EndState; 2],
}

fn di(d: Dir) -> usize {
    d as usize
}
fn si(s: Side) -> usize {
    s as usize
}

impl SummaryBuilder {
    /// A builder for a run of `model` with `seed`.
    pub fn new(model: &str, seed: u64) -> Self {
        SummaryBuilder {
            model: model.to_string(),
            seed,
            dirs: Default::default(),
            ends: Default::default(),
        }
    }

    /// The summary so far, as if the run ended at `end` for reason `ended`, with the analysis's
    /// `findings`.
    pub fn summary(&self, end: Instant, ended: &str, findings: Vec<Finding>) -> Summary {
        let ep = |e: &EndState| EndpointSummary {
            final_state: e.state.to_string(),
            messages_skipped: e.skipped,
            messages_waited: e.waited,
            corrupt_reads: e.corrupt,
            milestones: e.milestones.clone(),
        };
        Summary {
            model: self.model.clone(),
            seed: self.seed,
            simulated_s: secs(end),
            ended: ended.to_string(),
            uplink: self.dirs[0].sum.clone(),
            downlink: self.dirs[1].sum.clone(),
            client: ep(&self.ends[0]),
            server: ep(&self.ends[1]),
            findings,
        }
    }
}

impl EventSink for SummaryBuilder {
    fn handle_event(&mut self, e: &Event<'_>) -> std::io::Result<()> {
        match &e.kind {
            EventKind::Offered {
                dir,
                bytes,
                fate,
                by_middlebox,
                ..
            } => {
                let d = &mut self.dirs[di(*dir)];
                let f = &mut d.sum.frames;
                f.offered += 1;
                if *by_middlebox {
                    f.middlebox_injected += 1;
                }
                *match fate {
                    Fate::Delivered { .. } => &mut f.delivered,
                    Fate::Held { .. } => &mut f.held,
                    Fate::Lost => &mut f.lost,
                    Fate::OutageDropped => &mut f.outage_dropped,
                    Fate::HoldOverflow => &mut f.hold_overflow,
                    Fate::QueueDropped => &mut f.queue_dropped,
                    Fate::MiddleboxDropped => &mut f.middlebox_dropped,
                } += 1;
                if let Some(s) = Ipv4Segment::parse(bytes).map(|s| s.tcp) {
                    let sent = d.send.classify(s.seq, s.seq_len(), s.len, s.flags);
                    if sent != Sent::NoSequenceSpace {
                        d.sum.data_segments += 1;
                    }
                    match sent {
                        Sent::Retransmission => d.sum.retransmissions += 1,
                        Sent::KeepAlive => d.sum.keepalives += 1,
                        Sent::New | Sent::Ahead | Sent::NoSequenceSpace => {}
                    }
                }
            }
            EventKind::Delivered { .. } | EventKind::Captured { .. } => {}
            EventKind::Link { dir, up } => {
                if !up {
                    self.dirs[di(*dir)].sum.outages += 1;
                }
            }
            EventKind::State { side, to, .. } => self.ends[si(*side)].state = *to,
            EventKind::App { side, event } => match *event {
                AppEvent::Write { len } => {
                    self.dirs[di(side.sends())].sum.bytes_written += len as u64
                }
                AppEvent::Read { len } => {
                    let from = match side {
                        Side::Client => Dir::Downlink,
                        Side::Server => Dir::Uplink,
                    };
                    self.dirs[di(from)].sum.bytes_delivered += len as u64
                }
                AppEvent::WriteSkipped { .. } => self.ends[si(*side)].skipped += 1,
                AppEvent::WriteWaited { .. } => self.ends[si(*side)].waited += 1,
                AppEvent::ReadMismatch { .. } => self.ends[si(*side)].corrupt += 1,
                AppEvent::Connected
                | AppEvent::PeerClosed
                | AppEvent::IdleTimeout
                | AppEvent::Close
                | AppEvent::Abort { .. }
                | AppEvent::Reset => self.ends[si(*side)].milestones.push(Milestone {
                    at_s: secs(e.t),
                    event: event.to_string(),
                }),
            },
        }
        Ok(())
    }
}
