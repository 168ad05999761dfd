//! OPC UA binary sessions: chunks joined into messages, secure channels, OPC UA sessions and
//! their users, requests matched to responses, write rows.
//!
//! One [`OpcuaSession`] reads one TCP connection, which carries one secure channel (renewed
//! in place) and any number of OPC UA sessions. Each direction is cut into transport chunks;
//! `C` chunks are joined with their `F` chunk per request id (bounded: [`MAX_MESSAGE_LEN`]
//! bytes each, [`MAX_HELD`] bytes and [`MAX_PARTIAL`] messages in flight), `A` aborts them.
//! A message dropped at a size bound is skipped to its final chunk, never parsed from a part;
//! one pushed out by [`MAX_PARTIAL`] newer ones is forgotten, so its remaining chunks are read
//! as a new message (which then fails to decode, except in contrived cases).
//!
//! Security: the OpenSecureChannel asymmetric header is always in clear, so its policy and
//! sender certificate (credential `opcua_channel_cert`) are read whatever the mode. Under a
//! policy other than None the OPN body is encrypted, so the mode is learned from the first
//! MSG: a Sign chunk starts with a sequence header and a known service type id in clear,
//! while under SignAndEncrypt those bytes are cipher text. Sign chunks lose their signature
//! trailer before joining; SignAndEncrypt channels are opaque: their messages are counted
//! (client chunks as other requests, server chunks as responses), never parsed, and an
//! `opaque_session` alert is raised.
//!
//! Attribution (DESIGN.md, fixtures-pcap README): a write carries the user token in force for
//! its OPC UA session (found through the RequestHeader authentication token), else the
//! request's auditEntryId, else the channel certificate; the channel certificate (or the
//! CreateSession client certificate) is always `client_certificate`. Anonymous tokens are no
//! credential. A password is never kept: with a site key, a password sent in clear is
//! fingerprinted (keyed) and alerted.

pub mod cert;
pub mod recognize;
pub mod render;

use std::collections::VecDeque;

use dissectors::opcua::binary::{lossy, Reader};
use dissectors::opcua::services::{self, id, IdentityToken, ServiceKind};
use dissectors::opcua::transport::{self, Framing, MessageType, HEADER_LEN};

use crate::evidence::{
    AlertKind, AssetRow, Category, Credential, CredentialKind, CredentialRow, Outcome, Protocol,
    SessionEnd, Severity, WriteRow,
};
use crate::flow::Direction;
use crate::reassembly::Chunk;
use crate::session::{ProtocolSession, SessionCx};

use cert::CertInfo;

/// Requests awaiting a response before the oldest is given up.
pub const MAX_PENDING: usize = 1024;
/// Largest message joined from chunks.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;
/// Messages being joined at once, per direction.
pub const MAX_PARTIAL: usize = 64;
/// Bytes held by all the messages being joined on one side: without it, 64 messages of up to
/// [`MAX_MESSAGE_LEN`] could hold a gigabyte per direction of one connection.
pub const MAX_HELD: usize = MAX_MESSAGE_LEN;
/// First chunks that read as no service before a channel of unknown policy is taken as
/// encrypted.
const IMPLAUSIBLE_LIMIT: u32 = 3;

const POLICY_NONE: &str = "http://opcfoundation.org/UA/SecurityPolicy#None";

/// Who a session's user is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Identity {
    /// No ActivateSession seen.
    Unknown,
    Anonymous,
    User(Credential),
}

/// An OPC UA session within the connection.
#[derive(Debug)]
struct UaSession {
    /// The authentication token, rendered.
    token: String,
    identity: Identity,
}

/// The secure channel of the connection.
#[derive(Debug, Default)]
struct Channel {
    id: Option<u32>,
    policy: Option<String>,
    /// 1 None, 2 Sign, 3 SignAndEncrypt, when known.
    mode: Option<u32>,
    /// Whether MSG bodies can be read; `None` until decided.
    readable: Option<bool>,
    implausible: u32,
    token_id: Option<u32>,
    renewals: u32,
    client_cert: Option<CertInfo>,
}

impl Channel {
    fn policy_is_none(&self) -> bool {
        self.policy.as_deref() == Some(POLICY_NONE)
    }

    /// Bytes of the signature trailer of a symmetric Sign chunk.
    fn signature_len(&self) -> usize {
        match self.policy.as_deref() {
            None => 0,
            Some(p) if p == POLICY_NONE => 0,
            Some(p) if p.ends_with("#Basic128Rsa15") || p.ends_with("#Basic256") => 20,
            Some(p) if p.contains("P384") => 48,
            Some(_) => 32,
        }
    }
}

/// A message being joined from chunks.
#[derive(Debug)]
struct Partial {
    request_id: u32,
    bytes: Vec<u8>,
    /// Over a bound and dropped: its later chunks are skipped, its final chunk ends it.
    dropped: bool,
}

/// A request awaiting its response.
#[derive(Debug)]
struct Pending {
    request_id: u32,
    service: u32,
    rows: Vec<WriteRow>,
    /// For ActivateSession: the session's token and the identity it asks for.
    activation: Option<(String, Identity)>,
    /// For CloseSession: the session's token.
    closing: Option<String>,
    gap_after: bool,
}

