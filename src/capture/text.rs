//! Importing tcpdump text, as people paste it.
//!
//! Accepted: the modern syntax (`Flags [P.], seq a:b, ack n, win w, [options [...],] length l`) and
//! the older one (`P a:b(len) ack n win w`); time of day (`13:40:20.210400`), epoch or relative
//! seconds (`-tt`, `-ttt`), or date and time (`-tttt`); `IP`/`IP6`; host names or addresses, with
//! port numbers or service names (the `host.port` token is the endpoint's name). Blank lines and
//! lines starting with `#` are skipped; a packet line that is not TCP (UDP, ICMP, ARP) is counted and
//! skipped. Any other line is an error naming the file and line, or, with `lenient`, skipped and
//! counted. Sequence numbers are passed on as printed; the analysis undoes tcpdump's relative
//! numbering.

use std::io::{BufRead, Read};
use std::path::Path;

use super::{Endpoints, ImportError, ImportOptions, ImportStats, TimeKind};
use crate::clock::Instant;
use crate::timebase::DAY_US;
pub(super) use crate::timebase::{date_us, is_date, time_kind, time_us};
use crate::trace::packet::Packet;
use crate::trace::packet::TcpFlags;

const MAX_EXAMPLES: usize = 5;

/// What a line is.
#[derive(Debug, PartialEq)]
pub(super) enum Line<'a> {
    /// Not a packet: blank, a comment, a banner or summary, a header row.
    Skip,
    /// A packet that is not TCP.
    NonTcp,
    /// A packet of a protocol over TCP whose line carries no TCP fields (Wireshark's Info of an
    /// HTTP or MQTT packet), with what the line does show when it has a frame length.
    NoTcpFields(Option<Upper<'a>>),
    /// The first line of a `tcpdump -v` IPv4 packet: its time; the TCP line follows, indented.
    Header(i64, TimeKind),
    /// A TCP packet.
    Tcp(ParsedTcp<'a>),
}

/// What a tshark line of a protocol over TCP shows without TCP fields: when, between which
/// hosts, and the frame's length.
#[derive(Debug, PartialEq)]
pub(super) struct Upper<'a> {
    pub(super) t_us: i64,
    pub(super) kind: TimeKind,
    pub(super) src: &'a str,
    pub(super) dst: &'a str,
    pub(super) frame_len: u32,
}

/// The last TCP segment one direction between two hosts showed (tshark text), from which a
/// higher-layer line between them is placed ([`State::place_upper`]).
struct HostFlow {
    /// The hosts, as the lines name them.
    hosts: (String, String),
    /// The endpoints (more than one pair of ports between the hosts: none, it is ambiguous).
    ids: Option<(u32, u32)>,
    next_seq: Option<u32>,
    ack: u32,
    win: u32,
    /// Frame length less payload: the headers below the payload (from an unpadded frame).
    overhead: Option<u32>,
}

/// The key of a (source host, destination host) pair in [`State`]'s flows.
fn host_key(src: &str, dst: &str) -> u64 {
    // FNV-1a: short keys, once per line; the hosts are compared on use, so quality only matters
    // for how often a flow is forgotten.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in src.bytes().chain([0]).chain(dst.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The hasher of keys that are hashes already ([`host_key`]).
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Most host pairs remembered for placing higher-layer lines (then forgotten, and such lines
/// counted as not imported): bounds memory on captures of many hosts.
const MAX_HOST_FLOWS: usize = 65_536;

/// An endpoint's name as a line shows it: tcpdump's `host.port` token, or Wireshark's host and
/// port columns (joined as `host.port`).
#[derive(Debug, PartialEq, Clone, Copy)]
pub(super) struct Name<'a> {
    pub(super) host: &'a str,
    pub(super) port: Option<&'a str>,
}

/// A TCP packet's fields as a text line shows them.
#[derive(Debug, PartialEq)]
pub(super) struct ParsedTcp<'a> {
    pub(super) t_us: i64,
    /// What the line's timestamp is.
    pub(super) kind: TimeKind,
    pub(super) src: Name<'a>,
    pub(super) dst: Name<'a>,
    pub(super) flags: TcpFlags,
    pub(super) seq: Option<u32>,
    pub(super) ack: u32,
    pub(super) win: u32,
    pub(super) len: u32,
    /// Wireshark's analysis labels (tshark text), as [`crate::classes::WIRESHARK`] bits.
    pub(super) wireshark: u16,
    /// The frame's length (tshark text's Length column).
    pub(super) frame_len: Option<u32>,
}

