//! S7comm (protocol id 0x32): the PDU header, the parameter and data parts of jobs and their
//! acknowledgements, variable addresses, PLC control services, block transfer and userdata.
//!
//! The caller has already removed TPKT and COTP (see [`crate::tpkt`]) and joined COTP
//! segments, so each input here is one whole S7comm PDU. The pieces, in the order an analyser
//! uses them:
//!
//! 1. [`parse_pdu`]: the header (ROSCTR, PDU reference, error class and code of acks) and the
//!    parameter and data parts, bounded by the header's lengths;
//! 2. per job function: [`var_specs`] (Read/Write Var items, [`VarSpec`]), [`data_items`] (the
//!    values of a Write Var job or Read Var ack), [`return_codes`] (a Write Var ack),
//!    [`parse_setup`], [`parse_pi_service`], [`parse_plc_stop`], [`parse_block_transfer`];
//! 3. userdata: [`parse_userdata`] (function group, subfunction, sequence, error) and its data
//!    unit, with [`decode_password`], [`parse_clock`] and [`parse_szl`] for what matters to an
//!    auditor.
//!
//! Contract: pure functions of `&[u8]`, zero-copy, no panic on any input; item iterators stop
//! at the first item that does not fit and say so through [`VarSpecs::truncated`] /
//! [`DataItems::truncated`]. Function codes, areas and syntax ids are open: unknown values are
//! kept raw.

mod names;
#[cfg(test)]
mod tests;

pub use names::{area_letter, block_type_name, function_name, group_name, pi_operation};

use thiserror::Error;

/// The S7comm protocol identifier, first byte of every PDU.
pub const PROTOCOL_ID: u8 = 0x32;

/// Header length of Job and Userdata PDUs.
pub const HEADER_LEN: usize = 10;

/// Header length of Ack and Ack_Data PDUs (error class and code added).
pub const ACK_HEADER_LEN: usize = 12;

/// PDU types (ROSCTR).
pub mod rosctr {
    pub const JOB: u8 = 0x01;
    pub const ACK: u8 = 0x02;
    pub const ACK_DATA: u8 = 0x03;
    pub const USERDATA: u8 = 0x07;
}

/// Parameter function codes of jobs.
pub mod func {
    pub const CPU_SERVICES: u8 = 0x00;
    pub const READ_VAR: u8 = 0x04;
    pub const WRITE_VAR: u8 = 0x05;
    pub const REQUEST_DOWNLOAD: u8 = 0x1a;
    pub const DOWNLOAD_BLOCK: u8 = 0x1b;
    pub const DOWNLOAD_ENDED: u8 = 0x1c;
    pub const START_UPLOAD: u8 = 0x1d;
    pub const UPLOAD: u8 = 0x1e;
    pub const END_UPLOAD: u8 = 0x1f;
    pub const PI_SERVICE: u8 = 0x28;
    pub const PLC_STOP: u8 = 0x29;
    pub const SETUP_COMMUNICATION: u8 = 0xf0;
}

/// Userdata function groups.
pub mod group {
    pub const MODE_TRANSITION: u8 = 0x0;
    pub const PROGRAMMER: u8 = 0x1;
    pub const CYCLIC: u8 = 0x2;
    pub const BLOCK: u8 = 0x3;
    pub const CPU: u8 = 0x4;
    pub const SECURITY: u8 = 0x5;
    pub const PBC: u8 = 0x6;
    pub const TIME: u8 = 0x7;
    pub const NC: u8 = 0xf;
}

/// Item syntax ids of a variable specification.
pub mod syntax {
    pub const S7ANY: u8 = 0x10;
    pub const PBC_ID: u8 = 0x13;
    pub const NCK: u8 = 0x82;
    pub const DRIVEESANY: u8 = 0xa2;
    pub const DBREAD: u8 = 0xb0;
    pub const SYM_1200: u8 = 0xb2;
}

