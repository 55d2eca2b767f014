#!/usr/bin/env python3
"""v1peer.py: a CommModule v1 peer, written from docs/legacy-v1.md, that
treats every answer the way webdb's old client does:

- sending: STX, wait 20 s for ACK (anything else: the client dies); the
  frame in 30-byte writes; wait 5 s for ACK (done) or NAK (send the frame
  again, without STX, for ever); anything else or nothing: it dies;
- receiving: wait 120 s for STX (nothing or another byte: it dies); ACK;
  read until the bytes minus the last 9 are one whole len24 field; if not
  and they end with the trailer, NAK and start over; 5 s without a byte:
  it dies; then ACK;
- the answer is field 1 of the answer body; the XOR byte is not checked;
- a certificate: PEM when it starts with "-----BEGIN CERTIFICATE-----",
  else DER; empty: "ZERO Length certificate received" (a failure);
- a CRL: PEM when it starts with "-----BEGIN X509 CRL-----" (converted to
  DER), else an xdelta patch against the CRL held ("xdelta patch"; exit
  status 2 from xdelta means the bytes were a full DER CRL); empty:
  "RECEIVED AN EMPTY CRL!" (nothing changes).

"Dies" is exit status 1 with the reason on stderr, as the old client's
Error() did (its supervisor restarted it). Exit 3: an empty answer.
Usage: v1peer.py DEVICE COMMAND [options]  (see main()).
"""
import argparse
import hashlib
import os
import select
import subprocess
import sys
import time

STX, ACK, NAK = b"\x02", b"\x10", b"\x11"
TRAILER = b"rie4Ech7"
V1_MAX_NAKS = 3     # docs/legacy-v1.md: then the listener stays silent


class Died(Exception):
    pass


def pack3(data):
    if len(data) >= 1 << 24:
        data = b""
    return len(data).to_bytes(4, "big")[1:] + data


def unpack3(data):
    if len(data) < 3:
        return None
    n = int.from_bytes(data[:3], "big")
    return data[3:] if len(data) - 3 == n else None


def unpack3array(data):
    out = []
    while len(data) >= 3:
        n = int.from_bytes(data[:3], "big")
        if len(data) - 3 < n:
            return []
        out.append(data[3:3 + n])
        data = data[3 + n:]
    return out if not data else []


def xor_of(data):
    x = 0
    for b in data:
        x ^= b
    return x


class Port:
    def __init__(self, path):
        import termios
        import tty
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        attrs = termios.tcgetattr(self.fd)
        attrs[4] = attrs[5] = termios.B115200
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)

    def can_read(self, secs):
        return bool(select.select([self.fd], [], [], secs)[0])

    def read(self, n):
        return os.read(self.fd, n)

    def write(self, data, mtu=30):
        while data:
            n = os.write(self.fd, data[:mtu])
            data = data[n:]

    def drain(self, secs):
        got = b""
        end = time.time() + secs
        while time.time() < end:
            if self.can_read(max(0.0, end - time.time())):
                got += self.read(4096)
        return got


def send_handshaked(port, data, frame=None):
    port.write(STX)
    if not port.can_read(20):
        raise Died("Handshake uncompleted. Connection lost2!")
    b = port.read(1)
    if b != ACK:
        raise Died("!Stopped sending. (got %r)" % b)
    if frame is None:
        frame = data + bytes([xor_of(data)]) + TRAILER
    while True:
        port.write(frame)
        if not port.can_read(5):
            raise Died("Packet receipt was not confirmed in 5 seconds. Connection lost!")
        b = port.read(1)
        if b == ACK:
            return
        if b != NAK:
            raise Died("I cannot send! %r" % b)
        frame = data + bytes([xor_of(data)]) + TRAILER  # the resend is good


def receive(port, timeout=120):
    if not port.can_read(timeout):
        raise Died("Error: No Answer received, Timeout.")
    b = port.read(1)
    if b != STX:
        raise Died("Error: Wrong Startbyte: %r !" % b)
    port.write(ACK)
    block = b""
    while True:
        if not port.can_read(5):
            raise Died("Handshake uncompleted. Connection lost variant3!")
        block += port.read(100)
        if len(block) > 9 and unpack3(block[:-9]) is not None:
            break
        if block.endswith(TRAILER):
            port.write(NAK)
            block = b""
    port.write(ACK)
    return block


def request(port, hdr, f1=b"", f2=b"", f3=b"", frame=None):
    body = pack3(bytes(hdr)) + pack3(f1) + pack3(f2) + pack3(f3)
    send_handshaked(port, pack3(body), frame)
    data = receive(port)
    fields = unpack3array(data[3:-9])
    return fields[1] if len(fields) > 1 else b""


