//! The page itself: one HTML document with its style, script and charts inline.
//!
//! Sections, in the order an auditor needs them: scope and integrity (what the evidence
//! covers and whether it is intact, with everything that limits completeness), who wrote what
//! (charts, principals), devices, writes needing attention, credentials, alerts, the standards
//! view, assets. A Content-Security-Policy allows no fetch at all, and only the one inline
//! script whose hash it names, so even a value that escaped escaping could not run or load
//! anything.

use std::fmt::Write as _;

use super::charts::{self, HBar};
use super::facts::{weak_policy, Facts};
use super::html::{csp_hash, esc, num, time, Cell, Table};
use super::read::CaptureStats;
use super::scope::Scope;
use super::standards;

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("script.js");

/// Certificates expiring within this many days are flagged.
const EXPIRY_WARNING_DAYS: i64 = 30;

/// What the page is made from.
pub struct PageInput<'a> {
    pub folder: &'a str,
    pub scope: &'a Scope,
    pub facts: &'a Facts,
    pub stats: Option<&'a CaptureStats>,
    /// Parquet files read.
    pub files_read: usize,
    /// The time the report is made (µs since the epoch): certificate expiry is judged then.
    pub now_us: i64,
}

/// Renders the whole page.
pub fn render(input: &PageInput<'_>) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src {}; img-src data:; \
         base-uri 'none'; form-action 'none'",
        csp_hash(SCRIPT)
    );

    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>OT Witness report: {}</title><style>{STYLE}</style></head><body>",
        esc(&csp),
        esc(input.folder)
    );
    header(&mut out, input);
    out.push_str(
        "<nav class=\"toc\"><a href=\"#scope\">Scope &amp; integrity</a>\
         <a href=\"#who\">Who wrote what</a><a href=\"#devices\">Devices</a>\
         <a href=\"#attention\">Writes needing attention</a>\
         <a href=\"#credentials\">Credentials</a><a href=\"#alerts\">Alerts</a>\
         <a href=\"#standards\">Standards</a><a href=\"#assets\">Assets</a></nav><main>",
    );
    scope_section(&mut out, input);
    who_section(&mut out, input.facts);
    devices_section(&mut out, input.facts);
    attention_section(&mut out, input.facts);
    credentials_section(&mut out, input);
    alerts_section(&mut out, input.facts);
    standards_section(&mut out, input);
    assets_section(&mut out, input.facts);
    let _ = writeln!(
        out,
        "</main><footer>Made by otwitness {} from {} Parquet files on {}. Every count comes \
         from the evidence tables; lists show at most {} rows each.</footer>\
         <script>{SCRIPT}</script></body></html>",
        env!("CARGO_PKG_VERSION"),
        input.files_read,
        esc(&time(input.now_us)),
        num(input.facts.limits.rows as u64)
    );
    out
}

fn header(out: &mut String, input: &PageInput<'_>) {
    let scope = input.scope;
    let (verdict, class) = match &scope.verify {
        Ok(report) if report.is_ok() => ("Evidence verified".to_owned(), "good"),
        Ok(report) => (
            format!("Verify FAILED: {} problems", report.problems.len()),
            "bad",
        ),
        Err(_) => ("Verify could not run".to_owned(), "bad"),
    };
    let sensors: Vec<&str> = scope.sensors.iter().map(String::as_str).collect();
    let _ = write!(
        out,
        "<header class=\"top\"><span id=\"verdict\" class=\"badge verdict {class}\">{}</span>\
         <h1>OT Witness — audit report</h1><p>Evidence folder <code>{}</code> · sensor{} {}</p>\
         <p>Capture time {} → {}</p></header>",
        esc(&verdict),
        esc(input.folder),
        if sensors.len() == 1 { "" } else { "s" },
        esc(&sensors.join(", ")),
        esc(&rfc3339_text(scope.first_ts.as_deref())),
        esc(&rfc3339_text(scope.last_ts.as_deref())),
    );
}

/// A manifest time (RFC 3339) as the page shows times; as written when it does not parse.
fn rfc3339_text(text: Option<&str>) -> String {
    let Some(text) = text else {
        return "unknown".to_owned();
    };
    chrono::DateTime::parse_from_rfc3339(text)
        .map_or_else(|_| text.to_owned(), |t| time(t.timestamp_micros()))
}

