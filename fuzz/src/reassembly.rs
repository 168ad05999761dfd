//! The TCP reassembler on arbitrary segment sequences, checked against the stream the segments
//! were cut from.
//!
//! The input is read as: a 4-byte initial sequence number, a 1-byte limit selector, a stream of
//! up to 512 bytes (its length in one byte pair), then operations until the input ends. An
//! operation is a 1-byte kind and a 2-byte little-endian argument: a segment of the stream at
//! an offset with a length (kind 0, 1: one byte each from the argument, scaled), a segment at an
//! arbitrary sequence number (kind 2: possibly far outside the stream, so wrap-around and huge
//! holes are exercised), a peer acknowledgement (kind 3) or a SYN (kind 4).
//!
//! What is checked, on every input: every byte delivered equals the stream byte at its
//! position (positions advance by delivered bytes and by the size of each gap); the buffers
//! never exceed the limits by more than one segment; and, when every segment came from the
//! stream, with the SYN first and never more than the out-of-order bound, the bytes delivered
//! are exactly the bytes the segments covered and the holes between them are reported lost.

use analytics::reassembly::{Chunk, Limits, Stream};

/// Position-checking consumer: uses every byte it is given.
struct Checker<'a> {
    truth: &'a [u8],
    /// Stream position of the next byte, or `None` once a gap of unknown size was seen.
    position: Option<u64>,
    delivered: u64,
    gaps: u64,
}

impl Checker<'_> {
    fn take(&mut self, chunk: Chunk<'_>) -> usize {
        match chunk {
            Chunk::Data(bytes) => {
                if let Some(at) = self.position {
                    // Bytes from arbitrary-sequence segments lie outside the truth: only bytes
                    // inside it are comparable.
                    let at = at as usize;
                    if let Some(want) = self.truth.get(at..at + bytes.len()) {
                        assert_eq!(bytes, want, "bytes delivered at stream offset {at}");
                    } else {
                        self.position = None;
                    }
                }
                self.position = self.position.map(|p| p + bytes.len() as u64);
                self.delivered += bytes.len() as u64;
                bytes.len()
            }
            Chunk::Gap { lost } => {
                self.gaps += 1;
                self.position = match lost {
                    0 => None,
                    n => self.position.map(|p| p + n),
                };
                0
            }
        }
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let [a, b, c, d, selector, lo, hi, rest @ ..] = data else {
        return;
    };
    let isn = u32::from_le_bytes([*a, *b, *c, *d]);
    let limits = Limits {
        max_out_of_order: 64 << (selector & 7),
        max_pending: 64 << ((selector >> 3) & 7),
    };
    let stream_len = usize::from(u16::from_le_bytes([*lo, *hi]) % 513).min(rest.len());
    let (truth, mut ops) = rest.split_at(stream_len);

    let mut stream = Stream::default();
    let mut checker = Checker {
        truth,
        position: Some(0),
        delivered: 0,
        gaps: 0,
    };
    let mut clean = true;
    let mut synced = false;
    let mut covered = vec![false; truth.len()];
    let mut largest_segment = 0usize;
    let mut sent = 0usize;
    let start = isn.wrapping_add(1);

    while let [kind, x, y, tail @ ..] = ops {
        ops = tail;
        let arg = u16::from_le_bytes([*x, *y]);
        if kind % 5 == 2 {
            // Bytes that are not the truth's may now be delivered at any position.
            checker.position = None;
        }
        let mut consume = |chunk: Chunk<'_>| checker.take(chunk);
        match kind % 5 {
            0 | 1 if !truth.is_empty() => {
                let offset = usize::from(*x) * truth.len() / 256;
                let len = (usize::from(*y) + 1).min(truth.len() - offset);
                let seq = start.wrapping_add(offset as u32);
                largest_segment = largest_segment.max(len);
                covered[offset..offset + len].fill(true);
                sent += len;
                if !synced {
                    clean = false;
                }
                stream.segment(seq, &truth[offset..offset + len], &limits, &mut consume);
            }
            2 => {
                // A segment of zeros at an arbitrary sequence number: outside the truth.
                let seq = isn.wrapping_add(u32::from(arg) << (kind >> 4));
                let zeros = [0u8; 64];
                let len = usize::from(*x % 64);
                largest_segment = largest_segment.max(len);
                clean = false;
                stream.segment(seq, &zeros[..len], &limits, &mut consume);
            }
            3 => {
                let ack = start.wrapping_add(u32::from(arg) % (truth.len() as u32 + 2));
                if !ack_is_within_covered(&covered, ack.wrapping_sub(start)) {
                    clean = false;
                }
                stream.peer_ack(ack, &limits, &mut consume);
            }
            4 => {
                if !stream.started() {
                    synced = true;
                }
                stream.syn(isn);
            }
            _ => {}
        }
        let bound = limits.max_out_of_order + 2 * (limits.max_pending + largest_segment) + 4096;
        assert!(
            stream.buffered() <= bound,
            "{} bytes buffered, bound {bound}",
            stream.buffered()
        );
    }

    stream.finish(&limits, &mut |chunk| checker.take(chunk));
    assert_eq!(
        checker.delivered,
        stream.stats().bytes,
        "delivered bytes vs stats"
    );

    if clean && synced && sent <= limits.max_out_of_order {
        // Everything came from the stream, from its start, and the out-of-order buffer could
        // hold it all: what is delivered is exactly the covered bytes, and the uncovered bytes
        // before the last covered one are reported as lost.
        let covered_bytes = covered.iter().filter(|&&c| c).count() as u64;
        let last = covered.iter().rposition(|&c| c).map_or(0, |i| i + 1);
        let holes = covered[..last].iter().filter(|&&c| !c).count() as u64;
        assert_eq!(checker.delivered, covered_bytes, "covered bytes delivered");
        assert_eq!(
            stream.stats().gap_bytes,
            holes,
            "holes reported as gap bytes"
        );
    }
}

/// Whether an acknowledgement `offset` bytes into the stream acknowledges only bytes some
/// segment carried (otherwise the reassembler rightly declares the rest lost).
fn ack_is_within_covered(covered: &[bool], offset: u32) -> bool {
    let end = (offset as usize).min(covered.len());
    covered[..end].iter().all(|&c| c)
}
