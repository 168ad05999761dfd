//! S7comm-plus (protocol id 0x72): the frame header (versions 1, 2, 3 and the 0xFE system
//! frames), the integrity part of V3, and the fixed head of requests, responses and
//! notifications: opcode, function, sequence number, session id.
//!
//! Only what an auditor needs is decoded: which function was asked for, by which request, and
//! for the write-like functions the object and first attribute they address. Values use a
//! typed variable-length encoding and are not decoded here. A PDU longer than one COTP unit
//! continues in further frames whose data starts without an opcode; [`parse_frame`] reports
//! those as [`Body::Continuation`]. Frames whose payload is a TLS record (newer firmware)
//! are not S7comm-plus at all here: [`is_tls_record`] tells them apart.
//!
//! Contract: pure functions of `&[u8]`, no panic on any input.

use thiserror::Error;

/// The S7comm-plus protocol identifier.
pub const PROTOCOL_ID: u8 = 0x72;

/// Opcodes.
pub mod opcode {
    pub const REQUEST: u8 = 0x31;
    pub const RESPONSE: u8 = 0x32;
    pub const NOTIFICATION: u8 = 0x33;
    pub const RESPONSE2: u8 = 0x02;
}

/// Function codes.
pub mod function {
    pub const ERROR: u16 = 0x04b1;
    pub const EXPLORE: u16 = 0x04bb;
    pub const CREATE_OBJECT: u16 = 0x04ca;
    pub const DELETE_OBJECT: u16 = 0x04d4;
    pub const SET_VARIABLE: u16 = 0x04f2;
    pub const GET_VARIABLE: u16 = 0x04fc;
    pub const ADD_LINK: u16 = 0x0506;
    pub const REMOVE_LINK: u16 = 0x051a;
    pub const GET_LINK: u16 = 0x0524;
    pub const SET_MULTI_VARIABLES: u16 = 0x0542;
    pub const GET_MULTI_VARIABLES: u16 = 0x054c;
    pub const BEGIN_SEQUENCE: u16 = 0x0556;
    pub const END_SEQUENCE: u16 = 0x0560;
    pub const INVOKE: u16 = 0x056b;
    pub const SET_VAR_SUB_STREAMED: u16 = 0x057c;
    pub const GET_VAR_SUB_STREAMED: u16 = 0x0586;
    pub const GET_VARIABLES_ADDRESS: u16 = 0x0590;
    pub const ABORT: u16 = 0x059a;
    pub const ERROR2: u16 = 0x05a9;
    pub const INIT_SSL: u16 = 0x05b3;
}

/// Name of a function code.
pub fn function_name(code: u16) -> &'static str {
    match code {
        function::ERROR => "Error",
        function::EXPLORE => "Explore",
        function::CREATE_OBJECT => "CreateObject",
        function::DELETE_OBJECT => "DeleteObject",
        function::SET_VARIABLE => "SetVariable",
        function::GET_VARIABLE => "GetVariable",
        function::ADD_LINK => "AddLink",
        function::REMOVE_LINK => "RemoveLink",
        function::GET_LINK => "GetLink",
        function::SET_MULTI_VARIABLES => "SetMultiVariables",
        function::GET_MULTI_VARIABLES => "GetMultiVariables",
        function::BEGIN_SEQUENCE => "BeginSequence",
        function::END_SEQUENCE => "EndSequence",
        function::INVOKE => "Invoke",
        function::SET_VAR_SUB_STREAMED => "SetVarSubStreamed",
        function::GET_VAR_SUB_STREAMED => "GetVarSubStreamed",
        function::GET_VARIABLES_ADDRESS => "GetVariablesAddress",
        function::ABORT => "Abort",
        function::ERROR2 => "Error2",
        function::INIT_SSL => "InitSsl",
        _ => "Unknown",
    }
}

/// Why bytes are not an S7comm-plus frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum PlusError {
    #[error("s7comm-plus: protocol id 0x{id:02x} is not 0x72")]
    ProtocolId { id: u8 },
    #[error("s7comm-plus: {field} needs {needed} bytes, {available} present")]
    Truncated {
        field: &'static str,
        needed: usize,
        available: usize,
    },
}

/// The head of an S7comm-plus frame's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head<'a> {
    pub opcode: u8,
    pub function: u16,
    pub sequence: u16,
    /// Session id of requests (0 before the session exists).
    pub session_id: Option<u32>,
    /// Bytes after the fixed head (after the transport flags).
    pub body: &'a [u8],
}

