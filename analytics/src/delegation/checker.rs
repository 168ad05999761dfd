//! The delegation check of each write, and the alerts it leads to.
//!
//! [`DelegationChecker::check`] fills `delegation`, `delegation_status` and `approved_by` of one
//! write; [`DelegationChecker::finish`] returns the alerts. Writes must arrive in time order
//! (the caller sorts every worker's writes by `(at.ts_us, at.source, at.frame, item)`), because
//! budgets are spent in that order and are global to the run.
//!
//! The rules (precedence, specificity, bounds) are in the [`super`] module doc. This module
//! does not sort writes, does not handle runs without a delegations file (`no_policy` is the
//! caller's), and does not look at `outcome`: a refused write still had to be allowed.

use std::net::IpAddr;

use chrono::{DateTime, SecondsFormat};
use rustc_hash::FxHashMap;

use super::grant::{Delegations, Grant};
use super::target::{Specificity, TargetView};
use crate::evidence::{
    AlertKind, AlertRow, DelegationStatus, FrameRef, Protocol, SessionId, Severity, WriteRow,
};

/// How a matching grant relates to a write, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Covers = 0,
    OutOfBounds = 1,
    OverBudget = 2,
    Expired = 3,
}

impl Class {
    fn status(self) -> DelegationStatus {
        match self {
            Class::Covers => DelegationStatus::Delegated,
            Class::OutOfBounds => DelegationStatus::OutOfBounds,
            Class::OverBudget => DelegationStatus::OverBudget,
            Class::Expired => DelegationStatus::Expired,
        }
    }
}

/// How specific a grant is for one write; smaller wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    target: Specificity,
    /// `false` (sorted first) for a grant that names its servers.
    any_server: bool,
}

/// The best grant of one class so far.
#[derive(Clone, Copy, Debug)]
struct Pick {
    rank: Rank,
    valid_from_us: i64,
    grant: u32,
}

impl Pick {
    /// Whether `self` beats `other`: more specific, then earlier window, then earlier in the
    /// file.
    fn beats(&self, other: &Pick) -> bool {
        (self.rank, self.valid_from_us, self.grant) < (other.rank, other.valid_from_us, other.grant)
    }
}

/// Non-delegated writes of one session and status, for one alert.
#[derive(Clone, Debug)]
struct Finding {
    first: FrameRef,
    protocol: Protocol,
    client_ip: IpAddr,
    server_ip: IpAddr,
    target: String,
    identity: Option<String>,
    grant: Option<u32>,
    count: u64,
}

/// Writes two grants covered equally specifically, for one alert.
#[derive(Clone, Debug)]
struct Tie {
    chosen: u32,
    other: u32,
    first: FrameRef,
    session_id: SessionId,
    protocol: Protocol,
    client_ip: IpAddr,
    server_ip: IpAddr,
    target: String,
    count: u64,
}

/// Checks writes, in time order, against a set of delegations.
#[derive(Debug)]
pub struct DelegationChecker<'d> {
    delegations: &'d Delegations,
    /// Writes each grant has delegated so far, by grant number.
    used: Vec<u64>,
    findings: FxHashMap<(SessionId, DelegationStatus), Finding>,
    /// By (lower, higher) grant number.
    ties: FxHashMap<(u32, u32), Tie>,
}

