//! Opening a capture file: mapping or reading it, and recognising its format.
//!
//! Large regular files are memory-mapped; small files, files that are not regular (pipes,
//! devices) and files the system refuses to map are read into memory. Either way the whole file
//! is one byte slice for as long as the [`CaptureFile`] lives. The format is recognised by the
//! first four bytes alone, never by the file name.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::error::{CaptureError, HeaderProblem};
use super::wire::{array_at, Endian};
use super::{pcap, pcapng, Format, Packets, Reader};

/// Files smaller than this are read into memory rather than mapped (see [`map`]).
const READ_BELOW: u64 = 1 << 20;

/// Where the bytes of a capture file live.
enum Backing {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

/// What the file header said, kept so that each [`Packets`] starts without parsing it again.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Pcap(pcap::Header),
    Pcapng,
}

/// A capture file, opened and its header checked; iterate it with [`CaptureFile::packets`].
pub struct CaptureFile {
    path: PathBuf,
    name: String,
    backing: Backing,
    format: Format,
    kind: Kind,
}

impl CaptureFile {
    /// Opens the capture at `path`: maps it (or reads it), recognises pcap or pcapng by its
    /// magic number and checks its file header.
    ///
    /// # Errors
    ///
    /// [`CaptureError::Io`] when the file cannot be opened, mapped or read (with the OS error);
    /// [`CaptureError::NotACapture`] when it is empty or starts with no capture magic number;
    /// [`CaptureError::Truncated`] when it ends inside the file header;
    /// [`CaptureError::BadHeader`] or [`CaptureError::Unsupported`] when the header is invalid
    /// or of a variant or version that is not read. Damage after the header is not an error.
    pub fn open(path: &Path) -> Result<CaptureFile, CaptureError> {
        let io_error = |source| CaptureError::Io {
            path: path.to_path_buf(),
            source,
        };

        let mut file = File::open(path).map_err(io_error)?;
        let meta = file.metadata().map_err(io_error)?;

        let backing = if meta.is_file() && meta.len() >= READ_BELOW {
            match map(&file) {
                Ok(mmap) => Backing::Mapped(mmap),
                Err(err) => {
                    log::debug!("{}: cannot map ({err}), reading it", path.display());
                    Backing::Owned(read_all(&mut file, meta.len()).map_err(io_error)?)
                }
            }
        } else {
            Backing::Owned(read_all(&mut file, meta.len()).map_err(io_error)?)
        };

        let name = path.display().to_string();
        CaptureFile::with_backing(path.to_path_buf(), name, backing)
    }

    /// A capture held in memory, for tests and fuzzing; `name` stands for the path in errors.
    ///
    /// # Errors
    ///
    /// As [`CaptureFile::open`], without the I/O errors.
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<CaptureFile, CaptureError> {
        CaptureFile::with_backing(PathBuf::from(name), name.to_string(), Backing::Owned(bytes))
    }

    fn with_backing(
        path: PathBuf,
        name: String,
        backing: Backing,
    ) -> Result<CaptureFile, CaptureError> {
        let bytes = match &backing {
            Backing::Mapped(mmap) => mmap.as_ref(),
            Backing::Owned(vec) => vec.as_slice(),
        };

        match detect(bytes) {
            Ok((format, kind)) => Ok(CaptureFile {
                path,
                name,
                backing,
                format,
                kind,
            }),
            Err(problem) => Err(problem.at(path, bytes.len() as u64)),
        }
    }

    /// The path given to [`CaptureFile::open`] (or the name given to `from_bytes`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's name for messages and the evidence's `source` column: the path as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The container format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Length of the file in bytes.
    pub fn len(&self) -> u64 {
        self.bytes().len() as u64
    }

    /// Whether the file has no bytes (never true of a file that opened).
    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }

    /// The whole file, for hashing.
    pub fn bytes(&self) -> &[u8] {
        match &self.backing {
            Backing::Mapped(mmap) => mmap,
            Backing::Owned(vec) => vec,
        }
    }

    /// An iterator over the packet records, from the start of the file.
    pub fn packets(&self) -> Packets<'_> {
        let bytes = self.bytes();
        match self.kind {
            Kind::Pcap(header) => {
                let reader = Reader::Pcap(pcap::Reader::new(&header));
                Packets::new(bytes, pcap::FILE_HEADER_LEN, reader)
            }
            Kind::Pcapng => Packets::new(bytes, 0, Reader::Pcapng(pcapng::Reader::new())),
        }
    }

    /// Timestamp (µs since the epoch) of the first record that carries one, skipping pcapng
    /// Simple Packet Blocks; `None` when no such record is readable.
    pub fn first_timestamp(&self) -> Option<i64> {
        let mut packets = self.packets();
        while let Some((packet, timed)) = packets.next_record() {
            if timed {
                return Some(packet.ts_us);
            }
        }
        None
    }
}