/// The session token and auditEntryId of a request: what its rows are attributed by.
#[derive(Clone, Copy, Debug)]
struct Who<'a> {
    token: &'a str,
    audit: Option<&'a str>,
}

/// The state of one OPC UA TCP connection.
#[derive(Debug, Default)]
pub struct OpcuaSession {
    resync: [bool; 2],
    partial: [Vec<Partial>; 2],
    channel: Channel,
    sessions: Vec<UaSession>,
    pending: VecDeque<Pending>,
    /// Thumbprint of the client certificate of CreateSession, when no channel one is known.
    session_cert: Option<String>,
    audit_ids: Vec<String>,
    /// Issued token types announced by the server's endpoints, by user token policy id.
    issued_types: Vec<(String, String)>,
    opaque_messages: [u64; 2],
    weak_reported: bool,
    opaque_reported: bool,
    flood_reported: bool,
}

impl ProtocolSession for OpcuaSession {
    fn on_chunk(&mut self, dir: Direction, chunk: Chunk<'_>, cx: &mut SessionCx<'_>) -> usize {
        match chunk {
            Chunk::Data(data) => self.on_data(dir, data, cx),
            Chunk::Gap { lost } => {
                self.resync[dir.index()] = true;
                self.partial[dir.index()].clear();
                if dir == Direction::ToClient {
                    for p in &mut self.pending {
                        p.gap_after = true;
                    }
                }
                if lost > 0 {
                    let side = match dir {
                        Direction::ToServer => "client",
                        Direction::ToClient => "server",
                    };
                    let detail = format!(
                        "{lost} byte(s) of the {side} stream were not captured; \
                         OPC UA messages in them are missing from the evidence"
                    );
                    cx.alert(AlertKind::ReassemblyGap, Severity::Medium, detail);
                }
                0
            }
        }
    }

    fn on_end(&mut self, end: SessionEnd, cx: &mut SessionCx<'_>) {
        let followed = matches!(end, SessionEnd::Fin | SessionEnd::Reset | SessionEnd::Idle);
        for pending in std::mem::take(&mut self.pending) {
            let outcome = if followed && !pending.gap_after {
                Outcome::NoResponse
            } else {
                Outcome::Unknown
            };
            for mut row in pending.rows {
                row.outcome = outcome.clone();
                cx.emit_write(row);
            }
        }
    }

    fn resync(&mut self, dir: Direction) {
        self.resync[dir.index()] = true;
    }
}

impl OpcuaSession {
    fn on_data(&mut self, dir: Direction, data: &[u8], cx: &mut SessionCx<'_>) -> usize {
        let mut used = 0;
        while used < data.len() {
            let rest = &data[used..];
            if self.resync[dir.index()] {
                let channel = self.channel.id;
                let found = (0..rest.len().saturating_sub(HEADER_LEN + 3))
                    .find(|&i| transport::plausible_header(&rest[i..], channel));
                match found {
                    Some(skip) => {
                        used += skip;
                        self.resync[dir.index()] = false;
                    }
                    None => return used + rest.len().saturating_sub(HEADER_LEN + 3),
                }
                continue;
            }
            match transport::frame_message(rest) {
                Framing::Chunk {
                    header,
                    body,
                    consumed,
                } => {
                    self.chunk(dir, header, body, cx);
                    used += consumed;
                }
                Framing::Incomplete { .. } => return used,
                Framing::Invalid(error) => {
                    cx.stats.malformed += 1;
                    let detail = format!("{error}; skipping to the next OPC UA chunk header");
                    cx.alert(AlertKind::MalformedPdu, Severity::Low, detail);
                    self.resync[dir.index()] = true;
                    used += 1;
                }
            }
        }
        used
    }

    fn malformed(&mut self, cx: &mut SessionCx<'_>, detail: String) {
        cx.stats.malformed += 1;
        cx.alert(AlertKind::MalformedPdu, Severity::Low, detail);
    }

    fn chunk(
        &mut self,
        dir: Direction,
        header: transport::Header,
        body: &[u8],
        cx: &mut SessionCx<'_>,
    ) {
        match header.message_type {
            MessageType::Hello => {
                if let Err(e) = transport::parse_hello(body) {
                    self.malformed(cx, format!("{e} (HEL)"));
                }
            }
            MessageType::Acknowledge => {
                if let Err(e) = transport::parse_acknowledge(body) {
                    self.malformed(cx, format!("{e} (ACK)"));
                }
            }
            MessageType::Error => match transport::parse_error(body) {
                Ok((code, reason)) => {
                    // The server gives up on the connection: what waits for an answer fails.
                    for pending in std::mem::take(&mut self.pending) {
                        for mut row in pending.rows {
                            row.outcome = Outcome::Exception(code.to_string());
                            row.response_ts_us = Some(cx.at.ts_us);
                            cx.emit_write(row);
                        }
                    }
                    let reason = lossy(reason.unwrap_or_default()).into_owned();
                    let detail = format!(
                        "OPC UA transport error 0x{code:08x} ({}); the connection ends",
                        reason.chars().take(200).collect::<String>()
                    );
                    cx.alert(AlertKind::MalformedPdu, Severity::Info, detail);
                }
                Err(e) => self.malformed(cx, format!("{e} (ERR)")),
            },
            MessageType::ReverseHello => {
                if let Err(e) = transport::parse_reverse_hello(body) {
                    self.malformed(cx, format!("{e} (RHE)"));
                }
            }
            MessageType::OpenSecureChannel => self.open(dir, header, body, cx),
            MessageType::Message | MessageType::CloseSecureChannel => {
                self.symmetric(dir, header, body, cx)
            }
        }
    }

