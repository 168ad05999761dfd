//! Target patterns of a delegation, compiled once when the file is loaded.
//!
//! A pattern is one of:
//! - a **glob**, when it holds a `*`: `*` matches any run of characters (including none) and
//!   everything else matches itself, over the whole target; the same language as
//!   [`crate::identity::wildcard_match`], compiled so that matching never allocates;
//! - an **address range**, when it has no `*` and reads as one of the range forms below: it
//!   covers every target range of the same address space that lies inside it;
//! - otherwise a **literal**, which matches exactly that text.
//!
//! Range forms (the spellings the dissectors render, DESIGN.md and `fixtures-pcap/README.md`):
//! - Modbus `unit U coil|discrete|input|holding A` or `… A..E`, and `unit U file F record R` or
//!   `… R..E`, compared by address within the same unit, table and file;
//! - S7 addresses, compared as bit ranges within the same area: `DB1.DBX4.3` is bit 35 of DB1,
//!   `DB1.DBB4` bits 32..39, `DB1.DBW4` bytes 4..5, `DB1.DBD0` bytes 0..3, `DB2.DBB100..544`
//!   bytes 100 to 544; the same with `I`, `Q`, `M` (`M10.2`, `MB10`, `MW20`, `QD0`, `MB0..9`);
//! - CIP tag elements `@tag NAME[e]` and `@tag NAME[e..f]`, compared by element within the
//!   same tag name. `@tag NAME` without brackets is a literal: it does not cover its elements.
//!
//! Anything else that looks almost like a range (`unit 1 holding 10..2`, `M10` without a bit,
//! `DB1.DBW4..9`, `@tag T[1,2]`) is a literal, so a typo makes a grant narrower, never wider.
//! Splitting a Modbus FC 21 target into its `; `-separated parts is the checker's job: this
//! module matches one part at a time.
//!
//! Each match reports a [`Specificity`], so that the checker can prefer the narrowest grant.

/// How narrowly a pattern matched a target; smaller is more specific.
///
/// Literals and ranges (no `*`) come first, ordered by how many addresses, bits or elements they
/// span (a literal spans one); globs come after, the more literal characters the narrower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Specificity {
    /// 0 for literals and ranges, 1 for globs.
    rank: u8,
    /// Span width for rank 0; `u64::MAX` minus the literal length for rank 1.
    measure: u64,
}

impl Specificity {
    /// The least specific value: what a bare `*` scores.
    pub const WIDEST: Specificity = Specificity {
        rank: 1,
        measure: u64::MAX,
    };

    fn span(width: u64) -> Specificity {
        Specificity {
            rank: 0,
            measure: width,
        }
    }

    fn glob(literal_len: usize) -> Specificity {
        let literal = u64::try_from(literal_len).unwrap_or(u64::MAX);
        Specificity {
            rank: 1,
            measure: u64::MAX - literal,
        }
    }
}

/// A Modbus data table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Table {
    Coil,
    Discrete,
    Input,
    Holding,
}

/// An S7 memory area whose addresses are bytes and bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Area {
    Db(u64),
    Inputs,
    Outputs,
    Flags,
}

/// The address space a range lives in; ranges only compare within one space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Space<S> {
    Modbus {
        unit: u64,
        table: Table,
    },
    ModbusFile {
        unit: u64,
        file: u64,
    },
    /// Offsets are bits.
    S7(Area),
    /// The text before `[`, `@tag ` included.
    Tag(S),
}

/// An inclusive run of addresses (registers, coils, records, bits, elements) in one space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span<S> {
    space: Space<S>,
    first: u64,
    last: u64,
}

impl<S> Span<S> {
    fn width(&self) -> u64 {
        self.last.saturating_sub(self.first).saturating_add(1)
    }
}

/// A target as the checker sees it: its text and, when it reads as a range, that range.
/// Parsed once per write (per part), then compared with every candidate pattern.
#[derive(Clone, Copy, Debug)]
pub struct TargetView<'t> {
    text: &'t str,
    span: Option<Span<&'t str>>,
}

impl<'t> TargetView<'t> {
    pub fn new(text: &'t str) -> TargetView<'t> {
        TargetView {
            text,
            span: parse_span(text),
        }
    }
}

#[derive(Clone, Debug)]
enum Matcher {
    Literal,
    Span(Span<Box<str>>),
    /// With the number of bytes that are not `*`.
    Glob(usize),
}

/// One compiled target pattern of a grant.
#[derive(Clone, Debug)]
pub struct TargetPattern {
    text: Box<str>,
    matcher: Matcher,
}

impl TargetPattern {
    /// Compiles `text`; never fails, since whatever is not a glob or a range is a literal.
    pub fn new(text: &str) -> TargetPattern {
        let matcher = if text.contains('*') {
            Matcher::Glob(text.bytes().filter(|&b| b != b'*').count())
        } else if let Some(span) = parse_span(text) {
            Matcher::Span(Span {
                space: match span.space {
                    Space::Modbus { unit, table } => Space::Modbus { unit, table },
                    Space::ModbusFile { unit, file } => Space::ModbusFile { unit, file },
                    Space::S7(area) => Space::S7(area),
                    Space::Tag(name) => Space::Tag(Box::from(name)),
                },
                first: span.first,
                last: span.last,
            })
        } else {
            Matcher::Literal
        };
        TargetPattern {
            text: Box::from(text),
            matcher,
        }
    }

