"""Helpers shared by scenarios: running processes in namespaces, versions."""
from __future__ import annotations

import importlib.metadata as md
import json
import os
import platform
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = sys.executable


def versions(*pkgs: str) -> dict:
    from netlab import tcpdump_version
    out = {}
    for p in pkgs:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = None
    out["python"] = platform.python_version()
    out["tcpdump"] = tcpdump_version()
    out["kernel"] = platform.release()
    return out


def wait_port(lab, host: str, port: int, proto: str = "t", timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = subprocess.run(lab.exec_prefix(host) + ["ss", f"-ln{proto}"], capture_output=True, text=True)
        if f":{port} " in r.stdout:
            return
        time.sleep(0.1)
    raise RuntimeError(f"server on {host}:{port} did not start")


def spawn(lab, host: str, args: list[str], log: str) -> subprocess.Popen:
    f = open(log, "w")
    return subprocess.Popen(lab.exec_prefix(host) + args, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)


def run_all(procs: list[subprocess.Popen], timeout: float = 120) -> None:
    deadline = time.time() + timeout
    for p in procs:
        rest = max(1, deadline - time.time())
        try:
            p.wait(timeout=rest)
        except subprocess.TimeoutExpired:
            p.kill()
            raise RuntimeError(f"client {p.args} timed out")
        if p.returncode != 0:
            raise RuntimeError(f"client {p.args} failed with {p.returncode}")


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def dump(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
