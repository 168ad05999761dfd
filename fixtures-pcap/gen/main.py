"""Entry point: python gen/main.py [SCENARIO ...]  (all scenarios when none given)."""
from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import ROOT  # noqa: E402
import netlab  # noqa: E402


def scenarios() -> dict:
    import sc_modbus
    out = {"modbus-basic": sc_modbus.run}
    try:
        import sc_modbus_tls
        out["modbus-tls12"] = lambda o, s: sc_modbus_tls.run(o, s, "1.2")
        out["modbus-tls13"] = lambda o, s: sc_modbus_tls.run(o, s, "1.3")
        out["modbus-tls12-null"] = lambda o, s: sc_modbus_tls.run(o, s, "1.2", null=True)
    except ImportError:
        pass
    for mod, names in (("sc_s7", ["s7comm-basic"]), ("sc_enip", ["enip-basic"])):
        try:
            m = __import__(mod)
        except ImportError:
            continue
        for n in names:
            out[n] = m.run
    try:
        import sc_enip_tls
        out["enip-tls12-null"] = lambda o, s: sc_enip_tls.run(o, s, null=True)
        out["enip-tls12"] = lambda o, s: sc_enip_tls.run(o, s, null=False)
    except ImportError:
        pass
    try:
        import sc_opcua
        for n in sc_opcua.SCENARIOS:
            out[n] = (lambda n: (lambda o, s: sc_opcua.run(o, s, n)))(n)
    except ImportError:
        pass
    return out


def main() -> int:
    if os.geteuid() != 0:
        print("must run as root (network namespaces, tcpdump)", file=sys.stderr)
        return 2
    allsc = scenarios()
    wanted = sys.argv[1:] or list(allsc)
    unknown = [w for w in wanted if w not in allsc]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(allsc)}", file=sys.stderr)
        return 2
    rc = 0
    for name in wanted:
        outdir = os.path.join(ROOT, name)
        scratch = os.path.join(ROOT, ".scratch", name)
        t = time.time()
        print(f"== {name}", flush=True)
        try:
            doc = allsc[name](outdir, scratch)
        except Exception as exc:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            print(f"!! {name} failed: {exc}", file=sys.stderr)
            rc = 1
            continue
        finally:
            netlab.cleanup()
        c = Counter(w["delegation_status"] for w in doc["writes"])
        a = Counter(w["attribution"] for w in doc["writes"])
        size = os.path.getsize(os.path.join(outdir, "capture.pcap"))
        print(f"   {len(doc['writes'])} writes ({sum(1 for w in doc['writes'] if w['readable'])} readable), "
              f"{doc['frames']} frames, {size} bytes, {time.time() - t:.1f}s", flush=True)
        print(f"   attribution {dict(a)}; delegation {dict(c)}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
