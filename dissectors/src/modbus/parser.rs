//! nom parsers for Modbus request and response PDUs (function code byte + data).
//!
//! [`parse_request`] validates a request against the Modbus Application Protocol v1.1b3:
//! quantity ranges, byte counts that agree with quantities, exact lengths for fixed-size
//! requests, reference types of file records. [`parse_response`] checks each response against
//! itself only (byte counts against the bytes present), since the PDU does not say which
//! request it answers. Unknown function codes are never an error: they are kept raw as
//! `Other`.
//!
//! Every parser is a column of streaming nom steps in wire order; a step that runs out of
//! bytes becomes a [`ModbusError`] naming the field. A PDU that goes on after its last field is
//! an error as well. Nothing here allocates or panics, whatever the input.

use nom::bytes::streaming::take;
use nom::number::streaming::{be_u16, be_u8};
use nom::{IResult, Needed};

use super::device_id::device_object;
use super::error::ModbusError;
use super::file_record::{file_record, file_sub_request, file_sub_response, SUB_REQUEST_LEN};
use super::types::{fc, mei, Request, Response};
use super::types::{MAX_FIFO_COUNT, MAX_READ_BITS, MAX_READ_REGISTERS};
use super::types::{MAX_READ_WRITE_REGISTERS, MAX_WRITE_BITS, MAX_WRITE_REGISTERS};

/// Result of one nom step; the error carries nothing because streaming steps only ever fail
/// for want of bytes, and [`Cx`] adds the field name.
pub(super) type Step<'a, T> = IResult<&'a [u8], T, ()>;

/// What a nom failure is reported against: the function code and the PDU length.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cx {
    pub(super) function: u8,
    pub(super) len: usize,
}

impl Cx {
    /// A field bounded by the end of the PDU: running out is [`ModbusError::Truncated`].
    #[inline]
    pub(super) fn field<'a, T>(
        self,
        field: &'static str,
        step: Step<'a, T>,
    ) -> Result<(&'a [u8], T), ModbusError> {
        step.map_err(|e| ModbusError::Truncated {
            function: self.function,
            field,
            len: self.len,
            needed: self.len + missing(e),
        })
    }

    /// A field inside a section of `byte_count` bytes, read from what is left of that
    /// section: running out is [`ModbusError::Overrun`].
    #[inline]
    pub(super) fn within<'a, T>(
        self,
        field: &'static str,
        byte_count: usize,
        step: Step<'a, T>,
    ) -> Result<(&'a [u8], T), ModbusError> {
        step.map_err(|e| ModbusError::Overrun {
            function: self.function,
            field,
            byte_count,
            needed: byte_count + missing(e),
        })
    }

    /// The PDU must end here.
    #[inline]
    pub(super) fn end(self, rest: &[u8]) -> Result<(), ModbusError> {
        if rest.is_empty() {
            return Ok(());
        }
        Err(ModbusError::Trailing {
            function: self.function,
            len: self.len,
            expected: self.len - rest.len(),
        })
    }

    /// `value` of `field` must lie in `min..=max`.
    #[inline]
    pub(super) fn quantity(
        self,
        field: &'static str,
        value: u16,
        min: u16,
        max: u16,
    ) -> Result<(), ModbusError> {
        if (min..=max).contains(&value) {
            return Ok(());
        }
        Err(ModbusError::Quantity {
            function: self.function,
            field,
            value,
            min,
            max,
        })
    }

    /// `byte_count` must equal `needed`, derived from `value` of field `of`.
    #[inline]
    pub(super) fn byte_count(
        self,
        byte_count: usize,
        of: &'static str,
        value: usize,
        needed: usize,
    ) -> Result<(), ModbusError> {
        if byte_count == needed {
            return Ok(());
        }
        Err(ModbusError::ByteCount {
            function: self.function,
            byte_count,
            of,
            value,
            needed,
        })
    }

    /// `field` holds `value`, which the specification rules out.
    #[inline]
    pub(super) fn invalid(
        self,
        field: &'static str,
        value: impl Into<u32>,
        expected: &'static str,
    ) -> ModbusError {
        ModbusError::Field {
            function: self.function,
            field,
            value: value.into(),
            expected,
        }
    }
}

