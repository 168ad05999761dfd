//! What the analytics integration tests share: a [`Feeder`] that builds TCP packets and hands
//! them to one analysis engine, numbering frames and spacing them 1 ms apart, so a test can
//! play any segmentation, order or flood without a capture file. It builds packets only; the
//! tests check what the engine made of them.

use std::net::Ipv4Addr;
use std::sync::Arc;

use analytics::attribution::Attributor;
use analytics::engine::{Counters, Engine, EngineConfig};
use analytics::evidence::{Evidence, FrameRef};
use dissectors::link::{Packet, TcpFlags, TcpSegment, Transport};

/// One engine fed packet by packet.
pub struct Feeder {
    engine: Engine,
    frame: u64,
}

impl Feeder {
    /// An engine with `config`, no identity map, and one input named `source`.
    pub fn new(config: EngineConfig, source: &str) -> Feeder {
        let names: Arc<[String]> = vec![source.to_owned()].into();
        Feeder {
            engine: Engine::new(config, Attributor::default(), names),
            frame: 0,
        }
    }

    /// Feeds one TCP segment from `src` to `dst` as the next frame.
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &mut self,
        src: (Ipv4Addr, u16),
        dst: (Ipv4Addr, u16),
        seq: u32,
        ack: u32,
        flags: TcpFlags,
        payload: &[u8],
    ) {
        self.frame += 1;
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

    /// Ends the capture here: the evidence and the engine's counters.
    pub fn finish(mut self) -> (Evidence, Counters) {
        self.engine.finish();
        let evidence = self.engine.take_evidence();
        (evidence, self.engine.counters().clone())
    }
}
