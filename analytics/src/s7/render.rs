//! S7 targets and values in the notation of fixtures-pcap/README.md ("Rendering rules").

use dissectors::s7comm::{area_letter, AnyAddress};

/// Values longer than this many bytes are cut in the `value` column.
pub const MAX_VALUE_BYTES: usize = 32;

/// Address transport sizes (parameter part) that decide how a value is rendered.
const TS_BIT: u8 = 0x01;
const TS_INT: u8 = 0x05;
const TS_DINT: u8 = 0x07;
const TS_REAL: u8 = 0x08;
const TS_COUNTER: u8 = 0x1c;
const TS_TIMER: u8 = 0x1d;

/// `DB1.DBW4`, `M10.2`, `Q0.0`, `DB2.DBB100..544`, `T5`, for an S7ANY item whose value has
/// `data_len` bytes (the request's data item decides the width, not the transport size).
pub fn any_target(a: &AnyAddress, data_len: usize) -> String {
    let byte = a.address >> 3;
    let bit = a.address & 7;
    if matches!(a.area, 0x1c..=0x1f) || matches!(a.transport_size, TS_COUNTER | TS_TIMER) {
        let letter = match (a.area, a.transport_size) {
            (0x1c | 0x1e, _) | (_, TS_COUNTER) => "C",
            _ => "T",
        };
        return if a.count > 1 {
            format!(
                "{letter}{}..{}",
                a.address,
                a.address + u32::from(a.count) - 1
            )
        } else {
            format!("{letter}{}", a.address)
        };
    }
    let (prefix, letter) = match a.area {
        0x84 => (format!("DB{}.", a.db), "DB".to_owned()),
        0x85 => (format!("DI{}.", a.db), "DI".to_owned()),
        area => match area_letter(area) {
            Some(l) => (String::new(), l.to_owned()),
            None => (String::new(), format!("area0x{area:02x}")),
        },
    };
    if a.transport_size == TS_BIT {
        let letter = match a.area {
            0x84 => "DBX".to_owned(),
            0x85 => "DIX".to_owned(),
            _ => letter,
        };
        return format!("{prefix}{letter}{byte}.{bit}");
    }
    let width = match data_len {
        1 => "B",
        2 => "W",
        4 => "D",
        _ => {
            let last = byte + (data_len.max(1) as u32) - 1;
            return format!("{prefix}{letter}B{byte}..{last}");
        }
    };
    format!("{prefix}{letter}{width}{byte}")
}

/// `MD0`, `MW4`, `I8.1`, `DB5.DBW2`, `T3` for a programmer-command address.
pub fn vartab_target(a: &dissectors::s7comm::VartabAddress) -> String {
    let (prefix, letter) = match a.area >> 4 {
        0x0 => (String::new(), "M"),
        0x1 => (String::new(), "I"),
        0x2 => (String::new(), "Q"),
        0x3 => (String::new(), "PI"),
        0x7 => (format!("DB{}.", a.db), "DB"),
        0x8 => return format!("T{}", a.start),
        0x9 => return format!("C{}", a.start),
        _ => return format!("area0x{:02x} {}", a.area, a.start),
    };
    match a.area & 0x0f {
        0 => {
            let x = if letter == "DB" { "DBX" } else { letter };
            format!("{prefix}{x}{}.{}", a.start, a.bit_or_count & 7)
        }
        1 => format!("{prefix}{letter}B{}", a.start),
        2 => format!("{prefix}{letter}W{}", a.start),
        _ => format!("{prefix}{letter}D{}", a.start),
    }
}

