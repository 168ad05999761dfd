//! One TCP conversation between a fixed client and a server, fed segment by segment to its
//! own analysis [`Engine`] with the offsets the caller chooses, so the property tests
//! (`tests/properties.rs`) can cut, reorder and retransmit a real protocol stream and compare
//! the writes. It builds packets only; it checks nothing itself.

use std::net::Ipv4Addr;
use std::sync::Arc;

use analytics::attribution::Attributor;
use analytics::engine::{Engine, EngineConfig};
use analytics::evidence::{Evidence, FrameRef};
use dissectors::link::{Packet, TcpFlags, TcpSegment, Transport};

const CLIENT: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 0, 1), 40000);
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const CLIENT_ISN: u32 = 0xffff_ff00;
const SERVER_ISN: u32 = 7000;

/// A TCP conversation between a fixed client and a server on one port, fed packet by packet
/// to its own engine. Offsets are relative to the first byte of each direction's stream.
pub struct Conversation {
    engine: Engine,
    server_port: u16,
    frame: u64,
    /// Sequence number of each direction's first byte (client, server).
    start: [u32; 2],
    /// Bytes of each direction sent so far, for the acknowledgements.
    sent: [u32; 2],
}

impl Conversation {
    /// Opens the connection (SYN, SYN-ACK) with an engine of the given bounds.
    pub fn open(server_port: u16, config: EngineConfig) -> Conversation {
        let names: Arc<[String]> = vec!["fuzz".to_owned()].into();
        let mut c = Conversation {
            engine: Engine::new(config, Attributor::default(), names),
            server_port,
            frame: 0,
            start: [CLIENT_ISN.wrapping_add(1), SERVER_ISN.wrapping_add(1)],
            sent: [0, 0],
        };
        c.packet(false, CLIENT_ISN, TcpFlags::SYN, &[]);
        c.packet(true, SERVER_ISN, TcpFlags::SYN_ACK, &[]);
        c
    }

    /// A segment carrying `payload` at `offset` of its direction's stream; it acknowledges
    /// everything the other side has sent so far.
    pub fn send(&mut self, from_server: bool, offset: u32, payload: &[u8]) {
        let side = usize::from(from_server);
        let seq = self.start[side].wrapping_add(offset);
        self.packet(from_server, seq, TcpFlags::ACK, payload);
        let end = offset.wrapping_add(payload.len() as u32);
        self.sent[side] = self.sent[side].max(end);
    }

    /// Both sides close (FIN from the client, then from the server).
    pub fn close(&mut self) {
        let (client_end, server_end) = (self.sent[0], self.sent[1]);
        self.packet(
            false,
            self.start[0].wrapping_add(client_end),
            TcpFlags::FIN_ACK,
            &[],
        );
        self.packet(
            true,
            self.start[1].wrapping_add(server_end),
            TcpFlags::FIN_ACK,
            &[],
        );
    }

    /// Ends the capture here and returns the evidence.
    pub fn finish(mut self) -> Evidence {
        self.engine.finish();
        self.engine.take_evidence()
    }

    fn packet(&mut self, from_server: bool, seq: u32, flags: TcpFlags, payload: &[u8]) {
        self.frame += 1;
        let side = usize::from(from_server);
        let (src, dst) = if from_server {
            ((SERVER_IP, self.server_port), CLIENT)
        } else {
            (CLIENT, (SERVER_IP, self.server_port))
        };
        let ack = if flags.ack {
            self.start[1 - side].wrapping_add(self.sent[1 - side])
        } else {
            0
        };
        let segment = TcpSegment {
            src_port: src.1,
            dst_port: dst.1,
            seq,
            ack,
            flags,
            payload,
        };
        let packet = Packet::between(src.0.into(), dst.0.into(), Transport::Tcp(segment));
        let at = FrameRef {
            source: 0,
            frame: self.frame,
            ts_us: 1_700_000_000_000_000 + self.frame as i64 * 1000,
        };
        self.engine.process(at, &packet, payload.len() as u64 + 54);
    }
}