/// Time-of-day timestamps wrap at midnight; this keeps them increasing.
#[derive(Default)]
struct Clock {
    day_offset: i64,
    last: Option<i64>,
}

/// Streams the packets of a text capture (tcpdump, tshark, Wireshark CSV) into `sink`.
///
/// # Errors
/// The first line that is not a packet (unless `lenient`), or an I/O error.
pub fn import(
    mut reader: impl BufRead,
    path: &Path,
    opts: ImportOptions,
    sink: &mut dyn FnMut(&Packet, &mut Endpoints),
) -> Result<(Endpoints, ImportStats), ImportError> {
    let mut state = State::default();
    let mut buf = Vec::with_capacity(256);
    let mut lineno = 0usize;
    loop {
        buf.clear();
        // Bounded: a line longer than MAX_LINE is an error, never an allocation of its length.
        let n = (&mut reader)
            .take(super::MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| ImportError {
                path: path.to_owned(),
                line: Some(lineno + 1),
                message: format!("cannot read: {e}"),
            })?;
        if n == 0 {
            break;
        }
        lineno += 1;
        let err = |message: String| ImportError {
            path: path.to_owned(),
            line: Some(lineno),
            message,
        };
        if n > super::MAX_LINE {
            let what = if buf.contains(&0) {
                "binary data: not tcpdump text, and not a pcap or pcapng file either"
            } else {
                "a line longer than 1 MB: not a capture"
            };
            return Err(err(what.into()));
        }
        let line = match std::str::from_utf8(&buf) {
            Ok(l) if lineno == 1 => l
                .trim_start_matches('\u{feff}')
                .trim_end_matches(['\n', '\r']),
            Ok(l) => l.trim_end_matches(['\n', '\r']),
            Err(_) => {
                if opts.lenient {
                    skip(&mut state.stats, lineno, "<not UTF-8 text>");
                    continue;
                }
                return Err(err("not text (and not a pcap or pcapng file)".into()));
            }
        };
        state.line(lineno, line, opts, sink).map_err(err)?;
    }
    if let Some(open) = state.csv_open.take() {
        // The file ended inside a quoted CSV field.
        let message = "the file ends inside a quoted CSV field";
        if !opts.lenient {
            return Err(ImportError {
                path: path.to_owned(),
                line: Some(lineno),
                message: message.into(),
            });
        }
        skip(&mut state.stats, lineno, &open);
    }
    if !state.saw_anything {
        return Err(ImportError::file(
            path,
            "no packets found (empty capture, or only comments)".into(),
        ));
    }
    Ok((state.endpoints, state.stats))
}

/// What an import carries from line to line.
#[derive(Default)]
struct State {
    endpoints: Endpoints,
    stats: ImportStats,
    clock: Clock,
    saw_anything: bool,
    /// The time of a `tcpdump -v` packet whose TCP line comes next.
    pending: Option<(i64, TimeKind)>,
    /// A CSV row still open (a line break inside a quoted field).
    csv_open: Option<String>,
    /// The last packet line was a higher-layer protocol's without TCP fields.
    after_no_fields: bool,
    /// Per (source host, destination host) of tshark text, keyed by their hash: the last TCP
    /// segment seen (the hosts are compared too, so a collision only forgets a flow).
    flows: std::collections::HashMap<u64, HostFlow, std::hash::BuildHasherDefault<KeyHasher>>,
}

