//! Importing pcap and pcapng captures (through the `pcap-parser` crate): Ethernet (with 802.1Q
//! tags), raw IP, Linux cooked capture (SLL and SLL2), BSD loopback, and unencrypted 802.11 data
//! frames (with or without a radiotap header: a monitor-mode WiFi capture); IPv4 and IPv6 (its
//! extension headers followed); TCP only, other packets are counted and skipped, and packets on a
//! link type tcpsim cannot decode are counted by link type and reported.
//!
//! Guarantees: streaming (a fixed-size read buffer); truncated or corrupt files are errors naming the
//! file, never panics; packets too short to hold their headers are skipped as not TCP; a segment's
//! payload length comes from the IP header (total or payload length), not from how many bytes were
//! captured, so a capture cut with a snapshot length (`tcpdump -s 96`, `editcap -s 96`) reads as
//! the packets that were on the wire.

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
    endpoints.set_time_kind(super::TimeKind::DateTime);
    let mut stats = ImportStats {
        time: super::TimeKind::DateTime,
        ..ImportStats::default()
    };
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
                        Decoded::Tcp(src, dst, s) => {
                            let src = endpoints.ip(src, s.sport);
                            let dst = endpoints.ip(dst, s.dport);
                            let p = Packet::new(Instant::from_micros(t), src, dst, &s);
                            stats.packets += 1;
                            sink(&p, &mut endpoints);
                        }
                        Decoded::NotTcp => stats.non_tcp += 1,
                        Decoded::UnknownLink => stats.unknown_link(lt.0),
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
    if stats.packets == 0 && !stats.unsupported_links.is_empty() {
        return Err(err(format!(
            "no packets tcpsim can decode: {}",
            super::link_types_text(&stats.unsupported_links)
        )));
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

/// Link types [`ip_payload`] unwraps.
fn supported(lt: Linktype) -> bool {
    matches!(
        lt,
        Linktype::ETHERNET
            | Linktype::RAW
            | Linktype::IPV4
            | Linktype::IPV6
            | Linktype::LINUX_SLL
            | Linktype::LINUX_SLL2
            | Linktype::NULL
            | Linktype::LOOP
    ) || lt.0 == IEEE802_11
        || lt.0 == IEEE802_11_RADIOTAP
}

/// 802.11 frames, and 802.11 frames behind a radiotap header (tcpdump.org link-type numbers).
const IEEE802_11: i32 = 105;
const IEEE802_11_RADIOTAP: i32 = 127;

/// The IP packet inside an 802.11 data frame: the MAC header (its length from the frame control
/// field: 4-address frames, QoS, HT control), then LLC/SNAP with an IP ethertype. Management,
/// control and protected (encrypted) frames carry nothing tcpsim can read.
fn wifi_payload(f: &[u8]) -> Option<&[u8]> {
    let (fc0, fc1) = (*f.first()?, *f.get(1)?);
    let (kind, subtype) = ((fc0 >> 2) & 3, fc0 >> 4);
    if kind != 2 || fc1 & 0x40 != 0 || subtype & 4 != 0 {
        return None; // not data, protected, or a null-data subtype
    }
    let mut at = 24;
    if fc1 & 3 == 3 {
        at += 6; // to-DS and from-DS: a fourth address
    }
    if subtype & 8 != 0 {
        at += 2; // QoS control
        if fc1 & 0x80 != 0 {
            at += 4; // HT control
        }
    }
    let snap = f.get(at..at + 8)?;
    if snap[..6] != [0xaa, 0xaa, 0x03, 0, 0, 0] || !matches!(be16(snap, 6)?, 0x0800 | 0x86dd) {
        return None;
    }
    f.get(at + 8..)
}

/// Finds the IP packet inside a link-layer frame.
fn ip_payload(lt: Linktype, data: &[u8]) -> Option<&[u8]> {
    match lt {
        Linktype(IEEE802_11) => wifi_payload(data),
        Linktype(IEEE802_11_RADIOTAP) => {
            let len = usize::from(u16::from_le_bytes([*data.get(2)?, *data.get(3)?]));
            wifi_payload(data.get(len..)?)
        }
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

/// What a link-layer frame holds.
enum Decoded<'a> {
    /// A TCP segment between these addresses.
    Tcp(IpAddr, IpAddr, Segment<'a>),
    /// Something else (ARP, UDP, a fragment, a frame too short for its headers...).
    NotTcp,
    /// A frame of a link type tcpsim cannot unwrap.
    UnknownLink,
}

/// What a link-layer frame holds.
fn decode(lt: Linktype, data: &[u8]) -> Decoded<'_> {
    if !supported(lt) {
        return Decoded::UnknownLink;
    }
    match decode_ip(ip_payload(lt, data)) {
        Some((src, dst, s)) => Decoded::Tcp(src, dst, s),
        None => Decoded::NotTcp,
    }
}

/// The TCP payload and the length the TCP segment had on the wire, after IPv6's extension headers
/// (`next`: the first next-header value, `rest`: what follows the fixed header, `wire`: the payload
/// length the fixed header declares, 0 for "not given", as TSO and jumbograms show it).
fn ipv6_tcp(mut next: u8, mut rest: &[u8], mut wire: usize) -> Option<(&[u8], usize)> {
    for _ in 0..8 {
        let skip = match next {
            6 => return Some((rest, wire)),
            // Hop-by-hop, routing, destination options, mobility, HIP, shim6: 8-octet units.
            0 | 43 | 60 | 135 | 139 | 140 => (usize::from(*rest.get(1)?) + 1) * 8,
            44 => {
                // Fragment: only an unfragmented packet (offset 0, no more fragments) is whole.
                if be16(rest, 2)? & 0xfff9 != 0 {
                    return None;
                }
                8
            }
            51 => (usize::from(*rest.get(1)?) + 2) * 4, // authentication header: 4-octet units
            _ => return None,                           // no next header, ESP, or not TCP
        };
        next = *rest.first()?;
        rest = rest.get(skip..)?;
        wire = if wire == 0 {
            0
        } else {
            wire.checked_sub(skip)?
        };
    }
    None
}

/// The addresses and TCP segment of an IP packet, if it carries TCP, with its payload length from
/// the IP header.
fn decode_ip(ip: Option<&[u8]>) -> Option<(IpAddr, IpAddr, Segment<'_>)> {
    let ip = ip?;
    let (src, dst, tcp, wire) = match ip.first()? >> 4 {
        4 => {
            // smoltcp's accessors, unchecked but behind explicit length checks: a capture cut with
            // a snapshot length holds less than the header's total length says.
            if ip.len() < 20 {
                return None;
            }
            let p = Ipv4Packet::new_unchecked(ip);
            let (ihl, total) = (usize::from(p.header_len()), usize::from(p.total_len()));
            if p.next_header() != IpProtocol::Tcp || p.frag_offset() != 0 || p.more_frags() {
                return None;
            }
            // A total length of 0 is a segmentation-offload capture: the captured bytes are all.
            let total = if total == 0 { ip.len() } else { total };
            if ihl < 20 || total < ihl {
                return None;
            }
            let (src, dst) = (p.src_addr(), p.dst_addr());
            let tcp = ip.get(ihl..total.min(ip.len()))?;
            (IpAddr::V4(src), IpAddr::V4(dst), tcp, total - ihl)
        }
        6 => {
            let plen = usize::from(be16(ip, 4)?);
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let after = ip.get(40..(40 + plen).min(ip.len()).max(40))?;
            let after = if plen == 0 { &ip[40..] } else { after };
            let (tcp, wire) = ipv6_tcp(*ip.get(6)?, after, plen)?;
            let wire = if plen == 0 { tcp.len() } else { wire };
            (
                IpAddr::V6(Ipv6Addr::from(src)),
                IpAddr::V6(Ipv6Addr::from(dst)),
                tcp,
                wire,
            )
        }
        _ => return None,
    };
    let mut s = Segment::parse_tcp(tcp)?;
    // The header was captured whole (parse_tcp checks); the payload's length is what the IP
    // header says, whatever the snapshot length kept of it.
    let header = tcp.len() - s.len as usize;
    s.len = u32::try_from(wire.checked_sub(header)?).ok()?;
    Some((src, dst, s))
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

    /// A 20-byte TCP header (ports 1000 → 80, seq 7, ack 9, PSH|ACK, window 512).
    fn tcp_header() -> Vec<u8> {
        let mut t = vec![
            0x03, 0xe8, 0, 80, 0, 0, 0, 7, 0, 0, 0, 9, 0x50, 0x18, 0x02, 0,
        ];
        t.extend_from_slice(&[0, 0, 0, 0]);
        t
    }

    /// An IPv4 packet declaring `total` bytes, of which only the headers and `kept` payload bytes
    /// are present (as a snapshot length leaves it).
    fn ipv4(total: u16, kept: usize) -> Vec<u8> {
        let t = total.to_be_bytes();
        let mut ip = vec![
            0x45, 0, t[0], t[1], 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        ip.extend(tcp_header());
        ip.extend(std::iter::repeat_n(0xab, kept));
        ip
    }

    fn tcp_len(d: Decoded<'_>) -> Option<u32> {
        match d {
            Decoded::Tcp(_, _, s) => Some(s.len),
            _ => None,
        }
    }

    // Proves payload lengths come from the IP header: a 1500-byte packet cut to 96 bytes (as
    // `editcap -s 96` leaves it) still has 1460 payload bytes, a TSO capture (total length 0) takes
    // the captured length, and Ethernet padding after a short packet is not payload.
    #[test]
    fn lengths_from_the_ip_header() {
        assert_eq!(tcp_len(decode(Linktype::RAW, &ipv4(1500, 56))), Some(1460));
        assert_eq!(tcp_len(decode(Linktype::RAW, &ipv4(0, 100))), Some(100));
        let mut padded = ipv4(40, 0);
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(tcp_len(decode(Linktype::RAW, &padded)), Some(0));
        // A header claiming less than its own TCP header is not a segment.
        assert_eq!(tcp_len(decode(Linktype::RAW, &ipv4(30, 0))), None);
    }

    // Proves IPv6 extension headers are followed to the TCP header (hop-by-hop, then destination
    // options), with the payload length less the headers skipped; a non-first fragment is not TCP.
    #[test]
    fn ipv6_extension_headers() {
        let payload = 100usize;
        let plen = (8 + 16 + 20 + payload) as u16;
        let mut ip = vec![0x60, 0, 0, 0];
        ip.extend_from_slice(&plen.to_be_bytes());
        ip.extend_from_slice(&[0, 64]); // next header: hop-by-hop
        ip.extend_from_slice(&[0x20; 32]);
        ip.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]); // hop-by-hop → destination options
        ip.extend_from_slice(&[6, 1, 1, 12]); // destination options (16 bytes) → TCP
        ip.extend_from_slice(&[0; 12]);
        ip.extend(tcp_header());
        ip.extend(std::iter::repeat_n(0xab, 10)); // cut: 90 payload bytes not captured
        assert_eq!(tcp_len(decode(Linktype::RAW, &ip)), Some(payload as u32));
        let mut frag = ip.clone();
        frag[6] = 44; // a fragment header whose offset is not 0
        frag[40..48].copy_from_slice(&[6, 0, 0, 0x10, 0, 0, 0, 1]);
        assert_eq!(tcp_len(decode(Linktype::RAW, &frag)), None);
    }

    // Proves an 802.11 QoS data frame behind a radiotap header (a monitor-mode WiFi capture) is
    // unwrapped, a protected frame is not, and an unknown link type is told apart from non-TCP.
    #[test]
    fn wifi_frames_and_unknown_link_types() {
        let mut f = vec![0, 0, 8, 0, 0, 0, 0, 0]; // radiotap: version, pad, length 8, no fields
        f.extend_from_slice(&[0x88, 0x01, 0, 0]); // QoS data, to-DS; duration
        f.extend_from_slice(&[0x11; 18]); // three addresses
        f.extend_from_slice(&[0, 0, 0, 0]); // sequence control, QoS control
        f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        f.extend(ipv4(50, 10));
        assert_eq!(tcp_len(decode(Linktype(IEEE802_11_RADIOTAP), &f)), Some(10));
        assert_eq!(tcp_len(decode(Linktype(IEEE802_11), &f[8..])), Some(10));
        let mut protected = f.clone();
        protected[9] |= 0x40;
        assert!(matches!(
            decode(Linktype(IEEE802_11_RADIOTAP), &protected),
            Decoded::NotTcp
        ));
        assert!(matches!(decode(Linktype(9), &f), Decoded::UnknownLink));
    }

    // Proves arbitrary short or garbage frames never panic the decoder.
    #[test]
    fn garbage_frames() {
        for n in 0..80 {
            let junk: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            for lt in [
                Linktype::ETHERNET,
                Linktype(IEEE802_11),
                Linktype(IEEE802_11_RADIOTAP),
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
                let mut v6 = junk.clone();
                if v6.len() > 6 {
                    v6[0] = 0x60;
                    v6[6] = 0; // a hop-by-hop header first
                }
                let _ = decode(lt, &v6);
            }
        }
    }
}
