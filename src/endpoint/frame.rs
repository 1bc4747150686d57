//! Edits of IPv4/TCP frames for the layer around smoltcp: a real stack's header fields on a frame
//! smoltcp built (ACK number, window, SYN options), the front of a segment cut off, bare segments
//! built from scratch (keep-alive probes, ACKs, RSTs).
//!
//! Guarantees: every frame returned or edited has valid IPv4 and TCP checksums (the same
//! `emit_ipv4_tcp` the rest of tcpsim uses); a frame that is not IPv4/TCP is left alone.

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    IpAddress, Ipv4Address, Ipv4Packet, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
};

use crate::trace::packet::emit_ipv4_tcp;

/// Parses `frame` and hands its addresses and TCP repr to `f`.
fn with_repr<R>(
    frame: &[u8],
    f: impl FnOnce(Ipv4Address, Ipv4Address, TcpRepr<'_>) -> R,
) -> Option<R> {
    let ip = Ipv4Packet::new_checked(frame).ok()?;
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    let repr = TcpRepr::parse(
        &tcp,
        &IpAddress::Ipv4(src),
        &IpAddress::Ipv4(dst),
        &ChecksumCapabilities::ignored(),
    )
    .ok()?;
    Some(f(src, dst, repr))
}

/// Replaces the 16-bit word at `at` of the TCP header `tcp` with `new`, updating the checksum
/// incrementally (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')) instead of summing the whole segment.
fn replace_word(tcp: &mut [u8], at: usize, new: u16) {
    let old = u16::from_be_bytes([tcp[at], tcp[at + 1]]);
    if old == new {
        return;
    }
    let hc = u16::from_be_bytes([tcp[16], tcp[17]]);
    let mut sum = u32::from(!hc) + u32::from(!old) + u32::from(new);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    tcp[16..18].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    tcp[at..at + 2].copy_from_slice(&new.to_be_bytes());
}

/// The TCP header and payload of an IPv4/TCP frame, if it is one.
fn tcp_of(frame: &mut [u8]) -> Option<&mut [u8]> {
    let (ihl, total) = {
        let ip = Ipv4Packet::new_checked(&frame[..]).ok()?;
        (usize::from(ip.header_len()), usize::from(ip.total_len()))
    };
    let tcp = frame.get_mut(ihl..total)?;
    (tcp.len() >= 20).then_some(tcp)
}

/// Sets the ACK number (if the frame carries ACK) and the window field, fixing the TCP checksum.
pub fn set_ack_win(frame: &mut [u8], ack: u32, win: u16) {
    let Some(tcp) = tcp_of(frame) else { return };
    if tcp[13] & 0x10 != 0 {
        replace_word(tcp, 8, (ack >> 16) as u16);
        replace_word(tcp, 10, ack as u16);
    }
    replace_word(tcp, 14, win);
}

/// Sets the window field only.
pub fn set_win(frame: &mut [u8], win: u16) {
    if let Some(tcp) = tcp_of(frame) {
        replace_word(tcp, 14, win);
    }
}

/// The segment without its first `n` sequence numbers of payload (seq moves up by `n`); flags and
/// the rest of the payload kept.
pub fn trim_front(frame: &[u8], n: usize) -> Option<Vec<u8>> {
    with_repr(frame, |src, dst, mut repr| {
        let n = n.min(repr.payload.len());
        repr.seq_number += n;
        repr.payload = &repr.payload[n..];
        emit_ipv4_tcp(src, dst, &repr)
    })
}

/// A SYN rewritten to carry the MSS option only (no window scale, SACK or timestamps), as lwIP
/// without `LWIP_WND_SCALE` and `LWIP_TCP_SACK_OUT` sends it.
pub fn syn_mss_only(frame: &[u8]) -> Option<Vec<u8>> {
    with_repr(frame, |src, dst, mut repr| {
        repr.window_scale = None;
        repr.sack_permitted = false;
        repr.sack_ranges = [None, None, None];
        repr.timestamp = None;
        emit_ipv4_tcp(src, dst, &repr)
    })
}

/// The addresses and ports of a frame, for building replies on the same connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    /// Our address.
    pub src: Ipv4Address,
    /// The peer's address.
    pub dst: Ipv4Address,
    /// Our port.
    pub sport: u16,
    /// The peer's port.
    pub dport: u16,
}

