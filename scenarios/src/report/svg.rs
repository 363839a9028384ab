//! SVG charts written by hand: no JavaScript, no fonts to fetch, no system libraries.
//!
//! A [`Chart`] has a date x-axis (one slot per day from `start` to `end`), a linear y-axis
//! from 0 to a rounded maximum, vertical dashed markers at given days (the phase openings),
//! and a legend. Coordinates are printed with one decimal, so the same chart always gives the
//! same bytes.

use std::fmt::Write as _;

use time::Date;

/// How series are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    /// One polyline per series.
    Lines,
    /// One bar per day, series stacked in order.
    StackedBars,
}

/// A named series of (day, value) points; days outside the chart are skipped.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points, in any order (drawn sorted by day).
    pub points: Vec<(Date, f64)>,
}

/// A vertical marker (a phase opening).
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    /// The day the marker stands on.
    pub day: Date,
    /// Its label.
    pub label: String,
}

/// A chart with a date x-axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// Title above the plot.
    pub title: String,
    /// Y-axis label.
    pub y_label: String,
    /// Lines or stacked bars.
    pub kind: ChartKind,
    /// First day on the x-axis.
    pub start: Date,
    /// Last day on the x-axis (inclusive).
    pub end: Date,
    /// The data.
    pub series: Vec<Series>,
    /// Vertical markers.
    pub markers: Vec<Marker>,
}

/// A fixed palette (colour-blind-friendly first), cycled for more series.
const PALETTE: [&str; 17] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
    "#e6550d",
];

const WIDTH: f64 = 860.0;
const HEIGHT: f64 = 340.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 48.0;

