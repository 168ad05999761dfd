//! The rows OT Witness produces: one owned struct per evidence table of DESIGN.md.
//!
//! These are plain data. Protocol sessions fill them in, attribution completes the "who" columns
//! of [`WriteRow`], and the sensor's sinks turn them into Parquet. Nothing here knows about
//! Arrow, files or packets. Text enums have a stable `as_str` spelling: those strings are the
//! values auditors query, so they never change meaning.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::IpAddr;

/// Where a row comes from: capture source, 1-based frame number in it, capture time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FrameRef {
    /// Index of the source (capture file or interface) in the run's list of sources.
    pub source: u32,
    /// 1-based frame number in that source, as Wireshark counts.
    pub frame: u64,
    /// Capture timestamp, microseconds since the Unix epoch, UTC.
    pub ts_us: i64,
}

/// The two ends of a protocol session, client first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Endpoints {
    pub client_ip: IpAddr,
    pub client_port: u16,
    pub client_mac: Option<[u8; 6]>,
    pub server_ip: IpAddr,
    pub server_port: u16,
    pub server_mac: Option<[u8; 6]>,
    pub vlan: Option<u16>,
}

/// Renders a MAC address as `02:00:0a:c8:04:66`.
pub fn mac_text(mac: &[u8; 6]) -> String {
    let [a, b, c, d, e, f] = mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The stable spelling used in the evidence.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// Application protocols OT Witness dissects.
    Protocol {
        Modbus => "modbus",
        S7comm => "s7comm",
        S7commPlus => "s7comm-plus",
        Enip => "enip",
        Opcua => "opcua",
    }
);

text_enum!(
    /// What a write changes (DESIGN.md "What counts as a write").
    Category {
        Write => "write",
        Control => "control",
        Program => "program",
        Config => "config",
    }
);

text_enum!(
    /// How a write was linked to a person or system.
    Attribution {
        Attributed => "attributed",
        CredentialOnly => "credential_only",
        NetworkOnly => "network_only",
        Unattributed => "unattributed",
    }
);

text_enum!(
    /// Whether a delegation covers a write.
    DelegationStatus {
        Delegated => "delegated",
        Undelegated => "undelegated",
        Expired => "expired",
        OutOfBounds => "out_of_bounds",
        OverBudget => "over_budget",
        NoPolicy => "no_policy",
    }
);

text_enum!(
    /// Kinds of credential (DESIGN.md "Credentials and attribution").
    CredentialKind {
        OpcuaUser => "opcua_user",
        OpcuaX509User => "opcua_x509_user",
        OpcuaIssued => "opcua_issued",
        OpcuaChannelCert => "opcua_channel_cert",
        TlsClientCert => "tls_client_cert",
        S7Password => "s7_password",
        CipOriginator => "cip_originator",
        OpcuaAuditEntry => "opcua_audit_entry",
        Network => "network",
    }
);

text_enum!(
    /// How serious an alert is.
    Severity {
        Info => "info",
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

text_enum!(
    /// What an alert is about.
    AlertKind {
        UnattributedWrite => "unattributed_write",
        UndelegatedWrite => "undelegated_write",
        ExpiredDelegation => "expired_delegation",
        OutOfBoundsWrite => "out_of_bounds_write",
        OverBudgetWrite => "over_budget_write",
        AnonymousWrite => "anonymous_write",
        PlaintextPassword => "plaintext_password",
        WeakSecurity => "weak_security",
        OpaqueSession => "opaque_session",
        CertificateExpired => "certificate_expired",
        MalformedPdu => "malformed_pdu",
        ReassemblyGap => "reassembly_gap",
        RequestFlood => "request_flood",
        FlowTableFull => "flow_table_full",
        CaptureDamaged => "capture_damaged",
        CaptureDrops => "capture_drops",
        DelegationTie => "delegation_tie",
        EvidencePaused => "evidence_paused",
        EvidenceResumed => "evidence_resumed",
    }
);

text_enum!(
    /// Why a session row was closed.
    SessionEnd {
        Fin => "fin",
        Reset => "rst",
        Idle => "idle_timeout",
        Evicted => "evicted",
        CaptureEnd => "capture_end",
    }
);

/// The result of a write request, from its response or the lack of one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    /// The device refused; the protocol's own code, rendered as that protocol shows it.
    Exception(String),
    /// The session ended (or timed out) with the server direction seen and no answer in it.
    NoResponse,
    /// Nobody can tell: the capture ended first, or the answer fell in a reassembly gap.
    Unknown,
}

impl Outcome {
    /// `ok`, `exception:<code>`, `no_response` or `unknown`.
    pub fn text(&self) -> String {
        match self {
            Outcome::Ok => "ok".to_owned(),
            Outcome::Exception(code) => format!("exception:{code}"),
            Outcome::NoResponse => "no_response".to_owned(),
            Outcome::Unknown => "unknown".to_owned(),
        }
    }
}

/// A credential as a write carries it: what proves or asserts who the client is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Credential {
    pub kind: CredentialKind,
    /// User name, thumbprint, `vendor:serial`, audit entry id, or the keyed fingerprint id.
    pub id: String,
}

