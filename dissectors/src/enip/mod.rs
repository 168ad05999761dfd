//! EtherNet/IP encapsulation: the 24-byte header, the common packet format (CPF) items of
//! SendRRData / SendUnitData, and the ListIdentity reply.
//!
//! [`frame`] cuts one encapsulation message off the front of a reassembled TCP stream (or a
//! UDP datagram); [`plausible_header`] is the cheap test used to recognise EtherNet/IP by
//! content and to find the next message after a gap. [`Cpf::parse`] reads the interface
//! handle, timeout and items of SendRRData / SendUnitData, and [`Cpf::message`] picks the
//! address and data items that carry a CIP message. [`parse_identity`] decodes a CIP Identity
//! item (ListIdentity reply, item type 0x0C).
//!
//! Contract: zero-copy, no allocation, no panic on any input. What the CIP bytes mean is the
//! job of [`crate::cip`].

#[cfg(test)]
mod tests;

use crate::cip::Reader;

/// Length of the encapsulation header.
pub const HEADER_LEN: usize = 24;

/// Largest data length a message may announce (65535 minus the header).
pub const MAX_DATA_LEN: usize = 65511;

/// Encapsulation commands.
pub mod command {
    pub const NOP: u16 = 0x0000;
    pub const LIST_SERVICES: u16 = 0x0004;
    pub const LIST_IDENTITY: u16 = 0x0063;
    pub const LIST_INTERFACES: u16 = 0x0064;
    pub const REGISTER_SESSION: u16 = 0x0065;
    pub const UNREGISTER_SESSION: u16 = 0x0066;
    pub const SEND_RR_DATA: u16 = 0x006F;
    pub const SEND_UNIT_DATA: u16 = 0x0070;
    pub const INDICATE_STATUS: u16 = 0x0072;
    pub const CANCEL: u16 = 0x0073;
}

/// Common packet format item types.
pub mod item {
    pub const NULL_ADDRESS: u16 = 0x0000;
    pub const LIST_IDENTITY: u16 = 0x000C;
    pub const CONNECTED_ADDRESS: u16 = 0x00A1;
    pub const CONNECTED_DATA: u16 = 0x00B1;
    pub const UNCONNECTED_DATA: u16 = 0x00B2;
    pub const LIST_SERVICES: u16 = 0x0100;
    pub const SOCKADDR_O_T: u16 = 0x8000;
    pub const SOCKADDR_T_O: u16 = 0x8001;
    pub const SEQUENCED_ADDRESS: u16 = 0x8002;
}

/// The name of an encapsulation command, `None` for a code the specification does not define.
pub fn command_name(command: u16) -> Option<&'static str> {
    Some(match command {
        command::NOP => "NOP",
        command::LIST_SERVICES => "ListServices",
        command::LIST_IDENTITY => "ListIdentity",
        command::LIST_INTERFACES => "ListInterfaces",
        command::REGISTER_SESSION => "RegisterSession",
        command::UNREGISTER_SESSION => "UnRegisterSession",
        command::SEND_RR_DATA => "SendRRData",
        command::SEND_UNIT_DATA => "SendUnitData",
        command::INDICATE_STATUS => "IndicateStatus",
        command::CANCEL => "Cancel",
        _ => return None,
    })
}

/// The encapsulation header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub command: u16,
    /// Bytes of command data after the header.
    pub length: u16,
    pub session: u32,
    /// 0 in requests; the encapsulation error code in replies.
    pub status: u32,
    /// Chosen by the sender of a request and echoed in the reply.
    pub sender_context: [u8; 8],
    pub options: u32,
}

impl Header {
    /// Reads the 24 header bytes, if present; any values.
    pub fn parse(input: &[u8]) -> Option<Header> {
        let mut r = Reader::new(input);
        let command = r.u16()?;
        let length = r.u16()?;
        let session = r.u32()?;
        let status = r.u32()?;
        let ctx = r.take(8)?;
        let options = r.u32()?;
        let mut sender_context = [0; 8];
        sender_context.copy_from_slice(ctx);
        Some(Header {
            command,
            length,
            session,
            status,
            sender_context,
            options,
        })
    }
}

/// One encapsulation message, borrowed from the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub header: Header,
    /// The command data: exactly `header.length` bytes.
    pub data: &'a [u8],
}

/// What [`frame`] found at the start of its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing<'a> {
    /// A whole message; `consumed` bytes belong to it.
    Message {
        message: Message<'a>,
        consumed: usize,
    },
    /// The input is the start of a message of `needed` bytes in all.
    Incomplete { needed: usize },
    /// The header cannot be EtherNet/IP: non-zero options.
    Invalid,
}

/// Cuts one encapsulation message off the front of `input`. Command codes are open (legacy
/// tools send reserved codes such as 0x0001): an unknown command is still a message, which the
/// caller may skip whole.
pub fn frame(input: &[u8]) -> Framing<'_> {
    let Some(header) = Header::parse(input) else {
        return Framing::Incomplete { needed: HEADER_LEN };
    };
    if header.options != 0 {
        return Framing::Invalid;
    }
    let needed = HEADER_LEN + usize::from(header.length);
    match input.get(HEADER_LEN..needed) {
        Some(data) => Framing::Message {
            message: Message { header, data },
            consumed: needed,
        },
        None => Framing::Incomplete { needed },
    }
}

