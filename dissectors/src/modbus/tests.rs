//! Tests of the Modbus/TCP dissector as a whole: one request and one response fixture per
//! function code, framing of ADUs back to back and cut anywhere, malformed PDUs, and every
//! truncation of every fixture.
//!
//! Fixture values follow the worked examples of the Modbus Application Protocol v1.1b3 where
//! it has one, so each can be checked against the specification by eye.

use super::*;

// Requests.

#[rustfmt::skip]
const REQ_FC1: &[u8] = &[
    0x01,       // function code: Read Coils
    0x00, 0x13, // starting address 19
    0x00, 0x13, // quantity 19
];

#[rustfmt::skip]
const REQ_FC2: &[u8] = &[
    0x02,       // function code: Read Discrete Inputs
    0x00, 0xC4, // starting address 196
    0x00, 0x16, // quantity 22
];

#[rustfmt::skip]
const REQ_FC3: &[u8] = &[
    0x03,       // function code: Read Holding Registers
    0x00, 0x6B, // starting address 107
    0x00, 0x03, // quantity 3
];

#[rustfmt::skip]
const REQ_FC4: &[u8] = &[
    0x04,       // function code: Read Input Registers
    0x00, 0x08, // starting address 8
    0x00, 0x01, // quantity 1
];

#[rustfmt::skip]
const REQ_FC5: &[u8] = &[
    0x05,       // function code: Write Single Coil
    0x00, 0xAC, // address 172
    0xFF, 0x00, // value: on
];

#[rustfmt::skip]
const REQ_FC6: &[u8] = &[
    0x06,       // function code: Write Single Register
    0x00, 0x01, // address 1
    0x00, 0x03, // value 3
];

#[rustfmt::skip]
const REQ_FC7: &[u8] = &[
    0x07,       // function code: Read Exception Status
];

#[rustfmt::skip]
const REQ_FC8_QUERY: &[u8] = &[
    0x08,       // function code: Diagnostics
    0x00, 0x00, // sub-function: Return Query Data
    0xA5, 0x37, // data to echo
];

#[rustfmt::skip]
const REQ_FC8_RESTART: &[u8] = &[
    0x08,       // function code: Diagnostics
    0x00, 0x01, // sub-function: Restart Communications Option
    0xFF, 0x00, // data: clear the event log
];

#[rustfmt::skip]
const REQ_FC8_LISTEN: &[u8] = &[
    0x08,       // function code: Diagnostics
    0x00, 0x04, // sub-function: Force Listen Only Mode
    0x00, 0x00, // data
];

#[rustfmt::skip]
const REQ_FC8_COUNT: &[u8] = &[
    0x08,       // function code: Diagnostics
    0x00, 0x0B, // sub-function: Return Bus Message Count
    0x00, 0x00, // data
];

#[rustfmt::skip]
const REQ_FC11: &[u8] = &[
    0x0B,       // function code: Get Comm Event Counter
];

#[rustfmt::skip]
const REQ_FC12: &[u8] = &[
    0x0C,       // function code: Get Comm Event Log
];

#[rustfmt::skip]
const REQ_FC15: &[u8] = &[
    0x0F,       // function code: Write Multiple Coils
    0x00, 0x13, // starting address 19
    0x00, 0x0A, // quantity 10
    0x02,       // byte count
    0xCD, 0x01, // coil values 20..27, 28..29
];

#[rustfmt::skip]
const REQ_FC16: &[u8] = &[
    0x10,       // function code: Write Multiple Registers
    0x00, 0x01, // starting address 1
    0x00, 0x02, // quantity 2
    0x04,       // byte count
    0x00, 0x0A, // register 1
    0x01, 0x02, // register 2
];

#[rustfmt::skip]
const REQ_FC17: &[u8] = &[
    0x11,       // function code: Report Server ID
];

#[rustfmt::skip]
const REQ_FC20: &[u8] = &[
    0x14,       // function code: Read File Record
    0x0E,       // byte count
    0x06,       // sub-request 1: reference type
    0x00, 0x04, // sub-request 1: file number 4
    0x00, 0x01, // sub-request 1: record number 1
    0x00, 0x02, // sub-request 1: record length 2
    0x06,       // sub-request 2: reference type
    0x00, 0x03, // sub-request 2: file number 3
    0x00, 0x09, // sub-request 2: record number 9
    0x00, 0x02, // sub-request 2: record length 2
];

#[rustfmt::skip]
const REQ_FC21: &[u8] = &[
    0x15,       // function code: Write File Record
    0x0D,       // request data length
    0x06,       // reference type
    0x00, 0x04, // file number 4
    0x00, 0x07, // record number 7
    0x00, 0x03, // record length 3
    0x06, 0xAF, // record data: register 1
    0x04, 0xBE, // record data: register 2
    0x10, 0x0D, // record data: register 3
];

#[rustfmt::skip]
const REQ_FC22: &[u8] = &[
    0x16,       // function code: Mask Write Register
    0x00, 0x04, // reference address 4
    0x00, 0xF2, // AND mask
    0x00, 0x25, // OR mask
];

#[rustfmt::skip]
const REQ_FC23: &[u8] = &[
    0x17,       // function code: Read/Write Multiple Registers
    0x00, 0x03, // read starting address 3
    0x00, 0x06, // read quantity 6
    0x00, 0x0E, // write starting address 14
    0x00, 0x03, // write quantity 3
    0x06,       // write byte count
    0x00, 0xFF, // write register 1
    0x00, 0xFF, // write register 2
    0x00, 0xFF, // write register 3
];

#[rustfmt::skip]
const REQ_FC24: &[u8] = &[
    0x18,       // function code: Read FIFO Queue
    0x04, 0xDE, // FIFO pointer address 1246
];

#[rustfmt::skip]
const REQ_FC43_DEVICE_ID: &[u8] = &[
    0x2B,       // function code: Encapsulated Interface Transport
    0x0E,       // MEI type: Read Device Identification
    0x01,       // read device id code: basic
    0x00,       // object id: VendorName
];

#[rustfmt::skip]
const REQ_FC43_CANOPEN: &[u8] = &[
    0x2B,       // function code: Encapsulated Interface Transport
    0x0D,       // MEI type: CANopen General Reference
    0x00, 0x01, // MEI data
    0x02,       // MEI data
];

#[rustfmt::skip]
const REQ_FC90: &[u8] = &[
    0x5A,       // function code: UMAS
    0x00,       // UMAS session
    0x02,       // UMAS function: read PLC id
];

// Responses.

#[rustfmt::skip]
const RSP_FC1: &[u8] = &[
    0x01,             // function code: Read Coils
    0x03,             // byte count
    0xCD, 0x6B, 0x05, // coil status 20..27, 28..35, 36..38
];

#[rustfmt::skip]
const RSP_FC2: &[u8] = &[
    0x02,             // function code: Read Discrete Inputs
    0x03,             // byte count
    0xAC, 0xDB, 0x35, // input status 197..204, 205..212, 213..218
];

#[rustfmt::skip]
const RSP_FC3: &[u8] = &[
    0x03,       // function code: Read Holding Registers
    0x06,       // byte count
    0x02, 0x2B, // register 108
    0x00, 0x00, // register 109
    0x00, 0x64, // register 110
];

#[rustfmt::skip]
const RSP_FC4: &[u8] = &[
    0x04,       // function code: Read Input Registers
    0x02,       // byte count
    0x00, 0x0A, // input register 9
];

#[rustfmt::skip]
const RSP_FC5: &[u8] = &[
    0x05,       // function code: Write Single Coil
    0x00, 0xAC, // address 172
    0xFF, 0x00, // value: on
];

#[rustfmt::skip]
const RSP_FC6: &[u8] = &[
    0x06,       // function code: Write Single Register
    0x00, 0x01, // address 1
    0x00, 0x03, // value 3
];

#[rustfmt::skip]
const RSP_FC7: &[u8] = &[
    0x07,       // function code: Read Exception Status
    0x6D,       // output data
];

