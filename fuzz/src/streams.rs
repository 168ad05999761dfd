//! The TCP conversations of a capture file as turns: each turn is the bytes one side sent
//! before the other side sent any, in capture order. Used to seed corpora and, in the property
//! tests, as real protocol streams to cut, reorder and retransmit.
//!
//! Only what a well-formed capture holds is handled: a payload that starts before the bytes
//! already taken (a retransmission) contributes only its new bytes, and a payload after a hole
//! is taken as if the hole were not there, which is wrong for captures with loss (the fixture
//! captures used here have none).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use dissectors::link::{decode, Transport};
use sensor::capture::CaptureFile;

/// One direction's bytes between two changes of direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Turn {
    pub from_server: bool,
    pub bytes: Vec<u8>,
}

/// One TCP conversation: its server port and its turns.
#[derive(Clone, Debug)]
pub struct Stream {
    pub server_port: u16,
    pub turns: Vec<Turn>,
}

type Endpoint = (IpAddr, u16);

struct Building {
    client: Endpoint,
    server_port: u16,
    next_seq: [Option<u32>; 2],
    turns: Vec<Turn>,
}

/// The conversations of `path` whose server (the side of the SYN-ACK, else the lower port)
/// listens on one of `ports`, in the order they start.
pub fn conversations(path: &Path, ports: &[u16]) -> Result<Vec<Stream>, String> {
    let file = CaptureFile::open(path).map_err(|e| e.to_string())?;
    let mut flows: BTreeMap<(Endpoint, Endpoint), usize> = BTreeMap::new();
    let mut building: Vec<Building> = Vec::new();
    for raw in file.packets() {
        let Ok(packet) = decode(raw.link, raw.data) else {
            continue;
        };
        let Transport::Tcp(tcp) = packet.transport else {
            continue;
        };
        let a = (packet.src_ip, tcp.src_port);
        let b = (packet.dst_ip, tcp.dst_port);
        let key = if a < b { (a, b) } else { (b, a) };
        let index = *flows.entry(key).or_insert_with(|| {
            let a_serves = if tcp.flags.syn {
                tcp.flags.ack
            } else {
                ports.contains(&tcp.src_port)
            };
            let (client, server_port) = if a_serves { (b, a.1) } else { (a, b.1) };
            building.push(Building {
                client,
                server_port,
                next_seq: [None, None],
                turns: Vec::new(),
            });
            building.len() - 1
        });
        let flow = &mut building[index];
        let side = usize::from(a != flow.client);
        if tcp.flags.syn {
            flow.next_seq[side] = Some(tcp.seq.wrapping_add(1));
            continue;
        }
        let next = *flow.next_seq[side].get_or_insert(tcp.seq);
        let old = (next.wrapping_sub(tcp.seq) as i32).max(0) as usize;
        let Some(new) = tcp.payload.get(old..).filter(|n| !n.is_empty()) else {
            continue;
        };
        flow.next_seq[side] = Some(tcp.seq.wrapping_add(tcp.payload.len() as u32));
        let from_server = side == 1;
        match flow.turns.last_mut() {
            Some(turn) if turn.from_server == from_server => turn.bytes.extend_from_slice(new),
            _ => flow.turns.push(Turn {
                from_server,
                bytes: new.to_vec(),
            }),
        }
    }
    Ok(building
        .into_iter()
        .filter(|f| ports.contains(&f.server_port) && !f.turns.is_empty())
        .map(|f| Stream {
            server_port: f.server_port,
            turns: f.turns,
        })
        .collect())
}
