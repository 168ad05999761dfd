"""tshark cross-check for enip-basic (a check only, not the truth)."""
from verify import tshark

WRITE_SC = {0x4D, 0x53, 0x10, 0x04, 0x02, 0x4E}


def check(pcap, truth):
    errs = []
    server = truth["servers"][0]["ip"]
    rows = tshark(pcap, f"cip && ip.dst=={server}", ["frame.number", "cip.sc", "cip.class", "ip.src", "tcp.srcport"])
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
