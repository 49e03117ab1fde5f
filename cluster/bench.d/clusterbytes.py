"""The `clusterbytes` scenario of cluster/bench (issue 16 item 4 in a cluster: each body hits each
node's disk once).

A 3-node Sendarix cluster on 127.73.0.1-3 relays smtp-source mail (to the leader) to one
smtp-sink. Each node's dataDir (spool and raft log) is on its own fresh loop-mounted ext4
(`relaybytes.LoopFS`), so the block device's sector counter shows exactly what that node wrote.
Each round runs the cluster twice, same run, alternating the order:

  copy   `cluster.bodiesInLog: false`: the spool copies each body after the raft log wrote it
  once   `cluster.bodiesInLog: true`: the spool references the body in its raft entry

Per mode and node: cluster.bytesPerByte = sectors written to the node's device x 512 / (messages
x message size), from just before smtp-source starts until every node's queue is empty and the
device is synced (`sync -f`, then quiet for 1.5 s or at most 10 s: three running nodes write a
little all the time, reported per node as idle_bytes_per_s, measured over 5 s before the run). Final keys: sizes.<size>.ratio_bytes_per_byte
(once / copy, mean over the nodes) and ratio_msgs_per_s. Needs root (loop devices).
"""

import json
import os
import time
import http.client

import relaybytes

IPS = ["127.73.0.1", "127.73.0.2", "127.73.0.3"]
SINK_IP, SINK_PORT = "127.73.0.10", 2526
MODES = ("copy", "once")


class _Endpoint:
    def __init__(self, ip, port):
        self.ip, self.port = ip, port


def _admin(m, ip, port, path):
    try:
        c = http.client.HTTPConnection(ip, port, timeout=5)
        c.request("GET", path, headers={"Authorization": "Bearer " + m.ADMIN_TOKEN})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, json.loads(body) if body[:1] in (b"{", b"[") else body
    except (OSError, http.client.HTTPException, ValueError):
        return None, None


