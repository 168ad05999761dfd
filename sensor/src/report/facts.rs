//! What the report shows, computed row by row from the evidence tables.
//!
//! [`Facts`] is fed one row at a time ([`Facts::add_write`], [`Facts::add_session`], …) from
//! borrowed views of the Parquet columns, and keeps only aggregates and a bounded sample of
//! rows: counts, [`Timeline`]s, per-device and per-credential summaries, and the first
//! [`Limits::rows`] rows of each list an auditor reads line by line (with the total, so the page
//! can say how many are not shown). Memory depends on the number of devices, principals and
//! credentials, each capped, never on the number of writes or alerts.
//!
//! Nothing here reads files or writes HTML: `read` feeds it, `page` renders it.

use std::collections::{BTreeMap, BTreeSet};

use super::timeline::Timeline;

/// The label of writes no principal is known for, in per-principal views.
pub const NO_PRINCIPAL: &str = "(no principal)";

/// Caps on what is kept for the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Rows kept per listed table (writes needing attention, alerts, assets, credentials, …).
    pub rows: usize,
    /// Distinct devices, credentials or writers per device kept; more are counted.
    pub keys: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            rows: 1000,
            keys: 5000,
        }
    }
}

/// One `writes` row, borrowed from the Parquet columns.
#[derive(Clone, Copy, Debug, Default)]
pub struct WriteView<'a> {
    pub source: &'a str,
    pub frame: i64,
    pub ts_us: i64,
    pub client_ip: &'a str,
    pub server_ip: &'a str,
    pub protocol: &'a str,
    pub category: &'a str,
    pub operation: &'a str,
    pub target: &'a str,
    pub value: Option<&'a str>,
    pub outcome: &'a str,
    pub credential_kind: Option<&'a str>,
    pub credential_id: Option<&'a str>,
    pub client_certificate: Option<&'a str>,
    pub device_id: Option<&'a str>,
    pub identity: Option<&'a str>,
    pub attribution: &'a str,
    pub delegation: Option<&'a str>,
    pub delegation_status: &'a str,
}

/// One `sessions` row, borrowed.
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionView<'a> {
    pub protocol: &'a str,
    pub client_ip: &'a str,
    pub server_ip: &'a str,
    pub source: &'a str,
    pub first_frame: i64,
    pub start_us: i64,
    pub end_reason: &'a str,
    pub malformed: i64,
    pub security_policy: Option<&'a str>,
    pub security_mode: Option<&'a str>,
    pub opaque: bool,
    pub gaps: i64,
    pub gap_bytes: i64,
}

/// One `credentials` row, borrowed.
#[derive(Clone, Copy, Debug, Default)]
pub struct CredentialView<'a> {
    pub source: &'a str,
    pub frame: i64,
    pub ts_us: i64,
    pub protocol: &'a str,
    pub kind: &'a str,
    pub id: &'a str,
    pub client_ip: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub issuer: Option<&'a str>,
    pub not_before_us: Option<i64>,
    pub not_after_us: Option<i64>,
    pub weak_policy: bool,
    pub plaintext: bool,
    pub secret_fingerprint: Option<&'a str>,
}

/// One `alerts` row, borrowed.
#[derive(Clone, Copy, Debug, Default)]
pub struct AlertView<'a> {
    pub source: &'a str,
    pub frame: i64,
    pub ts_us: i64,
    pub kind: &'a str,
    pub severity: &'a str,
    pub protocol: Option<&'a str>,
    pub client_ip: Option<&'a str>,
    pub server_ip: Option<&'a str>,
    pub detail: &'a str,
}

/// One `assets` row, borrowed.
#[derive(Clone, Copy, Debug, Default)]
pub struct AssetView<'a> {
    pub ip: Option<&'a str>,
    pub mac: Option<&'a str>,
    pub protocol: Option<&'a str>,
    pub role: &'a str,
    pub vendor: Option<&'a str>,
    pub product: Option<&'a str>,
    pub serial: Option<&'a str>,
    pub firmware: Option<&'a str>,
    pub name: Option<&'a str>,
}

