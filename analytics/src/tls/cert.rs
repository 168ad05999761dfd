//! What a TLS client certificate says beyond what every certificate says (see
//! [`crate::opcua::cert::CertInfo`] for thumbprints, names and validity): the Modbus/TCP
//! Security role.
//!
//! The Modbus/TCP Security specification carries the client's role in a certificate
//! extension, OID 1.3.6.1.4.1.50316.802.1, whose value is a DER UTF8String such as
//! `operator`. A value of another type is reported as unreadable rather than guessed at.

/// The Modbus role extension's OID, dotted.
pub const MODBUS_ROLE_OID: &str = "1.3.6.1.4.1.50316.802.1";

/// The Modbus role a certificate grants: `Some(role)` when the extension is present and a
/// UTF8String, `Some("<unreadable>")` when present in another form, `None` when absent or
/// the DER does not parse.
pub fn modbus_role(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == MODBUS_ROLE_OID)?;
    Some(utf8_string(ext.value).unwrap_or_else(|| "<unreadable>".to_owned()))
}

/// The text of a DER UTF8String (tag 0x0c) that fills `der` exactly.
fn utf8_string(der: &[u8]) -> Option<String> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => (usize::from(*rest.first()?), rest.get(1..)?),
        0x82 => {
            let b = rest.get(..2)?;
            (
                usize::from(u16::from_be_bytes([b[0], b[1]])),
                rest.get(2..)?,
            )
        }
        _ => return None,
    };
    if tag != 0x0c || rest.len() != len {
        return None;
    }
    std::str::from_utf8(rest).ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The certificate of the dissector's tests: made by openssl with
    /// `-addext "1.3.6.1.4.1.50316.802.1=ASN1:UTF8String:engineer"`.
    const HMI7: &[u8] = include_bytes!("../../../dissectors/src/tls/testdata/hmi-7.der");

    /// Made by openssl without the extension (see `opcua::cert`).
    const HMI9: &[u8] = include_bytes!("../opcua/testdata/hmi-9.der");

    #[test]
    fn the_role_extension_reads() {
        assert_eq!(modbus_role(HMI7).as_deref(), Some("engineer"));
        assert_eq!(modbus_role(HMI9), None);
        assert_eq!(modbus_role(&HMI7[..200]), None);
    }

    #[test]
    fn utf8_strings_in_short_and_long_form() {
        assert_eq!(
            utf8_string(b"\x0c\x08operator").as_deref(),
            Some("operator")
        );
        let long = [&[0x0c, 0x81, 0x80][..], &[b'a'; 128]].concat();
        assert_eq!(utf8_string(&long).map(|s| s.len()), Some(128));
        assert_eq!(
            utf8_string(b"\x13\x08operator"),
            None,
            "PrintableString is not UTF8"
        );
        assert_eq!(
            utf8_string(b"\x0c\x09operator"),
            None,
            "length past the end"
        );
        assert_eq!(utf8_string(b""), None);
    }
}
