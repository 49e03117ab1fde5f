#!/usr/bin/python3
"""SMTP client for the lab, run inside a client namespace (`ip netns exec PREFIXuR ...`).

Each worker thread sends messages with unique Message-IDs to the cluster hostname, resolved through
`--resolver` (dnspython, no local cache: the resolver's cache and the zone TTL decide), keeping one
SMTP connection open while it works. A message that fails (connect error, 4xx, timeout, dropped
connection) is retried with the same Message-ID on the next address, re-resolving when every address
failed, until `--give-up` seconds; so a message acknowledged twice is possible and counted by the
receiver as a duplicate.

Writes JSON lines to --out: one per message {"id", "start", "end", "acked", "attempts", "addr",
"lastError"} (times in seconds since the epoch), and prints a summary JSON line.
"""
import argparse
import json
import smtplib
import socket
import threading
import time
import uuid

import dns.resolver


def resolve(resolver, name):
    try:
        return [r.address for r in resolver.resolve(name, "A", lifetime=3)]
    except Exception:
        return []


class Worker:
    def __init__(self, args, wid, out, lock):
        self.args, self.wid, self.out, self.lock = args, wid, out, lock
        self.resolver = dns.resolver.Resolver(configure=False)
        self.resolver.nameservers = [args.resolver]
        self.resolver.cache = None
        self.conn, self.addr = None, None

    def close(self):
        if self.conn:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn, self.addr = None, None

    def connect(self, addr):
        c = smtplib.SMTP(timeout=self.args.connect_timeout)
        c.connect(addr, self.args.port)
        c.sock.settimeout(self.args.timeout)
        code, _ = c.ehlo(f"client{self.wid}.lab")
        if code != 250:
            raise smtplib.SMTPResponseException(code, "ehlo")
        self.conn, self.addr = c, addr

    def send_one(self, mid):
        body = (f"From: load@client.lab\r\nTo: sink@dest.lab\r\nMessage-ID: <{mid}>\r\n"
                f"Subject: lab {mid}\r\n\r\n" + ("x" * 76 + "\r\n") * max(1, self.args.size // 78))
        start = time.time()
        attempts, last = 0, ""
        errors = []

        def note(text):
            if len(errors) < 30:
                errors.append([round(time.time() - start, 2), text[:120]])
            return text
        deadline = start + self.args.give_up
        addrs = []
        while time.time() < deadline:
            if self.conn is None:
                if not addrs:
                    addrs = resolve(self.resolver, self.args.name)
                    if not addrs:
                        last = note("resolve failed")
                        time.sleep(0.5)
                        continue
                addr = addrs.pop(0)
                try:
                    self.connect(addr)
                except Exception as e:
                    last = note(f"connect {addr}: {e}")
                    self.close()
                    if not addrs:
                        time.sleep(0.3)
                    continue
            attempts += 1
            t0 = time.time()
            try:
                refused = self.conn.sendmail("load@client.lab", ["sink@dest.lab"], body)
                if not refused:
                    return {"id": mid, "start": start, "t0": t0, "end": time.time(), "acked": True,
                            "attempts": attempts, "addr": self.addr, "lastError": last,
                            "errors": errors}
                last = note(f"refused {refused}")
            except smtplib.SMTPResponseException as e:
                last = note(f"{self.addr}: {e.smtp_code} {e.smtp_error[:80]!r}")
                try:
                    self.conn.rset()
                except Exception:
                    self.close()
                if e.smtp_code >= 500:
                    break
                self.close()  # a 4xx: try another node
                time.sleep(0.2)
            except Exception as e:
                last = note(f"{self.addr}: {type(e).__name__} {e}")
                self.close()
        return {"id": mid, "start": start, "end": time.time(), "acked": False, "attempts": attempts,
                "addr": self.addr, "lastError": last, "errors": errors}

    def run(self):
        n = 0
        while not stop.is_set():
            if self.args.count and n >= self.args.count:
                break
            n += 1
            rec = self.send_one(f"{self.args.tag}-{self.wid}-{n}-{uuid.uuid4().hex[:8]}@lab")
            with self.lock:
                self.out.write(json.dumps(rec) + "\n")
                self.out.flush()
            if self.args.pause:
                time.sleep(self.args.pause)
        self.close()


stop = threading.Event()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--resolver", required=True)
    ap.add_argument("--name", default="smtp.relay.sxlab")
    ap.add_argument("--port", type=int, default=25)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--count", type=int, default=0, help="messages per worker (0: until --duration)")
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--pause", type=float, default=0)
    ap.add_argument("--timeout", type=float, default=8, help="seconds per SMTP reply")
    ap.add_argument("--connect-timeout", type=float, default=2, help="seconds to connect and get the greeting")
    ap.add_argument("--give-up", type=float, default=90)
    ap.add_argument("--tag", default="m")
    ap.add_argument("--stop-file", help="stop starting new messages once this file exists")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    lock = threading.Lock()
    out = open(args.out, "w")
    workers = [Worker(args, i, out, lock) for i in range(args.workers)]
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    t0 = time.time()
    for t in threads:
        t.start()
    import os
    while any(t.is_alive() for t in threads):
        if (args.duration and time.time() - t0 >= args.duration) or (args.stop_file and os.path.exists(args.stop_file)):
            stop.set()
        time.sleep(0.1)
    out.close()
    recs = [json.loads(l) for l in open(args.out)]
    print(json.dumps({"sent": len(recs), "acked": sum(r["acked"] for r in recs), "seconds": round(time.time() - t0, 2)}))


if __name__ == "__main__":
    main()
