//! Decoded Modbus PDUs: [`Request`], [`Response`], their function codes and classes.
//!
//! Every variant borrows its variable-length parts from the PDU, so building one never
//! allocates. A value produced by [`super::parse_request`] or [`super::parse_response`] has had
//! every length checked; the iterators here ([`Request::records`], [`Response::objects`], …)
//! also stay safe on hand-built values: they stop at the first malformed item instead of
//! panicking.
//!
//! Values are kept raw (a coil write keeps its 0xFF00/0x0000 word, register values stay
//! big-endian bytes): rendering them is the caller's choice.

use super::device_id::DeviceObjects;
use super::file_record::{FileRecords, FileSubRequests, FileSubResponses};
use super::names::function_name;

/// Public function codes of the Modbus Application Protocol v1.1b3, and the vendor codes the
/// dissector names.
pub mod fc {
    pub const READ_COILS: u8 = 1;
    pub const READ_DISCRETE_INPUTS: u8 = 2;
    pub const READ_HOLDING_REGISTERS: u8 = 3;
    pub const READ_INPUT_REGISTERS: u8 = 4;
    pub const WRITE_SINGLE_COIL: u8 = 5;
    pub const WRITE_SINGLE_REGISTER: u8 = 6;
    pub const READ_EXCEPTION_STATUS: u8 = 7;
    pub const DIAGNOSTICS: u8 = 8;
    pub const GET_COMM_EVENT_COUNTER: u8 = 11;
    pub const GET_COMM_EVENT_LOG: u8 = 12;
    pub const WRITE_MULTIPLE_COILS: u8 = 15;
    pub const WRITE_MULTIPLE_REGISTERS: u8 = 16;
    pub const REPORT_SERVER_ID: u8 = 17;
    pub const READ_FILE_RECORD: u8 = 20;
    pub const WRITE_FILE_RECORD: u8 = 21;
    pub const MASK_WRITE_REGISTER: u8 = 22;
    pub const READ_WRITE_MULTIPLE_REGISTERS: u8 = 23;
    pub const READ_FIFO_QUEUE: u8 = 24;
    pub const ENCAPSULATED_INTERFACE: u8 = 43;
    /// Schneider Electric UMAS, carried raw as [`super::Request::Other`].
    pub const UMAS: u8 = 90;
    /// Set in the function code of an exception response.
    pub const EXCEPTION_BIT: u8 = 0x80;
}

/// MEI types of function code 43.
pub mod mei {
    /// CANopen General Reference Request and Response PDU.
    pub const CANOPEN_GENERAL_REFERENCE: u8 = 0x0D;
    /// Read Device Identification.
    pub const READ_DEVICE_IDENTIFICATION: u8 = 0x0E;
}

/// Diagnostics (FC 8) sub-functions the classification and the parser single out.
pub mod diag {
    pub const RETURN_QUERY_DATA: u16 = 0x0000;
    pub const RESTART_COMMUNICATIONS_OPTION: u16 = 0x0001;
    pub const FORCE_LISTEN_ONLY_MODE: u16 = 0x0004;
}

/// Most coils or discrete inputs one FC 1/2 request may read.
pub const MAX_READ_BITS: u16 = 2000;
/// Most coils one FC 15 request may write.
pub const MAX_WRITE_BITS: u16 = 1968;
/// Most registers one FC 3/4 request, or the read part of FC 23, may read.
pub const MAX_READ_REGISTERS: u16 = 125;
/// Most registers one FC 16 request may write.
pub const MAX_WRITE_REGISTERS: u16 = 123;
/// Most registers the write part of one FC 23 request may write.
pub const MAX_READ_WRITE_REGISTERS: u16 = 121;
/// Most entries a FIFO queue (FC 24) may hold.
pub const MAX_FIFO_COUNT: u16 = 31;

/// What a request does to the device, as the audit sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FunctionClass {
    /// Reads process data: FC 1, 2, 3, 4, 20, 24.
    Read,
    /// Changes process data: FC 5, 6, 15, 16, 21, 22, 23.
    Write,
    /// Changes how the device communicates: FC 8 sub-functions 1 and 4.
    Control,
    /// Asks the device about itself: FC 7, 11, 12, 17, 43 and the other FC 8 sub-functions.
    Diagnostic,
    /// Anything else, including user-defined and vendor codes such as UMAS (90).
    Other,
}