/// One row of `writes`.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteRow {
    /// The frame that completed the request.
    pub at: FrameRef,
    /// Position of this write among the writes completed by the same frame (several ADUs or
    /// items in one frame); keeps the evidence order stable.
    pub item: u32,
    pub endpoints: Endpoints,
    pub session_id: SessionId,
    pub protocol: Protocol,
    pub category: Category,
    pub operation: &'static str,
    pub function_code: u32,
    pub target: String,
    pub value: Option<String>,
    pub outcome: Outcome,
    pub response_ts_us: Option<i64>,
    /// The most specific credential of the session when the write was sent.
    pub credential: Option<Credential>,
    /// SHA-256 thumbprint of the client's certificate (TLS or OPC UA channel), when one is known.
    pub client_certificate: Option<String>,
    /// Device or application identity asserted by the client (CIP originator, …).
    pub device_id: Option<String>,
    /// The principal id from the identity map.
    pub identity: Option<String>,
    pub attribution: Attribution,
    pub delegation: Option<String>,
    pub delegation_status: DelegationStatus,
    pub approved_by: Option<String>,
    /// Every number the write sets (registers, coils as 0/1, …), for delegation bounds; empty
    /// when the value is not numeric. Not an evidence column: `value` is its rendering.
    pub numeric_values: Vec<f64>,
}

/// Stable identifier of a protocol session, unique within a sensor's evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SessionId(pub u64);

impl SessionId {
    /// Derived from where the session starts, so it is the same whatever the thread count.
    pub fn derive(source_name: &str, first: FrameRef, endpoints: &Endpoints) -> SessionId {
        use sha2::{Digest, Sha256};

        let mut hasher = Sha256::new();
        hasher.update(source_name.as_bytes());
        hasher.update(first.frame.to_le_bytes());
        hasher.update(format!("{}:{}", endpoints.client_ip, endpoints.client_port));
        hasher.update(format!("{}:{}", endpoints.server_ip, endpoints.server_port));
        let digest = hasher.finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        SessionId(u64::from_be_bytes(id))
    }

    pub fn text(self) -> String {
        format!("{:016x}", self.0)
    }
}

/// One row of `sessions`.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRow {
    pub session_id: SessionId,
    pub protocol: Protocol,
    pub endpoints: Endpoints,
    pub first: FrameRef,
    pub last: FrameRef,
    pub end: SessionEnd,
    pub reads: u64,
    pub writes: u64,
    pub other_requests: u64,
    pub responses: u64,
    pub malformed: u64,
    pub credentials: Vec<String>,
    pub security_policy: Option<String>,
    pub security_mode: Option<String>,
    pub opaque: bool,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub client_bytes: u64,
    pub server_bytes: u64,
}

/// One row of `assets`: a device and what a protocol revealed about it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct AssetRow {
    pub ip: Option<IpAddr>,
    pub mac: Option<[u8; 6]>,
    pub protocol: Option<Protocol>,
    /// `server` or `client`.
    pub role: &'static str,
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub serial: Option<String>,
    pub firmware: Option<String>,
    pub name: Option<String>,
    pub first: FrameRef,
    pub last: FrameRef,
}

/// One row of `alerts`.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRow {
    pub at: FrameRef,
    pub kind: AlertKind,
    pub severity: Severity,
    pub session_id: Option<SessionId>,
    pub protocol: Option<Protocol>,
    pub client_ip: Option<IpAddr>,
    pub server_ip: Option<IpAddr>,
    pub detail: String,
}

