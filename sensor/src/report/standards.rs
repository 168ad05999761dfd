//! The standards view: the report's findings mapped to IEC 62443-3-3 system requirements and to
//! NIS2 Article 21(2) measures, each with the counts that support it and links to the sections
//! that show the rows.
//!
//! This is a reading aid for an auditor, not a conformity assessment: passive observation can
//! show that a requirement is visibly not met on the wire (a finding), that something needs a
//! person's judgement (review), or that nothing observed contradicts it (no finding). It never
//! says a requirement is met, and the page says so.

use super::facts::{weak_policy, Facts};
use super::html::num;
use super::scope::Scope;

/// What the evidence says about a requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The evidence shows the requirement is not met for some operations.
    Finding,
    /// Something an auditor should look at; the evidence alone cannot decide.
    Review,
    /// Nothing observed contradicts the requirement.
    NoFinding,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Finding => "finding",
            Status::Review => "review",
            Status::NoFinding => "no finding",
        }
    }

    /// The CSS class of its badge.
    pub fn class(self) -> &'static str {
        match self {
            Status::Finding => "bad",
            Status::Review => "warn",
            Status::NoFinding => "good",
        }
    }
}

/// One requirement with the evidence for it.
#[derive(Clone, Debug)]
pub struct Requirement {
    pub framework: &'static str,
    pub id: &'static str,
    pub title: &'static str,
    pub status: Status,
    /// Sentences with counts from the evidence.
    pub evidence: Vec<String>,
    /// Sections of the page (anchor, label) that show the rows.
    pub links: Vec<(&'static str, &'static str)>,
}

const IEC: &str = "IEC 62443-3-3";
const NIS2: &str = "NIS2 Art. 21(2)";

