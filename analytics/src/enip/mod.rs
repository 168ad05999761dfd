//! EtherNet/IP + CIP sessions: encapsulation framing, CIP requests matched to replies, write
//! rows, Forward Open originators, identity assets.
//!
//! Each direction of a TCP conversation is framed into encapsulation messages. Requests
//! (SendRRData with unconnected data, SendUnitData with class 3 connected data) are read as
//! CIP: Multiple Service Packet and Unconnected Send are opened (to [`MAX_DEPTH`] levels) and
//! every embedded write-class service becomes a pending row. The reply completes it: each row
//! takes the general status of its own embedded reply (`ok` or `exception:<status>`); an
//! encapsulation reply with a non-zero status and no CIP reply gives
//! `exception:<encapsulation status>`.
//!
//! SendRRData replies are matched by sender context (oldest first), SendUnitData replies by
//! the class 3 sequence count. A (Large) Forward Open asserts the originator (vendor id +
//! serial): a `cip_originator` credential row, the credential of every later write of the
//! session, and, once the reply gives the connection ids, of every connected write over
//! them. Forward Open and Forward Close are connection events, not rows. ListIdentity replies
//! and Get_Attributes_All replies of the Identity object become asset rows.

pub mod recognize;
pub mod render;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use dissectors::cip::cm::{
    parse_forward_close, parse_forward_open, parse_forward_open_reply, parse_multiple,
    parse_unconnected_send,
};
use dissectors::cip::logix::{parse_read_modify_write, parse_write_tag};
use dissectors::cip::path::summarize;
use dissectors::cip::services::{class, code, resolve, Effect};
use dissectors::cip::{parse_request, parse_response};
use dissectors::enip::{self, command, item, Address, Cpf, Framing, Message, HEADER_LEN};
use rustc_hash::FxHashMap;

use crate::evidence::{
    AlertKind, AssetRow, Category, Credential, CredentialKind, CredentialRow, FrameRef, Outcome,
    Protocol, SessionEnd, Severity, WriteRow,
};
use crate::flow::Direction;
use crate::identity::originator_text;
use crate::reassembly::Chunk;
use crate::session::{ProtocolSession, SessionCx};

/// Requests awaiting a reply before the oldest is given up.
pub const MAX_PENDING: usize = 1024;

/// How deep Multiple Service Packets and Unconnected Sends are opened inside each other.
pub const MAX_DEPTH: usize = 4;

/// Connections remembered per session (Forward Open replies) before the table is reset.
pub const MAX_CONNECTIONS: usize = 4096;

/// One level of nesting between the top-level request and an embedded one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// The request inside an Unconnected Send.
    Unconnected,
    /// The request at this index of a Multiple Service Packet.
    Multiple(u16),
}

/// How a reply finds its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    /// SendRRData, by sender context.
    Unconnected([u8; 8]),
    /// SendUnitData, by class 3 sequence count.
    Connected(u16),
}

/// A request awaiting its reply.
#[derive(Debug)]
struct Pending {
    key: Key,
    /// Write rows and where their own reply sits inside the top-level reply.
    rows: Vec<(WriteRow, Vec<Step>)>,
    /// Where a Get_Attributes_All of the Identity object sits, if the request holds one, and
    /// the asset role of the device it reaches.
    identity: Option<(Vec<Step>, &'static str)>,
    /// Where an intermediate Write Tag Fragmented request sits, whose refusal ends the
    /// joined write.
    fragment_part: Option<Vec<Step>>,
    /// The server direction lost bytes after this request was sent.
    gap_after: bool,
}

/// A Write Tag Fragmented write whose fragments are still arriving: joined into one row,
/// emitted when its last fragment is sent (or refused, or the session ends).
#[derive(Debug)]
struct Fragmented {
    path: Vec<u8>,
    /// Data type code (and structure handle) and element count, as the request gives them.
    header: Vec<u8>,
    total: usize,
    data: Vec<u8>,
    credential: Option<Credential>,
    last_at: FrameRef,
}

/// Largest joined Write Tag Fragmented value kept (bytes).
pub const MAX_FRAGMENTED_BYTES: usize = 1 << 20;

/// The state of one EtherNet/IP conversation.
#[derive(Debug, Default)]
pub struct EnipSession {
    pending: VecDeque<Pending>,
    /// Per direction: scanning for the next encapsulation header after a gap.
    resync: [bool; 2],
    /// The latest Forward Open originator of this session.
    originator: Option<Credential>,
    /// Connection ids (both directions) to the originator of their Forward Open.
    connections: FxHashMap<u32, Credential>,
    flood_reported: bool,
    /// Class 3 connected messages seen (sequence counts).
    pub connected_messages: u64,
    /// Class 3 requests per connection id: messages, repeats, last sequence count.
    connected: FxHashMap<u32, SequenceCounts>,
    /// Implicit I/O (UDP 2222) datagrams per connection id.
    io: FxHashMap<u32, IoCounts>,
    /// The Write Tag Fragmented write being joined.
    fragment: Option<Fragmented>,
}

/// Class 3 (connected explicit) requests on one connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SequenceCounts {
    pub messages: u64,
    /// Requests that repeat the previous sequence count: retries the target does not carry
    /// out again, so they make no second row.
    pub repeats: u64,
    pub last_sequence: u16,
}