    /// An OPN chunk: asymmetric header in clear, body readable under policy None (and ECC
    /// policies that only sign it).
    fn open(
        &mut self,
        dir: Direction,
        header: transport::Header,
        body: &[u8],
        cx: &mut SessionCx<'_>,
    ) {
        let chunk = match transport::secure_chunk(MessageType::OpenSecureChannel, body) {
            Ok(c) => c,
            Err(e) => return self.malformed(cx, format!("{e} (OPN)")),
        };
        let Some(asym) = chunk.asymmetric else { return };
        let policy = lossy(asym.policy_uri.unwrap_or_default()).into_owned();
        if self.channel.policy.as_deref() != Some(&policy) {
            // Under policy None every message is in clear, whatever it holds.
            self.channel.readable = (policy == POLICY_NONE).then_some(true);
            self.channel.policy = Some(policy.clone());
            self.channel.implausible = 0;
            cx.stats.set_security_policy(policy.clone());
        }
        if dir == Direction::ToServer {
            cx.stats.other_requests += 1;
            if let Some(der) = asym.sender_certificate.filter(|c| !c.is_empty()) {
                self.channel_certificate(der, cx);
            }
        } else {
            cx.stats.responses += 1;
            // The server's certificate names the server application.
            if let Some(der) = asym.sender_certificate.filter(|c| !c.is_empty()) {
                let info = CertInfo::from_der(der);
                let description = services::ApplicationDescription::default();
                let name = info.application_uri.clone().or(info.subject.clone());
                server_asset(&description, cx);
                if let Some(asset) = cx.out.assets.last_mut() {
                    asset.name = name;
                }
            }
        }
        if header.chunk_type != b'F' {
            return;
        }
        // The body is in clear when its sequence header is followed by an OPN type id.
        let Ok((_, _, rest)) = transport::sequence_header(chunk.payload) else {
            return;
        };
        let Ok((type_id, mut r)) = services::type_id(rest) else {
            return;
        };
        match type_id {
            id::OPEN_SECURE_CHANNEL_REQUEST => {
                if services::request_header(&mut r).is_err() {
                    return;
                }
                if let Ok(req) = services::open_secure_channel_request(&mut r) {
                    if req.request_type == 1 {
                        self.channel.renewals += 1;
                    }
                    self.channel.mode = Some(req.security_mode);
                    cx.stats.set_security_mode(
                        services::security_mode_name(req.security_mode).to_owned(),
                    );
                    if req.security_mode == 3 {
                        self.channel.readable = Some(false);
                    } else if req.security_mode == 1 {
                        self.channel.readable = Some(true);
                    }
                }
            }
            id::OPEN_SECURE_CHANNEL_RESPONSE => {
                if services::response_header(&mut r).is_err() {
                    return;
                }
                if let Ok(token) = services::open_secure_channel_response(&mut r) {
                    self.channel.id = Some(token.channel_id);
                    self.channel.token_id = Some(token.token_id);
                }
            }
            _ => {}
        }
    }

    /// The OpenSecureChannel sender certificate of the client: the `opcua_channel_cert`
    /// credential.
    fn channel_certificate(&mut self, der: &[u8], cx: &mut SessionCx<'_>) {
        let info = CertInfo::from_der(der);
        if self.channel.client_cert.as_ref().map(|c| &c.sha256) == Some(&info.sha256) {
            return;
        }
        let weak = weak_policy(self.channel.policy.as_deref());
        credential_row(
            cx,
            CredentialKind::OpcuaChannelCert,
            &info.sha256,
            Some(&info),
            weak,
            false,
            None,
        );
        expired_check(&info, "OpenSecureChannel sender certificate", cx);
        if let Some(uri) = &info.application_uri {
            client_asset(cx, None, Some(uri.clone()));
        }
        self.channel.client_cert = Some(info);
    }

