#!/usr/bin/python3
"""AUTH verification throughput of one Sendarix node (issue 11).

Starts `sendarix serve` on 127.54.9.1 (port 0), creates a tenant and an API-managed credential, then
for --seconds each measures, with --clients concurrent smtplib clients over implicit TLS (port 465):
  miss:  AUTH PLAIN with a wrong password: every attempt costs one full PBKDF2-SHA256 run at 600,000
         iterations on the bounded AUTH pool (a failure is never cached);
  hit:   AUTH PLAIN with the right password: after the first login, an HMAC check (microseconds),
         so the rate is bound by TCP + TLS handshakes.
Prints one JSON object: attempts/s of each, per core of the machine, and the pool's 454 refusals.

  cluster/bench.d/auth_bench.py [--bin .build/debug/sendarix] [--seconds 10] [--clients 8]
"""
import argparse, json, os, shutil, smtplib, ssl, subprocess, sys, tempfile, threading, time, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=os.environ.get("SENDARIX_BIN", ".build/debug/sendarix"))
ap.add_argument("--seconds", type=float, default=10)
ap.add_argument("--clients", type=int, default=8)
a = ap.parse_args()
d = tempfile.mkdtemp(prefix="sx-authbench-")
cfg = {"node": {"id": "ab1", "hostname": "relay.test", "dataDir": d + "/data"},
       "listen": {"submission": [], "smtps": ["127.54.9.1:0"], "relay": [], "admin": "127.54.9.1:0"},
       "policy": {"maxAuthFailuresPerIP": 1000000, "trustedNetworks": []}, "adminToken": "bench",
       "delivery": {"enabled": False}}
os.makedirs(d + "/data")
json.dump(cfg, open(d + "/c.json", "w"))
p = subprocess.Popen([a.bin, "serve", "--config", d + "/c.json"], stdout=open(d + "/log", "w"), stderr=subprocess.STDOUT)
try:
    for _ in range(300):
        if os.path.exists(d + "/data/listen.json"): break
        time.sleep(0.05)
    ports = json.load(open(d + "/data/listen.json"))
    admin = "http://" + ports["admin"]
    def api(method, path, body):
        r = urllib.request.Request(admin + path, data=json.dumps(body).encode(), method=method,
                                   headers={"Authorization": "Bearer bench"})
        return json.loads(urllib.request.urlopen(r).read())
    api("POST", "/v1/tenants", {"name": "bench"})
    pw = api("POST", "/v1/tenants/bench/credentials", {"username": "bench1"})["password"]
    host, port = ports["smtps"][0].rsplit(":", 1)
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE

    def run(password):
        counts = {"235": 0, "535": 0, "454": 0, "other": 0}
        lock = threading.Lock(); end = time.time() + a.seconds
        def worker():
            while time.time() < end:
                try:
                    s = smtplib.SMTP_SSL(host, int(port), context=ctx, timeout=60); s.ehlo("bench")
                    try: code = s.login("bench1", password)[0]
                    except smtplib.SMTPAuthenticationError as e: code = e.smtp_code
                    except smtplib.SMTPException: code = 0
                    s.close()
                except OSError: code = 0
                with lock: counts[str(code) if str(code) in counts else "other"] += 1
        ts = [threading.Thread(target=worker) for _ in range(a.clients)]
        start = time.time(); [t.start() for t in ts]; [t.join() for t in ts]
        return counts, time.time() - start

    cores = os.cpu_count()
    miss, tm = run("wrong-password-" + "x" * 8)
    hit, th = run(pw)
    out = {"cores": cores, "clients": a.clients,
           "missPerSecond": round(miss["535"] / tm, 2), "missPerSecondPerCore": round(miss["535"] / tm / cores, 2),
           "hitPerSecond": round(hit["235"] / th, 1), "hitPerSecondPerCore": round(hit["235"] / th / cores, 1),
           "refused454": miss["454"] + hit["454"], "miss": miss, "hit": hit}
    print(json.dumps(out))
finally:
    p.terminate(); p.wait(timeout=40); shutil.rmtree(d, ignore_errors=True)
