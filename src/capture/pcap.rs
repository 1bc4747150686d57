//! Importing pcap and pcapng captures (through the `pcap-parser` crate): Ethernet (with 802.1Q
//! tags), raw IP, Linux cooked capture (SLL and SLL2) and BSD loopback; IPv4 and IPv6; TCP only,
//! other packets are counted and skipped.
//!
//! Guarantees: streaming (a fixed-size read buffer); truncated or corrupt files are errors naming the
//! file, never panics; packets too short to hold their headers are skipped as not TCP.

use std::io::Read;
use std::net::{IpAddr, Ipv6Addr};

use smoltcp::wire::{IpProtocol, Ipv4Packet};
use std::path::Path;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{Linktype, PcapBlockOwned, PcapError, create_reader};

use super::{Endpoints, ImportError, ImportStats, MAX_RECORD};
use crate::clock::Instant;
use crate::trace::packet::{Packet, Segment};

/// Whether `head` starts like a pcap or pcapng file.
pub fn is_pcap_magic(head: &[u8]) -> bool {
    const MAGICS: [[u8; 4]; 5] = [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
        [0x0a, 0x0d, 0x0d, 0x0a],
    ];
    head.len() >= 4 && MAGICS.iter().any(|m| head[..4] == *m)
}

struct Iface {
    linktype: Linktype,
    /// Timestamp units per second.
    resolution: u64,
    offset: i64,
}

/// Streams the TCP packets of a pcap or pcapng capture into `sink`.
///
/// # Errors
/// Truncated or corrupt files, or I/O errors.
pub fn import(
    reader: impl Read + Send,
    path: &Path,
    sink: &mut dyn FnMut(&Packet, &mut Endpoints),
) -> Result<(Endpoints, ImportStats), ImportError> {
    let err = |message: String| ImportError::file(path, message);
    let mut capacity = 1 << 16;
    let mut rd = create_reader(capacity, ReadFully(reader))
        .map_err(|e| err(format!("not a readable pcap/pcapng file: {}", describe(&e))))?;
    let mut endpoints = Endpoints::default();
    let mut stats = ImportStats::default();
    let mut legacy: Option<(Linktype, bool)> = None;
    let mut ifaces: Vec<Iface> = Vec::new();
    loop {
        match rd.next() {
            Ok((offset, block)) => {
                let packet = match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy = Some((h.network, h.is_nanosecond_precision()));
                        None
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let (lt, nanos) =
                            legacy.ok_or_else(|| err("packet before the pcap header".into()))?;
                        let frac = if nanos {
                            i64::from(b.ts_usec) / 1000
                        } else {
                            i64::from(b.ts_usec)
                        };
                        let t = i64::from(b.ts_sec) * 1_000_000 + frac;
                        Some((lt, t, b.data))
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                        ifaces.clear();
                        None
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        ifaces.push(Iface {
                            linktype: idb.linktype,
                            resolution: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                            offset: idb.ts_offset(),
                        });
                        None
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let i = ifaces.get(epb.if_id as usize).ok_or_else(|| {
                            err(format!("packet on undeclared interface {}", epb.if_id))
                        })?;
                        let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let us = (u128::from(ts) * 1_000_000 / u128::from(i.resolution))
                            .try_into()
                            .ok()
                            .and_then(|us: i64| us.checked_add(i.offset.checked_mul(1_000_000)?))
                            .filter(|us| *us >= 0)
                            .ok_or_else(|| {
                                err(format!(
                                    "a packet's timestamp (with its interface's offset of {} s) \
                                     is out of range",
                                    i.offset
                                ))
                            })?;
                        let caplen = (epb.caplen as usize).min(epb.data.len());
                        Some((i.linktype, us, &epb.data[..caplen]))
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let i = ifaces
                            .first()
                            .ok_or_else(|| err("packet before any interface".into()))?;
                        Some((i.linktype, 0, spb.data))
                    }
                    PcapBlockOwned::NG(_) => None,
                };
                if let Some((lt, t, data)) = packet {
                    match decode(lt, data) {
                        Some((src, dst, s)) => {
                            let src = endpoints.ip(src, s.sport);
                            let dst = endpoints.ip(dst, s.dport);
                            let p = Packet::new(Instant::from_micros(t), src, dst, &s);
                            stats.packets += 1;
                            sink(&p, &mut endpoints);
                        }
                        None => stats.non_tcp += 1,
                    }
                }
                rd.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::UnexpectedEof) => {
                return Err(err("truncated: the file ends inside a packet".into()));
            }
            Err(PcapError::Incomplete(_)) => {
                // A pipe may deliver a record in several reads: refill until the reader is
                // exhausted (the next call then reports truncation) or the buffer is full.
                let before = rd.data().len();
                rd.refill()
                    .map_err(|e| err(format!("cannot read: {}", describe(&e))))?;
                if rd.data().len() == before && !rd.reader_exhausted() {
                    grow(&mut *rd, &mut capacity, &err)?;
                }
            }
            Err(PcapError::BufferTooSmall) => grow(&mut *rd, &mut capacity, &err)?,
            Err(e) => return Err(err(format!("corrupt capture: {}", describe(&e)))),
        }
    }
    if stats.packets + stats.non_tcp == 0 {
        return Err(err("no packets in the capture".into()));
    }
    Ok((endpoints, stats))
}

