//! The delegation checker against the ground truth of every capture in `fixtures-pcap/`.
//!
//! For each scenario with a `truth.json` and a `delegations.toml`, every readable write of the
//! truth becomes a [`WriteRow`] built from the truth's own fields (identity = `principal`,
//! protocol, category, target, server, `ts`), the rows are checked in time order, and each
//! row's `delegation` and `delegation_status` must equal the truth's; a failure prints the
//! truth's `why`. This tests the checker alone: the dissectors are not involved.
//!
//! The truth gives no list of numbers, only the rendered `value`, so `numeric_values` is read
//! back from it the way the dissectors produce it (fixtures-pcap/README.md, rendering rules):
//! - Modbus: FC 5 `on`/`off` is 1/0 (another value, none); FC 22 masks and FC 8 data are not
//!   numbers; the others are the decimals of `value`, with FC 21's `; `-joined parts together;
//! - S7comm Write Var: a bit or a 1-, 2- or 4-byte item is one number; a byte range
//!   (`DB2.DBB100..544`) is rendered in hex and is not a number; control/config: none;
//! - CIP: Write Tag (Fragmented) elements are numbers; Set_Attribute_* data is hex, none;
//! - OPC UA: the rendered values when every one is a number (a String is none).
//!
//! A value truncated by the 32 rule (`…,+N`) yields only its first 32 numbers. No truth value is
//! half numeric, so a value with any non-number part yields none.
//!
//! `truth.json` is read by a small JSON reader at the bottom of this file, since analytics has
//! no JSON dependency.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use analytics::delegation::{DelegationChecker, Delegations};
use analytics::evidence::{
    AlertKind, Attribution, Category, DelegationStatus, Endpoints, FrameRef, Outcome, Protocol,
    SessionId, WriteRow,
};
use chrono::DateTime;

/// Scenarios that must contribute readable writes (the others are all opaque).
const READABLE: &[&str] = &[
    "enip-basic",
    "enip-tls12-null",
    "modbus-basic",
    "modbus-tls12-null",
    "opcua-none",
    "opcua-sign",
    "s7comm-basic",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures-pcap")
}

/// One readable write of the truth, as a row, with what the truth expects.
struct Case {
    row: WriteRow,
    delegation: Option<String>,
    status: String,
    why: String,
}

