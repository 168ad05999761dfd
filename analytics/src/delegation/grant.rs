//! The delegations file: parsing, validation and the index the checker looks grants up in.
//!
//! [`Delegations::parse`] reads the operator's `[[delegation]]` tables (format in DESIGN.md)
//! and refuses the whole file, with file, line and column, at the first problem: an unknown
//! key, a missing or mistyped one, a repeated id, an empty id, principal or approver, a
//! protocol or category that is not one of the evidence spellings, a server that is not an IP
//! address, an empty `targets`, `categories` or `servers` list, a window that is not a
//! datetime with an offset or does not end after it begins, `value_min` above `value_max`, a
//! NaN bound, or a `max_writes` below 1. A half-understood policy would mark writes delegated
//! that nobody approved, so nothing is skipped or guessed.
//!
//! Windows are converted to UTC microseconds, whatever offset they were written in; digits
//! beyond the microsecond are truncated, as TOML allows. Grants are indexed by principal, then
//! protocol, then server address (plus a list of grants for any server), so the checker only
//! looks at the grants that could apply to a write.
//!
//! This module does not decide anything about writes: that is [`super::checker`]'s job.

use std::net::IpAddr;
use std::ops::Range;

use chrono::NaiveDate;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use toml::value::{Datetime, Offset};
use toml::Spanned;

use super::target::TargetPattern;
use crate::evidence::{Category, Protocol};
use crate::identity::line_column;

/// A refused delegations file: where and why. Displays as `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct DelegationError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A set of categories, as a bit per [`Category`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CategorySet(u8);

impl CategorySet {
    fn bit(category: Category) -> u8 {
        match category {
            Category::Write => 1,
            Category::Control => 2,
            Category::Program => 4,
            Category::Config => 8,
        }
    }

    pub fn insert(&mut self, category: Category) {
        self.0 |= Self::bit(category);
    }

    pub fn contains(self, category: Category) -> bool {
        self.0 & Self::bit(category) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// One validated grant.
#[derive(Clone, Debug)]
pub struct Grant {
    pub id: String,
    pub principal: String,
    pub approved_by: String,
    /// Start of the window, inclusive, UTC microseconds since the Unix epoch.
    pub valid_from_us: i64,
    /// End of the window, inclusive, UTC microseconds since the Unix epoch.
    pub valid_until_us: i64,
    pub protocol: Protocol,
    /// The servers it names; `None` for any server.
    pub servers: Option<Vec<IpAddr>>,
    pub targets: Vec<TargetPattern>,
    pub categories: CategorySet,
    pub value_min: Option<f64>,
    pub value_max: Option<f64>,
    pub max_writes: Option<u64>,
    /// 1-based line of the grant's `id` in the file, for messages.
    pub line: usize,
}

impl Grant {
    /// Whether `ts_us` lies inside the window, both ends included.
    pub fn in_window(&self, ts_us: i64) -> bool {
        self.valid_from_us <= ts_us && ts_us <= self.valid_until_us
    }

    pub fn has_bounds(&self) -> bool {
        self.value_min.is_some() || self.value_max.is_some()
    }

    /// Whether every value lies within the bounds. A grant without bounds allows anything; a
    /// grant with bounds allows no write without a numeric value (nothing shows it complies),
    /// and no NaN.
    pub fn in_bounds(&self, values: &[f64]) -> bool {
        if !self.has_bounds() {
            return true;
        }
        let min = self.value_min.unwrap_or(f64::NEG_INFINITY);
        let max = self.value_max.unwrap_or(f64::INFINITY);
        !values.is_empty() && values.iter().all(|v| min <= *v && *v <= max)
    }
}

/// Grants of one principal and protocol, by server.
#[derive(Clone, Debug, Default)]
struct ServerIndex {
    by_server: FxHashMap<IpAddr, Vec<u32>>,
    any_server: Vec<u32>,
}

/// A validated delegations file, indexed for the checker.
#[derive(Clone, Debug, Default)]
pub struct Delegations {
    grants: Vec<Grant>,
    /// Principal → one [`ServerIndex`] per protocol, in [`Protocol::ALL`] order.
    index: FxHashMap<String, [ServerIndex; 5]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    delegation: Vec<GrantToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantToml {
    id: Spanned<String>,
    principal: Spanned<String>,
    approved_by: Spanned<String>,
    valid_from: Spanned<Datetime>,
    valid_until: Spanned<Datetime>,
    protocol: Spanned<String>,
    servers: Option<Spanned<Vec<Spanned<String>>>>,
    targets: Spanned<Vec<Spanned<String>>>,
    categories: Spanned<Vec<Spanned<String>>>,
    value_min: Option<Spanned<f64>>,
    value_max: Option<Spanned<f64>>,
    max_writes: Option<Spanned<i64>>,
}

/// Turns spans into [`DelegationError`]s.
struct Errors<'a> {
    file: &'a str,
    text: &'a str,
}

impl Errors<'_> {
    fn at(&self, span: Range<usize>, message: String) -> DelegationError {
        let (line, column) = line_column(self.text, span.start);
        DelegationError {
            file: self.file.to_owned(),
            line,
            column,
            message,
        }
    }
}

impl Delegations {
    /// Parses and validates a delegations file; `file` names it in errors.
    ///
    /// # Errors
    /// [`DelegationError`] with the line and column of the first problem.
    pub fn parse(file: &str, text: &str) -> Result<Delegations, DelegationError> {
        let errors = Errors { file, text };
        let parsed: FileToml = toml::from_str(text).map_err(|e| {
            let start = e.span().map_or(0, |s| s.start);
            errors.at(start..start, e.message().trim().to_owned())
        })?;

        let mut delegations = Delegations::default();
        let mut ids: FxHashMap<String, usize> = FxHashMap::default();
        let mut lines = LineCounter::default();
        for raw in parsed.delegation {
            let line = lines.line_of(text, raw.id.span().start);
            let grant = validate(raw, line, &errors, &mut ids)?;
            delegations.push(grant);
        }
        Ok(delegations)
    }