def run_mode(bench, m, mode, size, count):
    """One fresh 3-node cluster with `cluster.bodiesInLog` per `mode`; returns the entry."""
    d = bench.dir("clusterbytes-%s-%d" % (mode, size))
    binary = bench.args.sendarix_bin
    if not binary or not os.access(binary, os.X_OK):
        raise m.Unavailable("binary %s not found" % binary)
    secret = os.path.join(d, "cluster.key")
    with open(secret, "w") as f:
        f.write("clusterbytes-secret-%d" % os.getpid())
    fss, nodes, sink = [], [], None
    try:
        sink = m.Sink(d, "cb-sink", SINK_IP, SINK_PORT)
        for i, ip in enumerate(IPS):
            data = os.path.join(d, "n%d" % (i + 1))
            try:
                fs = relaybytes.LoopFS(os.path.join(d, "n%d.img" % (i + 1)), data,
                                       max(4 << 30, count * size * 4 + (2 << 30)))
            except (RuntimeError, OSError) as e:
                raise m.Unavailable("no loop filesystem: %s" % e)
            m.PROCS.add_stopper(fs.stop)
            fss.append(fs)
            port, admin = m.pick_port(ip, 2525), m.pick_port(ip, 8025)
            cfg = {
                "node": {"id": "n%d" % (i + 1), "hostname": "n%d.bench.test" % (i + 1), "dataDir": data},
                "listen": {"submission": [], "smtps": [], "relay": ["%s:%d" % (ip, port)],
                           "admin": "%s:%d" % (ip, admin), "peer": "%s:7700" % ip},
                "tls": {"certificate": bench.cert, "privateKey": bench.key},
                "policy": {"trustedNetworks": ["127.0.0.0/8"], "localDomains": ["example.test"],
                           "maxConnectionsPerIP": 500},
                "limits": {"maxConnections": 10000},
                "routes": [{"domain": "example.test", "hosts": ["%s:%d" % (sink.ip, sink.port)], "tls": "none"}],
                "cluster": {"secretFile": secret, "bodiesInLog": mode == "once",
                            "peers": [{"id": "n%d" % (j + 1), "address": "%s:7700" % other}
                                      for j, other in enumerate(IPS) if other != ip]},
                "adminToken": m.ADMIN_TOKEN,
            }
            conf = os.path.join(d, "n%d.json" % (i + 1))
            with open(conf, "w") as f:
                json.dump(cfg, f, indent=2)
            nodes.append({"ip": ip, "port": port, "admin": admin, "config": conf,
                          "log": os.path.join(d, "n%d.log" % (i + 1)), "proc": None})
        for n in nodes:
            n["proc"] = m.PROCS.spawn("sendarix", [binary, "serve", "--config", n["config"]],
                                      stdout=n["log"], stderr=n["log"])
        for n in nodes:
            m.wait_smtp_ready(n["ip"], n["port"], 60.0, n["proc"], what="sendarix %s" % n["ip"])
        leader = None
        deadline = time.monotonic() + 30
        while leader is None and time.monotonic() < deadline:
            for n in nodes:
                st, body = _admin(m, n["ip"], n["admin"], "/v1/cluster/status")
                if st == 200 and isinstance(body, dict) and body.get("leader") and body.get("hasQuorum"):
                    leader = nodes[int(body["leader"][1:]) - 1]
                    break
            time.sleep(0.1)
        if leader is None:
            raise m.Unavailable("no leader within 30 s")
        target = _Endpoint(leader["ip"], leader["port"])
        c = m.SMTPConn(target.ip, target.port)
        try:
            c.greet()
            c.ehlo()
            c.send_message(m.make_body(1024, "cluster-probe"))
            c.cmd("QUIT")
        except (OSError, m.SMTPError) as e:
            raise m.Unavailable("probe message not accepted: %s" % e)
        finally:
            c.close()
        n1, _ = sink.wait_for(1, stall_seconds=30, max_seconds=30)
        if n1 < 1:
            raise m.Unavailable("the probe message did not reach the sink")
        if not _queues_empty(m, nodes, 30):
            raise m.Unavailable("queues not empty after the probe")
        # Three running nodes write a little all the time (periodic proposals): the device never
        # goes quiet, so settling is bounded, and the idle write rate is measured and reported.
        # Counted like relaybytes: one sync after the wait, not a sync every 0.25 s (which writes
        # the reader-table page an idle node touches, with a journal commit, each time).
        settled = [fs.settle_once(max_seconds=10) for fs in fss]
        time.sleep(5)
        before = [fs.sectors_written() for fs in fss]
        idle = [round((b - s0) * 512 / 5.0) for b, s0 in zip(before, settled)]
        m.log("clusterbytes: %s, %d x %d bytes" % (mode, count, size))
        base = sink.received()
        t0 = time.monotonic()
        ok, secs, err = m.run_smtp_source(target, bench.args.sessions, size, count, d, "cb-%s-%d" % (mode, size))
        if not ok:
            raise m.Unavailable("smtp-source failed after %.1fs: %s" % (secs, err))
        got, t_last = sink.wait_for(base + count, stall_seconds=30.0, max_seconds=max(120.0, count * 0.1))
        delivered = got - base
        span = max(t_last - t0, secs)
        empty = _queues_empty(m, nodes, 60)
        after = [fs.settle_once(max_seconds=10) for fs in fss]
        mail = float(count * size)
        per_node = [round((a - b) * 512 / mail, 3) for a, b in zip(after, before)]
        entry = {"available": True, "mode": mode, "accepted": count, "delivered": delivered,
                 "message_bytes": size, "seconds": round(span, 3),
                 "msgs_per_s": round(delivered / span, 1) if span > 0 else None,
                 "leader": "n%d" % (nodes.index(leader) + 1),
                 "cluster.bytesPerByte": per_node,
                 "idle_bytes_per_s": idle, "measured_seconds": round(time.monotonic() - t0, 1),
                 "cluster.bytesPerByteMean": round(sum(per_node) / len(per_node), 3)}
        if delivered < count:
            entry["note"] = "only %d of %d reached the sink" % (delivered, count)
        if not empty:
            entry["note"] = (entry.get("note", "") + " queues not empty at the end").strip()
        m.log("clusterbytes: %s %d: %s msg/s, bytes per byte of mail per node %s"
              % (mode, size, entry["msgs_per_s"], per_node))
        return entry
    finally:
        for n in nodes:
            if n["proc"] is not None:
                m.PROCS.stop(n["proc"], grace=15.0)
        if sink:
            sink.stop()
        for fs in fss:
            fs.stop()
            m.PROCS.remove_stopper(fs.stop)