/// Item return code "success".
pub const RETURN_OK: u8 = 0xff;

/// Why bytes are not a valid S7comm PDU or part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum S7Error {
    #[error("s7comm: protocol id 0x{id:02x} is not 0x32")]
    ProtocolId { id: u8 },
    #[error("s7comm: {field} needs {needed} bytes, {available} present")]
    Truncated {
        field: &'static str,
        needed: usize,
        available: usize,
    },
    #[error("s7comm: ROSCTR {rosctr} is not a known PDU type")]
    Rosctr { rosctr: u8 },
    #[error("s7comm: {field} is malformed")]
    Field { field: &'static str },
}

fn truncated(field: &'static str, needed: usize, available: usize) -> S7Error {
    S7Error::Truncated {
        field,
        needed,
        available,
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// One S7comm PDU, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct S7Pdu<'a> {
    pub rosctr: u8,
    /// Chosen by the requester and echoed in the answer.
    pub pdu_ref: u16,
    /// Error class and code of Ack / Ack_Data (both 0 on success); `None` for other types.
    pub error: Option<(u8, u8)>,
    pub param: &'a [u8],
    pub data: &'a [u8],
}

impl S7Pdu<'_> {
    /// The parameter's function code (first parameter byte), if there is a parameter.
    pub fn function(&self) -> Option<u8> {
        self.param.first().copied()
    }

    /// `class * 256 + code` when the header reports an error.
    pub fn error_code(&self) -> Option<u16> {
        match self.error {
            Some((class, code)) if (class, code) != (0, 0) => {
                Some(u16::from(class) << 8 | u16::from(code))
            }
            _ => None,
        }
    }
}

/// Parses the S7comm PDU `pdu` (a whole COTP TSDU starting with 0x32). Trailing bytes after
/// the parameter and data parts are ignored (some stacks pad).
pub fn parse_pdu(pdu: &[u8]) -> Result<S7Pdu<'_>, S7Error> {
    let &id = pdu.first().ok_or(truncated("header", HEADER_LEN, 0))?;
    if id != PROTOCOL_ID {
        return Err(S7Error::ProtocolId { id });
    }
    if pdu.len() < HEADER_LEN {
        return Err(truncated("header", HEADER_LEN, pdu.len()));
    }
    let rosctr = pdu[1];
    let pdu_ref = be16(pdu, 4).unwrap_or(0);
    let param_len = usize::from(be16(pdu, 6).unwrap_or(0));
    let data_len = usize::from(be16(pdu, 8).unwrap_or(0));
    let (header_len, error) = match rosctr {
        rosctr::JOB | rosctr::USERDATA => (HEADER_LEN, None),
        rosctr::ACK | rosctr::ACK_DATA => {
            if pdu.len() < ACK_HEADER_LEN {
                return Err(truncated("ack header", ACK_HEADER_LEN, pdu.len()));
            }
            (ACK_HEADER_LEN, Some((pdu[10], pdu[11])))
        }
        other => return Err(S7Error::Rosctr { rosctr: other }),
    };
    let needed = header_len + param_len + data_len;
    if pdu.len() < needed {
        return Err(truncated("parameter and data parts", needed, pdu.len()));
    }
    let param = &pdu[header_len..header_len + param_len];
    let data = &pdu[header_len + param_len..needed];
    Ok(S7Pdu {
        rosctr,
        pdu_ref,
        error,
        param,
        data,
    })
}

/// An S7ANY address: the classic `area, DB, byte.bit, transport size, count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnyAddress {
    pub transport_size: u8,
    /// Count of elements of `transport_size`.
    pub count: u16,
    pub db: u16,
    pub area: u8,
    /// Bit address: byte = address >> 3, bit = address & 7 (timers and counters: number).
    pub address: u32,
}

