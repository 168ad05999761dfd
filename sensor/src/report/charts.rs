//! Charts as inline SVG: stacked bars over time from a [`Timeline`], and horizontal stacked
//! bars for counts by category. No script draws them, so they show even with scripts off.
//!
//! Every bar carries a `<title>` (the browser shows it on hover) and `data-count`, so a test
//! can check that the chart holds the numbers of the evidence. Colours come from a fixed
//! palette, or from a caller's choice per series (red for `unattributed`, …). A chart shows at
//! most [`MAX_SERIES_SHOWN`] series; the rest are summed into one "others" series, and the
//! legend says so.

use std::fmt::Write as _;

use super::html::{duration, esc, num, time};
use super::timeline::{Timeline, BUCKETS};

/// Series drawn separately; the rest are added up as "others".
pub const MAX_SERIES_SHOWN: usize = 8;

/// Colours for series with no chosen colour.
const PALETTE: [&str; 9] = [
    "#2563eb", "#0d9488", "#9333ea", "#ea580c", "#0891b2", "#65a30d", "#db2777", "#854d0e",
    "#64748b",
];

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 10.0;

/// The colour of a known attribution, delegation status or severity; `None` for other names.
pub fn known_colour(name: &str) -> Option<&'static str> {
    Some(match name {
        "attributed" | "delegated" | "info" => "#16a34a",
        "credential_only" | "low" => "#ca8a04",
        "network_only" | "medium" | "no_policy" => "#ea580c",
        "unattributed" | "high" | "undelegated" => "#dc2626",
        "critical" | "out_of_bounds" | "over_budget" | "expired" => "#7f1d1d",
        _ => return None,
    })
}

/// Stacked bars of `timeline` over its used range; empty text when it holds nothing.
pub fn time_bars(out: &mut String, id: &str, title: &str, timeline: &Timeline) {
    let Some((first, last)) = timeline.used_range() else {
        let _ = write!(out, "<p class=\"none\">No writes to chart.</p>");
        return;
    };
    let series = chosen_series(timeline);
    let bars = last - first + 1;
    let mut stacks = vec![0u64; BUCKETS];
    for (_, counts, _) in &series {
        for (i, n) in counts.iter().enumerate() {
            stacks[i] += n;
        }
    }
    let max = stacks.iter().copied().max().unwrap_or(1).max(1);
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / bars as f64;
    let bar_w = (slot * 0.8).max(1.0);

    let _ = write!(
        out,
        "<figure class=\"chart\"><svg id=\"{}\" role=\"img\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         aria-label=\"{}\" preserveAspectRatio=\"xMidYMid meet\">",
        esc(id),
        esc(title)
    );
    axes(out, max, plot_h);
    for (bar, index) in (first..=last).enumerate() {
        let x = LEFT + bar as f64 * slot + (slot - bar_w) / 2.0;
        let mut y = TOP + plot_h;
        let start = timeline.bucket_start(index);
        for (name, counts, colour) in &series {
            let n = counts[index];
            if n == 0 {
                continue;
            }
            let h = n as f64 / max as f64 * plot_h;
            y -= h;
            let _ = write!(
                out,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" \
                 height=\"{h:.1}\" fill=\"{colour}\" data-series=\"{}\" data-count=\"{n}\">\
                 <title>{} · {}: {}</title></rect>",
                esc(name),
                esc(&time(start)),
                esc(name),
                num(n)
            );
        }
    }
    let width = timeline.width_us();
    let _ = write!(
        out,
        "<text x=\"{LEFT}\" y=\"{}\" class=\"axis\">{}</text>\
         <text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"end\">{}</text></svg>",
        HEIGHT - 8.0,
        esc(&time(timeline.bucket_start(first))),
        WIDTH - 8.0,
        HEIGHT - 8.0,
        esc(&time(timeline.bucket_start(last + 1)))
    );
    let _ = write!(
        out,
        "<figcaption>{} <span class=\"muted\">(each bar: {})</span></figcaption>",
        esc(title),
        esc(&duration(width))
    );
    legend(
        out,
        series
            .iter()
            .map(|(name, counts, colour)| (name.as_str(), counts.iter().sum(), *colour)),
    );
    out.push_str("</figure>");
}

/// The series to draw: the largest [`MAX_SERIES_SHOWN`] by total, the rest summed.
fn chosen_series(timeline: &Timeline) -> Vec<(String, Vec<u64>, &'static str)> {
    let totals = timeline.totals();
    let mut chosen = Vec::new();
    let mut others = vec![0u64; BUCKETS];
    let mut others_count = 0;
    let mut palette = PALETTE.iter();

    for (i, (name, _)) in totals.iter().enumerate() {
        let counts = timeline.counts(name).unwrap_or_default();
        if i < MAX_SERIES_SHOWN {
            let colour = known_colour(name)
                .or_else(|| palette.next().copied())
                .unwrap_or("#64748b");
            chosen.push(((*name).to_owned(), counts.to_vec(), colour));
        } else {
            others_count += 1;
            for (sum, n) in others.iter_mut().zip(counts) {
                *sum += n;
            }
        }
    }
    if others_count > 0 {
        chosen.push((format!("{others_count} others"), others, "#94a3b8"));
    }
    chosen
}

