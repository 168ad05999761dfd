"""Private network lab: namespaces joined by a bridge, plus tcpdump on the bridge.

Every address used here exists only inside namespaces created by this module
(prefix ``otw-``).  Nothing is ever configured on the host's own interfaces.

Topology: one namespace ``otw-sw`` holds a Linux bridge ``br0``; each host gets
its own namespace ``otw-<name>`` with ``eth0`` whose veth peer ``p-<name>`` is a
port of the bridge.  Offloads are off on both ends of every veth, so frames on
the wire are at most 1514 bytes with real checksums, as on a mirror port.
tcpdump runs in ``otw-sw`` on ``br0`` (promiscuous), which sees every frame that
crosses the switch exactly once.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

PREFIX = "otw-"
SWITCH = PREFIX + "sw"
SUBNET = "10.77.0"


def sh(cmd: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, shell=True, text=True, capture_output=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"command failed ({r.returncode}): {cmd}\n{r.stdout}\n{r.stderr}")
    return r


def mac_for(ip: str) -> str:
    a, b, c, d = (int(x) for x in ip.split("."))
    return f"02:00:{a:02x}:{b:02x}:{c:02x}:{d:02x}"


def list_lab_namespaces() -> list[str]:
    r = sh("ip netns list", check=False)
    out = []
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith(PREFIX):
            out.append(name)
    return out


def cleanup() -> None:
    """Delete every namespace this lab created (and so their veths)."""
    for ns in list_lab_namespaces():
        # kill whatever still runs inside (only processes in our own namespaces)
        r = sh(f"ip netns pids {ns}", check=False)
        for pid in r.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        sh(f"ip netns del {ns}", check=False)


def _offloads_off(ns: str, ifname: str) -> None:
    sh(f"ip netns exec {ns} ethtool -K {ifname} tso off gso off gro off tx off rx off", check=False, quiet=True)
    # some features are named differently; try the remaining ones individually
    for feat in ("sg", "ufo", "lro", "tx-checksumming", "rx-checksumming"):
        sh(f"ip netns exec {ns} ethtool -K {ifname} {feat} off", check=False, quiet=True)


class Lab:
    def __init__(self) -> None:
        self.hosts: dict[str, dict] = {}
        self.tcpdump: subprocess.Popen | None = None

    def ns(self, name: str) -> str:
        return PREFIX + name

    def start(self) -> None:
        cleanup()
        sh(f"ip netns add {SWITCH}")
        sh(f"ip netns exec {SWITCH} sysctl -qw net.ipv6.conf.all.disable_ipv6=1")
        sh(f"ip netns exec {SWITCH} sysctl -qw net.ipv6.conf.default.disable_ipv6=1")
        sh(f"ip netns exec {SWITCH} ip link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0")
        sh(f"ip netns exec {SWITCH} ip link set br0 address 02:00:0a:4d:00:fe")
        sh(f"ip netns exec {SWITCH} ip link set br0 up")
        sh(f"ip netns exec {SWITCH} ip link set lo up")

    def add_host(self, name: str, ip: str, mtu: int = 1500) -> dict:
        ns = self.ns(name)
        port = f"p-{name}"[:15]
        mac = mac_for(ip)
        sh(f"ip netns add {ns}")
        sh(f"ip netns exec {ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=1")
        sh(f"ip netns exec {ns} sysctl -qw net.ipv6.conf.default.disable_ipv6=1")
        sh(f"ip link add {port} netns {SWITCH} type veth peer name eth0 netns {ns}")
        sh(f"ip netns exec {ns} ip link set eth0 address {mac} mtu {mtu}")
        sh(f"ip netns exec {SWITCH} ip link set {port} mtu {mtu} master br0")
        sh(f"ip netns exec {ns} ip addr add {ip}/24 dev eth0")
        sh(f"ip netns exec {ns} ip link set lo up")
        sh(f"ip netns exec {ns} ip link set eth0 up")
        sh(f"ip netns exec {SWITCH} ip link set {port} up")
        _offloads_off(ns, "eth0")
        _offloads_off(SWITCH, port)
        h = {"name": name, "ns": ns, "ip": ip, "mac": mac, "port": port}
        self.hosts[name] = h
        return h

    def finish_setup(self) -> None:
        _offloads_off(SWITCH, "br0")
        time.sleep(0.5)

    def build(self, server_ip: str, clients: dict[str, tuple]) -> None:
        """Starts the switch with the server "srv" at `server_ip` and one host per client
        (name -> (ip, ...)), then finishes the setup: the whole lab of one scenario."""
        self.start()
        self.add_host("srv", server_ip)
        for name, (ip, *_rest) in clients.items():
            self.add_host(name, ip)
        self.finish_setup()

    def exec_prefix(self, name: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns(name)]

    def start_capture(self, pcap_path: str) -> None:
        if os.path.exists(pcap_path):
            os.unlink(pcap_path)
        self.tcpdump = subprocess.Popen(
            ["ip", "netns", "exec", SWITCH, "tcpdump", "-i", "br0", "-s", "0", "-U", "-n",
             "-w", pcap_path, "-Z", "root", "not ip6"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # wait until tcpdump is listening
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(pcap_path) and os.path.getsize(pcap_path) >= 24:
                break
            time.sleep(0.05)
        time.sleep(0.5)

    def stop_capture(self) -> None:
        time.sleep(1.0)  # let the last frames land
        if self.tcpdump is not None:
            self.tcpdump.send_signal(signal.SIGINT)
            try:
                self.tcpdump.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.tcpdump.kill()
            self.tcpdump = None

    def stop(self) -> None:
        if self.tcpdump is not None:
            try:
                self.tcpdump.kill()
            except Exception:
                pass
        cleanup()


def tcpdump_version() -> str:
    r = sh("tcpdump --version", check=False)
    first = (r.stdout or r.stderr).splitlines()[0]
    return first.replace("tcpdump version ", "").strip()
