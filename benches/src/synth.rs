//! Builds the harness's large capture out of real ones: every input capture is replayed as
//! several separate sites at once.
//!
//! Each frame is brought to Ethernet II (loopback, raw IP and Linux cooked frames get a
//! synthetic Ethernet header whose addresses derive from the IP addresses). Replica `r` of a
//! capture gets its own addresses: IPv4 first octet `100 + r`, IPv6 third byte `r`, MAC second
//! byte `r`, so replicas never share a flow. Every capture is moved to start at the same
//! instant, replica `r` one millisecond after replica `r - 1`, and all frames are merged in
//! time order: the flows of every site run concurrently, as on a mirror port of a plant.
//!
//! The IPv4 header checksum is recomputed; TCP and UDP checksums are left as they were, so they
//! no longer match the rewritten addresses. Neither OT Witness nor tshark (by default) checks
//! them. Frames that are neither IPv4 nor IPv6 (ARP, PROFINET, LLDP) are kept unchanged but
//! for the MAC rewrite. Frames longer than [`SNAPLEN`] are cut to it, as a capture would.

use std::io::{self, Write};
use std::path::Path;

use dissectors::link::LinkType;
use sensor::capture::CaptureFile;

/// Snap length of the written capture.
pub const SNAPLEN: usize = 65_535;

/// Start of the synthetic capture: 2026-12-01T00:00:00Z, in µs.
const BASE_US: i64 = 1_796_083_200_000_000;

/// One frame of the synthetic capture.
pub struct Frame {
    pub ts_us: i64,
    pub data: Vec<u8>,
}

/// The frames of one input capture, as Ethernet, with times relative to its first frame.
pub struct Source {
    pub name: String,
    frames: Vec<(i64, Vec<u8>)>,
}

impl Source {
    /// Reads `path`; frames of link types that carry no IP are dropped (counted by the caller
    /// through [`Source::len`]).
    pub fn read(path: &Path) -> io::Result<Source> {
        let file = CaptureFile::open(path).map_err(|e| io::Error::other(e.to_string()))?;
        let mut frames = Vec::new();
        let mut first = None;
        for raw in file.packets() {
            let Some(ether) = to_ethernet(raw.link, raw.data) else {
                continue;
            };
            let start = *first.get_or_insert(raw.ts_us);
            frames.push((raw.ts_us - start, ether));
        }
        Ok(Source {
            name: path.display().to_string(),
            frames,
        })
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

/// All `sources`, each replayed `replicas` times as separate sites, in time order.
pub fn replicate(sources: &[Source], replicas: u8) -> Vec<Frame> {
    let total: usize = sources.iter().map(Source::len).sum::<usize>() * usize::from(replicas);
    let mut out = Vec::with_capacity(total);
    for r in 0..replicas {
        let shift = BASE_US + i64::from(r) * 1_000;
        for source in sources {
            for (rel, data) in &source.frames {
                let mut data = data.clone();
                rewrite(&mut data, r);
                out.push(Frame {
                    ts_us: shift + rel,
                    data,
                });
            }
        }
    }
    // Stable: frames of one capture keep their order when they share a timestamp.
    out.sort_by_key(|f| f.ts_us);
    out
}

/// Writes `frames` as a classic pcap (µs, Ethernet).
pub fn write_pcap(path: &Path, frames: &[Frame]) -> io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut out = io::BufWriter::with_capacity(1 << 20, file);
    out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?; // magic, µs
    out.write_all(&2u16.to_le_bytes())?; // version major
    out.write_all(&4u16.to_le_bytes())?; // version minor
    out.write_all(&0i32.to_le_bytes())?; // this zone
    out.write_all(&0u32.to_le_bytes())?; // sigfigs
    out.write_all(&(SNAPLEN as u32).to_le_bytes())?; // snaplen
    out.write_all(&1u32.to_le_bytes())?; // LINKTYPE_ETHERNET
    for frame in frames {
        let len = frame.data.len().min(SNAPLEN);
        let secs = frame.ts_us.div_euclid(1_000_000);
        let micros = frame.ts_us.rem_euclid(1_000_000);
        out.write_all(&(secs as u32).to_le_bytes())?;
        out.write_all(&(micros as u32).to_le_bytes())?;
        out.write_all(&(len as u32).to_le_bytes())?; // captured length
        out.write_all(&(frame.data.len() as u32).to_le_bytes())?; // original length
        out.write_all(&frame.data[..len])?;
    }
    out.flush()
}

/// `frame` of link type `link` as an Ethernet II frame; `None` for link types with no IP.
fn to_ethernet(link: LinkType, frame: &[u8]) -> Option<Vec<u8>> {
    let ip_at = match link {
        LinkType::Ethernet => return Some(frame.to_vec()),
        LinkType::Null | LinkType::Loop => 4,
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => 0,
        LinkType::LinuxSll => 16,
        LinkType::LinuxSll2 => 20,
        LinkType::Other(_) => return None,
    };
    let ip = frame.get(ip_at..)?;
    let ethertype: u16 = match ip.first()? >> 4 {
        4 => 0x0800,
        6 => 0x86dd,
        _ => return None,
    };
    let mut out = Vec::with_capacity(14 + ip.len());
    out.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02]); // destination MAC (locally administered)
    out.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]); // source MAC
    out.extend_from_slice(&ethertype.to_be_bytes());
    out.extend_from_slice(ip);
    Some(out)
}

