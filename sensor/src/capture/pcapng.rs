//! pcapng files: sections, interfaces and packet blocks.
//!
//! A pcapng file is a run of blocks, each `type(4) length(4) body length(4)`, the length counting
//! the whole block and repeated at its end. A Section Header Block starts a section and sets its
//! byte order; the Interface Description Blocks of a section number its interfaces from 0 and
//! give each a link type, a snapshot length and a timestamp resolution and offset. Enhanced,
//! Simple and (obsolete) Packet Blocks carry the packets.
//!
//! Every block is checked before anything in it is used: length at least 12, a multiple of 4,
//! inside the file, and equal at both ends. Packet blocks must name an interface of their
//! section and hold the captured bytes they claim. Anything else that fails is damage at the
//! block. Block types other than the ones above are stepped over by their length; their content
//! is not read, so a section length field or a name resolution record can never cause damage.
//!
//! Not read: packet options (flags, hashes, drop counts, comments), interface statistics, name
//! resolution and decryption secrets; the section length field (sections are found by walking
//! the blocks, as Wireshark does).

use dissectors::link::LinkType;

use super::error::HeaderProblem;
use super::wire::{array_at, pad4, Endian};
use super::{caplen_limit, over_limit, Cursor, RawPacket};

/// The first four bytes of every pcapng file (the Section Header Block type, a palindrome).
pub(super) const SHB_BYTES: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Byte-order magic of the Section Header Block, as written by the section's host.
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// Block types read by this module.
const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 0x0000_0001;
const PB: u32 = 0x0000_0002;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;

/// Smallest block: type, length, length.
const MIN_BLOCK_LEN: usize = 12;

/// Smallest Section Header Block: the 12 bytes above plus magic, version and section length.
pub(super) const MIN_SHB_LEN: usize = 28;

/// Option codes of an Interface Description Block that the reader uses.
const OPT_END: u16 = 0;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

/// Block types that hold no packet but that Wireshark (4.0, measured) numbers as frames:
/// systemd journal export, custom (copiable and not), and the sysdig/Falco event blocks.
fn is_numbered_non_packet(kind: u32) -> bool {
    matches!(
        kind,
        0x0000_0009 | 0x0000_0bad | 0x4000_0bad | 0x0000_0204 | 0x0000_0216 | 0x0000_0221
    )
}

/// Block types the pcapng specification lists (the sysdig range taken whole).
fn is_listed(kind: u32) -> bool {
    matches!(
        kind,
        SHB | 0x0000_0001..=0x0000_000a
            | 0x0000_0101..=0x0000_0102
            | 0x0000_0201..=0x0000_022f
            | 0x0000_0bad
            | 0x4000_0bad
    )
}

/// A name for a block type, for damage messages.
fn block_name(kind: u32) -> String {
    match kind {
        SHB => "pcapng section header block".to_string(),
        IDB => "pcapng interface description block".to_string(),
        PB => "pcapng packet block".to_string(),
        SPB => "pcapng simple packet block".to_string(),
        EPB => "pcapng enhanced packet block".to_string(),
        other => format!("pcapng block of type {other:#x}"),
    }
}

/// Turns interface timestamp units into microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scale {
    /// The units are microseconds (the default resolution, 10^-6).
    Micros,
    /// Finer decimal units: divide by this power of ten.
    Div(u64),
    /// Coarser decimal units: multiply by this power of ten.
    Mul(u64),
    /// Binary units of 2^-n seconds.
    Binary(u32),
    /// Units so fine that every 64-bit timestamp is below one microsecond.
    Zero,
}

impl Scale {
    /// The scale of an `if_tsresol` value: 10^-n, or 2^-n when the top bit is set.
    fn from_tsresol(tsresol: u8) -> Scale {
        let n = u32::from(tsresol & 0x7f);
        if tsresol & 0x80 != 0 {
            return Scale::Binary(n);
        }

        match n.checked_sub(6) {
            Some(0) => Scale::Micros,
            Some(finer) => match 10u64.checked_pow(finer) {
                Some(divisor) => Scale::Div(divisor),
                None => Scale::Zero,
            },
            // n < 6, so 10^(6 - n) is at most 10^6.
            None => Scale::Mul(10u64.checked_pow(6 - n).unwrap_or(1_000_000)),
        }
    }