/// One row of `credentials`: a credential observed on the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct CredentialRow {
    pub at: FrameRef,
    pub session_id: Option<SessionId>,
    pub protocol: Protocol,
    pub kind: CredentialKind,
    pub id: String,
    pub client_ip: Option<IpAddr>,
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub not_before_us: Option<i64>,
    pub not_after_us: Option<i64>,
    pub weak_policy: bool,
    pub plaintext: bool,
    /// Keyed HMAC-SHA-256 fingerprint of a secret (never the secret, never an unkeyed hash).
    pub secret_fingerprint: Option<String>,
    /// The role a certificate grants, when it says (Modbus/TCP Security role extension).
    pub role: Option<String>,
}

/// Rows gathered by one worker; merged and sorted before they are written.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    pub writes: Vec<WriteRow>,
    pub sessions: Vec<SessionRow>,
    pub assets: Vec<AssetRow>,
    pub alerts: Vec<AlertRow>,
    pub credentials: Vec<CredentialRow>,
}

impl Evidence {
    /// Moves every row of `other` into `self`. An empty table takes the other's as it is,
    /// without copying (the first worker's tables can be hundreds of megabytes).
    pub fn append(&mut self, other: &mut Evidence) {
        fn move_rows<R>(to: &mut Vec<R>, from: &mut Vec<R>) {
            if to.is_empty() {
                std::mem::swap(to, from);
            } else {
                to.append(from);
            }
        }
        move_rows(&mut self.writes, &mut other.writes);
        move_rows(&mut self.sessions, &mut other.sessions);
        move_rows(&mut self.assets, &mut other.assets);
        move_rows(&mut self.alerts, &mut other.alerts);
        move_rows(&mut self.credentials, &mut other.credentials);
    }

    /// Joins the evidence of several shards, each already put in order by [`Evidence::sort`],
    /// into one in that same order. The write rows, by far the most, are merged run by run and
    /// moved once, rather than appended and sorted again; the other tables are appended and
    /// sorted (they are small, and mostly sorted already).
    pub fn merge_sorted(mut parts: Vec<Evidence>) -> Evidence {
        if parts.len() == 1 {
            return parts.pop().unwrap_or_default();
        }
        let mut merged = Evidence::default();
        let total = parts.iter().map(|p| p.writes.len()).sum();
        merged.writes.reserve(total);

        // Each run's next row and its key, the keys kept so that a row's key is computed once.
        let mut runs = Vec::with_capacity(parts.len());
        for mut part in parts {
            runs.push(std::mem::take(&mut part.writes).into_iter());
            merged.append(&mut part);
        }
        let mut heads: BinaryHeap<Reverse<((FrameRef, u32), usize)>> = runs
            .iter_mut()
            .enumerate()
            .filter_map(|(run, rows)| {
                rows.as_slice()
                    .first()
                    .map(|w| Reverse((write_order(w), run)))
            })
            .collect();
        while let Some(Reverse((_, run))) = heads.pop() {
            let Some(row) = runs[run].next() else {
                continue;
            };
            merged.writes.push(row);
            if let Some(next) = runs[run].as_slice().first() {
                heads.push(Reverse((write_order(next), run)));
            }
        }

        merged.sort();
        merged
    }

    /// Puts every table in evidence order (source, frame, item), which does not depend on how
    /// many workers produced the rows, and merges asset rows describing the same device.
    pub fn sort(&mut self) {
        sort_rows_by_key(&mut self.writes, write_order);
        // In place, without the scratch buffer of a stable sort: the key is unique (a frame
        // starts at most one session), so the order is the same.
        self.sessions
            .sort_unstable_by_key(|s| (s.first, s.session_id));
        self.alerts.sort_by(|a, b| {
            (a.at, a.kind, &a.detail, a.session_id).cmp(&(b.at, b.kind, &b.detail, b.session_id))
        });
        self.credentials
            .sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        self.assets = merge_assets(std::mem::take(&mut self.assets));
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
            && self.sessions.is_empty()
            && self.assets.is_empty()
            && self.alerts.is_empty()
            && self.credentials.is_empty()
    }
}

