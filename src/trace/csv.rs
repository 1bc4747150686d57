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

use super::CapturePoint;
use super::fastfmt::{push_int, push_ipv4, push_secs};
use super::packet::{Ipv4Segment, TcpFlags};
use super::{Dir, Event, EventKind, EventSink, Side, offer_seen, sees};
use crate::clock::Instant;

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
    fn handle_event(&mut self, e: &Event<'_>) -> io::Result<()> {
        let EventKind::Offered {
            id,
            dir,
            bytes,
            fate,
            by_middlebox,
        } = &e.kind
        else {
            return Ok(());
        };
        let Some(frame) = Ipv4Segment::parse(bytes) else {
            return Ok(());
        };
        let s = &frame.tcp;
        if s.has(TcpFlags::SYN) {
            self.isn.insert(*dir, s.seq);
        }
        let other = match dir {
            Dir::Uplink => Dir::Downlink,
            Dir::Downlink => Dir::Uplink,
        };
        let rel = |d: Dir, v: u32| self.isn.get(&d).map_or(v, |&b| v.wrapping_sub(b));
        let seq = rel(*dir, s.seq);
        let ack = if s.has(TcpFlags::ACK) {
            rel(other, s.ack)
        } else {
            0
        };
        let r = &mut self.row;
        r.clear();
        push_secs(r, e.t);
        r.push(',');
        push_int(r, *id);
        r.push(',');
        r.push_str(dir.name());
        r.push(',');
        push_ipv4(r, frame.src);
        r.push(',');
        push_ipv4(r, frame.dst);
        r.push(',');
        s.flags.push_tcpdump(r);
        for v in [seq, ack, s.win, s.len] {
            r.push(',');
            push_int(r, v);
        }
        r.push(',');
        r.push_str(fate.name());
        r.push(',');
        if let Some(at) = fate.arrival() {
            push_secs(r, at);
        }
        // A frame is in the capture if its offer or its delivery is seen there.
        let seen = offer_seen(self.point, *dir, *by_middlebox)
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
    fn handle_event(&mut self, e: &Event<'_>) -> io::Result<()> {
        let r = &mut self.row;
        r.clear();
        push_secs(r, e.t);
        r.push(',');
        push_int(r, e.seq);
        r.push(',');
        let frame_row = |r: &mut String, what: &str, side: Side, dir: Dir, id: u64| {
            r.push_str(what);
            r.push(',');
            r.push_str(side.name());
            r.push(',');
            r.push_str(dir.name());
            r.push(',');
            push_int(r, id);
            r.push(',');
        };
        match &e.kind {
            EventKind::Offered { id, dir, fate, .. } => {
                frame_row(r, "offered", dir.sender(), *dir, *id);
                r.push_str(fate.name());
                if let super::Fate::Held { until, .. } = fate {
                    r.push_str(" until ");
                    push_secs(r, *until);
                }
            }
            EventKind::Delivered { id, dir, .. } => {
                frame_row(r, "delivered", dir.receiver(), *dir, *id)
            }
            EventKind::Link { dir, up } => {
                r.push_str("link,,");
                r.push_str(dir.name());
                r.push_str(if *up { ",,up" } else { ",,down" });
            }
            EventKind::State { side, from, to } => {
                let _ = write!(r, "tcp-state,{},,,{from} -> {to}", side.name());
            }
            EventKind::App { side, event } => {
                let _ = write!(r, "app,{},,,{event}", side.name());
            }
            EventKind::Captured { packet: p } => {
                let _ = write!(
                    r,
                    "captured,,,,endpoint {} > endpoint {} flags 0x{:02x} seq {} ack {} win {} len {}",
                    p.src,
                    p.dst,
                    p.flags.bits(),
                    p.seq,
                    p.ack,
                    p.win,
                    p.len
                );
            }
        }
        r.push('\n');
        self.out.write_all(r.as_bytes())
    }

    fn finish(&mut self, _end: Instant) -> io::Result<()> {
        self.out.flush()
    }
}