    /// Adds a grant to the list and the index.
    fn push(&mut self, grant: Grant) {
        let Ok(number) = u32::try_from(self.grants.len()) else {
            // More than four billion grants cannot be loaded from a TOML file in memory.
            return;
        };
        let slots = self.index.entry(grant.principal.clone()).or_default();
        let slot = &mut slots[protocol_slot(grant.protocol)];
        match &grant.servers {
            Some(servers) => {
                for server in servers {
                    slot.by_server.entry(*server).or_default().push(number);
                }
            }
            None => slot.any_server.push(number),
        }
        self.grants.push(grant);
    }

    /// Every grant, in file order.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    pub fn len(&self) -> usize {
        self.grants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }

    /// The grant with this id.
    pub fn get(&self, id: &str) -> Option<&Grant> {
        self.grants.iter().find(|g| g.id == id)
    }

    /// Numbers (positions in [`Delegations::grants`]) of the grants of `principal` and
    /// `protocol` that name `server` or any server. Each grant appears once.
    pub fn candidates<'s>(
        &'s self,
        principal: &str,
        protocol: Protocol,
        server: IpAddr,
    ) -> impl Iterator<Item = u32> + 's {
        let slot = self
            .index
            .get(principal)
            .map(|slots| &slots[protocol_slot(protocol)]);
        let named = slot
            .and_then(|s| s.by_server.get(&server))
            .map_or(&[][..], Vec::as_slice);
        let any = slot.map_or(&[][..], |s| s.any_server.as_slice());
        named.iter().chain(any).copied()
    }
}

fn protocol_slot(protocol: Protocol) -> usize {
    match protocol {
        Protocol::Modbus => 0,
        Protocol::S7comm => 1,
        Protocol::S7commPlus => 2,
        Protocol::Enip => 3,
        Protocol::Opcua => 4,
    }
}

/// 1-based line numbers of increasing offsets, counted once over the file (ten thousand
/// grants would otherwise rescan it from the start for each).
#[derive(Default)]
struct LineCounter {
    offset: usize,
    newlines: usize,
}

impl LineCounter {
    fn line_of(&mut self, text: &str, offset: usize) -> usize {
        let offset = offset.min(text.len());
        if offset < self.offset {
            *self = LineCounter::default();
        }
        let skipped = &text.as_bytes()[self.offset..offset];
        self.newlines += skipped.iter().filter(|&&b| b == b'\n').count();
        self.offset = offset;
        self.newlines + 1
    }
}

