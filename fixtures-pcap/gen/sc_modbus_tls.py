"""Modbus/TCP Security (port 802) scenarios: modbus-tls12 and modbus-tls13.

pymodbus ModbusTlsServer demands a client certificate; pymodbus ModbusTlsClient
clients present certificates made with openssl that carry the Modbus role
extension.  The application data is encrypted (AES-128-GCM), so a passive
observer cannot read the writes: every write is listed with readable=false, and
its frame is the one that completes the TLS record carrying it (located by
record order and length, checked against the plaintext length the client sent).
With TLS 1.2 the client Certificate message is in clear, so the credential is
observable; with TLS 1.3 it is encrypted, so it is not.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import struct
import time

import pki
import truth as T
from common import PY, dump, run_all, spawn, stop, versions, wait_port
from netlab import Lab, mac_for
from sc_modbus import SERVER_IP, coil, modbus_writes_from_logs, read, reg, regs

PORT = 802

CLIENTS = {
    "carol": ("10.77.0.21", "human:carol", "operator HMI; certificate CN=carol-hmi,O=Plant role operator (thumbprint in the identity map)"),
    "eng": ("10.77.0.22", "human:dave", "engineering workstation; certificate CN=eng-ws-02,O=Plant role engineer (subject in the identity map)"),
    "gw": ("10.77.0.23", "unknown gateway", "certificate CN=edge-gw-9,O=Contractor role operator, in no identity entry"),
}
CERTS = {
    "carol": ("/O=Plant/CN=carol-hmi", "operator"),
    "eng": ("/O=Plant/CN=eng-ws-02", "engineer"),
    "gw": ("/O=Contractor/CN=edge-gw-9", "operator"),
}


def plans() -> dict:
    return {
        "carol": [read(0, 4), reg(100, 180), regs(100, [181, 182, 183]), coil(5, True), {"sleep": 0.3},
                  reg(1000, 1)],
        "eng": [regs(200, range(50)), {"op": "mask_write_register",
                                       "kw": {"address": 210, "and_mask": 0x00FF, "or_mask": 0x0100}},
                {"op": "readwrite_registers", "kw": {"read_address": 200, "read_count": 2,
                                                     "write_address": 220, "values": [1, 2]}}],
        "gw": [reg(300, 7), {"reconnect": True}, reg(301, 8)],
    }


NULL_CIPHERS = "NULL-SHA256:@SECLEVEL=0"


def tls_locator(version: str, null: bool = False):
    # GCM: 8-byte explicit nonce (1.2) or inner content type (1.3), 16-byte tag; NULL-SHA256: 32-byte MAC
    overhead = 32 if null else (24 if version == "1.2" else 17)

    def locate(st, conn):
        data = bytes(st.data)
        recs = []
        p = 0
        while p + 5 <= len(data):
            typ, _ver, ln = struct.unpack(">BHH", data[p:p + 5])
            recs.append((typ, p, p + 5 + ln, ln))
            p += 5 + ln
        app = [r for r in recs if r[0] == 0x17]
        sends = [bytes.fromhex(e["hex"]) for e in conn["events"] if e["dir"] == "tx"]
        if version == "1.3":
            while app and app[-1][3] == 2 + 1 + 16:      # close_notify alert, encrypted
                app.pop()
        if len(app) < len(sends):
            raise RuntimeError("fewer application records than client sends")
        app = app[len(app) - len(sends):]
        bounds = []
        off = 0
        for s, r in zip(sends, app):
            if r[3] != len(s) + overhead:
                raise RuntimeError(f"record length {r[3]} does not fit plaintext {len(s)}")
            bounds.append((off, off + len(s), r))
            off += len(s)

        def where(o, e):
            for (a, b, r) in bounds:
                if a <= o and e <= b:
                    return st.frame_of(r[2] - 1), len(set(st.owner[r[1]:r[2]]))
            raise RuntimeError("request spans several sends")
        return where
    return locate


def identities(certs: dict) -> list[dict]:
    return [
        {"id": "human:carol", "kind": "human", "owner": "operations",
         "certificates": [certs["carol"]["sha256"]]},
        {"id": "human:dave", "kind": "human", "owner": "process engineering",
         "subjects": [certs["eng"]["subject"]]},
        {"id": "device:plc-1", "kind": "device", "owner": "line 1", "addresses": [SERVER_IP]},
    ]


def run(outdir: str, scratch: str, version: str, null: bool = False) -> dict:
    scenario = ("modbus-tls12-null" if null else "modbus-tls12") if version == "1.2" else "modbus-tls13"
    os.makedirs(outdir, exist_ok=True)
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch, exist_ok=True)
    pkid = os.path.join(scratch, "pki")
    os.makedirs(pkid)
    ca = pki.make_ca(pkid)
    server = pki.make_cert(pkid, "server", "/O=Plant/CN=plc-1", ca, server=True, san_ip=SERVER_IP)
    certs = {n: pki.make_cert(pkid, n, subj, ca, role=role) for n, (subj, role) in CERTS.items()}
    pcap = os.path.join(outdir, "capture.pcap")
    lab = Lab()
    logs = {}
    try:
        lab.build(SERVER_IP, CLIENTS)
        srv = spawn(lab, "srv", [PY, "gen/modbus_server.py", str(PORT), server["cert"], server["key"], ca[0], version]
                    + ([NULL_CIPHERS] if null else []),
                    os.path.join(scratch, "server.log"))
        wait_port(lab, "srv", PORT)
        lab.start_capture(pcap)
        pl = plans()
        keylog = os.path.join(outdir, "sslkeys.log")
        if os.path.exists(keylog):
            os.unlink(keylog)
        for name in CLIENTS:
            pf = os.path.join(scratch, f"plan-{name}.json")
            dump(pf, {"host": SERVER_IP, "port": PORT, "steps": pl[name],
                      "tls": {"ca": ca[0], "cert": certs[name]["cert"], "key": certs[name]["key"],
                              "version": version, "keylog": keylog,
                              **({"ciphers": NULL_CIPHERS} if null else {})}})
            logs[name] = os.path.join(scratch, f"log-{name}.json")
            run_all([spawn(lab, name, [PY, "gen/modbus_client.py", pf, logs[name]],
                           os.path.join(scratch, f"client-{name}.out"))])
            time.sleep(0.2)
        lab.stop_capture()
        stop(srv)
    finally:
        lab.stop()

    writes, frames = modbus_writes_from_logs(pcap, logs, PORT, CLIENTS, tls_locator(version, null))
    ids = T.Identities(identities(certs))
    sessions = 0
    seen_conn = set()
    creds = []
    name_of_ip = {ip: n for n, (ip, _a, _x) in CLIENTS.items()}
    for w in writes:
        c = certs[name_of_ip[w["client_ip"]]]
        w["readable"] = null
        conn = w["_conn"]
        w["tls_version"] = conn.get("tls_version")
        w["cipher"] = conn.get("cipher")
        # the credential of the session; observable only when TLS <= 1.2
        if version == "1.2":
            w["credential_kind"], w["credential_id"] = "tls_client_cert", c["sha256"]
            w["client_certificate"] = c["sha256"]
        w["principal"] = None
        w["attribution"] = None
        if null:
            w["_subject"] = c["subject"]
            ids.attribute(w)
        key = (w["client_ip"], w["client_port"])
        if key not in seen_conn:
            seen_conn.add(key)
            sessions += 0 if null else 1
            creds.append({"kind": "tls_client_cert", "client_ip": w["client_ip"], "client_port": w["client_port"],
                          "sha256": c["sha256"], "sha1": c["sha1"], "subject": c["subject"], "role": c["role"],
                          "issuer": "CN=OTW Test Plant CA,O=Plant",
                          "observable": version == "1.2",
                          "principal": ids.by_credential("tls_client_cert", c["sha256"], c["subject"]),
                          "attribution": ("attributed" if ids.by_credential("tls_client_cert", c["sha256"], c["subject"])
                                          else "credential_only") if version == "1.2" else None})
    t0, t1 = frames[0].ts, frames[-1].ts
    gs = [T.grant("CHG-400", "human:carol", "j.smith, shift supervisor", t0 - 3600, t1 + 3600, "modbus",
                  ["unit 1 holding 100..199"], servers=[SERVER_IP])]
    if null:
        gs[0]["value_max"] = 182.0          # carol's FC16 181,182,183 goes above the bound
        gs.append(T.grant("CHG-402", "human:carol", "j.smith, shift supervisor", t0 - 7200, t0 - 3600, "modbus",
                          ["unit 1 coil 0..9"], servers=[SERVER_IP]))
        gs.append(T.grant("CHG-401", "human:dave", "m.jones, process engineering lead", t0 - 3600, t1 + 3600,
                          "modbus", ["unit 1 holding 200..249"], servers=[SERVER_IP], max_writes=2))
    T.evaluate_delegations(writes, gs)
    if not null:
        for w in writes:
            w["why"] = "encrypted: a passive observer cannot read this write; the session is opaque"
    T.write_toml_tables(os.path.join(outdir, "identities.toml"), "principal", identities(certs),
                        f"# identity map for {scenario}: carol by certificate thumbprint, dave by subject;\n"
                        f"# CN=edge-gw-9 maps to nobody (credential_only when observable).")
    T.write_toml_tables(os.path.join(outdir, "delegations.toml"), "delegation", gs,
                        f"# delegations for {scenario}; " + ("windows use the capture's real time." if null else
                                                              "the writes are opaque, so no write row can use it."))
    pki.publish(outdir, {"ca": ca[0], "server": server["cert"],
                         **{f"client-{n}": c["cert"] for n, c in certs.items()}})
    doc = {
        "scenario": scenario, "capture": "capture.pcap",
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "stacks": dict(versions("pymodbus"), openssl=__import__("ssl").OPENSSL_VERSION),
        "frames": len(frames), "capture_start": T.iso(t0), "capture_end": T.iso(t1),
        "tls": {"version": "TLSv" + version,
                "cipher": writes[0]["cipher"],
                "client_auth": "required", "port": PORT},
        "clients": [{"ip": ip, "mac": mac_for(ip), "principal": None, "actor": actor, "notes": notes,
                     "certificate_sha256": certs[n]["sha256"], "certificate_subject": certs[n]["subject"],
                     "role": certs[n]["role"]}
                    for n, (ip, actor, notes) in CLIENTS.items()],
        "servers": [{"ip": SERVER_IP, "mac": mac_for(SERVER_IP), "port": PORT,
                     "certificate_sha256": server["sha256"], "certificate_subject": server["subject"],
                     "stack": "pymodbus ModbusTlsServer (client certificate required)"}],
        "writes": writes,
        "credentials": creds,
        "opaque_sessions": sessions,
    }
    T.write_truth(os.path.join(outdir, "truth.json"), doc)
    return doc
