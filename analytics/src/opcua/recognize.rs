//! Recognising OPC UA binary from the first bytes of a conversation.
//!
//! A conversation that starts with a HEL (or RHE) is OPC UA on any port when the header is
//! valid and the endpoint URL is an `opc.` URL. On 4840 any valid chunk header suffices.
//! A stream joined mid-way (no handshake, or after a gap) is searched for a chunk header:
//! one complete secure chunk whose body reads as a service suffices on 4840, two chunks in a
//! row elsewhere.

use dissectors::opcua::services;
use dissectors::opcua::transport::{self, Framing, MessageType, HEADER_LEN};

use crate::evidence::Protocol;
use crate::recognize::Hit;

/// The registered OPC UA binary port.
pub const OPCUA_PORT: u16 = 4840;

/// Whether the first bytes of one direction are OPC UA; see [`crate::recognize`].
pub fn recognize(server_port: u16, data: &[u8], start_known: bool) -> Option<Hit> {
    if start_known || server_port == OPCUA_PORT {
        if let Some(hit) = at_start(server_port, data) {
            return Some(hit);
        }
    }
    if start_known {
        return None;
    }
    let needed = if server_port == OPCUA_PORT { 1 } else { 2 };
    (1..data.len().saturating_sub(HEADER_LEN)).find_map(|offset| {
        let rest = &data[offset..];
        if !transport::plausible_header(rest, None) {
            return None;
        }
        (readable_chunks(rest) >= needed).then(|| hit(data, offset))
    })
}

fn at_start(server_port: u16, data: &[u8]) -> Option<Hit> {
    let header = transport::header(data).ok()??;
    let on_port = server_port == OPCUA_PORT;
    match header.message_type {
        MessageType::Hello | MessageType::ReverseHello => {
            // HEL: 20 bytes of sizes, then the endpoint URL; RHE: server URI then URL.
            let url_ok = match header.message_type {
                MessageType::Hello => data.get(HEADER_LEN + 24..HEADER_LEN + 28),
                _ => data.get(HEADER_LEN + 4..HEADER_LEN + 8),
            }
            .is_some_and(|_| data.windows(4).any(|w| w == b"opc."));
            (on_port || url_ok).then(|| hit(data, 0))
        }
        _ if on_port => Some(hit(data, 0)),
        _ => (readable_chunks(data) >= 1).then(|| hit(data, 0)),
    }
}

/// How many complete chunks in a row start `data`, where secure chunks must read as a
/// service or carry an OPC UA security policy URI.
fn readable_chunks(mut data: &[u8]) -> usize {
    let mut count = 0;
    while let Framing::Chunk {
        header,
        body,
        consumed,
    } = transport::frame_message(data)
    {
        if !chunk_looks_right(header, body) {
            break;
        }
        count += 1;
        data = &data[consumed..];
    }
    count
}

fn chunk_looks_right(header: transport::Header, body: &[u8]) -> bool {
    let Ok(chunk) = transport::secure_chunk(header.message_type, body) else {
        return !header.message_type.is_secure();
    };
    if let Some(asym) = chunk.asymmetric {
        return asym
            .policy_uri
            .is_some_and(|p| p.starts_with(b"http://opcfoundation.org/UA/SecurityPolicy#"));
    }
    if header.chunk_type != b'F' {
        return true;
    }
    transport::sequence_header(chunk.payload)
        .ok()
        .and_then(|(_, _, rest)| services::type_id(rest).ok())
        .and_then(|(t, _)| services::service_kind(t))
        .is_some()
}

fn hit(data: &[u8], offset: usize) -> Hit {
    Hit {
        protocol: Protocol::Opcua,
        offset,
        sender_is_client: sender_is_client(&data[offset..]),
        tls: false,
    }
}

