"""Tiny classic-pcap reader with per-direction TCP stream reassembly.

Used only to *locate* the frame that carried a byte the client is known to have
sent (the client's own log says what was sent); never to decide what a write was.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field


@dataclass
class Frame:
    num: int            # 1-based, as Wireshark counts
    ts: float
    src_mac: str
    dst_mac: str
    src: str | None = None
    dst: str | None = None
    sport: int | None = None
    dport: int | None = None
    seq: int = 0
    flags: int = 0
    payload: bytes = b""
    proto: int | None = None


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def read_pcap(path: str) -> list[Frame]:
    data = open(path, "rb").read()
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        endian, nano = "<", False
    elif magic == b"\xa1\xb2\xc3\xd4":
        endian, nano = ">", False
    elif magic == b"\x4d\x3c\xb2\xa1":
        endian, nano = "<", True
    elif magic == b"\xa1\xb2\x3c\x4d":
        endian, nano = ">", True
    else:
        raise ValueError(f"{path}: not a classic pcap")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        raise ValueError(f"{path}: link type {linktype}, expected Ethernet")
    off = 24
    frames: list[Frame] = []
    n = 0
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        pkt = data[off:off + incl]
        off += incl
        n += 1
        ts = sec + frac / (1e9 if nano else 1e6)
        f = Frame(n, ts, _mac(pkt[6:12]), _mac(pkt[0:6]))
        frames.append(f)
        etype = struct.unpack(">H", pkt[12:14])[0]
        p = 14
        while etype in (0x8100, 0x88A8):
            etype = struct.unpack(">H", pkt[p + 2:p + 4])[0]
            p += 4
        if etype != 0x0800:
            continue
        ihl = (pkt[p] & 0x0F) * 4
        total = struct.unpack(">H", pkt[p + 2:p + 4])[0]
        proto = pkt[p + 9]
        f.proto = proto
        f.src = ".".join(str(x) for x in pkt[p + 12:p + 16])
        f.dst = ".".join(str(x) for x in pkt[p + 16:p + 20])
        ip_end = p + total
        t = p + ihl
        if proto == 6:
            f.sport, f.dport, f.seq = struct.unpack(">HHI", pkt[t:t + 8])
            doff = (pkt[t + 12] >> 4) * 4
            f.flags = pkt[t + 13]
            f.payload = pkt[t + doff:ip_end]
        elif proto == 17:
            f.sport, f.dport = struct.unpack(">HH", pkt[t:t + 4])
            f.payload = pkt[t + 8:ip_end]
    return frames


SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10


@dataclass
class Stream:
    """One direction of one TCP connection."""
    src: str
    sport: int
    dst: str
    dport: int
    isn: int
    syn_frame: int
    data: bytearray = field(default_factory=bytearray)
    # byte offset -> frame number (first frame that carried that byte)
    owner: list[int] = field(default_factory=list)
    retransmissions: int = 0
    gaps: int = 0

    def frame_of(self, offset: int) -> int:
        return self.owner[offset]


def tcp_streams(frames: list[Frame]) -> list[Stream]:
    """Reassemble every TCP direction that starts with a SYN in the capture."""
    open_streams: dict[tuple, Stream] = {}
    out: list[Stream] = []
    for f in frames:
        if f.proto != 6:
            continue
        key = (f.src, f.sport, f.dst, f.dport)
        if f.flags & SYN:
            s = Stream(f.src, f.sport, f.dst, f.dport, f.seq, f.num)
            open_streams[key] = s
            out.append(s)
            continue
        s = open_streams.get(key)
        if s is None or not f.payload:
            continue
        rel = (f.seq - s.isn - 1) & 0xFFFFFFFF
        end = rel + len(f.payload)
        if end <= len(s.data):
            s.retransmissions += 1
            continue
        if rel > len(s.data):
            s.gaps += 1
            # fill the hole with zeros owned by nobody (0)
            s.owner.extend([0] * (rel - len(s.data)))
            s.data.extend(b"\x00" * (rel - len(s.data)))
        new_from = len(s.data) - rel
        s.data.extend(f.payload[new_from:])
        s.owner.extend([f.num] * (len(f.payload) - new_from))
    return out


def find_stream(streams: list[Stream], src: str, sport: int, dst: str, dport: int,
                prefix: bytes | None = None) -> Stream:
    cands = [s for s in streams if (s.src, s.sport, s.dst, s.dport) == (src, sport, dst, dport)]
    if prefix is not None:
        cands = [s for s in cands if bytes(s.data[:len(prefix)]) == prefix]
    if len(cands) != 1:
        raise LookupError(f"expected one stream {src}:{sport}->{dst}:{dport}, found {len(cands)}")
    return cands[0]
