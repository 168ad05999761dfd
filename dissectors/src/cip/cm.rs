//! Connection Manager services and the Multiple Service Packet.
//!
//! Forward Open (0x54) and Large Forward Open (0x5B) differ only in the width of the network
//! connection parameters (16 bits vs 32). Their replies carry the connection ids the target
//! chose and echo the connection triad (serial, originator vendor, originator serial), which
//! is how a connected message is tied to its originator.

use super::Reader;

/// A (Large) Forward Open request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardOpen<'a> {
    pub large: bool,
    pub priority_tick: u8,
    pub timeout_ticks: u8,
    pub o_t_connection_id: u32,
    pub t_o_connection_id: u32,
    pub connection_serial: u16,
    pub vendor: u16,
    pub originator_serial: u32,
    pub timeout_multiplier: u8,
    pub o_t_rpi: u32,
    pub o_t_params: u32,
    pub t_o_rpi: u32,
    pub t_o_params: u32,
    pub transport: u8,
    /// The connection path, raw EPATH.
    pub path: &'a [u8],
}

/// Reads the data of a Forward Open (`large` false) or Large Forward Open request.
pub fn parse_forward_open(data: &[u8], large: bool) -> Option<ForwardOpen<'_>> {
    let mut r = Reader::new(data);
    let priority_tick = r.u8()?;
    let timeout_ticks = r.u8()?;
    let o_t_connection_id = r.u32()?;
    let t_o_connection_id = r.u32()?;
    let connection_serial = r.u16()?;
    let vendor = r.u16()?;
    let originator_serial = r.u32()?;
    let timeout_multiplier = r.u8()?;
    r.take(3)?;
    let params = |r: &mut Reader<'_>| -> Option<u32> {
        if large {
            r.u32()
        } else {
            r.u16().map(u32::from)
        }
    };
    let o_t_rpi = r.u32()?;
    let o_t_params = params(&mut r)?;
    let t_o_rpi = r.u32()?;
    let t_o_params = params(&mut r)?;
    let transport = r.u8()?;
    let words = r.u8()?;
    let path = r.take(usize::from(words) * 2)?;
    Some(ForwardOpen {
        large,
        priority_tick,
        timeout_ticks,
        o_t_connection_id,
        t_o_connection_id,
        connection_serial,
        vendor,
        originator_serial,
        timeout_multiplier,
        o_t_rpi,
        o_t_params,
        t_o_rpi,
        t_o_params,
        transport,
        path,
    })
}

/// A successful (Large) Forward Open reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardOpenReply<'a> {
    pub o_t_connection_id: u32,
    pub t_o_connection_id: u32,
    pub connection_serial: u16,
    pub vendor: u16,
    pub originator_serial: u32,
    /// Actual packet intervals, µs.
    pub o_t_api: u32,
    pub t_o_api: u32,
    pub application_reply: &'a [u8],
}

/// Reads the data of a successful (Large) Forward Open reply.
pub fn parse_forward_open_reply(data: &[u8]) -> Option<ForwardOpenReply<'_>> {
    let mut r = Reader::new(data);
    let o_t_connection_id = r.u32()?;
    let t_o_connection_id = r.u32()?;
    let connection_serial = r.u16()?;
    let vendor = r.u16()?;
    let originator_serial = r.u32()?;
    let o_t_api = r.u32()?;
    let t_o_api = r.u32()?;
    let words = r.u8()?;
    let _reserved = r.u8()?;
    let application_reply = r.take(usize::from(words) * 2)?;
    Some(ForwardOpenReply {
        o_t_connection_id,
        t_o_connection_id,
        connection_serial,
        vendor,
        originator_serial,
        o_t_api,
        t_o_api,
        application_reply,
    })
}

/// A Forward Close request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardClose<'a> {
    pub connection_serial: u16,
    pub vendor: u16,
    pub originator_serial: u32,
    pub path: &'a [u8],
}

/// Reads the data of a Forward Close request.
pub fn parse_forward_close(data: &[u8]) -> Option<ForwardClose<'_>> {
    let mut r = Reader::new(data);
    let _priority_tick = r.u8()?;
    let _timeout_ticks = r.u8()?;
    let connection_serial = r.u16()?;
    let vendor = r.u16()?;
    let originator_serial = r.u32()?;
    let words = r.u8()?;
    let _reserved = r.u8()?;
    let path = r.take(usize::from(words) * 2)?;
    Some(ForwardClose {
        connection_serial,
        vendor,
        originator_serial,
        path,
    })
}

/// An Unconnected Send request: the embedded request and its route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnconnectedSend<'a> {
    pub priority_tick: u8,
    pub timeout_ticks: u8,
    /// The embedded CIP request.
    pub message: &'a [u8],
    /// The route path (port segments), raw EPATH; empty when the request has none.
    pub route: &'a [u8],
}

/// Reads the data of an Unconnected Send request. The route path may be missing (some
/// clients leave it out when the target is the device itself).
pub fn parse_unconnected_send(data: &[u8]) -> Option<UnconnectedSend<'_>> {
    let mut r = Reader::new(data);
    let priority_tick = r.u8()?;
    let timeout_ticks = r.u8()?;
    let size = r.u16()?;
    let message = r.take(usize::from(size))?;
    if size % 2 == 1 {
        let _ = r.u8();
    }
    let route = match (r.u8(), r.u8()) {
        (Some(words), Some(_reserved)) => r.take(usize::from(words) * 2).unwrap_or(&[]),
        _ => &[],
    };
    Some(UnconnectedSend {
        priority_tick,
        timeout_ticks,
        message,
        route,
    })
}

/// The embedded services of a Multiple Service Packet request or reply data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Multiple<'a> {
    data: &'a [u8],
    pub count: u16,
}

/// Reads the service count of a Multiple Service Packet (request or reply data).
pub fn parse_multiple(data: &[u8]) -> Option<Multiple<'_>> {
    let count = Reader::new(data).u16()?;
    if data.len() < 2 + 2 * usize::from(count) {
        return None;
    }
    Some(Multiple { data, count })
}

impl<'a> Multiple<'a> {
    /// Embedded service `index`: from its offset (relative to the count) to the next offset
    /// or the end; `None` when the offsets do not fit.
    pub fn get(&self, index: u16) -> Option<&'a [u8]> {
        if index >= self.count {
            return None;
        }
        let offset = |i: u16| -> Option<usize> {
            let at = 2 + 2 * usize::from(i);
            let b = self.data.get(at..at + 2)?;
            Some(usize::from(u16::from_le_bytes([b[0], b[1]])))
        };
        let start = offset(index)?;
        let end = if index + 1 < self.count {
            offset(index + 1)?
        } else {
            self.data.len()
        };
        if start < 2 + 2 * usize::from(self.count) || end < start {
            return None;
        }
        self.data.get(start..end)
    }
}
