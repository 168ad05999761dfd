//! Protocol recognition: which dissector reads a TCP conversation.
//!
//! A conversation is recognised from its first payload bytes, by content, with the server
//! port as a hint: on a protocol's well-known port one plausible header suffices; on any other
//! port the payload must consist of whole, consistent PDUs, so a Modbus server on 503 or 5020
//! is found while random traffic rarely is. Traffic on a well-known port whose content does not
//! fit (the Zeek capture with non-Modbus traffic on 502) is left unrecognised and only counted.

use dissectors::modbus::{frame_adu, parse_request, parse_response, plausible_mbap, Framing};

/// How many payload segments of a conversation are examined before it is declared unknown.
pub const MAX_ATTEMPTS: u8 = 4;

pub const MODBUS_PORT: u16 = 502;

/// What the first bytes of a conversation say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recognized {
    Modbus,
    /// Not recognised yet; look at the next payload.
    NotYet,
}

/// Examines one payload of a conversation whose server listens on `server_port`.
pub fn recognize(server_port: u16, payload: &[u8]) -> Recognized {
    if is_modbus(server_port, payload) {
        return Recognized::Modbus;
    }
    Recognized::NotYet
}

fn is_modbus(server_port: u16, payload: &[u8]) -> bool {
    if !plausible_mbap(payload) {
        return false;
    }
    if server_port == MODBUS_PORT {
        return true;
    }
    whole_adus(payload)
}

/// For a conversation joined without its handshake on ports that do not say who serves: whether
/// the sender of this Modbus payload is the client, judged by whether its first ADU reads only
/// as a request or only as a response. `None` when both readings (or neither) work, as for the
/// echoed FC 5 and FC 6.
pub fn modbus_sender_is_client(payload: &[u8]) -> Option<bool> {
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

/// Whether `payload` is one or more complete ADUs and nothing else.
fn whole_adus(mut payload: &[u8]) -> bool {
    let mut count = 0;
    while !payload.is_empty() {
        match frame_adu(payload) {
            Framing::Adu { consumed, .. } => {
                payload = &payload[consumed..];
                count += 1;
            }
            _ => return false,
        }
    }
    count > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRITE_REGISTER: &[u8] = &[
        0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x06, 0x00, 0x10, 0x00, 0x2a,
    ];

    #[test]
    fn modbus_on_any_port_by_content() {
        assert_eq!(recognize(502, WRITE_REGISTER), Recognized::Modbus);
        assert_eq!(recognize(5020, WRITE_REGISTER), Recognized::Modbus);
        let mut two = WRITE_REGISTER.to_vec();
        two.extend_from_slice(WRITE_REGISTER);
        assert_eq!(recognize(503, &two), Recognized::Modbus);
    }

    #[test]
    fn request_or_response_tells_the_client() {
        let read_request = [0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 2];
        let read_response = [0, 1, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2];
        assert_eq!(modbus_sender_is_client(&read_request), Some(true));
        assert_eq!(modbus_sender_is_client(&read_response), Some(false));
        assert_eq!(modbus_sender_is_client(WRITE_REGISTER), None);
    }

    #[test]
    fn partial_or_foreign_content_is_not_modbus_off_port() {
        assert_eq!(recognize(5020, &WRITE_REGISTER[..10]), Recognized::NotYet);
        assert_eq!(recognize(502, b"GET / HTTP/1.1\r\n"), Recognized::NotYet);
        assert_eq!(
            recognize(8080, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
            Recognized::NotYet
        );
    }
}
