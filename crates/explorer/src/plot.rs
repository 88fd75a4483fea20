//! Small, dependency-free SVG plots: a scatter with limit lines and a histogram. Every point is
//! one `<circle class="pt">` and every bar one `<rect class="bar">`, each with a `<title>`, so the
//! plots read without JavaScript and tests can count what was drawn.

use std::fmt::Write as _;

const W: f64 = 420.0;
const H: f64 = 260.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 40.0;

/// A vertical or horizontal limit line.
#[derive(Debug, Clone)]
pub enum Limit {
    /// At this x.
    X(f64, String),
    /// At this y.
    Y(f64, String),
}

/// One point: coordinates and the text shown on hover.
#[derive(Debug, Clone)]
pub struct Point {
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
    /// Hover text.
    pub label: String,
}

fn esc(s: &str) -> String {
    crate::pages::esc(s)
}

fn nice_max(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * p {
            return m * p;
        }
    }
    10.0 * p
}

fn fmt_tick(v: f64) -> String {
    if v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn frame(
    svg: &mut String,
    id: &str,
    title: &str,
    x_label: &str,
    y_label: &str,
    xmax: f64,
    ymax: f64,
) {
    let _ = write!(
        svg,
        r##"<svg id="{id}" class="plot" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{t}"><title>{t}</title><rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#999"/>"##,
        t = esc(title),
        pw = W - LEFT - RIGHT,
        ph = H - TOP - BOTTOM,
    );
    for i in 0..=4 {
        let f = f64::from(i) / 4.0;
        let x = LEFT + f * (W - LEFT - RIGHT);
        let y = H - BOTTOM - f * (H - TOP - BOTTOM);
        let _ = write!(
            svg,
            r##"<text x="{x:.1}" y="{ty:.1}" font-size="10" text-anchor="middle">{}</text><text x="{tx:.1}" y="{y:.1}" font-size="10" text-anchor="end" dominant-baseline="middle">{}</text>"##,
            fmt_tick(f * xmax),
            fmt_tick(f * ymax),
            ty = H - BOTTOM + 14.0,
            tx = LEFT - 4.0,
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{cx:.1}" y="{by:.1}" font-size="11" text-anchor="middle">{}</text><text x="12" y="{cy:.1}" font-size="11" text-anchor="middle" transform="rotate(-90 12 {cy:.1})">{}</text>"##,
        esc(x_label),
        esc(y_label),
        cx = LEFT + (W - LEFT - RIGHT) / 2.0,
        by = H - 6.0,
        cy = TOP + (H - TOP - BOTTOM) / 2.0,
    );
}

/// A scatter plot of `points` with `limits` drawn as dashed red lines; the axes start at 0 and
/// reach past the largest point and limit.
pub fn scatter(
    id: &str,
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[Point],
    limits: &[Limit],
) -> String {
    let xmax = nice_max(
        points
            .iter()
            .map(|p| p.x)
            .chain(limits.iter().filter_map(|l| match l {
                Limit::X(v, _) => Some(*v),
                Limit::Y(..) => None,
            }))
            .fold(0.0, f64::max)
            * 1.1,
    );
    let ymax = nice_max(
        points
            .iter()
            .map(|p| p.y)
            .chain(limits.iter().filter_map(|l| match l {
                Limit::Y(v, _) => Some(*v),
                Limit::X(..) => None,
            }))
            .fold(0.0, f64::max)
            * 1.1,
    );
    let sx = |x: f64| LEFT + (x / xmax).clamp(0.0, 1.0) * (W - LEFT - RIGHT);
    let sy = |y: f64| H - BOTTOM - (y / ymax).clamp(0.0, 1.0) * (H - TOP - BOTTOM);
    let mut svg = String::new();
    frame(&mut svg, id, title, x_label, y_label, xmax, ymax);
    for l in limits {
        let (x1, y1, x2, y2, text) = match l {
            Limit::X(v, t) => (sx(*v), TOP, sx(*v), H - BOTTOM, t),
            Limit::Y(v, t) => (LEFT, sy(*v), W - RIGHT, sy(*v), t),
        };
        let _ = write!(
            svg,
            r##"<line class="limit" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#c00" stroke-dasharray="4 3"><title>{t}</title></line><text x="{tx:.1}" y="{ty:.1}" font-size="10" fill="#c00">{t}</text>"##,
            t = esc(text),
            tx = (x1 + 3.0).min(W - RIGHT - 60.0),
            ty = (y1 + 11.0).max(TOP + 11.0),
        );
    }
    for p in points {
        let _ = write!(
            svg,
            r##"<circle class="pt" cx="{:.1}" cy="{:.1}" r="4" fill="#1565c0" fill-opacity="0.7"><title>{}</title></circle>"##,
            sx(p.x),
            sy(p.y),
            esc(&p.label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A histogram of `values` in [0, 1] with `bins` equal bins (1.0 falls in the last one).
pub fn histogram(id: &str, title: &str, x_label: &str, values: &[f64], bins: usize) -> String {
    let bins = bins.max(1);
    let mut counts = vec![0usize; bins];
    for v in values {
        let i = ((v.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        counts[i] += 1;
    }
    let ymax = nice_max(counts.iter().copied().max().unwrap_or(0) as f64);
    let mut svg = String::new();
    frame(&mut svg, id, title, x_label, "items", 1.0, ymax);
    let bw = (W - LEFT - RIGHT) / bins as f64;
    for (i, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let h = n as f64 / ymax * (H - TOP - BOTTOM);
        let _ = write!(
            svg,
            r##"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="#2e7d32" fill-opacity="0.8"><title>{n} item(s) with score in [{:.2}, {:.2}{}</title></rect>"##,
            LEFT + i as f64 * bw + 1.0,
            H - BOTTOM - h,
            (bw - 2.0).max(1.0),
            i as f64 / bins as f64,
            (i + 1) as f64 / bins as f64,
            if i + 1 == bins { "]" } else { ")" },
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_circle_per_point_and_one_bar_per_nonempty_bin() {
        let pts: Vec<Point> = (0..5)
            .map(|i| Point {
                x: f64::from(i),
                y: f64::from(i) * 0.5,
                label: format!("leaf {i} <x>"),
            })
            .collect();
        let svg = scatter("s", "t", "x", "y", &pts, &[Limit::X(3.0, "limit".into())]);
        assert_eq!(svg.matches("<circle class=\"pt\"").count(), 5);
        assert_eq!(svg.matches("class=\"limit\"").count(), 1);
        assert!(svg.contains("leaf 4 &lt;x&gt;"), "labels are escaped");
        let h = histogram("h", "t", "score", &[0.0, 0.0, 1.0, 0.55], 10);
        assert_eq!(h.matches("<rect class=\"bar\"").count(), 3);
        assert!(h.contains("2 item(s) with score in [0.00, 0.10)"));
        assert!(h.contains("1 item(s) with score in [0.90, 1.00]"));
    }
}