/// Escapes text for SVG/HTML content and attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The smallest 1-2-5 × 10^k step giving at most 5 intervals up to `max`, and the rounded top.
fn nice_scale(max: f64) -> (f64, f64) {
    if !(max.is_finite() && max > 0.0) {
        return (1.0, 5.0);
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    (step, (max / step).ceil() * step)
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 1_000_000.0 {
        format!("{:.1}M", v / 1_000_000.0)
    } else if v.abs() >= 10_000.0 {
        format!("{:.0}k", v / 1_000.0)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

impl Chart {
    fn days(&self) -> i64 {
        (i64::from(self.end.to_julian_day()) - i64::from(self.start.to_julian_day()) + 1).max(1)
    }

    fn slot(&self, d: Date) -> Option<i64> {
        let i = i64::from(d.to_julian_day()) - i64::from(self.start.to_julian_day());
        (0..self.days()).contains(&i).then_some(i)
    }

    /// Renders the chart as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        let days = self.days();
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let slot_w = plot_w / days as f64;
        let x_mid = |i: i64| LEFT + (i as f64 + 0.5) * slot_w;

        // Points per series, sorted by day, restricted to the chart (non-finite values as 0).
        let series: Vec<Vec<(i64, f64)>> = self
            .series
            .iter()
            .map(|s| {
                let mut pts: Vec<(i64, f64)> = s
                    .points
                    .iter()
                    .filter_map(|(d, v)| {
                        self.slot(*d)
                            .map(|i| (i, if v.is_finite() { v.max(0.0) } else { 0.0 }))
                    })
                    .collect();
                pts.sort_by_key(|p| p.0);
                pts
            })
            .collect();
        let max = match self.kind {
            ChartKind::Lines => series.iter().flatten().map(|p| p.1).fold(0.0, f64::max),
            ChartKind::StackedBars => {
                let mut sums = std::collections::BTreeMap::<i64, f64>::new();
                for p in series.iter().flatten() {
                    *sums.entry(p.0).or_default() += p.1;
                }
                sums.values().copied().fold(0.0, f64::max)
            }
        };
        let (step, top) = nice_scale(max);
        let y = |v: f64| TOP + plot_h - v / top * plot_h;

        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">"#
        );
        let _ = write!(s, "\n<title>{}</title>", escape(&self.title));
        let _ = write!(
            s,
            "\n<rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#fff\"/>"
        );
        let _ = write!(
            s,
            "\n<text x=\"{LEFT}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}</text>",
            escape(&self.title)
        );
        // Y grid and labels.
        let mut v = 0.0;
        while v <= top + step / 2.0 {
            let yy = y(v);
            let _ = write!(
                s,
                "\n<line x1=\"{LEFT:.1}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                LEFT + plot_w,
                LEFT - 6.0,
                yy + 4.0,
                fmt_num(v)
            );
            v += step;
        }
        let _ = write!(
            s,
            "\n<text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            TOP + plot_h / 2.0,
            escape(&self.y_label)
        );
        // X ticks: weekly for short ranges, monthly otherwise.
        let weekly = days <= 62;
        for i in 0..days {
            let Some(d) = Date::from_julian_day(self.start.to_julian_day() + i as i32).ok() else {
                continue;
            };
            let tick = if weekly { i % 7 == 0 } else { d.day() == 1 };
            if !tick {
                continue;
            }
            let label = if weekly {
                format!("{:02}-{:02}", d.month() as u8, d.day())
            } else {
                format!("{:04}-{:02}", d.year(), d.month() as u8)
            };
            let xx = LEFT + i as f64 * slot_w;
            let _ = write!(
                s,
                "\n<line x1=\"{xx:.1}\" y1=\"{:.1}\" x2=\"{xx:.1}\" y2=\"{:.1}\" stroke=\"#999\"/><text x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
                TOP + plot_h,
                TOP + plot_h + 5.0,
                TOP + plot_h + 18.0
            );
        }
        let _ = write!(
            s,
            "\n<line x1=\"{LEFT:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>",
            TOP + plot_h,
            LEFT + plot_w,
            TOP + plot_h
        );
        // Data.
        match self.kind {
            ChartKind::Lines => {
                for (k, pts) in series.iter().enumerate() {
                    if pts.is_empty() {
                        continue;
                    }
                    let color = PALETTE[k % PALETTE.len()];
                    let coords: Vec<String> = pts
                        .iter()
                        .map(|(i, v)| format!("{:.1},{:.1}", x_mid(*i), y(*v)))
                        .collect();
                    let _ = write!(
                        s,
                        "\n<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>",
                        coords.join(" ")
                    );
                }
            }
            ChartKind::StackedBars => {
                let mut base = std::collections::BTreeMap::<i64, f64>::new();
                let bar_w = (slot_w * 0.8).max(0.5);
                for (k, pts) in series.iter().enumerate() {
                    let color = PALETTE[k % PALETTE.len()];
                    for (i, v) in pts {
                        if *v <= 0.0 {
                            continue;
                        }
                        let b = base.entry(*i).or_default();
                        let (y0, y1) = (y(*b), y(*b + v));
                        *b += v;
                        let _ = write!(
                            s,
                            "\n<rect x=\"{:.1}\" y=\"{y1:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\" fill=\"{color}\"/>",
                            x_mid(*i) - bar_w / 2.0,
                            y0 - y1
                        );
                    }
                }
            }
        }
        // Markers.
        for m in &self.markers {
            let Some(i) = self.slot(m.day) else { continue };
            let xx = LEFT + i as f64 * slot_w;
            let _ = write!(
                s,
                "\n<line x1=\"{xx:.1}\" y1=\"{TOP:.1}\" x2=\"{xx:.1}\" y2=\"{:.1}\" stroke=\"#444\" stroke-dasharray=\"4 3\"/><text transform=\"translate({:.1} {:.1}) rotate(-90)\" text-anchor=\"end\" fill=\"#444\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>",
                TOP + plot_h,
                xx - 3.0,
                TOP + 2.0,
                escape(&m.label)
            );
        }
        // Legend.
        for (k, ser) in self.series.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let ly = TOP + k as f64 * 16.0;
            let lx = LEFT + plot_w + 14.0;
            let _ = write!(
                s,
                "\n<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                ly,
                lx + 14.0,
                ly + 9.0,
                escape(&ser.name)
            );
        }
        s.push_str("\n</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn small() -> Chart {
        Chart {
            title: "Issuances <by route> & day".to_owned(),
            y_label: "issuances".to_owned(),
            kind: ChartKind::StackedBars,
            start: date!(2025 - 02 - 10),
            end: date!(2025 - 02 - 23),
            series: vec![
                Series {
                    name: "IC tap".to_owned(),
                    points: vec![(date!(2025 - 02 - 14), 30.0), (date!(2025 - 02 - 17), 12.0)],
                },
                Series {
                    name: "QR at desk".to_owned(),
                    points: vec![
                        (date!(2025 - 02 - 14), 10.0),
                        (date!(2025 - 02 - 17), 5.5),
                        (date!(2025 - 03 - 01), 99.0),
                    ],
                },
            ],
            markers: vec![Marker {
                day: date!(2025 - 02 - 14),
                label: "phase 1".to_owned(),
            }],
        }
    }

    #[test]
    fn small_stacked_bar_chart_snapshot() {
        insta::assert_snapshot!(small().to_svg());
    }

    #[test]
    fn small_line_chart_snapshot() {
        let mut c = small();
        c.kind = ChartKind::Lines;
        insta::assert_snapshot!(c.to_svg());
    }

    #[test]
    fn text_is_escaped_and_points_outside_the_range_are_dropped() {
        let svg = small().to_svg();
        assert!(svg.contains("Issuances &lt;by route&gt; &amp; day"));
        assert!(!svg.contains("<by route>"));
        // 40 is the tallest stack: the axis tops out at 40 with steps of 10, not at 99+.
        assert!(svg.contains(">40</text>") && !svg.contains(">100</text>"));
    }

    #[test]
    fn nice_scale_uses_one_two_five_steps() {
        assert_eq!(nice_scale(40.0), (10.0, 40.0));
        assert_eq!(nice_scale(41.0), (10.0, 50.0));
        assert_eq!(nice_scale(7.3), (2.0, 8.0));
        assert_eq!(nice_scale(0.0), (1.0, 5.0));
        assert_eq!(nice_scale(f64::NAN), (1.0, 5.0));
    }

    #[test]
    fn empty_and_degenerate_charts_still_render() {
        let mut c = small();
        c.series.clear();
        c.end = c.start;
        let svg = c.to_svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        c.end = date!(2000 - 01 - 01);
        assert!(c.to_svg().ends_with("</svg>\n"));
    }
}
