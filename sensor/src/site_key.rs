//! The site key: where it lives, how it is made, how it is read.
//!
//! The key makes the fingerprints of passwords seen on the wire (see `analytics::secrets`).
//! It is a file of 32 random bytes written in hex, readable by its owner only (mode 0600).
//! Without `--site-key`, the key is `$XDG_CONFIG_HOME/otwitness/site-key` (or
//! `~/.config/otwitness/site-key`), made on first use from the kernel's random source. The key
//! never goes into the evidence folder: whoever holds the evidence must not be able to test
//! password guesses against its fingerprints. Keep it to compare fingerprints across runs.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use analytics::secrets::SiteKey;
use anyhow::{bail, Context, Result};

/// The default location of the site key.
pub fn default_path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("otwitness").join("site-key")
}

/// Reads the key at `path`, creating it first when it does not exist.
///
/// Several sensors started at once may all find the key missing: the key is written whole to a
/// private temporary file and then linked into place, which succeeds for one of them only; the
/// others read the key that won, so every process ends with the same key and none sees a
/// half-written file.
pub fn load_or_create(path: &Path) -> Result<SiteKey> {
    if !path.exists() && create(path)? {
        log::info!("created a new site key at {}", path.display());
    }
    read(path)
}

fn read(path: &Path) -> Result<SiteKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read site key {}", path.display()))?;
    let bytes = hex::decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok());
    match bytes {
        Some(bytes) => Ok(SiteKey::from_bytes(bytes)),
        None => bail!("{}: a site key is 64 hex digits (32 bytes)", path.display()),
    }
}

/// Makes a new key at `path`; false when another process made one first.
fn create(path: &Path) -> Result<bool> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;

    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom to make a site key")?;

    static ATTEMPT: AtomicU32 = AtomicU32::new(0);
    let attempt = ATTEMPT.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("site-key");
    let temp = dir.join(format!(".{name}.{}-{attempt}.new", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| {
            writeln!(file, "{}", hex::encode(bytes))?;
            file.sync_all()
        });
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(error).with_context(|| format!("cannot write site key {}", temp.display()));
    }

    let linked = std::fs::hard_link(&temp, path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => {
            Err(error).with_context(|| format!("cannot create site key {}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_key_is_private_random_and_read_back_the_same() {
        let dir = std::env::temp_dir().join(format!("otw-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub").join("site-key");
        let key = load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = load_or_create(&path).unwrap();
        assert_eq!(key.fingerprint(b"pw"), again.fingerprint(b"pw"));

        let other = dir.join("other-key");
        let second = load_or_create(&other).unwrap();
        assert_ne!(key.fingerprint(b"pw"), second.fingerprint(b"pw"));

        std::fs::write(&other, "not hex").unwrap();
        let err = load_or_create(&other).unwrap_err().to_string();
        assert!(err.contains("64 hex digits"), "{err}");
    }

    #[test]
    fn processes_racing_to_make_the_key_all_end_with_the_same_one() {
        let dir = std::env::temp_dir().join(format!("otw-key-race-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("site-key");

        let prints: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| load_or_create(&path).map(|k| k.fingerprint(b"pw"))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().unwrap())
                .collect()
        });

        assert!(prints.windows(2).all(|w| w[0] == w[1]), "one key for all");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
    }
}
