//! Importing Wireshark's text: tshark's one-line output (its default columns: number, time,
//! source, arrow, destination, protocol, length, Info) and Wireshark's "Export Packet Dissections →
//! As CSV" rows of the same columns (quoted, with or without the header row).
//!
//! Accepted: time relative, absolute (time of day), epoch, or date and time (`-t r|a|e|ad|ud`);
//! `→` and `->`; TCP Info as Wireshark writes it: `[expert info] sport → dport [FLAGS] Seq=n Ack=n
//! Win=n Len=n options…`. Wireshark's bracketed expert info (`[TCP Retransmission]`, `[TCP Dup ACK
//! 3#1]`, …) is skipped: tcpsim classifies segments itself. Sequence numbers are taken as printed
//! (Wireshark's relative numbers are consistent from the SYN, so they need no undoing). A line of
//! another protocol is either not TCP (UDP, DNS, ICMP, ARP, …) or a higher-layer protocol over TCP
//! whose Info has no TCP fields (`HTTP 72 GET /`, `MQTT 77 Publish Message`): those are counted
//! apart, with a hint to re-export with TCP fields.
//!
//! Guarantees: a line is recognised by its shape alone (a frame number, a time, `src → dst`), never
//! by the file's name; a recognised line that is malformed is an error with the reason, like a bad
//! tcpdump line.

use crate::trace::packet::TcpFlags;

use super::TimeKind;
use super::text::{Line, Name, ParsedTcp, Upper, date_us, is_date, num, time_kind, time_us};

/// Protocols Wireshark shows for packets that are not TCP at all.
/// Protocols that run over TCP (as tshark names them): only a line of one of these without TCP
/// fields may be placed in its flow.
const OVER_TCP: &[&str] = &[
    "TCP",
    "HTTP",
    "HTTP2",
    "HTTP/JSON",
    "HTTP/XML",
    "MQTT",
    "TLSv1",
    "TLSv1.1",
    "TLSv1.2",
    "TLSv1.3",
    "SSL",
    "SSLv2",
    "SSLv3",
    "WebSocket",
    "SSH",
    "SSHv2",
    "SMTP",
    "IMAP",
    "POP",
    "FTP",
    "FTP-DATA",
    "TELNET",
    "BGP",
    "LDAP",
    "SMB",
    "SMB2",
    "RDP",
    "PGSQL",
    "MySQL",
    "MongoDB",
    "AMQP",
    "Kafka",
    "XMPP/XML",
    "IRC",
    "RESP",
    "GRPC",
    "THRIFT",
    "Modbus/TCP",
    "IPA",
    "RTSP",
];

const NOT_TCP: &[&str] = &[
    "UDP",
    "DNS",
    "MDNS",
    "LLMNR",
    "NBNS",
    "ICMP",
    "ICMPv6",
    "ARP",
    "NTP",
    "DHCP",
    "DHCPv6",
    "SSDP",
    "QUIC",
    "IGMPv2",
    "IGMPv3",
    "STP",
    "LLDP",
    "CDP",
    "BROWSER",
    "SNMP",
    "SYSLOG",
    "TFTP",
    "RTP",
    "RTCP",
    "STUN",
    "WireGuard",
];

/// Parses a tshark one-line packet (`None`: the line does not have its shape).
pub(super) fn parse_tshark_line(line: &str) -> Option<Result<Line<'_>, String>> {
    let mut toks = line.split_ascii_whitespace();
    let no = toks.next()?;
    if !no.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let first = toks.next()?;
    let time = if is_date(first) {
        (first, Some(toks.next()?))
    } else {
        (first, None)
    };
    let src = toks.next()?;
    let arrow = toks.next()?;
    if arrow != "→" && arrow != "->" {
        return None;
    }
    let dst = toks.next()?;
    let proto = toks.next()?;
    let frame = toks.next()?;
    let frame_len = frame.parse().ok();
    let rest = after(line, frame);
    Some(parse_fields(time, (src, dst), proto, frame_len, rest))
}

