"""OPC UA scenarios (asyncua server and clients).  Done: opcua-none."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time

import pki
import truth as T
from common import PY, dump, run_all, spawn, stop, versions, wait_port
from netlab import Lab, mac_for
from pcapread import find_stream, read_pcap, tcp_streams

SCENARIOS = ["opcua-none", "opcua-sign", "opcua-encrypt"]
SERVER_IP = "10.77.0.2"
PORT = 4840
URL = f"opc.tcp://{SERVER_IP}:{PORT}/otw/"

CLIENTS = {
    "anon": ("10.77.0.51", "agent:setpoint-optimizer", "anonymous session, not in the identity map; sets auditEntryId optimizer-run-42 on one write"),
    "hmi": ("10.77.0.52", "human:alice, then human:bob", "user name alice over policy None (password in clear), re-activated as bob"),
}


SIGN_CLIENTS = {
    "panel": ("10.77.0.53", "device:panel-3", "anonymous session over Basic256Sha256 Sign; application certificate CN=panel-3 (in the identity map as a device)"),
    "eng": ("10.77.0.54", "human:alice", "user name alice, token encrypted (Basic256Sha256), over Sign; application certificate CN=eng-ws-02 (maps to nobody)"),
    "carol": ("10.77.0.55", "human:carol", "X509 user token CN=carol (in the identity map) over Sign; application certificate CN=eng-ws-02"),
}


def sign_plans():
    panel = {"url": URL, "steps": [
        {"op": "write", "nodes": [{"node": "ns=2;s=Oven.Mode", "type": "String", "value": "auto"}]},
        {"op": "write", "nodes": [{"node": "ns=2;s=Oven.SP", "type": "Double", "value": 160.0}]},
    ]}
    eng = {"url": URL, "user": "alice", "password": "alice-pw", "steps": [
        {"op": "write", "nodes": [{"node": "ns=2;s=Oven.SP", "type": "Double", "value": 182.0}]},
        {"op": "write", "nodes": [{"node": "ns=2;s=Oven.SP", "type": "Double", "value": 230.0}]},
        {"op": "write", "nodes": [{"node": "ns=2;s=Line1.Speeds", "type": "Int32", "value": list(range(100, 140))}]},
        {"op": "call", "object": "ns=2;s=Oven", "method": "ns=2;s=Oven.Reset", "args": [1]},
        {"op": "call", "object": "ns=2;s=Oven", "method": "ns=2;s=Oven.Reset", "args": [2]},
    ]}
    carol = {"url": URL, "steps": [
        {"op": "write", "nodes": [{"node": "ns=2;s=Oven.SP", "type": "Double", "value": 199.5}]},
        {"op": "write", "nodes": [{"node": "ns=2;s=Nope", "type": "Double", "value": 1.0}]},
    ]}
    return {"panel": panel, "eng": eng, "carol": carol}


def plans():
    anon = {"url": URL, "steps": [
        {"op": "write", "nodes": [{"node": "ns=2;s=Oven.SP", "type": "Double", "value": 170.0}]},
        {"op": "write", "audit": "optimizer-run-42", "nodes": [{"node": "ns=2;s=Oven.SP", "type": "Double", "value": 175.25}]},
    ]}
    hmi = {"url": URL, "user": "alice", "password": "alice-pw", "steps": [
        {"op": "write", "nodes": [{"node": "ns=2;s=Oven.SP", "type": "Double", "value": 185.5}]},
        {"op": "write", "nodes": [{"node": "ns=2;s=Oven.SP", "type": "Double", "value": 250.0}]},
        {"op": "write", "nodes": [{"node": "ns=2;s=Line1.Speeds", "type": "Int32", "value": [10, 20, 30, 40, 50, 60, 70, 80]},
                                  {"node": "ns=2;s=Oven.Mode", "type": "String", "value": "manual"}]},
        {"op": "call", "object": "ns=2;s=Oven", "method": "ns=2;s=Oven.Reset", "args": [3]},
        {"op": "call", "object": "ns=2;s=Oven", "method": "ns=2;s=Oven.Reset", "args": [4]},
        {"op": "activate", "user": "bob", "password": "bob-pw"},
        {"op": "write", "nodes": [{"node": "ns=2;s=Oven.SP", "type": "Double", "value": 190.0}]},
        {"op": "write", "nodes": [{"node": "ns=2;s=Nope", "type": "Double", "value": 1.0}]},
    ]}
    return {"anon": anon, "hmi": hmi}


def identities():
    return [
        {"id": "human:alice", "kind": "human", "owner": "operations", "opcua_users": ["alice"]},
        {"id": "human:bob", "kind": "human", "owner": "process engineering", "opcua_users": ["bob"]},
        {"id": "agent:setpoint-optimizer", "kind": "agent", "owner": "operations analytics",
         "audit_entries": ["optimizer-*"]},
        {"id": "device:plc-1", "kind": "device", "owner": "line 1", "addresses": [SERVER_IP]},
    ]


def sign_identities(certs):
    return [
        {"id": "human:alice", "kind": "human", "owner": "operations", "opcua_users": ["alice"]},
        {"id": "human:carol", "kind": "human", "owner": "process engineering",
         "certificates": [certs["carol"]["sha256"]]},
        {"id": "device:panel-3", "kind": "device", "owner": "line 1 operator panel",
         "certificates": [certs["panel"]["sha256"]]},
        {"id": "device:plc-1", "kind": "device", "owner": "line 1", "addresses": [SERVER_IP]},
    ]


def sign_grants(t0, t1):
    start, end = t0 - 3600, t1 + 3600
    return [
        T.grant("CHG-710", "human:alice", "j.smith, shift supervisor", start, end, "opcua",
                ["ns=2;s=Oven.SP", "ns=2;s=Line1.*"], servers=[SERVER_IP], value_min=100.0, value_max=220.0),
        T.grant("CHG-711", "human:alice", "j.smith, shift supervisor", start, end, "opcua",
                ["ns=2;s=Oven.Reset"], categories=["control"], servers=[SERVER_IP], max_writes=1),
        T.grant("CHG-712", "device:panel-3", "l.chen, plant manager", start, end, "opcua",
                ["ns=2;s=Oven.Mode"], servers=[SERVER_IP]),
        T.grant("CHG-713", "human:carol", "l.chen, plant manager", t0 - 7200, t0 - 3600, "opcua",
                ["ns=2;s=Oven.*"], servers=[SERVER_IP]),
    ]


def grants(t0, t1):
    start, end = t0 - 3600, t1 + 3600
    return [
        T.grant("CHG-700", "human:alice", "j.smith, shift supervisor", start, end, "opcua",
                ["ns=2;s=Oven.SP"], servers=[SERVER_IP], value_min=150.0, value_max=220.0),
        T.grant("CHG-701", "human:alice", "j.smith, shift supervisor", start, end, "opcua",
                ["ns=2;s=Oven.Reset"], categories=["control"], servers=[SERVER_IP], max_writes=1),
        T.grant("CHG-702", "human:bob", "l.chen, plant manager", t0 - 7200, t0 - 3600, "opcua",
                ["ns=2;s=Oven.*"], servers=[SERVER_IP]),
        T.grant("CHG-703", "agent:setpoint-optimizer", "j.smith, shift supervisor", start, end, "opcua",
                ["ns=2;s=Oven.SP"], servers=[SERVER_IP], value_min=150.0, value_max=220.0),
    ]


def render_value(v, vtype):
    def one(x):
        if isinstance(x, bool):
            return "true" if x else "false"
        if isinstance(x, float):
            return repr(x)
        return str(x)
    if isinstance(v, list):
        return T.fmt_list([one(x) for x in v]), [x for x in v if isinstance(x, (int, float)) and not isinstance(x, bool)]
    nums = [v] if isinstance(v, (int, float)) and not isinstance(v, bool) else []
    return one(v), nums


def run(outdir, scratch, scenario):
    os.makedirs(outdir, exist_ok=True)
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch, exist_ok=True)
    sec = None
    clients, pl = (SIGN_CLIENTS, sign_plans()) if scenario == "opcua-sign" else (CLIENTS, plans())
    if scenario != "opcua-none":
        pkid = os.path.join(scratch, "pki")
        os.makedirs(pkid)
        ca = pki.make_ca(pkid)
        certs = {"server": pki.make_cert(pkid, "server", "/O=Plant/CN=plc-1-opcua", ca, server=True,
                                         san_ip=f"URI:urn:otw:plc-1,IP:{SERVER_IP}")}
        if scenario == "opcua-sign":
            certs["panel"] = pki.make_cert(pkid, "panel", "/O=Plant/CN=panel-3", ca, san_ip="URI:urn:otw:panel-3")
            certs["eng"] = pki.make_cert(pkid, "eng", "/O=Plant/CN=eng-ws-02", ca, san_ip="URI:urn:otw:eng-ws-02")
            certs["carol"] = pki.make_cert(pkid, "carol", "/O=Plant/CN=carol", ca)
            app = {"panel": "panel", "eng": "eng", "carol": "eng"}
            mode = "Sign"
        else:
            certs["hmi"] = pki.make_cert(pkid, "hmi", "/O=Plant/CN=hmi-7", ca, san_ip="URI:urn:otw:hmi-7")
            app = {"anon": "hmi", "hmi": "hmi"}
            mode = "SignAndEncrypt"
        for c in certs.values():          # asyncua picks the key format from the file extension
            shutil.copy(c["key"], c["key"] + ".pem")
            c["key"] = c["key"] + ".pem"
        sec = {"certs": certs, "app": app, "mode": mode}
    pcap = os.path.join(outdir, "capture.pcap")
    lab = Lab()
    logs = {}
    try:
        lab.build(SERVER_IP, clients)
        sargs = ["none"] if sec is None else ["secure", sec["certs"]["server"]["der"], sec["certs"]["server"]["key"]]
        srv = spawn(lab, "srv", [PY, "gen/opcua_server.py"] + sargs, os.path.join(scratch, "server.log"))
        wait_port(lab, "srv", PORT, timeout=40)
        lab.start_capture(pcap)
        for name in clients:
            pf = os.path.join(scratch, f"plan-{name}.json")
            p = dict(pl[name])
            if sec is not None:
                a = sec["certs"][sec["app"][name]]
                p["security"] = {"app_uri": f"urn:otw:{a['subject'].split(',')[0][3:]}", "cert": a["der"],
                                 "key": a["key"], "server_cert": sec["certs"]["server"]["der"], "mode": sec["mode"]}
                if name == "carol":
                    p["user_cert"] = sec["certs"]["carol"]["der"]
                    p["user_key"] = sec["certs"]["carol"]["key"]
            dump(pf, p)
            logs[name] = os.path.join(scratch, f"log-{name}.json")
            run_all([spawn(lab, name, [PY, "gen/opcua_client.py", pf, logs[name]],
                           os.path.join(scratch, f"client-{name}.out"))])
            time.sleep(0.2)
        lab.stop_capture()
        stop(srv)
    finally:
        lab.stop()
    return build_truth(outdir, pcap, logs, scenario, clients, sec)


def build_truth(outdir, pcap, logs, scenario, clients, sec=None):
    frames = read_pcap(pcap)
    streams = tcp_streams(frames)
    byframe = {f.num: f for f in frames}
    writes, creds = [], []
    seq = 0
    policy = "None" if sec is None else "Basic256Sha256"
    mode = "None" if sec is None else sec["mode"]
    encrypted = mode == "SignAndEncrypt"
    for name, path in logs.items():
        ip, actor_desc, _ = clients[name]
        log = json.load(open(path))
        chunks = [bytes.fromhex(w["hex"]) for w in log["writes"]]
        st = find_stream(streams, ip, log["lport"], SERVER_IP, PORT)
        if bytes(st.data) != b"".join(chunks):
            raise RuntimeError(f"{name}: captured stream differs from what the client sent")
        if st.gaps:
            raise RuntimeError("gaps")
        ends = []
        off = 0
        for c in chunks:
            off += len(c)
            ends.append(off)
        results = iter(log["results"])
        user_cred = None
        channel = None
        actor = actor_desc.split(",")[0]
        for rq in log["requests"]:
            fr = st.frame_of(ends[rq["write_index"]] - 1)
            f = byframe[fr]
            if rq["type"] == "OpenSecureChannelRequest" and sec is not None:
                a = sec["certs"][sec["app"][name]]
                channel = a["sha256"]
                creds.append({"kind": "opcua_channel_cert", "id": a["sha256"], "sha1": a["sha1"],
                              "subject": a["subject"], "frame": fr, "ts": T.iso(f.ts), "client_ip": ip,
                              "client_port": log["lport"], "observable": True,
                              "note": "sender certificate of OpenSecureChannel (asymmetric header, in clear)"})
                continue
            if rq["type"] == "ActivateSessionRequest":
                if rq.get("user"):
                    user_cred = ("opcua_user", rq["user"])
                    actor = f"human:{rq['user']}"
                    creds.append({"kind": "opcua_user", "id": rq["user"], "frame": fr, "ts": T.iso(f.ts),
                                  "client_ip": ip, "client_port": log["lport"], "token": rq["token"],
                                  "encryption_algorithm": rq.get("encryption"),
                                  "plaintext_password": not rq.get("encryption") and not encrypted,
                                  "secret_for_leak_tests": {"alice": "alice-pw", "bob": "bob-pw"}[rq["user"]],
                                  "security_policy": f"{policy} {mode}", "observable": not encrypted})
                elif rq.get("x509_sha256"):
                    user_cred = ("opcua_x509_user", rq["x509_sha256"])
                    c = sec["certs"]["carol"]
                    creds.append({"kind": "opcua_x509_user", "id": rq["x509_sha256"], "subject": c["subject"],
                                  "frame": fr, "ts": T.iso(f.ts), "client_ip": ip, "client_port": log["lport"],
                                  "security_policy": f"{policy} {mode}", "observable": not encrypted})
                continue
            if rq["type"] not in ("WriteRequest", "CallRequest"):
                continue
            res = next(results)
            while res["op"] == "activate":
                res = next(results)
            if rq.get("audit"):
                creds.append({"kind": "opcua_audit_entry", "id": rq["audit"], "frame": fr, "ts": T.iso(f.ts),
                              "client_ip": ip, "client_port": log["lport"], "observable": not encrypted})
            items = rq.get("nodes") or rq.get("methods")
            for i, it in enumerate(items):
                status = res["status"][i]
                if rq["type"] == "WriteRequest":
                    target = it["node"] if it["attr"] == 13 else f"{it['node']} attr {it['attr']}"
                    value, nums = render_value(it["value"], it["variant_type"])
                    row = {"function_code": 673, "category": "write", "operation": "Write", "target": target,
                           "value": value, "_nums": nums, "variant_type": it["variant_type"]}
                else:
                    value, nums = render_value(it["args"] if len(it["args"]) != 1 else it["args"][0], None)
                    row = {"function_code": 712, "category": "control", "operation": "Call", "target": it["method"],
                           "object_id": it["object"], "value": value, "_nums": nums}
                others = []
                if user_cred:
                    ck, cid = user_cred
                    if channel:
                        others.append(("opcua_channel_cert", channel, None))
                elif rq.get("audit"):
                    ck, cid = "opcua_audit_entry", rq["audit"]
                elif channel:
                    ck, cid = "opcua_channel_cert", channel
                else:
                    ck, cid = None, None
                seq += 1
                w = {"frame": fr, "ts": T.iso(f.ts), "_ts": f.ts, "_seq": seq, "protocol": "opcua",
                     "client_ip": ip, "client_port": log["lport"], "client_mac": f.src_mac,
                     "server_ip": SERVER_IP, "server_port": PORT, "server_mac": f.dst_mac,
                     "outcome": "ok" if status == 0 else f"exception:{status}",
                     "status_code": f"0x{status:08x}", "readable": not encrypted, "actor": actor,
                     "credential_kind": ck, "credential_id": cid, "client_certificate": channel,
                     "audit_entry_id": rq.get("audit"), "_other_credentials": others,
                     "security_policy": policy, "security_mode": mode, "item": i, "request_id": rq["request_id"]}
                w.update(row)
                writes.append(w)
    idl = sign_identities(sec["certs"]) if scenario == "opcua-sign" else identities()
    ids = T.Identities(idl)
    t0, t1 = frames[0].ts, frames[-1].ts
    gs = sign_grants(t0, t1) if scenario == "opcua-sign" else grants(t0, t1)
    if encrypted:
        for w in writes:
            w["credential_kind"] = w["credential_id"] = None
            w["principal"] = w["attribution"] = None
    else:
        for w in writes:
            ids.attribute(w)
    T.evaluate_delegations(writes, gs)
    if encrypted:
        for w in writes:
            w["why"] = "SignAndEncrypt: a passive observer cannot read this write; the session is opaque"
    T.write_toml_tables(os.path.join(outdir, "identities.toml"), "principal", idl,
                        f"# identity map for {scenario}.")
    T.write_toml_tables(os.path.join(outdir, "delegations.toml"), "delegation", gs,
                        f"# delegations for {scenario}; windows use the capture's real time (one grant ended an hour before it).")
    for c in creds:
        c["principal"] = ids.by_credential(c["kind"], c["id"], c.get("subject"))
    if sec is not None:
        pki.publish(outdir, {n: c["cert"] for n, c in sec["certs"].items()})
    doc = {
        "scenario": scenario, "capture": "capture.pcap",
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "stacks": versions("asyncua", "cryptography"),
        "frames": len(frames), "capture_start": T.iso(t0), "capture_end": T.iso(t1),
        "clients": [{"ip": ip, "mac": mac_for(ip), "principal": ids.by_network(ip, mac_for(ip)),
                     "actor": actor, "notes": notes} for (ip, actor, notes) in clients.values()],
        "servers": [{"ip": SERVER_IP, "mac": mac_for(SERVER_IP), "port": PORT, "endpoint": URL,
                     "stack": f"asyncua Server, SecurityPolicy {policy} {mode}",
                     "certificate_sha256": sec["certs"]["server"]["sha256"] if sec else None}],
        "writes": writes, "credentials": creds,
        "opaque_sessions": len(logs) if encrypted else 0,
    }
    T.write_truth(os.path.join(outdir, "truth.json"), doc)
    return doc
