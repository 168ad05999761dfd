//! The Modbus/TCP dissector: framing ADUs off a reassembled byte stream with
//! `dissectors::modbus::frame_adu`, then decoding each PDU with `parse_request` or
//! `parse_response`, as the pipeline does for each direction of a connection.
//!
//! Each input is one contiguous byte stream of ADUs, built once before measuring: either one
//! shape repeated (FC 3 reads, FC 16 writes of 10 and 123 registers, FC 15, FC 5, FC 6) or a
//! polling mix of all of them. Every input is measured twice: in bytes/s (groups
//! `modbus_request`, `modbus_response`) and in PDUs/s (groups `modbus_request_pdus`,
//! `modbus_response_pdus`), because a 259-byte write and a 12-byte read cost about the same
//! per PDU and very different amounts per byte. `mix_frame_only` frames without parsing, to
//! split the cost between the MBAP header and the PDU.

use std::hint::black_box;

use benches::write_single;
use benches::{adu, exception_response, read_holding_request, read_holding_response};
use benches::{write_coils_request, write_multiple_response, write_registers_request};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use dissectors::modbus::{frame_adu, parse_request, parse_response, Framing};

/// ADUs in each single-shape input.
const SHAPE_ADUS: usize = 1024;

/// Polling cycles in the mixed input.
const MIX_CYCLES: usize = 200;

/// Unit id of the simulated PLC (0xFF: the server is the device itself).
const UNIT: u8 = 0xFF;

/// One byte stream of whole ADUs and how many ADUs it holds.
struct Input {
    name: &'static str,
    bytes: Vec<u8>,
    adus: u64,
}

impl Input {
    /// `pdus` wrapped in ADUs with increasing transaction ids, the whole list `repeat` times.
    fn new(name: &'static str, pdus: &[Vec<u8>], repeat: usize) -> Input {
        let mut bytes = Vec::new();
        let mut transaction_id = 0u16;
        for _ in 0..repeat {
            for pdu in pdus {
                transaction_id = transaction_id.wrapping_add(1);
                bytes.extend_from_slice(&adu(transaction_id, UNIT, pdu));
            }
        }
        let adus = (pdus.len() * repeat) as u64;
        Input { name, bytes, adus }
    }
}

/// One polling cycle of a SCADA master, client to server: four reads of different sizes,
/// then the writes an operator or a recipe download makes.
fn request_cycle() -> Vec<Vec<u8>> {
    vec![
        read_holding_request(0, 10),       // FC 3, status words
        read_holding_request(100, 32),     // FC 3, analogue inputs
        read_holding_request(200, 64),     // FC 3, counters
        read_holding_request(1000, 125),   // FC 3, a whole block
        write_registers_request(300, 10),  // FC 16, set points
        write_registers_request(400, 123), // FC 16, recipe download
        write_coils_request(16, 20),       // FC 15, valve bank
        write_single(5, 3, 0xFF00),        // FC 5, pump on
        write_single(6, 40, 1234),         // FC 6, one set point
    ]
}

/// The server's answers to [`request_cycle`], in order.
fn response_cycle(fc6_refused: bool) -> Vec<Vec<u8>> {
    let fc6 = if fc6_refused {
        exception_response(6, 2) // FC 6 refused: illegal data address
    } else {
        write_single(6, 40, 1234) // FC 6 echo
    };
    vec![
        read_holding_response(10),             // FC 3, 10 registers
        read_holding_response(32),             // FC 3, 32 registers
        read_holding_response(64),             // FC 3, 64 registers
        read_holding_response(125),            // FC 3, 125 registers
        write_multiple_response(16, 300, 10),  // FC 16 done
        write_multiple_response(16, 400, 123), // FC 16 done
        write_multiple_response(15, 16, 20),   // FC 15 done
        write_single(5, 3, 0xFF00),            // FC 5 echo
        fc6,
    ]
}

fn request_inputs() -> Vec<Input> {
    let mut mix = Vec::new();
    for _ in 0..MIX_CYCLES {
        mix.extend(request_cycle());
    }
    vec![
        Input::new("fc3_read", &[read_holding_request(0, 125)], SHAPE_ADUS),
        Input::new(
            "fc16_write_10",
            &[write_registers_request(300, 10)],
            SHAPE_ADUS,
        ),
        Input::new(
            "fc16_write_123",
            &[write_registers_request(400, 123)],
            SHAPE_ADUS,
        ),
        Input::new("fc15_write_20", &[write_coils_request(16, 20)], SHAPE_ADUS),
        Input::new("fc5_write_coil", &[write_single(5, 3, 0xFF00)], SHAPE_ADUS),
        Input::new(
            "fc6_write_register",
            &[write_single(6, 40, 1234)],
            SHAPE_ADUS,
        ),
        Input::new("mix", &mix, 1),
    ]
}