/// A write kept for the table of writes needing attention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlaggedWrite {
    pub ts_us: i64,
    pub source: String,
    pub frame: i64,
    pub client_ip: String,
    pub server_ip: String,
    pub protocol: String,
    pub operation: String,
    pub target: String,
    pub value: String,
    pub principal: String,
    pub attribution: String,
    pub delegation_status: String,
    pub delegation: String,
    pub outcome: String,
}

/// Who wrote to one device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Device {
    pub writes: u64,
    /// Writes needing attention (see [`needs_attention`]).
    pub flagged: u64,
    pub protocols: BTreeSet<String>,
    /// Writer (principal, or client address when there is none) → writes.
    pub writers: BTreeMap<String, u64>,
    pub first_us: i64,
    pub last_us: i64,
}

/// Everything seen of one credential (kind and id).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credential {
    pub kind: String,
    pub id: String,
    pub protocols: BTreeSet<String>,
    pub clients: BTreeSet<String>,
    pub observations: u64,
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub not_before_us: Option<i64>,
    pub not_after_us: Option<i64>,
    pub weak_policy: bool,
    pub plaintext: bool,
    pub fingerprint: Option<String>,
    pub first_us: i64,
    pub last_us: i64,
    /// Seen at a time outside its certificate's validity.
    pub invalid_when_seen: bool,
    /// Where it was first seen.
    pub source: String,
    pub frame: i64,
}

/// A session whose content could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpaqueSession {
    pub protocol: String,
    pub client_ip: String,
    pub server_ip: String,
    pub source: String,
    pub frame: i64,
    pub start_us: i64,
    pub policy: String,
}

/// An alert kept for the alert list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptAlert {
    pub ts_us: i64,
    pub source: String,
    pub frame: i64,
    pub kind: String,
    pub severity: String,
    pub protocol: String,
    pub client_ip: String,
    pub server_ip: String,
    pub detail: String,
}

/// Writes: totals, charts, devices and the writes needing attention.
#[derive(Clone, Debug, Default)]
pub struct WriteFacts {
    pub total: u64,
    pub by_attribution: BTreeMap<String, u64>,
    pub by_status: BTreeMap<String, u64>,
    pub by_protocol: BTreeMap<String, u64>,
    pub by_category: BTreeMap<String, u64>,
    /// Credential kind (`none` when the write carries none) → writes.
    pub by_credential_kind: BTreeMap<String, u64>,
    /// Principal (or [`NO_PRINCIPAL`]) → writes by delegation status.
    pub by_principal: BTreeMap<String, BTreeMap<String, u64>>,
    pub per_principal: Timeline,
    pub per_attribution: Timeline,
    pub devices: BTreeMap<String, Device>,
    /// Writes to devices beyond [`Limits::keys`].
    pub devices_not_kept: u64,
    pub with_certificate: u64,
    pub with_device_id: u64,
    pub flagged_total: u64,
    pub flagged: Vec<FlaggedWrite>,
}

/// Sessions: totals, opaque ones, security policies, completeness.
#[derive(Clone, Debug, Default)]
pub struct SessionFacts {
    pub total: u64,
    pub by_protocol: BTreeMap<String, u64>,
    pub by_end: BTreeMap<String, u64>,
    /// (policy, mode) → (sessions, opaque sessions).
    pub policies: BTreeMap<(String, String), (u64, u64)>,
    pub opaque_total: u64,
    pub opaque: Vec<OpaqueSession>,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub malformed: u64,
}

/// Credentials observed.
#[derive(Clone, Debug, Default)]
pub struct CredentialFacts {
    pub observations: u64,
    /// (kind, id) → what was seen of it.
    pub distinct: BTreeMap<(String, String), Credential>,
    /// Observations of credentials beyond [`Limits::keys`].
    pub not_kept: u64,
}

/// Alerts: counts and the most severe ones.
#[derive(Clone, Debug, Default)]
pub struct AlertFacts {
    pub total: u64,
    /// (kind, severity) → alerts.
    pub by_kind: BTreeMap<(String, String), u64>,
    pub by_severity: BTreeMap<String, u64>,
    /// anonymous_write alerts by client address.
    pub anonymous_writers: BTreeMap<String, u64>,
    pub kept: Vec<KeptAlert>,
}

/// Devices the protocols revealed.
#[derive(Clone, Debug, Default)]
pub struct AssetFacts {
    pub total: u64,
    pub kept: Vec<[String; 9]>,
}

