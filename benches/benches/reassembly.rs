//! TCP reassembly of one direction: `analytics::reassembly::Stream` fed the segments of a
//! stream of records, with a consumer that frames them as the Modbus session does.
//!
//! The records are the two ends of the Modbus/TCP size range, alternating: a 12-byte FC 3
//! request and a 260-byte ADU, the largest the MBAP length allows. The consumer cuts whole
//! ADUs off each chunk with `frame_adu` and leaves a partial one to the stream, so a record
//! split across segments goes through the stream's pending buffer, and one held out of order
//! through its out-of-order list. Shapes (group `reassembly`, bytes/s of payload):
//!
//! - `in_order`: one segment per record, in order; the zero-copy path;
//! - `split`: two segments per record, in order; every record is completed in the buffer;
//! - `swapped_pairs`: one segment per record, each pair of records arriving second-first;
//! - `split_swapped`: two segments per record, the second half arriving before the first.
//!
//! Segments are computed once; each iteration runs a fresh `Stream` from SYN to `finish`.

use std::hint::black_box;
use std::ops::Range;

use analytics::reassembly::{Chunk, Limits, Stream};
use benches::{adu, read_holding_request};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dissectors::modbus::{frame_adu, Framing};

/// Records in the stream: half of 12 bytes, half of 260.
const RECORDS: usize = 1024;

/// Initial sequence number, close enough to 2^32 that the stream wraps around, as real
/// streams do; wrapping costs nothing extra, but the bench should not avoid the case.
const ISN: u32 = u32::MAX - 10_000;

/// One segment: its sequence number and the bytes of the stream it carries.
type Segment = (u32, Range<usize>);

/// The stream: records alternating 12 and 260 bytes, and the range of each record.
fn records() -> (Vec<u8>, Vec<Range<usize>>) {
    // 12 bytes: MBAP (7) + FC 3, starting address, quantity.
    let small = read_holding_request(0, 10);
    // 260 bytes: MBAP (7) + FC 8, sub-function 0 (Return Query Data), 250 bytes of data.
    let mut large = vec![8, 0, 0];
    large.extend((0..250u16).map(|i| i as u8));

    let mut bytes = Vec::new();
    let mut ranges = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let pdu = if i % 2 == 0 { &small } else { &large };
        let start = bytes.len();
        bytes.extend_from_slice(&adu(i as u16, 1, pdu));
        ranges.push(start..bytes.len());
    }
    (bytes, ranges)
}

/// The segment holding `range` of the stream.
fn segment(range: Range<usize>) -> Segment {
    // Sequence numbers are taken modulo 2^32, like TCP's.
    let seq = ISN.wrapping_add(1).wrapping_add(range.start as u32);
    (seq, range)
}

/// Each record cut in two in the middle: 6 + 6 bytes (the first half ends right after the
/// MBAP length field) and 130 + 130.
fn halves(record: &Range<usize>) -> [Segment; 2] {
    let middle = record.start + record.len() / 2;
    [segment(record.start..middle), segment(middle..record.end)]
}

fn in_order(records: &[Range<usize>]) -> Vec<Segment> {
    records.iter().cloned().map(segment).collect()
}

fn split(records: &[Range<usize>]) -> Vec<Segment> {
    records.iter().flat_map(halves).collect()
}

fn swapped_pairs(records: &[Range<usize>]) -> Vec<Segment> {
    let mut segments = in_order(records);
    for pair in segments.chunks_exact_mut(2) {
        pair.swap(0, 1);
    }
    segments
}

fn split_swapped(records: &[Range<usize>]) -> Vec<Segment> {
    records
        .iter()
        .flat_map(|record| {
            let [first, second] = halves(record);
            [second, first]
        })
        .collect()
}

/// Cuts whole ADUs off `data`; returns the bytes used and counts the ADUs in `adus`.
#[inline]
fn frame_all(data: &[u8], adus: &mut u64) -> usize {
    let mut rest = data;
    while let Framing::Adu { adu, consumed } = frame_adu(rest) {
        black_box(adu);
        *adus += 1;
        rest = &rest[consumed..];
    }
    data.len() - rest.len()
}

/// Runs one direction from SYN to the end; returns the ADUs the consumer framed.
fn reassemble(bytes: &[u8], segments: &[Segment], limits: &Limits) -> u64 {
    let mut stream = Stream::default();
    let mut adus = 0;
    let mut consumer = |chunk: Chunk<'_>| match chunk {
        Chunk::Data(data) => frame_all(data, &mut adus),
        Chunk::Gap { .. } => 0,
    };

    stream.syn(ISN);
    for (seq, range) in segments {
        stream.segment(*seq, &bytes[range.clone()], limits, &mut consumer);
    }
    stream.finish(limits, &mut consumer);
    adus
}

fn reassembly(c: &mut Criterion) {
    let (bytes, records) = records();
    let limits = Limits::default();
    let shapes = [
        ("in_order", in_order(&records)),
        ("split", split(&records)),
        ("swapped_pairs", swapped_pairs(&records)),
        ("split_swapped", split_swapped(&records)),
    ];

    let mut group = c.benchmark_group("reassembly");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    for (name, segments) in &shapes {
        // Every shape must deliver every record, or it measures a gap path instead.
        assert_eq!(
            reassemble(&bytes, segments, &limits),
            RECORDS as u64,
            "{name}"
        );
        group.bench_function(*name, |b| {
            b.iter(|| reassemble(&bytes, black_box(segments), &limits))
        });
    }
    group.finish();
}

criterion_group!(benches, reassembly);
criterion_main!(benches);
