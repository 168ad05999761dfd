"""asyncua OPC UA server for the fixtures.

usage: opcua_server.py MODE [CERT KEY CA_DER]
MODE none: SecurityPolicy None only.  Users: alice/alice-pw, bob/bob-pw; anonymous allowed.
Nodes: ns=2;s=Oven.SP (Double), ns=2;s=Line1.Speeds (Int32[8]), ns=2;s=Oven.Mode (String),
method ns=2;s=Oven.Reset on object ns=2;s=Oven.
"""
import asyncio
import logging
import sys

from asyncua import Server, ua
from asyncua.crypto.permission_rules import SimpleRoleRuleset
from asyncua.server.user_managers import UserManager
from asyncua.crypto.permission_rules import User, UserRole

logging.basicConfig(level=logging.ERROR)
USERS = {"alice": "alice-pw", "bob": "bob-pw"}


class Users(UserManager):
    def get_user(self, iserver, username=None, password=None, certificate=None):
        if username is None and certificate is None:
            return User(role=UserRole.User)
        if certificate is not None:
            return User(role=UserRole.User, name="x509")
        if USERS.get(username) == password:
            return User(role=UserRole.User, name=username)
        return None


async def main():
    mode = sys.argv[1]
    server = Server(user_manager=Users())
    await server.init()
    server.set_endpoint("opc.tcp://0.0.0.0:4840/otw/")
    server.set_server_name("OTW test PLC")
    if mode == "none":
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity],
                                   permission_ruleset=SimpleRoleRuleset())
    else:
        await server.load_certificate(sys.argv[2])
        await server.load_private_key(sys.argv[3])
        server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
                                    ua.SecurityPolicyType.Basic256Sha256_Sign],
                                   permission_ruleset=SimpleRoleRuleset())
    server.set_security_IDs(["Anonymous", "Username", "Basic256Sha256"])
    ns = await server.register_namespace("urn:otw:plant")
    oven = await server.nodes.objects.add_object(ua.NodeId("Oven", ns), "Oven")
    sp = await oven.add_variable(ua.NodeId("Oven.SP", ns), "SP", 180.0)
    mode_v = await oven.add_variable(ua.NodeId("Oven.Mode", ns), "Mode", "auto")
    speeds = await server.nodes.objects.add_variable(ua.NodeId("Line1.Speeds", ns), "Speeds",
                                                     ua.Variant([0] * 8, ua.VariantType.Int32))
    for v in (sp, mode_v, speeds):
        await v.set_writable()

    async def reset(parent, level):
        return [ua.Variant(True, ua.VariantType.Boolean)]

    await oven.add_method(ua.NodeId("Oven.Reset", ns), "Reset", reset, [ua.VariantType.Int32],
                          [ua.VariantType.Boolean])
    async with server:
        while True:
            await asyncio.sleep(1)


asyncio.run(main())
