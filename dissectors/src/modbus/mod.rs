//! Modbus/TCP: framing of the byte stream into ADUs and decoding of request and response PDUs.
//!
//! The pipeline calls three things, in order:
//!
//! 1. [`frame_adu`] on a reassembled TCP direction: one ADU, or how many bytes to wait for, or
//!    proof that the bytes are not Modbus ([`plausible_mbap`] finds the next ADU after a gap
//!    and recognises Modbus on ports other than 502);
//! 2. [`parse_request`] on a client's PDU, or [`parse_response`] on a server's;
//! 3. [`Request::class`] to tell reads from writes, control and diagnostics, and the name
//!    tables ([`function_name`], [`diagnostic_name`], [`device_object_name`]) for display.
//!
//! Contract:
//! - zero-copy: every variable-length field borrows from the input; nothing here allocates;
//! - no panic on any input, checked by truncation tests over every fixture;
//! - incomplete and invalid are different answers: [`Framing::Incomplete`] means "wait",
//!   [`Framing::Invalid`] and [`ModbusError`] mean the bytes are malformed, with the field;
//! - function codes are open: user-defined and vendor codes (UMAS 90 and the like) are
//!   [`Request::Other`] / [`Response::Other`], never errors.
//!
//! Not done here: request/response matching by transaction id, the meaning of registers, TLS
//! (Modbus/TCP Security on port 802), Modbus RTU over TCP (no MBAP, a CRC instead), and
//! decoding of UMAS or other vendor payloads.

mod device_id;
mod error;
mod file_record;
mod mbap;
mod names;
mod parser;
mod types;

#[cfg(test)]
mod tests;

pub use device_id::{device_object_name, object, DeviceObject, DeviceObjects};
pub use error::{MbapError, ModbusError};
pub use file_record::{FileRecord, FileRecords, FileSubRequest, FileSubRequests};
pub use file_record::{FileSubResponses, FILE_REFERENCE_TYPE};
pub use mbap::{frame_adu, plausible_mbap, Adu, Framing, Mbap, MAX_ADU_LEN, MBAP_LEN, MIN_ADU_LEN};
pub use names::{diagnostic_name, exception_name, function_name};
pub use parser::{parse_request, parse_response};
pub use types::{bit, diag, fc, mei, FunctionClass, Registers, Request, Response};
pub use types::{MAX_FIFO_COUNT, MAX_READ_BITS, MAX_READ_REGISTERS};
pub use types::{MAX_READ_WRITE_REGISTERS, MAX_WRITE_BITS, MAX_WRITE_REGISTERS};
