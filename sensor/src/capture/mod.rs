//! Reading capture files: classic pcap and pcapng, memory-mapped, without copying packets.
//!
//! [`CaptureFile::open`] maps a file (or reads it, when it is small or cannot be mapped),
//! recognises the format by its first four bytes and checks the file header. Any problem found
//! there is a [`CaptureError`] naming the path. [`CaptureFile::packets`] then walks the records
//! and yields one [`RawPacket`] per packet record, whose `data` borrows from the file.
//!
//! What is read:
//! - classic pcap in both byte orders, with microsecond (`0xa1b2c3d4`) or nanosecond
//!   (`0xa1b23c4d`) timestamps; the FCS bits above the 16-bit link type are ignored;
//! - pcapng with any number of sections (each with its own byte order) and interfaces (each with
//!   its own link type, snapshot length, `if_tsresol` and `if_tsoffset`); Enhanced, Simple and
//!   obsolete Packet blocks are yielded, every other block is stepped over by its length.
//!
//! What is not done here: link-layer decoding (see `dissectors::link`), hashing of the file
//! (the caller hashes [`CaptureFile::bytes`]), compressed captures, the "modified" pcap variants
//! and live capture.
//!
//! # Frame numbers
//!
//! `frame` is the 1-based number Wireshark gives the record, so evidence rows lead back to the
//! raw frame. Wireshark numbers every packet record of every interface, and also a few pcapng
//! blocks that are not packets: custom blocks, systemd journal entries and sysdig/Falco event
//! blocks (measured with TShark 4.0). Those take a frame number here too, are not yielded, and
//! are counted in [`Skipped::non_packet_frames`].
//!
//! # Damage
//!
//! A damaged file is read up to its damage: every good record before it is yielded, then the
//! iterator ends and [`Packets::damage`] says where and what. There is no resynchronisation, since
//! anything found after a bad length is a guess, and evidence must not rest on guesses.
//!
//! Decisions on records that are odd but not damaged:
//! - a captured length above the original length is taken as it is;
//! - a captured length above the snapshot length is read when it is at most
//!   [`STANDARD_MAX_CAPLEN`] (what Wireshark accepts for Ethernet) or at most the snapshot length,
//!   and never above [`HARD_MAX_CAPLEN`]; a longer one is damage, since no link type this sensor
//!   decodes has such frames and a length field that large is far more likely garbage;
//! - zero-length records are yielded with empty `data`;
//! - timestamps that go backwards are yielded as they are (the caller counts them);
//! - a Simple Packet Block carries no timestamp: it gets the timestamp of the packet record
//!   before it (0 if there is none) so time-driven state does not jump back to 1970;
//! - a malformed option in an Interface Description Block ends the reading of that block's
//!   options (the options already read stay) rather than the reading of the file.
//!
//! # Speed
//!
//! This is the hot loop of offline analysis. Each record costs one bounds check on its header,
//! one on its data, and no allocation or system call: the mapping is read in place and the
//! kernel's read-ahead brings the pages in.

#![deny(unsafe_code)]

mod error;
mod file;
mod pcap;
mod pcapng;
mod wire;

use std::fmt;
use std::iter::FusedIterator;

use dissectors::link::LinkType;

pub use error::CaptureError;
pub use file::CaptureFile;

/// Captured lengths up to this are always read, whatever the snapshot length says (Wireshark's
/// maximum for most link types, and tcpdump's default snapshot length).
pub const STANDARD_MAX_CAPLEN: u32 = 262_144;

/// Captured lengths above this are damage, whatever the snapshot length says.
pub const HARD_MAX_CAPLEN: u32 = 16 * 1024 * 1024;

/// The largest captured length accepted on an interface with snapshot length `snaplen`.
#[inline]
fn caplen_limit(snaplen: u32) -> u32 {
    snaplen.clamp(STANDARD_MAX_CAPLEN, HARD_MAX_CAPLEN)
}

/// The damage text for a captured length above [`caplen_limit`].
#[cold]
fn over_limit(caplen: u32, limit: u32) -> String {
    format!("captured length {caplen} exceeds the {limit}-byte limit")
}

/// The container format of a capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Classic libpcap.
    Pcap {
        /// Nanosecond timestamps (magic `0xa1b23c4d`) rather than microsecond ones.
        nanos: bool,
        /// Fields are big-endian (the file was written on a big-endian host).
        big_endian: bool,
    },
    /// pcapng; the byte order is per section.
    Pcapng,
}

impl Format {
    /// `"pcap"` or `"pcapng"`, as capinfos names the file type.
    pub fn name(self) -> &'static str {
        match self {
            Format::Pcap { .. } => "pcap",
            Format::Pcapng => "pcapng",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Format::Pcap { nanos, big_endian } => {
                let unit = if nanos { "nanosecond" } else { "microsecond" };
                let order = if big_endian {
                    "big-endian"
                } else {
                    "little-endian"
                };
                write!(f, "pcap ({unit}, {order})")
            }
            Format::Pcapng => f.write_str("pcapng"),
        }
    }
}

/// One packet record, borrowed from the capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawPacket<'a> {
    /// 1-based frame number as Wireshark counts it (see the module documentation).
    pub frame: u64,
    /// Microseconds since the Unix epoch, UTC; finer timestamps are rounded down.
    pub ts_us: i64,
    /// Link type of the record (pcapng: of its interface).
    pub link: LinkType,
    /// The captured bytes.
    pub data: &'a [u8],
    /// Length of the packet on the wire, as the record states it.
    pub orig_len: u32,
    /// Byte offset of the record (pcap record header, pcapng block) in the file.
    pub offset: u64,
}

