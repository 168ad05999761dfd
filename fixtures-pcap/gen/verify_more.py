"""tshark cross-checks for the non-Modbus scenarios (a check only, not the truth)."""
from __future__ import annotations

from collections import Counter

from verify import tshark


def check_s7(pcap: str, truth: dict) -> list[str]:
    errs = []
    rows = tshark(pcap, "s7comm.header.rosctr==1 || s7comm.header.rosctr==7",
                  ["frame.number", "s7comm.header.rosctr", "s7comm.param.func", "s7comm.param.itemcount",
                   "s7comm.param.userdata.funcgroup", "s7comm.param.userdata.subfunc", "ip.dst"])
    by = {int(r[0]): r for r in rows}
    for w in truth["writes"]:
        if w["protocol"] != "s7comm":
            continue
        r = by.get(w["frame"])
        if r is None or r[6] != w["server_ip"]:
            errs.append(f"frame {w['frame']}: no S7 request there")
            continue
        fc = w["function_code"]
        if fc in (0x05, 0x28, 0x29):
            if r[2] != f"0x{fc:02x}":
                errs.append(f"frame {w['frame']}: tshark func {r[2]} != {fc:#x}")
            if fc == 0x05 and int(r[3]) != w["items_in_job"]:
                errs.append(f"frame {w['frame']}: tshark {r[3]} items != {w['items_in_job']}")
        elif fc == 0x0702 and (r[4], r[5]) != ("7", "2"):
            errs.append(f"frame {w['frame']}: not a set-clock userdata")
    n_items = sum(int(r[3]) for r in rows if r[2] == "0x05" and r[6] == truth["servers"][0]["ip"])
    n_truth = sum(1 for w in truth["writes"] if w["protocol"] == "s7comm" and w["function_code"] == 5)
    if n_items != n_truth:
        errs.append(f"tshark counts {n_items} Write Var items, truth {n_truth}")
    return errs


def check(pcap: str, truth: dict) -> list[str]:
    protos = Counter(w["protocol"] for w in truth["writes"])
    errs = []
    if "s7comm" in protos:
        errs += check_s7(pcap, truth)
    try:
        import verify_enip
        if "enip" in protos:
            errs += verify_enip.check(pcap, truth)
    except ImportError:
        pass
    try:
        import verify_opcua
        if "opcua" in protos or truth["scenario"].startswith("opcua"):
            errs += verify_opcua.check(pcap, truth)
    except ImportError:
        pass
    return errs