/// Whether the sender of these bytes is the OPC UA client, from the first chunk.
fn sender_is_client(data: &[u8]) -> Option<bool> {
    let Framing::Chunk { header, body, .. } = transport::frame_message(data) else {
        return match transport::header(data) {
            Ok(Some(h)) if h.message_type == MessageType::Hello => Some(true),
            Ok(Some(h)) if h.message_type == MessageType::Acknowledge => Some(false),
            _ => None,
        };
    };
    match header.message_type {
        MessageType::Hello | MessageType::CloseSecureChannel => Some(true),
        MessageType::Acknowledge | MessageType::Error => Some(false),
        MessageType::ReverseHello => None,
        MessageType::OpenSecureChannel | MessageType::Message => {
            let chunk = transport::secure_chunk(header.message_type, body).ok()?;
            let (_, _, rest) = transport::sequence_header(chunk.payload).ok()?;
            match services::service_kind(services::type_id(rest).ok()?.0)? {
                services::ServiceKind::Request(_) => Some(true),
                _ => Some(false),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HEL: header (size 56), version, sizes, endpoint URL "opc.tcp://10.0.0.1:4855".
    fn hello() -> Vec<u8> {
        let url = b"opc.tcp://10.0.0.1:4855";
        let mut v = b"HELF".to_vec();
        v.extend_from_slice(&((HEADER_LEN + 24 + url.len()) as u32).to_le_bytes());
        v.extend_from_slice(&[0; 4]); // version
        v.extend_from_slice(&65536u32.to_le_bytes()); // receive buffer
        v.extend_from_slice(&65536u32.to_le_bytes()); // send buffer
        v.extend_from_slice(&[0; 8]); // max message size, max chunk count
        v.extend_from_slice(&(url.len() as u32).to_le_bytes());
        v.extend_from_slice(url);
        v
    }

    #[test]
    fn hello_on_any_port() {
        let h = hello();
        let hit = recognize(4855, &h, true).expect("recognised");
        assert_eq!((hit.offset, hit.sender_is_client), (0, Some(true)));
        assert!(
            recognize(4840, &h[..10], true).is_some(),
            "a header suffices on 4840"
        );
        assert!(recognize(
            502,
            b"\x00\x01\x00\x00\x00\x06\x01\x06\x00\x10\x00\x2a",
            true
        )
        .is_none());
        assert!(recognize(8080, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true).is_none());
    }

    #[test]
    fn mid_stream_needs_whole_chunks() {
        let mut data = vec![0xaa; 5];
        data.extend_from_slice(WRITE_MSG);
        assert_eq!(recognize(4840, &data, false).map(|h| h.offset), Some(5));
        assert_eq!(
            recognize(4841, &data, false),
            None,
            "one chunk is not enough off-port"
        );
        data.extend_from_slice(WRITE_MSG);
        assert_eq!(recognize(4841, &data, false).map(|h| h.offset), Some(5));
    }

    /// Found by the `stream` fuzz target: a chunk found further into the bytes than it is long
    /// was sliced at twice its offset, which panicked, and for shorter offsets read the
    /// sender from the wrong bytes.
    #[test]
    fn a_chunk_found_far_into_the_bytes_is_read_where_it_starts() {
        let mut data = vec![0xaa; 100];
        data.extend_from_slice(WRITE_MSG);
        let hit = recognize(4840, &data, false).expect("recognised");
        assert_eq!((hit.offset, hit.sender_is_client), (100, Some(true)));

        let mut data = vec![0xaa; 5];
        data.extend_from_slice(WRITE_MSG);
        let hit = recognize(4840, &data, false).expect("recognised");
        assert_eq!(
            (hit.offset, hit.sender_is_client),
            (5, Some(true)),
            "a WriteRequest is sent by the client"
        );
    }

    /// A MSG chunk with a WriteRequest (see the dissector's fixtures): header, channel 1,
    /// token 1, sequence 5, request 7, type i=673, request header, one WriteValue.
    pub const WRITE_MSG: &[u8] = &[
        b'M', b'S', b'G', b'F', 88, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 7, 0, 0, 0, 0x01,
        0x00, 0xa1, 0x02, 0x02, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0,
        0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x00, 0x00, 0x00, 1, 0, 0, 0, 0x01, 0x02,
        0x10, 0x00, 13, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x01, 0x0b, 0, 0, 0, 0, 0, 0x40, 0x65,
        0x40,
    ];
}
