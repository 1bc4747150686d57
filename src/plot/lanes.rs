//! The lanes under a simulated trace's sequence panels: each endpoint's TCP state over time, and
//! the senders' unacknowledged and unsent bytes.
//!
//! Guarantees: on the same time axis as the sequence panels; a state's name is written only where
//! its band is wide enough; the bytes are thinned to their peak per pixel column.

use std::collections::BTreeMap;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::PlotError;
use super::extract::Lanes;
use super::layout::{Window, steps, text_width};
use super::style::{
    Area, F64Chart, Legend, Sample, draw_legend, state_colour, text_style, time_mesh,
};
use super::thin::{Peaks, Thinned};
use super::timeline::Scene;
use crate::trace::{Side, TcpState};

/// Draws the TCP state lanes (client above, server below) and their legend.
pub(super) fn draw_state_panel(
    scene: &Scene,
    lanes: &Lanes,
    area: &Area<'_>,
    legend_area: &Area<'_>,
) -> Result<(), PlotError> {
    let win = &scene.win;
    let mut chart = ChartBuilder::on(area)
        .margin_left(10)
        .margin_right(10)
        .x_label_area_size(0)
        .y_label_area_size(scene.y_label)
        .caption("TCP state", ("sans-serif", 15))
        .build_cartesian_2d(win.from..win.to, 0.0..2.0)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .y_labels(0)
        .x_labels(0)
        .draw()?;
    for (side, states) in lanes.states.iter().enumerate() {
        draw_state_lane(&mut chart, win, side, states)?;
    }
    draw_legend(
        legend_area,
        &[
            (
                Sample::Band(state_colour(TcpState::Established)),
                "established",
            ),
            (
                Sample::Band(state_colour(TcpState::CloseWait)),
                "close-wait",
            ),
            (
                Sample::Band(state_colour(TcpState::FinWait2)),
                "closing (FIN sent)",
            ),
        ],
    )
}

/// One side's lane: its name, then a band per state (named where it fits).
fn draw_state_lane(
    chart: &mut F64Chart<'_, '_>,
    win: &Window,
    side: usize,
    states: &[(f64, TcpState)],
) -> Result<(), PlotError> {
    let (from, to) = (win.from, win.to);
    let lane = 1.0 - side as f64;
    let name = if side == Side::Client as usize {
        "client "
    } else {
        "server "
    };
    chart.draw_series(std::iter::once(Text::new(
        name.to_string(),
        (from, lane + 0.5),
        text_style(12, HPos::Right, VPos::Center),
    )))?;
    for (j, &(t, st)) in states.iter().enumerate() {
        let next = states.get(j + 1).map_or(to, |n| n.0);
        if next < from || t > to {
            continue;
        }
        let (a, b) = (t.max(from), next.min(to));
        chart.draw_series(std::iter::once(Rectangle::new(
            [(a, lane + 0.1), (b, lane + 0.9)],
            state_colour(st).filled(),
        )))?;
        let px = (b - a) / (to - from) * win.plot_px;
        let label = st.to_string();
        if px > text_width(&label, 11.0) + 6.0 {
            chart.draw_series(std::iter::once(Text::new(
                label,
                ((a + b) / 2.0, lane + 0.5),
                text_style(11, HPos::Center, VPos::Center),
            )))?;
        }
    }
    Ok(())
}

/// The four byte series: (side, unsent rather than unacknowledged, colour, legend text).
const BYTE_SERIES: [(usize, bool, RGBColor, &str); 4] = [
    (0, false, RGBColor(31, 90, 180), "client unacknowledged"),
    (0, true, RGBColor(120, 170, 230), "client unsent"),
    (1, false, RGBColor(214, 39, 40), "server unacknowledged"),
    (1, true, RGBColor(240, 150, 150), "server unsent"),
];

/// Draws the senders' unacknowledged and unsent bytes (peak per pixel column) and their legend.
pub(super) fn draw_bytes_panel(
    scene: &Scene,
    lanes: &Lanes,
    area: &Area<'_>,
    legend_area: &Area<'_>,
) -> Result<(), PlotError> {
    let win = &scene.win;
    let ymax = (0..2)
        .flat_map(|s| {
            lanes.bytes[s]
                .iter()
                .filter(|p| win.contains(p.0))
                .map(|p| p.2.0.max(p.2.1))
        })
        .fold(1.0f64, f64::max)
        * 1.15;
    let mut chart = ChartBuilder::on(area)
        .margin_left(10)
        .margin_right(10)
        .x_label_area_size(30)
        .y_label_area_size(scene.y_label)
        .caption(
            "senders' unacknowledged and unsent bytes (peak per pixel)",
            ("sans-serif", 15),
        )
        .build_cartesian_2d(win.from..win.to, 0.0..ymax)?;
    time_mesh(&mut chart, "bytes")?;
    let mut legend = Legend::new();
    for (side, unsent, colour, label) in BYTE_SERIES {
        let p = peak_per_column(&lanes.bytes[side], unsent, win);
        if p.iter().all(|v| v.1 == 0.0) {
            continue;
        }
        chart.draw_series(LineSeries::new(steps(p), colour.stroke_width(2)))?;
        legend.push((Sample::Line(colour), label));
    }
    draw_legend(legend_area, &legend)
}

/// The peak of the unacknowledged (or `unsent`) bytes per pixel column, at the column's middle.
fn peak_per_column(
    points: &Thinned<(), Peaks<f64>>,
    unsent: bool,
    win: &Window,
) -> Vec<(f64, f64)> {
    let mut per_bin: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
    for (t, (), Peaks(un, us)) in points.iter().filter(|p| win.contains(p.0)) {
        let v = if unsent { us } else { un };
        let e = per_bin
            .entry(win.bin_of(t))
            .or_insert((win.bin_t(win.bin_of(t)), v));
        e.1 = e.1.max(v);
    }
    per_bin.into_values().collect()
}
