#!/usr/bin/python3
"""deploy/lab scenario NAME [options]: scenarios on a lab brought up with `deploy/lab up`.

  dns          every region's clients resolve the cluster hostname through the delegated zone:
               through their regional resolver (resolver-address routing) and through the ECS
               resolver (client-subnet routing); each must get exactly its own region's nodes
  partition    --region rN [--hold S]: clients in every region send with retries; region N's data
               center is cut off, then healed; prints failover time of region N's users, what the
               cut-off nodes answered, and acknowledged / lost / duplicated counts at the receiving MTA
  latency      [--duration S] [--workers W] [--current]: for each region, leadership is moved
               there (POST /v1/cluster/leader) and clients in every region send for S seconds;
               prints accept p50/p99 per client region and throughput per leader placement
               (--current: one run with the leader where it is)
  preference   --region rN: waits until the leader is in region N (start the lab with
               --preferred-region rN) and prints how long it took and how often leadership moved
  transfer     POST /v1/cluster/leader moves leadership to each node in turn (and a follower refuses)
  overhead     forwarder overhead at 0 ms: start the lab with --delay-ms 0 --jitter-ms 0
               --proxy-always; compares the same node reached from its own region (direct) and from
               another (through the forwarder)
Each prints human-readable lines and, last, one JSON line with the figures.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"


def state(args):
    st = lab.load_state(args.prefix)
    if not st:
        sys.exit(f"no lab with prefix {args.prefix} is up (deploy/lab up first)")
    return st


def dig(st, ns, server, name):
    r = subprocess.run(["ip", "netns", "exec", ns, "dig", "+short", "+time=3", "+tries=2", f"@{server}", name, "A"],
                       capture_output=True, text=True)
    return sorted(l for l in r.stdout.split() if re.match(r"^\d+\.\d+\.\d+\.\d+$", l))


def region_ips(st, r):
    return sorted(n["ip"] for n in st["nodes"].values() if n["region"] == r)


def scenario_dns(args):
    st = state(args)
    out = {"scenario": "dns", "layout": st["layout"], "resolverAddress": {}, "ecs": {}, "ok": True}
    for r in st["regions"]:
        ns = f"{st['prefix']}u{r}"
        want = region_ips(st, r)
        by_resolver = dig(st, ns, lab.resolver_of(r), st["ingress"])
        by_ecs = dig(st, ns, st["ecsResolver"], st["ingress"])
        out["resolverAddress"][f"r{r}"] = by_resolver
        out["ecs"][f"r{r}"] = by_ecs
        ok = by_resolver == want and by_ecs == want
        out["ok"] &= ok
        print(f"users of r{r}: regional resolver -> {by_resolver}, ECS resolver -> {by_ecs}, "
              f"region's nodes {want}: {'ok' if ok else 'WRONG'}")
    print(json.dumps(out))
    return 0 if out["ok"] else 1


def start_clients(st, tag, workers, duration, stop_file=None, give_up=90, pause=0.0):
    procs = []
    for r in st["regions"]:
        out = os.path.join(st["dir"], f"{tag}-u{r}.jsonl")
        cmd = ["ip", "netns", "exec", f"{st['prefix']}u{r}", PY, os.path.join(HERE, "smtpload.py"),
               "--resolver", lab.resolver_of(r), "--name", st["ingress"], "--workers", str(workers),
               "--duration", str(duration), "--give-up", str(give_up), "--tag", f"{tag}r{r}", "--out", out,
               "--pause", str(pause)]
        if stop_file:
            cmd += ["--stop-file", stop_file]
        procs.append((r, out, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    return procs


def collect(procs):
    recs = {}
    for r, out, p in procs:
        p.wait()
        recs[r] = [json.loads(l) for l in open(out)] if os.path.exists(out) else []
    return recs


def delivered_ids(st):
    ids = {}
    for f in glob.glob(os.path.join(st["dir"], "mail", "*")):
        try:
            text = open(f, errors="replace").read()
        except OSError:
            continue
        m = re.search(r"^Message-ID: <([^>]+)>", text, re.M | re.I)
        if m:
            ids[m.group(1)] = ids.get(m.group(1), 0) + 1
    return ids


def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def probe_minority(st, nid):
    """Sends one message from inside a cut-off node's own namespace to that node: the reply code."""
    n = st["nodes"][nid]
    code = ("import smtplib,sys\n"
            "try:\n"
            f" c=smtplib.SMTP('{n['ip']}',25,timeout=15); c.ehlo('probe')\n"
            " c.sendmail('p@client.lab',['sink@dest.lab'],'Message-ID: <probe@lab>\\r\\n\\r\\nx\\r\\n'); print(250)\n"
            "except smtplib.SMTPResponseException as e: print(e.smtp_code, e.smtp_error.decode(errors='replace')[:60])\n"
            "except smtplib.SMTPRecipientsRefused as e: print(list(e.recipients.values())[0][0])\n"
            "except Exception as e: print('error', type(e).__name__)\n")
    r = subprocess.run(["ip", "netns", "exec", n["ns"], PY, "-c", code], capture_output=True, text=True, timeout=60)
    return r.stdout.strip()