impl State {
    /// Remembers the TCP segment `packet` (parsed as `p`, of `frame_len` bytes) as the last of its
    /// direction between its hosts.
    fn track_flow(&mut self, p: &ParsedTcp<'_>, packet: &Packet, frame_len: u32) {
        if self.flows.len() >= MAX_HOST_FLOWS {
            self.flows.clear();
        }
        let (src, dst) = (p.src.host, p.dst.host);
        let ids = (packet.src, packet.dst);
        let next_seq = p.seq.map(|s| s.wrapping_add(packet.seq_len()));
        let fresh = || HostFlow {
            hosts: (src.to_string(), dst.to_string()),
            ids: Some(ids),
            next_seq,
            ack: 0,
            win: 0,
            overhead: None,
        };
        let flow = self.flows.entry(host_key(src, dst)).or_insert_with(fresh);
        if flow.hosts.0 != src || flow.hosts.1 != dst {
            *flow = fresh();
        }
        if flow.ids != Some(ids) {
            flow.ids = None;
        }
        if next_seq.is_some() {
            flow.next_seq = next_seq;
        }
        (flow.ack, flow.win) = (packet.ack, packet.win);
        // A 60-byte frame without payload may be Ethernet's minimum, padded (a 54- or 58-byte
        // one is): its headers are not its length. A SYN's options (MSS, window scale, SACK) are
        // not the data segments' either.
        let padded_or_syn = packet.has(TcpFlags::SYN) || (packet.len == 0 && frame_len == 60);
        if !padded_or_syn {
            flow.overhead = Some(frame_len.saturating_sub(packet.len));
        }
    }

    /// The packet a higher-layer line stands for, when its flow tells where it goes: one pair of
    /// ports between its hosts, whose last segment gave the next sequence number and the header
    /// length (its frame length less its payload). The payload is this frame's length less that;
    /// flags PSH|ACK, ACK and window as the flow's last segment had them.
    fn place_upper(&mut self, u: &Upper<'_>) -> Option<Packet> {
        let flow = self
            .flows
            .get_mut(&host_key(u.src, u.dst))
            .filter(|f| f.hosts.0 == u.src && f.hosts.1 == u.dst)?;
        let (src, dst) = flow.ids?;
        let seq = flow.next_seq?;
        let len = u.frame_len.checked_sub(flow.overhead?).filter(|&l| l > 0)?;
        flow.next_seq = Some(seq.wrapping_add(len));
        if self.stats.packets == 0 {
            self.stats.time = u.kind;
        }
        Some(Packet {
            t: Instant::from_micros(self.clock.place(u.t_us)),
            src,
            dst,
            flags: TcpFlags::PSH | TcpFlags::ACK,
            seq,
            ack: flow.ack,
            win: flow.win,
            len,
            seq_known: true,
            wireshark: 0,
        })
    }

