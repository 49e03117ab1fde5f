#!/usr/bin/python3
"""Accept-path cost of per-tenant and per-credential limits (issue 11).

Runs one Sendarix node twice on 127.54.9.2 (delivery off): once without limits, once with every
limit of the authenticated user and its tenant set far above the load (so nothing is refused and
only the bookkeeping costs: the per-message ledger checks, the counters, the usage commands
proposed through the log every syncMillis). --clients authenticated sessions over implicit TLS each
send --messages 5 KB messages on one connection. Prints one JSON object last: messages/s and the
node's CPU seconds per 1000 messages (utime+stime from /proc, the steadier figure, since smtplib
clients are the bottleneck), and their ratios limits-on / limits-off.

  cluster/bench.d/limits_bench.py [--bin .build/release/sendarix] [--clients 4] [--messages 500]
"""
import argparse, json, os, shutil, smtplib, ssl, subprocess, tempfile, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=os.environ.get("SENDARIX_BIN", ".build/release/sendarix"))
ap.add_argument("--clients", type=int, default=4)
ap.add_argument("--messages", type=int, default=500)
a = ap.parse_args()
HZ = os.sysconf("SC_CLK_TCK")
body = ("Subject: bench\r\nFrom: app@acme.test\r\nTo: rcpt@example.test\r\n\r\n" + ("x" * 76 + "\r\n") * 64).encode()
big = 10 ** 9
limits = {"messagesPerSecond": big, "messagesPerMinute": big, "messagesPerDay": big,
          "recipientsPerMessage": 1000, "recipientsPerDay": big, "concurrentConnections": 10000}

def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / HZ

def run(with_limits):
    d = tempfile.mkdtemp(prefix="sx-limitsbench-")
    user = {"name": "app", "password": "bench-password", "tenant": "acme"}
    cfg = {"node": {"id": "lb1", "hostname": "relay.test", "dataDir": d + "/data"},
           "listen": {"submission": [], "smtps": ["127.54.9.2:0"], "relay": [], "admin": "127.54.9.2:0"},
           "adminToken": "bench", "delivery": {"enabled": False}, "users": [user],
           "abuse": {"action": "off"}}
    if with_limits:
        user["limits"] = limits
        cfg["sendingLimits"] = {"syncMillis": 500, "tenants": {"acme": limits}}
    os.makedirs(d + "/data")
    json.dump(cfg, open(d + "/c.json", "w"))
    p = subprocess.Popen([a.bin, "serve", "--config", d + "/c.json"], stdout=open(d + "/log", "w"), stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            if os.path.exists(d + "/data/listen.json"): break
            time.sleep(0.05)
        host, port = json.load(open(d + "/data/listen.json"))["smtps"][0].rsplit(":", 1)
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        sessions = []
        for _ in range(a.clients):  # log in first: the PBKDF2 run is not part of the measured load
            s = smtplib.SMTP_SSL(host, int(port), context=ctx, timeout=60); s.ehlo("bench"); s.login("app", "bench-password")
            sessions.append(s)
        ok = [0] * a.clients
        def worker(i):
            for _ in range(a.messages):
                if not s_send(sessions[i]): continue
                ok[i] += 1
        def s_send(s):
            try: s.sendmail("app@acme.test", ["rcpt@example.test"], body); return True
            except smtplib.SMTPException: return False
        c0 = cpu(p.pid); t0 = time.time()
        ts = [threading.Thread(target=worker, args=(i,)) for i in range(a.clients)]
        [t.start() for t in ts]; [t.join() for t in ts]
        elapsed = time.time() - t0; used = cpu(p.pid) - c0
        for s in sessions: s.quit()
        n = sum(ok)
        return {"accepted": n, "refused": a.clients * a.messages - n, "perSecond": round(n / elapsed, 1),
                "cpuSecondsPer1000": round(used / max(n, 1) * 1000, 3)}
    finally:
        p.terminate(); p.wait(timeout=40); shutil.rmtree(d, ignore_errors=True)

off = run(False); on = run(True)
print(json.dumps({"limits": {"off": off, "on": on,
                             "acceptRatio": round(on["perSecond"] / off["perSecond"], 3),
                             "cpuRatio": round(on["cpuSecondsPer1000"] / off["cpuSecondsPer1000"], 3)}}))