/// What a UDP 2222 conversation carried on one I/O connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoCounts {
    /// Datagrams from the session's client side and from its server side.
    pub packets: [u64; 2],
    /// Bytes of I/O data (connected data items).
    pub bytes: u64,
    /// The last encapsulation sequence number seen.
    pub last_sequence: u32,
}

/// What one top-level request gathers while it is read.
struct Gather {
    rows: Vec<(WriteRow, Vec<Step>)>,
    identity: Option<(Vec<Step>, &'static str)>,
    credential: Option<Credential>,
    fragment_part: Option<Vec<Step>>,
    /// Asset role of the device the current request reaches: `server`, or the backplane
    /// slot an Unconnected Send routes it to.
    role: &'static str,
}

/// Asset roles of modules reached through a route to a backplane slot.
const SLOT_ROLES: [&str; 17] = [
    "backplane slot 0",
    "backplane slot 1",
    "backplane slot 2",
    "backplane slot 3",
    "backplane slot 4",
    "backplane slot 5",
    "backplane slot 6",
    "backplane slot 7",
    "backplane slot 8",
    "backplane slot 9",
    "backplane slot 10",
    "backplane slot 11",
    "backplane slot 12",
    "backplane slot 13",
    "backplane slot 14",
    "backplane slot 15",
    "routed",
];

/// The asset role of the device at the end of `route` (port 1 = backplane, link = slot).
fn route_role(route: &[u8]) -> &'static str {
    let ports: Vec<(u16, &[u8])> = dissectors::cip::path::segments(route)
        .filter_map(|s| match s {
            dissectors::cip::path::Segment::Port { port, link } => Some((port, link)),
            _ => None,
        })
        .collect();
    match ports.as_slice() {
        [] => "server",
        [(1, [slot])] if usize::from(*slot) < 16 => SLOT_ROLES[usize::from(*slot)],
        _ => SLOT_ROLES[16],
    }
}

impl ProtocolSession for EnipSession {
    fn on_chunk(&mut self, dir: Direction, chunk: Chunk<'_>, cx: &mut SessionCx<'_>) -> usize {
        match chunk {
            Chunk::Data(data) if is_io(cx) && !enip::plausible_header(data) => {
                self.io_datagram(dir, data, cx)
            }
            Chunk::Data(data) => self.on_data(dir, data, cx),
            Chunk::Gap { lost } => {
                self.resync[dir.index()] = true;
                if dir == Direction::ToClient {
                    for p in &mut self.pending {
                        p.gap_after = true;
                    }
                }
                if lost > 0 {
                    let side = match dir {
                        Direction::ToServer => "client",
                        Direction::ToClient => "server",
                    };
                    let detail = format!(
                        "{lost} byte(s) of the {side} stream were not captured; \
                         requests or answers in them are missing from the evidence"
                    );
                    cx.alert(AlertKind::ReassemblyGap, Severity::Medium, detail);
                }
                0
            }
        }
    }

    fn on_end(&mut self, end: SessionEnd, cx: &mut SessionCx<'_>) {
        let followed = matches!(end, SessionEnd::Fin | SessionEnd::Reset | SessionEnd::Idle);
        self.flush_fragment(Outcome::Unknown, cx);
        for pending in std::mem::take(&mut self.pending) {
            let outcome = if followed && !pending.gap_after {
                Outcome::NoResponse
            } else {
                Outcome::Unknown
            };
            for (row, _) in pending.rows {
                finish(row, outcome.clone(), None, cx);
            }
        }
    }