/// Where and why reading stopped before the end of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset of the damaged record or block.
    pub offset: u64,
    /// The frame number the damaged record would have had.
    pub frame: u64,
    /// What is wrong, in plain words.
    pub what: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frame {} at byte {}: {}",
            self.frame, self.offset, self.what
        )
    }
}

/// Blocks stepped over instead of yielded, counted as the iterator goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    /// pcapng blocks without packets and without a frame number: name resolution, interface
    /// statistics, decryption secrets, and blocks of types this reader does not know.
    pub blocks: u64,
    /// Of `blocks`, those of a type the pcapng specification does not list.
    pub unknown_blocks: u64,
    /// pcapng blocks that Wireshark numbers as frames but that hold no packet (custom, systemd
    /// journal, sysdig/Falco events). Each took a frame number.
    pub non_packet_frames: u64,
}

/// The reader state of one format.
enum Reader {
    Pcap(pcap::Reader),
    Pcapng(pcapng::Reader),
    /// The end or the damage was reached.
    Done,
}

/// What the format readers share: the unread part of the file and the running counts.
struct Cursor<'a> {
    /// Length of the whole file, to turn `rest` into offsets.
    file_len: usize,
    /// Everything not yet consumed; records are consumed only once fully checked.
    rest: &'a [u8],
    /// Frame number of the last record that took one.
    frame: u64,
    /// Timestamp of the last packet record, for Simple Packet Blocks.
    last_ts: i64,
    /// Whether the last packet record carried its own timestamp.
    timed: bool,
    /// What is wrong with the record at the cursor, once a reader has found it damaged.
    damage: Option<String>,
    skipped: Skipped,
}

impl Cursor<'_> {
    /// Byte offset of the first unread byte.
    #[inline]
    fn offset(&self) -> u64 {
        // `rest` is always a suffix of the file, so this cannot underflow.
        self.file_len.saturating_sub(self.rest.len()) as u64
    }

    /// Notes that the record at the cursor is damaged; the readers return this.
    #[cold]
    #[inline(never)]
    fn fail<T>(&mut self, what: String) -> Option<T> {
        self.damage = Some(what);
        None
    }
}

/// Iterator over the packet records of a [`CaptureFile`], in file order.
///
/// It ends at the end of the file or at the first damage; [`Packets::damage`] tells which.
pub struct Packets<'a> {
    cursor: Cursor<'a>,
    reader: Reader,
    damage: Option<Damage>,
}

impl<'a> Packets<'a> {
    /// Packets of the file `bytes`, whose records start at `start`.
    fn new(bytes: &'a [u8], start: usize, reader: Reader) -> Packets<'a> {
        Packets {
            cursor: Cursor {
                file_len: bytes.len(),
                rest: bytes.get(start..).unwrap_or_default(),
                frame: 0,
                last_ts: 0,
                timed: true,
                damage: None,
                skipped: Skipped::default(),
            },
            reader,
            damage: None,
        }
    }

    /// The damage that ended the iteration, if any.
    pub fn damage(&self) -> Option<&Damage> {
        self.damage.as_ref()
    }

    /// Byte offset in the file of the next record to read (the file's length once read).
    pub fn offset(&self) -> u64 {
        (self.cursor.file_len - self.cursor.rest.len()) as u64
    }

    /// Blocks stepped over so far.
    pub fn skipped(&self) -> &Skipped {
        &self.cursor.skipped
    }

    /// Bytes of the file consumed so far, for progress reports.
    pub fn position(&self) -> u64 {
        self.cursor.offset()
    }

    /// The next packet record, and whether its timestamp was read from the record.
    fn next_record(&mut self) -> Option<(RawPacket<'a>, bool)> {
        let packet = self.next()?;
        Some((packet, self.cursor.timed))
    }

    /// Ends the iteration, turning a damage the reader noted into a [`Damage`].
    #[cold]
    fn finish(&mut self) {
        if let Some(what) = self.cursor.damage.take() {
            self.damage = Some(Damage {
                offset: self.cursor.offset(),
                frame: self.cursor.frame.saturating_add(1),
                what,
            });
        }
        self.reader = Reader::Done;
    }
}

impl<'a> Iterator for Packets<'a> {
    type Item = RawPacket<'a>;

    #[inline]
    fn next(&mut self) -> Option<RawPacket<'a>> {
        let packet = match &mut self.reader {
            Reader::Pcap(r) => r.next(&mut self.cursor),
            Reader::Pcapng(r) => r.next(&mut self.cursor),
            Reader::Done => return None,
        };

        if packet.is_none() {
            self.finish();
        }
        packet
    }
}

impl FusedIterator for Packets<'_> {}

impl fmt::Debug for Packets<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packets")
            .field("position", &self.position())
            .field("frame", &self.cursor.frame)
            .field("damage", &self.damage)
            .field("skipped", &self.cursor.skipped)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caplen_limit_is_clamped() {
        assert_eq!(caplen_limit(0), STANDARD_MAX_CAPLEN);
        assert_eq!(caplen_limit(65_535), STANDARD_MAX_CAPLEN);
        assert_eq!(caplen_limit(1_000_000), 1_000_000);
        assert_eq!(caplen_limit(u32::MAX), HARD_MAX_CAPLEN);
    }

    #[test]
    fn format_names() {
        let pcap = Format::Pcap {
            nanos: true,
            big_endian: false,
        };
        assert_eq!(pcap.name(), "pcap");
        assert_eq!(pcap.to_string(), "pcap (nanosecond, little-endian)");
        assert_eq!(Format::Pcapng.name(), "pcapng");
    }

    #[test]
    fn damage_display() {
        let damage = Damage {
            offset: 120,
            frame: 3,
            what: "pcapng block length 13 is not a multiple of 4".into(),
        };
        assert_eq!(
            damage.to_string(),
            "frame 3 at byte 120: pcapng block length 13 is not a multiple of 4"
        );
    }
}
