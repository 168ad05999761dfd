//! TLS sessions under Modbus/TCP Security (802) and CIP Security (2221): the handshake's facts
//! on the session, the client certificate as the connection's credential, and the protocol
//! inside read wherever a passive observer can read it.
//!
//! Each direction is cut into records. Until a direction's ChangeCipherSpec (TLS 1.2 and older)
//! or the ServerHello (TLS 1.3) its records are in clear: handshake fragments are joined and cut
//! into messages, so a message spanning records, or records spanning TCP segments, reads whole.
//! The ServerHello fixes version and cipher suite; they go on the `sessions` row as
//! `security_policy` (`TLSv1.2 TLS_RSA_WITH_NULL_SHA256`), with `security_mode` `Sign` for a
//! suite that does not encrypt and `SignAndEncrypt` for one that does (the words OPC UA uses
//! for the same two cases). The client's Certificate message (in clear up to TLS 1.2) becomes a
//! `tls_client_cert` credential row with thumbprints, names, validity and the Modbus role, and
//! every write of the session carries that certificate (see
//! [`crate::session::SessionCx::emit_write`]).
//!
//! Protected records are readable only under a NULL-cipher suite: the fragment is the plaintext
//! followed by the suite's MAC, which is cut off (not checked) and the plaintext goes to the
//! Modbus or EtherNet/IP session, so a write's frame is the frame that completed the TLS record
//! carrying it. With any real cipher, and always under TLS 1.3, the session is opaque: its
//! application records are only counted (client records as other requests, server records as
//! responses), no write row comes from it, and an `opaque_session` alert says so.
//!
//! Alerts: TLS 1.1 or older negotiated (`weak_security`); a client certificate expired or not
//! yet valid at the time of the handshake (`certificate_expired`); opaque session; malformed
//! records. Known shortcomings: an abbreviated (resumed) TLS 1.2 handshake sends no
//! Certificate, so such a connection's writes carry no certificate even under a NULL suite;
//! a conversation joined after its handshake is opaque whatever its suite, since the suite is
//! not known; MACs are not verified, so a forged NULL-cipher record would be read as sent.

pub mod cert;
pub mod recognize;

use dissectors::tls::{
    self, cipher_suite_name, content, frame_handshake, frame_record, handshake,
    null_cipher_mac_len, parse_alert, parse_certificate, parse_client_hello, parse_server_hello,
    plausible_record, version, version_name, HandshakeFraming, RecordFraming, HANDSHAKE_HEADER_LEN,
    MAX_HANDSHAKE_LEN, RECORD_HEADER_LEN,
};

use crate::evidence::{AlertKind, CredentialKind, CredentialRow, Protocol, SessionEnd, Severity};
use crate::flow::Direction;
use crate::opcua::cert::CertInfo;
use crate::reassembly::Chunk;
use crate::session::{ProtocolSession, SessionCx, TransportCertificate};

/// Plaintext waiting for the inner session (an ADU spanning records) before it is given up
/// as a gap. Inner PDUs are far smaller; a session that keeps refusing bytes is broken.
pub const MAX_INNER_PENDING: usize = 1 << 16;

/// Per-direction reading state.
#[derive(Debug, Default)]
struct DirState {
    /// This direction's records are protected (after its ChangeCipherSpec, or TLS 1.3).
    protected: bool,
    /// Scanning for the next record header after a gap, malformed bytes or a mid-way start.
    resync: bool,
    /// Joined after the handshake: the suite is unknown, so nothing protected is readable.
    joined_mid_way: bool,
    /// Handshake bytes (joined record fragments) not yet cut into messages.
    handshake: Vec<u8>,
    /// The handshake bytes stopped making sense; further handshake records are skipped.
    handshake_broken: bool,
    /// Plaintext the inner session has not used yet.
    plaintext: Vec<u8>,
    /// Protected application records seen but not readable.
    opaque_records: u64,
}

/// The negotiated parameters, once the ServerHello is seen.
#[derive(Clone, Copy, Debug)]
struct Negotiated {
    version: u16,
    suite: u16,
    /// The MAC length of a NULL-cipher suite; `None` when the suite encrypts.
    null_mac: Option<usize>,
}

/// One TLS connection carrying Modbus/TCP or EtherNet/IP.
#[derive(Debug)]
pub struct TlsSession {
    inner: Box<dyn ProtocolSession>,
    inner_protocol: Protocol,
    dirs: [DirState; 2],
    offered_version: Option<u16>,
    negotiated: Option<Negotiated>,
    opaque_reported: bool,
    client_certificate: Option<CertInfo>,
}