#[rustfmt::skip]
const RSP_FC8_QUERY: &[u8] = &[
    0x08,       // function code: Diagnostics
    0x00, 0x00, // sub-function: Return Query Data
    0xA5, 0x37, // echoed data
];

#[rustfmt::skip]
const RSP_FC8_RESTART: &[u8] = &[
    0x08,       // function code: Diagnostics
    0x00, 0x01, // sub-function: Restart Communications Option
    0xFF, 0x00, // echoed data
];

#[rustfmt::skip]
const RSP_FC8_COUNT: &[u8] = &[
    0x08,       // function code: Diagnostics
    0x00, 0x0B, // sub-function: Return Bus Message Count
    0x01, 0x2C, // message count 300
];

#[rustfmt::skip]
const RSP_FC11: &[u8] = &[
    0x0B,       // function code: Get Comm Event Counter
    0xFF, 0xFF, // status: busy
    0x01, 0x08, // event count 264
];

#[rustfmt::skip]
const RSP_FC12: &[u8] = &[
    0x0C,       // function code: Get Comm Event Log
    0x08,       // byte count
    0x00, 0x00, // status
    0x01, 0x08, // event count 264
    0x01, 0x21, // message count 289
    0x20,       // event 0
    0x00,       // event 1
];

#[rustfmt::skip]
const RSP_FC15: &[u8] = &[
    0x0F,       // function code: Write Multiple Coils
    0x00, 0x13, // starting address 19
    0x00, 0x0A, // quantity 10
];

#[rustfmt::skip]
const RSP_FC16: &[u8] = &[
    0x10,       // function code: Write Multiple Registers
    0x00, 0x01, // starting address 1
    0x00, 0x02, // quantity 2
];

#[rustfmt::skip]
const RSP_FC17: &[u8] = &[
    0x11,       // function code: Report Server ID
    0x03,       // byte count
    0x2A,       // server id
    0xFF,       // run indicator: on
    0x01,       // additional data
];

#[rustfmt::skip]
const RSP_FC20: &[u8] = &[
    0x14,       // function code: Read File Record
    0x0C,       // response data length
    0x05,       // sub-response 1: file response length
    0x06,       // sub-response 1: reference type
    0x0D, 0xFE, // sub-response 1: register 1
    0x00, 0x20, // sub-response 1: register 2
    0x05,       // sub-response 2: file response length
    0x06,       // sub-response 2: reference type
    0x33, 0xCD, // sub-response 2: register 1
    0x00, 0x40, // sub-response 2: register 2
];

#[rustfmt::skip]
const RSP_FC21: &[u8] = &[
    0x15,       // function code: Write File Record
    0x0D,       // response data length
    0x06,       // reference type
    0x00, 0x04, // file number 4
    0x00, 0x07, // record number 7
    0x00, 0x03, // record length 3
    0x06, 0xAF, // record data: register 1
    0x04, 0xBE, // record data: register 2
    0x10, 0x0D, // record data: register 3
];

#[rustfmt::skip]
const RSP_FC22: &[u8] = &[
    0x16,       // function code: Mask Write Register
    0x00, 0x04, // reference address 4
    0x00, 0xF2, // AND mask
    0x00, 0x25, // OR mask
];

#[rustfmt::skip]
const RSP_FC23: &[u8] = &[
    0x17,       // function code: Read/Write Multiple Registers
    0x0C,       // byte count
    0x00, 0xFE, // read register 1
    0x0A, 0xCD, // read register 2
    0x00, 0x01, // read register 3
    0x00, 0x03, // read register 4
    0x00, 0x0D, // read register 5
    0x00, 0xFF, // read register 6
];

#[rustfmt::skip]
const RSP_FC24: &[u8] = &[
    0x18,       // function code: Read FIFO Queue
    0x00, 0x06, // byte count
    0x00, 0x02, // FIFO count
    0x01, 0xB8, // FIFO value 1
    0x12, 0x84, // FIFO value 2
];

#[rustfmt::skip]
const RSP_FC43_DEVICE_ID: &[u8] = &[
    0x2B,                   // function code: Encapsulated Interface Transport
    0x0E,                   // MEI type: Read Device Identification
    0x01,                   // read device id code: basic
    0x01,                   // conformity level: basic, stream only
    0x00,                   // more follows: no
    0x00,                   // next object id
    0x03,                   // number of objects
    0x00,                   // object 1: id VendorName
    0x03,                   // object 1: length
    b'A', b'C', b'M',       // object 1: value
    0x01,                   // object 2: id ProductCode
    0x02,                   // object 2: length
    b'P', b'1',             // object 2: value
    0x02,                   // object 3: id MajorMinorRevision
    0x04,                   // object 3: length
    b'V', b'1', b'.', b'0', // object 3: value
];

#[rustfmt::skip]
const RSP_FC43_CANOPEN: &[u8] = &[
    0x2B,       // function code: Encapsulated Interface Transport
    0x0D,       // MEI type: CANopen General Reference
    0x00, 0x01, // MEI data
];

#[rustfmt::skip]
const RSP_FC90: &[u8] = &[
    0x5A,       // function code: UMAS
    0x00,       // UMAS session
    0xFE,       // UMAS status: ok
    0x12, 0x34, // UMAS payload
];

#[rustfmt::skip]
const RSP_EXCEPTION_FC3: &[u8] = &[
    0x83,       // function code: exception to Read Holding Registers
    0x02,       // exception code: Illegal Data Address
];

#[rustfmt::skip]
const RSP_EXCEPTION_FC16: &[u8] = &[
    0x90,       // function code: exception to Write Multiple Registers
    0x04,       // exception code: Server Device Failure
];

// ADUs.

#[rustfmt::skip]
const ADU_READ_REQUEST: &[u8] = &[
    0x00, 0x01, // transaction id
    0x00, 0x00, // protocol id
    0x00, 0x06, // length
    0x11,       // unit id
    0x03,       // function code: Read Holding Registers
    0x00, 0x6B, // starting address 107
    0x00, 0x03, // quantity 3
];

#[rustfmt::skip]
const ADU_READ_RESPONSE: &[u8] = &[
    0x00, 0x01, // transaction id
    0x00, 0x00, // protocol id
    0x00, 0x09, // length
    0x11,       // unit id
    0x03,       // function code: Read Holding Registers
    0x06,       // byte count
    0x02, 0x2B, // register 108
    0x00, 0x00, // register 109
    0x00, 0x64, // register 110
];

#[rustfmt::skip]
const ADU_WRITE_REQUEST: &[u8] = &[
    0x00, 0x02, // transaction id
    0x00, 0x00, // protocol id
    0x00, 0x0B, // length
    0xFF,       // unit id
    0x10,       // function code: Write Multiple Registers
    0x00, 0x01, // starting address 1
    0x00, 0x02, // quantity 2
    0x04,       // byte count
    0x00, 0x0A, // register 1
    0x01, 0x02, // register 2
];

#[rustfmt::skip]
const ADU_EXCEPTION: &[u8] = &[
    0x00, 0x02, // transaction id
    0x00, 0x00, // protocol id
    0x00, 0x03, // length
    0xFF,       // unit id
    0x90,       // function code: exception to Write Multiple Registers
    0x04,       // exception code: Server Device Failure
];

// Request parsing, one test per function code, request and response together.

#[test]
fn fc1_read_coils() {
    assert_eq!(
        parse_request(REQ_FC1),
        Ok(Request::ReadCoils {
            address: 19,
            quantity: 19
        })
    );

    let rsp = parse_response(RSP_FC1);
    assert_eq!(
        rsp,
        Ok(Response::ReadBits {
            function: 1,
            bytes: &[0xCD, 0x6B, 0x05]
        })
    );
    let Ok(Response::ReadBits { bytes, .. }) = rsp else {
        unreachable!()
    };
    assert_eq!(bit(bytes, 0), Some(true));
    assert_eq!(bit(bytes, 1), Some(false));
    assert_eq!(bit(bytes, 18), Some(true));
    assert_eq!(bit(bytes, 19), Some(false));
    assert_eq!(bit(bytes, 24), None);
}

