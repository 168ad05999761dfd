//! The per-worker analysis engine: a bounded flow table, reassembly, recognition and protocol
//! sessions for the flows one worker owns.
//!
//! The sensor decodes each frame, picks the worker by [`shard_of`] (a direction-free hash, so a
//! flow always lands on the same worker and workers share nothing), and hands the packet to
//! that worker's [`Engine::process`]. Time is the capture's: idle timeouts and sweeps follow
//! packet timestamps, never the wall clock, so a replay gives the same evidence as the live run.
//!
//! About one packet in [`crate::latency::SAMPLE_EVERY`] is timed by stage (reassembly,
//! dissect, attribute) into the engine's [`Latency`]; see [`crate::latency`].
//!
//! Bounds: at most `max_flows` flows per engine (when full, the least recently active eighth is
//! closed as `evicted`, counted and alerted once); per-direction reassembly buffers per
//! [`Limits`]; per-session pending requests per protocol. When a bound is hit the evidence
//! depends on which flows shared a worker, so it may differ between thread counts; without a
//! bound being hit it does not, provided the engines' idle sweeps follow one shared clock
//! ([`EngineConfig::shared_sweeps`], as offline analysis does). Engines that each sweep by their
//! own packets (live capture) may end an idle flow at a different packet than one engine would.

use std::net::IpAddr;
use std::sync::Arc;

use dissectors::link::{Packet, TcpSegment, Transport};
use rustc_hash::FxHashMap;

use crate::attribution::Attributor;
use crate::evidence::{
    AlertKind, AlertRow, Endpoints, Evidence, FrameRef, Protocol, SessionEnd, SessionId, Severity,
};
use crate::flow::{src_is_server_by_port, Direction, FlowKey, SERVER_PORTS};
use crate::latency::{elapsed_ns, Latency, PacketClock, Sampler, Stage};
use crate::reassembly::{Chunk, Limits, Stream};
use crate::recognize::{new_session, recognize, session_for, Recognized};
use crate::secrets::SiteKey;
use crate::session::{ProtocolSession, SessionCx, SessionMeta, SessionStats};
use crate::sweep::SweepClock;

/// Tunable bounds of one engine.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub max_flows: usize,
    /// A flow with no packet for this long (capture time) is closed.
    pub idle_timeout_us: i64,
    pub limits: Limits,
    /// Key of the fingerprints of secrets (passwords) seen on the wire.
    pub site_key: Option<Arc<SiteKey>>,
    /// Idle sweeps run only when the caller calls [`Engine::sweep`], from one [`SweepClock`]
    /// over the packets of every engine; otherwise the engine sweeps by its own packets' clock.
    pub shared_sweeps: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_flows: 1 << 20,
            idle_timeout_us: 600 * 1_000_000,
            limits: Limits::default(),
            site_key: None,
            shared_sweeps: false,
        }
    }
}

/// What an engine counted, beyond the rows it produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
    pub tcp_packets: u64,
    pub udp_packets: u64,
    pub ip_fragments: u64,
    pub other_ip_packets: u64,
    pub flows: u64,
    pub flows_evicted: u64,
    pub flows_idle_closed: u64,
    pub unknown_flows: u64,
    pub sessions: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub retransmitted_bytes: u64,
    pub malformed_pdus: u64,
    pub timestamps_backwards: u64,
    pub peak_flows: u64,
}

