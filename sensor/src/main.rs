//! `otwitness`: the command line. Parses arguments, runs a command, turns errors into one
//! clear line on standard error and an exit code (0 success, 1 failure, 2 bad usage).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use analytics::attribution::Attributor;
use analytics::delegation::Delegations;
use analytics::engine::EngineConfig;
use analytics::identity::IdentityMap;
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use sensor::evidence::{self, RunInfo};
use sensor::live::units::{parse_duration, parse_size};
use sensor::pipeline::{analyze, AnalyzeOptions, Progress};
use sensor::signing::{self, PublicKey, SigningKey};
use sensor::{latency_table, site_key, summary};

#[derive(Parser)]
#[command(
    name = "otwitness",
    version,
    about = "Passive audit sensor for industrial networks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse capture files (pcap, pcapng) into an evidence folder.
    Analyze(AnalyzeArgs),
    /// Capture live from a network interface (a mirror or SPAN port) into an evidence folder,
    /// until SIGTERM or SIGINT; SIGHUP reloads the identity map and delegations.
    Capture(Box<CaptureArgs>),
    /// Check an evidence folder against its manifests: hashes, chain, inputs, signatures.
    Verify {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Require the manifests to be signed by this Ed25519 public key: 64 hex digits, or a
        /// file holding them (the `.pub` file of `otwitness keygen`).
        #[arg(long, value_name = "FILE|HEX")]
        public_key: Option<String>,
    },
    /// Write one self-contained HTML page of an evidence folder, for auditors.
    Report {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Where to write the page.
        #[arg(long, value_name = "FILE", default_value = "report.html")]
        out: PathBuf,
        /// Rows listed per table on the page (the rest are counted, not shown).
        #[arg(long, value_name = "N", default_value_t = 1000)]
        rows: usize,
    },
    /// Make a new Ed25519 key pair that signs manifests: FILE (secret, mode 0600) and
    /// FILE.pub (the public key, in hex). Never overwrites a key.
    Keygen {
        /// Where to write the signing key (default: ~/.config/otwitness/signing-key, which
        /// `analyze` then uses by default).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A live capture is a service: its status lines and rotations are the operator's view.
    let level = match cli.command {
        Command::Capture(_) => "info",
        _ => "warn",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .format_target(false)
        .init();
    let result = match cli.command {
        Command::Analyze(args) => run_analyze(args),
        Command::Capture(args) => run_capture(*args),
        Command::Verify { dir, public_key } => run_verify(&dir, public_key.as_deref()),
        Command::Keygen { out } => run_keygen(out),
        Command::Report { dir, out, rows } => run_report(&dir, &out, rows),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("otwitness: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Args)]
struct AnalyzeArgs {
    /// Identity map (TOML) naming the principals behind credentials and addresses.
    #[arg(long, value_name = "FILE")]
    identities: Option<PathBuf>,
    /// Delegations (TOML): scoped, time-limited grants.
    #[arg(long, value_name = "FILE")]
    delegations: Option<PathBuf>,
    /// Evidence folder; created if missing, added to if it holds evidence already.
    #[arg(long, value_name = "DIR", default_value = "evidence")]
    out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Key of the fingerprints of passwords seen on the wire (default:
    /// ~/.config/otwitness/site-key, created on first use with mode 0600).
    #[arg(long, value_name = "FILE")]
    site_key: Option<PathBuf>,
    /// Name of this sensor in the evidence (default: the host name).
    #[arg(long, value_name = "ID")]
    sensor_id: Option<String>,
    /// Ed25519 key that signs the manifest (made by `otwitness keygen`; default:
    /// ~/.config/otwitness/signing-key when it exists, else the manifest is not signed).
    #[arg(long, value_name = "FILE")]
    signing_key: Option<PathBuf>,
    /// Most flows held at once, over all workers.
    #[arg(long, value_name = "N", default_value_t = 1 << 20)]
    max_flows: usize,
    /// Do not show progress or the summary.
    #[arg(long, short)]
    quiet: bool,
    /// After the summary, print per-stage latency percentiles (decode, reassembly, dissect,
    /// attribute, write), from one packet in 64 and every evidence batch.
    #[arg(long)]
    stats: bool,
    /// Capture files, in any order (they are read in time order).
    #[arg(required = true, value_name = "CAPTURE")]
    captures: Vec<PathBuf>,
}

fn run_analyze(args: AnalyzeArgs) -> Result<ExitCode> {
    let identities = match &args.identities {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read identity map {}", path.display()))?;
            let map = IdentityMap::parse(&path.display().to_string(), &text)?;
            Some(Arc::new(map))
        }
        None => None,
    };
    let delegations = match &args.delegations {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read delegations {}", path.display()))?;
            let grants = Delegations::parse(&path.display().to_string(), &text)?;
            Some(Arc::new(grants))
        }
        None => None,
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    // Read before the analysis, so a bad key fails in a second rather than after the work.
    let signer = signing_key(args.signing_key.as_deref())?;
    let key_path = args.site_key.clone().unwrap_or_else(site_key::default_path);
    let engine = EngineConfig {
        max_flows: args.max_flows,
        site_key: Some(Arc::new(site_key::load_or_create(&key_path)?)),
        ..EngineConfig::default()
    };
    let options = AnalyzeOptions {
        inputs: args.captures.clone(),
        threads,
        engine,
        attributor: Attributor::new(identities),
        delegations,
    };

    let progress = Progress::default();
    let show = !args.quiet && std::io::stderr().is_terminal();
    let outcome = std::thread::scope(|scope| {
        if show {
            scope.spawn(|| draw_progress(&progress));
        }
        analyze(&options, &progress)
    });

    for input in &outcome.unreadable {
        eprintln!("otwitness: {}", input.error);
    }
    if !outcome.read_anything() {
        bail!("nothing could be read from the given captures; no evidence written");
    }

    let run = RunInfo {
        sensor: args.sensor_id.clone().unwrap_or_else(host_name),
        command_line: std::env::args().collect(),
        inputs: outcome.inputs.clone(),
        packets: outcome.frames.frames,
        bytes: outcome.frames.bytes,
        kernel_drops: None,
        counters: counters_map(&outcome),
    };
    let names: Vec<String> = run.inputs.iter().map(|i| i.name.clone()).collect();
    let signer = signer.map(|(key, path)| (Arc::new(key), path));
    let key = signer.as_ref().map(|(key, _)| key.clone());
    evidence::write_evidence_signed(&args.out, &run, &names, &outcome.evidence, key, threads)
        .with_context(|| format!("writing evidence to {}", args.out.display()))?;

    if !args.quiet {
        print!(
            "{}",
            summary::render(&outcome, &args.out.display().to_string())
        );
        match &signer {
            Some((key, path)) => println!(
                "Manifest signed with {} (public key {})",
                path.display(),
                key.public_key()
            ),
            None => println!("Manifest not signed (no signing key; see `otwitness keygen`)"),
        }
    }
    if args.stats {
        let mut latency = outcome.latency.clone();
        latency.merge(&evidence::take_batch_latency());
        print!("{}", latency_table::render(&latency));
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
struct CaptureArgs {
    /// Network interface to capture on (opened promiscuous; nothing is ever sent on it).
    #[arg(long, short, value_name = "IF")]
    interface: String,
    /// BPF filter (default: all TCP, since OT protocols are also recognised by content on
    /// other ports, plus UDP 44818, 2222 and 2221; tagged or not).
    #[arg(long, value_name = "BPF")]
    filter: Option<String>,
    /// Evidence folder; created if missing, added to if it holds evidence already.
    #[arg(long, value_name = "DIR", default_value = "evidence")]
    out: PathBuf,
    /// Close the evidence files and commit a manifest this often (e.g. 15m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    rotate: Duration,
    /// …or as soon as the open files weigh this much together (e.g. 256M, 1G).
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    rotate_size: u64,
    /// Identity map (TOML); reread on SIGHUP.
    #[arg(long, value_name = "FILE")]
    identities: Option<PathBuf>,
    /// Delegations (TOML); reread on SIGHUP.
    #[arg(long, value_name = "FILE")]
    delegations: Option<PathBuf>,
    /// Name of this sensor in the evidence (default: the host name).
    #[arg(long, value_name = "ID")]
    sensor_id: Option<String>,
    /// Key of the fingerprints of passwords seen on the wire (default:
    /// ~/.config/otwitness/site-key, created on first use with mode 0600).
    #[arg(long, value_name = "FILE")]
    site_key: Option<PathBuf>,
    /// Ed25519 key that signs every manifest (default: ~/.config/otwitness/signing-key when
    /// it exists).
    #[arg(long, value_name = "FILE")]
    signing_key: Option<PathBuf>,
    /// Analysis worker threads (default: one less than the cores, at least one).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Bytes kept of each packet.
    #[arg(long, value_name = "BYTES", default_value_t = 65535)]
    snaplen: i32,
    /// Kernel capture buffer (e.g. 64M); absorbs bursts while the workers catch up.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    buffer: u64,
    /// Most flows held at once, over all workers.
    #[arg(long, value_name = "N", default_value_t = 1 << 20)]
    max_flows: usize,
    /// When the disk is full, capture and analysis go on and the rows found are held in this
    /// much memory (e.g. 256M) until space returns; rows beyond it are counted as lost, in
    /// capture_stats and in an alert. Other write errors stop the capture.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    hold: u64,
    /// At each rotation, remove evidence files committed more than this many days ago; the
    /// manifest records each (name, hash, when, why), so `verify` still passes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    keep_days: Option<u32>,
    /// At each rotation, remove the oldest committed evidence files while the folder's
    /// evidence weighs more than this (e.g. 50G); the newest files always stay.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    keep_size: Option<u64>,
    /// Serve Prometheus metrics (GET /metrics) on this address: a port alone (9417) listens on
    /// loopback, or give the address (127.0.0.1:9417). Off by default.
    #[arg(long, value_name = "ADDR", value_parser = sensor::live::metrics::parse_addr)]
    metrics: Option<std::net::SocketAddr>,
    /// Once the interface is open and the keys are read, run as this user (for a sensor
    /// started as root): supplementary groups cleared, group and user set for good, no
    /// capability left. The evidence folder must be writable by that user.
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// The group to run as with --user (default: the user's own group).
    #[arg(long, value_name = "NAME", requires = "user")]
    group: Option<String>,
    /// Log a status line (packets/s, Mbit/s, drops, writes, flows, memory) this often.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    status_every: Duration,
}

fn run_capture(args: CaptureArgs) -> Result<ExitCode> {
    use sensor::live::{self, sink::SinkOptions, source::SourceOptions, LiveOptions, Policy};

    let run_as = match &args.user {
        Some(user) => Some(live::privileges::resolve(user, args.group.as_deref())?),
        None => None,
    };
    let policy = Policy::load(args.identities.as_deref(), args.delegations.as_deref())?;
    let signer = signing_key(args.signing_key.as_deref())?;
    let key_path = args.site_key.clone().unwrap_or_else(site_key::default_path);
    let workers = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1))
    });
    let workers = workers.max(1);
    let engine = EngineConfig {
        max_flows: (args.max_flows / workers).max(1),
        site_key: Some(Arc::new(site_key::load_or_create(&key_path)?)),
        ..EngineConfig::default()
    };
    let buffer_bytes = i32::try_from(args.buffer).context("--buffer must be below 2 GiB")?;

    let options = LiveOptions {
        source: SourceOptions {
            interface: args.interface.clone(),
            filter: args
                .filter
                .clone()
                .unwrap_or_else(|| live::source::DEFAULT_FILTER.to_owned()),
            snaplen: args.snaplen,
            buffer_bytes,
        },
        sink: SinkOptions {
            out: args.out.clone(),
            sensor: args.sensor_id.clone().unwrap_or_else(host_name),
            interface: args.interface.clone(),
            command_line: std::env::args().collect(),
            rotate_every: args.rotate,
            rotate_bytes: args.rotate_size,
            signing_key: signer.map(|(key, _)| Arc::new(key)),
            hold_bytes: args.hold,
            retention: live::retention::Limits {
                keep_days: args.keep_days,
                keep_bytes: args.keep_size,
            },
        },
        workers,
        engine,
        identities: args.identities.clone(),
        delegations: args.delegations.clone(),
        status_every: Some(args.status_every),
        run_as,
        metrics: args.metrics,
    };

    let outcome = live::run(options, policy)?;
    let t = &outcome.totals;
    println!(
        "Captured {} packets on {} ({} bytes); dropped: kernel {}, interface {}, queues {}; \
         {} writes; {} manifests committed in {}",
        t.packets,
        args.interface,
        t.bytes,
        t.kernel_drops,
        t.if_drops,
        t.queue_drops,
        t.writes,
        t.manifests,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The key given with `--signing-key`, else the default key when it exists, else none.
fn signing_key(given: Option<&Path>) -> Result<Option<(SigningKey, PathBuf)>> {
    let path = match given {
        Some(path) => path.to_path_buf(),
        None => {
            let path = signing::default_path();
            if !path.exists() {
                return Ok(None);
            }
            path
        }
    };
    let key = SigningKey::read(&path)?;
    Ok(Some((key, path)))
}

fn run_keygen(out: Option<PathBuf>) -> Result<ExitCode> {
    let path = out.unwrap_or_else(signing::default_path);
    let key = signing::generate(&path)?;

    println!(
        "signing key: {} (mode 0600; keep it secret)",
        path.display()
    );
    println!("public key file: {}", signing::public_path(&path).display());
    println!("public key: {}", key.public_key());
    Ok(ExitCode::SUCCESS)
}

fn counters_map(
    outcome: &sensor::pipeline::AnalyzeOutcome,
) -> std::collections::BTreeMap<String, u64> {
    let mut map: std::collections::BTreeMap<String, u64> = outcome
        .counters
        .entries()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let f = &outcome.frames;
    map.insert("frames_non_ip".into(), f.non_ip);
    map.insert("frames_undecodable".into(), f.undecodable);
    map.insert("frames_unsupported_link".into(), f.unsupported_link);
    if let Some(peak) = outcome.peak_rss_bytes {
        map.insert("peak_rss_bytes".into(), peak);
    }
    map
}

fn run_verify(dir: &Path, public_key: Option<&str>) -> Result<ExitCode> {
    let pinned = public_key.map(PublicKey::from_arg).transpose()?;
    let report = evidence::verify_with_key(dir, pinned.as_ref())?;
    print!("{report}");
    if report.is_ok() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

fn run_report(dir: &Path, out: &Path, rows: usize) -> Result<ExitCode> {
    let mut options = sensor::report::Options::default();
    options.limits.rows = rows.max(1);
    let report = sensor::report::write(dir, out, &options)?;

    let verdict = match &report.scope.verify {
        Ok(v) if v.is_ok() => "evidence verified".to_owned(),
        Ok(v) => format!("verify FAILED with {} problems", v.problems.len()),
        Err(error) => format!("verify could not run: {error}"),
    };
    println!(
        "report: {} ({} writes, {} needing attention, {} alerts; {})",
        out.display(),
        report.facts.writes.total,
        report.facts.writes.flagged_total,
        report.facts.alerts.total,
        verdict
    );
    Ok(ExitCode::SUCCESS)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-sensor".to_owned())
}

fn draw_progress(progress: &Progress) {
    let bar = indicatif::ProgressBar::new(progress.total.load(Ordering::Relaxed));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} reading captures {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    while !progress.done.load(Ordering::Relaxed) {
        bar.set_length(progress.total.load(Ordering::Relaxed));
        bar.set_position(progress.scanned.load(Ordering::Relaxed));
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish_and_clear();
}