/// One item of a Read Var or Write Var parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarSpec<'a> {
    Any(AnyAddress),
    /// DBREAD (S7-400): the first area of the item (`count` bytes of `db` from `start`).
    DbRead {
        db: u16,
        start: u16,
        count: u8,
    },
    /// Any other syntax (1200SYM, NCK, DRIVEESANY, …): its id and the bytes after it.
    Other {
        syntax_id: u8,
        raw: &'a [u8],
    },
}

/// Iterator over the items of a Read/Write Var parameter; see [`var_specs`].
#[derive(Clone, Debug)]
pub struct VarSpecs<'a> {
    rest: &'a [u8],
    left: u8,
    truncated: bool,
}

impl VarSpecs<'_> {
    /// Whether the iterator stopped early because an item did not fit.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

/// The items of a Read Var or Write Var job parameter (`[function, count, items…]`).
pub fn var_specs(param: &[u8]) -> VarSpecs<'_> {
    VarSpecs {
        left: param.get(1).copied().unwrap_or(0),
        rest: param.get(2..).unwrap_or(&[]),
        truncated: param.len() < 2,
    }
}

impl<'a> Iterator for VarSpecs<'a> {
    type Item = VarSpec<'a>;

    fn next(&mut self) -> Option<VarSpec<'a>> {
        if self.left == 0 {
            return None;
        }
        let (spec, len) = match *self.rest {
            [_, len, syntax_id, ..] if self.rest.len() >= 2 + usize::from(len) && len >= 1 => {
                (syntax_id, usize::from(len))
            }
            _ => {
                self.truncated = true;
                self.left = 0;
                return None;
            }
        };
        let body = &self.rest[3..2 + len];
        self.rest = &self.rest[2 + len..];
        self.left -= 1;
        Some(match spec {
            syntax::S7ANY if body.len() >= 9 => VarSpec::Any(AnyAddress {
                transport_size: body[0],
                count: be16(body, 1).unwrap_or(0),
                db: be16(body, 3).unwrap_or(0),
                area: body[5],
                address: u32::from_be_bytes([0, body[6], body[7], body[8]]) & 0x7ffff,
            }),
            syntax::DBREAD if body.len() >= 6 => VarSpec::DbRead {
                count: body[1],
                db: be16(body, 2).unwrap_or(0),
                start: be16(body, 4).unwrap_or(0),
            },
            syntax_id => VarSpec::Other {
                syntax_id,
                raw: body,
            },
        })
    }
}

/// One item of a data part: a Write Var value or a Read Var result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataItem<'a> {
    /// 0x00 in requests, 0xFF success in answers, else an error code (0x0A object missing…).
    pub return_code: u8,
    /// Data transport size: 0x03 BIT, 0x04 BYTE/WORD/DWORD, 0x05 INTEGER, 0x07 REAL,
    /// 0x09 OCTET STRING.
    pub transport_size: u8,
    pub data: &'a [u8],
}

/// Iterator over the items of a data part; see [`data_items`].
#[derive(Clone, Debug)]
pub struct DataItems<'a> {
    rest: &'a [u8],
    left: usize,
    truncated: bool,
}

impl DataItems<'_> {
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

/// The `count` items of a data part (Write Var request, Read Var Ack_Data).
pub fn data_items(data: &[u8], count: usize) -> DataItems<'_> {
    DataItems {
        rest: data,
        left: count,
        truncated: false,
    }
}

/// Bytes of an item's value given its data transport size and length field.
pub fn data_len(transport_size: u8, length: u16) -> usize {
    let length = usize::from(length);
    match transport_size {
        // Lengths in bits.
        0x03..=0x06 => length.div_ceil(8),
        _ => length,
    }
}

impl<'a> Iterator for DataItems<'a> {
    type Item = DataItem<'a>;

