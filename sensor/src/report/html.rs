//! HTML building blocks: escaping, number and time formatting, tables, and the hash of the
//! inline script for the page's Content-Security-Policy.
//!
//! Every evidence value is attacker-controlled (a tag name, a user name, a certificate subject
//! come from the wire), so every piece of text reaches the page through [`esc`], which escapes
//! the five characters that matter in element content and quoted attribute values. Nothing
//! here puts evidence into a script, a style or an unquoted attribute.

use std::fmt::Write as _;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::DateTime;
use sha2::{Digest, Sha256};

/// Escapes text for element content and double- or single-quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `12 345 678`, with thin spaces between groups of three digits.
pub fn num(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(d);
    }
    out
}

/// `2026-12-03 19:17:28.507 UTC`; the raw number when chrono cannot represent it.
pub fn time(ts_us: i64) -> String {
    DateTime::from_timestamp_micros(ts_us).map_or_else(
        || format!("{ts_us} µs"),
        |t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string(),
    )
}

/// A duration in µs as a person says it: `250 ms`, `4.2 s`, `3 min`, `2.5 h`, `12 d`.
pub fn duration(us: i64) -> String {
    let s = us as f64 / 1e6;
    if s < 1.0 {
        format!("{} ms", (us as f64 / 1e3).round())
    } else if s < 120.0 {
        format!("{s:.1} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.0} d", s / 86_400.0)
    }
}

/// `'sha256-…'`, the CSP source that allows exactly this inline script or style.
pub fn csp_hash(content: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(content.as_bytes()))
    )
}

/// One table cell: text, an optional sort key and an optional CSS class.
#[derive(Clone, Debug, Default)]
pub struct Cell {
    pub text: String,
    pub sort: Option<String>,
    pub class: Option<&'static str>,
    /// Longer text than shown, for the hover title (already cut to [`TITLE_CHARS`]).
    pub title: Option<String>,
}

/// Characters a cell shows before it is cut (the full text, up to [`TITLE_CHARS`], is its
/// hover title).
pub const CELL_CHARS: usize = 64;

/// Characters kept in a cell's hover title.
pub const TITLE_CHARS: usize = 400;

/// `text` cut to `max` characters, with `…` when something was cut.
pub fn cut(text: &str, max: usize) -> (String, bool) {
    match text.char_indices().nth(max) {
        Some((end, _)) => (format!("{}…", &text[..end]), true),
        None => (text.to_owned(), false),
    }
}

impl Cell {
    /// Monospaced text cut to [`CELL_CHARS`] (values, which may be long arrays).
    pub fn long(text: &str) -> Cell {
        let (shown, was_cut) = cut(text, CELL_CHARS);
        Cell {
            text: shown,
            sort: None,
            class: Some("mono"),
            title: was_cut.then(|| cut(text, TITLE_CHARS).0),
        }
    }

    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            ..Cell::default()
        }
    }

    pub fn number(n: u64) -> Cell {
        Cell {
            text: num(n),
            sort: Some(n.to_string()),
            class: Some("n"),
            title: None,
        }
    }

    pub fn time(ts_us: i64) -> Cell {
        Cell {
            text: time(ts_us),
            sort: Some(ts_us.to_string()),
            class: Some("t"),
            title: None,
        }
    }

    /// Text shown as a coloured badge (`class` picks the colour).
    pub fn badge(text: impl Into<String>, class: &'static str) -> Cell {
        Cell {
            text: text.into(),
            sort: None,
            class: Some(class),
            title: None,
        }
    }

    /// Monospaced text (hashes, fingerprints, targets).
    pub fn code(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            sort: None,
            class: Some("mono"),
            title: None,
        }
    }
}

/// A table: an id (for the filter box and tests), headers, rows, and how many rows exist in
/// all, so the page says how many it does not show.
pub struct Table<'a> {
    pub id: &'a str,
    pub caption: &'a str,
    pub headers: &'a [&'a str],
    pub rows: Vec<Vec<Cell>>,
    pub total: u64,
    /// Sortable headers and a filter box.
    pub interactive: bool,
}

impl Table<'_> {
    pub fn render(&self, out: &mut String) {
        let shown = self.rows.len() as u64;
        let id = esc(self.id);

        if self.interactive && shown > 1 {
            let _ = write!(
                out,
                "<div class=\"tools\"><input type=\"search\" class=\"filter\" \
                 data-table=\"{id}\" placeholder=\"Filter these rows…\" \
                 aria-label=\"Filter {caption}\"><span class=\"count\" \
                 id=\"{id}-count\"></span></div>",
                caption = esc(self.caption)
            );
        }
        let class = if self.interactive {
            "data sortable"
        } else {
            "data"
        };
        let _ = write!(
            out,
            "<div class=\"scroll\"><table id=\"{id}\" class=\"{class}\">\
             <caption>{}</caption><thead><tr>",
            esc(self.caption)
        );
        for header in self.headers {
            let _ = write!(out, "<th scope=\"col\">{}</th>", esc(header));
        }
        out.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            out.push_str("<tr>");
            for cell in row {
                out.push_str("<td");
                if let Some(class) = cell.class {
                    let _ = write!(out, " class=\"{class}\"");
                }
                if let Some(title) = &cell.title {
                    let _ = write!(out, " title=\"{}\"", esc(title));
                }
                if let Some(sort) = &cell.sort {
                    let _ = write!(out, " data-sort=\"{}\"", esc(sort));
                }
                let _ = write!(out, ">{}</td>", esc(&cell.text));
            }
            out.push_str("</tr>");
        }
        if self.rows.is_empty() {
            let _ = write!(
                out,
                "<tr><td colspan=\"{}\" class=\"none\">None in the evidence.</td></tr>",
                self.headers.len()
            );
        }
        out.push_str("</tbody></table></div>");
        if self.total > shown {
            let _ = write!(
                out,
                "<p class=\"more\">{} more not shown (the first {} are listed; the Parquet \
                 tables hold them all).</p>",
                num(self.total - shown),
                num(shown)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
        assert_eq!(esc("Line1.SP ✓"), "Line1.SP ✓");
    }

    #[test]
    fn numbers_times_and_durations_read_well() {
        assert_eq!(num(0), "0");
        assert_eq!(num(999), "999");
        assert_eq!(num(1234567), "1\u{2009}234\u{2009}567");
        assert_eq!(time(1_796_325_448_507_310), "2026-12-03 19:17:28.507 UTC");
        assert_eq!(duration(250_000), "250 ms");
        assert_eq!(duration(4_475_561), "4.5 s");
        assert_eq!(duration(3 * 86_400_000_000), "3 d");
    }

    #[test]
    fn tables_escape_cells_and_state_what_is_not_shown() {
        let table = Table {
            id: "t1",
            caption: "Writes",
            headers: &["target"],
            rows: vec![vec![Cell::text("<img src=x onerror=alert(1)>")]],
            total: 3,
            interactive: true,
        };
        let mut out = String::new();
        table.render(&mut out);

        assert!(out.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(!out.contains("<img"));
        assert!(out.contains("2 more not shown"));
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let value = "é".repeat(CELL_CHARS + 10);
        let cell = Cell::long(&value);

        assert_eq!(cell.text.chars().count(), CELL_CHARS + 1);
        assert!(cell.text.ends_with('…'));
        assert_eq!(cell.title.as_deref(), Some(value.as_str()));
        assert_eq!(Cell::long("short").title, None);
    }
}