/// The text of `line` after its token `tok` (a slice of `line`, as its tokenizer gave it),
/// trimmed: no second scan of the tokens before it.
fn after<'a>(line: &'a str, tok: &str) -> &'a str {
    let start = (tok.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
    debug_assert!(
        start + tok.len() <= line.len(),
        "{tok:?} is not a slice of {line:?}"
    );
    line[start + tok.len()..].trim_ascii()
}

/// Whether `line` starts a Wireshark CSV row (`"digits","`) that a line break inside its Info cut
/// short: the row continues on the next line.
pub(super) fn opens_csv_row(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('"') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && rest[digits..].starts_with("\",\"") && !(line.len() > 1 && line.ends_with('"'))
}

/// Parses a Wireshark CSV row (`None`: not one; `Some(Ok(Line::Skip))`: its header row).
pub(super) fn parse_csv_line(line: &str) -> Option<Result<Line<'_>, String>> {
    if !line.starts_with('"') {
        // An unquoted header row: Wireshark's column titles or tshark's field names.
        let header = ["No.,", "\"No.\",", "_ws.col.No.,", "frame.number,"]
            .iter()
            .any(|h| line.starts_with(h));
        return header.then_some(Ok(Line::Skip));
    }
    let fields = split_csv(line)?;
    if fields.len() != 7 {
        return None;
    }
    if !fields[0].bytes().all(|b| b.is_ascii_digit()) || fields[0].is_empty() {
        // The header row ("No.","Time",...) or another CSV.
        let header = ["No.", "_ws.col.No.", "frame.number"].contains(&fields[0]);
        return header.then_some(Ok(Line::Skip));
    }
    let time = fields[1].trim();
    let time = match time.split_once(' ') {
        Some((d, t)) if is_date(d) => (d, Some(t)),
        _ => (time, None),
    };
    let frame_len = fields[5].trim().parse().ok();
    Some(parse_fields(
        time,
        (fields[2], fields[3]),
        fields[4],
        frame_len,
        fields[6],
    ))
}

/// The seven fields of one CSV row: six short ones (quoted or bare, without commas), then Info,
/// taken whole to the row's end (tshark does not escape quotes inside it; Wireshark doubles them,
/// which changes none of the TCP fields read from it).
fn split_csv(line: &str) -> Option<[&str; 7]> {
    let mut fields = [""; 7];
    let mut rest = line;
    for f in fields.iter_mut().take(6) {
        let (field, after) = if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"')?;
            (&q[..end], q[end + 1..].strip_prefix(',')?)
        } else {
            let end = rest.find(',')?;
            (&rest[..end], &rest[end + 1..])
        };
        *f = field;
        rest = after;
    }
    fields[6] = match rest.strip_prefix('"') {
        Some(q) => q.strip_suffix('"')?,
        None => rest,
    };
    Some(fields)
}