    /// `units` in microseconds, rounded down, saturating at `i64::MAX`.
    #[inline]
    fn micros(self, units: u64) -> i64 {
        let us = match self {
            Scale::Micros => units,
            Scale::Div(divisor) => units.checked_div(divisor).unwrap_or(0),
            Scale::Mul(factor) => units.saturating_mul(factor),
            // The product is below 2^84 and the shift below 128, so neither can overflow.
            Scale::Binary(shift) => {
                let scaled = (u128::from(units) * 1_000_000) >> shift;
                u64::try_from(scaled).unwrap_or(u64::MAX)
            }
            Scale::Zero => 0,
        };
        i64::try_from(us).unwrap_or(i64::MAX)
    }
}

/// What a section says about one of its interfaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Interface {
    link: LinkType,
    /// Snapshot length; 0 means none.
    snaplen: u32,
    /// Largest captured length accepted.
    limit: u32,
    scale: Scale,
    /// `if_tsoffset` in microseconds.
    offset_us: i64,
}

impl Interface {
    /// The timestamp of a packet, from its two 32-bit halves.
    #[inline]
    fn ts_us(&self, high: u32, low: u32) -> i64 {
        let units = (u64::from(high) << 32) | u64::from(low);
        self.scale.micros(units).saturating_add(self.offset_us)
    }
}

/// One block, checked for length and framing but not for content.
struct Block<'a> {
    kind: u32,
    /// Byte order of the block (for a Section Header Block, the one it declares).
    endian: Endian,
    /// Length of the whole block.
    len: usize,
    /// The block between the leading type and length and the trailing length.
    body: &'a [u8],
    /// Everything after the block.
    tail: &'a [u8],
}

/// Splits the block at the start of `rest` off, in the byte order of the current section.
#[inline]
fn split_block(rest: &[u8], section: Endian) -> Result<Block<'_>, String> {
    let Some(&[t0, t1, t2, t3, l0, l1, l2, l3]) = rest.first_chunk::<8>() else {
        return Err(short_tail(rest.len()));
    };

    // A Section Header Block declares its own byte order, after its length.
    let endian = if [t0, t1, t2, t3] == SHB_BYTES {
        section_endian(rest)?
    } else {
        section
    };
    let kind = endian.u32([t0, t1, t2, t3]);
    let len32 = endian.u32([l0, l1, l2, l3]);
    let len = len32 as usize;
    if len < MIN_BLOCK_LEN || len & 3 != 0 {
        return Err(bad_length(len32));
    }

    let Some((block, tail)) = rest.split_at_checked(len) else {
        return Err(truncated_block(kind, len32, rest.len()));
    };

    // len >= 12, so the trailing length and the body are inside the block.
    let end = endian.u32_at(block, len - 4).unwrap_or(0);
    if end != len32 {
        return Err(mismatched_length(kind, len32, end));
    }
    let body = block.get(8..len - 4).unwrap_or_default();

    Ok(Block {
        kind,
        endian,
        len,
        body,
        tail,
    })
}

/// Damage: fewer bytes than a block header after the last block.
#[cold]
fn short_tail(remain: usize) -> String {
    format!(
        "only {remain} bytes remain after the last block, too few for a pcapng block header \
         (truncated last block)"
    )
}

/// Damage: a block length that no block can have.
#[cold]
fn bad_length(len: u32) -> String {
    if (len as usize) < MIN_BLOCK_LEN {
        format!("pcapng block length {len} is less than the {MIN_BLOCK_LEN}-byte minimum")
    } else {
        format!("pcapng block length {len} is not a multiple of 4")
    }
}

/// Damage: a block that runs past the end of the file.
#[cold]
fn truncated_block(kind: u32, len: u32, remain: usize) -> String {
    format!(
        "{} says {len} bytes but only {remain} remain in the file (truncated last block)",
        block_name(kind)
    )
}