#[test]
fn fc2_read_discrete_inputs() {
    assert_eq!(
        parse_request(REQ_FC2),
        Ok(Request::ReadDiscreteInputs {
            address: 196,
            quantity: 22
        })
    );

    assert_eq!(
        parse_response(RSP_FC2),
        Ok(Response::ReadBits {
            function: 2,
            bytes: &[0xAC, 0xDB, 0x35]
        })
    );
}

#[test]
fn fc3_read_holding_registers() {
    assert_eq!(
        parse_request(REQ_FC3),
        Ok(Request::ReadHoldingRegisters {
            address: 107,
            quantity: 3
        })
    );

    let rsp = parse_response(RSP_FC3);
    assert_eq!(
        rsp,
        Ok(Response::ReadRegisters {
            function: 3,
            bytes: &[0x02, 0x2B, 0x00, 0x00, 0x00, 0x64]
        })
    );
    let Ok(Response::ReadRegisters { bytes, .. }) = rsp else {
        unreachable!()
    };
    let registers: Vec<u16> = Registers::new(bytes).collect();
    assert_eq!(registers, [555, 0, 100]);
}

#[test]
fn fc4_read_input_registers() {
    assert_eq!(
        parse_request(REQ_FC4),
        Ok(Request::ReadInputRegisters {
            address: 8,
            quantity: 1
        })
    );

    assert_eq!(
        parse_response(RSP_FC4),
        Ok(Response::ReadRegisters {
            function: 4,
            bytes: &[0x00, 0x0A]
        })
    );
}

#[test]
fn fc5_write_single_coil() {
    assert_eq!(
        parse_request(REQ_FC5),
        Ok(Request::WriteSingleCoil {
            address: 172,
            value: 0xFF00
        })
    );

    assert_eq!(
        parse_response(RSP_FC5),
        Ok(Response::WriteSingle {
            function: 5,
            address: 172,
            value: 0xFF00
        })
    );
}

#[test]
fn fc5_keeps_a_value_servers_refuse() {
    #[rustfmt::skip]
    let pdu = [
        0x05,       // function code: Write Single Coil
        0x00, 0x01, // address 1
        0x12, 0x34, // value: neither on nor off
    ];

    assert_eq!(
        parse_request(&pdu),
        Ok(Request::WriteSingleCoil {
            address: 1,
            value: 0x1234
        })
    );
}

#[test]
fn fc6_write_single_register() {
    assert_eq!(
        parse_request(REQ_FC6),
        Ok(Request::WriteSingleRegister {
            address: 1,
            value: 3
        })
    );

    assert_eq!(
        parse_response(RSP_FC6),
        Ok(Response::WriteSingle {
            function: 6,
            address: 1,
            value: 3
        })
    );
}

#[test]
fn fc7_read_exception_status() {
    assert_eq!(parse_request(REQ_FC7), Ok(Request::ReadExceptionStatus));

    assert_eq!(
        parse_response(RSP_FC7),
        Ok(Response::Other {
            function: 7,
            data: &[0x6D]
        })
    );
}

#[test]
fn fc8_return_query_data() {
    assert_eq!(
        parse_request(REQ_FC8_QUERY),
        Ok(Request::Diagnostics {
            sub_function: 0,
            data: &[0xA5, 0x37]
        })
    );

    assert_eq!(
        parse_response(RSP_FC8_QUERY),
        Ok(Response::Diagnostics {
            sub_function: 0,
            data: &[0xA5, 0x37]
        })
    );
}

#[test]
fn fc8_restart_communications_option() {
    assert_eq!(
        parse_request(REQ_FC8_RESTART),
        Ok(Request::Diagnostics {
            sub_function: 1,
            data: &[0xFF, 0x00]
        })
    );

    assert_eq!(
        parse_response(RSP_FC8_RESTART),
        Ok(Response::Diagnostics {
            sub_function: 1,
            data: &[0xFF, 0x00]
        })
    );
}

#[test]
fn fc8_force_listen_only_mode() {
    // The server does not answer this one.
    assert_eq!(
        parse_request(REQ_FC8_LISTEN),
        Ok(Request::Diagnostics {
            sub_function: 4,
            data: &[0x00, 0x00]
        })
    );
}

#[test]
fn fc8_counter() {
    assert_eq!(
        parse_request(REQ_FC8_COUNT),
        Ok(Request::Diagnostics {
            sub_function: 0x0B,
            data: &[0x00, 0x00]
        })
    );

    assert_eq!(
        parse_response(RSP_FC8_COUNT),
        Ok(Response::Diagnostics {
            sub_function: 0x0B,
            data: &[0x01, 0x2C]
        })
    );
}

#[test]
fn fc8_defined_sub_functions_carry_one_word() {
    #[rustfmt::skip]
    let pdu = [
        0x08,       // function code: Diagnostics
        0x00, 0x0A, // sub-function: Clear Counters and Diagnostic Register
        0x00, 0x00, // data
        0x00,       // one byte too many
    ];

    assert_eq!(
        parse_request(&pdu),
        Err(ModbusError::Trailing {
            function: 8,
            len: 6,
            expected: 5
        })
    );
}

#[test]
fn fc8_reserved_sub_function_is_kept_raw() {
    #[rustfmt::skip]
    let pdu = [
        0x08,             // function code: Diagnostics
        0x00, 0x15,       // sub-function: Get/Clear Modbus Plus Statistics
        0x00, 0x03, 0x6C, // data
    ];

    assert_eq!(
        parse_request(&pdu),
        Ok(Request::Diagnostics {
            sub_function: 0x15,
            data: &[0x00, 0x03, 0x6C]
        })
    );
}

#[test]
fn fc11_get_comm_event_counter() {
    assert_eq!(parse_request(REQ_FC11), Ok(Request::GetCommEventCounter));

    assert_eq!(
        parse_response(RSP_FC11),
        Ok(Response::Other {
            function: 11,
            data: &[0xFF, 0xFF, 0x01, 0x08]
        })
    );
}

#[test]
fn fc12_get_comm_event_log() {
    assert_eq!(parse_request(REQ_FC12), Ok(Request::GetCommEventLog));

    assert_eq!(
        parse_response(RSP_FC12),
        Ok(Response::Other {
            function: 12,
            data: &RSP_FC12[1..]
        })
    );
}

#[test]
fn fc15_write_multiple_coils() {
    let req = parse_request(REQ_FC15);
    assert_eq!(
        req,
        Ok(Request::WriteMultipleCoils {
            address: 19,
            quantity: 10,
            values: &[0xCD, 0x01]
        })
    );
    let Ok(Request::WriteMultipleCoils { values, .. }) = req else {
        unreachable!()
    };
    let coils: Vec<bool> = (0..10).filter_map(|n| bit(values, n)).collect();
    let expected = [
        true, false, true, true, false, false, true, true, true, false,
    ];
    assert_eq!(coils, expected);

    assert_eq!(
        parse_response(RSP_FC15),
        Ok(Response::WriteMultiple {
            function: 15,
            address: 19,
            quantity: 10
        })
    );
}

#[test]
fn fc16_write_multiple_registers() {
    let req = parse_request(REQ_FC16);
    assert_eq!(
        req,
        Ok(Request::WriteMultipleRegisters {
            address: 1,
            quantity: 2,
            values: &[0x00, 0x0A, 0x01, 0x02],
        })
    );
    let Ok(Request::WriteMultipleRegisters { values, .. }) = req else {
        unreachable!()
    };
    assert_eq!(Registers::new(values).collect::<Vec<_>>(), [10, 258]);

    assert_eq!(
        parse_response(RSP_FC16),
        Ok(Response::WriteMultiple {
            function: 16,
            address: 1,
            quantity: 2
        })
    );
}

