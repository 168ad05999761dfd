//! ISO transport over TCP: TPKT (RFC 1006) framing and the COTP (ISO 8073) TPDUs S7 uses.
//!
//! A TCP stream on port 102 is a sequence of TPKT packets: version 3, a reserved byte and a
//! 16-bit length that counts the 4-byte header too. Each packet carries one COTP TPDU: a
//! length indicator (the header length after itself), a TPDU code and, for data (DT) TPDUs,
//! a TPDU number whose top bit says "end of TSDU" (EOT). A DT without EOT is one segment of a
//! larger TSDU; the caller joins the segments until the EOT one (see [`CotpData`]).
//!
//! [`frame_tpkt`] cuts one packet off a reassembled stream; [`parse_cotp`] decodes the TPDU it
//! carries. Connection request and confirm (CR/CC) keep their parameters, of which the TSAPs
//! matter for S7: [`S7Tsap`] reads the connection type and rack/slot from a destination TSAP.
//!
//! Contract: pure functions of `&[u8]`, zero-copy, never panic on any input. Incomplete input
//! and bytes that can never be TPKT are different answers.

use thiserror::Error;

/// Length of the TPKT header: version, reserved, length (2).
pub const TPKT_HEADER_LEN: usize = 4;

/// The only TPKT version.
pub const TPKT_VERSION: u8 = 3;

/// Smallest useful TPKT packet: the header and a COTP DT header (LI, code, TPDU number).
pub const MIN_TPKT_LEN: usize = TPKT_HEADER_LEN + 3;

/// COTP TPDU codes (high nibble of the code byte; CR/CC/DR/DC/DT/ED/AK/EA/RJ/ER).
pub mod tpdu {
    pub const CONNECT_REQUEST: u8 = 0xe0;
    pub const CONNECT_CONFIRM: u8 = 0xd0;
    pub const DISCONNECT_REQUEST: u8 = 0x80;
    pub const DISCONNECT_CONFIRM: u8 = 0xc0;
    pub const DATA: u8 = 0xf0;
    pub const EXPEDITED_DATA: u8 = 0x10;
    pub const DATA_ACK: u8 = 0x60;
    pub const REJECT: u8 = 0x50;
    pub const ERROR: u8 = 0x70;
}

/// Why bytes can never be the start of a TPKT packet or a COTP TPDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum TpktError {
    #[error("tpkt: version {version} is not 3")]
    Version { version: u8 },
    #[error("tpkt: length {length} is below the minimum {min}")]
    Length { length: u16, min: usize },
    #[error("cotp: length indicator {li} exceeds the {available} bytes of the TPDU")]
    LengthIndicator { li: u8, available: usize },
    #[error("cotp: TPDU is empty")]
    Empty,
}

/// What [`frame_tpkt`] found at the start of its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TpktFraming<'a> {
    /// A whole packet: `tpdu` is the COTP TPDU it carries; `consumed` bytes belong to it.
    Packet { tpdu: &'a [u8], consumed: usize },
    /// A prefix of a packet; `needed` is the total input length worth waiting for.
    Incomplete { needed: usize },
    /// Not a TPKT packet, however many bytes follow.
    Invalid(TpktError),
}

/// Frames the TPKT packet at the start of `input`.
pub fn frame_tpkt(input: &[u8]) -> TpktFraming<'_> {
    let Some(&version) = input.first() else {
        return TpktFraming::Incomplete {
            needed: TPKT_HEADER_LEN,
        };
    };
    if version != TPKT_VERSION {
        return TpktFraming::Invalid(TpktError::Version { version });
    }
    let [_, _, hi, lo, ..] = *input else {
        return TpktFraming::Incomplete {
            needed: TPKT_HEADER_LEN,
        };
    };
    let length = u16::from_be_bytes([hi, lo]);
    if usize::from(length) < MIN_TPKT_LEN {
        return TpktFraming::Invalid(TpktError::Length {
            length,
            min: MIN_TPKT_LEN,
        });
    }
    let total = usize::from(length);
    match input.get(TPKT_HEADER_LEN..total) {
        Some(tpdu) => TpktFraming::Packet {
            tpdu,
            consumed: total,
        },
        None => TpktFraming::Incomplete { needed: total },
    }
}