    fn next(&mut self) -> Option<DataItem<'a>> {
        if self.left == 0 {
            return None;
        }
        let (&return_code, _) = self.rest.split_first()?;
        // An answer item that failed carries no value: 4 bytes (code, size 0, length 0) or,
        // from some stacks, only the code and size.
        let Some(length) = be16(self.rest, 2) else {
            if !self.rest.is_empty() && return_code != RETURN_OK && return_code != 0 {
                self.left -= 1;
                let item = DataItem {
                    return_code,
                    transport_size: self.rest.get(1).copied().unwrap_or(0),
                    data: &[],
                };
                self.rest = &[];
                return Some(item);
            }
            self.truncated = true;
            self.left = 0;
            return None;
        };
        let transport_size = self.rest[1];
        let n = data_len(transport_size, length);
        let Some(data) = self.rest.get(4..4 + n) else {
            self.truncated = true;
            self.left = 0;
            return None;
        };
        self.left -= 1;
        // A fill byte pads odd values when another item follows.
        let next = 4 + n + usize::from(n % 2 == 1 && self.left > 0);
        self.rest = self.rest.get(next..).unwrap_or(&[]);
        Some(DataItem {
            return_code,
            transport_size,
            data,
        })
    }
}

/// The per-item return codes of a Write Var Ack_Data (`data` part).
pub fn return_codes<'a>(param: &[u8], data: &'a [u8]) -> &'a [u8] {
    let count = usize::from(param.get(1).copied().unwrap_or(0));
    &data[..count.min(data.len())]
}

/// Setup Communication: parallel jobs each way and the PDU size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    pub max_amq_calling: u16,
    pub max_amq_called: u16,
    pub pdu_size: u16,
}

/// Parses a Setup Communication parameter (request or answer).
pub fn parse_setup(param: &[u8]) -> Option<Setup> {
    if param.first() != Some(&func::SETUP_COMMUNICATION) {
        return None;
    }
    Some(Setup {
        max_amq_calling: be16(param, 2)?,
        max_amq_called: be16(param, 4)?,
        pdu_size: be16(param, 6)?,
    })
}

/// A PI service job (function 0x28): the service name and its parameter block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PiService<'a> {
    /// `P_PROGRAM`, `_INSE`, `_DELE`, `_GARB`, `_MODU`, …
    pub service: &'a [u8],
    pub parameter: &'a [u8],
}

/// Parses a PI service job parameter: function, 7 reserved bytes, the parameter block
/// (length u16, bytes), the service name (length u8, bytes).
pub fn parse_pi_service(param: &[u8]) -> Result<PiService<'_>, S7Error> {
    let block_len =
        usize::from(be16(param, 8).ok_or(truncated("PI parameter length", 10, param.len()))?);
    let parameter = param.get(10..10 + block_len).ok_or(truncated(
        "PI parameter block",
        10 + block_len,
        param.len(),
    ))?;
    let at = 10 + block_len;
    let name_len = usize::from(*param.get(at).ok_or(truncated(
        "PI service length",
        at + 1,
        param.len(),
    ))?);
    let service = param.get(at + 1..at + 1 + name_len).ok_or(truncated(
        "PI service name",
        at + 1 + name_len,
        param.len(),
    ))?;
    Ok(PiService { service, parameter })
}

/// Parses a PLC Stop job parameter (function 0x29): 5 reserved bytes, then the service name
/// (length u8, bytes), normally `P_PROGRAM`.
pub fn parse_plc_stop(param: &[u8]) -> Result<&[u8], S7Error> {
    let len = usize::from(*param.get(6).ok_or(truncated(
        "PLC stop service length",
        7,
        param.len(),
    ))?);
    param
        .get(7..7 + len)
        .ok_or(truncated("PLC stop service name", 7 + len, param.len()))
}

/// A block transfer job (0x1A..0x1F).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockTransfer<'a> {
    pub function: u8,
    /// Upload id (upload and end upload); 0 in downloads.
    pub id: u32,
    /// The file name, `_` + block type (2 chars) + number (5 digits) + file system, when present.
    pub filename: Option<&'a [u8]>,
}

impl BlockTransfer<'_> {
    /// The block the file name names, such as `OB1` or `DB5`.
    pub fn block(&self) -> Option<String> {
        block_of_filename(self.filename?)
    }
}

