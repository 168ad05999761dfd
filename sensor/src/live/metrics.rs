//! Prometheus metrics of a live capture: `--metrics ADDR` serves `GET /metrics` in the text
//! exposition format (version 0.0.4) from one small HTTP/1.1 server thread, using only std.
//!
//! The numbers are the running totals the capture's threads already keep ([`Shared`]), read
//! when a scrape arrives; counters end in `_total`, and every sample carries the interface as a
//! label. Any other path answers 404, any other method 405. The server answers one connection
//! at a time and closes it after the answer; each connection gets [`CLIENT_TIME`] in all to
//! send its request and take the answer, so a slow or silent client delays other scrapers by at
//! most that, and never the capture, which does not wait for this thread.
//!
//! Not done here: TLS, authentication, keep-alive, and anything but `/metrics`: bind it to
//! loopback (the default for a bare port) or a management network only.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::stats::{rss_bytes, Shared, Snapshot};

/// Time a client has to send its request and read the answer.
pub const CLIENT_TIME: Duration = Duration::from_secs(2);

/// Longest request head read; a longer one is answered 431.
const MAX_REQUEST: usize = 8 * 1024;

/// How often the idle server looks at its stop flag.
const POLL: Duration = Duration::from_millis(50);

/// `9417` (loopback), `127.0.0.1:9417`, `0.0.0.0:9417` or `[::1]:9417`.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    text.parse::<SocketAddr>().map_err(|_| {
        format!(
            "{text:?}: expected a port (9417, on loopback) or an address and port such as \
             127.0.0.1:9417"
        )
    })
}

/// The running server; stops when [`MetricsServer::stop`] is called.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl MetricsServer {
    /// Binds `addr` and starts the server thread.
    ///
    /// # Errors
    ///
    /// The address cannot be bound (in use, not on this host, a port below 1024 without root).
    pub fn start(addr: SocketAddr, shared: Arc<Shared>, interface: String) -> Result<Self> {
        let listener = TcpListener::bind(addr)
            .with_context(|| format!("--metrics: cannot listen on {addr}"))?;
        listener
            .set_nonblocking(true)
            .with_context(|| format!("--metrics: {addr}"))?;
        let addr = listener.local_addr().unwrap_or(addr);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("otwitness-metrics".to_owned())
            .spawn(move || serve(&listener, &flag, &shared, &interface))
            .context("starting the metrics thread")?;
        log::info!("metrics at http://{addr}/metrics");
        Ok(MetricsServer { addr, stop, handle })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and waits for its thread (at most [`CLIENT_TIME`] plus [`POLL`]).
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        if self.handle.join().is_err() {
            log::error!("the metrics thread panicked");
        }
    }
}

fn serve(listener: &TcpListener, stop: &AtomicBool, shared: &Shared, interface: &str) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, peer)) => {
                if let Err(error) = answer(stream, shared, interface) {
                    log::debug!("metrics: client {peer}: {error}");
                }
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(error) => {
                log::warn!("metrics: accepting a connection failed: {error}");
                std::thread::sleep(POLL);
            }
        }
    }
}

/// Reads one request head and writes one answer, within [`CLIENT_TIME`].
fn answer(mut stream: TcpStream, shared: &Shared, interface: &str) -> io::Result<()> {
    let deadline = Instant::now() + CLIENT_TIME;
    stream.set_nonblocking(false)?;
    stream.set_write_timeout(Some(CLIENT_TIME))?;

    let mut head = Vec::with_capacity(512);
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request not sent in time",
            ));
        }
        if head.len() > MAX_REQUEST {
            return respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "too long\n",
            );
        }
        stream.set_read_timeout(Some(left))?;
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buffer[..read]);
    }

    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") => {
            let body = render(
                interface,
                &shared.snapshot(),
                shared_alerts(shared),
                rss_bytes(),
            );
            respond(&mut stream, "200 OK", &body)
        }
        ("GET", _) => respond(&mut stream, "404 Not Found", "only /metrics is served\n"),
        _ => respond(
            &mut stream,
            "405 Method Not Allowed",
            "only GET is served\n",
        ),
    }
}

