//! The OPC UA binary encoding (Part 6, 5.2): built-in types read from a borrowed buffer.
//!
//! [`Reader`] walks a message body. Every read is bounds-checked and returns
//! [`DecodeError`] instead of panicking; arrays are bounded by [`MAX_ARRAY_LEN`] and by the
//! bytes left, and nested types (Variant in DataValue in Variant, DiagnosticInfo chains,
//! ExtensionObject bodies) by [`MAX_DEPTH`]. Strings and byte strings borrow from the input.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use thiserror::Error;

/// Deepest nesting of Variant / DataValue / DiagnosticInfo accepted.
pub const MAX_DEPTH: u32 = 16;
/// Largest array length accepted (elements), whatever the element type.
pub const MAX_ARRAY_LEN: usize = 1 << 20;

/// Why bytes do not decode: the field and the offset in the buffer read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
#[error("opcua: cannot decode {what} at offset {offset}")]
pub struct DecodeError {
    pub what: &'static str,
    pub offset: usize,
}

/// A cursor over a little-endian OPC UA binary buffer.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    depth: u32,
}

/// A NodeId's identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Identifier<'a> {
    Numeric(u32),
    /// UTF-8 bytes; `None` for a null string.
    String(Option<&'a [u8]>),
    Guid([u8; 16]),
    Opaque(Option<&'a [u8]>),
}

/// A NodeId in any of its six encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeId<'a> {
    pub namespace: u16,
    pub identifier: Identifier<'a>,
}

impl NodeId<'_> {
    /// The numeric id when this is a namespace-0 numeric NodeId (service and type ids).
    pub fn ns0_numeric(&self) -> Option<u32> {
        match (self.namespace, self.identifier) {
            (0, Identifier::Numeric(n)) => Some(n),
            _ => None,
        }
    }

    /// Whether this is the null NodeId (`i=0`).
    pub fn is_null(&self) -> bool {
        self.ns0_numeric() == Some(0)
    }
}

/// Renders `ns=2;s=Oven.SP`, `i=85`, `ns=1;g=…`, `ns=3;b=<base64>` (the namespace is left out
/// when 0), as the OPC UA text notation writes them.
impl fmt::Display for NodeId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace != 0 {
            write!(f, "ns={};", self.namespace)?;
        }
        match self.identifier {
            Identifier::Numeric(n) => write!(f, "i={n}"),
            Identifier::String(s) => write!(f, "s={}", lossy(s.unwrap_or_default())),
            Identifier::Guid(g) => write!(f, "g={}", guid_text(&g)),
            Identifier::Opaque(b) => write!(f, "b={}", STANDARD.encode(b.unwrap_or_default())),
        }
    }
}

/// An ExpandedNodeId: a NodeId with an optional namespace URI and server index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExpandedNodeId<'a> {
    pub node: NodeId<'a>,
    pub namespace_uri: Option<&'a [u8]>,
    pub server_index: u32,
}

impl fmt::Display for ExpandedNodeId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.server_index != 0 {
            write!(f, "svr={};", self.server_index)?;
        }
        match self.namespace_uri {
            Some(uri) => {
                write!(f, "nsu={};", lossy(uri))?;
                let plain = NodeId {
                    namespace: 0,
                    ..self.node
                };
                write!(f, "{plain}")
            }
            None => write!(f, "{}", self.node),
        }
    }
}

/// A ExtensionObject: its encoding's type id and its undecoded body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionObject<'a> {
    pub type_id: NodeId<'a>,
    /// 0 no body, 1 binary body, 2 XML body.
    pub encoding: u8,
    pub body: &'a [u8],
}

/// A LocalizedText.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LocalizedText<'a> {
    pub locale: Option<&'a [u8]>,
    pub text: Option<&'a [u8]>,
}

/// A DiagnosticInfo (only what callers use is kept; the chain depth is bounded).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DiagnosticInfo<'a> {
    pub symbolic_id: Option<i32>,
    pub additional_info: Option<&'a [u8]>,
    pub inner_status: Option<u32>,
    /// How many inner DiagnosticInfos follow this one.
    pub inner_depth: u32,
}