impl FunctionClass {
    /// Classifies a function code; `sub_function` matters only for FC 8.
    #[inline]
    pub fn of(function: u8, sub_function: Option<u16>) -> FunctionClass {
        match function {
            1..=4 | 20 | 24 => FunctionClass::Read,
            5 | 6 | 15 | 16 | 21..=23 => FunctionClass::Write,
            8 => match sub_function {
                Some(diag::RESTART_COMMUNICATIONS_OPTION | diag::FORCE_LISTEN_ONLY_MODE) => {
                    FunctionClass::Control
                }
                _ => FunctionClass::Diagnostic,
            },
            7 | 11 | 12 | 17 | 43 => FunctionClass::Diagnostic,
            _ => FunctionClass::Other,
        }
    }
}

/// A Modbus request PDU, one variant per public function code.
///
/// Produced by [`super::parse_request`]; quantities are in range and byte counts agree with
/// them. Codes without a variant (user-defined, vendor, reserved) are [`Request::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// FC 1; quantity 1..=2000.
    ReadCoils { address: u16, quantity: u16 },
    /// FC 2; quantity 1..=2000.
    ReadDiscreteInputs { address: u16, quantity: u16 },
    /// FC 3; quantity 1..=125.
    ReadHoldingRegisters { address: u16, quantity: u16 },
    /// FC 4; quantity 1..=125.
    ReadInputRegisters { address: u16, quantity: u16 },
    /// FC 5; `value` is raw: 0xFF00 on, 0x0000 off, anything else is refused by servers but
    /// still an attempted write, so it is kept rather than rejected.
    WriteSingleCoil { address: u16, value: u16 },
    /// FC 6.
    WriteSingleRegister { address: u16, value: u16 },
    /// FC 7.
    ReadExceptionStatus,
    /// FC 8; `data` is exactly 2 bytes for the sub-functions the specification defines, any
    /// length for Return Query Data (0) and for reserved sub-functions.
    Diagnostics { sub_function: u16, data: &'a [u8] },
    /// FC 11.
    GetCommEventCounter,
    /// FC 12.
    GetCommEventLog,
    /// FC 15; quantity 1..=1968, `values` packed bits, `ceil(quantity / 8)` bytes.
    WriteMultipleCoils {
        address: u16,
        quantity: u16,
        values: &'a [u8],
    },
    /// FC 16; quantity 1..=123, `values` `2 * quantity` big-endian bytes.
    WriteMultipleRegisters {
        address: u16,
        quantity: u16,
        values: &'a [u8],
    },
    /// FC 17.
    ReportServerId,
    /// FC 20; `subrequests` is a whole number of 7-byte sub-requests, each of reference type
    /// 6; iterate with [`Request::subrequests`].
    ReadFileRecord { subrequests: &'a [u8] },
    /// FC 21; `records` holds whole records of reference type 6; iterate with
    /// [`Request::records`].
    WriteFileRecord { records: &'a [u8] },
    /// FC 22; the register becomes `(current & and_mask) | (or_mask & !and_mask)`.
    MaskWriteRegister {
        address: u16,
        and_mask: u16,
        or_mask: u16,
    },
    /// FC 23; read quantity 1..=125, write quantity 1..=121, `values` `2 * write_quantity`
    /// bytes. The write happens before the read.
    ReadWriteMultipleRegisters {
        read_address: u16,
        read_quantity: u16,
        write_address: u16,
        write_quantity: u16,
        values: &'a [u8],
    },
    /// FC 24.
    ReadFifoQueue { address: u16 },
    /// FC 43 with any MEI type but 0x0E; `data` follows the MEI type byte.
    EncapsulatedInterface { mei_type: u8, data: &'a [u8] },
    /// FC 43 / MEI 0x0E; `read_device_id_code` 1..=4.
    ReadDeviceIdentification {
        read_device_id_code: u8,
        object_id: u8,
    },
    /// Any other function code in 1..=127 (user-defined 65-72 and 100-110, UMAS 90, reserved
    /// and unassigned codes), kept raw; `data` follows the function code.
    Other { function: u8, data: &'a [u8] },
}

impl<'a> Request<'a> {
    /// The function code byte of this request.
    #[inline]
    pub fn function_code(&self) -> u8 {
        match self {
            Request::ReadCoils { .. } => fc::READ_COILS,
            Request::ReadDiscreteInputs { .. } => fc::READ_DISCRETE_INPUTS,
            Request::ReadHoldingRegisters { .. } => fc::READ_HOLDING_REGISTERS,
            Request::ReadInputRegisters { .. } => fc::READ_INPUT_REGISTERS,
            Request::WriteSingleCoil { .. } => fc::WRITE_SINGLE_COIL,
            Request::WriteSingleRegister { .. } => fc::WRITE_SINGLE_REGISTER,
            Request::ReadExceptionStatus => fc::READ_EXCEPTION_STATUS,
            Request::Diagnostics { .. } => fc::DIAGNOSTICS,
            Request::GetCommEventCounter => fc::GET_COMM_EVENT_COUNTER,
            Request::GetCommEventLog => fc::GET_COMM_EVENT_LOG,
            Request::WriteMultipleCoils { .. } => fc::WRITE_MULTIPLE_COILS,
            Request::WriteMultipleRegisters { .. } => fc::WRITE_MULTIPLE_REGISTERS,
            Request::ReportServerId => fc::REPORT_SERVER_ID,
            Request::ReadFileRecord { .. } => fc::READ_FILE_RECORD,
            Request::WriteFileRecord { .. } => fc::WRITE_FILE_RECORD,
            Request::MaskWriteRegister { .. } => fc::MASK_WRITE_REGISTER,
            Request::ReadWriteMultipleRegisters { .. } => fc::READ_WRITE_MULTIPLE_REGISTERS,
            Request::ReadFifoQueue { .. } => fc::READ_FIFO_QUEUE,
            Request::EncapsulatedInterface { .. } => fc::ENCAPSULATED_INTERFACE,
            Request::ReadDeviceIdentification { .. } => fc::ENCAPSULATED_INTERFACE,
            Request::Other { function, .. } => *function,
        }
    }

    /// Whether this request reads, writes, controls or diagnoses (see [`FunctionClass`]).
    #[inline]
    pub fn class(&self) -> FunctionClass {
        let sub_function = match self {
            Request::Diagnostics { sub_function, .. } => Some(*sub_function),
            _ => None,
        };
        FunctionClass::of(self.function_code(), sub_function)
    }

    /// A readable name of the operation, more precise than [`function_name`] for FC 43.
    #[inline]
    pub fn name(&self) -> &'static str {
        match self {
            Request::ReadDeviceIdentification { .. } => "Read Device Identification",
            Request::EncapsulatedInterface {
                mei_type: mei::CANOPEN_GENERAL_REFERENCE,
                ..
            } => "CANopen General Reference",
            other => function_name(other.function_code()),
        }
    }

    /// The records of a [`Request::WriteFileRecord`]; empty for any other request.
    #[inline]
    pub fn records(&self) -> FileRecords<'a> {
        match self {
            Request::WriteFileRecord { records } => FileRecords::new(records),
            _ => FileRecords::new(&[]),
        }
    }

    /// The sub-requests of a [`Request::ReadFileRecord`]; empty for any other request.
    #[inline]
    pub fn subrequests(&self) -> FileSubRequests<'a> {
        match self {
            Request::ReadFileRecord { subrequests } => FileSubRequests::new(subrequests),
            _ => FileSubRequests::new(&[]),
        }
    }
}

/// A Modbus response PDU.
///
/// Produced by [`super::parse_response`] from the PDU alone: byte counts agree with the bytes
/// present, but nothing is checked against the request (the caller matches transactions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response<'a> {
    /// Function code 129..=255; `function` is the request's code, without the 0x80 bit.
    Exception { function: u8, code: u8 },
    /// FC 1 or 2: packed bits, `bytes.len()` in 1..=250.
    ReadBits { function: u8, bytes: &'a [u8] },
    /// FC 3 or 4: big-endian registers, `bytes.len()` even in 2..=250.
    ReadRegisters { function: u8, bytes: &'a [u8] },
    /// FC 5 or 6: the echo of the request.
    WriteSingle {
        function: u8,
        address: u16,
        value: u16,
    },
    /// FC 15 or 16: the address and quantity written.
    WriteMultiple {
        function: u8,
        address: u16,
        quantity: u16,
    },
    /// FC 22: the echo of the request.
    MaskWrite {
        address: u16,
        and_mask: u16,
        or_mask: u16,
    },
    /// FC 23: the registers read, big-endian, `bytes.len()` even in 2..=250.
    ReadWriteRegisters { bytes: &'a [u8] },
    /// FC 8: the echo of the sub-function and its data (or the counter it returns).
    Diagnostics { sub_function: u16, data: &'a [u8] },
    /// FC 43 / MEI 0x0E; `objects` holds the object list, iterate with [`Response::objects`].
    /// `more_follows` is true for any non-zero byte (the specification sends 0xFF), and the
    /// number of objects is checked against the list, not kept.
    ReadDeviceIdentification {
        read_device_id_code: u8,
        conformity_level: u8,
        more_follows: bool,
        next_object_id: u8,
        objects: &'a [u8],
    },
    /// FC 20: the sub-responses after the response data length; iterate with
    /// [`Response::file_sub_responses`].
    FileRecord { bytes: &'a [u8] },
    /// Every other function code, including FC 7, 11, 12, 17, 21, 24 and 43 with an MEI type
    /// other than 0x0E (whose layouts are still checked); `data` follows the function code.
    Other { function: u8, data: &'a [u8] },
}

impl<'a> Response<'a> {
    /// The function code this response answers, without the exception bit.
    #[inline]
    pub fn function_code(&self) -> u8 {
        match self {
            Response::Exception { function, .. }
            | Response::ReadBits { function, .. }
            | Response::ReadRegisters { function, .. }
            | Response::WriteSingle { function, .. }
            | Response::WriteMultiple { function, .. }
            | Response::Other { function, .. } => *function,
            Response::MaskWrite { .. } => fc::MASK_WRITE_REGISTER,
            Response::ReadWriteRegisters { .. } => fc::READ_WRITE_MULTIPLE_REGISTERS,
            Response::Diagnostics { .. } => fc::DIAGNOSTICS,
            Response::ReadDeviceIdentification { .. } => fc::ENCAPSULATED_INTERFACE,
            Response::FileRecord { .. } => fc::READ_FILE_RECORD,
        }
    }

    /// The exception code when this is an exception response.
    #[inline]
    pub fn exception_code(&self) -> Option<u8> {
        match self {
            Response::Exception { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The objects of a [`Response::ReadDeviceIdentification`]; empty for any other response.
    #[inline]
    pub fn objects(&self) -> DeviceObjects<'a> {
        match self {
            Response::ReadDeviceIdentification { objects, .. } => DeviceObjects::new(objects),
            _ => DeviceObjects::new(&[]),
        }
    }

    /// The record data of each sub-response of a [`Response::FileRecord`]; empty for any other
    /// response.
    #[inline]
    pub fn file_sub_responses(&self) -> FileSubResponses<'a> {
        match self {
            Response::FileRecord { bytes } => FileSubResponses::new(bytes),
            _ => FileSubResponses::new(&[]),
        }
    }
}

/// Big-endian 16-bit registers of a byte slice, in order; an odd last byte is ignored.
///
/// For the `values` of FC 16 and 23 requests and the `bytes` of FC 3, 4 and 23 responses.
#[derive(Clone, Debug)]
pub struct Registers<'a> {
    chunks: core::slice::ChunksExact<'a, u8>,
}

impl<'a> Registers<'a> {
    /// Iterates over the registers in `bytes`.
    #[inline]
    pub fn new(bytes: &'a [u8]) -> Registers<'a> {
        Registers {
            chunks: bytes.chunks_exact(2),
        }
    }
}

impl Iterator for Registers<'_> {
    type Item = u16;

    #[inline]
    fn next(&mut self) -> Option<u16> {
        match *self.chunks.next()? {
            [hi, lo] => Some(u16::from_be_bytes([hi, lo])),
            _ => None,
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for Registers<'_> {}

/// The state of bit `index` (0-based, least significant bit of the first byte first) in the
/// packed bits of FC 1/2 responses and FC 15 requests; `None` past the last byte.
#[inline]
pub fn bit(bytes: &[u8], index: usize) -> Option<bool> {
    let byte = bytes.get(index / 8)?;
    Some(byte >> (index % 8) & 1 == 1)
}
