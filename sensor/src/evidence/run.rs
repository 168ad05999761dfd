//! What the caller tells the evidence sink about a run: sensor, command line, inputs, totals.
//!
//! These are plain inputs to the manifest; the pipeline fills them in (it hashes the captures,
//! counts packets, notes where a file was damaged). Nothing here reads captures.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::partition::date_of;

/// Facts about one run (an offline analysis, or one rotation of a live capture).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunInfo {
    /// `--sensor-id`, the host name by default; fills every row's `sensor` column.
    pub sensor: String,
    /// The program's arguments, program name first.
    pub command_line: Vec<String>,
    pub inputs: Vec<InputInfo>,
    /// Packets and bytes read from all inputs.
    pub packets: u64,
    pub bytes: u64,
    /// Packets the kernel dropped (live capture only).
    pub kernel_drops: Option<u64>,
    /// Free-form totals: flows, evictions, gaps, malformed, …
    pub counters: BTreeMap<String, u64>,
}

impl RunInfo {
    /// Earliest and latest capture time over all inputs (µs since the epoch, UTC).
    pub fn time_span_us(&self) -> (Option<i64>, Option<i64>) {
        let first = self.inputs.iter().filter_map(|i| i.first_ts_us).min();
        let last = self.inputs.iter().filter_map(|i| i.last_ts_us).max();
        (first, last)
    }

    /// The UTC date of the run's first capture time, if anything was read.
    pub fn first_date(&self) -> Option<NaiveDate> {
        self.time_span_us().0.map(date_of)
    }
}

/// Whether an input is a capture file or a live interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    File,
    Interface,
}

/// One capture file or interface the run read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputInfo {
    /// The path as given on the command line, or the interface name.
    pub name: String,
    pub kind: InputKind,
    /// SHA-256 (hex) of the capture file's bytes; `None` for an interface.
    pub sha256: Option<String>,
    pub bytes: u64,
    pub packets: u64,
    pub first_ts_us: Option<i64>,
    pub last_ts_us: Option<i64>,
    /// Where the input stopped being readable, when it did.
    pub damage: Option<Damage>,
}

/// Where and how a capture file is damaged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Damage {
    /// Byte offset in the file of the first unreadable byte.
    pub offset: u64,
    /// 1-based number of the frame that could not be read.
    pub frame: u64,
    pub what: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(first: Option<i64>, last: Option<i64>) -> InputInfo {
        InputInfo {
            name: "a.pcap".to_owned(),
            kind: InputKind::File,
            sha256: None,
            bytes: 0,
            packets: 0,
            first_ts_us: first,
            last_ts_us: last,
            damage: None,
        }
    }

    #[test]
    fn time_span_covers_every_input() {
        let run = RunInfo {
            inputs: vec![
                input(Some(50), Some(70)),
                input(None, None),
                input(Some(10), Some(20)),
            ],
            ..RunInfo::default()
        };

        assert_eq!(run.time_span_us(), (Some(10), Some(70)));
        assert_eq!(
            run.first_date().map(|d| d.to_string()).as_deref(),
            Some("1970-01-01")
        );
        assert_eq!(RunInfo::default().first_date(), None);
    }
}
