//! Geometry of the timeline: the picture's size and rows, the time window and its pixel columns,
//! label widths and placement, step lines.
//!
//! Guarantees: pure arithmetic, no drawing; every panel maps time to pixel columns the same way,
//! so thinning (one mark per column and kind) is consistent across panels.

use super::PlotError;
use super::PlotOptions;
use super::extract::Data;

/// Sizes (pixels) of the timeline's picture and its rows.
pub(super) struct Layout {
    /// Width of the whole picture.
    pub(super) width: u32,
    /// Height of the whole picture.
    pub(super) height: u32,
    /// Width of the legend column to the right of every panel.
    pub(super) legend_w: u32,
    /// Height of each sequence panel.
    pub(super) panel_h: u32,
    /// Height of the TCP state lanes (0 without lanes).
    pub(super) state_h: u32,
    /// Width of the y label area of every panel.
    pub(super) y_label: u32,
}

impl Layout {
    /// The layout for a picture `width` px wide (at least 700), with or without the lanes.
    pub(super) fn new(width: u32, lanes: bool) -> Layout {
        let width = width.max(700);
        let (panel_h, state_h, bytes_h) = (
            300u32,
            if lanes { 90 } else { 0 },
            if lanes { 170 } else { 0 },
        );
        Layout {
            width,
            height: 50 + 2 * panel_h + state_h + bytes_h + 30,
            legend_w: 230,
            panel_h,
            state_h,
            y_label: 110,
        }
    }

    /// Width of the plotting area of a panel (without its y labels, margins and legend).
    pub(super) fn plot_px(&self) -> f64 {
        f64::from(self.width - self.legend_w - self.y_label - 20)
    }

    /// Where the rows split: two sequence panels, then (with lanes) the states and the bytes.
    pub(super) fn breaks(&self, lanes: bool) -> Vec<i32> {
        let mut breaks = vec![self.panel_h as i32, 2 * self.panel_h as i32];
        if lanes {
            breaks.push((2 * self.panel_h + self.state_h) as i32);
        }
        breaks
    }

    /// Where each row splits into its panel and its legend.
    pub(super) fn legend_at(&self) -> u32 {
        self.width - self.legend_w
    }
}

/// The time window shown, and its pixel columns.
pub(super) struct Window {
    /// Start (seconds).
    pub(super) from: f64,
    /// End (seconds), after `from`.
    pub(super) to: f64,
    /// Width of the plotting area (pixels).
    pub(super) plot_px: f64,
    /// Number of pixel columns.
    bins: usize,
}

impl Window {
    /// The window of `opts` (its times resolved on the data's time base); unless one is given,
    /// the data's span padded by 2% so that the first and last events are not on the frame.
    ///
    /// # Errors
    /// A time the trace cannot have (a time of day for a run), a reversed window, or one that
    /// holds none of the trace's span: each names the window and the span in both forms.
    pub(super) fn new(data: &Data, opts: &PlotOptions, plot_px: f64) -> Result<Window, PlotError> {
        let pad_t = (data.end - data.start).max(0.001) * 0.02;
        let base = &data.base;
        let resolve = |a: Option<crate::capture::TimeArg>| {
            a.map(|a| base.resolve(a).map_err(PlotError::Time))
                .transpose()
        };
        let (given_from, given_to) = (resolve(opts.from)?, resolve(opts.to)?);
        let from = given_from.unwrap_or(data.start - pad_t);
        let to = given_to.unwrap_or(data.end + pad_t);
        let outside =
            given_from.is_some_and(|f| f > data.end) || given_to.is_some_and(|t| t < data.start);
        if to.partial_cmp(&from) != Some(std::cmp::Ordering::Greater) || outside {
            let span = if data.start <= data.end {
                format!(
                    "the {} spans {} .. {}",
                    if data.simulated { "run" } else { "capture" },
                    base.show(data.start),
                    base.show(data.end)
                )
            } else {
                "the trace has no packets".to_string()
            };
            let since = if data.simulated {
                "seconds of the run".to_string()
            } else {
                format!(
                    "seconds since {}, a time of day or a date and time",
                    data.zero
                )
            };
            return Err(PlotError::EmptyWindow(format!(
                "{} .. {} holds nothing to draw: {span}; give {since}",
                base.show(from),
                base.show(to)
            )));
        }
        Ok(Window {
            from,
            to,
            plot_px,
            bins: plot_px.max(1.0) as usize,
        })
    }

    /// The pixel column of time `t` (clamped to the window).
    pub(super) fn bin_of(&self, t: f64) -> usize {
        (((t - self.from) / (self.to - self.from)) * self.bins as f64)
            .floor()
            .clamp(0.0, self.bins as f64 - 1.0) as usize
    }

    /// The time at the middle of pixel column `b`.
    pub(super) fn bin_t(&self, b: usize) -> f64 {
        self.from + (b as f64 + 0.5) / self.bins as f64 * (self.to - self.from)
    }

    /// Whether `t` is inside the window.
    pub(super) fn contains(&self, t: f64) -> bool {
        t >= self.from && t <= self.to
    }

    /// The x pixel (from the plotting area's left edge) of time `t`.
    pub(super) fn px(&self, t: f64) -> f64 {
        (t - self.from) / (self.to - self.from) * self.plot_px
    }

    /// The time at x pixel `x` (from the plotting area's left edge).
    pub(super) fn t_at_px(&self, x: f64) -> f64 {
        self.from + x / self.plot_px * (self.to - self.from)
    }
}

/// Approximate width of `text` at `size` px in a sans-serif font.
pub(super) fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.58
}

/// Places labels in rows so that none overlap and none runs past `right` (pixels): a label that
/// would is put to the left of its point. Returns each label's (left edge, row).
pub(super) fn place_labels(labels: &[(f64, String)], size: f64, right: f64) -> Vec<(f64, usize)> {
    let mut rows: Vec<f64> = Vec::new();
    labels
        .iter()
        .map(|(x, text)| {
            let w = text_width(text, size) + 8.0;
            let left = if x + w > right { (x - w).max(0.0) } else { *x };
            let row = rows
                .iter()
                .position(|&end| end <= left)
                .unwrap_or(rows.len());
            if row == rows.len() {
                rows.push(f64::NEG_INFINITY);
            }
            rows[row] = left + w;
            (left, row)
        })
        .collect()
}

/// A step line through `points`: each value holds until the next point.
pub(super) fn steps(points: impl IntoIterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (t, v) in points {
        if let Some(&(_, prev)) = out.last() {
            out.push((t, prev));
        }
        out.push((t, v));
    }
    out
}