/// Damage: the two length fields of a block disagree.
#[cold]
fn mismatched_length(kind: u32, start: u32, end: u32) -> String {
    format!(
        "{} has length {start} at its start but {end} at its end",
        block_name(kind)
    )
}

/// The byte order declared by the Section Header Block at the start of `rest`.
#[cold]
fn section_endian(rest: &[u8]) -> Result<Endian, String> {
    let Some(magic) = array_at::<4>(rest, 8) else {
        return Err(format!(
            "only {} bytes remain, too few for a pcapng section header block \
             (truncated last block)",
            rest.len()
        ));
    };

    if u32::from_le_bytes(magic) == BYTE_ORDER_MAGIC {
        Ok(Endian::Little)
    } else if u32::from_be_bytes(magic) == BYTE_ORDER_MAGIC {
        Ok(Endian::Big)
    } else {
        Err(format!(
            "pcapng section header block has byte-order magic {:#010x}, not 0x1a2b3c4d",
            u32::from_be_bytes(magic)
        ))
    }
}

/// Problems of a Section Header Block body (after the framing checks).
enum SectionProblem {
    Short(usize),
    Version(u16, u16),
}

impl SectionProblem {
    fn describe(&self) -> String {
        match *self {
            SectionProblem::Short(len) => format!(
                "pcapng section header block of {len} bytes is shorter than its \
                 {MIN_SHB_LEN}-byte minimum"
            ),
            SectionProblem::Version(major, minor) => {
                format!("pcapng version {major}.{minor} (only version 1 is read)")
            }
        }
    }
}

/// Checks the body of a Section Header Block: magic(4) major(2) minor(2) section length(8).
fn check_section(block: &Block<'_>) -> Result<(), SectionProblem> {
    if block.len < MIN_SHB_LEN {
        return Err(SectionProblem::Short(block.len));
    }

    let major = block.endian.u16_at(block.body, 4).unwrap_or(0);
    let minor = block.endian.u16_at(block.body, 6).unwrap_or(0);
    if major != 1 {
        return Err(SectionProblem::Version(major, minor));
    }

    Ok(())
}

/// Checks the first block of a file whose first four bytes are the pcapng magic, so that a
/// file that is not pcapng after all is refused by `open` rather than reported as damage.
pub(super) fn check_first_block(bytes: &[u8]) -> Result<(), HeaderProblem> {
    if bytes.len() < MIN_SHB_LEN {
        return Err(HeaderProblem::Truncated {
            format: "pcapng",
            need: MIN_SHB_LEN as u64,
        });
    }

    // The byte order passed in is not used: the block is a Section Header Block.
    let block = split_block(bytes, Endian::Little).map_err(|what| {
        let claimed = section_endian(bytes)
            .ok()
            .and_then(|e| e.u32_at(bytes, 4))
            .map(u64::from);
        match claimed {
            Some(need) if need > bytes.len() as u64 && need & 3 == 0 => HeaderProblem::Truncated {
                format: "pcapng",
                need,
            },
            _ => HeaderProblem::Bad(format!("bad pcapng file header: {what}")),
        }
    })?;

    check_section(&block).map_err(|problem| match problem {
        SectionProblem::Version(..) => HeaderProblem::Unsupported(problem.describe()),
        SectionProblem::Short(_) => {
            HeaderProblem::Bad(format!("bad pcapng file header: {}", problem.describe()))
        }
    })
}