/// How many more bytes a failed streaming step wanted.
#[inline]
fn missing(e: nom::Err<()>) -> usize {
    match e {
        nom::Err::Incomplete(Needed::Size(n)) => n.get(),
        // Streaming take/be_u* report sizes; be conservative if that ever changes.
        _ => 1,
    }
}

/// Reads the function code byte, which every PDU starts with.
#[inline]
fn function_code(pdu: &[u8]) -> Result<(&[u8], u8), ModbusError> {
    be_u8::<_, ()>(pdu).map_err(|_| ModbusError::Empty)
}

/// Parses a request PDU (function code byte + data).
///
/// # Errors
///
/// [`ModbusError::Empty`] for an empty PDU, [`ModbusError::InvalidFunction`] for codes 0 and
/// 128..=255, and for a known code any of: `Truncated`, `Trailing`, `Quantity`, `ByteCount`,
/// `Overrun`, `Field`. Function codes without a variant are `Ok(Request::Other)`.
#[inline]
pub fn parse_request(pdu: &[u8]) -> Result<Request<'_>, ModbusError> {
    let (i, function) = function_code(pdu)?;
    let cx = Cx {
        function,
        len: pdu.len(),
    };

    match function {
        fc::READ_COILS | fc::READ_DISCRETE_INPUTS => {
            let (address, quantity) = read_request(cx, i, MAX_READ_BITS)?;
            Ok(if function == fc::READ_COILS {
                Request::ReadCoils { address, quantity }
            } else {
                Request::ReadDiscreteInputs { address, quantity }
            })
        }
        fc::READ_HOLDING_REGISTERS | fc::READ_INPUT_REGISTERS => {
            let (address, quantity) = read_request(cx, i, MAX_READ_REGISTERS)?;
            Ok(if function == fc::READ_HOLDING_REGISTERS {
                Request::ReadHoldingRegisters { address, quantity }
            } else {
                Request::ReadInputRegisters { address, quantity }
            })
        }
        fc::WRITE_SINGLE_COIL | fc::WRITE_SINGLE_REGISTER => {
            let (address, value) = address_value(cx, i)?;
            Ok(if function == fc::WRITE_SINGLE_COIL {
                Request::WriteSingleCoil { address, value }
            } else {
                Request::WriteSingleRegister { address, value }
            })
        }
        fc::READ_EXCEPTION_STATUS => cx.end(i).map(|()| Request::ReadExceptionStatus),
        fc::DIAGNOSTICS => {
            let (sub_function, data) = diagnostics(cx, i)?;
            Ok(Request::Diagnostics { sub_function, data })
        }
        fc::GET_COMM_EVENT_COUNTER => cx.end(i).map(|()| Request::GetCommEventCounter),
        fc::GET_COMM_EVENT_LOG => cx.end(i).map(|()| Request::GetCommEventLog),
        fc::WRITE_MULTIPLE_COILS => write_multiple_coils(cx, i),
        fc::WRITE_MULTIPLE_REGISTERS => write_multiple_registers(cx, i),
        fc::REPORT_SERVER_ID => cx.end(i).map(|()| Request::ReportServerId),
        fc::READ_FILE_RECORD => read_file_record(cx, i),
        fc::WRITE_FILE_RECORD => {
            let records = write_file_record(cx, i, "request data length")?;
            Ok(Request::WriteFileRecord { records })
        }
        fc::MASK_WRITE_REGISTER => {
            let (address, and_mask, or_mask) = mask_write(cx, i)?;
            Ok(Request::MaskWriteRegister {
                address,
                and_mask,
                or_mask,
            })
        }
        fc::READ_WRITE_MULTIPLE_REGISTERS => read_write_multiple(cx, i),
        fc::READ_FIFO_QUEUE => {
            let (i, address) = cx.field("FIFO pointer address", be_u16(i))?;
            cx.end(i)?;
            Ok(Request::ReadFifoQueue { address })
        }
        fc::ENCAPSULATED_INTERFACE => encapsulated_request(cx, i),
        0 | 0x80..=0xFF => Err(ModbusError::InvalidFunction {
            function,
            role: "request",
        }),
        _ => Ok(Request::Other { function, data: i }),
    }
}

