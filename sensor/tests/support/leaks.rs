//! Where a secret seen on the wire could leak into evidence, and the forms it could take
//! there, for the tests that prove no password reaches evidence in any of them.

use analytics::evidence::Evidence;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Every text the evidence holds: each string column of every table.
pub fn evidence_texts(e: &Evidence) -> Vec<String> {
    let mut texts = Vec::new();
    for w in &e.writes {
        texts.push(w.target.clone());
        texts.extend(w.value.clone());
        texts.push(w.outcome.text());
        texts.extend(w.credential.as_ref().map(|c| c.id.clone()));
        texts.extend(w.client_certificate.clone());
        texts.extend(w.device_id.clone());
        texts.extend(w.identity.clone());
    }
    for s in &e.sessions {
        texts.extend(s.credentials.iter().cloned());
        texts.extend(s.security_policy.clone());
        texts.extend(s.security_mode.clone());
    }
    for a in &e.alerts {
        texts.push(a.detail.clone());
    }
    for c in &e.credentials {
        texts.push(c.id.clone());
        texts.extend(c.subject.clone());
        texts.extend(c.issuer.clone());
        texts.extend(c.secret_fingerprint.clone());
    }
    for a in &e.assets {
        for t in [&a.vendor, &a.product, &a.serial, &a.firmware, &a.name] {
            texts.extend(t.clone());
        }
    }
    texts
}

/// The ways a leaked secret could be written: clear, hex, base64, unkeyed SHA-256.
pub fn leak_forms(secret: &[u8]) -> Vec<String> {
    let digest = Sha256::digest(secret);
    vec![
        String::from_utf8_lossy(secret).into_owned(),
        hex::encode(secret),
        hex::encode_upper(secret),
        STANDARD.encode(secret),
        hex::encode(digest),
        STANDARD.encode(digest),
    ]
}