fn card(out: &mut String, key: &str, value: &str, sub: &str, class: &str) {
    let _ = write!(
        out,
        "<div class=\"card {class}\"><div class=\"k\">{}</div><div class=\"v\">{}</div>\
         <div class=\"s\">{}</div></div>",
        esc(key),
        esc(value),
        esc(sub)
    );
}

fn level(bad: bool) -> &'static str {
    if bad {
        "bad"
    } else {
        "good"
    }
}

fn scope_section(out: &mut String, input: &PageInput<'_>) {
    let scope = input.scope;
    let facts = input.facts;
    out.push_str(
        "<section id=\"scope\"><h2>Scope and integrity</h2><p class=\"lead\">What the evidence \
         covers, whether it is exactly what its manifests say, and everything that limits its \
         completeness. Read this first: the rest of the page is only as complete as this.</p>\
         <div class=\"cards\">",
    );
    let verify_value = match &scope.verify {
        Ok(r) if r.is_ok() => "ok".to_owned(),
        Ok(r) => format!("{} problems", r.problems.len()),
        Err(_) => "not run".to_owned(),
    };
    let checked = match &scope.verify {
        Ok(r) => format!("{} manifests, {} files", r.manifests.len(), r.files_checked),
        Err(e) => e.clone(),
    };
    card(
        out,
        "verify",
        &verify_value,
        &checked,
        level(!scope.verified()),
    );
    card(
        out,
        "inputs",
        &num(scope.inputs.len() as u64),
        &format!("{} packets", num(scope.packets)),
        "",
    );
    card(
        out,
        "writes",
        &num(facts.writes.total),
        &format!("{} sessions", num(facts.sessions.total)),
        "",
    );
    let drops = scope.kernel_drops.map_or_else(|| "none".to_owned(), num);
    card(
        out,
        "kernel drops",
        &drops,
        if scope.kernel_drops.is_some() {
            "packets the live capture lost"
        } else {
            "capture files: no kernel to drop"
        },
        level(scope.kernel_drops.unwrap_or(0) > 0),
    );
    card(
        out,
        "opaque sessions",
        &num(facts.sessions.opaque_total),
        "writes cannot be seen",
        if facts.sessions.opaque_total > 0 {
            "warn"
        } else {
            "good"
        },
    );
    card(
        out,
        "reassembly gaps",
        &num(scope.counter("reassembly_gaps")),
        &format!(
            "{} bytes missing",
            num(scope.counter("reassembly_gap_bytes"))
        ),
        if scope.counter("reassembly_gaps") > 0 {
            "warn"
        } else {
            "good"
        },
    );
    out.push_str("</div>");

    verify_details(out, scope);

    out.push_str("<h3>Inputs</h3>");
    let rows = scope
        .inputs
        .iter()
        .take(facts.limits.rows)
        .map(|i| {
            let damage = i.damage.as_ref().map_or_else(String::new, |d| {
                format!(
                    "read up to frame {} (byte {}): {}",
                    d.frame, d.offset, d.what
                )
            });
            vec![
                Cell::text(&i.name),
                Cell::code(
                    i.sha256
                        .clone()
                        .unwrap_or_else(|| "(live interface)".into()),
                ),
                Cell::number(i.bytes),
                Cell::number(i.packets),
                Cell::text(rfc3339_text(i.first_ts.as_deref())),
                Cell::text(rfc3339_text(i.last_ts.as_deref())),
                if damage.is_empty() {
                    Cell::badge("intact", "good")
                } else {
                    Cell::badge(damage, "bad")
                },
            ]
        })
        .collect();
    Table {
        id: "inputs",
        caption: "Captures analysed, with the SHA-256 recorded when they were read",
        headers: &[
            "input", "sha256", "bytes", "packets", "first", "last", "state",
        ],
        rows,
        total: scope.inputs.len() as u64,
        interactive: true,
    }
    .render(out);

    out.push_str("<h3>Completeness</h3>");
    let limit = |name: &str, n: u64, what: &str| {
        vec![
            Cell::text(name),
            Cell::number(n),
            if n > 0 {
                Cell::badge("limits completeness", "warn")
            } else {
                Cell::badge("none", "good")
            },
            Cell::text(what),
        ]
    };
    let mut rows = vec![
        limit(
            "damaged inputs",
            scope.damaged_inputs() as u64,
            "capture files read only up to a damaged record",
        ),
        limit(
            "kernel drops",
            scope.kernel_drops.unwrap_or(0),
            "packets lost by live capture before the sensor saw them",
        ),
        limit(
            "reassembly gaps",
            scope.counter("reassembly_gaps"),
            "holes in TCP streams; requests in them are not seen",
        ),
        limit(
            "malformed PDUs",
            scope.counter("malformed_pdus"),
            "protocol messages that could not be decoded",
        ),
        limit(
            "flows evicted",
            scope.counter("flows_evicted"),
            "flows dropped from the flow table when it was full",
        ),
        limit(
            "opaque sessions",
            facts.sessions.opaque_total,
            "encrypted sessions: their writes cannot be read",
        ),
        limit(
            "unrecognised flows",
            scope.counter("unknown_flows"),
            "flows of no protocol the sensor dissects",
        ),
    ];
    if let Some(stats) = input.stats {
        rows.push(vec![
            Cell::text("capture_stats rows"),
            Cell::number(stats.rows),
            Cell::badge("live capture", "good"),
            Cell::text(stats_text(stats)),
        ]);
    }
    Table {
        id: "completeness",
        caption: "What limits completeness (summed over every manifest)",
        headers: &["what", "count", "effect", "meaning"],
        total: rows.len() as u64,
        rows,
        interactive: false,
    }
    .render(out);

    out.push_str("<h3>Opaque sessions</h3>");
    let rows = facts
        .sessions
        .opaque
        .iter()
        .map(|s| {
            vec![
                Cell::time(s.start_us),
                Cell::text(&s.protocol),
                Cell::text(&s.client_ip),
                Cell::text(&s.server_ip),
                Cell::text(&s.policy),
                Cell::text(&s.source),
                Cell::number(s.frame.max(0) as u64),
            ]
        })
        .collect();
    Table {
        id: "opaque",
        caption: "Sessions whose content could not be read (their writes are not in the evidence)",
        headers: &[
            "start", "protocol", "client", "server", "security", "source", "frame",
        ],
        rows,
        total: facts.sessions.opaque_total,
        interactive: true,
    }
    .render(out);

    out.push_str("<h3>Tables</h3>");
    let read = [
        ("writes", facts.writes.total),
        ("sessions", facts.sessions.total),
        ("assets", facts.assets.total),
        ("alerts", facts.alerts.total),
        ("credentials", facts.credentials.observations),
    ];
    let rows = read
        .iter()
        .zip(crate::evidence::Table::ALL)
        .map(|((name, rows_read), table)| {
            let listed = scope.row_counts.get(table);
            vec![
                Cell::text(*name),
                Cell::number(listed),
                Cell::number(*rows_read),
                if listed == *rows_read {
                    Cell::badge("agree", "good")
                } else {
                    Cell::badge("differ", "bad")
                },
            ]
        })
        .collect();
    Table {
        id: "tables",
        caption: "Rows the manifests list, and rows this report read",
        headers: &["table", "rows in manifests", "rows read", ""],
        rows,
        total: 5,
        interactive: false,
    }
    .render(out);
    out.push_str("</section>");
}