    fn resync(&mut self, dir: Direction) {
        self.resync[dir.index()] = true;
    }
}

/// Whether the session is an implicit I/O conversation (UDP 2222).
fn is_io(cx: &SessionCx<'_>) -> bool {
    let e = &cx.meta.endpoints;
    e.server_port == recognize::IO_PORT || e.client_port == recognize::IO_PORT
}

impl EnipSession {
    /// Class 3 connections seen, by connection id (as the client addresses them).
    pub fn connected_sequences(&self) -> impl Iterator<Item = (u32, SequenceCounts)> + '_ {
        self.connected.iter().map(|(id, c)| (*id, *c))
    }

    /// Implicit I/O connections seen, by connection id.
    pub fn io_connections(&self) -> impl Iterator<Item = (u32, IoCounts)> + '_ {
        self.io.iter().map(|(id, c)| (*id, *c))
    }

    /// One UDP 2222 datagram: a CPF item list with a sequenced address and connected data.
    /// Output data, not a write; counted per connection.
    fn io_datagram(&mut self, dir: Direction, data: &[u8], cx: &mut SessionCx<'_>) -> usize {
        let message = Cpf::parse_list(data).and_then(|cpf| cpf.message());
        match message {
            Some(m) => {
                let (id, sequence) = match m.address {
                    Address::Sequenced {
                        connection_id,
                        sequence,
                    } => (connection_id, sequence),
                    Address::Connected { connection_id } => (connection_id, 0),
                    Address::Null => (0, 0),
                };
                if self.io.len() >= MAX_CONNECTIONS && !self.io.contains_key(&id) {
                    self.io.clear();
                }
                let counts = self.io.entry(id).or_default();
                counts.packets[dir.index()] += 1;
                counts.bytes += m.cip.len() as u64 + 2;
                counts.last_sequence = sequence;
                cx.stats.other_requests += 1;
            }
            None => cx.stats.malformed += 1,
        }
        data.len()
    }

    fn on_data(&mut self, dir: Direction, data: &[u8], cx: &mut SessionCx<'_>) -> usize {
        let mut used = 0;
        while used < data.len() {
            let rest = &data[used..];
            if self.resync[dir.index()] {
                match (0..rest.len().saturating_sub(HEADER_LEN - 1))
                    .find(|&i| enip::plausible_header(&rest[i..]))
                {
                    Some(skip) => {
                        used += skip;
                        self.resync[dir.index()] = false;
                    }
                    None => return used + rest.len().saturating_sub(HEADER_LEN - 1),
                }
                continue;
            }
            match enip::frame(rest) {
                Framing::Message { message, consumed } => {
                    match dir {
                        Direction::ToServer => self.request(&message, cx),
                        Direction::ToClient => self.reply(&message, cx),
                    }
                    used += consumed;
                }
                Framing::Incomplete { .. } => return used,
                Framing::Invalid => {
                    cx.stats.malformed += 1;
                    cx.alert(
                        AlertKind::MalformedPdu,
                        Severity::Low,
                        "enip: encapsulation header with non-zero options; skipping to the \
                         next plausible header"
                            .to_owned(),
                    );
                    self.resync[dir.index()] = true;
                    used += 1;
                }
            }
        }
        used
    }

    /// One encapsulation message from the client.
    fn request(&mut self, message: &Message<'_>, cx: &mut SessionCx<'_>) {
        let header = &message.header;
        let key_and_cip = match header.command {
            command::SEND_RR_DATA | command::SEND_UNIT_DATA => {
                Cpf::parse(message.data).and_then(|cpf| cpf.message())
            }
            // Over UDP both ends may use port 44818, so a reply can come from the side taken
            // for the client: an identity item describes its sender.
            command::LIST_IDENTITY if !message.data.is_empty() => {
                cx.stats.responses += 1;
                list_identity(message.data, true, cx);
                return;
            }
            _ => {
                cx.stats.other_requests += 1;
                return;
            }
        };
        let Some(msg) = key_and_cip else {
            cx.stats.malformed += 1;
            cx.alert(
                AlertKind::MalformedPdu,
                Severity::Low,
                "enip: SendRRData/SendUnitData without an address and data item".to_owned(),
            );
            return;
        };
        let (key, credential) = match (msg.address, msg.sequence) {
            (Address::Connected { connection_id }, Some(seq))
            | (Address::Sequenced { connection_id, .. }, Some(seq)) => {
                self.connected_messages += 1;
                if self.connected.len() >= MAX_CONNECTIONS
                    && !self.connected.contains_key(&connection_id)
                {
                    self.connected.clear();
                }
                let counts = self.connected.entry(connection_id).or_default();
                let repeat = counts.messages > 0 && counts.last_sequence == seq;
                counts.messages += 1;
                counts.last_sequence = seq;
                if repeat {
                    counts.repeats += 1;
                    cx.stats.other_requests += 1;
                    return;
                }
                let credential = self
                    .connections
                    .get(&connection_id)
                    .cloned()
                    .or_else(|| self.originator.clone());
                (Key::Connected(seq), credential)
            }
            _ => (
                Key::Unconnected(header.sender_context),
                self.originator.clone(),
            ),
        };
        let mut gather = Gather {
            rows: Vec::new(),
            identity: None,
            credential,
            fragment_part: None,
            role: "server",
        };
        self.cip_request(msg.cip, &mut Vec::new(), &mut gather, cx);

        if self.pending.len() >= MAX_PENDING {
            if !self.flood_reported {
                self.flood_reported = true;
                let detail = format!(
                    "client sent more than {MAX_PENDING} requests without answers; the oldest \
                     are closed with outcome unknown"
                );
                cx.alert(AlertKind::RequestFlood, Severity::Medium, detail);
            }
            if let Some(oldest) = self.pending.pop_front() {
                for (row, _) in oldest.rows {
                    finish(row, Outcome::Unknown, None, cx);
                }
            }
        }
        self.pending.push_back(Pending {
            key,
            rows: gather.rows,
            identity: gather.identity,
            fragment_part: gather.fragment_part,
            gap_after: false,
        });
    }

    /// One CIP request, at `steps` inside the top-level one.
    fn cip_request(
        &mut self,
        bytes: &[u8],
        steps: &mut Vec<Step>,
        gather: &mut Gather,
        cx: &mut SessionCx<'_>,
    ) {
        let request = match parse_request(bytes) {
            Ok(r) => r,
            Err(error) => {
                cx.stats.malformed += 1;
                cx.alert(AlertKind::MalformedPdu, Severity::Low, error.to_string());
                return;
            }
        };
        let summary = summarize(request.path);
        let service = resolve(request.service, summary.class, summary.symbolic);
        match service.effect {
            Effect::Container => {
                if steps.len() >= MAX_DEPTH {
                    cx.stats.malformed += 1;
                    let detail = format!(
                        "cip: requests nested deeper than {MAX_DEPTH} levels are not opened"
                    );
                    cx.alert(AlertKind::MalformedPdu, Severity::Low, detail);
                    return;
                }
                if request.service == code::MULTIPLE_SERVICE_PACKET {
                    let Some(multiple) = parse_multiple(request.data) else {
                        cx.stats.malformed += 1;
                        return;
                    };
                    for i in 0..multiple.count {
                        match multiple.get(i) {
                            Some(inner) => {
                                steps.push(Step::Multiple(i));
                                self.cip_request(inner, steps, gather, cx);
                                steps.pop();
                            }
                            None => cx.stats.malformed += 1,
                        }
                    }
                } else {
                    let Some(send) = parse_unconnected_send(request.data) else {
                        cx.stats.malformed += 1;
                        return;
                    };
                    let outer = gather.role;
                    if outer == "server" {
                        gather.role = route_role(send.route);
                    }
                    steps.push(Step::Unconnected);
                    self.cip_request(send.message, steps, gather, cx);
                    steps.pop();
                    gather.role = outer;
                }
            }
            Effect::Connection => {
                cx.stats.other_requests += 1;
                if request.service == code::FORWARD_CLOSE {
                    let _ = parse_forward_close(request.data);
                    return;
                }
                let large = request.service == code::LARGE_FORWARD_OPEN;
                match parse_forward_open(request.data, large) {
                    Some(fo) => {
                        let credential = Credential {
                            kind: CredentialKind::CipOriginator,
                            id: originator_text(fo.vendor, fo.originator_serial),
                        };
                        for id in [fo.o_t_connection_id, fo.t_o_connection_id] {
                            if id != 0 {
                                self.remember(id, credential.clone());
                            }
                        }
                        self.credential_seen(&credential, cx);
                        self.originator = Some(credential.clone());
                        gather.credential = Some(credential);
                    }
                    None => cx.stats.malformed += 1,
                }
            }
            Effect::Read => {
                cx.stats.reads += 1;
                if request.service == code::GET_ATTRIBUTES_ALL
                    && summary.class == Some(class::IDENTITY)
                {
                    gather.identity = Some((steps.clone(), gather.role));
                }
            }
            Effect::Write | Effect::Control | Effect::Program => {
                if request.service == code::WRITE_TAG_FRAGMENTED
                    && service.effect == Effect::Write
                    && self.fragment(&request, &summary, service, steps, gather, cx)
                {
                    return;
                }
                let row = write_row(&request, &summary, service, gather, cx);
                gather.rows.push((row, steps.clone()));
            }
            Effect::Pccc => match pccc_row(&request, gather, cx) {
                Some(row) => gather.rows.push((row, steps.clone())),
                None => cx.stats.other_requests += 1,
            },
            Effect::Other => cx.stats.other_requests += 1,
        }
    }

    /// Joins Write Tag Fragmented requests: `true` when this fragment was taken into a joined
    /// write (its row comes with the last fragment), `false` when it stands alone.
    fn fragment(
        &mut self,
        request: &dissectors::cip::Request<'_>,
        summary: &dissectors::cip::path::Summary,
        service: dissectors::cip::services::Service,
        steps: &[Step],
        gather: &mut Gather,
        cx: &mut SessionCx<'_>,
    ) -> bool {
        let Some(w) = parse_write_tag(request.data, true) else {
            return false;
        };
        let Some(size) = dissectors::cip::logix::DataType::from_code(w.data_type).map(|t| t.size())
        else {
            return false;
        };
        let total = usize::from(w.elements) * size;
        let offset = w.offset.unwrap_or(0) as usize;
        if offset == 0 {
            if w.value.len() >= total || total > MAX_FRAGMENTED_BYTES {
                return false;
            }
            self.flush_fragment(Outcome::Unknown, cx);
            let header_len = request.data.len() - w.value.len() - 4;
            self.fragment = Some(Fragmented {
                path: request.path.to_vec(),
                header: request.data[..header_len].to_vec(),
                total,
                data: w.value.to_vec(),
                credential: gather.credential.clone(),
                last_at: cx.at,
            });
            gather.fragment_part = Some(steps.to_vec());
            return true;
        }
        let Some(f) = self.fragment.as_mut() else {
            return false;
        };
        if f.path != request.path || offset != f.data.len() {
            return false;
        }
        f.data.extend_from_slice(w.value);
        f.last_at = cx.at;
        if f.data.len() < f.total {
            gather.fragment_part = Some(steps.to_vec());
            return true;
        }
        if let Some(f) = self.fragment.take() {
            let data = joined(&f);
            let joined_request = dissectors::cip::Request {
                service: request.service,
                path: &f.path,
                data: &data,
            };
            let row = write_row(&joined_request, summary, service, gather, cx);
            gather.rows.push((row, steps.to_vec()));
        }
        true
    }

    /// Emits the write being joined as it stands, with `outcome`.
    fn flush_fragment(&mut self, outcome: Outcome, cx: &mut SessionCx<'_>) {
        let Some(f) = self.fragment.take() else {
            return;
        };
        let data = joined(&f);
        let request = dissectors::cip::Request {
            service: code::WRITE_TAG_FRAGMENTED,
            path: &f.path,
            data: &data,
        };
        let summary = summarize(&f.path);
        let service = resolve(code::WRITE_TAG_FRAGMENTED, summary.class, true);
        let gather = Gather {
            rows: Vec::new(),
            identity: None,
            credential: f.credential.clone(),
            fragment_part: None,
            role: "server",
        };
        let mut row = write_row(&request, &summary, service, &gather, cx);
        row.at = f.last_at;
        finish(row, outcome, Some(cx.at), cx);
    }

    fn remember(&mut self, id: u32, credential: Credential) {
        if self.connections.len() >= MAX_CONNECTIONS {
            self.connections.clear();
        }
        self.connections.insert(id, credential);
    }

    /// A Forward Open's originator: one credentials row, and the session's list.
    fn credential_seen(&mut self, credential: &Credential, cx: &mut SessionCx<'_>) {
        cx.stats.add_credential(&credential.id);
        cx.out.credentials.push(CredentialRow {
            at: cx.at,
            session_id: Some(cx.meta.id),
            protocol: Protocol::Enip,
            kind: credential.kind,
            id: credential.id.clone(),
            client_ip: Some(cx.meta.endpoints.client_ip),
            subject: None,
            issuer: None,
            not_before_us: None,
            not_after_us: None,
            weak_policy: false,
            plaintext: false,
            secret_fingerprint: None,
            role: None,
        });
    }

    /// One encapsulation message from the server.
    fn reply(&mut self, message: &Message<'_>, cx: &mut SessionCx<'_>) {
        let header = &message.header;
        match header.command {
            command::LIST_IDENTITY => {
                cx.stats.responses += 1;
                list_identity(message.data, false, cx);
                return;
            }
            command::SEND_RR_DATA | command::SEND_UNIT_DATA => {}
            _ => return,
        }
        cx.stats.responses += 1;
        let msg = Cpf::parse(message.data).and_then(|cpf| cpf.message());
        let key = match msg {
            Some(m) if m.sequence.is_some() => m.sequence.map(Key::Connected),
            Some(_) => Some(Key::Unconnected(header.sender_context)),
            None if header.command == command::SEND_RR_DATA => {
                Some(Key::Unconnected(header.sender_context))
            }
            None => None,
        };
        let index = key.and_then(|k| self.pending.iter().position(|p| p.key == k));
        let pending = index.and_then(|i| self.pending.remove(i));
        let cip = msg.map(|m| m.cip).filter(|c| !c.is_empty());

        // A Forward Open reply ties the connection ids to the originator.
        if let Some(cip) = cip {
            self.forward_open_reply(cip);
        }
        let Some(pending) = pending else {
            return;
        };
        if let (Some(steps), Some(cip)) = (&pending.fragment_part, cip) {
            if let Some(status) = status_at(cip, steps).filter(|s| *s != 0) {
                self.flush_fragment(Outcome::Exception(status.to_string()), cx);
            }
        }
        if let (Some((steps, role)), Some(cip)) = (&pending.identity, cip) {
            if let Some(data) = reply_at(cip, steps).and_then(|r| r.ok()) {
                identity_asset(data, role, cx);
            }
        }
        for (row, steps) in pending.rows {
            let outcome = match cip {
                Some(cip) => match status_at(cip, &steps) {
                    Some(0) if row.operation.starts_with("PCCC") => pccc_outcome(cip, &steps),
                    Some(0) => Outcome::Ok,
                    Some(s) => Outcome::Exception(s.to_string()),
                    None if header.status != 0 => Outcome::Exception(header.status.to_string()),
                    None => Outcome::Unknown,
                },
                None if header.status != 0 => Outcome::Exception(header.status.to_string()),
                None => Outcome::Unknown,
            };
            finish(row, outcome, Some(cx.at), cx);
        }
    }

    fn forward_open_reply(&mut self, cip: &[u8]) {
        let Ok(reply) = parse_response(cip) else {
            return;
        };
        if !matches!(reply.service, code::FORWARD_OPEN | code::LARGE_FORWARD_OPEN)
            || reply.general_status != 0
        {
            return;
        }
        if let Some(r) = parse_forward_open_reply(reply.data) {
            let credential = Credential {
                kind: CredentialKind::CipOriginator,
                id: originator_text(r.vendor, r.originator_serial),
            };
            self.remember(r.o_t_connection_id, credential.clone());
            self.remember(r.t_o_connection_id, credential);
        }
    }
}