/// Parses a download/upload job parameter: function, status, 2 bytes, id u32, then (start
/// upload and the download functions) the file name (length u8, bytes).
pub fn parse_block_transfer(param: &[u8]) -> Result<BlockTransfer<'_>, S7Error> {
    let function = *param.first().ok_or(truncated("function", 1, 0))?;
    let id = be32(param, 4).unwrap_or(0);
    let filename = match function {
        func::REQUEST_DOWNLOAD
        | func::DOWNLOAD_BLOCK
        | func::DOWNLOAD_ENDED
        | func::START_UPLOAD => param
            .get(8)
            .and_then(|&len| param.get(9..9 + usize::from(len))),
        _ => None,
    };
    Ok(BlockTransfer {
        function,
        id,
        filename,
    })
}

/// `OB1` from `_0800001P` (or from `0800001P` as in PI parameter blocks).
pub fn block_of_filename(name: &[u8]) -> Option<String> {
    let name = name.strip_prefix(b"_").unwrap_or(name);
    let kind = name.get(..2)?;
    let digits = name.get(2..7)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number: u32 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    let kind = block_type_name(kind)?;
    Some(format!("{kind}{number}"))
}

/// The userdata parameter head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Userdata {
    /// 0x11 request, 0x12 response.
    pub method: u8,
    /// 0 push, 4 request, 8 response (high nibble of the type/group byte).
    pub kind: u8,
    pub group: u8,
    pub subfunction: u8,
    pub sequence: u8,
    /// Data unit reference, last-data-unit flag and error code (responses only).
    pub data_unit_ref: u8,
    pub last_data_unit: u8,
    pub error: u16,
}

impl Userdata {
    pub const PUSH: u8 = 0x0;
    pub const REQUEST: u8 = 0x4;
    pub const RESPONSE: u8 = 0x8;
}

/// Parses a userdata parameter (`00 01 12 len method type|group subfunction sequence …`).
pub fn parse_userdata(param: &[u8]) -> Result<Userdata, S7Error> {
    match *param {
        [0x00, 0x01, 0x12, len, method, tg, subfunction, sequence, ..] => {
            let long = len >= 8;
            Ok(Userdata {
                method,
                kind: tg >> 4,
                group: tg & 0x0f,
                subfunction,
                sequence,
                data_unit_ref: if long {
                    param.get(8).copied().unwrap_or(0)
                } else {
                    0
                },
                last_data_unit: if long {
                    param.get(9).copied().unwrap_or(0)
                } else {
                    0
                },
                error: if long {
                    be16(param, 10).unwrap_or(0)
                } else {
                    0
                },
            })
        }
        _ if param.len() < 8 => Err(truncated("userdata parameter", 8, param.len())),
        _ => Err(S7Error::Field {
            field: "userdata parameter head",
        }),
    }
}

/// The data unit of a userdata PDU: return code, transport size and the bytes.
pub fn userdata_item(data: &[u8]) -> Option<DataItem<'_>> {
    let return_code = *data.first()?;
    let transport_size = *data.get(1)?;
    let length = usize::from(be16(data, 2)?);
    let bytes = data
        .get(4..4 + length)
        .unwrap_or_else(|| data.get(4..).unwrap_or(&[]));
    Some(DataItem {
        return_code,
        transport_size,
        data: bytes,
    })
}

/// Undoes the S7 PLC-password obfuscation (an XOR with 0x55 chained over every other byte;
/// not encryption) and strips the space padding. The result is the secret: the caller must
/// keep only a keyed fingerprint of it.
pub fn decode_password(obfuscated: &[u8]) -> Vec<u8> {
    let mut plain: Vec<u8> = obfuscated
        .iter()
        .enumerate()
        .map(|(i, &b)| match i {
            0 | 1 => b ^ 0x55,
            _ => b ^ 0x55 ^ obfuscated[i - 2],
        })
        .collect();
    while plain.last() == Some(&b' ') {
        plain.pop();
    }
    plain
}