    /// The pattern as the operator wrote it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether this pattern is a range (as opposed to a glob or a literal).
    pub fn is_range(&self) -> bool {
        matches!(self.matcher, Matcher::Span(_))
    }

    /// Whether this pattern covers `target`, and how specifically.
    pub fn covers(&self, target: &TargetView<'_>) -> Option<Specificity> {
        match &self.matcher {
            Matcher::Literal => (*self.text == *target.text).then(|| Specificity::span(1)),
            Matcher::Glob(literal) => {
                glob_match(&self.text, target.text).then(|| Specificity::glob(*literal))
            }
            Matcher::Span(mine) => {
                let theirs = target.span.as_ref()?;
                let same_space = match (&mine.space, &theirs.space) {
                    (Space::Tag(a), Space::Tag(b)) => **a == **b,
                    (Space::Modbus { unit, table }, Space::Modbus { unit: u, table: t }) => {
                        unit == u && table == t
                    }
                    (Space::ModbusFile { unit, file }, Space::ModbusFile { unit: u, file: f }) => {
                        unit == u && file == f
                    }
                    (Space::S7(a), Space::S7(b)) => a == b,
                    _ => false,
                };
                let inside = mine.first <= theirs.first && theirs.last <= mine.last;
                (same_space && inside).then(|| Specificity::span(mine.width()))
            }
        }
    }
}

/// `*` matches any run of characters (none included); the rest must match exactly. Same
/// answers as [`crate::identity::wildcard_match`], without allocating: the first and last
/// pieces anchor the ends and each middle piece is found leftmost, which is optimal for `*`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let Some((head, last)) = pattern.rsplit_once('*') else {
        return pattern == text;
    };
    let (first, middle) = head.split_once('*').unwrap_or((head, ""));

    let Some(rest) = text.strip_prefix(first) else {
        return false;
    };
    let Some(mut rest) = rest.strip_suffix(last) else {
        return false;
    };

    for piece in middle.split('*').filter(|p| !p.is_empty()) {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// Reads `text` as one of the range forms of the module doc.
fn parse_span(text: &str) -> Option<Span<&str>> {
    if let Some(rest) = text.strip_prefix("unit ") {
        return parse_modbus(rest);
    }
    if text.starts_with("@tag ") {
        return parse_tag(text);
    }
    parse_s7(text)
}

/// `U TABLE A[..E]` or `U file F record R[..E]` (after `unit `).
fn parse_modbus(text: &str) -> Option<Span<&'static str>> {
    let mut words = text.split(' ');
    let unit = decimal(words.next()?)?;
    let kind = words.next()?;

    let space = if kind == "file" {
        let file = decimal(words.next()?)?;
        if words.next()? != "record" {
            return None;
        }
        Space::ModbusFile { unit, file }
    } else {
        let table = match kind {
            "coil" => Table::Coil,
            "discrete" => Table::Discrete,
            "input" => Table::Input,
            "holding" => Table::Holding,
            _ => return None,
        };
        Space::Modbus { unit, table }
    };

    let (first, last) = range(words.next()?)?;
    if words.next().is_some() {
        return None;
    }
    Some(Span { space, first, last })
}

/// `@tag NAME[e]` or `@tag NAME[e..f]`.
fn parse_tag(text: &str) -> Option<Span<&str>> {
    let inner = text.strip_suffix(']')?;
    let (name, index) = inner.rsplit_once('[')?;
    if name.len() <= "@tag ".len() || name.contains(['[', ']']) {
        return None;
    }
    let (first, last) = range(index)?;
    Some(Span {
        space: Space::Tag(name),
        first,
        last,
    })
}

