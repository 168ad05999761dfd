"""CIP Security (EtherNet/IP over TLS, port 2221) scenarios: enip-tls12-null and enip-tls12.

The EtherNet/IP stacks are those of enip-basic: cpppo's Logix-like simulator as the server,
cpppo's client and get_attribute CLIs as clients, each run under gen/traced.py, which logs every
byte the client's sockets send and receive.  TLS is added on each side by socat (OpenSSL):

  client: cpppo -> 127.0.0.1:44818 -> socat TCP-LISTEN ... OPENSSL:10.77.0.2:2221 (cert, key)
  server: socat OPENSSL-LISTEN:2221 (verify=1: client certificate required) -> 127.0.0.1:44818

Only the TLS connections cross the bridge; the loopback legs are not captured.  Each client
connection to its local socat becomes one TLS connection, so the client's log of a connection
is paired with the next TLS stream from that host (SYN order), and checked: the plaintext
lengths of its application-data records (record length minus the suite's overhead: 32 for
NULL-SHA256's HMAC, 24 for AES-GCM's explicit nonce and tag) add up to what the client sent,
and under NULL-SHA256 the plaintext itself equals it byte for byte.  socat may join or cut the
client's sends into records as it reads them, so a request is located by its byte offset in the
plaintext: its frame is the one completing the record that holds its last byte.  The writes,
values and outcomes themselves come from the client's log (sc_enip.connection_writes).

Under NULL-SHA256 the writes are readable and carry the client's tls_client_cert credential;
under ECDHE-RSA-AES128-GCM-SHA256 only the certificates are visible and every write is opaque.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import struct
import subprocess
import time

import pki
import truth as T
from common import PY, spawn, stop, versions, wait_port
from netlab import Lab, mac_for
from pcapread import read_pcap, tcp_streams
from sc_enip import SERVER_IP, SERVER_TAGS, connection_writes

PORT = 2221
LOCAL = 44818           # the plain EtherNet/IP leg, on loopback at both ends

CIPHERS = {False: "ECDHE-RSA-AES128-GCM-SHA256", True: "NULL-SHA256:@SECLEVEL=0"}
OVERHEAD = {False: 24, True: 32}

CLIENTS = {
    "hmi": ("10.77.0.51", "human:erin",
            "cpppo client behind socat; certificate CN=hmi-erin,O=Plant (thumbprint in the identity map)"),
    "eng": ("10.77.0.52", "human:frank",
            "cpppo client and get_attribute behind socat; certificate CN=eng-ws-07,O=Plant "
            "(subject in the identity map)"),
    "gw": ("10.77.0.53", "unknown gateway",
           "cpppo client behind socat; certificate CN=edge-gw-9,O=Contractor, in no identity entry"),
}
SUBJECTS = {"hmi": "/O=Plant/CN=hmi-erin", "eng": "/O=Plant/CN=eng-ws-07", "gw": "/O=Contractor/CN=edge-gw-9"}


def cpppo(*args):
    return ["cpppo.server.enip.client", "-a", "127.0.0.1"] + list(args)


def runs() -> list[tuple[str, list[str]]]:
    """(client host, argv after traced.py LOG) in execution order; one connection each."""
    big = ",".join(str((i * 7) % 30000) for i in range(1000))
    return [
        ("hmi", cpppo("Line1_SP=(REAL)72.5")),
        ("eng", cpppo("Tags[0-4]=(DINT)1,2,3,4,5")),
        ("hmi", cpppo("Line1_SP=(REAL)95.0")),                                   # above the bound
        ("gw", cpppo("Tags[20]=(DINT)7")),
        ("hmi", cpppo("-m", "Tags[0-1]", "Line1_SP=(REAL)70.25", "Tags[5]=(DINT)9")),
        ("eng", ["cpppo.server.enip.get_attribute", "-a", "127.0.0.1", "@0x64/1/3=(INT)5"]),
        ("gw", cpppo("Tags[21]=(DINT)8")),
        ("eng", cpppo("-f", f"Big[0-999]=(INT){big}")),
        ("eng", cpppo("NoSuchTag=(DINT)1")),                                     # unknown tag: last
    ]


def identities(certs: dict) -> list[dict]:
    return [
        {"id": "human:erin", "kind": "human", "owner": "operations",
         "certificates": [certs["hmi"]["sha256"]]},
        {"id": "human:frank", "kind": "human", "owner": "maintenance",
         "subjects": [certs["eng"]["subject"]]},
        {"id": "device:plc-1", "kind": "device", "owner": "line 1", "addresses": [SERVER_IP]},
    ]


def grants(t0: float, t1: float) -> list[dict]:
    start, end = t0 - 3600, t1 + 3600
    return [
        T.grant("CHG-700", "human:erin", "j.smith, shift supervisor", start, end, "enip",
                ["@tag Line1_SP"], servers=[SERVER_IP], value_min=60.0, value_max=80.0),
        T.grant("CHG-701", "human:erin", "j.smith, shift supervisor", t0 - 7200, t0 - 3600, "enip",
                ["@tag Tags[*"], servers=[SERVER_IP]),
        T.grant("CHG-702", "human:frank", "k.lee, maintenance manager", start, end, "enip",
                ["@tag Tags[0..9]", "class 0x64 inst 1 attr 3"], servers=[SERVER_IP], max_writes=1),
    ]


def records(data: bytes) -> list[tuple[int, int, int, int]]:
    """TLS records of one direction: (content type, start, end, fragment length)."""
    out, p = [], 0
    while p + 5 <= len(data):
        typ, _ver, ln = struct.unpack(">BHH", data[p:p + 5])
        out.append((typ, p, p + 5 + ln, ln))
        p += 5 + ln
    return out


def locator(st, tx: bytes, null: bool):
    """where(off, end) for the client's plaintext tx inside the TLS stream st (see the module doc)."""
    overhead = OVERHEAD[null]
    bounds, off, plain = [], 0, b""
    for typ, a, b, ln in records(bytes(st.data)):
        if typ != 0x17:
            continue
        n = ln - overhead
        if n <= 0:
            raise RuntimeError(f"application record of {ln} bytes is too short for its suite")
        bounds.append((off, off + n, a, b))
        plain += bytes(st.data[a + 5:a + 5 + n])
        off += n
    if off != len(tx):
        raise RuntimeError(f"{st.src}:{st.sport}: records hold {off} plaintext bytes, the client sent {len(tx)}")
    if null and plain != tx:
        raise RuntimeError(f"{st.src}:{st.sport}: NULL-cipher plaintext differs from what the client sent")

    def where(o: int, e: int) -> int:
        for lo, hi, _a, b in bounds:
            if lo <= e - 1 < hi:
                return st.frame_of(b - 1)
        raise RuntimeError(f"no record holds plaintext byte {e - 1}")

    def spanned(o: int, e: int) -> int:
        return sum(1 for lo, hi, _a, _b in bounds if lo < e and o < hi)
    return where, spanned