fn response_inputs() -> Vec<Input> {
    // One cycle in four has its FC 6 write refused, so exceptions are in the mix.
    let mut mix = Vec::new();
    for cycle in 0..MIX_CYCLES {
        mix.extend(response_cycle(cycle % 4 == 3));
    }
    vec![
        Input::new("fc3_read_10", &[read_holding_response(10)], SHAPE_ADUS),
        Input::new("fc3_read_125", &[read_holding_response(125)], SHAPE_ADUS),
        Input::new(
            "fc16_write",
            &[write_multiple_response(16, 400, 123)],
            SHAPE_ADUS,
        ),
        Input::new(
            "fc15_write",
            &[write_multiple_response(15, 16, 20)],
            SHAPE_ADUS,
        ),
        Input::new("fc5_write_coil", &[write_single(5, 3, 0xFF00)], SHAPE_ADUS),
        Input::new(
            "fc6_write_register",
            &[write_single(6, 40, 1234)],
            SHAPE_ADUS,
        ),
        Input::new("exception", &[exception_response(6, 2)], SHAPE_ADUS),
        Input::new("mix", &mix, 1),
    ]
}

/// Parses a request PDU; whether it parsed. The result is kept from the optimiser.
#[inline]
fn request_ok(pdu: &[u8]) -> bool {
    black_box(parse_request(pdu)).is_ok()
}

/// Parses a response PDU; whether it parsed. The result is kept from the optimiser.
#[inline]
fn response_ok(pdu: &[u8]) -> bool {
    black_box(parse_response(pdu)).is_ok()
}

/// Frames every ADU of `stream` and parses its PDU with `parse`; returns the PDUs that parsed.
#[inline]
fn frame_and_parse(stream: &[u8], parse: impl Fn(&[u8]) -> bool) -> u64 {
    let mut rest = stream;
    let mut parsed = 0;
    while let Framing::Adu { adu, consumed } = frame_adu(rest) {
        parsed += u64::from(parse(adu.pdu));
        rest = &rest[consumed..];
    }
    parsed
}

/// Frames every ADU of `stream` without looking at the PDUs; returns how many there were.
#[inline]
fn frame_only(stream: &[u8]) -> u64 {
    let mut rest = stream;
    let mut framed = 0;
    while let Framing::Adu { adu, consumed } = frame_adu(rest) {
        black_box(adu);
        framed += 1;
        rest = &rest[consumed..];
    }
    framed
}

/// Adds one bench per input to `group`, with the throughput `per_input` gives each.
fn bench_inputs(
    group: &mut BenchmarkGroup<'_, WallTime>,
    inputs: &[Input],
    per_input: fn(&Input) -> Throughput,
    parse: impl Fn(&[u8]) -> bool + Copy,
) {
    for input in inputs {
        // A bench of error paths would measure the wrong thing: every PDU must parse.
        assert_eq!(
            frame_and_parse(&input.bytes, parse),
            input.adus,
            "{}",
            input.name
        );
        group.throughput(per_input(input));
        group.bench_function(input.name, |b| {
            b.iter(|| frame_and_parse(black_box(&input.bytes), parse))
        });
    }
}

/// The mixed input once more, framing only.
fn bench_frame_only(group: &mut BenchmarkGroup<'_, WallTime>, mix: &Input, t: Throughput) {
    assert_eq!(frame_only(&mix.bytes), mix.adus);
    group.throughput(t);
    group.bench_function("mix_frame_only", |b| {
        b.iter(|| frame_only(black_box(&mix.bytes)))
    });
}

fn bytes(input: &Input) -> Throughput {
    Throughput::Bytes(input.bytes.len() as u64)
}

fn pdus(input: &Input) -> Throughput {
    Throughput::Elements(input.adus)
}

fn requests(c: &mut Criterion) {
    let inputs = request_inputs();
    let mix = inputs.last().expect("the mix is the last input");

    let mut group = c.benchmark_group("modbus_request");
    bench_inputs(&mut group, &inputs, bytes, request_ok);
    bench_frame_only(&mut group, mix, bytes(mix));
    group.finish();

    let mut group = c.benchmark_group("modbus_request_pdus");
    bench_inputs(&mut group, &inputs, pdus, request_ok);
    bench_frame_only(&mut group, mix, pdus(mix));
    group.finish();
}

fn responses(c: &mut Criterion) {
    let inputs = response_inputs();

    let mut group = c.benchmark_group("modbus_response");
    bench_inputs(&mut group, &inputs, bytes, response_ok);
    group.finish();

    let mut group = c.benchmark_group("modbus_response_pdus");
    bench_inputs(&mut group, &inputs, pdus, response_ok);
    group.finish();
}

criterion_group!(benches, requests, responses);
criterion_main!(benches);
