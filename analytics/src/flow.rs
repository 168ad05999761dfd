//! Flow keys: which packets belong to the same conversation, whichever way they travel.
//!
//! A [`FlowKey`] orders its two endpoints so that both directions of a conversation give the
//! same key; [`FlowKey::shard`] hashes it with a fixed (unkeyed) hash, so every run, every
//! thread count and the live and offline paths send a flow to the same worker. The key includes
//! the outer VLAN id: the same addresses on two VLANs are two networks. The flow table itself,
//! with its bounds and timeouts, lives in [`crate::engine`].

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

/// The TCP ports of the protocols OT Witness dissects, server side. Used to tell client from
/// server when a capture starts after the handshake.
pub const SERVER_PORTS: &[u16] = &[502, 802, 102, 44818, 2221, 4840];

/// A direction-free identifier of a transport conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub lower: (IpAddr, u16),
    pub upper: (IpAddr, u16),
    pub vlan: Option<u16>,
    pub ip_proto: u8,
}

impl FlowKey {
    /// Builds the key of a packet from `src` to `dst`; the flag says whether `src` is the
    /// key's `lower` endpoint.
    pub fn new(
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        vlan: Option<u16>,
        ip_proto: u8,
    ) -> (FlowKey, bool) {
        let src_is_lower = src <= dst;
        let (lower, upper) = if src_is_lower { (src, dst) } else { (dst, src) };
        let key = FlowKey {
            lower,
            upper,
            vlan,
            ip_proto,
        };
        (key, src_is_lower)
    }

    /// The worker (out of `shards`) that owns this flow. Both directions agree.
    pub fn shard(&self, shards: usize) -> usize {
        if shards <= 1 {
            return 0;
        }
        let mut hasher = rustc_hash::FxHasher::default();
        self.hash(&mut hasher);
        // Fx mixes the low bits poorly for small keys; fold the high half in.
        let h = hasher.finish();
        ((h ^ (h >> 32)) % shards as u64) as usize
    }
}

/// Which way a segment travels within a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    ToServer,
    ToClient,
}

impl Direction {
    pub fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }

    pub fn reverse(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
}

/// Guesses which endpoint of a conversation first seen without its handshake is the server:
/// a known OT port wins, then the lower port (clients use ephemeral ports).
pub fn src_is_server_by_port(src_port: u16, dst_port: u16) -> bool {
    let src_known = SERVER_PORTS.contains(&src_port);
    let dst_known = SERVER_PORTS.contains(&dst_port);
    match (src_known, dst_known) {
        (true, false) => true,
        (false, true) => false,
        _ => src_port < dst_port,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_share_key_and_shard() {
        let a = ("10.0.0.1".parse().unwrap(), 40000);
        let b = ("10.0.0.2".parse().unwrap(), 502);
        let (k1, a_lower) = FlowKey::new(a, b, Some(7), 6);
        let (k2, b_lower) = FlowKey::new(b, a, Some(7), 6);
        assert_eq!(k1, k2);
        assert_ne!(a_lower, b_lower);
        for shards in 1..8 {
            assert_eq!(k1.shard(shards), k2.shard(shards));
            assert!(k1.shard(shards) < shards);
        }
        let (other_vlan, _) = FlowKey::new(a, b, Some(8), 6);
        assert_ne!(k1, other_vlan);
    }

    #[test]
    fn server_guess_prefers_known_ports() {
        assert!(!src_is_server_by_port(40000, 502));
        assert!(src_is_server_by_port(502, 40000));
        assert!(src_is_server_by_port(5020, 40000));
        assert!(!src_is_server_by_port(1024, 4840));
    }
}
