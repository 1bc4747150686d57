//! `packets.csv` (one row per frame offered to the link) and `events.csv` (one row per event), with
//! header rows.
//!
//! packets.csv columns: `t_s` (offered), `frame`, `dir`, `src`, `dst`, `flags` (tcpdump notation),
//! `seq`, `ack` (relative to each side's initial sequence number, the SYN being 0), `win`, `len`,
//! `fate`, `arrival_s` (empty when the frame never arrives), `captured` (1 when the frame appears in
//! `trace.txt`/`trace.pcap` at the model's capture point).
//!
//! events.csv columns: `t_s`, `seq` (event order), `event`, `side`, `dir`, `frame`, `detail`.
//!
//! No field ever contains a comma, quote or newline (they are numbers, addresses and fixed words),
//! so rows need no quoting.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use super::packet::{Segment, flags};
use super::{Dir, Event, EventKind, EventSink, sees};
use crate::clock::{Instant, fmt_secs};
use crate::model::CapturePoint;

/// Streams `packets.csv`.
pub struct PacketsCsv<W: Write> {
    out: W,
    point: CapturePoint,
    /// Initial sequence number of each direction, from its SYN.
    isn: BTreeMap<Dir, u32>,
    row: String,
}

/// The header row of `packets.csv`.
pub const PACKETS_HEADER: &str =
    "t_s,frame,dir,src,dst,flags,seq,ack,win,len,fate,arrival_s,captured\n";
/// The header row of `events.csv`.
pub const EVENTS_HEADER: &str = "t_s,seq,event,side,dir,frame,detail\n";

impl<W: Write> PacketsCsv<W> {
    /// Writes the header row and returns the writer.
    ///
    /// # Errors
    /// I/O errors.
    pub fn new(mut out: W, point: CapturePoint) -> io::Result<Self> {
        out.write_all(PACKETS_HEADER.as_bytes())?;
        Ok(PacketsCsv {
            out,
            point,
            isn: BTreeMap::new(),
            row: String::with_capacity(128),
        })
    }
}

impl<W: Write> EventSink for PacketsCsv<W> {
    fn handle_event(&mut self, e: &Event) -> io::Result<()> {
        let EventKind::Offered {
            id,
            dir,
            bytes,
            fate,
        } = &e.kind
        else {
            return Ok(());
        };
        let Some(s) = Segment::parse(bytes) else {
            return Ok(());
        };
        if s.has(flags::SYN) {
            self.isn.insert(*dir, s.seq);
        }
        let other = match dir {
            Dir::Uplink => Dir::Downlink,
            Dir::Downlink => Dir::Uplink,
        };
        let rel = |d: Dir, v: u32| self.isn.get(&d).map_or(v, |&b| v.wrapping_sub(b));
        let seq = rel(*dir, s.seq);
        let ack = if s.has(flags::ACK) {
            rel(other, s.ack)
        } else {
            0
        };
        let r = &mut self.row;
        r.clear();
        let _ = write!(
            r,
            "{},{id},{},{},{},{},{seq},{ack},{},{},{},",
            fmt_secs(e.t),
            dir.name(),
            s.src,
            s.dst,
            s.flag_str(),
            s.win,
            s.len,
            fate.name()
        );
        if let Some(at) = fate.arrival() {
            r.push_str(&fmt_secs(at));
        }
        // A frame is in the capture if its offer or its delivery is seen there.
        let seen = sees(self.point, *dir, false)
            || (fate.arrival().is_some() && sees(self.point, *dir, true));
        r.push_str(if seen { ",1\n" } else { ",0\n" });
        self.out.write_all(r.as_bytes())
    }

    fn finish(&mut self, _end: Instant) -> io::Result<()> {
        self.out.flush()
    }
}

/// Streams `events.csv`.
pub struct EventsCsv<W: Write> {
    out: W,
    row: String,
}

impl<W: Write> EventsCsv<W> {
    /// Writes the header row and returns the writer.
    ///
    /// # Errors
    /// I/O errors.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(EVENTS_HEADER.as_bytes())?;
        Ok(EventsCsv {
            out,
            row: String::with_capacity(128),
        })
    }
}

impl<W: Write> EventSink for EventsCsv<W> {
    fn handle_event(&mut self, e: &Event) -> io::Result<()> {
        let r = &mut self.row;
        r.clear();
        let _ = write!(r, "{},{},", fmt_secs(e.t), e.seq);
        let _ = match &e.kind {
            EventKind::Offered { id, dir, fate, .. } => {
                let _ = write!(
                    r,
                    "offered,{},{},{id},{}",
                    dir.sender().name(),
                    dir.name(),
                    fate.name()
                );
                if let super::Fate::Held { until, .. } = fate {
                    let _ = write!(r, " until {}", fmt_secs(*until));
                }
                Ok(())
            }
            EventKind::Delivered { id, dir, .. } => {
                write!(
                    r,
                    "delivered,{},{},{id},",
                    dir.receiver().name(),
                    dir.name()
                )
            }
            EventKind::Link { dir, up } => {
                write!(
                    r,
                    "link,,{},,{}",
                    dir.name(),
                    if *up { "up" } else { "down" }
                )
            }
            EventKind::State { side, from, to } => {
                write!(r, "tcp-state,{},,,{from} -> {to}", side.name())
            }
            EventKind::App { side, event } => write!(r, "app,{},,,{event}", side.name()),
        };
        r.push('\n');
        self.out.write_all(r.as_bytes())
    }

    fn finish(&mut self, _end: Instant) -> io::Result<()> {
        self.out.flush()
    }
}