fn stats_text(stats: &CaptureStats) -> String {
    let sums: Vec<String> = stats
        .sums
        .iter()
        .map(|(name, sum)| format!("{name} {sum}"))
        .collect();
    format!("{} files; totals: {}", stats.files, sums.join(", "))
}

fn verify_details(out: &mut String, scope: &Scope) {
    match &scope.verify {
        Ok(report) => {
            if !report.problems.is_empty() {
                out.push_str("<h3>Verify problems</h3><ul class=\"problems\" id=\"problems\">");
                for problem in report.problems.iter().take(200) {
                    let _ = write!(out, "<li>{}</li>", esc(&problem.to_string()));
                }
                if report.problems.len() > 200 {
                    let _ = write!(
                        out,
                        "<li>{} more not shown</li>",
                        report.problems.len() - 200
                    );
                }
                out.push_str("</ul>");
            }
            out.push_str("<ul class=\"notes\">");
            let signed = scope.signed_manifests;
            let _ = write!(
                out,
                "<li>{} of {} manifests signed (Ed25519). Unsigned evidence proves its files \
                 match the manifests, not who wrote the manifests.</li>",
                signed, scope.manifests_read
            );
            for input in report.inputs.iter().take(50) {
                let _ = write!(out, "<li>{}</li>", esc(&input.to_string()));
            }
            out.push_str("</ul>");
        }
        Err(error) => {
            let _ = write!(
                out,
                "<ul class=\"problems\" id=\"problems\"><li>verify could not run: {}</li></ul>",
                esc(error)
            );
        }
    }
    for error in &scope.manifest_errors {
        let _ = write!(out, "<ul class=\"problems\"><li>{}</li></ul>", esc(error));
    }
}