impl TlsSession {
    /// A TLS session whose application data is `inner_protocol` (Modbus or EtherNet/IP).
    pub fn new(inner_protocol: Protocol) -> TlsSession {
        TlsSession {
            inner: crate::recognize::new_session(inner_protocol),
            inner_protocol,
            dirs: Default::default(),
            offered_version: None,
            negotiated: None,
            opaque_reported: false,
            client_certificate: None,
        }
    }
}

impl ProtocolSession for TlsSession {
    fn on_chunk(&mut self, dir: Direction, chunk: Chunk<'_>, cx: &mut SessionCx<'_>) -> usize {
        match chunk {
            Chunk::Data(data) => self.on_data(dir, data, cx),
            Chunk::Gap { lost } => {
                let state = &mut self.dirs[dir.index()];
                state.resync = true;
                state.handshake.clear();
                state.plaintext.clear();
                // The inner session reports the gap and resynchronises on its own PDUs.
                self.inner.on_chunk(dir, Chunk::Gap { lost }, cx);
                0
            }
        }
    }

    fn on_end(&mut self, end: SessionEnd, cx: &mut SessionCx<'_>) {
        self.inner.on_end(end, cx);
    }

    fn resync(&mut self, dir: Direction) {
        let state = &mut self.dirs[dir.index()];
        state.resync = true;
        state.joined_mid_way = true;
        self.inner.resync(dir);
    }
}

impl TlsSession {
    fn on_data(&mut self, dir: Direction, data: &[u8], cx: &mut SessionCx<'_>) -> usize {
        let mut used = 0;
        while used < data.len() {
            let rest = &data[used..];
            if self.dirs[dir.index()].resync {
                match next_record(rest) {
                    Some(skip) => {
                        used += skip;
                        self.dirs[dir.index()].resync = false;
                    }
                    None => return used + rest.len().saturating_sub(RECORD_HEADER_LEN - 1),
                }
                continue;
            }
            match frame_record(rest) {
                RecordFraming::Record { record, consumed } => {
                    self.record(dir, record, cx);
                    used += consumed;
                }
                RecordFraming::Incomplete { .. } => return used,
                RecordFraming::Invalid(error) => {
                    cx.stats.malformed += 1;
                    let detail = format!("{error}; skipping to the next plausible TLS record");
                    cx.alert(AlertKind::MalformedPdu, Severity::Low, detail);
                    self.dirs[dir.index()].resync = true;
                    used += 1;
                }
            }
        }
        used
    }

    fn record(&mut self, dir: Direction, record: tls::Record<'_>, cx: &mut SessionCx<'_>) {
        let state = &self.dirs[dir.index()];
        if !state.protected && !state.joined_mid_way {
            match record.content_type {
                content::HANDSHAKE => self.handshake_fragment(dir, record.fragment, cx),
                // TLS 1.3 sends it only for middlebox compatibility; it changes nothing there.
                content::CHANGE_CIPHER_SPEC
                    if self.negotiated.is_none_or(|n| n.version < version::TLS_1_3) =>
                {
                    self.dirs[dir.index()].protected = true;
                }
                content::ALERT => self.clear_alert(record.fragment, cx),
                content::APPLICATION_DATA => self.opaque_record(dir, cx),
                _ => {}
            }
            return;
        }

        let null_mac = match self.negotiated {
            Some(n) if !state.joined_mid_way && n.version < version::TLS_1_3 => n.null_mac,
            _ => None,
        };
        let Some(mac) = null_mac else {
            if record.content_type == content::APPLICATION_DATA {
                self.opaque_record(dir, cx);
            }
            return;
        };
        let Some(plain) = record
            .fragment
            .len()
            .checked_sub(mac)
            .map(|n| &record.fragment[..n])
        else {
            cx.stats.malformed += 1;
            let detail = format!(
                "TLS record of {} byte(s) is shorter than the {mac}-byte MAC of its NULL suite",
                record.fragment.len()
            );
            cx.alert(AlertKind::MalformedPdu, Severity::Low, detail);
            return;
        };
        match record.content_type {
            content::APPLICATION_DATA => self.inner_data(dir, plain, cx),
            content::HANDSHAKE => self.handshake_fragment(dir, plain, cx),
            content::ALERT => self.clear_alert(plain, cx),
            _ => {}
        }
    }

