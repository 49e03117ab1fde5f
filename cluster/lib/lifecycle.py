"""cluster/lifecycle: operator lifecycle steps on a local cluster under retrying SMTP load, with
delivery checked end to end at a receiver of our own (the machinery of cluster/roll).

Scenarios (--scenario):
  replace  a node's machine dies with its disk: SIGKILL it, delete its whole data directory, start
           it again under its old id and config. It must come back catching up (no votes until it
           holds what the leader committed), catch up, and count again: afterwards another node is
           SIGKILLed and the replaced node must help elect a leader.
  grow     3 -> 5 -> 3: two nodes started with `cluster.join` are added one at a time with
           `sendarix cluster add` (learner, promoted once caught up) and take load; then removed
           one at a time with `sendarix cluster remove` and stopped.
  upgrade  a rolling upgrade: the cluster starts on the old build (--old-binary, or this one
           pretending to read only format 1), then every node in turn is stopped (SIGTERM) and
           started on SENDARIX_BINARY. While any node is old every node must write format 1; once
           all are new, format 2; no node may meet an entry it cannot read.
Prints a summary and a final JSON line (keys "lifecycle.*"); exit 0 only when nothing
acknowledged was lost, stuck or altered and every membership check held; 1 otherwise; 2 on a
harness error. Everything started is stopped and removed on every exit path.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roll  # noqa: E402
from roll import BodyCheck, Cluster, Load, Receiver, check_delivery, log, tear_down  # noqa: E402

# The newest log entry format of this build (SpoolCommand.formatVersion): 2 added an outcome's
# pool, 3 binary webhook leases and results, 4 the batched postpone and webhook leases with batches,
# 5 webhook leases and results per batch record and a postpone carrying the due time seen (one
# release), 6 the batched pull forward. The upgraded cluster must end up writing it.
NEWEST_FORMAT = 6


def binary():
    b = os.environ.get("SENDARIX_BINARY")
    if not b:
        raise RuntimeError("set SENDARIX_BINARY to the sendarix binary")
    return b


class Lifecycle:
    def __init__(self, cluster, overlay):
        self.c, self.overlay = cluster, overlay
        self.checks = []  # (name, ok, detail)

    def check(self, name, ok, detail=""):
        self.checks.append((name, bool(ok), detail))
        log(f"check {name}: {'ok' if ok else 'FAILED'} {detail}")
        return ok

    def status(self, nid):
        code, st = self.c.admin(nid, "/v1/cluster/status", timeout=5)
        if code != 200:
            raise RuntimeError(f"{nid} /v1/cluster/status: {code}")
        return st

    def leader(self, among=None, seconds=60):
        """The id of the leader as seen (and agreed) by the nodes in `among`."""
        end = time.time() + seconds
        among = among or self.c.ids
        while time.time() < end:
            seen = set()
            for nid in among:
                try:
                    seen.add(self.status(nid).get("leader"))
                except Exception:
                    seen.add(None)
            if len(seen) == 1 and None not in seen:
                return seen.pop()
            time.sleep(0.2)
        raise RuntimeError(f"no agreed leader among {among} in {seconds} s")

    def operator(self, nid, *args):
        """Runs `sendarix ARGS` against `nid`'s admin API (as an operator would)."""
        url = "http://" + self.c.listen[nid]["admin"]
        r = subprocess.run([binary(), *args, "--admin", url, "--token", self.c.token], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def wait(self, what, pred, seconds):
        end = time.time() + seconds
        while time.time() < end:
            try:
                if pred():
                    return True
            except Exception:
                pass
            time.sleep(0.2)
        return False

    def pid(self, nid):
        try:
            return int(open(os.path.join(self.c.dir, nid, "pid")).read())
        except (OSError, ValueError):
            return None

    def stop_node(self, nid):
        p = self.pid(nid)
        if p is None:
            return
        os.kill(p, signal.SIGTERM)
        end = time.time() + 40
        while time.time() < end:
            try:
                os.kill(p, 0)
            except OSError:
                break
            time.sleep(0.1)
        else:
            os.kill(p, signal.SIGKILL)
        try:
            os.unlink(os.path.join(self.c.dir, nid, "pid"))
        except OSError:
            pass

    # -- replace ------------------------------------------------------------------------------

    def replace(self, victim, figures):
        c = self.c
        others = [n for n in c.ids if n != victim]
        c.script("kill", victim)
        data = os.path.join(c.dir, victim, "data")
        subprocess.run(["rm", "-rf", "--", data], check=True)
        os.makedirs(data)
        log(f"killed {victim} and deleted its data directory")
        time.sleep(1)
        # The others are paused (SIGSTOP) while the new machine starts, so that it is seen before it
        # heard from any leader: empty and catching up. Clients wait meanwhile.
        paused = [self.pid(n) for n in others]
        for p in paused:
            os.kill(p, signal.SIGSTOP)
        try:
            started = time.time()
            c.script("restart", victim)
            c.read_listen()
            first = self.status(victim)
        finally:
            for p in paused:
                os.kill(p, signal.SIGCONT)
        self.check("replaced node starts empty and catching up", first.get("lastIndex") == 0 and first.get("catchingUp") is True,
                   f"lastIndex {first.get('lastIndex')}, catchingUp {first.get('catchingUp')}")
        ldr = self.leader(others)
        target = self.status(ldr)["commit"]

        def caught_up():
            st = self.status(victim)
            return not st.get("catchingUp") and st["applied"] >= target
        ok = self.wait("catch-up", caught_up, 120)
        figures["catchUpSeconds"] = round(time.time() - started, 2)
        figures["leaderCommitAtRestart"] = target
        self.check("replaced node caught up (applied >= the leader's commit at its restart, no longer catching up)", ok,
                   f"{figures['catchUpSeconds']} s")
        nodelog = open(os.path.join(c.dir, victim, "node.log"), errors="replace").read()
        self.check("replaced node logged that it caught up and votes again", "voting again" in nodelog)
        st = self.status(self.leader())
        figures["votersAfterReplace"] = st["voters"]
        self.check("voters unchanged after the replacement", sorted(st["voters"]) == sorted(c.ids) and not st["learners"],
                   f"voters {st['voters']} learners {st['learners']}")
        self.check("every node healthy", c.wait_healthy(c.ids, 60))
        # The replaced node counts again: SIGKILL the current leader (not the victim) and the two
        # left — the replaced node one of them — must elect a leader.
        ldr = self.leader()
        second = ldr if ldr != victim else others[0]
        rest = [n for n in c.ids if n != second]
        term0 = max(self.status(n)["term"] for n in rest)
        killed = time.time()
        c.script("kill", second)

        def elected():
            sts = [self.status(n) for n in rest]
            lead = {st.get("leader") for st in sts}
            # A new term when the leader was killed: the two left, one of them the replaced node, voted.
            return len(lead) == 1 and lead <= set(rest) and (ldr == victim or min(st["term"] for st in sts) > term0)
        ok = self.wait("election", elected, 60)
        figures["electionAfterSecondKillSeconds"] = round(time.time() - killed, 2)
        figures["secondKill"] = {"killed": second, "leaderBefore": ldr, "termBefore": term0,
                                 "leaderAfter": self.status(rest[0]).get("leader"), "termAfter": self.status(rest[0])["term"]}
        self.check("with another node killed, the replaced node and the last one keep a leader (a new one, in a new "
                   "term, if the leader was killed)", ok, f"{figures['secondKill']} in {figures['electionAfterSecondKillSeconds']} s")
        c.script("restart", second)
        c.read_listen()
        self.check("every node healthy after the second kill", c.wait_healthy(c.ids, 90))

    # -- rolling upgrade ----------------------------------------------------------------------

    def formats(self, nids):
        out = {}
        for nid in nids:
            try:
                out[nid] = self.status(nid).get("entryFormat")
            except Exception:
                out[nid] = None
        return out

    def upgrade(self, new_env, figures):
        """Restarts every node in turn (graceful SIGTERM, cluster/restart) on the new build."""
        c = self.c
        start = self.formats(c.ids)
        figures["entryFormatBefore"] = start
        # A build before versioned formats reports no entryFormat: it writes version 1.
        self.check("the old cluster writes format 1", all(v in (1, None) for v in start.values()), f"{start}")
        seen = []
        for i, nid in enumerate(c.ids):
            c.env = new_env
            t0 = time.time()
            c.script("restart", nid)
            c.read_listen()
            ok = c.wait_healthy(c.ids, 90)
            figures[f"upgrade.{nid}.healthySeconds"] = round(time.time() - t0, 2)
            self.check(f"{nid} upgraded and every node healthy", ok, f"{figures[f'upgrade.{nid}.healthySeconds']} s")
            time.sleep(1)
            f = self.formats(c.ids)
            seen.append(f)
            if i < len(c.ids) - 1:
                self.check(f"mixed cluster after upgrading {nid} still writes format 1 everywhere",
                           all(v in (1, None) for v in f.values()) and f[nid] == 1, f"{f}")
        ok = self.wait(f"format {NEWEST_FORMAT}",
                       lambda: all(v == NEWEST_FORMAT for v in self.formats(c.ids).values()), 30)
        figures["entryFormatAfter"] = self.formats(c.ids)
        self.check(f"once every node runs the new build, every node writes format {NEWEST_FORMAT}", ok,
                   f"{figures['entryFormatAfter']}")
        figures["entryFormatDuring"] = seen
        # Version 2 or later in use: deliveries from now on record their pool ("default") on every node.
        upgraded_at = time.time()

        def pooled():
            got = []
            for nid in c.ids:
                code, page = c.admin(nid, "/v1/events?type=delivered&limit=200", timeout=10)
                evs = page.get("events", []) if code == 200 else []
                got.append(sum(1 for e in evs if e.get("pool")))
            figures["deliveredEventsWithPool"] = dict(zip(c.ids, got))
            return all(n > 0 for n in got)
        ok = self.wait("pooled events", pooled, 30)
        self.check("after the upgrade, delivery outcomes carry their pool (format 2) on every node", ok,
                   f"{figures.get('deliveredEventsWithPool')} {time.time() - upgraded_at:.1f} s after")

    def format_errors(self):
        """Lines of every node's log where a node met a log entry format it does not read."""
        bad = []
        for nid in os.listdir(self.c.dir):
            path = os.path.join(self.c.dir, nid, "node.log")
            if os.path.exists(path):
                for line in open(path, errors="replace"):
                    if "format version" in line and ("newer than this build" in line or "not one this build reads" in line):
                        bad.append(f"{nid}: {line.strip()[:300]}")
        return bad

    # -- grow / shrink ------------------------------------------------------------------------

    def node_config(self, nid, ip, peers):
        base = json.load(open(os.path.join(self.c.dir, self.c.ids[0], "sendarix.json")))
        old_ip = self.c.ip[self.c.ids[0]]
        cfg = json.loads(json.dumps(base).replace(old_ip + ":", ip + ":"))
        d = os.path.join(self.c.dir, nid)
        os.makedirs(os.path.join(d, "data"), exist_ok=True)
        cfg["node"]["id"] = nid
        cfg["node"]["hostname"] = f"{nid}.relay.test"
        cfg["node"]["dataDir"] = os.path.join(d, "data")
        cfg["cluster"]["peers"] = [{"id": p, "address": f"{self.c.ip[p]}:7700", "region": "default"} for p in peers]
        cfg["cluster"]["join"] = True
        json.dump(cfg, open(os.path.join(d, "sendarix.json"), "w"), indent=2)

    def grow(self, new_ids, figures):
        c = self.c
        for nid in new_ids:
            ip = c.base + nid[1:]
            members = list(c.ids)
            c.ip[nid] = ip
            self.node_config(nid, ip, members)
            c.script("restart", nid)
            c.listen[nid] = json.load(open(os.path.join(c.dir, nid, "data", "listen.json")))
            t0 = time.time()
            ldr = self.leader(members)
            rc, out = self.operator(ldr, "cluster", "add", nid, f"{ip}:7700")
            self.check(f"cluster add {nid} accepted by the leader {ldr}", rc == 0, out.strip()[-300:])
            ok = self.wait("promotion", lambda: nid in self.status(self.leader(members))["voters"], 120)
            figures[f"promote.{nid}.seconds"] = round(time.time() - t0, 2)
            self.check(f"{nid} promoted to voter", ok, f"{figures[f'promote.{nid}.seconds']} s")
            c.ids.append(nid)  # the load now submits to it too
            self.check(f"{nid} healthy", c.wait_healthy([nid], 60))
        st = self.status(self.leader())
        figures["votersGrown"] = st["voters"]
        self.check("five voters", sorted(st["voters"]) == sorted(c.ids) and len(st["voters"]) == len(c.ids),
                   f"{st['voters']}")

    def shrink(self, gone_ids, figures):
        c = self.c
        for nid in gone_ids:
            # Stop submitting to it first: clients move to another node when they open their next
            # session (every 20 messages), so its sessions are gone before it is stopped and drains.
            c.ids.remove(nid)
            time.sleep(3)
            t0 = time.time()
            ldr = self.leader(c.ids + [nid])
            rc, out = self.operator(ldr, "cluster", "remove", nid)
            self.check(f"cluster remove {nid} accepted by {ldr}", rc == 0, out.strip()[-300:])
            ok = self.wait("removal", lambda: nid not in self.status(self.leader(c.ids))["voters"], 60)
            figures[f"remove.{nid}.seconds"] = round(time.time() - t0, 2)
            self.check(f"{nid} no longer a member", ok)
            t1 = time.time()
            self.stop_node(nid)
            figures[f"stop.{nid}.seconds"] = round(time.time() - t1, 2)
        st = self.status(self.leader())
        figures["votersShrunk"] = st["voters"]
        self.check("back to three voters", sorted(st["voters"]) == sorted(c.ids) and not st["learners"],
                   f"voters {st['voters']} learners {st['learners']}")
        self.check("every remaining node healthy", c.wait_healthy(c.ids, 60))


def main():
    ap = argparse.ArgumentParser(prog="cluster/lifecycle", description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", choices=["replace", "grow", "upgrade"], required=True)
    ap.add_argument("--old-binary", help="upgrade: the build the cluster starts on (default: SENDARIX_BINARY "
                    "pretending to be a format-1 release through SENDARIX_TEST_FORMAT_VERSION=1)")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--settle", type=float, default=3, help="seconds of load after the last step")
    ap.add_argument("--drain", type=float, default=60)
    ap.add_argument("--base", default="127.62.0.", help="address prefix of the nodes (nodes on .1-.5)")
    ap.add_argument("--victim", default="n3", help="replace: the node whose disk is lost")
    ap.add_argument("--dir")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--timeout", type=float, default=900)
    a = ap.parse_args()
    if not a.base.endswith("."):
        a.base += "."
    directory = a.dir or tempfile.mkdtemp(prefix="sx-lifecycle-")
    token = "lifecycle-admin-" + uuid.uuid4().hex
    cluster = Cluster(directory, 3, a.base, token)
    receiver = load = None

    def on_signal(sig, _frame):
        raise SystemExit(f"cluster/lifecycle: {signal.Signals(sig).name}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(SystemExit("cluster/lifecycle: timed out")))
    signal.alarm(int(a.timeout))
    try:
        receiver = Receiver(f"{a.base}50")
        password = "lc-pass-" + uuid.uuid4().hex[:12]
        overlay = {"users": [{"name": "roll", "password": password, "tenant": "roll"}],
                   "routes": [{"domain": d, "hosts": [receiver.address], "tls": "none"} for d in roll.DOMAINS]}
        log(f"receiver on {receiver.address}; cluster of 3 on {a.base}1-3 in {directory}")
        new_env = dict(cluster.env)
        new_env.pop("SENDARIX_TEST_FORMAT_VERSION", None)
        if a.scenario == "upgrade":
            if a.old_binary:
                cluster.env = dict(new_env, SENDARIX_BINARY=os.path.abspath(a.old_binary))
            else:
                cluster.env = dict(new_env, SENDARIX_TEST_FORMAT_VERSION="1")
        cluster.up(overlay)
        if not cluster.wait_healthy(cluster.ids, 60):
            raise RuntimeError("the cluster did not become healthy in 60 s")
        lc = Lifecycle(cluster, overlay)
        load = Load(cluster, a.clients, "roll", password)
        load.start()
        bodies = BodyCheck(cluster)
        time.sleep(a.warmup)
        figures = {}
        if a.scenario == "replace":
            lc.replace(a.victim, figures)
        elif a.scenario == "upgrade":
            lc.upgrade(new_env, figures)
        else:
            lc.grow(["n4", "n5"], figures)
            time.sleep(a.settle)
            figures["acknowledgedWithFive"] = len(load.acked)
            lc.shrink(["n5", "n4"], figures)
        time.sleep(a.settle)
        load_end = time.time()
        load.finish(60)
        r = check_delivery(cluster, load, receiver, bodies, load_end, a.drain)
        ok_mail = not r["lost"] and not r["stuck"] and not r["mismatches"] and not load.rejected
        lc.check("nothing acknowledged lost, stuck or altered", ok_mail,
                 f"acknowledged {len(r['acked'])}, delivered {len(r['delivered'])}, lost {len(r['lost'])}, "
                 f"stuck {len(r['stuck'])}, mismatches {len(r['mismatches'])}")
        errors = lc.format_errors()
        lc.check("no node met a log entry it could not read", not errors, "; ".join(errors[:3]))
        ok = all(ok for _, ok, _ in lc.checks)
        print(f"cluster/lifecycle {a.scenario}: {a.clients} clients on {a.base}x")
        print(f"  acknowledged {len(r['acked'])}, delivered {len(r['delivered'])}, lost {len(r['lost'])}, "
              f"stuck {len(r['stuck'])}, duplicates {r['duplicates']}, body mismatches {len(r['mismatches'])}, "
              f"retried attempts {load.retries}, rejected {len(load.rejected)}")
        for name, good, detail in lc.checks:
            print(f"  {'ok  ' if good else 'FAIL'} {name} {detail}")
        print("  result: " + ("PASS" if ok else "FAIL"))
        out = {"lifecycle.scenario": a.scenario, "lifecycle.acknowledged": len(r["acked"]),
               "lifecycle.delivered": len(r["delivered"]), "lifecycle.lost": len(r["lost"]),
               "lifecycle.stuck": len(r["stuck"]), "lifecycle.duplicates": r["duplicates"],
               "lifecycle.mismatches": len(r["mismatches"]), "lifecycle.rejected": len(load.rejected),
               "lifecycle.retries": load.retries, "lifecycle.checksFailed": [n for n, g, _ in lc.checks if not g],
               "lifecycle.ok": ok}
        out.update({"lifecycle." + k: v for k, v in figures.items()})
        print(json.dumps(out), flush=True)
        return 0 if ok else 1
    except SystemExit as e:
        log(str(e.code))
        return 2
    except Exception as e:
        log(f"error: {e!r}")
        return 2
    finally:
        tear_down(load, receiver, cluster, a.keep, directory)


if __name__ == "__main__":
    sys.exit(main())
