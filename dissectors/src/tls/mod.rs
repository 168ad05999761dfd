//! TLS (RFC 5246, RFC 8446) as far as a passive observer can read it: the record layer, the
//! handshake framing, ClientHello and ServerHello (version and cipher suite), the Certificate
//! message of TLS 1.2 and older (the client certificate crosses the wire in clear), alerts and
//! ChangeCipherSpec, and the facts about cipher suites needed to read NULL-cipher records.
//!
//! What it does not do: decrypt anything, check signatures or MACs, or read TLS 1.3 beyond its
//! hellos (everything after the ServerHello is encrypted there). Session state (which direction
//! switched to protected records, which suite was chosen) is the caller's: each function here
//! reads one unit from a borrowed slice.
//!
//! Framing follows the layering of the protocol. [`frame_record`] cuts one record off a
//! reassembled stream. Handshake messages may span records (and records may carry several
//! messages): the caller joins the fragments of handshake records and cuts messages off the
//! joined bytes with [`frame_handshake`]. Contract: pure functions of `&[u8]` whose results
//! borrow from it, never panic on any input; incomplete input and bytes that can never be TLS
//! are different answers.
//!
//! The framing of records and handshake messages is our own: recognising TLS by content rests on
//! its plausibility checks and bounds, and on its telling "wait for more" from "never TLS". The
//! bodies of the hellos and of the Certificate message are read with the `tls-parser` crate; a
//! framed body is whole, so a body that crate cannot read, short or not, is a [`TlsError`].

mod suites;

pub use suites::{cipher_suite_name, null_cipher_mac_len};

use thiserror::Error;
use tls_parser::nom;
use tls_parser::nom::error::ErrorKind;
use tls_parser::{
    parse_tls_extension_supported_versions, parse_tls_extension_unknown,
    parse_tls_handshake_client_hello, parse_tls_handshake_msg_certificate,
    parse_tls_handshake_msg_server_hello, RawCertificate, TlsExtension, TlsMessageHandshake,
};

/// Length of a record header: content type, version (2), length (2).
pub const RECORD_HEADER_LEN: usize = 5;

/// Largest record fragment a peer may send: 2^14 plaintext plus 2048 of expansion
/// (RFC 5246 6.2.3; TLS 1.3 allows only 256 of expansion, so this bound covers both).
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// Length of a handshake message header: type and a 24-bit length.
pub const HANDSHAKE_HEADER_LEN: usize = 4;

/// Largest handshake message accepted. Client certificate chains of a few certificates are
/// well under this; a larger length is taken as garbage rather than buffered.
pub const MAX_HANDSHAKE_LEN: usize = 1 << 18;

/// Record content types.
pub mod content {
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APPLICATION_DATA: u8 = 23;
    pub const HEARTBEAT: u8 = 24;
}

/// Handshake message types.
pub mod handshake {
    pub const HELLO_REQUEST: u8 = 0;
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const NEW_SESSION_TICKET: u8 = 4;
    pub const ENCRYPTED_EXTENSIONS: u8 = 8;
    pub const CERTIFICATE: u8 = 11;
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    pub const CERTIFICATE_REQUEST: u8 = 13;
    pub const SERVER_HELLO_DONE: u8 = 14;
    pub const CERTIFICATE_VERIFY: u8 = 15;
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
    pub const FINISHED: u8 = 20;
}

/// Protocol versions as they appear on the wire.
pub mod version {
    pub const SSL_3_0: u16 = 0x0300;
    pub const TLS_1_0: u16 = 0x0301;
    pub const TLS_1_1: u16 = 0x0302;
    pub const TLS_1_2: u16 = 0x0303;
    pub const TLS_1_3: u16 = 0x0304;
}

/// The supported_versions extension (RFC 8446 4.2.1).
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// `SSLv3`, `TLSv1.0` … `TLSv1.3` (OpenSSL's spelling), or `0xNNNN` for anything else.
pub fn version_name(version: u16) -> String {
    match version {
        version::SSL_3_0 => "SSLv3".to_owned(),
        version::TLS_1_0 => "TLSv1.0".to_owned(),
        version::TLS_1_1 => "TLSv1.1".to_owned(),
        version::TLS_1_2 => "TLSv1.2".to_owned(),
        version::TLS_1_3 => "TLSv1.3".to_owned(),
        other => format!("0x{other:04x}"),
    }
}

