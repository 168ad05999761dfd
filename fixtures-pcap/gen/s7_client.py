"""S7comm client (python-snap7 3.x, pure Python) driven by a JSON plan.

Every S7 PDU the client sends or receives is recorded (with a timestamp) by
wrapping snap7's ISOTCPConnection.send_data / receive_data, so ground truth
comes from the client.  python-snap7 3.x sends one Write Var job per item even
in write_multi_vars, so multi-item jobs are built here (S7 Write Var with
several items) and sent through the same snap7 connection.

usage: s7_client.py PLAN.json LOG.json
"""
from __future__ import annotations

import datetime as dt
import json
import struct
import sys
import time

import snap7
from snap7.connection import ISOTCPConnection
from snap7.type import Area

LOG: dict = {"connections": [], "results": []}
CUR: dict = {}

_orig_send = ISOTCPConnection.send_data
_orig_recv = ISOTCPConnection.receive_data


def _send(self, data: bytes) -> None:
    CUR["events"].append({"t": time.time(), "dir": "tx", "hex": bytes(data).hex()})
    return _orig_send(self, data)


def _recv(self) -> bytes:
    data = _orig_recv(self)
    CUR["events"].append({"t": time.time(), "dir": "rx", "hex": bytes(data).hex()})
    return data


ISOTCPConnection.send_data = _send
ISOTCPConnection.receive_data = _recv

AREA_CODE = {"I": 0x81, "Q": 0x82, "M": 0x83, "DB": 0x84}


def multi_write_pdu(items: list[dict], seq: int) -> bytes:
    """S7 Write Var job with several items.  item: {area, db, byte, bit?, hex}"""
    params = struct.pack(">BB", 0x05, len(items))
    data = b""
    for i, it in enumerate(items):
        payload = bytes.fromhex(it["hex"])
        if "bit" in it:
            addr = it["byte"] * 8 + it["bit"]
            params += struct.pack(">BBBBHHB", 0x12, 0x0A, 0x10, 0x01, 1, it.get("db", 0), AREA_CODE[it["area"]])
            params += addr.to_bytes(3, "big")
            chunk = struct.pack(">BBH", 0x00, 0x03, 1) + payload[:1]
        else:
            addr = it["byte"] * 8
            params += struct.pack(">BBBBHHB", 0x12, 0x0A, 0x10, 0x02, len(payload), it.get("db", 0),
                                  AREA_CODE[it["area"]])
            params += addr.to_bytes(3, "big")
            chunk = struct.pack(">BBH", 0x00, 0x04, len(payload) * 8) + payload
        if i < len(items) - 1 and len(chunk) % 2:
            chunk += b"\x00"
        data += chunk
    return struct.pack(">BBHHHH", 0x32, 0x01, 0, seq, len(params), len(data)) + params + data


def main() -> None:
    plan = json.load(open(sys.argv[1]))
    c = snap7.Client()

    def connect():
        CUR.clear()
        CUR["events"] = []
        c.connect(plan["host"], 0, 2)
        sock = c.connection.socket
        CUR["lport"] = sock.getsockname()[1]
        CUR["t_connect"] = time.time()
        LOG["connections"].append(dict(CUR, events=CUR["events"]))
        # keep the same events list object in the log
        LOG["connections"][-1]["events"] = CUR["events"]

    # COTP/setup happen inside connect; record them in the connection too
    CUR["events"] = []
    connect()
    for step in plan["steps"]:
        if "sleep" in step:
            time.sleep(step["sleep"])
            continue
        op = step["op"]
        t0 = time.time()
        try:
            if op == "reconnect":
                c.disconnect()
                time.sleep(0.3)
                connect()
                res = None
            elif op == "write_area":
                res = c.write_area(Area[step["area"]], step.get("db", 0), step["start"],
                                   bytearray.fromhex(step["hex"]))
            elif op == "multi":
                pdu = multi_write_pdu(step["items"], c.protocol._next_sequence())
                res = c._send_receive(pdu)
                res = {k: v for k, v in res.items() if k in ("error_class", "error_code")}
            elif op == "db_read":
                res = c.db_read(step["db"], step["start"], step["size"]).hex()
            elif op == "plc_stop":
                res = c.plc_stop()
            elif op == "plc_hot_start":
                res = c.plc_hot_start()
            elif op == "plc_cold_start":
                res = c.plc_cold_start()
            elif op == "set_clock":
                res = c.set_plc_datetime(dt.datetime.fromisoformat(step["iso"]))
            elif op == "set_password":
                res = c.set_session_password(step["password"])
            elif op == "clear_password":
                res = c.clear_session_password()
            else:
                raise ValueError(op)
            LOG["results"].append({"op": op, "t": t0, "result": repr(res)[:200]})
        except Exception as exc:  # noqa: BLE001
            LOG["results"].append({"op": op, "t": t0, "exception": f"{type(exc).__name__}: {exc}"[:300]})
        time.sleep(step.get("after", 0.05))
    c.disconnect()
    time.sleep(0.2)
    json.dump(LOG, open(sys.argv[2], "w"), indent=1)


if __name__ == "__main__":
    main()
