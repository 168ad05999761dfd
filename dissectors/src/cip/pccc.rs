//! PCCC commands carried by the CIP Execute PCCC service (0x4B to class 0x67).
//!
//! The service data is a requester id (length byte counting itself, vendor id, serial
//! number, optional bytes) followed by the PCCC command: CMD, STS, TNS (u16), and for the
//! CMD 0x0F family an FNC byte, then the function data. Writes read here:
//! - CMD 0x0F FNC 0xAA / 0xA9: protected typed logical write with three / two address fields
//!   (byte size, file number, file type, element[, sub-element], data);
//! - CMD 0x0F FNC 0xAB: the same with a mask (three address fields, mask, data);
//! - CMD 0x0F FNC 0x00 word range write and FNC 0x67 typed write (PLC-5 addressing, kept raw);
//! - CMD 0x08 unprotected write and CMD 0x00 protected write (16-bit word address, data);
//! - CMD 0x0F FNC 0x80 change mode (a control).
//!
//! Address fields are one byte, or 0xFF followed by a 16-bit little-endian value.

use super::Reader;

/// A PCCC command inside Execute PCCC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command<'a> {
    pub requester_vendor: u16,
    pub requester_serial: u32,
    pub cmd: u8,
    pub sts: u8,
    pub tns: u16,
    /// The function code of the CMD 0x0F (and 0x06, 0x07) families.
    pub fnc: Option<u8>,
    pub data: &'a [u8],
}

/// Reads the data of an Execute PCCC request.
pub fn parse_execute_pccc(data: &[u8]) -> Option<Command<'_>> {
    let mut r = Reader::new(data);
    let len = usize::from(r.u8()?);
    let requester_vendor = r.u16()?;
    let requester_serial = r.u32()?;
    r.take(len.checked_sub(7)?)?;
    let cmd = r.u8()?;
    let sts = r.u8()?;
    let tns = r.u16()?;
    let fnc = if matches!(cmd, 0x06 | 0x07 | 0x0F) {
        Some(r.u8()?)
    } else {
        None
    };
    Some(Command {
        requester_vendor,
        requester_serial,
        cmd,
        sts,
        tns,
        fnc,
        data: r.rest(),
    })
}

/// A logical (SLC / MicroLogix) data table address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogicalAddress {
    pub file: u16,
    pub file_type: u8,
    pub element: u16,
    pub sub_element: Option<u16>,
}

/// What a PCCC command does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// A typed logical write: address, byte size, optional mask, data.
    LogicalWrite {
        address: LogicalAddress,
        size: u8,
        mask: Option<&'a [u8]>,
        data: &'a [u8],
    },
    /// A write whose address is kept raw (PLC-5 word range / typed write, word-address write).
    RawWrite { address: &'a [u8], data: &'a [u8] },
    /// Change of the processor mode (run, program, …).
    ChangeMode { mode: u8 },
    /// Anything else (reads, diagnostics, …).
    Other,
}

/// Names a PCCC write or control, by CMD and FNC; `None` for other commands.
pub fn command_name(cmd: u8, fnc: Option<u8>) -> Option<&'static str> {
    Some(match (cmd, fnc) {
        (0x0F, Some(0xAA)) => "PCCC Protected Typed Logical Write (3 address fields)",
        (0x0F, Some(0xA9)) => "PCCC Protected Typed Logical Write (2 address fields)",
        (0x0F, Some(0xAB)) => "PCCC Protected Typed Logical Masked Write",
        (0x0F, Some(0x00)) => "PCCC Word Range Write",
        (0x0F, Some(0x67)) => "PCCC Typed Write",
        (0x0F, Some(0x80)) => "PCCC Change Mode",
        (0x08, None) => "PCCC Unprotected Write",
        (0x00, None) => "PCCC Protected Write",
        _ => return None,
    })
}

fn field(r: &mut Reader<'_>) -> Option<u16> {
    match r.u8()? {
        0xFF => r.u16(),
        v => Some(u16::from(v)),
    }
}

/// What `command` does; malformed function data of a write is `None`.
pub fn action<'a>(command: &Command<'a>) -> Option<Action<'a>> {
    let mut r = Reader::new(command.data);
    Some(match (command.cmd, command.fnc) {
        (0x0F, Some(fnc @ 0xA9..=0xAB)) => {
            let size = r.u8()?;
            let file = field(&mut r)?;
            let file_type = r.u8()?;
            let element = field(&mut r)?;
            let sub_element = if fnc == 0xA9 {
                None
            } else {
                Some(field(&mut r)?)
            };
            let mask = if fnc == 0xAB {
                Some(r.take(usize::from(size))?)
            } else {
                None
            };
            Action::LogicalWrite {
                address: LogicalAddress {
                    file,
                    file_type,
                    element,
                    sub_element,
                },
                size,
                mask,
                data: r.rest(),
            }
        }
        (0x0F, Some(0x00 | 0x67)) => {
            // Packet offset and total transaction, then a PLC-5 address: kept raw.
            let head = r.take(4)?;
            Action::RawWrite {
                address: head,
                data: r.rest(),
            }
        }
        (0x0F, Some(0x80)) => Action::ChangeMode { mode: r.u8()? },
        (0x08 | 0x00, None) => Action::RawWrite {
            address: r.take(2)?,
            data: r.rest(),
        },
        _ => Action::Other,
    })
}

/// The letter of a data table file type (`N`, `F`, `B`, …); `None` for unknown types.
pub fn file_type_letter(file_type: u8) -> Option<&'static str> {
    Some(match file_type {
        0x82 => "O",
        0x83 => "I",
        0x84 => "S",
        0x85 => "B",
        0x86 => "T",
        0x87 => "C",
        0x88 => "R",
        0x89 => "N",
        0x8A => "F",
        0x8D => "ST",
        0x8E => "A",
        0x91 => "L",
        0x92 => "MG",
        0x93 => "PD",
        0x94 => "PLS",
        _ => return None,
    })
}
