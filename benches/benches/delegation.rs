//! Delegation matching at plant scale: 10 000 grants, one million writes.
//!
//! The grants file is written as an operator would (TOML, parsed by `Delegations::parse`): 500
//! principals with 20 grants each, spread over the five protocols, half naming their servers,
//! with register ranges, S7 addresses, OPC UA node globs and CIP tags, some with value bounds
//! and budgets. The writes cycle through those principals, servers and targets so that every
//! status occurs: delegated, out of bounds, over budget, expired, undelegated, and writes with
//! no identity at all. Building both happens once, outside the timed closure; each iteration
//! checks all one million writes with a fresh checker (budgets start full), as one run would.
//!
//! Group `delegation` reports writes checked per second; `delegation_parse` grants parsed
//! per second (both as criterion's elements/s).

use std::fmt::Write as _;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use analytics::delegation::{DelegationChecker, Delegations};
use analytics::evidence::{
    Attribution, Category, DelegationStatus, Endpoints, FrameRef, Outcome, Protocol, SessionId,
    WriteRow,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const PRINCIPALS: u32 = 500;
const GRANTS_PER_PRINCIPAL: u32 = 20;
const WRITES: u32 = 1_000_000;
const SERVERS: u32 = 50;

/// 2026-12-01T00:00:00Z in µs: grants open around it, writes follow it.
const T0_US: i64 = 1_796_083_200_000_000;
const HOUR_US: i64 = 3_600_000_000;

fn server(n: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 1, (n / 200) as u8, (n % 200 + 10) as u8)
}

fn protocol_of(grant: u32) -> (&'static str, Protocol) {
    match grant % 5 {
        0 => ("modbus", Protocol::Modbus),
        1 => ("s7comm", Protocol::S7comm),
        2 => ("opcua", Protocol::Opcua),
        3 => ("enip", Protocol::Enip),
        _ => ("s7comm-plus", Protocol::S7commPlus),
    }
}

/// A target of grant number `grant` (the pattern) or of a write that falls under it.
fn pattern(grant: u32) -> String {
    let n = grant % 40;
    match grant % 5 {
        0 => format!("unit 1 holding {}..{}", n * 100, n * 100 + 99),
        1 => format!("DB{n}.*"),
        2 => format!("ns=2;s=Line{n}.*"),
        3 => format!("@tag Line{n}_*"),
        _ => format!("object 0x{:x} attr *", 0x100 + n),
    }
}

fn write_target(grant: u32, k: u32) -> String {
    let n = grant % 40;
    match grant % 5 {
        0 => format!(
            "unit 1 holding {}..{}",
            n * 100 + k % 90,
            n * 100 + k % 90 + 9
        ),
        1 => format!("DB{n}.DBW{}", (k % 64) * 2),
        2 => format!("ns=2;s=Line{n}.Oven{}.SP", k % 8),
        3 => format!("@tag Line{n}_SP{}", k % 4),
        _ => format!("object 0x{:x} attr {}", 0x100 + n, k % 16),
    }
}

fn grants_file() -> String {
    let mut text = String::with_capacity(4 << 20);
    for p in 0..PRINCIPALS {
        for g in 0..GRANTS_PER_PRINCIPAL {
            let grant = p * GRANTS_PER_PRINCIPAL + g;
            let (protocol, _) = protocol_of(g);
            // One grant in ten is already over; the rest are open for the day.
            let (from, until) = if g % 10 == 9 {
                ("2026-11-01T06:00:00Z", "2026-11-01T18:00:00Z")
            } else {
                ("2026-12-01T00:00:00+01:00", "2026-12-02T00:00:00Z")
            };
            let _ = writeln!(text, "[[delegation]]\nid = \"CHG-{grant}\"");
            let _ = writeln!(text, "principal = \"agent:p{p}\"");
            let _ = writeln!(text, "approved_by = \"supervisor {}\"", p % 7);
            let _ = writeln!(text, "valid_from = {from}\nvalid_until = {until}");
            let _ = writeln!(text, "protocol = \"{protocol}\"");
            if g % 2 == 0 {
                let _ = writeln!(text, "servers = [\"{}\"]", server((p + g) % SERVERS));
            }
            let _ = writeln!(text, "targets = [\"{}\"]", pattern(g));
            let _ = writeln!(text, "categories = [\"write\"]");
            if g % 4 == 0 {
                let _ = writeln!(text, "value_min = 0.0\nvalue_max = 500.0");
            }
            if g % 3 == 0 {
                let _ = writeln!(text, "max_writes = 100");
            }
            text.push('\n');
        }
    }
    text
}