/// FC 1-4: starting address and quantity.
#[inline]
fn read_request(cx: Cx, i: &[u8], max: u16) -> Result<(u16, u16), ModbusError> {
    let (i, address) = cx.field("starting address", be_u16(i))?;

    let (i, quantity) = cx.field("quantity", be_u16(i))?;
    cx.quantity("quantity", quantity, 1, max)?;

    cx.end(i)?;
    Ok((address, quantity))
}

/// FC 5 and 6, request and response: address and value.
#[inline]
fn address_value(cx: Cx, i: &[u8]) -> Result<(u16, u16), ModbusError> {
    let (i, address) = cx.field("address", be_u16(i))?;

    let (i, value) = cx.field("value", be_u16(i))?;

    cx.end(i)?;
    Ok((address, value))
}

/// FC 22, request and response: address, AND mask, OR mask.
#[inline]
fn mask_write(cx: Cx, i: &[u8]) -> Result<(u16, u16, u16), ModbusError> {
    let (i, address) = cx.field("reference address", be_u16(i))?;

    let (i, and_mask) = cx.field("AND mask", be_u16(i))?;

    let (i, or_mask) = cx.field("OR mask", be_u16(i))?;

    cx.end(i)?;
    Ok((address, and_mask, or_mask))
}

/// FC 8, request and response: sub-function and data.
///
/// The sub-functions the specification defines (1-4, 10-18, 20) carry exactly one 16-bit
/// word; Return Query Data (0) echoes any data, and reserved sub-functions (such as the
/// Modbus Plus statistics, 21) are kept raw.
#[inline]
fn diagnostics(cx: Cx, i: &[u8]) -> Result<(u16, &[u8]), ModbusError> {
    let (i, sub_function) = cx.field("sub-function", be_u16(i))?;

    match sub_function {
        1..=4 | 10..=18 | 20 => {
            let (i, data) = cx.field("data", take(2usize)(i))?;
            cx.end(i)?;
            Ok((sub_function, data))
        }
        // Return Query Data (0) and reserved sub-functions.
        _ => Ok((sub_function, i)),
    }
}

/// FC 15: address, quantity, byte count, packed coil values.
#[inline]
fn write_multiple_coils(cx: Cx, i: &[u8]) -> Result<Request<'_>, ModbusError> {
    let (i, address) = cx.field("starting address", be_u16(i))?;

    let (i, quantity) = cx.field("quantity", be_u16(i))?;
    cx.quantity("quantity", quantity, 1, MAX_WRITE_BITS)?;

    let (i, byte_count) = cx.field("byte count", be_u8(i))?;
    let needed = usize::from(quantity).div_ceil(8);
    cx.byte_count(byte_count.into(), "quantity", quantity.into(), needed)?;

    let (i, values) = cx.field("coil values", take(byte_count)(i))?;

    cx.end(i)?;
    Ok(Request::WriteMultipleCoils {
        address,
        quantity,
        values,
    })
}

/// FC 16: address, quantity, byte count, register values.
#[inline]
fn write_multiple_registers(cx: Cx, i: &[u8]) -> Result<Request<'_>, ModbusError> {
    let (i, address) = cx.field("starting address", be_u16(i))?;

    let (i, quantity) = cx.field("quantity", be_u16(i))?;
    cx.quantity("quantity", quantity, 1, MAX_WRITE_REGISTERS)?;

    let (i, byte_count) = cx.field("byte count", be_u8(i))?;
    let needed = 2 * usize::from(quantity);
    cx.byte_count(byte_count.into(), "quantity", quantity.into(), needed)?;

    let (i, values) = cx.field("register values", take(byte_count)(i))?;

    cx.end(i)?;
    Ok(Request::WriteMultipleRegisters {
        address,
        quantity,
        values,
    })
}

