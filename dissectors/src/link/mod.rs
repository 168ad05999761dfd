//! Link, network and transport decoding of one captured frame.
//!
//! [`decode`] turns a frame of a given pcap link type into a [`Packet`]: MAC addresses and the
//! outer VLAN id when the link has them, the IP endpoints, and a TCP or UDP view whose payload
//! borrows from the frame. It accepts Ethernet II (with 802.1Q and QinQ tags), Linux cooked
//! capture v1 and v2, raw IPv4/IPv6 and BSD loopback/null framing; IPv6 extension headers are
//! skipped by etherparse.
//!
//! Checksums are not verified: mirror ports and capture hosts with offload produce many frames
//! whose checksums are wrong on the wire copy, and such frames still carry real traffic. IP
//! fragments are reported as [`Transport::Fragment`] and not reassembled; OT protocols over TCP
//! almost never fragment, and the caller counts them.

use std::net::IpAddr;

mod fast;

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, LinkSlice, TransportSlice};

/// pcap/pcapng link-layer header types (LINKTYPE_* values) that [`decode`] understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// BSD loopback: 4-byte address family in host byte order (LINKTYPE_NULL, 0).
    Null,
    /// Ethernet II, possibly VLAN-tagged (1).
    Ethernet,
    /// Raw IP, version taken from the first nibble (101, and the historical 12 and 14).
    Raw,
    /// OpenBSD loopback: 4-byte address family in network byte order (108).
    Loop,
    /// Linux cooked capture v1 (113).
    LinuxSll,
    /// Raw IPv4 (228).
    Ipv4,
    /// Raw IPv6 (229).
    Ipv6,
    /// Linux cooked capture v2 (276).
    LinuxSll2,
    /// Any other link type; frames of it are counted, not decoded.
    Other(u32),
}

impl LinkType {
    /// Maps a LINKTYPE_* number from a capture file header.
    pub fn from_number(n: u32) -> LinkType {
        match n {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            other => LinkType::Other(other),
        }
    }
}

/// A decoded frame: who talks to whom, and the transport payload, all borrowed from the frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    /// Outer 802.1Q VLAN id when the frame is tagged.
    pub vlan: Option<u16>,
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    pub transport: Transport<'a>,
}

impl<'a> Packet<'a> {
    /// A packet between two addresses with no link-layer facts (no MACs, no VLAN), as tests,
    /// fuzzers and benchmarks build them.
    pub fn between(src_ip: IpAddr, dst_ip: IpAddr, transport: Transport<'a>) -> Packet<'a> {
        Packet {
            src_mac: None,
            dst_mac: None,
            vlan: None,
            src_ip,
            dst_ip,
            transport,
        }
    }
}

/// The transport layer of a [`Packet`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport<'a> {
    Tcp(TcpSegment<'a>),
    Udp {
        src_port: u16,
        dst_port: u16,
        payload: &'a [u8],
    },
    /// A non-first IP fragment, or a first fragment whose transport header is cut.
    Fragment,
    /// Another IP protocol (ICMP, …), by IP protocol number.
    Other(u8),
}

/// The fields of a TCP segment that reassembly needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub payload: &'a [u8],
}

/// TCP control bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

impl TcpFlags {
    /// The first segment of a connection.
    pub const SYN: TcpFlags = TcpFlags {
        syn: true,
        ack: false,
        fin: false,
        rst: false,
    };
    /// The server's answer to it.
    pub const SYN_ACK: TcpFlags = TcpFlags {
        ack: true,
        ..TcpFlags::SYN
    };
    /// Every later segment.
    pub const ACK: TcpFlags = TcpFlags {
        syn: false,
        ack: true,
        fin: false,
        rst: false,
    };
    /// The last segment of one side.
    pub const FIN_ACK: TcpFlags = TcpFlags {
        fin: true,
        ..TcpFlags::ACK
    };
}