/// Why bytes can never be the TLS unit asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("tls: record content type {content_type} is not 20..=24")]
    ContentType { content_type: u8 },
    #[error("tls: record version 0x{version:04x} is not SSL 3.0 to TLS 1.3")]
    RecordVersion { version: u16 },
    #[error("tls: record length {length} exceeds {MAX_RECORD_LEN}")]
    RecordLength { length: usize },
    #[error("tls: handshake message length {length} exceeds {MAX_HANDSHAKE_LEN}")]
    HandshakeLength { length: usize },
    #[error("tls: {what} is truncated at offset {offset}")]
    Truncated { what: &'static str, offset: usize },
    #[error("tls: {what} has {extra} unexpected trailing byte(s)")]
    Trailing { what: &'static str, extra: usize },
    #[error("tls: {what} is malformed at offset {offset}: {why}")]
    Malformed {
        what: &'static str,
        offset: usize,
        why: &'static str,
    },
}

/// One record's header fields and its fragment (plaintext or protected, as sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub content_type: u8,
    /// The record-layer version (legacy in TLS 1.3: not the negotiated version).
    pub version: u16,
    pub fragment: &'a [u8],
}

/// What [`frame_record`] found at the start of its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFraming<'a> {
    /// A whole record, `consumed` bytes long with its header.
    Record { record: Record<'a>, consumed: usize },
    /// A prefix of a record; `needed` is the total input length worth waiting for.
    Incomplete { needed: usize },
    /// Not a TLS record, however many bytes follow.
    Invalid(TlsError),
}

/// Frames the record at the start of `input`.
pub fn frame_record(input: &[u8]) -> RecordFraming<'_> {
    if let Err(error) = check_header(input) {
        return RecordFraming::Invalid(error);
    }
    let [content_type, major, minor, hi, lo, ..] = *input else {
        return RecordFraming::Incomplete {
            needed: RECORD_HEADER_LEN,
        };
    };
    let length = usize::from(u16::from_be_bytes([hi, lo]));
    let total = RECORD_HEADER_LEN + length;
    match input.get(RECORD_HEADER_LEN..total) {
        Some(fragment) => RecordFraming::Record {
            record: Record {
                content_type,
                version: u16::from_be_bytes([major, minor]),
                fragment,
            },
            consumed: total,
        },
        None => RecordFraming::Incomplete { needed: total },
    }
}

/// Checks the header fields present in `input` (any prefix of a header is accepted).
fn check_header(input: &[u8]) -> Result<(), TlsError> {
    if let Some(&content_type) = input.first() {
        if !(content::CHANGE_CIPHER_SPEC..=content::HEARTBEAT).contains(&content_type) {
            return Err(TlsError::ContentType { content_type });
        }
    }
    if let Some(&major) = input.get(1) {
        let minor = input.get(2).copied().unwrap_or(0);
        if major != 3 || minor > 4 {
            let version = u16::from_be_bytes([major, minor]);
            return Err(TlsError::RecordVersion { version });
        }
    }
    if let [_, _, _, hi, lo, ..] = *input {
        let length = usize::from(u16::from_be_bytes([hi, lo]));
        if length > MAX_RECORD_LEN {
            return Err(TlsError::RecordLength { length });
        }
    }
    Ok(())
}

/// Whether `input` starts with a whole record header that [`frame_record`] would accept and a
/// non-empty fragment length: the cheap test used to find the next record after a gap.
pub fn plausible_record(input: &[u8]) -> bool {
    input.len() >= RECORD_HEADER_LEN
        && check_header(input).is_ok()
        && u16::from_be_bytes([input[3], input[4]]) > 0
}

/// Whether `input` starts a TLS conversation: a handshake record carrying the start of a
/// ClientHello or ServerHello whose length fits the record. Used to recognise TLS by content;
/// `None` while too few bytes are there to tell.
pub fn starts_handshake(input: &[u8]) -> Option<bool> {
    if check_header(input).is_err() || input.first() != Some(&content::HANDSHAKE) {
        return Some(false);
    }
    let [_, _, _, hi, lo, msg_type, l0, l1, l2, ..] = *input else {
        return None;
    };
    let record_len = usize::from(u16::from_be_bytes([hi, lo]));
    let message_len = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
    let hello = matches!(msg_type, handshake::CLIENT_HELLO | handshake::SERVER_HELLO);
    // A hello holds at least a version and a 32-byte random; it may span records, so its
    // length may exceed the record's, but not the handshake bound.
    Some(
        hello
            && record_len >= HANDSHAKE_HEADER_LEN
            && (34..=MAX_HANDSHAKE_LEN).contains(&message_len),
    )
}

/// One handshake message and its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandshakeMessage<'a> {
    pub msg_type: u8,
    pub body: &'a [u8],
}