    fn symmetric(
        &mut self,
        dir: Direction,
        header: transport::Header,
        body: &[u8],
        cx: &mut SessionCx<'_>,
    ) {
        let chunk = match transport::secure_chunk(header.message_type, body) {
            Ok(c) => c,
            Err(e) => return self.malformed(cx, format!("{e} ({})", header.message_type.as_str())),
        };
        if self.channel.id.is_none() {
            self.channel.id = Some(chunk.channel_id);
        }
        if let Some(token) = chunk.token_id {
            self.channel.token_id = Some(token);
        }
        if self.channel.readable == Some(false) {
            return self.opaque_chunk(dir, header, cx);
        }
        let Ok((_, request_id, rest)) = transport::sequence_header(chunk.payload) else {
            return self.malformed(cx, "OPC UA chunk too short for its sequence header".into());
        };
        let signature = if self.channel.readable == Some(true) {
            self.channel.signature_len()
        } else {
            0
        };
        let rest = &rest[..rest.len().saturating_sub(signature)];
        let parts = &mut self.partial[dir.index()];
        let joining = parts.iter().position(|p| p.request_id == request_id);

        // Decide, from a first chunk, whether this channel's bodies are readable.
        if joining.is_none() && self.channel.readable.is_none() && header.chunk_type != b'A' {
            let plausible = services::type_id(rest)
                .ok()
                .and_then(|(t, _)| services::service_kind(t))
                .is_some();
            if plausible {
                self.channel.readable = Some(true);
                if !self.channel.policy_is_none() && self.channel.policy.is_some() {
                    self.channel.mode.get_or_insert(2);
                    if cx.stats.security_mode().is_none() {
                        cx.stats.set_security_mode("Sign".to_owned());
                    }
                }
                // The signature trailer was not cut from this first chunk: cut it now.
                let cut = self.channel.signature_len();
                let rest = &rest[..rest.len().saturating_sub(cut)];
                return self.join(dir, header, request_id, rest, cx);
            }
            self.channel.implausible += 1;
            let known_encrypting = self.channel.policy.is_some() && !self.channel.policy_is_none();
            if known_encrypting || self.channel.implausible >= IMPLAUSIBLE_LIMIT {
                self.channel.readable = Some(false);
                if known_encrypting {
                    self.channel.mode = Some(3);
                    cx.stats.set_security_mode("SignAndEncrypt".to_owned());
                }
                return self.opaque_chunk(dir, header, cx);
            }
            return self.malformed(
                cx,
                "OPC UA message does not start with a service type id".into(),
            );
        }
        self.join(dir, header, request_id, rest, cx)
    }

    /// Joins a readable chunk with those before it; a final chunk completes the message.
    fn join(
        &mut self,
        dir: Direction,
        header: transport::Header,
        request_id: u32,
        rest: &[u8],
        cx: &mut SessionCx<'_>,
    ) {
        let parts = &mut self.partial[dir.index()];
        let joining = parts.iter().position(|p| p.request_id == request_id);
        match header.chunk_type {
            b'A' => {
                if let Some(i) = joining {
                    parts.swap_remove(i);
                }
            }
            b'C' => {
                let i = match joining {
                    Some(i) => i,
                    None => {
                        if parts.len() >= MAX_PARTIAL {
                            parts.remove(0);
                        }
                        parts.push(Partial {
                            request_id,
                            bytes: Vec::new(),
                            dropped: false,
                        });
                        parts.len() - 1
                    }
                };
                let held: usize = parts.iter().map(|p| p.bytes.len()).sum();
                if parts[i].dropped {
                    return;
                }
                let too_long = parts[i].bytes.len() + rest.len() > MAX_MESSAGE_LEN;
                if too_long || held + rest.len() > MAX_HELD {
                    parts[i].dropped = true;
                    parts[i].bytes = Vec::new();
                    let detail = if too_long {
                        too_long_message(request_id)
                    } else {
                        format!(
                            "OPC UA messages being joined on one side exceed {MAX_HELD} bytes in \
                             all; request {request_id} dropped"
                        )
                    };
                    self.malformed(cx, detail);
                } else {
                    parts[i].bytes.extend_from_slice(rest);
                }
            }
            _ => match joining {
                Some(i) => {
                    let mut partial = parts.swap_remove(i);
                    if partial.dropped {
                        return;
                    }
                    if partial.bytes.len() + rest.len() > MAX_MESSAGE_LEN {
                        return self.malformed(cx, too_long_message(request_id));
                    }
                    partial.bytes.extend_from_slice(rest);
                    self.message(dir, request_id, &partial.bytes, cx);
                }
                None => self.message(dir, request_id, rest, cx),
            },
        }
    }

    fn opaque_chunk(&mut self, dir: Direction, header: transport::Header, cx: &mut SessionCx<'_>) {
        cx.stats.opaque = true;
        if header.chunk_type == b'F' {
            self.opaque_messages[dir.index()] += 1;
            match dir {
                Direction::ToServer => cx.stats.other_requests += 1,
                Direction::ToClient => cx.stats.responses += 1,
            }
        }
        if !self.opaque_reported {
            self.opaque_reported = true;
            let policy = self
                .channel
                .policy
                .as_deref()
                .unwrap_or("unknown (no OpenSecureChannel seen)");
            let detail =
                format!(
                "OPC UA secure channel {} uses policy {policy} with SignAndEncrypt: its messages \
                 cannot be read, so writes in it cannot be verified or attributed",
                self.channel.id.map_or_else(|| "?".to_owned(), |i| i.to_string())
            );
            cx.alert(AlertKind::OpaqueSession, Severity::Medium, detail);
        }
    }

    /// A whole message body (type id and service).
    fn message(&mut self, dir: Direction, request_id: u32, body: &[u8], cx: &mut SessionCx<'_>) {
        let (type_id, mut r) = match services::type_id(body) {
            Ok(x) => x,
            Err(e) => return self.malformed(cx, format!("{e} (service type id)")),
        };
        match services::service_kind(type_id) {
            Some(ServiceKind::Request(_)) => self.request(type_id, request_id, &mut r, cx),
            Some(ServiceKind::Response(_) | ServiceKind::Fault) => {
                self.response(type_id, request_id, &mut r, cx)
            }
            None => {
                let _ = dir;
                self.malformed(cx, format!("OPC UA message of unknown type i={type_id}"))
            }
        }
    }

