#!/usr/bin/env python3
"""Appends N generated peers to a wirespeed YAML config (scripts/scale.sh).

    scale_peers.py CONFIG N [--keys-out FILE]

Each peer gets a fresh X25519 key pair (python3-cryptography, or libsodium's
crypto_scalarmult_base through ctypes), one /32 out of 10.200.0.0/16 and, for
every other peer, an endpoint on the lab's outer link (192.0.2.2, port
20000 + i) so that both kinds of peer are present. Private keys go to
--keys-out (one "index private public" line per peer) for load tools; the
config only holds public keys. Prints the number of peers written.
"""
import base64
import ctypes
import ctypes.util
import os
import sys


def keypair_factory():
    try:
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
        from cryptography.hazmat.primitives import serialization

        raw = serialization.Encoding.Raw
        def make():
            k = X25519PrivateKey.generate()
            priv = k.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
            pub = k.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
            return priv, pub
        return make
    except ImportError:
        pass
    name = ctypes.util.find_library("sodium")
    if name is None:
        sys.exit("scale_peers: neither python3-cryptography nor libsodium is available")
    sodium = ctypes.CDLL(name)
    if sodium.sodium_init() < 0:
        sys.exit("scale_peers: sodium_init failed")
    def make():
        priv = bytearray(os.urandom(32))
        priv[0] &= 248
        priv[31] = (priv[31] & 127) | 64
        priv = bytes(priv)
        pub = ctypes.create_string_buffer(32)
        if sodium.crypto_scalarmult_base(pub, priv) != 0:
            sys.exit("scale_peers: crypto_scalarmult_base failed")
        return priv, pub.raw
    return make


def main():
    args = sys.argv[1:]
    keys_out = None
    if "--keys-out" in args:
        i = args.index("--keys-out")
        keys_out = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    config, count = args[0], int(args[1])
    if not 0 < count <= 65534:
        sys.exit("scale_peers: N must be 1..65534")
    make = keypair_factory()
    b64 = lambda b: base64.b64encode(b).decode()
    lines, keys = [], []
    for i in range(1, count + 1):
        priv, pub = make()
        lines.append(f"  - name: scale-{i}\n")
        lines.append(f"    public_key: {b64(pub)}\n")
        if i % 2 == 0:
            lines.append(f"    endpoint: \"192.0.2.2:{20000 + i % 40000}\"\n")
        lines.append(f"    allowed_ips: [\"10.200.{i >> 8}.{i & 255}/32\"]\n")
        keys.append(f"{i} {b64(priv)} {b64(pub)}\n")
    with open(config, "a") as f:
        f.writelines(lines)
    if keys_out:
        fd = os.open(keys_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.writelines(keys)
    print(count)


if __name__ == "__main__":
    main()
