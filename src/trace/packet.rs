//! The one decoded form of a TCP segment, [`Segment`] (a `Repr` in smoltcp's Packet/Repr sense),
//! read with smoltcp's wire accessors ([`Ipv4Packet`], [`TcpPacket`], [`TcpOption`]) and used by
//! every part that looks inside a frame: the engine (the `linux` close policy, MSS clamping), the
//! middlebox, the writers (text, CSV), the summary, the analysis and the capture importers. Also
//! the compact capture record [`Packet`] (a segment at a capture point between two endpoint ids)
//! and the one IPv4/TCP emitter.
//!
//! Guarantees: decoding never panics and never allocates; anything that is not a well-formed
//! IPv4 (or, for [`Segment::parse_tcp`], TCP) header decodes to `None`.

use std::fmt;
use std::net::Ipv4Addr;

use bitflags::bitflags;
use smoltcp::wire::{IpProtocol, Ipv4Packet, TcpOption, TcpPacket};

use crate::clock::Instant;

bitflags! {
    /// TCP flag bits as in the header.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct TcpFlags: u8 {
        /// FIN.
        const FIN = 0x01;
        /// SYN.
        const SYN = 0x02;
        /// RST.
        const RST = 0x04;
        /// PSH.
        const PSH = 0x08;
        /// ACK.
        const ACK = 0x10;
        /// URG.
        const URG = 0x20;
    }
}

impl TcpFlags {
    /// Appends the flags in tcpdump's notation (`S`, `S.`, `P.`, `F.`, `R`, `.`, or `none`).
    pub fn push_tcpdump(self, s: &mut String) {
        let before = s.len();
        for (bit, c) in [
            (TcpFlags::FIN, 'F'),
            (TcpFlags::SYN, 'S'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::ACK, '.'),
            (TcpFlags::URG, 'U'),
        ] {
            if self.contains(bit) {
                s.push(c);
            }
        }
        if s.len() == before {
            s.push_str("none");
        }
    }

    /// The flags in tcpdump's notation.
    pub fn tcpdump(self) -> String {
        let mut s = String::new();
        self.push_tcpdump(&mut s);
        s
    }
}

/// The raw TCP options of a segment (at most 40 bytes), borrowed from the frame, in order, so they
/// print as tcpdump prints them.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpOptions<'a> {
    bytes: &'a [u8],
}

impl fmt::Debug for TcpOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{self}]")
    }
}

impl<'a> TcpOptions<'a> {
    /// Options from the raw option bytes of a header.
    pub fn from_bytes(bytes: &'a [u8]) -> TcpOptions<'a> {
        TcpOptions { bytes }
    }

    /// No options.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The raw option bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The options in order; a malformed option ends the list with `Err(())`.
    pub fn iter(&self) -> impl Iterator<Item = Result<TcpOption<'a>, ()>> + 'a {
        self.iter_at().map(|(_, o)| o)
    }

    /// The options in order with their byte offsets in the option bytes.
    fn iter_at(&self) -> impl Iterator<Item = (usize, Result<TcpOption<'a>, ()>)> + 'a {
        let all = self.bytes;
        let mut rest = all;
        let mut done = false;
        std::iter::from_fn(move || {
            if done || rest.is_empty() {
                return None;
            }
            let at = all.len() - rest.len();
            match TcpOption::parse(rest) {
                Ok((next, opt)) => {
                    done = matches!(opt, TcpOption::EndOfList);
                    rest = next;
                    Some((at, Ok(opt)))
                }
                Err(_) => {
                    done = true;
                    Some((at, Err(())))
                }
            }
        })
    }

    /// The MSS option, if present.
    pub fn mss(&self) -> Option<u16> {
        self.mss_at().map(|(_, m)| m)
    }

    /// The MSS option and its byte offset in the option bytes.
    fn mss_at(&self) -> Option<(usize, u16)> {
        self.iter_at().find_map(|(at, o)| match o {
            Ok(TcpOption::MaxSegmentSize(m)) => Some((at, m)),
            _ => None,
        })
    }
}

/// tcpdump's notation, e.g. `mss 1440,nop,wscale 0,sackOK`.
impl fmt::Display for TcpOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, opt) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match opt {
                Err(()) => f.write_str("[bad opt]")?,
                Ok(TcpOption::EndOfList) => f.write_str("eol")?,
                Ok(TcpOption::NoOperation) => f.write_str("nop")?,
                Ok(TcpOption::MaxSegmentSize(m)) => write!(f, "mss {m}")?,
                Ok(TcpOption::WindowScale(s)) => write!(f, "wscale {s}")?,
                Ok(TcpOption::SackPermitted) => f.write_str("sackOK")?,
                Ok(TcpOption::SackRange(r)) => {
                    write!(f, "sack {} ", r.iter().flatten().count())?;
                    for (a, b) in r.iter().flatten() {
                        write!(f, "{{{a}:{b}}}")?;
                    }
                }
                Ok(TcpOption::TimeStamp { tsval, tsecr }) => {
                    write!(f, "TS val {tsval} ecr {tsecr}")?
                }
                Ok(TcpOption::Unknown { kind, .. }) => write!(f, "unknown-{kind}")?,
            }
        }
        Ok(())
    }
}

