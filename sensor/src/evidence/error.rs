//! The one error type of the evidence sinks.
//!
//! Every variant names the file (or table) and the operation that failed, so a message alone
//! tells the operator what to fix: `evidence: cannot create /x/writes/date=2026-12-03: Permission
//! denied (os error 13)`. The underlying error is part of the message and is not repeated as a
//! `source()`, so printing the chain does not say it twice.
//!
//! Problems *found* by `verify` (altered, missing or added files) are not errors: they are the
//! result of a successful check and live in [`super::VerifyReport`].

use std::io;
use std::path::{Path, PathBuf};

/// Why writing or reading evidence failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// A file-system operation (`create`, `open`, `read`, `write`, `sync`, `rename`, `list`, …).
    #[error("evidence: cannot {op} {}: {error}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        error: io::Error,
    },

    /// The Parquet writer refused a batch or could not finish a file.
    #[error("evidence: cannot write Parquet {}: {error}", path.display())]
    Parquet {
        path: PathBuf,
        error: parquet::errors::ParquetError,
    },

    /// Rows could not be turned into an Arrow batch of the table's schema.
    #[error("evidence: cannot build a {table} batch: {error}")]
    Arrow {
        table: &'static str,
        error: arrow_schema::ArrowError,
    },

    /// A row names a capture source the run does not have.
    #[error("evidence: a row of {table} refers to source {index}; the run names {count} sources")]
    UnknownSource {
        table: &'static str,
        index: u32,
        count: usize,
    },

    /// A row was given to the writer of another date partition.
    #[error(
        "evidence: a row of {table} dated {row_date} was given to the writer of \
         date={partition_date}"
    )]
    WrongPartition {
        table: &'static str,
        row_date: String,
        partition_date: String,
    },

    /// A manifest could not be encoded or decoded.
    #[error("evidence: {} is not a valid manifest: {error}", path.display())]
    Manifest {
        path: PathBuf,
        error: serde_json::Error,
    },

    /// A manifest decoded but its content cannot be used (unknown format, unsafe path, …).
    #[error("evidence: {}: {what}", path.display())]
    ManifestContent { path: PathBuf, what: String },

    /// The file a new file or manifest would take already exists; evidence is never overwritten.
    #[error("evidence: {} already exists; evidence files are never overwritten", path.display())]
    Exists { path: PathBuf },
}

impl EvidenceError {
    /// Wraps an I/O error with the operation and the file it concerns.
    pub(crate) fn io(op: &'static str, path: &Path, error: io::Error) -> EvidenceError {
        EvidenceError::Io {
            op,
            path: path.to_path_buf(),
            error,
        }
    }

    /// Wraps a Parquet error with the file it concerns.
    pub(crate) fn parquet(path: &Path, error: parquet::errors::ParquetError) -> EvidenceError {
        EvidenceError::Parquet {
            path: path.to_path_buf(),
            error,
        }
    }
}

/// Shorthand for results of this module.
pub type Result<T, E = EvidenceError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_names_operation_and_file() {
        let error = EvidenceError::io(
            "create",
            Path::new("/x/writes/date=2026-12-03"),
            io::Error::from(io::ErrorKind::PermissionDenied),
        );

        assert_eq!(
            error.to_string(),
            "evidence: cannot create /x/writes/date=2026-12-03: permission denied"
        );
    }
}