impl Counters {
    /// Adds another engine's counts (peaks are summed: workers hold their flows at once).
    pub fn add(&mut self, o: &Counters) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.tcp_packets += o.tcp_packets;
        self.udp_packets += o.udp_packets;
        self.ip_fragments += o.ip_fragments;
        self.other_ip_packets += o.other_ip_packets;
        self.flows += o.flows;
        self.flows_evicted += o.flows_evicted;
        self.flows_idle_closed += o.flows_idle_closed;
        self.unknown_flows += o.unknown_flows;
        self.sessions += o.sessions;
        self.gaps += o.gaps;
        self.gap_bytes += o.gap_bytes;
        self.retransmitted_bytes += o.retransmitted_bytes;
        self.malformed_pdus += o.malformed_pdus;
        self.timestamps_backwards += o.timestamps_backwards;
        self.peak_flows += o.peak_flows;
    }

    /// Name and value of every counter, for the manifest and the summary.
    pub fn entries(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("packets", self.packets),
            ("bytes", self.bytes),
            ("tcp_packets", self.tcp_packets),
            ("udp_packets", self.udp_packets),
            ("ip_fragments", self.ip_fragments),
            ("other_ip_packets", self.other_ip_packets),
            ("flows", self.flows),
            ("flows_evicted", self.flows_evicted),
            ("flows_idle_closed", self.flows_idle_closed),
            ("unknown_flows", self.unknown_flows),
            ("sessions", self.sessions),
            ("reassembly_gaps", self.gaps),
            ("reassembly_gap_bytes", self.gap_bytes),
            ("retransmitted_bytes", self.retransmitted_bytes),
            ("malformed_pdus", self.malformed_pdus),
            ("timestamps_backwards", self.timestamps_backwards),
            ("peak_flows", self.peak_flows),
        ]
    }
}

/// The worker (of `shards`) that owns the flow of `packet`; packets of no flow go to worker 0.
pub fn shard_of(packet: &Packet<'_>, shards: usize) -> usize {
    match &packet.transport {
        Transport::Tcp(seg) => {
            let src = (packet.src_ip, seg.src_port);
            let dst = (packet.dst_ip, seg.dst_port);
            FlowKey::new(src, dst, packet.vlan, 6).0.shard(shards)
        }
        Transport::Udp {
            src_port, dst_port, ..
        } => {
            let src = (packet.src_ip, *src_port);
            let dst = (packet.dst_ip, *dst_port);
            FlowKey::new(src, dst, packet.vlan, 17).0.shard(shards)
        }
        Transport::Fragment | Transport::Other(_) => 0,
    }
}

/// The application layer of a flow.
#[derive(Debug)]
enum App {
    /// Payload seen so far did not say which protocol this is; the streams hold it back so
    /// the parser chosen later reads it from the start.
    Undecided,
    /// Not a protocol OT Witness reads; bytes are counted, not parsed.
    Unknown,
    /// A recognised protocol, read by its session.
    Session(Box<dyn ProtocolSession>),
    /// The session ended with FIN or RST and its row is written; the entry stays a while so
    /// late retransmissions and the last ACKs do not start a new, empty session.
    Closed,
}

/// How long a closed flow absorbs stray packets before it is forgotten.
const CLOSED_LINGER_US: i64 = 60 * 1_000_000;

#[derive(Debug)]
struct Flow {
    /// Whether the client is the key's `lower` endpoint.
    client_is_lower: bool,
    meta: SessionMeta,
    streams: [Stream; 2],
    app: App,
    stats: SessionStats,
    last: FrameRef,
    fin: [bool; 2],
    /// Client and server were told apart by port alone (no handshake seen, no known port),
    /// so the first recognised payload may still swap them.
    roles_guessed: bool,
}

/// One worker's share of the analysis.
pub struct Engine {
    config: EngineConfig,
    attributor: Attributor,
    source_names: Arc<[String]>,
    /// Flows are boxed: a table entry is then a key and a pointer, so the slots hashbrown keeps
    /// free (up to half the table after it grows) cost 56 bytes each instead of a whole flow.
    flows: FxHashMap<FlowKey, Box<Flow>>,
    evidence: Evidence,
    counters: Counters,
    clock: SweepClock,
    table_full_reported: bool,
    latency: Latency,
    sampler: Sampler,
}

/// UDP ports whose datagrams are analysed (EtherNet/IP ListIdentity and implicit I/O); other
/// UDP is only counted.
const UDP_PORTS: &[u16] = &[44818, 2222];

