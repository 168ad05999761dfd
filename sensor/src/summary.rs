//! The short report printed at the end of `otwitness analyze`: what was read, what was
//! written to the plant and by whom, and what limits the evidence.
//!
//! It is for a person at a terminal; the evidence folder is the record. Counts come from the
//! rows just written, so the summary and the Parquet tables cannot disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use analytics::evidence::{Attribution, DelegationStatus, Evidence, Protocol, WriteRow};

use crate::pipeline::AnalyzeOutcome;

/// How many writers the summary names; the rest are counted.
const LISTED_WRITERS: usize = 10;

/// How many writes needing attention the summary lists; the rest are counted.
const LISTED_WRITES: usize = 10;

/// Renders the summary of an offline run.
pub fn render(outcome: &AnalyzeOutcome, out_dir: &str) -> String {
    let mut s = String::new();
    let ev = &outcome.evidence;
    let c = &outcome.counters;

    let _ = writeln!(s, "\nOT Witness — analysis summary");
    for input in &outcome.unreadable {
        let _ = writeln!(s, "  input   {}: NOT READ: {}", input.name, input.error);
    }
    for input in &outcome.inputs {
        let _ = writeln!(s, "  input   {}: {} frames", input.name, input.packets);
        if let Some(d) = &input.damage {
            let _ = writeln!(
                s,
                "          DAMAGED at frame {} (byte {}): {}; read up to there",
                d.frame, d.offset, d.what
            );
        }
    }
    let f = &outcome.frames;
    let _ = writeln!(
        s,
        "  frames  {} ({} non-IP, {} undecodable, {} unsupported link); {} TCP flows, {} sessions, \
         {} unrecognised",
        f.frames, f.non_ip, f.undecodable, f.unsupported_link, c.flows, c.sessions, c.unknown_flows
    );

    let _ = writeln!(s, "\nWrites: {}", ev.writes.len());
    write_table(&mut s, ev);
    write_who(&mut s, outcome);

    let mut alerts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for a in &ev.alerts {
        *alerts
            .entry((a.severity.as_str(), a.kind.as_str()))
            .or_default() += 1;
    }
    let _ = writeln!(s, "\nAlerts: {}", ev.alerts.len());
    let mut by_count: Vec<_> = alerts.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for ((severity, kind), n) in by_count {
        let _ = writeln!(s, "  {n:>7}  {kind} ({severity})");
    }

    let _ = writeln!(s, "\nCompleteness");
    let _ = writeln!(
        s,
        "  reassembly gaps {} ({} bytes), malformed PDUs {}, flows evicted {}",
        c.gaps, c.gap_bytes, c.malformed_pdus, c.flows_evicted
    );
    if let Some(peak) = outcome.peak_rss_bytes {
        let _ = writeln!(
            s,
            "  peak memory {:.1} MiB",
            peak as f64 / (1024.0 * 1024.0)
        );
    }
    let _ = writeln!(s, "\nEvidence written to {out_dir}");
    s
}

fn write_table(s: &mut String, ev: &Evidence) {
    let mut grid: BTreeMap<Protocol, [usize; 4]> = BTreeMap::new();
    for w in &ev.writes {
        let column = Attribution::ALL
            .iter()
            .position(|a| *a == w.attribution)
            .unwrap_or(3);
        grid.entry(w.protocol).or_default()[column] += 1;
    }
    if grid.is_empty() {
        return;
    }
    let _ = write!(s, "  {:<12}", "protocol");
    for a in Attribution::ALL {
        let _ = write!(s, " {:>16}", a.as_str());
    }
    let _ = writeln!(s);
    for (protocol, counts) in grid {
        let _ = write!(s, "  {:<12}", protocol.as_str());
        for n in counts {
            let _ = write!(s, " {n:>16}");
        }
        let _ = writeln!(s);
    }
}

/// "Who wrote what": the writes that need an auditor's attention first, then every writer with
/// its writes by delegation status.
fn write_who(s: &mut String, outcome: &AnalyzeOutcome) {
    let ev = &outcome.evidence;
    if ev.writes.is_empty() {
        return;
    }
    let _ = writeln!(s, "\nWho wrote what");

    let flagged: Vec<&WriteRow> = ev.writes.iter().filter(|w| needs_attention(w)).collect();
    let _ = writeln!(
        s,
        "  needing attention (unattributed, or not covered by a delegation): {}",
        flagged.len()
    );
    for w in flagged.iter().take(LISTED_WRITES) {
        let source = outcome.inputs.get(w.at.source as usize).map_or_else(
            || format!("source {}", w.at.source),
            |i| short_name(&i.name),
        );
        let who = w.identity.as_deref().unwrap_or("no identity");
        let _ = writeln!(
            s,
            "    {source} frame {}  {} -> {}:{}  {} {}  [{who}; {}; {}]",
            w.at.frame,
            w.endpoints.client_ip,
            w.endpoints.server_ip,
            w.endpoints.server_port,
            w.operation,
            w.target,
            w.attribution.as_str(),
            w.delegation_status.as_str()
        );
    }
    if flagged.len() > LISTED_WRITES {
        let _ = writeln!(
            s,
            "    … and {} more: see the writes table",
            flagged.len() - LISTED_WRITES
        );
    }

    let statuses: Vec<DelegationStatus> = DelegationStatus::ALL
        .iter()
        .copied()
        .filter(|d| ev.writes.iter().any(|w| w.delegation_status == *d))
        .collect();
    let mut writers: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for w in &ev.writes {
        let who = match &w.identity {
            Some(identity) => identity.clone(),
            None => format!("{} (no identity)", w.endpoints.client_ip),
        };
        let counts = writers
            .entry(who)
            .or_insert_with(|| vec![0; statuses.len()]);
        if let Some(i) = statuses.iter().position(|d| *d == w.delegation_status) {
            counts[i] += 1;
        }
    }
    let mut rows: Vec<(String, Vec<usize>)> = writers.into_iter().collect();
    rows.sort_by(|a, b| {
        let (na, nb) = (a.1.iter().sum::<usize>(), b.1.iter().sum::<usize>());
        nb.cmp(&na).then(a.0.cmp(&b.0))
    });
    let _ = write!(s, "  {:<32} {:>7}", "writer", "writes");
    for d in &statuses {
        let _ = write!(s, " {:>13}", d.as_str());
    }
    let _ = writeln!(s);
    for (who, counts) in rows.iter().take(LISTED_WRITERS) {
        let _ = write!(s, "  {who:<32} {:>7}", counts.iter().sum::<usize>());
        for n in counts {
            let _ = write!(s, " {n:>13}");
        }
        let _ = writeln!(s);
    }
    if rows.len() > LISTED_WRITERS {
        let _ = writeln!(s, "  … and {} more writers", rows.len() - LISTED_WRITERS);
    }
}

/// Unattributed writes and writes no delegation covers (where a policy was given).
fn needs_attention(w: &WriteRow) -> bool {
    w.attribution == Attribution::Unattributed
        || !matches!(
            w.delegation_status,
            DelegationStatus::Delegated | DelegationStatus::NoPolicy
        )
}

/// The file name of an input path, which is what a reader needs to find the frame.
fn short_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
}
