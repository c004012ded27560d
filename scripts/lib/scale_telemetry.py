#!/usr/bin/env python3
"""DPDK telemetry queries for scripts/scale.sh and scripts/soak.sh.

    scale_telemetry.py info PREFIX KEY
        a value of the dataplane's /wirespeed/info (peers, mbufs_in_use, ...)
    scale_telemetry.py zone PREFIX NAME
        "LENGTH HUGEPAGES" of the memzone NAME (e.g. ws_state)
    scale_telemetry.py wait-peers PREFIX N START_NS TIMEOUT_S
        polls /wirespeed/info every 5 ms until it reports N peers; prints the
        milliseconds from START_NS (CLOCK_REALTIME ns, `date +%s%N`) to then,
        or exits 1 with the last count after TIMEOUT_S

One connection to /var/run/dpdk/PREFIX/dpdk_telemetry.v2 (the same socket
dpdk-telemetry.py uses) per run, so polling is cheap.
"""
import json
import socket
import sys
import time


class Telemetry:
    def __init__(self, prefix):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2")
        hello = json.loads(self.sock.recv(1024).decode())
        self.max_len = int(hello.get("max_output_len", 16384))

    def query(self, cmd):
        self.sock.send(cmd.encode())
        reply = json.loads(self.sock.recv(self.max_len).decode())
        return reply[cmd.split(",")[0]]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    what, prefix = sys.argv[1], sys.argv[2]
    t = Telemetry(prefix)
    if what == "info" and len(sys.argv) == 4:
        print(t.query("/wirespeed/info")[sys.argv[3]])
    elif what == "zone" and len(sys.argv) == 4:
        for zone_id in t.query("/eal/memzone_list"):
            z = t.query(f"/eal/memzone_info,{zone_id}")
            if z and z.get("Name") == sys.argv[3]:
                print(z["Length"], z.get("Hugepage_used", "?"))
                return
        sys.exit(f"scale_telemetry: no memzone {sys.argv[3]}")
    elif what == "wait-peers" and len(sys.argv) == 6:
        want, start_ns, timeout = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        deadline = time.monotonic() + timeout
        peers = -1
        while time.monotonic() < deadline:
            peers = t.query("/wirespeed/info")["peers"]
            if peers == want:
                print((time.time_ns() - start_ns) // 1000000)
                return
            time.sleep(0.005)
        print(peers)
        sys.exit(1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