/// Reads an Interface Description Block body: link type(2) reserved(2) snaplen(4) options.
fn parse_interface(block: &Block<'_>) -> Result<Interface, String> {
    let e = block.endian;
    let (Some(link), Some(snaplen)) = (e.u16_at(block.body, 0), e.u32_at(block.body, 4)) else {
        return Err(format!(
            "pcapng interface description block of {} bytes is shorter than its 20-byte minimum",
            block.len
        ));
    };

    let mut scale = Scale::Micros;
    let mut offset_us = 0;
    let mut options = block.body.get(8..).unwrap_or_default();

    // code(2) length(2) value, padded to 4; a malformed option ends the list (module docs).
    while let Some(&[c0, c1, n0, n1]) = options.first_chunk::<4>() {
        let code = e.u16([c0, c1]);
        let len = usize::from(e.u16([n0, n1]));
        let Some(value) = options.get(4..4 + len) else {
            break;
        };

        match code {
            OPT_END => break,
            IF_TSRESOL => {
                if let Some(&tsresol) = value.first() {
                    scale = Scale::from_tsresol(tsresol);
                }
            }
            IF_TSOFFSET => {
                if let Some(secs) = e.i64_at(value, 0) {
                    offset_us = secs.saturating_mul(1_000_000);
                }
            }
            _ => {}
        }

        let step = pad4(4 + len).unwrap_or(usize::MAX);
        options = options.get(step..).unwrap_or_default();
    }

    Ok(Interface {
        link: LinkType::from_number(u32::from(link)),
        snaplen,
        limit: caplen_limit(snaplen),
        scale,
        offset_us,
    })
}

/// The fields of a packet block, before they become a [`RawPacket`].
struct Fields<'a> {
    link: LinkType,
    ts_us: i64,
    data: &'a [u8],
    orig_len: u32,
    timed: bool,
}

/// Block reader of one pcapng file.
#[derive(Debug)]
pub(super) struct Reader {
    /// Byte order of the current section.
    endian: Endian,
    /// Interfaces of the current section, by id.
    interfaces: Vec<Interface>,
}

impl Reader {
    pub(super) fn new() -> Reader {
        Reader {
            endian: Endian::Little,
            interfaces: Vec::new(),
        }
    }