def socat_sessions(paths: list[str]) -> list[tuple[str, str]]:
    """(protocol version, OpenSSL cipher name) of every TLS connection a socat log reports."""
    out = []
    for p in paths:
        text = open(p).read()
        vers = re.findall(r"SSL proto version used: (\S+)", text)
        ciph = re.findall(r"SSL connection using (\S+)", text)
        if len(vers) != len(ciph):
            raise RuntimeError(f"{p}: unpaired TLS reports")
        out += list(zip(vers, ciph))
    return out


def iana_name(openssl_name: str) -> str:
    r = subprocess.run(["openssl", "ciphers", "-stdname", openssl_name + ":@SECLEVEL=0"],
                       capture_output=True, text=True, check=True)
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[2] == openssl_name:
            return parts[0]
    raise RuntimeError(f"openssl knows no standard name for {openssl_name}")


def socat_version() -> str:
    r = subprocess.run(["socat", "-V"], capture_output=True, text=True)
    m = re.search(r"socat version (\S+)", r.stdout)
    return m.group(1) if m else "unknown"


def tls_opts(cert: dict, ca: str, null: bool) -> str:
    return (f"cert={cert['cert']},key={cert['key']},cafile={ca},verify=1,cipher={CIPHERS[null]},"
            "openssl-min-proto-version=TLS1.2,openssl-max-proto-version=TLS1.2")