/// What a frame's data holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    Head(Head<'a>),
    /// Data without an opcode: the continuation of a longer PDU (or a keep-alive).
    Continuation(&'a [u8]),
}

/// One S7comm-plus frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub version: u8,
    /// The V3 integrity digest, when present.
    pub digest: Option<&'a [u8]>,
    pub body: Body<'a>,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Parses one S7comm-plus frame (a whole COTP TSDU starting with 0x72).
pub fn parse_frame(tsdu: &[u8]) -> Result<Frame<'_>, PlusError> {
    let &id = tsdu.first().ok_or(PlusError::Truncated {
        field: "header",
        needed: 4,
        available: 0,
    })?;
    if id != PROTOCOL_ID {
        return Err(PlusError::ProtocolId { id });
    }
    if tsdu.len() < 4 {
        return Err(PlusError::Truncated {
            field: "header",
            needed: 4,
            available: tsdu.len(),
        });
    }
    let version = tsdu[1];
    let mut data = &tsdu[4..];
    let mut digest = None;
    if version == 0x03 {
        if let Some((&len, rest)) = data.split_first() {
            if let Some(d) = rest.get(..usize::from(len)) {
                digest = Some(d);
                data = &rest[d.len()..];
            }
        }
    }
    let body = match *data {
        [op @ (opcode::REQUEST | opcode::RESPONSE | opcode::NOTIFICATION | opcode::RESPONSE2), ..]
            if data.len() >= 9 =>
        {
            let function = be16(data, 3).unwrap_or(0);
            let sequence = be16(data, 7).unwrap_or(0);
            let (session_id, body) = if op == opcode::REQUEST {
                (be32(data, 9), data.get(14..).unwrap_or(&[]))
            } else {
                (None, data.get(10..).unwrap_or(&[]))
            };
            Body::Head(Head {
                opcode: op,
                function,
                sequence,
                session_id,
                body,
            })
        }
        _ => Body::Continuation(data),
    };
    Ok(Frame {
        version,
        digest,
        body,
    })
}

/// Reads an S7comm-plus variable-length unsigned integer (7 bits per byte, most significant
/// first, high bit set on every byte but the last); returns it and the bytes used.
pub fn vlq_u32(b: &[u8]) -> Option<(u32, usize)> {
    let mut v: u32 = 0;
    for (i, &byte) in b.iter().enumerate().take(5) {
        v = (v << 7) | u32::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// The object and first attribute a SetVariable / SetMultiVariables request addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetAddress<'a> {
    pub object: u32,
    /// First attribute id (SetVariable only).
    pub attribute: Option<u32>,
    /// The bytes after the attribute id: the value, in S7comm-plus's typed encoding (flags,
    /// datatype, then the value).
    pub value: &'a [u8],
}

impl SetAddress<'_> {
    /// The value when it is a single small unsigned integer (datatype byte 0x02 USInt … 0x04
    /// UDInt and the like are encoded as flags, datatype, VLQ).
    pub fn small_value(&self) -> Option<u32> {
        match self.value {
            [_flags, _datatype, rest @ ..] => vlq_u32(rest).map(|(v, _)| v),
            _ => None,
        }
    }
}

/// Reads the fixed part of a set request's body: SetVariable carries the object id as 4
/// bytes, then the attribute count and ids (VLQ), then the value; SetMultiVariables and
/// SetVarSubStreamed start with the object id too.
pub fn set_address(function_code: u16, body: &[u8]) -> Option<SetAddress<'_>> {
    let object = be32(body, 0)?;
    let rest = body.get(4..)?;
    let mut address = SetAddress {
        object,
        attribute: None,
        value: &[],
    };
    if function_code == function::SET_VARIABLE {
        let (count, n) = vlq_u32(rest)?;
        if count > 0 {
            let after = rest.get(n..)?;
            let (attribute, m) = vlq_u32(after)?;
            address.attribute = Some(attribute);
            address.value = &after[m..];
        }
    }
    Some(address)
}

/// Object id of the PLC program, parent of the block objects a download or upload creates.
pub const PLC_PROGRAM_OBJECT: u32 = 0x03;

