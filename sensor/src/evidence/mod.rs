//! Evidence sinks: the Parquet tables and the manifest chain of DESIGN.md "Evidence".
//!
//! An evidence folder holds one folder per table (`writes`, `sessions`, `assets`, `alerts`,
//! `credentials`), each partitioned by the UTC capture date of its rows
//! (`writes/date=2026-12-03/part-00000.parquet`, zstd), plus `manifest.json`, which lists the
//! SHA-256 of every file its run added and links to the previous manifest (kept under
//! `manifests/`). Files are published atomically and never overwritten; a later run or a rotation
//! adds files and a manifest.
//!
//! [`write_evidence`] is the one call of an offline run. A live capture uses the parts:
//! [`EvidenceWriter`] for the run, [`TableWriter`] per open file (fed batches, closed on
//! rotation). [`verify`] checks a folder. Rows arrive fully formed from `analytics`; nothing here
//! decides what a row says, and nothing here reads captures.
//!
//! Signing: [`write_evidence_signed`] (or [`EvidenceWriter::set_signing_key`] for a live
//! capture) signs each manifest it commits with an Ed25519 key of [`crate::signing`];
//! [`verify_with_key`] checks every manifest's signature, against a pinned public key when one
//! is given.
//!
//! Modules: `schema` (columns), `columns` (rows to Arrow), `partition` (file names),
//! `parquet` (one file), `writer` (one run), `manifest` (format), `chain` (manifest storage),
//! `verify` + `report` (checking), `digest` and `durable` (hashing, crash-safe file steps),
//! `spool` (a live capture's crash journal of the rows of its open files, and its recovery).

mod chain;
mod columns;
mod digest;
mod durable;
mod error;
mod manifest;
mod parquet;
mod partition;
mod report;
mod run;
mod schema;
mod spool;
mod verify;
mod writer;

use std::path::Path;
use std::sync::Arc;

use analytics::evidence::Evidence;

use crate::signing::SigningKey;

pub use self::parquet::{
    take_batch_latency, writer_properties, TableWriter, BATCH_ROWS, ROW_GROUP_BYTES, ROW_GROUP_ROWS,
};
pub use chain::{archive_rel, ARCHIVE, MANIFEST};
pub use columns::{CaptureStatsRow, Columns, RowContext, TableRow};
pub use digest::{sha256_file, sha256_hex};
pub use error::EvidenceError;
pub use manifest::{
    canonical_bytes, rfc3339_us, FileEntry, InputEntry, Manifest, ManifestSignature, PauseRecord,
    PreviousManifest, Recovery, RetiredFile, RowCounts, TimeSpan, Tool, FORMAT,
};
pub use partition::{date_of, list_parquet};
pub use report::{
    InputCheck, InputState, LinkFault, Problem, SignatureCheck, SignatureFault, SignatureState,
    VerifyReport,
};
pub use run::{Damage, InputInfo, InputKind, RunInfo};
pub use schema::Table;
pub use spool::{recover_spools, remove_spools, spool_path, SpooledWriter, SPOOL};
pub use verify::{verify, verify_with_key};
pub use writer::EvidenceWriter;

/// Writes one run's evidence into `out` and commits its manifest; returns the manifest.
///
/// `source_names[i]` names the capture file or interface of rows whose `FrameRef.source` is
/// `i`. Rows are written in the order given (sort `evidence` first for evidence order). Each
/// table gets one new file per capture date it spans; a table with no rows gets an empty file
/// when the folder has none for it yet.
///
/// # Errors
///
/// Any failure to write, naming the file and operation. Files this call published before the
/// failure are removed again, so a retry does not leave rows twice; a failure while committing
/// the manifest leaves the files in place.
pub fn write_evidence(
    out: &Path,
    run: &RunInfo,
    source_names: &[String],
    evidence: &Evidence,
) -> Result<Manifest, EvidenceError> {
    write_evidence_signed(out, run, source_names, evidence, None, 1)
}

/// [`write_evidence`], signing the manifest with `key` when one is given, and building and
/// encoding the tables on `threads` threads; the files are the same whatever the thread count.
///
/// # Errors
///
/// As [`write_evidence`].
pub fn write_evidence_signed(
    out: &Path,
    run: &RunInfo,
    source_names: &[String],
    evidence: &Evidence,
    key: Option<Arc<SigningKey>>,
    threads: usize,
) -> Result<Manifest, EvidenceError> {
    let mut writer = EvidenceWriter::create(out, &run.sensor, source_names)?;
    writer.set_signing_key(key);

    let mut write = || {
        writer
            .write_analysis(evidence)
            .and_then(|()| writer.fill_empty_tables(run))
    };
    // Without a pool of its own (the system refused threads), the work runs on rayon's global
    // pool: the same files, on however many threads that pool has.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("otwitness-writer-{i}"))
        .build();
    let written = match &pool {
        Ok(pool) => pool.install(write),
        Err(_) => write(),
    };
    if let Err(error) = written {
        if let Err(cleanup) = writer.abandon() {
            log::warn!("{cleanup} (while cleaning up after: {error})");
        }
        return Err(error);
    }

    writer.commit(run)
}