/// A PCCC command can fail inside a successful Execute PCCC reply: its STS byte (after the
/// echoed requester id, CMD and before TNS) says so; `exception:pccc-<STS>`.
fn pccc_outcome(cip: &[u8], steps: &[Step]) -> Outcome {
    let Some(Ok(data)) = reply_at(cip, steps) else {
        return Outcome::Ok;
    };
    let sts = data
        .first()
        .and_then(|len| data.get(usize::from(*len) + 1))
        .copied();
    match sts {
        Some(0) | None => Outcome::Ok,
        Some(sts) => Outcome::Exception(format!("pccc-{sts}")),
    }
}

/// The request data of a joined Write Tag Fragmented write: its type and count, offset 0,
/// and every byte received so far.
fn joined(f: &Fragmented) -> Vec<u8> {
    let mut data = f.header.clone();
    data.extend_from_slice(&0u32.to_le_bytes());
    data.extend_from_slice(&f.data);
    data
}

/// The general status of the reply at `steps` inside the top-level reply `cip`; an error of
/// an enclosing container (Unconnected Send failing, a Multiple Service Packet without its
/// embedded replies) counts for all it holds.
fn status_at(cip: &[u8], steps: &[Step]) -> Option<u8> {
    match reply_at(cip, steps)? {
        Ok(_) => Some(0),
        Err(status) => Some(status),
    }
}