fn who_section(out: &mut String, facts: &Facts) {
    let w = &facts.writes;
    out.push_str(
        "<section id=\"who\"><h2>Who wrote what</h2><p class=\"lead\">Every write, control, \
         program or configuration change, by who made it and how the sensor knows.</p>\
         <div class=\"cards\">",
    );
    for (name, class, sub) in [
        ("attributed", "good", "a credential names a principal"),
        (
            "credential_only",
            "warn",
            "credential, but unknown principal",
        ),
        ("network_only", "warn", "known only by address"),
        ("unattributed", "bad", "nobody can tell who"),
    ] {
        let n = w.by_attribution.get(name).copied().unwrap_or(0);
        let class = if n == 0 { "" } else { class };
        card(out, name, &num(n), sub, class);
    }
    out.push_str("</div><div class=\"two\"><div>");
    charts::time_bars(
        out,
        "chart-principal",
        "Writes over time per principal",
        &w.per_principal,
    );
    out.push_str("</div><div>");
    charts::time_bars(
        out,
        "chart-attribution",
        "Writes over time per attribution",
        &w.per_attribution,
    );
    out.push_str("</div></div>");

    let statuses = [
        "delegated",
        "undelegated",
        "expired",
        "out_of_bounds",
        "over_budget",
        "no_policy",
    ];
    let mut headers = vec!["principal", "writes"];
    headers.extend(statuses);
    let mut principals: Vec<(u64, &String, _)> = w
        .by_principal
        .iter()
        .map(|(principal, by_status)| (by_status.values().sum(), principal, by_status))
        .collect();
    principals.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let total = principals.len() as u64;
    let rows = principals
        .into_iter()
        .take(facts.limits.rows)
        .map(|(writes, principal, by_status)| {
            let mut row = vec![Cell::text(principal), Cell::number(writes)];
            row.extend(
                statuses
                    .iter()
                    .map(|s| Cell::number(by_status.get(*s).copied().unwrap_or(0))),
            );
            row
        })
        .collect();
    Table {
        id: "principals",
        caption: "Writes per principal and delegation status",
        headers: &headers,
        rows,
        total,
        interactive: true,
    }
    .render(out);
    out.push_str("</section>");
}

fn devices_section(out: &mut String, facts: &Facts) {
    let w = &facts.writes;
    out.push_str(
        "<section id=\"devices\"><h2>Devices written to</h2><p class=\"lead\">Per device \
         (server address), who wrote to it and how many of those writes need attention.</p>",
    );
    let mut devices: Vec<_> = w.devices.iter().collect();
    devices.sort_by(|a, b| b.1.writes.cmp(&a.1.writes).then(a.0.cmp(b.0)));
    let rows = devices
        .iter()
        .take(facts.limits.rows)
        .map(|(ip, d)| {
            let mut writers: Vec<_> = d.writers.iter().collect();
            writers.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let shown: Vec<String> = writers
                .iter()
                .take(12)
                .map(|(who, n)| format!("{who} ({n})"))
                .collect();
            let more = writers.len().saturating_sub(12);
            let mut text = shown.join(", ");
            if more > 0 {
                let _ = write!(text, ", and {more} more");
            }
            let protocols: Vec<&str> = d.protocols.iter().map(String::as_str).collect();
            vec![
                Cell::text(*ip),
                Cell::text(protocols.join(", ")),
                Cell::number(d.writes),
                if d.flagged > 0 {
                    Cell {
                        class: Some("bad"),
                        ..Cell::number(d.flagged)
                    }
                } else {
                    Cell::number(0)
                },
                Cell::number(d.writers.len() as u64),
                Cell {
                    class: Some("wide"),
                    ..Cell::text(text)
                },
                Cell::time(d.first_us),
                Cell::time(d.last_us),
            ]
        })
        .collect();
    Table {
        id: "devices-table",
        caption: "Devices and their writers (writes in brackets)",
        headers: &[
            "device",
            "protocols",
            "writes",
            "needing attention",
            "writers",
            "who wrote",
            "first",
            "last",
        ],
        rows,
        total: w.devices.len() as u64,
        interactive: true,
    }
    .render(out);
    if w.devices_not_kept > 0 {
        let _ = write!(
            out,
            "<p class=\"more\">{} writes went to devices beyond the {} this report tracks.</p>",
            num(w.devices_not_kept),
            num(facts.limits.keys as u64)
        );
    }
    out.push_str("</section>");
}