/// FC 20: byte count, then 7-byte sub-requests of reference type 6.
#[inline]
fn read_file_record(cx: Cx, i: &[u8]) -> Result<Request<'_>, ModbusError> {
    let (i, byte_count) = cx.field("byte count", be_u8(i))?;
    let count = usize::from(byte_count);
    if !(7..=0xF5).contains(&byte_count) || count % SUB_REQUEST_LEN != 0 {
        return Err(cx.invalid("byte count", byte_count, "a multiple of 7 in 7..=245"));
    }

    let (i, subrequests) = cx.field("sub-requests", take(count)(i))?;
    let mut rest = subrequests;
    while !rest.is_empty() {
        (rest, _) = file_sub_request(cx, count, rest)?;
    }

    cx.end(i)?;
    Ok(Request::ReadFileRecord { subrequests })
}

/// FC 21, request and response (an echo): data length, then records of reference type 6.
#[inline]
fn write_file_record<'a>(
    cx: Cx,
    i: &'a [u8],
    length_field: &'static str,
) -> Result<&'a [u8], ModbusError> {
    let (i, byte_count) = cx.field(length_field, be_u8(i))?;
    let count = usize::from(byte_count);
    if !(9..=0xFB).contains(&byte_count) {
        return Err(cx.invalid(length_field, byte_count, "9..=251"));
    }

    let (i, records) = cx.field("records", take(count)(i))?;
    let mut rest = records;
    while !rest.is_empty() {
        (rest, _) = file_record(cx, count, rest)?;
    }

    cx.end(i)?;
    Ok(records)
}

/// FC 23: read address and quantity, write address, quantity, byte count and values.
#[inline]
fn read_write_multiple(cx: Cx, i: &[u8]) -> Result<Request<'_>, ModbusError> {
    let (i, read_address) = cx.field("read starting address", be_u16(i))?;

    let (i, read_quantity) = cx.field("read quantity", be_u16(i))?;
    cx.quantity("read quantity", read_quantity, 1, MAX_READ_REGISTERS)?;

    let (i, write_address) = cx.field("write starting address", be_u16(i))?;

    let (i, write_quantity) = cx.field("write quantity", be_u16(i))?;
    cx.quantity(
        "write quantity",
        write_quantity,
        1,
        MAX_READ_WRITE_REGISTERS,
    )?;

    let (i, byte_count) = cx.field("write byte count", be_u8(i))?;
    let needed = 2 * usize::from(write_quantity);
    cx.byte_count(
        byte_count.into(),
        "write quantity",
        write_quantity.into(),
        needed,
    )?;

    let (i, values) = cx.field("write register values", take(byte_count)(i))?;

    cx.end(i)?;
    Ok(Request::ReadWriteMultipleRegisters {
        read_address,
        read_quantity,
        write_address,
        write_quantity,
        values,
    })
}

/// FC 43: MEI type, then Read Device Identification or raw MEI data.
#[inline]
fn encapsulated_request(cx: Cx, i: &[u8]) -> Result<Request<'_>, ModbusError> {
    let (i, mei_type) = cx.field("MEI type", be_u8(i))?;
    if mei_type != mei::READ_DEVICE_IDENTIFICATION {
        return Ok(Request::EncapsulatedInterface { mei_type, data: i });
    }

    let (i, read_device_id_code) = cx.field("read device id code", be_u8(i))?;
    if !(1..=4).contains(&read_device_id_code) {
        return Err(cx.invalid("read device id code", read_device_id_code, "1..=4"));
    }

    let (i, object_id) = cx.field("object id", be_u8(i))?;

    cx.end(i)?;
    Ok(Request::ReadDeviceIdentification {
        read_device_id_code,
        object_id,
    })
}

