//! OPC UA TCP transport (Part 6, 7.1) and secure conversation headers (Part 6, 6.7).
//!
//! Every message starts with an 8-byte header: a 3-byte ASCII type (`HEL`, `ACK`, `ERR`,
//! `RHE`, `OPN`, `MSG`, `CLO`), a chunk type (`F` final, `C` continued, `A` abort) and the
//! UInt32 size of the whole chunk. [`frame_message`] cuts one chunk off a reassembled stream;
//! [`plausible_header`] finds the next chunk after a gap. The secure-conversation headers of
//! OPN (asymmetric) and MSG/CLO (symmetric) chunks are read by [`secure_chunk`].

use super::binary::{DecodeError, Reader};

/// Bytes of the transport header.
pub const HEADER_LEN: usize = 8;
/// Largest chunk accepted; larger sizes are taken as garbage, not waited for.
pub const MAX_CHUNK_LEN: usize = 16 * 1024 * 1024;

/// Transport message types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    Hello,
    Acknowledge,
    Error,
    ReverseHello,
    OpenSecureChannel,
    Message,
    CloseSecureChannel,
}

impl MessageType {
    pub fn from_bytes(b: &[u8]) -> Option<MessageType> {
        Some(match b {
            b"HEL" => MessageType::Hello,
            b"ACK" => MessageType::Acknowledge,
            b"ERR" => MessageType::Error,
            b"RHE" => MessageType::ReverseHello,
            b"OPN" => MessageType::OpenSecureChannel,
            b"MSG" => MessageType::Message,
            b"CLO" => MessageType::CloseSecureChannel,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Hello => "HEL",
            MessageType::Acknowledge => "ACK",
            MessageType::Error => "ERR",
            MessageType::ReverseHello => "RHE",
            MessageType::OpenSecureChannel => "OPN",
            MessageType::Message => "MSG",
            MessageType::CloseSecureChannel => "CLO",
        }
    }

    /// Whether chunks of this type carry secure-conversation headers.
    pub fn is_secure(self) -> bool {
        matches!(
            self,
            MessageType::OpenSecureChannel | MessageType::Message | MessageType::CloseSecureChannel
        )
    }

    /// The smallest valid chunk of this type.
    fn min_len(self) -> usize {
        match self {
            MessageType::Hello => HEADER_LEN + 24,
            MessageType::Acknowledge => HEADER_LEN + 20,
            MessageType::Error => HEADER_LEN + 8,
            MessageType::ReverseHello => HEADER_LEN + 8,
            // channel id + policy + cert + thumbprint lengths (+ sequence header when clear)
            MessageType::OpenSecureChannel => HEADER_LEN + 16,
            MessageType::Message | MessageType::CloseSecureChannel => HEADER_LEN + 16,
        }
    }
}

/// The transport header of one chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub message_type: MessageType,
    /// `b'F'`, `b'C'` or `b'A'`.
    pub chunk_type: u8,
    pub size: usize,
}

/// One chunk cut off a stream: header, the bytes after the header, bytes used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing<'a> {
    Chunk {
        header: Header,
        body: &'a [u8],
        consumed: usize,
    },
    /// Not enough bytes yet; `needed` is the whole chunk length when known.
    Incomplete { needed: Option<usize> },
    /// These bytes cannot start a chunk.
    Invalid(DecodeError),
}

/// Reads the transport header at the start of `data`, checking type, chunk type and size.
pub fn header(data: &[u8]) -> Result<Option<Header>, DecodeError> {
    let Some(bytes) = data.get(..HEADER_LEN) else {
        // Check what is there so garbage is refused early.
        if let Some(t) = data.get(..3.min(data.len())) {
            let known = [b"HEL", b"ACK", b"ERR", b"RHE", b"OPN", b"MSG", b"CLO"]
                .iter()
                .any(|k| k.starts_with(t));
            if !known {
                return Err(DecodeError {
                    what: "message type",
                    offset: 0,
                });
            }
        }
        return Ok(None);
    };
    let message_type = MessageType::from_bytes(&bytes[..3]).ok_or(DecodeError {
        what: "message type",
        offset: 0,
    })?;
    let chunk_type = bytes[3];
    let chunk_ok = match message_type {
        t if t.is_secure() => matches!(chunk_type, b'F' | b'C' | b'A'),
        _ => chunk_type == b'F',
    };
    if !chunk_ok {
        return Err(DecodeError {
            what: "chunk type",
            offset: 3,
        });
    }
    let size = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    if size < message_type.min_len() || size > MAX_CHUNK_LEN {
        return Err(DecodeError {
            what: "message size",
            offset: 4,
        });
    }
    Ok(Some(Header {
        message_type,
        chunk_type,
        size,
    }))
}

/// Cuts the first chunk off `data`.
pub fn frame_message(data: &[u8]) -> Framing<'_> {
    match header(data) {
        Err(e) => Framing::Invalid(e),
        Ok(None) => Framing::Incomplete { needed: None },
        Ok(Some(h)) => match data.get(HEADER_LEN..h.size) {
            Some(body) => Framing::Chunk {
                header: h,
                body,
                consumed: h.size,
            },
            None => Framing::Incomplete {
                needed: Some(h.size),
            },
        },
    }
}

