//! The short report printed at the end of `otwitness analyze`: what was read, what was
//! written to the plant and by whom, and what limits the evidence.
//!
//! It is for a person at a terminal; the evidence folder is the record. Counts come from the
//! rows just written, so the summary and the Parquet tables cannot disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use analytics::evidence::{Attribution, Evidence, Protocol};

use crate::pipeline::AnalyzeOutcome;

/// How many writers the summary names.
const TOP_WRITERS: usize = 5;

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
    write_top(&mut s, ev);

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

fn write_top(s: &mut String, ev: &Evidence) {
    let mut writers: BTreeMap<String, usize> = BTreeMap::new();
    for w in &ev.writes {
        let who = match &w.identity {
            Some(identity) => identity.clone(),
            None => format!("{} (no identity)", w.endpoints.client_ip),
        };
        *writers.entry(who).or_default() += 1;
    }
    let mut top: Vec<_> = writers.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if top.is_empty() {
        return;
    }
    let _ = writeln!(s, "  top writers:");
    for (who, n) in top.iter().take(TOP_WRITERS) {
        let _ = writeln!(s, "  {n:>7}  {who}");
    }
}