/// What [`frame_handshake`] found at the start of joined handshake bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeFraming<'a> {
    Message {
        message: HandshakeMessage<'a>,
        consumed: usize,
    },
    Incomplete {
        needed: usize,
    },
    Invalid(TlsError),
}

/// Frames the handshake message at the start of `input` (the joined fragments of handshake
/// records, in clear).
pub fn frame_handshake(input: &[u8]) -> HandshakeFraming<'_> {
    let [msg_type, l0, l1, l2, ..] = *input else {
        return HandshakeFraming::Incomplete {
            needed: HANDSHAKE_HEADER_LEN,
        };
    };
    let length = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
    if length > MAX_HANDSHAKE_LEN {
        return HandshakeFraming::Invalid(TlsError::HandshakeLength { length });
    }
    let total = HANDSHAKE_HEADER_LEN + length;
    match input.get(HANDSHAKE_HEADER_LEN..total) {
        Some(body) => HandshakeFraming::Message {
            message: HandshakeMessage { msg_type, body },
            consumed: total,
        },
        None => HandshakeFraming::Incomplete { needed: total },
    }
}

/// A tls-parser (nom 7) error over a byte slice.
type ParseError<'a> = nom::Err<nom::error::Error<&'a [u8]>>;

/// The [`TlsError`] for tls-parser's refusal of `input`, which is a whole unit (a framed body,
/// one extension): nom's `Incomplete` means the unit ends early, and an error is placed at the
/// offset where tls-parser stopped and explained by `why` from its kind.
fn refusal(
    what: &'static str,
    input: &[u8],
    error: ParseError<'_>,
    why: fn(ErrorKind) -> &'static str,
) -> TlsError {
    match error {
        nom::Err::Incomplete(_) => TlsError::Truncated {
            what,
            offset: input.len(),
        },
        nom::Err::Error(e) | nom::Err::Failure(e) => TlsError::Malformed {
            what,
            offset: input.len().saturating_sub(e.input.len()),
            why: why(e.code),
        },
    }
}

/// Why tls-parser refused a hello's fixed fields.
fn hello_fault(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Verify => "legacy_session_id is longer than 32 bytes",
        ErrorKind::Tag => "legacy_version is not SSL 3.0 to TLS 1.2 (nor TLS 1.3 draft 18)",
        ErrorKind::LengthValue => {
            "cipher_suites or compression_methods overruns the body, or a suite is cut in half"
        }
        _ => "tls-parser cannot read it",
    }
}

/// Why tls-parser refused a supported_versions extension.
fn versions_fault(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Verify => "the extension is empty",
        ErrorKind::LengthValue => "a version is cut in half",
        _ => "tls-parser cannot read it",
    }
}

/// One extension as found in an extensions block.
#[derive(Clone, Copy)]
struct Extension<'a> {
    /// The whole extension: type, length and data.
    whole: &'a [u8],
    data: &'a [u8],
}

/// Finds extension `wanted` in an extensions block, each extension read by tls-parser without
/// interpreting its data.
fn find_extension<'a>(
    block: &'a [u8],
    wanted: u16,
    what: &'static str,
) -> Result<Option<Extension<'a>>, TlsError> {
    let mut rest = block;
    while !rest.is_empty() {
        let offset = block.len() - rest.len();
        let truncated = TlsError::Truncated { what, offset };
        let Ok((after, TlsExtension::Unknown(ext_type, data))) = parse_tls_extension_unknown(rest)
        else {
            return Err(truncated);
        };
        if ext_type.0 == wanted {
            let whole = rest
                .get(..rest.len().saturating_sub(after.len()))
                .ok_or(truncated)?;
            return Ok(Some(Extension { whole, data }));
        }
        rest = after;
    }
    Ok(None)
}

/// The fields of a ClientHello that matter to an auditor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// `legacy_version`: the highest version offered, unless supported_versions says more.
    pub legacy_version: u16,
    /// The offered cipher suites, two bytes each.
    pub cipher_suites: &'a [u8],
    /// The supported_versions extension's list (two bytes each), when present.
    pub supported_versions: Option<&'a [u8]>,
}

impl ClientHello<'_> {
    /// The offered cipher suites.
    pub fn suites(&self) -> impl Iterator<Item = u16> + '_ {
        pairs(self.cipher_suites)
    }

    /// The highest version offered (supported_versions first, GREASE values ignored).
    pub fn max_version(&self) -> u16 {
        self.supported_versions
            .and_then(|list| pairs(list).filter(|v| v & 0x0f0f != 0x0a0a).max())
            .unwrap_or(self.legacy_version)
    }
}

