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
pub fn load_or_create(path: &Path) -> Result<SiteKey> {
    if !path.exists() {
        create(path)?;
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

fn create(path: &Path) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom to make a site key")?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create site key {}", path.display()))?;
    writeln!(file, "{}", hex::encode(bytes))
        .and_then(|_| file.sync_all())
        .with_context(|| format!("cannot write site key {}", path.display()))?;
    Ok(())
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
}
