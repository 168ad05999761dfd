"""S7 server: the native libsnap7 server shipped in the python-snap7 2.0.x wheel.

Runs with fixtures-pcap/.venv-s7n (python-snap7 2.0.2).  The pure-Python
server of python-snap7 3.x only accepts single-item Write Var jobs, so the
native one is used; the clients are python-snap7 3.x (pure Python).
Areas: DB1 (256 B), DB2 (1024 B), M (256 B), Q (64 B), I (64 B).  DB99 does
not exist, so writes to it fail with item return code 0x0a.
usage: s7_server.py EVENTS.log
"""
import ctypes
import sys
import time

import snap7
from snap7.type import SrvArea

events = open(sys.argv[1], "w")
srv = snap7.server.Server(log=False)
keep = []
for area, idx, size in ((SrvArea.DB, 1, 256), (SrvArea.DB, 2, 1024), (SrvArea.MK, 0, 256),
                        (SrvArea.PA, 0, 64), (SrvArea.PE, 0, 64)):
    buf = (ctypes.c_ubyte * size)()
    keep.append(buf)
    srv.register_area(area, idx, buf)


def on_event(ev):
    events.write(f"{time.time():.6f} {srv.event_text(ev)}\n")
    events.flush()


srv.set_events_callback(on_event)
srv.start(tcp_port=102)
try:
    while True:
        time.sleep(0.2)
finally:
    srv.stop()
