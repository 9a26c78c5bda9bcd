#!/usr/bin/env python3
"""A wisdom protocol v1 client written from docs/PROTOCOL.md alone (standard library only).

Usage: client.py HOST PORT [MODE]   prints the answer frame as JSON on stdout.

Modes (each follows a rule of docs/PROTOCOL.md):
  same       solve, send the Solution on the same connection (default)
  reconnect  read the Challenge, close, solve, send the Solution on a new connection
  trailing   the Solution followed by junk bytes in the same write: the junk is ignored
  twice      the Solution twice in one write: one answer, then the server closes
  halfclose  shut down our sending side right after the Solution: the answer still comes
  bits268    bits 268 (outside 0..255): BAD_FRAME
  bits33     bits 33 (a byte, but above 32): UNSUPPORTED_PUZZLE
"""
import hashlib, json, socket, struct, sys


def read_frame(sock):
    header = b""
    while len(header) < 4:
        chunk = sock.recv(4 - len(header))
        if not chunk:
            raise SystemExit("server closed before a frame")
        header += chunk
    version, mtype, length = struct.unpack(">BBH", header)
    assert version == 1, version
    payload = b""
    while len(payload) < length:
        chunk = sock.recv(length - len(payload))
        if not chunk:
            raise SystemExit("server closed inside a frame")
        payload += chunk
    return mtype, json.loads(payload.decode("utf-8"))


def frame(mtype, obj):
    payload = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    return struct.pack(">BBH", 1, mtype, len(payload)) + payload


def solve(ch):
    prefix = b"wisdom/hashcash1" + bytes([ch["bits"]]) + bytes(15) + bytes.fromhex(ch["mac"])
    base = hashlib.sha256(prefix)  # the midstate
    bits = ch["bits"]
    counter = 0
    while True:
        h = base.copy()
        h.update(struct.pack(">Q", counter))
        if int.from_bytes(h.digest(), "big") >> (256 - bits) == 0 if bits else True:
            return counter
        counter += 1


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else "same"
    sock = socket.create_connection((host, port), timeout=10)
    mtype, ch = read_frame(sock)
    assert mtype == 1, (mtype, ch)
    counter = solve(ch)
    if mode == "reconnect":
        sock.close()
        sock = socket.create_connection((host, port), timeout=10)
        read_frame(sock)  # a fresh challenge we do not need
    if mode == "bits268":
        ch = dict(ch, bits=268)
    if mode == "bits33":
        ch = dict(ch, bits=33)
    solution = frame(2, {"challenge": ch, "counter": "%016x" % counter})
    if mode == "trailing":
        solution += b"\x01\x02\xff\xffnot a frame at all"
    if mode == "twice":
        solution += solution
    sock.sendall(solution)
    if mode == "halfclose":
        sock.shutdown(socket.SHUT_WR)
    mtype, reply = read_frame(sock)
    closed = sock.recv(1) == b""  # the server closes after its one answer
    print(json.dumps({"type": mtype, "body": reply, "closed_after": closed}))


if __name__ == "__main__":
    main()
