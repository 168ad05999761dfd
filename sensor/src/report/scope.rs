//! Scope and integrity: what the evidence covers, and whether it is what its manifests say.
//!
//! Runs `verify` on the folder and reads every manifest of the chain it walked, summing what
//! limits completeness (kernel drops, damaged inputs, reassembly gaps, malformed PDUs, evicted
//! flows). A folder whose `manifest.json` cannot be read still gets a report: the failure is
//! stated as the verify result, and the tables are read anyway, so nothing is hidden.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::evidence::{self, InputEntry, Manifest, RowCounts, VerifyReport};

/// What the manifests and `verify` say about the folder.
#[derive(Clone, Debug)]
pub struct Scope {
    /// The verify report, or why verify could not run.
    pub verify: Result<VerifyReport, String>,
    /// Manifests read (newest first) and the ones that could not be read, with why.
    pub manifests_read: usize,
    pub manifest_errors: Vec<String>,
    pub sensors: BTreeSet<String>,
    pub tool_versions: BTreeSet<String>,
    /// Every distinct input (name and hash), oldest manifest first.
    pub inputs: Vec<InputEntry>,
    pub first_ts: Option<String>,
    pub last_ts: Option<String>,
    pub packets: u64,
    pub bytes: u64,
    /// Sum over manifests that recorded drops; `None` when none did (offline runs).
    pub kernel_drops: Option<u64>,
    /// Counters summed over manifests (`reassembly_gaps`, `malformed_pdus`, …).
    pub counters: BTreeMap<String, u64>,
    pub row_counts: RowCounts,
    pub signed_manifests: usize,
}

impl Scope {
    /// Verifies `dir` and reads its manifests.
    pub fn read(dir: &Path) -> Scope {
        let mut scope = Scope {
            verify: evidence::verify(dir).map_err(|e| e.to_string()),
            manifests_read: 0,
            manifest_errors: Vec::new(),
            sensors: BTreeSet::new(),
            tool_versions: BTreeSet::new(),
            inputs: Vec::new(),
            first_ts: None,
            last_ts: None,
            packets: 0,
            bytes: 0,
            kernel_drops: None,
            counters: BTreeMap::new(),
            row_counts: RowCounts::default(),
            signed_manifests: 0,
        };

        let manifests: Vec<String> = match &scope.verify {
            Ok(report) => report.manifests.clone(),
            Err(_) => vec![evidence::MANIFEST.to_owned()],
        };
        let mut seen_inputs = BTreeSet::new();
        // Oldest first, so inputs are listed in the order they were analysed.
        for rel in manifests.iter().rev() {
            let path = dir.join(rel);
            let manifest = std::fs::read(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
                .and_then(|bytes| Manifest::from_json(&path, &bytes).map_err(|e| e.to_string()));
            match manifest {
                Ok(manifest) => scope.add(manifest, &mut seen_inputs),
                Err(error) => scope.manifest_errors.push(error),
            }
        }
        scope
    }

    fn add(&mut self, m: Manifest, seen_inputs: &mut BTreeSet<(String, Option<String>)>) {
        self.manifests_read += 1;
        self.sensors.insert(m.sensor);
        self.tool_versions.insert(m.tool.version);
        self.signed_manifests += usize::from(m.signature.is_some());

        for input in m.inputs {
            if seen_inputs.insert((input.name.clone(), input.sha256.clone())) {
                self.inputs.push(input);
            }
        }
        self.first_ts = min_text(self.first_ts.take(), m.time_span.first);
        self.last_ts = max_text(self.last_ts.take(), m.time_span.last);
        self.packets = self.packets.saturating_add(m.packets);
        self.bytes = self.bytes.saturating_add(m.bytes);
        if let Some(drops) = m.kernel_drops {
            self.kernel_drops = Some(self.kernel_drops.unwrap_or(0).saturating_add(drops));
        }
        for (name, value) in m.counters {
            let sum = self.counters.entry(name).or_default();
            *sum = sum.saturating_add(value);
        }
        for table in evidence::Table::ALL {
            self.row_counts.add(table, m.row_counts.get(table));
        }
    }

    /// A counter summed over the manifests (0 when none recorded it).
    pub fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    /// Whether verify ran and found nothing wrong.
    pub fn verified(&self) -> bool {
        self.verify.as_ref().is_ok_and(VerifyReport::is_ok)
    }

    /// Inputs that stopped being readable part-way.
    pub fn damaged_inputs(&self) -> usize {
        self.inputs.iter().filter(|i| i.damage.is_some()).count()
    }
}

/// RFC 3339 UTC strings of one format order as text.
fn min_text(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_text(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
