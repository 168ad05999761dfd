//! Modbus/TCP framing: the 7-byte MBAP header and the ADU it delimits.
//!
//! [`frame_adu`] cuts one ADU off the front of a reassembled TCP byte stream and says how many
//! bytes it consumed, how many it still needs, or that the bytes can never start an ADU.
//! [`plausible_mbap`] is the cheap test a reassembler uses to recognise Modbus on a
//! non-standard port and to find the next ADU after a gap.
//!
//! Framing looks only at the MBAP header (protocol id and length); it does not read the PDU,
//! and it knows nothing of direction, transaction matching or unit ids. Modbus/TCP over TLS
//! (port 802) carries the same ADUs inside TLS records; unwrapping TLS is not done here.

use nom::bytes::streaming::take;
use nom::number::streaming::{be_u16, be_u8};
use nom::IResult;

use super::error::MbapError;

/// Length of the MBAP header: transaction id (2), protocol id (2), length (2), unit id (1).
pub const MBAP_LEN: usize = 7;

/// Largest ADU: the MBAP header and a PDU of 253 bytes.
pub const MAX_ADU_LEN: usize = 260;

/// Smallest ADU: the MBAP header and a function code.
pub const MIN_ADU_LEN: usize = MBAP_LEN + 1;

/// Smallest value of the MBAP length field: unit id and function code.
const MIN_LENGTH: u16 = 2;

/// Largest value of the MBAP length field: unit id and a 253-byte PDU.
const MAX_LENGTH: u16 = 254;

/// Bytes of the MBAP header that precede the bytes its length field counts.
const LENGTH_END: usize = 6;

/// The MBAP header of a Modbus/TCP ADU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mbap {
    /// Chosen by the client and echoed by the server; pairs a response with its request.
    pub transaction_id: u16,
    /// Always 0 for Modbus once framed.
    pub protocol_id: u16,
    /// Bytes that follow the length field: the unit id and the PDU (2..=254 once framed).
    pub length: u16,
    /// Addresses a device behind a gateway; 0xFF or 0 when the server is the device itself.
    pub unit_id: u8,
}

/// One Modbus/TCP ADU, borrowed from the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adu<'a> {
    pub mbap: Mbap,
    /// Function code byte and data; `pdu.len() == mbap.length - 1`, never empty.
    pub pdu: &'a [u8],
}

/// What [`frame_adu`] found at the start of its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Framing<'a> {
    /// A whole ADU; `consumed` bytes of input belong to it (`MBAP_LEN + pdu.len()`).
    Adu { adu: Adu<'a>, consumed: usize },
    /// The input is a prefix of an ADU. `needed` is the total input length, counted from the
    /// start, that is worth waiting for: the whole ADU once the length field has been read,
    /// [`MIN_ADU_LEN`] before that. Always at least `input.len() + 1`.
    Incomplete { needed: usize },
    /// These bytes can never start an ADU, however many follow.
    Invalid(MbapError),
}

/// Frames the ADU at the start of `input`.
///
/// Outcomes:
/// - [`Framing::Adu`] when the header is valid and the whole PDU is present; bytes after it
///   are left for the next call.
/// - [`Framing::Invalid`] as soon as the protocol id (4 bytes in) or the length (6 bytes in)
///   rules the input out, even if the rest has not arrived.
/// - [`Framing::Incomplete`] otherwise.
///
/// The PDU itself is not checked; pass [`Adu::pdu`] to [`super::parse_request`] or
/// [`super::parse_response`].
#[inline]
pub fn frame_adu(input: &[u8]) -> Framing<'_> {
    match adu(input) {
        Ok((rest, adu)) => Framing::Adu {
            adu,
            consumed: input.len() - rest.len(),
        },
        Err(stop) => stop,
    }
}

/// Tells whether `input` plausibly starts with a Modbus/TCP ADU.
///
/// True when a whole MBAP header is present, its protocol id is 0, its length is in 2..=254,
/// and the function code, if present, is a request code (1..=127) or an exception (129..=255),
/// in which case the length must be 3 because an exception PDU is always 2 bytes. Function
/// codes 0 and 128 never occur. The transaction and unit ids are not constrained.
#[inline]
pub fn plausible_mbap(input: &[u8]) -> bool {
    let Ok((i, mbap)) = mbap(input) else {
        return false;
    };

    match be_u8::<_, ()>(i) {
        Err(_) => true,
        Ok((_, 0 | 0x80)) => false,
        Ok((_, function)) if function > 0x80 => mbap.length == 3,
        Ok(_) => true,
    }
}

/// Reads a whole MBAP header and checks its protocol id and length.
fn mbap(input: &[u8]) -> Result<(&[u8], Mbap), Framing<'static>> {
    let (i, transaction_id) = need(be_u16(input), MIN_ADU_LEN)?;

    let (i, protocol_id) = need(be_u16(i), MIN_ADU_LEN)?;
    if protocol_id != 0 {
        return Err(Framing::Invalid(MbapError::ProtocolId { protocol_id }));
    }

    let (i, length) = need(be_u16(i), MIN_ADU_LEN)?;
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        return Err(Framing::Invalid(MbapError::Length { length }));
    }
    let total = LENGTH_END + usize::from(length);

    let (i, unit_id) = need(be_u8(i), total)?;

    let mbap = Mbap {
        transaction_id,
        protocol_id,
        length,
        unit_id,
    };
    Ok((i, mbap))
}

/// Reads an MBAP header and the PDU its length field delimits.
fn adu(input: &[u8]) -> Result<(&[u8], Adu<'_>), Framing<'static>> {
    let (i, mbap) = mbap(input)?;
    let total = LENGTH_END + usize::from(mbap.length);

    // The length counts the unit id, already read, and the PDU.
    let (rest, pdu) = need(take(mbap.length - 1)(i), total)?;

    Ok((rest, Adu { mbap, pdu }))
}

/// Turns a streaming nom failure into `Incomplete`, reporting `needed` total bytes.
///
/// Streaming `take` and `be_u*` fail only for want of bytes, so every failure is one.
#[inline]
fn need<T>(r: IResult<&[u8], T, ()>, needed: usize) -> Result<(&[u8], T), Framing<'static>> {
    r.map_err(|_| Framing::Incomplete { needed })
}
