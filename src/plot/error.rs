//! What can go wrong drawing a plot.
//!
//! Guarantees: every message is the exact text the CLI prints (after `tcpsim: error: `); errors of
//! the drawing backend, the CSV reader and number parsing are passed through unchanged
//! (`#[error(transparent)]`), so wrapping them adds no text.

use plotters::drawing::DrawingAreaErrorKind;

/// What went wrong drawing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The drawing backend failed (plotters' SVG backend, or a bad layout).
    #[error(transparent)]
    Drawing(#[from] DrawingAreaErrorKind<std::io::Error>),
    /// The time window is reversed or holds none of the trace: what it was and what the trace
    /// spans.
    #[error("empty time window: {0}")]
    EmptyWindow(String),
    /// A `--from`/`--to` time the trace cannot have.
    #[error("--from/--to: {0}")]
    Time(String),
    /// The trace holds no TCP packets.
    #[error("nothing to plot: no TCP packets")]
    NoPackets,
    /// The capture has fewer connections than the one asked for.
    #[error("no connection {conn} (the capture has {count})")]
    NoSuchConnection {
        /// The connection asked for (0 = the first).
        conn: usize,
        /// How many connections the capture has.
        count: usize,
    },
    /// The CSV's header is not a tcpsim sweep's.
    #[error("not a tcpsim sweep CSV (header kind,cell,run,seed,...)")]
    NotASweep,
    /// The sweep CSV has no column of a known signature.
    #[error("no signature columns")]
    NoSignatureColumns,
    /// The sweep CSV has no cell rows, or no swept parameter.
    #[error("the sweep has no cells")]
    NoCells,
    /// The signature asked for has no column in the sweep CSV.
    #[error("no column for signature {0:?}")]
    UnknownSignature(String),
    /// The input could not be read, or is too large.
    #[error(transparent)]
    Input(#[from] crate::fsio::FsError),
    /// The input is not a capture tcpsim reads.
    #[error(transparent)]
    Import(#[from] crate::capture::ImportError),
    /// The sweep CSV is not UTF-8 text.
    #[error("{path}: not UTF-8 text (byte {at}): not a sweep CSV")]
    NotText {
        /// The input, as named on the command line.
        path: String,
        /// The offset of the first byte that is not UTF-8.
        at: usize,
    },
    /// A sweep CSV row that is not a sweep's: a wrong number of fields, or a rate that is not a
    /// number from 0 to 1.
    #[error("line {line}: {message}")]
    SweepRow {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// An error in the sweep CSV at `path`.
    #[error("{path}")]
    InSweep {
        /// The input, as named on the command line.
        path: String,
        /// What is wrong.
        #[source]
        source: Box<PlotError>,
    },
    /// A trace to align at its FIN has none.
    #[error("{name}: no FIN to align the plots at")]
    NoFin {
        /// The trace, as named on the command line.
        name: String,
    },
}
