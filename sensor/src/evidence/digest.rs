//! SHA-256 of evidence files: computed while a file is written, or read back from disk.
//!
//! Hashing while writing means a Parquet file is never read again to fill its manifest entry;
//! `verify` reads files back with [`sha256_file`]. Digests are lowercase hex.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::error::{EvidenceError, Result};

/// A writer that hashes and counts every byte it passes on.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> HashingWriter<W> {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer, the SHA-256 (hex) and the size of everything written.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;

        // Only what the inner writer accepted is hashed, so a short write stays consistent.
        let accepted = buf.get(..written).unwrap_or(buf);
        self.hasher.update(accepted);
        self.bytes += accepted.len() as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 (hex) of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 (hex) and size of the file at `path`, read in bounded chunks.
///
/// # Errors
///
/// [`EvidenceError::Io`] naming the file when it cannot be opened or read.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut file = File::open(path).map_err(|e| EvidenceError::io("open", path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut bytes = 0u64;

    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(EvidenceError::io("read", path, e)),
        };
        let chunk = buffer.get(..read).unwrap_or(&buffer);
        hasher.update(chunk);
        bytes += chunk.len() as u64;
    }

    Ok((hex::encode(hasher.finalize()), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn hashing_writer_matches_one_shot_digest() -> io::Result<()> {
        let mut writer = HashingWriter::new(Vec::new());
        writer.write_all(b"a")?;
        writer.write_all(b"bc")?;

        let (inner, sha256, bytes) = writer.finish();
        assert_eq!(inner, b"abc");
        assert_eq!(sha256, ABC_SHA256);
        assert_eq!(sha256_hex(b"abc"), ABC_SHA256);
        assert_eq!(bytes, 3);
        Ok(())
    }

    #[test]
    fn missing_file_error_names_it() {
        let path = Path::new("/nonexistent/otwitness/x.parquet");
        let error = sha256_file(path).err().map(|e| e.to_string());

        assert!(error.as_deref().is_some_and(
            |e| e.starts_with("evidence: cannot open /nonexistent/otwitness/x.parquet")
        ));
    }
}