def run(outdir: str, scratch: str, null: bool) -> dict:
    scenario = "enip-tls12-null" if null else "enip-tls12"
    os.makedirs(outdir, exist_ok=True)
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch, exist_ok=True)
    pkid = os.path.join(scratch, "pki")
    ca = pki.make_ca(pkid)
    server = pki.make_cert(pkid, "server", "/O=Plant/CN=plc-1", ca, server=True, san_ip=SERVER_IP)
    certs = {n: pki.make_cert(pkid, n, subj, ca) for n, subj in SUBJECTS.items()}
    pcap = os.path.join(outdir, "capture.pcap")
    lab = Lab()
    logs, socat_logs = [], []
    try:
        lab.build(SERVER_IP, CLIENTS)
        srv = spawn(lab, "srv", [PY, "-m", "cpppo.server.enip", "--address", f"127.0.0.1:{LOCAL}"] + SERVER_TAGS,
                    os.path.join(scratch, "server.log"))
        wait_port(lab, "srv", LOCAL)
        tunnels = [spawn(lab, "srv", ["socat", "-d", "-d",
                                      f"OPENSSL-LISTEN:{PORT},reuseaddr,fork," + tls_opts(server, ca[0], null),
                                      f"TCP:127.0.0.1:{LOCAL}"], os.path.join(scratch, "socat-srv.log"))]
        wait_port(lab, "srv", PORT)
        for name in CLIENTS:
            log = os.path.join(scratch, f"socat-{name}.log")
            socat_logs.append(log)
            tunnels.append(spawn(lab, name, ["socat", "-d", "-d", f"TCP-LISTEN:{LOCAL},bind=127.0.0.1,reuseaddr,fork",
                                             f"OPENSSL:{SERVER_IP}:{PORT},commonname=plc-1,"
                                             + tls_opts(certs[name], ca[0], null)], log))
            wait_port(lab, name, LOCAL)
        lab.start_capture(pcap)
        for i, (host, argv) in enumerate(runs()):
            log = os.path.join(scratch, f"log-{i:02d}-{host}.json")
            proc = spawn(lab, host, [PY, "gen/traced.py", log] + argv,
                         os.path.join(scratch, f"client-{i:02d}-{host}.out"))
            proc.wait(timeout=60)
            # cpppo's client exits non-zero when a write is rejected (the unknown tag, last)
            if proc.returncode != 0 and "NoSuchTag=(DINT)1" not in argv:
                raise RuntimeError(f"client {argv} failed with {proc.returncode}")
            logs.append((host, log))
            time.sleep(0.3)
        lab.stop_capture()
        for p in tunnels:
            stop(p)
        stop(srv)
    finally:
        lab.stop()
    return build_truth(scenario, outdir, pcap, logs, socat_logs, certs, server, ca, null)


