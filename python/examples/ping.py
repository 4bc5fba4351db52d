#!/usr/bin/python3
# SPDX-License-Identifier: MPL-2.0
"""DSAT's ping satellite on zsat: ICMP echo to `target` (raw socket: needs CAP_NET_RAW)."""
import os, socket, struct, time
import zsat
def echo(seq):  # an ICMP echo request with its checksum (RFC 792)
    body = struct.pack("!BBHHH", 8, 0, 0, os.getpid() & 0xFFFF, seq) + b"zsat"
    s = sum(struct.unpack("!6H", body)); s = (s >> 16) + (s & 0xFFFF)  # noqa: E702
    return body[:2] + struct.pack("!H", ~(s + (s >> 16)) & 0xFFFF) + body[4:]

def ping(record, count=3):
    target, rtts = record.get("target", "127.0.0.1"), []
    kind = socket.SOCK_DGRAM if os.geteuid() else socket.SOCK_RAW
    with socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP) as s:
        s.settimeout(1.0)
        for seq in range(count):
            start = time.monotonic()
            s.sendto(echo(seq), (target, 0))
            try:  # a reply ends with an 8-byte header of type 0, our seq, then "zsat"
                while (lambda r: r[-12] != 0 or r[-6:-4] != struct.pack("!H", seq))(s.recv(1024)):
                    pass
                rtts.append(1000 * (time.monotonic() - start))
            except socket.timeout:
                pass
    ok = rtts or [float("nan")]
    return {"target": target, "loss_pct": 100.0 * (count - len(rtts)) / count,
            "rtt_min_ms": min(ok), "rtt_avg_ms": sum(ok) / len(ok), "rtt_max_ms": max(ok)}
if __name__ == "__main__":
    zsat.worker(ping).run()
