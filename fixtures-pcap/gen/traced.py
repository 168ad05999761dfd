"""Run a Python module (a third-party client's CLI) with every TCP byte it sends or
receives recorded, per socket, with timestamps.

usage: traced.py LOG.json MODULE [ARGS...]
"""
import atexit
import json
import runpy
import socket
import sys
import time

LOG = {"connections": []}
_by_sock = {}


def _conn(s):
    c = _by_sock.get(id(s))
    if c is None:
        try:
            lp = s.getsockname()[1]
        except OSError:
            lp = None
        c = {"lport": lp, "events": []}
        _by_sock[id(s)] = c
        LOG["connections"].append(c)
    elif c["lport"] in (None, 0):
        try:
            c["lport"] = s.getsockname()[1]
        except OSError:
            pass
    return c


_send, _sendall, _recv = socket.socket.send, socket.socket.sendall, socket.socket.recv


def send(self, data, *a):
    n = _send(self, data, *a)
    if self.type == socket.SOCK_STREAM:
        _conn(self)["events"].append({"t": time.time(), "dir": "tx", "hex": bytes(data[:n]).hex()})
    return n


def sendall(self, data, *a):
    r = _sendall(self, data, *a)
    if self.type == socket.SOCK_STREAM:
        _conn(self)["events"].append({"t": time.time(), "dir": "tx", "hex": bytes(data).hex()})
    return r


def recv(self, n, *a):
    d = _recv(self, n, *a)
    if self.type == socket.SOCK_STREAM and d:
        _conn(self)["events"].append({"t": time.time(), "dir": "rx", "hex": d.hex()})
    return d


socket.socket.send, socket.socket.sendall, socket.socket.recv = send, sendall, recv


def _dump():
    json.dump(LOG, open(LOG_PATH, "w"), indent=1)


LOG_PATH = sys.argv[1]
atexit.register(_dump)
mod = sys.argv[2]
sys.argv = [mod] + sys.argv[3:]
if mod.endswith(".py"):
    runpy.run_path(mod, run_name="__main__")
else:
    runpy.run_module(mod, run_name="__main__", alter_sys=True)
