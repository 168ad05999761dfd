//! Attribution and delegation end to end on a real plant capture from the shared corpus
//! (`mixed/mixed-modbus-s7-enip-plant.pcap`: one SCADA host, 141.81.0.10, writing coils over
//! Modbus/TCP, S7 variables and Logix tags at once).
//!
//! The identity map and the grants are written here for that capture, and the expected
//! attribution and delegation status of every write is derived independently of OT Witness:
//! from tshark's dissection of each request (frame, time, server, unit, address, quantity,
//! items per job) and the rules of DESIGN.md, applied by the small functions below. Nothing
//! expected comes from the sensor's own output.

mod support;

use std::process::Command;
use std::sync::Arc;

use analytics::attribution::Attributor;
use analytics::delegation::Delegations;
use analytics::evidence::{Attribution, DelegationStatus, Protocol, WriteRow};
use analytics::identity::IdentityMap;

const CAPTURE: &str = "mixed/mixed-modbus-s7-enip-plant.pcap";
const SCADA: &str = "141.81.0.10";

/// The S7 grant's budget: the first this many S7 write items are delegated.
const S7_BUDGET: usize = 50;

/// One Modbus write request as tshark dissects it.
#[derive(Debug)]
struct ModbusWrite {
    frame: u64,
    ts: f64,
    server: String,
    unit: u32,
    address: u32,
    quantity: u32,
}