/// `DBn.DBXb.i`, `DBn.DB{B,W,D}b`, `DBn.DBBb..e`, and the same for areas `I`, `Q`, `M`
/// (`M10.2`, `MB10`, `MW20`, `MD0`, `MB0..9`). Offsets of the result are bits.
fn parse_s7(text: &str) -> Option<Span<&'static str>> {
    let (area, rest) = if let Some(db) = text.strip_prefix("DB") {
        let (number, rest) = db.split_once(".DB")?;
        (Area::Db(decimal(number)?), rest)
    } else {
        let mut chars = text.chars();
        let area = match chars.next()? {
            'I' => Area::Inputs,
            'Q' => Area::Outputs,
            'M' => Area::Flags,
            _ => return None,
        };
        (area, chars.as_str())
    };

    // The size letter: X (or none outside a DB) is a bit address, B/W/D a byte run.
    let (size, rest) = match rest.as_bytes().first()? {
        b'X' => (0, &rest[1..]),
        b'B' => (1, &rest[1..]),
        b'W' => (2, &rest[1..]),
        b'D' => (4, &rest[1..]),
        b'0'..=b'9' if !matches!(area, Area::Db(_)) => (0, rest),
        _ => return None,
    };

    let (first, last) = if size == 0 {
        let (byte, bit) = rest.split_once('.')?;
        let bit = decimal(bit)?;
        if bit > 7 {
            return None;
        }
        let at = decimal(byte)?.checked_mul(8)?.checked_add(bit)?;
        (at, at)
    } else if let Some((from, to)) = rest.split_once("..") {
        // Only byte runs (DBB, MB, …) are written as ranges.
        if size != 1 {
            return None;
        }
        let (from, to) = (decimal(from)?, decimal(to)?);
        if to < from {
            return None;
        }
        (from.checked_mul(8)?, to.checked_mul(8)?.checked_add(7)?)
    } else {
        let byte = decimal(rest)?;
        let first = byte.checked_mul(8)?;
        (first, first.checked_add(size * 8 - 1)?)
    };
    Some(Span {
        space: Space::S7(area),
        first,
        last,
    })
}

/// `A` or `A..E` with `A <= E`.
fn range(text: &str) -> Option<(u64, u64)> {
    let (first, last) = match text.split_once("..") {
        Some((a, e)) => (decimal(a)?, decimal(e)?),
        None => {
            let a = decimal(text)?;
            (a, a)
        }
    };
    (first <= last).then_some((first, last))
}

