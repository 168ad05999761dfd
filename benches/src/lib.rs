//! Shared helpers for the benchmarks in `benches/benches/`.
//!
//! The benchmark inputs are byte images assembled in code rather than read from fixtures, so
//! each bench states exactly what it feeds the code under test. The helpers here build the
//! parts they share: a Modbus/TCP ADU around a PDU, and the PDUs themselves, one field per
//! line with a comment naming it, in wire order.
//!
//! Nothing here is timed: the benches call these once, outside the measured closures.

#![forbid(unsafe_code)]

pub mod synth;

/// Wraps `pdu` (function code and data) in an MBAP header: a Modbus/TCP ADU.
///
/// # Panics
///
/// If `pdu` is empty or longer than 253 bytes, which no Modbus/TCP ADU can hold; the benches
/// only build valid ADUs.
pub fn adu(transaction_id: u16, unit_id: u8, pdu: &[u8]) -> Vec<u8> {
    assert!((1..=253).contains(&pdu.len()), "PDU of {} bytes", pdu.len());
    // The length field counts the unit id and the PDU.
    let length = u16::try_from(pdu.len() + 1).expect("checked above");

    let mut adu = Vec::with_capacity(7 + pdu.len());
    adu.extend_from_slice(&transaction_id.to_be_bytes()); // transaction id
    adu.extend_from_slice(&0u16.to_be_bytes()); // protocol id: 0 is Modbus
    adu.extend_from_slice(&length.to_be_bytes()); // length: unit id + PDU
    adu.push(unit_id); // unit id
    adu.extend_from_slice(pdu); // function code and data
    adu
}

/// Register values as a plant would write them: a slow ramp, big-endian, `count` registers.
pub fn registers(count: u16) -> Vec<u8> {
    (0..count)
        .flat_map(|i| (1000 + 7 * i).to_be_bytes())
        .collect()
}

/// FC 3 Read Holding Registers request for `quantity` registers at `address`.
pub fn read_holding_request(address: u16, quantity: u16) -> Vec<u8> {
    let mut pdu = vec![3]; // function code 3
    pdu.extend_from_slice(&address.to_be_bytes()); // starting address
    pdu.extend_from_slice(&quantity.to_be_bytes()); // quantity of registers, 1..=125
    pdu
}

/// FC 3 response carrying `quantity` registers.
pub fn read_holding_response(quantity: u16) -> Vec<u8> {
    let values = registers(quantity);
    let mut pdu = vec![3]; // function code 3
    pdu.push(u8::try_from(values.len()).expect("at most 125 registers")); // byte count
    pdu.extend_from_slice(&values); // register values
    pdu
}

/// FC 16 Write Multiple Registers request writing `quantity` registers at `address`.
pub fn write_registers_request(address: u16, quantity: u16) -> Vec<u8> {
    let values = registers(quantity);
    let mut pdu = vec![16]; // function code 16
    pdu.extend_from_slice(&address.to_be_bytes()); // starting address
    pdu.extend_from_slice(&quantity.to_be_bytes()); // quantity of registers, 1..=123
    pdu.push(u8::try_from(values.len()).expect("at most 123 registers")); // byte count
    pdu.extend_from_slice(&values); // register values
    pdu
}

/// FC 15 Write Multiple Coils request writing `quantity` coils at `address`.
pub fn write_coils_request(address: u16, quantity: u16) -> Vec<u8> {
    // Alternating on/off coils, packed 8 to a byte, low bit first.
    let bytes = usize::from(quantity).div_ceil(8);
    let values = vec![0b0101_0101; bytes];
    let mut pdu = vec![15]; // function code 15
    pdu.extend_from_slice(&address.to_be_bytes()); // starting address
    pdu.extend_from_slice(&quantity.to_be_bytes()); // quantity of coils, 1..=1968
    pdu.push(u8::try_from(bytes).expect("at most 1968 coils")); // byte count
    pdu.extend_from_slice(&values); // packed coil values
    pdu
}

/// FC 15 or 16 response: the address and quantity written.
pub fn write_multiple_response(function: u8, address: u16, quantity: u16) -> Vec<u8> {
    let mut pdu = vec![function]; // function code 15 or 16
    pdu.extend_from_slice(&address.to_be_bytes()); // starting address
    pdu.extend_from_slice(&quantity.to_be_bytes()); // quantity written
    pdu
}

/// FC 5 Write Single Coil or FC 6 Write Single Register; the response is the same bytes.
pub fn write_single(function: u8, address: u16, value: u16) -> Vec<u8> {
    let mut pdu = vec![function]; // function code 5 or 6
    pdu.extend_from_slice(&address.to_be_bytes()); // coil or register address
    pdu.extend_from_slice(&value.to_be_bytes()); // FC 5: 0xFF00 on / 0x0000 off
    pdu
}

/// An exception response: `function` with the 0x80 bit set, then the exception code.
pub fn exception_response(function: u8, code: u8) -> Vec<u8> {
    vec![
        function | 0x80, // function code of the request + 0x80
        code,            // exception code
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use dissectors::modbus::{frame_adu, parse_request, parse_response, Framing};

    fn pdu_of(adu: &[u8]) -> &[u8] {
        match frame_adu(adu) {
            Framing::Adu { adu: a, consumed } => {
                assert_eq!(consumed, adu.len());
                a.pdu
            }
            other => panic!("not one ADU: {other:?}"),
        }
    }

    #[test]
    fn built_requests_and_responses_parse() {
        let requests = [
            read_holding_request(0, 125),
            write_registers_request(100, 10),
            write_registers_request(200, 123),
            write_coils_request(16, 20),
            write_single(5, 3, 0xFF00),
            write_single(6, 40, 1234),
        ];
        for pdu in &requests {
            assert!(parse_request(pdu_of(&adu(1, 1, pdu))).is_ok(), "{pdu:02x?}");
        }

        let responses = [
            read_holding_response(125),
            write_multiple_response(16, 200, 123),
            write_multiple_response(15, 16, 20),
            write_single(6, 40, 1234),
            exception_response(3, 2),
        ];
        for pdu in &responses {
            assert!(
                parse_response(pdu_of(&adu(1, 1, pdu))).is_ok(),
                "{pdu:02x?}"
            );
        }
    }
}