impl<'d> DelegationChecker<'d> {
    pub fn new(delegations: &'d Delegations) -> DelegationChecker<'d> {
        DelegationChecker {
            delegations,
            used: vec![0; delegations.len()],
            findings: FxHashMap::default(),
            ties: FxHashMap::default(),
        }
    }

    /// Sets `delegation`, `delegation_status` (never `no_policy`) and `approved_by` of `write`,
    /// spends one unit of the covering grant's budget when it is `delegated`, and counts the
    /// write towards its session's alert when it is not. Call in time order.
    pub fn check(&mut self, write: &mut WriteRow) {
        let (picked, tied) = self.evaluate(write);

        let grants = self.delegations.grants();
        let (status, grant) = match picked {
            Some((class, pick)) => (class.status(), grants.get(pick.grant as usize)),
            None => (DelegationStatus::Undelegated, None),
        };
        write.delegation_status = status;
        write.delegation = grant.map(|g| g.id.clone());
        write.approved_by = None;

        if let (Some((Class::Covers, pick)), Some(g)) = (picked, grant) {
            write.approved_by = Some(g.approved_by.clone());
            if let Some(used) = self.used.get_mut(pick.grant as usize) {
                *used += 1;
            }
            if tied {
                self.record_ties(write, pick);
            }
            return;
        }

        let finding = self
            .findings
            .entry((write.session_id, status))
            .or_insert_with(|| Finding {
                first: write.at,
                protocol: write.protocol,
                client_ip: write.endpoints.client_ip,
                server_ip: write.endpoints.server_ip,
                target: write.target.clone(),
                identity: write.identity.clone(),
                grant: picked.map(|(_, p)| p.grant),
                count: 0,
            });
        finding.count += 1;
    }

    /// The best matching grant with its class, and whether another grant covers the write
    /// exactly as specifically as the chosen one (only tracked for covering grants).
    fn evaluate(&self, write: &WriteRow) -> (Option<(Class, Pick)>, bool) {
        let Some(identity) = write.identity.as_deref() else {
            return (None, false);
        };

        let whole = TargetView::new(&write.target);
        let mut best: [Option<Pick>; 4] = [None; 4];
        let mut tied = false;

        for (number, grant, rank) in self.matching(identity, write, &whole) {
            let class = self.classify(number, grant, write);
            let pick = Pick {
                rank,
                valid_from_us: grant.valid_from_us,
                grant: number,
            };
            let slot = &mut best[class as usize];
            match slot {
                Some(current) => {
                    if class == Class::Covers {
                        if rank < current.rank {
                            tied = false;
                        } else if rank == current.rank {
                            tied = true;
                        }
                    }
                    if pick.beats(current) {
                        *current = pick;
                    }
                }
                None => *slot = Some(pick),
            }
        }

        let classes = [
            Class::Covers,
            Class::OutOfBounds,
            Class::OverBudget,
            Class::Expired,
        ];
        let picked = classes
            .into_iter()
            .find_map(|class| best[class as usize].map(|pick| (class, pick)));
        (picked, tied)
    }

    /// The grants whose principal, protocol, server, category and target match `write`, each
    /// with its rank. Window, bounds and budget are not looked at here.
    fn matching<'a>(
        &'a self,
        identity: &'a str,
        write: &'a WriteRow,
        whole: &'a TargetView<'a>,
    ) -> impl Iterator<Item = (u32, &'d Grant, Rank)> + 'a {
        let grants: &'d [Grant] = self.delegations.grants();
        self.delegations
            .candidates(identity, write.protocol, write.endpoints.server_ip)
            .filter_map(move |number| {
                let grant = grants.get(number as usize)?;
                if !grant.categories.contains(write.category) {
                    return None;
                }
                let target = target_specificity(grant, write, whole)?;
                let rank = Rank {
                    target,
                    any_server: grant.servers.is_none(),
                };
                Some((number, grant, rank))
            })
    }

    /// Where a matching grant stands for `write`: window first, then bounds, then budget.
    fn classify(&self, number: u32, grant: &Grant, write: &WriteRow) -> Class {
        if !grant.in_window(write.at.ts_us) {
            Class::Expired
        } else if !grant.in_bounds(&write.numeric_values) {
            Class::OutOfBounds
        } else if grant
            .max_writes
            .is_some_and(|max| self.used.get(number as usize).copied().unwrap_or(0) >= max)
        {
            Class::OverBudget
        } else {
            Class::Covers
        }
    }

    /// Records every covering grant as specific as the chosen one; the rare path, so it
    /// matches the candidates a second time rather than keeping a list for every write.
    fn record_ties(&mut self, write: &WriteRow, chosen: Pick) {
        let Some(identity) = write.identity.as_deref() else {
            return;
        };
        let whole = TargetView::new(&write.target);
        let others: Vec<u32> = self
            .matching(identity, write, &whole)
            .filter(|(number, _, rank)| *number != chosen.grant && *rank == chosen.rank)
            .filter(|(number, grant, _)| {
                // Budget was spent on the chosen grant already; the others are untouched.
                self.classify(*number, grant, write) == Class::Covers
            })
            .map(|(number, _, _)| number)
            .collect();

        for other in others {
            let key = (chosen.grant.min(other), chosen.grant.max(other));
            let tie = self.ties.entry(key).or_insert_with(|| Tie {
                chosen: chosen.grant,
                other,
                first: write.at,
                session_id: write.session_id,
                protocol: write.protocol,
                client_ip: write.endpoints.client_ip,
                server_ip: write.endpoints.server_ip,
                target: write.target.clone(),
                count: 0,
            });
            tie.count += 1;
        }
    }

    /// The alerts: one per session and non-delegated status (count, first frame), and one per
    /// pair of grants that tied, in evidence order.
    pub fn finish(self) -> Vec<AlertRow> {
        let grants = self.delegations.grants();
        let mut alerts = Vec::with_capacity(self.findings.len() + self.ties.len());

        for ((session_id, status), f) in self.findings {
            let grant = f.grant.and_then(|n| grants.get(n as usize));
            let (kind, severity, detail) = finding_text(status, &f, grant);
            alerts.push(AlertRow {
                at: f.first,
                kind,
                severity,
                session_id: Some(session_id),
                protocol: Some(f.protocol),
                client_ip: Some(f.client_ip),
                server_ip: Some(f.server_ip),
                detail,
            });
        }

        for tie in self.ties.into_values() {
            let (Some(chosen), Some(other)) = (
                grants.get(tie.chosen as usize),
                grants.get(tie.other as usize),
            ) else {
                continue;
            };
            let why = if chosen.valid_from_us < other.valid_from_us {
                "its window starts earlier"
            } else {
                "it comes first in the file"
            };
            let detail = format!(
                "delegations {} and {} cover the same writes equally specifically; {} was used \
                 because {why}. {} write(s) tied; the first is frame {}, {} by {}",
                chosen.id,
                other.id,
                chosen.id,
                tie.count,
                tie.first.frame,
                tie.target,
                chosen.principal
            );
            alerts.push(AlertRow {
                at: tie.first,
                kind: AlertKind::DelegationTie,
                severity: Severity::Low,
                session_id: Some(tie.session_id),
                protocol: Some(tie.protocol),
                client_ip: Some(tie.client_ip),
                server_ip: Some(tie.server_ip),
                detail,
            });
        }

        alerts.sort_by(|a, b| {
            (a.at, a.kind, a.session_id, &a.detail).cmp(&(b.at, b.kind, b.session_id, &b.detail))
        });
        alerts
    }
}

/// How narrowly `grant` covers the target of `write`, if it does: the best of its patterns;
/// for a Modbus target of several `; `-separated parts (FC 21), every part must be covered by
/// some pattern and the widest part decides.
fn target_specificity(
    grant: &Grant,
    write: &WriteRow,
    whole: &TargetView<'_>,
) -> Option<Specificity> {
    let best = |view: &TargetView<'_>| grant.targets.iter().filter_map(|p| p.covers(view)).min();

    if write.protocol == Protocol::Modbus && write.target.contains("; ") {
        let mut widest: Option<Specificity> = None;
        for part in write.target.split("; ") {
            let found = best(&TargetView::new(part))?;
            widest = Some(widest.map_or(found, |w| w.max(found)));
        }
        return widest;
    }
    best(whole)
}

/// Kind, severity and detail of the alert for a session's non-delegated writes.
fn finding_text(
    status: DelegationStatus,
    f: &Finding,
    grant: Option<&Grant>,
) -> (AlertKind, Severity, String) {
    let who = f.identity.as_deref().unwrap_or("nobody known");
    let first = format!(
        "the first is frame {}, {} by {who}",
        f.first.frame, f.target
    );
    let id = grant.map_or("?", |g| g.id.as_str());
    let n = f.count;

    match status {
        DelegationStatus::Expired => {
            let window = grant.map_or_else(String::new, |g| {
                format!(
                    " ({} to {})",
                    utc_text(g.valid_from_us),
                    utc_text(g.valid_until_us)
                )
            });
            let detail = format!(
                "{n} write(s) in this session fall outside the window of delegation \
                 {id}{window}; {first}"
            );
            (AlertKind::ExpiredDelegation, Severity::Medium, detail)
        }
        DelegationStatus::OutOfBounds => {
            let bounds = grant.map_or_else(String::new, |g| {
                let show = |b: Option<f64>| b.map_or_else(|| "-".to_owned(), |v| v.to_string());
                format!(" [{}, {}]", show(g.value_min), show(g.value_max))
            });
            let detail = format!(
                "{n} write(s) in this session set values outside the bounds of delegation \
                 {id}{bounds}; {first}"
            );
            (AlertKind::OutOfBoundsWrite, Severity::High, detail)
        }
        DelegationStatus::OverBudget => {
            let budget = grant
                .and_then(|g| g.max_writes)
                .map_or_else(String::new, |m| format!(" (max_writes {m})"));
            let detail = format!(
                "{n} write(s) in this session exceed the budget of delegation {id}{budget}; \
                 {first}"
            );
            (AlertKind::OverBudgetWrite, Severity::High, detail)
        }
        _ => {
            let detail = if f.identity.is_some() {
                format!("{n} write(s) in this session are covered by no delegation; {first}")
            } else {
                format!(
                    "{n} write(s) in this session have no identity, so no delegation can cover \
                     them; {first}"
                )
            };
            (AlertKind::UndelegatedWrite, Severity::High, detail)
        }
    }
}

/// `2026-12-01T06:00:00Z`, or the raw number if it is out of chrono's range.
fn utc_text(us: i64) -> String {
    DateTime::from_timestamp_micros(us).map_or_else(
        || us.to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Attribution, Category, Endpoints, Outcome};

    /// 2026-12-01T06:00:00Z.
    const T0: i64 = 1_796_104_800_000_000;
    const SECOND: i64 = 1_000_000;

    /// A grant with the given extra lines, valid 06:00Z to 18:00Z for human:bob on Modbus.
    fn grant(id: &str, extra: &str) -> String {
        format!(
            "[[delegation]]\nid = \"{id}\"\nprincipal = \"human:bob\"\napproved_by = \"ann\"\n\
             valid_from = 2026-12-01T06:00:00Z\nvalid_until = 2026-12-01T18:00:00Z\n\
             protocol = \"modbus\"\ncategories = [\"write\"]\n{extra}\n"
        )
    }

    fn policy(grants: &[String]) -> Delegations {
        Delegations::parse("d.toml", &grants.concat()).unwrap()
    }

    struct W {
        row: WriteRow,
    }

    impl W {
        fn new(target: &str, values: &[f64]) -> W {
            let endpoints = Endpoints {
                client_ip: "10.0.0.5".parse().unwrap(),
                client_port: 40000,
                client_mac: None,
                server_ip: "10.0.0.2".parse().unwrap(),
                server_port: 502,
                server_mac: None,
                vlan: None,
            };
            W {
                row: WriteRow {
                    at: FrameRef {
                        source: 0,
                        frame: 1,
                        ts_us: T0 + 3600 * SECOND,
                    },
                    item: 0,
                    endpoints,
                    session_id: SessionId(1),
                    protocol: Protocol::Modbus,
                    category: Category::Write,
                    operation: "Write Multiple Registers",
                    function_code: 16,
                    target: target.to_owned(),
                    value: None,
                    outcome: Outcome::Ok,
                    response_ts_us: None,
                    credential: None,
                    client_certificate: None,
                    device_id: None,
                    identity: Some("human:bob".to_owned()),
                    attribution: Attribution::NetworkOnly,
                    delegation: None,
                    delegation_status: DelegationStatus::NoPolicy,
                    approved_by: None,
                    numeric_values: values.to_vec(),
                },
            }
        }

        fn at(mut self, frame: u64, ts_us: i64) -> W {
            self.row.at.frame = frame;
            self.row.at.ts_us = ts_us;
            self
        }

        fn with(mut self, change: impl FnOnce(&mut WriteRow)) -> W {
            change(&mut self.row);
            self
        }
    }

    /// Checks the writes in order; returns (status, delegation) of each and the alerts.
    fn run(
        delegations: &Delegations,
        writes: Vec<W>,
    ) -> (Vec<(DelegationStatus, Option<String>)>, Vec<AlertRow>) {
        let mut checker = DelegationChecker::new(delegations);
        let mut out = Vec::new();
        for mut w in writes {
            checker.check(&mut w.row);
            if w.row.delegation_status == DelegationStatus::Delegated {
                assert_eq!(w.row.approved_by.as_deref(), Some("ann"));
            } else {
                assert_eq!(w.row.approved_by, None);
            }
            out.push((w.row.delegation_status, w.row.delegation));
        }
        (out, checker.finish())
    }

    fn one(delegations: &Delegations, w: W) -> (DelegationStatus, Option<String>) {
        run(delegations, vec![w]).0.remove(0)
    }

    fn status(s: DelegationStatus, id: Option<&str>) -> (DelegationStatus, Option<String>) {
        (s, id.map(str::to_owned))
    }

    use DelegationStatus::{Delegated, Expired, OutOfBounds, OverBudget, Undelegated};

    #[test]
    fn matches_principal_protocol_server_category_and_target() {
        let d = policy(&[grant(
            "G",
            "servers = [\"10.0.0.2\"]\ntargets = [\"unit 1 holding 0..199\"]",
        )]);
        let ok = || W::new("unit 1 holding 10..20", &[1.0]);
        assert_eq!(one(&d, ok()), status(Delegated, Some("G")));

        let cases: Vec<W> = vec![
            ok().with(|w| w.identity = Some("human:eve".to_owned())),
            ok().with(|w| w.identity = None),
            ok().with(|w| w.protocol = Protocol::S7comm),
            ok().with(|w| w.category = Category::Control),
            ok().with(|w| w.endpoints.server_ip = "10.0.0.3".parse().unwrap()),
            ok().with(|w| w.target = "unit 1 holding 190..210".to_owned()),
        ];
        for w in cases {
            let what = format!("{:?}", w.row);
            assert_eq!(one(&d, w), status(Undelegated, None), "{what}");
        }
    }

    #[test]
    fn windows_are_inclusive_across_time_zones() {
        // 08:00+02:00 is 06:00Z and 03:00-05:00 is 08:00Z.
        let text = grant("G", "targets = [\"*\"]")
            .replace("2026-12-01T06:00:00Z", "2026-12-01T08:00:00+02:00")
            .replace("2026-12-01T18:00:00Z", "2026-12-01T03:00:00-05:00");
        let d = Delegations::parse("d.toml", &text).unwrap();
        let end = T0 + 2 * 3600 * SECOND;
        let cases = [
            (T0 - 1, Expired),
            (T0, Delegated),
            (T0 + 3600 * SECOND, Delegated),
            (end, Delegated),
            (end + 1, Expired),
        ];
        for (ts, expected) in cases {
            let w = W::new("unit 1 holding 1", &[1.0]).at(1, ts);
            assert_eq!(one(&d, w), status(expected, Some("G")), "at {ts}");
        }
    }

    #[test]
    fn budget_counts_only_delegated_writes_in_order() {
        let d = policy(&[grant(
            "G",
            "targets = [\"unit 1 holding 400\"]\nmax_writes = 2\nvalue_max = 10",
        )]);
        let w = |frame, value| W::new("unit 1 holding 400", &[value]).at(frame, T0 + frame as i64);
        let (statuses, alerts) = run(
            &d,
            vec![w(1, 99.0), w(2, 1.0), w(3, 2.0), w(4, 3.0), w(5, 4.0)],
        );
        let g = Some("G");
        assert_eq!(
            statuses,
            [
                status(OutOfBounds, g),
                status(Delegated, g),
                status(Delegated, g),
                status(OverBudget, g),
                status(OverBudget, g),
            ]
        );
        let kinds: Vec<_> = alerts.iter().map(|a| (a.kind, a.at.frame)).collect();
        assert_eq!(
            kinds,
            [
                (AlertKind::OutOfBoundsWrite, 1),
                (AlertKind::OverBudgetWrite, 4)
            ]
        );
        assert!(
            alerts[1].detail.starts_with("2 write(s)"),
            "{}",
            alerts[1].detail
        );
        assert!(
            alerts[1].detail.contains("max_writes 2"),
            "{}",
            alerts[1].detail
        );
    }

    #[test]
    fn an_over_budget_write_does_not_consume_and_falls_back_to_a_wider_grant() {
        let d = policy(&[
            grant(
                "NARROW",
                "targets = [\"unit 1 holding 400\"]\nmax_writes = 1",
            ),
            grant("WIDE", "targets = [\"unit 1 holding *\"]"),
        ]);
        let w = |frame| W::new("unit 1 holding 400", &[1.0]).at(frame, T0 + frame as i64);
        let (statuses, _) = run(&d, vec![w(1), w(2), w(3)]);
        assert_eq!(
            statuses,
            [
                status(Delegated, Some("NARROW")),
                status(Delegated, Some("WIDE")),
                status(Delegated, Some("WIDE")),
            ]
        );
    }

    #[test]
    fn bounds_cover_every_value_and_refuse_non_numeric_writes() {
        let both = policy(&[grant(
            "G",
            "targets = [\"*\"]\nvalue_min = 150\nvalue_max = 220.0",
        )]);
        let min = policy(&[grant("G", "targets = [\"*\"]\nvalue_min = 150")]);
        let max = policy(&[grant("G", "targets = [\"*\"]\nvalue_max = 220")]);
        let none = policy(&[grant("G", "targets = [\"*\"]")]);
        let w = |values: &[f64]| W::new("unit 1 holding 300..303", values);
        let g = Some("G");

        assert_eq!(one(&both, w(&[150.0, 220.0, 180.0])), status(Delegated, g));
        assert_eq!(one(&both, w(&[160.0, 250.0])), status(OutOfBounds, g));
        assert_eq!(one(&both, w(&[100.0, 160.0])), status(OutOfBounds, g));
        assert_eq!(one(&both, w(&[])), status(OutOfBounds, g));
        assert_eq!(one(&min, w(&[1e6])), status(Delegated, g));
        assert_eq!(one(&min, w(&[149.0])), status(OutOfBounds, g));
        assert_eq!(one(&max, w(&[-5.0, 220.0])), status(Delegated, g));
        assert_eq!(one(&max, w(&[220.5])), status(OutOfBounds, g));
        assert_eq!(one(&max, w(&[])), status(OutOfBounds, g));
        assert_eq!(one(&none, w(&[])), status(Delegated, g));
    }

    #[test]
    fn status_precedence() {
        // Covered by one grant beats out of bounds under another.
        let d = policy(&[
            grant(
                "BOUNDED",
                "targets = [\"unit 1 holding 1\"]\nvalue_max = 10",
            ),
            grant("OPEN", "targets = [\"unit 1 holding *\"]"),
        ]);
        assert_eq!(
            one(&d, W::new("unit 1 holding 1", &[50.0])),
            status(Delegated, Some("OPEN"))
        );

        // Out of bounds beats over budget beats expired.
        let later = "valid_from = 2026-12-01T06:00:00Z";
        let old = grant("OLD", "targets = [\"unit 1 holding 1\"]")
            .replace(later, "valid_from = 2026-11-01T06:00:00Z");
        let old = old.replace("2026-12-01T18:00:00Z", "2026-11-01T18:00:00Z");
        let spent = grant(
            "SPENT",
            "targets = [\"unit 1 holding 0..9\"]\nmax_writes = 1",
        );
        let bounded = grant(
            "BOUNDED",
            "targets = [\"unit 1 holding 0..99\"]\nvalue_max = 10",
        );
        let d = policy(&[old.clone(), spent.clone(), bounded]);
        let w = |frame, v| W::new("unit 1 holding 1", &[v]).at(frame, T0 + frame as i64);
        let (statuses, _) = run(&d, vec![w(1, 5.0), w(2, 50.0)]);
        assert_eq!(
            statuses,
            [
                status(Delegated, Some("SPENT")),
                status(OutOfBounds, Some("BOUNDED")),
            ]
        );

        let d = policy(&[old.clone(), spent]);
        let (statuses, _) = run(&d, vec![w(1, 5.0), w(2, 50.0)]);
        assert_eq!(statuses[1], status(OverBudget, Some("SPENT")));

        let d = policy(&[old]);
        assert_eq!(one(&d, w(1, 5.0)), status(Expired, Some("OLD")));
    }

    #[test]
    fn the_narrowest_grant_wins_whatever_the_file_order() {
        let wide = grant("WIDE", "targets = [\"unit 1 holding 0..199\"]");
        let narrow = grant(
            "NARROW",
            "targets = [\"unit 1 holding 10..19\", \"unit 9 coil 1\"]",
        );
        let glob = grant("GLOB", "targets = [\"unit 1 holding 1*\"]");
        for order in [
            [wide.clone(), narrow.clone(), glob.clone()],
            [glob.clone(), narrow.clone(), wide.clone()],
        ] {
            let d = policy(&order);
            let (statuses, alerts) = run(&d, vec![W::new("unit 1 holding 12", &[1.0])]);
            assert_eq!(statuses[0], status(Delegated, Some("NARROW")));
            assert!(alerts.is_empty());
            assert_eq!(
                one(&d, W::new("unit 1 holding 150", &[1.0])),
                status(Delegated, Some("WIDE")),
                "a range beats a glob"
            );
        }

        // S7: the bit beats the byte that holds it.
        let s7 = |id: &str, target: &str| {
            grant(id, &format!("targets = [\"{target}\"]")).replace("modbus", "s7comm")
        };
        let d = policy(&[s7("BYTE", "DB1.DBB4"), s7("BIT", "DB1.DBX4.3")]);
        let w = W::new("DB1.DBX4.3", &[1.0]).with(|w| w.protocol = Protocol::S7comm);
        assert_eq!(one(&d, w), status(Delegated, Some("BIT")));
    }

    #[test]
    fn a_named_server_beats_any_server() {
        let any = grant("ANY", "targets = [\"unit 1 holding 1\"]");
        let named = grant(
            "NAMED",
            "servers = [\"10.0.0.2\"]\ntargets = [\"unit 1 holding 1\"]",
        );
        let d = policy(&[any, named]);
        let (statuses, alerts) = run(&d, vec![W::new("unit 1 holding 1", &[1.0])]);
        assert_eq!(statuses[0], status(Delegated, Some("NAMED")));
        assert!(alerts.is_empty());
    }

    #[test]
    fn a_tie_picks_the_earlier_window_and_is_reported_once() {
        let late = grant("LATE", "targets = [\"unit 1 holding 0..9\"]")
            .replace("T06:00:00Z", "T06:30:00Z");
        let early = grant(
            "EARLY",
            "targets = [\"unit 1 holding 10..19\", \"unit 1 holding 0..9\"]",
        );
        let third = grant("FILE2", "targets = [\"unit 1 holding 0..9\"]");
        let d = policy(&[late, early, third]);
        let w =
            |frame| W::new("unit 1 holding 5", &[1.0]).at(frame, T0 + 3600 * SECOND + frame as i64);
        let (statuses, alerts) = run(&d, vec![w(7), w(8), w(9)]);
        assert!(statuses
            .iter()
            .all(|s| *s == status(Delegated, Some("EARLY"))));

        // EARLY ties with LATE and with FILE2: two pairs, one alert each, for three writes.
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        for a in &alerts {
            assert_eq!(
                (a.kind, a.severity, a.at.frame),
                (AlertKind::DelegationTie, Severity::Low, 7)
            );
            assert!(
                a.detail.starts_with("delegations EARLY and "),
                "{}",
                a.detail
            );
            assert!(a.detail.contains("3 write(s) tied"), "{}", a.detail);
        }
        assert!(alerts.iter().any(|a| a.detail.contains("and LATE")));
        assert!(alerts.iter().any(|a| a.detail.contains("and FILE2")));

        // Same window: the earlier in the file wins.
        let d = policy(&[
            grant("FIRST", "targets = [\"unit 1 holding 0..9\"]"),
            grant("SECOND", "targets = [\"unit 1 holding 0..9\"]"),
        ]);
        let (statuses, alerts) = run(&d, vec![w(1)]);
        assert_eq!(statuses[0], status(Delegated, Some("FIRST")));
        assert!(
            alerts[0].detail.contains("comes first in the file"),
            "{}",
            alerts[0].detail
        );
    }

    #[test]
    fn file_record_targets_need_every_part_covered() {
        let d = policy(&[grant(
            "G",
            "targets = [\"unit 1 file 1 record 0..9\", \"unit 1 file 2 record 0..99\"]",
        )]);
        let both = "unit 1 file 1 record 0..1; unit 1 file 2 record 10..13";
        let outside = "unit 1 file 1 record 0..1; unit 1 file 3 record 10..13";
        assert_eq!(one(&d, W::new(both, &[1.0])), status(Delegated, Some("G")));
        assert_eq!(one(&d, W::new(outside, &[1.0])), status(Undelegated, None));

        // Only Modbus targets are split: an OPC UA node id may hold "; ".
        let text = grant("UA", "targets = [\"ns=2;s=a; b\"]").replace("modbus", "opcua");
        let d = Delegations::parse("d.toml", &text).unwrap();
        let w = W::new("ns=2;s=a; b", &[1.0]).with(|w| w.protocol = Protocol::Opcua);
        assert_eq!(one(&d, w), status(Delegated, Some("UA")));
    }

    #[test]
    fn alerts_are_one_per_session_and_status() {
        let d = policy(&[grant(
            "G",
            "targets = [\"unit 1 holding 0..9\"]\nvalue_max = 10",
        )]);
        let w = |frame, session, target: &str, value| {
            W::new(target, &[value])
                .at(frame, T0 + frame as i64)
                .with(|w| w.session_id = SessionId(session))
        };
        let writes = vec![
            w(1, 1, "unit 1 holding 50", 1.0),
            w(2, 1, "unit 1 holding 51", 1.0),
            w(3, 1, "unit 1 holding 5", 11.0),
            w(4, 2, "unit 1 holding 52", 1.0),
            w(5, 1, "unit 1 holding 5", 1.0),
            w(6, 2, "unit 1 holding 5", 1.0).with(|w| w.identity = None),
        ];
        let (_, alerts) = run(&d, writes);
        let summary: Vec<_> = alerts
            .iter()
            .map(|a| (a.at.frame, a.kind, a.severity, a.session_id))
            .collect();
        let s = |n| Some(SessionId(n));
        assert_eq!(
            summary,
            [
                (1, AlertKind::UndelegatedWrite, Severity::High, s(1)),
                (3, AlertKind::OutOfBoundsWrite, Severity::High, s(1)),
                (4, AlertKind::UndelegatedWrite, Severity::High, s(2)),
            ]
        );
        assert!(
            alerts[0].detail.starts_with("2 write(s)"),
            "{}",
            alerts[0].detail
        );
        assert!(alerts[0]
            .detail
            .contains("frame 1, unit 1 holding 50 by human:bob"));
        assert!(alerts[1].detail.contains("[-, 10]"), "{}", alerts[1].detail);
        assert!(
            alerts[2].detail.starts_with("2 write(s)"),
            "{}",
            alerts[2].detail
        );

        let expired = one(&d, W::new("unit 1 holding 5", &[1.0]).at(1, T0 - 1));
        assert_eq!(expired, status(Expired, Some("G")));
        let (_, alerts) = run(&d, vec![W::new("unit 1 holding 5", &[1.0]).at(1, T0 - 1)]);
        assert_eq!(
            (alerts[0].kind, alerts[0].severity),
            (AlertKind::ExpiredDelegation, Severity::Medium)
        );
        assert!(
            alerts[0]
                .detail
                .contains("(2026-12-01T06:00:00Z to 2026-12-01T18:00:00Z)"),
            "{}",
            alerts[0].detail
        );
    }

    #[test]
    fn ten_thousand_grants_stay_indexed() {
        let mut text = String::new();
        for i in 0..10_000 {
            let principal = format!("agent:{}", i % 100);
            let server = format!("10.1.{}.{}", i / 250, i % 250);
            let scope = format!("servers = [\"{server}\"]\ntargets = [\"unit 1 holding {i}\"]");
            text.push_str(&grant(&format!("G{i}"), &scope).replace("human:bob", &principal));
        }
        let d = Delegations::parse("d.toml", &text).unwrap();
        let server = "10.1.29.171".parse().unwrap();
        assert_eq!(
            d.candidates("agent:21", Protocol::Modbus, server).count(),
            1
        );

        let w = W::new("unit 1 holding 7421", &[1.0]).with(|w| {
            w.identity = Some("agent:21".to_owned());
            w.endpoints.server_ip = server;
        });
        let mut checker = DelegationChecker::new(&d);
        let mut row = w.row;
        checker.check(&mut row);
        assert_eq!(row.delegation.as_deref(), Some("G7421"));
    }
}