/// Maps the facts to every requirement of the view, in the standards' order.
pub fn requirements(facts: &Facts, scope: &Scope, now_us: i64) -> Vec<Requirement> {
    let w = &facts.writes;
    let count = |map: &std::collections::BTreeMap<String, u64>, key: &str| -> u64 {
        map.get(key).copied().unwrap_or(0)
    };
    let unattributed = count(&w.by_attribution, "unattributed");
    let network_only = count(&w.by_attribution, "network_only");
    let credential_only = count(&w.by_attribution, "credential_only");
    let attributed = count(&w.by_attribution, "attributed");
    let anonymous = facts
        .alerts
        .by_kind
        .iter()
        .filter(|((kind, _), _)| kind == "anonymous_write")
        .map(|(_, n)| n)
        .sum::<u64>();
    let not_covered: u64 = ["undelegated", "expired", "out_of_bounds", "over_budget"]
        .iter()
        .map(|s| count(&w.by_status, s))
        .sum();
    let no_policy = count(&w.by_status, "no_policy");
    let secrets = facts.secrets_on_wire();
    let plaintext = secrets.iter().filter(|c| c.plaintext).count();
    let reused = facts.reused_fingerprints().len();
    let certs = facts.certificates_to_review(now_us, 30 * 86_400_000_000);
    let weak_creds = facts
        .credentials
        .distinct
        .values()
        .filter(|c| c.weak_policy)
        .count();
    let weak_sessions: u64 = facts
        .sessions
        .policies
        .iter()
        .filter(|((p, m), _)| weak_policy(p, m))
        .map(|(_, (n, _))| n)
        .sum();
    let opaque = facts.sessions.opaque_total;
    let crypto = facts.writes_with_crypto_credential();
    let no_credential = facts.writes_without_credential();
    let verified = scope.verified();
    let signed = scope.signed_manifests;
    let limits = scope.counter("reassembly_gaps")
        + scope.counter("malformed_pdus")
        + scope.counter("flows_evicted")
        + scope.kernel_drops.unwrap_or(0)
        + scope.damaged_inputs() as u64;
    let alerts_high: u64 = ["critical", "high"]
        .iter()
        .map(|s| count(&facts.alerts.by_severity, s))
        .sum();
    let devices = w.devices.len() as u64;

    let verify_text = match &scope.verify {
        Ok(report) if report.is_ok() => format!(
            "verify: ok, {} manifests and {} files checked",
            report.manifests.len(),
            report.files_checked
        ),
        Ok(report) => format!("verify FAILED: {} problems", report.problems.len()),
        Err(error) => format!("verify could not run: {error}"),
    };

    vec![
        Requirement {
            framework: IEC,
            id: "SR 1.1",
            title: "Human user identification and authentication",
            status: if unattributed + anonymous > 0 {
                Status::Finding
            } else if network_only > 0 {
                Status::Review
            } else {
                Status::NoFinding
            },
            evidence: vec![
                format!(
                    "{} of {} writes linked to nobody (unattributed)",
                    num(unattributed),
                    num(w.total)
                ),
                format!(
                    "{} anonymous writes (anonymous_write alerts)",
                    num(anonymous)
                ),
                format!(
                    "{} writes identified by network address only, without any credential",
                    num(network_only)
                ),
            ],
            links: vec![
                ("who", "Who wrote what"),
                ("attention", "Writes needing attention"),
            ],
        },
        Requirement {
            framework: IEC,
            id: "SR 1.2",
            title: "Software process and device identification and authentication",
            status: if credential_only > 0 {
                Status::Review
            } else if crypto == 0 && w.total > 0 {
                Status::Finding
            } else {
                Status::NoFinding
            },
            evidence: vec![
                format!(
                    "{} writes carry a cryptographic credential (certificate or issued token)",
                    num(crypto)
                ),
                format!(
                    "{} writes carry a client certificate, {} a device id",
                    num(w.with_certificate),
                    num(w.with_device_id)
                ),
                format!(
                    "{} writes with a credential that maps to no known principal (credential_only)",
                    num(credential_only)
                ),
            ],
            links: vec![("credentials", "Credentials")],
        },
        Requirement {
            framework: IEC,
            id: "SR 1.5",
            title: "Authenticator management",
            status: if plaintext > 0 || reused > 0 || !certs.is_empty() {
                Status::Finding
            } else {
                Status::NoFinding
            },
            evidence: vec![
                format!(
                    "{} credentials with a secret seen on the wire, {} of them in clear",
                    num(secrets.len() as u64),
                    num(plaintext as u64)
                ),
                format!(
                    "{} password fingerprints reused across users or clients",
                    num(reused as u64)
                ),
                format!(
                    "{} certificates expired, expiring within 30 days, or used outside validity",
                    num(certs.len() as u64)
                ),
            ],
            links: vec![("credentials", "Credentials")],
        },
        Requirement {
            framework: IEC,
            id: "SR 2.8",
            title: "Auditable events",
            status: if limits > 0 || opaque > 0 {
                Status::Review
            } else {
                Status::NoFinding
            },
            evidence: vec![
                format!(
                    "{} writes recorded, each with its source capture and frame",
                    num(w.total)
                ),
                format!(
                    "{} sessions whose writes cannot be audited (opaque)",
                    num(opaque)
                ),
                format!(
                    "{} completeness limits (gaps, malformed PDUs, evicted flows, drops, damaged \
                     inputs)",
                    num(limits)
                ),
            ],
            links: vec![("scope", "Scope and integrity")],
        },
        Requirement {
            framework: IEC,
            id: "SR 2.12",
            title: "Non-repudiation",
            status: if unattributed + network_only > 0 {
                Status::Finding
            } else if signed == 0 {
                Status::Review
            } else {
                Status::NoFinding
            },
            evidence: vec![
                format!(
                    "{} writes attributed to a principal through a credential",
                    num(attributed)
                ),
                format!(
                    "{} writes that a principal could deny (network only or unattributed)",
                    num(unattributed + network_only)
                ),
                format!("{} of {} manifests signed", signed, scope.manifests_read),
            ],
            links: vec![("who", "Who wrote what"), ("scope", "Scope and integrity")],
        },
        Requirement {
            framework: IEC,
            id: "SR 3.3",
            title: "Security functionality verification",
            status: if not_covered > 0 {
                Status::Finding
            } else if no_policy > 0 {
                Status::Review
            } else {
                Status::NoFinding
            },
            evidence: vec![
                format!(
                    "{} writes not covered by a delegation (undelegated, expired, out of bounds, \
                     over budget)",
                    num(not_covered)
                ),
                format!(
                    "{} writes checked against no delegations file",
                    num(no_policy)
                ),
            ],
            links: vec![("attention", "Writes needing attention")],
        },
        Requirement {
            framework: IEC,
            id: "SR 3.9",
            title: "Protection of audit information",
            status: if !verified {
                Status::Finding
            } else if signed == 0 {
                Status::Review
            } else {
                Status::NoFinding
            },
            evidence: vec![
                verify_text.clone(),
                format!(
                    "{} of {} manifests carry an Ed25519 signature",
                    signed, scope.manifests_read
                ),
            ],
            links: vec![("scope", "Scope and integrity")],
        },
        Requirement {
            framework: IEC,
            id: "SR 6.1",
            title: "Audit log accessibility",
            status: Status::NoFinding,
            evidence: vec![format!(
                "{} writes, {} sessions, {} alerts, {} credentials, {} assets as Parquet tables \
                 any engine reads (DuckDB, Spark, pandas)",
                num(w.total),
                num(facts.sessions.total),
                num(facts.alerts.total),
                num(facts.credentials.observations),
                num(facts.assets.total)
            )],
            links: vec![("scope", "Scope and integrity")],
        },
        Requirement {
            framework: NIS2,
            id: "(b)",
            title: "Incident handling",
            status: if alerts_high > 0 {
                Status::Finding
            } else if facts.alerts.total > 0 {
                Status::Review
            } else {
                Status::NoFinding
            },
            evidence: vec![
                format!(
                    "{} alerts, {} of high or critical severity",
                    num(facts.alerts.total),
                    num(alerts_high)
                ),
                format!("{} writes needing attention", num(w.flagged_total)),
            ],
            links: vec![
                ("alerts", "Alerts"),
                ("attention", "Writes needing attention"),
            ],
        },
        Requirement {
            framework: NIS2,
            id: "(h)",
            title: "Cryptography and encryption",
            status: if plaintext > 0 || weak_sessions > 0 || weak_creds > 0 {
                Status::Finding
            } else {
                Status::NoFinding
            },
            evidence: vec![
                format!(
                    "{} sessions under a weak or no security policy",
                    num(weak_sessions)
                ),
                format!(
                    "{} credentials seen under a weak policy",
                    num(weak_creds as u64)
                ),
                format!("{} passwords sent in clear", num(plaintext as u64)),
                format!(
                    "{} encrypted sessions (confidential, but their writes cannot be audited)",
                    num(opaque)
                ),
            ],
            links: vec![
                ("credentials", "Credentials"),
                ("scope", "Scope and integrity"),
            ],
        },
        Requirement {
            framework: NIS2,
            id: "(i)",
            title: "Access control policies and asset management",
            status: if not_covered + unattributed > 0 {
                Status::Finding
            } else {
                Status::NoFinding
            },
            evidence: vec![
                format!(
                    "{} devices written to; {} assets identified by their protocols",
                    num(devices),
                    num(facts.assets.total)
                ),
                format!(
                    "{} writes outside any delegation, {} by nobody known",
                    num(not_covered),
                    num(unattributed)
                ),
            ],
            links: vec![("devices", "Devices"), ("assets", "Assets")],
        },
        Requirement {
            framework: NIS2,
            id: "(j)",
            title: "Multi-factor or continuous authentication; secured communications",
            status: if no_credential > 0 {
                Status::Finding
            } else {
                Status::Review
            },
            evidence: vec![
                format!(
                    "{} writes sent with no credential at all",
                    num(no_credential)
                ),
                format!(
                    "{} writes with a cryptographic credential; multi-factor use is not visible \
                     on the wire",
                    num(crypto)
                ),
            ],
            links: vec![("credentials", "Credentials"), ("who", "Who wrote what")],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::super::facts::{Limits, WriteView};
    use super::*;

    fn scope() -> Scope {
        Scope::read(std::path::Path::new("/nonexistent/otw-report-scope"))
    }

    #[test]
    fn an_unattributed_write_is_a_finding_under_sr_1_1() {
        let mut facts = Facts::new(Limits::default());
        facts.add_write(&WriteView {
            attribution: "unattributed",
            delegation_status: "undelegated",
            ..WriteView::default()
        });

        let reqs = requirements(&facts, &scope(), 0);
        let sr11 = reqs.iter().find(|r| r.id == "SR 1.1").map(|r| r.status);
        let sr33 = reqs.iter().find(|r| r.id == "SR 3.3").map(|r| r.status);
        let sr39 = reqs.iter().find(|r| r.id == "SR 3.9").map(|r| r.status);
        assert_eq!(sr11, Some(Status::Finding));
        assert_eq!(sr33, Some(Status::Finding));
        assert_eq!(
            sr39,
            Some(Status::Finding),
            "verify cannot run on a missing folder"
        );
        assert_eq!(reqs.len(), 12);
    }

    #[test]
    fn attributed_delegated_writes_raise_no_finding_under_sr_1_1() {
        let mut facts = Facts::new(Limits::default());
        facts.add_write(&WriteView {
            identity: Some("human:bob"),
            credential_kind: Some("opcua_x509_user"),
            attribution: "attributed",
            delegation_status: "delegated",
            ..WriteView::default()
        });

        let reqs = requirements(&facts, &scope(), 0);
        let status = |id: &str| reqs.iter().find(|r| r.id == id).map(|r| r.status);
        assert_eq!(status("SR 1.1"), Some(Status::NoFinding));
        assert_eq!(status("SR 3.3"), Some(Status::NoFinding));
        assert_eq!(status("(j)"), Some(Status::Review));
    }
}
