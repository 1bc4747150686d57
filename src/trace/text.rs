//! `trace.txt`: the frames seen at a capture point, one line each, in the syntax of `tcpdump -n -tt`,
//! so that a user can diff a simulated trace against a real capture.
//!
//! Sequence numbers follow tcpdump's own rule (`print-tcp.c`): segments without ACK (SYN, bare RST)
//! print absolute numbers; the first ACK-bearing segment of a conversation (normally the SYN-ACK)
//! prints absolute numbers and fixes the bases; later ACK-bearing segments print relative numbers.
//! Times are virtual seconds since the start with six decimals. At the `link` capture point each
//! line ends with the frame's fate in parentheses (not tcpdump syntax: tcpdump cannot see fates).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use super::fastfmt::{push_int, push_ipv4, push_secs};
use std::net::Ipv4Addr;

use super::CapturePoint;
use super::packet::{Ipv4Segment, TcpFlags};
use super::{Event, EventKind, EventSink, Fate, captured};
use crate::clock::fmt_secs;

type Endpoint = (Ipv4Addr, u16);

/// tcpdump's relative-sequence state for the conversations seen so far.
#[derive(Debug, Default, Clone)]
pub struct RelativeSeq {
    /// Per conversation (lower endpoint, higher endpoint): the sequence base of each endpoint.
    bases: BTreeMap<(Endpoint, Endpoint), (u32, u32)>,
}

impl RelativeSeq {
    /// The (seq, ack) tcpdump prints for `s`, updating the state as tcpdump does.
    pub fn apply(&mut self, frame: &Ipv4Segment) -> (u32, u32) {
        let s = &frame.tcp;
        if !s.has(TcpFlags::ACK) {
            return (s.seq, s.ack);
        }
        let a = (frame.src, s.sport);
        let b = (frame.dst, s.dport);
        let forward = a <= b;
        let key = if forward { (a, b) } else { (b, a) };
        match self.bases.get(&key) {
            Some(&(lo, hi)) if !s.has(TcpFlags::SYN) => {
                let (mine, theirs) = if forward { (lo, hi) } else { (hi, lo) };
                (s.seq.wrapping_sub(mine), s.ack.wrapping_sub(theirs))
            }
            _ => {
                let mine = s.seq;
                let theirs = s.ack.wrapping_sub(1);
                self.bases.insert(
                    key,
                    if forward {
                        (mine, theirs)
                    } else {
                        (theirs, mine)
                    },
                );
                (s.seq, s.ack)
            }
        }
    }
}

/// Formats one segment as tcpdump would (without the timestamp), appending to `out`.
pub fn format_segment(out: &mut String, frame: &Ipv4Segment, rel: &mut RelativeSeq) {
    let (seq, ack) = rel.apply(frame);
    let s = &frame.tcp;
    out.push_str("IP ");
    push_ipv4(out, frame.src);
    out.push('.');
    push_int(out, s.sport);
    out.push_str(" > ");
    push_ipv4(out, frame.dst);
    out.push('.');
    push_int(out, s.dport);
    out.push_str(": Flags [");
    s.flags.push_tcpdump(out);
    out.push(']');
    if s.len > 0 || s.has(TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST) {
        out.push_str(", seq ");
        push_int(out, seq);
        if s.len > 0 {
            out.push(':');
            push_int(out, seq.wrapping_add(s.len));
        }
    }
    if s.has(TcpFlags::ACK) {
        out.push_str(", ack ");
        push_int(out, ack);
    }
    out.push_str(", win ");
    push_int(out, s.win);
    if !s.options.is_empty() {
        let _ = write!(out, ", options [{}]", s.options);
    }
    out.push_str(", length ");
    push_int(out, s.len);
}

/// Streams `trace.txt` lines for one capture point.
pub struct TextWriter<W: Write> {
    out: W,
    point: CapturePoint,
    rel: RelativeSeq,
    line: String,
}