/// A CreateObject request's parent (the request id, 4 bytes) and the relation id of the new
/// object (4 bytes after the object start tag 0xA1 that follows a few header bytes).
pub fn create_object_ids(body: &[u8]) -> Option<(u32, Option<u32>)> {
    let parent = be32(body, 0)?;
    let window = body.get(4..body.len().min(16))?;
    let relation = window
        .iter()
        .position(|&b| b == 0xa1)
        .and_then(|at| be32(body, 4 + at + 1));
    Some((parent, relation))
}

/// Name of a block relation id: `DB1` for 0x8A0E_0001, `OB1` for 0x8A32_0001; `None` for
/// ids outside the block ranges.
pub fn block_name(relation: u32) -> Option<String> {
    let number = relation & 0xffff;
    let kind = match relation >> 16 {
        0x8a0e => "DB",
        0x8a32 => "OB",
        _ => return None,
    };
    Some(format!("{kind}{number}"))
}

/// Whether a COTP payload is a TLS record rather than S7comm-plus (TLS-protected S7comm-plus
/// of newer firmware).
pub fn is_tls_record(payload: &[u8]) -> bool {
    matches!(payload, [0x14..=0x17, 0x03, 0x00..=0x04, ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    // V1 frame: CreateObject request, sequence 1, session 0x120, transport flags 0x36.
    const CREATE: &[u8] = &[
        0x72, 0x01, 0x00, 0x10, // id, version 1, length 16
        0x31, 0x00, 0x00, 0x04, 0xca, 0x00, 0x00, 0x00, 0x01, // request, CreateObject, seq 1
        0x00, 0x00, 0x01, 0x20, 0x36, // session id, flags
        0x00, // body
    ];

    #[test]
    fn head_of_a_request() {
        let frame = parse_frame(CREATE).unwrap();
        let Body::Head(head) = frame.body else {
            panic!("a head")
        };
        assert_eq!(head.function, function::CREATE_OBJECT);
        assert_eq!(head.sequence, 1);
        assert_eq!(head.session_id, Some(0x120));
        assert_eq!(function_name(head.function), "CreateObject");
    }

    #[test]
    fn v3_skips_the_digest() {
        let mut v3 = vec![0x72, 0x03, 0x00, 0x30, 0x20];
        v3.extend_from_slice(&[0xaa; 32]);
        v3.extend_from_slice(&CREATE[4..]);
        let frame = parse_frame(&v3).unwrap();
        assert_eq!(frame.digest.map(<[u8]>::len), Some(32));
        assert!(matches!(frame.body, Body::Head(h) if h.function == function::CREATE_OBJECT));
    }

    #[test]
    fn set_variable_of_the_cpu_state() {
        // SetVariable on object 0x34 (the CPU), 1 attribute, 2167 (0x90 0x77), value 1 (stop).
        let body = [
            0x00, 0x00, 0x00, 0x34, 0x01, 0x90, 0x77, 0x00, 0x08, 0x01, 0x00,
        ];
        let a = set_address(function::SET_VARIABLE, &body).unwrap();
        assert_eq!((a.object, a.attribute), (0x34, Some(2167)));
        assert_eq!(a.small_value(), Some(1));
    }

    #[test]
    fn create_object_of_a_block() {
        // CreateObject under the PLC program (3) of DB1 (relation 0x8a0e0001), as TIA sends it
        // during a download.
        let body = [
            0x00, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0xa1, 0x8a,
            0x0e, 0x00, 0x01, 0x94, 0x0e,
        ];
        assert_eq!(create_object_ids(&body[..13]).unwrap().1, None);
        let (parent, relation) = create_object_ids(&body).unwrap();
        assert_eq!(parent, PLC_PROGRAM_OBJECT);
        assert_eq!(relation.and_then(block_name).as_deref(), Some("DB1"));
        assert_eq!(block_name(0x8a32_0001).as_deref(), Some("OB1"));
        assert_eq!(block_name(0x7000_0001), None);
    }

    #[test]
    fn vlq_and_prefixes() {
        assert_eq!(vlq_u32(&[0x90, 0x77]), Some((0x877, 2)));
        assert_eq!(vlq_u32(&[0x05]), Some((5, 1)));
        assert_eq!(vlq_u32(&[0x80; 6]), None);
        for n in 0..CREATE.len() {
            let _ = parse_frame(&CREATE[..n]);
            let _ = set_address(function::SET_VARIABLE, &CREATE[n..]);
            let _ = create_object_ids(&CREATE[n..]);
        }
        assert!(is_tls_record(&[0x16, 0x03, 0x01, 0x00]));
    }
}