/// Checks one `[[delegation]]` table (whose id is on `line`) and builds its [`Grant`].
fn validate(
    raw: GrantToml,
    line: usize,
    errors: &Errors<'_>,
    ids: &mut FxHashMap<String, usize>,
) -> Result<Grant, DelegationError> {
    for (key, value) in [
        ("id", &raw.id),
        ("principal", &raw.principal),
        ("approved_by", &raw.approved_by),
    ] {
        if value.get_ref().trim().is_empty() {
            return Err(errors.at(value.span(), format!("{key} is empty")));
        }
    }
    if let Some(first) = ids.insert(raw.id.get_ref().clone(), line) {
        let message = format!(
            "delegation id {:?} repeated (first on line {first})",
            raw.id.get_ref()
        );
        return Err(errors.at(raw.id.span(), message));
    }

    let protocol = Protocol::ALL
        .iter()
        .copied()
        .find(|p| p.as_str() == raw.protocol.get_ref())
        .ok_or_else(|| {
            let message = format!(
                "protocol {:?} is not one of {}",
                raw.protocol.get_ref(),
                spellings(Protocol::ALL.iter().map(|p| p.as_str()))
            );
            errors.at(raw.protocol.span(), message)
        })?;

    let valid_from = utc_micros(&raw.valid_from, "valid_from", errors)?;
    let valid_until = utc_micros(&raw.valid_until, "valid_until", errors)?;
    if valid_until <= valid_from {
        let message = format!(
            "valid_until {} is not after valid_from {}",
            raw.valid_until.get_ref(),
            raw.valid_from.get_ref()
        );
        return Err(errors.at(raw.valid_until.span(), message));
    }

    let servers = match raw.servers {
        None => None,
        Some(list) => {
            if list.get_ref().is_empty() {
                let message = "servers is empty; leave it out to allow any server".to_owned();
                return Err(errors.at(list.span(), message));
            }
            let mut servers = Vec::with_capacity(list.get_ref().len());
            for server in list.into_inner() {
                let ip = server.get_ref().trim().parse::<IpAddr>().map_err(|_| {
                    let message = format!("server {:?} is not an IP address", server.get_ref());
                    errors.at(server.span(), message)
                })?;
                if !servers.contains(&ip) {
                    servers.push(ip);
                }
            }
            Some(servers)
        }
    };

    if raw.targets.get_ref().is_empty() {
        let message = "targets is empty; a grant must name what it allows".to_owned();
        return Err(errors.at(raw.targets.span(), message));
    }
    let mut targets = Vec::with_capacity(raw.targets.get_ref().len());
    for target in raw.targets.get_ref() {
        if target.get_ref().is_empty() {
            return Err(errors.at(target.span(), "target pattern is empty".to_owned()));
        }
        targets.push(TargetPattern::new(target.get_ref()));
    }

    if raw.categories.get_ref().is_empty() {
        let message = "categories is empty; name at least one".to_owned();
        return Err(errors.at(raw.categories.span(), message));
    }
    let mut categories = CategorySet::default();
    for category in raw.categories.get_ref() {
        let known = Category::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == category.get_ref())
            .ok_or_else(|| {
                let message = format!(
                    "category {:?} is not one of {}",
                    category.get_ref(),
                    spellings(Category::ALL.iter().map(|c| c.as_str()))
                );
                errors.at(category.span(), message)
            })?;
        categories.insert(known);
    }

    for bound in [&raw.value_min, &raw.value_max].into_iter().flatten() {
        if bound.get_ref().is_nan() {
            return Err(errors.at(bound.span(), "a bound cannot be NaN".to_owned()));
        }
    }
    if let (Some(min), Some(max)) = (&raw.value_min, &raw.value_max) {
        if min.get_ref() > max.get_ref() {
            let message = format!(
                "value_max {} is below value_min {}",
                max.get_ref(),
                min.get_ref()
            );
            return Err(errors.at(max.span(), message));
        }
    }

    let max_writes = match raw.max_writes {
        None => None,
        Some(budget) => match u64::try_from(*budget.get_ref()) {
            Ok(n) if n > 0 => Some(n),
            _ => {
                let message = format!("max_writes {} is not a positive integer", budget.get_ref());
                return Err(errors.at(budget.span(), message));
            }
        },
    };

    Ok(Grant {
        id: raw.id.into_inner(),
        principal: raw.principal.into_inner(),
        approved_by: raw.approved_by.into_inner(),
        valid_from_us: valid_from,
        valid_until_us: valid_until,
        protocol,
        servers,
        targets,
        categories,
        value_min: raw.value_min.map(Spanned::into_inner),
        value_max: raw.value_max.map(Spanned::into_inner),
        max_writes,
        line,
    })
}