/// One value of a Variant.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar<'a> {
    Null,
    Boolean(bool),
    SByte(i8),
    Byte(u8),
    Int16(i16),
    UInt16(u16),
    Int32(i32),
    UInt32(u32),
    Int64(i64),
    UInt64(u64),
    Float(f32),
    Double(f64),
    String(Option<&'a [u8]>),
    /// 100 ns ticks since 1601-01-01 UTC.
    DateTime(i64),
    Guid([u8; 16]),
    ByteString(Option<&'a [u8]>),
    XmlElement(Option<&'a [u8]>),
    NodeId(NodeId<'a>),
    ExpandedNodeId(ExpandedNodeId<'a>),
    StatusCode(u32),
    QualifiedName(u16, Option<&'a [u8]>),
    LocalizedText(LocalizedText<'a>),
    ExtensionObject(ExtensionObject<'a>),
    DataValue(Box<DataValue<'a>>),
    Variant(Box<Variant<'a>>),
    DiagnosticInfo(Box<DiagnosticInfo<'a>>),
}

/// A Variant: a scalar, a one-dimensional array, or a matrix (array with dimensions).
#[derive(Clone, Debug, PartialEq)]
pub enum Variant<'a> {
    Scalar(Scalar<'a>),
    Array {
        type_id: u8,
        values: Vec<Scalar<'a>>,
        /// Present for a matrix.
        dimensions: Option<Vec<i32>>,
    },
}

impl Variant<'_> {
    /// Every value, whether scalar or array.
    pub fn values(&self) -> &[Scalar<'_>] {
        match self {
            Variant::Scalar(s) => std::slice::from_ref(s),
            Variant::Array { values, .. } => values,
        }
    }
}

/// A DataValue.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DataValue<'a> {
    pub value: Option<Variant<'a>>,
    pub status: Option<u32>,
    pub source_timestamp: Option<i64>,
    pub server_timestamp: Option<i64>,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader {
            data,
            pos: 0,
            depth: 0,
        }
    }

    /// Offset of the next byte to read.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn err(&self, what: &'static str) -> DecodeError {
        DecodeError {
            what,
            offset: self.pos,
        }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.err(what))?;
        let bytes = self.data.get(self.pos..end).ok_or_else(|| self.err(what))?;
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }
    pub fn bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        Ok(self.u8(what)? != 0)
    }
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    pub fn i32(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    pub fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }
    pub fn f64(&mut self, what: &'static str) -> Result<f64, DecodeError> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    /// A String, ByteString or XmlElement: Int32 length, -1 for null.
    pub fn bytes(&mut self, what: &'static str) -> Result<Option<&'a [u8]>, DecodeError> {
        let len = self.i32(what)?;
        if len < 0 {
            return Ok(None);
        }
        let len = usize::try_from(len).map_err(|_| self.err(what))?;
        self.take(len, what).map(Some)
    }

    /// An array length (-1 null counts as 0), bounded by [`MAX_ARRAY_LEN`] and by the bytes
    /// left given that every element takes at least `min_size` bytes.
    pub fn array_len(&mut self, min_size: usize, what: &'static str) -> Result<usize, DecodeError> {
        let at = self.pos;
        let len = self.i32(what)?;
        if len < 0 {
            return Ok(0);
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > MAX_ARRAY_LEN || len.saturating_mul(min_size.max(1)) > self.remaining() {
            return Err(DecodeError { what, offset: at });
        }
        Ok(len)
    }

    /// Reads `n` elements with `f`.
    pub fn list<T>(
        &mut self,
        min_size: usize,
        what: &'static str,
        mut f: impl FnMut(&mut Reader<'a>) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let n = self.array_len(min_size, what)?;
        let mut out = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            out.push(f(self)?);
        }
        Ok(out)
    }

    /// Skips an array of elements read by `f`.
    pub fn skip_list(
        &mut self,
        min_size: usize,
        what: &'static str,
        mut f: impl FnMut(&mut Reader<'a>) -> Result<(), DecodeError>,
    ) -> Result<usize, DecodeError> {
        let n = self.array_len(min_size, what)?;
        for _ in 0..n {
            f(self)?;
        }
        Ok(n)
    }

    pub fn guid(&mut self) -> Result<[u8; 16], DecodeError> {
        self.array("Guid")
    }

    pub fn node_id(&mut self) -> Result<NodeId<'a>, DecodeError> {
        let encoding = self.u8("NodeId encoding")?;
        self.node_id_body(encoding & 0x3f)
    }

    fn node_id_body(&mut self, encoding: u8) -> Result<NodeId<'a>, DecodeError> {
        let (namespace, identifier) = match encoding {
            0x00 => (0, Identifier::Numeric(u32::from(self.u8("NodeId")?))),
            0x01 => {
                let ns = u16::from(self.u8("NodeId namespace")?);
                (ns, Identifier::Numeric(u32::from(self.u16("NodeId")?)))
            }
            0x02 => {
                let ns = self.u16("NodeId namespace")?;
                (ns, Identifier::Numeric(self.u32("NodeId")?))
            }
            0x03 => {
                let ns = self.u16("NodeId namespace")?;
                (ns, Identifier::String(self.bytes("NodeId string")?))
            }
            0x04 => {
                let ns = self.u16("NodeId namespace")?;
                (ns, Identifier::Guid(self.guid()?))
            }
            0x05 => {
                let ns = self.u16("NodeId namespace")?;
                (ns, Identifier::Opaque(self.bytes("NodeId opaque")?))
            }
            _ => return Err(self.err("NodeId encoding")),
        };
        Ok(NodeId {
            namespace,
            identifier,
        })
    }

    pub fn expanded_node_id(&mut self) -> Result<ExpandedNodeId<'a>, DecodeError> {
        let encoding = self.u8("ExpandedNodeId encoding")?;
        let node = self.node_id_body(encoding & 0x3f)?;
        let namespace_uri = if encoding & 0x80 != 0 {
            self.bytes("ExpandedNodeId namespace URI")?
        } else {
            None
        };
        let server_index = if encoding & 0x40 != 0 {
            self.u32("ExpandedNodeId server index")?
        } else {
            0
        };
        Ok(ExpandedNodeId {
            node,
            namespace_uri,
            server_index,
        })
    }

    pub fn qualified_name(&mut self) -> Result<(u16, Option<&'a [u8]>), DecodeError> {
        Ok((self.u16("QualifiedName")?, self.bytes("QualifiedName")?))
    }

    pub fn localized_text(&mut self) -> Result<LocalizedText<'a>, DecodeError> {
        let mask = self.u8("LocalizedText mask")?;
        let mut text = LocalizedText::default();
        if mask & 0x01 != 0 {
            text.locale = self.bytes("LocalizedText locale")?;
        }
        if mask & 0x02 != 0 {
            text.text = self.bytes("LocalizedText text")?;
        }
        Ok(text)
    }

    pub fn extension_object(&mut self) -> Result<ExtensionObject<'a>, DecodeError> {
        let type_id = self.node_id()?;
        let encoding = self.u8("ExtensionObject encoding")?;
        let body = match encoding {
            0 => &[][..],
            1 | 2 => self.bytes("ExtensionObject body")?.unwrap_or_default(),
            _ => return Err(self.err("ExtensionObject encoding")),
        };
        Ok(ExtensionObject {
            type_id,
            encoding,
            body,
        })
    }

    fn enter(&mut self, what: &'static str) -> Result<(), DecodeError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(what));
        }
        self.depth += 1;
        Ok(())
    }

    pub fn diagnostic_info(&mut self) -> Result<DiagnosticInfo<'a>, DecodeError> {
        let mut info = DiagnosticInfo::default();
        let mut mask = self.u8("DiagnosticInfo mask")?;
        let mut level = 0u32;
        loop {
            if mask & 0x01 != 0 {
                let id = self.i32("DiagnosticInfo symbolic id")?;
                if level == 0 {
                    info.symbolic_id = Some(id);
                }
            }
            for bit in [0x02, 0x08, 0x04] {
                if mask & bit != 0 {
                    self.i32("DiagnosticInfo index")?;
                }
            }
            if mask & 0x10 != 0 {
                let text = self.bytes("DiagnosticInfo additional info")?;
                if level == 0 {
                    info.additional_info = text;
                }
            }
            if mask & 0x20 != 0 {
                let status = self.u32("DiagnosticInfo inner status")?;
                if level == 0 {
                    info.inner_status = Some(status);
                }
            }
            if mask & 0x40 == 0 {
                break;
            }
            level += 1;
            if level > MAX_DEPTH {
                return Err(self.err("DiagnosticInfo nesting"));
            }
            mask = self.u8("DiagnosticInfo mask")?;
        }
        info.inner_depth = level;
        Ok(info)
    }

    pub fn data_value(&mut self) -> Result<DataValue<'a>, DecodeError> {
        self.enter("DataValue nesting")?;
        let result = self.data_value_inner();
        self.depth -= 1;
        result
    }

    fn data_value_inner(&mut self) -> Result<DataValue<'a>, DecodeError> {
        let mask = self.u8("DataValue mask")?;
        let mut dv = DataValue::default();
        if mask & 0x01 != 0 {
            dv.value = Some(self.variant()?);
        }
        if mask & 0x02 != 0 {
            dv.status = Some(self.u32("DataValue status")?);
        }
        if mask & 0x04 != 0 {
            dv.source_timestamp = Some(self.i64("DataValue source timestamp")?);
        }
        if mask & 0x10 != 0 {
            self.u16("DataValue source picoseconds")?;
        }
        if mask & 0x08 != 0 {
            dv.server_timestamp = Some(self.i64("DataValue server timestamp")?);
        }
        if mask & 0x20 != 0 {
            self.u16("DataValue server picoseconds")?;
        }
        Ok(dv)
    }

    pub fn variant(&mut self) -> Result<Variant<'a>, DecodeError> {
        self.enter("Variant nesting")?;
        let result = self.variant_inner();
        self.depth -= 1;
        result
    }

    fn variant_inner(&mut self) -> Result<Variant<'a>, DecodeError> {
        let encoding = self.u8("Variant encoding")?;
        let type_id = encoding & 0x3f;
        if type_id > 25 {
            return Err(self.err("Variant type"));
        }
        if encoding & 0x80 == 0 {
            if encoding & 0x40 != 0 {
                return Err(self.err("Variant dimensions without array"));
            }
            return Ok(Variant::Scalar(self.scalar(type_id)?));
        }
        if type_id == 0 {
            return Err(self.err("Variant array of Null"));
        }
        let values = self.list(min_size(type_id), "Variant array length", |r| {
            r.scalar(type_id)
        })?;
        let dimensions = if encoding & 0x40 != 0 {
            Some(self.list(4, "Variant dimensions", |r| r.i32("Variant dimension"))?)
        } else {
            None
        };
        Ok(Variant::Array {
            type_id,
            values,
            dimensions,
        })
    }

    /// One value of built-in type `type_id` (1..=25; 0 is Null).
    pub fn scalar(&mut self, type_id: u8) -> Result<Scalar<'a>, DecodeError> {
        Ok(match type_id {
            0 => Scalar::Null,
            1 => Scalar::Boolean(self.bool("Boolean")?),
            2 => Scalar::SByte(i8::from_le_bytes(self.array("SByte")?)),
            3 => Scalar::Byte(self.u8("Byte")?),
            4 => Scalar::Int16(i16::from_le_bytes(self.array("Int16")?)),
            5 => Scalar::UInt16(self.u16("UInt16")?),
            6 => Scalar::Int32(self.i32("Int32")?),
            7 => Scalar::UInt32(self.u32("UInt32")?),
            8 => Scalar::Int64(self.i64("Int64")?),
            9 => Scalar::UInt64(self.u64("UInt64")?),
            10 => Scalar::Float(f32::from_le_bytes(self.array("Float")?)),
            11 => Scalar::Double(self.f64("Double")?),
            12 => Scalar::String(self.bytes("String")?),
            13 => Scalar::DateTime(self.i64("DateTime")?),
            14 => Scalar::Guid(self.guid()?),
            15 => Scalar::ByteString(self.bytes("ByteString")?),
            16 => Scalar::XmlElement(self.bytes("XmlElement")?),
            17 => Scalar::NodeId(self.node_id()?),
            18 => Scalar::ExpandedNodeId(self.expanded_node_id()?),
            19 => Scalar::StatusCode(self.u32("StatusCode")?),
            20 => {
                let (ns, name) = self.qualified_name()?;
                Scalar::QualifiedName(ns, name)
            }
            21 => Scalar::LocalizedText(self.localized_text()?),
            22 => Scalar::ExtensionObject(self.extension_object()?),
            23 => Scalar::DataValue(Box::new(self.data_value()?)),
            24 => Scalar::Variant(Box::new(self.variant()?)),
            25 => {
                self.enter("DiagnosticInfo nesting")?;
                let info = self.diagnostic_info();
                self.depth -= 1;
                Scalar::DiagnosticInfo(Box::new(info?))
            }
            _ => return Err(self.err("Variant type")),
        })
    }
}

/// The fewest bytes one element of a built-in type takes.
fn min_size(type_id: u8) -> usize {
    match type_id {
        1..=3 => 1,
        4 | 5 => 2,
        6 | 7 | 10 | 12 | 15 | 16 | 19 => 4,
        8 | 9 | 11 | 13 => 8,
        14 => 16,
        20 => 6,
        _ => 1,
    }
}

/// UTF-8 text of a string field, invalid sequences replaced.
pub fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// A Guid as `72962b91-fa75-4ae6-8d28-b404dc7daf63` (first three groups little-endian).
pub fn guid_text(g: &[u8; 16]) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{}",
        u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
        u16::from_le_bytes([g[4], g[5]]),
        u16::from_le_bytes([g[6], g[7]]),
        g[8],
        g[9],
        g[10..]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}
