//! Rendering OPC UA values for the `value` column (fixtures-pcap README, "OPC UA"): Double
//! and Float as Python's `repr` writes them (`185.5`, `250.0`, `1e+16`), integers in decimal,
//! String as is, Boolean `true`/`false`; arrays joined by `,`, at most 32 values then `,…+N`.

use dissectors::opcua::binary::{guid_text, lossy, Scalar, Variant};

/// Values shown before the rest is only counted.
pub const MAX_VALUES: usize = 32;

/// A Variant rendered, and every number in it (for delegation bounds).
pub fn variant(v: &Variant<'_>) -> (String, Vec<f64>) {
    let values = v.values();
    let mut numbers = Vec::new();
    let mut parts: Vec<String> = Vec::with_capacity(values.len().min(MAX_VALUES));
    for (i, s) in values.iter().enumerate() {
        if let Some(n) = number(s) {
            numbers.push(n);
        }
        if i < MAX_VALUES {
            parts.push(scalar(s));
        }
    }
    let mut text = parts.join(",");
    if values.len() > MAX_VALUES {
        text.push_str(&format!(",…+{}", values.len() - MAX_VALUES));
    }
    (text, numbers)
}

/// The numeric value of a scalar, when it has one.
pub fn number(s: &Scalar<'_>) -> Option<f64> {
    Some(match *s {
        Scalar::Boolean(b) => f64::from(u8::from(b)),
        Scalar::SByte(v) => f64::from(v),
        Scalar::Byte(v) => f64::from(v),
        Scalar::Int16(v) => f64::from(v),
        Scalar::UInt16(v) => f64::from(v),
        Scalar::Int32(v) => f64::from(v),
        Scalar::UInt32(v) => f64::from(v),
        Scalar::Int64(v) => v as f64,
        Scalar::UInt64(v) => v as f64,
        Scalar::Float(v) => f64::from(v),
        Scalar::Double(v) => v,
        Scalar::Variant(ref inner) => match inner.values() {
            [one] => number(one)?,
            _ => return None,
        },
        _ => return None,
    })
}

/// One value as text.
pub fn scalar(s: &Scalar<'_>) -> String {
    match s {
        Scalar::Null => "null".to_owned(),
        Scalar::Boolean(b) => b.to_string(),
        Scalar::SByte(v) => v.to_string(),
        Scalar::Byte(v) => v.to_string(),
        Scalar::Int16(v) => v.to_string(),
        Scalar::UInt16(v) => v.to_string(),
        Scalar::Int32(v) => v.to_string(),
        Scalar::UInt32(v) => v.to_string(),
        Scalar::Int64(v) => v.to_string(),
        Scalar::UInt64(v) => v.to_string(),
        Scalar::Float(v) => py_float(f64::from(*v)),
        Scalar::Double(v) => py_float(*v),
        Scalar::String(t) | Scalar::XmlElement(t) => lossy(t.unwrap_or_default()).into_owned(),
        Scalar::DateTime(ticks) => datetime(*ticks),
        Scalar::Guid(g) => guid_text(g),
        Scalar::ByteString(b) => hex_limited(b.unwrap_or_default()),
        Scalar::NodeId(n) => n.to_string(),
        Scalar::ExpandedNodeId(n) => n.to_string(),
        Scalar::StatusCode(c) => format!("0x{c:08x}"),
        Scalar::QualifiedName(ns, name) => {
            format!("{ns}:{}", lossy(name.unwrap_or_default()))
        }
        Scalar::LocalizedText(t) => lossy(t.text.unwrap_or_default()).into_owned(),
        Scalar::ExtensionObject(e) => format!("<{} {} bytes>", e.type_id, e.body.len()),
        Scalar::DataValue(dv) => match &dv.value {
            Some(v) => variant(v).0,
            None => "null".to_owned(),
        },
        Scalar::Variant(v) => variant(v).0,
        Scalar::DiagnosticInfo(_) => "<diagnostic info>".to_owned(),
    }
}

/// Lowercase hex of at most 32 bytes, then `…+N`.
fn hex_limited(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(32)];
    let mut text = hex::encode(shown);
    if bytes.len() > 32 {
        text.push_str(&format!("…+{}", bytes.len() - 32));
    }
    text
}

/// An OPC UA DateTime (100 ns ticks since 1601) as ISO 8601 UTC.
fn datetime(ticks: i64) -> String {
    const EPOCH_DIFF_S: i64 = 11_644_473_600;
    let seconds = ticks.div_euclid(10_000_000) - EPOCH_DIFF_S;
    let nanos = (ticks.rem_euclid(10_000_000) * 100) as u32;
    match chrono::DateTime::from_timestamp(seconds, nanos) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => ticks.to_string(),
    }
}

/// A float as Python's `repr`: shortest round-trip digits, `.0` on integral values,
/// exponent form below 1e-4 and from 1e16 (`1e+16`, `1.5e-05`).
pub fn py_float(v: f64) -> String {
    if v.is_nan() {
        return "nan".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let a = v.abs();
    if v == 0.0 || (1e-4..1e16).contains(&a) {
        let text = format!("{v}");
        if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        }
    } else {
        let text = format!("{v:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exponent),
        };
        format!("{mantissa}e{sign}{digits:0>2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_python_repr() {
        assert_eq!(py_float(185.5), "185.5");
        assert_eq!(py_float(250.0), "250.0");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(1e16), "1e+16");
        assert_eq!(py_float(1.5e-5), "1.5e-05");
        assert_eq!(py_float(-0.0), "-0.0");
        assert_eq!(py_float(f64::from(0.1f32)), "0.10000000149011612");
        assert_eq!(py_float(123456789012345.0), "123456789012345.0");
    }

    #[test]
    fn arrays_follow_the_32_rule() {
        let values = (100..140).map(Scalar::Int32).collect();
        let v = Variant::Array {
            type_id: 6,
            values,
            dimensions: None,
        };
        let (text, numbers) = variant(&v);
        assert!(text.starts_with("100,101,"));
        assert!(text.ends_with(",131,…+8"), "{text}");
        assert_eq!(numbers.len(), 40);
        let s = Variant::Scalar(Scalar::String(Some(b"manual")));
        assert_eq!(variant(&s).0, "manual");
        assert_eq!(variant(&Variant::Scalar(Scalar::Boolean(true))).0, "true");
        assert_eq!(
            datetime(116_444_736_000_000_000),
            "1970-01-01T00:00:00.000000Z"
        );
    }
}
