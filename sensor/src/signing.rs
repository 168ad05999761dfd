//! Ed25519 keys that sign evidence manifests, and the exact bytes a manifest signature covers.
//!
//! # Keys
//!
//! `otwitness keygen` makes a key pair from 32 bytes of the kernel's random source (the
//! RFC 8032 private key, or seed). The signing key file holds the seed as 64 hex digits between
//! two armour lines, readable by its owner only (mode 0600):
//!
//! ```text
//! -----BEGIN OTWITNESS ED25519 SIGNING KEY-----
//! 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60
//! -----END OTWITNESS ED25519 SIGNING KEY-----
//! ```
//!
//! The armour keeps it from being mistaken for the site key, which is also 32 bytes of hex.
//! `<key>.pub` holds the public key as one line of 64 hex digits. Without `--out`, the key is
//! `$XDG_CONFIG_HOME/otwitness/signing-key` (or `~/.config/otwitness/signing-key`), beside the
//! site key; `otwitness analyze` signs with it whenever it exists, and never creates it. Like
//! the site key, the signing key never goes into an evidence folder: whoever holds the evidence
//! must not be able to re-sign an edited manifest.
//!
//! # What is signed
//!
//! A signed `manifest.json` has
//! `"signature": {"algorithm": "ed25519", "public_key": HEX, "value": HEX}` (the 32-byte public
//! key and the 64-byte signature, lowercase hex). The signature is the Ed25519 signature
//! (RFC 8032, pure, no pre-hash, no context) of the manifest's **canonical bytes**:
//!
//! 1. Decode the whole `manifest.json` as JSON and set the member `signature` to `null`.
//!    Every other member is covered, including any the tool does not know.
//! 2. Encode that value with no whitespace at all; members of every object sorted by key
//!    (byte order of their UTF-8, which is code point order); array elements in order.
//! 3. Strings: UTF-8, escaping only `"` as `\"`, `\` as `\\`, and U+0000–U+001F, as `\b`,
//!    `\f`, `\n`, `\r`, `\t` where those exist and as `\u00xx` (lowercase hex) otherwise.
//!    Everything else, non-ASCII included, is written as itself.
//! 4. Numbers are written in plain decimal (a manifest holds only integers); `null`, `true`
//!    and `false` as such.
//!
//! That is what Python's `json.dumps(m, sort_keys=True, separators=(",", ":"),
//! ensure_ascii=False)` produces, so an auditor can check a manifest without this tool:
//!
//! ```python
//! import json, sys
//! from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
//!
//! # usage: python3 check.py manifest.json [PUBLIC_KEY_HEX]
//! with open(sys.argv[1], encoding="utf-8") as f:
//!     manifest = json.load(f)
//! signature = manifest["signature"]
//! assert signature["algorithm"] == "ed25519"
//! manifest["signature"] = None
//! signed = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
//! key = sys.argv[2] if len(sys.argv) > 2 else signature["public_key"]
//! Ed25519PublicKey.from_public_bytes(bytes.fromhex(key)).verify(
//!     bytes.fromhex(signature["value"]), signed.encode("utf-8"))  # raises InvalidSignature
//! print("signature ok, key", key)
//! ```
//!
//! (Any Ed25519 tool works the same way: write the canonical bytes to a file and verify the
//! signature over that file with the public key.) Signing covers one manifest; the earlier
//! manifests of a folder are covered through the SHA-256 chain of `previous` links, which the
//! signed manifest includes.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SECRET_KEY_LENGTH};

/// The only value of `signature.algorithm`.
pub const ALGORITHM: &str = "ed25519";

const BEGIN: &str = "-----BEGIN OTWITNESS ED25519 SIGNING KEY-----";
const END: &str = "-----END OTWITNESS ED25519 SIGNING KEY-----";

/// Why a key could not be made, read or parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    /// A file-system operation on a key file failed.
    #[error("signing key: cannot {op} {}: {error}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        error: io::Error,
    },

    /// `keygen` would overwrite an existing file.
    #[error("signing key: {} already exists; keys are never overwritten", path.display())]
    Exists { path: PathBuf },

    /// A signing key file does not hold a key in the format this tool writes.
    #[error(
        "signing key: {} is not an otwitness signing key (64 hex digits between \
         `{BEGIN}` and `{END}`)",
        path.display()
    )]
    BadSigningKey { path: PathBuf },

    /// A public key (argument or file content) is not 64 hex digits of a valid Ed25519 key.
    #[error("public key: {what} is not an Ed25519 public key ({why})")]
    BadPublicKey { what: String, why: String },
}

/// Shorthand for results of this module.
pub type Result<T, E = SigningError> = std::result::Result<T, E>;

/// A key that signs manifests. Its `Debug` shows the public key only.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

/// A public key that checks manifest signatures; prints as 64 lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

