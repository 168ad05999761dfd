//! The comparison harness: one command that builds a large mixed OT capture out of the real
//! captures of `../shared/pcaps` (and `fixtures-pcap`), then measures on it, side by side:
//!
//! - (a) the raw read rate: libpcap reading every frame and decoding nothing, and OT Witness's
//!   own memory-mapped reader doing the same;
//! - (b) `otwitness analyze` with 1 thread and with every core (release build), with the peak
//!   memory it reports in its manifest;
//! - (c) tshark extracting the four protocols' function fields from the same file;
//! - (d) Modbus alone: OT Witness's dissector and the sawp-modbus crate parsing the same ADUs;
//! - (e) memory per idle flow: `otwitness analyze` of a synthetic capture of one million
//!   Modbus/TCP flows that open and never close, against a one-flow baseline.
//!
//! ```text
//! cargo run --release -p benches --bin harness [-- --frames N --skip-tshark --idle-flows N]
//! ```
//!
//! Files go to `target/harness/` and are kept (the large capture is rebuilt only when missing
//! or when `--rebuild` is given). Times are wall-clock, best of [`RUNS`] for the in-process
//! loops and for each `otwitness analyze` (tshark and the idle-flow run go once); figures move
//! by tens of per cent on a busy machine, so run it on an idle one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use benches::synth::{self, Frame, Source};
use dissectors::link::{decode, Transport};
use dissectors::modbus::{frame_adu, parse_request, parse_response, Framing};
use sawp::parser::{Direction, Parse};

/// Repetitions of each in-process measurement and of each `analyze`; the best is kept.
const RUNS: usize = 3;

struct Options {
    frames: usize,
    rebuild: bool,
    skip_tshark: bool,
    idle_flows: u32,
}

fn main() {
    let options = parse_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = root.join("target/harness");
    if let Err(error) = std::fs::create_dir_all(&out) {
        fail(&format!("cannot create {}: {error}", out.display()));
    }
    let big = out.join("mixed-large.pcap");

    if options.rebuild || !big.exists() {
        build_large_capture(&root, &big, options.frames);
    }
    let otwitness = build_sensor(&root);
    let (frames, bytes) = count_frames(&big);
    println!(
        "\ncapture: {} — {frames} frames, {:.1} MB\n",
        big.display(),
        bytes as f64 / 1e6
    );

    let mut rows: Vec<Row> = Vec::new();
    let libpcap = best(|| libpcap_read(&big));
    rows.push(Row::new(
        "(a) raw read, libpcap",
        frames,
        bytes,
        libpcap,
        None,
    ));
    let mmap = best(|| mmap_read(&big));
    rows.push(Row::new(
        "(a) raw read, OT Witness mmap reader",
        frames,
        bytes,
        mmap,
        None,
    ));

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for n in [1, threads] {
        let (time, peak) = run_analyze(&otwitness, &big, &out, n);
        let label = format!(
            "(b) otwitness analyze, {n} thread{}",
            if n > 1 { "s" } else { "" }
        );
        rows.push(Row::new(&label, frames, bytes, time, peak));
        if threads == 1 {
            break;
        }
    }
    if options.skip_tshark {
        println!("tshark: skipped (--skip-tshark)");
    } else if let Some(time) = run_tshark(&big) {
        rows.push(Row::new(
            "(c) tshark, function fields",
            frames,
            bytes,
            time,
            None,
        ));
    }
    print_table(&rows, libpcap, frames);

    compare_modbus(&big);
    idle_flow_memory(&otwitness, &out, options.idle_flows);
}

fn parse_args() -> Options {
    let mut options = Options {
        frames: 1_600_000,
        rebuild: false,
        skip_tshark: false,
        idle_flows: 1_000_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--frames" => options.frames = number(args.next(), "--frames"),
            "--idle-flows" => options.idle_flows = number(args.next(), "--idle-flows"),
            "--rebuild" => options.rebuild = true,
            "--skip-tshark" => options.skip_tshark = true,
            // cargo bench passes --bench to every target
            "--bench" => {}
            other => fail(&format!(
                "unknown argument {other}; known: --frames N, --idle-flows N, --rebuild, \
                 --skip-tshark"
            )),
        }
    }
    options
}

fn number<T: std::str::FromStr>(value: Option<String>, name: &str) -> T {
    value
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fail(&format!("{name} takes a number")))
}

fn fail(message: &str) -> ! {
    eprintln!("harness: {message}");
    std::process::exit(2)
}

