"""Modbus/TCP (and Modbus/TCP Security) client driven by a JSON plan.

Runs inside a client namespace.  Uses pymodbus's own client; every byte the
client sends or receives is recorded through pymodbus's ``trace_packet`` hook
with a timestamp, so ground truth comes from the client, not the capture.

usage: modbus_client.py PLAN.json LOG.json
PLAN: {"host": ..., "port": 502, "tls": null | {...}, "steps": [...]}
step: {"op": "write_register", "kw": {...}} | {"sleep": s} | {"reconnect": true}
"""
from __future__ import annotations

import json
import ssl
import sys
import time

from pymodbus.client import ModbusTcpClient, ModbusTlsClient
from pymodbus.pdu.file_message import FileRecord


def main() -> None:
    plan = json.load(open(sys.argv[1]))
    log_path = sys.argv[2]
    conns: list[dict] = []
    cur: dict = {}

    def trace(sending: bool, data: bytes) -> bytes:
        cur.setdefault("events", []).append(
            {"t": time.time(), "dir": "tx" if sending else "rx", "hex": data.hex()})
        return data

    def make_client():
        tls = plan.get("tls")
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(tls["ca"])
            ctx.load_cert_chain(tls["cert"], tls["key"])
            ctx.check_hostname = False
            ver = tls["version"]
            if ver == "1.2":
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
                ctx.set_ciphers(tls.get("ciphers", "ECDHE-RSA-AES128-GCM-SHA256"))
            else:
                ctx.minimum_version = ssl.TLSVersion.TLSv1_3
                ctx.maximum_version = ssl.TLSVersion.TLSv1_3
            if tls.get("keylog"):
                ctx.keylog_filename = tls["keylog"]
            return ModbusTlsClient(plan["host"], port=plan.get("port", 802), sslctx=ctx,
                                   timeout=plan.get("timeout", 2), retries=0,
                                   trace_packet=trace)
        return ModbusTcpClient(plan["host"], port=plan.get("port", 502),
                               timeout=plan.get("timeout", 2), retries=0, trace_packet=trace)

    def connect():
        nonlocal cur
        c = make_client()
        if not c.connect():
            raise SystemExit("connect failed")
        sock = c.socket
        cur = {"lport": sock.getsockname()[1], "laddr": sock.getsockname()[0],
               "t_connect": time.time(), "events": []}
        if plan.get("tls"):
            cur["tls_version"] = sock.version()
            cur["cipher"] = sock.cipher()[0]
        conns.append(cur)
        return c

    client = connect()
    results = []
    for step in plan["steps"]:
        if "sleep" in step:
            time.sleep(step["sleep"])
            continue
        if step.get("reconnect"):
            client.close()
            time.sleep(0.3)
            client = connect()
            continue
        kw = dict(step.get("kw", {}))
        if step["op"] == "write_file_record":
            kw["records"] = [FileRecord(file_number=r["file"], record_number=r["record"],
                                        record_data=bytes.fromhex(r["data"]))
                             for r in kw["records"]]
        fn = getattr(client, step["op"])
        t0 = time.time()
        try:
            rr = fn(**kw)
            res = {"op": step["op"], "t": t0, "result": repr(rr)[:200],
                   "is_error": bool(getattr(rr, "isError", lambda: False)())}
        except Exception as exc:  # noqa: BLE001 - record whatever the client saw
            res = {"op": step["op"], "t": t0, "exception": f"{type(exc).__name__}: {exc}"[:300]}
        results.append(res)
        time.sleep(step.get("after", 0.05))
    client.close()
    time.sleep(0.2)
    json.dump({"connections": conns, "results": results}, open(log_path, "w"), indent=1)


if __name__ == "__main__":
    main()