/// Why a signature does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureFault {
    /// `algorithm` is not `ed25519`.
    Algorithm(String),
    /// `public_key` is not 64 hex digits of a valid public key.
    PublicKey(String),
    /// `value` is not 128 hex digits.
    Value(String),
    /// The manifest's canonical bytes could not be computed.
    Content(String),
    /// Well formed, but not a signature of these bytes by this key: the manifest was edited
    /// after it was signed (or the signature was copied from another manifest).
    Mismatch,
}

impl fmt::Display for SignatureFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureFault::Algorithm(found) => {
                write!(f, "algorithm {found:?} is not {ALGORITHM:?}")
            }
            SignatureFault::PublicKey(why) => write!(f, "public_key unusable: {why}"),
            SignatureFault::Value(why) => write!(f, "value unusable: {why}"),
            SignatureFault::Content(why) => write!(f, "manifest unusable: {why}"),
            SignatureFault::Mismatch => f.write_str(
                "does not match the manifest's content: the manifest was edited after signing",
            ),
        }
    }
}

impl SigningKey {
    /// The key of a 32-byte RFC 8032 private key (seed).
    pub fn from_seed(seed: &[u8; SECRET_KEY_LENGTH]) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// Reads a signing key file written by [`generate`]. Warns when other users may read it.
    ///
    /// # Errors
    ///
    /// [`SigningError::Io`] when the file cannot be read, [`SigningError::BadSigningKey`] when
    /// it is not in the armoured hex format.
    pub fn read(path: &Path) -> Result<SigningKey> {
        let text = std::fs::read_to_string(path).map_err(|e| io_error("read", path, e))?;
        warn_if_shared(path);

        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let (begin, body, end, rest) = (lines.next(), lines.next(), lines.next(), lines.next());
        let seed = match (begin, body, end, rest) {
            (Some(BEGIN), Some(body), Some(END), None) => decode_32(body),
            _ => None,
        };
        seed.map(|seed| SigningKey::from_seed(&seed))
            .ok_or_else(|| SigningError::BadSigningKey {
                path: path.to_path_buf(),
            })
    }

    /// The public key that checks this key's signatures.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// The key file's text: the seed in hex between the armour lines.
    fn to_text(&self) -> String {
        format!("{BEGIN}\n{}\n{END}\n", hex::encode(self.0.to_bytes()))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(public {})", self.public_key())
    }
}

impl PublicKey {
    /// Parses 64 hex digits; `what` names the source in errors.
    ///
    /// # Errors
    ///
    /// [`SigningError::BadPublicKey`] when `text` is not 64 hex digits, or not a point of the
    /// curve.
    pub fn from_hex(what: &str, text: &str) -> Result<PublicKey> {
        let bad = |why: &str| SigningError::BadPublicKey {
            what: what.to_owned(),
            why: why.to_owned(),
        };
        let bytes = decode_32(text.trim()).ok_or_else(|| bad("not 64 hex digits"))?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| bad("not a valid curve point"))
    }

    /// A `--public-key` argument: 64 hex digits, or else the path of a file holding them
    /// (a `.pub` file written by `keygen`).
    ///
    /// # Errors
    ///
    /// The file cannot be read, or what it holds is not a public key.
    pub fn from_arg(arg: &str) -> Result<PublicKey> {
        if arg.len() == 64 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
            return PublicKey::from_hex("the argument", arg);
        }
        let path = Path::new(arg);
        let text = std::fs::read_to_string(path).map_err(|e| io_error("read", path, e))?;
        PublicKey::from_hex(&path.display().to_string(), &text)
    }

    /// The key as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// Whether `signature` is this key's signature of `message` (RFC 8032 strict checking:
    /// non-canonical signatures and weak keys are refused).
    pub fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.0.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Checks one `signature` object (`algorithm`, `public_key`, `value`, as found in a manifest)
/// over `message`. Returns the embedded public key when the signature holds.
///
/// # Errors
///
/// The [`SignatureFault`] that makes it fail.
pub fn check(
    algorithm: &str,
    public_key: &str,
    value: &str,
    message: &[u8],
) -> std::result::Result<PublicKey, SignatureFault> {
    if algorithm != ALGORITHM {
        return Err(SignatureFault::Algorithm(algorithm.to_owned()));
    }
    let key = PublicKey::from_hex("public_key", public_key).map_err(|e| match e {
        SigningError::BadPublicKey { why, .. } => SignatureFault::PublicKey(why),
        other => SignatureFault::PublicKey(other.to_string()),
    })?;
    let value = hex::decode(value)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .ok_or_else(|| SignatureFault::Value("not 128 hex digits".to_owned()))?;

    if key.verifies(message, &value) {
        Ok(key)
    } else {
        Err(SignatureFault::Mismatch)
    }
}

/// The default signing key location: `signing-key` beside the site key.
pub fn default_path() -> PathBuf {
    crate::site_key::default_path().with_file_name("signing-key")
}

