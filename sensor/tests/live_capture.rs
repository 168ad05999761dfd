//! `otwitness capture` end to end on a real interface: two network namespaces joined by a veth
//! pair, captures replayed into one end with tcpreplay, the built sensor capturing on the other.
//!
//! Expected values come from `otwitness analyze` of the same capture files (itself checked
//! against the fixtures' client-recorded truth by the fixture tests): a live capture must find
//! the same writes with the same attribution. The namespaces have no addresses and no route out;
//! they are removed when a test ends, even when it fails.
//!
//! Needs root, `ip`, `tcpreplay` and Python's DuckDB: without them each test prints why it skips,
//! except on CI (`CI` set), where their absence is a failure.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_otwitness");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Whether this process may create namespaces and the tools are there; prints why not.
fn prerequisites() -> bool {
    let root = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false);
    if !root {
        assert!(
            std::env::var_os("CI").is_none(),
            "live capture tests need root on CI"
        );
        eprintln!("skipped: live capture tests need root (network namespaces, capture)");
        return false;
    }
    support::have_tool("ip", &["-V"])
        && support::have_tool("tcpreplay", &["--version"])
        && support::have_tool("python3", &["-c", "import duckdb"])
}

/// Two namespaces `<name>a` and `<name>b` joined by veth `<name>va` ↔ `<name>vb`, removed on
/// drop.
struct Link {
    name: String,
}

impl Link {
    fn new(tag: &str) -> Link {
        let name = format!("otw{}{tag}", std::process::id() % 100_000);
        let link = Link { name };
        let (a, b) = (link.ns('a'), link.ns('b'));
        link.cleanup();
        ip(&["netns", "add", &a]);
        ip(&["netns", "add", &b]);
        let (va, vb) = (link.end('a'), link.end('b'));
        ip(&[
            "link", "add", &va, "netns", &a, "type", "veth", "peer", "name", &vb, "netns", &b,
        ]);
        // Captured frames may be larger than 1500 bytes (segmentation offload on the capturing
        // host); a large MTU lets tcpreplay send them as they are.
        for (ns, dev) in [(&a, &va), (&b, &vb)] {
            ip(&["-n", ns, "link", "set", dev, "mtu", "9000", "up"]);
        }
        link
    }

    fn ns(&self, side: char) -> String {
        format!("{}{side}", self.name)
    }

    fn end(&self, side: char) -> String {
        format!("{}v{side}", self.name)
    }