/// Everything the report shows from the tables.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub limits: Limits,
    pub writes: WriteFacts,
    pub sessions: SessionFacts,
    pub credentials: CredentialFacts,
    pub alerts: AlertFacts,
    pub assets: AssetFacts,
}

/// Whether a write needs an auditor's attention: nobody is linked to it, or a delegations file
/// was given and no grant covers it (undelegated, expired, out of bounds, over budget).
pub fn needs_attention(write: &WriteView<'_>) -> bool {
    write.attribution == "unattributed"
        || !matches!(write.delegation_status, "delegated" | "no_policy")
}

/// How severe, for ordering: critical first.
pub fn severity_rank(severity: &str) -> u8 {
    match severity {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        "info" => 4,
        _ => 5,
    }
}

/// The writer shown for a write: its principal, else its client address.
fn writer(write: &WriteView<'_>) -> String {
    match write.identity {
        Some(identity) => identity.to_owned(),
        None => format!("{} {NO_PRINCIPAL}", write.client_ip),
    }
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    if let Some(n) = map.get_mut(key) {
        *n += 1;
    } else {
        map.insert(key.to_owned(), 1);
    }
}

/// Keeps the `cap` smallest items by `key` without holding more than twice that many.
fn keep_bounded<T, K: Ord>(list: &mut Vec<T>, item: T, cap: usize, key: impl Fn(&T) -> K) {
    list.push(item);
    if list.len() >= cap.saturating_mul(2).max(2) {
        list.sort_by_key(|t| key(t));
        list.truncate(cap);
    }
}

impl Facts {
    pub fn new(limits: Limits) -> Facts {
        Facts {
            limits,
            ..Facts::default()
        }
    }

    pub fn add_write(&mut self, w: &WriteView<'_>) {
        let facts = &mut self.writes;
        let principal = w.identity.unwrap_or(NO_PRINCIPAL);

        facts.total += 1;
        bump(&mut facts.by_attribution, w.attribution);
        bump(&mut facts.by_status, w.delegation_status);
        bump(&mut facts.by_protocol, w.protocol);
        bump(&mut facts.by_category, w.category);
        bump(
            &mut facts.by_credential_kind,
            w.credential_kind.unwrap_or("none"),
        );
        if facts.by_principal.contains_key(principal) || facts.by_principal.len() < self.limits.keys
        {
            let statuses = facts.by_principal.entry(principal.to_owned()).or_default();
            bump(statuses, w.delegation_status);
        }
        facts.per_principal.add(principal, w.ts_us);
        facts.per_attribution.add(w.attribution, w.ts_us);
        facts.with_certificate += u64::from(w.client_certificate.is_some());
        facts.with_device_id += u64::from(w.device_id.is_some());

        let flagged = needs_attention(w);
        if facts.devices.contains_key(w.server_ip) || facts.devices.len() < self.limits.keys {
            let device = facts
                .devices
                .entry(w.server_ip.to_owned())
                .or_insert_with(|| Device {
                    first_us: w.ts_us,
                    last_us: w.ts_us,
                    ..Device::default()
                });
            device.writes += 1;
            device.flagged += u64::from(flagged);
            device.first_us = device.first_us.min(w.ts_us);
            device.last_us = device.last_us.max(w.ts_us);
            if !device.protocols.contains(w.protocol) {
                device.protocols.insert(w.protocol.to_owned());
            }
            let who = writer(w);
            if device.writers.contains_key(&who) || device.writers.len() < self.limits.keys {
                *device.writers.entry(who).or_default() += 1;
            } else {
                bump(&mut device.writers, super::timeline::OTHERS);
            }
        } else {
            facts.devices_not_kept += 1;
        }

        if flagged {
            facts.flagged_total += 1;
            let row = FlaggedWrite {
                ts_us: w.ts_us,
                source: w.source.to_owned(),
                frame: w.frame,
                client_ip: w.client_ip.to_owned(),
                server_ip: w.server_ip.to_owned(),
                protocol: w.protocol.to_owned(),
                operation: w.operation.to_owned(),
                target: w.target.to_owned(),
                value: w.value.unwrap_or("").to_owned(),
                principal: writer(w),
                attribution: w.attribution.to_owned(),
                delegation_status: w.delegation_status.to_owned(),
                delegation: w.delegation.unwrap_or("").to_owned(),
                outcome: w.outcome.to_owned(),
            };
            keep_bounded(&mut facts.flagged, row, self.limits.rows, |r| {
                (r.ts_us, r.source.clone(), r.frame)
            });
        }
    }

