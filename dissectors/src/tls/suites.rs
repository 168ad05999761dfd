//! Cipher suite facts from the IANA TLS registry: the names of common suites, and for the
//! NULL-cipher suites (integrity only, no encryption) the length of the MAC that follows the
//! plaintext in each protected record.
//!
//! Only the suites an industrial TLS stack is likely to negotiate are named; any other code
//! reads as `0xNNNN`, which is still exact. A NULL suite missing from [`null_cipher_mac_len`]
//! would make its session opaque instead of readable: the list below is the registry's full
//! set of NULL-encryption suites with a MAC for TLS 1.0 to 1.2.

/// `(code, IANA name, MAC length if the suite does not encrypt)`.
const SUITES: &[(u16, &str, Option<usize>)] = &[
    (0x0001, "TLS_RSA_WITH_NULL_MD5", Some(16)),
    (0x0002, "TLS_RSA_WITH_NULL_SHA", Some(20)),
    (0x002c, "TLS_PSK_WITH_NULL_SHA", Some(20)),
    (0x002d, "TLS_DHE_PSK_WITH_NULL_SHA", Some(20)),
    (0x002e, "TLS_RSA_PSK_WITH_NULL_SHA", Some(20)),
    (0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", None),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", None),
    (0x003b, "TLS_RSA_WITH_NULL_SHA256", Some(32)),
    (0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", None),
    (0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", None),
    (0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", None),
    (0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", None),
    (0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", None),
    (0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", None),
    (0x00b0, "TLS_PSK_WITH_NULL_SHA256", Some(32)),
    (0x00b1, "TLS_PSK_WITH_NULL_SHA384", Some(48)),
    (0x00b4, "TLS_DHE_PSK_WITH_NULL_SHA256", Some(32)),
    (0x00b5, "TLS_DHE_PSK_WITH_NULL_SHA384", Some(48)),
    (0x00b8, "TLS_RSA_PSK_WITH_NULL_SHA256", Some(32)),
    (0x00b9, "TLS_RSA_PSK_WITH_NULL_SHA384", Some(48)),
    (0x1301, "TLS_AES_128_GCM_SHA256", None),
    (0x1302, "TLS_AES_256_GCM_SHA384", None),
    (0x1303, "TLS_CHACHA20_POLY1305_SHA256", None),
    (0xc001, "TLS_ECDH_ECDSA_WITH_NULL_SHA", Some(20)),
    (0xc006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA", Some(20)),
    (0xc00b, "TLS_ECDH_RSA_WITH_NULL_SHA", Some(20)),
    (0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA", Some(20)),
    (0xc015, "TLS_ECDH_anon_WITH_NULL_SHA", Some(20)),
    (0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", None),
    (0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", None),
    (0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", None),
    (0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", None),
    (0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", None),
    (0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", None),
    (0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", None),
    (0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", None),
    (0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", None),
    (0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", None),
    (0xc039, "TLS_ECDHE_PSK_WITH_NULL_SHA", Some(20)),
    (0xc03a, "TLS_ECDHE_PSK_WITH_NULL_SHA256", Some(32)),
    (0xc03b, "TLS_ECDHE_PSK_WITH_NULL_SHA384", Some(48)),
    (0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", None),
    (
        0xcca9,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        None,
    ),
];

/// The IANA name of a cipher suite, or `0xNNNN` when it is not in the table.
pub fn cipher_suite_name(suite: u16) -> String {
    SUITES.iter().find(|(code, ..)| *code == suite).map_or_else(
        || format!("0x{suite:04x}"),
        |(_, name, _)| (*name).to_owned(),
    )
}

/// For a suite that does not encrypt (TLS 1.0–1.2 NULL cipher), the length of the MAC that
/// follows the plaintext in each protected record; `None` for any suite that encrypts, and
/// for TLS_NULL_WITH_NULL_NULL, which is never negotiated.
pub fn null_cipher_mac_len(suite: u16) -> Option<usize> {
    SUITES
        .iter()
        .find(|(code, ..)| *code == suite)
        .and_then(|(.., mac)| *mac)
}
