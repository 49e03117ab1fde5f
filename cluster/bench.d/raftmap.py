"""The `raftmap` scenario of cluster/bench (issue 16: the raft log's LMDB map grows with the queue).

A 3-node Sendarix cluster (bench.py's ClusterNodes on 127.0.4.1-3, delivery off, so every message
stays queued) with `cluster.bodiesInLog` on (the default): each node's raft map holds the body of
every queued message. The raft map opens small (`cluster.raftMapSizeMB`, default here 64) so that
it must grow several times. smtp-source sends --raftmap-messages 5 KB messages (default 100,000;
--quick 20,000) to the leader in ten chunks. After each chunk the bench records, per node, the raft
map's size, pages in use and growths (`sendarix_raft_lmdb_map_*`), the spool map's, and the
chunk's accept rate. Final keys: `raftmap.acceptRatio` (rate of the last chunk / rate of the
first: does growth cost the accept rate?), `raftmap.growths` (per node, with the `raft.map_grown`
log lines), `raftmap.raftBytesPerMessage` (raft map in use per queued message).
"""
import json
import os
import time

B = __import__("__main__")


def metrics(nodes, n):
    """The node's /metrics samples without labels, as floats."""
    status, body = nodes.admin(n, "/metrics")
    out = {}
    if status != 200 or not isinstance(body, (bytes, bytearray)):
        return out
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith("#") or "{" in line:
            continue
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return out


def grown_lines(n):
    try:
        with open(n.logfile, "rb") as f:
            return [json.loads(l) for l in f.read().decode("utf-8", "replace").splitlines()
                    if '"raft.map_grown"' in l]
    except (OSError, ValueError):
        return []


def run(bench):
    a = bench.args
    total = a.raftmap_messages or (20_000 if a.quick else 100_000)
    map_mb = a.raftmap_map_mb
    chunks = 10
    per = max(1, total // chunks)
    res = {"nodes": 3, "message_bytes": 5120, "messages": per * chunks, "raftMapSizeMB": map_mb}
    d = bench.dir("raftmap")
    nodes = None
    try:
        nodes = B.ClusterNodes(d, a.sendarix_bin)
        for n in nodes.nodes:
            with open(n.config) as f:
                cfg = json.load(f)
            cfg["cluster"]["raftMapSizeMB"] = map_mb
            cfg.setdefault("limits", {})["maxConnections"] = 10000
            with open(n.config, "w") as f:
                json.dump(cfg, f, indent=2)
        nodes.start()
        leader = nodes.wait_leader(30.0)
        target = nodes.node(leader)
        B.log("raftmap: leader %s; %d chunks of %d x 5120 bytes, raft map opens at %d MiB"
              % (leader, chunks, per, map_mb))
        rows = []
        for c in range(chunks):
            ok, secs, err = B.run_smtp_source(target, a.sessions, 5120, per, d, "raftmap-%d" % c)
            if not ok:
                raise B.Unavailable("smtp-source chunk %d failed after %.1fs: %s" % (c, secs, err))
            row = {"queued": per * (c + 1), "msgs_per_s": round(per / secs, 1), "nodes": {}}
            for n in nodes.nodes:
                m = metrics(nodes, n)
                row["nodes"][n.ip] = {
                    "raftMapMB": round(m.get("sendarix_raft_lmdb_map_size_bytes", 0) / 2**20, 1),
                    "raftUsedMB": round(m.get("sendarix_raft_lmdb_map_used_bytes", 0) / 2**20, 1),
                    "raftGrown": m.get("sendarix_raft_lmdb_map_grown_total"),
                    "spoolMapMB": round(m.get("sendarix_lmdb_map_size_bytes", 0) / 2**20, 1),
                    "spoolUsedMB": round(m.get("sendarix_lmdb_map_used_bytes", 0) / 2**20, 1),
                    "queue": m.get("sendarix_queue_messages"),
                }
            rows.append(row)
            lead = row["nodes"][target.ip]
            B.log("raftmap: %d queued, %.1f msg/s; leader raft map %.0f MiB (%.0f in use, %s growths), "
                  "spool map %.0f MiB (%.0f in use)"
                  % (row["queued"], row["msgs_per_s"], lead["raftMapMB"], lead["raftUsedMB"], lead["raftGrown"],
                     lead["spoolMapMB"], lead["spoolUsedMB"]))
        res["checkpoints"] = rows
        res["growths"] = {n.ip: [{k: g.get(k) for k in ("ts", "fromMB", "toMB", "maxMB")} for g in grown_lines(n)]
                          for n in nodes.nodes}
        last = rows[-1]["nodes"]
        res["raftBytesPerMessage"] = {ip: round(v["raftUsedMB"] * 2**20 / rows[-1]["queued"])
                                      for ip, v in last.items()}
        first_rate = rows[0]["msgs_per_s"]
        res["acceptRatio"] = round(rows[-1]["msgs_per_s"] / first_rate, 3) if first_rate else None
        res["available"] = True
    except B.Unavailable as e:
        B.log("raftmap: not available: %s" % e)
        res = {"available": False, "reason": str(e)}
    finally:
        if nodes:
            nodes.stop()
    bench.results["raftmap"] = res
