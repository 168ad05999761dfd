//! `otwitness report DIR`: one self-contained HTML page of an evidence folder, for auditors.
//!
//! Steps: verify the folder and read its manifests (`scope`), read every row of the Parquet
//! tables into bounded aggregates (`read` feeding `facts`), then render the page (`page`, with
//! `charts`, `standards` and the `html` helpers). The page holds only what it shows: counts,
//! charts, and at most [`Limits::rows`] rows per list, each list saying how many it leaves out,
//! so a report of a year of evidence is as light as one of a minute.
//!
//! The page opens offline: its style, script and SVG charts are inline, and its
//! Content-Security-Policy forbids fetching anything. Every value from the evidence is escaped.
//! It does not replace the tables: an auditor who needs every row queries the Parquet files.

mod charts;
mod facts;
mod html;
mod page;
mod read;
mod scope;
mod standards;
mod timeline;

use std::path::{Path, PathBuf};

pub use facts::{Facts, Limits};
pub use read::CaptureStats;
pub use scope::Scope;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A file-system operation failed.
    #[error("report: cannot {op} {}: {error}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },

    /// A Parquet file could not be read.
    #[error("report: cannot read Parquet {}: {error}", path.display())]
    Parquet { path: PathBuf, error: String },

    /// A column has another type than the evidence schema gives it.
    #[error("report: column {column} of {file} is {found}, expected {expected}")]
    Column {
        file: String,
        column: String,
        expected: String,
        found: String,
    },

    /// The evidence folder could not be listed.
    #[error("{0}")]
    Evidence(crate::evidence::EvidenceError),

    /// The folder holds no evidence at all.
    #[error("report: {} holds no evidence (no manifest.json and no table folders)", .0.display())]
    NotEvidence(PathBuf),
}

impl ReportError {
    fn io(op: &'static str, path: &Path, error: std::io::Error) -> ReportError {
        ReportError::Io {
            op,
            path: path.to_path_buf(),
            error,
        }
    }
}

/// How to make the report.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub limits: Limits,
    /// The time the report is made (µs since the epoch); certificate expiry is judged then.
    pub now_us: i64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            limits: Limits::default(),
            now_us: chrono::Utc::now().timestamp_micros(),
        }
    }
}

/// A made report: the page and the figures a caller may print.
pub struct Report {
    pub html: String,
    pub scope: Scope,
    pub facts: Facts,
    pub files_read: usize,
}

/// Makes the report of the evidence folder `dir`.
///
/// # Errors
///
/// When the folder holds no evidence, or a Parquet file cannot be read or has a column of the
/// wrong type. A folder that fails verification still gets a report: the failure is its first
/// finding.
pub fn build(dir: &Path, options: &Options) -> Result<Report, ReportError> {
    let has_tables = crate::evidence::Table::ALL
        .iter()
        .any(|t| dir.join(t.name()).is_dir());
    if !dir.join(crate::evidence::MANIFEST).is_file() && !has_tables {
        return Err(ReportError::NotEvidence(dir.to_path_buf()));
    }

    let scope = Scope::read(dir);
    let mut facts = Facts::new(options.limits);
    let files_read = read::read_tables(dir, &mut facts)?;
    let stats = read::read_capture_stats(dir)?;

    let html = page::render(&page::PageInput {
        folder: &dir.display().to_string(),
        scope: &scope,
        facts: &facts,
        stats: stats.as_ref(),
        files_read,
        now_us: options.now_us,
    });
    Ok(Report {
        html,
        scope,
        facts,
        files_read,
    })
}

/// Makes the report of `dir` and writes it to `out` (through a temporary file renamed into
/// place, so a reader never sees half a page).
///
/// # Errors
///
/// As [`build`], and when `out` cannot be written.
pub fn write(dir: &Path, out: &Path, options: &Options) -> Result<Report, ReportError> {
    let report = build(dir, options)?;

    let mut tmp = out.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, report.html.as_bytes()).map_err(|e| ReportError::io("write", &tmp, e))?;
    std::fs::rename(&tmp, out).map_err(|e| ReportError::io("rename into", out, e))?;
    Ok(report)
}