/// The data of the successful reply at `steps`, or the status of the reply that failed.
fn reply_at<'a>(cip: &'a [u8], steps: &[Step]) -> Option<Result<&'a [u8], u8>> {
    let reply = parse_response(cip).ok()?;
    let Some((step, rest)) = steps.split_first() else {
        return Some(if reply.general_status == 0 {
            Ok(reply.data)
        } else {
            Err(reply.general_status)
        });
    };
    match step {
        Step::Unconnected => {
            // A failed Unconnected Send answers as itself; otherwise the embedded reply is
            // the whole reply.
            if reply.service == code::UNCONNECTED_SEND && reply.general_status != 0 {
                return Some(Err(reply.general_status));
            }
            reply_at(cip, rest)
        }
        Step::Multiple(i) => {
            if reply.service != code::MULTIPLE_SERVICE_PACKET {
                return Some(Err(reply.general_status));
            }
            match parse_multiple(reply.data).and_then(|m| m.get(*i)) {
                Some(inner) => reply_at(inner, rest),
                None if reply.general_status != 0 => Some(Err(reply.general_status)),
                None => None,
            }
        }
    }
}

/// Emits a completed write row.
fn finish(mut row: WriteRow, outcome: Outcome, answered: Option<FrameRef>, cx: &mut SessionCx<'_>) {
    row.outcome = outcome;
    row.response_ts_us = answered.map(|at| at.ts_us);
    cx.emit_write(row);
}

