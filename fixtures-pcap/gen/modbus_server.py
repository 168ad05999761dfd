"""pymodbus server for the fixtures (plain Modbus/TCP or Modbus/TCP Security).

usage: modbus_server.py PORT [CERT KEY CA TLSVERSION [CIPHERS]]
Unit 1: coils 0..3999, holding registers 0..999; anything else is an illegal
data address (exception 2).  With TLS the server demands a client certificate
signed by CA.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
import sys

from pymodbus.datastore import (ModbusDeviceContext, ModbusSequentialDataBlock,
                                ModbusServerContext)
from pymodbus.server import ModbusTcpServer, ModbusTlsServer

logging.getLogger("pymodbus").setLevel(logging.ERROR)


async def main() -> None:
    port = int(sys.argv[1])
    device = ModbusDeviceContext(
        co=ModbusSequentialDataBlock(1, [False] * 4000),
        di=ModbusSequentialDataBlock(1, [False] * 100),
        hr=ModbusSequentialDataBlock(1, [0] * 1000),
        ir=ModbusSequentialDataBlock(1, [0] * 100),
    )
    context = ModbusServerContext(devices={1: device}, single=False)
    if len(sys.argv) > 2:
        cert, key, ca, ver = sys.argv[2:6]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.load_verify_locations(ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
        v = ssl.TLSVersion.TLSv1_2 if ver == "1.2" else ssl.TLSVersion.TLSv1_3
        ctx.minimum_version = v
        ctx.maximum_version = v
        if ver == "1.2":
            ctx.set_ciphers(sys.argv[6] if len(sys.argv) > 6 else "ECDHE-RSA-AES128-GCM-SHA256")
        server = ModbusTlsServer(context, address=("0.0.0.0", port), sslctx=ctx)
    else:
        server = ModbusTcpServer(context, address=("0.0.0.0", port))
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
