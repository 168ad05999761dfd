//! Recognising TLS-wrapped industrial protocols: Modbus/TCP Security (802) and CIP Security
//! (EtherNet/IP over TLS, 2221).
//!
//! Port and content together: the server port names the protocol inside (TLS itself never
//! says), and the bytes must be TLS: a ClientHello or ServerHello record starting the stream,
//! or, for a stream joined mid-way, two TLS record headers in a row. Plain Modbus or
//! EtherNet/IP on those ports does not look like TLS and is left to their recognisers.
//!
//! Known shortcoming: TLS on any other port is not claimed, because nothing visible says
//! which protocol it carries (and HTTPS or other TLS traffic must not become OT sessions with
//! opaque-session alerts). Such conversations are counted as unknown flows.

use dissectors::tls::{
    content, frame_record, handshake, plausible_record, starts_handshake, RecordFraming,
    RECORD_HEADER_LEN,
};

use crate::evidence::Protocol;
use crate::recognize::Hit;

/// Modbus/TCP Security.
pub const MODBUS_TLS_PORT: u16 = 802;

/// CIP Security: EtherNet/IP explicit messaging over TLS.
pub const ENIP_TLS_PORT: u16 = 2221;

/// The protocol carried inside TLS on `server_port`, when it is one OT Witness reads.
pub fn inner_protocol(server_port: u16) -> Option<Protocol> {
    match server_port {
        MODBUS_TLS_PORT => Some(Protocol::Modbus),
        ENIP_TLS_PORT => Some(Protocol::Enip),
        _ => None,
    }
}

/// Whether the first bytes of one direction are TLS on a TLS port; see [`crate::recognize`].
pub fn recognize(server_port: u16, data: &[u8], start_known: bool) -> Option<Hit> {
    let protocol = inner_protocol(server_port)?;
    let hello = starts_handshake(data) == Some(true);
    if start_known || hello {
        return hello.then(|| Hit {
            protocol,
            offset: 0,
            sender_is_client: sender_is_client(data),
            tls: true,
        });
    }
    let last = data.len().saturating_sub(RECORD_HEADER_LEN);
    (0..=last)
        .find(|&offset| two_records(&data[offset..]))
        .map(|offset| Hit {
            protocol,
            offset,
            sender_is_client: None,
            tls: true,
        })
}

/// Whether `data` holds a whole record followed by the header of another.
fn two_records(data: &[u8]) -> bool {
    if !plausible_record(data) {
        return false;
    }
    match frame_record(data) {
        RecordFraming::Record { consumed, .. } => plausible_record(&data[consumed..]),
        _ => false,
    }
}

/// A ClientHello comes from the client, a ServerHello from the server.
fn sender_is_client(data: &[u8]) -> Option<bool> {
    match data.get(RECORD_HEADER_LEN) {
        Some(&handshake::CLIENT_HELLO) if data[0] == content::HANDSHAKE => Some(true),
        Some(&handshake::SERVER_HELLO) if data[0] == content::HANDSHAKE => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Record header (handshake, TLS 1.0 record version, length 0x00c8), then a ClientHello
    /// header (type 1, length 0x0000c4) and its legacy_version 3.3.
    const CLIENT_HELLO: &[u8] = &[
        0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03,
    ];

    /// Two application-data records of 3 bytes each.
    const APP_DATA: &[u8] = &[
        0x17, 0x03, 0x03, 0x00, 0x03, 0xaa, 0xbb, 0xcc, 0x17, 0x03, 0x03, 0x00, 0x03, 0xdd,
    ];

    #[test]
    fn a_hello_on_a_tls_port_is_tls_carrying_the_ports_protocol() {
        let modbus = recognize(802, CLIENT_HELLO, true).unwrap();
        assert_eq!(modbus.protocol, Protocol::Modbus);
        assert!(modbus.tls);
        assert_eq!(modbus.sender_is_client, Some(true));
        assert_eq!(
            recognize(2221, CLIENT_HELLO, true).unwrap().protocol,
            Protocol::Enip
        );
        let mut server_hello = CLIENT_HELLO.to_vec();
        server_hello[5] = handshake::SERVER_HELLO;
        assert_eq!(
            recognize(802, &server_hello, true)
                .unwrap()
                .sender_is_client,
            Some(false)
        );
    }

    #[test]
    fn other_ports_and_other_content_are_not_claimed() {
        assert_eq!(recognize(443, CLIENT_HELLO, true), None);
        assert_eq!(recognize(502, CLIENT_HELLO, true), None);
        let modbus = [
            0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x06, 0x00, 0x10, 0x00, 0x2a,
        ];
        assert_eq!(recognize(802, &modbus, true), None);
        assert_eq!(recognize(802, &modbus, false), None);
        // Application data at the start of a stream seen from its first byte is not a start.
        assert_eq!(recognize(802, APP_DATA, true), None);
    }

    #[test]
    fn a_stream_joined_mid_way_is_found_at_two_records_in_a_row() {
        let mut joined = vec![0x42, 0x17];
        joined.extend_from_slice(APP_DATA);
        let hit = recognize(802, &joined, false).unwrap();
        assert_eq!(hit.offset, 2);
        assert_eq!(hit.sender_is_client, None);
        assert_eq!(
            recognize(802, &APP_DATA[..8], false),
            None,
            "one record is not enough"
        );
    }
}
