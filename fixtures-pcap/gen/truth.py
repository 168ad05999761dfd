"""Ground-truth helpers shared by all scenarios.

- rendering rules (Modbus canonical text, value lists)
- identity resolution (DESIGN.md attribution rules)
- delegation evaluation (DESIGN.md delegation rules, with the conventions listed
  in fixtures-pcap/README.md)
- TOML / JSON writers
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import ipaddress
import json
import re
import struct

ELLIPSIS = "\u2026"


# ---------------------------------------------------------------- rendering

def fmt_list(items: list, limit: int = 32) -> str:
    items = [str(x) for x in items]
    if len(items) <= limit:
        return ",".join(items)
    return ",".join(items[:limit]) + f",{ELLIPSIS}+{len(items) - limit}"


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_s(ts: float) -> str:
    return dt.datetime.fromtimestamp(int(ts), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


MODBUS_OPS = {
    5: ("write", "Write Single Coil"),
    6: ("write", "Write Single Register"),
    15: ("write", "Write Multiple Coils"),
    16: ("write", "Write Multiple Registers"),
    21: ("write", "Write File Record"),
    22: ("write", "Mask Write Register"),
    23: ("write", "Read/Write Multiple Registers"),
}


def _rng(kind: str, unit: int, a: int, qty: int) -> str:
    if qty == 1:
        return f"unit {unit} {kind} {a}"
    return f"unit {unit} {kind} {a}..{a + qty - 1}"


def modbus_render(unit: int, pdu: bytes) -> dict | None:
    """Render a request PDU (function code + data) sent by the client.

    Returns None for requests that are not write-class.  ``nums`` lists the
    numeric values (used for delegation value bounds)."""
    fc = pdu[0]
    d = pdu[1:]
    if fc == 5:
        a, v = struct.unpack(">HH", d[:4])
        val = {0xFF00: "on", 0x0000: "off"}.get(v, f"0x{v:04x}")
        return dict(function_code=fc, target=f"unit {unit} coil {a}", value=val,
                    nums=[1 if v == 0xFF00 else 0] if v in (0, 0xFF00) else [])
    if fc == 6:
        a, v = struct.unpack(">HH", d[:4])
        return dict(function_code=fc, target=f"unit {unit} holding {a}", value=str(v), nums=[v])
    if fc == 15:
        a, q, n = struct.unpack(">HHB", d[:5])
        raw = d[5:5 + n]
        bits = [(raw[i // 8] >> (i % 8)) & 1 for i in range(q)]
        return dict(function_code=fc, target=_rng("coil", unit, a, q), value=fmt_list(bits), nums=bits)
    if fc == 16:
        a, q, n = struct.unpack(">HHB", d[:5])
        regs = list(struct.unpack(f">{q}H", d[5:5 + 2 * q]))
        return dict(function_code=fc, target=_rng("holding", unit, a, q), value=fmt_list(regs), nums=regs)
    if fc == 22:
        a, andm, orm = struct.unpack(">HHH", d[:6])
        return dict(function_code=fc, target=f"unit {unit} holding {a}",
                    value=f"and=0x{andm:04x} or=0x{orm:04x}", nums=[])
    if fc == 23:
        _ra, _rq, wa, wq, _n = struct.unpack(">HHHHB", d[:9])
        regs = list(struct.unpack(f">{wq}H", d[9:9 + 2 * wq]))
        return dict(function_code=fc, target=_rng("holding", unit, wa, wq), value=fmt_list(regs), nums=regs)
    if fc == 21:
        n = d[0]
        p = 1
        targets, values, nums = [], [], []
        while p < 1 + n:
            _ref, f, r, ln = struct.unpack(">BHHH", d[p:p + 7])
            regs = list(struct.unpack(f">{ln}H", d[p + 7:p + 7 + 2 * ln]))
            p += 7 + 2 * ln
            targets.append(f"unit {unit} file {f} record {r}" if ln == 1 else f"unit {unit} file {f} record {r}..{r + ln - 1}")
            values.append(fmt_list(regs))
            nums += regs
        return dict(function_code=fc, target="; ".join(targets), value="; ".join(values), nums=nums)
    if fc == 8:
        sub, data = struct.unpack(">HH", d[:4])
        if sub == 1:
            op = "Restart Communications Option"
        elif sub == 4:
            op = "Force Listen Only Mode"
        else:
            return None
        return dict(function_code=fc, category="control", operation=op,
                    target=f"unit {unit} diagnostics", value=f"0x{data:04x}", nums=[])
    return None


def modbus_frames(stream: bytes) -> list[tuple[int, int, int, int, bytes]]:
    """Split a Modbus/TCP byte stream into (offset, end, tid, unit, pdu)."""
    out = []
    p = 0
    while p + 7 <= len(stream):
        tid, _pid, ln, unit = struct.unpack(">HHHB", stream[p:p + 7])
        end = p + 6 + ln
        if end > len(stream):
            break
        out.append((p, end, tid, unit, bytes(stream[p + 7:end])))
        p = end
    return out


# ---------------------------------------------------------------- identities

def _addr_match(ip: str, pats: list[str]) -> bool:
    a = ipaddress.ip_address(ip)
    for p in pats:
        if "/" in p:
            if a in ipaddress.ip_network(p, strict=False):
                return True
        elif a == ipaddress.ip_address(p):
            return True
    return False


class Identities:
    def __init__(self, principals: list[dict]):
        self.principals = principals

    def by_credential(self, kind: str, cred_id: str, subject: str | None = None) -> str | None:
        for p in self.principals:
            if kind in ("opcua_user",) and cred_id in p.get("opcua_users", []):
                return p["id"]
            if kind in ("tls_client_cert", "opcua_x509_user", "opcua_channel_cert"):
                if cred_id.lower() in [c.lower() for c in p.get("certificates", [])]:
                    return p["id"]
                if subject and subject in p.get("subjects", []):
                    return p["id"]
            if kind == "cip_originator" and cred_id.lower() in [c.lower() for c in p.get("cip_originators", [])]:
                return p["id"]
            if kind == "opcua_audit_entry" and any(fnmatch.fnmatchcase(cred_id, pat) for pat in p.get("audit_entries", [])):
                return p["id"]
            if kind == "s7_password" and cred_id in p.get("s7_passwords", []):
                return p["id"]
        return None

    def by_network(self, ip: str, mac: str) -> str | None:
        for p in self.principals:
            if _addr_match(ip, p.get("addresses", [])):
                return p["id"]
            if mac.lower() in [m.lower() for m in p.get("macs", [])]:
                return p["id"]
        return None

    def attribute(self, w: dict) -> None:
        """Fill principal / attribution of a write from its credential and address."""
        kind, cid = w.get("credential_kind"), w.get("credential_id")
        if kind and kind != "network":
            pid = self.by_credential(kind, cid, w.get("_subject"))
            # a less specific credential of the same session may still resolve
            if pid is None:
                for k2, c2, s2 in w.get("_other_credentials", []):
                    pid = self.by_credential(k2, c2, s2)
                    if pid:
                        break
            w["principal"] = pid
            w["attribution"] = "attributed" if pid else "credential_only"
            return
        pid = self.by_network(w["client_ip"], w["client_mac"])
        w["principal"] = pid
        w["attribution"] = "network_only" if pid else "unattributed"


# ---------------------------------------------------------------- delegations

def _split_range(s: str):
    m = re.match(r"^(.*?\D)(\d+)(?:\.\.(\d+))?$", s)
    if not m:
        return None
    lo = int(m.group(2))
    hi = int(m.group(3)) if m.group(3) else lo
    return m.group(1), lo, hi


_S7 = re.compile(r"^(?:DB(\d+)\.DB([XBWD])|([IQM])([BWD]?))(\d+)(?:\.(\d))?(?:\.\.(\d+))?$")


def s7_bits(t: str):
    """S7 address -> (area, first bit, last bit), e.g. DB1.DBW4 -> ('DB1', 32, 47)."""
    m = _S7.match(t)
    if not m:
        return None
    if m.group(1):
        area, kind = f"DB{m.group(1)}", m.group(2)
    else:
        area, kind = m.group(3), m.group(4) or "X"
    byte = int(m.group(5))
    if kind == "X":
        if m.group(6) is None:
            return None
        b = byte * 8 + int(m.group(6))
        return area, b, b
    size = {"B": 1, "W": 2, "D": 4}[kind]
    last = int(m.group(7)) if m.group(7) else byte + size - 1
    return area, byte * 8, last * 8 + 7


def target_matches(pattern: str, target: str) -> bool:
    ps, ts = s7_bits(pattern), s7_bits(target)
    if ps and ts:
        return ps[0] == ts[0] and ps[1] <= ts[1] and ts[2] <= ps[2]
    bp = re.match(r"^(.*)\[(\d+)(?:\.\.(\d+))?\]$", pattern)
    bt = re.match(r"^(.*)\[(\d+)(?:\.\.(\d+))?\]$", target)
    if bp and bt and "*" not in pattern:
        lo_p, hi_p = int(bp.group(2)), int(bp.group(3) or bp.group(2))
        lo_t, hi_t = int(bt.group(2)), int(bt.group(3) or bt.group(2))
        return bp.group(1) == bt.group(1) and lo_p <= lo_t and hi_t <= hi_p
    if "*" in pattern:
        rx = "^" + ".*".join(re.escape(x) for x in pattern.split("*")) + "$"
        return re.match(rx, target) is not None
    if pattern == target:
        return True
    # multi-part targets (FC21) match when every part matches
    if "; " in target:
        return all(target_matches(pattern, t) for t in target.split("; "))
    pr, tr = _split_range(pattern), _split_range(target)
    if pr and tr and pr[0] == tr[0]:
        return pr[1] <= tr[1] and tr[2] <= pr[2]
    return False


def evaluate_delegations(writes: list[dict], grants: list[dict]) -> None:
    """Set delegation / delegation_status on readable writes, in capture order."""
    used = {g["id"]: 0 for g in grants}
    for w in sorted(writes, key=lambda w: w["frame"]):
        if not w["readable"]:
            w["delegation"] = None
            w["delegation_status"] = None
            continue
        p = w.get("principal")
        cands = [g for g in grants
                 if p and g["principal"] == p and g["protocol"] == w["protocol"]
                 and (not g.get("servers") or w["server_ip"] in g["servers"])
                 and w["category"] in g.get("categories", ["write"])
                 and any(target_matches(t, w["target"]) for t in g["targets"])]
        if not cands:
            w["delegation"], w["delegation_status"] = None, "undelegated"
            w["why"] = "no grant of this principal covers this target/category" if p else "no principal, so no grant can cover it"
            continue
        ts = w["_ts"]
        inwin = [g for g in cands if g["_from"] <= ts <= g["_until"]]
        if not inwin:
            g = cands[0]
            w["delegation"], w["delegation_status"] = g["id"], "expired"
            w["why"] = f"{g['id']} covers target but its window {g['valid_from']}..{g['valid_until']} does not include the write"
            continue

        def in_bounds(g):
            nums = w.get("_nums") or []
            if "value_min" not in g and "value_max" not in g:
                return True
            if not nums:
                return False
            return all(g.get("value_min", -1e300) <= v <= g.get("value_max", 1e300) for v in nums)

        inb = [g for g in inwin if in_bounds(g)]
        if not inb:
            g = inwin[0]
            w["delegation"], w["delegation_status"] = g["id"], "out_of_bounds"
            w["why"] = f"value outside {g['id']} bounds [{g.get('value_min', '-')}, {g.get('value_max', '-')}]"
            continue
        inbud = [g for g in inb if "max_writes" not in g or used[g["id"]] < g["max_writes"]]
        if not inbud:
            g = inb[0]
            w["delegation"], w["delegation_status"] = g["id"], "over_budget"
            w["why"] = f"{g['id']} allows {g['max_writes']} writes; this is write {used[g['id']] + 1}"
            continue
        g = inbud[0]
        used[g["id"]] += 1
        w["delegation"], w["delegation_status"] = g["id"], "delegated"
        w["why"] = f"inside {g['id']}'s window, target" + (" and bounds" if "value_min" in g or "value_max" in g else "") + \
                   (f" (write {used[g['id']]} of {g['max_writes']})" if "max_writes" in g else "")


# ---------------------------------------------------------------- writers

def _toml_val(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_val(x) for x in v) + "]"
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(v, ensure_ascii=False)


def write_toml_tables(path: str, table: str, rows: list[dict], header: str = "") -> None:
    lines = [header.rstrip()] if header else []
    for r in rows:
        lines.append("")
        lines.append(f"[[{table}]]")
        for k, v in r.items():
            if k.startswith("_") or v is None:
                continue
            if k in ("valid_from", "valid_until"):
                lines.append(f"{k} = {v}")
            else:
                lines.append(f"{k} = {_toml_val(v)}")
    open(path, "w").write("\n".join(lines).lstrip("\n") + "\n")


def grant(id, principal, approved_by, t_from: float, t_until: float, protocol, targets,
          categories=("write",), servers=None, **extra) -> dict:
    g = {"id": id, "principal": principal, "approved_by": approved_by,
         "valid_from": iso_s(t_from), "valid_until": iso_s(t_until),
         "protocol": protocol}
    if servers:
        g["servers"] = list(servers)
    g["targets"] = list(targets)
    g["categories"] = list(categories)
    g.update(extra)
    g["_from"] = float(int(t_from))
    g["_until"] = float(int(t_until))
    return g


WRITE_KEYS = ["frame", "ts", "protocol", "function_code", "category", "operation",
              "client_ip", "client_port", "client_mac", "server_ip", "server_port", "server_mac",
              "target", "value", "outcome", "readable", "actor", "principal",
              "credential_kind", "credential_id", "client_certificate", "device_id",
              "attribution", "delegation", "delegation_status", "why"]


def finish_write(w: dict) -> dict:
    out = {k: w.get(k) for k in WRITE_KEYS}
    for k, v in w.items():
        if k not in out and not k.startswith("_"):
            out[k] = v
    return out


def write_truth(path: str, doc: dict) -> None:
    doc = dict(doc)
    doc["writes"] = [finish_write(w) for w in sorted(doc["writes"], key=lambda w: (w["frame"], w.get("_seq", 0)))]
    json.dump(doc, open(path, "w"), indent=2, ensure_ascii=False)
    open(path, "a").write("\n")