    /// Plaintext of the protocol inside, handed on in order; what the inner session does not
    /// use yet waits for the next record.
    fn inner_data(&mut self, dir: Direction, plain: &[u8], cx: &mut SessionCx<'_>) {
        let pending = &mut self.dirs[dir.index()].plaintext;
        pending.extend_from_slice(plain);
        let used = self.inner.on_chunk(dir, Chunk::Data(pending), cx);
        pending.drain(..used.min(pending.len()));
        if pending.len() > MAX_INNER_PENDING {
            let lost = pending.len() as u64;
            pending.clear();
            cx.stats.malformed += 1;
            let detail = format!(
                "{lost} byte(s) of {} inside TLS never formed a whole PDU; dropped",
                self.inner_protocol
            );
            cx.alert(AlertKind::MalformedPdu, Severity::Low, detail);
            self.inner.on_chunk(dir, Chunk::Gap { lost }, cx);
        }
    }

    /// A protected application record nobody can read.
    fn opaque_record(&mut self, dir: Direction, cx: &mut SessionCx<'_>) {
        self.dirs[dir.index()].opaque_records += 1;
        match dir {
            Direction::ToServer => cx.stats.other_requests += 1,
            Direction::ToClient => cx.stats.responses += 1,
        }
        self.mark_opaque(cx);
    }

    /// The session's content cannot be read: flag it and say so once.
    fn mark_opaque(&mut self, cx: &mut SessionCx<'_>) {
        cx.stats.opaque = true;
        if self.opaque_reported {
            return;
        }
        self.opaque_reported = true;
        let why = match self.negotiated {
            Some(n) if n.version >= version::TLS_1_3 => format!(
                "TLS 1.3 ({}) encrypts everything after the ServerHello, the client \
                 certificate included",
                cipher_suite_name(n.suite)
            ),
            Some(n) => format!(
                "{} with {} encrypts the application data",
                version_name(n.version),
                cipher_suite_name(n.suite)
            ),
            None => "the TLS handshake was not seen, so the cipher suite is unknown".to_owned(),
        };
        let detail = format!(
            "{} over TLS: {why}; writes in this session cannot be read, verified or attributed",
            self.inner_protocol
        );
        cx.alert(AlertKind::OpaqueSession, Severity::Medium, detail);
    }

    fn clear_alert(&mut self, fragment: &[u8], cx: &mut SessionCx<'_>) {
        if let Err(error) = parse_alert(fragment) {
            cx.stats.malformed += 1;
            cx.alert(AlertKind::MalformedPdu, Severity::Low, error.to_string());
        }
    }

    /// Joins a handshake fragment and reads every whole message it completes.
    fn handshake_fragment(&mut self, dir: Direction, fragment: &[u8], cx: &mut SessionCx<'_>) {
        let state = &mut self.dirs[dir.index()];
        if state.handshake_broken {
            return;
        }
        state.handshake.extend_from_slice(fragment);
        let buffer = std::mem::take(&mut state.handshake);
        let mut at = 0;
        loop {
            match frame_handshake(&buffer[at..]) {
                HandshakeFraming::Message { message, consumed } => {
                    self.handshake_message(dir, message.msg_type, message.body, cx);
                    at += consumed;
                }
                HandshakeFraming::Incomplete { needed } => {
                    debug_assert!(needed <= MAX_HANDSHAKE_LEN + HANDSHAKE_HEADER_LEN);
                    break;
                }
                HandshakeFraming::Invalid(error) => {
                    cx.stats.malformed += 1;
                    let detail = format!("{error}; the rest of this handshake is not read");
                    cx.alert(AlertKind::MalformedPdu, Severity::Low, detail);
                    self.dirs[dir.index()].handshake_broken = true;
                    return;
                }
            }
        }
        let state = &mut self.dirs[dir.index()];
        state.handshake = buffer;
        state.handshake.drain(..at);
    }

