//! The common case decoded by hand: Ethernet II, at most one 802.1Q tag, IPv4 without
//! fragmentation or IPv6 without extension headers, then TCP or UDP, every length consistent.
//!
//! Nearly every frame of an OT capture has this shape, and reading its fixed offsets directly
//! costs a fraction of etherparse's general slicing. Anything else — QinQ, fragments, IPv6
//! extension headers, a length field that disagrees with the bytes captured, a truncated
//! header, a zero IPv4 total length from segmentation offload — returns `None`, and the caller
//! decodes the frame the general way. The fast path therefore never decides an odd case: its
//! results are those of the general path, which `decode_general` lets tests check frame by
//! frame.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Packet, TcpFlags, TcpSegment, Transport};

const ETHERNET_LEN: usize = 14;
const VLAN_TAG_LEN: usize = 4;
const IPV4_MIN_LEN: usize = 20;
const IPV6_LEN: usize = 40;
const TCP_MIN_LEN: usize = 20;
const UDP_LEN: usize = 8;

/// Decodes an Ethernet frame of the common shape; `None` for anything else.
pub(super) fn ethernet(frame: &[u8]) -> Option<Packet<'_>> {
    let header = frame.get(..ETHERNET_LEN)?;
    let dst_mac: [u8; 6] = header[0..6].try_into().ok()?;
    let src_mac: [u8; 6] = header[6..12].try_into().ok()?;

    let mut ether_type = u16::from_be_bytes([header[12], header[13]]);
    let mut at = ETHERNET_LEN;
    let mut vlan = None;
    if ether_type == 0x8100 {
        let tag = frame.get(at..at + VLAN_TAG_LEN)?;
        vlan = Some(u16::from_be_bytes([tag[0], tag[1]]) & 0x0fff);
        ether_type = u16::from_be_bytes([tag[2], tag[3]]);
        at += VLAN_TAG_LEN;
    }

    let (src_ip, dst_ip, protocol, payload) = match ether_type {
        0x0800 => ipv4(&frame[at..])?,
        0x86dd => ipv6(&frame[at..])?,
        _ => return None,
    };
    let transport = match protocol {
        6 => tcp(payload)?,
        17 => udp(payload)?,
        _ => return None,
    };

    Some(Packet {
        src_mac: Some(src_mac),
        dst_mac: Some(dst_mac),
        vlan,
        src_ip,
        dst_ip,
        transport,
    })
}

/// Addresses, protocol and payload of an unfragmented IPv4 packet whose lengths agree.
fn ipv4(data: &[u8]) -> Option<(IpAddr, IpAddr, u8, &[u8])> {
    let header = data.get(..IPV4_MIN_LEN)?;
    if header[0] >> 4 != 4 {
        return None;
    }
    let header_len = usize::from(header[0] & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let more_fragments = header[6] & 0x20 != 0;
    let fragment_offset = u16::from_be_bytes([header[6] & 0x1f, header[7]]);
    if header_len < IPV4_MIN_LEN
        || total_len < header_len
        || total_len > data.len()
        || more_fragments
        || fragment_offset != 0
    {
        return None;
    }
    let src = Ipv4Addr::new(header[12], header[13], header[14], header[15]);
    let dst = Ipv4Addr::new(header[16], header[17], header[18], header[19]);
    Some((
        IpAddr::V4(src),
        IpAddr::V4(dst),
        header[9],
        &data[header_len..total_len],
    ))
}

/// Addresses, protocol and payload of an IPv6 packet with no extension header.
fn ipv6(data: &[u8]) -> Option<(IpAddr, IpAddr, u8, &[u8])> {
    let header = data.get(..IPV6_LEN)?;
    if header[0] >> 4 != 6 {
        return None;
    }
    let payload_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let next_header = header[6];
    if payload_len == 0 || IPV6_LEN + payload_len > data.len() {
        return None;
    }
    let src: [u8; 16] = header[8..24].try_into().ok()?;
    let dst: [u8; 16] = header[24..40].try_into().ok()?;
    Some((
        IpAddr::V6(Ipv6Addr::from(src)),
        IpAddr::V6(Ipv6Addr::from(dst)),
        next_header,
        &data[IPV6_LEN..IPV6_LEN + payload_len],
    ))
}

fn tcp(data: &[u8]) -> Option<Transport<'_>> {
    let header = data.get(..TCP_MIN_LEN)?;
    let header_len = usize::from(header[12] >> 4) * 4;
    if header_len < TCP_MIN_LEN || header_len > data.len() {
        return None;
    }
    let flags = header[13];
    Some(Transport::Tcp(TcpSegment {
        src_port: u16::from_be_bytes([header[0], header[1]]),
        dst_port: u16::from_be_bytes([header[2], header[3]]),
        seq: u32::from_be_bytes([header[4], header[5], header[6], header[7]]),
        ack: u32::from_be_bytes([header[8], header[9], header[10], header[11]]),
        flags: TcpFlags {
            fin: flags & 0x01 != 0,
            syn: flags & 0x02 != 0,
            rst: flags & 0x04 != 0,
            ack: flags & 0x10 != 0,
        },
        payload: &data[header_len..],
    }))
}

/// A UDP datagram whose length field covers exactly the IP payload.
fn udp(data: &[u8]) -> Option<Transport<'_>> {
    let header = data.get(..UDP_LEN)?;
    let length = usize::from(u16::from_be_bytes([header[4], header[5]]));
    if length != data.len() {
        return None;
    }
    Some(Transport::Udp {
        src_port: u16::from_be_bytes([header[0], header[1]]),
        dst_port: u16::from_be_bytes([header[2], header[3]]),
        payload: &data[UDP_LEN..],
    })
}