fn writes() -> Vec<WriteRow> {
    (0..WRITES)
        .map(|k| {
            let p = k % (PRINCIPALS + 25); // the last 25 "principals" are unknown
            let g = (k / 7) % GRANTS_PER_PRINCIPAL;
            let (_, protocol) = protocol_of(g);
            let identity = match k % 50 {
                0 => None,
                _ => Some(format!("agent:p{p}")),
            };
            WriteRow {
                at: FrameRef {
                    source: 0,
                    frame: u64::from(k) + 1,
                    ts_us: T0_US + HOUR_US + i64::from(k) * 20_000,
                },
                item: 0,
                endpoints: Endpoints {
                    client_ip: IpAddr::V4(Ipv4Addr::new(10, 2, 0, (p % 250) as u8)),
                    client_port: 40_000,
                    client_mac: None,
                    server_ip: IpAddr::V4(server((p + g + k % 3) % SERVERS)),
                    server_port: 502,
                    server_mac: None,
                    vlan: None,
                },
                session_id: SessionId(u64::from(p)),
                protocol,
                category: Category::Write,
                operation: "Write",
                function_code: 16,
                target: write_target(g, k),
                value: None,
                outcome: Outcome::Ok,
                response_ts_us: None,
                credential: None,
                client_certificate: None,
                device_id: None,
                attribution: if identity.is_some() {
                    Attribution::NetworkOnly
                } else {
                    Attribution::Unattributed
                },
                identity,
                delegation: None,
                delegation_status: DelegationStatus::NoPolicy,
                approved_by: None,
                numeric_values: vec![f64::from(k % 600)],
            }
        })
        .collect()
}

fn delegation(c: &mut Criterion) {
    let text = grants_file();
    let grants = Delegations::parse("bench.toml", &text).expect("the generated file is valid");
    assert_eq!(grants.len(), (PRINCIPALS * GRANTS_PER_PRINCIPAL) as usize);
    let mut rows = writes();

    // Every status must occur, or the bench measures less than it claims.
    let mut checker = DelegationChecker::new(&grants);
    for row in &mut rows {
        checker.check(row);
    }
    for status in [
        DelegationStatus::Delegated,
        DelegationStatus::Undelegated,
        DelegationStatus::Expired,
        DelegationStatus::OutOfBounds,
        DelegationStatus::OverBudget,
    ] {
        let n = rows
            .iter()
            .filter(|r| r.delegation_status == status)
            .count();
        eprintln!("delegation bench: {n:>7} writes {}", status.as_str());
        assert!(n > 0, "no write is {}", status.as_str());
    }

    let mut group = c.benchmark_group("delegation");
    group.sample_size(10);
    group.throughput(Throughput::Elements(u64::from(WRITES)));
    group.bench_function("check_1M_writes_10k_grants", |b| {
        b.iter(|| {
            let mut checker = DelegationChecker::new(&grants);
            for row in rows.iter_mut() {
                checker.check(row);
            }
            black_box(checker.finish().len())
        })
    });
    group.finish();

    let mut group = c.benchmark_group("delegation_parse");
    group.sample_size(10);
    group.throughput(Throughput::Elements(u64::from(
        PRINCIPALS * GRANTS_PER_PRINCIPAL,
    )));
    group.bench_function("parse_10k_grants", |b| {
        b.iter(|| black_box(Delegations::parse("bench.toml", &text).map(|d| d.len())))
    });
    group.finish();
}

criterion_group!(benches, delegation);
criterion_main!(benches);