/// The public key file of the signing key at `path`: `<path>.pub`.
pub fn public_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Makes a new key pair: the signing key at `path` (mode 0600) and its public key at
/// `<path>.pub` (mode 0644). Creates missing parent folders.
///
/// # Errors
///
/// [`SigningError::Exists`] when either file exists (nothing is written then), or an I/O
/// error naming the file.
pub fn generate(path: &Path) -> Result<SigningKey> {
    let public = public_path(path);
    for existing in [path, public.as_path()] {
        if existing.exists() {
            return Err(SigningError::Exists {
                path: existing.to_path_buf(),
            });
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
    }

    let mut seed = [0u8; SECRET_KEY_LENGTH];
    let urandom = Path::new("/dev/urandom");
    std::fs::File::open(urandom)
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| io_error("read", urandom, e))?;
    let key = SigningKey::from_seed(&seed);
    seed.fill(0);

    write_new(path, key.to_text().as_bytes(), 0o600)?;
    let public_text = format!("{}\n", key.public_key());
    if let Err(error) = write_new(&public, public_text.as_bytes(), 0o644) {
        // A signing key without its public file would make the next keygen refuse; undo it.
        let _ = std::fs::remove_file(path);
        return Err(error);
    }
    Ok(key)
}

/// The canonical bytes of a JSON value, as the module documentation defines them.
pub fn canonical_json(value: &serde_json::Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(&mut out, value);
    out
}

fn write_canonical(out: &mut Vec<u8>, value: &serde_json::Value) {
    use serde_json::Value;

    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, key);
                out.push(b':');
                write_canonical(out, member);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(out, item);
            }
            out.push(b']');
        }
        Value::String(text) => write_string(out, text),
        Value::Number(number) => out.extend_from_slice(number.to_string().as_bytes()),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Null => out.extend_from_slice(b"null"),
    }
}

/// A JSON string with the minimal escaping of rule 3.
fn write_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if u32::from(c) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes());
            }
            c => {
                let mut buffer = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn decode_32(text: &str) -> Option<[u8; 32]> {
    hex::decode(text)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
}

fn io_error(op: &'static str, path: &Path, error: io::Error) -> SigningError {
    SigningError::Io {
        op,
        path: path.to_path_buf(),
        error,
    }
}

/// Creates `path`, which must not exist, with `mode`, writes `bytes` and syncs it.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;

    let mut file = options.open(path).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => SigningError::Exists {
            path: path.to_path_buf(),
        },
        _ => io_error("create", path, e),
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error("write", path, e))
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;

    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            log::warn!(
                "signing key {} has mode {mode:03o}; other users may read it (chmod 600)",
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 section 7.1, TEST 1 (empty message).
    const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const SIGNATURE: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
                             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    fn rfc_key() -> SigningKey {
        SigningKey::from_seed(&decode_32(SEED).unwrap_or_default())
    }

    #[test]
    fn matches_rfc_8032_test_1() {
        let key = rfc_key();

        assert_eq!(key.public_key().to_hex(), PUBLIC);
        assert_eq!(hex::encode(key.sign(b"")), SIGNATURE);
        assert_eq!(
            check(ALGORITHM, PUBLIC, SIGNATURE, b"").ok(),
            Some(key.public_key())
        );
        assert_eq!(
            check(ALGORITHM, PUBLIC, SIGNATURE, b"x"),
            Err(SignatureFault::Mismatch)
        );
        assert!(matches!(
            check("rsa", PUBLIC, SIGNATURE, b""),
            Err(SignatureFault::Algorithm(_))
        ));
        assert!(matches!(
            check(ALGORITHM, PUBLIC, "00", b""),
            Err(SignatureFault::Value(_))
        ));
        assert!(matches!(
            check(ALGORITHM, "zz", SIGNATURE, b""),
            Err(SignatureFault::PublicKey(_))
        ));
        assert!(format!("{key:?}").contains(PUBLIC));
        assert!(!format!("{key:?}").contains(SEED));
    }

    #[test]
    fn canonical_json_sorts_and_escapes_minimally() {
        let value = serde_json::json!({
            "b": [1, null, true, false],
            "a": {"z": "\"\\\u{1}\n\t\u{8}\u{c}\r/é\u{7f}", "y": 18446744073709551615u64},
            "é": -3,
            "B": "",
        });

        let text = String::from_utf8(canonical_json(&value)).unwrap_or_default();

        assert_eq!(
            text,
            "{\"B\":\"\",\"a\":{\"y\":18446744073709551615,\"z\":\"\\\"\\\\\\u0001\\n\\t\\b\\f\\r\
             /é\u{7f}\"},\"b\":[1,null,true,false],\"é\":-3}"
        );
    }

    #[test]
    fn public_key_argument_is_hex_or_a_file() {
        assert_eq!(
            PublicKey::from_arg(PUBLIC).map(|k| k.to_hex()).ok(),
            Some(PUBLIC.into())
        );
        let err = PublicKey::from_arg("/nonexistent/otw.pub")
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("cannot read /nonexistent/otw.pub")),
            "{err:?}"
        );
        let short = PublicKey::from_hex("x", "abcd")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            short.as_deref(),
            Some("public key: x is not an Ed25519 public key (not 64 hex digits)")
        );
    }
}