def header(action, system=0, root=0, profile=0, md=0, days=0, flag=0):
    return [1, action, system, root, profile, md, days >> 8, days & 255, flag]


def do_crl(answer, crlname):
    """The old client's DoCRL: 1 when the CRL file was replaced."""
    if not answer:
        print("RECEIVED AN EMPTY CRL!")
        return 0
    if answer.startswith(b"-----BEGIN X509 CRL-----"):
        open(crlname + ".pem", "wb").write(answer)
        subprocess.run(["openssl", "crl", "-in", crlname + ".pem", "-outform",
                        "der", "-out", crlname + ".tmp"], check=False)
        print("CRL full")
    else:
        open(crlname + ".patch", "wb").write(answer)
        r = subprocess.run(["xdelta", "patch", crlname + ".patch", crlname,
                            crlname + ".tmp"], check=False)
        if r.returncode == 2:
            open(crlname + ".tmp", "wb").write(answer)
            print("CRL der")
        else:
            print("CRL patch")
    os.replace(crlname + ".tmp", crlname)
    return 1


def sha1_file(path):
    try:
        return hashlib.sha1(open(path, "rb").read()).hexdigest()
    except OSError:
        return hashlib.sha1(b"").hexdigest()


def cmd_sign(port, a):
    csr = open(a.csr, "rb").read()
    hdr = header(1, a.system, a.root, a.profile, a.md, a.days, 1 if a.spkac else 0)
    if a.no_wait:   # the old client dying right after its frame was taken
        body = pack3(bytes(hdr)) + pack3(csr) + pack3(a.san.encode()) + pack3(a.subject.encode())
        send_handshaked(port, pack3(body))
        print("SENT")
        return 0
    crt = request(port, hdr, csr, a.san.encode(), a.subject.encode())
    if not crt:
        print("ZERO Length certificate received.")
        return 3
    if crt.startswith(b"-----BEGIN CERTIFICATE-----"):
        open(a.out, "wb").write(crt)
    else:
        open(a.out + ".der", "wb").write(crt)
        subprocess.run(["openssl", "x509", "-in", a.out + ".der", "-inform",
                        "der", "-out", a.out], check=False)
    print("CERT %s" % a.out)
    return 0


def cmd_revoke(port, a):
    cert = open(a.cert, "rb").read() if a.cert else b""
    ans = request(port, header(2, 1, a.root, 0, 0, 365, 0), cert, b"",
                  sha1_file(a.crl).encode())
    return 0 if do_crl(ans, a.crl) else 3


def cmd_keepalive(port, a):
    t = a.time if a.time is not None else time.strftime("%m%d%H%M%Y.%S", time.gmtime())
    ans = request(port, header(0), t.encode())
    print("KEEPALIVE %d" % len(ans))
    return 0


def cmd_pgp(port, a):
    key = open(a.key, "rb").read()
    ans = request(port, header(1, 2, 0, 0, 2, a.days, 0), key)
    if not ans:
        print("ZERO Length key received.")
        return 3
    open(a.out, "wb").write(ans)
    print("PGP %s" % a.out)
    return 0


def cmd_bench(port, a):
    """Sign every CSR in a directory, one after another, as the old client
    works through its queue; a keepalive every 10 requests."""
    names = sorted(n for n in os.listdir(a.dir) if n.endswith(".csr"))[:a.n]
    ok = 0
    t0 = time.time()
    for i, n in enumerate(names):
        crt = request(port, header(1, 1, 0, 0, 8, 90, 0),
                      open(os.path.join(a.dir, n), "rb").read(), b"",
                      ("/CN=bench%d.example.org" % i).encode())
        if crt.startswith(b"-----BEGIN CERTIFICATE-----"):
            ok += 1
        if i % 10 == 9:
            request(port, header(0), time.strftime("%m%d%H%M%Y.%S", time.gmtime()).encode())
    dt = time.time() - t0
    print("requests=%d ok=%d seconds=%.2f" % (len(names), ok, dt))
    return 0


def hostile_frame(body, case):
    """The bytes of a deliberately broken frame."""
    good = pack3(body)
    if case == "xor":
        return good + bytes([xor_of(good) ^ 0x5a]) + TRAILER
    if case == "long":      # the length says 100 bytes more than there are
        lie = (len(body) + 100).to_bytes(3, "big") + body
        return lie + bytes([xor_of(lie)]) + TRAILER
    if case == "short":     # the length says 10 bytes fewer
        lie = (len(body) - 10).to_bytes(3, "big") + body
        return lie + bytes([xor_of(lie)]) + TRAILER
    if case == "notrailer":
        return good + bytes([xor_of(good)]) + b"XXXXXXXX"
    raise ValueError(case)


