//! File-system steps that survive a crash: create folders, sync them, publish files atomically.
//!
//! A file is written under a temporary name, synced, then renamed to its final name and its
//! folder synced, so after a crash a final name always holds a complete file (a leftover
//! `*.tmp` may remain; it is never listed by a manifest). Folder syncs are a Unix notion; on
//! other systems they are skipped.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::error::{EvidenceError, Result};

/// Creates `dir` and any missing parents, syncing each parent a new folder was added to.
pub fn create_dirs(dir: &Path) -> Result<()> {
    let mut missing: Vec<&Path> = Vec::new();
    let mut cursor = Some(dir);
    while let Some(path) = cursor {
        if path.as_os_str().is_empty() || path.is_dir() {
            break;
        }
        missing.push(path);
        cursor = path.parent();
    }

    for path in missing.into_iter().rev() {
        match fs::create_dir(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => continue,
            Err(e) => return Err(EvidenceError::io("create", path, e)),
        }
        if let Some(parent) = path.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Flushes a folder's entries (new, renamed or removed files) to disk.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };

    let handle = File::open(dir).map_err(|e| EvidenceError::io("open", dir, e))?;
    handle
        .sync_all()
        .map_err(|e| EvidenceError::io("sync", dir, e))
}

/// Folder syncs are not available here; renames are still atomic.
#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(())
}

/// Syncs a written file's data and metadata.
pub fn sync_file(file: &File, path: &Path) -> Result<()> {
    file.sync_all()
        .map_err(|e| EvidenceError::io("sync", path, e))
}

/// The temporary name a file is written under before it is published: `<name>.tmp`.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Moves the complete, synced file `tmp` to `path`, which must not exist, and syncs the folder.
///
/// # Errors
///
/// [`EvidenceError::Exists`] when `path` exists (evidence is never overwritten), or an I/O
/// error naming the file.
pub fn publish_new(tmp: &Path, path: &Path) -> Result<()> {
    // The check and the rename are two steps; only one writer works in a folder at a time and
    // part numbers are claimed by exclusively created temporary files, so nothing else races.
    if path.exists() {
        return Err(EvidenceError::Exists {
            path: path.to_path_buf(),
        });
    }
    rename_and_sync(tmp, path)
}

/// Atomically replaces `path` with the complete, synced file `tmp` and syncs the folder.
pub fn replace(tmp: &Path, path: &Path) -> Result<()> {
    rename_and_sync(tmp, path)
}

fn rename_and_sync(tmp: &Path, path: &Path) -> Result<()> {
    fs::rename(tmp, path).map_err(|e| EvidenceError::io("rename", tmp, e))?;

    match path.parent() {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// Writes `bytes` to `<path>.tmp` (replacing a leftover of a crashed run) and syncs it.
/// Returns the temporary path; publishing it is the caller's choice.
pub fn write_tmp(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let tmp = tmp_path(path);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| EvidenceError::io("create", &tmp, e))?;

    file.write_all(bytes)
        .map_err(|e| EvidenceError::io("write", &tmp, e))?;
    sync_file(&file, &tmp)?;
    Ok(tmp)
}

/// Removes a temporary file after a failure; errors are ignored because the original error is
/// the one worth reporting.
pub fn discard(tmp: &Path) {
    let _ = fs::remove_file(tmp);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("otwitness-durable-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn publish_never_overwrites() -> Result<()> {
        let dir = scratch("publish");
        create_dirs(&dir.join("a/b"))?;
        let path = dir.join("a/b/f");

        let tmp = write_tmp(&path, b"one")?;
        publish_new(&tmp, &path)?;
        let tmp = write_tmp(&path, b"two")?;
        let second = publish_new(&tmp, &path);

        assert!(matches!(second, Err(EvidenceError::Exists { .. })));
        assert_eq!(fs::read(&path).ok().as_deref(), Some(&b"one"[..]));
        let _ = fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn create_dirs_under_a_file_names_the_folder() -> Result<()> {
        let dir = scratch("under-file");
        create_dirs(&dir)?;
        let file = dir.join("plain");
        let tmp = write_tmp(&file, b"x")?;
        publish_new(&tmp, &file)?;

        let error = create_dirs(&file.join("writes"))
            .err()
            .map(|e| e.to_string());
        let expected = format!("evidence: cannot create {}", file.display());
        assert!(
            error.as_deref().is_some_and(|e| e.starts_with(&expected)),
            "{error:?}"
        );
        let _ = fs::remove_dir_all(&dir);
        Ok(())
    }
}