fn shared_alerts(shared: &Shared) -> u64 {
    shared.alerts.load(Ordering::Relaxed)
}

fn respond(stream: &mut TcpStream, status: &str, body: &str) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

/// The exposition text of one snapshot.
pub fn render(interface: &str, now: &Snapshot, alerts: u64, rss: Option<u64>) -> String {
    let label = format!("{{interface=\"{}\"}}", escape(interface));
    let mut text = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        text.push_str(&format!(
            "# HELP otwitness_{name} {help}\n# TYPE otwitness_{name} {kind}\n\
             otwitness_{name}{label} {value}\n"
        ));
    };

    let counter = "counter";
    let gauge = "gauge";
    metric(
        "packets_total",
        counter,
        "Packets read from the interface (after the BPF filter).",
        now.packets,
    );
    metric(
        "bytes_total",
        counter,
        "Wire bytes of the packets read.",
        now.bytes,
    );
    metric(
        "kernel_drops_total",
        counter,
        "Packets the kernel dropped for want of buffer space.",
        now.kernel_drops,
    );
    metric(
        "interface_drops_total",
        counter,
        "Packets the interface or its driver dropped.",
        now.if_drops,
    );
    metric(
        "queue_drops_total",
        counter,
        "Packets dropped because a worker's queue was full.",
        now.queue_drops,
    );
    metric(
        "writes_total",
        counter,
        "Rows of the writes table found (written, or held while paused).",
        now.writes,
    );
    metric(
        "alerts_total",
        counter,
        "Rows of the alerts table found (written, or held while paused).",
        alerts,
    );
    metric(
        "rotations_total",
        counter,
        "Manifests committed (rotations and resumptions).",
        now.manifests,
    );
    metric(
        "evidence_rows_lost_total",
        counter,
        "Rows lost because evidence writing was paused and the hold was full.",
        now.rows_lost,
    );
    metric("flows", gauge, "Flows held by the workers.", now.flows);
    metric(
        "resident_memory_bytes",
        gauge,
        "Resident memory of the sensor process.",
        rss.unwrap_or(0),
    );
    metric(
        "evidence_paused",
        gauge,
        "1 while evidence writing is paused for lack of disk space.",
        u64::from(now.evidence_paused),
    );
    metric(
        "evidence_held_bytes",
        gauge,
        "Estimated bytes of rows held in memory during a pause.",
        now.held_bytes,
    );
    text
}

/// A label value as the exposition format wants it: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            parse_addr("9417"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 9417)))
        );
        assert_eq!(
            parse_addr("0.0.0.0:80"),
            Ok(SocketAddr::from(([0, 0, 0, 0], 80)))
        );
        assert!(parse_addr("[::1]:9417").is_ok());
        assert!(parse_addr("localhost").is_err());
        assert!(parse_addr("99999").is_err());
    }

    #[test]
    fn every_sample_has_help_and_type() {
        let now = Snapshot {
            packets: 12,
            queue_drops: 3,
            evidence_paused: true,
            ..Snapshot::default()
        };

        let text = render("eth\"1", &now, 4, Some(2048));

        assert!(text.contains("otwitness_packets_total{interface=\"eth\\\"1\"} 12\n"));
        assert!(text.contains("otwitness_queue_drops_total{interface=\"eth\\\"1\"} 3\n"));
        assert!(text.contains("otwitness_alerts_total{interface=\"eth\\\"1\"} 4\n"));
        assert!(text.contains("otwitness_evidence_paused{interface=\"eth\\\"1\"} 1\n"));
        assert!(text.contains("# TYPE otwitness_flows gauge\n"));
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(samples.len(), 13);
        for sample in samples {
            let name = sample.split('{').next().unwrap_or("");
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
            assert_eq!(
                name.ends_with("_total"),
                text.contains(&format!("# TYPE {name} counter"))
            );
        }
    }
}