/// Whether `input` starts like a TPKT packet carrying a COTP TPDU of a known code: the cheap
/// test used to find the next packet after a gap and to recognise S7 off its port.
pub fn plausible_tpkt(input: &[u8]) -> bool {
    match *input {
        [TPKT_VERSION, 0, hi, lo, li, code, ..] => {
            let length = usize::from(u16::from_be_bytes([hi, lo]));
            let code = code & 0xf0;
            length >= MIN_TPKT_LEN
                && usize::from(li) < length - TPKT_HEADER_LEN
                && matches!(
                    code,
                    tpdu::CONNECT_REQUEST
                        | tpdu::CONNECT_CONFIRM
                        | tpdu::DISCONNECT_REQUEST
                        | tpdu::DISCONNECT_CONFIRM
                        | tpdu::DATA
                        | tpdu::EXPEDITED_DATA
                )
                && (code != tpdu::DATA || li == 2)
        }
        _ => false,
    }
}

/// One COTP data TPDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CotpData<'a> {
    /// End of TSDU: this segment is the last (or only) one of its unit.
    pub eot: bool,
    /// TPDU number (7 bits).
    pub number: u8,
    /// The user data (S7comm or S7comm-plus PDU, or a segment of one).
    pub payload: &'a [u8],
}

/// Parameters of a connection request or confirm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CotpConnect<'a> {
    pub dst_ref: u16,
    pub src_ref: u16,
    /// Class and options byte (class in the high nibble).
    pub class: u8,
    pub src_tsap: Option<&'a [u8]>,
    pub dst_tsap: Option<&'a [u8]>,
    /// Proposed or accepted TPDU size in bytes (from the 0xC0 parameter, 2^n).
    pub tpdu_size: Option<u32>,
}

/// A decoded COTP TPDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cotp<'a> {
    Data(CotpData<'a>),
    ConnectRequest(CotpConnect<'a>),
    ConnectConfirm(CotpConnect<'a>),
    DisconnectRequest {
        dst_ref: u16,
        src_ref: u16,
        reason: u8,
    },
    /// Any other TPDU code; `code` is the full code byte.
    Other {
        code: u8,
    },
}

/// Decodes the COTP TPDU `tpdu` (the payload of one TPKT packet).
pub fn parse_cotp(tpdu: &[u8]) -> Result<Cotp<'_>, TpktError> {
    let (&li, rest) = tpdu.split_first().ok_or(TpktError::Empty)?;
    let header = rest
        .get(..usize::from(li))
        .ok_or(TpktError::LengthIndicator {
            li,
            available: rest.len(),
        })?;
    let user_data = &rest[header.len()..];
    let (&code, fixed) = header.split_first().ok_or(TpktError::LengthIndicator {
        li,
        available: rest.len(),
    })?;
    let u16_at = |at: usize| {
        fixed
            .get(at..at + 2)
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
    };
    match code & 0xf0 {
        tpdu::DATA => {
            let nr = fixed.first().copied().unwrap_or(0x80);
            Ok(Cotp::Data(CotpData {
                eot: nr & 0x80 != 0,
                number: nr & 0x7f,
                payload: user_data,
            }))
        }
        tpdu::CONNECT_REQUEST | tpdu::CONNECT_CONFIRM => {
            let mut connect = CotpConnect {
                dst_ref: u16_at(0),
                src_ref: u16_at(2),
                class: fixed.get(4).copied().unwrap_or(0),
                src_tsap: None,
                dst_tsap: None,
                tpdu_size: None,
            };
            let mut params = fixed.get(5..).unwrap_or(&[]);
            while let [kind, len, tail @ ..] = params {
                let Some(value) = tail.get(..usize::from(*len)) else {
                    break;
                };
                match kind {
                    0xc0 => {
                        connect.tpdu_size = value
                            .first()
                            .filter(|n| (7..=13).contains(*n))
                            .map(|n| 1u32 << n)
                    }
                    0xc1 => connect.src_tsap = Some(value),
                    0xc2 => connect.dst_tsap = Some(value),
                    _ => {}
                }
                params = &tail[value.len()..];
            }
            if code & 0xf0 == tpdu::CONNECT_REQUEST {
                Ok(Cotp::ConnectRequest(connect))
            } else {
                Ok(Cotp::ConnectConfirm(connect))
            }
        }
        tpdu::DISCONNECT_REQUEST => Ok(Cotp::DisconnectRequest {
            dst_ref: u16_at(0),
            src_ref: u16_at(2),
            reason: fixed.get(4).copied().unwrap_or(0),
        }),
        _ => Ok(Cotp::Other { code }),
    }
}

/// An S7 TSAP of two bytes: connection type, then rack and slot (rack in the top 3 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct S7Tsap {
    /// 1 PG (programming device), 2 OP (operator panel), 3 S7 basic, others vendor-specific.
    pub connection_type: u8,
    pub rack: u8,
    pub slot: u8,
}