#[test]
fn every_truth_write_gets_the_expected_delegation() {
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures-pcap is readable")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|dir| dir.join("truth.json").is_file() && dir.join("delegations.toml").is_file())
        .collect();
    scenarios.sort();

    let mut checked = BTreeMap::new();
    let mut failures = Vec::new();
    for dir in &scenarios {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let n = check_scenario(dir, &name, &mut failures);
        checked.insert(name, n);
    }

    for name in READABLE {
        assert!(
            checked.get(*name).is_some_and(|n| *n > 0),
            "{name}: no readable write was checked ({checked:?})"
        );
    }
    assert!(
        failures.is_empty(),
        "{} write(s) differ from the truth:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Checks one scenario; returns how many writes it checked and adds any mismatch to
/// `failures`.
fn check_scenario(dir: &Path, name: &str, failures: &mut Vec<String>) -> usize {
    let policy_path = dir.join("delegations.toml");
    let policy_text = std::fs::read_to_string(&policy_path).unwrap();
    let delegations = Delegations::parse(&policy_path.display().to_string(), &policy_text)
        .unwrap_or_else(|e| panic!("{e}"));

    let truth_text = std::fs::read_to_string(dir.join("truth.json")).unwrap();
    let truth = Json::parse(&truth_text).unwrap_or_else(|e| panic!("{name}/truth.json: {e}"));
    let mut cases = cases(&truth);

    // The order the sensor feeds the checker in.
    cases.sort_by_key(|c| (c.row.at.ts_us, c.row.at.source, c.row.at.frame, c.row.item));

    let mut checker = DelegationChecker::new(&delegations);
    for case in &mut cases {
        checker.check(&mut case.row);
        let got = (
            case.row.delegation.as_deref(),
            case.row.delegation_status.as_str(),
        );
        if got != (case.delegation.as_deref(), case.status.as_str()) {
            failures.push(format!(
                "{name} frame {} item {} {:?}: got {got:?}, truth ({:?}, {:?}): {}",
                case.row.at.frame,
                case.row.item,
                case.row.target,
                case.delegation,
                case.status,
                case.why
            ));
        }
        let delegated = case.row.delegation_status == DelegationStatus::Delegated;
        assert_eq!(case.row.approved_by.is_some(), delegated, "{name}");
    }

    // One alert per session and non-delegated status; no two grants of a fixture tie.
    let alerts = checker.finish();
    let mut expected: Vec<(SessionId, DelegationStatus)> = cases
        .iter()
        .filter(|c| c.row.delegation_status != DelegationStatus::Delegated)
        .map(|c| (c.row.session_id, c.row.delegation_status))
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(alerts.len(), expected.len(), "{name}: {alerts:#?}");
    assert!(
        alerts.iter().all(|a| a.kind != AlertKind::DelegationTie),
        "{name}: {alerts:#?}"
    );
    cases.len()
}

/// The readable writes of a truth document, with items numbered within their frame and
/// sessions numbered by client endpoint.
fn cases(truth: &Json) -> Vec<Case> {
    let mut sessions: BTreeMap<(String, u64), u64> = BTreeMap::new();
    let mut last_frame = 0;
    let mut item = 0;
    let mut out = Vec::new();

    for w in truth.get("writes").and_then(Json::items).unwrap_or(&[]) {
        if w.get("readable").and_then(Json::boolean) != Some(true) {
            continue;
        }
        let text = |key: &str| w.get(key).and_then(Json::text).map(str::to_owned);
        let number = |key: &str| w.get(key).and_then(Json::number).unwrap_or(0.0) as u64;

        let frame = number("frame");
        item = if frame == last_frame { item + 1 } else { 0 };
        last_frame = frame;

        let client = (text("client_ip").unwrap(), number("client_port"));
        let next = sessions.len() as u64 + 1;
        let session = *sessions.entry(client.clone()).or_insert(next);

        let protocol = text("protocol").unwrap();
        let protocol = *Protocol::ALL
            .iter()
            .find(|p| p.as_str() == protocol)
            .unwrap();
        let category = text("category").unwrap();
        let category = *Category::ALL
            .iter()
            .find(|c| c.as_str() == category)
            .unwrap();
        let ts = text("ts").unwrap();
        let ts_us = DateTime::parse_from_rfc3339(&ts)
            .unwrap()
            .timestamp_micros();
        let target = text("target").unwrap();
        let value = text("value");
        let function_code = number("function_code") as u32;
        let numeric_values = numbers(
            protocol,
            category,
            function_code,
            &target,
            value.as_deref().unwrap_or(""),
        );

        let ip = |key: &str| text(key).unwrap().parse::<IpAddr>().unwrap();
        let row = WriteRow {
            at: FrameRef {
                source: 0,
                frame,
                ts_us,
            },
            item,
            endpoints: Endpoints {
                client_ip: ip("client_ip"),
                client_port: number("client_port") as u16,
                client_mac: None,
                server_ip: ip("server_ip"),
                server_port: number("server_port") as u16,
                server_mac: None,
                vlan: None,
            },
            session_id: SessionId(session),
            protocol,
            category,
            operation: "",
            function_code,
            target,
            value,
            outcome: Outcome::Unknown,
            response_ts_us: None,
            credential: None,
            client_certificate: None,
            device_id: None,
            identity: text("principal"),
            attribution: Attribution::Unattributed,
            delegation: None,
            delegation_status: DelegationStatus::NoPolicy,
            approved_by: None,
            numeric_values,
        };
        out.push(Case {
            row,
            delegation: text("delegation"),
            status: text("delegation_status").unwrap(),
            why: text("why").unwrap_or_default(),
        });
    }
    out
}

/// `numeric_values` as the dissectors produce them, read back from the rendered value (see
/// the module doc).
fn numbers(
    protocol: Protocol,
    category: Category,
    function_code: u32,
    target: &str,
    value: &str,
) -> Vec<f64> {
    let none = Vec::new();
    match protocol {
        Protocol::Modbus => match (function_code, value) {
            (5, "on") => vec![1.0],
            (5, "off") => vec![0.0],
            (5 | 8 | 22, _) => none,
            _ => decimal_list(value),
        },
        Protocol::S7comm if category != Category::Write || target.contains("..") => none,
        // Set_Attribute_Single / _List / _All carry raw attribute bytes.
        Protocol::Enip if matches!(function_code, 0x02 | 0x04 | 0x10) => none,
        _ => decimal_list(value),
    }
}

/// Every number of a `,`- and `; `-separated list, dropping a trailing `…+N`; empty if any
/// part is not a number.
fn decimal_list(value: &str) -> Vec<f64> {
    let mut out = Vec::new();
    for part in value.split("; ").flat_map(|p| p.split(',')) {
        if part.starts_with('…') {
            continue;
        }
        match part.trim().parse::<f64>() {
            Ok(v) if !part.is_empty() => out.push(v),
            _ => return Vec::new(),
        }
    }
    out
}

#[test]
fn numbers_are_read_back_like_the_dissectors_make_them() {
    let m = |fc, v| numbers(Protocol::Modbus, Category::Write, fc, "unit 1 holding 1", v);
    assert_eq!(m(5, "on"), [1.0]);
    assert_eq!(m(5, "0x1234"), [] as [f64; 0]);
    assert_eq!(m(22, "and=0xf0f0 or=0x000f"), [] as [f64; 0]);
    assert_eq!(m(16, "1,2,3"), [1.0, 2.0, 3.0]);
    assert_eq!(m(21, "10,11; 1,2"), [10.0, 11.0, 1.0, 2.0]);
    assert_eq!(m(15, "1,0,…+3"), [1.0, 0.0]);
    let s7 = |target, v| numbers(Protocol::S7comm, Category::Write, 5, target, v);
    assert_eq!(s7("DB1.DBD0", "-7"), [-7.0]);
    assert_eq!(s7("DB2.DBB100..544", "0001"), [] as [f64; 0]);
    let ua = |v| numbers(Protocol::Opcua, Category::Write, 673, "ns=2;s=X", v);
    assert_eq!(ua("185.5"), [185.5]);
    assert_eq!(ua("manual"), [] as [f64; 0]);
    assert_eq!(ua(""), [] as [f64; 0]);
}

/// A JSON value; numbers are kept as `f64`, objects in document order.
#[derive(Debug)]
enum Json {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn parse(text: &str) -> Result<Json, String> {
        let mut reader = Reader {
            chars: text.char_indices().peekable(),
        };
        let value = reader.value()?;
        reader.space();
        match reader.chars.next() {
            None => Ok(value),
            Some((at, c)) => Err(format!("unexpected {c:?} at byte {at}")),
        }
    }

    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn items(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Json::Text(s) => Some(s),
            _ => None,
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Json::Number(n) => Some(*n),
            _ => None,
        }
    }

    fn boolean(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

struct Reader<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
}

impl Reader<'_> {
    fn space(&mut self) {
        while self.chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    }

    fn expect(&mut self, wanted: char) -> Result<(), String> {
        match self.chars.next() {
            Some((_, c)) if c == wanted => Ok(()),
            other => Err(format!("expected {wanted:?}, found {other:?}")),
        }
    }

    fn word(&mut self, word: &str, value: Json) -> Result<Json, String> {
        for c in word.chars() {
            self.expect(c)?;
        }
        Ok(value)
    }

    fn value(&mut self) -> Result<Json, String> {
        self.space();
        let Some(&(at, c)) = self.chars.peek() else {
            return Err("unexpected end".to_owned());
        };
        match c {
            'n' => self.word("null", Json::Null),
            't' => self.word("true", Json::Bool(true)),
            'f' => self.word("false", Json::Bool(false)),
            '"' => self.string().map(Json::Text),
            '[' => {
                self.chars.next();
                let mut items = Vec::new();
                self.space();
                if self.chars.next_if(|(_, c)| *c == ']').is_some() {
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    self.space();
                    match self.chars.next() {
                        Some((_, ',')) => continue,
                        Some((_, ']')) => return Ok(Json::Array(items)),
                        other => return Err(format!("in array: {other:?}")),
                    }
                }
            }
            '{' => {
                self.chars.next();
                let mut fields = Vec::new();
                self.space();
                if self.chars.next_if(|(_, c)| *c == '}').is_some() {
                    return Ok(Json::Object(fields));
                }
                loop {
                    self.space();
                    let key = self.string()?;
                    self.space();
                    self.expect(':')?;
                    fields.push((key, self.value()?));
                    self.space();
                    match self.chars.next() {
                        Some((_, ',')) => continue,
                        Some((_, '}')) => return Ok(Json::Object(fields)),
                        other => return Err(format!("in object: {other:?}")),
                    }
                }
            }
            _ => {
                let mut number = String::new();
                while let Some((_, c)) = self.chars.next_if(|(_, c)| {
                    c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')
                }) {
                    number.push(c);
                }
                number
                    .parse()
                    .map(Json::Number)
                    .map_err(|_| format!("bad value at byte {at}"))
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            match self.chars.next() {
                None => return Err("unterminated string".to_owned()),
                Some((_, '"')) => return Ok(out),
                Some((_, '\\')) => {
                    let escaped = match self.chars.next().map(|(_, c)| c) {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('b') => '\u{8}',
                        Some('f') => '\u{c}',
                        Some('u') => self.unicode()?,
                        Some(c) => c,
                        None => return Err("unterminated escape".to_owned()),
                    };
                    out.push(escaped);
                }
                Some((_, c)) => out.push(c),
            }
        }
    }

    /// The rest of a `\uXXXX` escape, with a following low surrogate when it needs one.
    fn unicode(&mut self) -> Result<char, String> {
        let high = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&high) {
            self.expect('\\')?;
            self.expect('u')?;
            let low = self.hex4()?;
            0x10000 + ((high - 0xd800) << 10) + (low.wrapping_sub(0xdc00) & 0x3ff)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| format!("bad code point {code:#x}"))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .chars
                .next()
                .and_then(|(_, c)| c.to_digit(16))
                .ok_or("bad \\u escape")?;
            code = code * 16 + digit;
        }
        Ok(code)
    }
}

#[test]
fn json_reader_reads_what_truth_files_hold() {
    let j =
        Json::parse(r#" {"a": [1, -2.5e1, true, null], "b": "x\u2026\"\ud83d\ude00", "c": {}} "#)
            .unwrap();
    let a = j.get("a").and_then(Json::items).unwrap();
    assert_eq!(a[1].number(), Some(-25.0));
    assert_eq!(a[2].boolean(), Some(true));
    assert!(matches!(a[3], Json::Null));
    assert_eq!(j.get("b").and_then(Json::text), Some("x…\"😀"));
    assert!(Json::parse("[1,").is_err());
    assert!(Json::parse("{} x").is_err());
}
