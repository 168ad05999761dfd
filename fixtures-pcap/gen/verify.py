"""Cross-check a scenario's truth.json against tshark's reading of the capture.

tshark is only a check here; truth comes from the clients.
usage: python gen/verify.py SCENARIO_DIR
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict


def tshark(pcap: str, flt: str, fields: list[str], extra: list[str] | None = None) -> list[list[str]]:
    cmd = ["tshark", "-r", pcap, "-Y", flt, "-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
           "-E", "aggregator=,"] + (extra or [])
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return [line.split("|") for line in r.stdout.splitlines() if line]


def check_modbus(pcap: str, truth: dict, port: int) -> list[str]:
    errs = []
    extra = None
    keylog = os.path.join(os.path.dirname(pcap), "sslkeys.log")
    if port == 802 and os.path.exists(keylog):
        # decrypt with the clients' key log: a check only; the sensor never has these keys
        extra = ["-o", f"tls.keylog_file:{keylog}", "-d", "tcp.port==802,tls"]
    rows = tshark(pcap, f"mbtcp && tcp.dstport=={port}", ["frame.number", "modbus.func_code", "ip.src", "tcp.srcport"],
                  extra)
    seen = {int(r[0]): r for r in rows}
    write_fcs = {5, 6, 15, 16, 21, 22, 23}
    tshark_writes = [f for f, r in seen.items() if r[1] and int(r[1].split(",")[0]) in write_fcs]
    for w in truth["writes"]:
        if not w["readable"] and extra is None:
            continue
        r = seen.get(w["frame"])
        if r is None:
            errs.append(f"frame {w['frame']}: tshark sees no Modbus request there")
            continue
        if int(r[1].split(",")[0]) != w["function_code"]:
            errs.append(f"frame {w['frame']}: tshark fc {r[1]} != truth {w['function_code']}")
        if r[2] != w["client_ip"] or int(r[3]) != w["client_port"]:
            errs.append(f"frame {w['frame']}: endpoints differ")
    n_truth = sum(1 for w in truth["writes"] if (w["readable"] or extra) and w["function_code"] in write_fcs)
    if len(tshark_writes) != n_truth:
        errs.append(f"tshark counts {len(tshark_writes)} write requests, truth {n_truth}")
    return errs


def main() -> int:
    d = sys.argv[1]
    truth = json.load(open(os.path.join(d, "truth.json")))
    pcap = os.path.join(d, truth["capture"])
    proto = Counter(w["protocol"] for w in truth["writes"])
    errs = []
    if "modbus" in proto:
        port = truth["writes"][0]["server_port"]
        errs += check_modbus(pcap, truth, port)
    for mod in ("verify_more",):
        try:
            m = __import__(mod)
            errs += m.check(pcap, truth)
        except ImportError:
            pass
    # frames of write rows must exist and be in range
    for w in truth["writes"]:
        if not (1 <= w["frame"] <= truth["frames"]):
            errs.append(f"frame {w['frame']} out of range")
    print(f"{truth['scenario']}: {len(truth['writes'])} writes checked; {len(errs)} problem(s)")
    for e in errs:
        print("  " + e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