    /// Reads line `lineno`; an error message stops the import there.
    fn line(
        &mut self,
        lineno: usize,
        line: &str,
        opts: ImportOptions,
        sink: &mut dyn FnMut(&Packet, &mut Endpoints),
    ) -> Result<(), String> {
        // A CSV row whose quoted Info holds a line break continues on the next line (a row ends
        // with the quote closing its Info).
        let joined;
        let line = match self.csv_open.take() {
            Some(mut open) => {
                open.push('\n');
                open.push_str(line);
                if open.len() > super::MAX_LINE {
                    return Err("a CSV row longer than 1 MB: not a capture".into());
                }
                joined = open;
                joined.as_str()
            }
            None => line,
        };
        if super::tshark::opens_csv_row(line) {
            self.csv_open = Some(line.to_string());
            return Ok(());
        }
        let parsed = match self.pending.take() {
            Some((t_us, kind)) if line.starts_with([' ', '\t']) => {
                parse_continuation(t_us, kind, line)
            }
            _ => parse_any(line),
        };
        // tshark prints a higher-layer Info as it decodes it, line breaks included: what follows
        // such a line and is not a packet belongs to it.
        let shapeless = || {
            !line.contains('\0')
                && !line.starts_with('"')
                && super::tshark::parse_tshark_line(line).is_none()
        };
        let parsed = match parsed {
            Err(_) if self.after_no_fields && shapeless() => Ok(Line::Skip),
            p => {
                self.after_no_fields = matches!(p, Ok(Line::NoTcpFields(_)));
                p
            }
        };
        match parsed {
            Ok(Line::Skip) => {}
            Ok(Line::Header(t_us, kind)) => self.pending = Some((t_us, kind)),
            Ok(Line::NonTcp) => {
                self.saw_anything = true;
                self.stats.non_tcp += 1;
            }
            Ok(Line::NoTcpFields(upper)) => {
                self.saw_anything = true;
                match upper.and_then(|u| self.place_upper(&u)) {
                    Some(packet) => {
                        self.stats.packets += 1;
                        self.stats.placed_in_flow += 1;
                        sink(&packet, &mut self.endpoints);
                    }
                    None => self.stats.no_tcp_fields += 1,
                }
            }
            Ok(Line::Tcp(p)) => {
                self.saw_anything = true;
                if self.stats.packets == 0 {
                    self.stats.time = p.kind;
                    self.endpoints.set_time_kind(p.kind);
                }
                let t = self.clock.place(p.t_us);
                let packet = Packet {
                    t: Instant::from_micros(t),
                    src: self.endpoints.name_parts(p.src.host, p.src.port),
                    dst: self.endpoints.name_parts(p.dst.host, p.dst.port),
                    flags: p.flags,
                    seq: p.seq.unwrap_or(0),
                    ack: p.ack,
                    win: p.win,
                    len: p.len,
                    seq_known: p.seq.is_some(),
                    wireshark: p.wireshark,
                };
                self.stats.packets += 1;
                if let Some(frame_len) = p.frame_len {
                    self.track_flow(&p, &packet, frame_len);
                }
                sink(&packet, &mut self.endpoints);
            }
            Err(_) if line.contains('\0') => {
                return Err(
                    "binary data: not tcpdump text, and not a pcap or pcapng file either".into(),
                );
            }
            Err(_) if opts.lenient => skip(&mut self.stats, lineno, line),
            Err(why) => {
                return Err(format!(
                    "not a tcpdump packet line ({}): {}",
                    crate::clip_text(&why),
                    crate::clip_text(line)
                ));
            }
        }
        Ok(())
    }
}

fn skip(stats: &mut ImportStats, lineno: usize, line: &str) {
    stats.skipped_lines += 1;
    if stats.skipped_examples.len() < MAX_EXAMPLES {
        stats
            .skipped_examples
            .push(format!("{lineno}: {}", crate::clip_text(line)));
    }
}

impl Clock {
    fn place(&mut self, t: i64) -> i64 {
        // Only time-of-day stamps (below a day) wrap; a jump back of more than 12 h is midnight.
        if let Some(last) = self.last
            && t < DAY_US
            && t + self.day_offset < last - DAY_US / 2
        {
            self.day_offset += DAY_US;
        }
        let placed = t + self.day_offset;
        self.last = Some(placed);
        placed
    }
}

/// A line in any of the text formats: Wireshark CSV, tshark, or tcpdump (told apart by shape).
fn parse_any(line: &str) -> Result<Line<'_>, String> {
    if let Some(r) = super::tshark::parse_csv_line(line) {
        return r;
    }
    if let Some(r) = super::tshark::parse_tshark_line(line) {
        return r;
    }
    if is_banner(line) {
        return Ok(Line::Skip);
    }
    parse_line(line)
}

/// tcpdump's own messages around the packets: `tcpdump: ...`, `listening on ...`, `reading from
/// file ...`, and the summary (`7 packets captured`, `... received by filter`, `... dropped by
/// kernel`).
fn is_banner(line: &str) -> bool {
    let l = line.trim();
    if l.starts_with("tcpdump: ")
        || l.starts_with("listening on ")
        || l.starts_with("reading from file ")
    {
        return true;
    }
    let (n, rest) = l.split_once(' ').unwrap_or((l, ""));
    n.bytes().all(|b| b.is_ascii_digit())
        && !n.is_empty()
        && [
            "packet captured",
            "packets captured",
            "packet received by filter",
            "packets received by filter",
            "packet dropped by kernel",
            "packets dropped by kernel",
            "packet dropped by interface",
            "packets dropped by interface",
        ]
        .contains(&rest)
}