#[test]
fn fc17_report_server_id() {
    assert_eq!(parse_request(REQ_FC17), Ok(Request::ReportServerId));

    assert_eq!(
        parse_response(RSP_FC17),
        Ok(Response::Other {
            function: 17,
            data: &[0x03, 0x2A, 0xFF, 0x01]
        })
    );
}

#[test]
fn fc20_read_file_record() {
    let req = parse_request(REQ_FC20).unwrap();
    assert_eq!(
        req,
        Request::ReadFileRecord {
            subrequests: &REQ_FC20[2..]
        }
    );
    let subs: Vec<_> = req.subrequests().collect();
    assert_eq!(
        subs,
        [
            FileSubRequest {
                file: 4,
                record: 1,
                length: 2
            },
            FileSubRequest {
                file: 3,
                record: 9,
                length: 2
            },
        ]
    );

    let rsp = parse_response(RSP_FC20).unwrap();
    assert_eq!(
        rsp,
        Response::FileRecord {
            bytes: &RSP_FC20[2..]
        }
    );
    let data: Vec<&[u8]> = rsp.file_sub_responses().collect();
    assert_eq!(
        data,
        [&[0x0D, 0xFE, 0x00, 0x20][..], &[0x33, 0xCD, 0x00, 0x40][..]]
    );
}

#[test]
fn fc21_write_file_record() {
    let req = parse_request(REQ_FC21).unwrap();
    assert_eq!(
        req,
        Request::WriteFileRecord {
            records: &REQ_FC21[2..]
        }
    );
    let records: Vec<_> = req.records().collect();
    assert_eq!(
        records,
        [FileRecord {
            file: 4,
            record: 7,
            length: 3,
            data: &[0x06, 0xAF, 0x04, 0xBE, 0x10, 0x0D],
        }]
    );

    assert_eq!(
        parse_response(RSP_FC21),
        Ok(Response::Other {
            function: 21,
            data: &RSP_FC21[1..]
        })
    );
}

#[test]
fn fc21_several_records() {
    #[rustfmt::skip]
    let pdu = [
        0x15,       // function code: Write File Record
        0x10,       // request data length
        0x06,       // record 1: reference type
        0x00, 0x01, // record 1: file number 1
        0x00, 0x00, // record 1: record number 0
        0x00, 0x01, // record 1: record length 1
        0xAA, 0xBB, // record 1: register 1
        0x06,       // record 2: reference type
        0x00, 0x02, // record 2: file number 2
        0x27, 0x0F, // record 2: record number 9999
        0x00, 0x00, // record 2: record length 0
    ];

    let req = parse_request(&pdu).unwrap();

    let records: Vec<_> = req.records().collect();
    assert_eq!(
        records,
        [
            FileRecord {
                file: 1,
                record: 0,
                length: 1,
                data: &[0xAA, 0xBB]
            },
            FileRecord {
                file: 2,
                record: 9999,
                length: 0,
                data: &[]
            },
        ]
    );
}

#[test]
fn fc22_mask_write_register() {
    assert_eq!(
        parse_request(REQ_FC22),
        Ok(Request::MaskWriteRegister {
            address: 4,
            and_mask: 0xF2,
            or_mask: 0x25
        })
    );

    assert_eq!(
        parse_response(RSP_FC22),
        Ok(Response::MaskWrite {
            address: 4,
            and_mask: 0xF2,
            or_mask: 0x25
        })
    );
}

#[test]
fn fc23_read_write_multiple_registers() {
    assert_eq!(
        parse_request(REQ_FC23),
        Ok(Request::ReadWriteMultipleRegisters {
            read_address: 3,
            read_quantity: 6,
            write_address: 14,
            write_quantity: 3,
            values: &[0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF],
        })
    );

    let rsp = parse_response(RSP_FC23);
    assert_eq!(
        rsp,
        Ok(Response::ReadWriteRegisters {
            bytes: &RSP_FC23[2..]
        })
    );
    let Ok(Response::ReadWriteRegisters { bytes }) = rsp else {
        unreachable!()
    };
    assert_eq!(
        Registers::new(bytes).collect::<Vec<_>>(),
        [0xFE, 0x0ACD, 1, 3, 0x0D, 0xFF]
    );
}

#[test]
fn fc24_read_fifo_queue() {
    assert_eq!(
        parse_request(REQ_FC24),
        Ok(Request::ReadFifoQueue { address: 1246 })
    );

    assert_eq!(
        parse_response(RSP_FC24),
        Ok(Response::Other {
            function: 24,
            data: &RSP_FC24[1..]
        })
    );
}

#[test]
fn fc43_read_device_identification() {
    assert_eq!(
        parse_request(REQ_FC43_DEVICE_ID),
        Ok(Request::ReadDeviceIdentification {
            read_device_id_code: 1,
            object_id: 0
        })
    );

    let rsp = parse_response(RSP_FC43_DEVICE_ID).unwrap();
    assert_eq!(
        rsp,
        Response::ReadDeviceIdentification {
            read_device_id_code: 1,
            conformity_level: 1,
            more_follows: false,
            next_object_id: 0,
            objects: &RSP_FC43_DEVICE_ID[7..],
        }
    );
    let objects: Vec<_> = rsp.objects().collect();
    assert_eq!(
        objects,
        [
            DeviceObject {
                id: 0,
                value: b"ACM"
            },
            DeviceObject {
                id: 1,
                value: b"P1"
            },
            DeviceObject {
                id: 2,
                value: b"V1.0"
            },
        ]
    );
    assert_eq!(device_object_name(objects[2].id), "MajorMinorRevision");
}

#[test]
fn fc43_device_identification_more_follows() {
    #[rustfmt::skip]
    let pdu = [
        0x2B,       // function code: Encapsulated Interface Transport
        0x0E,       // MEI type: Read Device Identification
        0x02,       // read device id code: regular
        0x82,       // conformity level: regular, stream and individual
        0xFF,       // more follows: yes
        0x04,       // next object id: ProductName
        0x01,       // number of objects
        0x03,       // object 1: id VendorUrl
        0x01,       // object 1: length
        b'x',       // object 1: value
    ];

    assert_eq!(
        parse_response(&pdu),
        Ok(Response::ReadDeviceIdentification {
            read_device_id_code: 2,
            conformity_level: 0x82,
            more_follows: true,
            next_object_id: 4,
            objects: &[0x03, 0x01, b'x'],
        })
    );
}

#[test]
fn fc43_other_mei_is_kept_raw() {
    assert_eq!(
        parse_request(REQ_FC43_CANOPEN),
        Ok(Request::EncapsulatedInterface {
            mei_type: 0x0D,
            data: &[0x00, 0x01, 0x02]
        })
    );

    assert_eq!(
        parse_response(RSP_FC43_CANOPEN),
        Ok(Response::Other {
            function: 43,
            data: &[0x0D, 0x00, 0x01]
        })
    );
}

#[test]
fn fc90_umas_is_other() {
    let req = parse_request(REQ_FC90).unwrap();
    assert_eq!(
        req,
        Request::Other {
            function: 90,
            data: &[0x00, 0x02]
        }
    );
    assert_eq!(req.function_code(), 90);
    assert_eq!(req.class(), FunctionClass::Other);
    assert_eq!(req.name(), "UMAS (Schneider)");

    assert_eq!(
        parse_response(RSP_FC90),
        Ok(Response::Other {
            function: 90,
            data: &[0x00, 0xFE, 0x12, 0x34]
        })
    );
}

#[test]
fn user_defined_codes_are_other() {
    for function in (65..=72).chain(100..=110) {
        let pdu = [function, 0x01, 0x02];

        assert_eq!(
            parse_request(&pdu),
            Ok(Request::Other {
                function,
                data: &[0x01, 0x02]
            })
        );
        assert_eq!(
            parse_response(&pdu),
            Ok(Response::Other {
                function,
                data: &[0x01, 0x02]
            })
        );
        assert_eq!(function_name(function), "User-defined");
    }
}