/// The row of a write-class, control or program request.
fn write_row(
    request: &dissectors::cip::Request<'_>,
    summary: &dissectors::cip::path::Summary,
    service: dissectors::cip::services::Service,
    gather: &Gather,
    cx: &mut SessionCx<'_>,
) -> WriteRow {
    let category = match service.effect {
        Effect::Control => Category::Control,
        Effect::Program => Category::Program,
        _ => Category::Write,
    };
    let operation = service.name.unwrap_or("Unknown service");
    let mut numbers = Vec::new();
    let (target, value) = match request.service {
        code::WRITE_TAG | code::WRITE_TAG_FRAGMENTED if category == Category::Write => {
            let fragmented = request.service == code::WRITE_TAG_FRAGMENTED;
            match parse_write_tag(request.data, fragmented) {
                Some(w) => {
                    let target = render::tag_target(request.path, u32::from(w.elements))
                        .unwrap_or_else(|| render::logical_target(summary));
                    let value = render::elements(w.data_type, w.value, &mut numbers);
                    (target, Some(value))
                }
                None => (
                    format!("{} (malformed request)", target_of(request.path, summary)),
                    None,
                ),
            }
        }
        code::READ_MODIFY_WRITE_TAG if category == Category::Write => {
            let value = parse_read_modify_write(request.data).map(|m| {
                format!(
                    "or={} and={}",
                    render::mask(m.or_mask),
                    render::mask(m.and_mask)
                )
            });
            (target_of(request.path, summary), value)
        }
        _ => {
            let value = (!request.data.is_empty()).then(|| render::hex(request.data));
            (target_of(request.path, summary), value)
        }
    };
    let mut row = cx.new_write(category, operation, u32::from(request.service), target);
    row.value = value;
    row.numeric_values = numbers;
    if let Some(credential) = &gather.credential {
        row.device_id = Some(credential.id.clone());
        row.credential = Some(credential.clone());
    }
    row
}