/// The indented line after a `tcpdump -v` header: `src > dst: Flags ...` at the header's time; any
/// other indented line (a `-vv` decode) is skipped.
fn parse_continuation(t_us: i64, kind: TimeKind, line: &str) -> Result<Line<'_>, String> {
    match parse_packet(t_us, kind, line.split_ascii_whitespace().collect()) {
        Ok(l) => Ok(l),
        Err(_) => Ok(Line::Skip),
    }
}

fn parse_line(line: &str) -> Result<Line<'_>, String> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(Line::Skip);
    }
    if line.starts_with([' ', '\t']) {
        // An indented line outside a `tcpdump -v` packet: a decode line (`-vv`, `-A`, `-X`).
        return Ok(Line::Skip);
    }
    let mut toks = trimmed.split_ascii_whitespace().peekable();
    let first = toks.next().ok_or("empty")?;
    let (t_us, kind) = if is_date(first) {
        let time = toks.next().ok_or("date without a time")?;
        (date_us(first)? + time_us(time)?, TimeKind::DateTime)
    } else {
        let t = time_us(first)?;
        (t, time_kind(first, t))
    };
    let Some(proto) = toks.next() else {
        return Err("nothing after the timestamp".into());
    };
    if proto != "IP" && proto != "IP6" {
        // A packet line of another protocol (ARP, ...): its name is a word. Anything else (a
        // truncated tshark line, whose frame number reads as a time) is not a packet line.
        if !proto.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(format!("unexpected {proto:?} after the timestamp"));
        }
        return Ok(Line::NonTcp);
    }
    let mut rest: Vec<&str> = toks.collect();
    if rest.first().is_some_and(|t| t.starts_with('(')) {
        // `tcpdump -v`: `IP (tos 0x0, ttl 64, ..., length 52)`; for IPv6 the packet follows on
        // the same line, for IPv4 on the next.
        let close = close_of_group(&rest);
        let Some(close) = close else {
            return Err("unclosed `(` after IP".into());
        };
        rest.drain(..=close);
        if rest.is_empty() {
            return Ok(Line::Header(t_us, kind));
        }
    }
    parse_packet(t_us, kind, rest)
}

/// The index of the token that closes the parenthesised group `toks` starts with (one pass).
fn close_of_group(toks: &[&str]) -> Option<usize> {
    let mut depth = 0i64;
    for (i, t) in toks.iter().enumerate() {
        depth += t.matches('(').count() as i64 - t.matches(')').count() as i64;
        if depth <= 0 {
            return Some(i);
        }
    }
    None
}

/// `src > dst: Flags [...] ...` (or the old syntax) at time `t_us`.
fn parse_packet(t_us: i64, kind: TimeKind, toks: Vec<&str>) -> Result<Line<'_>, String> {
    let mut toks = toks.into_iter();
    let src = toks.next().ok_or("no source")?;
    if toks.next() != Some(">") {
        return Err("expected `src > dst:`".into());
    }
    let dst = toks.next().ok_or("no destination")?;
    let Some(dst) = dst.strip_suffix(':') else {
        return Err("expected `:` after the destination".into());
    };
    let rest: Vec<&str> = toks.collect();
    let Some(&head) = rest.first() else {
        return Err("nothing after `src > dst:`".into());
    };
    let tcp = if head == "Flags" {
        parse_modern(&rest[1..])?
    } else if let Some(f) = old_flags(head) {
        parse_old(f, &rest[1..])?
    } else {
        // UDP, ICMP, ...: a packet, but not TCP.
        return Ok(Line::NonTcp);
    };
    let (flags, seq, ack, win, len) = tcp;
    Ok(Line::Tcp(ParsedTcp {
        t_us,
        kind,
        src: Name {
            host: src,
            port: None,
        },
        dst: Name {
            host: dst,
            port: None,
        },
        flags,
        seq,
        ack,
        win,
        len,
        wireshark: 0,
        frame_len: None,
    }))
}

type Fields = (TcpFlags, Option<u32>, u32, u32, u32);

pub(super) fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.trim_end_matches(',')
        .parse()
        .map_err(|_| format!("bad {what} {s:?}"))
}