/// A TOML offset datetime as UTC microseconds; anything else (local datetime, date, time, an
/// impossible date) is an error at the value.
fn utc_micros(
    value: &Spanned<Datetime>,
    key: &str,
    errors: &Errors<'_>,
) -> Result<i64, DelegationError> {
    let dt = value.get_ref();
    let fail = |why: &str| errors.at(value.span(), format!("{key} {dt} {why}"));

    let (Some(date), Some(time)) = (dt.date, dt.time) else {
        return Err(fail(
            "is not a date and time; write e.g. 2026-12-01T06:00:00Z",
        ));
    };
    let Some(offset) = dt.offset else {
        return Err(fail("has no offset; add Z or one like +02:00"));
    };
    let offset_minutes = match offset {
        Offset::Z => 0,
        Offset::Custom { minutes } => i64::from(minutes),
    };

    let second = u32::from(time.second.unwrap_or(0));
    let nanosecond = time.nanosecond.unwrap_or(0);
    let local = NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )
    .and_then(|d| {
        d.and_hms_nano_opt(
            u32::from(time.hour),
            u32::from(time.minute),
            second,
            nanosecond,
        )
    })
    .ok_or_else(|| fail("is not a valid date and time"))?;

    // Truncated to the microsecond, then moved to UTC.
    let micros = local.and_utc().timestamp_micros();
    Ok(micros - offset_minutes * 60_000_000)
}