def explain_lost(st, ids):
    """Prints, for acknowledged messages not delivered by the deadline, each live node's cluster
    view and the events it holds for them (queue id, type, node, remote reply): late or lost can
    then be told apart before the lab is torn down."""
    print(f"cluster at the deadline: {json.dumps(lab.cluster_status(st))}")
    for mid in ids:
        seen = {}
        for nid in sorted(st["nodes"]):
            if not lab.alive(st["pids"].get(nid, -1)):
                continue
            events = []
            for form in (mid, f"<{mid}>"):  # as the header carried it, with or without brackets
                r = lab.admin(st, nid, "/v1/events?messageId=" + urllib.parse.quote(form) + "&limit=20", timeout=5)
                events += (r or {}).get("events", [])
            seen[nid] = [{k: e.get(k) for k in ("type", "queueId", "node", "timestamp", "response", "recipient")}
                         for e in events]
        print(f"lost {mid}: {json.dumps(seen)}")


def scenario_partition(args):
    st = state(args)
    cut = int(args.region.lstrip("r"))
    stop_file = os.path.join(st["dir"], "partition.stop")
    if os.path.exists(stop_file):
        os.remove(stop_file)
    for f in glob.glob(os.path.join(st["dir"], "mail", "*")):
        os.remove(f)
    procs = start_clients(st, "part", args.workers, 0, stop_file=stop_file, give_up=args.give_up, pause=args.pause)
    time.sleep(args.warmup)
    t_cut = time.time()
    lab.run("ip", "-n", f"{st['prefix']}rt", "link", "set", f"dc{cut}", "down")
    print(f"cut r{cut} at +{args.warmup:.0f}s")
    minority = sorted(nid for nid, n in st["nodes"].items() if n["region"] == cut)
    majority_has_quorum = len(minority) * 2 < len(st["nodes"])
    time.sleep(max(3.0, args.hold / 2))
    probes = {nid: probe_minority(st, nid) for nid in minority}
    print(f"cut-off nodes answered: {probes}")
    rest = args.hold - (time.time() - t_cut)
    if rest > 0:
        time.sleep(rest)
    t_heal = time.time()
    lab.run("ip", "-n", f"{st['prefix']}rt", "link", "set", f"dc{cut}", "up")
    print(f"healed r{cut} after {t_heal - t_cut:.1f}s")
    time.sleep(args.after)
    open(stop_file, "w").close()
    recs = collect(procs)
    acked = {r["id"] for rs in recs.values() for r in rs if r["acked"]}
    unacked = {r["id"] for rs in recs.values() for r in rs if not r["acked"]}
    # Failover: the longest gap between acknowledgements seen by region N's users around the cut.
    # The longest gap between two acknowledgements of region N's users from the last one before the
    # cut to the heal: how long they could not get mail accepted.
    users = sorted(r["end"] for r in recs.get(cut, []) if r["acked"])
    before_cut = [t for t in users if t <= t_cut]
    window = ([before_cut[-1]] if before_cut else [t_cut]) + [t for t in users if t_cut < t <= t_heal]
    gaps = [b - a for a, b in zip(window, window[1:])]
    failover = max(gaps) if gaps else None
    others = sorted(r["end"] for rr, rs in recs.items() if rr != cut for r in rs if r["acked"])
    during = [t for t in others if t_cut < t < t_heal]
    # Wait for the queue to drain to the MTA: until everything acknowledged was delivered, or
    # --drain seconds without a new delivery (longer than one retry interval, so mail waiting for
    # its retry still counts as late, not lost), or --drain-max seconds in all (a hang guard).
    t_drain = time.time()
    last_progress, delivered = t_drain, -1
    while True:
        got = delivered_ids(st)
        if acked <= set(got):
            break
        now = time.time()
        count = sum(got.values())
        if count > delivered:
            delivered, last_progress = count, now
        if now - last_progress >= args.drain or now - t_drain >= args.drain_max:
            break
        time.sleep(1)
    drain_seconds = time.time() - t_drain
    got = delivered_ids(st)
    lost = sorted(acked - set(got))
    dups = {k: v for k, v in got.items() if v > 1}
    result = {
        "scenario": "partition", "layout": st["layout"], "cutRegion": f"r{cut}", "holdSeconds": round(t_heal - t_cut, 1),
        "ttl": st["ttl"], "acknowledged": len(acked), "unacknowledged": len(unacked), "delivered": len(got),
        "lost": len(lost), "duplicated": len(dups), "failoverSeconds": round(failover, 2) if failover else None,
        "majorityAcceptedDuringCut": len(during), "majorityHasQuorum": majority_has_quorum,
        "minorityReplies": probes, "lostIDs": lost[:10], "drainSeconds": round(drain_seconds, 1),
    }
    print(f"acknowledged {len(acked)}, lost {len(lost)}, duplicated {len(dups)}, "
          f"r{cut} users' failover {result['failoverSeconds']} s (TTL {st['ttl']} s), "
          f"other regions acknowledged {len(during)} during the cut")
    if lost:  # before the figures: the test reads the last line as the figures
        explain_lost(st, lost[:10])
    print(json.dumps(result))
    ok = not lost and failover is not None and (not majority_has_quorum or during) and \
        all(p.startswith("4") or p.startswith("error") for p in probes.values())
    return 0 if ok else 1


