"""asyncua OPC UA client driven by a JSON plan; records what it sends.

Every byte written to the TCP transport is logged (asyncio transport.write), and
every service request object is logged as it is sent (UASocketProtocol._send_request)
together with the index of the transport write that carried it.
usage: opcua_client.py PLAN.json LOG.json
"""
import asyncio
import json
import sys
import time

import asyncio.selector_events as se
from asyncua import Client, ua
from asyncua.client.ua_client import UASocketProtocol

LOG = {"writes": [], "requests": [], "results": [], "lport": None}
AUDIT = [None]

_orig_write = se._SelectorSocketTransport.write


def twrite(self, data):
    if LOG["lport"] is None:
        LOG["lport"] = self.get_extra_info("sockname")[1]
    LOG["writes"].append({"t": time.time(), "hex": bytes(data).hex()})
    return _orig_write(self, data)


se._SelectorSocketTransport.write = twrite

_orig_hdr = UASocketProtocol._setup_request_header


def hdr(self, h, timeout=1):
    _orig_hdr(self, h, timeout)
    if AUDIT[0] is not None:
        h.AuditEntryId = AUDIT[0]


UASocketProtocol._setup_request_header = hdr
_orig_send = UASocketProtocol._send_request


def send(self, request, timeout=1, message_type=ua.MessageType.SecureMessage):
    idx = len(LOG["writes"])
    fut = _orig_send(self, request, timeout, message_type)
    entry = {"type": type(request).__name__, "write_index": idx, "request_id": self._request_id,
             "audit": request.RequestHeader.AuditEntryId if hasattr(request, "RequestHeader") else None}
    if isinstance(request, ua.WriteRequest):
        entry["nodes"] = [{"node": wv.NodeId.to_string(), "attr": wv.AttributeId,
                           "variant_type": wv.Value.Value.VariantType.name, "value": wv.Value.Value.Value}
                          for wv in request.Parameters.NodesToWrite]
    elif isinstance(request, ua.CallRequest):
        entry["methods"] = [{"object": m.ObjectId.to_string(), "method": m.MethodId.to_string(),
                             "args": [a.Value for a in m.InputArguments]} for m in request.Parameters.MethodsToCall]
    elif isinstance(request, ua.ActivateSessionRequest):
        tok = request.Parameters.UserIdentityToken
        entry["token"] = type(tok).__name__
        entry["user"] = getattr(tok, "UserName", None)
        entry["encryption"] = getattr(tok, "EncryptionAlgorithm", None)
        if isinstance(tok, ua.X509IdentityToken):
            import hashlib
            entry["x509_sha256"] = hashlib.sha256(tok.CertificateData).hexdigest()
    LOG["requests"].append(entry)

    def done(f, e=entry):
        e["answered"] = not f.cancelled() and f.exception() is None
    fut.add_done_callback(done)
    return fut


UASocketProtocol._send_request = send


async def main():
    plan = json.load(open(sys.argv[1]))
    c = Client(plan["url"], timeout=4)
    if plan.get("security"):
        from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
        sec = plan["security"]
        c.application_uri = sec["app_uri"]
        await c.set_security(SecurityPolicyBasic256Sha256, sec["cert"], sec["key"],
                             server_certificate=sec["server_cert"],
                             mode=getattr(ua.MessageSecurityMode, sec["mode"]))
    if plan.get("user_cert"):
        await c.load_client_certificate(plan["user_cert"])
        await c.load_private_key(plan["user_key"])
    if plan.get("user"):
        c.set_user(plan["user"])
        c.set_password(plan["password"])
    await c.connect()
    try:
        for st in plan["steps"]:
            if "sleep" in st:
                await asyncio.sleep(st["sleep"])
                continue
            AUDIT[0] = st.get("audit")
            op = st["op"]
            if op == "write":
                params = ua.WriteParameters()
                for n in st["nodes"]:
                    vt = getattr(ua.VariantType, n["type"])
                    wv = ua.WriteValue()
                    wv.NodeId = ua.NodeId.from_string(n["node"])
                    wv.AttributeId = ua.AttributeIds.Value
                    wv.Value = ua.DataValue(ua.Variant(n["value"], vt))
                    params.NodesToWrite.append(wv)
                res = await c.uaclient.write(params)
                LOG["results"].append({"op": op, "status": [r.value for r in res]})
            elif op == "call":
                req = ua.CallMethodRequest()
                req.ObjectId = ua.NodeId.from_string(st["object"])
                req.MethodId = ua.NodeId.from_string(st["method"])
                req.InputArguments = [ua.Variant(a, ua.VariantType.Int32) for a in st["args"]]
                res = await c.uaclient.call([req])
                LOG["results"].append({"op": op, "status": [r.StatusCode.value for r in res]})
            elif op == "activate":
                await c.activate_session(username=st.get("user"), password=st.get("password"))
                LOG["results"].append({"op": op})
            AUDIT[0] = None
            await asyncio.sleep(st.get("after", 0.1))
    finally:
        await c.disconnect()
    json.dump(LOG, open(sys.argv[2], "w"), indent=1, default=str)


asyncio.run(main())