#[test]
fn exceptions() {
    let rsp = parse_response(RSP_EXCEPTION_FC3).unwrap();
    assert_eq!(
        rsp,
        Response::Exception {
            function: 3,
            code: 2
        }
    );
    assert_eq!(rsp.function_code(), 3);
    assert_eq!(rsp.exception_code(), Some(2));
    assert_eq!(exception_name(2), "Illegal Data Address");

    assert_eq!(
        parse_response(RSP_EXCEPTION_FC16),
        Ok(Response::Exception {
            function: 16,
            code: 4
        })
    );

    assert_eq!(
        parse_response(&[0xAB, 0x01]),
        Ok(Response::Exception {
            function: 0x2B,
            code: 1
        })
    );
}

#[test]
fn exception_with_extra_byte_is_malformed() {
    assert_eq!(
        parse_response(&[0x83, 0x02, 0x00]),
        Err(ModbusError::Trailing {
            function: 0x83,
            len: 3,
            expected: 2
        })
    );
}

// Function classes and names.

#[test]
fn classes_follow_the_design() {
    let cases: [(&[u8], FunctionClass); 26] = [
        (REQ_FC1, FunctionClass::Read),
        (REQ_FC2, FunctionClass::Read),
        (REQ_FC3, FunctionClass::Read),
        (REQ_FC4, FunctionClass::Read),
        (REQ_FC5, FunctionClass::Write),
        (REQ_FC6, FunctionClass::Write),
        (REQ_FC7, FunctionClass::Diagnostic),
        (REQ_FC8_QUERY, FunctionClass::Diagnostic),
        (REQ_FC8_RESTART, FunctionClass::Control),
        (REQ_FC8_LISTEN, FunctionClass::Control),
        (REQ_FC8_COUNT, FunctionClass::Diagnostic),
        (REQ_FC11, FunctionClass::Diagnostic),
        (REQ_FC12, FunctionClass::Diagnostic),
        (REQ_FC15, FunctionClass::Write),
        (REQ_FC16, FunctionClass::Write),
        (REQ_FC17, FunctionClass::Diagnostic),
        (REQ_FC20, FunctionClass::Read),
        (REQ_FC21, FunctionClass::Write),
        (REQ_FC22, FunctionClass::Write),
        (REQ_FC23, FunctionClass::Write),
        (REQ_FC24, FunctionClass::Read),
        (REQ_FC43_DEVICE_ID, FunctionClass::Diagnostic),
        (REQ_FC43_CANOPEN, FunctionClass::Diagnostic),
        (REQ_FC90, FunctionClass::Other),
        (&[0x41], FunctionClass::Other),
        (&[0x09], FunctionClass::Other),
    ];

    for (pdu, class) in cases {
        let req = parse_request(pdu).unwrap();

        assert_eq!(req.class(), class, "{req:?}");
        assert_eq!(req.function_code(), pdu[0], "{req:?}");
    }
}

#[test]
fn request_names() {
    let device_id = parse_request(REQ_FC43_DEVICE_ID).unwrap();
    let canopen = parse_request(REQ_FC43_CANOPEN).unwrap();
    let write = parse_request(REQ_FC16).unwrap();

    assert_eq!(device_id.name(), "Read Device Identification");
    assert_eq!(canopen.name(), "CANopen General Reference");
    assert_eq!(write.name(), "Write Multiple Registers");
}

#[test]
fn iterators_are_empty_on_other_variants() {
    let req = parse_request(REQ_FC3).unwrap();
    let rsp = parse_response(RSP_FC3).unwrap();

    assert_eq!(req.records().count(), 0);
    assert_eq!(req.subrequests().count(), 0);
    assert_eq!(rsp.objects().count(), 0);
    assert_eq!(rsp.file_sub_responses().count(), 0);
}

#[test]
fn response_function_codes() {
    let cases: [(&[u8], u8); 10] = [
        (RSP_FC1, 1),
        (RSP_FC3, 3),
        (RSP_FC6, 6),
        (RSP_FC8_COUNT, 8),
        (RSP_FC16, 16),
        (RSP_FC20, 20),
        (RSP_FC22, 22),
        (RSP_FC23, 23),
        (RSP_FC43_DEVICE_ID, 43),
        (RSP_EXCEPTION_FC16, 16),
    ];

    for (pdu, function) in cases {
        let rsp = parse_response(pdu).unwrap();

        assert_eq!(rsp.function_code(), function, "{rsp:?}");
    }
}

// Malformed PDUs.

#[test]
fn empty_pdu() {
    assert_eq!(parse_request(&[]), Err(ModbusError::Empty));
    assert_eq!(parse_response(&[]), Err(ModbusError::Empty));
}

#[test]
fn invalid_function_codes() {
    for function in [0x00, 0x80, 0x83, 0xFF] {
        assert_eq!(
            parse_request(&[function, 0x00]),
            Err(ModbusError::InvalidFunction {
                function,
                role: "request"
            })
        );
    }
    for function in [0x00, 0x80] {
        assert_eq!(
            parse_response(&[function, 0x00]),
            Err(ModbusError::InvalidFunction {
                function,
                role: "response"
            })
        );
    }
}

#[test]
fn quantity_out_of_range() {
    // (PDU, function, field, value, max)
    #[rustfmt::skip]
    let cases: [(&[u8], u8, &str, u16, u16); 12] = [
        (&[0x01, 0x00, 0x00, 0x00, 0x00], 1, "quantity", 0, 2000),
        (&[0x01, 0x00, 0x00, 0x07, 0xD1], 1, "quantity", 2001, 2000),
        (&[0x02, 0x00, 0x00, 0x07, 0xD1], 2, "quantity", 2001, 2000),
        (&[0x03, 0x00, 0x00, 0x00, 0x00], 3, "quantity", 0, 125),
        (&[0x03, 0x00, 0x00, 0x00, 0x7E], 3, "quantity", 126, 125),
        (&[0x04, 0x00, 0x00, 0x00, 0x7E], 4, "quantity", 126, 125),
        (&[0x0F, 0x00, 0x00, 0x07, 0xB1, 0xF7], 15, "quantity", 1969, 1968),
        (&[0x0F, 0x00, 0x00, 0x00, 0x00, 0x00], 15, "quantity", 0, 1968),
        (&[0x10, 0x00, 0x00, 0x00, 0x7C, 0xF8], 16, "quantity", 124, 123),
        (&[0x10, 0x00, 0x00, 0x00, 0x00, 0x00], 16, "quantity", 0, 123),
        (&[0x17, 0x00, 0x00, 0x00, 0x7E], 23, "read quantity", 126, 125),
        (&[0x17, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x7A], 23, "write quantity", 122, 121),
    ];

    for (pdu, function, field, value, max) in cases {
        assert_eq!(
            parse_request(pdu),
            Err(ModbusError::Quantity {
                function,
                field,
                value,
                min: 1,
                max
            }),
            "{pdu:02x?}"
        );
    }
}

#[test]
fn quantity_limits_are_accepted() {
    let read_coils = [0x01, 0x00, 0x00, 0x07, 0xD0];
    let read_registers = [0x03, 0x00, 0x00, 0x00, 0x7D];
    let mut write_registers = vec![0x10, 0x00, 0x00, 0x00, 0x7B, 0xF6];
    write_registers.resize(6 + 246, 0xAA);
    let mut write_coils = vec![0x0F, 0x00, 0x00, 0x07, 0xB0, 0xF6];
    write_coils.resize(6 + 246, 0x55);

    assert!(parse_request(&read_coils).is_ok());
    assert!(parse_request(&read_registers).is_ok());
    assert_eq!(
        parse_request(&write_registers).map(|r| r.function_code()),
        Ok(16)
    );
    assert_eq!(
        parse_request(&write_coils).map(|r| r.function_code()),
        Ok(15)
    );
}

