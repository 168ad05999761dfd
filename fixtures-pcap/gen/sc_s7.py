"""S7comm scenario: s7comm-basic.

Server: native libsnap7 server (python-snap7 2.0.2 wheel).  Clients:
python-snap7 3.3.0 (pure Python) with every S7 PDU recorded as sent.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import struct
import time

import truth as T
from common import PY, ROOT, dump, run_all, spawn, stop, versions, wait_port
from netlab import Lab, mac_for
from pcapread import find_stream, read_pcap, tcp_streams

SERVER_IP = "10.77.0.2"
PORT = 102
PY_NATIVE = os.path.join(ROOT, ".venv-s7n", "bin", "python")
PASSWORD = "s3cret"

CLIENTS = {
    "erin": ("10.77.0.31", "human:erin", "engineering station (TIA-like); identified by address"),
    "scada": ("10.77.0.32", "service:scada-1", "SCADA server; identified by MAC"),
    "rogue": ("10.77.0.33", "unknown host", "not in the identity map: unattributed"),
}

AREA_NAME = {0x81: "I", 0x82: "Q", 0x83: "M", 0x84: "DB", 0x1C: "C", 0x1D: "T"}


def plans() -> dict:
    erin = [
        {"op": "db_read", "db": 1, "start": 0, "size": 16},
        {"op": "write_area", "area": "DB", "db": 1, "start": 4, "hex": "04d2"},            # DB1.DBW4 = 1234
        {"op": "multi", "items": [                                                       # one job, 4 items
            {"area": "DB", "db": 1, "byte": 10, "hex": "0064"},                          # DB1.DBW10 = 100
            {"area": "M", "byte": 10, "bit": 2, "hex": "01"},                            # M10.2 = 1
            {"area": "Q", "byte": 0, "bit": 0, "hex": "01"},                             # Q0.0 = 1
            {"area": "DB", "db": 2, "byte": 0, "hex": "00011170"}]},                     # DB2.DBD0 = 70000 (> bound)
        {"op": "write_area", "area": "DB", "db": 2, "start": 100, "hex": "".join(f"{i & 0xff:02x}" for i in range(600))},
        {"op": "write_area", "area": "MK", "start": 20, "hex": "0102"},                  # MW20 inside CHG-503
        {"op": "write_area", "area": "PA", "start": 4, "hex": "0f"},                     # QB4 (budget 1)
        {"op": "write_area", "area": "PA", "start": 4, "hex": "f0"},                     # QB4 again: over budget
        {"op": "write_area", "area": "DB", "db": 99, "start": 0, "hex": "0001"},         # DB99 missing -> 0x0a
        {"op": "plc_stop"},
        {"op": "plc_hot_start"},
        {"op": "set_clock", "iso": "2026-12-03T19:30:00.250"},
        {"op": "set_password", "password": PASSWORD},
        {"op": "write_area", "area": "DB", "db": 1, "start": 8, "hex": "0007"},          # under the password
        {"op": "clear_password"},
        {"op": "write_area", "area": "DB", "db": 1, "start": 12, "hex": "0008"},         # password cleared again
        {"sleep": 2.6},                                                                  # CHG-503 ends here
        {"op": "write_area", "area": "MK", "start": 20, "hex": "0304"},                  # MW20 again: expired
    ]
    scada = [
        {"op": "write_area", "area": "DB", "db": 1, "start": 40, "hex": "00c8"},         # DB1.DBW40 = 200
        {"op": "multi", "items": [
            {"area": "DB", "db": 1, "byte": 42, "hex": "00dc"},
            {"area": "DB", "db": 1, "byte": 44, "hex": "0190"}]},                         # 400 > value_max 300
    ]
    rogue = [
        {"op": "write_area", "area": "MK", "start": 0, "hex": "ff"},
        {"op": "plc_stop"},
        {"op": "plc_cold_start"},
    ]
    return {"erin": erin, "scada": scada, "rogue": rogue}


def identities() -> list[dict]:
    return [
        {"id": "human:erin", "kind": "human", "owner": "automation engineering", "addresses": ["10.77.0.31"]},
        {"id": "service:scada-1", "kind": "service", "owner": "operations", "macs": [mac_for("10.77.0.32")]},
        {"id": "device:plc-1", "kind": "device", "owner": "line 1", "addresses": [SERVER_IP]},
    ]


# ------------------------------------------------------------------ rendering

def s7_target(area: int, db: int, ts: int, byte: int, bit: int, nbytes: int) -> str:
    a = AREA_NAME.get(area, f"area0x{area:02x}")
    if area in (0x1C, 0x1D):
        return f"{a}{byte}"
    pre = f"DB{db}.DB" if area == 0x84 else a
    if ts == 0x01:                                  # BIT
        return f"{pre}X{byte}.{bit}" if area == 0x84 else f"{a}{byte}.{bit}"
    if nbytes == 1:
        return f"{pre}B{byte}"
    if nbytes == 2:
        return f"{pre}W{byte}"
    if nbytes == 4:
        return f"{pre}D{byte}"
    return f"{pre}B{byte}..{byte + nbytes - 1}"


def s7_value(ts: int, data: bytes) -> tuple[str, list]:
    if ts == 0x01:
        return str(data[0] & 1), [data[0] & 1]
    n = len(data)
    if ts == 0x05 and n == 2:                                   # INT
        v = struct.unpack(">h", data)[0]
    elif ts == 0x07 and n == 4:                                 # DINT
        v = struct.unpack(">i", data)[0]
    elif ts == 0x08 and n == 4:                                 # REAL
        v = struct.unpack(">f", data)[0]
        return repr(v), [v]
    elif n in (1, 2, 4):
        v = int.from_bytes(data, "big")
    else:
        hx = data.hex()
        if n > 32:
            return data[:32].hex() + f"{T.ELLIPSIS}+{n - 32}", []
        return hx, []
    return str(v), [v]


def parse_write_job(pdu: bytes) -> list[dict]:
    """Items of an S7 Write Var job (header 10 bytes, then params, then data)."""
    plen, dlen = struct.unpack(">HH", pdu[6:10])
    params = pdu[10:10 + plen]
    data = pdu[10 + plen:10 + plen + dlen]
    n = params[1]
    items = []
    p, q = 2, 0
    for i in range(n):
        spec = params[p:p + 12]
        p += 12
        ts, count, db, area = struct.unpack(">BHHB", spec[3:9])
        addr = int.from_bytes(spec[9:12], "big")
        _rc, dts, ln = struct.unpack(">BBH", data[q:q + 4])
        nbytes = (ln + 7) // 8 if dts in (0x03, 0x04, 0x05) else ln
        payload = data[q + 4:q + 4 + nbytes]
        q += 4 + nbytes
        if i < n - 1 and nbytes % 2:
            q += 1
        items.append({"ts": ts, "db": db, "area": area, "byte": addr >> 3, "bit": addr & 7, "data": payload})
    return items


def parse_response(pdu: bytes) -> dict:
    rosctr = pdu[1]
    seq = struct.unpack(">H", pdu[4:6])[0]
    if rosctr in (0x02, 0x03):
        plen, dlen = struct.unpack(">HH", pdu[6:10])
        ecls, ecode = pdu[10], pdu[11]
        params = pdu[12:12 + plen]
        data = pdu[12 + plen:12 + plen + dlen]
        return {"seq": seq, "rosctr": rosctr, "error": (ecls << 8) | ecode, "params": params, "data": data}
    plen, dlen = struct.unpack(">HH", pdu[6:10])
    params = pdu[10:10 + plen]
    data = pdu[10 + plen:10 + plen + dlen]
    return {"seq": seq, "rosctr": rosctr, "error": 0, "params": params, "data": data}


def bcd_clock(b: bytes) -> str:
    def d(x):
        return (x >> 4) * 10 + (x & 0xF)
    yy = d(b[2])
    year = (1900 if yy >= 90 else 2000) + yy
    ms = d(b[8]) * 10 + (b[9] >> 4)
    return f"{year:04d}-{d(b[3]):02d}-{d(b[4]):02d}T{d(b[5]):02d}:{d(b[6]):02d}:{d(b[7]):02d}.{ms:03d}"


def classify(pdu: bytes):
    """Yield (kind, info) for each write-class operation in a request PDU."""
    rosctr = pdu[1]
    plen = struct.unpack(">H", pdu[6:8])[0]
    if rosctr == 0x01:
        fn = pdu[10]
        if fn == 0x05:
            for i, it in enumerate(parse_write_job(pdu)):
                yield "write", i, it
        elif fn == 0x29:
            yield "stop", 0, {}
        elif fn == 0x28:
            params = pdu[10:10 + plen]
            # PI service: ... parameter block length (2), block, name length (1), name
            pblen = struct.unpack(">H", params[8:10])[0]
            pblock = params[10:10 + pblen]
            nlen = params[10 + pblen]
            name = params[11 + pblen:11 + pblen + nlen].decode("latin-1")
            yield "pi", 0, {"service": name, "args": pblock.decode("latin-1")}
    elif rosctr == 0x07:
        params = pdu[10:10 + plen]
        group, sub = params[5] & 0x0F, params[6]
        data = pdu[10 + plen:]
        if group == 7 and sub == 2:
            yield "clock", 0, {"time": bcd_clock(data[4:14])}
        elif group == 5 and sub == 1:
            yield "pw_set", 0, {}
        elif group == 5 and sub == 2:
            yield "pw_clear", 0, {}


def item_outcome(resp: dict | None, idx: int) -> str:
    if resp is None:
        return "no_response"
    if resp["error"]:
        return f"exception:{resp['error']}"
    rc = resp["data"][idx] if idx < len(resp["data"]) else None
    if rc is None:
        return "unknown"
    return "ok" if rc == 0xFF else f"exception:{rc}"


def userdata_outcome(resp: dict | None) -> str:
    if resp is None:
        return "no_response"
    rc = resp["data"][0] if resp["data"] else 0xFF
    err = struct.unpack(">H", resp["params"][10:12])[0] if len(resp["params"]) >= 12 else 0
    if err:
        return f"exception:{err}"
    # libsnap7 answers set-clock / password requests with a "null ack": parameter error 0 and a
    # data unit with return code 0x0a and no data; python-snap7 accepts it as success.
    if rc == 0x0A and len(resp["data"]) >= 4 and resp["data"][2:4] == b"\x00\x00":
        return "ok"
    return "ok" if rc == 0xFF else f"exception:{rc}"


# ------------------------------------------------------------------ run

def run(outdir: str, scratch: str) -> dict:
    os.makedirs(outdir, exist_ok=True)
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch, exist_ok=True)
    pcap = os.path.join(outdir, "capture.pcap")
    lab = Lab()
    logs = {}
    try:
        lab.build(SERVER_IP, CLIENTS)
        srv = spawn(lab, "srv", [PY_NATIVE, "gen/s7_server.py", os.path.join(scratch, "server-events.log")],
                    os.path.join(scratch, "server.out"))
        wait_port(lab, "srv", PORT)
        lab.start_capture(pcap)
        pl = plans()
        procs = []
        for name in ("erin", "scada"):
            pf = os.path.join(scratch, f"plan-{name}.json")
            dump(pf, {"host": SERVER_IP, "steps": pl[name]})
            logs[name] = os.path.join(scratch, f"log-{name}.json")
            procs.append(spawn(lab, name, [PY, "gen/s7_client.py", pf, logs[name]],
                               os.path.join(scratch, f"client-{name}.out")))
            time.sleep(0.3)
        run_all(procs)
        pf = os.path.join(scratch, "plan-rogue.json")
        dump(pf, {"host": SERVER_IP, "steps": pl["rogue"]})
        logs["rogue"] = os.path.join(scratch, "log-rogue.json")
        run_all([spawn(lab, "rogue", [PY, "gen/s7_client.py", pf, logs["rogue"]],
                       os.path.join(scratch, "client-rogue.out"))])
        lab.stop_capture()
        stop(srv)
    finally:
        lab.stop()
    return build_truth(outdir, pcap, logs)


def tpkt_payloads(stream: bytes) -> list[tuple[int, int, bytes]]:
    out = []
    p = 0
    while p + 4 <= len(stream):
        ln = struct.unpack(">H", stream[p + 2:p + 4])[0]
        tp = stream[p:p + ln]
        if len(tp) >= 7 and tp[5] == 0xF0:
            out.append((p, p + ln, bytes(tp[7:])))
        p += ln
    return out


def build_truth(outdir: str, pcap: str, logs: dict) -> dict:
    import json
    frames = read_pcap(pcap)
    streams = tcp_streams(frames)
    byframe = {f.num: f for f in frames}
    writes, creds = [], []
    seq = 0
    nconn = 0
    for name, path in logs.items():
        log = json.load(open(path))
        ip, actor, _ = CLIENTS[name]
        for conn in log["connections"]:
            nconn += 1
            tx = [bytes.fromhex(e["hex"]) for e in conn["events"] if e["dir"] == "tx"]
            rx = [bytes.fromhex(e["hex"]) for e in conn["events"] if e["dir"] == "rx"]
            st = find_stream(streams, ip, conn["lport"], SERVER_IP, PORT)
            if st.retransmissions or st.gaps:
                raise RuntimeError("retransmissions/gaps")
            dts = tpkt_payloads(bytes(st.data))
            if [d[2] for d in dts] != tx:
                raise RuntimeError(f"{name}: captured S7 PDUs differ from what the client sent")
            responses = {}
            for r in rx:
                pr = parse_response(r)
                responses[pr["seq"]] = pr
            password_on = False
            for (off, end, _pdu), pdu in zip(dts, tx):
                fr = st.frame_of(end - 1)
                f = byframe[fr]
                pseq = struct.unpack(">H", pdu[4:6])[0]
                resp = responses.get(pseq)
                for kind, idx, info in classify(pdu):
                    base = {"frame": fr, "ts": T.iso(f.ts), "_ts": f.ts,
                            "protocol": "s7comm", "client_ip": ip, "client_port": conn["lport"],
                            "client_mac": f.src_mac, "server_ip": SERVER_IP, "server_port": PORT,
                            "server_mac": f.dst_mac, "readable": True, "actor": actor,
                            "credential_kind": "s7_password" if password_on else None,
                            "credential_id": None, "pdu_ref": pseq}
                    if password_on:
                        base["credential_note"] = "credential_id is the sensor's keyed fingerprint of the password"
                    seq += 1
                    base["_seq"] = seq
                    if kind == "write":
                        nb = len(info["data"])
                        val, nums = s7_value(info["ts"], info["data"])
                        w = dict(base, function_code=0x05, category="write", operation="Write Var",
                                 target=s7_target(info["area"], info["db"], info["ts"], info["byte"], info["bit"], nb),
                                 value=val, _nums=nums, item=idx, items_in_job=len(parse_write_job(pdu)),
                                 outcome=item_outcome(resp, idx))
                        writes.append(w)
                    elif kind == "stop":
                        writes.append(dict(base, function_code=0x29, category="control", operation="PLC Stop",
                                           target="cpu", value="P_PROGRAM", _nums=[], item=0,
                                           outcome="no_response" if resp is None else
                                           ("ok" if resp["error"] == 0 else f"exception:{resp['error']}")))
                    elif kind == "pi":
                        op = {"": "PLC Hot Start", "C ": "PLC Cold Start"}.get(info["args"], "PI Service")
                        v = info["service"] + (f' "{info["args"]}"' if info["args"] else "")
                        writes.append(dict(base, function_code=0x28, category="control", operation=op,
                                           target="cpu", value=v, _nums=[], item=0,
                                           outcome="no_response" if resp is None else
                                           ("ok" if resp["error"] == 0 else f"exception:{resp['error']}")))
                    elif kind == "clock":
                        writes.append(dict(base, function_code=0x0702, category="config", operation="Set Clock",
                                           target="cpu clock", value=info["time"], _nums=[], item=0,
                                           outcome=userdata_outcome(resp)))
                    elif kind == "pw_set":
                        password_on = True
                        creds.append({"kind": "s7_password", "frame": fr, "ts": T.iso(f.ts), "client_ip": ip,
                                      "client_port": conn["lport"], "event": "set",
                                      "outcome": userdata_outcome(resp), "plaintext_password": True,
                                      "secret_for_leak_tests": PASSWORD,
                                      "note": "the evidence must hold only a keyed fingerprint, never this string nor an unkeyed hash"})
                    elif kind == "pw_clear":
                        password_on = False
                        creds.append({"kind": "s7_password", "frame": fr, "ts": T.iso(f.ts), "client_ip": ip,
                                      "client_port": conn["lport"], "event": "clear",
                                      "outcome": userdata_outcome(resp)})
    ids = T.Identities(identities())
    for w in writes:
        if w["credential_kind"] == "s7_password":
            # the identity map has no key for S7 passwords: seen, but maps to nobody
            w["principal"], w["attribution"] = None, "credential_only"
        else:
            ids.attribute(w)
    t0, t1 = frames[0].ts, frames[-1].ts
    gs = grants(writes, t0, t1)
    T.evaluate_delegations(writes, gs)
    for w in writes:
        if w["attribution"] == "credential_only":
            w["why"] = "session password in force: an S7 password credential maps to no principal, so no grant applies"
    T.write_toml_tables(os.path.join(outdir, "identities.toml"), "principal", identities(),
                        "# identity map for s7comm-basic. 10.77.0.33 maps to nobody.")
    T.write_toml_tables(os.path.join(outdir, "delegations.toml"), "delegation", gs,
                        "# delegations for s7comm-basic; windows use the capture's real time.")
    doc = {
        "scenario": "s7comm-basic", "capture": "capture.pcap",
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "stacks": dict(versions("python-snap7"), **{"python-snap7 (server, native libsnap7)": "2.0.2"}),
        "frames": len(frames), "capture_start": T.iso(t0), "capture_end": T.iso(t1),
        "clients": [{"ip": ip, "mac": mac_for(ip), "principal": ids.by_network(ip, mac_for(ip)),
                     "actor": actor, "notes": notes} for (ip, actor, notes) in CLIENTS.values()],
        "servers": [{"ip": SERVER_IP, "mac": mac_for(SERVER_IP), "port": PORT,
                     "stack": "libsnap7 server (python-snap7 2.0.2): DB1 256 B, DB2 1024 B, M 256 B, Q 64 B, I 64 B; rack 0 slot 2"}],
        "writes": writes,
        "credentials": creds,
        "opaque_sessions": 0,
    }
    T.write_truth(os.path.join(outdir, "truth.json"), doc)
    return doc


def grants(writes: list[dict], t0: float, t1: float) -> list[dict]:
    start, end = t0 - 3600, t1 + 3600
    mw20 = [w for w in writes if w["target"] == "MW20"]
    cut = float(int(mw20[0]["_ts"]) + 2)
    if not (mw20[0]["_ts"] < cut < mw20[1]["_ts"]):
        cut = float(int(mw20[0]["_ts"]) + 1)
    if not (mw20[0]["_ts"] < cut < mw20[1]["_ts"]):
        raise RuntimeError("no whole second between the two MW20 writes")
    return [
        T.grant("CHG-500", "human:erin", "m.jones, automation lead", start, end, "s7comm",
                ["DB1.DBB0..99", "MB10", "QB0"], servers=[SERVER_IP]),
        T.grant("CHG-501", "human:erin", "m.jones, automation lead", start, end, "s7comm",
                ["DB2.DBD0"], servers=[SERVER_IP], value_min=0.0, value_max=50000.0),
        T.grant("CHG-502", "human:erin", "m.jones, automation lead", start, end, "s7comm",
                ["QB4"], servers=[SERVER_IP], max_writes=1),
        T.grant("CHG-503", "human:erin", "m.jones, automation lead", start, cut, "s7comm",
                ["MW20"], servers=[SERVER_IP]),
        T.grant("CHG-504", "human:erin", "l.chen, plant manager", start, end, "s7comm",
                ["cpu"], categories=["control"], servers=[SERVER_IP]),
        T.grant("CHG-505", "service:scada-1", "j.smith, shift supervisor", start, end, "s7comm",
                ["DB1.DBB40..59"], servers=[SERVER_IP], value_min=0.0, value_max=300.0),
    ]