/// The decoded header of one TCP segment: ports, numbers, flags, window, payload length, and the
/// options (borrowed from the frame, like smoltcp's `TcpRepr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Segment<'a> {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number (absolute).
    pub seq: u32,
    /// Acknowledgement number (absolute; meaningful with ACK).
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Raw window field (unscaled, as tcpdump prints it).
    pub win: u32,
    /// Payload length.
    pub len: u32,
    /// Options, in order.
    pub options: TcpOptions<'a>,
}

impl<'a> Segment<'a> {
    /// Decodes a TCP header and payload (`tcp` ends where the IP packet's payload ends).
    pub fn parse_tcp(tcp: &'a [u8]) -> Option<Segment<'a>> {
        let p = TcpPacket::new_checked(tcp).ok()?;
        let header = usize::from(p.header_len());
        Some(Segment {
            sport: p.src_port(),
            dport: p.dst_port(),
            seq: p.seq_number().0 as u32,
            ack: p.ack_number().0 as u32,
            flags: TcpFlags::from_bits_truncate(tcp[13]),
            win: u32::from(p.window_len()),
            len: (tcp.len() - header) as u32,
            options: TcpOptions::from_bytes(&tcp[20..header]),
        })
    }

    /// Has any of these flags.
    pub fn has(&self, flags: TcpFlags) -> bool {
        self.flags.intersects(flags)
    }

    /// Sequence space consumed: payload plus one for SYN and for FIN.
    pub fn seq_len(&self) -> u32 {
        self.len + u32::from(self.has(TcpFlags::SYN)) + u32::from(self.has(TcpFlags::FIN))
    }
}

/// A decoded IPv4 packet carrying TCP: addresses and the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Segment<'a> {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// The TCP segment.
    pub tcp: Segment<'a>,
}

impl<'a> Ipv4Segment<'a> {
    /// Decodes an IPv4 packet carrying TCP; `None` for anything else.
    pub fn parse(bytes: &'a [u8]) -> Option<Ipv4Segment<'a>> {
        let ip = Ipv4Packet::new_checked(bytes).ok()?;
        if ip.next_header() != IpProtocol::Tcp {
            return None;
        }
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let header = usize::from(ip.header_len());
        let total = usize::from(ip.total_len());
        Some(Ipv4Segment {
            src,
            dst,
            tcp: Segment::parse_tcp(&bytes[header..total])?,
        })
    }
}

/// One TCP segment as seen at a capture point, between two endpoints of the capture (ids into its
/// endpoint table). Its header fields are a [`Segment`]'s, copied by [`Packet::new`]; tcpdump text
/// may omit the sequence number (`seq_known = false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet {
    /// When it was seen.
    pub t: Instant,
    /// Sending endpoint (id in the capture's endpoint table).
    pub src: u32,
    /// Receiving endpoint.
    pub dst: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Sequence number, as captured (tcpdump text may print relative numbers).
    pub seq: u32,
    /// Acknowledgement number (meaningful with ACK).
    pub ack: u32,
    /// Window field, unscaled.
    pub win: u32,
    /// Payload length.
    pub len: u32,
    /// False when the capture did not show the sequence number (tcpdump omits it on pure ACKs).
    pub seq_known: bool,
    /// Wireshark's own analysis of the packet, when the capture is tshark text: one bit per
    /// [`crate::classes::WIRESHARK`] label; 0 otherwise.
    pub wireshark: u16,
}

impl Packet {
    /// The packet of segment `s` seen at `t` from endpoint `src` to `dst`.
    pub fn new(t: Instant, src: u32, dst: u32, s: &Segment<'_>) -> Packet {
        Packet {
            t,
            src,
            dst,
            flags: s.flags,
            seq: s.seq,
            ack: s.ack,
            win: s.win,
            len: s.len,
            seq_known: true,
            wireshark: 0,
        }
    }

    /// Has any of these flags.
    pub fn has(&self, flags: TcpFlags) -> bool {
        self.flags.intersects(flags)
    }

    /// Sequence space consumed: payload plus one for SYN and for FIN.
    pub fn seq_len(&self) -> u32 {
        self.len + u32::from(self.has(TcpFlags::SYN)) + u32::from(self.has(TcpFlags::FIN))
    }
}

/// Emits an IPv4 packet carrying `tcp` from `src` to `dst`, with valid checksums.
pub fn emit_ipv4_tcp(src: Ipv4Addr, dst: Ipv4Addr, tcp: &smoltcp::wire::TcpRepr<'_>) -> Vec<u8> {
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{IpAddress, Ipv4Repr};
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let mut buf = vec![0u8; ip.buffer_len() + tcp.buffer_len()];
    let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
    ip.emit(&mut packet, &ChecksumCapabilities::default());
    tcp.emit(
        &mut TcpPacket::new_unchecked(packet.payload_mut()),
        &IpAddress::Ipv4(src),
        &IpAddress::Ipv4(dst),
        &ChecksumCapabilities::default(),
    );
    buf
}