/// Parses a response PDU (function code byte + data).
///
/// # Errors
///
/// [`ModbusError::Empty`] for an empty PDU, [`ModbusError::InvalidFunction`] for codes 0 and
/// 128, and for a known code any of: `Truncated`, `Trailing`, `ByteCount`, `Overrun`, `Field`.
/// Responses to function codes without a layout of their own are `Ok(Response::Other)`.
#[inline]
pub fn parse_response(pdu: &[u8]) -> Result<Response<'_>, ModbusError> {
    let (i, function) = function_code(pdu)?;
    let cx = Cx {
        function,
        len: pdu.len(),
    };

    match function {
        fc::READ_COILS | fc::READ_DISCRETE_INPUTS => {
            let bytes = read_bits_response(cx, i)?;
            Ok(Response::ReadBits { function, bytes })
        }
        fc::READ_HOLDING_REGISTERS | fc::READ_INPUT_REGISTERS => {
            let bytes = read_registers_response(cx, i)?;
            Ok(Response::ReadRegisters { function, bytes })
        }
        fc::WRITE_SINGLE_COIL | fc::WRITE_SINGLE_REGISTER => {
            let (address, value) = address_value(cx, i)?;
            Ok(Response::WriteSingle {
                function,
                address,
                value,
            })
        }
        fc::READ_EXCEPTION_STATUS => {
            let (rest, _) = cx.field("output data", be_u8(i))?;
            cx.end(rest)?;
            Ok(Response::Other { function, data: i })
        }
        fc::DIAGNOSTICS => {
            let (sub_function, data) = diagnostics(cx, i)?;
            Ok(Response::Diagnostics { sub_function, data })
        }
        fc::GET_COMM_EVENT_COUNTER => {
            let (rest, _) = cx.field("status", be_u16(i))?;
            let (rest, _) = cx.field("event count", be_u16(rest))?;
            cx.end(rest)?;
            Ok(Response::Other { function, data: i })
        }
        fc::GET_COMM_EVENT_LOG => {
            comm_event_log_response(cx, i)?;
            Ok(Response::Other { function, data: i })
        }
        fc::WRITE_MULTIPLE_COILS | fc::WRITE_MULTIPLE_REGISTERS => {
            let (rest, address) = cx.field("starting address", be_u16(i))?;
            let (rest, quantity) = cx.field("quantity", be_u16(rest))?;
            cx.end(rest)?;
            Ok(Response::WriteMultiple {
                function,
                address,
                quantity,
            })
        }
        fc::REPORT_SERVER_ID => {
            let (rest, byte_count) = cx.field("byte count", be_u8(i))?;
            let (rest, _) = cx.field("server id data", take(byte_count)(rest))?;
            cx.end(rest)?;
            Ok(Response::Other { function, data: i })
        }
        fc::READ_FILE_RECORD => {
            let bytes = read_file_record_response(cx, i)?;
            Ok(Response::FileRecord { bytes })
        }
        fc::WRITE_FILE_RECORD => {
            write_file_record(cx, i, "response data length")?;
            Ok(Response::Other { function, data: i })
        }
        fc::MASK_WRITE_REGISTER => {
            let (address, and_mask, or_mask) = mask_write(cx, i)?;
            Ok(Response::MaskWrite {
                address,
                and_mask,
                or_mask,
            })
        }
        fc::READ_WRITE_MULTIPLE_REGISTERS => {
            let bytes = read_registers_response(cx, i)?;
            Ok(Response::ReadWriteRegisters { bytes })
        }
        fc::READ_FIFO_QUEUE => {
            fifo_response(cx, i)?;
            Ok(Response::Other { function, data: i })
        }
        fc::ENCAPSULATED_INTERFACE => encapsulated_response(cx, i),
        0 | fc::EXCEPTION_BIT => Err(ModbusError::InvalidFunction {
            function,
            role: "response",
        }),
        0x81..=0xFF => {
            let (rest, code) = cx.field("exception code", be_u8(i))?;
            cx.end(rest)?;
            Ok(Response::Exception {
                function: function & !fc::EXCEPTION_BIT,
                code,
            })
        }
        _ => Ok(Response::Other { function, data: i }),
    }
}

/// FC 1/2 response: byte count 1..=250, then packed bits.
#[inline]
fn read_bits_response(cx: Cx, i: &[u8]) -> Result<&[u8], ModbusError> {
    let (i, byte_count) = cx.field("byte count", be_u8(i))?;
    if !(1..=250).contains(&byte_count) {
        return Err(cx.invalid("byte count", byte_count, "1..=250"));
    }

    let (i, bytes) = cx.field("bit values", take(byte_count)(i))?;

    cx.end(i)?;
    Ok(bytes)
}

