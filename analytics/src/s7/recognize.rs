//! Recognising S7comm and S7comm-plus from the first bytes of a conversation.
//!
//! Both run over TPKT/COTP. A conversation is claimed once one direction holds a COTP data
//! TPDU whose payload starts with 0x32 (S7comm), 0x72 (S7comm-plus) or a TLS record (TLS-
//! protected S7comm-plus, read as opaque). Connection requests and confirms before it are
//! walked over, so the claim waits for the first data unit. Off port 102 the S7comm payload
//! must also parse as a whole PDU. A stream joined mid-way is searched for a packet boundary:
//! one packet is enough on 102, two in a row elsewhere. Other ISO-on-TCP users of port 102
//! (IEC 61850 MMS) carry other payloads and are left alone.

use dissectors::s7comm::{self, rosctr, Userdata};
use dissectors::tpkt::{frame_tpkt, parse_cotp, plausible_tpkt, Cotp, TpktFraming};

use crate::evidence::Protocol;
use crate::recognize::Hit;

/// The ISO-on-TCP port.
pub const S7_PORT: u16 = 102;

/// Whether the first bytes of one direction are S7comm or S7comm-plus; see
/// [`crate::recognize`].
pub fn recognize(server_port: u16, data: &[u8], start_known: bool) -> Option<Hit> {
    let on_port = server_port == S7_PORT;
    if start_known || plausible_tpkt(data) {
        if let Some(hit) = walk(data, on_port, 0) {
            return Some(hit);
        }
        if start_known {
            return None;
        }
    }
    let last = data.len().saturating_sub(7);
    for offset in 1..=last {
        if !plausible_tpkt(&data[offset..]) {
            continue;
        }
        let needed = if on_port { 1 } else { 2 };
        if packets(&data[offset..]) >= needed {
            if let Some(hit) = walk(&data[offset..], on_port, offset) {
                return Some(hit);
            }
        }
    }
    None
}

/// Walks whole packets from the start of `data` to the first data TPDU and judges it.
fn walk(data: &[u8], on_port: bool, offset: usize) -> Option<Hit> {
    let mut rest = data;
    let mut first_kind = None;
    loop {
        let TpktFraming::Packet { tpdu, consumed } = frame_tpkt(rest) else {
            return None;
        };
        match parse_cotp(tpdu).ok()? {
            Cotp::ConnectRequest(_) => {
                first_kind.get_or_insert(true);
            }
            Cotp::ConnectConfirm(_) => {
                first_kind.get_or_insert(false);
            }
            Cotp::Data(dt) => {
                let (protocol, sender_is_client) = judge(dt.payload, on_port)?;
                return Some(Hit {
                    protocol,
                    offset,
                    sender_is_client: first_kind.or(sender_is_client),
                    tls: false,
                });
            }
            _ => return None,
        }
        rest = &rest[consumed..];
    }
}

/// The protocol of a first data unit, and whether its sender is the client when it says.
fn judge(payload: &[u8], on_port: bool) -> Option<(Protocol, Option<bool>)> {
    match payload {
        [s7comm::PROTOCOL_ID, ..] => match s7comm::parse_pdu(payload) {
            Ok(pdu) => Some((Protocol::S7comm, s7_sender_is_client(&pdu))),
            // A first segment of a longer PDU cannot be parsed whole; believe it on 102.
            Err(_) if on_port => Some((Protocol::S7comm, None)),
            Err(_) => None,
        },
        [0x72, 0x01..=0x03 | 0xfe, ..] if on_port || payload.len() >= 8 => {
            Some((Protocol::S7commPlus, None))
        }
        // TLS record inside COTP: S7comm-plus of newer firmware.
        [0x14..=0x17, 0x03, 0x01..=0x04, ..] if on_port => Some((Protocol::S7commPlus, None)),
        _ => None,
    }
}

fn s7_sender_is_client(pdu: &s7comm::S7Pdu<'_>) -> Option<bool> {
    match pdu.rosctr {
        rosctr::ACK | rosctr::ACK_DATA => Some(false),
        rosctr::JOB => match pdu.function() {
            // The PLC sends these jobs during a download.
            Some(s7comm::func::DOWNLOAD_BLOCK | s7comm::func::DOWNLOAD_ENDED) => None,
            _ => Some(true),
        },
        rosctr::USERDATA => match s7comm::parse_userdata(pdu.param).ok()?.kind {
            Userdata::REQUEST => Some(true),
            Userdata::RESPONSE => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Whole TPKT packets at the start of `data`.
fn packets(mut data: &[u8]) -> usize {
    let mut n = 0;
    while let TpktFraming::Packet { consumed, .. } = frame_tpkt(data) {
        n += 1;
        data = &data[consumed..];
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    // COTP DT with a Setup Communication job.
    const SETUP: &[u8] = &[
        0x03, 0x00, 0x00, 0x19, 0x02, 0xf0, 0x80, // TPKT, COTP DT EOT
        0x32, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, // Job, ref 0, param 8
        0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xe0, // setup: 1/1 jobs, PDU 480
    ];

    const CR: &[u8] = &[
        0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xc0, 0x01, 0x0a, 0xc1,
        0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x02,
    ];

    #[test]
    fn s7comm_after_a_connect_request() {
        assert_eq!(
            recognize(102, CR, true),
            None,
            "waits for the first data unit"
        );
        let mut both = CR.to_vec();
        both.extend_from_slice(SETUP);
        let hit = recognize(102, &both, true).unwrap();
        assert_eq!(hit.protocol, Protocol::S7comm);
        assert_eq!(hit.sender_is_client, Some(true));
        assert_eq!(
            recognize(1102, SETUP, true).unwrap().protocol,
            Protocol::S7comm
        );
    }

    #[test]
    fn mid_stream_and_foreign() {
        let mut data = SETUP[9..].to_vec();
        data.extend_from_slice(SETUP);
        assert_eq!(
            recognize(102, &data, false).unwrap().offset,
            SETUP.len() - 9
        );
        assert_eq!(
            recognize(1102, &data, false),
            None,
            "one packet is not enough off 102"
        );
        assert_eq!(recognize(102, b"GET / HTTP/1.1\r\n", true), None);
        // IEC 61850 MMS over COTP: session-layer payload, not S7.
        let mms = [
            0x03, 0x00, 0x00, 0x0b, 0x02, 0xf0, 0x80, 0x01, 0x00, 0x01, 0x00,
        ];
        assert_eq!(recognize(102, &mms, true), None);
    }

    #[test]
    fn s7comm_plus_and_tls() {
        let plus = [
            0x03, 0x00, 0x00, 0x0f, 0x02, 0xf0, 0x80, 0x72, 0x01, 0x00, 0x04, 0x31, 0, 0, 0,
        ];
        assert_eq!(
            recognize(102, &plus, true).unwrap().protocol,
            Protocol::S7commPlus
        );
        let tls = [
            0x03, 0x00, 0x00, 0x0e, 0x02, 0xf0, 0x80, 0x16, 0x03, 0x01, 0x00, 0x10, 1, 0,
        ];
        assert_eq!(
            recognize(102, &tls, true).unwrap().protocol,
            Protocol::S7commPlus
        );
    }
}
