//! Recognising EtherNet/IP from the first bytes of a conversation.
//!
//! On port 44818 (and 2222) a plausible encapsulation header suffices; elsewhere the bytes
//! must be whole, plausible encapsulation messages of the commands a TCP session uses. A
//! stream joined mid-way is searched for the next header followed by another one (or the
//! end of the bytes).

use dissectors::enip::{command, frame, plausible_header, Cpf, Framing, Header, HEADER_LEN};

use crate::evidence::Protocol;
use crate::recognize::Hit;

/// The EtherNet/IP explicit messaging port (TCP and UDP).
pub const ENIP_PORT: u16 = 44818;

/// The implicit I/O port (UDP).
pub const IO_PORT: u16 = 2222;

/// Whether the first bytes of one direction are EtherNet/IP; see [`crate::recognize`].
pub fn recognize(server_port: u16, data: &[u8], start_known: bool) -> Option<Hit> {
    let on_port = server_port == ENIP_PORT;
    if on_port && (plausible_header(data) || legacy_start(data)) {
        return Some(hit(data, 0));
    }
    if plausible_header(data) && messages(data) >= 1 && known_session_command(data) {
        return Some(hit(data, 0));
    }
    if !start_known {
        let last = data.len().saturating_sub(HEADER_LEN);
        for offset in 1..=last {
            let rest = &data[offset..];
            let needed = if on_port { 1 } else { 2 };
            if plausible_header(rest) && messages(rest) >= needed {
                return Some(hit(data, offset));
            }
        }
    }
    None
}

fn hit(data: &[u8], offset: usize) -> Hit {
    Hit {
        protocol: Protocol::Enip,
        offset,
        sender_is_client: sender_is_client(data.get(offset..).unwrap_or(&[])),
        tls: false,
    }
}

/// On its port, a conversation may open with a reserved (legacy) command such as 0x0001: a
/// header with options and status 0 and a short body, followed by a plausible one.
fn legacy_start(data: &[u8]) -> bool {
    let Some(h) = Header::parse(data) else {
        return false;
    };
    if h.options != 0 || h.status != 0 || h.length > 512 {
        return false;
    }
    let next = HEADER_LEN + usize::from(h.length);
    data.get(next..).is_some_and(|rest| {
        plausible_header(rest) || (rest.len() >= HEADER_LEN && legacy_start(rest))
    })
}

/// Off its port, only the commands of a TCP session are believed.
fn known_session_command(data: &[u8]) -> bool {
    matches!(
        u16::from_le_bytes([data[0], data[1]]),
        command::REGISTER_SESSION | command::SEND_RR_DATA | command::SEND_UNIT_DATA
    )
}

/// Whether the sender of these bytes is the client: CIP requests lack the reply bit.
fn sender_is_client(data: &[u8]) -> Option<bool> {
    let Framing::Message { message, .. } = frame(data) else {
        return None;
    };
    match message.header.command {
        command::SEND_RR_DATA | command::SEND_UNIT_DATA => {
            let cip = Cpf::parse(message.data)?.message()?.cip;
            cip.first().map(|s| s & 0x80 == 0)
        }
        command::REGISTER_SESSION => Some(message.header.session == 0),
        _ => None,
    }
}

/// How many whole messages `data` holds before an incomplete one; 0 when bytes in it cannot
/// be a message.
fn messages(mut data: &[u8]) -> usize {
    if data.len() >= HEADER_LEN && !plausible_header(data) {
        return 0;
    }
    let mut count = 0;
    while !data.is_empty() {
        match frame(data) {
            Framing::Message { consumed, .. } => {
                data = &data[consumed..];
                count += 1;
            }
            Framing::Incomplete { .. } => break,
            Framing::Invalid => return 0,
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTER: &[u8] = &[
        0x65, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x00, 0x00, 0x00,
    ];

    #[test]
    fn enip_on_its_port_and_by_content() {
        assert_eq!(recognize(44818, REGISTER, true).map(|h| h.offset), Some(0));
        assert_eq!(recognize(4000, REGISTER, true).map(|h| h.offset), Some(0));
        assert_eq!(
            recognize(44818, REGISTER, true).unwrap().sender_is_client,
            Some(true)
        );
        assert_eq!(recognize(4000, &REGISTER[..20], true), None);
        assert_eq!(
            recognize(502, &[0, 1, 0, 0, 0, 6, 1, 6, 0, 1, 0, 3], true),
            None
        );
        assert_eq!(
            recognize(44818, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true),
            None
        );
    }

    #[test]
    fn a_stream_joined_mid_way_is_found_at_its_next_header() {
        let mut data = REGISTER[5..].to_vec();
        data.extend_from_slice(REGISTER);
        assert_eq!(
            recognize(44818, &data, false).map(|h| h.offset),
            Some(REGISTER.len() - 5)
        );
    }
}