fn spellings<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
[[delegation]]
id = "CHG-2291"
principal = "agent:setpoint-optimizer"
approved_by = "j.smith, shift supervisor"
valid_from = 2026-12-01T08:00:00+02:00
valid_until = 2026-12-01T18:00:00Z
protocol = "opcua"
servers = ["10.1.4.10", "10.1.4.10", "fd00::1"]
targets = ["ns=2;s=Line1.*"]
categories = ["write", "control"]
value_min = 150
value_max = 220.5
max_writes = 50
"#;

    fn error(text: &str) -> DelegationError {
        Delegations::parse("d.toml", text).unwrap_err()
    }

    /// `ONE` with `key = …` replaced by `line` (or removed when `line` is empty).
    fn with(key: &str, line: &str) -> String {
        ONE.lines()
            .filter_map(|l| {
                if l.starts_with(&format!("{key} =")) {
                    (!line.is_empty()).then(|| line.to_owned())
                } else {
                    Some(l.to_owned())
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn parses_the_design_example() {
        let d = Delegations::parse("d.toml", ONE).unwrap();
        assert_eq!(d.len(), 1);
        let g = &d.grants()[0];
        assert_eq!(g.id, "CHG-2291");
        assert_eq!(g.protocol, Protocol::Opcua);
        // 08:00+02:00 is 06:00Z.
        assert_eq!(g.valid_from_us, 1_796_104_800_000_000);
        assert_eq!(g.valid_until_us - g.valid_from_us, 12 * 3_600_000_000);
        assert_eq!(
            g.servers.as_ref().map(Vec::len),
            Some(2),
            "duplicates folded"
        );
        assert!(g.categories.contains(Category::Control));
        assert!(!g.categories.contains(Category::Program));
        assert_eq!((g.value_min, g.value_max), (Some(150.0), Some(220.5)));
        assert_eq!(g.max_writes, Some(50));
        assert_eq!(g.line, 3);

        let server: IpAddr = "10.1.4.10".parse().unwrap();
        let found: Vec<u32> = d
            .candidates("agent:setpoint-optimizer", Protocol::Opcua, server)
            .collect();
        assert_eq!(found, [0]);
        let other: IpAddr = "10.1.4.11".parse().unwrap();
        let none = d.candidates("agent:setpoint-optimizer", Protocol::Opcua, other);
        assert_eq!(none.count(), 0);
        assert_eq!(d.candidates("x", Protocol::Opcua, server).count(), 0);
        assert_eq!(
            d.candidates("agent:setpoint-optimizer", Protocol::Modbus, server)
                .count(),
            0
        );
    }

    #[test]
    fn empty_file_is_an_empty_policy() {
        let d = Delegations::parse("d.toml", "# nothing granted\n").unwrap();
        assert!(d.is_empty());
    }

    #[test]
    fn fractional_seconds_truncate_to_microseconds() {
        let text = with("valid_from", "valid_from = 2026-12-01T06:00:00.1234567Z");
        let d = Delegations::parse("d.toml", &text).unwrap();
        assert_eq!(d.grants()[0].valid_from_us, 1_796_104_800_123_456);
    }

    #[test]
    fn errors_name_line_and_column() {
        let unknown = with("max_writes", "colour = \"red\"");
        let e = error(&unknown);
        assert_eq!((e.line, e.column), (14, 1), "{e}");
        assert!(e.message.contains("colour"), "{e}");
        assert!(e.to_string().starts_with("d.toml:14:1: "), "{e}");

        let e = error(&with("protocol", "protocol = \"bacnet\""));
        assert_eq!((e.line, e.column), (8, 12), "{e}");
        assert!(e.message.contains("modbus | s7comm"), "{e}");

        let e = error(&with("valid_from", "valid_from = 2026-12-01T06:00:00"));
        assert_eq!((e.line, e.column), (6, 14), "{e}");
        assert!(e.message.contains("no offset"), "{e}");

        let e = error(&with("valid_from", "valid_from = 2026-12-01"));
        assert_eq!((e.line, e.column), (6, 14), "{e}");

        let e = error(&with("valid_from", "valid_from = \"2026-12-01T06:00:00Z\""));
        assert_eq!(e.line, 6, "{e}");

        let e = error(&with(
            "valid_until",
            "valid_until = 2026-12-01T08:00:00+02:00",
        ));
        assert_eq!((e.line, e.column), (7, 15), "{e}");
        assert!(e.message.contains("is not after"), "{e}");

        let e = error(&with("targets", "targets = []"));
        assert_eq!((e.line, e.column), (10, 11), "{e}");

        let e = error(&with("targets", "targets = [\"a\", \"\"]"));
        assert_eq!((e.line, e.column), (10, 17), "{e}");

        let e = error(&with("categories", "categories = [\"write\", \"erase\"]"));
        assert_eq!((e.line, e.column), (11, 24), "{e}");

        let e = error(&with("categories", "categories = []"));
        assert_eq!(e.line, 11, "{e}");

        let e = error(&with("servers", "servers = [\"10.1.4.300\"]"));
        assert_eq!((e.line, e.column), (9, 12), "{e}");

        let e = error(&with("servers", "servers = []"));
        assert_eq!((e.line, e.column), (9, 11), "{e}");

        let e = error(&with("max_writes", "max_writes = 0"));
        assert_eq!((e.line, e.column), (14, 14), "{e}");

        let e = error(&with("max_writes", "max_writes = 1.5"));
        assert_eq!(e.line, 14, "{e}");

        let e = error(&with("value_max", "value_max = 100"));
        assert_eq!((e.line, e.column), (13, 13), "{e}");

        let e = error(&with("value_min", "value_min = nan"));
        assert_eq!(e.line, 12, "{e}");

        let e = error(&with("value_min", "value_min = \"150\""));
        assert_eq!(e.line, 12, "{e}");

        let e = error(&with("approved_by", "approved_by = \" \""));
        assert_eq!((e.line, e.column), (5, 15), "{e}");

        let e = error(&with("principal", ""));
        assert!(e.message.contains("principal"), "{e}");

        let twice = format!("{ONE}{ONE}");
        let e = error(&twice);
        assert_eq!((e.line, e.column), (17, 6), "{e}");
        assert!(e.message.contains("first on line 3"), "{e}");

        let e = error("[[delegation]]\nid = \"a\"\nid = \"b\"\n");
        assert_eq!(e.line, 3, "{e}");

        let e = error("[[grant]]\nid = \"a\"\n");
        assert_eq!((e.line, e.column), (1, 3), "{e}");
    }

    #[test]
    fn bounds_apply_to_every_value() {
        let mut g = Delegations::parse("d.toml", ONE).unwrap().grants()[0].clone();
        assert!(g.in_bounds(&[150.0, 220.5]));
        assert!(!g.in_bounds(&[150.0, 221.0]));
        assert!(!g.in_bounds(&[149.0, 200.0]));
        assert!(!g.in_bounds(&[]), "bounded grant, no numeric value");
        assert!(!g.in_bounds(&[f64::NAN]));

        g.value_max = None;
        assert!(g.in_bounds(&[1e9]), "min only");
        assert!(!g.in_bounds(&[-1.0]), "min only");

        g.value_min = None;
        g.value_max = Some(10.0);
        assert!(g.in_bounds(&[-1e9, 10.0]), "max only");
        assert!(!g.in_bounds(&[10.5]), "max only");

        g.value_max = None;
        assert!(g.in_bounds(&[]), "no bounds, no value");
    }
}