fn attention_section(out: &mut String, facts: &Facts) {
    let w = &facts.writes;
    let _ = write!(
        out,
        "<section id=\"attention\"><h2>Writes needing attention <span class=\"badge {}\">{}\
         </span></h2><p class=\"lead\">Unattributed writes, and writes no delegation covers \
         (undelegated, expired, out of bounds, over budget). Each row leads back to its capture \
         and frame (Wireshark's numbering). Click a header to sort; type to filter.</p>",
        if w.flagged_total > 0 { "bad" } else { "good" },
        num(w.flagged_total)
    );
    let rows = w
        .flagged
        .iter()
        .map(|r| {
            let status_class = if r.delegation_status == "delegated" {
                "good"
            } else {
                "bad"
            };
            let attribution_class = match r.attribution.as_str() {
                "attributed" => "good",
                "unattributed" => "bad",
                _ => "warn",
            };
            vec![
                Cell::time(r.ts_us),
                Cell::text(&r.principal),
                Cell::badge(&r.attribution, attribution_class),
                Cell::badge(&r.delegation_status, status_class),
                Cell::text(&r.delegation),
                Cell::text(&r.client_ip),
                Cell::text(&r.server_ip),
                Cell::text(&r.protocol),
                Cell::text(&r.operation),
                Cell::long(&r.target),
                Cell::long(&r.value),
                Cell::text(&r.outcome),
                Cell::text(&r.source),
                Cell::number(r.frame.max(0) as u64),
            ]
        })
        .collect();
    Table {
        id: "attention-table",
        caption: "Unattributed and undelegated writes",
        headers: &[
            "time",
            "principal",
            "attribution",
            "delegation status",
            "delegation",
            "client",
            "server",
            "protocol",
            "operation",
            "target",
            "value",
            "outcome",
            "source",
            "frame",
        ],
        rows,
        total: w.flagged_total,
        interactive: true,
    }
    .render(out);
    out.push_str("</section>");
}

