//! The packet source of a live capture: one network interface through libpcap.
//!
//! The interface is opened promiscuous (a mirror port delivers other hosts' traffic), with
//! immediate mode off (the kernel hands packets over a buffer at a time, which is what keeps up
//! with a busy link), the snapshot length and kernel buffer the operator gave, a read timeout so
//! non-blocking reads so the capture loop can look at its signals when the link is silent, and
//! a BPF filter run in the kernel. Timestamps are libpcap's default, the kernel's, in microseconds.
//!
//! Passive by construction: nothing here or anywhere in the live capture sends a packet (the
//! `sendpacket` call of libpcap is never made). Not done here: decoding, sharding, statistics
//! beyond libpcap's counters.

use anyhow::{Context, Result};
use dissectors::link::LinkType;
use pcap::{Active, Capture};

/// The default BPF filter: TCP on any port, since recognition by content finds the OT
/// protocols on ports other than their own (502 Modbus, 102 S7, 44818 and 2221 EtherNet/IP,
/// 4840 OPC UA, ...), plus the UDP ports whose datagrams are analysed (44818 ListIdentity, 2222
/// implicit I/O, 2221 secure EtherNet/IP), tagged or not. On a busy mixed link,
/// [`OT_PORTS_FILTER`] trades the protocols on unusual ports for less work.
pub const DEFAULT_FILTER: &str = "(tcp or udp port 44818 or udp port 2222 or udp port 2221) \
     or (vlan and (tcp or udp port 44818 or udp port 2222 or udp port 2221))";

/// A narrower filter for `--filter`: only the OT protocols' own ports.
pub const OT_PORTS_FILTER: &str = "port 502 or port 802 or port 102 or port 44818 or port 2222 \
     or port 2221 or port 4840 or (vlan and (port 502 or port 802 or port 102 or port 44818 \
     or port 2222 or port 2221 or port 4840))";

/// How long the kernel waits for a buffer block to fill before handing over what it has.
/// Bounds how late a packet reaches the workers on a quiet link.
pub const READ_TIMEOUT_MS: i32 = 100;

/// How long [`Source::next`] sleeps when no packet is ready. Reads are non-blocking because
/// libpcap's Linux memory-mapped reader waits without any time limit while no packet arrives
/// at all, which would leave signals unanswered on a silent link.
pub const IDLE_SLEEP: std::time::Duration = std::time::Duration::from_millis(10);

/// How to open the interface.
#[derive(Clone, Debug)]
pub struct SourceOptions {
    pub interface: String,
    pub filter: String,
    /// Bytes kept of each packet.
    pub snaplen: i32,
    /// Kernel buffer, bytes.
    pub buffer_bytes: i32,
}

/// Libpcap's counters since the interface was opened; they wrap at 2^32 (see [`wrapping_add`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    pub received: u32,
    pub dropped: u32,
    pub if_dropped: u32,
}

/// An open interface.
pub struct Source {
    capture: Capture<Active>,
    link: LinkType,
}

/// One packet as the source hands it over; `data` borrows libpcap's buffer.
pub struct Frame<'a> {
    pub ts_us: i64,
    pub orig_len: u32,
    pub data: &'a [u8],
}

impl Source {
    /// Opens `options.interface` and installs the filter.
    ///
    /// # Errors
    ///
    /// The interface does not exist, the process may not capture (it needs CAP_NET_RAW), or the
    /// filter does not compile; each names the interface and the cause.
    pub fn open(options: &SourceOptions) -> Result<Source> {
        let interface = &options.interface;
        let mut capture = Capture::from_device(interface.as_str())
            .with_context(|| format!("interface {interface}"))?
            .promisc(true)
            .immediate_mode(false)
            .snaplen(options.snaplen)
            .buffer_size(options.buffer_bytes)
            .timeout(READ_TIMEOUT_MS)
            .open()
            .with_context(|| {
                format!(
                    "cannot capture on {interface} \
                     (does it exist? capturing needs root or CAP_NET_RAW)"
                )
            })?
            .setnonblock()
            .with_context(|| format!("non-blocking reads on {interface}"))?;
        capture
            .filter(&options.filter, true)
            .with_context(|| format!("BPF filter {:?} on {interface}", options.filter))?;

        let number = u32::try_from(capture.get_datalink().0).unwrap_or(u32::MAX);
        Ok(Source {
            capture,
            link: LinkType::from_number(number),
        })
    }

    /// The interface's link type.
    pub fn link(&self) -> LinkType {
        self.link
    }

    /// The next packet, `Ok(None)` (after sleeping [`IDLE_SLEEP`]) when none is ready.
    ///
    /// # Errors
    ///
    /// Libpcap reports the interface gone or another read failure.
    // `time_t` and `suseconds_t` are not 64-bit everywhere libpcap runs.
    #[allow(clippy::useless_conversion)]
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, pcap::Error> {
        match self.capture.next_packet() {
            Ok(packet) => {
                let ts = packet.header.ts;
                let ts_us = i64::from(ts.tv_sec)
                    .saturating_mul(1_000_000)
                    .saturating_add(i64::from(ts.tv_usec));
                Ok(Some(Frame {
                    ts_us,
                    orig_len: packet.header.len,
                    data: packet.data,
                }))
            }
            Err(pcap::Error::TimeoutExpired) => {
                std::thread::sleep(IDLE_SLEEP);
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Libpcap's counters, `None` when it cannot give them.
    pub fn stats(&mut self) -> Option<KernelStats> {
        self.capture.stats().ok().map(|s| KernelStats {
            received: s.received,
            dropped: s.dropped,
            if_dropped: s.if_dropped,
        })
    }
}

/// Adds the growth of a 32-bit counter that may have wrapped since `previous` to `total`.
pub fn wrapping_add(total: u64, previous: u32, now: u32) -> u64 {
    total.saturating_add(u64::from(now.wrapping_sub(previous)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_survive_wrapping() {
        assert_eq!(wrapping_add(10, 5, 8), 13);
        assert_eq!(wrapping_add(10, u32::MAX - 1, 3), 15);
        assert_eq!(wrapping_add(0, 7, 7), 0);
    }

    #[test]
    fn default_filters_compile() {
        for filter in [DEFAULT_FILTER, OT_PORTS_FILTER] {
            let dead = Capture::dead(pcap::Linktype::ETHERNET);
            let compiled = dead.and_then(|d| d.compile(filter, true));
            assert!(compiled.is_ok(), "{filter}: {:?}", compiled.err());
        }
    }
}