/// The value of a written item and the numbers it sets (for delegation bounds).
pub fn item_value(transport_size: u8, data: &[u8]) -> (String, Vec<f64>) {
    if transport_size == TS_BIT {
        let v = data.first().map_or(0, |b| b & 1);
        return (v.to_string(), vec![f64::from(v)]);
    }
    match (transport_size, data) {
        (TS_INT, [a, b]) => {
            let v = i16::from_be_bytes([*a, *b]);
            (v.to_string(), vec![f64::from(v)])
        }
        (TS_DINT, [a, b, c, d]) => {
            let v = i32::from_be_bytes([*a, *b, *c, *d]);
            (v.to_string(), vec![f64::from(v)])
        }
        (TS_REAL, [a, b, c, d]) => {
            let v = f32::from_be_bytes([*a, *b, *c, *d]);
            (python_float(f64::from(v)), vec![f64::from(v)])
        }
        (_, [a]) => (a.to_string(), vec![f64::from(*a)]),
        (_, [a, b]) => {
            let v = u16::from_be_bytes([*a, *b]);
            (v.to_string(), vec![f64::from(v)])
        }
        (_, [a, b, c, d]) => {
            let v = u32::from_be_bytes([*a, *b, *c, *d]);
            (v.to_string(), vec![f64::from(v)])
        }
        _ => (hex_cut(data), Vec::new()),
    }
}

/// Lowercase hex of at most [`MAX_VALUE_BYTES`] bytes, then `…+N` for the bytes left out.
pub fn hex_cut(data: &[u8]) -> String {
    let shown = &data[..data.len().min(MAX_VALUE_BYTES)];
    let mut text = hex::encode(shown);
    if data.len() > shown.len() {
        text.push_str(&format!("…+{}", data.len() - shown.len()));
    }
    text
}

/// A float as Python's `repr` shows it (shortest round trip, `.0` on whole numbers).
pub fn python_float(v: f64) -> String {
    if v.is_nan() {
        return "nan".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        let text = format!("{v:e}");
        // Rust writes `1e20` / `1.5e-7`; Python `1e+20` / `1.5e-07`.
        if let Some((mantissa, exp)) = text.split_once('e') {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            return format!("{mantissa}e{sign}{digits:0>2}");
        }
        return text;
    }
    let text = format!("{v}");
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

/// Text of a name or parameter block: printable ASCII as is, anything else as hex.
pub fn text_or_hex(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        hex_cut(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(ts: u8, area: u8, db: u16, address: u32) -> AnyAddress {
        AnyAddress {
            transport_size: ts,
            count: 1,
            db,
            area,
            address,
        }
    }

    #[test]
    fn targets_follow_siemens_notation() {
        assert_eq!(any_target(&any(2, 0x84, 1, 32), 2), "DB1.DBW4");
        assert_eq!(any_target(&any(1, 0x83, 0, 82), 1), "M10.2");
        assert_eq!(any_target(&any(1, 0x82, 0, 0), 1), "Q0.0");
        assert_eq!(any_target(&any(1, 0x84, 1, 35), 1), "DB1.DBX4.3");
        assert_eq!(any_target(&any(2, 0x84, 2, 0), 4), "DB2.DBD0");
        assert_eq!(any_target(&any(2, 0x84, 2, 800), 445), "DB2.DBB100..544");
        assert_eq!(any_target(&any(2, 0x83, 0, 0), 10), "MB0..9");
        assert_eq!(any_target(&any(2, 0x82, 0, 32), 1), "QB4");
        assert_eq!(any_target(&any(0x1d, 0x1d, 0, 5), 2), "T5");
    }

    #[test]
    fn values_by_transport_size() {
        assert_eq!(item_value(2, &[0x04, 0xd2]).0, "1234");
        assert_eq!(item_value(5, &[0xff, 0xfe]).0, "-2");
        assert_eq!(item_value(7, &[0xff, 0xff, 0xff, 0xfe]).0, "-2");
        assert_eq!(item_value(8, &72.5f32.to_be_bytes()).0, "72.5");
        assert_eq!(
            item_value(8, &0.1f32.to_be_bytes()).0,
            "0.10000000149011612"
        );
        assert_eq!(item_value(8, &95f32.to_be_bytes()).0, "95.0");
        assert_eq!(item_value(1, &[1]).0, "1");
        let long: Vec<u8> = (0..40).collect();
        assert!(item_value(2, &long).0.ends_with("1f…+8"));
        assert_eq!(python_float(1e20), "1e+20");
    }
}