    fn handshake_message(
        &mut self,
        dir: Direction,
        msg_type: u8,
        body: &[u8],
        cx: &mut SessionCx<'_>,
    ) {
        let result = match (dir, msg_type) {
            (Direction::ToServer, handshake::CLIENT_HELLO) => parse_client_hello(body).map(|h| {
                self.offered_version = Some(h.max_version());
            }),
            (Direction::ToClient, handshake::SERVER_HELLO) => {
                parse_server_hello(body).map(|h| self.server_hello(h, cx))
            }
            (Direction::ToServer, handshake::CERTIFICATE) => parse_certificate(body).map(|chain| {
                if let Some(der) = chain.leaf() {
                    self.client_certificate(der, cx);
                }
            }),
            _ => Ok(()),
        };
        if let Err(error) = result {
            cx.stats.malformed += 1;
            cx.alert(AlertKind::MalformedPdu, Severity::Low, error.to_string());
        }
    }

    fn server_hello(&mut self, hello: tls::ServerHello, cx: &mut SessionCx<'_>) {
        let n = Negotiated {
            version: hello.version(),
            suite: hello.cipher_suite,
            null_mac: null_cipher_mac_len(hello.cipher_suite),
        };
        self.negotiated = Some(n);
        let readable = n.version < version::TLS_1_3 && n.null_mac.is_some();
        cx.stats.set_security_policy(format!(
            "{} {}",
            version_name(n.version),
            cipher_suite_name(n.suite)
        ));
        cx.stats
            .set_security_mode(if readable { "Sign" } else { "SignAndEncrypt" }.to_owned());

        if n.version <= version::TLS_1_1 {
            let offered = self
                .offered_version
                .map_or_else(|| "?".to_owned(), version_name);
            let detail = format!(
                "{} over TLS negotiated {} (client offered up to {offered}); TLS 1.1 and older \
                 are deprecated (RFC 8996)",
                self.inner_protocol,
                version_name(n.version)
            );
            cx.alert(AlertKind::WeakSecurity, Severity::Medium, detail);
        }
        if n.version >= version::TLS_1_3 {
            for state in &mut self.dirs {
                state.protected = true;
            }
        }
        if !readable {
            self.mark_opaque(cx);
        }
    }

    /// The client's own certificate: a credential row, the credential of the session's writes,
    /// and an alert when it is not valid at the time of the handshake.
    fn client_certificate(&mut self, der: &[u8], cx: &mut SessionCx<'_>) {
        let info = CertInfo::from_der(der);
        let role = cert::modbus_role(der);
        let weak = self
            .negotiated
            .is_some_and(|n| n.version <= version::TLS_1_1);

        let seen = format!("{}:{}", CredentialKind::TlsClientCert, info.sha256);
        cx.stats.add_credential(&seen);
        cx.out.credentials.push(CredentialRow {
            at: cx.at,
            session_id: Some(cx.meta.id),
            protocol: cx.meta.protocol,
            kind: CredentialKind::TlsClientCert,
            id: info.sha256.clone(),
            client_ip: Some(cx.meta.endpoints.client_ip),
            subject: info.subject.clone(),
            issuer: info.issuer.clone(),
            not_before_us: info.not_before_us,
            not_after_us: info.not_after_us,
            weak_policy: weak,
            plaintext: false,
            secret_fingerprint: None,
            role,
        });

        let now = cx.at.ts_us;
        let expired = info.not_after_us.is_some_and(|t| t < now);
        let early = info.not_before_us.is_some_and(|t| t > now);
        if expired || early {
            let detail = format!(
                "TLS client certificate {} ({}) is {} at the time of the handshake",
                info.sha256,
                info.subject.as_deref().unwrap_or("subject unreadable"),
                if expired { "expired" } else { "not yet valid" }
            );
            cx.alert(AlertKind::CertificateExpired, Severity::Medium, detail);
        }

        cx.stats.tls_client_cert = Some(Box::new(TransportCertificate {
            sha256: info.sha256.clone(),
            sha1: info.sha1.clone(),
            subject: info.subject.clone(),
        }));
        self.client_certificate = Some(info);
    }
}

/// How far to skip to the next plausible record: a record header followed, after its
/// fragment, by another header or the end of the bytes; `None` when none starts in `data`
/// early enough to be checked yet.
fn next_record(data: &[u8]) -> Option<usize> {
    let last = data.len().checked_sub(RECORD_HEADER_LEN)?;
    (0..=last).find(|&i| {
        let rest = &data[i..];
        plausible_record(rest)
            && match frame_record(rest) {
                RecordFraming::Record { consumed, .. } => {
                    consumed == rest.len() || plausible_record(&rest[consumed..])
                }
                RecordFraming::Incomplete { .. } => true,
                RecordFraming::Invalid(_) => false,
            }
    })
}

#[cfg(test)]
mod tests;
