"""tshark cross-check for OPC UA scenarios (a check only, not the truth)."""
from verify import tshark


def check(pcap, truth):
    errs = []
    server = truth["servers"][0]["ip"]
    rows = tshark(pcap, f"opcua && ip.dst=={server}", ["frame.number", "opcua.servicenodeid.numeric"])
    by = {int(r[0]): [int(x) for x in r[1].split(",") if x] for r in rows}
    readable = [w for w in truth["writes"] if w["readable"]]
    for w in readable:
        if w["function_code"] not in by.get(w["frame"], []):
            errs.append(f"frame {w['frame']}: tshark service ids {by.get(w['frame'])} lack {w['function_code']}")
    frames_t = {f for f, ids in by.items() if 673 in ids or 712 in ids}
    frames_w = {w["frame"] for w in readable}
    if readable and frames_t != frames_w:
        errs.append(f"tshark Write/Call request frames {sorted(frames_t)} != truth {sorted(frames_w)}")
    return errs
