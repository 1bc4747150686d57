//! The sweep heatmap: a signature's rate per cell of a `tcpsim sweep` CSV, over the first two swept
//! parameters.
//!
//! Guarantees: a pure function of the CSV text, the signature and the title (byte for byte);
//! parameter values keep their order of first appearance; cells that share the first two
//! parameters (other parameters swept) are averaged.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::PlotError;
use super::style::{F64Chart, text_style};

/// Draws a sweep CSV as a heatmap of `signature`'s rate (default: the first signature with a
/// non-zero rate) over the first two swept parameters (the mean over any others).
///
/// # Errors
/// Not a sweep CSV, or no such signature.
pub fn heatmap(csv_text: &str, signature: Option<&str>, title: &str) -> Result<String, PlotError> {
    let sweep = Sweep::parse(csv_text, signature)?;
    let mut svg = String::new();
    sweep.draw(&mut svg, title)?;
    Ok(svg)
}

/// A sweep CSV, reduced to what the heatmap shows.
struct Sweep {
    /// The swept parameters' names.
    params: Vec<String>,
    /// The signature shown.
    sig: String,
    /// Values of the first parameter (columns), in order of appearance.
    xs: Vec<String>,
    /// Values of the second parameter (rows), or one empty value if only one was swept.
    ys: Vec<String>,
    /// Per row and column: (sum of the cells' rates, number of cells).
    grid: Vec<Vec<(f64, u32)>>,
}

impl Sweep {
    /// Reads the CSV's header and cell rows, picks the signature's column, and sums the rates.
    fn parse(csv_text: &str, signature: Option<&str>) -> Result<Sweep, PlotError> {
        let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
        let head: Vec<String> = rdr.headers()?.iter().map(str::to_string).collect();
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
        let cells: Vec<csv::StringRecord> = rdr
            .records()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|r| &r[0] == "cell")
            .collect();
        if cells.is_empty() || params.is_empty() {
            return Err(PlotError::NoCells);
        }
        let col = match signature {
            Some(s) => head
                .iter()
                .position(|h| h == s)
                .ok_or_else(|| PlotError::UnknownSignature(s.to_string()))?,
            None => (first_sig..head.len())
                .filter(is_sig)
                .find(|&c| {
                    cells
                        .iter()
                        .any(|r| r.get(c).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) > 0.0)
                })
                .unwrap_or(first_sig),
        };
        let xs = distinct(&cells, 4);
        let ys = if params.len() > 1 {
            distinct(&cells, 5)
        } else {
            vec![String::new()]
        };
        let grid = sum_rates(&cells, col, &xs, &ys, params.len() > 1)?;
        Ok(Sweep {
            params,
            sig: head[col].clone(),
            xs,
            ys,
            grid,
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
            .x_desc(self.params[0].as_str())
            .y_desc(self.params.get(1).map_or("", String::as_str))
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

/// The distinct values of column `c` of `cells`, in order of first appearance.
fn distinct(cells: &[csv::StringRecord], c: usize) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for r in cells {
        if !v.contains(&r[c].to_string()) {
            v.push(r[c].to_string());
        }
    }
    v
}

/// Per row (`ys`, if `two_params`) and column (`xs`): the sum of column `col`'s rates and the
/// number of cells.
fn sum_rates(
    cells: &[csv::StringRecord],
    col: usize,
    xs: &[String],
    ys: &[String],
    two_params: bool,
) -> Result<Vec<Vec<(f64, u32)>>, PlotError> {
    let mut grid = vec![vec![(0.0, 0u32); xs.len()]; ys.len()];
    for r in cells {
        let xi = xs.iter().position(|v| *v == r[4]).expect("seen");
        let yi = if two_params {
            ys.iter().position(|v| *v == r[5]).expect("seen")
        } else {
            0
        };
        let rate: f64 = r[col].parse()?;
        grid[yi][xi].0 += rate;
        grid[yi][xi].1 += 1;
    }
    Ok(grid)
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