    fn request(
        &mut self,
        type_id: u32,
        request_id: u32,
        r: &mut Reader<'_>,
        cx: &mut SessionCx<'_>,
    ) {
        let header = match services::request_header(r) {
            Ok(h) => h,
            Err(e) => {
                cx.stats.other_requests += 1;
                return self.malformed(cx, format!("{e} (request header of i={type_id})"));
            }
        };
        let token = header.authentication_token.to_string();
        let audit = header
            .audit_entry_id
            .filter(|a| !a.is_empty())
            .map(|a| lossy(a).into_owned());
        if let Some(audit) = &audit {
            if !self.audit_ids.contains(audit) {
                self.audit_ids.push(audit.clone());
                credential_row(
                    cx,
                    CredentialKind::OpcuaAuditEntry,
                    audit,
                    None,
                    false,
                    false,
                    None,
                );
            }
        }
        let mut pending = Pending {
            request_id,
            service: type_id,
            rows: Vec::new(),
            activation: None,
            closing: None,
            gap_after: false,
        };
        let result = match type_id {
            id::WRITE_REQUEST => self.write_rows(
                r,
                Who {
                    token: &token,
                    audit: audit.as_deref(),
                },
                &mut pending.rows,
                cx,
            ),
            id::CALL_REQUEST => self.call_rows(
                r,
                Who {
                    token: &token,
                    audit: audit.as_deref(),
                },
                &mut pending.rows,
                cx,
            ),
            id::ADD_NODES_REQUEST
            | id::DELETE_NODES_REQUEST
            | id::ADD_REFERENCES_REQUEST
            | id::DELETE_REFERENCES_REQUEST
            | id::HISTORY_UPDATE_REQUEST => self.config_rows(
                type_id,
                r,
                Who {
                    token: &token,
                    audit: audit.as_deref(),
                },
                &mut pending.rows,
                cx,
            ),
            id::CREATE_SESSION_REQUEST => {
                cx.stats.other_requests += 1;
                services::create_session_request(r).map(|req| {
                    let name = req
                        .client
                        .application_name
                        .text
                        .map(|t| lossy(t).into_owned());
                    let uri = req.client.application_uri.map(|t| lossy(t).into_owned());
                    if name.is_some() || uri.is_some() {
                        client_asset(cx, name, uri);
                    }
                    if let Some(der) = req.client_certificate.filter(|c| !c.is_empty()) {
                        self.session_cert = Some(CertInfo::from_der(der).sha256);
                    }
                })
            }
            id::ACTIVATE_SESSION_REQUEST => {
                cx.stats.other_requests += 1;
                services::activate_session_request(r).map(|t| {
                    let identity = self.identity(&t, cx);
                    pending.activation = Some((token.clone(), identity));
                })
            }
            id::CLOSE_SESSION_REQUEST => {
                cx.stats.other_requests += 1;
                pending.closing = Some(token.clone());
                Ok(())
            }
            id::READ_REQUEST | id::HISTORY_READ_REQUEST | 527 | 533 | 554 | 615 | 621 => {
                cx.stats.reads += 1;
                Ok(())
            }
            _ => {
                cx.stats.other_requests += 1;
                Ok(())
            }
        };
        if let Err(e) = result {
            self.malformed(cx, format!("{e} (request i={type_id})"));
            // A write-class request whose body is broken is still a write attempt: one row
            // says so, whatever items were read before the error.
            let class = match type_id {
                id::WRITE_REQUEST => Some((Category::Write, "Write")),
                id::CALL_REQUEST => Some((Category::Control, "Call")),
                id::ADD_NODES_REQUEST => Some((Category::Config, "AddNodes")),
                id::DELETE_NODES_REQUEST => Some((Category::Config, "DeleteNodes")),
                id::ADD_REFERENCES_REQUEST => Some((Category::Config, "AddReferences")),
                id::DELETE_REFERENCES_REQUEST => Some((Category::Config, "DeleteReferences")),
                id::HISTORY_UPDATE_REQUEST => Some((Category::Config, "HistoryUpdate")),
                _ => None,
            };
            if let Some((category, operation)) = class {
                pending.rows.clear();
                let target = "(malformed request)".to_owned();
                let row = self.row(
                    category,
                    operation,
                    type_id,
                    target,
                    Who {
                        token: &token,
                        audit: audit.as_deref(),
                    },
                    cx,
                );
                pending.rows.push(row);
            }
        }
        if self.pending.len() >= MAX_PENDING {
            if !self.flood_reported {
                self.flood_reported = true;
                let detail = format!(
                    "client sent more than {MAX_PENDING} OPC UA requests without answers; the \
                     oldest are closed with outcome unknown"
                );
                cx.alert(AlertKind::RequestFlood, Severity::Medium, detail);
            }
            if let Some(oldest) = self.pending.pop_front() {
                for row in oldest.rows {
                    cx.emit_write(row);
                }
            }
        }
        self.pending.push_back(pending);
    }

