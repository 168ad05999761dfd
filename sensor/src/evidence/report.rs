//! The result of `verify`: every problem found, and what was learnt about the inputs.
//!
//! Each problem names the file (relative to the evidence folder) and what is wrong with it, and
//! prints as one line, so the report can be read by a person or grepped by a script. Finding
//! problems is `verify`'s job; this module only holds and prints them.
//!
//! Signatures are reported per manifest: a signature that does not hold, a manifest signed by
//! another key than the pinned one, and an unsigned manifest that should have been signed are
//! problems; the rest (valid signatures, and whether their key was pinned) are notes.

use std::fmt;

pub use crate::signing::SignatureFault;

/// Everything `verify` found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Manifests read along the chain, newest first (paths relative to the evidence folder).
    pub manifests: Vec<String>,
    /// Files listed by the chain's manifests that were checked.
    pub files_checked: u64,
    /// Files listed by the chain's manifests, retired by a later one and absent as recorded.
    pub files_retired: u64,
    pub problems: Vec<Problem>,
    /// One entry per distinct input (name and hash) named by the chain's manifests.
    pub inputs: Vec<InputCheck>,
    /// One entry per manifest of the chain, newest first.
    pub signatures: Vec<SignatureCheck>,
}

impl VerifyReport {
    /// Whether the evidence is exactly what its manifests describe.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Whether a signature check is already printed as a problem.
    fn is_problem(&self, check: &SignatureCheck) -> bool {
        match check.state {
            SignatureState::Valid { .. } | SignatureState::Covered { .. } => false,
            SignatureState::Invalid | SignatureState::OtherKey { .. } => true,
            SignatureState::Unsigned => self.problems.iter().any(
                |p| matches!(p, Problem::Unsigned { manifest, .. } if *manifest == check.manifest),
            ),
        }
    }
}

/// One way the evidence differs from its manifests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A listed file's content differs from its manifest entry.
    Altered {
        path: String,
        expected_sha256: String,
        found_sha256: String,
        expected_bytes: u64,
        found_bytes: u64,
    },
    /// A listed file is not there.
    Missing { path: String },
    /// A Parquet file under a table folder that no manifest of the chain lists.
    Added { path: String },
    /// A manifest's link to its predecessor does not hold.
    BrokenLink {
        manifest: String,
        /// The predecessor's path as the link names it (empty when there is no link).
        previous: String,
        fault: LinkFault,
    },
    /// A listed file exists but could not be read.
    Unreadable { path: String, error: String },
    /// A manifest entry that cannot be checked safely (absolute path, `..`, not a table file).
    InvalidEntry {
        manifest: String,
        path: String,
        why: String,
    },
    /// Two manifests (or one, twice) list the same file; files are never rewritten.
    ListedTwice { path: String },
    /// An input capture found at its recorded path has another hash than recorded.
    InputAltered {
        name: String,
        expected_sha256: String,
        found_sha256: String,
    },
    /// A manifest's signature does not hold (most often: edited after signing).
    SignatureInvalid {
        manifest: String,
        fault: SignatureFault,
    },
    /// A manifest is not signed, and no later signature covers it, although a public key was
    /// given (`pinned`) or an earlier manifest of the chain is signed.
    Unsigned { manifest: String, pinned: bool },
    /// A manifest is validly signed, but by another key than the pinned one.
    WrongKey {
        manifest: String,
        /// The pinned key (hex).
        expected: String,
        /// The key that signed the manifest (hex).
        found: String,
    },
}

/// How a chain link is broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkFault {
    /// The previous manifest is not at the path the link names.
    Missing,
    /// The previous manifest's bytes do not have the hash the link records.
    HashMismatch { expected: String, found: String },
    /// The previous manifest's sequence is not one less than this one's.
    Sequence { expected: u64, found: u64 },
    /// The previous manifest cannot be read or decoded.
    Unreadable(String),
    /// This manifest has no predecessor although its sequence is not 1.
    NoPrevious { sequence: u64 },
}

/// What `verify` learnt about one manifest's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureCheck {
    /// The manifest, relative to the evidence folder.
    pub manifest: String,
    pub state: SignatureState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureState {
    /// The signature holds; `pinned` says whether its key is the one given to `verify` (if
    /// not, it was only checked against the key the manifest itself names).
    Valid { public_key: String, pinned: bool },
    /// Not signed, but covered by the valid signature of the later manifest `by`, whose
    /// `previous` link (and so on down the chain) fixes this manifest's bytes.
    Covered { by: String },
    /// Not signed, and no later signature covers it.
    Unsigned,
    /// The signature does not hold (also reported as [`Problem::SignatureInvalid`]).
    Invalid,
    /// Validly signed by another key than the pinned one (also [`Problem::WrongKey`]).
    OtherKey { public_key: String },
}

