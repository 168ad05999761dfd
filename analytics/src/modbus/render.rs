//! Canonical text of Modbus write targets and values, as the `writes` table and the fixtures'
//! ground truth spell them.
//!
//! Targets name the unit, the table and the 0-based wire addresses, inclusive:
//! `unit 1 holding 100..109`, `unit 3 coil 7`. Values list at most [`MAX_VALUES`] items and say
//! how many were left out (`1,2,…+91`), so a row stays small whatever the request size.

use std::fmt::Write as _;

use dissectors::modbus::{bit, FileRecord, Registers};

/// Items rendered before the rest is only counted.
pub const MAX_VALUES: usize = 32;

/// `unit U TABLE A` or `unit U TABLE A..E` for `quantity` items from `address`.
pub fn range_target(unit: u8, table: &str, address: u16, quantity: u16) -> String {
    let last = u32::from(address) + u32::from(quantity.max(1)) - 1;
    if quantity <= 1 {
        format!("unit {unit} {table} {address}")
    } else {
        format!("unit {unit} {table} {address}..{last}")
    }
}

/// Joins `items` with commas, keeping the first [`MAX_VALUES`] and counting the rest.
pub fn list<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let mut text = String::new();
    let mut omitted = 0usize;
    for (i, item) in items.enumerate() {
        if i >= MAX_VALUES {
            omitted += 1;
            continue;
        }
        if i > 0 {
            text.push(',');
        }
        let _ = write!(text, "{item}");
    }
    if omitted > 0 {
        let _ = write!(text, ",…+{omitted}");
    }
    text
}

/// Register values, decimal.
pub fn registers(bytes: &[u8]) -> String {
    list(Registers::new(bytes))
}

/// The first `quantity` bits of packed coil bytes, LSB of the first byte first.
pub fn bits(bytes: &[u8], quantity: u16) -> String {
    list((0..usize::from(quantity)).map_while(|i| bit(bytes, i).map(u8::from)))
}

/// FC 5's value: `on`, `off`, or the raw word when it is neither.
pub fn coil(value: u16) -> String {
    match value {
        0xff00 => "on".to_owned(),
        0x0000 => "off".to_owned(),
        other => format!("0x{other:04x}"),
    }
}

/// FC 21: `unit U file F record R..E` per record, joined by `; `, and the values likewise.
pub fn file_records<'a>(
    unit: u8,
    records: impl Iterator<Item = FileRecord<'a>>,
) -> (String, String) {
    let (mut targets, mut values) = (Vec::new(), Vec::new());
    for r in records {
        let last = u32::from(r.record) + u32::from(r.length.max(1)) - 1;
        targets.push(if r.length <= 1 {
            format!("unit {unit} file {} record {}", r.file, r.record)
        } else {
            format!("unit {unit} file {} record {}..{last}", r.file, r.record)
        });
        values.push(registers(r.data));
    }
    (targets.join("; "), values.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_inclusive_ranges() {
        assert_eq!(
            range_target(1, "holding", 100, 10),
            "unit 1 holding 100..109"
        );
        assert_eq!(range_target(1, "coil", 7, 1), "unit 1 coil 7");
        assert_eq!(
            range_target(255, "holding", 65535, 1),
            "unit 255 holding 65535"
        );
    }

    #[test]
    fn long_lists_are_cut_and_counted() {
        let bytes: Vec<u8> = (0u16..40).flat_map(u16::to_be_bytes).collect();
        let text = registers(&bytes);
        assert!(text.starts_with("0,1,2,"));
        assert!(text.ends_with(",31,…+8"), "{text}");
        assert_eq!(bits(&[0b0000_0101, 0b1], 9), "1,0,1,0,0,0,0,0,1");
        assert_eq!(coil(0xff00), "on");
        assert_eq!(coil(0x1234), "0x1234");
    }
}