/// Why a frame could not be decoded down to IP.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("link: frame of {len} bytes is shorter than the {needed}-byte {layer} header")]
    Truncated {
        layer: &'static str,
        len: usize,
        needed: usize,
    },
    #[error("link: ethertype 0x{0:04x} carries no IP")]
    NotIp(u16),
    #[error("link: address family {0} carries no IP")]
    NotIpFamily(u32),
    #[error("link: link type {0} is not supported")]
    UnsupportedLink(u32),
    #[error("link: {0}")]
    Malformed(String),
}

const SLL_LEN: usize = 16;
const SLL2_LEN: usize = 20;
const NULL_LEN: usize = 4;

/// Decodes one frame of link type `link`.
///
/// # Errors
/// [`DecodeError`] when the frame is too short for its link header, carries no IP (ARP, LLDP,
/// PROFINET …), or the IP header itself is unreadable.
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Packet<'_>, DecodeError> {
    if link == LinkType::Ethernet {
        if let Some(packet) = fast::ethernet(frame) {
            return Ok(packet);
        }
    }
    decode_general(link, frame)
}

/// The fast path of [`decode`] alone, for Ethernet frames: `None` where it declines. Public so
/// that tests can count what it takes.
#[doc(hidden)]
pub fn decode_fast(frame: &[u8]) -> Option<Packet<'_>> {
    fast::ethernet(frame)
}

/// [`decode`] without its fast path: every frame through etherparse. Public so that tests can
/// show, frame by frame over real captures, that the fast path changes nothing.
#[doc(hidden)]
pub fn decode_general(link: LinkType, frame: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let sliced = match link {
        LinkType::Ethernet => {
            LaxSlicedPacket::from_ethernet(frame).map_err(|_| DecodeError::Truncated {
                layer: "Ethernet",
                len: frame.len(),
                needed: 14,
            })?
        }
        LinkType::LinuxSll => {
            let header = need(frame, SLL_LEN, "Linux cooked")?;
            let ether_type = u16::from_be_bytes([header[14], header[15]]);
            LaxSlicedPacket::from_ether_type(EtherType(ether_type), &frame[SLL_LEN..])
        }
        LinkType::LinuxSll2 => {
            let header = need(frame, SLL2_LEN, "Linux cooked v2")?;
            let ether_type = u16::from_be_bytes([header[0], header[1]]);
            LaxSlicedPacket::from_ether_type(EtherType(ether_type), &frame[SLL2_LEN..])
        }
        LinkType::Null | LinkType::Loop => {
            let header = need(frame, NULL_LEN, "loopback")?;
            let raw = [header[0], header[1], header[2], header[3]];
            let family = if link == LinkType::Null {
                // Written in the capturing host's byte order; families are small numbers, so
                // whichever reading gives a small value is the right one.
                let le = u32::from_le_bytes(raw);
                if le < 0x1_0000 {
                    le
                } else {
                    u32::from_be_bytes(raw)
                }
            } else {
                u32::from_be_bytes(raw)
            };
            match family {
                // AF_INET everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
                2 | 24 | 28 | 30 => from_ip(&frame[NULL_LEN..])?,
                other => return Err(DecodeError::NotIpFamily(other)),
            }
        }
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => from_ip(frame)?,
        LinkType::Other(n) => return Err(DecodeError::UnsupportedLink(n)),
    };
    packet_from(sliced)
}

fn need<'a>(frame: &'a [u8], needed: usize, layer: &'static str) -> Result<&'a [u8], DecodeError> {
    if frame.len() < needed {
        return Err(DecodeError::Truncated {
            layer,
            len: frame.len(),
            needed,
        });
    }
    Ok(&frame[..needed])
}

fn from_ip(data: &[u8]) -> Result<LaxSlicedPacket<'_>, DecodeError> {
    LaxSlicedPacket::from_ip(data).map_err(|e| DecodeError::Malformed(e.to_string()))
}