    fn cleanup(&self) {
        for side in ['a', 'b'] {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.ns(side)])
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Replays `captures` into the `a` end at `speed` (tcpreplay options), returning when done.
    fn replay(&self, captures: &[PathBuf], speed: &[&str]) {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.ns('a'), "tcpreplay", "-q", "-i"])
            .arg(self.end('a'))
            .args(speed)
            .args(captures);
        let out = command.output().expect("tcpreplay runs");
        assert!(
            out.status.success(),
            "tcpreplay failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.cleanup();
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `otwitness capture` on the `b` end of `link`, writing to `out`, keyed by the `site-key` file
/// beside `out` (which `analyze` in these tests shares).
fn capture_command(link: &Link, out: &Path) -> Command {
    let mut command = Command::new("ip");
    command
        .args([
            "netns",
            "exec",
            &link.ns('b'),
            BIN,
            "capture",
            "--interface",
        ])
        .arg(link.end('b'))
        .arg("--out")
        .arg(out)
        .arg("--site-key")
        .arg(out.with_file_name("site-key"));
    command
}

/// A running `otwitness capture` in the `b` namespace; killed on drop if still running.
struct Sensor {
    child: Child,
    log: PathBuf,
}

impl Sensor {
    fn start(link: &Link, out: &Path, extra: &[&str]) -> Sensor {
        let log = out.with_file_name(format!(
            "{}-{}.log",
            out.file_name().and_then(|n| n.to_str()).unwrap_or("sensor"),
            nanos()
        ));
        let stderr = fs::File::create(&log).expect("log file");
        let child = capture_command(link, out)
            .args(["--sensor-id", "live-test", "--status-every", "1h"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("otwitness starts");
        let sensor = Sensor { child, log };
        sensor.wait_for("capturing on");
        sensor
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for(&self, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.log().contains(line) {
            assert!(
                Instant::now() < deadline,
                "sensor never logged {line:?}: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-s", signal, &pid]).status();
        assert!(
            status.map(|s| s.success()).unwrap_or(false),
            "kill -s {signal}"
        );
    }

    /// SIGTERM, then the exit status and the log.
    fn stop(mut self) -> (bool, String) {
        self.signal("TERM");
        let status = self.child.wait().expect("sensor exits");
        (status.success(), self.log())
    }
}

impl Drop for Sensor {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otw-live-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

fn analyze(capture: &Path, out: &Path, identities: Option<&Path>) {
    let mut command = Command::new(BIN);
    command
        .args([
            "analyze",
            "-q",
            "--sensor-id",
            "live-test",
            "--threads",
            "1",
            "--out",
        ])
        .arg(out)
        .arg("--site-key")
        .arg(out.with_file_name("site-key"));
    if let Some(map) = identities {
        command.arg("--identities").arg(map);
    }
    let result = command.arg(capture).output().expect("analyze runs");
    assert!(
        result.status.success(),
        "analyze {}: {}",
        capture.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}

type Rows = Vec<BTreeMap<String, Value>>;

fn writes(dir: &Path) -> Rows {
    tables(dir).remove("writes").unwrap_or_default()
}

/// `writes`, `credentials` and `sessions` of an evidence folder, read by DuckDB.
fn tables(dir: &Path) -> BTreeMap<String, Rows> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/read_rows.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(dir)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "reading {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("rows as JSON")
}

/// The rows without their capture time, as a sorted list (a multiset).
fn without_time(rows: &[BTreeMap<String, Value>]) -> Vec<String> {
    let mut keys: Vec<String> = rows
        .iter()
        .map(|row| {
            let mut row = row.clone();
            row.remove("ts");
            serde_json::to_string(&row).unwrap_or_default()
        })
        .collect();
    keys.sort();
    keys
}

fn verify(dir: &Path) -> String {
    let out = Command::new(BIN)
        .arg("verify")
        .arg(dir)
        .output()
        .expect("verify runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "verify {}: {text}", dir.display());
    text
}

fn manifest(dir: &Path) -> Value {
    let text = fs::read_to_string(dir.join("manifest.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest JSON")
}

/// Replays `capture` live and analyses it offline (with `identities` when given), asserts that
/// `tables` hold the same rows both ways, that the live evidence passes `verify` and that
/// nothing was dropped; returns how many rows each of `tables` held.
fn live_equals_offline(
    link: &Link,
    work: &Path,
    name: &str,
    capture: &Path,
    identities: Option<&Path>,
    tables_compared: &[&str],
) -> Vec<usize> {
    let offline = work.join(format!("{name}-offline"));
    let live = work.join(format!("{name}-live"));
    analyze(capture, &offline, identities);

    let mut extra = Vec::new();
    if let Some(map) = identities.and_then(Path::to_str) {
        extra.extend(["--identities", map]);
    }
    let sensor = Sensor::start(link, &live, &extra);
    link.replay(&[capture.to_path_buf()], &["--topspeed"]);
    let (ok, log) = sensor.stop();
    assert!(ok, "{name}: capture failed: {log}");

    let mut counts = Vec::new();
    let (mut expected_tables, mut found_tables) = (tables(&offline), tables(&live));
    for &table in tables_compared {
        let expected = expected_tables.remove(table).unwrap_or_default();
        let found = found_tables.remove(table).unwrap_or_default();
        assert_eq!(
            without_time(&found),
            without_time(&expected),
            "{name}: {table}"
        );
        counts.push(expected.len());
    }

    assert!(verify(&live).contains("0 problems"), "{name}");
    let manifest = manifest(&live);
    assert_eq!(manifest["inputs"][0]["kind"], "interface", "{name}");
    assert_eq!(manifest["kernel_drops"], 0, "{name}: {log}");
    assert!(!log.contains("dropped"), "{name}: {log}");
    counts
}

/// Every fixture replayed live finds the writes, credentials and sessions `analyze` finds in
/// the file, attributed alike, and the live evidence passes `verify`.
#[test]
fn live_capture_finds_what_analyze_finds() {
    if !prerequisites() {
        return;
    }
    let link = Link::new("e");
    let work = scratch("same");
    let mut fixtures: Vec<PathBuf> = fs::read_dir(repo().join("fixtures-pcap"))
        .expect("fixtures-pcap")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("capture.pcap").is_file())
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 5, "fixtures: {fixtures:?}");

    let (mut all_writes, mut compared) = (0, 0);
    for fixture in &fixtures {
        let name = fixture.file_name().and_then(|n| n.to_str()).unwrap_or("x");
        let identities = fixture.join("identities.toml");
        let identities = identities.is_file().then_some(identities);
        let counts = live_equals_offline(
            &link,
            &work,
            name,
            &fixture.join("capture.pcap"),
            identities.as_deref(),
            &["writes", "credentials", "sessions"],
        );
        all_writes += counts[0];
        if counts.iter().sum::<usize>() > 0 {
            compared += 1;
        }
    }
    assert!(
        all_writes >= 50,
        "only {all_writes} writes over all fixtures"
    );
    assert!(
        compared >= 5,
        "only {compared} fixtures had rows to compare"
    );
}

/// Shared real-world captures (Ethernet, frames within the veth's MTU) chosen to cover the
/// four protocols, an S7 password, OPC UA over Basic256Sha256 and a mixed plant: live capture
/// finds the same writes, credentials and sessions as `analyze` of the file.
#[test]
fn live_capture_of_shared_captures_finds_what_analyze_finds() {
    if !prerequisites() {
        return;
    }
    let Some(pcaps) = support::shared_pcaps() else {
        return;
    };
    let chosen = [
        "modbus/modbus-fc15-fc16-polling-large.pcap",
        "modbus/modbus-digitalbond-testdata-part1.pcap",
        "s7comm/s7-libnodave-bench-many-writes.pcap",
        "s7comm/s7-step7-auth-password.pcapng",
        "s7comm/s7plus-s71200-hmi.pcap",
        "enip/cip-logix-rmw-tag-hmi.pcap",
        "enip/eip-digitalbond-firmware-change.pcap",
        "opcua/opcua-method-call-port12001.pcap",
        "opcua/opcua-prosys-basic256sha256.pcap",
        "mixed/mixed-modbus-s7-enip-plant.pcap",
    ];
    let link = Link::new("r");
    let work = scratch("shared");

    let (mut all_writes, mut all_credentials) = (0, 0);
    for relative in chosen {
        let capture = pcaps.join(relative);
        let name = relative.replace('/', "-");
        let counts = live_equals_offline(
            &link,
            &work,
            &name,
            &capture,
            None,
            &["writes", "credentials", "sessions"],
        );
        all_writes += counts[0];
        all_credentials += counts[1];
    }
    assert!(all_writes >= 1000, "only {all_writes} writes");
    assert!(all_credentials >= 2, "only {all_credentials} credentials");
}

/// Rotation by size (a tiny `--rotate-size` rotates after every hand-over with rows) gives a
/// chain of manifests, each listing only its own files, that `verify` accepts, and the rows
/// over all files are still those of `analyze`.
#[test]
fn rotations_chain_manifests_that_verify_accepts() {
    if !prerequisites() {
        return;
    }
    let link = Link::new("r");
    let work = scratch("rotate");
    let capture = repo().join("fixtures-pcap/modbus-basic/capture.pcap");
    let offline = work.join("offline");
    let live = work.join("live");
    analyze(&capture, &offline, None);

    let sensor = Sensor::start(&link, &live, &["--rotate-size", "1", "--rotate", "1h"]);
    link.replay(std::slice::from_ref(&capture), &["--pps", "100"]);
    let (ok, log) = sensor.stop();
    assert!(ok, "capture failed: {log}");

    let report = verify(&live);
    let newest = manifest(&live);
    let sequence = newest["sequence"].as_u64().unwrap_or(0);
    assert!(sequence >= 3, "only {sequence} manifests: {log}");
    assert!(
        report.contains(&format!("ok: {sequence} manifests")),
        "{report}"
    );
    assert_eq!(
        without_time(&writes(&live)),
        without_time(&writes(&offline))
    );
}

/// A kernel buffer far too small for a burst: every packet that passed the filter is either
/// captured or counted as dropped, and drops are in the manifest, in `capture_stats` and in a
/// `capture_drops` alert with the same number.
#[test]
fn drops_are_counted_and_alerted() {
    if !prerequisites() || !support::have_tool("tshark", &["-v"]) {
        return;
    }
    const LOOPS: u64 = 200;
    let link = Link::new("d");
    let work = scratch("drops");
    let capture = repo().join("fixtures-pcap/modbus-basic/capture.pcap");
    let live = work.join("live");
    // Frames of the file the default filter keeps: TCP and the EtherNet/IP UDP ports.
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(&capture)
        .args([
            "-Y",
            "tcp or udp.port in {44818, 2222, 2221}",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .output()
        .expect("tshark runs");
    let kept = String::from_utf8_lossy(&out.stdout).lines().count() as u64;
    assert!(kept > 100, "tshark kept {kept} frames");

    let sensor = Sensor::start(&link, &live, &["--buffer", "64K"]);
    let loops = LOOPS.to_string();
    link.replay(
        std::slice::from_ref(&capture),
        &["--topspeed", "--loop", &loops],
    );
    let (ok, log) = sensor.stop();
    assert!(ok, "capture failed: {log}");
    verify(&live);

    let manifest = manifest(&live);
    let packets = manifest["packets"].as_u64().expect("packets");
    let drops = manifest["kernel_drops"].as_u64().expect("kernel drops")
        + manifest["counters"]["queue_drops"]
            .as_u64()
            .expect("queue drops");
    eprintln!(
        "drops: {packets} captured, {drops} dropped of {} sent",
        kept * LOOPS
    );
    assert_eq!(packets + drops, kept * LOOPS, "{log}");

    let mut rows = tables(&live);
    let stats = rows.remove("capture_stats").unwrap_or_default();
    let sum = |names: &[&str]| -> u64 {
        stats
            .iter()
            .flat_map(|row| names.iter().map(|n| row[*n].as_u64().unwrap_or(0)))
            .sum()
    };
    assert_eq!(sum(&["packets"]), packets, "capture_stats packets");
    assert_eq!(
        sum(&["kernel_drops", "interface_drops", "queue_drops"]),
        drops,
        "capture_stats drops"
    );
    let alerts = rows.remove("alerts").unwrap_or_default();
    let alerted: u64 = alerts
        .iter()
        .filter(|a| a["kind"] == "capture_drops")
        .map(|a| {
            let detail = a["detail"].as_str().unwrap_or("");
            let count = detail.split(' ').next().unwrap_or("");
            count.parse::<u64>().unwrap_or_else(|_| panic!("{detail}"))
        })
        .sum();
    assert_eq!(alerted, drops, "{log}");
}

/// SIGHUP rereads the identity map without stopping: traffic before it is attributed with the
/// old map, traffic after it with the new one, each as `analyze` attributes it with that map.
#[test]
fn sighup_reloads_the_identity_map() {
    if !prerequisites() {
        return;
    }
    let link = Link::new("h");
    let work = scratch("reload");
    let fixtures = repo().join("fixtures-pcap");
    let (modbus, s7) = (fixtures.join("modbus-basic"), fixtures.join("s7comm-basic"));
    let map = work.join("identities.toml");
    fs::copy(modbus.join("identities.toml"), &map).expect("identity map");
    let live = work.join("live");
    let mut expected = Vec::new();
    for fixture in [&modbus, &s7] {
        let offline = work.join(format!("offline-{}", expected.len()));
        let capture = fixture.join("capture.pcap");
        analyze(&capture, &offline, Some(&fixture.join("identities.toml")));
        expected.extend(writes(&offline));
    }
    let map_arg = map.to_str().expect("utf-8 path");

    let sensor = Sensor::start(&link, &live, &["--identities", map_arg]);
    link.replay(&[modbus.join("capture.pcap")], &["--topspeed"]);
    // The reload applies to packets read after it: let the kernel hand over its last block
    // (100 ms) and the batch reach its worker (50 ms) first.
    std::thread::sleep(Duration::from_millis(600));
    fs::copy(s7.join("identities.toml"), &map).expect("new identity map");
    sensor.signal("HUP");
    sensor.wait_for("reloaded the identity map");
    link.replay(&[s7.join("capture.pcap")], &["--topspeed"]);
    let (ok, log) = sensor.stop();
    assert!(ok, "capture failed: {log}");

    let found = writes(&live);
    assert!(found.iter().any(|w| w["protocol"] == "s7comm"), "{log}");
    assert_eq!(without_time(&found), without_time(&expected), "{log}");
}

/// A small tmpfs mounted for one test, unmounted on drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: PathBuf, size: &str) -> Tmpfs {
        fs::create_dir_all(&dir).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status();
        assert!(status.map(|s| s.success()).unwrap_or(false), "mount tmpfs");
        Tmpfs { dir }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

/// Fills the file system holding `path` by writing it until the system refuses.
fn fill(path: &Path) {
    use std::io::Write;
    let mut file = fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    // What a partial chunk left: byte by byte, so not a page stays free.
    while file.write_all(&[0u8]).is_ok() {}
}

/// What a full-disk test saw: the evidence folder, the rows `analyze` finds in the captures
/// replayed before, during and after the pause, and the sensor's log.
struct FullDisk {
    live: PathBuf,
    before: Rows,
    during: Rows,
    after: Rows,
    log: String,
    _disk: Tmpfs,
}

/// Replays one fixture before the disk fills, one as it fills (its rows are the first that
/// cannot be written), one while writing is paused, frees the space, waits for writing to
/// resume, replays a fourth and stops the sensor with SIGTERM, which must succeed.
fn full_disk(tag: &str, extra: &[&str]) -> FullDisk {
    let link = Link::new(tag);
    let work = scratch(&format!("full-{tag}"));
    let disk = Tmpfs::mount(work.join("disk"), "4m");
    let live = disk.dir.join("live");
    let filler = disk.dir.join("filler");
    let fixtures = repo().join("fixtures-pcap");
    let phases = ["modbus-basic", "s7comm-basic", "enip-basic", "opcua-none"];
    let mut expected: Vec<Rows> = Vec::new();
    for (i, name) in phases.iter().enumerate() {
        let offline = work.join(format!("offline-{i}"));
        analyze(&fixtures.join(name).join("capture.pcap"), &offline, None);
        let rows = writes(&offline);
        assert!(!rows.is_empty(), "{name} has no writes");
        expected.push(rows);
    }
    // The same site key, so password fingerprints are alike offline and live.
    fs::copy(work.join("site-key"), disk.dir.join("site-key")).expect("site key");
    let replay = |i: usize| {
        let capture = fixtures.join(phases[i]).join("capture.pcap");
        link.replay(&[capture], &["--topspeed"]);
    };

    let mut sensor = Sensor::start(&link, &live, extra);
    replay(0);
    // The rows reach the evidence thread within a hand-over (0.5 s) and are synced at once.
    std::thread::sleep(Duration::from_millis(1500));
    fill(&filler);
    replay(1);
    sensor.wait_for("evidence writing paused");
    assert!(
        matches!(sensor.child.try_wait(), Ok(None)),
        "the sensor stopped: {}",
        sensor.log()
    );
    replay(2);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        matches!(sensor.child.try_wait(), Ok(None)),
        "{}",
        sensor.log()
    );
    // Nothing half written is left where a reader would find it.
    let leftovers: Vec<String> = walk_files(&live)
        .into_iter()
        .filter(|p| p.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    fs::remove_file(&filler).expect("space returns");
    sensor.wait_for("evidence writing resumed");
    replay(3);
    let (ok, log) = sensor.stop();
    assert!(ok, "capture failed: {log}");

    let mut expected = expected.into_iter();
    let mut next = || expected.next().unwrap_or_default();
    let before = next();
    let mut during = next();
    during.extend(next());
    FullDisk {
        live,
        before,
        during,
        after: next(),
        log,
        _disk: disk,
    }
}

/// What `expected` has that `found` lacks, and the reverse (multisets of sorted rows).
fn difference(found: &[String], expected: &[String]) -> (Vec<String>, Vec<String>) {
    let mut extra = found.to_vec();
    let mut missing = Vec::new();
    for row in expected {
        match extra.iter().position(|r| r == row) {
            Some(at) => {
                extra.remove(at);
            }
            None => missing.push(row.clone()),
        }
    }
    (missing, extra)
}

/// Paths of every file under `dir`.
fn walk_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// A full disk pauses evidence writing without stopping the sensor: the pause is alerted with
/// the file and the free bytes, the rows found meanwhile are held in memory, and once space
/// returns the files open at the failure are rebuilt whole, the held rows written, and the
/// resumption's manifest records the pause. Every write of the four replays is there, as
/// `analyze` finds it, and the folder verifies.
#[test]
fn a_full_disk_pauses_evidence_and_writing_resumes_with_every_row() {
    if !prerequisites() {
        return;
    }
    let run = full_disk("f", &[]);
    let log = &run.log;
    verify(&run.live);

    let mut expected = run.before.clone();
    expected.extend(run.during.iter().cloned());
    expected.extend(run.after.iter().cloned());
    let mut rows = tables(&run.live);
    let found = rows.remove("writes").unwrap_or_default();
    let (missing, extra) = difference(&without_time(&found), &without_time(&expected));
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}\n{log}"
    );

    let alerts = rows.remove("alerts").unwrap_or_default();
    let detail = |kind: &str| -> String {
        let found = alerts.iter().find(|a| a["kind"] == kind);
        let text = found.and_then(|a| a["detail"].as_str()).unwrap_or_default();
        assert!(!text.is_empty(), "no {kind} alert: {alerts:?}");
        text.to_owned()
    };
    let paused = detail("evidence_paused");
    assert!(paused.contains("No space left on device"), "{paused}");
    assert!(paused.contains("bytes free in"), "{paused}");
    assert!(paused.contains(&run.live.display().to_string()), "{paused}");
    let resumed = detail("evidence_resumed");
    assert!(resumed.contains("0 rows were lost"), "{resumed}");

    let pause = find_record(&run.live, "pause");
    eprintln!(
        "full disk: paused {} to {}, {} rows held, {} of {} writes found",
        pause["started"],
        pause["ended"],
        pause["held_rows"],
        found.len(),
        expected.len()
    );
    assert!(pause["held_rows"].as_u64().unwrap_or(0) > 0, "{pause}");
    assert_eq!(pause["lost_rows"]["writes"].as_u64(), Some(0), "{pause}");
    assert!(pause["lost_since"].is_null(), "{pause}");
    assert!(
        pause["started"].as_str() < pause["ended"].as_str(),
        "{pause}"
    );
    let stats = rows.remove("capture_stats").unwrap_or_default();
    assert!(!stats.is_empty());
}

/// A full disk with a hold of one byte: only the pause alert is kept, every other row found
/// during the pause is lost, and exactly the writes that are missing are the ones the
/// resumption's manifest, its alert and `capture_stats` count as lost; the rows before and
/// after the pause are all there.
#[test]
fn rows_beyond_the_hold_are_counted_as_lost() {
    if !prerequisites() {
        return;
    }
    let run = full_disk("l", &["--hold", "1"]);
    let log = &run.log;
    verify(&run.live);

    let mut rows = tables(&run.live);
    let found = without_time(&rows.remove("writes").unwrap_or_default());
    let mut all = run.before.clone();
    all.extend(run.during.iter().cloned());
    all.extend(run.after.iter().cloned());
    let all = without_time(&all);
    // Everything found is something replayed, and the first and last replays are whole.
    let mut rest = all.clone();
    for row in &found {
        let at = rest.iter().position(|r| r == row);
        assert!(at.map(|i| rest.remove(i)).is_some(), "unexpected {row}");
    }
    for kept in [&run.before, &run.after] {
        for row in without_time(kept) {
            assert!(
                !rest.contains(&row),
                "lost a row outside the pause: {row}\n{log}"
            );
        }
    }
    let lost = (all.len() - found.len()) as u64;
    assert!(lost > 0, "nothing was lost: {log}");

    let pause = find_record(&run.live, "pause");
    eprintln!(
        "hold of 1 byte: {lost} of {} writes lost, lost_rows {}",
        all.len(),
        pause["lost_rows"]
    );
    assert_eq!(pause["lost_rows"]["writes"].as_u64(), Some(lost), "{pause}");
    assert!(pause["lost_since"].is_string(), "{pause}");
    let alerts = rows.remove("alerts").unwrap_or_default();
    let resumed = alerts
        .iter()
        .find(|a| a["kind"] == "evidence_resumed")
        .and_then(|a| a["detail"].as_str())
        .unwrap_or_default();
    assert!(resumed.contains(&format!("(writes {lost},")), "{resumed}");
    let total_lost = pause["lost_rows"]
        .as_object()
        .map(|o| o.values().filter_map(Value::as_u64).sum::<u64>())
        .unwrap_or(0);
    let stats = rows.remove("capture_stats").unwrap_or_default();
    let stats_lost: u64 = stats
        .iter()
        .map(|r| r["evidence_rows_lost"].as_u64().unwrap_or(0))
        .sum();
    // capture_stats rows of the pause are themselves lost with a hold this small, except the
    // one written when the capture stops or resumes; theirs count toward the same total.
    assert!(stats_lost <= total_lost, "{stats_lost} > {total_lost}");
    assert!(
        resumed.contains(&format!("{total_lost} rows were lost")),
        "{resumed}"
    );
}

/// Another write error than a lack of space (the evidence folder replaced by a plain file
/// while the sensor runs) still stops the capture, with a message naming the file and the
/// cause.
#[test]
fn a_write_error_other_than_space_still_stops_the_capture() {
    if !prerequisites() {
        return;
    }
    let link = Link::new("g");
    let work = scratch("gone");
    let live = work.join("live");
    let capture = repo().join("fixtures-pcap/modbus-basic/capture.pcap");

    let mut sensor = Sensor::start(&link, &live, &[]);
    fs::remove_dir_all(&live).expect("remove the folder");
    fs::write(&live, b"not a folder").expect("a file in its place");
    link.replay(std::slice::from_ref(&capture), &["--topspeed"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Ok(Some(status)) = sensor.child.try_wait() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running: {}", sensor.log());
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = sensor.log();
    assert!(!status.success(), "{log}");
    assert!(log.contains("File exists"), "{log}");
    assert!(log.contains(&live.display().to_string()), "{log}");
    assert!(log.contains("evidence can no longer be written"), "{log}");
    assert!(!log.contains("paused"), "{log}");
}

/// Uid and gid of `name` as `id` tells them, `None` when there is no such user.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, name]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// The value of `field` in `/proc/<pid>/status`, whitespace-normalised.
fn proc_status(pid: u32, field: &str) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_default();
    let value = line.split_once(':').map_or("", |(_, v)| v);
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Started as root with `--user nobody` into a folder nobody owns: while capturing the process
/// has nobody's ids (real, effective, saved, file system), no supplementary group and no
/// capability; the evidence is written by that user, holds what `analyze` finds and verifies.
#[test]
fn user_option_drops_root_and_evidence_is_still_written() {
    if !prerequisites() {
        return;
    }
    let Some((uid, gid)) = user_ids("nobody") else {
        assert!(std::env::var_os("CI").is_none(), "no user nobody on CI");
        eprintln!("skipped: no user nobody");
        return;
    };
    use std::os::unix::fs::MetadataExt;
    let link = Link::new("u");
    let work = scratch("user");
    let capture = repo().join("fixtures-pcap/modbus-basic/capture.pcap");
    let offline = work.join("offline");
    analyze(&capture, &offline, None);
    let live = work.join("live");
    fs::create_dir(&live).expect("evidence folder");
    std::os::unix::fs::chown(&live, Some(uid), Some(gid)).expect("chown");

    let sensor = Sensor::start(&link, &live, &["--user", "nobody"]);
    let pid = sensor.child.id();
    let ids = format!("{uid} {uid} {uid} {uid}");
    assert_eq!(proc_status(pid, "Uid"), ids, "{}", sensor.log());
    assert_eq!(proc_status(pid, "Gid"), format!("{gid} {gid} {gid} {gid}"));
    assert_eq!(proc_status(pid, "Groups"), "");
    for caps in ["CapEff", "CapPrm", "CapAmb"] {
        assert_eq!(proc_status(pid, caps), "0000000000000000", "{caps}");
    }
    assert!(sensor
        .log()
        .contains("privileges dropped: running as user nobody"));
    link.replay(std::slice::from_ref(&capture), &["--topspeed"]);
    let (ok, log) = sensor.stop();
    assert!(ok, "capture failed: {log}");

    verify(&live);
    assert_eq!(
        without_time(&writes(&live)),
        without_time(&writes(&offline))
    );
    let owner = fs::metadata(live.join("manifest.json")).map(|m| m.uid());
    assert_eq!(owner.ok(), Some(uid));
}

/// `--user nobody` with an evidence folder only root may write: the capture refuses to start
/// and says which folder and what to do.
#[test]
fn user_option_refuses_a_folder_the_user_cannot_write() {
    if !prerequisites() || user_ids("nobody").is_none() {
        return;
    }
    let link = Link::new("w");
    let work = scratch("user-refused");
    let live = work.join("live");
    fs::create_dir(&live).expect("evidence folder");

    let out = capture_command(&link, &live)
        .args(["--user", "nobody"])
        .output()
        .expect("otwitness runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let expected = format!(
        "evidence folder {} is not writable by user nobody",
        live.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!live.join("manifest.json").exists());
}

/// Asks the sensor's metrics server in namespace `ns` for `path`, from inside the namespace;
/// with `idle`, a connection that never sends anything is opened first and kept open. Returns
/// the status, the seconds the answer took and the body.
fn scrape(ns: &str, port: u16, path: &str, idle: bool) -> (u16, f64, String) {
    let script = "import socket, sys, time, urllib.request, urllib.error\n\
                  port, path = int(sys.argv[1]), sys.argv[2]\n\
                  idle = socket.create_connection(('127.0.0.1', port)) if sys.argv[3] == '1' \
                  else None\n\
                  start = time.time()\n\
                  try:\n\
                  \x20   r = urllib.request.urlopen(f'http://127.0.0.1:{port}{path}', timeout=10)\n\
                  \x20   status, body = r.status, r.read().decode()\n\
                  except urllib.error.HTTPError as e:\n\
                  \x20   status, body = e.code, ''\n\
                  print(status)\n\
                  print(f'{time.time() - start:.3f}')\n\
                  sys.stdout.write(body)\n";
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "python3", "-c", script])
        .args([
            port.to_string().as_str(),
            path,
            if idle { "1" } else { "0" },
        ])
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "scrape: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = text.splitn(3, '\n');
    let status = lines.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let seconds = lines
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::MAX);
    (status, seconds, lines.next().unwrap_or("").to_owned())
}

/// Samples of an exposition text by metric name, checking that each has HELP and TYPE lines
/// and that the counters are named `_total`.
fn samples(text: &str) -> BTreeMap<String, u64> {
    let mut found = BTreeMap::new();
    let (mut helped, mut typed) = (Vec::new(), BTreeMap::new());
    for line in text.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["#", "HELP", name, ..] => helped.push(name.to_string()),
            ["#", "TYPE", name, kind] => {
                typed.insert(name.to_string(), kind.to_string());
            }
            [sample, value] => {
                let name = sample.split('{').next().unwrap_or("").to_owned();
                assert!(sample.ends_with('}'), "{line}");
                let value = value.parse().unwrap_or_else(|_| panic!("{line}"));
                found.insert(name, value);
            }
            _ => panic!("not exposition text: {line:?}"),
        }
    }
    for name in found.keys() {
        assert!(helped.contains(name), "no HELP for {name}");
        let kind = typed.get(name).map(String::as_str);
        let expected = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        assert_eq!(kind, Some(expected), "{name}");
    }
    found
}

/// Metrics scraped during a paced replay count the packets read so far: they grow between two
/// scrapes, stay below what the replay sends, and a scrape after the replay has exactly the
/// packets and writes the evidence holds. Other paths are 404, and a client that connects and
/// sends nothing delays a scrape by at most the server's two seconds.
#[test]
fn metrics_count_packets_while_capturing() {
    if !prerequisites() {
        return;
    }
    const PORT: u16 = 9417;
    let link = Link::new("m");
    let work = scratch("metrics");
    let live = work.join("live");
    let capture = repo().join("fixtures-pcap/modbus-basic/capture.pcap");
    ip(&["-n", &link.ns('b'), "link", "set", "lo", "up"]);

    let sensor = Sensor::start(&link, &live, &["--metrics", &PORT.to_string()]);
    let ns = link.ns('b');
    let (status, _, first) = scrape(&ns, PORT, "/metrics", false);
    assert_eq!(status, 200, "{}", sensor.log());
    assert_eq!(samples(&first).get("otwitness_packets_total"), Some(&0));

    let replay = {
        let (ns_a, dev) = (link.ns('a'), link.end('a'));
        let capture = capture.clone();
        std::thread::spawn(move || {
            Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns_a,
                    "tcpreplay",
                    "-q",
                    "--pps",
                    "50",
                    "-i",
                    &dev,
                ])
                .arg(&capture)
                .output()
        })
    };
    std::thread::sleep(Duration::from_millis(1200));
    let during = samples(&scrape(&ns, PORT, "/metrics", false).2);
    std::thread::sleep(Duration::from_millis(600));
    let later = samples(&scrape(&ns, PORT, "/metrics", false).2);
    let replayed = replay.join().expect("replay thread");
    assert!(replayed.map(|o| o.status.success()).unwrap_or(false));
    std::thread::sleep(Duration::from_millis(800));
    let (status, _, last) = scrape(&ns, PORT, "/metrics?x=1", false);
    assert_eq!(status, 200);
    let last = samples(&last);
    let (missing, _, _) = scrape(&ns, PORT, "/other", false);
    assert_eq!(missing, 404);
    let (status, seconds, _) = scrape(&ns, PORT, "/metrics", true);
    assert_eq!(status, 200);
    eprintln!("metrics: a scrape behind a silent client took {seconds:.2} s");
    assert!(
        seconds < 4.0,
        "a silent client held the scrape {seconds:.1} s"
    );

    let (ok, log) = sensor.stop();
    assert!(ok, "capture failed: {log}");
    verify(&live);
    let get = |s: &BTreeMap<String, u64>, name: &str| s.get(name).copied();
    let packets = "otwitness_packets_total";
    let (during, later) = (get(&during, packets), get(&later, packets));
    let total = manifest(&live)["packets"].as_u64();
    eprintln!(
        "metrics: packets {during:?} then {later:?} during the replay, {:?} after it, \
         {total:?} in the manifest",
        get(&last, packets)
    );
    assert!(during > Some(0), "{log}");
    assert!(later > during, "{during:?} then {later:?}");
    // At 50 packets/s, 1.2 s into a replay of about 3 s: not the whole capture yet.
    assert!(during < total, "{during:?} of {total:?}");
    // Nothing was replayed after the last scrape: it saw every packet the sensor read, and
    // every write row.
    assert_eq!(get(&last, packets), total, "{log}");
    let written = writes(&live).len() as u64;
    assert!(written > 0);
    assert_eq!(get(&last, "otwitness_writes_total"), Some(written));
    assert_eq!(get(&last, "otwitness_evidence_paused"), Some(0));
    assert!(get(&last, "otwitness_resident_memory_bytes") > Some(1 << 20));
}