/// Gives an Ethernet frame the addresses of replica `r`.
fn rewrite(frame: &mut [u8], r: u8) {
    if frame.len() < 14 {
        return;
    }
    frame[1] = r; // destination MAC, second byte
    frame[7] = r; // source MAC, second byte

    // Skip 802.1Q / QinQ tags to the ethertype that says what follows.
    let mut at = 12;
    let mut ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    while matches!(ethertype, 0x8100 | 0x88a8) && frame.len() >= at + 6 {
        at += 4;
        ethertype = u16::from_be_bytes([frame[at], frame[at + 1]]);
    }
    let ip = at + 2;
    match ethertype {
        0x0800 if frame.len() >= ip + 20 => {
            frame[ip + 12] = 100 + r; // source address, first octet
            frame[ip + 16] = 100 + r; // destination address, first octet
            let header_len = usize::from(frame[ip] & 0x0f) * 4;
            if header_len >= 20 && frame.len() >= ip + header_len {
                frame[ip + 10] = 0;
                frame[ip + 11] = 0;
                let sum = ipv4_checksum(&frame[ip..ip + header_len]);
                frame[ip + 10..ip + 12].copy_from_slice(&sum.to_be_bytes());
            }
        }
        0x86dd if frame.len() >= ip + 40 => {
            frame[ip + 8 + 2] = r; // source address, third byte
            frame[ip + 24 + 2] = r; // destination address, third byte
        }
        _ => {}
    }
}

fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_checksum_of_a_known_header() {
        // Example header with its checksum field zeroed; the checksum is 0xb861.
        let header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(ipv4_checksum(&header), 0xb861);
    }

    #[test]
    fn replicas_get_their_own_addresses_and_a_valid_header() {
        let mut frame = vec![0u8; 14 + 20];
        frame[12] = 0x08; // IPv4
        frame[14] = 0x45;
        frame[14 + 12..14 + 16].copy_from_slice(&[10, 0, 0, 1]);
        frame[14 + 16..14 + 20].copy_from_slice(&[10, 0, 0, 2]);
        rewrite(&mut frame, 3);

        assert_eq!(&frame[14 + 12..14 + 16], &[103, 0, 0, 1]);
        assert_eq!(&frame[14 + 16..14 + 20], &[103, 0, 0, 2]);
        assert_eq!(
            ipv4_checksum(&frame[14..34]),
            0,
            "a valid header sums to zero"
        );
        assert_eq!((frame[1], frame[7]), (3, 3));
    }

    #[test]
    fn loopback_frames_become_ethernet() {
        let mut null = vec![2, 0, 0, 0]; // AF_INET, host order
        null.extend_from_slice(&[0x45; 20]);
        let ether = to_ethernet(LinkType::Null, &null).unwrap();
        assert_eq!(&ether[12..14], &[0x08, 0x00]);
        assert_eq!(&ether[14..], &null[4..]);
        assert!(to_ethernet(LinkType::Other(147), &null).is_none());
    }
}