/// A reader whose reads fill the buffer unless the stream ends: pcap-parser takes a short read for
/// the end of the header or of a block, which a pipe or standard input gives at any point.
struct ReadFully<R>(R);

impl<R: Read> Read for ReadFully<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match self.0.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
}

/// Makes room for a record larger than the reader's buffer, up to [`MAX_RECORD`] (plus 4 KB for the
/// block header and options); a larger record is an error naming its byte offset.
fn grow(
    rd: &mut dyn PcapReaderIterator,
    capacity: &mut usize,
    err: &dyn Fn(String) -> ImportError,
) -> Result<(), ImportError> {
    let most = MAX_RECORD + 4096;
    if *capacity >= most || !rd.grow(most) {
        return Err(err(format!(
            "the record at byte {} is larger than {} KB (a corrupt length, or not a capture)",
            rd.consumed(),
            MAX_RECORD >> 10
        )));
    }
    *capacity = most;
    rd.refill()
        .map_err(|e| err(format!("cannot read: {}", describe(&e))))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Finds the IP packet inside a link-layer frame.
fn ip_payload(lt: Linktype, data: &[u8]) -> Option<&[u8]> {
    match lt {
        Linktype::ETHERNET => {
            let mut at = 12;
            let mut ethertype = be16(data, at)?;
            while ethertype == 0x8100 || ethertype == 0x88a8 {
                at += 4;
                ethertype = be16(data, at)?;
            }
            matches!(ethertype, 0x0800 | 0x86dd).then(|| data.get(at + 2..))?
        }
        Linktype::RAW | Linktype::IPV4 | Linktype::IPV6 => Some(data),
        Linktype::LINUX_SLL => {
            matches!(be16(data, 14)?, 0x0800 | 0x86dd).then(|| data.get(16..))?
        }
        Linktype::LINUX_SLL2 => {
            matches!(be16(data, 0)?, 0x0800 | 0x86dd).then(|| data.get(20..))?
        }
        Linktype::NULL | Linktype::LOOP => data.get(4..),
        _ => None,
    }
}

/// What a `pcap-parser` error means, in the user's terms (not the crate's type names).
fn describe<I>(e: &PcapError<I>) -> String {
    match e {
        PcapError::Eof | PcapError::UnexpectedEof | PcapError::Incomplete(_) => {
            "the file ends inside a block (truncated)".into()
        }
        PcapError::BufferTooSmall => "a block is larger than 256 KB (a corrupt length?)".into(),
        PcapError::ReadError => "the file could not be read".into(),
        PcapError::HeaderNotRecognized => {
            "the header is neither pcap nor pcapng (unrecognised magic number)".into()
        }
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("a malformed block ({})", kind.description())
        }
    }
}

/// The addresses and TCP segment of a link-layer frame, if it carries TCP.
fn decode(lt: Linktype, data: &[u8]) -> Option<(IpAddr, IpAddr, Segment<'_>)> {
    let ip = ip_payload(lt, data)?;
    let (src, dst, tcp) = match ip.first()? >> 4 {
        4 => {
            // smoltcp's accessors, unchecked but behind explicit length checks: a capture cut with
            // a snapshot length holds less than the header's total length says.
            if ip.len() < 20 {
                return None;
            }
            let p = Ipv4Packet::new_unchecked(ip);
            let (ihl, total) = (usize::from(p.header_len()), usize::from(p.total_len()));
            if p.next_header() != IpProtocol::Tcp || p.frag_offset() != 0 || ihl < 20 || total < ihl
            {
                return None;
            }
            let (src, dst) = (p.src_addr(), p.dst_addr());
            (
                IpAddr::V4(src),
                IpAddr::V4(dst),
                ip.get(ihl..total.min(ip.len()))?,
            )
        }
        6 => {
            let plen = usize::from(be16(ip, 4)?);
            if *ip.get(6)? != 6 {
                return None;
            }
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let end = (40 + plen).min(ip.len());
            (
                IpAddr::V6(Ipv6Addr::from(src)),
                IpAddr::V6(Ipv6Addr::from(dst)),
                ip.get(40..end)?,
            )
        }
        _ => return None,
    };
    Some((src, dst, Segment::parse_tcp(tcp)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the link-layer unwrapping finds the IP header for each supported link type.
    #[test]
    fn link_types() {
        let ip = [0x45u8, 0, 0, 20];
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x81, 0x00, 0, 1, 0x08, 0x00]);
        eth.extend_from_slice(&ip);
        assert_eq!(ip_payload(Linktype::ETHERNET, &eth), Some(&ip[..]));
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(&ip);
        assert_eq!(ip_payload(Linktype::LINUX_SLL, &sll), Some(&ip[..]));
        assert_eq!(ip_payload(Linktype::RAW, &ip), Some(&ip[..]));
        let arp = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x06, 1, 2];
        assert_eq!(ip_payload(Linktype::ETHERNET, &arp), None);
    }

    // Proves arbitrary short or garbage frames never panic the decoder.
    #[test]
    fn garbage_frames() {
        for n in 0..80 {
            let junk: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            for lt in [
                Linktype::ETHERNET,
                Linktype::RAW,
                Linktype::LINUX_SLL,
                Linktype::LINUX_SLL2,
                Linktype::NULL,
            ] {
                let _ = decode(lt, &junk);
                let mut v4 = junk.clone();
                if !v4.is_empty() {
                    v4[0] = 0x45;
                }
                let _ = decode(lt, &v4);
            }
        }
    }
}