    /// Remembers the issued token types an endpoint announces (bounded).
    fn learn_policies(&mut self, endpoint: &services::EndpointDescription<'_>) {
        for p in &endpoint.user_token_policies {
            let (Some(id), Some(t)) = (p.policy_id, p.issued_token_type) else {
                continue;
            };
            let id = lossy(id).into_owned();
            if p.token_type == 3
                && self.issued_types.len() < 64
                && !self.issued_types.iter().any(|(i, _)| *i == id)
            {
                self.issued_types.push((id, lossy(t).into_owned()));
            }
        }
    }

    /// The identity a token asks for, with its credential row and password handling.
    fn identity(&mut self, token: &IdentityToken<'_>, cx: &mut SessionCx<'_>) -> Identity {
        let weak = weak_policy(self.channel.policy.as_deref());
        if weak && !self.weak_reported {
            self.weak_reported = true;
            let policy = self.channel.policy.clone().unwrap_or_default();
            let detail = format!("OPC UA session activated over security policy {policy}");
            cx.alert(AlertKind::WeakSecurity, Severity::Medium, detail);
        }
        match token {
            IdentityToken::Anonymous | IdentityToken::Missing => Identity::Anonymous,
            IdentityToken::UserName {
                user_name,
                password,
                encryption_algorithm,
            } => {
                let user = lossy(user_name.unwrap_or_default()).into_owned();
                let in_clear = password.is_some_and(|p| !p.is_empty())
                    && encryption_algorithm.is_none_or(<[u8]>::is_empty);
                let fingerprint = if in_clear {
                    let detail = format!(
                        "OPC UA user {user:?} sent its UserNameIdentityToken secret \
                         unencrypted (policy {}); it is not kept, only a keyed fingerprint \
                         when a site key is set",
                        self.channel.policy.as_deref().unwrap_or("unknown")
                    );
                    cx.alert(AlertKind::PlaintextPassword, Severity::High, detail);
                    cx.site_key.zip(*password).map(|(k, p)| k.fingerprint(p))
                } else {
                    None
                };
                credential_row(
                    cx,
                    CredentialKind::OpcuaUser,
                    &user,
                    None,
                    weak,
                    in_clear,
                    fingerprint,
                );
                Identity::User(Credential {
                    kind: CredentialKind::OpcuaUser,
                    id: user,
                })
            }
            IdentityToken::X509 { certificate } => {
                let info = CertInfo::from_der(certificate.unwrap_or_default());
                credential_row(
                    cx,
                    CredentialKind::OpcuaX509User,
                    &info.sha256,
                    Some(&info),
                    weak,
                    false,
                    None,
                );
                expired_check(&info, "X509 user token certificate", cx);
                Identity::User(Credential {
                    kind: CredentialKind::OpcuaX509User,
                    id: info.sha256,
                })
            }
            IdentityToken::Issued { policy_id, .. } => {
                // The token type, as the endpoint announced it for this policy; the policy
                // id when the endpoints were not seen.
                let policy = lossy(policy_id.unwrap_or_default()).into_owned();
                let id = self
                    .issued_types
                    .iter()
                    .find(|(p, _)| *p == policy)
                    .map_or(policy, |(_, t)| t.clone());
                credential_row(
                    cx,
                    CredentialKind::OpcuaIssued,
                    &id,
                    None,
                    weak,
                    false,
                    None,
                );
                Identity::User(Credential {
                    kind: CredentialKind::OpcuaIssued,
                    id,
                })
            }
            IdentityToken::Unknown(_) => Identity::Unknown,
        }
    }

    /// A new write row carrying the credential in force for the session of `token`.
    fn row(
        &self,
        category: Category,
        operation: &'static str,
        type_id: u32,
        target: String,
        who: Who<'_>,
        cx: &mut SessionCx<'_>,
    ) -> WriteRow {
        let Who { token, audit } = who;
        let mut row = cx.new_write(category, operation, type_id, target);
        let identity = self
            .sessions
            .iter()
            .find(|s| s.token == token)
            .map(|s| &s.identity);
        let channel = self.channel.client_cert.as_ref().map(|c| c.sha256.clone());
        row.client_certificate = channel.clone().or_else(|| self.session_cert.clone());
        row.credential = match identity {
            Some(Identity::User(c)) => Some(c.clone()),
            _ => audit
                .map(|a| Credential {
                    kind: CredentialKind::OpcuaAuditEntry,
                    id: a.to_owned(),
                })
                .or_else(|| {
                    channel.map(|id| Credential {
                        kind: CredentialKind::OpcuaChannelCert,
                        id,
                    })
                }),
        };
        if identity == Some(&Identity::Anonymous) {
            let detail = format!(
                "OPC UA {operation} on {} from an anonymous session",
                row.target
            );
            cx.alert(AlertKind::AnonymousWrite, Severity::Medium, detail);
        }
        row
    }

    fn write_rows(
        &self,
        r: &mut Reader<'_>,
        who: Who<'_>,
        rows: &mut Vec<WriteRow>,
        cx: &mut SessionCx<'_>,
    ) -> Result<(), dissectors::opcua::binary::DecodeError> {
        for value in services::write_request(r)? {
            let mut target = value.node_id.to_string();
            if value.attribute_id != 13 {
                target.push_str(&format!(" attr {}", value.attribute_id));
            }
            if let Some(range) = value.index_range.filter(|r| !r.is_empty()) {
                target.push_str(&format!(" index {}", lossy(range)));
            }
            let mut row = self.row(Category::Write, "Write", id::WRITE_REQUEST, target, who, cx);
            let (text, numbers) = match &value.value.value {
                Some(v) => render::variant(v),
                None => ("null".to_owned(), Vec::new()),
            };
            row.value = Some(text);
            row.numeric_values = numbers;
            rows.push(row);
        }
        Ok(())
    }

