"""The `spamfilter` scenario of cluster/bench (issue 11): Sendarix's accept rate with outbound
spam scoring by rspamd against the same run without it. A private rspamd (minimal config: no
modules, pcre, a short TLD list; see Tests/IntegrationTests/RspamdProcess.swift) listens on
127.0.0.7; Sendarix relays smtp-source's 5 KB messages to smtp-sink with `spamFilter` off, then on.
Absolute figures and the on/off ratio; rspamd's own CPU is reported beside Sendarix's."""
import json
import os
import shutil
import time


def rspamd_config(d, ip, port):
    with open(os.path.join(d, "tld.dat"), "w") as f:
        f.write("com\nnet\norg\ntest\n")
    conf = os.path.join(d, "rspamd.conf")
    with open(conf, "w") as f:
        f.write("""options {
  pidfile = "%(d)s/rspamd.pid"; dbdir = "%(d)s"; filters = ""; disable_hyperscan = true;
  url_tld = "%(d)s/tld.dat";
  dns { timeout = 1s; retransmits = 1; nameserver = ["127.0.0.1:1"]; }
}
logging { type = "console"; level = "error"; }
worker "normal" { bind_socket = "%(ip)s:%(port)d"; count = 1; }
actions { reject = 15; add_header = 6; }
""" % {"d": d, "ip": ip, "port": port})
    return conf


def run(bench):
    b = __import__("__main__")
    a = bench.args
    res = {"messages": a.messages, "message_bytes": 5120, "sessions": a.sessions}
    rspamd = shutil.which("rspamd") or "/usr/bin/rspamd"
    if not os.path.exists(rspamd):
        res["available"] = False
        res["reason"] = "rspamd not installed (apt-get install rspamd)"
        bench.results["spamfilter"] = res
        return
    d = bench.dir("spamfilter")
    ip = "127.0.0.7"
    port = b.pick_port(ip, 11333)
    argv = [rspamd, "-f", "-c", rspamd_config(d, ip, port)]
    if os.getuid() == 0:
        argv += ["-i", "-u", "root", "-g", "root"]
    log = os.path.join(d, "rspamd.log")
    rsp = b.PROCS.spawn("rspamd", argv, stdout=log, stderr=log)
    try:
        b.wait_listening(ip, port, 60.0, what="rspamd")
        for variant in ("off", "on"):
            res[variant] = measure(bench, b, d, variant, ip, port, rsp)
        off, on = res["off"].get("msgs_per_s"), res["on"].get("msgs_per_s")
        res["ratio_on_off_msgs_per_s"] = round(on / off, 3) if off and on else None
        b.log("spamfilter: on/off accept rate %s" % res["ratio_on_off_msgs_per_s"])
    except b.Unavailable as e:
        res["available"] = False
        res["reason"] = str(e)
    finally:
        b.PROCS.stop(rsp)
    bench.results["spamfilter"] = res


def measure(bench, b, d, variant, ip, port, rsp):
    a = bench.args
    vd = os.path.join(d, variant)
    os.makedirs(vd, exist_ok=True)
    sink = b.Sink(vd, "sendarix-sink", b.SX_SINK_IP, b.SX_SINK_PORT)
    server = None
    try:
        server = b.SendarixServer(vd, a.sendarix_bin, bench.cert, bench.key, sink, 200)
        if variant == "on":
            with open(server.config) as f:
                cfg = json.load(f)
            cfg["spamFilter"] = {"address": "%s:%d" % (ip, port), "timeoutMillis": 2000, "failOpen": True,
                                 "maxConcurrent": 16}
            with open(server.config, "w") as f:
                json.dump(cfg, f, indent=2)
        server.start()
        cpu0, r0 = server.cpu_seconds(), b.tree_cpu_seconds(rsp.pid)
        ok, secs, err = b.run_smtp_source(server, a.sessions, 5120, a.messages, vd, "spam-" + variant)
        cpu1, r1 = server.cpu_seconds(), b.tree_cpu_seconds(rsp.pid)
        if not ok:
            return {"available": False, "reason": "smtp-source failed after %.1fs: %s" % (secs, err)}
        entry = {"available": True, "seconds": round(secs, 3), "msgs_per_s": round(a.messages / secs, 1),
                 "sendarix_cpu_s_per_1000": round((cpu1 - cpu0) * 1000.0 / a.messages, 3),
                 "rspamd_cpu_s_per_1000": round((r1 - r0) * 1000.0 / a.messages, 3)}
        b.log("spamfilter %s: %.1f msg/s, Sendarix CPU %.3f s/1000, rspamd CPU %.3f s/1000"
              % (variant, entry["msgs_per_s"], entry["sendarix_cpu_s_per_1000"], entry["rspamd_cpu_s_per_1000"]))
        sink.wait_for(a.messages, stall_seconds=5.0, max_seconds=a.drain_timeout)
        return entry
    finally:
        if server:
            server.stop()
        sink.stop()