/// The row of an Execute PCCC request that writes data or changes the processor mode;
/// `None` for other PCCC commands.
fn pccc_row(
    request: &dissectors::cip::Request<'_>,
    gather: &Gather,
    cx: &mut SessionCx<'_>,
) -> Option<WriteRow> {
    use dissectors::cip::pccc::Action;
    use dissectors::cip::pccc::{action, command_name, file_type_letter, parse_execute_pccc};

    let command = parse_execute_pccc(request.data)?;
    let operation = command_name(command.cmd, command.fnc)?;
    let mut numbers = Vec::new();
    let (category, target, value) = match action(&command) {
        Some(Action::LogicalWrite {
            address,
            mask,
            data,
            ..
        }) => {
            let mut target = match file_type_letter(address.file_type) {
                Some(letter) => format!("{letter}{}:{}", address.file, address.element),
                None => format!(
                    "file {} type 0x{:02x} element {}",
                    address.file, address.file_type, address.element
                ),
            };
            if let Some(sub) = address.sub_element.filter(|s| *s != 0) {
                target.push_str(&format!(".{sub}"));
            }
            let data_type = match address.file_type {
                0x89 | 0x85 | 0x84 => 0xC3,
                0x8A => 0xCA,
                0x91 => 0xC4,
                _ => 0,
            };
            let mut value = render::elements(data_type, data, &mut numbers);
            if let Some(mask) = mask {
                value = format!("mask={} value={value}", render::mask(mask));
            }
            (Category::Write, format!("pccc {target}"), Some(value))
        }
        Some(Action::RawWrite { address, data }) => (
            Category::Write,
            format!("pccc address {}", render::hex(address)),
            Some(render::hex(data)),
        ),
        Some(Action::ChangeMode { mode }) => (
            Category::Control,
            "pccc processor mode".to_owned(),
            Some(format!("0x{mode:02x}")),
        ),
        Some(Action::Other) => return None,
        None => (Category::Write, "pccc (malformed request)".to_owned(), None),
    };
    let mut row = cx.new_write(category, operation, u32::from(request.service), target);
    row.value = value;
    row.numeric_values = numbers;
    if let Some(credential) = &gather.credential {
        row.device_id = Some(credential.id.clone());
        row.credential = Some(credential.clone());
    }
    Some(row)
}

