//! How CIP targets and values are written in the evidence (the CIP rendering rules of
//! fixtures-pcap/README.md): `@tag NAME[e..e+n-1]`, `class 0x64 inst 1 attr 3`, values by CIP
//! data type with the 32 rule, attribute data as lowercase hex.

use dissectors::cip::logix::DataType;
use dissectors::cip::path::{segments, Segment, Summary};

/// Elements shown before the rest is only counted.
pub const MAX_ELEMENTS: usize = 32;

/// Bytes of raw data shown before the rest is only counted.
pub const MAX_BYTES: usize = 32;

/// `@tag Line1.Oven[3].SP`, with the last element index widened to a range when the request
/// covers `count` > 1 elements; `None` when the path has no symbolic segment.
pub fn tag_target(path: &[u8], count: u32) -> Option<String> {
    let mut name = String::new();
    let mut elements: Vec<u32> = Vec::new();
    let mut symbolic = false;
    for seg in segments(path) {
        match seg {
            Segment::Symbol(s) => {
                close_elements(&mut name, &elements, None);
                elements.clear();
                if symbolic {
                    name.push('.');
                }
                symbolic = true;
                name.push_str(&String::from_utf8_lossy(s));
            }
            Segment::Member(m) if symbolic => elements.push(m),
            _ => {}
        }
    }
    if !symbolic {
        return None;
    }
    if count > 1 && elements.is_empty() {
        elements.push(0);
    }
    close_elements(&mut name, &elements, Some(count));
    Some(format!("@tag {name}"))
}

fn close_elements(name: &mut String, elements: &[u32], count: Option<u32>) {
    let Some((last, first)) = elements.split_last() else {
        return;
    };
    let mut parts: Vec<String> = first.iter().map(u32::to_string).collect();
    match count {
        Some(n) if n > 1 => {
            let end = u64::from(*last) + u64::from(n) - 1;
            parts.push(format!("{last}..{end}"));
        }
        _ => parts.push(last.to_string()),
    }
    name.push('[');
    name.push_str(&parts.join(","));
    name.push(']');
}

/// `class 0x64 inst 1 attr 3` (instance and attribute when the path has them).
pub fn logical_target(s: &Summary) -> String {
    let mut t = match s.class {
        Some(c) => format!("class 0x{c:02x}"),
        None => "class ?".to_owned(),
    };
    if let Some(i) = s.instance {
        t.push_str(&format!(" inst {i}"));
    }
    if let Some(a) = s.attribute {
        t.push_str(&format!(" attr {a}"));
    }
    if let Some(m) = s.member {
        t.push_str(&format!(" member {m}"));
    }
    if s.malformed {
        t.push_str(" (malformed path)");
    }
    t
}

/// Elements of `data` decoded as `data_type`, joined by `,`, at most [`MAX_ELEMENTS`] then
/// `,…+N`; the numbers go to `numbers`. Unknown types and structures are hex.
pub fn elements(data_type: u16, data: &[u8], numbers: &mut Vec<f64>) -> String {
    let Some(t) = DataType::from_code(data_type) else {
        return hex(data);
    };
    let chunks = data.chunks_exact(t.size());
    let total = chunks.len();
    let mut shown = Vec::with_capacity(total.min(MAX_ELEMENTS));
    for (i, c) in chunks.enumerate() {
        let Some(v) = t.decode(c) else { break };
        numbers.push(v.as_f64());
        if i < MAX_ELEMENTS {
            shown.push(v.to_string());
        }
    }
    let mut text = shown.join(",");
    if total > MAX_ELEMENTS {
        text.push_str(&format!(",…+{}", total - MAX_ELEMENTS));
    }
    text
}

/// Lowercase hex, at most [`MAX_BYTES`] bytes then `…+N`.
pub fn hex(data: &[u8]) -> String {
    let mut text = hex::encode(&data[..data.len().min(MAX_BYTES)]);
    if data.len() > MAX_BYTES {
        text.push_str(&format!("…+{}", data.len() - MAX_BYTES));
    }
    text
}

/// A little-endian mask as one hex number (`0x00ff`).
pub fn mask(bytes: &[u8]) -> String {
    let reversed: Vec<u8> = bytes.iter().rev().copied().collect();
    let digits = hex::encode(reversed);
    format!("0x{digits}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_targets_follow_the_rendering_rules() {
        let line1 = [0x91, 0x08, b'L', b'i', b'n', b'e', b'1', b'_', b'S', b'P'];
        assert_eq!(tag_target(&line1, 1).unwrap(), "@tag Line1_SP");
        let tags3 = [0x91, 0x04, b'T', b'a', b'g', b's', 0x28, 0x03];
        assert_eq!(tag_target(&tags3, 1).unwrap(), "@tag Tags[3]");
        assert_eq!(tag_target(&tags3, 5).unwrap(), "@tag Tags[3..7]");
        assert_eq!(tag_target(&tags3[..6], 1000).unwrap(), "@tag Tags[0..999]");
        let nested = [
            0x91, 0x05, b'L', b'i', b'n', b'e', b'1', 0x00, // Line1
            0x91, 0x04, b'O', b'v', b'e', b'n', 0x28, 0x03, // Oven[3]
            0x91, 0x02, b'S', b'P', // SP
        ];
        assert_eq!(tag_target(&nested, 1).unwrap(), "@tag Line1.Oven[3].SP");
        assert_eq!(tag_target(&[0x20, 0x64], 1), None);
    }

    #[test]
    fn values_and_hex() {
        let mut n = Vec::new();
        let data: Vec<u8> = (0..40i16).flat_map(|v| (v * 3).to_le_bytes()).collect();
        let text = elements(0xc3, &data, &mut n);
        assert!(
            text.starts_with("0,3,6,") && text.ends_with(",93,…+8"),
            "{text}"
        );
        assert_eq!(n.len(), 40);
        assert_eq!(hex(&[7, 0]), "0700");
        assert_eq!(hex(&[0; 34]).len(), 64 + "…+2".len());
        assert_eq!(mask(&[0x01, 0x00]), "0x0001");
    }
}