    pub fn add_session(&mut self, s: &SessionView<'_>) {
        let facts = &mut self.sessions;

        facts.total += 1;
        bump(&mut facts.by_protocol, s.protocol);
        bump(&mut facts.by_end, s.end_reason);
        facts.gaps += s.gaps.max(0) as u64;
        facts.gap_bytes += s.gap_bytes.max(0) as u64;
        facts.malformed += s.malformed.max(0) as u64;

        if s.security_policy.is_some() || s.security_mode.is_some() {
            let key = (
                s.security_policy.unwrap_or("").to_owned(),
                s.security_mode.unwrap_or("").to_owned(),
            );
            if facts.policies.contains_key(&key) || facts.policies.len() < self.limits.keys {
                let entry = facts.policies.entry(key).or_default();
                entry.0 += 1;
                entry.1 += u64::from(s.opaque);
            }
        }

        if s.opaque {
            facts.opaque_total += 1;
            let row = OpaqueSession {
                protocol: s.protocol.to_owned(),
                client_ip: s.client_ip.to_owned(),
                server_ip: s.server_ip.to_owned(),
                source: s.source.to_owned(),
                frame: s.first_frame,
                start_us: s.start_us,
                policy: policy_text(s.security_policy, s.security_mode),
            };
            keep_bounded(&mut facts.opaque, row, self.limits.rows, |r| {
                (r.start_us, r.source.clone(), r.frame)
            });
        }
    }

    pub fn add_credential(&mut self, c: &CredentialView<'_>) {
        let facts = &mut self.credentials;
        facts.observations += 1;

        let key = (c.kind.to_owned(), c.id.to_owned());
        if !facts.distinct.contains_key(&key) && facts.distinct.len() >= self.limits.keys {
            facts.not_kept += 1;
            return;
        }
        let entry = facts.distinct.entry(key).or_insert_with(|| Credential {
            kind: c.kind.to_owned(),
            id: c.id.to_owned(),
            first_us: c.ts_us,
            last_us: c.ts_us,
            source: c.source.to_owned(),
            frame: c.frame,
            ..Credential::default()
        });

        entry.observations += 1;
        if entry.protocols.len() < 16 {
            entry.protocols.insert(c.protocol.to_owned());
        }
        if let Some(client) = c.client_ip {
            if entry.clients.len() < 64 {
                entry.clients.insert(client.to_owned());
            }
        }
        if c.ts_us < entry.first_us {
            entry.first_us = c.ts_us;
            entry.source = c.source.to_owned();
            entry.frame = c.frame;
        }
        entry.last_us = entry.last_us.max(c.ts_us);
        entry.weak_policy |= c.weak_policy;
        entry.plaintext |= c.plaintext;
        for (mine, theirs) in [
            (&mut entry.subject, c.subject),
            (&mut entry.issuer, c.issuer),
            (&mut entry.fingerprint, c.secret_fingerprint),
        ] {
            if mine.is_none() {
                *mine = theirs.map(str::to_owned);
            }
        }
        entry.not_before_us = entry.not_before_us.or(c.not_before_us);
        entry.not_after_us = entry.not_after_us.or(c.not_after_us);
        let too_early = c.not_before_us.is_some_and(|t| c.ts_us < t);
        let too_late = c.not_after_us.is_some_and(|t| c.ts_us > t);
        entry.invalid_when_seen |= too_early || too_late;
    }