    fn call_rows(
        &self,
        r: &mut Reader<'_>,
        who: Who<'_>,
        rows: &mut Vec<WriteRow>,
        cx: &mut SessionCx<'_>,
    ) -> Result<(), dissectors::opcua::binary::DecodeError> {
        for method in services::call_request(r)? {
            let target = method.method_id.to_string();
            let mut row = self.row(Category::Control, "Call", id::CALL_REQUEST, target, who, cx);
            let mut texts = Vec::new();
            for arg in &method.input_arguments {
                let (text, numbers) = render::variant(arg);
                texts.push(text);
                row.numeric_values.extend(numbers);
            }
            row.value = Some(texts.join(","));
            rows.push(row);
        }
        Ok(())
    }

    fn config_rows(
        &self,
        type_id: u32,
        r: &mut Reader<'_>,
        who: Who<'_>,
        rows: &mut Vec<WriteRow>,
        cx: &mut SessionCx<'_>,
    ) -> Result<(), dissectors::opcua::binary::DecodeError> {
        let items: Vec<(&'static str, String, String)> = match type_id {
            id::ADD_NODES_REQUEST => services::add_nodes_request(r)?
                .into_iter()
                .map(|n| {
                    let (ns, name) = n.browse_name;
                    let name = format!("{ns}:{}", lossy(name.unwrap_or_default()));
                    let target = if n.requested_new_node_id.node.is_null() {
                        format!("{}/{name}", n.parent)
                    } else {
                        n.requested_new_node_id.to_string()
                    };
                    let value = format!("class {} parent {} name {name}", n.node_class, n.parent);
                    ("AddNodes", target, value)
                })
                .collect(),
            id::DELETE_NODES_REQUEST => services::delete_nodes_request(r)?
                .into_iter()
                .map(|(node, refs)| {
                    (
                        "DeleteNodes",
                        node.to_string(),
                        format!("delete references {refs}"),
                    )
                })
                .collect(),
            id::ADD_REFERENCES_REQUEST | id::DELETE_REFERENCES_REQUEST => {
                let (op, list) = if type_id == id::ADD_REFERENCES_REQUEST {
                    ("AddReferences", services::add_references_request(r)?)
                } else {
                    ("DeleteReferences", services::delete_references_request(r)?)
                };
                list.into_iter()
                    .map(|i| {
                        let arrow = if i.is_forward { "->" } else { "<-" };
                        (
                            op,
                            i.source.to_string(),
                            format!("{} {arrow} {}", i.reference_type, i.target),
                        )
                    })
                    .collect()
            }
            _ => services::history_update_request(r)?
                .into_iter()
                .map(|(details, node)| {
                    let target =
                        node.map_or_else(|| "(unknown node)".to_owned(), |n| n.to_string());
                    ("HistoryUpdate", target, format!("details i={details}"))
                })
                .collect(),
        };
        for (operation, target, value) in items {
            let mut row = self.row(Category::Config, operation, type_id, target, who, cx);
            row.value = Some(value);
            rows.push(row);
        }
        Ok(())
    }

    fn response(
        &mut self,
        type_id: u32,
        request_id: u32,
        r: &mut Reader<'_>,
        cx: &mut SessionCx<'_>,
    ) {
        cx.stats.responses += 1;
        let index = self.pending.iter().position(|p| p.request_id == request_id);
        let pending = index.and_then(|i| self.pending.remove(i));
        let header = match services::response_header(r) {
            Ok(h) => Some(h),
            Err(e) => {
                self.malformed(cx, format!("{e} (response header of i={type_id})"));
                None
            }
        };
        let service_result = header.as_ref().map(|h| h.service_result);
        let failed = type_id == id::SERVICE_FAULT || service_result.is_some_and(|s| s >> 30 != 0);

        // Per-operation results, when the service has them and the request did not fail.
        let results: Option<Vec<u32>> = if failed || header.is_none() {
            None
        } else {
            match type_id {
                id::WRITE_RESPONSE
                | id::DELETE_NODES_RESPONSE
                | id::ADD_REFERENCES_RESPONSE
                | id::DELETE_REFERENCES_RESPONSE => services::status_response(r).ok(),
                id::CALL_RESPONSE => services::call_response(r).ok(),
                id::ADD_NODES_RESPONSE => services::add_nodes_response(r).ok(),
                id::HISTORY_UPDATE_RESPONSE => services::history_update_response(r).ok(),
                id::CREATE_SESSION_RESPONSE => {
                    match services::create_session_response(r) {
                        Ok(resp) => {
                            let token = resp.authentication_token.to_string();
                            if !self.sessions.iter().any(|s| s.token == token) {
                                self.sessions.push(UaSession {
                                    token,
                                    identity: Identity::Unknown,
                                });
                            }
                            for e in &resp.endpoints {
                                server_asset(&e.server, cx);
                                self.learn_policies(e);
                            }
                        }
                        Err(e) => self.malformed(cx, format!("{e} (CreateSession response)")),
                    }
                    None
                }
                id::GET_ENDPOINTS_RESPONSE => {
                    match services::get_endpoints_response(r) {
                        Ok(endpoints) => {
                            for e in endpoints.iter().take(1) {
                                server_asset(&e.server, cx);
                            }
                            for e in &endpoints {
                                self.learn_policies(e);
                            }
                        }
                        Err(e) => self.malformed(cx, format!("{e} (GetEndpoints response)")),
                    }
                    None
                }
                _ => None,
            }
        };

        let Some(pending) = pending else { return };
        if let Some((token, identity)) = pending.activation {
            if !failed && header.is_some() {
                match self.sessions.iter_mut().find(|s| s.token == token) {
                    Some(s) => s.identity = identity,
                    None => self.sessions.push(UaSession { token, identity }),
                }
            }
        }
        if let Some(token) = pending.closing {
            if !failed {
                self.sessions.retain(|s| s.token != token);
            }
        }
        let _ = pending.service;
        for (i, mut row) in pending.rows.into_iter().enumerate() {
            row.outcome = if failed {
                Outcome::Exception(service_result.unwrap_or(0x8000_0000).to_string())
            } else {
                match results.as_ref().and_then(|r| r.get(i)) {
                    Some(s) if s >> 30 == 0 => Outcome::Ok,
                    Some(s) => Outcome::Exception(s.to_string()),
                    None if header.is_some() && pending.gap_after => Outcome::Unknown,
                    None => Outcome::Unknown,
                }
            };
            row.response_ts_us = Some(cx.at.ts_us);
            cx.emit_write(row);
        }
    }
}