/// The order of write rows in the evidence: by the frame that completed the request, then by
/// the item's place within it. Unique among the rows of a run.
fn write_order(write: &WriteRow) -> (FrameRef, u32) {
    (write.at, write.item)
}

/// Sorts `rows` by `key`, in place, moving only rows that are out of place: write rows are
/// hundreds of bytes, and a comparison sort that swaps them as it goes spent more time moving
/// than comparing. The keys are sorted first; the rows then follow the cycles of the resulting
/// permutation, one swap per misplaced row, without a second buffer of rows. `key` must be
/// unique among the rows (it is for writes: frame and item), so the order is fully determined.
fn sort_rows_by_key<R, K: Ord>(rows: &mut [R], key: impl Fn(&R) -> K) {
    let mut order: Vec<(K, usize)> = rows.iter().enumerate().map(|(i, r)| (key(r), i)).collect();
    if order.windows(2).all(|w| w[0].0 <= w[1].0) {
        return;
    }
    order.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));

    // `source[d]` is where the row that belongs at `d` is now; a place is marked done by
    // pointing it at itself.
    let mut source: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
    for start in 0..source.len() {
        let mut place = start;
        loop {
            let from = source[place];
            source[place] = place;
            if from == start {
                break;
            }
            // `place` takes its row; the row that stood there moves on to `from`, the next
            // place of the cycle, which will be given its own row in turn.
            rows.swap(place, from);
            place = from;
        }
    }
}

/// Folds asset rows of the same (ip, mac, protocol, role) into one, keeping the first seen
/// values and widening the time span.
fn merge_assets(mut rows: Vec<AssetRow>) -> Vec<AssetRow> {
    rows.sort_by(|a, b| {
        (a.ip, a.mac, a.protocol, a.role, a.first).cmp(&(b.ip, b.mac, b.protocol, b.role, b.first))
    });
    let mut merged: Vec<AssetRow> = Vec::with_capacity(rows.len());
    for row in rows {
        match merged.last_mut() {
            Some(last)
                if (last.ip, last.mac, last.protocol, last.role)
                    == (row.ip, row.mac, row.protocol, row.role) =>
            {
                last.last = last.last.max(row.last);
                for (mine, theirs) in [
                    (&mut last.vendor, row.vendor),
                    (&mut last.product, row.product),
                    (&mut last.serial, row.serial),
                    (&mut last.firmware, row.firmware),
                    (&mut last.name, row.name),
                ] {
                    if mine.is_none() {
                        *mine = theirs;
                    }
                }
            }
            _ => merged.push(row),
        }
    }
    merged.sort_by_key(|a| (a.first, a.ip));
    merged
}

#[cfg(test)]
mod tests {
    use super::sort_rows_by_key;

    #[test]
    fn rows_sort_by_key_as_a_comparison_sort_does() {
        // A scrambled sequence of (key, payload) rows, and one already in order.
        let mut rows: Vec<(u32, String)> = (0..500u32)
            .map(|i| ((i * 7919) % 500, format!("row {i}")))
            .collect();
        let mut expected = rows.clone();
        expected.sort_by_key(|r| r.0);

        sort_rows_by_key(&mut rows, |r| r.0);
        assert_eq!(rows, expected);

        sort_rows_by_key(&mut rows, |r| r.0);
        assert_eq!(rows, expected, "sorted rows stay as they are");
    }

    #[test]
    fn rows_sort_by_key_whatever_the_cycles_of_the_permutation() {
        // Rotations make one cycle over every row; reversals make pairs and a fixed middle;
        // a shuffle mixes cycles of every length.
        let mut shapes: Vec<Vec<u32>> = Vec::new();
        for n in [0u32, 1, 2, 3, 10, 257] {
            shapes.push((0..n).map(|i| (i + 1) % n.max(1)).collect());
            shapes.push((0..n).rev().collect());
            shapes.push((0..n).map(|i| (i * 7919 + 13) % n.max(1)).collect());
        }
        for keys in shapes {
            let mut rows: Vec<(u32, String)> =
                keys.iter().map(|&k| (k, format!("row {k}"))).collect();
            let mut expected = rows.clone();
            expected.sort_by_key(|r| r.0);

            sort_rows_by_key(&mut rows, |r| r.0);
            assert_eq!(rows, expected, "keys {keys:?}");
        }
    }
}
