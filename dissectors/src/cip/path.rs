//! EPATH (padded) segments of request paths, connection paths and route paths.
//!
//! Segment type is the top three bits of the first byte:
//! - `000` port segment: port id in the low nibble (15 = a 16-bit port follows), bit 4 set
//!   when the link address is longer than one byte (then a size byte precedes it);
//! - `001` logical segment: type in bits 2..4 (class, instance, member, connection point,
//!   attribute, special, service id), format in bits 0..1 (8-bit, 16-bit or 32-bit; the wider
//!   forms have a pad byte before the value);
//! - `010` network segment (one data byte, or a word count for 0x5X);
//! - `011` symbolic segment (length in the low five bits);
//! - `100` data segment: 0x80 simple data (word count), 0x91 ANSI extended symbolic (byte
//!   count, name, pad to even).
//!
//! [`Segments`] iterates; [`summarize`] keeps what a target needs.

use super::Reader;

/// One EPATH segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    Port {
        port: u16,
        link: &'a [u8],
    },
    Class(u32),
    Instance(u32),
    /// A member id; after a symbol, an array element index.
    Member(u32),
    ConnectionPoint(u32),
    Attribute(u32),
    /// Special or service-id logical segment, or a reserved logical format.
    OtherLogical {
        kind: u8,
        value: u32,
    },
    /// ANSI extended symbolic name (0x91) or a plain symbolic segment.
    Symbol(&'a [u8]),
    /// Simple data segment (0x80) words.
    Data(&'a [u8]),
    /// Network segment (0x40..0x5F): its data.
    Network {
        kind: u8,
        data: &'a [u8],
    },
}

/// Iterator over the segments of a padded EPATH; stops (and sets `malformed`) at bytes that
/// do not form a segment.
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    r: Reader<'a>,
    pub malformed: bool,
}

/// The segments of `path`.
pub fn segments(path: &[u8]) -> Segments<'_> {
    Segments {
        r: Reader::new(path),
        malformed: false,
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        if self.r.is_empty() || self.malformed {
            return None;
        }
        let seg = segment(&mut self.r);
        if seg.is_none() {
            self.malformed = true;
        }
        seg
    }
}

fn segment<'a>(r: &mut Reader<'a>) -> Option<Segment<'a>> {
    let first = r.u8()?;
    match first >> 5 {
        0b000 => {
            let extended = first & 0x10 != 0;
            let size = if extended { usize::from(r.u8()?) } else { 1 };
            let port = match first & 0x0F {
                0x0F => r.u16()?,
                p => u16::from(p),
            };
            let link = r.take(size)?;
            // The whole segment is padded to an even length.
            let used = 1 + usize::from(extended) + if first & 0x0F == 0x0F { 2 } else { 0 } + size;
            if used % 2 == 1 {
                r.take(1)?;
            }
            Some(Segment::Port { port, link })
        }
        0b001 => {
            let kind = (first >> 2) & 0x07;
            let value = match first & 0x03 {
                0 => u32::from(r.u8()?),
                1 => {
                    r.u8()?;
                    u32::from(r.u16()?)
                }
                2 => {
                    r.u8()?;
                    r.u32()?
                }
                _ => return None,
            };
            Some(match kind {
                0 => Segment::Class(value),
                1 => Segment::Instance(value),
                2 => Segment::Member(value),
                3 => Segment::ConnectionPoint(value),
                4 => Segment::Attribute(value),
                _ => Segment::OtherLogical { kind, value },
            })
        }
        0b010 => {
            let data = if first & 0x10 != 0 {
                let words = r.u8()?;
                r.take(usize::from(words) * 2)?
            } else {
                r.take(1)?
            };
            Some(Segment::Network { kind: first, data })
        }
        0b011 => {
            let len = usize::from(first & 0x1F);
            if len == 0 {
                return None;
            }
            let name = r.take(len)?;
            if (1 + len) % 2 == 1 {
                r.take(1)?;
            }
            Some(Segment::Symbol(name))
        }
        0b100 => match first {
            0x80 => {
                let words = r.u8()?;
                Some(Segment::Data(r.take(usize::from(words) * 2)?))
            }
            0x91 => {
                let len = usize::from(r.u8()?);
                let name = r.take(len)?;
                if len % 2 == 1 {
                    r.take(1)?;
                }
                Some(Segment::Symbol(name))
            }
            _ => None,
        },
        _ => None,
    }
}

/// What a request path addresses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub class: Option<u32>,
    pub instance: Option<u32>,
    pub attribute: Option<u32>,
    pub member: Option<u32>,
    pub connection_point: Option<u32>,
    /// Whether the path names a tag (has a symbolic segment).
    pub symbolic: bool,
    /// The path did not parse to its end.
    pub malformed: bool,
}

/// Summarises a request path: the last class / instance / attribute it names.
pub fn summarize(path: &[u8]) -> Summary {
    let mut s = Summary::default();
    let mut it = segments(path);
    for seg in it.by_ref() {
        match seg {
            Segment::Class(v) => s.class = Some(v),
            Segment::Instance(v) => s.instance = Some(v),
            Segment::Attribute(v) => s.attribute = Some(v),
            Segment::Member(v) => s.member = Some(v),
            Segment::ConnectionPoint(v) => s.connection_point = Some(v),
            Segment::Symbol(_) => s.symbolic = true,
            _ => {}
        }
    }
    s.malformed = it.malformed;
    s
}
