//! The fast path of `dissectors::link::decode` (plain Ethernet/IP/TCP-or-UDP read at fixed
//! offsets) against the general etherparse path, frame by frame, over every bundled capture
//! and, when present, every shared one: the two must give the same `Packet` or the same error.
//! The count of frames the fast path took is checked too, so the test cannot pass by the fast
//! path declining everything.

mod support;

use std::path::{Path, PathBuf};

use dissectors::link::{decode, decode_fast, decode_general, LinkType};
use sensor::capture::CaptureFile;

fn captures_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            captures_under(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng")
        ) {
            out.push(path);
        }
    }
}

#[test]
fn the_fast_path_decodes_every_real_frame_as_etherparse_does() {
    let mut paths = Vec::new();
    captures_under(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures-pcap"),
        &mut paths,
    );
    if let Some(shared) = support::shared_pcaps() {
        captures_under(&shared, &mut paths);
    }
    paths.sort();

    let (mut frames, mut ethernet_ip, mut fast_taken) = (0u64, 0u64, 0u64);
    for path in &paths {
        let file = CaptureFile::open(path).expect("a readable capture");
        for raw in file.packets() {
            frames += 1;
            let fast = decode(raw.link, raw.data);
            let general = decode_general(raw.link, raw.data);
            assert_eq!(fast, general, "{} frame {}", path.display(), raw.frame);
            if raw.link == LinkType::Ethernet && general.is_ok() {
                ethernet_ip += 1;
                if let Some(packet) = decode_fast(raw.data) {
                    fast_taken += 1;
                    assert_eq!(
                        Ok(packet),
                        general,
                        "{} frame {}",
                        path.display(),
                        raw.frame
                    );
                }
            }
        }
    }
    eprintln!(
        "{} captures, {frames} frames, {ethernet_ip} Ethernet IP frames, {fast_taken} taken by \
         the fast path",
        paths.len()
    );
    assert!(ethernet_ip > frames / 2, "most frames are Ethernet IP ones");
    assert!(
        fast_taken > ethernet_ip * 9 / 10,
        "the fast path takes nearly every Ethernet IP frame ({fast_taken} of {ethernet_ip})"
    );
}