/// A PLC clock value (BCD on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub millisecond: u16,
}

impl std::fmt::Display for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millisecond
        )
    }
}

fn bcd(b: u8) -> Option<u8> {
    let (hi, lo) = (b >> 4, b & 0x0f);
    (hi < 10 && lo < 10).then_some(hi * 10 + lo)
}

/// Parses the 10-byte clock of a set-clock request or read-clock answer: reserved, a byte
/// stacks fill inconsistently (libsnap7 writes 0x19 in 2026), the year within its century,
/// month, day, hour, minute, second (BCD), then milliseconds (3 BCD digits) and the weekday (a
/// nibble). As in S7 itself, two-digit years below 90 are 20xx.
pub fn parse_clock(data: &[u8]) -> Option<Clock> {
    let b = data.get(..10)?;
    let ms_hi = bcd(b[8])?;
    let ms_lo = b[9] >> 4;
    if ms_lo > 9 {
        return None;
    }
    Some(Clock {
        year: match u16::from(bcd(b[2])?) {
            y if y < 90 => 2000 + y,
            y => 1900 + y,
        },
        month: bcd(b[3])?,
        day: bcd(b[4])?,
        hour: bcd(b[5])?,
        minute: bcd(b[6])?,
        second: bcd(b[7])?,
        millisecond: u16::from(ms_hi) * 10 + u16::from(ms_lo),
    })
}

/// The head of a Read SZL answer and its records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Szl<'a> {
    pub id: u16,
    pub index: u16,
    /// Length of one record.
    pub record_len: u16,
    pub count: u16,
    /// The records present (possibly fewer than `count` when the answer is fragmented).
    pub records: &'a [u8],
}

impl<'a> Szl<'a> {
    /// The whole records present, in order.
    pub fn records(&self) -> impl Iterator<Item = &'a [u8]> {
        let len = usize::from(self.record_len).max(1);
        let records = self.records;
        records.chunks_exact(len).take(usize::from(self.count))
    }
}

/// Parses the data unit bytes of a Read SZL answer.
pub fn parse_szl(data: &[u8]) -> Option<Szl<'_>> {
    Some(Szl {
        id: be16(data, 0)?,
        index: be16(data, 2)?,
        record_len: be16(data, 4)?,
        count: be16(data, 6)?,
        records: data.get(8..)?,
    })
}

/// An address of a programmer-command (variable table) job: modify variable, force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VartabAddress {
    /// High nibble: memory area (0 M, 1 I, 2 Q, 7 DB, 8 T, 9 C, …); low nibble: width (0 bit,
    /// 1 byte, 2 word, 3 double word).
    pub area: u8,
    /// Bit position of bit addresses, else the repetition factor.
    pub bit_or_count: u8,
    pub db: u16,
    pub start: u16,
}

/// The addresses and values of a modify-variable (or force) request's data unit: the sizes
/// of the TIS parameter and data parts (u16 each), the parameter part, then the item count
/// (u16), 6 bytes per address and a data item per address.
pub fn parse_vartab_write(data: &[u8]) -> Option<Vec<(VartabAddress, DataItem<'_>)>> {
    let param_size = usize::from(be16(data, 0)?);
    let rest = data.get(4 + param_size..)?;
    let count = usize::from(be16(rest, 0)?);
    let addresses = rest.get(2..2 + 6 * count)?;
    let values = data_items(&rest[2 + 6 * count..], count);
    let items: Vec<_> = addresses
        .chunks_exact(6)
        .map(|a| VartabAddress {
            area: a[0],
            bit_or_count: a[1],
            db: u16::from_be_bytes([a[2], a[3]]),
            start: u16::from_be_bytes([a[4], a[5]]),
        })
        .zip(values)
        .collect();
    (items.len() == count).then_some(items)
}