fn credentials_section(out: &mut String, input: &PageInput<'_>) {
    let facts = input.facts;
    out.push_str(
        "<section id=\"credentials\"><h2>Credentials</h2><p class=\"lead\">What the traffic \
         proves about clients: security policies, passwords seen on the wire (shown only as \
         keyed fingerprints, never the secret), certificates, and clients that wrote \
         anonymously.</p>",
    );

    out.push_str("<h3>Security policies</h3>");
    let rows = facts
        .sessions
        .policies
        .iter()
        .map(|((policy, mode), (sessions, opaque))| {
            vec![
                Cell::text(policy),
                Cell::text(mode),
                Cell::number(*sessions),
                Cell::number(*opaque),
                if weak_policy(policy, mode) {
                    Cell::badge("weak", "bad")
                } else {
                    Cell::badge("ok", "good")
                },
            ]
        })
        .collect();
    Table {
        id: "policies",
        caption: "Sessions per security policy and mode (OPC UA)",
        headers: &["policy", "mode", "sessions", "opaque", "strength"],
        rows,
        total: facts.sessions.policies.len() as u64,
        interactive: false,
    }
    .render(out);

    out.push_str("<h3>Passwords on the wire</h3>");
    let reused = facts.reused_fingerprints();
    let secrets = facts.secrets_on_wire();
    let rows = secrets
        .iter()
        .take(facts.limits.rows)
        .map(|c| {
            let fp = c.fingerprint.clone().unwrap_or_default();
            let clients: Vec<&str> = c.clients.iter().map(String::as_str).collect();
            vec![
                Cell::text(&c.kind),
                Cell::code(&c.id),
                Cell::code(&fp),
                if c.plaintext {
                    Cell::badge("in clear", "bad")
                } else {
                    Cell::badge("protected", "good")
                },
                if reused.contains(fp.as_str()) {
                    Cell::badge("reused", "bad")
                } else {
                    Cell::text("")
                },
                Cell::text(clients.join(", ")),
                Cell::number(c.observations),
                Cell::text(&c.source),
                Cell::number(c.frame.max(0) as u64),
            ]
        })
        .collect();
    Table {
        id: "secrets",
        caption: "Credentials carrying a password (keyed fingerprint only)",
        headers: &[
            "kind",
            "credential",
            "fingerprint",
            "on the wire",
            "reuse",
            "clients",
            "seen",
            "first source",
            "frame",
        ],
        rows,
        total: secrets.len() as u64,
        interactive: true,
    }
    .render(out);

    out.push_str("<h3>Certificates</h3>");
    let soon = EXPIRY_WARNING_DAYS * 86_400_000_000;
    let certs: Vec<_> = facts
        .credentials
        .distinct
        .values()
        .filter(|c| c.not_after_us.is_some() || c.subject.is_some())
        .collect();
    let rows = certs
        .iter()
        .take(facts.limits.rows)
        .map(|c| {
            let state = match c.not_after_us {
                Some(t) if t <= input.now_us => Cell::badge("expired", "bad"),
                _ if c.invalid_when_seen => Cell::badge("invalid when used", "bad"),
                Some(t) if t <= input.now_us.saturating_add(soon) => {
                    Cell::badge("expires soon", "warn")
                }
                Some(_) => Cell::badge("valid", "good"),
                None => Cell::badge("validity unknown", "warn"),
            };
            vec![
                Cell::text(&c.kind),
                Cell::text(c.subject.clone().unwrap_or_default()),
                Cell::text(c.issuer.clone().unwrap_or_default()),
                c.not_after_us.map_or_else(|| Cell::text(""), Cell::time),
                state,
                Cell::code(&c.id),
                Cell::number(c.observations),
            ]
        })
        .collect();
    Table {
        id: "certificates",
        caption: "Certificates seen (expiry judged at the time of this report)",
        headers: &[
            "kind",
            "subject",
            "issuer",
            "not after",
            "state",
            "thumbprint",
            "seen",
        ],
        rows,
        total: certs.len() as u64,
        interactive: true,
    }
    .render(out);

    out.push_str("<h3>Anonymous writers</h3>");
    let rows = facts
        .alerts
        .anonymous_writers
        .iter()
        .map(|(client, n)| vec![Cell::text(client), Cell::number(*n)])
        .collect();
    Table {
        id: "anonymous",
        caption: "Clients that wrote under an anonymous session (anonymous_write alerts)",
        headers: &["client", "anonymous writes"],
        rows,
        total: facts.alerts.anonymous_writers.len() as u64,
        interactive: true,
    }
    .render(out);

    out.push_str("<h3>All credentials</h3>");
    let rows = facts
        .credentials
        .distinct
        .values()
        .take(facts.limits.rows)
        .map(|c| {
            let protocols: Vec<&str> = c.protocols.iter().map(String::as_str).collect();
            let clients: Vec<&str> = c.clients.iter().map(String::as_str).collect();
            vec![
                Cell::text(&c.kind),
                Cell::code(&c.id),
                Cell::text(protocols.join(", ")),
                Cell::text(clients.join(", ")),
                if c.weak_policy {
                    Cell::badge("weak policy", "bad")
                } else {
                    Cell::text("")
                },
                Cell::number(c.observations),
                Cell::time(c.first_us),
            ]
        })
        .collect();
    Table {
        id: "credentials-table",
        caption: "Every credential observed",
        headers: &[
            "kind",
            "id",
            "protocols",
            "clients",
            "policy",
            "seen",
            "first seen",
        ],
        rows,
        total: facts.credentials.distinct.len() as u64,
        interactive: true,
    }
    .render(out);
    out.push_str("</section>");
}

