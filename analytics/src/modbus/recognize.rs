//! Recognising Modbus/TCP from the first bytes of a conversation.
//!
//! On port 502 a valid MBAP header suffices; on any other port the bytes must hold whole,
//! plausible ADUs, so a Modbus server on 503 or 5020 is found while random traffic rarely is.
//! Traffic on 502 whose content does not fit (the Zeek capture with non-Modbus traffic on 502)
//! is left to the other recognisers, and then only counted. The well-known ports of the other
//! OT protocols are never taken for Modbus.

use crate::evidence::Protocol;
use crate::recognize::Hit;
use dissectors::modbus::{
    frame_adu, parse_request, parse_response, plausible_mbap, Framing, MBAP_LEN,
};

/// The Modbus/TCP port.
pub const MODBUS_PORT: u16 = 502;

/// Well-known ports of protocols that are not Modbus/TCP in clear: a Modbus-looking byte run
/// there is a coincidence inside another protocol's PDUs, not Modbus.
const OTHER_PROTOCOL_PORTS: &[u16] = &[102, 802, 2221, 2222, 4840, 44818];

/// Whether the first bytes of one direction are Modbus/TCP; see [`crate::recognize`].
pub fn recognize(server_port: u16, data: &[u8], start_known: bool) -> Option<Hit> {
    if OTHER_PROTOCOL_PORTS.contains(&server_port) {
        return None;
    }
    // On its own port a valid MBAP header is enough, whatever function code follows (scanners
    // send reserved codes); elsewhere the bytes must hold whole, plausible ADUs.
    let on_port = server_port == MODBUS_PORT && mbap_header(data);
    if on_port || (plausible_mbap(data) && whole_adus(data)) {
        return Some(hit(data, 0));
    }
    if !start_known {
        let last = data.len().saturating_sub(MBAP_LEN);
        for offset in 1..=last {
            let rest = &data[offset..];
            // Off its port, a stream joined mid-way needs two ADUs in a row to be believed.
            let needed = if server_port == MODBUS_PORT { 1 } else { 2 };
            if plausible_mbap(rest) && adus(rest) >= needed {
                return Some(hit(data, offset));
            }
        }
    }
    None
}

fn hit(data: &[u8], offset: usize) -> Hit {
    Hit {
        protocol: Protocol::Modbus,
        offset,
        sender_is_client: sender_is_client(&data[offset..]),
        tls: false,
    }
}

/// For a conversation joined without its handshake on ports that do not say who serves: whether
/// the sender of this Modbus payload is the client, judged by whether its first ADU reads only
/// as a request or only as a response. `None` when both readings (or neither) work, as for the
/// echoed FC 5 and FC 6.
fn sender_is_client(payload: &[u8]) -> Option<bool> {
    let Framing::Adu { adu, .. } = frame_adu(payload) else {
        return None;
    };
    match (
        parse_request(adu.pdu).is_ok(),
        parse_response(adu.pdu).is_ok(),
    ) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// Whether `data` starts with an MBAP header: protocol id 0 and a length of 2..=254.
fn mbap_header(data: &[u8]) -> bool {
    match data {
        [_, _, 0, 0, hi, lo, _, ..] => (2..=254).contains(&u16::from_be_bytes([*hi, *lo])),
        _ => false,
    }
}

/// Whether `data` is one or more complete ADUs, possibly followed by the start of another.
fn whole_adus(data: &[u8]) -> bool {
    adus(data) > 0
}

/// How many complete ADUs `data` holds before the start of an incomplete one; 0 when any
/// bytes in it cannot be an ADU.
fn adus(mut data: &[u8]) -> usize {
    let mut count = 0;
    while !data.is_empty() {
        match frame_adu(data) {
            Framing::Adu { consumed, .. } => {
                data = &data[consumed..];
                count += 1;
            }
            Framing::Incomplete { .. } => break,
            Framing::Invalid(_) => return 0,
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recognize(port: u16, data: &[u8], start_known: bool) -> Option<usize> {
        super::recognize(port, data, start_known).map(|h| h.offset)
    }

    const WRITE_REGISTER: &[u8] = &[
        0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x06, 0x00, 0x10, 0x00, 0x2a,
    ];

    #[test]
    fn modbus_on_any_port_by_content() {
        let at_start = Some(0);
        assert_eq!(recognize(502, WRITE_REGISTER, true), at_start);
        assert_eq!(recognize(5020, WRITE_REGISTER, true), at_start);
        let mut two = WRITE_REGISTER.to_vec();
        two.extend_from_slice(WRITE_REGISTER);
        assert_eq!(recognize(503, &two, true), at_start);
        assert_eq!(recognize(503, &two[..20], true), at_start);
    }

    #[test]
    fn request_or_response_tells_the_client() {
        let read_request = [0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 2];
        let read_response = [0, 1, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2];
        assert_eq!(sender_is_client(&read_request), Some(true));
        assert_eq!(sender_is_client(&read_response), Some(false));
        assert_eq!(sender_is_client(WRITE_REGISTER), None);
    }

    #[test]
    fn partial_or_foreign_content_is_not_modbus_off_port() {
        assert_eq!(recognize(5020, &WRITE_REGISTER[..10], true), None);
        assert_eq!(recognize(502, b"GET / HTTP/1.1\r\n", true), None);
        let tls = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
        assert_eq!(recognize(8080, tls, true), None);
        assert_eq!(recognize(502, &[b'x'; 1024], true), None);
    }

    #[test]
    fn a_stream_joined_mid_way_is_found_at_its_next_adu() {
        let mut data = WRITE_REGISTER[5..].to_vec();
        data.extend_from_slice(WRITE_REGISTER);
        assert_eq!(recognize(5020, &data, false), None, "one ADU is not enough");
        data.extend_from_slice(WRITE_REGISTER);
        assert_eq!(recognize(5020, &data, false), Some(7));
        assert_eq!(recognize(102, &data, false), None);
        assert_eq!(recognize(5020, &data, true), None);
    }
}
