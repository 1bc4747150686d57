//! Captures: the frames seen at one point, as compact [`Packet`] records, from a simulated trace or
//! from a user's own capture file (tcpdump text, pcap, pcapng).
//!
//! Importers stream: they call a sink once per packet and keep only a table of endpoint names, so
//! memory does not grow with the capture's length. [`import_trace`] collects an imported capture
//! into the same [`crate::Trace`] type a simulation produces (as [`crate::EventKind::Captured`]
//! events). Errors name the file and, for text, the line; no input makes an importer panic.

pub mod pcap;
pub mod text;

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Seek};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::clock::Instant;
use crate::model::CapturePoint;
use crate::trace::packet::Segment;
use crate::trace::{Event, EventKind, Trace, captured};

/// One TCP segment as seen at the capture point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet {
    /// When it was seen.
    pub t: Instant,
    /// Sending endpoint (index into [`Endpoints`]).
    pub src: u32,
    /// Receiving endpoint.
    pub dst: u32,
    /// TCP flag bits ([`crate::trace::packet::flags`]).
    pub flags: u8,
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
}

impl Packet {
    /// Has this flag bit.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
    /// Sequence space consumed: payload plus one for SYN and for FIN.
    pub fn seq_len(&self) -> u32 {
        use crate::trace::packet::flags::{FIN, SYN};
        self.len + u32::from(self.has(SYN)) + u32::from(self.has(FIN))
    }
}

/// The endpoints of a capture, numbered in order of first appearance.
#[derive(Debug, Default, Clone)]
pub struct Endpoints {
    names: Vec<String>,
    by_ip: HashMap<(IpAddr, u16), u32>,
    by_name: HashMap<String, u32>,
}

impl Endpoints {
    /// The id of an address and port, adding it if new.
    pub fn ip(&mut self, addr: IpAddr, port: u16) -> u32 {
        let next = self.names.len() as u32;
        *self.by_ip.entry((addr, port)).or_insert_with(|| {
            self.names.push(format!("{addr}.{port}"));
            next
        })
    }

    /// The id of an endpoint named as tcpdump prints it (`host.port`), adding it if new.
    pub fn name(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.by_name.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.by_name.insert(name.to_string(), id);
        self.names.push(name.to_string());
        id
    }

    /// The printable name of an endpoint id.
    pub fn get(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// All names, by id.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// What went wrong importing a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line (text captures), when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ImportError {}

impl ImportError {
    /// An error about the whole file (no line).
    pub fn file(path: &Path, message: String) -> ImportError {
        ImportError {
            path: path.to_owned(),
            line: None,
            message,
        }
    }
}

/// Options for importing.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Skip text lines that are not packets (counted, first few reported) instead of failing.
    pub lenient: bool,
}

/// What an import saw besides TCP packets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// TCP packets delivered to the sink.
    pub packets: u64,
    /// Packets that are not TCP (or not IP), skipped.
    pub non_tcp: u64,
    /// Lines skipped under `lenient`.
    pub skipped_lines: u64,
    /// The first few skipped lines, as `line: text`.
    pub skipped_examples: Vec<String>,
}

/// Imports a capture file (tcpdump text, pcap or pcapng, told apart by their first bytes), calling
/// `sink` for every TCP packet in file order.
///
/// # Errors
/// [`ImportError`] naming the file (and line, for text).
pub fn import_file(
    path: &Path,
    opts: ImportOptions,
    sink: &mut dyn FnMut(&Packet, &mut Endpoints),
) -> Result<(Endpoints, ImportStats), ImportError> {
    let err = |message: String| ImportError::file(path, message);
    let mut file = std::fs::File::open(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut file, &mut magic).map_err(|e| err(format!("cannot read: {e}")))?;
    if n == 0 {
        return Err(err("empty file: no packets".into()));
    }
    file.seek(std::io::SeekFrom::Start(0))
        .map_err(|e| err(format!("cannot read: {e}")))?;
    if pcap::is_pcap_magic(&magic[..n]) {
        pcap::import(file, path, sink)
    } else {
        text::import(
            std::io::BufReader::with_capacity(1 << 16, file),
            path,
            opts,
            sink,
        )
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Imports a capture file into a [`Trace`] of [`EventKind::Captured`] events.
///
/// # Errors
/// As [`import_file`].
pub fn import_trace(path: &Path, opts: ImportOptions) -> Result<(Trace, ImportStats), ImportError> {
    let mut events = Vec::new();
    let (endpoints, stats) = import_file(path, opts, &mut |p, _| {
        events.push(Event {
            t: p.t,
            seq: events.len() as u64,
            kind: EventKind::Captured { packet: *p },
        })
    })?;
    let end = events.last().map_or(Instant::ZERO, |e| e.t);
    Ok((
        Trace {
            events,
            end,
            endpoints: endpoints.names().to_vec(),
        },
        stats,
    ))
}

/// Turns a trace's events into the packets seen at a capture point: a simulated frame's offer or
/// delivery when `point` sees it, or an imported capture's packet.
pub struct CaptureView {
    point: CapturePoint,
    endpoints: Endpoints,
}

impl CaptureView {
    /// A view at `point`; `names` are the trace's imported endpoint names (empty for simulations).
    pub fn new(point: CapturePoint, names: &[String]) -> CaptureView {
        let mut endpoints = Endpoints::default();
        for name in names {
            endpoints.name(name);
        }
        CaptureView { point, endpoints }
    }

    /// The packet this event shows at the capture point, if any.
    pub fn packet(&mut self, e: &Event) -> Option<Packet> {
        match &e.kind {
            EventKind::Captured { packet } => Some(*packet),
            kind @ (EventKind::Offered { bytes, .. } | EventKind::Delivered { bytes, .. })
                if captured(self.point, kind) =>
            {
                Segment::parse(bytes).map(|s| Packet {
                    t: e.t,
                    src: self.endpoints.ip(s.src.into(), s.sport),
                    dst: self.endpoints.ip(s.dst.into(), s.dport),
                    flags: s.flags,
                    seq: s.seq,
                    ack: s.ack,
                    win: u32::from(s.win),
                    len: s.len,
                    seq_known: true,
                })
            }
            _ => None,
        }
    }

    /// The endpoint names met so far.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }
}

/// The packets of a trace as seen at `point`: a simulated trace's frames at that capture point, or
/// an imported trace's captured packets. Returns them with the endpoint table.
pub fn trace_packets(trace: &Trace, point: CapturePoint) -> (Vec<Packet>, Endpoints) {
    let mut view = CaptureView::new(point, &trace.endpoints);
    let packets = trace.events.iter().filter_map(|e| view.packet(e)).collect();
    (packets, view.endpoints)
}
