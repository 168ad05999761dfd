"""tshark cross-check for the EtherNet/IP scenarios (a check only, not the truth).

enip-basic is plain EtherNet/IP on 44818. The CIP Security scenarios (2221) are read with
`-d tcp.port==2221,tls`: under NULL-SHA256 tshark reads the records' plaintext without any key,
so every truth frame must hold the claimed CIP request; under AES-GCM it cannot, so every truth
frame must be one completing a client application-data record of that connection. For both,
tshark's view of the handshakes must agree with the truth: one client Certificate per TLS
connection (subject and issuer names) and the cipher suite in every ServerHello.
"""
from verify import tshark

WRITE_SC = {0x4D, 0x53, 0x10, 0x04, 0x02, 0x4E}
TLS_PORT = 2221
# IANA code points of the suites the scenarios use
SUITES = {"TLS_RSA_WITH_NULL_SHA256": 0x003B, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": 0xC02F}


def check_cip(pcap, truth, extra):
    errs = []
    server = truth["servers"][0]["ip"]
    rows = tshark(pcap, f"cip && ip.dst=={server}", ["frame.number", "cip.sc", "cip.class", "ip.src", "tcp.srcport"],
                  extra)
    by = {}
    total = 0
    for r in rows:
        scs = [int(x, 16) for x in r[1].split(",") if x]
        classes = [x for x in r[2].split(",") if x]
        by[int(r[0])] = (scs, r)
        # Forward Close (0x4e) goes to the Connection Manager (class 0x06)
        n = sum(1 for s in scs if s in WRITE_SC)
        if 0x4E in scs and "0x06" in classes:
            n -= 1
        total += n
    for w in truth["writes"]:
        got = by.get(w["frame"])
        if got is None:
            errs.append(f"frame {w['frame']}: tshark sees no CIP request there")
        elif w["function_code"] not in got[0]:
            errs.append(f"frame {w['frame']}: service {w['function_code']:#x} not among {got[0]}")
        elif got[1][3] != w["client_ip"] or int(got[1][4]) != w["client_port"]:
            errs.append(f"frame {w['frame']}: endpoints differ")
    if total != len(truth["writes"]):
        errs.append(f"tshark counts {total} CIP write services, truth {len(truth['writes'])}")
    return errs


def check_opaque_frames(pcap, truth, extra):
    """Unreadable writes: each truth frame completes a client application-data record."""
    errs = []
    rows = tshark(pcap, f"tls.record.content_type == 23 && tcp.dstport == {TLS_PORT}",
                  ["frame.number", "ip.src", "tcp.srcport"], extra)
    by = {int(r[0]): r for r in rows}
    for w in truth["writes"]:
        r = by.get(w["frame"])
        if r is None:
            errs.append(f"frame {w['frame']}: tshark sees no client application data record there")
        elif r[1] != w["client_ip"] or int(r[2]) != w["client_port"]:
            errs.append(f"frame {w['frame']}: endpoints differ")
    if tshark(pcap, "cip", ["frame.number"], extra):
        errs.append("tshark reads CIP in a capture whose writes the truth calls unreadable")
    return errs


def check_handshakes(pcap, truth, extra):
    errs = []
    certs = tshark(pcap, f"tls.handshake.type == 11 && tcp.dstport == {TLS_PORT}",
                   ["frame.number", "ip.src", "tcp.srcport", "x509sat.printableString", "x509sat.uTF8String"],
                   extra)
    want = sorted((c["client_ip"], c["client_port"]) for c in truth["credentials"] if c["observable"])
    got = sorted((r[1], int(r[2])) for r in certs)
    if got != want:
        errs.append(f"tshark finds client certificates on {got}, truth {want}")
    by_conn = {(c["client_ip"], c["client_port"]): c for c in truth["credentials"]}
    for r in certs:
        c = by_conn.get((r[1], int(r[2])))
        names = set((r[3] + "," + r[4]).split(","))
        if c is not None:
            # the leaf's subject and issuer names, e.g. CN=hmi-erin,O=Plant
            for part in (c["subject"] + "," + c["issuer"]).split(","):
                if part.split("=", 1)[1] not in names:
                    errs.append(f"frame {r[0]}: {part} not among tshark's names {sorted(names)}")
    hellos = tshark(pcap, f"tls.handshake.type == 2 && tcp.srcport == {TLS_PORT}",
                    ["frame.number", "tls.handshake.ciphersuite", "tls.handshake.version"], extra)
    suites = {int(r[1], 16) for r in hellos}
    if len(hellos) != len(want):
        errs.append(f"tshark finds {len(hellos)} ServerHellos for {len(want)} connections")
    if suites != {SUITES.get(truth["tls"]["cipher_iana"])}:
        errs.append(f"ServerHello suites {sorted(map(hex, suites))}, truth {truth['tls']['cipher_iana']}")
    return errs


def check(pcap, truth):
    port = truth["servers"][0]["port"]
    if port != TLS_PORT:
        return check_cip(pcap, truth, None)
    extra = ["-d", f"tcp.port=={TLS_PORT},tls"]
    errs = check_handshakes(pcap, truth, extra)
    if all(w["readable"] for w in truth["writes"]):
        errs += check_cip(pcap, truth, extra)
    else:
        errs += check_opaque_frames(pcap, truth, extra)
    return errs