/// Whether `input` starts with a believable encapsulation header: a defined command other than
/// NOP (whose header is all zeros, like any run of zero bytes), options 0, a status that is 0
/// or a defined error code, and a length that fits the command.
pub fn plausible_header(input: &[u8]) -> bool {
    let Some(h) = Header::parse(input) else {
        return false;
    };
    if command_name(h.command).is_none() || h.options != 0 {
        return false;
    }
    if !matches!(h.status, 0..=3 | 0x64 | 0x65 | 0x69) {
        return false;
    }
    let len = usize::from(h.length);
    match h.command {
        command::NOP => false,
        command::REGISTER_SESSION => len == 4,
        command::UNREGISTER_SESSION => len == 0,
        command::SEND_RR_DATA | command::SEND_UNIT_DATA => len >= 8 || h.status != 0,
        command::LIST_IDENTITY | command::LIST_SERVICES | command::LIST_INTERFACES => {
            h.session == 0 || len > 0
        }
        _ => true,
    }
}

/// One common packet format item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item<'a> {
    pub type_id: u16,
    pub data: &'a [u8],
}

/// The command-specific data of SendRRData and SendUnitData (and the item list of a
/// ListIdentity / ListServices reply, which has no handle and timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cpf<'a> {
    pub interface_handle: u32,
    pub timeout: u16,
    pub count: u16,
    items: &'a [u8],
}

/// Address and data items that carry one CIP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Address {
    Null,
    Connected { connection_id: u32 },
    Sequenced { connection_id: u32, sequence: u32 },
}

/// The CIP message a CPF carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CipMessage<'a> {
    pub address: Address,
    /// The class 3 sequence count of connected data; `None` for unconnected data.
    pub sequence: Option<u16>,
    /// The CIP request or reply.
    pub cip: &'a [u8],
}

impl<'a> Cpf<'a> {
    /// Reads the interface handle, timeout and item count of SendRRData / SendUnitData data.
    pub fn parse(data: &'a [u8]) -> Option<Cpf<'a>> {
        let mut r = Reader::new(data);
        let interface_handle = r.u32()?;
        let timeout = r.u16()?;
        let count = r.u16()?;
        Some(Cpf {
            interface_handle,
            timeout,
            count,
            items: r.rest(),
        })
    }

    /// Reads an item list that starts with its count (ListIdentity, ListServices replies).
    pub fn parse_list(data: &'a [u8]) -> Option<Cpf<'a>> {
        let mut r = Reader::new(data);
        let count = r.u16()?;
        Some(Cpf {
            interface_handle: 0,
            timeout: 0,
            count,
            items: r.rest(),
        })
    }

    /// The items, in order; stops at the first that does not fit.
    pub fn items(&self) -> Items<'a> {
        Items {
            rest: self.items,
            left: self.count,
        }
    }

    /// The address item and the (connected or unconnected) data item, when there are both.
    pub fn message(&self) -> Option<CipMessage<'a>> {
        let mut address = None;
        for item in self.items() {
            let mut r = Reader::new(item.data);
            match item.type_id {
                item::NULL_ADDRESS => address = Some(Address::Null),
                item::CONNECTED_ADDRESS => {
                    address = Some(Address::Connected {
                        connection_id: r.u32()?,
                    })
                }
                item::SEQUENCED_ADDRESS => {
                    address = Some(Address::Sequenced {
                        connection_id: r.u32()?,
                        sequence: r.u32()?,
                    })
                }
                item::UNCONNECTED_DATA => {
                    return Some(CipMessage {
                        address: address.unwrap_or(Address::Null),
                        sequence: None,
                        cip: item.data,
                    })
                }
                item::CONNECTED_DATA => {
                    let sequence = r.u16()?;
                    return Some(CipMessage {
                        address: address.unwrap_or(Address::Null),
                        sequence: Some(sequence),
                        cip: r.rest(),
                    });
                }
                _ => {}
            }
        }
        None
    }
}

/// Iterator over CPF items.
#[derive(Clone, Debug)]
pub struct Items<'a> {
    rest: &'a [u8],
    left: u16,
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut r = Reader::new(self.rest);
        let type_id = r.u16()?;
        let len = r.u16()?;
        let data = r.take(usize::from(len))?;
        self.rest = r.rest();
        Some(Item { type_id, data })
    }
}

/// A CIP Identity item (ListIdentity reply) or the Identity object's attributes 1..7 in a
/// Get_Attributes_All reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity<'a> {
    pub vendor: u16,
    pub device_type: u16,
    pub product_code: u16,
    pub revision: (u8, u8),
    pub status: u16,
    pub serial: u32,
    pub product_name: &'a [u8],
}

/// Decodes a ListIdentity item (type 0x0C): encapsulation version, socket address, then the
/// identity attributes and the state byte.
pub fn parse_identity(item: &[u8]) -> Option<Identity<'_>> {
    let mut r = Reader::new(item);
    let _version = r.u16()?;
    let _sockaddr = r.take(16)?;
    parse_identity_attributes(r.rest())
}

/// Decodes Identity attributes 1..7 (vendor, device type, product code, revision, status,
/// serial, short-string product name), as a Get_Attributes_All reply of class 0x01 has them.
pub fn parse_identity_attributes(data: &[u8]) -> Option<Identity<'_>> {
    let mut r = Reader::new(data);
    let vendor = r.u16()?;
    let device_type = r.u16()?;
    let product_code = r.u16()?;
    let major = r.u8()?;
    let minor = r.u8()?;
    let status = r.u16()?;
    let serial = r.u32()?;
    let len = r.u8()?;
    let product_name = r.take(usize::from(len))?;
    Some(Identity {
        vendor,
        device_type,
        product_code,
        revision: (major, minor),
        status,
        serial,
        product_name,
    })
}
