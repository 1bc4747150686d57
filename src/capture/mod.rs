//! Captures: the frames seen at one point, as compact [`Packet`] records, from a simulated trace or
//! from a user's own capture file (tcpdump text, pcap, pcapng).
//!
//! Importers stream: they call a sink once per packet and keep only a table of endpoint names, so
//! memory does not grow with the capture's length. [`import_trace`] collects an imported capture
//! into the same [`crate::Trace`] type a simulation produces (as [`crate::EventKind::Captured`]
//! events). Errors name the file and, for text, the line; no input makes an importer panic.

pub mod pcap;
pub mod text;
mod tshark;

pub use crate::timebase::{TimeArg, TimeBase, TimeKind};

use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::clock::Instant;
use crate::model::CapturePoint;
use crate::trace::packet::{Ipv4Segment, Packet};
use crate::trace::{Event, EventKind, Trace, captured};

/// The endpoints of a capture, numbered in order of first appearance, and what its timestamps
/// are (known from its first packet): what a sink needs to name and place each packet.
#[derive(Debug, Default, Clone)]
pub struct Endpoints {
    names: Vec<String>,
    time: TimeKind,
    by_ip: crate::fasthash::FastMap<(IpAddr, u16), u32>,
    by_name: crate::fasthash::FastMap<String, u32>,
    /// A reusable buffer for [`Endpoints::name_parts`].
    scratch: String,
}

impl Endpoints {
    /// What the capture's timestamps are (relative until its first packet says otherwise).
    pub fn time_kind(&self) -> TimeKind {
        self.time
    }

    /// Sets what the capture's timestamps are.
    pub(crate) fn set_time_kind(&mut self, kind: TimeKind) {
        self.time = kind;
    }

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

    /// The id of an endpoint named by its host and, apart, its port (Wireshark's columns): named
    /// `host.port` as tcpdump would print it, allocating only for a new endpoint.
    pub fn name_parts(&mut self, host: &str, port: Option<&str>) -> u32 {
        let Some(port) = port else {
            return self.name(host);
        };
        let mut key = std::mem::take(&mut self.scratch);
        key.clear();
        key.push_str(host);
        key.push('.');
        key.push_str(port);
        let id = self.name(&key);
        self.scratch = key;
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

/// What went wrong importing a capture: `path:line: message`, or `path: message` when the error
/// is about the whole file.
///
/// The cause (an I/O or pcap error) is part of `message`, not a [`std::error::Error::source`]:
/// the command line prints an error's whole chain, and its messages stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", .path.display(), AtLine(.line))]
pub struct ImportError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line (text captures), when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// `:line` when the line is known, else nothing.
struct AtLine<'a>(&'a Option<usize>);

impl fmt::Display for AtLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(l) => write!(f, ":{l}"),
            None => Ok(()),
        }
    }
}

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
    /// Packets of a protocol over TCP whose text has no TCP fields (Wireshark's Info of an HTTP
    /// or MQTT packet): not imported.
    pub no_tcp_fields: u64,
    /// Such packets placed in their flow instead (tshark text: sequence number from the flow's
    /// last segment, payload length from the frame's length less the flow's header length);
    /// counted in `packets` too.
    pub placed_in_flow: u64,
    /// Lines skipped under `lenient`.
    pub skipped_lines: u64,
    /// The first few skipped lines, as `line: text`.
    pub skipped_examples: Vec<String>,
    /// What the capture's timestamps are (from its first TCP packet).
    pub time: TimeKind,
    /// Packets on link types tcpsim cannot decode: (tcpdump.org link-type number, packets), in
    /// order of first appearance (at most 16 link types; later ones count in the last entry).
    pub unsupported_links: Vec<(i32, u64)>,
}

impl ImportStats {
    /// Counts a packet on a link type tcpsim cannot decode.
    pub(crate) fn unknown_link(&mut self, link_type: i32) {
        let links = &mut self.unsupported_links;
        let at = links.iter().position(|(t, _)| *t == link_type);
        match at {
            Some(i) => links[i].1 += 1,
            None if links.len() < 16 => links.push((link_type, 1)),
            None => links.last_mut().expect("16 entries").1 += 1,
        }
    }
}

/// "N packets on link type 105 (IEEE802_11), ..." for a report.
pub fn link_types_text(links: &[(i32, u64)]) -> String {
    let name = |t: i32| match t {
        6 => "IEEE802_5",
        9 => "PPP",
        10 => "FDDI",
        50 => "PPP_HDLC",
        104 => "C_HDLC",
        119 => "PRISM_HEADER",
        163 => "IEEE802_11_AVS",
        192 => "PPI",
        195 => "IEEE802_15_4",
        201 => "BLUETOOTH_HCI_H4",
        215 => "NETANALYZER",
        239 => "NFLOG",
        252 => "WIRESHARK_UPPER_PDU",
        147..=162 => "USER",
        _ => "unknown",
    };
    let parts: Vec<String> = links
        .iter()
        .map(|(t, n)| format!("{n} packet(s) on link type {t} ({})", name(*t)))
        .collect();
    format!(
        "{} (tcpsim reads Ethernet, raw IP, Linux cooked SLL/SLL2, BSD loopback and 802.11 with \
         or without radiotap)",
        parts.join(", ")
    )
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
    let (reader, name) = open(path)?;
    import_reader(reader, &name, opts, sink)
}