    pub fn add_alert(&mut self, a: &AlertView<'_>) {
        let facts = &mut self.alerts;

        facts.total += 1;
        *facts
            .by_kind
            .entry((a.kind.to_owned(), a.severity.to_owned()))
            .or_default() += 1;
        bump(&mut facts.by_severity, a.severity);
        if a.kind == "anonymous_write" {
            let client = a.client_ip.unwrap_or("(unknown)");
            if facts.anonymous_writers.contains_key(client)
                || facts.anonymous_writers.len() < self.limits.keys
            {
                bump(&mut facts.anonymous_writers, client);
            }
        }

        let row = KeptAlert {
            ts_us: a.ts_us,
            source: a.source.to_owned(),
            frame: a.frame,
            kind: a.kind.to_owned(),
            severity: a.severity.to_owned(),
            protocol: a.protocol.unwrap_or("").to_owned(),
            client_ip: a.client_ip.unwrap_or("").to_owned(),
            server_ip: a.server_ip.unwrap_or("").to_owned(),
            detail: a.detail.to_owned(),
        };
        keep_bounded(&mut facts.kept, row, self.limits.rows, |r| {
            (
                severity_rank(&r.severity),
                r.ts_us,
                r.source.clone(),
                r.frame,
            )
        });
    }

    pub fn add_asset(&mut self, a: &AssetView<'_>) {
        let facts = &mut self.assets;
        facts.total += 1;
        if facts.kept.len() >= self.limits.rows {
            return;
        }
        let text = |v: Option<&str>| v.unwrap_or("").to_owned();
        facts.kept.push([
            text(a.ip),
            text(a.mac),
            text(a.protocol),
            a.role.to_owned(),
            text(a.vendor),
            text(a.product),
            text(a.serial),
            text(a.firmware),
            text(a.name),
        ]);
    }

    /// Puts kept rows in their final order and trims them to the cap; call once, after the
    /// last row.
    pub fn finish(&mut self) {
        let cap = self.limits.rows;

        let flagged = &mut self.writes.flagged;
        flagged.sort_by(|a, b| (a.ts_us, &a.source, a.frame).cmp(&(b.ts_us, &b.source, b.frame)));
        flagged.truncate(cap);
        let opaque = &mut self.sessions.opaque;
        opaque.sort_by(|a, b| {
            (a.start_us, &a.source, a.frame).cmp(&(b.start_us, &b.source, b.frame))
        });
        opaque.truncate(cap);
        let alerts = &mut self.alerts.kept;
        alerts.sort_by(|a, b| {
            (severity_rank(&a.severity), a.ts_us, &a.source, a.frame).cmp(&(
                severity_rank(&b.severity),
                b.ts_us,
                &b.source,
                b.frame,
            ))
        });
        alerts.truncate(cap);
        self.assets
            .kept
            .sort_by(|a, b| (&a[0], &a[2], &a[3]).cmp(&(&b[0], &b[2], &b[3])));
    }

    /// Credentials whose certificate has expired by `now_us` or will within `soon_us`, or that
    /// were seen outside their validity.
    pub fn certificates_to_review(&self, now_us: i64, soon_us: i64) -> Vec<&Credential> {
        self.credentials
            .distinct
            .values()
            .filter(|c| {
                c.invalid_when_seen
                    || c.not_after_us
                        .is_some_and(|t| t <= now_us.saturating_add(soon_us))
            })
            .collect()
    }

    /// Credentials that carry a secret (password) seen on the wire.
    pub fn secrets_on_wire(&self) -> Vec<&Credential> {
        self.credentials
            .distinct
            .values()
            .filter(|c| c.plaintext || c.fingerprint.is_some())
            .collect()
    }

    /// Secret fingerprints seen under more than one credential id or from more than one client.
    pub fn reused_fingerprints(&self) -> BTreeSet<&str> {
        let mut seen: BTreeMap<&str, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
        for c in self.credentials.distinct.values() {
            if let Some(fp) = c.fingerprint.as_deref() {
                let entry = seen.entry(fp).or_default();
                entry.0.insert(c.id.as_str());
                entry.1.extend(c.clients.iter().map(String::as_str));
            }
        }
        seen.into_iter()
            .filter(|(_, (ids, clients))| ids.len() > 1 || clients.len() > 1)
            .map(|(fp, _)| fp)
            .collect()
    }

    /// Writes that carry no credential at all (attribution rests on the address, or nothing).
    pub fn writes_without_credential(&self) -> u64 {
        self.writes
            .by_credential_kind
            .get("none")
            .copied()
            .unwrap_or(0)
    }