/// The packet of one line, from its columns (`frame_len`: the Length column, when a number).
fn parse_fields<'a>(
    (time, clock): (&str, Option<&str>),
    (src, dst): (&'a str, &'a str),
    proto: &str,
    frame_len: Option<u32>,
    info: &'a str,
) -> Result<Line<'a>, String> {
    let (t_us, kind) = match clock {
        Some(c) => (date_us(time)? + time_us(c)?, TimeKind::DateTime),
        None => {
            let t = time_us(time)?;
            (t, time_kind(time, t))
        }
    };
    if proto != "TCP" && NOT_TCP.iter().any(|p| p.eq_ignore_ascii_case(proto)) {
        return Ok(Line::NonTcp);
    }
    let (wireshark, info) = expert_info(info);
    // Only a protocol that runs over TCP can stand for a TCP segment (a CoAP or DTLS line
    // between the same hosts is UDP): others are counted, not placed.
    let over_tcp = OVER_TCP.iter().any(|p| p.eq_ignore_ascii_case(proto));
    let upper = || {
        Ok(Line::NoTcpFields(frame_len.filter(|_| over_tcp).map(
            |frame_len| Upper {
                t_us,
                kind,
                src,
                dst,
                frame_len,
            },
        )))
    };
    let mut toks = info.split_ascii_whitespace();
    let (Some(sport), Some(arrow), Some(dport)) = (toks.next(), toks.next(), toks.next()) else {
        return upper();
    };
    if (arrow != "→" && arrow != "->") || !is_port(sport) || !is_port(dport) {
        return upper();
    }
    let after_ports = after(info, dport);
    let (flags, fields) = parse_flags(after_ports)?;
    let (mut seq, mut ack, mut win, mut len) = (None, 0, None, None);
    for kv in fields.split_ascii_whitespace() {
        let Some(eq) = kv.bytes().position(|b| b == b'=') else {
            continue;
        };
        let (k, v) = (&kv[..eq], &kv[eq + 1..]);
        // tshark runs a dissector's note into the last field: `Len=99[Malformed Packet]`.
        let field = |name| match num(v, name) {
            Err(_) if v.contains('[') => num(v.split_once('[').map_or(v, |(v, _)| v), name),
            r => r,
        };
        match k {
            "Seq" => seq = Some(field("Seq")?),
            "Ack" => ack = field("Ack")?,
            "Win" => win = Some(field("Win")?),
            "Len" => len = Some(field("Len")?),
            _ => {}
        }
    }
    let Some(len) = len else {
        return upper();
    };
    Ok(Line::Tcp(ParsedTcp {
        kind,
        t_us,
        src: Name {
            host: src,
            port: Some(sport),
        },
        dst: Name {
            host: dst,
            port: Some(dport),
        },
        flags,
        seq,
        ack,
        win: win.unwrap_or(0),
        len,
        wireshark,
        frame_len,
    }))
}

/// Wireshark's expert info (the leading bracketed groups of `info`), as
/// [`crate::classes::WIRESHARK`] bits, and the rest of `info`.
fn expert_info(mut info: &str) -> (u16, &str) {
    let mut bits = 0;
    while let Some(rest) = info.strip_prefix('[') {
        match rest.find(']') {
            Some(end) => {
                bits |= crate::classes::wireshark_bit(&rest[..end]);
                info = rest[end + 1..].trim_start();
            }
            None => break,
        }
    }
    (bits, info)
}