#[test]
fn byte_count_mismatch() {
    #[rustfmt::skip]
    let fc16 = [
        0x10,       // function code: Write Multiple Registers
        0x00, 0x01, // starting address 1
        0x00, 0x04, // quantity 4
        0x07,       // byte count: 7, needs 8
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // values
    ];
    #[rustfmt::skip]
    let fc15 = [
        0x0F,       // function code: Write Multiple Coils
        0x00, 0x00, // starting address 0
        0x00, 0x09, // quantity 9
        0x01,       // byte count: 1, needs 2
        0xFF,       // values
    ];
    #[rustfmt::skip]
    let fc23 = [
        0x17,       // function code: Read/Write Multiple Registers
        0x00, 0x00, // read starting address 0
        0x00, 0x01, // read quantity 1
        0x00, 0x00, // write starting address 0
        0x00, 0x01, // write quantity 1
        0x04,       // write byte count: 4, needs 2
        0x00, 0x00, 0x00, 0x00, // values
    ];

    let err = parse_request(&fc16).unwrap_err();
    assert_eq!(
        err,
        ModbusError::ByteCount {
            function: 16,
            byte_count: 7,
            of: "quantity",
            value: 4,
            needed: 8,
        }
    );
    assert_eq!(
        err.to_string(),
        "modbus: FC 16 byte count 7 does not match quantity 4 (needs 8)"
    );

    assert_eq!(
        parse_request(&fc15),
        Err(ModbusError::ByteCount {
            function: 15,
            byte_count: 1,
            of: "quantity",
            value: 9,
            needed: 2,
        })
    );
    assert_eq!(
        parse_request(&fc23),
        Err(ModbusError::ByteCount {
            function: 23,
            byte_count: 4,
            of: "write quantity",
            value: 1,
            needed: 2,
        })
    );
}

#[test]
fn fifo_byte_count_mismatch() {
    #[rustfmt::skip]
    let pdu = [
        0x18,       // function code: Read FIFO Queue
        0x00, 0x04, // byte count: 4, needs 6
        0x00, 0x02, // FIFO count 2
        0x00, 0x01, // FIFO value 1
        0x00, 0x02, // FIFO value 2
    ];

    assert_eq!(
        parse_response(&pdu),
        Err(ModbusError::ByteCount {
            function: 24,
            byte_count: 4,
            of: "FIFO count",
            value: 2,
            needed: 6,
        })
    );
    assert_eq!(
        parse_response(&[0x18, 0x00, 0x42, 0x00, 0x20]),
        Err(ModbusError::Quantity {
            function: 24,
            field: "FIFO count",
            value: 32,
            min: 0,
            max: 31,
        })
    );
}

#[test]
fn fixed_size_request_too_short() {
    let err = parse_request(&REQ_FC6[..3]).unwrap_err();

    assert_eq!(
        err,
        ModbusError::Truncated {
            function: 6,
            field: "value",
            len: 3,
            needed: 5
        }
    );
    assert_eq!(
        err.to_string(),
        "modbus: FC 6 PDU is 3 bytes, needs 5 (value)"
    );
}

#[test]
fn trailing_bytes_are_malformed() {
    let cases: [(&[u8], bool); 7] = [
        (REQ_FC3, true),
        (REQ_FC6, true),
        (REQ_FC7, true),
        (REQ_FC16, true),
        (REQ_FC43_DEVICE_ID, true),
        (RSP_FC3, false),
        (RSP_FC43_DEVICE_ID, false),
    ];

    for (pdu, request) in cases {
        let mut long = pdu.to_vec();
        long.push(0x00);

        let parsed = if request {
            parse_request(&long).map(|_| ())
        } else {
            parse_response(&long).map(|_| ())
        };

        let expected = ModbusError::Trailing {
            function: pdu[0],
            len: pdu.len() + 1,
            expected: pdu.len(),
        };
        assert_eq!(parsed, Err(expected), "{pdu:02x?}");
    }
}

#[test]
fn trailing_bytes_message() {
    let err = parse_request(&[0x06, 0x00, 0x01, 0x00, 0x03, 0xAA, 0xBB]).unwrap_err();

    assert_eq!(
        err.to_string(),
        "modbus: FC 6 PDU is 7 bytes, expected 5 (trailing bytes)"
    );
}

#[test]
fn file_record_reference_type() {
    let mut fc21 = REQ_FC21.to_vec();
    fc21[2] = 0x05;
    let mut fc20 = REQ_FC20.to_vec();
    fc20[9] = 0x07;
    let mut fc20_rsp = RSP_FC20.to_vec();
    fc20_rsp[9] = 0x00;

    let err = parse_request(&fc21).unwrap_err();
    assert_eq!(
        err,
        ModbusError::Field {
            function: 21,
            field: "reference type",
            value: 5,
            expected: "6"
        }
    );
    assert_eq!(
        err.to_string(),
        "modbus: FC 21 reference type 5, expected 6"
    );

    assert_eq!(
        parse_request(&fc20),
        Err(ModbusError::Field {
            function: 20,
            field: "reference type",
            value: 7,
            expected: "6"
        })
    );
    assert_eq!(
        parse_response(&fc20_rsp),
        Err(ModbusError::Field {
            function: 20,
            field: "reference type",
            value: 0,
            expected: "6"
        })
    );
}

#[test]
fn file_record_overruns_its_byte_count() {
    #[rustfmt::skip]
    let pdu = [
        0x15,       // function code: Write File Record
        0x0B,       // request data length: 11
        0x06,       // reference type
        0x00, 0x01, // file number 1
        0x00, 0x00, // record number 0
        0x00, 0x03, // record length 3: 6 bytes, 2 more than the data length allows
        0x00, 0x01, // record data
        0x00, 0x02, // record data
        0x00, 0x03, // beyond the request data length
    ];

    assert_eq!(
        parse_request(&pdu),
        Err(ModbusError::Overrun {
            function: 21,
            field: "record data",
            byte_count: 11,
            needed: 13,
        })
    );
}

#[test]
fn file_record_byte_count_range() {
    let mut fc20 = REQ_FC20.to_vec();
    fc20[1] = 0x08;

    assert_eq!(
        parse_request(&fc20),
        Err(ModbusError::Field {
            function: 20,
            field: "byte count",
            value: 8,
            expected: "a multiple of 7 in 7..=245",
        })
    );
    assert_eq!(
        parse_request(&[0x15, 0x07, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]),
        Err(ModbusError::Field {
            function: 21,
            field: "request data length",
            value: 7,
            expected: "9..=251",
        })
    );
}

#[test]
fn read_device_id_code_out_of_range() {
    for code in [0x00, 0x05] {
        assert_eq!(
            parse_request(&[0x2B, 0x0E, code, 0x00]),
            Err(ModbusError::Field {
                function: 43,
                field: "read device id code",
                value: code.into(),
                expected: "1..=4",
            })
        );
    }
}

#[test]
fn device_id_object_count_disagrees() {
    let mut fewer = RSP_FC43_DEVICE_ID.to_vec();
    fewer[6] = 0x02;
    let mut more = RSP_FC43_DEVICE_ID.to_vec();
    more[6] = 0x04;
    let len = RSP_FC43_DEVICE_ID.len();

    assert_eq!(
        parse_response(&fewer),
        Err(ModbusError::Trailing {
            function: 43,
            len,
            expected: len - 6
        })
    );
    assert_eq!(
        parse_response(&more),
        Err(ModbusError::Truncated {
            function: 43,
            field: "object id",
            len,
            needed: len + 1
        })
    );
}