    /// Reads blocks from the cursor until a packet record, the end, or damage.
    #[inline]
    pub(super) fn next<'a>(&mut self, cur: &mut Cursor<'a>) -> Option<RawPacket<'a>> {
        loop {
            if cur.rest.is_empty() {
                return None;
            }

            let block = match split_block(cur.rest, self.endian) {
                Ok(block) => block,
                Err(what) => return cur.fail(what),
            };

            let fields = match block.kind {
                EPB => self.enhanced(&block),
                SPB => self.simple(&block, cur.last_ts),
                PB => self.obsolete(&block),
                SHB => {
                    if let Err(problem) = check_section(&block) {
                        return cur.fail(problem.describe());
                    }
                    self.endian = block.endian;
                    self.interfaces.clear();
                    cur.rest = block.tail;
                    continue;
                }
                IDB => {
                    match parse_interface(&block) {
                        Ok(interface) => self.interfaces.push(interface),
                        Err(what) => return cur.fail(what),
                    }
                    cur.rest = block.tail;
                    continue;
                }
                other => {
                    if is_numbered_non_packet(other) {
                        cur.frame += 1;
                        cur.skipped.non_packet_frames += 1;
                    } else {
                        cur.skipped.blocks += 1;
                        if !is_listed(other) {
                            cur.skipped.unknown_blocks += 1;
                        }
                    }
                    cur.rest = block.tail;
                    continue;
                }
            };

            let fields = match fields {
                Ok(fields) => fields,
                Err(what) => return cur.fail(what),
            };
            let packet = RawPacket {
                frame: cur.frame + 1,
                ts_us: fields.ts_us,
                link: fields.link,
                data: fields.data,
                orig_len: fields.orig_len,
                offset: cur.offset(),
            };
            cur.frame = packet.frame;
            cur.last_ts = fields.ts_us;
            cur.rest = block.tail;
            cur.timed = fields.timed;
            return Some(packet);
        }
    }

    /// The interface a packet block names.
    #[inline]
    fn interface(&self, id: u32, kind: u32) -> Result<&Interface, String> {
        match self.interfaces.get(id as usize) {
            Some(interface) => Ok(interface),
            None => Err(no_interface(kind, id, self.interfaces.len())),
        }
    }

    /// An Enhanced Packet Block: interface(4) ts high(4) ts low(4) caplen(4) len(4) data.
    #[inline]
    fn enhanced<'a>(&self, block: &Block<'a>) -> Result<Fields<'a>, String> {
        let Some((fixed, rest)) = block.body.split_first_chunk::<20>() else {
            return Err(too_short(block, 32));
        };
        let [i0, i1, i2, i3, h0, h1, h2, h3, l0, l1, l2, l3, c0, c1, c2, c3, o0, o1, o2, o3] =
            *fixed;
        let e = block.endian;
        let iface = self.interface(e.u32([i0, i1, i2, i3]), block.kind)?;

        let caplen = e.u32([c0, c1, c2, c3]);
        let data = captured(block, iface, caplen, rest)?;
        Ok(Fields {
            link: iface.link,
            ts_us: iface.ts_us(e.u32([h0, h1, h2, h3]), e.u32([l0, l1, l2, l3])),
            data,
            orig_len: e.u32([o0, o1, o2, o3]),
            timed: true,
        })
    }

    /// An obsolete Packet Block: interface(2) drops(2) ts high(4) ts low(4) caplen(4) len(4).
    #[inline]
    fn obsolete<'a>(&self, block: &Block<'a>) -> Result<Fields<'a>, String> {
        let Some((fixed, rest)) = block.body.split_first_chunk::<20>() else {
            return Err(too_short(block, 32));
        };
        let [i0, i1, _, _, h0, h1, h2, h3, l0, l1, l2, l3, c0, c1, c2, c3, o0, o1, o2, o3] = *fixed;
        let e = block.endian;
        let iface = self.interface(u32::from(e.u16([i0, i1])), block.kind)?;

        let caplen = e.u32([c0, c1, c2, c3]);
        let data = captured(block, iface, caplen, rest)?;
        Ok(Fields {
            link: iface.link,
            ts_us: iface.ts_us(e.u32([h0, h1, h2, h3]), e.u32([l0, l1, l2, l3])),
            data,
            orig_len: e.u32([o0, o1, o2, o3]),
            timed: true,
        })
    }

    /// A Simple Packet Block: original length(4) data, on interface 0, without a timestamp.
    ///
    /// The captured length is the smallest of the original length, the room in the block and
    /// the interface's snapshot length; the timestamp is `last_ts` (module docs).
    #[inline]
    fn simple<'a>(&self, block: &Block<'a>, last_ts: i64) -> Result<Fields<'a>, String> {
        let Some((&orig, rest)) = block.body.split_first_chunk::<4>() else {
            return Err(too_short(block, 16));
        };
        let orig_len = block.endian.u32(orig);
        let Some(iface) = self.interfaces.first() else {
            return Err(
                "pcapng simple packet block in a section that describes no interface".to_string(),
            );
        };

        let room = u32::try_from(rest.len()).unwrap_or(u32::MAX);
        let mut caplen = orig_len.min(room);
        if iface.snaplen != 0 {
            caplen = caplen.min(iface.snaplen);
        }
        let data = captured(block, iface, caplen, rest)?;
        Ok(Fields {
            link: iface.link,
            ts_us: last_ts,
            data,
            orig_len,
            timed: false,
        })
    }
}

/// Damage: a packet block names an interface its section does not describe.
#[cold]
fn no_interface(kind: u32, id: u32, count: usize) -> String {
    format!(
        "{} names interface {id} but its section describes {count}",
        block_name(kind)
    )
}

/// The damage text for a block shorter than its fixed part.
#[cold]
fn too_short(block: &Block<'_>, min: usize) -> String {
    format!(
        "{} of {} bytes is shorter than its {min}-byte minimum",
        block_name(block.kind),
        block.len
    )
}

/// The first `caplen` bytes of `rest`, if the length is plausible and the block holds them.
#[inline]
fn captured<'a>(
    block: &Block<'a>,
    iface: &Interface,
    caplen: u32,
    rest: &'a [u8],
) -> Result<&'a [u8], String> {
    if caplen > iface.limit {
        return Err(over_limit(caplen, iface.limit));
    }

    match rest.get(..caplen as usize) {
        Some(data) => Ok(data),
        None => Err(no_room(block.kind, caplen, rest.len())),
    }
}

