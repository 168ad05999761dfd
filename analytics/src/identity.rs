//! The identity map: which principal (person, agent, service, vendor, device) stands behind a
//! credential or a network address.
//!
//! [`IdentityMap::parse`] reads the operator's TOML file (format in DESIGN.md) and refuses it,
//! with line and column, when a key is unknown, a value malformed (IP, CIDR, MAC, thumbprint),
//! an id repeated, or one credential claimed by two principals: an ambiguous map would make
//! attribution a guess. Lookups are by exact key (user name, thumbprint, subject, originator,
//! IP, MAC) or, for address ranges and audit-entry patterns, by the most specific match.
//!
//! This module only answers "whose is this?"; deciding which credential of a write counts is
//! [`crate::attribution`]'s job.

use std::net::IpAddr;
use std::ops::Range;

use ipnet::IpNet;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use toml::Spanned;

use crate::evidence::{Credential, CredentialKind};

/// One principal of the identity map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub kind: Option<String>,
    pub owner: Option<String>,
}

/// A refused identity map: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct IdentityError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    principal: Vec<PrincipalToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalToml {
    id: Spanned<String>,
    kind: Option<Spanned<String>>,
    owner: Option<String>,
    #[serde(default)]
    opcua_users: Vec<Spanned<String>>,
    #[serde(default)]
    certificates: Vec<Spanned<String>>,
    #[serde(default)]
    subjects: Vec<Spanned<String>>,
    #[serde(default)]
    cip_originators: Vec<Spanned<String>>,
    #[serde(default)]
    audit_entries: Vec<Spanned<String>>,
    #[serde(default)]
    addresses: Vec<Spanned<String>>,
    #[serde(default)]
    macs: Vec<Spanned<String>>,
}

const KINDS: &[&str] = &["human", "agent", "service", "vendor", "device"];

/// A validated identity map, indexed for lookups.
#[derive(Clone, Debug, Default)]
pub struct IdentityMap {
    principals: Vec<Principal>,
    users: FxHashMap<String, usize>,
    certificates: FxHashMap<String, usize>,
    subjects: FxHashMap<String, usize>,
    originators: FxHashMap<(u16, u32), usize>,
    audit_entries: Vec<(String, usize)>,
    addresses: FxHashMap<IpAddr, usize>,
    /// Networks, longest prefix first.
    networks: Vec<(IpNet, usize)>,
    macs: FxHashMap<[u8; 6], usize>,
}

struct Builder<'a> {
    file: &'a str,
    text: &'a str,
    map: IdentityMap,
    /// Where each credential key was first claimed, to name both sides of a conflict.
    claims: FxHashMap<String, usize>,
}

impl Builder<'_> {
    fn error(&self, span: Range<usize>, message: String) -> IdentityError {
        let (line, column) = line_column(self.text, span.start);
        IdentityError {
            file: self.file.to_owned(),
            line,
            column,
            message,
        }
    }

    /// Records that principal `owner` claims credential `key`; a second claimer is an error.
    fn claim(
        &mut self,
        key: String,
        owner: usize,
        span: Range<usize>,
    ) -> Result<(), IdentityError> {
        if let Some(&first) = self.claims.get(&key) {
            if first != owner {
                let message = format!(
                    "{key} is claimed by both {} and {}",
                    self.map.principals[first].id, self.map.principals[owner].id
                );
                return Err(self.error(span, message));
            }
        }
        self.claims.insert(key, owner);
        Ok(())
    }
}

