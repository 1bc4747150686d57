//! Timeline plots: see the outage, the silence, the backoff, the FIN and the RST.
//!
//! [`timeline()`] draws a trace (simulated or imported) as SVG: a time–sequence graph per direction
//! in the Stevens/tcptrace style (data segments as vertical bars over their sequence range,
//! retransmissions in their own colour, the ACK line and the receive-window line, FIN and RST marked,
//! dropped and held frames marked where they were sent, outage windows shaded), then lanes with each
//! endpoint's TCP state and the senders' unacknowledged and unsent bytes, all on one time axis, with
//! the analysis findings annotated. [`heatmap()`] draws a sweep CSV as a signature's rate over two
//! parameters. [`compare()`] draws a capture above its reproducer, aligned at the FIN.
//!
//! Guarantees: the SVG is a pure function of its input (byte for byte) and needs no system fonts
//! (plotters' SVG backend writes `<text>`; label widths are estimated, and labels are placed so they
//! do not overlap). Long traces are thinned to the plot's pixel columns: per column and kind, one bar
//! from the lowest to the highest sequence, one ACK point, one marker — never more elements than the
//! plot has pixels. Simulated traces are plotted from the sender's side (every frame offered, with its
//! fate); imported captures show what was captured, and nothing is invented (no fates, no outages, no
//! TCP states, no unsent bytes).
//!
//! Layout of the module: `extract.rs` turns a trace into flows and lanes, [`timeline()`] (in
//! `timeline.rs`) draws the sequence panels and `lanes.rs` the state and bytes panels, `layout.rs`
//! holds the time window, pixel columns and label placement, `style.rs` the colours, legends and
//! axes, `findings.rs` the annotation texts, and `heatmap.rs` the sweep heatmap.

mod compare;
mod error;
mod extract;
mod findings;
mod heatmap;
mod lanes;
mod layout;
mod style;
mod thin;
mod timeline;

#[cfg(test)]
mod tests;

pub use compare::{Side, compare};
pub use error::PlotError;
pub use heatmap::heatmap;
pub use timeline::{TimelineSink, timeline};

/// The largest sweep CSV `plot` reads (64 MB: a sweep at its cell limit is far smaller).
pub const SWEEP_CSV_LIMIT: u64 = 64 << 20;

/// Draws a plot's input file (`-` for standard input): a `tcpsim sweep` CSV as a heatmap of
/// `signature` (or the first with hits), or a capture (pcap, pcapng or text) as a timeline. Told
/// apart by the first bytes; read once, streaming, with the importers' bounds, and the capture's
/// timeline thinned while read, so memory stays flat however long the capture. Returns the SVG
/// and, for a capture, what its import skipped (for the same warnings `analyze` gives).
///
/// # Errors
/// [`PlotError::Input`], [`PlotError::Import`] or [`PlotError::NotText`] naming the input, or
/// nothing to plot.
pub fn plot_file(
    path: &std::path::Path,
    opts: &PlotOptions,
    signature: Option<&str>,
) -> Result<(String, Option<crate::capture::ImportStats>), PlotError> {
    let name = crate::fsio::display_name(path);
    let reader = crate::fsio::open_input(path)?;
    plot_reader(reader, &name, opts, signature)
}

/// As [`plot_file`], from a stream; `name` names it in errors.
///
/// # Errors
/// As [`plot_file`].
pub fn plot_reader(
    mut reader: impl std::io::Read + Send,
    name: &std::path::Path,
    opts: &PlotOptions,
    signature: Option<&str>,
) -> Result<(String, Option<crate::capture::ImportStats>), PlotError> {
    use std::io::Read;
    const SWEEP_HEADER: &[u8] = b"kind,cell,run,seed";
    const BOM: &[u8] = b"\xEF\xBB\xBF"; // a spreadsheet's UTF-8 byte order mark
    let read_err = |source| crate::fsio::FsError::Read {
        path: name.to_owned(),
        source,
    };
    let mut head = Vec::with_capacity(BOM.len() + SWEEP_HEADER.len());
    (&mut reader)
        .take((BOM.len() + SWEEP_HEADER.len()) as u64)
        .read_to_end(&mut head)
        .map_err(read_err)?;
    let bom = if head.starts_with(BOM) { BOM.len() } else { 0 };
    let is_sweep = head[bom..].starts_with(SWEEP_HEADER);
    let whole = std::io::Cursor::new(head.clone()).chain(reader);
    if !is_sweep {
        let mut sink = TimelineSink::new(crate::model::CapturePoint::Server, opts.conn)
            .window(opts.from, opts.to);
        let import = crate::capture::ImportOptions {
            lenient: opts.lenient,
        };
        let (names, stats) =
            crate::capture::import_reader(whole, name, import, &mut |p, names| {
                sink.packet(p, names)
            })?;
        let svg = sink.draw_capture(&names, stats.time, opts)?;
        return Ok((svg, Some(stats)));
    }
    let bytes = crate::fsio::read_limited_from(whole, name, SWEEP_CSV_LIMIT, "sweep CSV")?;
    let text = String::from_utf8(bytes).map_err(|e| PlotError::NotText {
        path: name.display().to_string(),
        at: e.utf8_error().valid_up_to(),
    })?;
    let csv = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let svg = heatmap(csv, signature, &opts.title).map_err(|e| PlotError::InSweep {
        path: name.display().to_string(),
        source: Box::new(e),
    })?;
    Ok((svg, None))
}

/// Options of a timeline plot.
#[derive(Debug, Clone)]
pub struct PlotOptions {
    /// Title (model name or capture file).
    pub title: String,
    /// Start of the time window (seconds of a run or since a capture's first packet, a time of
    /// day, or a date and time), default the first event.
    pub from: Option<crate::capture::TimeArg>,
    /// End of the time window, default the last event.
    pub to: Option<crate::capture::TimeArg>,
    /// For captures: skip text lines that are not packets instead of failing.
    pub lenient: bool,
    /// For imported captures: which connection (0 = the first).
    pub conn: usize,
    /// Width in pixels.
    pub width: u32,
}

impl PlotOptions {
    /// Defaults: the whole trace, the first connection, 1400 px wide.
    pub fn new(title: &str) -> PlotOptions {
        PlotOptions {
            title: title.to_string(),
            from: None,
            to: None,
            lenient: false,
            conn: 0,
            width: 1400,
        }
    }
}