/// A port as Wireshark prints it: a number, or a service name.
fn is_port(tok: &str) -> bool {
    !tok.is_empty()
        && tok
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `[SYN, ACK] Seq=…`: the flags and the text after them.
fn parse_flags(text: &str) -> Result<(TcpFlags, &str), String> {
    let Some(rest) = text.strip_prefix('[') else {
        return Ok((TcpFlags::empty(), text));
    };
    let end = rest.find(']').ok_or("unclosed flags")?;
    let mut fl = TcpFlags::empty();
    for name in rest[..end].split(',').map(str::trim) {
        fl |= match name {
            "SYN" => TcpFlags::SYN,
            "ACK" => TcpFlags::ACK,
            "FIN" => TcpFlags::FIN,
            "RST" => TcpFlags::RST,
            "PSH" => TcpFlags::PSH,
            "URG" => TcpFlags::URG,
            "ECE" | "ECN" | "CWR" | "NS" | "AE" | "<None>" | "" => TcpFlags::empty(),
            other => return Err(format!("bad TCP flag {other:?}")),
        };
    }
    Ok((fl, &rest[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(r: Option<Result<Line<'_>, String>>) -> ParsedTcp<'_> {
        match r {
            Some(Ok(Line::Tcp(p))) => p,
            other => panic!("{other:?}"),
        }
    }

    // Proves the issue's own example line (expert info, `→`, flags, fields) and the ASCII arrow,
    // date-and-time and epoch forms parse to the same TCP fields.
    #[test]
    fn tshark_lines() {
        let p = tcp(parse_tshark_line(
            "17 3.512004 10.0.0.2 → 10.0.0.9 TCP 78 [TCP Retransmission] 51234 → 8883 [PSH, ACK] Seq=1 Ack=1 Win=501 Len=12",
        ));
        assert_eq!(p.t_us, 3_512_004);
        assert_eq!(
            (p.src.host, p.src.port, p.dst.host, p.dst.port),
            ("10.0.0.2", Some("51234"), "10.0.0.9", Some("8883"))
        );
        assert_eq!(
            (p.flags, p.seq, p.ack, p.win, p.len),
            (TcpFlags::PSH | TcpFlags::ACK, Some(1), 1, 501, 12)
        );
        // A dissector's note run into the last field, as tshark prints it.
        let m = tcp(parse_tshark_line(
            "9 0.086 192.168.31.204 → 192.168.31.10 TCP 139 54680 → 20271 [PSH, ACK] Seq=166 Ack=167 Win=5594 Len=99[Malformed Packet]",
        ));
        assert_eq!((m.seq, m.len), (Some(166), 99));
        // Wireshark's own classification is kept, not skipped.
        assert_eq!(
            p.wireshark,
            crate::classes::wireshark_bit("TCP Retransmission")
        );
        let dup = tcp(parse_tshark_line(
            "7 0.3 10.0.0.9 → 10.0.0.2 TCP 66 [TCP Dup ACK 6#1] [TCP ZeroWindow] 8883 → 51234 [ACK] Seq=1 Ack=13 Win=0 Len=0",
        ));
        let (d, z) = (
            crate::classes::wireshark_bit("TCP Dup ACK"),
            crate::classes::wireshark_bit("TCP ZeroWindow"),
        );
        assert!(d != 0 && z != 0 && d != z);
        assert_eq!(dup.wireshark, d | z);
        assert_ne!(
            crate::classes::wireshark_bit("TCP ZeroWindowProbe"),
            z,
            "longer labels are matched first"
        );
        let q = tcp(parse_tshark_line(
            "  17 2026-11-21 13:40:20.210400 10.0.0.2 -> 10.0.0.9 TCP 78 51234 -> 8883 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 SACK_PERM WS=128",
        ));
        assert_eq!(q.flags, TcpFlags::SYN);
        assert_eq!(
            q.t_us % 86_400_000_000,
            (13 * 3600 + 40 * 60 + 20) * 1_000_000 + 210_400
        );
        assert!(matches!(
            parse_tshark_line("5 0.1 10.0.0.2 → 10.0.0.9 DNS 80 Standard query 0x1 A example.com"),
            Some(Ok(Line::NonTcp))
        ));
        assert!(matches!(
            parse_tshark_line("6 0.2 10.0.0.2 → 10.0.0.9 HTTP 72 GET / HTTP/1.1"),
            Some(Ok(Line::NoTcpFields(Some(_))))
        ));
        assert!(parse_tshark_line("13:40:20.210400 IP a.1 > b.2: Flags [S]").is_none());
    }

    // Proves CSV rows (quoted, with a quote inside Info) parse like the one-line text, and the
    // header row is recognised and skipped.
    #[test]
    fn csv_rows() {
        assert!(matches!(
            parse_csv_line(r#""No.","Time","Source","Destination","Protocol","Length","Info""#),
            Some(Ok(Line::Skip))
        ));
        let p = tcp(parse_csv_line(
            r#""4","0.006000","192.168.31.204","192.168.31.10","TCP","139","54680 → 20271 [PSH, ACK] Seq=1 Ack=1 Win=5760 Len=99""#,
        ));
        assert_eq!((p.seq, p.ack, p.win, p.len), (Some(1), 1, 5760, 99));
        let row = r#""1","2","3","4","5","6","a ""b"", c""#;
        assert_eq!(split_csv(row).unwrap()[6], r#"a ""b"", c"#);
        let raw = r#""1","2","3","4","5","6","tshark's "raw" quotes""#;
        assert_eq!(split_csv(raw).unwrap()[6], r#"tshark's "raw" quotes"#);
    }
}
