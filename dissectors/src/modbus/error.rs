//! Errors of the Modbus/TCP dissector.
//!
//! [`MbapError`] says why bytes can never start an ADU (framing); [`ModbusError`] says which
//! field of a PDU is wrong and why. Both are small, `Copy`-cheap values that borrow nothing, so
//! a caller can keep them in a counter table or an alert row without a lifetime. Neither type
//! says where the PDU came from: the caller adds the flow and frame.

use thiserror::Error;

/// Why bytes can never be the start of a Modbus/TCP ADU.
///
/// Returned inside [`super::Framing::Invalid`]; the reassembler resynchronises from here
/// (see [`super::plausible_mbap`]) instead of waiting for more bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum MbapError {
    /// The protocol identifier is not 0, the only value Modbus uses.
    #[error("modbus: MBAP protocol id {protocol_id} is not 0")]
    ProtocolId { protocol_id: u16 },

    /// The length field (unit id + PDU) is below 2 (no function code) or above 254 (a PDU of
    /// more than 253 bytes).
    #[error("modbus: MBAP length {length} out of range 2..=254")]
    Length { length: u16 },
}

/// Why a PDU is malformed.
///
/// Every variant names the function code and the field; `Display` reads as one sentence, for
/// example `modbus: FC 16 byte count 7 does not match quantity 4 (needs 8)`. A PDU that
/// triggers one of these is still a fact worth recording: the caller keeps the MBAP header and
/// counts the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum ModbusError {
    /// The PDU has no function code byte at all.
    #[error("modbus: empty PDU, no function code")]
    Empty,

    /// Function code 0 (either direction), 128 (either direction) or an exception code
    /// (129..=255) in a request.
    #[error("modbus: function code {function} is not valid in a {role}")]
    InvalidFunction { function: u8, role: &'static str },

    /// The PDU ends inside `field`; `needed` is the PDU length that field requires.
    #[error("modbus: FC {function} PDU is {len} bytes, needs {needed} ({field})")]
    Truncated {
        function: u8,
        field: &'static str,
        len: usize,
        needed: usize,
    },

    /// The PDU goes on after its last field; `expected` is the length the fields account for.
    #[error("modbus: FC {function} PDU is {len} bytes, expected {expected} (trailing bytes)")]
    Trailing {
        function: u8,
        len: usize,
        expected: usize,
    },

    /// A quantity (coils, registers, FIFO entries) outside the range the specification allows.
    #[error("modbus: FC {function} {field} {value} out of range {min}..={max}")]
    Quantity {
        function: u8,
        field: &'static str,
        value: u16,
        min: u16,
        max: u16,
    },

    /// A byte count that disagrees with the count it must be derived from.
    #[error(
        "modbus: FC {function} byte count {byte_count} does not match {of} {value} \
         (needs {needed})"
    )]
    ByteCount {
        function: u8,
        byte_count: usize,
        of: &'static str,
        value: usize,
        needed: usize,
    },

    /// A sub-structure (file record, sub-response) runs past the byte count that bounds it;
    /// `needed` is the byte count it would take.
    #[error("modbus: FC {function} {field} overruns byte count {byte_count} (needs {needed})")]
    Overrun {
        function: u8,
        field: &'static str,
        byte_count: usize,
        needed: usize,
    },

    /// Any other field whose value the specification rules out.
    #[error("modbus: FC {function} {field} {value}, expected {expected}")]
    Field {
        function: u8,
        field: &'static str,
        value: u32,
        expected: &'static str,
    },
}