impl<W: Write> TextWriter<W> {
    /// A writer for `point` into `out`.
    pub fn new(out: W, point: CapturePoint) -> Self {
        TextWriter {
            out,
            point,
            rel: RelativeSeq::default(),
            line: String::with_capacity(160),
        }
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> EventSink for TextWriter<W> {
    fn handle_event(&mut self, e: &Event<'_>) -> io::Result<()> {
        if !captured(self.point, &e.kind) {
            return Ok(());
        }
        let (bytes, fate) = match e.kind {
            EventKind::Offered { bytes, fate, .. } => (bytes, Some(fate)),
            EventKind::Delivered { bytes, .. } => (bytes, None),
            _ => return Ok(()),
        };
        let Some(seg) = Ipv4Segment::parse(bytes) else {
            return Ok(());
        };
        self.line.clear();
        push_secs(&mut self.line, e.t);
        self.line.push(' ');
        format_segment(&mut self.line, &seg, &mut self.rel);
        if self.point == CapturePoint::Link
            && let Some(f) = fate
        {
            match f {
                Fate::Held { until, .. } => {
                    let _ = write!(self.line, " (held until {})", fmt_secs(until));
                }
                _ => {
                    let _ = write!(self.line, " ({})", f.name());
                }
            }
        }
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())
    }

    fn finish(&mut self, _end: crate::clock::Instant) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::too_many_arguments)] // a readable timeline of segments
    fn seg(
        src: [u8; 4],
        sport: u16,
        dst: [u8; 4],
        dport: u16,
        f: TcpFlags,
        seq: u32,
        ack: u32,
        len: u32,
    ) -> Ipv4Segment<'static> {
        Ipv4Segment {
            src: src.into(),
            dst: dst.into(),
            tcp: crate::trace::packet::Segment {
                sport,
                dport,
                seq,
                ack,
                flags: f,
                win: 5744,
                len,
                options: Default::default(),
            },
        }
    }

    // Proves the tcpdump numbering rule on a handshake, data, FIN and a bare RST, against lines
    // written out by hand in the format of tests/data/observed/esp32-wifi-stale-fin-a.txt.
    #[test]
    fn tcpdump_relative_numbers() {
        let c = [192, 168, 31, 204];
        let s = [192, 168, 31, 10];
        let mut rel = RelativeSeq::default();
        let lines: Vec<String> = [
            seg(c, 54680, s, 20271, TcpFlags::SYN, 1000, 0, 0),
            seg(
                s,
                20271,
                c,
                54680,
                TcpFlags::SYN | TcpFlags::ACK,
                5000,
                1001,
                0,
            ),
            seg(c, 54680, s, 20271, TcpFlags::ACK, 1001, 5001, 0),
            seg(
                c,
                54680,
                s,
                20271,
                TcpFlags::PSH | TcpFlags::ACK,
                1001,
                5001,
                99,
            ),
            seg(
                s,
                20271,
                c,
                54680,
                TcpFlags::FIN | TcpFlags::ACK,
                5001,
                1100,
                0,
            ),
            {
                let mut r = seg(s, 20271, c, 54680, TcpFlags::RST, 1100, 0, 0);
                r.tcp.win = 0;
                r
            },
        ]
        .iter()
        .map(|x| {
            let mut out = String::new();
            format_segment(&mut out, x, &mut rel);
            out
        })
        .collect();
        let expected = [
            "IP 192.168.31.204.54680 > 192.168.31.10.20271: Flags [S], seq 1000, win 5744, length 0",
            "IP 192.168.31.10.20271 > 192.168.31.204.54680: Flags [S.], seq 5000, ack 1001, win 5744, length 0",
            "IP 192.168.31.204.54680 > 192.168.31.10.20271: Flags [.], ack 1, win 5744, length 0",
            "IP 192.168.31.204.54680 > 192.168.31.10.20271: Flags [P.], seq 1:100, ack 1, win 5744, length 99",
            "IP 192.168.31.10.20271 > 192.168.31.204.54680: Flags [F.], seq 1, ack 100, win 5744, length 0",
            "IP 192.168.31.10.20271 > 192.168.31.204.54680: Flags [R], seq 1100, win 0, length 0",
        ];
        for (got, want) in lines.iter().zip(expected) {
            assert_eq!(got, want);
        }
    }
}