def move_leader(st, target, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = lab.cluster_status(st)
        leaders = {v["leader"] for v in s.values() if v and v["leader"]}
        if leaders == {target}:
            return True
        if len(leaders) == 1:
            lab.admin(st, leaders.pop(), "/v1/cluster/leader", method="POST", body={"to": target}, timeout=10)
        time.sleep(0.5)
    return False


def load_figures(recs, seconds):
    out = {}
    total = 0
    for r, rs in sorted(recs.items()):
        lat = [x["end"] - x["t0"] for x in rs if x["acked"] and "t0" in x]
        total += len(lat)
        out[f"r{r}"] = {"acked": len(lat), "p50ms": round(pct(lat, 0.5) * 1000, 1) if lat else None,
                        "p99ms": round(pct(lat, 0.99) * 1000, 1) if lat else None}
    return out, round(total / seconds, 1)


def scenario_latency(args):
    st = state(args)
    runs = []
    placements = [None] if args.current else st["regions"]
    for r in placements:
        if r is None:  # measure where the leader is (e.g. put there by cluster.preferredLeaderRegion)
            target = lab.wait_leader(st, 30)
            r = st["nodes"][target]["region"]
        else:
            target = sorted(nid for nid, n in st["nodes"].items() if n["region"] == r)[0]
        if not move_leader(st, target):
            print(f"could not move leadership to {target}")
            continue
        time.sleep(1)
        recs = collect(start_clients(st, f"lat{r}", args.workers, args.duration))
        per, tput = load_figures(recs, args.duration)
        runs.append({"leader": target, "leaderRegion": f"r{r}", "perClientRegion": per, "messagesPerSecond": tput})
        print(f"leader {target} (r{r}): {tput} msg/s; " +
              "; ".join(f"users {k}: p50 {v['p50ms']} ms p99 {v['p99ms']} ms" for k, v in per.items()))
    load = os.getloadavg()[0]
    result = {"scenario": "latency", "layout": st["layout"], "delayMs": st["delayMs"], "jitterMs": st["jitterMs"],
              "workersPerRegion": args.workers, "seconds": args.duration, "runs": runs, "loadavg": round(load, 2)}
    if len(runs) >= 2:
        best = max(runs, key=lambda x: x["messagesPerSecond"])
        worst = min(runs, key=lambda x: x["messagesPerSecond"])
        result["bestOverWorstThroughputRatio"] = round(best["messagesPerSecond"] / max(worst["messagesPerSecond"], 0.1), 2)
    print(json.dumps(result))
    return 0 if runs else 1


def scenario_preference(args):
    st = state(args)
    want = int(args.region.lstrip("r"))
    preferred = {nid for nid, n in st["nodes"].items() if n["region"] == want}
    t0 = time.time()
    moves, last, first_in = 0, None, None
    while time.time() - t0 < args.timeout:
        s = lab.cluster_status(st)
        leaders = {v["leader"] for v in s.values() if v and v["leader"]}
        if len(leaders) == 1:
            leader = next(iter(leaders))
            if last is not None and leader != last:
                moves += 1
            last = leader
            if leader in preferred and first_in is None:
                first_in = time.time() - t0
            if first_in is not None and time.time() - t0 > first_in + args.observe:
                break
        time.sleep(0.5)
    ok = last in preferred
    result = {"scenario": "preference", "layout": st["layout"], "preferredRegion": f"r{want}", "leader": last,
              "secondsUntilPreferred": round(first_in, 1) if first_in is not None else None,
              "leaderChangesObserved": moves, "ok": ok}
    print(f"leader {last} ({'in' if ok else 'NOT in'} r{want}) after {result['secondsUntilPreferred']} s, "
          f"{moves} change(s) seen")
    print(json.dumps(result))
    return 0 if ok else 1


def scenario_transfer(args):
    """POST /v1/cluster/leader to the leader, naming each other node in turn: the answer, and how
    long until every node names the new leader. Also checks a follower refuses with 409."""
    st = state(args)
    moves, ok = [], True
    for target in sorted(st["nodes"]):
        s = lab.cluster_status(st)
        leaders = {v["leader"] for v in s.values() if v and v["leader"]}
        if len(leaders) != 1:
            ok = False
            break
        leader = leaders.pop()
        if leader == target:
            continue
        t0 = time.time()
        answer = lab.admin(st, leader, "/v1/cluster/leader", method="POST", body={"to": target}, timeout=10)
        answered = time.time() - t0
        agreed = None
        while time.time() - t0 < 10:
            s = lab.cluster_status(st)
            if all(v and v["leader"] == target for v in s.values()):
                agreed = time.time() - t0
                break
            time.sleep(0.1)
        moves.append({"from": leader, "to": target, "answer": answer, "answeredSeconds": round(answered, 2),
                      "allAgreeSeconds": round(agreed, 2) if agreed is not None else None})
        ok &= bool(answer and answer.get("ok")) and agreed is not None
        print(f"{leader} -> {target}: {answer} in {answered:.2f} s, every node agrees after {agreed} s")
    follower = next(nid for nid, v in lab.cluster_status(st).items() if v and v["role"] == "follower")
    refusal = subprocess.run(["ip", "netns", "exec", st["nodes"][follower]["ns"], "curl", "-s", "-o", "/dev/null", "-w",
                              "%{http_code}", "-m", "10", "-X", "POST", "-H", f"Authorization: Bearer {st['token']}",
                              "--data", json.dumps({"to": follower}),
                              f"http://{st['nodes'][follower]['ip']}:8025/v1/cluster/leader"],
                             capture_output=True, text=True).stdout
    ok &= refusal == "409"
    print(f"follower {follower} asked to transfer: HTTP {refusal}")
    print(json.dumps({"scenario": "transfer", "layout": st["layout"], "moves": moves, "followerAnswer": refusal, "ok": ok}))
    return 0 if ok else 1


def scenario_overhead(args):
    st = state(args)
    r_node = st["regions"][-1]
    target = sorted(nid for nid, n in st["nodes"].items() if n["region"] == r_node)[0]
    ip = st["nodes"][target]["ip"]
    out = {}
    for r in (r_node, st["regions"][0]):
        path = os.path.join(st["dir"], f"ovh-u{r}.txt")
        code = ("import socket,time\n"
                "ts=[]\n"
                "for i in range(%d):\n"
                " t=time.perf_counter(); s=socket.create_connection(('%s',25),timeout=5); s.recv(512)\n"
                " s.sendall(b'NOOP\\r\\n'); s.recv(512); ts.append(time.perf_counter()-t); s.close()\n"
                "ts.sort(); print(ts[len(ts)//2]*1000, ts[int(len(ts)*0.99)]*1000)\n") % (args.count, ip)
        res = subprocess.run(["ip", "netns", "exec", f"{st['prefix']}u{r}", PY, "-c", code], capture_output=True, text=True)
        p50, p99 = (float(x) for x in res.stdout.split())
        out["direct" if r == r_node else "forwarded"] = {"p50ms": round(p50, 3), "p99ms": round(p99, 3)}
    out["addedP50Ms"] = round(out["forwarded"]["p50ms"] - out["direct"]["p50ms"], 3)
    result = {"scenario": "overhead", "target": target, "connectGreetingNoop": out,
              "delayMs": st["delayMs"], "loadavg": round(os.getloadavg()[0], 2)}
    print(f"connect+greeting+NOOP to {target}: direct p50 {out['direct']['p50ms']} ms, through the forwarder "
          f"p50 {out['forwarded']['p50ms']} ms (+{out['addedP50Ms']} ms)")
    print(json.dumps(result))
    return 0


def main():
    ap = argparse.ArgumentParser(prog="deploy/lab scenario")
    ap.add_argument("--prefix", default=os.environ.get("SXLAB_PREFIX", "sxlab-"))
    sub = ap.add_subparsers(dest="name", required=True)
    sub.add_parser("dns")
    p = sub.add_parser("partition")
    p.add_argument("--region", default="r2")
    p.add_argument("--hold", type=float, default=20)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--after", type=float, default=5)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--pause", type=float, default=0.05)
    p.add_argument("--give-up", type=float, default=60)
    p.add_argument("--drain", type=float, default=75,
                   help="after the clients stop, wait this long without a new delivery before counting undelivered mail as lost")
    p.add_argument("--drain-max", type=float, default=180, help="the drain's limit in all")
    l = sub.add_parser("latency")
    l.add_argument("--duration", type=float, default=10)
    l.add_argument("--workers", type=int, default=4)
    l.add_argument("--current", action="store_true", help="measure with the leader where it is, do not move it")
    q = sub.add_parser("preference")
    q.add_argument("--region", required=True)
    q.add_argument("--timeout", type=float, default=60)
    q.add_argument("--observe", type=float, default=5)
    sub.add_parser("transfer")
    o = sub.add_parser("overhead")
    o.add_argument("--count", type=int, default=200)
    args = ap.parse_args()
    fn = {"dns": scenario_dns, "partition": scenario_partition, "latency": scenario_latency,
          "preference": scenario_preference, "overhead": scenario_overhead,
          "transfer": scenario_transfer}[args.name]
    sys.exit(fn(args))


if __name__ == "__main__":
    main()