fn pairs(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
}

/// Reads a ClientHello body.
pub fn parse_client_hello(body: &[u8]) -> Result<ClientHello<'_>, TlsError> {
    let what = "ClientHello";
    let (rest, hello) =
        parse_tls_handshake_client_hello(body).map_err(|e| refusal(what, body, e, hello_fault))?;
    // tls-parser copies the suites out; the field borrows them where tls-parser read them:
    // after the version (2), the random (32), the session id with its length byte, and the
    // suites' own 2-byte length.
    let at = 2 + 32 + 1 + hello.session_id.map_or(0, <[u8]>::len) + 2;
    let cipher_suites = body
        .get(at..at + 2 * hello.ciphers.len())
        .ok_or(TlsError::Malformed {
            what,
            offset: at,
            why: "cipher_suites is not where tls-parser read it",
        })?;
    let supported_versions = match hello.ext {
        // No extensions block, or one that overruns the body (tls-parser leaves it unread).
        None if rest.is_empty() => None,
        None => {
            return Err(TlsError::Truncated {
                what,
                offset: body.len(),
            })
        }
        Some(block) => find_extension(block, EXT_SUPPORTED_VERSIONS, "ClientHello extensions")?
            .map(offered_versions)
            .transpose()?,
    };
    Ok(ClientHello {
        legacy_version: hello.version.0,
        cipher_suites,
        supported_versions,
    })
}

/// The version list of a ClientHello's supported_versions extension: its data after a one-byte
/// length, which must say exactly that many bytes, and which tls-parser must read as whole
/// versions. Offsets count from the start of the extension.
fn offered_versions(ext: Extension<'_>) -> Result<&[u8], TlsError> {
    let what = "supported_versions";
    let Extension { whole, data } = ext;
    let list = match data.split_first() {
        Some((&len, list)) if usize::from(len) == list.len() => list,
        _ => {
            return Err(TlsError::Malformed {
                what,
                offset: 4,
                why: "the list's length byte does not match the extension's length",
            })
        }
    };
    match parse_tls_extension_supported_versions(whole) {
        Ok((_, TlsExtension::SupportedVersions(versions))) if 2 * versions.len() == list.len() => {
            Ok(list)
        }
        Ok(_) => Err(TlsError::Malformed {
            what,
            offset: 5,
            why: "a version is cut in half",
        }),
        Err(e) => Err(refusal(what, whole, e, versions_fault)),
    }
}

/// The fields of a ServerHello that fix how the rest of the connection reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerHello {
    pub legacy_version: u16,
    pub cipher_suite: u16,
    /// The supported_versions extension's selected version (TLS 1.3 and later).
    pub selected_version: Option<u16>,
}

impl ServerHello {
    /// The negotiated protocol version.
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }
}

/// Reads a ServerHello body. A TLS 1.3 ServerHello and a HelloRetryRequest (a ServerHello with
/// a fixed random) read as TLS 1.2 ones do, with the version in supported_versions; the
/// ServerHello of TLS 1.3 draft 18 (no session id, no compression) reads too.
pub fn parse_server_hello(body: &[u8]) -> Result<ServerHello, TlsError> {
    let what = "ServerHello";
    let (rest, message) = parse_tls_handshake_msg_server_hello(body)
        .map_err(|e| refusal(what, body, e, hello_fault))?;
    let (legacy_version, cipher, ext) = match message {
        TlsMessageHandshake::ServerHello(h) => (h.version, h.cipher, h.ext),
        TlsMessageHandshake::ServerHelloV13Draft18(h) => (h.version, h.cipher, h.ext),
        _ => {
            return Err(TlsError::Malformed {
                what,
                offset: 0,
                why: "tls-parser read another message",
            })
        }
    };
    let selected_version = match ext {
        // No extensions block (or SSL 3.0, whose extensions tls-parser leaves unread), or one
        // that overruns the body.
        None if rest.is_empty() || legacy_version.0 == version::SSL_3_0 => None,
        None => {
            return Err(TlsError::Truncated {
                what,
                offset: body.len(),
            })
        }
        Some(block) => find_extension(block, EXT_SUPPORTED_VERSIONS, "ServerHello extensions")?
            .map(selected_version)
            .transpose()?,
    };
    Ok(ServerHello {
        legacy_version: legacy_version.0,
        cipher_suite: cipher.0,
        selected_version,
    })
}

