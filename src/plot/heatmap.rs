//! The sweep heatmap: a signature's rate per cell of a `tcpsim sweep` CSV, over the first two swept
//! parameters.
//!
//! Guarantees: a pure function of the CSV text, the signature and the title (byte for byte);
//! parameter values keep their order of first appearance; cells that share the first two
//! parameters (other parameters swept) are averaged. An axis of more than [`MAX_AXIS`] values is
//! drawn in [`MAX_AXIS`] or fewer bins of consecutive values (labelled `first..last`, their cells
//! averaged), so the SVG stays a few megabytes whatever the grid (10,000 × 10,000 values once made
//! a 3 GB SVG). A rate that is not a number from 0 to 1 is an error naming its line.

use std::collections::BTreeMap;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::PlotError;
use super::style::{F64Chart, text_style};

/// The most columns or rows a heatmap draws; a longer axis is binned.
pub const MAX_AXIS: usize = 60;

/// Draws a sweep CSV as a heatmap of `signature`'s rate (default: the first signature with a
/// non-zero rate) over the first two swept parameters (the mean over any others).
///
/// # Errors
/// Not a sweep CSV, no such signature, or a row that is not a sweep's (its line named).
pub fn heatmap(csv_text: &str, signature: Option<&str>, title: &str) -> Result<String, PlotError> {
    let sweep = Sweep::parse(csv_text, signature)?;
    let mut svg = String::new();
    sweep.draw(&mut svg, title)?;
    Ok(svg)
}

/// A sweep CSV, reduced to what the heatmap shows.
struct Sweep {
    /// The signature shown.
    sig: String,
    /// Column labels: values of the first parameter in order of appearance, or bins of them.
    xs: Vec<String>,
    /// Row labels: values of the second parameter, or bins of them, or one empty label if only
    /// one parameter was swept.
    ys: Vec<String>,
    /// Per row and column: (sum of the cells' rates, number of cells).
    grid: Vec<Vec<(f64, u32)>>,
    /// Axis titles: the parameters, with the bin size when an axis is binned.
    descs: [String; 2],
}

impl Sweep {
    /// Reads the CSV's header and cell rows, picks the signature's column, and sums the rates.
    fn parse(csv_text: &str, signature: Option<&str>) -> Result<Sweep, PlotError> {
        let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
        let head: Vec<String> = rdr
            .headers()
            .map_err(row_error)?
            .iter()
            .map(str::to_string)
            .collect();
        if head.first().map(String::as_str) != Some("kind")
            || head.get(3).map(String::as_str) != Some("seed")
        {
            return Err(PlotError::NotASweep);
        }
        let sigs: Vec<&str> = crate::detect::signatures().collect();
        // Signature columns come after kind, cell, run, seed and the parameters.
        let is_sig = |c: &usize| head.get(*c).is_some_and(|h| sigs.contains(&h.as_str()));
        let first_sig = (4..head.len())
            .find(is_sig)
            .ok_or(PlotError::NoSignatureColumns)?;
        let params: Vec<String> = head[4..first_sig].to_vec();
        let two = params.len() > 1;
        // Two passes over the text, one record at a time, so memory is the distinct values and
        // the grid, not the rows (2 million rows once took 2.75 GB): the first finds the axes'
        // values and which signatures have a non-zero rate, the second sums the rates.
        let (mut x_axis, mut y_axis) = (Axis::default(), Axis::default());
        let mut nonzero = vec![false; head.len()];
        let mut cells = 0usize;
        each_cell(csv_text, |r| {
            cells += 1;
            x_axis.add(&r[4]);
            y_axis.add(if two { &r[5] } else { "" });
            for (c, seen) in nonzero.iter_mut().enumerate().skip(first_sig) {
                *seen |= r.get(c).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) > 0.0;
            }
            Ok(())
        })?;
        if cells == 0 || params.is_empty() {
            return Err(PlotError::NoCells);
        }
        let col = match signature {
            Some(s) => head
                .iter()
                .position(|h| h == s)
                .ok_or_else(|| PlotError::UnknownSignature(s.to_string()))?,
            None => (first_sig..head.len())
                .filter(is_sig)
                .find(|&c| nonzero[c])
                .unwrap_or(first_sig),
        };
        let (xs, x_per) = x_axis.labels();
        let (ys, y_per) = y_axis.labels();
        let desc = |i: usize, per: usize| {
            let name = params.get(i).map_or("", String::as_str);
            match per {
                1 => name.to_string(),
                _ => format!("{name} ({per} values per bin)"),
            }
        };
        let descs = [desc(0, x_per), desc(1, y_per)];
        let mut grid = vec![vec![(0.0, 0u32); xs.len()]; ys.len()];
        each_cell(csv_text, |r| {
            let rate = rate(r, col, &head[col])?;
            let g = &mut grid[y_axis.bin(if two { &r[5] } else { "" })][x_axis.bin(&r[4])];
            g.0 += rate;
            g.1 += 1;
            Ok(())
        })?;
        Ok(Sweep {
            sig: head[col].clone(),
            xs,
            ys,
            grid,
            descs,
        })
    }

    /// Draws the heatmap into `svg`.
    fn draw(&self, svg: &mut String, title: &str) -> Result<(), PlotError> {
        let (xs, ys) = (&self.xs, &self.ys);
        let (w, h) = (160 + 90 * xs.len() as u32, 140 + 50 * ys.len() as u32);
        let root = SVGBackend::with_string(svg, (w.max(520), h)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(
            &format!("{title}: rate of {}", self.sig),
            ("sans-serif", 18),
        )?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(110)
            .build_cartesian_2d(0.0..xs.len() as f64, 0.0..ys.len() as f64)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(xs.len() * 2 + 1)
            .y_labels(ys.len() * 2 + 1)
            .x_label_formatter(&|v| cell_label(*v, xs))
            .y_label_formatter(&|v| cell_label(*v, ys))
            .x_desc(self.descs[0].as_str())
            .y_desc(self.descs[1].as_str())
            .label_style(("sans-serif", 12))
            .draw()?;
        for (yi, row) in self.grid.iter().enumerate() {
            for (xi, &(sum, n)) in row.iter().enumerate() {
                let rate = if n == 0 { 0.0 } else { sum / f64::from(n) };
                draw_cell(&mut chart, xi as f64, yi as f64, rate)?;
            }
        }
        root.present()?;
        Ok(())
    }
}