fn alerts_section(out: &mut String, facts: &Facts) {
    let a = &facts.alerts;
    out.push_str(
        "<section id=\"alerts\"><h2>Alerts</h2><p class=\"lead\">Alerts by kind, coloured by \
         severity; the most severe are listed below.</p><div class=\"cards\">",
    );
    for severity in ["critical", "high", "medium", "low", "info"] {
        let n = a.by_severity.get(severity).copied().unwrap_or(0);
        let class = match (n, severity) {
            (0, _) => "",
            (_, "critical" | "high") => "bad",
            (_, "medium") => "warn",
            _ => "",
        };
        card(out, severity, &num(n), "alerts", class);
    }
    out.push_str("</div>");

    let mut by_kind: Vec<HBar> = Vec::new();
    for ((kind, severity), n) in &a.by_kind {
        match by_kind.iter_mut().find(|bar| bar.label == *kind) {
            Some(bar) => bar.parts.push((severity.clone(), *n)),
            None => by_kind.push(HBar {
                label: kind.clone(),
                parts: vec![(severity.clone(), *n)],
            }),
        }
    }
    by_kind.sort_by_key(|bar| std::cmp::Reverse(bar.parts.iter().map(|p| p.1).sum::<u64>()));
    charts::hbars(out, "chart-alerts", "Alerts by kind and severity", &by_kind);

    let rows = a
        .kept
        .iter()
        .map(|r| {
            let class = match r.severity.as_str() {
                "critical" | "high" => "bad",
                "medium" => "warn",
                _ => "good",
            };
            vec![
                Cell {
                    sort: Some(super::facts::severity_rank(&r.severity).to_string()),
                    ..Cell::badge(&r.severity, class)
                },
                Cell::text(&r.kind),
                Cell::time(r.ts_us),
                Cell::text(&r.protocol),
                Cell::text(&r.client_ip),
                Cell::text(&r.server_ip),
                Cell::text(&r.detail),
                Cell::text(&r.source),
                Cell::number(r.frame.max(0) as u64),
            ]
        })
        .collect();
    Table {
        id: "alerts-table",
        caption: "Alerts, most severe first",
        headers: &[
            "severity", "kind", "time", "protocol", "client", "server", "detail", "source", "frame",
        ],
        rows,
        total: a.total,
        interactive: true,
    }
    .render(out);
    out.push_str("</section>");
}

fn standards_section(out: &mut String, input: &PageInput<'_>) {
    out.push_str(
        "<section id=\"standards\"><h2>Standards view</h2><p class=\"lead\">Findings mapped to \
         IEC 62443-3-3 system requirements and NIS2 Article 21(2) measures. Passive observation \
         can show a requirement is not met on the wire, or that nothing observed contradicts \
         it; it cannot show a requirement is met.</p>",
    );
    for req in standards::requirements(input.facts, input.scope, input.now_us) {
        let _ = write!(
            out,
            "<div class=\"req {}\" data-requirement=\"{}\"><div class=\"id\">{} \
             <small>{}</small><span class=\"badge {}\">{}</span></div><div><b>{}</b><ul>",
            req.status.class(),
            esc(&format!("{} {}", req.framework, req.id)),
            esc(req.id),
            esc(req.framework),
            req.status.class(),
            req.status.label(),
            esc(req.title)
        );
        for line in &req.evidence {
            let _ = write!(out, "<li>{}</li>", esc(line));
        }
        out.push_str("</ul><div class=\"links\">");
        for (anchor, label) in &req.links {
            let _ = write!(out, "<a href=\"#{anchor}\">{}</a>", esc(label));
        }
        out.push_str("</div></div></div>");
    }
    out.push_str("</section>");
}

fn assets_section(out: &mut String, facts: &Facts) {
    out.push_str(
        "<section id=\"assets\"><h2>Assets</h2><p class=\"lead\">Devices seen, with what their \
         protocols revealed (vendor, product, serial, firmware).</p>",
    );
    let rows = facts
        .assets
        .kept
        .iter()
        .map(|a| a.iter().map(Cell::text).collect())
        .collect();
    Table {
        id: "assets-table",
        caption: "Devices and their identity",
        headers: &[
            "ip", "mac", "protocol", "role", "vendor", "product", "serial", "firmware", "name",
        ],
        rows,
        total: facts.assets.total,
        interactive: true,
    }
    .render(out);
    out.push_str("</section>");
}
