//! CIP (Common Industrial Protocol) messages as EtherNet/IP carries them.
//!
//! - [`parse_request`] / [`parse_response`]: service, request path, data; general and
//!   additional status of replies.
//! - [`path`]: EPATH segments (logical 8/16/32-bit, ANSI extended symbolic, port, data,
//!   network) and a summary of class / instance / attribute / symbols.
//! - [`services`]: service names and classes, class-specific codes resolved by the target
//!   class (a code that cannot be resolved stays raw).
//! - [`cm`]: Connection Manager services (Forward Open, Large Forward Open, Forward Close,
//!   Unconnected Send) and Multiple Service Packet framing.
//! - [`logix`]: Logix tag services (Write Tag, Write Tag Fragmented, Read-Modify-Write Tag)
//!   and CIP elementary data types.
//! - [`pccc`]: PCCC commands inside Execute PCCC (typed logical writes, mode changes).
//!
//! Contract: zero-copy, no panic on any input; every parser is a pure function of its bytes.

pub mod cm;
pub mod logix;
pub mod path;
pub mod pccc;
pub mod services;

#[cfg(test)]
mod tests;

/// A bounds-checked little-endian reader: every read that runs out of bytes is `None`.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    pub fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Bit set in the service code of every reply.
pub const REPLY: u8 = 0x80;

/// A CIP request: service, request path (raw EPATH bytes) and service data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub service: u8,
    pub path: &'a [u8],
    pub data: &'a [u8],
}

/// A CIP reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// The request's service code (the reply bit removed).
    pub service: u8,
    pub general_status: u8,
    /// Additional status words, raw (little-endian u16 each).
    pub additional_status: &'a [u8],
    pub data: &'a [u8],
}

/// Why a CIP message could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CipError {
    #[error("cip: empty message")]
    Empty,
    #[error("cip: service 0x{service:02x} is a reply where a request was expected")]
    NotRequest { service: u8 },
    #[error("cip: service 0x{service:02x} is a request where a reply was expected")]
    NotResponse { service: u8 },
    #[error("cip: service 0x{service:02x}: {field} runs past the end of the message")]
    Truncated { service: u8, field: &'static str },
}

/// Reads a CIP request.
pub fn parse_request(input: &[u8]) -> Result<Request<'_>, CipError> {
    let mut r = Reader::new(input);
    let service = r.u8().ok_or(CipError::Empty)?;
    if service & REPLY != 0 {
        return Err(CipError::NotRequest { service });
    }
    let truncated = |field| CipError::Truncated { service, field };
    let words = r.u8().ok_or(truncated("path size"))?;
    let path = r
        .take(usize::from(words) * 2)
        .ok_or(truncated("request path"))?;
    Ok(Request {
        service,
        path,
        data: r.rest(),
    })
}

/// Reads a CIP reply.
pub fn parse_response(input: &[u8]) -> Result<Response<'_>, CipError> {
    let mut r = Reader::new(input);
    let service = r.u8().ok_or(CipError::Empty)?;
    if service & REPLY == 0 {
        return Err(CipError::NotResponse { service });
    }
    let service = service & !REPLY;
    let truncated = |field| CipError::Truncated { service, field };
    let _reserved = r.u8().ok_or(truncated("reserved"))?;
    let general_status = r.u8().ok_or(truncated("general status"))?;
    let words = r.u8().ok_or(truncated("additional status size"))?;
    let additional_status = r
        .take(usize::from(words) * 2)
        .ok_or(truncated("additional status"))?;
    Ok(Response {
        service,
        general_status,
        additional_status,
        data: r.rest(),
    })
}

/// The name of a CIP general status code.
pub fn status_name(status: u8) -> &'static str {
    match status {
        0x00 => "Success",
        0x01 => "Connection failure",
        0x02 => "Resource unavailable",
        0x03 => "Invalid parameter value",
        0x04 => "Path segment error",
        0x05 => "Path destination unknown",
        0x06 => "Partial transfer",
        0x07 => "Connection lost",
        0x08 => "Service not supported",
        0x09 => "Invalid attribute value",
        0x0A => "Attribute list error",
        0x0B => "Already in requested mode/state",
        0x0C => "Object state conflict",
        0x0D => "Object already exists",
        0x0E => "Attribute not settable",
        0x0F => "Privilege violation",
        0x10 => "Device state conflict",
        0x11 => "Reply data too large",
        0x13 => "Not enough data",
        0x14 => "Attribute not supported",
        0x15 => "Too much data",
        0x16 => "Object does not exist",
        0x1E => "Embedded service error",
        0x1F => "Vendor specific error",
        0x20 => "Invalid parameter",
        0x26 => "Path size invalid",
        _ => "Other status",
    }
}
