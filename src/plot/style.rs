//! How things look: colours of segment kinds, lines and TCP states, legends, the time axes, text
//! styles.
//!
//! Guarantees: fixed colours and the generic `sans-serif` family only (no system font named), so
//! the SVG does not depend on the machine.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::PlotError;
use super::extract::Kind;
use crate::trace::TcpState;

/// A drawing area of the SVG picture.
pub(super) type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;

/// A chart with numbers on both axes (in the timeline: seconds on x).
pub(super) type F64Chart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The ACK line.
pub(super) const ACK: RGBColor = RGBColor(44, 160, 44);
/// The receive-window line.
pub(super) const WINDOW: RGBColor = RGBColor(255, 160, 30);
/// The link-down band.
pub(super) const OUTAGE: RGBColor = RGBColor(255, 205, 205);
/// The findings' dashed lines.
pub(super) const FINDING: RGBColor = RGBColor(90, 90, 90);

/// A segment kind's colour and legend text.
pub(super) fn kind_style(k: Kind) -> (RGBColor, &'static str) {
    match k {
        Kind::New => (RGBColor(31, 90, 180), "data"),
        Kind::Retransmission => (RGBColor(214, 39, 40), "retransmission"),
        Kind::Dropped => (RGBColor(120, 120, 120), "dropped (where sent)"),
        Kind::Held => (RGBColor(148, 103, 189), "held (where sent)"),
        Kind::Fin => (RGBColor(0, 140, 70), "FIN"),
        Kind::Rst => (RGBColor(0, 0, 0), "RST"),
    }
}

/// A TCP state's colour in the state lanes.
pub(super) fn state_colour(s: TcpState) -> RGBColor {
    match s {
        TcpState::Established => RGBColor(168, 220, 168),
        TcpState::CloseWait => RGBColor(255, 200, 120),
        TcpState::FinWait1 | TcpState::FinWait2 | TcpState::Closing | TcpState::LastAck => {
            RGBColor(255, 235, 140)
        }
        TcpState::TimeWait => RGBColor(200, 200, 240),
        TcpState::SynSent | TcpState::SynReceived | TcpState::Listen => RGBColor(210, 230, 250),
        TcpState::Closed => RGBColor(225, 225, 225),
    }
}

/// Sans-serif text of `size` px, anchored at `h` and `v`.
pub(super) fn text_style(size: u32, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle::from(("sans-serif", size).into_font()).pos(Pos::new(h, v))
}

/// One legend entry: how to draw its sample, and its text.
#[derive(Clone, Copy)]
pub(super) enum Sample {
    /// A horizontal line.
    Line(RGBColor),
    /// A vertical bar.
    Bar(RGBColor),
    /// A cross marker.
    Cross(RGBColor),
    /// A circle marker.
    Circle(RGBColor),
    /// A filled triangle marker.
    Triangle(RGBColor),
    /// A filled band.
    Band(RGBColor),
}

/// A panel's legend, in drawing order.
pub(super) type Legend = Vec<(Sample, &'static str)>;

/// Draws a legend entry's sample centred at height `y`, `x` from the left.
fn draw_sample(area: &Area<'_>, sample: Sample, x: i32, y: i32) -> Result<(), PlotError> {
    match sample {
        Sample::Line(c) => area.draw(&PathElement::new(
            vec![(x, y), (x + 18, y)],
            c.stroke_width(2),
        )),
        Sample::Bar(c) => area.draw(&PathElement::new(
            vec![(x + 9, y - 6), (x + 9, y + 6)],
            c.stroke_width(3),
        )),
        Sample::Cross(c) => area.draw(&Cross::new((x + 9, y), 4, c.stroke_width(2))),
        Sample::Circle(c) => area.draw(&Circle::new((x + 9, y), 4, c.stroke_width(2))),
        Sample::Triangle(c) => area.draw(&TriangleMarker::new((x + 9, y), 6, c.filled())),
        Sample::Band(c) => area.draw(&Rectangle::new([(x, y - 6), (x + 18, y + 6)], c.filled())),
    }?;
    Ok(())
}

/// Draws a legend in its own area (to the right of a chart), one entry per line.
pub(super) fn draw_legend(area: &Area<'_>, items: &[(Sample, &str)]) -> Result<(), PlotError> {
    for (i, (sample, label)) in items.iter().enumerate() {
        let y = 40 + 18 * i as i32;
        let x = 8;
        draw_sample(area, *sample, x, y)?;
        area.draw(&Text::new(
            label.to_string(),
            (x + 26, y),
            text_style(12, HPos::Left, VPos::Center),
        ))?;
    }
    Ok(())
}

/// The grid and axes shared by every panel over time: seconds on x, `y_desc` on y.
pub(super) fn time_mesh(chart: &mut F64Chart<'_, '_>, y_desc: &str) -> Result<(), PlotError> {
    chart
        .configure_mesh()
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(220, 220, 220))
        .x_desc("time (s)")
        .y_desc(y_desc)
        .y_label_formatter(&|v| format!("{:.0}", v))
        .x_label_formatter(&|v| format!("{:.2}", v))
        .label_style(("sans-serif", 12))
        .draw()?;
    Ok(())
}