/// The one version a ServerHello's supported_versions extension selects, read by tls-parser.
/// Offsets count from the start of the extension.
fn selected_version(ext: Extension<'_>) -> Result<u16, TlsError> {
    let what = "supported_versions";
    let Extension { whole, data } = ext;
    let malformed = TlsError::Malformed {
        what,
        offset: 2,
        why: "a ServerHello's extension holds exactly one two-byte version",
    };
    if data.len() != 2 {
        return Err(malformed);
    }
    match parse_tls_extension_supported_versions(whole) {
        Ok((_, TlsExtension::SupportedVersions(versions))) => match versions.as_slice() {
            [selected] => Ok(selected.0),
            _ => Err(malformed),
        },
        Ok(_) => Err(malformed),
        Err(e) => Err(refusal(what, whole, e, versions_fault)),
    }
}

/// The certificate chain of a TLS 1.2 (or older) Certificate message, sender's first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertificateChain<'a> {
    /// The whole message body, checked by [`parse_certificate`].
    body: &'a [u8],
}

impl<'a> CertificateChain<'a> {
    /// The DER certificates, in order.
    pub fn certificates(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        certificate_list(self.body)
            .map(|(_, chain)| chain)
            .unwrap_or_default()
            .into_iter()
            .map(|certificate| certificate.data)
    }

    /// The sender's own certificate (the first one), if the chain is not empty.
    pub fn leaf(&self) -> Option<&'a [u8]> {
        self.certificates().next()
    }
}

/// tls-parser's reading of a Certificate body: what follows the certificate_list, and its
/// entries (it stops quietly at an entry that overruns the list).
fn certificate_list(body: &[u8]) -> Result<(&[u8], Vec<RawCertificate<'_>>), TlsError> {
    let (rest, message) = parse_tls_handshake_msg_certificate(body)
        .map_err(|e| refusal("Certificate", body, e, |_| "tls-parser cannot read it"))?;
    match message {
        TlsMessageHandshake::Certificate(contents) => Ok((rest, contents.cert_chain)),
        _ => Err(TlsError::Malformed {
            what: "Certificate",
            offset: 0,
            why: "tls-parser read another message",
        }),
    }
}

/// Reads a TLS 1.2 (or older) Certificate message body; an empty chain is valid (a client
/// asked for a certificate may send none). Each entry is checked to fit the list.
pub fn parse_certificate(body: &[u8]) -> Result<CertificateChain<'_>, TlsError> {
    let (rest, chain) = certificate_list(body)?;
    if !rest.is_empty() {
        return Err(TlsError::Trailing {
            what: "Certificate",
            extra: rest.len(),
        });
    }
    // The list is the body after its 3-byte length; the entries read must cover all of it.
    let read: usize = chain.iter().map(|c| 3 + c.data.len()).sum();
    if read != body.len().saturating_sub(3) {
        return Err(TlsError::Truncated {
            what: "certificate_list",
            offset: read,
        });
    }
    Ok(CertificateChain { body })
}

/// An alert record's content, when readable (before protection or under a NULL cipher).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alert {
    /// 1 warning, 2 fatal.
    pub level: u8,
    pub description: u8,
}

impl Alert {
    /// The alert's name from RFC 8446 6 and RFC 5246 7.2, or `alert N`.
    pub fn name(&self) -> String {
        let name = match self.description {
            0 => "close_notify",
            10 => "unexpected_message",
            20 => "bad_record_mac",
            22 => "record_overflow",
            40 => "handshake_failure",
            42 => "bad_certificate",
            43 => "unsupported_certificate",
            44 => "certificate_revoked",
            45 => "certificate_expired",
            46 => "certificate_unknown",
            47 => "illegal_parameter",
            48 => "unknown_ca",
            49 => "access_denied",
            50 => "decode_error",
            51 => "decrypt_error",
            70 => "protocol_version",
            71 => "insufficient_security",
            80 => "internal_error",
            86 => "inappropriate_fallback",
            90 => "user_canceled",
            100 => "no_renegotiation",
            109 => "missing_extension",
            110 => "unsupported_extension",
            112 => "unrecognized_name",
            116 => "certificate_required",
            120 => "no_application_protocol",
            other => return format!("alert {other}"),
        };
        name.to_owned()
    }
}

/// Reads a plaintext alert (level and description).
pub fn parse_alert(fragment: &[u8]) -> Result<Alert, TlsError> {
    match *fragment {
        [level, description] => Ok(Alert { level, description }),
        [_] | [] => Err(TlsError::Truncated {
            what: "Alert",
            offset: fragment.len(),
        }),
        [_, _, ..] => Err(TlsError::Trailing {
            what: "Alert",
            extra: fragment.len() - 2,
        }),
    }
}

#[cfg(test)]
mod tests;
