//! The table `otwitness analyze --stats` prints after the summary: per stage, how many packets
//! (or batches) were timed and the 50th, 90th and 99th percentiles and maximum of their times.
//!
//! The figures come from [`analytics::latency`], sampled (one packet in
//! [`analytics::latency::SAMPLE_EVERY`]); this module only lays them out.

use std::fmt::Write as _;

use analytics::latency::{Latency, SAMPLE_EVERY};

/// Renders `latency` as a table, one line per stage, every stage named even when it has no
/// sample (a capture with no write has no `attribute` sample).
pub fn render(latency: &Latency) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nPer-stage latency (about 1 packet in {SAMPLE_EVERY} timed; \
         write: per batch and per file)"
    );
    let _ = writeln!(
        s,
        "  {:<11} {:>9} {:>10} {:>10} {:>10} {:>10}",
        "stage", "count", "p50", "p90", "p99", "max"
    );
    for stage in latency.summary() {
        if stage.count == 0 {
            let _ = writeln!(s, "  {:<11} {:>9} {:>10}", stage.stage.name(), 0, "-");
            continue;
        }
        let _ = writeln!(
            s,
            "  {:<11} {:>9} {:>10} {:>10} {:>10} {:>10}",
            stage.stage.name(),
            stage.count,
            duration(stage.p50_ns),
            duration(stage.p90_ns),
            duration(stage.p99_ns),
            duration(stage.max_ns)
        );
    }
    s
}

/// `850 ns`, `12.3 µs`, `4.5 ms`, `2.1 s`.
fn duration(ns: u64) -> String {
    match ns {
        0..=9_999 => format!("{ns} ns"),
        10_000..=999_999 => format!("{:.1} µs", ns as f64 / 1e3),
        1_000_000..=9_999_999_999 => format!("{:.1} ms", ns as f64 / 1e6),
        _ => format!("{:.1} s", ns as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use analytics::latency::Stage;

    use super::*;

    #[test]
    fn every_stage_is_a_line_with_its_count_and_unit() {
        let mut latency = Latency::default();
        latency.record(Stage::Decode, 40);
        latency.record(Stage::Write, 25_000_000);
        let text = render(&latency);

        for stage in Stage::ALL {
            assert!(
                text.lines()
                    .any(|l| l.trim_start().starts_with(stage.name())),
                "{stage:?} missing from:\n{text}"
            );
        }
        let line = |name: &str| {
            let found = text.lines().find(|l| l.trim_start().starts_with(name));
            found.unwrap().to_owned()
        };
        let decode = line("decode");
        assert!(
            decode.contains(" 1 ") && decode.contains("40 ns"),
            "{decode}"
        );
        let write = line("write");
        assert!(write.contains("25.0 ms"), "{write}");
        let dissect = line("dissect");
        assert!(
            dissect.contains(" 0 ") && dissect.contains('-'),
            "{dissect}"
        );
    }
}
