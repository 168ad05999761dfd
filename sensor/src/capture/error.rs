//! Errors that keep a capture file from being opened at all.
//!
//! Damage after a good file header is not an error: the records before it are still read, and
//! the damage is reported by `Packets::damage`. Every message starts with the path (or the name
//! given to `CaptureFile::from_bytes`).

use std::io;
use std::path::PathBuf;

/// Why a capture file could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The file could not be opened, mapped or read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The first bytes are neither a pcap nor a pcapng magic number.
    #[error("{}: not a pcap or pcapng file ({})", path.display(), start(*magic, *len))]
    NotACapture {
        path: PathBuf,
        /// The first four bytes, read big-endian, when the file has four bytes.
        magic: Option<u32>,
        /// Length of the file in bytes.
        len: u64,
    },

    /// The magic number is right but the file ends inside the file header.
    #[error("{}: truncated {format} file header ({len} of {need} bytes)", path.display())]
    Truncated {
        path: PathBuf,
        format: &'static str,
        len: u64,
        need: u64,
    },

    /// The magic number is right but the file header is not valid.
    #[error("{}: {what}", path.display())]
    BadHeader { path: PathBuf, what: String },

    /// A known variant or version this reader does not read.
    #[error("{}: unsupported capture format: {what}", path.display())]
    Unsupported { path: PathBuf, what: String },
}

/// A problem with the file header, before the path is attached.
#[derive(Debug)]
pub(super) enum HeaderProblem {
    /// No capture magic number; the first four bytes read big-endian, if there are four.
    NotACapture(Option<u32>),
    /// The file ends inside the header of `format`, which needs `need` bytes.
    Truncated { format: &'static str, need: u64 },
    /// The header is invalid.
    Bad(String),
    /// A variant or version that is not read.
    Unsupported(String),
}

impl HeaderProblem {
    /// The error for the file at `path`, which is `len` bytes long.
    pub(super) fn at(self, path: PathBuf, len: u64) -> CaptureError {
        match self {
            HeaderProblem::NotACapture(magic) => CaptureError::NotACapture { path, magic, len },
            HeaderProblem::Truncated { format, need } => CaptureError::Truncated {
                path,
                format,
                len,
                need,
            },
            HeaderProblem::Bad(what) => CaptureError::BadHeader { path, what },
            HeaderProblem::Unsupported(what) => CaptureError::Unsupported { path, what },
        }
    }
}

/// How a file that is not a capture starts, for the error message.
fn start(magic: Option<u32>, len: u64) -> String {
    match (magic, len) {
        (Some(magic), _) => format!("starts with {magic:#010x}"),
        (None, 0) => "the file is empty".to_string(),
        (None, 1) => "the file holds 1 byte".to_string(),
        (None, n) => format!("the file holds {n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_capture_messages() {
        let err = CaptureError::NotACapture {
            path: "x.txt".into(),
            magic: Some(0x4854_5450),
            len: 100,
        };
        assert_eq!(
            err.to_string(),
            "x.txt: not a pcap or pcapng file (starts with 0x48545450)"
        );

        let err = CaptureError::NotACapture {
            path: "e.pcap".into(),
            magic: None,
            len: 0,
        };
        assert_eq!(
            err.to_string(),
            "e.pcap: not a pcap or pcapng file (the file is empty)"
        );
    }

    #[test]
    fn truncated_message() {
        let err = CaptureError::Truncated {
            path: "t.pcap".into(),
            format: "pcap",
            len: 10,
            need: 24,
        };
        assert_eq!(
            err.to_string(),
            "t.pcap: truncated pcap file header (10 of 24 bytes)"
        );
    }
}