def build_truth(scenario, outdir, pcap, logs, socat_logs, certs, server, ca, null) -> dict:
    frames = read_pcap(pcap)
    streams = tcp_streams(frames)
    byframe = {f.num: f for f in frames}
    queue = {ip: sorted((s for s in streams if (s.src, s.dst, s.dport) == (ip, SERVER_IP, PORT)),
                        key=lambda s: s.syn_frame)
             for (ip, _a, _n) in CLIENTS.values()}
    name_of_ip = {ip: n for n, (ip, _a, _x) in CLIENTS.items()}
    writes, conns = [], []
    seq = [0]
    for host, path in logs:
        ip, actor, _ = CLIENTS[host]
        for conn in json.load(open(path))["connections"]:
            tx = b"".join(bytes.fromhex(e["hex"]) for e in conn["events"] if e["dir"] == "tx")
            rx = b"".join(bytes.fromhex(e["hex"]) for e in conn["events"] if e["dir"] == "rx")
            if not queue[ip]:
                raise RuntimeError(f"{host}: no TLS connection left for a logged client connection")
            st = queue[ip].pop(0)
            if st.gaps or st.retransmissions:
                raise RuntimeError(f"{host}: gaps or retransmissions in the TLS stream")
            where, spanned = locator(st, tx, null)
            ws, creds = connection_writes(tx, rx, ip=ip, client_port=st.sport, actor=actor,
                                          server_port=PORT, where=where, byframe=byframe, seq=seq)
            if creds:
                raise RuntimeError("no Forward Open is expected in these runs")
            for w in ws:
                w["tls_records"] = spanned(w.pop("_off"), w.pop("_end")) if "_off" in w else None
            writes += ws
            conns.append((host, st))
    left = [s for q in queue.values() for s in q]
    if left:
        raise RuntimeError(f"{len(left)} TLS connection(s) in the capture that no client logged")

    tls = socat_sessions(socat_logs)
    if len(tls) != len(conns) or set(tls) != {("TLSv1.2", CIPHERS[null].split(":")[0])}:
        raise RuntimeError(f"socat reports {tls} for {len(conns)} connections")
    version, cipher = tls[0]
    cipher_iana = iana_name(cipher)

    ids = T.Identities(identities(certs))
    creds = []
    for host, st in conns:
        c = certs[host]
        pid = ids.by_credential("tls_client_cert", c["sha256"], c["subject"])
        creds.append({"kind": "tls_client_cert", "client_ip": st.src, "client_port": st.sport,
                      "sha256": c["sha256"], "sha1": c["sha1"], "subject": c["subject"],
                      "issuer": "CN=OTW Test Plant CA,O=Plant", "role": None,
                      "not_before": c["not_before"], "not_after": c["not_after"],
                      "observable": True, "principal": pid,
                      "attribution": "attributed" if pid else "credential_only"})
    for w in writes:
        c = certs[name_of_ip[w["client_ip"]]]
        w["readable"] = null
        w["tls_version"], w["cipher"] = version, cipher
        w["credential_kind"], w["credential_id"] = "tls_client_cert", c["sha256"]
        w["client_certificate"] = c["sha256"]
        w["device_id"] = None
        w["principal"], w["attribution"] = None, None
        if null:
            w["_subject"] = c["subject"]
            ids.attribute(w)
    t0, t1 = frames[0].ts, frames[-1].ts
    gs = grants(t0, t1)
    if null:
        T.evaluate_delegations(writes, gs)
    else:
        for w in writes:
            w["delegation"] = w["delegation_status"] = None
            w["why"] = "encrypted: a passive observer cannot read this write; the session is opaque"

    T.write_toml_tables(os.path.join(outdir, "identities.toml"), "principal", identities(certs),
                        f"# identity map for {scenario}: erin by certificate thumbprint, frank by subject;\n"
                        f"# CN=edge-gw-9 maps to nobody (credential_only).")
    T.write_toml_tables(os.path.join(outdir, "delegations.toml"), "delegation", gs,
                        f"# delegations for {scenario}; " + ("windows use the capture's real time." if null else
                                                              "the writes are opaque, so no write row can use it."))
    pki.publish(outdir, {"ca": ca[0], "server": server["cert"],
                         **{f"client-{n}": c["cert"] for n, c in certs.items()}})
    doc = {
        "scenario": scenario, "capture": "capture.pcap",
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "stacks": dict(versions("cpppo"), socat=socat_version(), openssl=__import__("ssl").OPENSSL_VERSION),
        "frames": len(frames), "capture_start": T.iso(t0), "capture_end": T.iso(t1),
        "tls": {"version": version, "cipher": cipher, "cipher_iana": cipher_iana,
                "client_auth": "required", "port": PORT,
                "record_overhead": OVERHEAD[null]},
        "clients": [{"ip": ip, "mac": mac_for(ip), "principal": None, "actor": actor, "notes": notes,
                     "certificate_sha256": certs[n]["sha256"], "certificate_subject": certs[n]["subject"]}
                    for n, (ip, actor, notes) in CLIENTS.items()],
        "servers": [{"ip": SERVER_IP, "mac": mac_for(SERVER_IP), "port": PORT,
                     "certificate_sha256": server["sha256"], "certificate_subject": server["subject"],
                     "stack": "socat OPENSSL-LISTEN (verify=1, client certificate required) in front of "
                              "cpppo.server.enip " + " ".join(SERVER_TAGS)}],
        "writes": writes,
        "credentials": creds,
        "opaque_sessions": 0 if null else len(conns),
    }
    T.write_truth(os.path.join(outdir, "truth.json"), doc)
    return doc