/// Imports a capture from a stream (a file, a pipe, standard input, bytes in memory), told apart by
/// its first bytes; `path` names it in errors. Reads once, front to back, with bounded memory: a
/// text line over [`MAX_LINE`] or a pcap record over [`MAX_RECORD`] is an error naming its place.
///
/// # Errors
/// As [`import_file`].
pub fn import_reader(
    mut reader: impl Read + Send,
    path: &Path,
    opts: ImportOptions,
    sink: &mut dyn FnMut(&Packet, &mut Endpoints),
) -> Result<(Endpoints, ImportStats), ImportError> {
    let err = |message: String| ImportError::file(path, message);
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut reader, &mut magic).map_err(|e| err(format!("cannot read: {e}")))?;
    if n == 0 {
        return Err(err("empty file: no packets".into()));
    }
    let whole = std::io::Cursor::new(magic).take(n as u64).chain(reader);
    if pcap::is_pcap_magic(&magic[..n]) {
        pcap::import(whole, path, sink)
    } else {
        text::import(
            std::io::BufReader::with_capacity(1 << 16, whole),
            path,
            opts,
            sink,
        )
    }
}

/// tshark arguments that print Wireshark's default columns as CSV, the rows "Export Packet
/// Dissections → As CSV" writes (without its header row; add `-E header=y` for tshark's):
/// `tshark -r CAPTURE` followed by these.
pub const TSHARK_CSV_ARGS: [&str; 20] = [
    "-T",
    "fields",
    "-E",
    "separator=,",
    "-E",
    "quote=d",
    "-e",
    "_ws.col.No.",
    "-e",
    "_ws.col.Time",
    "-e",
    "_ws.col.Source",
    "-e",
    "_ws.col.Destination",
    "-e",
    "_ws.col.Protocol",
    "-e",
    "_ws.col.Length",
    "-e",
    "_ws.col.Info",
];

/// The longest text line a capture may have (1 MB): longer is an error, not an allocation.
pub const MAX_LINE: usize = 1 << 20;

/// The largest pcap or pcapng record (block) read (256 KB, the largest snapshot length tcpdump and
/// dumpcap take): larger is an error naming its byte offset.
pub const MAX_RECORD: usize = 256 << 10;

/// Opens a capture input (`-` for standard input) and the name it goes by in errors.
fn open(path: &Path) -> Result<(Box<dyn Read + Send>, PathBuf), ImportError> {
    let name = crate::fsio::display_name(path);
    match crate::fsio::open_input(path) {
        Ok(r) => Ok((r, name)),
        Err(e) => {
            let why =
                std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string);
            Err(ImportError::file(&name, format!("cannot read: {why}")))
        }
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Imports a capture file into a [`Trace`] of [`EventKind::Captured`] events.
///
/// # Errors
/// As [`import_file`].
pub fn import_trace(path: &Path, opts: ImportOptions) -> Result<(Trace, ImportStats), ImportError> {
    let (reader, name) = open(path)?;
    import_trace_from(reader, &name, opts)
}

/// As [`import_trace`], from a stream (see [`import_reader`]); `path` names it in errors.
///
/// # Errors
/// As [`import_file`].
pub fn import_trace_from(
    reader: impl Read + Send,
    path: &Path,
    opts: ImportOptions,
) -> Result<(Trace, ImportStats), ImportError> {
    let mut trace = Trace::default();
    let mut seq = 0;
    let (endpoints, stats) = import_reader(reader, path, opts, &mut |p, _| {
        trace.push(&Event {
            t: p.t,
            seq,
            kind: EventKind::Captured { packet: *p },
        });
        seq += 1;
    })?;
    let end = trace.events().next_back().map_or(Instant::ZERO, |e| e.t);
    trace.end = end;
    trace.endpoints = endpoints.names().to_vec();
    trace.time = stats.time;
    Ok((trace, stats))
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
    pub fn packet(&mut self, e: &Event<'_>) -> Option<Packet> {
        match e.kind {
            EventKind::Captured { packet } => Some(packet),
            kind @ (EventKind::Offered { bytes, .. } | EventKind::Delivered { bytes, .. })
                if captured(self.point, &kind) =>
            {
                let s = Ipv4Segment::parse(bytes)?;
                let src = self.endpoints.ip(s.src.into(), s.tcp.sport);
                let dst = self.endpoints.ip(s.dst.into(), s.tcp.dport);
                Some(Packet::new(e.t, src, dst, &s.tcp))
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
    let packets = trace.events().filter_map(|e| view.packet(&e)).collect();
    (packets, view.endpoints)
}