/// A plain decimal number: digits only, no sign, no spaces.
fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::wildcard_match;

    fn covers(pattern: &str, target: &str) -> bool {
        TargetPattern::new(pattern)
            .covers(&TargetView::new(target))
            .is_some()
    }

    fn width(pattern: &str, target: &str) -> Option<Specificity> {
        TargetPattern::new(pattern).covers(&TargetView::new(target))
    }

    #[test]
    fn modbus_ranges_cover_ranges_inside_them() {
        let p = "unit 1 holding 0..199";
        assert!(covers(p, "unit 1 holding 10..20"));
        assert!(covers(p, "unit 1 holding 7"));
        assert!(covers(p, "unit 1 holding 0..199"));
        assert!(covers(p, "unit 1 holding 199"));
        assert!(!covers(p, "unit 1 holding 190..210"), "overlapping");
        assert!(!covers(p, "unit 1 holding 200"), "outside");
        assert!(!covers(p, "unit 2 holding 7"), "other unit");
        assert!(!covers(p, "unit 1 coil 7"), "other table");
        assert!(!covers(p, "unit 1 holding malformed"));

        assert!(covers("unit 1 coil 0..1999", "unit 1 coil 7"));
        assert!(covers("unit 1 coil 0..1999", "unit 1 coil 0..1967"));
        assert!(!covers("unit 1 coil 0..1999", "unit 1 coil 3990..4009"));
        assert!(covers("unit 1 holding 400", "unit 1 holding 400"));
        assert!(!covers("unit 1 holding 400", "unit 1 holding 400..401"));
    }

    #[test]
    fn modbus_file_records_compare_within_one_file() {
        let p = "unit 1 file 2 record 0..99";
        assert!(covers(p, "unit 1 file 2 record 10..13"));
        assert!(covers(p, "unit 1 file 2 record 5"));
        assert!(!covers(p, "unit 1 file 1 record 5"));
        assert!(!covers(p, "unit 1 file 2 record 90..100"));
    }

    #[test]
    fn s7_addresses_nest_as_bit_ranges() {
        // Byte, word and double word inside a DB byte run.
        assert!(covers("DB1.DBB0..99", "DB1.DBW4"));
        assert!(covers("DB1.DBB0..99", "DB1.DBD96"));
        assert!(
            !covers("DB1.DBB0..99", "DB1.DBD98"),
            "bytes 98..101 overlap the end"
        );
        assert!(!covers("DB1.DBB0..99", "DB2.DBW4"), "other DB");

        // Bit inside byte inside word inside double word, and not the other way round.
        assert!(covers("DB1.DBB4", "DB1.DBX4.3"));
        assert!(covers("DB1.DBW4", "DB1.DBB5"));
        assert!(covers("DB1.DBD4", "DB1.DBW6"));
        assert!(!covers("DB1.DBW4", "DB1.DBD4"));
        assert!(!covers("DB1.DBX4.3", "DB1.DBB4"));
        assert!(covers("DB1.DBX4.3", "DB1.DBX4.3"));
        assert!(!covers("DB1.DBX4.3", "DB1.DBX4.4"));

        // Flags, outputs, inputs.
        assert!(covers("MB10", "M10.2"));
        assert!(!covers("MB10", "M11.0"));
        assert!(covers("QB0", "Q0.0"));
        assert!(covers("MW20", "MW20"));
        assert!(covers("MB0..9", "MD4"));
        assert!(!covers("MB0..9", "QB4"), "other area");
        assert!(!covers("IB0", "MB0"), "other area");
        assert!(covers("DB2.DBB100..544", "DB2.DBB100..544"));
        assert!(!covers("DB2.DBB100..544", "DB2.DBB545..699"));
    }

    #[test]
    fn almost_ranges_are_literals() {
        for text in [
            "unit 1 holding 10..2",
            "M10",
            "DB1.DBW4..9",
            "DB1.DBX4.8",
            "@tag T[1,2]",
            "@tag [3]",
            "unit 1 holding 07x",
            "T5",
            "cpu",
        ] {
            assert!(!TargetPattern::new(text).is_range(), "{text}");
            assert!(covers(text, text), "{text} matches itself");
        }
        assert!(!covers("M10", "M10.2"));
    }

    #[test]
    fn cip_element_ranges() {
        assert!(covers("@tag Tags[0..9]", "@tag Tags[3]"));
        assert!(covers("@tag Tags[0..9]", "@tag Tags[0..4]"));
        assert!(!covers("@tag Tags[0..9]", "@tag Tags[5..10]"));
        assert!(!covers("@tag Tags[0..9]", "@tag Tags[10]"));
        assert!(!covers("@tag Tags[0..9]", "@tag Tags2[3]"));
        assert!(!covers("@tag Tags[0..9]", "@tag Tags"));
        assert!(
            !covers("@tag Tags", "@tag Tags[0]"),
            "a bare tag is a literal"
        );
        assert!(covers("@tag Prog.Arr[5]", "@tag Prog.Arr[5]"));
        // A glob is not a range.
        assert!(covers("@tag Tags[*", "@tag Tags[0..4]"));
        assert!(!covers("@tag Tags[*", "@tag Big[0..999]"));
    }

    #[test]
    fn globs_agree_with_wildcard_match() {
        let patterns = [
            "*",
            "**",
            "a*",
            "*a",
            "a*b",
            "a*b*c",
            "*b*",
            "ns=2;s=Line1.*",
            "a**b",
            "ab*ba",
            "x",
            "",
            "*ä*",
            "ä*ö",
        ];
        let texts = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "aba",
            "abba",
            "a-b-b-c",
            "a-b-c",
            "abc",
            "ns=2;s=Line1.SP",
            "ns=2;s=Line10",
            "ä",
            "äxö",
            "öä",
        ];
        for p in patterns {
            for t in texts {
                assert_eq!(glob_match(p, t), wildcard_match(p, t), "{p:?} vs {t:?}");
            }
        }
    }

    #[test]
    fn specificity_prefers_narrow_literals_then_long_globs() {
        let target = "unit 1 holding 7";
        let one = width("unit 1 holding 7", target).unwrap();
        let ten = width("unit 1 holding 0..9", target).unwrap();
        let many = width("unit 1 holding 0..199", target).unwrap();
        let glob = width("unit 1 holding *", target).unwrap();
        let star = width("*", target).unwrap();
        assert!(one < ten && ten < many && many < glob && glob < star);
        assert_eq!(star, Specificity::WIDEST);

        let exact = width("ns=2;s=Oven.SP", "ns=2;s=Oven.SP").unwrap();
        let oven = width("ns=2;s=Oven.*", "ns=2;s=Oven.SP").unwrap();
        let ns = width("ns=2;*", "ns=2;s=Oven.SP").unwrap();
        assert!(exact < oven && oven < ns);

        let bit = width("DB1.DBX4.3", "DB1.DBX4.3").unwrap();
        let byte = width("DB1.DBB4", "DB1.DBX4.3").unwrap();
        assert!(bit < byte);
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        assert!(!covers("DB1.DBB0..99", "DB1.DBW99999999999999999999"));
        assert!(covers(
            "unit 1 holding 0..18446744073709551615",
            "unit 1 holding 18446744073709551615"
        ));
        assert!(!TargetPattern::new("MB0..2305843009213693952").is_range());
        assert!(!TargetPattern::new("M2305843009213693952.0").is_range());
    }
}
