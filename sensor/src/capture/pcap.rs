//! Classic libpcap files: the 24-byte file header and the 16-byte record headers.
//!
//! The file header fixes the byte order, the timestamp unit (micro- or nanoseconds, by magic
//! number), the snapshot length and the link type for the whole file. Each record is a header
//! (seconds, fraction, captured length, original length) followed by the captured bytes, with no
//! padding and no trailer, so a bad length cannot be detected by itself: a record is damage only
//! when its captured length is implausible or runs past the end of the file.
//!
//! Not read: the "modified" pcap variants (magic `0xa1b2cd34` and its relatives, whose record
//! headers are longer) and pcap files older than version 2.

use dissectors::link::LinkType;

use super::error::HeaderProblem;
use super::wire::{array_at, Endian};
use super::{caplen_limit, over_limit, Cursor, RawPacket};

/// Magic number of microsecond files.
pub(super) const MAGIC_MICROS: u32 = 0xa1b2_c3d4;

/// Magic number of nanosecond files.
pub(super) const MAGIC_NANOS: u32 = 0xa1b2_3c4d;

/// Magic number of Alexey Kuznetsov's "modified" pcap (not read).
pub(super) const MAGIC_MODIFIED: u32 = 0xa1b2_cd34;

/// Length of the file header.
pub(super) const FILE_HEADER_LEN: usize = 24;

/// Length of a record header.
const RECORD_HEADER_LEN: usize = 16;

/// The link type is the low 16 bits of its field; the upper bits carry the FCS length and flags.
const LINK_TYPE_MASK: u32 = 0xffff;

/// The file header fields the reader needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) endian: Endian,
    pub(super) nanos: bool,
    pub(super) snaplen: u32,
    pub(super) link: LinkType,
}

/// Reads the file header, once the magic number has said this is pcap.
pub(super) fn parse_header(
    bytes: &[u8],
    endian: Endian,
    nanos: bool,
) -> Result<Header, HeaderProblem> {
    // magic(4) version_major(2) version_minor(2) thiszone(4) sigfigs(4) snaplen(4) linktype(4)
    let Some(header) = array_at::<FILE_HEADER_LEN>(bytes, 0) else {
        return Err(HeaderProblem::Truncated {
            format: "pcap",
            need: FILE_HEADER_LEN as u64,
        });
    };

    let [_, _, _, _, j0, j1, n0, n1, _, _, _, _, _, _, _, _, s0, s1, s2, s3, l0, l1, l2, l3] =
        header;
    let major = endian.u16([j0, j1]);
    let minor = endian.u16([n0, n1]);
    if major != 2 {
        return Err(HeaderProblem::Unsupported(format!(
            "pcap version {major}.{minor} (only version 2 is read)"
        )));
    }

    Ok(Header {
        endian,
        nanos,
        snaplen: endian.u32([s0, s1, s2, s3]),
        link: LinkType::from_number(endian.u32([l0, l1, l2, l3]) & LINK_TYPE_MASK),
    })
}

/// Record reader of one pcap file.
#[derive(Debug)]
pub(super) struct Reader {
    endian: Endian,
    nanos: bool,
    limit: u32,
    link: LinkType,
}

impl Reader {
    pub(super) fn new(header: &Header) -> Reader {
        Reader {
            endian: header.endian,
            nanos: header.nanos,
            limit: caplen_limit(header.snaplen),
            link: header.link,
        }
    }

    /// Reads the record at the cursor (which starts after the file header).
    #[inline]
    pub(super) fn next<'a>(&self, cur: &mut Cursor<'a>) -> Option<RawPacket<'a>> {
        let rest = cur.rest;
        if rest.is_empty() {
            return None;
        }

        let Some((header, body)) = rest.split_first_chunk::<RECORD_HEADER_LEN>() else {
            return cur.fail(short_tail(rest.len()));
        };

        // ts_sec(4) ts_frac(4) incl_len(4) orig_len(4)
        let [s0, s1, s2, s3, f0, f1, f2, f3, c0, c1, c2, c3, o0, o1, o2, o3] = *header;
        let e = self.endian;
        let caplen = e.u32([c0, c1, c2, c3]);
        if caplen > self.limit {
            return cur.fail(over_limit(caplen, self.limit));
        }

        let Some((data, tail)) = body.split_at_checked(caplen as usize) else {
            return cur.fail(truncated_record(caplen, body.len()));
        };

        let secs = i64::from(e.u32([s0, s1, s2, s3]));
        let frac = i64::from(e.u32([f0, f1, f2, f3]));
        let micros = if self.nanos { frac / 1000 } else { frac };
        // At most (2^32 - 1) * 10^6 + 2^32, far inside i64.
        let ts_us = secs * 1_000_000 + micros;

        let packet = RawPacket {
            frame: cur.frame + 1,
            ts_us,
            link: self.link,
            data,
            orig_len: e.u32([o0, o1, o2, o3]),
            offset: cur.offset(),
        };
        cur.frame = packet.frame;
        cur.last_ts = ts_us;
        cur.rest = tail;
        Some(packet)
    }
}

/// Damage: fewer bytes than a record header after the last record.
#[cold]
fn short_tail(remain: usize) -> String {
    format!(
        "only {remain} bytes remain after the last record, too few for a {RECORD_HEADER_LEN}-byte \
         record header (truncated last record)"
    )
}

/// Damage: a record that runs past the end of the file.
#[cold]
fn truncated_record(caplen: u32, remain: usize) -> String {
    format!(
        "record header says {caplen} captured bytes but only {remain} remain in the file \
         (truncated last record)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_bytes(major: u16, link: u32) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&MAGIC_MICROS.to_be_bytes()); // magic
        h.extend_from_slice(&major.to_be_bytes()); // version_major
        h.extend_from_slice(&4u16.to_be_bytes()); // version_minor
        h.extend_from_slice(&0i32.to_be_bytes()); // thiszone
        h.extend_from_slice(&0u32.to_be_bytes()); // sigfigs
        h.extend_from_slice(&65_535u32.to_be_bytes()); // snaplen
        h.extend_from_slice(&link.to_be_bytes()); // linktype
        h
    }

    #[test]
    fn fcs_bits_are_masked() {
        // FCS length 4 present (bits 26 and 28..31) on Ethernet.
        let bytes = header_bytes(2, 0x4400_0001);
        let header = parse_header(&bytes, Endian::Big, false).expect("valid header");
        assert_eq!(header.link, LinkType::Ethernet);
        assert_eq!(header.snaplen, 65_535);
    }

    #[test]
    fn old_versions_are_unsupported() {
        let bytes = header_bytes(1, 1);
        match parse_header(&bytes, Endian::Big, false) {
            Err(HeaderProblem::Unsupported(what)) => {
                assert_eq!(what, "pcap version 1.4 (only version 2 is read)")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn short_header_is_truncated() {
        let bytes = header_bytes(2, 1);
        let short = bytes.get(..10).expect("10 bytes");
        assert!(matches!(
            parse_header(short, Endian::Big, false),
            Err(HeaderProblem::Truncated { need: 24, .. })
        ));
    }
}