fn axes(out: &mut String, max: u64, plot_h: f64) {
    let base = TOP + plot_h;
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" class=\"grid\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{}\" y2=\"{TOP}\" class=\"grid faint\"/>\
         <text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"end\">{}</text>\
         <text x=\"{}\" y=\"{base}\" class=\"axis\" text-anchor=\"end\">0</text>",
        WIDTH - 8.0,
        WIDTH - 8.0,
        LEFT - 6.0,
        TOP + 4.0,
        num(max),
        LEFT - 6.0,
    );
}

fn legend<'a>(out: &mut String, items: impl Iterator<Item = (&'a str, u64, &'a str)>) {
    out.push_str("<ul class=\"legend\">");
    for (name, total, colour) in items {
        let _ = write!(
            out,
            "<li><span class=\"swatch\" style=\"background:{colour}\"></span>{} \
             <b>{}</b></li>",
            esc(name),
            num(total)
        );
    }
    out.push_str("</ul>");
}

/// One row of a horizontal bar chart: a label and its counts per part (part name, count).
pub struct HBar {
    pub label: String,
    pub parts: Vec<(String, u64)>,
}

/// Horizontal stacked bars, one per row, coloured by part name ([`known_colour`]).
pub fn hbars(out: &mut String, id: &str, title: &str, rows: &[HBar]) {
    if rows.is_empty() {
        let _ = write!(out, "<p class=\"none\">Nothing to chart.</p>");
        return;
    }
    let label_w = 230.0;
    let row_h = 26.0;
    let height = rows.len() as f64 * row_h + 8.0;
    let max = rows
        .iter()
        .map(|r| r.parts.iter().map(|p| p.1).sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1);
    let plot_w = WIDTH - label_w - 60.0;

    let _ = write!(
        out,
        "<figure class=\"chart\"><svg id=\"{}\" role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" \
         aria-label=\"{}\">",
        esc(id),
        esc(title)
    );
    let mut parts_seen: Vec<(String, u64)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let y = 4.0 + i as f64 * row_h;
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" class=\"label\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            y + row_h / 2.0 + 4.0,
            esc(&row.label)
        );
        let mut x = label_w;
        let mut sum = 0;
        for (part, n) in &row.parts {
            if *n == 0 {
                continue;
            }
            let w = (*n as f64 / max as f64 * plot_w).max(1.5);
            let colour = known_colour(part).unwrap_or("#64748b");
            let _ = write!(
                out,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" \
                 fill=\"{colour}\" data-series=\"{}\" data-count=\"{n}\"><title>{} · {}: {}\
                 </title></rect>",
                y + 3.0,
                row_h - 8.0,
                esc(part),
                esc(&row.label),
                esc(part),
                num(*n)
            );
            x += w;
            sum += n;
            match parts_seen.iter_mut().find(|p| p.0 == *part) {
                Some(seen) => seen.1 += n,
                None => parts_seen.push((part.clone(), *n)),
            }
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{}\" class=\"value\">{}</text>",
            x + 6.0,
            y + row_h / 2.0 + 4.0,
            num(sum)
        );
    }
    let _ = write!(out, "</svg><figcaption>{}</figcaption>", esc(title));
    legend(
        out,
        parts_seen
            .iter()
            .map(|(name, n)| (name.as_str(), *n, known_colour(name).unwrap_or("#64748b"))),
    );
    out.push_str("</figure>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts_in(svg: &str) -> u64 {
        svg.split("data-count=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next()?.parse::<u64>().ok())
            .sum()
    }

    #[test]
    fn time_bars_hold_every_event_and_escape_names() {
        let mut timeline = Timeline::default();
        for i in 0..10 {
            timeline.add("<b>x</b>", i * 1_000_000);
        }
        for i in 0..12 {
            timeline.add(&format!("p{i}"), 5_000_000);
        }
        let mut svg = String::new();
        time_bars(&mut svg, "c", "Writes", &timeline);

        assert_eq!(counts_in(&svg), 22);
        assert!(svg.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(!svg.contains("<b>x"));
        // 13 series: 8 drawn, 5 summed as others.
        assert!(svg.contains("5 others"));
    }

    #[test]
    fn hbars_draw_one_rect_per_nonzero_part() {
        let rows = vec![
            HBar {
                label: "undelegated_write".into(),
                parts: vec![("high".into(), 14), ("low".into(), 0)],
            },
            HBar {
                label: "weak_security".into(),
                parts: vec![("medium".into(), 2)],
            },
        ];
        let mut svg = String::new();
        hbars(&mut svg, "a", "Alerts", &rows);

        assert_eq!(svg.matches("<rect").count(), 2);
        assert_eq!(counts_in(&svg), 16);
    }
}
