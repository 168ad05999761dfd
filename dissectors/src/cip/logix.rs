//! Logix tag services and CIP elementary data types.
//!
//! Write Tag (0x4D): data type (u16; 0x02A0 is a structure followed by its 16-bit handle),
//! element count (u16), data. Write Tag Fragmented (0x53): the same plus a 32-bit byte offset
//! before the data. Read-Modify-Write Tag (0x4E): mask size (u16), OR masks, AND masks.

use super::Reader;

/// The structure marker of a data type: a 16-bit structure handle follows.
pub const STRUCTURE: u16 = 0x02A0;

/// A Write Tag or Write Tag Fragmented request's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteTag<'a> {
    pub data_type: u16,
    /// Structure handle, when `data_type` is [`STRUCTURE`].
    pub structure_handle: Option<u16>,
    pub elements: u16,
    /// Byte offset of this fragment (Write Tag Fragmented); `None` for Write Tag.
    pub offset: Option<u32>,
    pub value: &'a [u8],
}

/// Reads a Write Tag (`fragmented` false) or Write Tag Fragmented request's data.
pub fn parse_write_tag(data: &[u8], fragmented: bool) -> Option<WriteTag<'_>> {
    let mut r = Reader::new(data);
    let data_type = r.u16()?;
    let structure_handle = if data_type == STRUCTURE {
        Some(r.u16()?)
    } else {
        None
    };
    let elements = r.u16()?;
    let offset = if fragmented { Some(r.u32()?) } else { None };
    Some(WriteTag {
        data_type,
        structure_handle,
        elements,
        offset,
        value: r.rest(),
    })
}

/// A Read-Modify-Write Tag request's masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadModifyWrite<'a> {
    pub or_mask: &'a [u8],
    pub and_mask: &'a [u8],
}

/// Reads a Read-Modify-Write Tag request's data.
pub fn parse_read_modify_write(data: &[u8]) -> Option<ReadModifyWrite<'_>> {
    let mut r = Reader::new(data);
    let size = usize::from(r.u16()?);
    let or_mask = r.take(size)?;
    let and_mask = r.take(size)?;
    Some(ReadModifyWrite { or_mask, and_mask })
}

/// An elementary CIP data type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    Bool,
    Sint,
    Int,
    Dint,
    Lint,
    Usint,
    Uint,
    Udint,
    Ulint,
    Real,
    Lreal,
    Byte,
    Word,
    Dword,
    Lword,
}

impl DataType {
    /// The type of a data type code (0xC1..=0xCB, 0xD1..=0xD4); `None` for others.
    pub fn from_code(code: u16) -> Option<DataType> {
        use DataType::*;
        Some(match code {
            0xC1 => Bool,
            0xC2 => Sint,
            0xC3 => Int,
            0xC4 => Dint,
            0xC5 => Lint,
            0xC6 => Usint,
            0xC7 => Uint,
            0xC8 => Udint,
            0xC9 => Ulint,
            0xCA => Real,
            0xCB => Lreal,
            0xD1 => Byte,
            0xD2 => Word,
            0xD3 => Dword,
            0xD4 => Lword,
            _ => return None,
        })
    }

    /// Bytes of one element.
    pub fn size(self) -> usize {
        use DataType::*;
        match self {
            Bool | Sint | Usint | Byte => 1,
            Int | Uint | Word => 2,
            Dint | Udint | Real | Dword => 4,
            Lint | Ulint | Lreal | Lword => 8,
        }
    }

    pub fn name(self) -> &'static str {
        use DataType::*;
        match self {
            Bool => "BOOL",
            Sint => "SINT",
            Int => "INT",
            Dint => "DINT",
            Lint => "LINT",
            Usint => "USINT",
            Uint => "UINT",
            Udint => "UDINT",
            Ulint => "ULINT",
            Real => "REAL",
            Lreal => "LREAL",
            Byte => "BYTE",
            Word => "WORD",
            Dword => "DWORD",
            Lword => "LWORD",
        }
    }

    /// Decodes one element from exactly `self.size()` little-endian bytes.
    pub fn decode(self, b: &[u8]) -> Option<Value> {
        use DataType::*;
        if b.len() != self.size() {
            return None;
        }
        let mut w = [0u8; 8];
        w[..b.len()].copy_from_slice(b);
        let u = u64::from_le_bytes(w);
        Some(match self {
            Bool => Value::Bool(u != 0),
            Sint => Value::Int(i64::from(b[0] as i8)),
            Int => Value::Int(i64::from(u as u16 as i16)),
            Dint => Value::Int(i64::from(u as u32 as i32)),
            Lint => Value::Int(u as i64),
            Usint | Uint | Udint | Ulint | Byte | Word | Dword | Lword => Value::Uint(u),
            Real => Value::Real(f32::from_bits(u as u32)),
            Lreal => Value::Lreal(f64::from_bits(u)),
        })
    }
}

/// One decoded element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Real(f32),
    Lreal(f64),
}

impl Value {
    /// The element as a number (BOOL as 0/1).
    pub fn as_f64(self) -> f64 {
        match self {
            Value::Bool(b) => f64::from(u8::from(b)),
            Value::Int(i) => i as f64,
            Value::Uint(u) => u as f64,
            Value::Real(r) => f64::from(r),
            Value::Lreal(r) => r,
        }
    }
}

impl std::fmt::Display for Value {
    /// Integers in decimal, BOOL as 1/0, floats as the shortest decimal that reads back to the
    /// same value, with `.0` when it is whole (`95.0`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn float(f: &mut std::fmt::Formatter<'_>, text: String) -> std::fmt::Result {
            if text.contains(['.', 'e', 'N', 'i']) {
                f.write_str(&text)
            } else {
                write!(f, "{text}.0")
            }
        }
        match *self {
            Value::Bool(b) => write!(f, "{}", u8::from(b)),
            Value::Int(i) => write!(f, "{i}"),
            Value::Uint(u) => write!(f, "{u}"),
            Value::Real(r) => float(f, format!("{r}")),
            Value::Lreal(r) => float(f, format!("{r}")),
        }
    }
}