/// FC 3/4/23 response: even byte count 2..=250, then registers.
#[inline]
fn read_registers_response(cx: Cx, i: &[u8]) -> Result<&[u8], ModbusError> {
    let (i, byte_count) = cx.field("byte count", be_u8(i))?;
    if !(2..=250).contains(&byte_count) || byte_count % 2 != 0 {
        return Err(cx.invalid("byte count", byte_count, "an even number in 2..=250"));
    }

    let (i, bytes) = cx.field("register values", take(byte_count)(i))?;

    cx.end(i)?;
    Ok(bytes)
}

/// FC 12 response: byte count 6..=70, status, event count, message count, up to 64 events.
#[inline]
fn comm_event_log_response(cx: Cx, i: &[u8]) -> Result<(), ModbusError> {
    let (i, byte_count) = cx.field("byte count", be_u8(i))?;
    if !(6..=70).contains(&byte_count) {
        return Err(cx.invalid("byte count", byte_count, "6..=70"));
    }

    let (i, _status) = cx.field("status", be_u16(i))?;

    let (i, _event_count) = cx.field("event count", be_u16(i))?;

    let (i, _message_count) = cx.field("message count", be_u16(i))?;

    let (i, _events) = cx.field("events", take(byte_count - 6)(i))?;

    cx.end(i)
}

/// FC 20 response: response data length, then sub-responses of reference type 6.
#[inline]
fn read_file_record_response(cx: Cx, i: &[u8]) -> Result<&[u8], ModbusError> {
    let (i, byte_count) = cx.field("response data length", be_u8(i))?;
    let count = usize::from(byte_count);
    if !(2..=0xF5).contains(&byte_count) {
        return Err(cx.invalid("response data length", byte_count, "2..=245"));
    }

    let (i, bytes) = cx.field("sub-responses", take(count)(i))?;
    let mut rest = bytes;
    while !rest.is_empty() {
        (rest, _) = file_sub_response(cx, count, rest)?;
    }

    cx.end(i)?;
    Ok(bytes)
}

/// FC 24 response: byte count, FIFO count 0..=31, then FIFO values.
#[inline]
fn fifo_response(cx: Cx, i: &[u8]) -> Result<(), ModbusError> {
    let (i, byte_count) = cx.field("byte count", be_u16(i))?;

    let (i, fifo_count) = cx.field("FIFO count", be_u16(i))?;
    cx.quantity("FIFO count", fifo_count, 0, MAX_FIFO_COUNT)?;
    let needed = 2 + 2 * usize::from(fifo_count);
    cx.byte_count(byte_count.into(), "FIFO count", fifo_count.into(), needed)?;

    let (i, _values) = cx.field("FIFO values", take(needed - 2)(i))?;

    cx.end(i)
}

/// FC 43 response: MEI type, then Read Device Identification or raw MEI data.
#[inline]
fn encapsulated_response(cx: Cx, i: &[u8]) -> Result<Response<'_>, ModbusError> {
    let (rest, mei_type) = cx.field("MEI type", be_u8(i))?;
    if mei_type != mei::READ_DEVICE_IDENTIFICATION {
        return Ok(Response::Other {
            function: cx.function,
            data: i,
        });
    }
    let i = rest;

    let (i, read_device_id_code) = cx.field("read device id code", be_u8(i))?;

    let (i, conformity_level) = cx.field("conformity level", be_u8(i))?;

    let (i, more_follows) = cx.field("more follows", be_u8(i))?;

    let (i, next_object_id) = cx.field("next object id", be_u8(i))?;

    let (i, number_of_objects) = cx.field("number of objects", be_u8(i))?;

    let objects = i;
    let mut rest = i;
    for _ in 0..number_of_objects {
        (rest, _) = device_object(cx, rest)?;
    }

    cx.end(rest)?;
    Ok(Response::ReadDeviceIdentification {
        read_device_id_code,
        conformity_level,
        more_follows: more_follows != 0,
        next_object_id,
        objects,
    })
}