/// Lowers the MSS option of a SYN to `mss` in place, fixing the checksum; returns whether it
/// changed anything.
pub fn clamp_syn_mss(frame: &mut [u8], mss: u16) -> bool {
    let Some((src, dst, at)) = Ipv4Segment::parse(frame).and_then(|s| {
        let (at, have) = s.tcp.options.mss_at()?;
        (s.tcp.has(TcpFlags::SYN) && have > mss).then_some((s.src, s.dst, at))
    }) else {
        return false;
    };
    let Ok(mut ip) = Ipv4Packet::new_checked(&mut frame[..]) else {
        return false;
    };
    let mut tcp = TcpPacket::new_unchecked(ip.payload_mut());
    // Kind (2), length (4), then the value.
    tcp.options_mut()[at + 2..at + 4].copy_from_slice(&mss.to_be_bytes());
    tcp.fill_checksum(
        &smoltcp::wire::IpAddress::Ipv4(src),
        &smoltcp::wire::IpAddress::Ipv4(dst),
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::{TcpControl, TcpRepr, TcpSeqNumber};

    fn build(control: TcpControl, payload: &[u8], ack: Option<u32>) -> Vec<u8> {
        let src = smoltcp::wire::Ipv4Address::new(10, 0, 0, 1);
        let dst = smoltcp::wire::Ipv4Address::new(10, 0, 0, 2);
        let tcp = TcpRepr {
            src_port: 1000,
            dst_port: 2000,
            control,
            seq_number: TcpSeqNumber(100),
            ack_number: ack.map(|a| TcpSeqNumber(a as i32)),
            window_len: 5744,
            window_scale: if control == TcpControl::Syn {
                Some(0)
            } else {
                None
            },
            max_seg_size: if control == TcpControl::Syn {
                Some(1440)
            } else {
                None
            },
            sack_permitted: control == TcpControl::Syn,
            sack_ranges: [None; 3],
            timestamp: None,
            payload,
        };
        emit_ipv4_tcp(src, dst, &tcp)
    }

    // Proves header fields, tcpdump-style flags and options decode from a real emitted segment.
    #[test]
    fn decodes_fields() {
        let data = build(TcpControl::Psh, b"hello", Some(7));
        let s = Ipv4Segment::parse(&data).unwrap().tcp;
        assert_eq!(
            (s.sport, s.dport, s.seq, s.ack, s.win, s.len),
            (1000, 2000, 100, 7, 5744, 5)
        );
        assert_eq!(s.flags.tcpdump(), "P.");
        let syn = build(TcpControl::Syn, b"", None);
        let syn = Ipv4Segment::parse(&syn).unwrap().tcp;
        assert_eq!(syn.flags.tcpdump(), "S");
        // smoltcp pads the options to a 4-byte boundary with end-of-list bytes.
        assert_eq!(syn.options.to_string(), "mss 1440,wscale 0,sackOK,eol");
        assert_eq!(syn.options.mss(), Some(1440));
        assert_eq!(syn.seq_len(), 1);
    }

    // Proves garbage and truncated packets decode to None instead of panicking.
    #[test]
    fn rejects_garbage() {
        assert!(Ipv4Segment::parse(&[]).is_none());
        assert!(Ipv4Segment::parse(&[0x45; 30]).is_none());
        let good = build(TcpControl::None, b"x", Some(1));
        for cut in 0..good.len() {
            let _ = Ipv4Segment::parse(&good[..cut]);
            let _ = Segment::parse_tcp(&good[20..cut.max(20)]);
        }
    }

    // Proves MSS clamping rewrites only a SYN's larger MSS option and keeps the checksum valid.
    #[test]
    fn clamp_mss_rewrites_syn() {
        use smoltcp::phy::ChecksumCapabilities;
        use smoltcp::wire::IpAddress;
        let mut syn = build(TcpControl::Syn, b"", None);
        assert!(clamp_syn_mss(&mut syn, 1400));
        let ip = Ipv4Packet::new_checked(&syn[..]).unwrap();
        let (src, dst) = (
            IpAddress::Ipv4(ip.src_addr()),
            IpAddress::Ipv4(ip.dst_addr()),
        );
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        assert!(tcp.verify_checksum(&src, &dst));
        let repr = TcpRepr::parse(&tcp, &src, &dst, &ChecksumCapabilities::default()).unwrap();
        assert_eq!(
            (repr.max_seg_size, repr.window_scale, repr.sack_permitted),
            (Some(1400), Some(0), true)
        );
        let mut syn = build(TcpControl::Syn, b"", None);
        assert!(!clamp_syn_mss(&mut syn, 1460), "smaller MSS left alone");
        let mut data = build(TcpControl::Psh, b"x", Some(1));
        assert!(!clamp_syn_mss(&mut data, 100), "only SYNs");
    }
}
