//! Seeds the fuzz corpora from real captures: `cargo run -p fuzz --bin make-corpus [OUT]`.
//!
//! Reads every capture of `fixtures-pcap/` and, when present, `../shared/pcaps/`, and writes
//! under OUT (default `fuzz/corpus`), one file per seed named by its content's hash:
//! - for the stream targets, each TCP conversation as a stream script (directions and payloads
//!   in capture order, cut at [`MAX_SCRIPT`] bytes), filed under the target of its server port,
//!   and every conversation again under `stream` with its port's selector byte;
//! - for `dissect`, single payloads with the selector of the parser they suit;
//! - for `capture` and `pipeline`, the small captures whole and the first [`MAX_SCRIPT`] bytes of
//!   the large ones.
//!
//! Seeds are a starting point; `cargo fuzz cmin` then keeps those that add coverage.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use dissectors::link::{decode, Transport};
use fuzz::{ctl, push_record, Record, PORTS};
use sensor::capture::CaptureFile;

/// Largest seed written.
const MAX_SCRIPT: usize = 8 * 1024;

/// Most seeds per target.
const MAX_SEEDS: usize = 60;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("fuzz/corpus"));
    let mut captures = Vec::new();
    collect(&root.join("fixtures-pcap"), &mut captures);
    collect(&root.join("../shared/pcaps"), &mut captures);
    captures.sort();

    let mut seeds: BTreeMap<&'static str, Vec<Vec<u8>>> = BTreeMap::new();
    for path in &captures {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let whole = bytes.len() <= MAX_SCRIPT;
        let head = bytes[..bytes.len().min(MAX_SCRIPT)].to_vec();
        seeds.entry("capture").or_default().push(head.clone());
        if whole {
            seeds.entry("pipeline").or_default().push(head);
        }
        conversations(path, &mut seeds);
    }

    let mut written = 0;
    for (bucket, list) in &seeds {
        // `dissect/modbus` and the like are buckets of one target, sampled apart.
        let target = bucket.split('/').next().unwrap_or(bucket);
        let dir = out.join(target);
        if let Err(error) = std::fs::create_dir_all(&dir) {
            eprintln!("make-corpus: cannot create {}: {error}", dir.display());
            std::process::exit(1);
        }
        // An even sample over all captures, not the first ones in file name order.
        let stride = list.len().div_ceil(MAX_SEEDS).max(1);
        for seed in list.iter().step_by(stride) {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            seed.hash(&mut hasher);
            let file = dir.join(format!("seed-{:016x}", hasher.finish()));
            if std::fs::write(&file, seed).is_ok() {
                written += 1;
            }
        }
        eprintln!(
            "make-corpus: {bucket}: {} seeds",
            list.len().div_ceil(stride)
        );
    }
    eprintln!("make-corpus: {written} files under {}", out.display());
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng")
        ) {
            out.push(path);
        }
    }
}

/// The stream target a server port belongs to, and its selector for `stream`.
fn target_of(port: u16) -> (&'static str, u8) {
    let selector = |p: u16| {
        PORTS
            .iter()
            .position(|&x| x == p)
            .unwrap_or(PORTS.len() - 1) as u8
    };
    match port {
        502 | 503 | 504 | 5020 => ("modbus", selector(502)),
        102 => ("s7", selector(102)),
        44818 | 2222 => ("enip", selector(44818)),
        802 | 2221 => ("tls", selector(port)),
        4840..=4850 | 48010 | 12001 | 53530 => ("opcua", selector(4840)),
        _ => ("stream", selector(20_000)),
    }
}

/// The parser of `dissect` that suits a payload of `target`, and where its input starts.
fn dissect_input(target: &str, payload: &[u8], from_server: bool) -> Option<Vec<u8>> {
    let (pick, skip) = match target {
        "modbus" => (u8::from(from_server), 7),
        "s7" => (2, 7),
        "enip" => (6, 0),
        "opcua" => (10, 0),
        "tls" => (11, 0),
        _ => return None,
    };
    let input = payload.get(skip..)?;
    let mut seed = vec![pick];
    seed.extend_from_slice(&input[..input.len().min(MAX_SCRIPT)]);
    Some(seed)
}

type FlowKey = (IpAddr, u16, IpAddr, u16);

fn conversations(path: &Path, seeds: &mut BTreeMap<&'static str, Vec<Vec<u8>>>) {
    let Ok(file) = CaptureFile::open(path) else {
        return;
    };
    // Client and server by the lower "well-known" port; scripts in capture order.
    let mut scripts: BTreeMap<FlowKey, Vec<u8>> = BTreeMap::new();
    for raw in file.packets() {
        let Ok(packet) = decode(raw.link, raw.data) else {
            continue;
        };
        let (src_port, dst_port, payload, udp) = match packet.transport {
            Transport::Tcp(t) => (t.src_port, t.dst_port, t.payload, false),
            Transport::Udp {
                src_port,
                dst_port,
                payload,
            } => (src_port, dst_port, payload, true),
            _ => continue,
        };
        if payload.is_empty() {
            continue;
        }
        let from_server = src_port < dst_port;
        let key = if from_server {
            (packet.dst_ip, dst_port, packet.src_ip, src_port)
        } else {
            (packet.src_ip, src_port, packet.dst_ip, dst_port)
        };
        let script = scripts.entry(key).or_default();
        if script.len() >= MAX_SCRIPT {
            continue;
        }
        let mut control = if from_server { ctl::FROM_SERVER } else { 0 };
        if udp {
            control |= ctl::UDP;
        }
        push_record(
            script,
            &Record {
                ctl: control,
                jump: 0,
                payload,
            },
        );
        let (target, _) = target_of(key.3);
        if let Some(seed) = dissect_input(target, payload, from_server) {
            let bucket = match target {
                "modbus" => "dissect/modbus",
                "s7" => "dissect/s7",
                "enip" => "dissect/enip",
                "opcua" => "dissect/opcua",
                _ => "dissect/tls",
            };
            seeds.entry(bucket).or_default().push(seed);
        }
    }
    for ((_, _, _, server_port), mut script) in scripts {
        script.truncate(MAX_SCRIPT);
        let (target, selector) = target_of(server_port);
        let mut generic = vec![selector];
        generic.extend_from_slice(&script);
        seeds.entry("stream").or_default().push(generic);
        if target != "stream" {
            seeds.entry(target).or_default().push(script);
        }
    }
}
