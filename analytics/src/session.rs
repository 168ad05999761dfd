//! What every protocol session shares: its identity and endpoints, its counters, and the
//! context through which a protocol parser emits writes and alerts.
//!
//! A parser never builds evidence rows by hand for the common columns: [`SessionCx::new_write`]
//! fills endpoints and session id, and [`SessionCx::emit_write`] runs attribution and counts.
//! Alerts about a whole session (how many writes nobody can be linked to) are raised once, when
//! the session ends, by [`SessionCx::close`]; per-event alerts are capped per session so one
//! broken device cannot flood the alerts table.

use crate::attribution::Attributor;
use crate::evidence::{
    AlertKind, AlertRow, Attribution, Category, Credential, CredentialKind, DelegationStatus,
    Endpoints, Evidence, FrameRef, Outcome, Protocol, SessionEnd, SessionId, SessionRow, Severity,
    WriteRow,
};
use crate::flow::Direction;
use crate::latency::{elapsed_ns, PacketClock};
use crate::reassembly::{Chunk, StreamStats};
use crate::secrets::SiteKey;

/// A protocol's view of one conversation. The engine owns the flow and its reassembly; the
/// session sees each direction as a byte stream and turns it into rows through [`SessionCx`].
pub trait ProtocolSession: std::fmt::Debug + Send {
    /// Reassembled bytes (or a gap) of one direction; returns how many bytes were used, i.e.
    /// whole PDUs, or bytes skipped while looking for the next PDU. Unused bytes are offered
    /// again, with more behind them, on the next call.
    fn on_chunk(&mut self, dir: Direction, chunk: Chunk<'_>, cx: &mut SessionCx<'_>) -> usize;

    /// The conversation ended: flush what waits for an answer.
    fn on_end(&mut self, end: SessionEnd, cx: &mut SessionCx<'_>);

    /// The direction's stream is joined mid-way: look for the next PDU boundary first.
    fn resync(&mut self, dir: Direction);
}

/// How many alerts of one kind a session raises before it only counts them.
pub const MAX_ALERTS_PER_KIND: u32 = 10;

/// The fixed facts of a session.
#[derive(Clone, Debug)]
pub struct SessionMeta {
    pub id: SessionId,
    pub protocol: Protocol,
    pub endpoints: Endpoints,
    pub first: FrameRef,
}

/// Counters a session accumulates for its `sessions` row and its closing alerts.
#[derive(Clone, Debug, Default)]
pub struct SessionStats {
    pub reads: u64,
    pub writes: u64,
    pub other_requests: u64,
    pub responses: u64,
    pub malformed: u64,
    pub unattributed_writes: u64,
    pub first_unattributed: Option<FrameRef>,
    /// Credentials, security policy and mode, once any is seen (most sessions have none, and
    /// every open flow holds its session's stats): see [`SessionStats::add_credential`].
    security: Option<Box<SessionSecurity>>,
    pub opaque: bool,
    /// The client certificate of the TLS connection under this session, once seen: every
    /// write of the session carries it (see [`SessionCx::emit_write`]). Boxed: most sessions
    /// have none, and every open flow holds its session's stats.
    pub tls_client_cert: Option<Box<TransportCertificate>>,
    /// Alerts raised so far, by kind, for the per-session cap.
    alerts_raised: Vec<(AlertKind, u32)>,
    /// Frame of the last write numbered, and the next item number within it.
    item_frame: FrameRef,
    next_item: u32,
}

/// What a session learned about its protection and who used it.
#[derive(Clone, Debug, Default)]
struct SessionSecurity {
    /// `kind:id` of every credential seen, in order, once each.
    credentials: Vec<String>,
    policy: Option<String>,
    mode: Option<String>,
}

impl SessionStats {
    fn security_mut(&mut self) -> &mut SessionSecurity {
        self.security.get_or_insert_with(Box::default)
    }

    /// Lists a credential (`kind:id`) in the session's row, unless it is already listed.
    pub fn add_credential(&mut self, listed: &str) {
        let credentials = &mut self.security_mut().credentials;
        if !credentials.iter().any(|c| c == listed) {
            credentials.push(listed.to_owned());
        }
    }

    pub fn set_security_policy(&mut self, policy: String) {
        self.security_mut().policy = Some(policy);
    }

    pub fn set_security_mode(&mut self, mode: String) {
        self.security_mut().mode = Some(mode);
    }

    /// The credentials listed so far (`kind:id`).
    pub fn credentials(&self) -> &[String] {
        self.security.as_ref().map_or(&[], |s| &s.credentials)
    }

    pub fn security_policy(&self) -> Option<&str> {
        self.security.as_ref()?.policy.as_deref()
    }

    pub fn security_mode(&self) -> Option<&str> {
        self.security.as_ref()?.mode.as_deref()
    }
}

/// The names of a TLS client certificate that attribution may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportCertificate {
    /// SHA-256 of the DER, lowercase hex: the credential id and `client_certificate`.
    pub sha256: String,
    pub sha1: String,
    pub subject: Option<String>,
}

/// The context a protocol parser works in for one frame.
pub struct SessionCx<'a> {
    pub at: FrameRef,
    pub meta: &'a SessionMeta,
    pub stats: &'a mut SessionStats,
    pub out: &'a mut Evidence,
    pub attributor: &'a Attributor,
    /// Keys fingerprints of secrets seen in this session; `None` when the run has no site
    /// key, and then no fingerprint is made at all (an unkeyed hash would leak the secret).
    pub site_key: Option<&'a SiteKey>,
    /// Present when this frame is one the engine times (see [`crate::latency`]): attribution
    /// adds its time here.
    pub clock: Option<&'a mut PacketClock>,
}