/// The rate of the cell row `r` in column `col` (named `sig`), which must be NaN (no run of the
/// cell succeeded) or from 0 to 1.
fn rate(r: &csv::StringRecord, col: usize, sig: &str) -> Result<f64, PlotError> {
    let line = r.position().map_or(0, csv::Position::line);
    let text = r.get(col).unwrap_or("");
    let rate = text
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_nan() || (0.0..=1.0).contains(v));
    rate.ok_or_else(|| PlotError::SweepRow {
        line,
        message: format!(
            "{sig}: {:?} is not a rate from 0 to 1",
            crate::clip_words(text)
        ),
    })
}

/// A CSV reader's error as a sweep row error, in the user's terms.
fn row_error(e: csv::Error) -> PlotError {
    let line = e.position().map_or(0, csv::Position::line);
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
        _ => e.to_string(),
    };
    PlotError::SweepRow { line, message }
}

/// Calls `f` on every `cell` row of the sweep CSV `text`, one record at a time.
fn each_cell(
    text: &str,
    mut f: impl FnMut(&csv::StringRecord) -> Result<(), PlotError>,
) -> Result<(), PlotError> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut r = csv::StringRecord::new();
    while rdr.read_record(&mut r).map_err(row_error)? {
        if &r[0] == "cell" {
            f(&r)?;
        }
    }
    Ok(())
}

/// An axis: its distinct values in order of first appearance, binned into at most [`MAX_AXIS`]
/// runs of consecutive values when there are more.
#[derive(Default)]
struct Axis {
    /// The values, in order of first appearance.
    order: Vec<String>,
    /// Each value's place in `order`.
    at: BTreeMap<String, usize>,
}

impl Axis {
    /// Notes a value.
    fn add(&mut self, v: &str) {
        if !self.at.contains_key(v) {
            self.at.insert(v.to_string(), self.order.len());
            self.order.push(v.to_string());
        }
    }

    /// Values per label: 1, or the bin size.
    fn per(&self) -> usize {
        self.order.len().div_ceil(MAX_AXIS).max(1)
    }

    /// The label index of a value the axis has seen.
    fn bin(&self, v: &str) -> usize {
        self.at[v] / self.per()
    }

    /// The labels (a value, or `first..last` of a bin; a value over 40 characters cut to its
    /// head and tail, so a pasted value cannot make a huge SVG) and the values per label.
    fn labels(&self) -> (Vec<String>, usize) {
        let per = self.per();
        let labels = self
            .order
            .chunks(per)
            .map(|bin| match bin {
                [one] => clip(one),
                _ => format!("{}..{}", clip(&bin[0]), clip(&bin[bin.len() - 1])),
            })
            .collect();
        (labels, per)
    }
}

/// A value as a label: itself, or over 40 characters its first 24 and last 10 and its length.
fn clip(v: &str) -> String {
    let n = v.chars().count();
    if n <= 40 {
        return v.to_string();
    }
    let head: String = v.chars().take(24).collect();
    let tail: String = v.chars().skip(n - 10).collect();
    format!("{head}…{tail} ({n} chars)")
}

/// An axis label: the value of the cell whose middle is at `v`, nothing between cells.
fn cell_label(v: f64, labels: &[String]) -> String {
    let i = v.floor() as usize;
    if (v - i as f64 - 0.5).abs() < 1e-9 {
        labels.get(i).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

/// The label of a cell: its rate in percent, or `n/a` for a cell without a rate (no run of it
/// succeeded), never `NaN%` (issue 12).
pub(super) fn rate_label(rate: f64) -> String {
    if rate.is_finite() {
        format!("{:.0}%", rate * 100.0)
    } else {
        "n/a".into()
    }
}

/// One cell at (`x`, `y`): shaded by its rate, framed, and labelled with the rate in percent.
fn draw_cell(chart: &mut F64Chart<'_, '_>, x: f64, y: f64, rate: f64) -> Result<(), PlotError> {
    let shade = if rate.is_finite() {
        (255.0 - rate.clamp(0.0, 1.0) * 200.0) as u8
    } else {
        255
    };
    chart.draw_series(std::iter::once(Rectangle::new(
        [(x, y), (x + 1.0, y + 1.0)],
        RGBColor(255, shade, shade).filled(),
    )))?;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(x, y), (x + 1.0, y + 1.0)],
        RGBColor(200, 200, 200).stroke_width(1),
    )))?;
    chart.draw_series(std::iter::once(Text::new(
        rate_label(rate),
        (x + 0.5, y + 0.5),
        text_style(13, HPos::Center, VPos::Center),
    )))?;
    Ok(())
}