    /// Writes whose credential is cryptographic (a certificate or issued token).
    pub fn writes_with_crypto_credential(&self) -> u64 {
        const CRYPTO: [&str; 4] = [
            "opcua_x509_user",
            "opcua_issued",
            "opcua_channel_cert",
            "tls_client_cert",
        ];
        CRYPTO
            .iter()
            .filter_map(|k| self.writes.by_credential_kind.get(*k))
            .sum()
    }
}

/// `policy / mode`, or the one that is known.
pub fn policy_text(policy: Option<&str>, mode: Option<&str>) -> String {
    match (policy, mode) {
        (Some(p), Some(m)) => format!("{p} / {m}"),
        (Some(p), None) => p.to_owned(),
        (None, Some(m)) => m.to_owned(),
        (None, None) => String::new(),
    }
}

/// Whether an OPC UA security policy or mode offers no or deprecated protection: mode `None`,
/// or the policies `None`, `Basic128Rsa15` and `Basic256` (deprecated by the OPC Foundation).
pub fn weak_policy(policy: &str, mode: &str) -> bool {
    let name = policy.rsplit('#').next().unwrap_or(policy);
    mode.eq_ignore_ascii_case("none") || matches!(name, "None" | "Basic128Rsa15" | "Basic256")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write<'a>(
        identity: Option<&'a str>,
        attribution: &'a str,
        status: &'a str,
    ) -> WriteView<'a> {
        WriteView {
            source: "a.pcap",
            frame: 7,
            ts_us: 1_000_000,
            client_ip: "10.0.0.5",
            server_ip: "10.0.0.2",
            protocol: "modbus",
            category: "write",
            operation: "Write Single Register",
            target: "unit 1 holding 10",
            outcome: "ok",
            identity,
            attribution,
            delegation_status: status,
            ..WriteView::default()
        }
    }

    #[test]
    fn writes_needing_attention_are_unattributed_or_not_covered() {
        assert!(needs_attention(&write(None, "unattributed", "no_policy")));
        assert!(needs_attention(&write(
            Some("human:a"),
            "attributed",
            "expired"
        )));
        assert!(needs_attention(&write(
            Some("human:a"),
            "network_only",
            "over_budget"
        )));
        assert!(!needs_attention(&write(
            Some("human:a"),
            "attributed",
            "delegated"
        )));
        assert!(!needs_attention(&write(
            Some("human:a"),
            "network_only",
            "no_policy"
        )));
    }

    #[test]
    fn counts_writes_per_device_writer_and_attention() {
        let mut facts = Facts::new(Limits::default());

        facts.add_write(&write(Some("human:alice"), "network_only", "delegated"));
        facts.add_write(&write(Some("human:alice"), "network_only", "undelegated"));
        facts.add_write(&write(None, "unattributed", "undelegated"));
        let mut other = write(Some("agent:opt"), "attributed", "delegated");
        other.server_ip = "10.0.0.3";
        other.protocol = "s7comm";
        facts.add_write(&other);
        facts.finish();

        let w = &facts.writes;
        assert_eq!(w.total, 4);
        assert_eq!(w.by_attribution.get("network_only"), Some(&2));
        assert_eq!(w.by_status.get("undelegated"), Some(&2));
        assert_eq!(w.flagged_total, 2);
        assert_eq!(w.flagged.len(), 2);
        assert_eq!(w.flagged[1].principal, "10.0.0.5 (no principal)");
        let device = &w.devices["10.0.0.2"];
        assert_eq!(device.writes, 3);
        assert_eq!(device.flagged, 2);
        assert_eq!(device.writers.get("human:alice"), Some(&2));
        assert_eq!(device.writers.get("10.0.0.5 (no principal)"), Some(&1));
        assert_eq!(w.devices["10.0.0.3"].protocols.len(), 1);
        assert_eq!(w.by_principal[NO_PRINCIPAL].get("undelegated"), Some(&1));
        assert_eq!(w.per_principal.totals()[0], ("human:alice", 2));
        assert_eq!(facts.writes_without_credential(), 4);
    }

    #[test]
    fn kept_rows_are_the_earliest_and_the_total_is_exact() {
        let limits = Limits { rows: 3, keys: 10 };
        let mut facts = Facts::new(limits);

        for i in (0..20).rev() {
            let mut w = write(None, "unattributed", "no_policy");
            w.ts_us = i * 1000;
            w.frame = i;
            facts.add_write(&w);
        }
        facts.finish();

        assert_eq!(facts.writes.flagged_total, 20);
        let frames: Vec<i64> = facts.writes.flagged.iter().map(|r| r.frame).collect();
        assert_eq!(frames, [0, 1, 2]);
    }

    #[test]
    fn devices_beyond_the_cap_are_counted() {
        let mut facts = Facts::new(Limits { rows: 10, keys: 2 });
        let servers = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.3"];

        for server in servers {
            let mut w = write(Some("human:a"), "attributed", "delegated");
            w.server_ip = server;
            facts.add_write(&w);
        }

        assert_eq!(facts.writes.devices.len(), 2);
        assert_eq!(facts.writes.devices_not_kept, 2);
        assert_eq!(facts.writes.total, 4);
    }

    #[test]
    fn credentials_merge_and_flag_certificates_and_reuse() {
        let mut facts = Facts::new(Limits::default());
        let day = 86_400_000_000i64;
        let cert = CredentialView {
            ts_us: 10 * day,
            protocol: "opcua",
            kind: "opcua_channel_cert",
            id: "ab12",
            client_ip: Some("10.0.0.7"),
            subject: Some("CN=panel"),
            not_before_us: Some(0),
            not_after_us: Some(5 * day),
            ..CredentialView::default()
        };
        let password = |id, client| CredentialView {
            ts_us: day,
            protocol: "s7comm",
            kind: "s7_password",
            id,
            client_ip: Some(client),
            plaintext: true,
            secret_fingerprint: Some("hmac-sha256:00ff"),
            ..CredentialView::default()
        };

        facts.add_credential(&cert);
        facts.add_credential(&cert);
        facts.add_credential(&password("fp-a", "10.0.0.8"));
        facts.add_credential(&password("fp-a", "10.0.0.9"));

        assert_eq!(facts.credentials.observations, 4);
        assert_eq!(facts.credentials.distinct.len(), 2);
        let review = facts.certificates_to_review(20 * day, 30 * day);
        assert_eq!(review.len(), 1);
        assert!(
            review[0].invalid_when_seen,
            "seen on day 10, valid until day 5"
        );
        assert_eq!(review[0].observations, 2);
        assert!(facts
            .certificates_to_review(0, day)
            .iter()
            .all(|c| c.kind != "s7_password"));
        assert_eq!(facts.secrets_on_wire().len(), 1);
        assert_eq!(
            facts.reused_fingerprints().into_iter().collect::<Vec<_>>(),
            ["hmac-sha256:00ff"],
            "one fingerprint from two clients"
        );
    }

    #[test]
    fn alerts_keep_the_most_severe_first() {
        let mut facts = Facts::new(Limits { rows: 2, keys: 10 });
        for (severity, ts) in [("low", 1), ("high", 5), ("medium", 2), ("high", 3)] {
            facts.add_alert(&AlertView {
                ts_us: ts,
                kind: "anonymous_write",
                severity,
                client_ip: Some("10.0.0.4"),
                ..AlertView::default()
            });
        }
        facts.finish();

        let kept: Vec<(&str, i64)> = facts
            .alerts
            .kept
            .iter()
            .map(|a| (a.severity.as_str(), a.ts_us))
            .collect();
        assert_eq!(kept, [("high", 3), ("high", 5)]);
        assert_eq!(facts.alerts.total, 4);
        assert_eq!(facts.alerts.anonymous_writers.get("10.0.0.4"), Some(&4));
        assert_eq!(facts.alerts.by_severity.get("high"), Some(&2));
    }

    #[test]
    fn weak_policies_follow_the_opc_foundation_list() {
        let ns = "http://opcfoundation.org/UA/SecurityPolicy#";
        assert!(weak_policy(&format!("{ns}None"), "None"));
        assert!(weak_policy(&format!("{ns}Basic128Rsa15"), "Sign"));
        assert!(!weak_policy(
            &format!("{ns}Basic256Sha256"),
            "SignAndEncrypt"
        ));
        assert!(weak_policy(&format!("{ns}Basic256Sha256"), "None"));
    }
}