fn run_tshark(path: &std::path::Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut command = Command::new("tshark");
    command
        .args(["-n", "-r"])
        .arg(path)
        .args(["-Y", filter, "-T", "fields"]);
    command.args(["-E", "occurrence=a", "-E", "aggregator=,"]);
    for field in fields {
        command.args(["-e", field]);
    }
    let output = command.output().expect("tshark runs");
    assert!(
        output.status.success(),
        "tshark failed on {}",
        path.display()
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// Every FC 15 request of the capture, one per ADU (a frame may carry several).
fn modbus_writes(path: &std::path::Path) -> Vec<ModbusWrite> {
    let rows = run_tshark(
        path,
        "modbus.func_code == 15 && tcp.dstport == 502",
        &[
            "frame.number",
            "frame.time_epoch",
            "ip.dst",
            "modbus.func_code",
            "mbtcp.unit_id",
            "modbus.reference_num",
            "modbus.bit_cnt",
        ],
    );
    let mut writes = Vec::new();
    for row in rows {
        let list = |i: usize| -> Vec<u32> {
            row[i]
                .split(',')
                .map(|v| v.parse().expect("number"))
                .collect()
        };
        let (fcs, units, addresses, bit_counts) = (list(3), list(4), list(5), list(6));
        assert!(
            units.len() == fcs.len() && addresses.len() == fcs.len(),
            "frame {}: one unit and one address per ADU",
            row[0]
        );
        // A frame may mix reads with writes; bit counts belong to FC 1, 2 and 15 in order.
        let mut bits = bit_counts.iter();
        for (i, &fc) in fcs.iter().enumerate() {
            let quantity = match fc {
                1 | 2 | 15 => *bits.next().expect("a bit count per FC 1, 2 or 15 ADU"),
                _ => continue,
            };
            if fc != 15 {
                continue;
            }
            writes.push(ModbusWrite {
                frame: row[0].parse().expect("frame"),
                ts: row[1].parse().expect("time"),
                server: row[2].clone(),
                unit: units[i],
                address: addresses[i],
                quantity,
            });
        }
    }
    writes
}

/// Items of the S7 Write Var jobs of each frame, in frame order: (frame, item count). A frame
/// may carry several PDUs (a Write Var job beside a Read Var job): tshark lists one header
/// type, function and item count per PDU, in order.
fn s7_write_jobs(path: &std::path::Path) -> Vec<(u64, usize)> {
    let rows = run_tshark(
        path,
        "s7comm.header.rosctr == 1 && s7comm.param.func == 0x05",
        &[
            "frame.number",
            "s7comm.header.rosctr",
            "s7comm.param.func",
            "s7comm.param.itemcount",
        ],
    );
    rows.into_iter()
        .map(|row| {
            let list = |i: usize| row[i].split(',').map(str::to_owned).collect::<Vec<_>>();
            let (types, functions, counts) = (list(1), list(2), list(3));
            assert_eq!(
                types.len(),
                counts.len(),
                "frame {}: a count per PDU",
                row[0]
            );
            let items = (0..types.len())
                .filter(|&i| types[i] == "1" && functions[i] == "0x05")
                .map(|i| counts[i].parse::<usize>().unwrap())
                .sum();
            (row[0].parse().unwrap(), items)
        })
        .collect()
}

fn rfc3339(epoch_s: f64) -> String {
    let t = chrono::DateTime::from_timestamp_micros((epoch_s * 1e6) as i64).unwrap();
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// What DESIGN.md's rules give for a Modbus write under the grants of [`grants`].
fn expected_modbus(w: &ModbusWrite, cutover: f64) -> DelegationStatus {
    let last = w.address + w.quantity - 1;
    let inside = |from: u32, to: u32| w.unit == 255 && w.address >= from && last <= to;
    match w.server.as_str() {
        // CHG-COILS: coils 0..7 of these two servers, until the cutover.
        "141.81.0.104" | "141.81.0.144" if inside(0, 7) => {
            if w.ts <= cutover {
                DelegationStatus::Delegated
            } else {
                DelegationStatus::Expired
            }
        }
        // CHG-143: coils 6..8 of .143, the whole time.
        "141.81.0.143" if inside(6, 8) => DelegationStatus::Delegated,
        _ => DelegationStatus::Undelegated,
    }
}

fn grants(first: f64, cutover: f64, last: f64) -> String {
    let from = rfc3339(first - 3600.0);
    let until = rfc3339(last + 3600.0);
    let cut = rfc3339(cutover);
    format!(
        r#"
[[delegation]]
id = "CHG-COILS"
principal = "service:scada"
approved_by = "test: coils 0..7 of two servers, until the cutover"
valid_from = {from}
valid_until = {cut}
protocol = "modbus"
servers = ["141.81.0.104", "141.81.0.144"]
targets = ["unit 255 coil 0..7"]
categories = ["write"]

[[delegation]]
id = "CHG-143"
principal = "service:scada"
approved_by = "test: coils 6..8 of .143"
valid_from = {from}
valid_until = {until}
protocol = "modbus"
servers = ["141.81.0.143"]
targets = ["unit 255 coil 6..8"]
categories = ["write"]

[[delegation]]
id = "CHG-S7"
principal = "service:scada"
approved_by = "test: any S7 variable, {S7_BUDGET} writes"
valid_from = {from}
valid_until = {until}
protocol = "s7comm"
targets = ["*"]
categories = ["write"]
max_writes = {S7_BUDGET}
"#
    )
}

fn analyse(path: &std::path::Path, map: Option<IdentityMap>, grants: &str) -> Vec<WriteRow> {
    let grants = Delegations::parse("grants.toml", grants).expect("valid grants");
    let outcome = support::run_full(
        std::slice::from_ref(&path.to_path_buf()),
        2,
        Attributor::new(map.map(Arc::new)),
        Some(Arc::new(grants)),
    );
    outcome.evidence.writes
}

#[test]
fn every_write_of_a_plant_capture_gets_its_expected_identity_and_grant() {
    let Some(pcaps) = support::shared_pcaps() else {
        return;
    };
    if !support::have_tool("tshark", &["--version"]) {
        return;
    }
    let path = pcaps.join(CAPTURE);
    let modbus = modbus_writes(&path);
    let s7_jobs = s7_write_jobs(&path);
    assert!(
        modbus.len() > 100 && !s7_jobs.is_empty(),
        "the capture's writes"
    );
    let first = modbus.first().unwrap().ts;
    let last = modbus.last().unwrap().ts;
    let cutover = first + (last - first) / 2.0;
    let grants = grants(first, cutover, last);

    let map = IdentityMap::parse(
        "ids.toml",
        &format!(
            "[[principal]]\nid = \"service:scada\"\nkind = \"service\"\n\
             addresses = [\"{SCADA}\"]\n"
        ),
    )
    .expect("valid map");
    let writes = analyse(&path, Some(map), &grants);

    // Who: every write comes from the SCADA host, which the map names by address only.
    assert!(!writes.is_empty());
    for w in &writes {
        let at = format!("frame {} {}", w.at.frame, w.target);
        assert_eq!(w.endpoints.client_ip.to_string(), SCADA, "{at}");
        assert_eq!(w.identity.as_deref(), Some("service:scada"), "{at}");
        assert_eq!(
            w.attribution,
            Attribution::NetworkOnly,
            "{at}: no credential on the wire"
        );
    }

    // Modbus: each ADU's status from its server, range and time.
    let ours: Vec<(u64, DelegationStatus)> = writes
        .iter()
        .filter(|w| w.protocol == Protocol::Modbus)
        .map(|w| (w.at.frame, w.delegation_status))
        .collect();
    let theirs: Vec<(u64, DelegationStatus)> = modbus
        .iter()
        .map(|w| (w.frame, expected_modbus(w, cutover)))
        .collect();
    assert_eq!(ours, theirs, "Modbus statuses, write by write");
    for status in [
        DelegationStatus::Delegated,
        DelegationStatus::Expired,
        DelegationStatus::Undelegated,
    ] {
        assert!(
            theirs.iter().any(|t| t.1 == status),
            "the capture exercises {status:?}"
        );
    }

    // S7: the budget is spent item by item in capture order, then writes are over budget.
    let items: Vec<u64> = s7_jobs
        .iter()
        .flat_map(|&(frame, n)| std::iter::repeat_n(frame, n))
        .collect();
    assert!(items.len() > S7_BUDGET, "more S7 items than the budget");
    let ours: Vec<(u64, DelegationStatus)> = writes
        .iter()
        .filter(|w| w.protocol == Protocol::S7comm)
        .map(|w| (w.at.frame, w.delegation_status))
        .collect();
    let theirs: Vec<(u64, DelegationStatus)> = items
        .iter()
        .enumerate()
        .map(|(i, &frame)| {
            let status = if i < S7_BUDGET {
                DelegationStatus::Delegated
            } else {
                DelegationStatus::OverBudget
            };
            (frame, status)
        })
        .collect();
    assert_eq!(ours, theirs, "S7 statuses, item by item");

    // CIP: no grant names it, so every one of its writes is undelegated.
    let cip: Vec<&WriteRow> = writes
        .iter()
        .filter(|w| w.protocol == Protocol::Enip)
        .collect();
    assert!(!cip.is_empty());
    assert!(cip
        .iter()
        .all(|w| w.delegation_status == DelegationStatus::Undelegated));

    // Without the identity map nobody is named, and no grant can cover a write.
    let writes = analyse(&path, None, &grants);
    for w in &writes {
        let at = format!("frame {} {}", w.at.frame, w.target);
        assert_eq!(w.attribution, Attribution::Unattributed, "{at}");
        assert_eq!(w.identity, None, "{at}");
        assert_eq!(w.delegation_status, DelegationStatus::Undelegated, "{at}");
    }
}