impl Engine {
    pub fn new(config: EngineConfig, attributor: Attributor, source_names: Arc<[String]>) -> Self {
        Engine {
            config,
            attributor,
            source_names,
            flows: FxHashMap::default(),
            evidence: Evidence::default(),
            counters: Counters::default(),
            clock: SweepClock::default(),
            table_full_reported: false,
            latency: Latency::default(),
            sampler: Sampler::default(),
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Per-stage latency samples so far; the caller adds its own stages (decode, write).
    pub fn latency(&self) -> &Latency {
        &self.latency
    }

    pub fn latency_mut(&mut self) -> &mut Latency {
        &mut self.latency
    }

    /// Records a sampled packet's stages: the engine's time less the parser's is reassembly
    /// (flow lookup, reassembly, closing flows the packet ends), the parser's time less
    /// attribution is dissect.
    fn record_packet(&mut self, start: std::time::Instant, clock: &PacketClock) {
        let total = elapsed_ns(start);
        let latency = &mut self.latency;
        latency.record(Stage::Reassembly, total.saturating_sub(clock.dissect_ns));
        if clock.dissected {
            latency.record(
                Stage::Dissect,
                clock.dissect_ns.saturating_sub(clock.attribute_ns),
            );
        }
        if clock.attributed {
            latency.record(Stage::Attribute, clock.attribute_ns);
        }
    }

    /// Replaces the identity map writes are attributed with from now on (a live capture's
    /// reload); rows already produced keep the attribution they were given.
    pub fn set_attributor(&mut self, attributor: Attributor) {
        self.attributor = attributor;
    }

    /// Flows held right now.
    pub fn open_flows(&self) -> usize {
        self.flows.len()
    }

    /// Rows produced so far; the engine keeps going with empty tables.
    pub fn take_evidence(&mut self) -> Evidence {
        std::mem::take(&mut self.evidence)
    }

    /// Analyses one decoded frame.
    pub fn process(&mut self, at: FrameRef, packet: &Packet<'_>, wire_len: u64) {
        self.counters.packets += 1;
        self.counters.bytes += wire_len;
        let tick = self.clock.tick(at.ts_us);
        if tick.backwards {
            self.counters.timestamps_backwards += 1;
        }
        if tick.sweep_due && !self.config.shared_sweeps {
            self.sweep_idle();
        }

        let sampled = self.sampler.sample();
        let mut clock = PacketClock::default();
        match &packet.transport {
            Transport::Tcp(seg) => {
                self.counters.tcp_packets += 1;
                if sampled {
                    let start = std::time::Instant::now();
                    self.tcp(at, packet, seg, Some(&mut clock));
                    self.record_packet(start, &clock);
                } else {
                    self.tcp(at, packet, seg, None);
                }
            }
            Transport::Udp {
                src_port,
                dst_port,
                payload,
            } => {
                self.counters.udp_packets += 1;
                if UDP_PORTS.contains(src_port) || UDP_PORTS.contains(dst_port) {
                    let ports = (*src_port, *dst_port);
                    if sampled {
                        let start = std::time::Instant::now();
                        self.udp(at, packet, ports, payload, Some(&mut clock));
                        self.record_packet(start, &clock);
                    } else {
                        self.udp(at, packet, ports, payload, None);
                    }
                }
            }
            Transport::Fragment => self.counters.ip_fragments += 1,
            Transport::Other(_) => self.counters.other_ip_packets += 1,
        }
    }

    /// Closes every flow as `capture_end` (end of the inputs or of the live capture).
    /// The table is emptied first and freed before the sessions are closed, so its memory is
    /// not held while the closing flows' rows are being added.
    pub fn finish(&mut self) {
        let flows: Vec<Box<Flow>> = std::mem::take(&mut self.flows).into_values().collect();
        self.evidence.sessions.reserve(flows.len());
        for flow in flows {
            self.close_flow(flow, SessionEnd::CaptureEnd);
        }
    }

    fn tcp(
        &mut self,
        at: FrameRef,
        packet: &Packet<'_>,
        seg: &TcpSegment<'_>,
        clock: Option<&mut PacketClock>,
    ) {
        let src = (packet.src_ip, seg.src_port);
        let dst = (packet.dst_ip, seg.dst_port);
        let (key, src_is_lower) = FlowKey::new(src, dst, packet.vlan, 6);

        let reused = seg.flags.syn && !seg.flags.ack;
        if reused && matches!(self.flows.get(&key), Some(f) if matches!(f.app, App::Closed)) {
            self.flows.remove(&key);
        }
        if !self.flows.contains_key(&key) {
            if seg.payload.is_empty() && !seg.flags.syn {
                return; // a bare ACK or FIN of a conversation we never saw carry nothing
            }
            if seg.flags.rst {
                return;
            }
            if self.flows.len() >= self.config.max_flows {
                self.evict(at);
            }
            let (src_is_client, roles_guessed) = match (seg.flags.syn, seg.flags.ack) {
                (true, false) => (true, false),
                (true, true) => (false, false),
                _ => {
                    let known = |p| SERVER_PORTS.contains(&p);
                    let guessed = !known(seg.src_port) && !known(seg.dst_port);
                    (!src_is_server_by_port(seg.src_port, seg.dst_port), guessed)
                }
            };
            let mut flow = self.new_flow(at, packet, seg, src_is_client, src_is_lower);
            flow.roles_guessed = roles_guessed;
            self.flows.insert(key, Box::new(flow));
            self.counters.flows += 1;
            self.counters.peak_flows = self.counters.peak_flows.max(self.flows.len() as u64);
        }

        let end = {
            let flow = self.flows.get_mut(&key).expect("flow inserted above");
            if matches!(flow.app, App::Closed) {
                flow.last = at;
                return;
            }
            let dir = if src_is_lower == flow.client_is_lower {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            flow.last = at;
            let e = &mut flow.meta.endpoints;
            match dir {
                Direction::ToServer => e.client_mac = e.client_mac.or(packet.src_mac),
                Direction::ToClient => e.server_mac = e.server_mac.or(packet.src_mac),
            }
            let out = Out {
                evidence: &mut self.evidence,
                attributor: &self.attributor,
                counters: &mut self.counters,
                clock,
            };
            segment(flow, dir, at, seg, &self.config, out)
        };
        if let Some(end) = end {
            self.close(&key, end);
        }
    }

    /// A datagram of a UDP conversation on an EtherNet/IP port: ListIdentity over 44818,
    /// implicit I/O over 2222. Each datagram goes whole to the flow's session; nothing is
    /// reassembled, and the flow ends when it goes idle or the capture ends.
    fn udp(
        &mut self,
        at: FrameRef,
        packet: &Packet<'_>,
        ports: (u16, u16),
        payload: &[u8],
        clock: Option<&mut PacketClock>,
    ) {
        let src = (packet.src_ip, ports.0);
        let dst = (packet.dst_ip, ports.1);
        let (key, src_is_lower) = FlowKey::new(src, dst, packet.vlan, 17);
        if !self.flows.contains_key(&key) {
            if payload.is_empty() {
                return;
            }
            if self.flows.len() >= self.config.max_flows {
                self.evict(at);
            }
            let src_is_client = !src_is_server_by_port(ports.0, ports.1);
            let (client, server, client_mac, server_mac) = if src_is_client {
                (src, dst, packet.src_mac, packet.dst_mac)
            } else {
                (dst, src, packet.dst_mac, packet.src_mac)
            };
            let endpoints = Endpoints {
                client_ip: client.0,
                client_port: client.1,
                client_mac,
                server_ip: server.0,
                server_port: server.1,
                server_mac,
                vlan: packet.vlan,
            };
            let source = self
                .source_names
                .get(at.source as usize)
                .map_or("", String::as_str);
            let flow = Flow {
                client_is_lower: src_is_client == src_is_lower,
                meta: SessionMeta {
                    id: SessionId::derive(source, at, &endpoints),
                    protocol: Protocol::Enip,
                    endpoints,
                    first: at,
                },
                streams: [Stream::default(), Stream::default()],
                app: App::Session(new_session(Protocol::Enip)),
                stats: SessionStats::default(),
                last: at,
                fin: [false; 2],
                roles_guessed: false,
            };
            self.flows.insert(key, Box::new(flow));
            self.counters.flows += 1;
            self.counters.peak_flows = self.counters.peak_flows.max(self.flows.len() as u64);
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        let dir = if src_is_lower == flow.client_is_lower {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        flow.last = at;
        let Flow {
            meta, app, stats, ..
        } = &mut **flow;
        let e = &mut meta.endpoints;
        match dir {
            Direction::ToServer => e.client_mac = e.client_mac.or(packet.src_mac),
            Direction::ToClient => e.server_mac = e.server_mac.or(packet.src_mac),
        }
        let mut cx = SessionCx {
            at,
            meta,
            stats,
            out: &mut self.evidence,
            attributor: &self.attributor,
            site_key: self.config.site_key.as_deref(),
            clock,
        };
        if let App::Session(session) = app {
            // A datagram is whole: what the session does not use is dropped with it.
            dissect(session, dir, Chunk::Data(payload), &mut cx);
        }
    }

    fn new_flow(
        &self,
        at: FrameRef,
        packet: &Packet<'_>,
        seg: &TcpSegment<'_>,
        src_is_client: bool,
        src_is_lower: bool,
    ) -> Flow {
        let (client, server, client_mac, server_mac) = if src_is_client {
            let c = (packet.src_ip, seg.src_port);
            let s = (packet.dst_ip, seg.dst_port);
            (c, s, packet.src_mac, packet.dst_mac)
        } else {
            let c = (packet.dst_ip, seg.dst_port);
            let s = (packet.src_ip, seg.src_port);
            (c, s, packet.dst_mac, packet.src_mac)
        };
        let endpoints = Endpoints {
            client_ip: client.0,
            client_port: client.1,
            client_mac,
            server_ip: server.0,
            server_port: server.1,
            server_mac,
            vlan: packet.vlan,
        };
        let source = self
            .source_names
            .get(at.source as usize)
            .map_or("", String::as_str);
        Flow {
            client_is_lower: src_is_client == src_is_lower,
            meta: SessionMeta {
                id: SessionId::derive(source, at, &endpoints),
                protocol: Protocol::Modbus,
                endpoints,
                first: at,
            },
            streams: [Stream::default(), Stream::default()],
            app: App::Undecided,
            stats: SessionStats::default(),
            last: at,
            fin: [false; 2],
            roles_guessed: false,
        }
    }

    /// Runs an idle sweep as of capture time `now_us`, for an engine whose sweeps the caller
    /// schedules ([`EngineConfig::shared_sweeps`]); the call belongs before the packet that made
    /// the shared clock due.
    pub fn sweep(&mut self, now_us: i64) {
        self.clock.catch_up(now_us);
        self.sweep_idle();
    }

    /// Closes flows idle for longer than the timeout.
    fn sweep_idle(&mut self) {
        let now_us = self.clock.now_us();
        let deadline = now_us.saturating_sub(self.config.idle_timeout_us);
        let linger = now_us.saturating_sub(CLOSED_LINGER_US);
        let mut idle = Vec::new();
        self.flows.retain(|key, f| match f.app {
            App::Closed => f.last.ts_us >= linger,
            _ => {
                if f.last.ts_us < deadline {
                    idle.push(*key);
                }
                true
            }
        });
        for key in idle {
            self.counters.flows_idle_closed += 1;
            self.close(&key, SessionEnd::Idle);
        }
    }

    /// Makes room in a full table by closing the least recently active eighth of it.
    fn evict(&mut self, at: FrameRef) {
        let mut by_age: Vec<(FrameRef, FlowKey)> =
            self.flows.iter().map(|(k, f)| (f.last, *k)).collect();
        let count = (by_age.len() / 8).max(1);
        by_age.select_nth_unstable(count - 1);
        for (_, key) in by_age.into_iter().take(count) {
            self.counters.flows_evicted += 1;
            self.close(&key, SessionEnd::Evicted);
        }
        if !self.table_full_reported {
            self.table_full_reported = true;
            self.evidence.alerts.push(AlertRow {
                at,
                kind: AlertKind::FlowTableFull,
                severity: Severity::High,
                session_id: None,
                protocol: None,
                client_ip: None,
                server_ip: None,
                detail: format!(
                    "flow table full ({} flows on this worker): the least recently active \
                     flows are being closed early; their later packets start new sessions",
                    self.config.max_flows
                ),
            });
        }
    }

    fn close(&mut self, key: &FlowKey, end: SessionEnd) {
        let Some(flow) = self.flows.remove(key) else {
            return;
        };
        if let Some(closed) = self.close_flow(flow, end) {
            self.flows.insert(*key, closed);
        }
    }

    /// Ends a flow taken out of the table: flushes its streams and session and emits its rows.
    /// A flow ended by FIN or RST comes back as a [`App::Closed`] entry to put back in the
    /// table, so that its late packets do not start a new session.
    fn close_flow(&mut self, mut flow: Box<Flow>, end: SessionEnd) -> Option<Box<Flow>> {
        if matches!(flow.app, App::Closed) {
            return None;
        }
        let at = flow.last;
        let limits = self.config.limits;
        let Flow {
            meta,
            streams,
            app,
            stats,
            last,
            ..
        } = &mut *flow;
        let mut cx = SessionCx {
            at,
            meta,
            stats,
            out: &mut self.evidence,
            attributor: &self.attributor,
            site_key: self.config.site_key.as_deref(),
            clock: None,
        };
        if let App::Session(session) = app {
            for dir in [Direction::ToServer, Direction::ToClient] {
                streams[dir.index()].finish(&limits, &mut |c| session.on_chunk(dir, c, &mut cx));
            }
            session.on_end(end, &mut cx);
            let flow_desc = describe(&cx.meta.endpoints);
            let stream_stats = [streams[0].stats(), streams[1].stats()];
            cx.close(end, *last, [&stream_stats[0], &stream_stats[1]], &flow_desc);
            self.counters.sessions += 1;
            self.counters.malformed_pdus += cx.stats.malformed;
        }
        for s in streams.iter().map(Stream::stats) {
            self.counters.gaps += s.gaps;
            self.counters.gap_bytes += s.gap_bytes;
            self.counters.retransmitted_bytes += s.retransmitted_bytes;
        }
        if matches!(end, SessionEnd::Fin | SessionEnd::Reset) {
            flow.app = App::Closed;
            flow.streams = [Stream::default(), Stream::default()];
            flow.stats = SessionStats::default();
            return Some(flow);
        }
        None
    }
}

/// Feeds one segment of a flow whose protocol is not known yet to its stream, holding the
/// bytes back, and decides from what the stream has so far. When the flow turns out to be
/// a known protocol, the held bytes of both directions are replayed into a new session (client
/// first);
/// returns the segment's direction, which changes when the roles were guessed wrong.
fn recognise(
    flow: &mut Flow,
    mut dir: Direction,
    seg: &TcpSegment<'_>,
    limits: &Limits,
    counters: &mut Counters,
) -> Direction {
    let port = flow.meta.endpoints.server_port;
    let stream = &mut flow.streams[dir.index()];
    let start_known = stream.start_known();
    let mut verdict = Recognized::NotYet;
    stream.segment(seg.seq, seg.payload, limits, &mut |chunk| {
        if let Chunk::Data(data) = chunk {
            verdict = recognize(port, data, start_known);
        }
        0
    });

    match verdict {
        Recognized::NotYet => dir,
        Recognized::Never => {
            counters.unknown_flows += 1;
            flow.app = App::Unknown;
            for stream in &mut flow.streams {
                stream.discard_pending();
            }
            dir
        }
        Recognized::Protocol(hit) => {
            if flow.roles_guessed && hit.sender_is_client == Some(dir == Direction::ToClient) {
                swap_roles(flow);
                dir = dir.reverse();
            }
            let mut session = session_for(&hit);
            for d in [Direction::ToServer, Direction::ToClient] {
                if !flow.streams[d.index()].start_known() {
                    session.resync(d);
                }
            }
            flow.meta.protocol = hit.protocol;
            flow.app = App::Session(session);
            dir
        }
    }
}

/// Exchanges client and server of a flow whose roles were guessed wrong.
fn swap_roles(flow: &mut Flow) {
    let e = flow.meta.endpoints;
    flow.meta.endpoints = Endpoints {
        client_ip: e.server_ip,
        client_port: e.server_port,
        client_mac: e.server_mac,
        server_ip: e.client_ip,
        server_port: e.client_port,
        server_mac: e.client_mac,
        vlan: e.vlan,
    };
    flow.client_is_lower = !flow.client_is_lower;
    flow.streams.swap(0, 1);
    flow.fin.swap(0, 1);
    flow.roles_guessed = false;
}

/// `10.0.0.1:40000 → 10.0.0.2:502`
fn describe(e: &Endpoints) -> String {
    fn ep(ip: IpAddr, port: u16) -> String {
        match ip {
            IpAddr::V4(v4) => format!("{v4}:{port}"),
            IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        }
    }
    format!(
        "{} → {}",
        ep(e.client_ip, e.client_port),
        ep(e.server_ip, e.server_port)
    )
}

/// Where a segment's results go: rows, counts and, for a sampled packet, its stage times.
struct Out<'a> {
    evidence: &'a mut Evidence,
    attributor: &'a Attributor,
    counters: &'a mut Counters,
    clock: Option<&'a mut PacketClock>,
}

/// Hands a chunk to the session, timing it when the packet is sampled.
fn dissect(
    session: &mut Box<dyn ProtocolSession>,
    dir: Direction,
    chunk: Chunk<'_>,
    cx: &mut SessionCx<'_>,
) -> usize {
    if cx.clock.is_none() {
        return session.on_chunk(dir, chunk, cx);
    }
    let start = std::time::Instant::now();
    let used = session.on_chunk(dir, chunk, cx);
    if let Some(clock) = cx.clock.as_deref_mut() {
        clock.dissect_ns += elapsed_ns(start);
        clock.dissected = true;
    }
    used
}

/// Runs one segment through the flow's reassembly and parser; returns how the flow ends, if
/// this segment ends it.
fn segment(
    flow: &mut Flow,
    mut dir: Direction,
    at: FrameRef,
    seg: &TcpSegment<'_>,
    config: &EngineConfig,
    out: Out<'_>,
) -> Option<SessionEnd> {
    let limits = &config.limits;
    if seg.flags.syn {
        flow.streams[dir.index()].syn(seg.seq);
    }

    let mut recognised_now = false;
    if !seg.payload.is_empty() && matches!(flow.app, App::Undecided) {
        dir = recognise(flow, dir, seg, limits, out.counters);
        recognised_now = !matches!(flow.app, App::Undecided | App::Unknown);
    }

    let Flow {
        meta,
        streams,
        app,
        stats,
        ..
    } = flow;
    let mut cx = SessionCx {
        at,
        meta,
        stats,
        out: out.evidence,
        attributor: out.attributor,
        site_key: config.site_key.as_deref(),
        clock: out.clock,
    };
    match app {
        App::Session(session) if recognised_now => {
            // This segment is already in its stream, held back with what came before.
            for d in [Direction::ToServer, Direction::ToClient] {
                streams[d.index()].replay(limits, &mut |c| dissect(session, d, c, &mut cx));
            }
        }
        App::Session(session) => {
            let peer = dir.reverse();
            if seg.flags.ack {
                streams[peer.index()]
                    .peer_ack(seg.ack, limits, &mut |c| dissect(session, peer, c, &mut cx));
            }
            streams[dir.index()].segment(seg.seq, seg.payload, limits, &mut |c| {
                dissect(session, dir, c, &mut cx)
            });
        }
        App::Undecided | App::Unknown | App::Closed => {}
    }

    if seg.flags.rst {
        return Some(SessionEnd::Reset);
    }
    if seg.flags.fin {
        flow.fin[dir.index()] = true;
        if flow.fin[0] && flow.fin[1] {
            return Some(SessionEnd::Fin);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use super::*;

    /// What an open flow costs before its protocol session: one million idle flows must fit
    /// in about 1 KiB each, as measured by the harness's `(e)` figure (which also counts the
    /// table slot, the session, its rows and the mapped capture). These bounds stop a new
    /// field from quietly adding tens of megabytes to a large table; the rare parts of a
    /// flow belong behind a `Box` or an `Option<Box<_>>`.
    #[test]
    fn an_open_flow_stays_small() {
        assert!(
            size_of::<Stream>() <= 56,
            "Stream is {} bytes",
            size_of::<Stream>()
        );
        assert!(
            size_of::<SessionStats>() <= 160,
            "SessionStats is {} bytes",
            size_of::<SessionStats>()
        );
        assert!(
            size_of::<Flow>() <= 432,
            "Flow is {} bytes",
            size_of::<Flow>()
        );
        // The table holds a key and a pointer, not the flow.
        assert!(size_of::<(FlowKey, Box<Flow>)>() <= 56);
    }
}
