//! `trace.pcap`: the frames seen at a capture point as a classic libpcap file (link type 101, raw
//! IPv4), stamped with virtual time from 0.
//!
//! We write the format ourselves instead of through `smoltcp::phy::PcapSink` for two reasons:
//! `PcapSink` writes in the machine's native byte order (the file would differ between little- and
//! big-endian machines, breaking byte-identical outputs) and its `Write` impl panics on I/O errors.
//! This writer is always little-endian and returns errors.

use std::io::{self, Write};

use super::CapturePoint;
use super::{Event, EventKind, EventSink, captured};
use crate::clock::Instant;

/// LINKTYPE_RAW: packets begin with an IPv4 or IPv6 header.
pub const LINKTYPE_RAW: u32 = 101;

/// Streams a pcap file for one capture point.
pub struct PcapWriter<W: Write> {
    out: W,
    point: CapturePoint,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header and returns the writer.
    ///
    /// # Errors
    /// I/O errors.
    pub fn new(mut out: W, point: CapturePoint) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic, microsecond timestamps
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        h.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        h.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
        h.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter { out, point })
    }

    /// Appends one packet record.
    ///
    /// # Errors
    /// I/O errors.
    pub fn packet(&mut self, t: Instant, bytes: &[u8]) -> io::Result<()> {
        let us = t.total_micros().max(0) as u64;
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&((us / 1_000_000) as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
        self.out.write_all(&rec)?;
        self.out.write_all(bytes)
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> EventSink for PcapWriter<W> {
    fn handle_event(&mut self, e: &Event<'_>) -> io::Result<()> {
        if !captured(self.point, &e.kind) {
            return Ok(());
        }
        match &e.kind {
            EventKind::Offered { bytes, .. } | EventKind::Delivered { bytes, .. } => {
                self.packet(e.t, bytes)
            }
            _ => Ok(()),
        }
    }

    fn finish(&mut self, _end: Instant) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the header and record layout byte for byte (libpcap's documented format, little-endian).
    #[test]
    fn layout() {
        let mut w = PcapWriter::new(Vec::new(), CapturePoint::Server).unwrap();
        w.packet(Instant::from_micros(3_000_007), &[0x45, 1, 2])
            .unwrap();
        let b = w.into_inner();
        assert_eq!(&b[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&b[20..24], &[101, 0, 0, 0]);
        assert_eq!(&b[24..28], &[3, 0, 0, 0]);
        assert_eq!(&b[28..32], &[7, 0, 0, 0]);
        assert_eq!(&b[32..36], &[3, 0, 0, 0]);
        assert_eq!(&b[40..], &[0x45, 1, 2]);
    }
}
