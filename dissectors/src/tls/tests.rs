use super::*;

/// Made with `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj
/// "/O=Plant/CN=hmi-7" -addext "1.3.6.1.4.1.50316.802.1=ASN1:UTF8String:engineer" -addext
/// "extendedKeyUsage=clientAuth" -days 30 -outform DER` (458 bytes).
const HMI7: &[u8] = include_bytes!("testdata/hmi-7.der");

/// A ClientHello body offering TLS 1.3 and 1.2 through supported_versions.
fn client_hello_body() -> Vec<u8> {
    let mut b = vec![0x03, 0x03]; // legacy_version TLS 1.2
    b.extend_from_slice(&[0x11; 32]); // random
    b.extend_from_slice(&[0x00]); // legacy_session_id: empty
    b.extend_from_slice(&[0x00, 0x06, 0x13, 0x02, 0xc0, 0x2f, 0x00, 0x3b]); // 3 suites
    b.extend_from_slice(&[0x01, 0x00]); // compression: null
    let extensions: &[u8] = &[
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // ec_point_formats: uncompressed
        0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03, // supported_versions 1.3, 1.2
    ];
    b.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    b.extend_from_slice(extensions);
    b
}

/// A ServerHello body choosing `suite`, with supported_versions when `selected` is given.
fn server_hello_body(suite: u16, selected: Option<u16>) -> Vec<u8> {
    let mut b = vec![0x03, 0x03]; // legacy_version
    b.extend_from_slice(&[0x22; 32]); // random
    b.extend_from_slice(&[0x20]); // session id: 32 bytes
    b.extend_from_slice(&[0x33; 32]);
    b.extend_from_slice(&suite.to_be_bytes());
    b.push(0x00); // compression
    if let Some(v) = selected {
        // extensions: supported_versions
        b.extend_from_slice(&[0x00, 0x06, 0x00, 0x2b, 0x00, 0x02]);
        b.extend_from_slice(&v.to_be_bytes());
    }
    b
}