def cmd_hostile(port, a):
    """One broken transfer; prints what the listener answered, then shows
    that a good request still works. Exit 0 when the listener behaved as
    docs/legacy-v1.md says."""
    keep = header(0)
    body = pack3(bytes(keep)) + pack3(b"") + pack3(b"") + pack3(b"")
    if a.case == "garbage":
        port.write(bytes(range(3, 256)) * 4 + b"\x00\x10\x11" * 20)
        got = port.drain(1.5)
        print("after garbage: %r" % got[:16])
        if got:
            return 1
    elif a.case == "oversize":
        port.write(STX)
        if port.read(1) != ACK:
            return 1
        port.write(b"\xff\xff\xff" + b"A" * 5000 + TRAILER)
        got = port.drain(2.5)
        print("after an oversize frame: %r" % got[:16])
        if got:
            return 1
    elif a.case == "naks":     # the same broken frame again and again
        port.write(STX)
        if port.read(1) != ACK:
            return 1
        frame = hostile_frame(body, "xor")
        answers = []
        for _ in range(V1_MAX_NAKS + 1):
            port.write(frame)
            answers.append(port.read(1) if port.can_read(5) else b"")
        print("one broken frame %d times: %r" % (len(answers), answers))
        if answers != [NAK] * V1_MAX_NAKS + [b""]:
            return 1
    elif a.case == "bigfield":
        crt = request(port, header(1, 1, 0, 0, 8, 90, 0), b"A" * 70000, b"", b"/CN=x")
        print("big field answered %d bytes" % len(crt))
        return 0 if crt == b"" else 1
    elif a.case == "badheader":
        for hdr in ([2, 0, 0, 0, 0, 0, 0, 0, 0], [1, 7, 0, 0, 0, 0, 0, 0, 0],
                    [1, 1, 1, 0, 0]):
            ans = request(port, hdr)
            print("header %r answered %d bytes" % (hdr, len(ans)))
            if ans:
                return 1
    else:
        frame = hostile_frame(body, a.case)
        port.write(STX)
        if not port.can_read(5) or port.read(1) != ACK:
            return 1
        port.write(frame)
        t0 = time.time()
        if not port.can_read(5):
            print("no answer to a broken frame")
            return 1
        b = port.read(1)
        print("broken frame (%s) answered %r after %.1f s" % (a.case, b, time.time() - t0))
        if b != NAK:
            return 1
        good = pack3(body)      # the old client sends the frame again
        port.write(good + bytes([xor_of(good)]) + TRAILER)
        if not port.can_read(5) or port.read(1) != ACK:
            return 1
        data = receive(port)
        print("then the good frame: answer of %d bytes" % len(data))
    ans = request(port, keep, time.strftime("%m%d%H%M%Y.%S", time.gmtime()).encode())
    print("then a keepalive: answer of %d bytes" % len(ans))
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("device")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sign")
    s.add_argument("--system", type=int, default=1)
    s.add_argument("--root", type=int, default=0)
    s.add_argument("--profile", type=int, default=0)
    s.add_argument("--md", type=int, default=0)
    s.add_argument("--days", type=int, default=0)
    s.add_argument("--spkac", action="store_true")
    s.add_argument("--csr", required=True)
    s.add_argument("--san", default="")
    s.add_argument("--subject", default="")
    s.add_argument("--out", required=True)
    s.add_argument("--no-wait", action="store_true")
    s = sub.add_parser("revoke")
    s.add_argument("--root", type=int, default=0)
    s.add_argument("--cert")
    s.add_argument("--crl", required=True)
    s = sub.add_parser("keepalive")
    s.add_argument("--time")
    s = sub.add_parser("pgp")
    s.add_argument("--key", required=True)
    s.add_argument("--days", type=int, default=366)
    s.add_argument("--out", required=True)
    s = sub.add_parser("bench")
    s.add_argument("--dir", required=True)
    s.add_argument("--n", type=int, default=200)
    s = sub.add_parser("hostile")
    s.add_argument("case")
    a = p.parse_args()
    port = Port(a.device)
    fn = {"sign": cmd_sign, "revoke": cmd_revoke, "keepalive": cmd_keepalive,
          "pgp": cmd_pgp, "bench": cmd_bench, "hostile": cmd_hostile}[a.cmd]
    try:
        return fn(port, a)
    except Died as e:
        print("died: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