#[test]
fn response_byte_counts() {
    assert_eq!(
        parse_response(&[0x03, 0x03, 0x00, 0x01, 0x02]),
        Err(ModbusError::Field {
            function: 3,
            field: "byte count",
            value: 3,
            expected: "an even number in 2..=250",
        })
    );
    assert_eq!(
        parse_response(&[0x01, 0x00]),
        Err(ModbusError::Field {
            function: 1,
            field: "byte count",
            value: 0,
            expected: "1..=250"
        })
    );
    assert_eq!(
        parse_response(&[0x03, 0x04, 0x00, 0x01]),
        Err(ModbusError::Truncated {
            function: 3,
            field: "register values",
            len: 4,
            needed: 6
        })
    );
    assert_eq!(
        parse_response(&[0x0C, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00]),
        Err(ModbusError::Field {
            function: 12,
            field: "byte count",
            value: 5,
            expected: "6..=70"
        })
    );
}

// Every truncation of every fixture.

/// A fixture PDU, which parser reads it, and, for PDUs that end in raw data of any length,
/// from which length on its prefixes are valid PDUs in their own right and where in the PDU
/// their raw data starts.
struct Fixture {
    pdu: &'static [u8],
    request: bool,
    valid: Option<(usize, usize)>,
}

const fn req(pdu: &'static [u8]) -> Fixture {
    Fixture {
        pdu,
        request: true,
        valid: None,
    }
}

const fn rsp(pdu: &'static [u8]) -> Fixture {
    Fixture {
        pdu,
        request: false,
        valid: None,
    }
}

const fn raw(pdu: &'static [u8], request: bool, from: usize, tail: usize) -> Fixture {
    Fixture {
        pdu,
        request,
        valid: Some((from, tail)),
    }
}

const FIXTURES: &[Fixture] = &[
    req(REQ_FC1),
    req(REQ_FC2),
    req(REQ_FC3),
    req(REQ_FC4),
    req(REQ_FC5),
    req(REQ_FC6),
    req(REQ_FC7),
    raw(REQ_FC8_QUERY, true, 3, 3),
    req(REQ_FC8_RESTART),
    req(REQ_FC8_LISTEN),
    req(REQ_FC8_COUNT),
    req(REQ_FC11),
    req(REQ_FC12),
    req(REQ_FC15),
    req(REQ_FC16),
    req(REQ_FC17),
    req(REQ_FC20),
    req(REQ_FC21),
    req(REQ_FC22),
    req(REQ_FC23),
    req(REQ_FC24),
    req(REQ_FC43_DEVICE_ID),
    raw(REQ_FC43_CANOPEN, true, 2, 2),
    raw(REQ_FC90, true, 1, 1),
    rsp(RSP_FC1),
    rsp(RSP_FC2),
    rsp(RSP_FC3),
    rsp(RSP_FC4),
    rsp(RSP_FC5),
    rsp(RSP_FC6),
    rsp(RSP_FC7),
    raw(RSP_FC8_QUERY, false, 3, 3),
    rsp(RSP_FC8_RESTART),
    rsp(RSP_FC8_COUNT),
    rsp(RSP_FC11),
    rsp(RSP_FC12),
    rsp(RSP_FC15),
    rsp(RSP_FC16),
    rsp(RSP_FC17),
    rsp(RSP_FC20),
    rsp(RSP_FC21),
    rsp(RSP_FC22),
    rsp(RSP_FC23),
    rsp(RSP_FC24),
    rsp(RSP_FC43_DEVICE_ID),
    raw(RSP_FC43_CANOPEN, false, 2, 1),
    raw(RSP_FC90, false, 1, 1),
    rsp(RSP_EXCEPTION_FC3),
    rsp(RSP_EXCEPTION_FC16),
];

/// The raw tail of a variant that ends in data of any length.
fn request_tail<'a>(req: &Request<'a>) -> Option<&'a [u8]> {
    match *req {
        Request::Diagnostics {
            sub_function: 0,
            data,
        } => Some(data),
        Request::EncapsulatedInterface { data, .. } | Request::Other { data, .. } => Some(data),
        _ => None,
    }
}

/// The raw tail of a response variant that ends in data of any length.
fn response_tail<'a>(rsp: &Response<'a>) -> Option<&'a [u8]> {
    match *rsp {
        Response::Diagnostics {
            sub_function: 0,
            data,
        } => Some(data),
        Response::Other { data, .. } => Some(data),
        _ => None,
    }
}

#[test]
fn every_fixture_parses_whole() {
    for fixture in FIXTURES {
        let ok = if fixture.request {
            parse_request(fixture.pdu).is_ok()
        } else {
            parse_response(fixture.pdu).is_ok()
        };

        assert!(ok, "{:02x?}", fixture.pdu);
    }
}

#[test]
fn every_truncation_of_every_fixture() {
    for fixture in FIXTURES {
        for cut in 0..fixture.pdu.len() {
            let prefix = &fixture.pdu[..cut];
            let (tail, err) = if fixture.request {
                match parse_request(prefix) {
                    Ok(req) => (request_tail(&req), None),
                    Err(e) => (None, Some(e)),
                }
            } else {
                match parse_response(prefix) {
                    Ok(rsp) => (response_tail(&rsp), None),
                    Err(e) => (None, Some(e)),
                }
            };

            let context = format!("{:02x?} cut at {cut}", fixture.pdu);
            match (fixture.valid, err) {
                (Some((from, at)), None) if cut >= from => {
                    assert_eq!(tail, Some(&prefix[at..]), "{context}");
                }
                (_, None) => panic!("{context}: a truncated PDU parsed"),
                (_, Some(ModbusError::Empty)) => assert_eq!(cut, 0, "{context}"),
                (
                    _,
                    Some(ModbusError::Truncated {
                        function,
                        len,
                        needed,
                        ..
                    }),
                ) => {
                    assert_eq!(function, fixture.pdu[0], "{context}");
                    assert_eq!(len, cut, "{context}");
                    assert!(
                        needed > cut && needed <= fixture.pdu.len(),
                        "{context}: {needed}"
                    );
                }
                (_, Some(other)) => panic!("{context}: {other}"),
            }
        }
    }
}

// Framing.

#[test]
fn frames_one_adu() {
    let framing = frame_adu(ADU_READ_REQUEST);

    let expected = Adu {
        mbap: Mbap {
            transaction_id: 1,
            protocol_id: 0,
            length: 6,
            unit_id: 0x11,
        },
        pdu: REQ_FC3,
    };
    assert_eq!(
        framing,
        Framing::Adu {
            adu: expected,
            consumed: 12
        }
    );
}

#[test]
fn frames_adus_back_to_back() {
    let mut stream = Vec::new();
    stream.extend_from_slice(ADU_READ_REQUEST);
    stream.extend_from_slice(ADU_READ_RESPONSE);
    stream.extend_from_slice(ADU_WRITE_REQUEST);
    stream.extend_from_slice(ADU_EXCEPTION);
    stream.extend_from_slice(&ADU_READ_REQUEST[..9]);

    let mut framed = Vec::new();
    let mut rest = &stream[..];
    let stop = loop {
        match frame_adu(rest) {
            Framing::Adu { adu, consumed } => {
                framed.push((adu.mbap.transaction_id, adu.mbap.unit_id, adu.pdu, consumed));
                rest = &rest[consumed..];
            }
            other => break other,
        }
    };

    assert_eq!(
        framed,
        [
            (1, 0x11, REQ_FC3, ADU_READ_REQUEST.len()),
            (1, 0x11, RSP_FC3, ADU_READ_RESPONSE.len()),
            (2, 0xFF, REQ_FC16, ADU_WRITE_REQUEST.len()),
            (2, 0xFF, RSP_EXCEPTION_FC16, ADU_EXCEPTION.len()),
        ]
    );
    assert_eq!(stop, Framing::Incomplete { needed: 12 });
    assert_eq!(rest, &ADU_READ_REQUEST[..9]);
}

