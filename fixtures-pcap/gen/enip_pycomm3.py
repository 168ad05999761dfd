"""pycomm3 1.2.x client for connected (class 3) messaging after a Large Forward Open.

Uses pycomm3's CIPDriver (Large Forward Open, SendUnitData).  The originator
vendor id / serial number of the Forward Open are set to known values after
open() (pycomm3 draws a random serial there).  Write Tag requests use a
symbolic request path: pycomm3's generic_message only builds logical paths, so
its request_path helper is extended for "sym:" names.  Run under traced.py so
every byte sent is recorded.

usage: traced.py LOG enip_pycomm3.py PLAN.json
"""
import json
import struct
import sys
import time

import pycomm3.packets.cip as pc
from pycomm3 import CIPDriver

_orig = pc.request_path


def symbolic(name: str) -> bytes:
    segs = b""
    for part in name.split("."):
        idx = None
        if "[" in part:
            part, rest = part.split("[", 1)
            idx = int(rest.rstrip("]"))
        b = part.encode()
        segs += bytes([0x91, len(b)]) + b + (b"\x00" if len(b) % 2 else b"")
        if idx is not None:
            segs += bytes([0x28, idx]) if idx < 256 else b"\x29\x00" + struct.pack("<H", idx)
    return bytes([len(segs) // 2]) + segs


def request_path(class_code, instance, attribute=b""):
    if isinstance(class_code, str) and class_code.startswith("sym:"):
        return symbolic(class_code[4:])
    return _orig(class_code, instance, attribute)


pc.request_path = request_path

TYPES = {"DINT": (0xC4, "<i"), "INT": (0xC3, "<h"), "REAL": (0xCA, "<f"), "SINT": (0xC2, "<b")}


def main():
    plan = json.load(open(sys.argv[1]))
    d = CIPDriver(plan["host"])
    d.open()
    d._cfg["vid"] = struct.pack("<H", plan["vendor_id"])
    d._cfg["vsn"] = struct.pack("<I", plan["originator_serial"])
    results = []
    for st in plan["steps"]:
        if "sleep" in st:
            time.sleep(st["sleep"])
            continue
        if st["op"] == "write_tag":
            code, fmt = TYPES[st["type"]]
            vals = st["values"]
            data = struct.pack("<HH", code, len(vals)) + b"".join(struct.pack(fmt, v) for v in vals)
            r = d.generic_message(service=0x4D, class_code="sym:" + st["tag"], instance=0,
                                  request_data=data, connected=True, name=st["tag"])
        elif st["op"] == "read_tag":
            r = d.generic_message(service=0x4C, class_code="sym:" + st["tag"], instance=0,
                                  request_data=struct.pack("<H", 1), connected=True, name=st["tag"])
        elif st["op"] == "set_attribute_single":
            r = d.generic_message(service=0x10, class_code=st["class"], instance=st["instance"],
                                  attribute=st["attribute"], request_data=bytes.fromhex(st["hex"]),
                                  connected=True, name="sas")
        results.append({"op": st["op"], "error": r.error if r else None, "t": time.time()})
        time.sleep(st.get("after", 0.05))
    d.close()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
