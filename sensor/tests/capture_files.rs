//! Tests of the capture-file reader (`sensor::capture`) on byte images assembled here field by
//! field, on damaged and random inputs, and on the shared real captures when they are present.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use dissectors::link::LinkType;
use sensor::capture::{CaptureError, CaptureFile, Damage, Format, RawPacket, Skipped};

// ---------------------------------------------------------------------------------------------
// Byte-image builders
// ---------------------------------------------------------------------------------------------

/// Appends integers in one byte order.
#[derive(Clone, Copy)]
struct Order {
    big: bool,
}

const LE: Order = Order { big: false };
const BE: Order = Order { big: true };

impl Order {
    fn u16(self, out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    fn u32(self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    fn i64(self, out: &mut Vec<u8>, v: i64) {
        out.extend_from_slice(&if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
}

/// A classic pcap image.
struct PcapImage {
    order: Order,
    bytes: Vec<u8>,
}

impl PcapImage {
    /// The 24-byte file header.
    fn new(order: Order, nanos: bool, snaplen: u32, link: u32) -> PcapImage {
        let mut bytes = Vec::new();
        let magic = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        order.u32(&mut bytes, magic); // magic number
        order.u16(&mut bytes, 2); // version_major
        order.u16(&mut bytes, 4); // version_minor
        order.u32(&mut bytes, 0); // thiszone
        order.u32(&mut bytes, 0); // sigfigs
        order.u32(&mut bytes, snaplen); // snaplen
        order.u32(&mut bytes, link); // linktype (with FCS bits)
        PcapImage { order, bytes }
    }

    /// Appends a record; returns its offset.
    fn record(&mut self, secs: u32, frac: u32, data: &[u8], orig_len: u32) -> u64 {
        let offset = self.bytes.len() as u64;
        let o = self.order;
        o.u32(&mut self.bytes, secs); // ts_sec
        o.u32(&mut self.bytes, frac); // ts_usec or ts_nsec
        o.u32(&mut self.bytes, data.len() as u32); // incl_len
        o.u32(&mut self.bytes, orig_len); // orig_len
        self.bytes.extend_from_slice(data); // packet data
        offset
    }

    /// Appends a record header claiming `caplen` bytes, followed by `data`.
    fn record_claiming(&mut self, caplen: u32, data: &[u8]) -> u64 {
        let offset = self.bytes.len() as u64;
        let o = self.order;
        o.u32(&mut self.bytes, 1); // ts_sec
        o.u32(&mut self.bytes, 0); // ts_usec
        o.u32(&mut self.bytes, caplen); // incl_len
        o.u32(&mut self.bytes, caplen); // orig_len
        self.bytes.extend_from_slice(data);
        offset
    }
}

/// A pcapng image; blocks are written in the byte order of the current section.
struct NgImage {
    order: Order,
    bytes: Vec<u8>,
}

impl NgImage {
    /// An image that starts with a Section Header Block.
    fn new(order: Order) -> NgImage {
        let mut image = NgImage {
            order,
            bytes: Vec::new(),
        };
        image.section(order, 1);
        image
    }

    /// Appends a block of type `kind` around `body` (padded to 4); returns its offset.
    fn block(&mut self, kind: u32, body: &[u8]) -> u64 {
        let offset = self.bytes.len() as u64;
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        let o = self.order;
        o.u32(&mut self.bytes, kind); // block type
        o.u32(&mut self.bytes, total); // block total length
        self.bytes.extend_from_slice(body); // block body
        self.bytes.resize(self.bytes.len() + padded - body.len(), 0); // padding
        o.u32(&mut self.bytes, total); // block total length, again
        offset
    }

    /// Starts a section in byte order `order` with the given major version.
    fn section(&mut self, order: Order, major: u16) -> u64 {
        self.order = order;
        let mut body = Vec::new();
        order.u32(&mut body, 0x1a2b_3c4d); // byte-order magic
        order.u16(&mut body, major); // major version
        order.u16(&mut body, 0); // minor version
        order.i64(&mut body, -1); // section length: not given
        self.block(0x0a0d_0d0a, &body)
    }

    /// Appends an Interface Description Block with optional if_tsresol and if_tsoffset.
    fn interface(&mut self, link: u16, snaplen: u32, tsresol: Option<u8>, tsoffset: Option<i64>) {
        let o = self.order;
        let mut body = Vec::new();
        o.u16(&mut body, link); // link type
        o.u16(&mut body, 0); // reserved
        o.u32(&mut body, snaplen); // snaplen
        o.u16(&mut body, 2); // option if_name
        o.u16(&mut body, 5); //   length
        body.extend_from_slice(b"eth0\0\0\0\0"); //   value, padded
        if let Some(tsresol) = tsresol {
            o.u16(&mut body, 9); // option if_tsresol
            o.u16(&mut body, 1); //   length
            body.extend_from_slice(&[tsresol, 0, 0, 0]); //   value, padded
        }
        if let Some(tsoffset) = tsoffset {
            o.u16(&mut body, 14); // option if_tsoffset
            o.u16(&mut body, 8); //   length
            o.i64(&mut body, tsoffset); //   value
        }
        o.u16(&mut body, 0); // opt_endofopt
        o.u16(&mut body, 0); //   length
        self.block(1, &body);
    }

    /// Appends an Enhanced Packet Block (with an opt_comment); returns its offset.
    fn enhanced(&mut self, iface: u32, ts: u64, data: &[u8], orig_len: u32) -> u64 {
        let o = self.order;
        let mut body = Vec::new();
        o.u32(&mut body, iface); // interface id
        o.u32(&mut body, (ts >> 32) as u32); // timestamp (high)
        o.u32(&mut body, ts as u32); // timestamp (low)
        o.u32(&mut body, data.len() as u32); // captured packet length
        o.u32(&mut body, orig_len); // original packet length
        body.extend_from_slice(data); // packet data
        body.resize(body.len().div_ceil(4) * 4, 0); // padding
        o.u16(&mut body, 1); // option opt_comment
        o.u16(&mut body, 3); //   length
        body.extend_from_slice(b"hi!\0"); //   value, padded
        o.u16(&mut body, 0); // opt_endofopt
        o.u16(&mut body, 0); //   length
        self.block(6, &body)
    }

    /// Appends a Simple Packet Block; returns its offset.
    fn simple(&mut self, orig_len: u32, data: &[u8]) -> u64 {
        let mut body = Vec::new();
        self.order.u32(&mut body, orig_len); // original packet length
        body.extend_from_slice(data); // packet data
        self.block(3, &body)
    }

    /// Appends an obsolete Packet Block; returns its offset.
    fn obsolete(&mut self, iface: u16, ts: u64, data: &[u8], orig_len: u32) -> u64 {
        let o = self.order;
        let mut body = Vec::new();
        o.u16(&mut body, iface); // interface id
        o.u16(&mut body, 0); // drops count
        o.u32(&mut body, (ts >> 32) as u32); // timestamp (high)
        o.u32(&mut body, ts as u32); // timestamp (low)
        o.u32(&mut body, data.len() as u32); // captured length
        o.u32(&mut body, orig_len); // packet length
        body.extend_from_slice(data); // packet data
        self.block(2, &body)
    }

    /// Appends an Enhanced Packet Block whose fields are given raw; returns its offset.
    fn enhanced_raw(&mut self, iface: u32, caplen: u32, data: &[u8]) -> u64 {
        let o = self.order;
        let mut body = Vec::new();
        o.u32(&mut body, iface); // interface id
        o.u32(&mut body, 0); // timestamp (high)
        o.u32(&mut body, 0); // timestamp (low)
        o.u32(&mut body, caplen); // captured packet length
        o.u32(&mut body, caplen); // original packet length
        body.extend_from_slice(data); // packet data
        self.block(6, &body)
    }
}

/// Frame bytes that differ per frame, so a wrong slice shows.
fn frame_bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

fn open(image: Vec<u8>) -> CaptureFile {
    match CaptureFile::from_bytes("test.cap", image) {
        Ok(file) => file,
        Err(err) => panic!("image does not open: {err}"),
    }
}

/// All packets (owned copies), the damage and the skip counts.
fn read_all(file: &CaptureFile) -> (Vec<Owned>, Option<Damage>, Skipped) {
    let mut packets = file.packets();
    let owned = packets.by_ref().map(Owned::from).collect();
    (owned, packets.damage().cloned(), packets.skipped().clone())
}

/// A packet with its data copied, for comparisons.
#[derive(Debug, PartialEq, Eq)]
struct Owned {
    frame: u64,
    ts_us: i64,
    link: LinkType,
    data: Vec<u8>,
    orig_len: u32,
    offset: u64,
}

impl From<RawPacket<'_>> for Owned {
    fn from(p: RawPacket<'_>) -> Owned {
        Owned {
            frame: p.frame,
            ts_us: p.ts_us,
            link: p.link,
            data: p.data.to_vec(),
            orig_len: p.orig_len,
            offset: p.offset,
        }
    }
}

fn owned(frame: u64, ts_us: i64, link: LinkType, data: &[u8], orig: u32, offset: u64) -> Owned {
    Owned {
        frame,
        ts_us,
        link,
        data: data.to_vec(),
        orig_len: orig,
        offset,
    }
}

/// Reads a file that may be anything and checks what must hold whatever the input.
fn check_invariants(file: &CaptureFile) {
    let bytes = file.bytes();
    let start = bytes.as_ptr() as usize;
    let mut packets = file.packets();
    let mut last_frame = 0;
    let mut last_offset = None;

    for p in packets.by_ref() {
        assert!(p.frame > last_frame, "frame numbers increase");
        assert!(last_offset.is_none_or(|o| p.offset > o), "offsets increase");
        assert!(p.offset < file.len());
        let at = p.data.as_ptr() as usize;
        assert!(at >= start && at + p.data.len() <= start + bytes.len());
        last_frame = p.frame;
        last_offset = Some(p.offset);
    }

    if let Some(damage) = packets.damage() {
        assert!(damage.offset < file.len() && damage.frame > last_frame);
        assert!(last_offset.is_none_or(|o| damage.offset > o));
        assert!(!damage.what.is_empty());
    }
    assert_eq!(packets.next(), None, "the iterator stays ended");
}

// ---------------------------------------------------------------------------------------------
// Classic pcap
// ---------------------------------------------------------------------------------------------

#[test]
fn pcap_both_byte_orders_and_units() {
    for order in [LE, BE] {
        for nanos in [false, true] {
            let mut image = PcapImage::new(order, nanos, 65_535, 1);
            let a = frame_bytes(1, 60);
            let b = frame_bytes(2, 1514);
            let (fa, fb) = if nanos {
                (123_456_789, 999_999_999)
            } else {
                (123_456, 999_999)
            };
            let off_a = image.record(1_700_000_000, fa, &a, 60);
            let off_b = image.record(1_700_000_001, fb, &b, 1514);

            let file = open(image.bytes);
            assert_eq!(
                file.format(),
                Format::Pcap {
                    nanos,
                    big_endian: order.big
                }
            );
            let (packets, damage, _) = read_all(&file);
            assert_eq!(damage, None);
            assert_eq!(
                packets,
                vec![
                    owned(1, 1_700_000_000_123_456, LinkType::Ethernet, &a, 60, off_a),
                    owned(
                        2,
                        1_700_000_001_999_999,
                        LinkType::Ethernet,
                        &b,
                        1514,
                        off_b
                    ),
                ]
            );
            assert_eq!((off_a, off_b), (24, 24 + 16 + 60));
            assert_eq!(file.first_timestamp(), Some(1_700_000_000_123_456));
        }
    }
}

#[test]
fn pcap_odd_records_are_yielded() {
    // Link type 113 with FCS bits set (FCS length 4, "F" bit).
    let mut image = PcapImage::new(LE, false, 100, 0x4400_0000 | 113);
    let big = frame_bytes(3, 1500);
    let o1 = image.record(10, 0, &[], 0); // zero-length record
    let o2 = image.record(9, 5, &big, 60); // captured > original, above snaplen, time backwards
    let o3 = image.record(11, 0, b"abc", 3);

    let (packets, damage, _) = read_all(&open(image.bytes));
    assert_eq!(damage, None);
    assert_eq!(
        packets,
        vec![
            owned(1, 10_000_000, LinkType::LinuxSll, &[], 0, o1),
            owned(2, 9_000_005, LinkType::LinuxSll, &big, 60, o2),
            owned(3, 11_000_000, LinkType::LinuxSll, b"abc", 3, o3),
        ]
    );
}

#[test]
fn pcap_caplen_limits() {
    // Above 256 KiB with a small snaplen: damage.
    let mut image = PcapImage::new(BE, false, 65_535, 1);
    image.record(1, 0, b"x", 1);
    let bad = image.record_claiming(300_000, &vec![0; 300_000]);
    let (packets, damage, _) = read_all(&open(image.bytes));
    assert_eq!(packets.len(), 1);
    let expected = Damage {
        offset: bad,
        frame: 2,
        what: "captured length 300000 exceeds the 262144-byte limit".into(),
    };
    assert_eq!(damage, Some(expected));

    // The same record under a 1 MB snaplen is read.
    let mut image = PcapImage::new(BE, false, 1_000_000, 1);
    image.record_claiming(300_000, &vec![7; 300_000]);
    let (packets, damage, _) = read_all(&open(image.bytes));
    assert_eq!((packets.len(), damage), (1, None));
    assert_eq!(packets.first().map(|p| p.data.len()), Some(300_000));
}

#[test]
fn pcap_length_ffffffff_is_damage() {
    let mut image = PcapImage::new(LE, false, u32::MAX, 1);
    image.record(1, 0, b"ok", 2);
    let bad = image.record_claiming(0xffff_ffff, b"rest of the file");
    let (packets, damage, _) = read_all(&open(image.bytes));
    assert_eq!(packets.len(), 1);
    let expected = Damage {
        offset: bad,
        frame: 2,
        what: "captured length 4294967295 exceeds the 16777216-byte limit".into(),
    };
    assert_eq!(damage, Some(expected));
}

#[test]
fn pcap_truncated_last_record_at_every_cut() {
    let mut image = PcapImage::new(LE, true, 65_535, 1);
    image.record(1, 0, &frame_bytes(1, 40), 40);
    image.record(2, 0, &frame_bytes(2, 41), 41);
    let third = image.record(3, 0, &frame_bytes(3, 42), 42) as usize;
    let full = image.bytes;

    for cut in third..full.len() {
        let bytes = full.get(..cut).expect("cut inside").to_vec();
        let (packets, damage, _) = read_all(&open(bytes));
        let frames: Vec<u64> = packets.iter().map(|p| p.frame).collect();
        assert_eq!(frames, [1, 2], "cut at {cut}");

        if cut == third {
            assert_eq!(damage, None, "a cut between records is a clean end");
            continue;
        }
        let damage = damage.expect("damage at the cut record");
        assert_eq!(
            (damage.offset, damage.frame),
            (third as u64, 3),
            "cut at {cut}"
        );
        assert!(
            damage.what.ends_with("(truncated last record)"),
            "{}",
            damage.what
        );
        if cut >= third + 16 {
            let remain = cut - third - 16;
            let what = format!(
                "record header says 42 captured bytes but only {remain} remain in the file \
                 (truncated last record)"
            );
            assert_eq!(damage.what, what);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// pcapng
// ---------------------------------------------------------------------------------------------

#[test]
fn pcapng_two_interfaces_and_resolutions() {
    let mut image = NgImage::new(LE);
    image.interface(1, 262_144, None, None); // 0: Ethernet, µs
    image.interface(101, 0, Some(9), None); // 1: raw IP, ns
    image.interface(147, 0, Some(0x80 | 20), Some(-10)); // 2: USER0, 2^-20 s, -10 s

    let a = frame_bytes(1, 61); // needs padding
    let b = frame_bytes(2, 20);
    let c = frame_bytes(3, 5);
    let oa = image.enhanced(0, 1_700_000_000_123_456, &a, 61);
    let ob = image.enhanced(1, 1_700_000_000_123_456_789, &b, 1000);
    let oc = image.enhanced(2, (1_700_000_010u64 << 20) | (1 << 19), &c, 5);
    let od = image.enhanced(0, 1_600_000_000_000_000, &[], 0); // backwards, empty

    let file = open(image.bytes);
    assert_eq!(file.format(), Format::Pcapng);
    let (packets, damage, skipped) = read_all(&file);
    assert_eq!(damage, None);
    assert_eq!(skipped, Skipped::default());
    assert_eq!(
        packets,
        vec![
            owned(1, 1_700_000_000_123_456, LinkType::Ethernet, &a, 61, oa),
            owned(2, 1_700_000_000_123_456, LinkType::Raw, &b, 1000, ob),
            owned(3, 1_700_000_000_500_000, LinkType::Other(147), &c, 5, oc),
            owned(4, 1_600_000_000_000_000, LinkType::Ethernet, &[], 0, od),
        ]
    );
}

#[test]
fn pcapng_simple_and_obsolete_packet_blocks() {
    let mut image = NgImage::new(BE);
    image.interface(1, 64, None, None); // 0: Ethernet, snaplen 64

    let long = frame_bytes(9, 64);
    let s1 = image.simple(5, b"hello"); // before any timestamp; 3 bytes of padding
    let e2 = image.enhanced(0, 7_000_000, b"abc", 3);
    let s3 = image.simple(100, &long); // cut to the snaplen, original length kept
    let p4 = image.obsolete(0, 8_000_001, b"old", 3);

    let file = open(image.bytes);
    let (packets, damage, _) = read_all(&file);
    assert_eq!(damage, None);
    assert_eq!(
        packets,
        vec![
            owned(1, 0, LinkType::Ethernet, b"hello", 5, s1),
            owned(2, 7_000_000, LinkType::Ethernet, b"abc", 3, e2),
            owned(3, 7_000_000, LinkType::Ethernet, &long, 100, s3),
            owned(4, 8_000_001, LinkType::Ethernet, b"old", 3, p4),
        ]
    );
    assert_eq!(
        file.first_timestamp(),
        Some(7_000_000),
        "Simple Packet Blocks have no time"
    );
}

#[test]
fn pcapng_second_section_in_the_other_byte_order() {
    let mut image = NgImage::new(LE);
    image.interface(1, 0, None, None); // section 1, interface 0: Ethernet
    image.interface(0, 0, Some(3), None); // section 1, interface 1: Null, ms
    let a = image.enhanced(1, 1_700_000_000_001, b"one", 3);

    image.section(BE, 1); // interfaces start again from 0
    image.interface(0, 0, None, Some(100)); // section 2, interface 0: Null, +100 s
    let b = image.enhanced(0, 5, b"two", 3);
    let c = image.simple(4, b"four");

    let (packets, damage, _) = read_all(&open(image.bytes));
    assert_eq!(damage, None);
    assert_eq!(
        packets,
        vec![
            owned(1, 1_700_000_000_001_000, LinkType::Null, b"one", 3, a),
            owned(2, 100_000_005, LinkType::Null, b"two", 3, b),
            owned(3, 100_000_005, LinkType::Null, b"four", 4, c),
        ]
    );
}

#[test]
fn pcapng_other_blocks_are_skipped() {
    let mut image = NgImage::new(LE);
    image.interface(1, 0, None, None);
    let mut pen = Vec::new();
    LE.u32(&mut pen, 32_473); // custom block: private enterprise number
    pen.extend_from_slice(b"data");

    let a = image.enhanced(0, 1, b"a", 1);
    image.block(4, &[0; 4]); // Name Resolution Block (nrb_record_end only)
    image.block(5, &[0; 12]); // Interface Statistics Block (id, timestamp)
    image.block(0x1234_5678, b"unknown!"); // a type nobody defined
    image.block(0x8000_0001, b"local"); // local use (Darwin process info)
    image.block(0xbad, &pen); // custom block: Wireshark numbers it as frame 2
    image.block(9, b"MESSAGE=x\n"); // systemd journal export: frame 3
    let b = image.enhanced(0, 2, b"b", 1);

    let (packets, damage, skipped) = read_all(&open(image.bytes));
    assert_eq!(damage, None);
    assert_eq!(
        packets,
        vec![
            owned(1, 1, LinkType::Ethernet, b"a", 1, a),
            owned(4, 2, LinkType::Ethernet, b"b", 1, b),
        ]
    );
    // The local-use type is not in the specification either.
    let expected = Skipped {
        blocks: 4,
        unknown_blocks: 2,
        non_packet_frames: 2,
    };
    assert_eq!(skipped, expected);
}

/// A pcapng image with one interface and three packets, and the offset of the third.
fn three_packet_pcapng() -> (Vec<u8>, u64) {
    let mut image = NgImage::new(LE);
    image.interface(1, 0, None, None);
    image.enhanced(0, 1, &frame_bytes(1, 30), 30);
    image.enhanced(0, 2, &frame_bytes(2, 31), 31);
    let third = image.enhanced(0, 3, &frame_bytes(3, 32), 32);
    (image.bytes, third)
}

#[test]
fn pcapng_truncated_last_block_at_every_cut() {
    let (full, third) = three_packet_pcapng();
    let third = third as usize;

    for cut in third..full.len() {
        let bytes = full.get(..cut).expect("cut inside").to_vec();
        let (packets, damage, _) = read_all(&open(bytes));
        let frames: Vec<u64> = packets.iter().map(|p| p.frame).collect();
        assert_eq!(frames, [1, 2], "cut at {cut}");

        if cut == third {
            assert_eq!(damage, None);
            continue;
        }
        let damage = damage.expect("damage at the cut block");
        assert_eq!(
            (damage.offset, damage.frame),
            (third as u64, 3),
            "cut at {cut}"
        );
        assert!(
            damage.what.ends_with("(truncated last block)"),
            "{}",
            damage.what
        );
    }
}

/// Overwrites the u32 at `at` (little-endian).
fn poke(bytes: &mut [u8], at: u64, value: u32) {
    let at = at as usize;
    bytes
        .get_mut(at..at + 4)
        .expect("inside the image")
        .copy_from_slice(&value.to_le_bytes());
}

/// Damage of a three-packet pcapng image whose third block is changed by `change`.
fn damage_of_third(change: impl Fn(&mut Vec<u8>, u64)) -> (usize, Damage) {
    let (mut bytes, third) = three_packet_pcapng();
    change(&mut bytes, third);
    let (packets, damage, _) = read_all(&open(bytes));
    let damage = damage.expect("damage");
    assert_eq!((damage.offset, damage.frame), (third, 3));
    (packets.len(), damage)
}

#[test]
fn pcapng_bad_block_lengths() {
    let (n, damage) = damage_of_third(|b, at| poke(b, at + 4, 0));
    assert_eq!(n, 2);
    assert_eq!(
        damage.what,
        "pcapng block length 0 is less than the 12-byte minimum"
    );

    let (_, damage) = damage_of_third(|b, at| poke(b, at + 4, 13));
    assert_eq!(damage.what, "pcapng block length 13 is not a multiple of 4");

    let (_, damage) = damage_of_third(|b, at| poke(b, at + 4, 0xffff_fff0));
    assert_eq!(
        damage.what,
        "pcapng enhanced packet block says 4294967280 bytes but only 76 remain in the file \
         (truncated last block)"
    );

    // Start and end disagree: the start says 4 bytes less (the end of options is read).
    let (_, damage) = damage_of_third(|b, at| poke(b, at + 4, 72));
    assert_eq!(
        damage.what,
        "pcapng enhanced packet block has length 72 at its start but 0 at its end"
    );
    let (_, damage) = damage_of_third(|b, _| {
        let end = b.len() as u64 - 4;
        poke(b, end, 80);
    });
    assert_eq!(
        damage.what,
        "pcapng enhanced packet block has length 76 at its start but 80 at its end"
    );
}

#[test]
fn pcapng_bad_packet_blocks() {
    // Interface 7 in a section with one interface.
    let (_, damage) = damage_of_third(|b, at| poke(b, at + 8, 7));
    assert_eq!(
        damage.what,
        "pcapng enhanced packet block names interface 7 but its section describes 1"
    );

    // More captured bytes than the block holds.
    let (_, damage) = damage_of_third(|b, at| poke(b, at + 20, 100));
    assert_eq!(
        damage.what,
        "pcapng enhanced packet block says 100 captured bytes but has room for only 44"
    );

    // More captured bytes than any frame could have.
    let mut image = NgImage::new(LE);
    image.interface(1, 0, None, None);
    let bad = image.enhanced_raw(0, 5_000_000, b"tiny");
    let (_, damage, _) = read_all(&open(image.bytes));
    let expected = Damage {
        offset: bad,
        frame: 1,
        what: "captured length 5000000 exceeds the 262144-byte limit".into(),
    };
    assert_eq!(damage, Some(expected));

    // A Simple Packet Block with no interface.
    let mut image = NgImage::new(BE);
    let bad = image.simple(3, b"abc");
    let (_, damage, _) = read_all(&open(image.bytes));
    assert_eq!(damage.map(|d| (d.offset, d.frame)), Some((bad, 1)));
}

#[test]
fn pcapng_later_section_of_unknown_version() {
    let mut image = NgImage::new(LE);
    image.interface(1, 0, None, None);
    image.enhanced(0, 1, b"a", 1);
    let bad = image.section(BE, 2);
    image.interface(1, 0, None, None);
    image.enhanced(0, 1, b"b", 1);

    let (packets, damage, _) = read_all(&open(image.bytes));
    assert_eq!(packets.len(), 1);
    let expected = Damage {
        offset: bad,
        frame: 2,
        what: "pcapng version 2.0 (only version 1 is read)".into(),
    };
    assert_eq!(damage, Some(expected));
}

#[test]
fn pcapng_garbage_after_good_blocks() {
    let (mut bytes, _) = three_packet_pcapng();
    let garbage_at = bytes.len() as u64;
    bytes.extend_from_slice(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n");

    let (packets, damage, _) = read_all(&open(bytes));
    assert_eq!(packets.len(), 3);
    let damage = damage.expect("damage at the garbage");
    assert_eq!((damage.offset, damage.frame), (garbage_at, 4));
}

// ---------------------------------------------------------------------------------------------
// Files that do not open
// ---------------------------------------------------------------------------------------------

/// A scratch folder for this test process.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otw-capture-{}-{test}", std::process::id()));
    fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

fn open_error(path: &Path) -> CaptureError {
    match CaptureFile::open(path) {
        Ok(file) => panic!("{} opened as {}", path.display(), file.format()),
        Err(err) => err,
    }
}

#[test]
fn open_refuses_what_is_not_a_capture() {
    let dir = scratch("refuse");

    let text = dir.join("x.txt");
    fs::write(&text, "HTTP/1.1 200 OK\r\n\r\n").expect("write");
    let err = open_error(&text);
    assert!(matches!(
        err,
        CaptureError::NotACapture {
            magic: Some(0x4854_5450),
            ..
        }
    ));
    let expected = format!(
        "{}: not a pcap or pcapng file (starts with 0x48545450)",
        text.display()
    );
    assert_eq!(err.to_string(), expected);

    let empty = dir.join("empty.pcap");
    fs::write(&empty, b"").expect("write");
    let expected = format!(
        "{}: not a pcap or pcapng file (the file is empty)",
        empty.display()
    );
    assert_eq!(open_error(&empty).to_string(), expected);

    let short = dir.join("short.pcap");
    fs::write(&short, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]).expect("write");
    let expected = format!(
        "{}: truncated pcap file header (8 of 24 bytes)",
        short.display()
    );
    assert_eq!(open_error(&short).to_string(), expected);

    let missing = dir.join("missing.pcapng");
    let err = open_error(&missing);
    assert!(matches!(err, CaptureError::Io { .. }));
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("{}: ", missing.display())),
        "{message}"
    );
    assert!(message.contains("os error"), "{message}");

    fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn from_bytes_refuses_bad_headers() {
    let err = CaptureFile::from_bytes("b.pcapng", b"\x0a\x0d\x0d\x0a\x1c\0\0\0garbage!".repeat(3))
        .expect_err("bad byte-order magic");
    assert_eq!(
        err.to_string(),
        "b.pcapng: bad pcapng file header: pcapng section header block has byte-order magic \
         0x67617262, not 0x1a2b3c4d"
    );

    let mut image = NgImage::new(LE);
    image.bytes.truncate(20);
    let err = CaptureFile::from_bytes("s.pcapng", image.bytes).expect_err("short");
    assert_eq!(
        err.to_string(),
        "s.pcapng: truncated pcapng file header (20 of 28 bytes)"
    );

    let mut image = NgImage::new(LE);
    image.bytes.clear();
    image.section(BE, 2);
    let err = CaptureFile::from_bytes("v.pcapng", image.bytes).expect_err("version 2");
    assert!(matches!(err, CaptureError::Unsupported { .. }));

    let err = CaptureFile::from_bytes("z.pcap.gz", vec![0x1f, 0x8b, 8, 0, 0, 0]).expect_err("gz");
    assert_eq!(
        err.to_string(),
        "z.pcap.gz: unsupported capture format: gzip-compressed; decompress it first"
    );
}

#[test]
fn large_file_is_mapped_and_read() {
    let dir = scratch("large");
    let mut image = PcapImage::new(LE, false, 65_535, 1);
    let frame = frame_bytes(0, 1000);
    for i in 0..1500u32 {
        image.record(i, 0, &frame, 1000);
    }
    let bytes = image.bytes.clone();
    let path = dir.join("large.pcap");
    fs::write(&path, &image.bytes).expect("write");

    let file = CaptureFile::open(&path).expect("opens");
    assert!(format!("{file:?}").contains("mapped: true"), "{file:?}");
    assert_eq!(file.bytes(), bytes.as_slice());
    assert_eq!(file.len(), bytes.len() as u64);
    assert_eq!(file.name(), path.display().to_string());
    let mut packets = file.packets();
    assert_eq!(packets.by_ref().count(), 1500);
    assert_eq!(packets.damage(), None);
    assert_eq!(packets.position(), file.len());

    drop(file);
    fs::remove_dir_all(&dir).expect("clean up");
}

// ---------------------------------------------------------------------------------------------
// Random and mutated input
// ---------------------------------------------------------------------------------------------

/// A 64-bit linear congruential generator (Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Lcg(0x0717_2026);
    let pcap_le = PcapImage::new(LE, false, 65_535, 1).bytes;
    let pcap_be = PcapImage::new(BE, true, 0, 1).bytes;
    let ng_le = NgImage::new(LE).bytes;
    let ng_be = NgImage::new(BE).bytes;
    let prefixes: [&[u8]; 5] = [&[], &pcap_le, &pcap_be, &ng_le, &ng_be];

    for round in 0..4000 {
        let prefix = prefixes
            .get(round % prefixes.len())
            .copied()
            .unwrap_or_default();
        let len = rng.below(300);
        let mut bytes = prefix.to_vec();
        bytes.extend(rng.bytes(len));
        if let Ok(file) = CaptureFile::from_bytes("random", bytes) {
            check_invariants(&file);
        }
    }
}

#[test]
fn mutated_captures_never_panic() {
    let mut rng = Lcg(42);
    let mut ng = NgImage::new(LE);
    ng.interface(1, 0, None, None);
    ng.interface(113, 128, Some(9), Some(3));
    ng.enhanced(0, 1, &frame_bytes(1, 60), 60);
    ng.simple(60, &frame_bytes(2, 60));
    ng.enhanced(1, 2, &frame_bytes(3, 17), 17);
    ng.block(5, &[0; 12]);
    ng.section(BE, 1);
    ng.interface(101, 0, Some(0x83), None);
    ng.obsolete(0, 3, &frame_bytes(4, 9), 9);
    ng.enhanced(0, 4, &frame_bytes(5, 10), 10);

    let mut pcap = PcapImage::new(BE, true, 96, 1);
    for i in 0..6 {
        pcap.record(i, i * 1000, &frame_bytes(i as u8, 10 + i as usize), 100);
    }

    for base in [ng.bytes, pcap.bytes] {
        for _ in 0..3000 {
            let mut bytes = base.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                if let Some(byte) = bytes.get_mut(at) {
                    *byte = match rng.below(4) {
                        0 => 0,
                        1 => 0xff,
                        _ => rng.next() as u8,
                    };
                }
            }
            if rng.below(3) == 0 {
                bytes.truncate(rng.below(bytes.len() + 1));
            }
            if let Ok(file) = CaptureFile::from_bytes("mutated", bytes) {
                check_invariants(&file);
                let _ = file.first_timestamp();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The shared real captures
// ---------------------------------------------------------------------------------------------

/// What ground truth says about one capture.
struct Truth {
    packets: u64,
    file_type: String,
    encapsulation: String,
}

/// Every `*.pcap` / `*.pcapng` under `dir`, recursively.
fn captures_under(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .expect("readable folder")
        .map(|entry| entry.expect("folder entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            captures_under(&path, found);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng")
        ) {
            found.push(path);
        }
    }
}

fn ground_truth(pcaps: &Path) -> BTreeMap<String, Truth> {
    let text = fs::read_to_string(pcaps.join("ground_truth.json")).expect("ground_truth.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let files = json["files"].as_array().expect("`files` is a list");

    let mut truth = BTreeMap::new();
    for entry in files {
        let file = entry["file"].as_str().expect("file path");
        let t = Truth {
            packets: entry["packets"].as_u64().expect("packet count"),
            file_type: entry["file_type"].as_str().unwrap_or_default().to_string(),
            encapsulation: entry["encapsulation"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        };
        truth.insert(file.to_string(), t);
    }
    truth
}

/// The link type capinfos names `encapsulation`, for the ones this sensor decodes.
fn link_of(encapsulation: &str) -> Option<LinkType> {
    match encapsulation {
        "ether" => Some(LinkType::Ethernet),
        "null" => Some(LinkType::Null),
        "linux-sll" => Some(LinkType::LinuxSll),
        "linux-sll2" => Some(LinkType::LinuxSll2),
        "rawip" | "rawip4" => Some(LinkType::Raw),
        _ => None,
    }
}

#[test]
fn shared_captures_match_ground_truth() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let pcaps = root.join("shared/pcaps");
    if !pcaps.is_dir() {
        println!("skipped: ../shared/pcaps not present (fresh clone)");
        return;
    }

    let truth = ground_truth(&pcaps);
    let mut found = Vec::new();
    captures_under(&pcaps, &mut found);
    assert!(!found.is_empty(), "no captures under {}", pcaps.display());

    let mut checked = HashSet::new();
    for path in &found {
        let rel = path.strip_prefix(&root).expect("under the root");
        let key = rel.to_string_lossy().replace('\\', "/");
        let file = CaptureFile::open(path).unwrap_or_else(|err| panic!("{err}"));

        let mut packets = file.packets();
        let mut count = 0u64;
        let mut links = HashSet::new();
        for p in packets.by_ref() {
            count += 1;
            links.insert(p.link);
            assert_eq!(p.frame, count, "{key}: frames are numbered in order");
        }
        assert_eq!(packets.damage(), None, "{key}: no damage");
        assert_eq!(packets.position(), file.len(), "{key}: read to the end");

        let Some(t) = truth.get(&key) else {
            println!("{key}: not in ground_truth.json, read {count} frames without damage");
            continue;
        };
        assert_eq!(count, t.packets, "{key}: frame count");
        assert_eq!(file.format().name(), t.file_type, "{key}: file type");
        if let Some(link) = link_of(&t.encapsulation) {
            assert_eq!(links, HashSet::from([link]), "{key}: link type");
        }
        if count > 0 {
            assert!(file.first_timestamp().is_some(), "{key}: first timestamp");
        }
        checked.insert(key);
    }

    let missing: Vec<&String> = truth.keys().filter(|k| !checked.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "in ground truth but not found: {missing:?}"
    );
}