/// Whether `data` starts with a complete, valid transport header (used to find the next
/// chunk after a gap). `channel`, when known, must match a secure chunk's channel id.
pub fn plausible_header(data: &[u8], channel: Option<u32>) -> bool {
    let Ok(Some(h)) = header(data) else {
        return false;
    };
    if h.message_type.is_secure() {
        let Some(id) = data.get(8..12) else {
            return false;
        };
        let id = u32::from_le_bytes([id[0], id[1], id[2], id[3]]);
        if let Some(channel) = channel {
            if id != channel && h.message_type != MessageType::OpenSecureChannel {
                return false;
            }
        }
    }
    true
}

/// Hello (client → server).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello<'a> {
    pub protocol_version: u32,
    pub receive_buffer_size: u32,
    pub send_buffer_size: u32,
    pub max_message_size: u32,
    pub max_chunk_count: u32,
    pub endpoint_url: Option<&'a [u8]>,
}

pub fn parse_hello(body: &[u8]) -> Result<Hello<'_>, DecodeError> {
    let mut r = Reader::new(body);
    Ok(Hello {
        protocol_version: r.u32("HEL version")?,
        receive_buffer_size: r.u32("HEL receive buffer")?,
        send_buffer_size: r.u32("HEL send buffer")?,
        max_message_size: r.u32("HEL max message size")?,
        max_chunk_count: r.u32("HEL max chunk count")?,
        endpoint_url: r.bytes("HEL endpoint URL")?,
    })
}

/// Acknowledge (server → client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acknowledge {
    pub protocol_version: u32,
    pub receive_buffer_size: u32,
    pub send_buffer_size: u32,
    pub max_message_size: u32,
    pub max_chunk_count: u32,
}

pub fn parse_acknowledge(body: &[u8]) -> Result<Acknowledge, DecodeError> {
    let mut r = Reader::new(body);
    Ok(Acknowledge {
        protocol_version: r.u32("ACK version")?,
        receive_buffer_size: r.u32("ACK receive buffer")?,
        send_buffer_size: r.u32("ACK send buffer")?,
        max_message_size: r.u32("ACK max message size")?,
        max_chunk_count: r.u32("ACK max chunk count")?,
    })
}

/// Error message: a StatusCode and a reason.
pub fn parse_error(body: &[u8]) -> Result<(u32, Option<&[u8]>), DecodeError> {
    let mut r = Reader::new(body);
    Ok((r.u32("ERR code")?, r.bytes("ERR reason")?))
}

/// ReverseHello (server → client, on a connection the server opened).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReverseHello<'a> {
    pub server_uri: Option<&'a [u8]>,
    pub endpoint_url: Option<&'a [u8]>,
}

pub fn parse_reverse_hello(body: &[u8]) -> Result<ReverseHello<'_>, DecodeError> {
    let mut r = Reader::new(body);
    Ok(ReverseHello {
        server_uri: r.bytes("RHE server URI")?,
        endpoint_url: r.bytes("RHE endpoint URL")?,
    })
}

/// The asymmetric security header of an OPN chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsymmetricHeader<'a> {
    pub policy_uri: Option<&'a [u8]>,
    /// DER of the sender certificate (possibly a chain of DER certificates).
    pub sender_certificate: Option<&'a [u8]>,
    pub receiver_thumbprint: Option<&'a [u8]>,
}

/// The secure-conversation view of an OPN, MSG or CLO chunk body (after the transport
/// header): channel id, security header, and the rest, which is the sequence header and the
/// message body when the chunk is not encrypted, cipher text otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecureChunk<'a> {
    pub channel_id: u32,
    /// For OPN.
    pub asymmetric: Option<AsymmetricHeader<'a>>,
    /// For MSG and CLO.
    pub token_id: Option<u32>,
    /// Sequence header and body, or cipher text.
    pub payload: &'a [u8],
}

/// Splits a secure chunk's body into its headers and payload.
pub fn secure_chunk(
    message_type: MessageType,
    body: &[u8],
) -> Result<SecureChunk<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let channel_id = r.u32("secure channel id")?;
    let (asymmetric, token_id) = if message_type == MessageType::OpenSecureChannel {
        let header = AsymmetricHeader {
            policy_uri: r.bytes("SecurityPolicyUri")?,
            sender_certificate: r.bytes("SenderCertificate")?,
            receiver_thumbprint: r.bytes("ReceiverCertificateThumbprint")?,
        };
        (Some(header), None)
    } else {
        (None, Some(r.u32("token id")?))
    };
    Ok(SecureChunk {
        channel_id,
        asymmetric,
        token_id,
        payload: r.rest(),
    })
}

/// The sequence header: sequence number and request id, then the body.
pub fn sequence_header(payload: &[u8]) -> Result<(u32, u32, &[u8]), DecodeError> {
    let mut r = Reader::new(payload);
    let seq = r.u32("sequence number")?;
    let request_id = r.u32("request id")?;
    Ok((seq, request_id, r.rest()))
}

/// The first DER element of `data` (a certificate chain is a concatenation of certificates).
pub fn first_der(data: &[u8]) -> Option<&[u8]> {
    if data.first() != Some(&0x30) {
        return None;
    }
    let first_len = *data.get(1)?;
    let (len, head) = if first_len < 0x80 {
        (usize::from(first_len), 2)
    } else {
        let n = usize::from(first_len & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*data.get(2 + i)?);
        }
        (len, 2 + n)
    };
    data.get(..head.checked_add(len)?)
}