/// Policies that are None or deprecated (SHA-1 based).
fn weak_policy(policy: Option<&str>) -> bool {
    match policy {
        None => false,
        Some(p) => p == POLICY_NONE || p.ends_with("#Basic128Rsa15") || p.ends_with("#Basic256"),
    }
}

#[allow(clippy::too_many_arguments)]
fn credential_row(
    cx: &mut SessionCx<'_>,
    kind: CredentialKind,
    id: &str,
    cert: Option<&CertInfo>,
    weak_policy: bool,
    plaintext: bool,
    secret_fingerprint: Option<String>,
) {
    let seen = format!("{kind}:{id}");
    cx.stats.add_credential(&seen);
    cx.out.credentials.push(CredentialRow {
        at: cx.at,
        session_id: Some(cx.meta.id),
        protocol: Protocol::Opcua,
        kind,
        id: id.to_owned(),
        client_ip: Some(cx.meta.endpoints.client_ip),
        subject: cert.and_then(|c| c.subject.clone()),
        issuer: cert.and_then(|c| c.issuer.clone()),
        not_before_us: cert.and_then(|c| c.not_before_us),
        not_after_us: cert.and_then(|c| c.not_after_us),
        weak_policy,
        plaintext,
        secret_fingerprint,
        role: None,
    });
}

fn expired_check(info: &CertInfo, what: &str, cx: &mut SessionCx<'_>) {
    let now = cx.at.ts_us;
    let expired = info.not_after_us.is_some_and(|t| t < now);
    let early = info.not_before_us.is_some_and(|t| t > now);
    if expired || early {
        let detail = format!(
            "{what} {} ({}) is {} at the time of use",
            info.sha256,
            info.subject.as_deref().unwrap_or("subject unreadable"),
            if expired { "expired" } else { "not yet valid" }
        );
        cx.alert(AlertKind::CertificateExpired, Severity::Medium, detail);
    }
}

fn client_asset(cx: &mut SessionCx<'_>, name: Option<String>, uri: Option<String>) {
    let e = cx.meta.endpoints;
    let name = match (name, uri) {
        (Some(n), Some(u)) => Some(format!("{n} ({u})")),
        (n, u) => n.or(u),
    };
    cx.out.assets.push(AssetRow {
        ip: Some(e.client_ip),
        mac: e.client_mac,
        protocol: Some(Protocol::Opcua),
        role: "client",
        name,
        first: cx.at,
        last: cx.at,
        ..AssetRow::default()
    });
}

fn server_asset(d: &services::ApplicationDescription<'_>, cx: &mut SessionCx<'_>) {
    let e = cx.meta.endpoints;
    let text = |b: Option<&[u8]>| b.filter(|b| !b.is_empty()).map(|b| lossy(b).into_owned());
    let name = match (text(d.application_name.text), text(d.application_uri)) {
        (Some(n), Some(u)) => Some(format!("{n} ({u})")),
        (n, u) => n.or(u),
    };
    cx.out.assets.push(AssetRow {
        ip: Some(e.server_ip),
        mac: e.server_mac,
        protocol: Some(Protocol::Opcua),
        role: "server",
        product: text(d.product_uri),
        name,
        first: cx.at,
        last: cx.at,
        ..AssetRow::default()
    });
}

/// The alert detail of a message dropped for passing [`MAX_MESSAGE_LEN`].
fn too_long_message(request_id: u32) -> String {
    format!("OPC UA message of request {request_id} exceeds {MAX_MESSAGE_LEN} bytes; dropped")
}

#[cfg(test)]
mod tests;