fn target_of(path: &[u8], summary: &dissectors::cip::path::Summary) -> String {
    render::tag_target(path, 1).unwrap_or_else(|| render::logical_target(summary))
}

/// ListIdentity reply items describe the device that answers.
fn list_identity(data: &[u8], from_client: bool, cx: &mut SessionCx<'_>) {
    let Some(list) = Cpf::parse_list(data) else {
        return;
    };
    for it in list.items() {
        if it.type_id == item::LIST_IDENTITY {
            if let Some(id) = enip::parse_identity(it.data) {
                push_asset(&id, "server", from_client, cx);
            }
        }
    }
}

/// A Get_Attributes_All reply of the Identity object.
fn identity_asset(data: &[u8], role: &'static str, cx: &mut SessionCx<'_>) {
    if let Some(id) = enip::parse_identity_attributes(data) {
        push_asset(&id, role, false, cx);
    }
}

/// An asset row for an identity; `role` is `server` for the device at the server address, or
/// the backplane slot of a module reached through it.
fn push_asset(
    id: &enip::Identity<'_>,
    role: &'static str,
    from_client: bool,
    cx: &mut SessionCx<'_>,
) {
    let name = String::from_utf8_lossy(id.product_name).trim().to_owned();
    let e = &cx.meta.endpoints;
    let (ip, mac) = if from_client {
        (e.client_ip, e.client_mac)
    } else {
        (e.server_ip, e.server_mac)
    };
    cx.out.assets.push(AssetRow {
        ip: Some(ip),
        mac,
        protocol: Some(Protocol::Enip),
        role,
        vendor: Some(format!("0x{:04x}", id.vendor)),
        product: (!name.is_empty()).then_some(name),
        serial: Some(format!("0x{:08x}", id.serial)),
        firmware: Some(format!("{}.{:03}", id.revision.0, id.revision.1)),
        name: Some(format!(
            "device type {}, product code {}",
            id.device_type, id.product_code
        )),
        first: cx.at,
        last: cx.at,
    });
}
