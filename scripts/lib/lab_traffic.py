#!/usr/bin/env python3
"""Traffic for the wirespeed lab (scripts/lib/lab.sh, tests/lab/gateway_lab.cpp).

Run inside a lab namespace (ip netns exec ...):

  lab_traffic.py recv --bind ADDR --port P --out FILE [--timeout S]
      accepts one TCP connection, writes everything it receives to FILE, exits 0
      on a clean end of stream; prints "received N bytes".
  lab_traffic.py send --to ADDR --port P --file FILE [--rate BYTES_PER_S] [--timeout S]
      connects (retrying while the tunnel comes up), sends FILE, optionally
      paced so that a test can act while it is in flight, then waits for the
      receiver to close; prints "sent N bytes".
  lab_traffic.py malformed --to ADDR --port P [--seed N]
      sends UDP datagrams that no WireGuard implementation may accept; prints
      one "CATEGORY COUNT" line per kind (see KINDS) and "total N".

A stall (no progress for --stall seconds) or the overall --timeout fails with
exit status 1 and says which; errors go to stderr.
"""
import argparse
import os
import random
import socket
import struct
import sys
import time

CHUNK = 64 * 1024


def fail(message):
    print(f"lab_traffic: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def family_of(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def cmd_recv(args):
    srv = socket.socket(family_of(args.bind), socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.bind, args.port))
    srv.listen(1)
    srv.settimeout(args.timeout)
    # Ready means listening: the harness waits for this line before sending.
    print("listening", flush=True)
    try:
        conn, peer = srv.accept()
    except socket.timeout:
        fail(f"no connection to {args.bind}:{args.port} within {args.timeout} s")
    deadline = time.monotonic() + args.timeout
    conn.settimeout(args.stall)
    total = 0
    with open(args.out, "wb") as out:
        while True:
            if time.monotonic() > deadline:
                fail(f"receiving took longer than {args.timeout} s ({total} bytes so far)")
            try:
                data = conn.recv(CHUNK)
            except socket.timeout:
                fail(f"stalled: nothing received for {args.stall} s after {total} bytes")
            if not data:
                break
            out.write(data)
            out.flush()
            total += len(data)
    conn.close()
    print(f"received {total} bytes from {peer[0]}", flush=True)


def cmd_send(args):
    size = os.path.getsize(args.file)
    deadline = time.monotonic() + args.timeout
    sock = None
    while sock is None:
        try:
            sock = socket.create_connection((args.to, args.port), timeout=3)
        except OSError as e:
            if time.monotonic() > deadline:
                fail(f"could not connect to {args.to}:{args.port} within {args.timeout} s: {e}")
            time.sleep(0.2)
    sock.settimeout(args.stall)
    sent = 0
    start = time.monotonic()
    with open(args.file, "rb") as f:
        while True:
            data = f.read(CHUNK)
            if not data:
                break
            try:
                sock.sendall(data)
            except socket.timeout:
                fail(f"stalled: could not send for {args.stall} s after {sent} of {size} bytes")
            sent += len(data)
            if time.monotonic() > deadline:
                fail(f"sending took longer than {args.timeout} s ({sent} of {size} bytes)")
            if args.rate > 0:
                ahead = sent / args.rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
    sock.shutdown(socket.SHUT_WR)
    # The receiver closes after it has read everything: wait for that.
    try:
        while sock.recv(CHUNK):
            pass
    except socket.timeout:
        fail(f"the receiver did not close within {args.stall} s after all {sent} bytes were sent")
    sock.close()
    print(f"sent {sent} bytes", flush=True)


# Datagrams the gateway must drop at its listen port. Each kind is sent
# `count` times; the header's 3 reserved bytes are zero unless said otherwise.
def header(msg_type):
    return struct.pack("<I", msg_type)


def malformed_kinds(rng):
    def rand(n):
        return bytes(rng.getrandbits(8) for _ in range(n))

    def random_not_wireguard():
        # Random length and content, but never a well-formed header: the
        # reserved bytes after the type are made non-zero.
        data = bytearray(rand(rng.randrange(4, 1400)))
        data[1] |= 0x80
        return bytes(data)

    return [
        # (category, count, make)
        ("short", 1, lambda: b""),
        ("short", 1, lambda: b"\x01"),
        ("short", 1, lambda: b"\x04\x00\x00"),
        ("short", 1, lambda: header(4) + rand(8)),           # data header cut short
        ("short", 1, lambda: header(4) + rand(27)),          # under the 32-byte minimum
        ("wrong_type", 2, lambda: header(0) + rand(60)),
        ("wrong_type", 2, lambda: header(5) + rand(60)),
        ("wrong_type", 2, lambda: header(0xff) + rand(144)),
        ("wrong_type", 2, lambda: b"\x01\x01\x00\x00" + rand(144)),  # reserved byte set
        ("wrong_size", 2, lambda: header(1) + rand(143)),    # initiation is 148
        ("wrong_size", 2, lambda: header(1) + rand(145)),
        ("wrong_size", 2, lambda: header(2) + rand(87)),     # response is 92
        ("wrong_size", 2, lambda: header(2) + rand(100)),
        ("wrong_size", 2, lambda: header(3) + rand(59)),     # cookie reply is 64
        ("wrong_size", 2, lambda: header(3) + rand(61)),
        ("random", 40, random_not_wireguard),
        # Well-formed data messages for a receiver index nobody handed out.
        ("unknown_index", 20, lambda: header(4) + rand(4) + rand(8) + rand(16 + 16 * rng.randrange(0, 8))),
        # Right size and type, garbage inside: the control plane must reject
        # these (mac1 fails) without falling over; the dataplane punts them.
        ("garbage_handshake", 3, lambda: header(1) + rand(144)),
        ("garbage_handshake", 3, lambda: header(2) + rand(88)),
        ("garbage_handshake", 3, lambda: header(3) + rand(60)),
    ]


def cmd_malformed(args):
    rng = random.Random(args.seed)
    sock = socket.socket(family_of(args.to), socket.SOCK_DGRAM)
    counts = {}
    for category, count, make in malformed_kinds(rng):
        for _ in range(count):
            sock.sendto(make(), (args.to, args.port))
            counts[category] = counts.get(category, 0) + 1
            time.sleep(0.002)  # stay clear of any per-source rate limit
    sock.close()
    for category, n in counts.items():
        print(f"{category} {n}")
    print(f"total {sum(counts.values())}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--bind", required=True)
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--timeout", type=float, default=120)
    r.add_argument("--stall", type=float, default=20)
    s = sub.add_parser("send")
    s.add_argument("--to", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--file", required=True)
    s.add_argument("--rate", type=float, default=0, help="bytes per second, 0 = as fast as it goes")
    s.add_argument("--timeout", type=float, default=120)
    s.add_argument("--stall", type=float, default=20)
    m = sub.add_parser("malformed")
    m.add_argument("--to", required=True)
    m.add_argument("--port", type=int, required=True)
    m.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    {"recv": cmd_recv, "send": cmd_send, "malformed": cmd_malformed}[args.cmd](args)


if __name__ == "__main__":
    main()