/// Damage: a packet block claims more captured bytes than it holds.
#[cold]
fn no_room(kind: u32, caplen: u32, room: usize) -> String {
    format!(
        "{} says {caplen} captured bytes but has room for only {room}",
        block_name(kind)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_resolutions() {
        assert_eq!(Scale::from_tsresol(6), Scale::Micros);
        assert_eq!(Scale::from_tsresol(9), Scale::Div(1000));
        assert_eq!(Scale::from_tsresol(3), Scale::Mul(1000));
        assert_eq!(Scale::from_tsresol(0), Scale::Mul(1_000_000));
        assert_eq!(Scale::from_tsresol(127), Scale::Zero);

        assert_eq!(
            Scale::from_tsresol(9).micros(1_700_000_000_123_456_789),
            1_700_000_000_123_456
        );
        assert_eq!(
            Scale::from_tsresol(3).micros(1_700_000_000_123),
            1_700_000_000_123_000
        );
        assert_eq!(Scale::from_tsresol(0).micros(u64::MAX), i64::MAX);
        assert_eq!(Scale::from_tsresol(127).micros(u64::MAX), 0);
    }

    #[test]
    fn binary_resolutions() {
        // 2^-10 s: 1024 units are one second; 1 unit is 976.5625 us, rounded down.
        let scale = Scale::from_tsresol(0x80 | 10);
        assert_eq!(scale, Scale::Binary(10));
        assert_eq!(scale.micros(1024), 1_000_000);
        assert_eq!(scale.micros(1), 976);
        assert_eq!(Scale::from_tsresol(0x80).micros(3), 3_000_000);
        assert_eq!(Scale::from_tsresol(0xff).micros(u64::MAX), 0);
    }

    #[test]
    fn offset_is_added() {
        let iface = Interface {
            link: LinkType::Ethernet,
            snaplen: 0,
            limit: caplen_limit(0),
            scale: Scale::Micros,
            offset_us: -3_000_000,
        };
        assert_eq!(iface.ts_us(0, 5_000_000), 2_000_000);
        assert_eq!(iface.ts_us(0, 1), -2_999_999);
    }

    #[test]
    fn block_type_lists() {
        assert!(is_listed(0x5));
        assert!(is_listed(SHB));
        assert!(!is_listed(0x1234_5678));
        assert!(is_numbered_non_packet(0xbad));
        assert!(!is_numbered_non_packet(0x5));
    }

    /// An Interface Description Block with the given options, little-endian.
    fn idb(options: &[u8]) -> Vec<u8> {
        let len = 20 + options.len() as u32;
        let mut b = Vec::new();
        b.extend_from_slice(&IDB.to_le_bytes()); // block type
        b.extend_from_slice(&len.to_le_bytes()); // block total length
        b.extend_from_slice(&147u16.to_le_bytes()); // link type (USER0)
        b.extend_from_slice(&0u16.to_le_bytes()); // reserved
        b.extend_from_slice(&96u32.to_le_bytes()); // snaplen
        b.extend_from_slice(options);
        b.extend_from_slice(&len.to_le_bytes()); // block total length
        b
    }

    fn interface_of(bytes: &[u8]) -> Interface {
        let block = split_block(bytes, Endian::Little).expect("framed block");
        parse_interface(&block).expect("interface")
    }

    #[test]
    fn interface_options() {
        let options = [
            9, 0, 1, 0, 9, 0, 0, 0, // if_tsresol = 9, padded
            14, 0, 8, 0, 2, 0, 0, 0, 0, 0, 0, 0, // if_tsoffset = 2 s
            0, 0, 0, 0, // opt_endofopt
        ];
        let iface = interface_of(&idb(&options));
        assert_eq!(iface.link, LinkType::Other(147));
        assert_eq!(iface.snaplen, 96);
        assert_eq!(iface.scale, Scale::Div(1000));
        assert_eq!(iface.offset_us, 2_000_000);
    }

    #[test]
    fn malformed_option_ends_the_list() {
        let options = [
            9, 0, 1, 0, 3, 0, 0, 0, // if_tsresol = 3
            2, 0, 200, 0, // if_description claiming 200 bytes
            14, 0, 8, 0, // cut short
        ];
        let iface = interface_of(&idb(&options));
        assert_eq!(iface.scale, Scale::Mul(1000));
        assert_eq!(iface.offset_us, 0);
    }
}