/// What `verify` learnt about one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputCheck {
    pub name: String,
    pub state: InputState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputState {
    /// Found at its recorded path with the recorded hash.
    Matches,
    /// Found with another hash (also reported as [`Problem::InputAltered`]).
    Differs,
    /// Not found at its recorded path: not checked.
    Absent,
    /// A live interface, or a file whose hash was not recorded: nothing to check.
    NoHash,
    /// Present but unreadable: not checked.
    Unreadable(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Altered {
                path,
                expected_sha256,
                found_sha256,
                expected_bytes,
                found_bytes,
            } => {
                write!(
                    f,
                    "altered: {path} (sha256 expected {expected_sha256}, found {found_sha256}"
                )?;
                if expected_bytes != found_bytes {
                    write!(f, "; bytes expected {expected_bytes}, found {found_bytes}")?;
                }
                f.write_str(")")
            }
            Problem::Missing { path } => write!(f, "missing: {path}"),
            Problem::Added { path } => write!(f, "added: {path} (listed by no manifest)"),
            Problem::BrokenLink {
                manifest,
                previous,
                fault,
            } => match fault {
                LinkFault::NoPrevious { sequence } => write!(
                    f,
                    "broken link: {manifest} (sequence {sequence} but no previous manifest)"
                ),
                _ => write!(f, "broken link: {manifest} -> {previous} ({fault})"),
            },
            Problem::Unreadable { path, error } => write!(f, "unreadable: {path} ({error})"),
            Problem::InvalidEntry {
                manifest,
                path,
                why,
            } => write!(f, "invalid entry: {path:?} in {manifest} ({why})"),
            Problem::ListedTwice { path } => write!(f, "listed twice: {path}"),
            Problem::InputAltered {
                name,
                expected_sha256,
                found_sha256,
            } => write!(
                f,
                "input altered: {name} (sha256 expected {expected_sha256}, found {found_sha256})"
            ),
            Problem::SignatureInvalid { manifest, fault } => {
                write!(f, "signature invalid: {manifest} ({fault})")
            }
            Problem::Unsigned { manifest, pinned } => {
                let why = if *pinned {
                    "a public key was given"
                } else {
                    "an earlier manifest of the chain is signed"
                };
                write!(f, "unsigned: {manifest} ({why})")
            }
            Problem::WrongKey {
                manifest,
                expected,
                found,
            } => write!(
                f,
                "wrong key: {manifest} (signed by {found}, expected {expected})"
            ),
        }
    }
}

impl fmt::Display for SignatureCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let manifest = &self.manifest;
        match &self.state {
            SignatureState::Valid {
                public_key,
                pinned: true,
            } => write!(f, "signature ok: {manifest} (key {public_key}, pinned)"),
            SignatureState::Valid {
                public_key,
                pinned: false,
            } => write!(
                f,
                "signature ok: {manifest} (key {public_key}, not pinned: the key the manifest \
                 names)"
            ),
            SignatureState::Covered { by } => {
                write!(
                    f,
                    "not signed: {manifest} (covered by the signature of {by})"
                )
            }
            SignatureState::Unsigned => write!(f, "not signed: {manifest}"),
            SignatureState::Invalid => write!(f, "signature invalid: {manifest}"),
            SignatureState::OtherKey { public_key } => {
                write!(f, "wrong key: {manifest} (signed by {public_key})")
            }
        }
    }
}

impl fmt::Display for LinkFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkFault::Missing => f.write_str("file missing"),
            LinkFault::HashMismatch { expected, found } => {
                write!(f, "sha256 expected {expected}, found {found}")
            }
            LinkFault::Sequence { expected, found } => {
                write!(f, "sequence expected {expected}, found {found}")
            }
            LinkFault::Unreadable(error) => write!(f, "unreadable: {error}"),
            LinkFault::NoPrevious { sequence } => write!(f, "sequence {sequence} has no previous"),
        }
    }
}

impl fmt::Display for InputCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        match &self.state {
            InputState::Matches => write!(f, "input matches: {name}"),
            InputState::Differs => write!(f, "input differs: {name}"),
            InputState::Absent => write!(f, "input not checked: {name} (absent)"),
            InputState::NoHash => write!(f, "input not checked: {name} (no recorded hash)"),
            InputState::Unreadable(error) => {
                write!(f, "input not checked: {name} (unreadable: {error})")
            }
        }
    }
}

impl fmt::Display for VerifyReport {
    /// Problems first, one per line, then inputs that are not problems, then a summary line;
    /// every line ends with a newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in &self.problems {
            writeln!(f, "{problem}")?;
        }
        for check in self.signatures.iter().filter(|c| !self.is_problem(c)) {
            writeln!(f, "{check}")?;
        }
        for input in self
            .inputs
            .iter()
            .filter(|i| i.state != InputState::Differs)
        {
            writeln!(f, "{input}")?;
        }

        let verdict = if self.is_ok() { "ok" } else { "FAILED" };
        let retired = match self.files_retired {
            0 => String::new(),
            n => format!(" ({n} retired by retention, absent as recorded)"),
        };
        writeln!(
            f,
            "{verdict}: {} manifests, {} files checked{retired}, {} problems",
            self.manifests.len(),
            self.files_checked,
            self.problems.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_print_one_line_each() {
        let report = VerifyReport {
            manifests: vec!["manifest.json".to_owned()],
            files_checked: 5,
            files_retired: 0,
            problems: vec![
                Problem::Altered {
                    path: "writes/date=2026-12-03/part-00000.parquet".to_owned(),
                    expected_sha256: "ab12".to_owned(),
                    found_sha256: "9f3e".to_owned(),
                    expected_bytes: 10,
                    found_bytes: 10,
                },
                Problem::BrokenLink {
                    manifest: "manifest.json".to_owned(),
                    previous: "manifests/manifest-000001.json".to_owned(),
                    fault: LinkFault::Missing,
                },
            ],
            inputs: vec![InputCheck {
                name: "a.pcap".to_owned(),
                state: InputState::Absent,
            }],
            signatures: vec![SignatureCheck {
                manifest: "manifest.json".to_owned(),
                state: SignatureState::Unsigned,
            }],
        };

        assert!(!report.is_ok());
        assert_eq!(
            report.to_string(),
            "altered: writes/date=2026-12-03/part-00000.parquet (sha256 expected ab12, found \
             9f3e)\n\
             broken link: manifest.json -> manifests/manifest-000001.json (file missing)\n\
             not signed: manifest.json\n\
             input not checked: a.pcap (absent)\n\
             FAILED: 1 manifests, 5 files checked, 2 problems\n"
        );
    }
}