fn packet_from(sliced: LaxSlicedPacket<'_>) -> Result<Packet<'_>, DecodeError> {
    let (src_mac, dst_mac) = match &sliced.link {
        Some(LinkSlice::Ethernet2(eth)) => (Some(eth.source()), Some(eth.destination())),
        _ => (None, None),
    };
    let vlan = sliced.vlan_ids().first().map(|id| id.value());

    let net = match &sliced.net {
        Some(net) => net,
        None => {
            let ether_type = sliced.ether_payload().map(|p| p.ether_type.0).unwrap_or(0);
            return Err(match &sliced.stop_err {
                Some((err, _)) if ether_type == 0x0800 || ether_type == 0x86dd => {
                    DecodeError::Malformed(err.to_string())
                }
                _ => DecodeError::NotIp(ether_type),
            });
        }
    };
    let (src_ip, dst_ip, payload) = match net {
        LaxNetSlice::Ipv4(ip) => (
            IpAddr::V4(ip.header().source_addr()),
            IpAddr::V4(ip.header().destination_addr()),
            ip.payload(),
        ),
        LaxNetSlice::Ipv6(ip) => (
            IpAddr::V6(ip.header().source_addr()),
            IpAddr::V6(ip.header().destination_addr()),
            ip.payload(),
        ),
        LaxNetSlice::Arp(_) => return Err(DecodeError::NotIp(0x0806)),
    };

    let transport = match &sliced.transport {
        Some(TransportSlice::Tcp(tcp)) => Transport::Tcp(TcpSegment {
            src_port: tcp.source_port(),
            dst_port: tcp.destination_port(),
            seq: tcp.sequence_number(),
            ack: tcp.acknowledgment_number(),
            flags: TcpFlags {
                syn: tcp.syn(),
                ack: tcp.ack(),
                fin: tcp.fin(),
                rst: tcp.rst(),
            },
            payload: tcp.payload(),
        }),
        Some(TransportSlice::Udp(udp)) => Transport::Udp {
            src_port: udp.source_port(),
            dst_port: udp.destination_port(),
            payload: udp.payload(),
        },
        _ if payload.fragmented => Transport::Fragment,
        _ => match payload.ip_number.0 {
            6 | 17 => Transport::Fragment,
            other => Transport::Other(other),
        },
    };

    Ok(Packet {
        src_mac,
        dst_mac,
        vlan,
        src_ip,
        dst_ip,
        transport,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet II + 802.1Q (VLAN 100) + IPv4 + TCP 1234 → 502 with a 3-byte payload.
    #[rustfmt::skip]
    const VLAN_TCP: &[u8] = &[
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55,             // destination MAC
        0x02, 0x00, 0x0a, 0x00, 0x00, 0x01,             // source MAC
        0x81, 0x00, 0x00, 0x64,                         // 802.1Q, VLAN 100
        0x08, 0x00,                                     // IPv4
        0x45, 0x00, 0x00, 0x2b,                         // v4, IHL 5, total length 43
        0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, // id, DF, TTL 64, TCP, checksum 0
        0x0a, 0x00, 0x00, 0x01,                         // 10.0.0.1
        0x0a, 0x00, 0x00, 0x02,                         // 10.0.0.2
        0x04, 0xd2, 0x01, 0xf6,                         // ports 1234 → 502
        0x00, 0x00, 0x00, 0x64,                         // seq 100
        0x00, 0x00, 0x00, 0xc8,                         // ack 200
        0x50, 0x18, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, // offset 5, PSH ACK, window, csum, urg
        0xaa, 0xbb, 0xcc,                               // payload
    ];

    #[test]
    fn ethernet_vlan_tcp() {
        let packet = decode(LinkType::Ethernet, VLAN_TCP).unwrap();
        assert_eq!(packet.vlan, Some(100));
        assert_eq!(packet.src_mac, Some([0x02, 0x00, 0x0a, 0x00, 0x00, 0x01]));
        assert_eq!(packet.src_ip, "10.0.0.1".parse::<IpAddr>().unwrap());
        let Transport::Tcp(tcp) = packet.transport else {
            panic!("not TCP: {:?}", packet.transport)
        };
        assert_eq!(
            (tcp.src_port, tcp.dst_port, tcp.seq, tcp.ack),
            (1234, 502, 100, 200)
        );
        assert!(tcp.flags.ack && !tcp.flags.syn);
        assert_eq!(tcp.payload, &[0xaa, 0xbb, 0xcc]);
    }

    #[test]
    fn null_and_raw_framing_reach_the_same_tcp_segment() {
        let ip = &VLAN_TCP[18..];
        let mut null = vec![2, 0, 0, 0];
        null.extend_from_slice(ip);
        let mut sll2 = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 4, 6, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        sll2.extend_from_slice(ip);
        for (link, frame) in [
            (LinkType::Null, &null[..]),
            (LinkType::Raw, ip),
            (LinkType::LinuxSll2, &sll2[..]),
        ] {
            let packet = decode(link, frame).unwrap();
            assert_eq!(packet.vlan, None);
            assert!(matches!(packet.transport, Transport::Tcp(t) if t.payload.len() == 3));
        }
    }

    #[test]
    fn every_truncation_is_an_error_or_a_shorter_payload() {
        for cut in 0..VLAN_TCP.len() {
            if let Ok(packet) = decode(LinkType::Ethernet, &VLAN_TCP[..cut]) {
                if let Transport::Tcp(tcp) = packet.transport {
                    assert!(tcp.payload.len() < 3);
                }
            }
        }
    }

    /// Frames of every shape the fast path takes or refuses, each cut at every length: the
    /// fast path and the general one must agree on all of them.
    #[test]
    fn the_fast_path_agrees_with_the_general_one() {
        let ip = &VLAN_TCP[18..];
        let untagged: Vec<u8> = [&VLAN_TCP[..12], &[0x08, 0x00], ip].concat();
        let mut fragment = untagged.clone();
        fragment[14 + 6] = 0x20; // more fragments
        let mut options = untagged.clone();
        options[14] = 0x46; // IHL 6: four option bytes, taken from the TCP header
        let mut padded = untagged.clone();
        padded.extend_from_slice(&[0; 6]); // Ethernet trailer beyond the IP total length
        let mut udp = untagged.clone();
        udp[14 + 9] = 17;
        udp[34 + 4..34 + 6].copy_from_slice(&23u16.to_be_bytes()); // 8 + 15 payload bytes
        let mut udp_long = udp.clone();
        udp_long[34 + 4..34 + 6].copy_from_slice(&40u16.to_be_bytes());
        let mut ipv6: Vec<u8> = [&VLAN_TCP[..12], &[0x86, 0xdd]].concat();
        ipv6.extend_from_slice(&[0x60, 0, 0, 0, 0, 23, 6, 64]); // payload 23, next header TCP
        ipv6.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        ipv6.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        ipv6.extend_from_slice(&VLAN_TCP[38..]);
        let mut qinq = VLAN_TCP[..12].to_vec();
        qinq.extend_from_slice(&[0x88, 0xa8, 0x00, 0x0a]);
        qinq.extend_from_slice(&VLAN_TCP[12..]);

        let frames = [
            VLAN_TCP.to_vec(),
            untagged,
            fragment,
            options,
            padded,
            udp,
            udp_long,
            ipv6,
            qinq,
        ];
        for (n, frame) in frames.iter().enumerate() {
            for cut in 0..=frame.len() {
                let part = &frame[..cut];
                assert_eq!(
                    decode(LinkType::Ethernet, part),
                    decode_general(LinkType::Ethernet, part),
                    "frame {n} cut to {cut} bytes"
                );
            }
        }
    }

    #[test]
    fn non_ip_frames_are_named() {
        let mut arp = VLAN_TCP[..12].to_vec();
        arp.extend_from_slice(&[0x88, 0x92, 0xfe, 0xfe]);
        assert_eq!(
            decode(LinkType::Ethernet, &arp),
            Err(DecodeError::NotIp(0x8892))
        );
        assert_eq!(
            decode(LinkType::Other(147), &arp),
            Err(DecodeError::UnsupportedLink(147))
        );
    }
}