/// Reads every capture of the shared corpus and the fixtures, and writes enough replicas of
/// them to reach `frames`.
fn build_large_capture(root: &Path, big: &Path, frames: usize) {
    let mut paths = Vec::new();
    let shared = root.join("../shared/pcaps");
    if shared.is_dir() {
        collect_captures(&shared, &mut paths);
    } else {
        eprintln!(
            "harness: {} is absent: the large capture is built from fixtures-pcap only, \
             which has no S7comm-plus and far fewer devices",
            shared.display()
        );
    }
    collect_captures(&root.join("fixtures-pcap"), &mut paths);
    paths.sort();

    let mut sources = Vec::new();
    for path in &paths {
        match Source::read(path) {
            Ok(source) if !source.is_empty() => sources.push(source),
            Ok(_) => {}
            Err(error) => eprintln!("harness: skipping {}: {error}", path.display()),
        }
    }
    let per_replica: usize = sources.iter().map(Source::len).sum();
    if per_replica == 0 {
        fail("no capture to build from");
    }
    let replicas = frames.div_ceil(per_replica).clamp(1, 150) as u8;
    eprintln!(
        "harness: {} captures, {per_replica} frames each round; {replicas} replicas as separate \
         sites",
        sources.len()
    );
    let all: Vec<Frame> = synth::replicate(&sources, replicas);
    if let Err(error) = synth::write_pcap(big, &all) {
        fail(&format!("cannot write {}: {error}", big.display()));
    }
}

fn collect_captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_captures(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng")
        ) {
            out.push(path);
        }
    }
}

/// Builds the release `otwitness` and returns its path.
fn build_sensor(root: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "sensor", "--bin", "otwitness"])
        .current_dir(root)
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        fail("cannot build otwitness (cargo build --release -p sensor)");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target.join("release/otwitness")
}

fn best(mut run: impl FnMut() -> Duration) -> Duration {
    (0..RUNS).map(|_| run()).min().unwrap_or_default()
}

fn count_frames(path: &Path) -> (u64, u64) {
    let mut capture = pcap::Capture::from_file(path)
        .unwrap_or_else(|e| fail(&format!("libpcap cannot open {}: {e}", path.display())));
    let (mut frames, mut bytes) = (0u64, 0u64);
    while let Ok(packet) = capture.next_packet() {
        frames += 1;
        bytes += u64::from(packet.header.len);
    }
    (frames, bytes)
}

fn libpcap_read(path: &Path) -> Duration {
    let start = Instant::now();
    let (frames, _) = count_frames(path);
    std::hint::black_box(frames);
    start.elapsed()
}

fn mmap_read(path: &Path) -> Duration {
    let start = Instant::now();
    let file = sensor::capture::CaptureFile::open(path)
        .unwrap_or_else(|e| fail(&format!("cannot open {}: {e}", path.display())));
    let sum: u64 = file.packets().map(|p| u64::from(p.orig_len)).sum();
    std::hint::black_box(sum);
    start.elapsed()
}

/// Runs `otwitness analyze` [`RUNS`] times and returns the best time and the highest peak
/// memory its manifests record.
fn run_analyze(
    otwitness: &Path,
    capture: &Path,
    out: &Path,
    threads: usize,
) -> (Duration, Option<u64>) {
    let evidence = out.join(format!("evidence-{threads}"));
    let key = out.join("site-key");
    let mut peak = None;
    let time = best(|| {
        let _ = std::fs::remove_dir_all(&evidence);
        let start = Instant::now();
        let status = Command::new(otwitness)
            .arg("analyze")
            .args(["--quiet", "--threads", &threads.to_string()])
            .arg("--out")
            .arg(&evidence)
            .arg("--site-key")
            .arg(&key)
            .arg(capture)
            .stdin(Stdio::null())
            .status();
        let time = start.elapsed();
        if !matches!(status, Ok(s) if s.success()) {
            fail(&format!("otwitness analyze --threads {threads} failed"));
        }
        peak = peak.max(peak_from_manifest(&evidence));
        time
    });
    (time, peak)
}