#[test]
fn framed_pdus_parse() {
    let pdu = |adu: &'static [u8]| match frame_adu(adu) {
        Framing::Adu { adu, .. } => adu.pdu,
        other => panic!("{other:?}"),
    };

    assert_eq!(
        parse_request(pdu(ADU_WRITE_REQUEST)).map(|r| r.class()),
        Ok(FunctionClass::Write)
    );
    assert_eq!(
        parse_response(pdu(ADU_EXCEPTION)),
        Ok(Response::Exception {
            function: 16,
            code: 4
        })
    );
}

#[test]
fn every_truncation_of_an_adu_is_incomplete() {
    for adu in [
        ADU_READ_REQUEST,
        ADU_READ_RESPONSE,
        ADU_WRITE_REQUEST,
        ADU_EXCEPTION,
    ] {
        for cut in 0..adu.len() {
            // Until the length field is in, only the smallest ADU is known to be needed.
            let needed = if cut < 6 { MIN_ADU_LEN } else { adu.len() };

            assert_eq!(
                frame_adu(&adu[..cut]),
                Framing::Incomplete { needed },
                "{adu:02x?} cut at {cut}"
            );
        }
    }
}

#[test]
fn invalid_protocol_id() {
    let mut adu = ADU_READ_REQUEST.to_vec();
    adu[3] = 0x01;

    let invalid = Framing::Invalid(MbapError::ProtocolId { protocol_id: 1 });
    assert_eq!(frame_adu(&adu), invalid);
    // Known as soon as the protocol id is in.
    assert_eq!(frame_adu(&adu[..4]), invalid);
    assert_eq!(
        frame_adu(&adu[..3]),
        Framing::Incomplete {
            needed: MIN_ADU_LEN
        }
    );
    assert_eq!(
        MbapError::ProtocolId { protocol_id: 1 }.to_string(),
        "modbus: MBAP protocol id 1 is not 0"
    );
}

#[test]
fn invalid_lengths() {
    for length in [0u16, 1, 255, 0xFFFF] {
        let mut adu = ADU_READ_REQUEST.to_vec();
        adu[4..6].copy_from_slice(&length.to_be_bytes());

        let invalid = Framing::Invalid(MbapError::Length { length });
        assert_eq!(frame_adu(&adu), invalid, "length {length}");
        assert_eq!(frame_adu(&adu[..6]), invalid, "length {length}");
    }
    assert_eq!(
        MbapError::Length { length: 255 }.to_string(),
        "modbus: MBAP length 255 out of range 2..=254"
    );
}

#[test]
fn length_limits_are_framed() {
    #[rustfmt::skip]
    let smallest = [
        0x00, 0x07, // transaction id
        0x00, 0x00, // protocol id
        0x00, 0x02, // length: unit id and function code
        0x01,       // unit id
        0x07,       // function code: Read Exception Status
    ];
    let mut largest = vec![0x00, 0x08, 0x00, 0x00, 0x00, 0xFE, 0x01, 0x41];
    largest.resize(MAX_ADU_LEN, 0xEE);
    largest.push(0x99);

    assert_eq!(
        frame_adu(&smallest),
        Framing::Adu {
            adu: Adu {
                mbap: Mbap {
                    transaction_id: 7,
                    protocol_id: 0,
                    length: 2,
                    unit_id: 1
                },
                pdu: &[0x07],
            },
            consumed: MIN_ADU_LEN,
        }
    );
    let Framing::Adu { adu, consumed } = frame_adu(&largest) else {
        panic!()
    };
    assert_eq!(consumed, MAX_ADU_LEN);
    assert_eq!(adu.pdu.len(), 253);
    assert_eq!(adu.pdu.first(), Some(&0x41));
    assert_eq!(adu.pdu.last(), Some(&0xEE));
}

#[test]
fn plausible_headers() {
    assert!(plausible_mbap(ADU_READ_REQUEST));
    assert!(plausible_mbap(ADU_READ_RESPONSE));
    assert!(plausible_mbap(ADU_EXCEPTION));
    // A whole header is enough; the function code may not have arrived.
    assert!(plausible_mbap(&ADU_READ_REQUEST[..MBAP_LEN]));
    assert!(plausible_mbap(&[
        0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x01, 0x5A
    ]));
}

#[test]
fn implausible_headers() {
    let with = |index: usize, value: u8| {
        let mut adu = ADU_READ_REQUEST.to_vec();
        adu[index] = value;
        adu
    };

    assert!(!plausible_mbap(&ADU_READ_REQUEST[..MBAP_LEN - 1]));
    assert!(!plausible_mbap(&with(2, 0x01)), "protocol id 256");
    assert!(!plausible_mbap(&with(5, 0x01)), "length 1");
    assert!(!plausible_mbap(&with(4, 0x01)), "length 262");
    assert!(!plausible_mbap(&with(7, 0x00)), "function code 0");
    assert!(!plausible_mbap(&with(7, 0x80)), "function code 128");
    assert!(!plausible_mbap(&with(7, 0x83)), "exception with length 6");
    assert!(plausible_mbap(&with(7, 0x7F)), "function code 127");
    assert!(!plausible_mbap(b"GET / HTTP/1.1\r\n"));
}

// Robustness beyond the fixtures.

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Checks what any parse result must satisfy, whatever the bytes.
fn check_invariants(bytes: &[u8]) {
    match parse_request(bytes) {
        Ok(req) => {
            assert_eq!(Some(&req.function_code()), bytes.first(), "{bytes:02x?}");
            let _ = req.class();
            assert!(req.records().count() <= bytes.len());
            assert!(req.subrequests().count() <= bytes.len());
        }
        Err(ModbusError::Truncated { len, needed, .. }) => {
            assert_eq!(len, bytes.len());
            assert!(needed > len, "{bytes:02x?}");
        }
        Err(ModbusError::Trailing { len, expected, .. }) => assert!(expected < len),
        Err(_) => {}
    }

    match parse_response(bytes) {
        Ok(rsp) => {
            let function = bytes.first().map(|f| f & 0x7F);
            assert_eq!(Some(rsp.function_code()), function, "{bytes:02x?}");
            assert!(rsp.objects().count() <= bytes.len());
            assert!(rsp.file_sub_responses().count() <= bytes.len());
        }
        Err(ModbusError::Truncated { len, needed, .. }) => {
            assert_eq!(len, bytes.len());
            assert!(needed > len, "{bytes:02x?}");
        }
        Err(_) => {}
    }

    match frame_adu(bytes) {
        Framing::Adu { adu, consumed } => {
            assert_eq!(consumed, MBAP_LEN + adu.pdu.len());
            assert_eq!(usize::from(adu.mbap.length), adu.pdu.len() + 1);
            assert!(consumed <= bytes.len() && consumed <= MAX_ADU_LEN);
            assert!(plausible_mbap(bytes) || matches!(adu.pdu.first(), Some(0 | 0x80..)));
        }
        Framing::Incomplete { needed } => {
            assert!(needed > bytes.len() && needed <= MAX_ADU_LEN);
        }
        Framing::Invalid(_) => assert!(!plausible_mbap(bytes)),
    }
}

#[test]
fn every_single_byte_change_of_every_fixture() {
    for fixture in FIXTURES {
        let mut pdu = fixture.pdu.to_vec();
        for at in 0..pdu.len() {
            let original = pdu[at];
            for value in [0x00, 0x01, 0x06, 0x0E, 0x7F, 0x80, 0xFF, original ^ 0x01] {
                pdu[at] = value;
                check_invariants(&pdu);
            }
            pdu[at] = original;
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut buf = [0u8; 300];

    for round in 0..50_000 {
        let len = (rng.next() % 300) as usize;
        for byte in &mut buf[..len] {
            *byte = rng.next() as u8;
        }
        // Half the inputs get a valid-looking MBAP header, so framing goes past it.
        if round % 2 == 0 && len >= MBAP_LEN {
            buf[2] = 0;
            buf[3] = 0;
            buf[4] = 0;
            buf[5] = (rng.next() % 256) as u8;
        }

        check_invariants(&buf[..len]);
        check_invariants(buf.get(MBAP_LEN..len).unwrap_or(&[]));
    }
}
