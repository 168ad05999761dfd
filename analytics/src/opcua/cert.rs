//! X.509 certificates seen in OPC UA traffic (OpenSecureChannel sender certificate, X509
//! user tokens, CreateSession certificates): thumbprints and the facts a credential row keeps.

use sha1::Sha1;
use sha2::{Digest, Sha256};

/// What a certificate says about its holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// SHA-256 of the DER, lowercase hex.
    pub sha256: String,
    /// SHA-1 of the DER, lowercase hex (the OPC UA thumbprint).
    pub sha1: String,
    /// RFC 2253 style (`CN=panel-3,O=Plant`), when the DER parses.
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub not_before_us: Option<i64>,
    pub not_after_us: Option<i64>,
    /// The application URI of the subject alternative name, when present.
    pub application_uri: Option<String>,
}

impl CertInfo {
    /// Reads `der` (the first certificate of a chain); thumbprints are taken even when the
    /// DER does not parse, so a broken certificate is still a recognisable credential.
    pub fn from_der(data: &[u8]) -> CertInfo {
        let der = dissectors::opcua::transport::first_der(data).unwrap_or(data);
        let mut info = CertInfo {
            sha256: hex::encode(Sha256::digest(der)),
            sha1: hex::encode(Sha1::digest(der)),
            subject: None,
            issuer: None,
            not_before_us: None,
            not_after_us: None,
            application_uri: None,
        };
        if let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) {
            info.subject = Some(rfc2253(cert.subject()));
            info.issuer = Some(rfc2253(cert.issuer()));
            let validity = cert.validity();
            info.not_before_us = validity.not_before.timestamp().checked_mul(1_000_000);
            info.not_after_us = validity.not_after.timestamp().checked_mul(1_000_000);
            if let Ok(Some(san)) = cert.subject_alternative_name() {
                info.application_uri = san.value.general_names.iter().find_map(|n| match n {
                    x509_parser::extensions::GeneralName::URI(uri) => Some((*uri).to_owned()),
                    _ => None,
                });
            }
        }
        info
    }
}

/// A distinguished name RFC 2253 style: last RDN first, `,` between them.
fn rfc2253(name: &x509_parser::x509::X509Name<'_>) -> String {
    let registry = x509_parser::objects::oid_registry();
    let mut parts = Vec::new();
    for rdn in name.iter().collect::<Vec<_>>().into_iter().rev() {
        let atvs: Vec<String> = rdn
            .iter()
            .map(|atv| {
                let key = x509_parser::objects::oid2abbrev(atv.attr_type(), registry)
                    .map(str::to_owned)
                    .unwrap_or_else(|_| atv.attr_type().to_id_string());
                let value = atv
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|_| hex::encode(atv.attr_value().data));
                format!("{key}={value}")
            })
            .collect();
        parts.push(atvs.join("+"));
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made with `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj
    /// "/O=Plant/CN=hmi-9" -addext "subjectAltName=URI:urn:plant:hmi-9,DNS:hmi-9" -days 30
    /// -outform DER`; the expected values are what `openssl x509 -noout -fingerprint -dates`
    /// printed for it.
    const HMI9: &[u8] = include_bytes!("testdata/hmi-9.der");

    #[test]
    fn an_openssl_certificate_reads() {
        let info = CertInfo::from_der(HMI9);
        assert_eq!(
            info.sha256,
            "8a311e5d25d09068ffe88b35754ba0214195ff3f97a48091c40526e0ac3feb3c"
        );
        assert_eq!(info.sha1, "9c626bcc35c1f69cdd8c73836036fd512758d500");
        assert_eq!(info.subject.as_deref(), Some("CN=hmi-9,O=Plant"));
        assert_eq!(info.issuer.as_deref(), Some("CN=hmi-9,O=Plant"));
        assert_eq!(info.not_after_us, Some(1_798_920_738_000_000));
        assert_eq!(
            info.not_after_us.unwrap() - info.not_before_us.unwrap(),
            30 * 86_400 * 1_000_000
        );
        assert_eq!(info.application_uri.as_deref(), Some("urn:plant:hmi-9"));

        // A chain: only the first certificate counts.
        let mut chain = HMI9.to_vec();
        chain.extend_from_slice(HMI9);
        assert_eq!(CertInfo::from_der(&chain).sha256, info.sha256);
        // Garbage still gets thumbprints, and nothing else.
        let broken = CertInfo::from_der(&HMI9[..100]);
        assert_eq!(broken.subject, None);
        assert_eq!(broken.sha256.len(), 64);
    }
}