/// Wraps a body in a handshake header.
fn message(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let len = body.len() as u32;
    let mut m = vec![msg_type];
    m.extend_from_slice(&len.to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// Wraps a fragment in a record header.
fn record(content_type: u8, fragment: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type, 0x03, 0x03];
    r.extend_from_slice(&(fragment.len() as u16).to_be_bytes());
    r.extend_from_slice(fragment);
    r
}

#[test]
fn records_frame_and_wait_for_their_bytes() {
    let alert = record(content::ALERT, &[0x02, 0x28]);
    assert_eq!(alert, [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
    let RecordFraming::Record { record, consumed } = frame_record(&alert) else {
        panic!("a record");
    };
    assert_eq!(consumed, 7);
    assert_eq!(record.content_type, content::ALERT);
    assert_eq!(record.version, version::TLS_1_2);
    let parsed = parse_alert(record.fragment).unwrap();
    assert_eq!((parsed.level, parsed.description), (2, 40));
    assert_eq!(parsed.name(), "handshake_failure");
    for n in 0..alert.len() {
        assert!(
            matches!(frame_record(&alert[..n]), RecordFraming::Incomplete { .. }),
            "{n}"
        );
    }
    assert_eq!(
        frame_record(&alert[..3]),
        RecordFraming::Incomplete { needed: 5 }
    );
    assert_eq!(
        frame_record(&alert[..6]),
        RecordFraming::Incomplete { needed: 7 }
    );
    assert!(plausible_record(&alert));
}

#[test]
fn foreign_bytes_are_not_records() {
    assert!(matches!(
        frame_record(b"GET / HTTP/1.1"),
        RecordFraming::Invalid(TlsError::ContentType { content_type: b'G' })
    ));
    // A Modbus MBAP header: transaction 0x0016, protocol 0.
    assert!(matches!(
        frame_record(&[0x00, 0x16, 0x00, 0x00, 0x00, 0x06]),
        RecordFraming::Invalid(TlsError::ContentType { .. })
    ));
    assert!(matches!(
        frame_record(&[0x16, 0x02, 0x00]),
        RecordFraming::Invalid(TlsError::RecordVersion { version: 0x0200 })
    ));
    assert!(matches!(
        frame_record(&[0x17, 0x03, 0x03, 0x48, 0x01]),
        RecordFraming::Invalid(TlsError::RecordLength { length: 0x4801 })
    ));
    assert!(!plausible_record(&[0x17, 0x03, 0x03, 0x00, 0x00]));
    assert_eq!(
        starts_handshake(b"\x00\x01\x00\x00\x00\x06\x01\x06"),
        Some(false)
    );
    assert_eq!(starts_handshake(&[0x16, 0x03]), None);
}

#[test]
fn a_client_hello_reads_version_and_suites() {
    let body = client_hello_body();
    let hello = record(content::HANDSHAKE, &message(handshake::CLIENT_HELLO, &body));
    assert_eq!(starts_handshake(&hello), Some(true));
    let RecordFraming::Record { record, .. } = frame_record(&hello) else {
        panic!("a record");
    };
    let HandshakeFraming::Message { message, consumed } = frame_handshake(record.fragment) else {
        panic!("a message");
    };
    assert_eq!(consumed, record.fragment.len());
    assert_eq!(message.msg_type, handshake::CLIENT_HELLO);
    let ch = parse_client_hello(message.body).unwrap();
    assert_eq!(ch.legacy_version, version::TLS_1_2);
    assert_eq!(ch.suites().collect::<Vec<_>>(), [0x1302, 0xc02f, 0x003b]);
    assert_eq!(ch.max_version(), version::TLS_1_3);
    // Every truncation is an error, never a panic.
    for n in 0..body.len() {
        let short = parse_client_hello(&body[..n]);
        assert!(short.is_err() || n >= 2 + 32 + 1 + 8 + 2, "{n}");
    }
}

#[test]
fn a_server_hello_gives_the_negotiated_version() {
    let tls12 = parse_server_hello(&server_hello_body(0x003b, None)).unwrap();
    assert_eq!(tls12.version(), version::TLS_1_2);
    assert_eq!(tls12.cipher_suite, 0x003b);
    assert_eq!(
        cipher_suite_name(tls12.cipher_suite),
        "TLS_RSA_WITH_NULL_SHA256"
    );
    assert_eq!(null_cipher_mac_len(tls12.cipher_suite), Some(32));

    let tls13 = parse_server_hello(&server_hello_body(0x1302, Some(0x0304))).unwrap();
    assert_eq!(tls13.legacy_version, version::TLS_1_2);
    assert_eq!(tls13.version(), version::TLS_1_3);
    assert_eq!(version_name(tls13.version()), "TLSv1.3");
    assert_eq!(null_cipher_mac_len(tls13.cipher_suite), None);

    let body = server_hello_body(0x1302, Some(0x0304));
    // Cut inside the fixed fields or the extensions: an error. Cut right after the
    // compression method (byte 70): a valid hello without extensions, read as TLS 1.2.
    for n in (0..body.len()).filter(|&n| n != 70) {
        assert!(parse_server_hello(&body[..n]).is_err(), "{n}");
    }
    assert_eq!(
        parse_server_hello(&body[..70]).unwrap().version(),
        version::TLS_1_2
    );
}

/// The fixed fields of a TLS 1.3 ServerHello: legacy_version 1.2, `random`, a 32-byte
/// legacy_session_id_echo, `suite`, compression null; then `extensions` behind their length.
fn tls13_server_hello(random: &[u8; 32], suite: u16, extensions: &[u8]) -> Vec<u8> {
    let mut b = vec![0x03, 0x03]; // legacy_version TLS 1.2
    b.extend_from_slice(random);
    b.push(0x20); // legacy_session_id_echo: 32 bytes
    b.extend_from_slice(&[0x44; 32]);
    b.extend_from_slice(&suite.to_be_bytes()); // cipher_suite
    b.push(0x00); // legacy_compression_method: null
    b.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    b.extend_from_slice(extensions);
    b
}

#[test]
fn a_tls13_server_hello_reads_its_version_after_other_extensions() {
    let mut extensions = vec![
        0x00, 0x33, 0x00, 0x24, // key_share, 36 bytes
        0x00, 0x1d, 0x00, 0x20, // x25519, a 32-byte key
    ];
    extensions.extend_from_slice(&[0x55; 32]);
    extensions.extend_from_slice(&[
        0x00, 0x2b, 0x00, 0x02, // supported_versions, 2 bytes
        0x03, 0x04, // selected_version TLS 1.3
    ]);
    let body = tls13_server_hello(&[0x22; 32], 0x1301, &extensions);
    let hello = parse_server_hello(&body).unwrap();
    assert_eq!(hello.legacy_version, version::TLS_1_2);
    assert_eq!(hello.cipher_suite, 0x1301); // TLS_AES_128_GCM_SHA256
    assert_eq!(hello.selected_version, Some(version::TLS_1_3));
    assert_eq!(hello.version(), version::TLS_1_3);
}

#[test]
fn a_hello_retry_request_reads_as_a_server_hello() {
    // RFC 8446 4.1.3: a ServerHello whose random is SHA-256("HelloRetryRequest").
    const HRR_RANDOM: [u8; 32] = [
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8,
        0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8,
        0x33, 0x9c,
    ];
    let extensions = [
        0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, // supported_versions: TLS 1.3
        0x00, 0x33, 0x00, 0x02, 0x00, 0x17, // key_share: the group wanted, secp256r1, no key
        0x00, 0x2c, 0x00, 0x06, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef, // cookie, 4 bytes
    ];
    let body = tls13_server_hello(&HRR_RANDOM, 0x1302, &extensions);
    let hrr = parse_server_hello(&body).unwrap();
    assert_eq!(hrr.cipher_suite, 0x1302); // TLS_AES_256_GCM_SHA384
    assert_eq!(hrr.selected_version, Some(version::TLS_1_3));
    assert_eq!(hrr.version(), version::TLS_1_3);
}

#[test]
fn a_tls13_draft18_server_hello_reads_its_version_and_suite() {
    let mut body = vec![0x7f, 0x12]; // version: TLS 1.3 draft 18
    body.extend_from_slice(&[0x22; 32]); // random; no session id in this draft
    body.extend_from_slice(&[0x13, 0x01]); // cipher_suite; no compression either
    body.extend_from_slice(&[0x00, 0x00]); // extensions: none
    let hello = parse_server_hello(&body).unwrap();
    assert_eq!((hello.version(), hello.cipher_suite), (0x7f12, 0x1301));
}

#[test]
fn malformed_hellos_say_which_field() {
    // A ClientHello with a 33-byte session id (at most 32).
    let mut body = client_hello_body();
    body[34] = 33;
    body.splice(35..35, [0x00]);
    assert_eq!(
        parse_client_hello(&body).unwrap_err().to_string(),
        "tls: ClientHello is malformed at offset 34: legacy_session_id is longer than 32 bytes"
    );
    // Cipher suites of odd length: 5 bytes at offset 37.
    let mut body = client_hello_body();
    body[36] = 5;
    assert_eq!(
        parse_client_hello(&body).unwrap_err().to_string(),
        "tls: ClientHello is malformed at offset 37: cipher_suites or compression_methods \
         overruns the body, or a suite is cut in half"
    );
    // supported_versions whose list length (3) disagrees with its data (5 bytes).
    let mut body = client_hello_body();
    let at = body.len() - 5;
    body[at] = 3;
    assert_eq!(
        parse_client_hello(&body).unwrap_err().to_string(),
        "tls: supported_versions is malformed at offset 4: the list's length byte does not \
         match the extension's length"
    );
    // A ServerHello with legacy_version 1.3 (RFC 8446 fixes it at 1.2).
    let mut body = server_hello_body(0x1301, Some(0x0304));
    body[1] = 0x04;
    assert_eq!(
        parse_server_hello(&body).unwrap_err().to_string(),
        "tls: ServerHello is malformed at offset 0: legacy_version is not SSL 3.0 to TLS 1.2 \
         (nor TLS 1.3 draft 18)"
    );
    // A ServerHello whose supported_versions holds a list, not one version.
    let body = tls13_server_hello(
        &[0x22; 32],
        0x1301,
        &[0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04],
    );
    assert_eq!(
        parse_server_hello(&body).unwrap_err().to_string(),
        "tls: supported_versions is malformed at offset 2: a ServerHello's extension holds \
         exactly one two-byte version"
    );
}

#[test]
fn suite_facts() {
    assert_eq!(null_cipher_mac_len(0x0001), Some(16)); // NULL_MD5
    assert_eq!(null_cipher_mac_len(0x0002), Some(20)); // NULL_SHA
    assert_eq!(null_cipher_mac_len(0xc010), Some(20)); // ECDHE_RSA NULL_SHA
    assert_eq!(null_cipher_mac_len(0x00b1), Some(48)); // PSK NULL_SHA384
    assert_eq!(null_cipher_mac_len(0xc02f), None);
    assert_eq!(null_cipher_mac_len(0x0000), None);
    assert_eq!(
        cipher_suite_name(0xc02f),
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    );
    assert_eq!(cipher_suite_name(0xabcd), "0xabcd");
    assert_eq!(version_name(0x0302), "TLSv1.1");
}

#[test]
fn a_certificate_message_spanning_records_yields_its_der() {
    // certificate_list: 24-bit total, then each certificate with a 24-bit length.
    let mut body = Vec::new();
    let list_len = (3 + HMI7.len()) as u32;
    body.extend_from_slice(&list_len.to_be_bytes()[1..]);
    body.extend_from_slice(&(HMI7.len() as u32).to_be_bytes()[1..]);
    body.extend_from_slice(HMI7);
    let msg = message(handshake::CERTIFICATE, &body);

    // Split across two records, as a stack may do: the caller joins the fragments.
    let (a, b) = msg.split_at(100);
    let mut stream = record(content::HANDSHAKE, a);
    stream.extend(record(content::HANDSHAKE, b));
    let mut joined = Vec::new();
    let mut rest = &stream[..];
    while let RecordFraming::Record { record, consumed } = frame_record(rest) {
        joined.extend_from_slice(record.fragment);
        rest = &rest[consumed..];
    }
    assert!(rest.is_empty());
    assert!(matches!(
        frame_handshake(a),
        HandshakeFraming::Incomplete { needed } if needed == msg.len()
    ));
    let HandshakeFraming::Message { message, .. } = frame_handshake(&joined) else {
        panic!("a message");
    };
    let chain = parse_certificate(message.body).unwrap();
    assert_eq!(chain.leaf(), Some(HMI7));
    assert_eq!(chain.certificates().count(), 1);

    // A client without a certificate sends an empty list.
    assert_eq!(parse_certificate(&[0, 0, 0]).unwrap().leaf(), None);
    // An entry longer than the list is refused.
    let mut broken = body.clone();
    broken[5] = broken[5].wrapping_add(1);
    assert_eq!(
        parse_certificate(&broken),
        Err(TlsError::Truncated {
            what: "certificate_list",
            offset: 0
        })
    );
    assert!(matches!(
        parse_certificate(&[0, 0, 0, 9]),
        Err(TlsError::Trailing { extra: 1, .. })
    ));
}

#[test]
fn oversized_handshake_lengths_are_refused() {
    assert!(matches!(
        frame_handshake(&[handshake::CERTIFICATE, 0xff, 0xff, 0xff]),
        HandshakeFraming::Invalid(TlsError::HandshakeLength { length: 0xff_ffff })
    ));
    assert!(parse_alert(&[1]).is_err());
    assert!(parse_alert(&[1, 0, 0]).is_err());
}
