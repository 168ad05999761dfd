"""Modbus/TCP scenario: modbus-basic."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import time

import truth as T
from common import PY, ROOT, dump, run_all, spawn, stop, versions, wait_port
from netlab import Lab, mac_for
from pcapread import find_stream, read_pcap, tcp_streams

SERVER_IP = "10.77.0.2"


def reg(addr, value, **kw):
    return {"op": "write_register", "kw": {"address": addr, "value": value}, **kw}


def regs(addr, values, **kw):
    return {"op": "write_registers", "kw": {"address": addr, "values": list(values)}, **kw}


def coil(addr, value, **kw):
    return {"op": "write_coil", "kw": {"address": addr, "value": value}, **kw}


def coils(addr, values, **kw):
    return {"op": "write_coils", "kw": {"address": addr, "values": list(values)}, **kw}


def read(addr, count, **kw):
    return {"op": "read_holding_registers", "kw": {"address": addr, "count": count}, **kw}


# --------------------------------------------------------------------------- plans

CLIENTS = {
    # name: ip, actor (who really ran it), notes
    "alice": ("10.77.0.11", "human:alice",
              "engineering workstation; identified by address"),
    "optim": ("10.77.0.12", "agent:setpoint-optimizer",
              "AI setpoint optimizer; identified by MAC"),
    "vendor": ("10.77.0.13", "vendor:acme-remote",
               "vendor remote access; the server advertises MSS 88 to it (route advmss 40 on the server side), so its requests >76 bytes span several TCP segments"),
    "laptop": ("10.77.0.14", "unknown laptop",
               "not in the identity map: its writes are unattributed"),
}


def plans() -> dict[str, list[dict]]:
    alice = [
        read(0, 10),
        reg(10, 1234),
        regs(0, [(i * 7) & 0xFFFF for i in range(123)]),          # max FC16
        coils(0, [(i % 3) == 0 for i in range(1968)]),              # max FC15
        coil(7, True),
        coil(8, False),
        {"op": "mask_write_register", "kw": {"address": 20, "and_mask": 0xF0F0, "or_mask": 0x000F}},
        {"op": "readwrite_registers", "kw": {"read_address": 0, "read_count": 4, "write_address": 30,
                                             "values": [11, 22, 33]}},
        reg(500, 42),                                               # outside her grant
        reg(1000, 1),                                               # illegal address -> exception 2
        regs(998, [1, 2, 3, 4]),                                    # crosses the end -> exception 2
        coil(4000, True),                                           # illegal coil -> exception 2
        coils(3990, [True] * 20),                                   # crosses the end -> exception 2
    ]
    optim = [
        read(300, 10),
        reg(300, 180),
        regs(300, [160, 170, 180, 190]),
        reg(301, 250),          # above value_max
        reg(302, 100),          # below value_min
        reg(400, 1),
        reg(400, 2),
        reg(400, 3),
        reg(400, 4),            # fourth write on a max_writes = 3 grant
        reg(303, 200),          # still inside CHG-200
    ]
    vendor = [
        regs(600, range(1000, 1100)),                               # 100 registers: 3 segments
        {"op": "readwrite_registers", "kw": {"read_address": 600, "read_count": 10, "write_address": 650,
                                             "values": list(range(30))}},
        {"sleep": 2.6},                                             # grant CHG-300 ends in this gap
        regs(600, range(2000, 2100)),                               # after the grant expired
        regs(700, [5] * 50),                                        # outside any grant
        reg(610, 7),
    ]
    laptop = [
        reg(50, 99),
        {"op": "write_file_record", "kw": {"records": [
            {"file": 1, "record": 0, "data": "000a000b"},
            {"file": 2, "record": 10, "data": "0001000200030004"}]}},
        {"op": "diag_restart_communication", "kw": {"toggle": False}},
        coils(100, [True, False, True]),
        {"op": "diag_force_listen_only", "kw": {}, "after": 0.5},
        reg(51, 1),
    ]
    return {"alice": alice, "optim": optim, "vendor": vendor, "laptop": laptop}


def identities() -> list[dict]:
    return [
        {"id": "human:alice", "kind": "human", "owner": "process engineering",
         "addresses": ["10.77.0.11"]},
        {"id": "agent:setpoint-optimizer", "kind": "agent", "owner": "operations analytics",
         "macs": [mac_for("10.77.0.12")]},
        {"id": "vendor:acme-remote", "kind": "vendor", "owner": "ACME Automation (contractor)",
         "addresses": ["10.77.0.13/32"]},
        {"id": "device:plc-1", "kind": "device", "owner": "line 1",
         "addresses": ["10.77.0.2"]},
    ]


def grants(writes: list[dict], t0: float, t1: float) -> list[dict]:
    start, end = t0 - 3600, t1 + 3600
    vend = sorted([w for w in writes if w["actor"] == "vendor:acme-remote"], key=lambda w: w["frame"])
    # CHG-300 ends at a whole second inside the vendor's 2.6 s pause (after its 2nd write)
    cut = float(int(vend[1]["_ts"]) + 1)
    if not (vend[1]["_ts"] < cut < vend[2]["_ts"]):
        raise RuntimeError("vendor pause does not contain a whole second")
    return [
        T.grant("CHG-100", "human:alice", "m.jones, process engineering lead", start, end, "modbus",
                ["unit 1 holding 0..199", "unit 1 coil 0..1999"], servers=[SERVER_IP]),
        T.grant("CHG-200", "agent:setpoint-optimizer", "j.smith, shift supervisor", start, end, "modbus",
                ["unit 1 holding 300..309"], servers=[SERVER_IP], value_min=150.0, value_max=220.0),
        T.grant("CHG-201", "agent:setpoint-optimizer", "j.smith, shift supervisor", start, end, "modbus",
                ["unit 1 holding 400"], servers=[SERVER_IP], max_writes=3),
        T.grant("CHG-300", "vendor:acme-remote", "k.lee, maintenance manager", start, cut, "modbus",
                ["unit 1 holding 600..699"], servers=[SERVER_IP]),
    ]


# --------------------------------------------------------------------------- run

def run(outdir: str, scratch: str) -> dict:
    os.makedirs(outdir, exist_ok=True)
    os.makedirs(scratch, exist_ok=True)
    pcap = os.path.join(outdir, "capture.pcap")
    lab = Lab()
    try:
        lab.build(SERVER_IP, CLIENTS)
        # the server advertises a tiny MSS to the vendor host only
        subprocess.run(lab.exec_prefix("srv") + ["ip", "route", "add", "10.77.0.13/32", "dev", "eth0",
                                                 "advmss", "40"], check=True)
        srv = spawn(lab, "srv", [PY, "gen/modbus_server.py", "502"], os.path.join(scratch, "server.log"))
        wait_port(lab, "srv", 502)
        lab.start_capture(pcap)
        pl = plans()
        logs = {}
        procs = []
        for name in ("alice", "optim", "vendor"):
            pf = os.path.join(scratch, f"plan-{name}.json")
            dump(pf, {"host": SERVER_IP, "port": 502, "steps": pl[name]})
            logs[name] = os.path.join(scratch, f"log-{name}.json")
            procs.append(spawn(lab, name, [PY, "gen/modbus_client.py", pf, logs[name]],
                               os.path.join(scratch, f"client-{name}.out")))
            time.sleep(0.15)
        run_all(procs)
        # the laptop comes last: it ends with Force Listen Only Mode
        pf = os.path.join(scratch, "plan-laptop.json")
        dump(pf, {"host": SERVER_IP, "port": 502, "steps": pl["laptop"]})
        logs["laptop"] = os.path.join(scratch, "log-laptop.json")
        run_all([spawn(lab, "laptop", [PY, "gen/modbus_client.py", pf, logs["laptop"]],
                       os.path.join(scratch, "client-laptop.out"))])
        lab.stop_capture()
        stop(srv)
    finally:
        lab.stop()
    return build_truth("modbus-basic", outdir, pcap, logs)


def modbus_writes_from_logs(pcap: str, logs: dict, server_port: int, clients: dict | None = None,
                            locate=None) -> tuple[list[dict], list]:
    import json
    frames = read_pcap(pcap)
    streams = tcp_streams(frames)
    byframe = {f.num: f for f in frames}
    writes = []
    seq = 0
    for name, path in logs.items():
        log = json.load(open(path))
        ip, actor, _ = (clients or CLIENTS)[name]
        for conn in log["connections"]:
            tx = b"".join(bytes.fromhex(e["hex"]) for e in conn["events"] if e["dir"] == "tx")
            rx = b"".join(bytes.fromhex(e["hex"]) for e in conn["events"] if e["dir"] == "rx")
            st = find_stream(streams, ip, conn["lport"], SERVER_IP, server_port)
            if st.retransmissions or st.gaps:
                raise RuntimeError(f"{name}: retransmissions/gaps in capture")
            if locate is None:
                if bytes(st.data) != tx:
                    raise RuntimeError(f"{name}: captured stream differs from what the client sent")
                where = lambda off, end: (st.frame_of(end - 1), len(set(st.owner[off:end])))  # noqa: E731
            else:
                where = locate(st, conn)
            responses = {tid: pdu for (_o, _e, tid, _u, pdu) in T.modbus_frames(rx)}
            for off, end, tid, unit, pdu in T.modbus_frames(tx):
                r = T.modbus_render(unit, pdu)
                if r is None:
                    continue
                fc = r["function_code"]
                cat, op = T.MODBUS_OPS.get(fc, (r.get("category"), r.get("operation")))
                resp = responses.get(tid)
                if resp is None:
                    outcome = "no_response"
                elif resp[0] & 0x80:
                    outcome = f"exception:{resp[1]}"
                else:
                    outcome = "ok"
                fr, nseg = where(off, end)
                f = byframe[fr]
                seq += 1
                writes.append({
                    "frame": fr, "ts": T.iso(f.ts), "_ts": f.ts, "_seq": seq,
                    "protocol": "modbus", "function_code": fc,
                    "category": r.get("category", cat), "operation": r.get("operation", op),
                    "client_ip": ip, "client_port": conn["lport"], "client_mac": f.src_mac,
                    "server_ip": SERVER_IP, "server_port": server_port, "server_mac": f.dst_mac,
                    "target": r["target"], "value": r["value"], "_nums": r["nums"],
                    "outcome": outcome, "readable": True, "actor": actor,
                    "credential_kind": None, "credential_id": None,
                    "segments": nseg, "_conn": conn,
                })
    return writes, frames


def build_truth(scenario: str, outdir: str, pcap: str, logs: dict) -> dict:
    writes, frames = modbus_writes_from_logs(pcap, logs, 502)
    ids = T.Identities(identities())
    for w in writes:
        ids.attribute(w)
    t0, t1 = frames[0].ts, frames[-1].ts
    gs = grants(writes, t0, t1)
    T.evaluate_delegations(writes, gs)
    T.write_toml_tables(os.path.join(outdir, "identities.toml"), "principal", identities(),
                        f"# identity map for {scenario} (see DESIGN.md). 10.77.0.14 maps to nobody.")
    T.write_toml_tables(os.path.join(outdir, "delegations.toml"), "delegation", gs,
                        f"# delegations for {scenario}; windows use the capture's real time.")
    doc = {
        "scenario": scenario,
        "capture": "capture.pcap",
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "stacks": versions("pymodbus"),
        "frames": len(frames),
        "capture_start": T.iso(t0), "capture_end": T.iso(t1),
        "clients": [{"ip": ip, "mac": mac_for(ip), "principal": ids.by_network(ip, mac_for(ip)),
                     "actor": actor, "notes": notes} for (ip, actor, notes) in CLIENTS.values()],
        "servers": [{"ip": SERVER_IP, "mac": mac_for(SERVER_IP), "port": 502,
                     "stack": "pymodbus ModbusTcpServer, unit 1: coils 0..3999, holding 0..999"}],
        "writes": writes,
        "credentials": [],
        "opaque_sessions": 0,
    }
    T.write_truth(os.path.join(outdir, "truth.json"), doc)
    return doc