impl fmt::Debug for CaptureFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mapped = matches!(self.backing, Backing::Mapped(_));
        f.debug_struct("CaptureFile")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("len", &self.len())
            .field("mapped", &mapped)
            .finish()
    }
}

/// Recognises the format by the first four bytes and checks the file header.
fn detect(bytes: &[u8]) -> Result<(Format, Kind), HeaderProblem> {
    let Some(magic) = array_at::<4>(bytes, 0) else {
        return Err(HeaderProblem::NotACapture(None));
    };
    let le = u32::from_le_bytes(magic);
    let be = u32::from_be_bytes(magic);

    let pcap = match (le, be) {
        (pcap::MAGIC_MICROS, _) => Some((Endian::Little, false)),
        (_, pcap::MAGIC_MICROS) => Some((Endian::Big, false)),
        (pcap::MAGIC_NANOS, _) => Some((Endian::Little, true)),
        (_, pcap::MAGIC_NANOS) => Some((Endian::Big, true)),
        _ => None,
    };
    if let Some((endian, nanos)) = pcap {
        let header = pcap::parse_header(bytes, endian, nanos)?;
        let format = Format::Pcap {
            nanos,
            big_endian: endian == Endian::Big,
        };
        return Ok((format, Kind::Pcap(header)));
    }

    if magic == pcapng::SHB_BYTES {
        pcapng::check_first_block(bytes)?;
        return Ok((Format::Pcapng, Kind::Pcapng));
    }

    Err(
        known_other(le, be).map_or(HeaderProblem::NotACapture(Some(be)), |what| {
            HeaderProblem::Unsupported(what.to_string())
        }),
    )
}

/// Names formats that are recognisable but not read, so the message can say what to do.
fn known_other(le: u32, be: u32) -> Option<&'static str> {
    if le == pcap::MAGIC_MODIFIED || be == pcap::MAGIC_MODIFIED {
        Some("modified pcap (magic 0xa1b2cd34); convert it with `editcap -F pcap`")
    } else if be >> 16 == 0x1f8b {
        Some("gzip-compressed; decompress it first")
    } else if le == 0xfd2f_b528 {
        Some("zstd-compressed; decompress it first")
    } else if le == 0x184d_2204 {
        Some("lz4-compressed; decompress it first")
    } else {
        None
    }
}

/// Reads the rest of `file`; `len` (from its metadata) is only a capacity hint.
fn read_all(file: &mut File, len: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Maps `file` read-only, hinting the kernel that it will be read front to back.
#[allow(unsafe_code)]
fn map(file: &File) -> io::Result<Mmap> {
    // SAFETY: `Mmap::map` is unsafe because Rust assumes the bytes behind a `&[u8]` do not
    // change while borrowed, and the OS does not stop another process from changing a file that
    // is mapped. What can happen then:
    // - bytes rewritten in place become visible in the slices handed out, even between two reads
    //   of the same field. Every read of the mapping is bounds-checked against the mapping's
    //   length, which is fixed here, so the reader then yields wrong records or reports damage;
    //   it never reads outside the mapping;
    // - bytes appended are not seen (the length is fixed here);
    // - a file truncated under us makes the next access to a page past its new end raise
    //   SIGBUS, which kills the process. That is the limit of this argument: a crash, caused by
    //   another process, with no wrong output.
    // The sensor accepts this for offline analysis because it reads finished captures, which
    // nothing rewrites or truncates (tcpdump and dumpcap only append, and rotate to new
    // files), and because the caller hashes the very bytes it analyses: the manifest's SHA-256
    // then no longer matches the file, so `otwitness verify` exposes a change made meanwhile.
    // Files below `READ_BELOW`, and anything that is not a regular file, are read into memory
    // instead and so are immune; live capture does not come through here.
    let mmap = unsafe { Mmap::map(file) }?;

    // A hint only: if the kernel refuses it, reading is merely slower.
    #[cfg(unix)]
    if let Err(err) = mmap.advise(memmap2::Advice::Sequential) {
        log::debug!("madvise(SEQUENTIAL) failed: {err}");
    }

    Ok(mmap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_detection() {
        assert!(matches!(detect(b""), Err(HeaderProblem::NotACapture(None))));
        assert!(matches!(
            detect(b"HTTP/1.1"),
            Err(HeaderProblem::NotACapture(Some(0x4854_5450)))
        ));
        assert!(matches!(
            detect(&[0x1f, 0x8b, 8, 0]),
            Err(HeaderProblem::Unsupported(_))
        ));
        assert!(matches!(
            detect(&[0x34, 0xcd, 0xb2, 0xa1]),
            Err(HeaderProblem::Unsupported(_))
        ));
        assert!(matches!(
            detect(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]),
            Err(HeaderProblem::Truncated {
                format: "pcap",
                need: 24
            })
        ));
        assert!(matches!(
            detect(&[0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0]),
            Err(HeaderProblem::Truncated {
                format: "pcapng",
                need: 28
            })
        ));
    }
}
