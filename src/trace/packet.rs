//! Decoding the IPv4/TCP packets in a trace into the fields reports need (addresses, ports, flags,
//! sequence numbers, window, payload length, options), with smoltcp's wire accessors.
//!
//! Guarantees: never panics on arbitrary bytes; anything that is not a well-formed IPv4 TCP segment
//! decodes to `None`.

use std::net::Ipv4Addr;

use smoltcp::wire::{IpProtocol, Ipv4Packet, TcpOption, TcpPacket};

/// TCP flag bits as in the header.
pub mod flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
}

/// The few TCP header fields hot paths need, read without validation or allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peek {
    /// Flag bits.
    pub flags: u8,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Payload length.
    pub len: u32,
}

impl Peek {
    /// Sequence space consumed: payload plus one for SYN and for FIN.
    pub fn seq_len(&self) -> u32 {
        self.len + u32::from(self.flags & flags::SYN != 0) + u32::from(self.flags & flags::FIN != 0)
    }
}

/// Reads flags, seq, ack and payload length of an IPv4 TCP packet; `None` if it is too short to
/// hold them. Never panics.
pub fn peek_tcp(p: &[u8]) -> Option<Peek> {
    let ihl = usize::from(*p.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*p.get(2)?, *p.get(3)?])).min(p.len());
    let t = p.get(ihl..total)?;
    if t.len() < 20 {
        return None;
    }
    let doff = usize::from(t[12] >> 4) * 4;
    Some(Peek {
        flags: t[13] & 0x3f,
        seq: u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
        ack: u32::from_be_bytes([t[8], t[9], t[10], t[11]]),
        len: t.len().saturating_sub(doff) as u32,
    })
}

/// The decoded header fields of one TCP segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number (absolute).
    pub seq: u32,
    /// Acknowledgement number (absolute; meaningful with ACK).
    pub ack: u32,
    /// Flag bits (see [`flags`]).
    pub flags: u8,
    /// Raw window field (unscaled, as tcpdump prints it).
    pub win: u16,
    /// Payload length.
    pub len: u32,
    /// Options in tcpdump's notation, e.g. `mss 1440,nop,wscale 0,sackOK`.
    pub options: String,
}

impl Segment {
    /// Decodes an IPv4 packet carrying TCP.
    pub fn parse(bytes: &[u8]) -> Option<Segment> {
        let ip = Ipv4Packet::new_checked(bytes).ok()?;
        if ip.next_header() != IpProtocol::Tcp {
            return None;
        }
        let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
        let raw = ip.payload();
        let mut options = Vec::new();
        let mut opts = tcp.options();
        while !opts.is_empty() {
            let Ok((rest, opt)) = TcpOption::parse(opts) else {
                options.push("[bad opt]".to_string());
                break;
            };
            options.push(match opt {
                TcpOption::EndOfList => "eol".to_string(),
                TcpOption::NoOperation => "nop".to_string(),
                TcpOption::MaxSegmentSize(m) => format!("mss {m}"),
                TcpOption::WindowScale(s) => format!("wscale {s}"),
                TcpOption::SackPermitted => "sackOK".to_string(),
                TcpOption::SackRange(r) => {
                    let blocks: Vec<String> = r
                        .iter()
                        .flatten()
                        .map(|(a, b)| format!("{{{a}:{b}}}"))
                        .collect();
                    format!("sack {} {}", blocks.len(), blocks.join(""))
                }
                TcpOption::TimeStamp { tsval, tsecr } => format!("TS val {tsval} ecr {tsecr}"),
                TcpOption::Unknown { kind, .. } => format!("unknown-{kind}"),
            });
            if matches!(opt, TcpOption::EndOfList) {
                break;
            }
            opts = rest;
        }
        Some(Segment {
            src: ip.src_addr(),
            dst: ip.dst_addr(),
            sport: tcp.src_port(),
            dport: tcp.dst_port(),
            seq: u32::from_be_bytes([raw[4], raw[5], raw[6], raw[7]]),
            ack: u32::from_be_bytes([raw[8], raw[9], raw[10], raw[11]]),
            flags: raw[13] & 0x3f,
            win: tcp.window_len(),
            len: tcp.payload().len() as u32,
            options: options.join(","),
        })
    }

    /// Has this flag bit.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Sequence space consumed: payload plus one for SYN and for FIN.
    pub fn seq_len(&self) -> u32 {
        self.len + self.has(flags::SYN) as u32 + self.has(flags::FIN) as u32
    }

    /// Flags in tcpdump's notation, without brackets: `S`, `S.`, `P.`, `F.`, `R`, `.`.
    pub fn flag_str(&self) -> String {
        let mut s = String::new();
        self.push_flags(&mut s);
        s
    }

    /// Appends the flags in tcpdump's notation.
    pub fn push_flags(&self, s: &mut String) {
        let before = s.len();
        for (bit, c) in [
            (flags::FIN, 'F'),
            (flags::SYN, 'S'),
            (flags::RST, 'R'),
            (flags::PSH, 'P'),
            (flags::ACK, '.'),
            (flags::URG, 'U'),
        ] {
            if self.has(bit) {
                s.push(c);
            }
        }
        if s.len() == before {
            s.push_str("none");
        }
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
            window_scale: None,
            max_seg_size: if control == TcpControl::Syn {
                Some(1440)
            } else {
                None
            },
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload,
        };
        emit_ipv4_tcp(src, dst, &tcp)
    }

    // Proves header fields and tcpdump-style flags decode from a real emitted segment.
    #[test]
    fn decodes_fields() {
        let s = Segment::parse(&build(TcpControl::Psh, b"hello", Some(7))).unwrap();
        assert_eq!(
            (s.sport, s.dport, s.seq, s.ack, s.win, s.len),
            (1000, 2000, 100, 7, 5744, 5)
        );
        assert_eq!(s.flag_str(), "P.");
        let syn = Segment::parse(&build(TcpControl::Syn, b"", None)).unwrap();
        assert_eq!(syn.flag_str(), "S");
        assert_eq!(syn.options, "mss 1440");
        assert_eq!(syn.seq_len(), 1);
    }

    // Proves the header peek agrees with the full decoder.
    #[test]
    fn peek_agrees_with_parse() {
        for p in [
            build(TcpControl::Psh, b"hello", Some(7)),
            build(TcpControl::Syn, b"", None),
        ] {
            let s = Segment::parse(&p).unwrap();
            let k = peek_tcp(&p).unwrap();
            assert_eq!(
                (k.flags, k.seq, k.ack, k.len, k.seq_len()),
                (s.flags, s.seq, s.ack, s.len, s.seq_len())
            );
        }
        for cut in 0..40 {
            let _ = peek_tcp(&[0x4f; 64][..cut]);
        }
    }

    // Proves garbage and truncated packets decode to None instead of panicking.
    #[test]
    fn rejects_garbage() {
        assert!(Segment::parse(&[]).is_none());
        assert!(Segment::parse(&[0x45; 30]).is_none());
        let good = build(TcpControl::None, b"x", Some(1));
        for cut in 0..good.len() {
            let _ = Segment::parse(&good[..cut]);
        }
    }
}
