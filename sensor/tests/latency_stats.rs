//! Per-stage latency of a run: the histograms are filled at the sampling rate on the bundled
//! fixture captures, every stage that ran has samples, and the figures are plausible times.

mod support;

use std::path::{Path, PathBuf};

use analytics::latency::{Stage, SAMPLE_EVERY};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures-pcap");
    let mut captures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures-pcap is part of the repository")
        .filter_map(|e| e.ok().map(|e| e.path().join("capture.pcap")))
        .filter(|p| p.is_file())
        .collect();
    captures.sort();
    captures
}

#[test]
fn stages_are_sampled_at_about_one_packet_in_sixty_four() {
    let inputs = fixtures();
    assert!(inputs.len() >= 5, "{inputs:?}");

    for threads in [1, 2] {
        let outcome = support::run(&inputs, threads);
        let latency = &outcome.latency;
        let frames = outcome.frames.frames;
        let engine_packets = outcome.counters.tcp_packets + outcome.counters.udp_packets;
        assert!(frames > 900, "{frames} frames");

        // Every worker decodes every frame; samples fall at gaps of 1 to 127, 64 on average.
        let decode = latency.count(Stage::Decode);
        let per_worker = frames / SAMPLE_EVERY;
        let (low, high) = (per_worker / 2, per_worker * 2);
        assert!(
            (low * threads as u64..=high * threads as u64).contains(&decode),
            "{threads} thread(s): {decode} decode samples of {frames} frames"
        );

        // Reassembly is timed for sampled TCP segments and UDP datagrams of the engine.
        let reassembly = latency.count(Stage::Reassembly);
        let expected = engine_packets / SAMPLE_EVERY;
        assert!(
            (expected / 2..=expected * 2).contains(&reassembly),
            "{threads} thread(s): {reassembly} reassembly samples of {engine_packets} packets"
        );

        // The parser runs for packets with payload of a recognised flow; attribution for those
        // completing a write (a subset); both must have been caught at this rate.
        let dissect = latency.count(Stage::Dissect);
        let attribute = latency.count(Stage::Attribute);
        assert!(
            dissect >= 1 && dissect <= reassembly,
            "{dissect} of {reassembly}"
        );
        assert!(attribute <= dissect, "{attribute} of {dissect}");
        assert_eq!(
            latency.count(Stage::Write),
            0,
            "the pipeline writes no evidence"
        );

        for stage in latency.summary().iter().filter(|s| s.count > 0) {
            assert!(
                stage.p50_ns > 0 && stage.p50_ns <= stage.p99_ns && stage.p99_ns <= stage.max_ns,
                "{stage:?}"
            );
            assert!(
                stage.max_ns < 10_000_000_000,
                "a stage took over 10 s: {stage:?}"
            );
        }
    }
}