/// `[P.], seq 1:100, ack 1, win 5744, options [...], length 99`
fn parse_modern(toks: &[&str]) -> Result<Fields, String> {
    let f = toks.first().ok_or("no flags")?;
    let inner = f
        .strip_prefix('[')
        .and_then(|x| x.trim_end_matches(',').strip_suffix(']'))
        .ok_or_else(|| format!("bad flags {f:?}"))?;
    let mut fl = TcpFlags::empty();
    if inner != "none" {
        for c in inner.chars() {
            fl |= match c {
                'S' => TcpFlags::SYN,
                'F' => TcpFlags::FIN,
                'R' => TcpFlags::RST,
                'P' => TcpFlags::PSH,
                '.' => TcpFlags::ACK,
                'U' => TcpFlags::URG,
                'E' | 'W' | 'e' => TcpFlags::empty(),
                _ => return Err(format!("bad flags {f:?}")),
            };
        }
    }
    let (mut seq, mut ack, mut win, mut len) = (None, 0, None, None);
    let mut i = 1;
    while i < toks.len() {
        match toks[i] {
            "seq" => {
                let v = toks
                    .get(i + 1)
                    .ok_or("seq without a value")?
                    .trim_end_matches(',');
                let start = v.split(':').next().unwrap_or(v);
                seq = Some(num(start, "seq")?);
                i += 2;
            }
            "ack" => {
                ack = num(toks.get(i + 1).ok_or("ack without a value")?, "ack")?;
                i += 2;
            }
            "win" => {
                win = Some(num(toks.get(i + 1).ok_or("win without a value")?, "win")?);
                i += 2;
            }
            "length" => {
                len = Some(num(
                    toks.get(i + 1).ok_or("length without a value")?,
                    "length",
                )?);
                break; // whatever follows is the payload's description
            }
            "options" => {
                // Skip to the closing bracket.
                while i < toks.len() && !toks[i].trim_end_matches(',').ends_with(']') {
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    let len = len.ok_or("no length")?;
    let win = win.ok_or("no win")?;
    Ok((fl, seq, ack, win, len))
}

/// Old syntax flag token: `S`, `F`, `P`, `R`, `U`, `.`, or a combination like `FP`.
fn old_flags(tok: &str) -> Option<TcpFlags> {
    if tok == "." {
        return Some(TcpFlags::empty());
    }
    let mut fl = TcpFlags::empty();
    for c in tok.chars() {
        fl |= match c {
            'S' => TcpFlags::SYN,
            'F' => TcpFlags::FIN,
            'P' => TcpFlags::PSH,
            'R' => TcpFlags::RST,
            'U' => TcpFlags::URG,
            'W' | 'E' => TcpFlags::empty(),
            '.' => TcpFlags::empty(),
            _ => return None,
        };
    }
    (!tok.is_empty()).then_some(fl)
}

/// `0:887(887) ack 1 win 26064 <options>`
fn parse_old(mut fl: TcpFlags, toks: &[&str]) -> Result<Fields, String> {
    let (mut seq, mut len, mut ack, mut win) = (None, 0, 0, None);
    let mut i = 0;
    if let Some(t) = toks.first()
        && let Some((range, rest)) = t.split_once('(')
    {
        let (a, _) = range
            .split_once(':')
            .ok_or_else(|| format!("bad seq {t:?}"))?;
        seq = Some(num(a, "seq")?);
        len = num(rest.trim_end_matches(')'), "length")?;
        i = 1;
    }
    while i < toks.len() {
        match toks[i] {
            "ack" => {
                fl |= TcpFlags::ACK;
                ack = num(toks.get(i + 1).ok_or("ack without a value")?, "ack")?;
                i += 2;
            }
            "win" => {
                win = Some(num(toks.get(i + 1).ok_or("win without a value")?, "win")?);
                i += 2;
            }
            _ => i += 1,
        }
    }
    Ok((fl, seq, ack, win.ok_or("no win")?, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Review regressions (issue 12): a `tcpdump -v` line of 100,000 nested groups is handled in
    // one pass (each `)` used to rescan the line: minutes); a truncated tshark line is an error,
    // not a non-TCP packet; tcpdump 4.99's `dropped by interface` summary is skipped.
    #[test]
    fn hostile_and_truncated_lines() {
        let line = format!("0.1 IP ({}", " (x)".repeat(100_000));
        assert!(parse_line(&line).is_err());
        assert!(parse_line("17 3.5 10.0.0.2 → 10.0.0.9 TCP").is_err());
        assert!(matches!(
            parse_any("0 packets dropped by interface"),
            Ok(Line::Skip)
        ));
        assert!(matches!(
            parse_line("13:40:20.1 ARP, Request who-has 10.0.0.1"),
            Ok(Line::NonTcp)
        ));
    }

    fn import_text(text: &str, lenient: bool) -> Result<ImportStats, ImportError> {
        let opts = ImportOptions { lenient };
        import(text.as_bytes(), Path::new("t.txt"), opts, &mut |_, _| {}).map(|(_, s)| s)
    }

    // Review regressions (issue 12): a line starting with a quote that is not a CSV row does not
    // swallow the packets after it; a file ending inside a CSV row is an error (strict) or a
    // skipped line (lenient), never silence; after an HTTP line, a malformed tshark TCP line is
    // still an error.
    #[test]
    fn quotes_and_higher_layer_lines_never_hide_packets() {
        let pkt = "13:40:20.210400 IP a.1 > b.2: Flags [.], ack 1, win 100, length 0\n";
        let s = import_text(&format!("{pkt}\"key\": 1,\n{pkt}{pkt}"), true).unwrap();
        assert_eq!((s.packets, s.skipped_lines), (3, 1));
        let open = format!("{pkt}\"1\",\"0.1\",\"a\",\"b\",\"TCP\",\"60\",\"cut\n");
        assert!(import_text(&open, false).is_err());
        assert_eq!(import_text(&open, true).unwrap().skipped_lines, 1);
        let http = "1 0.1 10.0.0.2 → 10.0.0.9 HTTP 72 GET /\n\
                    2 0.2 10.0.0.2 → 10.0.0.9 TCP 60 1 → 2 [SYN, BOGUS] Seq=0 Win=1 Len=0\n";
        assert!(import_text(http, false).is_err());
    }

    fn tcp(line: &str) -> ParsedTcp<'_> {
        match parse_line(line) {
            Ok(Line::Tcp(p)) => p,
            other => panic!("{line}: {other:?}"),
        }
    }

    // Proves `-tttt` dates count days from 1970-01-01 (2026-11-21 is day 20,413: 56 years of 365
    // days plus 14 leap days, plus 324 days into 2026) and that impossible dates are refused.
    #[test]
    fn dates() {
        assert_eq!(date_us("1970-01-02"), Ok(DAY_US));
        assert_eq!(date_us("2026-11-21"), Ok((56 * 365 + 14 + 324) * DAY_US));
        assert!(date_us("2026-02-30").is_err());
        assert!(date_us("2026-13-01").is_err());
    }

    // Proves the modern syntax decodes, from lines of tests/data/observed/.
    #[test]
    fn modern_lines() {
        let p = tcp(
            "13:40:20.210400 IP 192.168.31.204.64939 > laios54-manjaro.20271: Flags [P.], seq 29371:29435, ack 167, win 5594, length 64",
        );
        assert_eq!(p.t_us, (13 * 3600 + 40 * 60 + 20) * 1_000_000 + 210_400);
        assert_eq!(
            (p.src.host, p.dst.host),
            ("192.168.31.204.64939", "laios54-manjaro.20271")
        );
        assert_eq!(
            (p.flags, p.seq, p.ack, p.win, p.len),
            (TcpFlags::PSH | TcpFlags::ACK, Some(29371), 167, 5594, 64)
        );
        let r = tcp(
            "13:30:05.673450 IP laios54-manjaro.20271 > 192.168.31.204.54680: Flags [R], seq 3068568160, win 0, length 0",
        );
        assert_eq!(
            (r.flags, r.seq, r.win, r.len),
            (TcpFlags::RST, Some(3_068_568_160), 0, 0)
        );
        let a =
            tcp("08:48:44.235749 IP myhost.64757 > VIP.http: Flags [.], ack 1, win 58, length 0");
        assert_eq!((a.flags, a.seq, a.ack), (TcpFlags::ACK, None, 1));
        let syn = tcp(
            "0.005000 IP 192.168.31.204.54680 > 192.168.31.10.20271: Flags [S], seq 4170006709, win 5744, options [mss 1440,wscale 0,sackOK,eol], length 0",
        );
        assert_eq!(
            (syn.t_us, syn.flags, syn.seq, syn.len),
            (5000, TcpFlags::SYN, Some(4_170_006_709), 0)
        );
        let v6 = tcp(
            "2024-03-01 10:00:00.5 IP6 2001:db8::1.443 > 2001:db8::2.50000: Flags [F.], seq 10, ack 20, win 100, length 0 extra words",
        );
        assert_eq!(v6.t_us, 1_709_287_200_500_000);
        assert_eq!(v6.flags, TcpFlags::FIN | TcpFlags::ACK);
    }

    // Proves the old syntax decodes, from lines of tests/data/observed/nodelay-outage-*.txt.
    #[test]
    fn old_lines() {
        let p = tcp(
            "16:05:38.782427 IP tc2.corp.alimama.com.3903 > tc1.corp.alimama.com.3904: P 0:887(887) ack 1 win 26064",
        );
        assert_eq!(
            (p.flags, p.seq, p.ack, p.win, p.len),
            (TcpFlags::PSH | TcpFlags::ACK, Some(0), 1, 26064, 887)
        );
        let a = tcp(
            "16:05:38.782619 IP tc1.corp.alimama.com.3904 > tc2.corp.alimama.com.3903: . ack 3783 win 25352",
        );
        assert_eq!(
            (a.flags, a.seq, a.ack, a.len),
            (TcpFlags::ACK, None, 3783, 0)
        );
        let s = tcp(
            "12:08:21.020291 IP tc1.corp.com.42171 > tc2.corp.com.3003: S 4009389430:4009389430(0) win 5840",
        );
        assert_eq!(
            (s.flags, s.seq, s.len),
            (TcpFlags::SYN, Some(4_009_389_430), 0)
        );
        let r = tcp(
            "12:08:21.020571 IP tc2.corp.com.3003 > tc1.corp.com.42171: R 0:0(0) ack 4009389431 win 0",
        );
        assert_eq!(
            (r.flags, r.ack),
            (TcpFlags::RST | TcpFlags::ACK, 4_009_389_431)
        );
    }

    // Proves comments and blanks are skipped, non-TCP packets recognised, and junk rejected.
    #[test]
    fn other_lines() {
        assert_eq!(parse_line("# comment"), Ok(Line::Skip));
        assert_eq!(parse_line("   "), Ok(Line::Skip));
        assert_eq!(
            parse_line("12:00:00.000001 IP 1.2.3.4.53 > 5.6.7.8.9: 1234+ A? example.com. (29)"),
            Ok(Line::NonTcp)
        );
        assert_eq!(
            parse_line("12:00:00.000001 ARP, Request who-has 1.2.3.4 tell 1.2.3.5"),
            Ok(Line::NonTcp)
        );
        for junk in [
            "hello world",
            "13:40:20.21 IP a.1 > b.2: Flags [P.], seq 1:2, ack 1, win 5",
            "13:40:20.21 IP a.1 > b.2: Flags [Q], seq 1:2, ack 1, win 5, length 1",
            "25:00:00.0 IP a.1 > b.2: . ack 1 win 5",
            "13:40:20.21 IP a.1 b.2: . ack 1 win 5",
        ] {
            assert!(parse_line(junk).is_err(), "{junk}");
        }
    }

    // Proves time-of-day stamps that pass midnight keep increasing.
    #[test]
    fn midnight_wrap() {
        let mut c = Clock::default();
        let a = c.place(DAY_US - 1_000);
        let b = c.place(2_000);
        assert_eq!(b - a, 3_000);
    }
}