/// Every manifest of the chain, oldest first.
fn chain(dir: &Path) -> Vec<Value> {
    let mut manifests = vec![manifest(dir)];
    while let Some(previous) = manifests
        .last()
        .and_then(|m| m["previous"]["path"].as_str())
    {
        let text = fs::read_to_string(dir.join(previous)).expect("archived manifest");
        manifests.push(serde_json::from_str(&text).expect("manifest JSON"));
    }
    manifests.reverse();
    manifests
}

/// A tiny `--keep-size` with a rotation after every hand-over: the oldest files are removed as
/// the evidence grows, each removal is recorded (path, the hash its manifest listed, when,
/// why) in the manifest of the rotation that made it, what is kept fits in the limit unless
/// only the newest files are left, and `verify` passes; removing a file no manifest retired
/// still fails it.
#[test]
fn retention_retires_the_oldest_files_and_verify_still_passes() {
    if !prerequisites() {
        return;
    }
    const LIMIT: u64 = 48 * 1024;
    let link = Link::new("t");
    let work = scratch("retention");
    let live = work.join("live");
    let capture = repo().join("fixtures-pcap/modbus-basic/capture.pcap");

    let limit = LIMIT.to_string();
    let sensor = Sensor::start(
        &link,
        &live,
        &[
            "--rotate-size",
            "1",
            "--rotate",
            "1h",
            "--keep-size",
            &limit,
        ],
    );
    link.replay(std::slice::from_ref(&capture), &["--pps", "100"]);
    let (ok, log) = sensor.stop();
    assert!(ok, "capture failed: {log}");

    let report = verify(&live);
    let manifests = chain(&live);
    let mut listed: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut retired = Vec::new();
    for m in &manifests {
        for r in m["retired"].as_array().into_iter().flatten() {
            let path = r["path"].as_str().expect("path").to_owned();
            let (sha256, bytes) = listed
                .remove(&path)
                .expect("retired file was listed before");
            assert_eq!(r["sha256"].as_str(), Some(sha256.as_str()), "{r}");
            assert_eq!(r["bytes"].as_u64(), Some(bytes), "{r}");
            assert!(
                r["why"].as_str().unwrap_or("").contains("--keep-size"),
                "{r}"
            );
            assert!(!live.join(&path).exists(), "{path} retired but present");
            retired.push(path);
        }
        for f in m["files"].as_array().into_iter().flatten() {
            let path = f["path"].as_str().expect("path").to_owned();
            let entry = (
                f["sha256"].as_str().unwrap_or("").to_owned(),
                f["bytes"].as_u64().unwrap_or(0),
            );
            listed.insert(path, entry);
        }
    }
    let kept: u64 = listed.values().map(|(_, bytes)| bytes).sum();
    let newest: BTreeSet<&str> = manifests
        .last()
        .and_then(|m| m["files"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|f| f["path"].as_str())
        .collect();
    eprintln!(
        "retention: {} manifests, {} files retired, {} kept ({kept} bytes, limit {LIMIT})",
        manifests.len(),
        retired.len(),
        listed.len()
    );
    assert!(!retired.is_empty(), "nothing retired: {log}");
    assert!(
        kept <= LIMIT || listed.keys().all(|p| newest.contains(p.as_str())),
        "{kept} bytes kept"
    );
    for path in listed.keys() {
        assert!(live.join(path).is_file(), "{path} kept but absent");
    }
    assert!(
        report.contains(&format!("({} retired by retention", retired.len())),
        "{report}"
    );

    // A kept file removed by hand is still missing evidence.
    let victim = listed.keys().next().expect("a kept file");
    fs::remove_file(live.join(victim)).expect("remove a kept file");
    let out = Command::new(BIN)
        .arg("verify")
        .arg(&live)
        .output()
        .expect("verify runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains(&format!("missing: {victim}")), "{text}");
}

/// A sensor killed with SIGKILL in the middle of a replay: the next start rebuilds the spools,
/// records the recovery in the manifest, and the evidence holds, in order, every write whose
/// request reached the sensor more than a second before the kill.
#[test]
fn a_killed_sensor_loses_at_most_the_last_second() {
    if !prerequisites() {
        return;
    }
    const PPS: f64 = 40.0;
    const KILL_AFTER: Duration = Duration::from_millis(2500);
    let link = Link::new("k");
    let work = scratch("kill");
    let fixture = repo().join("fixtures-pcap/modbus-basic");
    let capture = fixture.join("capture.pcap");
    let identities = fixture.join("identities.toml");
    let map = identities.to_str().expect("utf-8 path");
    let offline = work.join("offline");
    let live = work.join("live");
    analyze(&capture, &offline, Some(&identities));
    let expected = writes(&offline);
    let frames = original_frames(&offline);

    let sensor = Sensor::start(&link, &live, &["--identities", map]);
    let replay = {
        let ns = link.ns('a');
        let dev = link.end('a');
        let capture = capture.clone();
        std::thread::spawn(move || {
            Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns,
                    "tcpreplay",
                    "-q",
                    "--pps",
                    "40",
                    "-i",
                    &dev,
                ])
                .arg(&capture)
                .output()
        })
    };
    std::thread::sleep(KILL_AFTER);
    sensor.signal("KILL");
    let killed_at_us = micros();
    let replayed = replay.join().expect("replay thread");
    assert!(replayed.map(|o| o.status.success()).unwrap_or(false));
    drop(sensor);

    // The restart recovers the spools before capturing; stop it at once.
    let restarted = Sensor::start(&link, &live, &["--identities", map]);
    let (ok, log) = restarted.stop();
    assert!(ok, "restart failed: {log}");
    assert!(log.contains("recovered"), "{log}");
    verify(&live);
    let recovery = find_recovery(&live);
    assert!(recovery["rows"].as_u64().unwrap_or(0) > 0, "{recovery}");

    let found = writes(&live);
    assert!(!found.is_empty(), "nothing recovered: {log}");
    assert!(
        found.len() < expected.len(),
        "the kill came after the last write"
    );
    // What survived is the beginning of the capture's writes, in order.
    let strip = |rows: &[BTreeMap<String, Value>]| without_time(rows);
    assert_eq!(
        strip(&found),
        strip(&expected[..found.len()]),
        "recovered writes are not the first ones"
    );
    // The first write lost reached the sensor less than a second (plus the pacing's jitter)
    // before the kill: replay time runs at PPS frames per second from the first write.
    let first_ts = found[0]["ts"].as_i64().expect("ts");
    let start_us = first_ts - ((frames[0] - 1) as f64 / PPS * 1e6) as i64;
    let lost_frame = frames[found.len()];
    let lost_at_us = start_us + ((lost_frame - 1) as f64 / PPS * 1e6) as i64;
    let before_kill = (killed_at_us - lost_at_us) as f64 / 1e6;
    eprintln!(
        "kill -9: {} of {} writes recovered; the first lost one arrived {before_kill:.2} s \
         before the kill",
        found.len(),
        expected.len()
    );
    assert!(
        before_kill < 1.25,
        "write {} (frame {lost_frame}) arrived {before_kill:.2} s before the kill and was lost",
        found.len() + 1
    );
}

/// Frame numbers, in the capture file, of the requests of the writes `analyze` found.
fn original_frames(dir: &Path) -> Vec<u64> {
    let script = "import duckdb,sys; print([r[0] for r in duckdb.sql(\"select frame from \
                  read_parquet('\" + sys.argv[1] + \"/writes/**/*.parquet') order by ts, frame\")\
                  .fetchall()])";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(dir)
        .output()
        .expect("python3 runs");
    serde_json::from_slice(&out.stdout).expect("frame list")
}

/// The `recovery` record of the manifest chain (the current or an archived manifest).
fn find_recovery(dir: &Path) -> Value {
    find_record(dir, "recovery")
}

/// The member `key` of the first manifest of the chain (current or archived) that has it.
fn find_record(dir: &Path, key: &str) -> Value {
    let mut manifests = vec![dir.join("manifest.json")];
    if let Ok(entries) = fs::read_dir(dir.join("manifests")) {
        manifests.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
    }
    for path in manifests {
        let text = fs::read_to_string(&path).unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !value[key].is_null() {
            return value[key].clone();
        }
    }
    panic!("no manifest records a {key} in {}", dir.display());
}

fn micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}