impl SessionCx<'_> {
    /// A write row of this session sent in the current frame, with its "who" columns empty and
    /// its outcome unknown until the parser learns it.
    pub fn new_write(
        &mut self,
        category: Category,
        operation: &'static str,
        function_code: u32,
        target: String,
    ) -> WriteRow {
        if self.stats.item_frame != self.at {
            self.stats.item_frame = self.at;
            self.stats.next_item = 0;
        }
        let item = self.stats.next_item;
        self.stats.next_item += 1;
        WriteRow {
            at: self.at,
            item,
            endpoints: self.meta.endpoints,
            session_id: self.meta.id,
            protocol: self.meta.protocol,
            category,
            operation,
            function_code,
            target,
            value: None,
            outcome: Outcome::Unknown,
            response_ts_us: None,
            credential: None,
            client_certificate: None,
            device_id: None,
            identity: None,
            attribution: Attribution::Unattributed,
            delegation: None,
            delegation_status: DelegationStatus::NoPolicy,
            approved_by: None,
            numeric_values: Vec::new(),
        }
    }

    /// Attributes `write` and adds it to the evidence. A write over a TLS connection whose
    /// client certificate was seen carries it as `client_certificate`, and as its credential
    /// when the protocol inside gave none; the certificate's SHA-1 thumbprint and subject are
    /// names attribution tries too.
    pub fn emit_write(&mut self, mut write: WriteRow) {
        let start = self.clock.is_some().then(std::time::Instant::now);
        match &self.stats.tls_client_cert {
            Some(cert) => {
                write
                    .client_certificate
                    .get_or_insert_with(|| cert.sha256.clone());
                write.credential.get_or_insert_with(|| Credential {
                    kind: CredentialKind::TlsClientCert,
                    id: cert.sha256.clone(),
                });
                let mut aliases = vec![cert.sha1.as_str()];
                aliases.extend(cert.subject.as_deref());
                self.attributor.attribute_with_aliases(&mut write, &aliases);
            }
            None => self.attributor.attribute(&mut write),
        }
        if let (Some(start), Some(clock)) = (start, self.clock.as_deref_mut()) {
            clock.attribute_ns += elapsed_ns(start);
            clock.attributed = true;
        }
        self.stats.writes += 1;
        if write.attribution == Attribution::Unattributed {
            self.stats.unattributed_writes += 1;
            let first = self.stats.first_unattributed.get_or_insert(write.at);
            *first = (*first).min(write.at);
        }
        self.out.writes.push(write);
    }

    /// Raises an alert about this session at the current frame, unless this session already
    /// raised [`MAX_ALERTS_PER_KIND`] of that kind (it is still counted by the caller).
    pub fn alert(&mut self, kind: AlertKind, severity: Severity, detail: String) {
        let raised = match self
            .stats
            .alerts_raised
            .iter_mut()
            .find(|(k, _)| *k == kind)
        {
            Some((_, n)) => n,
            None => {
                self.stats.alerts_raised.push((kind, 0));
                &mut self.stats.alerts_raised.last_mut().expect("just pushed").1
            }
        };
        *raised += 1;
        if *raised > MAX_ALERTS_PER_KIND {
            return;
        }
        let e = &self.meta.endpoints;
        let detail = if *raised == MAX_ALERTS_PER_KIND {
            format!("{detail} (further {kind} alerts of this session are only counted)")
        } else {
            detail
        };
        self.out.alerts.push(AlertRow {
            at: self.at,
            kind,
            severity,
            session_id: Some(self.meta.id),
            protocol: Some(self.meta.protocol),
            client_ip: Some(e.client_ip),
            server_ip: Some(e.server_ip),
            detail,
        });
    }

    /// Emits the `sessions` row and the session-wide alerts.
    pub fn close(
        &mut self,
        end: SessionEnd,
        last: FrameRef,
        streams: [&StreamStats; 2],
        flow_desc: &str,
    ) {
        let s = &*self.stats;
        let gaps = streams[0].gaps + streams[1].gaps;
        let gap_bytes = streams[0].gap_bytes + streams[1].gap_bytes;

        if s.unattributed_writes > 0 {
            let first = s.first_unattributed.unwrap_or(self.meta.first);
            self.out.alerts.push(AlertRow {
                at: first,
                kind: AlertKind::UnattributedWrite,
                severity: Severity::High,
                session_id: Some(self.meta.id),
                protocol: Some(self.meta.protocol),
                client_ip: Some(self.meta.endpoints.client_ip),
                server_ip: Some(self.meta.endpoints.server_ip),
                detail: format!(
                    "{} {} write(s) on {flow_desc} link to no credential and no known address; \
                     the first is frame {}",
                    s.unattributed_writes, self.meta.protocol, first.frame
                ),
            });
        }

        let row = SessionRow {
            session_id: self.meta.id,
            protocol: self.meta.protocol,
            endpoints: self.meta.endpoints,
            first: self.meta.first,
            last,
            end,
            reads: s.reads,
            writes: s.writes,
            other_requests: s.other_requests,
            responses: s.responses,
            malformed: s.malformed,
            credentials: s.credentials().to_vec(),
            security_policy: s.security_policy().map(str::to_owned),
            security_mode: s.security_mode().map(str::to_owned),
            opaque: s.opaque,
            gaps,
            gap_bytes,
            client_bytes: streams[0].bytes,
            server_bytes: streams[1].bytes,
        };
        self.out.sessions.push(row);
    }
}