impl S7Tsap {
    /// Reads a 2-byte TSAP; `None` for any other length (S7-1200/1500 use text TSAPs such as
    /// `SIMATIC-ROOT-HMI`).
    pub fn from_bytes(tsap: &[u8]) -> Option<S7Tsap> {
        match *tsap {
            [connection_type, rack_slot] => Some(S7Tsap {
                connection_type,
                rack: rack_slot >> 5,
                slot: rack_slot & 0x1f,
            }),
            _ => None,
        }
    }

    /// `PG`, `OP`, `S7 basic` or `type 0xNN`.
    pub fn connection_type_name(&self) -> String {
        match self.connection_type {
            1 => "PG".to_owned(),
            2 => "OP".to_owned(),
            3 => "S7 basic".to_owned(),
            other => format!("type 0x{other:02x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // TPKT v3, length 0x16 = 22; COTP CR: LI 17, code 0xe0, dst ref 0, src ref 1, class 0,
    // tpdu size 2^10, src TSAP 01 00, dst TSAP 01 02 (PG, rack 0, slot 2).
    const CONNECT_REQUEST: &[u8] = &[
        0x03, 0x00, 0x00, 0x16, // TPKT
        0x11, 0xe0, 0x00, 0x00, 0x00, 0x01, 0x00, // LI, CR, refs, class
        0xc0, 0x01, 0x0a, // tpdu size
        0xc1, 0x02, 0x01, 0x00, // src TSAP
        0xc2, 0x02, 0x01, 0x02, // dst TSAP
    ];

    // TPKT length 7 + 3 bytes; COTP DT with EOT, then 3 bytes of payload.
    const DATA: &[u8] = &[0x03, 0x00, 0x00, 0x0a, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00];

    #[test]
    fn frames_and_decodes_a_connect_request() {
        let TpktFraming::Packet { tpdu, consumed } = frame_tpkt(CONNECT_REQUEST) else {
            panic!("a packet");
        };
        assert_eq!(consumed, 22);
        let Ok(Cotp::ConnectRequest(cr)) = parse_cotp(tpdu) else {
            panic!("a CR");
        };
        assert_eq!(cr.src_ref, 1);
        assert_eq!(cr.tpdu_size, Some(1024));
        let tsap = S7Tsap::from_bytes(cr.dst_tsap.unwrap()).unwrap();
        assert_eq!((tsap.connection_type, tsap.rack, tsap.slot), (1, 0, 2));
        assert_eq!(tsap.connection_type_name(), "PG");
        assert!(plausible_tpkt(CONNECT_REQUEST));
    }

    #[test]
    fn data_segments_carry_eot() {
        let TpktFraming::Packet { tpdu, .. } = frame_tpkt(DATA) else {
            panic!("a packet");
        };
        let Ok(Cotp::Data(dt)) = parse_cotp(tpdu) else {
            panic!("DT");
        };
        assert!(dt.eot);
        assert_eq!(dt.payload, &[0x32, 0x01, 0x00]);
        let mut segment = DATA.to_vec();
        segment[6] = 0x00;
        let TpktFraming::Packet { tpdu, .. } = frame_tpkt(&segment) else {
            panic!("a packet");
        };
        assert!(matches!(
            parse_cotp(tpdu),
            Ok(Cotp::Data(CotpData { eot: false, .. }))
        ));
    }

    #[test]
    fn short_and_foreign_input() {
        for n in 0..DATA.len() {
            assert!(matches!(
                frame_tpkt(&DATA[..n]),
                TpktFraming::Incomplete { .. }
            ));
        }
        assert!(matches!(frame_tpkt(b"GET /"), TpktFraming::Invalid(_)));
        assert!(matches!(
            frame_tpkt(&[3, 0, 0, 2]),
            TpktFraming::Invalid(TpktError::Length { .. })
        ));
        assert!(parse_cotp(&[]).is_err());
        assert!(parse_cotp(&[5, 0xf0]).is_err());
        assert!(parse_cotp(&[0]).is_err());
        // Every prefix of every TPDU decodes or fails without panicking.
        for n in 0..CONNECT_REQUEST.len() {
            let _ = parse_cotp(&CONNECT_REQUEST[4..4 + n.min(CONNECT_REQUEST.len() - 4)]);
        }
    }
}