fn peak_from_manifest(evidence: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(evidence.join("manifest.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.pointer("/counters/peak_rss_bytes")?.as_u64()
}

fn run_tshark(capture: &Path) -> Option<Duration> {
    let start = Instant::now();
    let status = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(capture)
        .args([
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "modbus.func_code",
        ])
        .args(["-e", "s7comm.param.func", "-e", "cip.sc"])
        .args(["-e", "opcua.servicenodeid.numeric"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => Some(start.elapsed()),
        Ok(s) => {
            eprintln!("harness: tshark failed ({s}); its column is left out");
            None
        }
        Err(error) => {
            eprintln!("harness: cannot run tshark ({error}); its column is left out");
            None
        }
    }
}

struct Row {
    label: String,
    frames_per_s: f64,
    gbit_per_s: f64,
    seconds: f64,
    peak: Option<u64>,
}

impl Row {
    fn new(label: &str, frames: u64, bytes: u64, time: Duration, peak: Option<u64>) -> Row {
        let seconds = time.as_secs_f64().max(1e-9);
        Row {
            label: label.to_owned(),
            frames_per_s: frames as f64 / seconds,
            gbit_per_s: bytes as f64 * 8.0 / seconds / 1e9,
            seconds,
            peak,
        }
    }
}

fn print_table(rows: &[Row], libpcap: Duration, frames: u64) {
    let raw = frames as f64 / libpcap.as_secs_f64().max(1e-9);
    let tshark = rows
        .iter()
        .find(|r| r.label.starts_with("(c)"))
        .map(|r| r.frames_per_s);
    println!("| what | seconds | frames/s | Gbit/s | vs raw libpcap | vs tshark | peak memory |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in rows {
        let vs_tshark = tshark.map_or("–".to_owned(), |t| {
            format!("{:.1}×", row.frames_per_s / t)
        });
        let peak = row.peak.map_or("–".to_owned(), |p| {
            format!("{:.0} MiB", p as f64 / 1048576.0)
        });
        println!(
            "| {} | {:.2} | {:.0} | {:.2} | {:.2} | {} | {} |",
            row.label,
            row.seconds,
            row.frames_per_s,
            row.gbit_per_s,
            row.frames_per_s / raw,
            vs_tshark,
            peak
        );
    }
}

/// One Modbus/TCP ADU of the capture and its direction.
struct Adu {
    bytes: Vec<u8>,
    to_server: bool,
}

/// Parses every Modbus/TCP ADU carried whole in a TCP segment to or from port 502 with OT
/// Witness's dissector and with sawp-modbus, and prints both rates.
fn compare_modbus(capture: &Path) {
    let adus = modbus_adus(capture);
    if adus.is_empty() {
        println!("\n(d) Modbus: no ADU found on port 502; nothing compared");
        return;
    }
    let bytes: usize = adus.iter().map(|a| a.bytes.len()).sum();

    let ours = best(|| {
        let start = Instant::now();
        let mut parsed = 0usize;
        for adu in &adus {
            if let Framing::Adu { adu: framed, .. } = frame_adu(&adu.bytes) {
                let ok = if adu.to_server {
                    parse_request(framed.pdu).is_ok()
                } else {
                    parse_response(framed.pdu).is_ok()
                };
                parsed += usize::from(ok);
            }
        }
        std::hint::black_box(parsed);
        start.elapsed()
    });
    let sawp_parser = sawp_modbus::Modbus::default();
    let theirs = best(|| {
        let start = Instant::now();
        let mut parsed = 0usize;
        for adu in &adus {
            let direction = if adu.to_server {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            if let Ok((_, Some(message))) = sawp_parser.parse(&adu.bytes, direction) {
                std::hint::black_box(&message);
                parsed += 1;
            }
        }
        std::hint::black_box(parsed);
        start.elapsed()
    });

    let rate = |t: Duration| adus.len() as f64 / t.as_secs_f64().max(1e-9);
    println!(
        "\n(d) Modbus ADUs of the capture ({} ADUs, {bytes} bytes)",
        adus.len()
    );
    println!("| parser | ADUs/s | MB/s |");
    println!("| --- | ---: | ---: |");
    for (name, time) in [
        ("OT Witness (frame_adu + parse)", ours),
        ("sawp-modbus 0.13", theirs),
    ] {
        println!(
            "| {name} | {:.0} | {:.0} |",
            rate(time),
            bytes as f64 / time.as_secs_f64().max(1e-9) / 1e6
        );
    }
    println!(
        "OT Witness / sawp-modbus: {:.2}×",
        rate(ours) / rate(theirs)
    );
}

fn modbus_adus(capture: &Path) -> Vec<Adu> {
    let Ok(file) = sensor::capture::CaptureFile::open(capture) else {
        return Vec::new();
    };
    let mut adus = Vec::new();
    for raw in file.packets() {
        let Ok(packet) = decode(raw.link, raw.data) else {
            continue;
        };
        let Transport::Tcp(tcp) = packet.transport else {
            continue;
        };
        let to_server = tcp.dst_port == 502;
        if !to_server && tcp.src_port != 502 {
            continue;
        }
        let mut rest = tcp.payload;
        while let Framing::Adu { consumed, .. } = frame_adu(rest) {
            adus.push(Adu {
                bytes: rest[..consumed].to_vec(),
                to_server,
            });
            rest = &rest[consumed..];
        }
    }
    adus
}

/// Memory per idle flow: `flows` Modbus/TCP clients each send a SYN and one FC 3 request and
/// are never heard of again, within one minute of capture time (no idle timeout fires).
fn idle_flow_memory(otwitness: &Path, out: &Path, flows: u32) {
    if flows == 0 {
        return;
    }
    let many = out.join(format!("idle-flows-{flows}.pcap"));
    let one = out.join("idle-flows-1.pcap");
    for (path, n) in [(&many, flows), (&one, 1)] {
        if !path.exists() {
            if let Err(error) = synth::write_pcap(path, &idle_flows(n)) {
                fail(&format!("cannot write {}: {error}", path.display()));
            }
        }
    }
    let (_, base) = run_analyze_flows(otwitness, &one, out);
    let (time, peak) = run_analyze_flows(otwitness, &many, out);
    println!("\n(e) idle flows: {flows} Modbus/TCP flows left open, 1 thread");
    match (base, peak) {
        (Some(base), Some(peak)) => println!(
            "peak {:.0} MiB, one-flow baseline {:.0} MiB: {:.0} bytes per idle flow ({:.1} s)",
            peak as f64 / 1048576.0,
            base as f64 / 1048576.0,
            peak.saturating_sub(base) as f64 / f64::from(flows),
            time.as_secs_f64()
        ),
        _ => println!("peak memory not reported by otwitness; nothing measured"),
    }
}

fn run_analyze_flows(otwitness: &Path, capture: &Path, out: &Path) -> (Duration, Option<u64>) {
    let evidence = out.join("evidence-idle");
    let _ = std::fs::remove_dir_all(&evidence);
    let start = Instant::now();
    let status = Command::new(otwitness)
        .args([
            "analyze",
            "--quiet",
            "--threads",
            "1",
            "--max-flows",
            "4000000",
        ])
        .arg("--site-key")
        .arg(out.join("site-key"))
        .arg("--out")
        .arg(&evidence)
        .arg(capture)
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        fail(&format!(
            "otwitness analyze of {} failed",
            capture.display()
        ));
    }
    (start.elapsed(), peak_from_manifest(&evidence))
}

/// The frames of `n` flows that open and stay idle.
fn idle_flows(n: u32) -> Vec<Frame> {
    let mut frames = Vec::with_capacity(n as usize * 2);
    let base = 1_796_083_200_000_000i64;
    for i in 0..n {
        let client = [10, 64 + (i >> 24) as u8, (i >> 16) as u8, (i >> 8) as u8];
        let port = 1024 + (i & 0xff) as u16 * 200;
        let ts = base + i64::from(i) * 60_000_000 / i64::from(n.max(1));
        frames.push(Frame {
            ts_us: ts,
            data: tcp_frame(client, port, 0x02, &[]),
        });
        // FC 3 read of 10 registers at 0, transaction i
        let mut adu = Vec::with_capacity(12);
        adu.extend_from_slice(&(i as u16).to_be_bytes());
        adu.extend_from_slice(&[0, 0, 0, 6, 1, 3, 0, 0, 0, 10]);
        frames.push(Frame {
            ts_us: ts + 1,
            data: tcp_frame(client, port, 0x18, &adu),
        });
    }
    frames
}

/// An Ethernet/IPv4/TCP frame from `client:port` to 10.0.0.1:502.
fn tcp_frame(client: [u8; 4], port: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(54 + payload.len());
    f.extend_from_slice(&[
        0x02, 0, 10, 0, 0, 1, 0x02, 0, client[0], client[1], client[2], client[3],
    ]);
    f.extend_from_slice(&[0x08, 0x00]);
    let total = 40 + payload.len() as u16;
    f.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ]);
    f.extend_from_slice(&client);
    f.extend_from_slice(&[10, 0, 0, 1]);
    f.extend_from_slice(&port.to_be_bytes());
    f.extend_from_slice(&502u16.to_be_bytes());
    let seq: u32 = if flags & 0x02 != 0 { 1000 } else { 1001 };
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&0u32.to_be_bytes()); // ack
    f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}