def _queues_empty(m, nodes, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        counts = []
        for n in nodes:
            st, body = _admin(m, n["ip"], n["admin"], "/v1/queue?limit=1")
            counts.append(body.get("count") if st == 200 and isinstance(body, dict) else None)
        if all(c == 0 for c in counts):
            return True
        time.sleep(0.25)
    return False


def scenario(bench, m):
    """Runs `clusterbytes` (--rounds, modes alternating) into bench.results["clusterbytes"]."""
    a = bench.args
    sizes = [int(s) for s in (getattr(a, "clusterbytes_sizes", None) or "102400").split(",")]
    res = {"nodes": 3, "sessions": a.sessions, "rounds": a.rounds, "sizes": {}}
    for size in sizes:
        count = a.relay_messages if size <= 5120 else max(100, a.relay_messages // 4)
        runs = {mode: [] for mode in MODES}
        for r in range(a.rounds):
            order = MODES if r % 2 == 0 else tuple(reversed(MODES))
            for mode in order:
                try:
                    runs[mode].append(run_mode(bench, m, mode, size, count))
                except m.Unavailable as e:
                    m.log("clusterbytes: %s %d: %s" % (mode, size, e))
                    runs[mode].append({"available": False, "reason": str(e)})
        sec = {"message_bytes": size, "messages": count}
        for mode in MODES:
            sec[mode] = m.combine(runs[mode], "cluster.bytesPerByteMean")
            sec[mode + "_bytesPerByte_rounds"] = [e.get("cluster.bytesPerByte") for e in runs[mode]]
        def get(mode, key):
            e = sec[mode]
            return e.get(key) if e.get("available") else None
        once, copy = get("once", "cluster.bytesPerByteMean"), get("copy", "cluster.bytesPerByteMean")
        sec["ratio_bytes_per_byte"] = round(once / copy, 3) if once and copy else None
        # Throughput: the median round by msgs/s (the sections above are the median round by bytes).
        speed = {mode: m.combine(runs[mode], "msgs_per_s") for mode in MODES}
        fo, fc = [speed[x].get("msgs_per_s") if speed[x].get("available") else None for x in ("once", "copy")]
        sec["msgs_per_s_rounds"] = {mode: [e.get("msgs_per_s") for e in runs[mode]] for mode in MODES}
        sec["msgs_per_s_median"] = {"copy": fc, "once": fo}
        sec["ratio_msgs_per_s"] = round(fo / fc, 3) if fo and fc else None
        res["sizes"][str(size)] = sec
    bench.results["clusterbytes"] = res


def report_rows(res, m, r):
    """Rows for bench.py's table (copy in the first column, once in the second)."""
    rows = []
    if not res:
        return rows
    for size, sec in res["sizes"].items():
        label = "%d KB" % (int(size) // 1024)
        rows.append(("3-node cluster %s: bytes written per byte of mail, mean per node (copy | once)" % label,
                     m.side(sec, "copy", "cluster.bytesPerByteMean"), m.side(sec, "once", "cluster.bytesPerByteMean"),
                     r(sec.get("ratio_bytes_per_byte")), "lower"))
        med = sec.get("msgs_per_s_median") or {}
        rows.append(("3-node cluster %s: msgs/s, median round (copy | once)" % label, m.fmt(med.get("copy")),
                     m.fmt(med.get("once")), r(sec.get("ratio_msgs_per_s")), "higher"))
    return rows