impl Tuple {
    /// The tuple of a frame we send.
    pub fn of(frame: &[u8]) -> Option<Tuple> {
        with_repr(frame, |src, dst, r| Tuple {
            src,
            dst,
            sport: r.src_port,
            dport: r.dst_port,
        })
    }

    /// A segment without payload: `rst` selects RST|ACK, otherwise a plain ACK.
    pub fn bare(&self, seq: u32, ack: u32, win: u16, rst: bool) -> Vec<u8> {
        let repr = TcpRepr {
            src_port: self.sport,
            dst_port: self.dport,
            control: if rst {
                TcpControl::Rst
            } else {
                TcpControl::None
            },
            seq_number: TcpSeqNumber(seq as i32),
            ack_number: Some(TcpSeqNumber(ack as i32)),
            window_len: win,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None, None, None],
            timestamp: None,
            payload: &[],
        };
        emit_ipv4_tcp(self.src, self.dst, &repr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::packet::{Ipv4Segment, TcpFlags};

    fn data_frame() -> Vec<u8> {
        let t = Tuple {
            src: Ipv4Address::new(10, 0, 0, 1),
            dst: Ipv4Address::new(10, 0, 0, 2),
            sport: 1000,
            dport: 2000,
        };
        let repr = TcpRepr {
            payload: b"hello world",
            control: TcpControl::Psh,
            ..TcpRepr::parse(
                &TcpPacket::new_checked(&t.bare(100, 7, 5760, false)[20..]).unwrap(),
                &IpAddress::Ipv4(t.src),
                &IpAddress::Ipv4(t.dst),
                &ChecksumCapabilities::default(),
            )
            .unwrap()
        };
        emit_ipv4_tcp(t.src, t.dst, &repr)
    }

    fn checks(frame: &[u8]) -> bool {
        let ip = Ipv4Packet::new_checked(frame).unwrap();
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        ip.verify_checksum()
            && tcp.verify_checksum(
                &IpAddress::Ipv4(ip.src_addr()),
                &IpAddress::Ipv4(ip.dst_addr()),
            )
    }

    // Proves each edit changes exactly the fields it names and leaves valid checksums: a trimmed
    // segment starts n bytes later with the rest of the payload, an ACK/window edit moves only
    // those fields, and a bare RST carries RST|ACK with the given numbers.
    #[test]
    fn edits_keep_checksums_and_touch_only_their_fields() {
        let f = data_frame();
        assert!(checks(&f));
        let t = trim_front(&f, 6).unwrap();
        let s = Ipv4Segment::parse(&t).unwrap().tcp;
        assert_eq!((s.seq, s.len, s.ack), (106, 5, 7));
        assert!(s.has(TcpFlags::PSH) && checks(&t));
        let mut g = f.clone();
        set_ack_win(&mut g, 99, 5593);
        let s = Ipv4Segment::parse(&g).unwrap().tcp;
        assert_eq!((s.seq, s.len, s.ack, s.win), (100, 11, 99, 5593));
        assert!(checks(&g));
        // The incremental checksum (RFC 1624) agrees with a full one for any values, the
        // 0xffff/0x0000 corners included.
        for (ack, win) in [
            (0u32, 0u16),
            (u32::MAX, u16::MAX),
            (0x8000_0001, 1),
            (99, 65534),
        ] {
            let mut h = f.clone();
            set_ack_win(&mut h, ack, win);
            assert!(checks(&h), "ack {ack} win {win}");
            set_win(&mut h, win.wrapping_add(12345));
            assert!(checks(&h), "win {win}");
        }
        let rst = Tuple::of(&f).unwrap().bare(5, 6, 0, true);
        let s = Ipv4Segment::parse(&rst).unwrap().tcp;
        assert_eq!(s.flags, TcpFlags::RST | TcpFlags::ACK);
        assert_eq!((s.seq, s.ack, s.len), (5, 6, 0));
        assert!(checks(&rst));
    }
}
