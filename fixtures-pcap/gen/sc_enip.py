"""EtherNet/IP + CIP scenario: enip-basic.

Server: cpppo's Logix-like simulator (python -m cpppo.server.enip).
Clients: cpppo's client and get_attribute CLIs (unconnected: Unconnected Send,
Multiple Service Packet, Write Tag Fragmented, Set_Attribute_Single) and pycomm3
CIPDriver (Large Forward Open with a known originator serial, then connected
class-3 messaging).  Every client runs under gen/traced.py, which records every
byte the client's sockets send and receive.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import struct
import time

import truth as T
from common import PY, dump, run_all, spawn, stop, versions, wait_port
from netlab import Lab, mac_for
from pcapread import find_stream, read_pcap, tcp_streams

SERVER_IP = "10.77.0.2"
PORT = 44818
VENDOR = 0x1009
SERIAL_AGENT = 0xACF71B98
SERIAL_UNKNOWN = 0x00C0FFEE

CLIENTS = {
    "agent": ("10.77.0.41", "agent:recipe-loader", "pycomm3 connected messaging; Forward Open originator 0x1009:0xacf71b98 (in the identity map)"),
    "frank": ("10.77.0.42", "human:frank", "cpppo unconnected client; identified by address"),
    "oem": ("10.77.0.43", "vendor:oem-tool", "pycomm3 with originator 0x1009:0x00c0ffee, which maps to no principal (credential_only)"),
    "anon": ("10.77.0.44", "unknown host", "cpppo client not in the identity map: unattributed"),
}

SERVER_TAGS = ["Line1_SP=REAL", "Tags=DINT[100]", "Big=INT[1000]", "Motor@0x64/1/3=INT"]


def cpppo(*args):
    return ["cpppo.server.enip.client", "-a", SERVER_IP] + list(args)


def runs(scratch: str) -> list[tuple[str, list[str]]]:
    """(client host, argv after traced.py LOG) in execution order."""
    agent_plan = {"host": SERVER_IP, "vendor_id": VENDOR, "originator_serial": SERIAL_AGENT, "steps": [
        {"op": "read_tag", "tag": "Line1_SP"},
        {"op": "write_tag", "tag": "Line1_SP", "type": "REAL", "values": [71.5]},
        {"op": "write_tag", "tag": "Line1_SP", "type": "REAL", "values": [95.0]},      # above bound
        {"op": "write_tag", "tag": "Tags[3]", "type": "DINT", "values": [31]},
        {"op": "write_tag", "tag": "Tags[3]", "type": "DINT", "values": [32]},
        {"op": "write_tag", "tag": "Tags[3]", "type": "DINT", "values": [33]},         # over budget (2)
        {"op": "set_attribute_single", "class": 0x64, "instance": 1, "attribute": 3, "hex": "0700"},
        {"sleep": 2.6},
        {"op": "write_tag", "tag": "Line1_SP", "type": "REAL", "values": [72.0]},      # grant expired
    ]}
    oem_plan = {"host": SERVER_IP, "vendor_id": VENDOR, "originator_serial": SERIAL_UNKNOWN, "steps": [
        {"op": "write_tag", "tag": "Tags[10]", "type": "DINT", "values": [1]},
    ]}
    pa, po = os.path.join(scratch, "plan-agent.json"), os.path.join(scratch, "plan-oem.json")
    dump(pa, agent_plan)
    dump(po, oem_plan)
    big = ",".join(str((i * 3) % 30000) for i in range(1000))
    return [
        ("agent", ["gen/enip_pycomm3.py", pa]),
        ("frank", cpppo("Line1_SP=(REAL)72.5", "Tags[0-4]=(DINT)1,2,3,4,5")),
        ("frank", cpppo("-m", "Tags[0-1]", "Line1_SP=(REAL)70.25", "Tags[5]=(DINT)9")),
        ("frank", cpppo("-f", f"Big[0-999]=(INT){big}")),
        ("frank", ["cpppo.server.enip.get_attribute", "-a", SERVER_IP, "@0x64/1/3=(INT)5"]),
        ("oem", ["gen/enip_pycomm3.py", po]),
        ("anon", cpppo("Tags[20]=(DINT)7")),
        ("frank", cpppo("NoSuchTag=(DINT)1")),                                      # unknown tag: last
    ]


def identities() -> list[dict]:
    return [
        {"id": "agent:recipe-loader", "kind": "agent", "owner": "MES team",
         "cip_originators": [f"0x{VENDOR:04x}:0x{SERIAL_AGENT:08x}"]},
        {"id": "human:frank", "kind": "human", "owner": "maintenance", "addresses": ["10.77.0.42"]},
        {"id": "device:plc-1", "kind": "device", "owner": "line 1", "addresses": [SERVER_IP]},
    ]


def grants(writes, t0, t1):
    start, end = t0 - 3600, t1 + 3600
    lsp = sorted([w for w in writes if w["actor"] == "agent:recipe-loader" and w["target"] == "@tag Line1_SP"],
                 key=lambda w: w["frame"])
    cut = float(int(lsp[-2]["_ts"]) + 1)
    if not (lsp[-2]["_ts"] < cut < lsp[-1]["_ts"]):
        raise RuntimeError("no whole second in the agent's pause")
    return [
        T.grant("CHG-600", "agent:recipe-loader", "j.smith, shift supervisor", start, cut, "enip",
                ["@tag Line1_SP"], servers=[SERVER_IP], value_min=60.0, value_max=80.0),
        T.grant("CHG-601", "agent:recipe-loader", "j.smith, shift supervisor", start, end, "enip",
                ["@tag Tags[0..9]"], servers=[SERVER_IP], max_writes=2),
        T.grant("CHG-602", "human:frank", "k.lee, maintenance manager", start, end, "enip",
                ["@tag Line1_SP", "@tag Tags[*", "class 0x64 inst 1 attr 3"], servers=[SERVER_IP]),
    ]


# ------------------------------------------------------------------ CIP parsing

CIP_TYPES = {0xC1: ("BOOL", "<B", 1), 0xC2: ("SINT", "<b", 1), 0xC3: ("INT", "<h", 2), 0xC4: ("DINT", "<i", 4),
             0xC5: ("LINT", "<q", 8), 0xC6: ("USINT", "<B", 1), 0xC7: ("UINT", "<H", 2), 0xC8: ("UDINT", "<I", 4),
             0xCA: ("REAL", "<f", 4), 0xCB: ("LREAL", "<d", 8)}
WRITE_SERVICES = {0x4D: ("write", "Write Tag"), 0x53: ("write", "Write Tag Fragmented"),
                  0x10: ("write", "Set_Attribute_Single"), 0x04: ("write", "Set_Attribute_List"),
                  0x02: ("write", "Set_Attribute_All"), 0x4E: ("write", "Read Modify Write Tag"),
                  0x05: ("control", "Reset"), 0x06: ("control", "Start"), 0x07: ("control", "Stop")}


def real_str(v: float) -> str:
    f32 = struct.unpack("<f", struct.pack("<f", v))[0]
    for p in range(1, 10):
        s = f"{f32:.{p}g}"
        if struct.unpack("<f", struct.pack("<f", float(s)))[0] == f32:
            if "e" not in s and "." not in s:
                s += ".0"
            return s
    return repr(f32)


def parse_path(path: bytes) -> dict:
    out = {"sym": [], "elem": None, "class": None, "inst": None, "attr": None}
    p = 0
    while p < len(path):
        s = path[p]
        if s == 0x91:
            n = path[p + 1]
            out["sym"].append(path[p + 2:p + 2 + n].decode("latin-1"))
            p += 2 + n + (n % 2)
        elif s in (0x28, 0x29, 0x2A):
            if s == 0x28:
                v, p = path[p + 1], p + 2
            elif s == 0x29:
                v, p = struct.unpack("<H", path[p + 2:p + 4])[0], p + 4
            else:
                v, p = struct.unpack("<I", path[p + 2:p + 6])[0], p + 6
            if out["sym"]:
                out["elem"] = v
            else:
                out["member"] = v
        elif s in (0x20, 0x21, 0x24, 0x25, 0x30, 0x31):
            kind = {0x20: "class", 0x21: "class", 0x24: "inst", 0x25: "inst", 0x30: "attr", 0x31: "attr"}[s]
            if s & 1:
                v, p = struct.unpack("<H", path[p + 2:p + 4])[0], p + 4
            else:
                v, p = path[p + 1], p + 2
            out[kind] = v
        else:
            break
    return out


def render_target(pp: dict, count: int | None) -> str:
    if pp["sym"]:
        base = "@tag " + ".".join(pp["sym"])
        e = pp["elem"]
        if e is None and (count or 1) > 1:
            e = 0
        if e is None:
            return base
        if count and count > 1:
            return f"{base}[{e}..{e + count - 1}]"
        return f"{base}[{e}]"
    t = f"class 0x{pp['class']:02x}"
    if pp["inst"] is not None:
        t += f" inst {pp['inst']}"
    if pp["attr"] is not None:
        t += f" attr {pp['attr']}"
    return t


def typed_values(code: int, data: bytes) -> tuple[list, str]:
    name, fmt, size = CIP_TYPES.get(code, (None, None, None))
    if not name:
        return [], data[:32].hex() + (f"{T.ELLIPSIS}+{len(data) - 32}" if len(data) > 32 else "")
    n = len(data) // size
    vals = [struct.unpack(fmt, data[i * size:(i + 1) * size])[0] for i in range(n)]
    strs = [real_str(v) if name == "REAL" else str(v) for v in vals]
    return vals, T.fmt_list(strs)


def cip_requests(msg: bytes, via: str):
    """Yield (service, path dict, data, via, index-in-MSP) for a CIP request message."""
    svc = msg[0]
    psize = msg[1] * 2
    path = msg[2:2 + psize]
    data = msg[2 + psize:]
    pp = parse_path(path)
    if svc == 0x52 and pp["class"] == 0x06 and pp["inst"] == 1:
        size = struct.unpack("<H", data[2:4])[0]
        inner = data[4:4 + size]
        yield from cip_requests(inner, via + "+unconnected_send")
        return
    if svc == 0x0A and pp["class"] == 0x02:
        n = struct.unpack("<H", data[0:2])[0]
        offs = [struct.unpack("<H", data[2 + 2 * i:4 + 2 * i])[0] for i in range(n)] + [len(data)]
        for i in range(n):
            for r in cip_requests(data[offs[i]:offs[i + 1]], via + "+multiple_service_packet"):
                yield r[:4] + (i,)
        return
    yield svc, pp, data, via, None


def cip_replies(msg: bytes) -> list[int]:
    """General statuses of a CIP reply (one per service for MSP)."""
    svc, status = msg[0], msg[2]
    ext = msg[3] * 2
    data = msg[4 + ext:]
    if svc == 0x8A and status in (0, 0x1E):
        n = struct.unpack("<H", data[0:2])[0]
        offs = [struct.unpack("<H", data[2 + 2 * i:4 + 2 * i])[0] for i in range(n)] + [len(data)]
        return [data[offs[i] + 2] for i in range(n)]
    return [status]


def encaps(stream: bytes):
    p = 0
    while p + 24 <= len(stream):
        cmd, ln = struct.unpack("<HH", stream[p:p + 4])
        yield p, p + 24 + ln, cmd, stream[p:p + 24 + ln]
        p += 24 + ln


def cpf_message(enc: bytes):
    cmd = struct.unpack("<H", enc[0:2])[0]
    body = enc[24:]
    if cmd not in (0x6F, 0x70) or len(body) < 8:
        return None, b"", None
    n = struct.unpack("<H", body[6:8])[0]
    p = 8
    conn_id = None
    for _ in range(n):
        typ, ln = struct.unpack("<HH", body[p:p + 4])
        item = body[p + 4:p + 4 + ln]
        p += 4 + ln
        if typ == 0xA1:
            conn_id = struct.unpack("<I", item)[0]
        elif typ == 0xB2:
            return "unconnected", item, None
        elif typ == 0xB1:
            return "connected", item[2:], struct.unpack("<H", item[:2])[0]
    return None, b"", None


# ------------------------------------------------------------------ run

def run(outdir: str, scratch: str) -> dict:
    os.makedirs(outdir, exist_ok=True)
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch, exist_ok=True)
    pcap = os.path.join(outdir, "capture.pcap")
    lab = Lab()
    logs = []
    try:
        lab.build(SERVER_IP, CLIENTS)
        srv = spawn(lab, "srv", [PY, "-m", "cpppo.server.enip", "--address", f"0.0.0.0:{PORT}"] + SERVER_TAGS,
                    os.path.join(scratch, "server.log"))
        wait_port(lab, "srv", PORT)
        lab.start_capture(pcap)
        for i, (host, argv) in enumerate(runs(scratch)):
            log = os.path.join(scratch, f"log-{i:02d}-{host}.json")
            p = spawn(lab, host, [PY, "gen/traced.py", log] + argv, os.path.join(scratch, f"client-{i:02d}-{host}.out"))
            p.wait(timeout=60)
            logs.append((host, log))
            time.sleep(0.2)
        lab.stop_capture()
        stop(srv)
    finally:
        lab.stop()
    return build_truth(outdir, pcap, logs)


def connection_writes(tx: bytes, rx: bytes, *, ip: str, client_port: int, actor: str,
                      server_port: int, where, byframe: dict, seq: list) -> tuple[list, list]:
    """Writes and Forward Open credentials of one client connection, from the bytes the client
    sent (tx) and received (rx).  where(off, end) is the frame completing the request that
    occupies tx[off:end]; seq is a one-element counter shared by all connections."""
    writes, creds = [], []
    replies = [e for e in encaps(rx)]
    reqs = [e for e in encaps(tx)]
    expecting = [r for r in reqs if r[2] != 0x66]          # UnRegisterSession has no reply
    pair = {r[0]: (replies[i] if i < len(replies) else None) for i, r in enumerate(expecting)}
    credential = None
    for off, end, cmd, enc in reqs:
        if cmd not in (0x6F, 0x70):
            continue
        kind, msg, cseq = cpf_message(enc)
        if not msg:
            continue
        rep = pair.get(off)
        statuses = None
        enc_status = struct.unpack("<I", rep[3][8:12])[0] if rep is not None else 0
        if rep is not None and enc_status:
            statuses = [enc_status] * 64   # encapsulation-level error, no CIP reply
        elif rep is not None:
            _k, rmsg, _s = cpf_message(rep[3])
            statuses = cip_replies(rmsg) if rmsg else None
        fr = where(off, end)
        f = byframe[fr]
        for svc, pp, data, via, idx in cip_requests(msg, kind):
            if svc in (0x54, 0x5B):
                vid, serial = struct.unpack("<HI", data[12:18])
                credential = f"0x{vid:04x}:0x{serial:08x}"
                creds.append({"kind": "cip_originator", "frame": fr, "ts": T.iso(f.ts), "client_ip": ip,
                              "client_port": client_port, "id": credential,
                              "service": "Large Forward Open" if svc == 0x5B else "Forward Open",
                              "connection_serial": f"0x{struct.unpack('<H', data[10:12])[0]:04x}"})
                continue
            if svc not in WRITE_SERVICES or (pp["class"] == 0x06 and not pp["sym"]):
                continue  # Connection Manager services (0x4e = Forward Close) are connection events
            cat, op = WRITE_SERVICES[svc]
            count, value, nums, extra = None, "", [], {}
            if svc == 0x4D:
                code, count = struct.unpack("<HH", data[:4])
                nums, value = typed_values(code, data[4:])
                extra["data_type"] = CIP_TYPES.get(code, ("0x%04x" % code,))[0]
            elif svc == 0x53:
                code, count, offset = struct.unpack("<HHI", data[:8])
                nums, value = typed_values(code, data[8:])
                extra["data_type"] = CIP_TYPES.get(code, ("0x%04x" % code,))[0]
                extra["fragment_byte_offset"] = offset
            else:
                value = data[:32].hex() + (f"{T.ELLIPSIS}+{len(data) - 32}" if len(data) > 32 else "")
            if statuses is None:
                outcome = "no_response"
            else:
                stt = statuses[idx or 0] if (idx or 0) < len(statuses) else None
                outcome = "unknown" if stt is None else ("ok" if stt == 0 else f"exception:{stt}")
            seq[0] += 1
            w = {"frame": fr, "ts": T.iso(f.ts), "_ts": f.ts, "_seq": seq[0], "protocol": "enip",
                 "function_code": svc, "category": cat, "operation": op,
                 "client_ip": ip, "client_port": client_port, "client_mac": f.src_mac,
                 "server_ip": SERVER_IP, "server_port": server_port, "server_mac": f.dst_mac,
                 "target": render_target(pp, count), "value": value, "_nums": nums,
                 "outcome": outcome, "readable": True, "actor": actor,
                 "credential_kind": "cip_originator" if credential else None,
                 "credential_id": credential, "device_id": credential,
                 "messaging": via + ("" if cseq is None else f" (class 3 seq {cseq})"),
                 "item": idx or 0, "_off": off, "_end": end}
            if enc_status:
                extra["outcome_note"] = (f"EtherNet/IP encapsulation status 0x{enc_status:02x} and no CIP reply "
                                         "(how cpppo rejects an unknown tag)")
            w.update(extra)
            writes.append(w)
    return writes, creds


RETX: list = []


def build_truth(outdir: str, pcap: str, logs) -> dict:
    RETX.clear()
    frames = read_pcap(pcap)
    streams = tcp_streams(frames)
    byframe = {f.num: f for f in frames}
    writes, creds = [], []
    seq = [0]
    for host, path in logs:
        ip, actor, _ = CLIENTS[host]
        log = json.load(open(path))
        for conn in log["connections"]:
            tx = b"".join(bytes.fromhex(e["hex"]) for e in conn["events"] if e["dir"] == "tx")
            rx = b"".join(bytes.fromhex(e["hex"]) for e in conn["events"] if e["dir"] == "rx")
            if not tx:
                continue
            st = find_stream(streams, ip, conn["lport"], SERVER_IP, PORT)
            if bytes(st.data) != tx:
                raise RuntimeError(f"{host}: captured stream differs from what the client sent")
            if st.gaps:
                raise RuntimeError("gaps in capture")
            if st.retransmissions:
                RETX.append({"client_ip": ip, "client_port": conn["lport"], "retransmitted_segments": st.retransmissions})
            where = lambda _off, end, st=st: st.frame_of(end - 1)  # noqa: E731
            w, c = connection_writes(tx, rx, ip=ip, client_port=conn["lport"], actor=actor,
                                     server_port=PORT, where=where, byframe=byframe, seq=seq)
            writes += w
            creds += c
    ids = T.Identities(identities())
    for w in writes:
        ids.attribute(w)
    t0, t1 = frames[0].ts, frames[-1].ts
    gs = grants(writes, t0, t1)
    T.evaluate_delegations(writes, gs)
    T.write_toml_tables(os.path.join(outdir, "identities.toml"), "principal", identities(),
                        "# identity map for enip-basic. Originator 0x1009:0x00c0ffee and 10.77.0.44 map to nobody.")
    T.write_toml_tables(os.path.join(outdir, "delegations.toml"), "delegation", gs,
                        "# delegations for enip-basic; windows use the capture's real time.")
    for c in creds:
        c["principal"] = ids.by_credential("cip_originator", c["id"])
    doc = {
        "scenario": "enip-basic", "capture": "capture.pcap",
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "stacks": versions("cpppo", "pycomm3"),
        "frames": len(frames), "capture_start": T.iso(t0), "capture_end": T.iso(t1),
        "clients": [{"ip": ip, "mac": mac_for(ip), "principal": ids.by_network(ip, mac_for(ip)),
                     "actor": actor, "notes": notes} for (ip, actor, notes) in CLIENTS.values()],
        "servers": [{"ip": SERVER_IP, "mac": mac_for(SERVER_IP), "port": PORT,
                     "stack": "cpppo.server.enip " + " ".join(SERVER_TAGS)}],
        "writes": writes, "credentials": creds, "opaque_sessions": 0,
        "tcp_retransmissions": RETX,
    }
    T.write_truth(os.path.join(outdir, "truth.json"), doc)
    return doc