impl IdentityMap {
    /// Parses and validates an identity map; `file` names it in errors.
    ///
    /// # Errors
    /// [`IdentityError`] with the line and column of the first problem.
    pub fn parse(file: &str, text: &str) -> Result<IdentityMap, IdentityError> {
        let parsed: FileToml = toml::from_str(text).map_err(|e| {
            let (line, column) = line_column(text, e.span().map(|s| s.start).unwrap_or(0));
            IdentityError {
                file: file.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        let mut b = Builder {
            file,
            text,
            map: IdentityMap::default(),
            claims: FxHashMap::default(),
        };

        for p in parsed.principal {
            let index = b.map.principals.len();
            if b.map.principals.iter().any(|q| q.id == *p.id.get_ref()) {
                return Err(b.error(
                    p.id.span(),
                    format!("principal id {} repeated", p.id.get_ref()),
                ));
            }
            if let Some(kind) = &p.kind {
                if !KINDS.contains(&kind.get_ref().as_str()) {
                    let message = format!(
                        "kind {:?} is not one of {}",
                        kind.get_ref(),
                        KINDS.join(", ")
                    );
                    return Err(b.error(kind.span(), message));
                }
            }
            b.map.principals.push(Principal {
                id: p.id.get_ref().clone(),
                kind: p.kind.map(Spanned::into_inner),
                owner: p.owner,
            });

            for user in p.opcua_users {
                b.claim(
                    format!("OPC UA user {:?}", user.get_ref()),
                    index,
                    user.span(),
                )?;
                b.map.users.insert(user.into_inner(), index);
            }
            for cert in p.certificates {
                let thumbprint = normalise_thumbprint(cert.get_ref()).ok_or_else(|| {
                    let message = format!(
                        "certificate {:?} is not a SHA-256 or SHA-1 thumbprint in hex",
                        cert.get_ref()
                    );
                    b.error(cert.span(), message)
                })?;
                b.claim(format!("certificate {thumbprint}"), index, cert.span())?;
                b.map.certificates.insert(thumbprint, index);
            }
            for subject in p.subjects {
                let key = normalise_subject(subject.get_ref());
                b.claim(format!("subject {key}"), index, subject.span())?;
                b.map.subjects.insert(key, index);
            }
            for originator in p.cip_originators {
                let parsed = parse_originator(originator.get_ref()).ok_or_else(|| {
                    let message = format!(
                        "CIP originator {:?} is not VENDOR:SERIAL (e.g. 0x1009:0xacf71b98)",
                        originator.get_ref()
                    );
                    b.error(originator.span(), message)
                })?;
                let key = format!("CIP originator {}", originator_text(parsed.0, parsed.1));
                b.claim(key, index, originator.span())?;
                b.map.originators.insert(parsed, index);
            }
            for pattern in p.audit_entries {
                b.claim(
                    format!("audit entry {:?}", pattern.get_ref()),
                    index,
                    pattern.span(),
                )?;
                b.map.audit_entries.push((pattern.into_inner(), index));
            }
            for address in p.addresses {
                let text = address.get_ref().trim();
                if let Ok(ip) = text.parse::<IpAddr>() {
                    b.claim(format!("address {ip}"), index, address.span())?;
                    b.map.addresses.insert(ip, index);
                } else if let Ok(net) = text.parse::<IpNet>() {
                    let net = net.trunc();
                    b.claim(format!("network {net}"), index, address.span())?;
                    b.map.networks.push((net, index));
                } else {
                    let message = format!("{text:?} is neither an IP address nor a CIDR range");
                    return Err(b.error(address.span(), message));
                }
            }
            for mac in p.macs {
                let parsed = parse_mac(mac.get_ref()).ok_or_else(|| {
                    let message = format!("{:?} is not a MAC address", mac.get_ref());
                    b.error(mac.span(), message)
                })?;
                b.claim(
                    format!("MAC {}", mac.get_ref().to_lowercase()),
                    index,
                    mac.span(),
                )?;
                b.map.macs.insert(parsed, index);
            }
        }

        let mut map = b.map;
        map.networks
            .sort_by_key(|n| std::cmp::Reverse(n.0.prefix_len()));
        Ok(map)
    }

    pub fn principals(&self) -> &[Principal] {
        &self.principals
    }

    /// The principal a credential names, if the map knows it.
    pub fn by_credential(&self, credential: &Credential) -> Option<&Principal> {
        let index = match credential.kind {
            CredentialKind::OpcuaUser => self.users.get(&credential.id).copied(),
            CredentialKind::OpcuaX509User
            | CredentialKind::OpcuaChannelCert
            | CredentialKind::TlsClientCert
            | CredentialKind::OpcuaIssued => self.by_certificate_index(&credential.id),
            CredentialKind::CipOriginator => {
                parse_originator(&credential.id).and_then(|key| self.originators.get(&key).copied())
            }
            CredentialKind::OpcuaAuditEntry => self
                .audit_entries
                .iter()
                .find(|(pattern, _)| wildcard_match(pattern, &credential.id))
                .map(|(_, index)| *index),
            // A keyed password fingerprint names no one by itself.
            CredentialKind::S7Password | CredentialKind::Network => None,
        };
        index.map(|i| &self.principals[i])
    }

    /// The principal of a certificate, by thumbprint (SHA-256 or SHA-1) or subject.
    pub fn by_certificate(&self, thumbprint_or_subject: &str) -> Option<&Principal> {
        self.by_certificate_index(thumbprint_or_subject)
            .map(|i| &self.principals[i])
    }

    fn by_certificate_index(&self, key: &str) -> Option<usize> {
        if let Some(thumbprint) = normalise_thumbprint(key) {
            if let Some(index) = self.certificates.get(&thumbprint) {
                return Some(*index);
            }
        }
        self.subjects.get(&normalise_subject(key)).copied()
    }

    /// The principal of a client address: exact IP, then MAC, then the longest CIDR match.
    pub fn by_network(&self, ip: IpAddr, mac: Option<[u8; 6]>) -> Option<&Principal> {
        let index = self
            .addresses
            .get(&ip)
            .or_else(|| mac.and_then(|m| self.macs.get(&m)))
            .copied()
            .or_else(|| {
                self.networks
                    .iter()
                    .find(|(net, _)| net.contains(&ip))
                    .map(|(_, index)| *index)
            });
        index.map(|i| &self.principals[i])
    }
}

/// 1-based line and column of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Lower-case hex without separators, if `text` is a 20- or 32-byte hex thumbprint.
pub fn normalise_thumbprint(text: &str) -> Option<String> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let ok = (hex.len() == 40 || hex.len() == 64) && hex.chars().all(|c| c.is_ascii_hexdigit());
    ok.then_some(hex)
}

/// Subjects compare without spaces around separators and case-insensitively in attribute names.
fn normalise_subject(text: &str) -> String {
    text.split(',')
        .map(|part| {
            let part = part.trim();
            match part.split_once('=') {
                Some((name, value)) => format!("{}={}", name.trim().to_uppercase(), value.trim()),
                None => part.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `VENDOR:SERIAL`, each decimal or 0x-hex.
pub fn parse_originator(text: &str) -> Option<(u16, u32)> {
    let (vendor, serial) = text.trim().split_once(':')?;
    Some((
        u16::try_from(parse_number(vendor)?).ok()?,
        u32::try_from(parse_number(serial)?).ok()?,
    ))
}

/// The canonical spelling of a CIP originator, as credentials carry it.
pub fn originator_text(vendor: u16, serial: u32) -> String {
    format!("0x{vendor:04x}:0x{serial:08x}")
}

fn parse_number(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.trim().split([':', '-']);
    for byte in &mut mac {
        let part = parts.next()?;
        if part.len() != 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// `*` matches any run of characters (including none); everything else matches itself.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = r#"
[[principal]]
id = "human:bob"
kind = "human"
owner = "maintenance"
opcua_users = ["bob"]
certificates = ["62:14:96:04:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99"]
subjects = ["CN=eng-ws-02, O=Plant"]
cip_originators = ["0x1009:0xacf71b98"]
addresses = ["10.1.4.102", "10.1.8.0/24"]
macs = ["02:00:0a:c8:04:66"]

[[principal]]
id = "agent:optimizer"
kind = "agent"
audit_entries = ["optimizer-*"]
addresses = ["10.1.0.0/16"]
"#;

    fn map() -> IdentityMap {
        IdentityMap::parse("ids.toml", MAP).unwrap()
    }

    fn cred(kind: CredentialKind, id: &str) -> Credential {
        Credential {
            kind,
            id: id.to_owned(),
        }
    }

    #[test]
    fn credentials_resolve_by_every_key() {
        let map = map();
        let bob = Some("human:bob");
        let id = |c: Credential| map.by_credential(&c).map(|p| p.id.as_str());
        assert_eq!(id(cred(CredentialKind::OpcuaUser, "bob")), bob);
        assert_eq!(id(cred(CredentialKind::OpcuaUser, "Bob")), None);
        let sha1 = "6214960 4AABBCCDDEEFF00112233445566778899".replace(' ', "");
        assert_eq!(id(cred(CredentialKind::TlsClientCert, &sha1)), bob);
        assert_eq!(
            id(cred(CredentialKind::TlsClientCert, "cn=eng-ws-02,O=Plant")),
            bob
        );
        assert_eq!(
            id(cred(CredentialKind::CipOriginator, "4105:2901875608")),
            bob
        );
        let agent = Some("agent:optimizer");
        assert_eq!(
            id(cred(CredentialKind::OpcuaAuditEntry, "optimizer-run-7")),
            agent
        );
        assert_eq!(id(cred(CredentialKind::OpcuaAuditEntry, "other-7")), None);
    }

    #[test]
    fn addresses_prefer_exact_then_mac_then_longest_prefix() {
        let map = map();
        let who = |ip: &str, mac| {
            map.by_network(ip.parse().unwrap(), mac)
                .map(|p| p.id.clone())
        };
        assert_eq!(who("10.1.4.102", None).as_deref(), Some("human:bob"));
        assert_eq!(who("10.1.8.7", None).as_deref(), Some("human:bob"));
        assert_eq!(who("10.1.9.7", None).as_deref(), Some("agent:optimizer"));
        let mac = Some([0x02, 0x00, 0x0a, 0xc8, 0x04, 0x66]);
        assert_eq!(who("10.1.9.7", mac).as_deref(), Some("human:bob"));
        assert_eq!(who("192.168.1.1", None), None);
    }

    #[test]
    fn errors_name_line_and_column() {
        let unknown = "[[principal]]\nid = \"a\"\ncolour = \"red\"\n";
        let e = IdentityMap::parse("f.toml", unknown).unwrap_err();
        assert_eq!((e.line, e.column), (3, 1), "{e}");
        assert!(e.message.contains("colour"), "{e}");

        let cidr = "[[principal]]\nid = \"a\"\naddresses = [\"10.0.0.0/33\"]\n";
        let e = IdentityMap::parse("f.toml", cidr).unwrap_err();
        assert_eq!((e.line, e.column), (3, 14), "{e}");
        assert!(e.to_string().starts_with("f.toml:3:14: "), "{e}");

        let twice = "[[principal]]\nid = \"a\"\nopcua_users = [\"x\"]\n\
                     [[principal]]\nid = \"b\"\nopcua_users = [\"x\"]\n";
        let e = IdentityMap::parse("f.toml", twice).unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        assert!(e.message.contains("claimed by both a and b"), "{e}");

        let kind = "[[principal]]\nid = \"a\"\nkind = \"robot\"\n";
        assert_eq!(IdentityMap::parse("f.toml", kind).unwrap_err().line, 3);
        let dup = "[[principal]]\nid = \"a\"\n[[principal]]\nid = \"a\"\n";
        assert_eq!(IdentityMap::parse("f.toml", dup).unwrap_err().line, 4);
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("ns=2;s=Line1.*", "ns=2;s=Line1.Oven.SP"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "a-b-b-c"));
        assert!(!wildcard_match("a*b", "a-b-c"));
        assert!(!wildcard_match("Line1", "Line10"));
    }
}
