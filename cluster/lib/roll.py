"""cluster/roll: a rolling SIGKILL of every node of a local cluster under retrying SMTP load, with
delivery checked end to end at a receiver of our own.

Starts a small SMTP receiver, a cluster (cluster/up, or with --base its own configs mirroring
cluster/up on other loopback addresses), K retrying submission clients (587, STARTTLS + AUTH),
then kills each node in turn (cluster/kill, wait, cluster/restart, wait for /health). When the load
ends it waits for every acknowledged message to arrive and reports acknowledged / delivered / lost /
duplicated / stuck messages, body mismatches, the drain time and, per kill, how long the messages
the dead node held under lease took to be delivered anyway. The last stdout line is a JSON object.
Exit status: 0 when nothing was lost, stuck, altered or late; 1 otherwise; 2 on a harness error.
Everything it starts (receiver, nodes, directory) is stopped and removed on every exit path.
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import re
import signal
import smtplib
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid

CLUSTER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOMAINS = [f"roll{i}.test" for i in range(6)]


def log(msg):
    print(f"[roll {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def split_message(data):
    """(X-Roll-Id or None, body bytes after the first blank line)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return None, b""
    rid = None
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"x-roll-id:"):
            rid = line.split(b":", 1)[1].strip().decode("ascii", "replace")
    return rid, body


def trace_id(data):
    """The queue ID in Sendarix's Received: header ("id QUEUEID"), or None."""
    m = re.search(rb"\r\n\s+id ([0-9A-Za-z]+)", data.partition(b"\r\n\r\n")[0])
    return m.group(1).decode() if m else None


def sha(b):
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------------------------------------
# Receiver


class Receiver:
    """A minimal SMTP server (no TLS, no extensions) recording every message by X-Roll-Id.

    `fault` injects receiver faults to show the checker can fail: ("drop", n) answers 250 but
    forgets every n-th message; ("corrupt", n) records a wrong body hash for every n-th;
    ("dup", n) records every n-th message twice; ("defer", n) answers 451 to every message of one
    X-Roll-Id in n (by its hash), so those stay queued."""

    def __init__(self, host, fault=None):
        self.lock = threading.Lock()
        self.arrivals = {}  # rid -> [(time, body sha256, queue ID)]
        self.messages = 0
        self.resets = 0
        self.without_id = 0
        self.fault = fault
        receiver = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 120

            def handle(self):
                try:
                    self.session()
                except OSError:  # a node killed mid-session
                    with receiver.lock:
                        receiver.resets += 1

            def session(self):
                w = self.wfile
                w.write(b"220 receiver.test ESMTP roll\r\n")
                while True:
                    line = self.rfile.readline(4096)
                    if not line:
                        return
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        w.write(b"250-receiver.test\r\n250 SIZE 104857600\r\n")
                    elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                        w.write(b"250 2.0.0 ok\r\n")
                    elif verb == b"DATA":
                        w.write(b"354 go ahead\r\n")
                        w.flush()
                        lines = []
                        while True:
                            l = self.rfile.readline(1 << 20)
                            if not l:
                                return
                            if l == b".\r\n":
                                break
                            lines.append(l[1:] if l.startswith(b".") else l)
                        if receiver.record(b"".join(lines)):
                            w.write(b"250 2.0.0 stored\r\n")
                        else:
                            w.write(b"451 4.3.0 try again later\r\n")
                    elif verb == b"QUIT":
                        w.write(b"221 2.0.0 bye\r\n")
                        w.flush()
                        return
                    else:
                        w.write(b"502 5.5.2 not implemented\r\n")
                    w.flush()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            # socketserver's default backlog is 5: when every node opens its delivery connections at
            # once the accept queue overflows, the kernel drops the handshake's last ACK, and a node
            # may wait out its 5-minute greeting timeout on a connection the receiver never accepted.
            request_queue_size = 1024

        self.server = Server((host, 0), Handler)
        self.address = f"{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def record(self, data):
        """Records a message; False: answer 451 (the defer fault)."""
        now = time.time()
        rid, body = split_message(data)
        h, qid = sha(body), trace_id(data)
        if self.fault and self.fault[0] == "defer" and rid and int(sha(rid.encode()), 16) % self.fault[1] == 0:
            return False
        with self.lock:
            self.messages += 1
            n = self.messages
            if rid is None:
                self.without_id += 1
                return True
            times = 1
            if self.fault:
                kind, every = self.fault
                if n % every == 0:
                    if kind == "drop":
                        return True
                    if kind == "corrupt":
                        h = sha(body + b"corrupted")
                    if kind == "dup":
                        times = 2
            for _ in range(times):
                self.arrivals.setdefault(rid, []).append((now, h, qid))
        return True

    def snapshot(self):
        with self.lock:
            return {k: list(v) for k, v in self.arrivals.items()}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------------------------
# Cluster


class Cluster:
    """The nodes, driven through the cluster/ scripts with a private SENDARIX_CLUSTER_DIR."""

    def __init__(self, directory, n, base, token):
        self.dir, self.n, self.base, self.token = directory, n, base, token
        self.env = dict(os.environ, SENDARIX_CLUSTER_DIR=directory, SENDARIX_ADMIN_TOKEN=token)
        self.ids = [f"n{i}" for i in range(1, n + 1)]
        self.ip = {f"n{i}": f"{base}{i}" for i in range(1, n + 1)}
        self.listen = {}
        self.started = False

    def script(self, *args, timeout=120):
        r = subprocess.run([os.path.join(CLUSTER, args[0]), *args[1:]], env=self.env, timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"cluster/{' '.join(args)} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
        return r.stdout

    def up(self, overlay):
        os.makedirs(self.dir, exist_ok=True)
        path = os.path.join(self.dir, "overlay.json")
        json.dump(overlay, open(path, "w"), indent=2)
        self.started = True
        if self.base == "127.0.0.":
            self.script("up", str(self.n), "--overlay", path, timeout=300)
        else:
            self.write_configs(overlay)
            for i in self.ids:
                self.script("restart", i, timeout=120)
        self.read_listen()

    def write_configs(self, overlay):
        """cluster/up's configs, on base+1 … base+N instead of 127.0.0.1 … 127.0.0.N."""
        key = os.path.join(self.dir, "cluster.key")
        if not os.path.exists(key):
            open(key, "w").write(os.urandom(32).hex())

        def merge(a, b):
            for k, v in b.items():
                a[k] = merge(a[k], v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
            return a

        for nid in self.ids:
            ip = self.ip[nid]
            d = os.path.join(self.dir, nid)
            os.makedirs(os.path.join(d, "data"), exist_ok=True)
            cfg = {
                "node": {"id": nid, "region": "default", "hostname": f"{nid}.relay.test", "dataDir": os.path.join(d, "data")},
                "listen": {"submission": [f"{ip}:587"], "smtps": [f"{ip}:465"], "relay": [f"{ip}:25"],
                           "admin": f"{ip}:8025", "dns": [f"{ip}:53"], "peer": f"{ip}:7700"},
                "cluster": {"peers": [{"id": p, "address": f"{self.ip[p]}:7700", "region": "default"}
                                      for p in self.ids if p != nid],
                            "secretFile": key},
                "adminToken": self.token,
                "dns": {"zone": "relay.test", "ingressName": "smtp.relay.test", "ttl": 60},
                "policy": {"localDomains": ["relay.test"], "trustedNetworks": []},
            }
            merge(cfg, json.loads(json.dumps(overlay)))
            json.dump(cfg, open(os.path.join(d, "sendarix.json"), "w"), indent=2)

    def read_listen(self):
        for nid in self.ids:
            self.listen[nid] = json.load(open(os.path.join(self.dir, nid, "data", "listen.json")))

    def submission(self, nid):
        host, _, port = self.listen[nid]["submission"][0].rpartition(":")
        return host, int(port)

    def admin(self, nid, path, raw=False, timeout=5):
        """(status, parsed JSON or bytes) of an admin GET; raises on connection errors."""
        host, _, port = self.listen[nid]["admin"].rpartition(":")
        c = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            c.request("GET", path, headers={"Authorization": "Bearer " + self.token})
            r = c.getresponse()
            data = r.read()
            if raw or r.status != 200:
                return r.status, data
            return r.status, json.loads(data)
        finally:
            c.close()

    def healthy(self, nid):
        try:
            status, h = self.admin(nid, "/health", timeout=2)
        except (OSError, http.client.HTTPException, ValueError):
            return False
        return status == 200 and h.get("status") == "ok" and h.get("advertised", True) \
            and bool(h.get("raft", {}).get("leader"))

    def wait_healthy(self, nids, seconds):
        end = time.time() + seconds
        while time.time() < end:
            if all(self.healthy(n) for n in nids):
                return True
            time.sleep(0.1)
        return False

    def queue(self, nid):
        """Every queue entry of a node (paged)."""
        out, after = [], None
        while True:
            path = "/v1/queue?limit=10000" + (f"&after={after}" if after else "")
            status, page = self.admin(nid, path, timeout=15)
            if status != 200:
                raise RuntimeError(f"{nid} {path}: {status}")
            msgs = page.get("messages", [])
            out.extend(msgs)
            if len(msgs) < 10000:
                return out
            after = msgs[-1]["queueId"]

    def down(self, purge):
        if self.started:
            try:
                self.script("down", *(["--purge"] if purge else []), timeout=200)
            except Exception as e:  # the last resort: kill what the pid files name
                log(f"cluster/down failed: {e}")
                for nid in self.ids:
                    try:
                        os.kill(int(open(os.path.join(self.dir, nid, "pid")).read()), signal.SIGKILL)
                    except (OSError, ValueError):
                        pass


# ---------------------------------------------------------------------------------------------
# Load


def refusal(e):
    """A short name for a failed submission attempt: "451 4.3.0" for an SMTP reply, else the exception's class."""
    if isinstance(e, smtplib.SMTPResponseException):
        text = e.smtp_error.decode("ascii", "replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        return f"{e.smtp_code} {text[:5]}"
    return type(e).__name__


class Load:
    """K threads submitting unique messages to random nodes; each message is retried (same
    X-Roll-Id, new session on any error) until it gets a 250."""

    def __init__(self, cluster, clients, user, password):
        self.cluster, self.clients, self.user, self.password = cluster, clients, user, password
        self.lock = threading.Lock()
        self.acked = {}  # rid -> {queueId, node, sha, at}
        self.sent_sha = {}  # rid -> body sha of every message attempted
        self.retries = 0
        self.gave_up = []
        self.rejected = []
        self.refusals = []  # (time, "451 4.3.0" or an exception's name) of every attempt not acknowledged
        self.stop = threading.Event()
        self.hard_stop = threading.Event()
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE
        self.threads = [threading.Thread(target=self.worker, args=(w,), daemon=True) for w in range(clients)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self, seconds):
        self.stop.set()
        end = time.time() + seconds
        for t in self.threads:
            t.join(max(0.1, end - time.time()))
        self.hard_stop.set()
        for t in self.threads:
            t.join(5)

    @staticmethod
    def message(rng, rid, domain):
        lines = []
        for i in range(rng.randint(4, 120)):
            s = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                        for _ in range(rng.randint(0, 76)))
            if rng.random() < 0.05:
                s = "." + s  # dot-stuffing on the way in and out
            lines.append(s)
        body = ("\r\n".join(lines) + "\r\n").encode()
        head = (f"From: roll@client.test\r\nTo: r@{domain}\r\nSubject: roll {rid[:8]}\r\n"
                f"Message-ID: <{rid}@client.test>\r\nX-Roll-Id: {rid}\r\n\r\n").encode()
        return head + body, sha(body)

    def session(self):
        nid = random.choice(self.cluster.ids)
        host, port = self.cluster.submission(nid)
        s = smtplib.SMTP(host, port, timeout=15)
        try:
            s.ehlo("client.test")
            s.starttls(context=self.ctx)
            s.ehlo("client.test")
            s.login(self.user, self.password)
        except BaseException:
            s.close()
            raise
        return s, nid

    def worker(self, w):
        rng = random.Random()
        s, nid, used = None, None, 0
        while not self.stop.is_set():
            rid = str(uuid.uuid4())
            domain = rng.choice(DOMAINS)
            data, h = self.message(rng, rid, domain)
            with self.lock:
                self.sent_sha[rid] = h
            while True:
                if self.hard_stop.is_set():
                    with self.lock:
                        self.gave_up.append(rid)
                    break
                try:
                    if s is None or used >= 20:
                        if s is not None:
                            try:
                                s.quit()
                            except Exception:
                                pass
                        s, used = None, 0
                        s, nid = self.session()
                    s.mail("roll@client.test")
                    code, resp = s.rcpt(f"r@{domain}")
                    if code == 250:
                        code, resp = s.data(data)
                    used += 1
                    if code == 250:
                        text = resp.decode("ascii", "replace")
                        with self.lock:
                            self.acked[rid] = {"queueId": text.split()[-1], "node": nid, "sha": h, "at": time.time()}
                        break
                    if code >= 500:
                        with self.lock:
                            self.rejected.append(f"{rid}: {code} {resp!r}")
                        s.rset()
                        break
                    with self.lock:
                        self.retries += 1
                        self.refusals.append((time.time(), f"{code} {resp.decode('ascii', 'replace')[:5]}"))
                    s.rset()
                    time.sleep(0.1)
                except Exception as e:
                    with self.lock:
                        self.retries += 1
                        self.refusals.append((time.time(), refusal(e)))
                    if s is not None:
                        try:
                            s.close()
                        except Exception:
                            pass
                    s = None
                    time.sleep(0.2)
        if s is not None:
            try:
                s.quit()
            except Exception:
                pass


# ---------------------------------------------------------------------------------------------
# Checks


class BodyCheck:
    """Queued messages fetched from every node by /v1/queue/ID/body must be identical, and their
    body part must be what the client sent."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.compared = 0
        self.mismatches = []  # descriptions
        self.stored = {}  # qid -> (rid, body sha) as stored on the nodes

    def sample(self, nids, limit):
        try:
            entries = self.cluster.queue(nids[0])
        except Exception as e:
            log(f"body check: no queue from {nids[0]}: {e}")
            return
        random.shuffle(entries)
        for e in entries[:limit]:
            qid = e["queueId"]
            hashes, stored = {}, None
            for nid in nids:
                try:
                    status, data = self.cluster.admin(nid, f"/v1/queue/{qid}/body", raw=True)
                except (OSError, http.client.HTTPException):
                    status, data = 0, b""
                if status != 200:
                    break  # delivered (or not applied yet) meanwhile: not comparable
                hashes[nid] = sha(data)
                stored = data
            else:
                self.compared += 1
                if len(set(hashes.values())) != 1:
                    self.mismatches.append(f"{qid}: stored bodies differ between nodes: {hashes}")
                rid, body = split_message(stored)
                self.stored[qid] = (rid, sha(body))

    def against_clients(self, sent_sha):
        for qid, (rid, h) in self.stored.items():
            if rid in sent_sha and sent_sha[rid] != h:
                self.mismatches.append(f"{qid} ({rid}): stored body differs from the submitted one")


def leased_by(cluster, dead, live, killed_at):
    """Queue IDs and X-Roll-Ids of messages `dead` held under an unexpired lease, seen from a live node."""
    for nid in live:
        try:
            entries = cluster.queue(nid)
        except Exception as e:
            log(f"lease sample from {nid} failed: {e}")
            continue
        out = {}
        for e in entries:
            if e.get("leaseOwner") != dead:
                continue
            qid = e["queueId"]
            try:
                status, m = cluster.admin(nid, f"/v1/queue/{qid}")
                if status != 200:
                    continue
                exp = m.get("lease", {}).get("expiresAt")
                status, data = cluster.admin(nid, f"/v1/queue/{qid}/body", raw=True)
                if status != 200:
                    continue
            except (OSError, http.client.HTTPException, ValueError):
                continue
            out[qid] = {"rid": split_message(data)[0], "expiresAt": exp}
        return out, nid
    return {}, None


def check_delivery(cluster, load, receiver, bodies, load_end, drain_limit):
    """After the load: waits up to `drain_limit` s past `load_end` for every acknowledged message
    to reach the receiver and every queue to empty, then classifies. Returns a dict: acked, got
    (the receiver's arrivals), delivered, lost, stuck (queue entries with their state), dup_ids,
    duplicates, redeliveries, resubmissions, mismatches, unknown, drain (seconds after the load of
    the last first arrival), late."""
    acked = dict(load.acked)
    deadline = load_end + drain_limit
    while time.time() < deadline:
        got = receiver.snapshot()
        if all(rid in got for rid in acked):
            try:
                queues_empty = all(cluster.admin(n, "/v1/queue?limit=1")[1].get("count") == 0 for n in cluster.ids)
            except (OSError, http.client.HTTPException, ValueError, AttributeError):
                queues_empty = False
            if queues_empty:
                break
        time.sleep(0.2)
    got = receiver.snapshot()

    # Whatever is still queued anywhere is stuck; its state from the node that holds it.
    queued = {}
    for nid in cluster.ids:
        try:
            for e in cluster.queue(nid):
                queued.setdefault(e["queueId"], nid)
        except Exception as e:
            log(f"queue of {nid}: {e}")
    bodies.sample(cluster.ids, 200)
    bodies.against_clients(load.sent_sha)
    stuck = []
    for qid, nid in sorted(queued.items()):
        info = {"queueId": qid, "node": nid}
        try:
            status, m = cluster.admin(nid, f"/v1/queue/{qid}")
            if status == 200:
                info.update({"leaseOwner": m.get("lease", {}).get("owner"),
                             "leaseExpiresAt": m.get("lease", {}).get("expiresAt"), "attempts": m.get("attempts"),
                             "nextAttemptAt": [r.get("nextAttemptAt") for r in m.get("recipients", [])],
                             "status": [r.get("status") for r in m.get("recipients", [])],
                             "lastResponse": [r.get("lastResponse") for r in m.get("recipients", []) if r.get("lastResponse")]})
            status, data = cluster.admin(nid, f"/v1/queue/{qid}/body", raw=True)
            if status == 200:
                info["rollId"] = split_message(data)[0]
        except (OSError, http.client.HTTPException, ValueError):
            pass
        stuck.append(info)
    stuck_rids = {s.get("rollId") for s in stuck}

    delivered = [rid for rid in acked if rid in got]
    lost = [rid for rid in acked if rid not in got and rid not in stuck_rids]
    dup_ids = {rid: len(v) for rid, v in got.items() if len(v) > 1}
    duplicates = sum(n - 1 for n in dup_ids.values())
    # A duplicate is a redelivery (one queue ID arrived again: an outcome that did not commit)
    # or a resubmission (the client retried after losing a 250 the cluster had committed).
    redeliveries = sum(len(v) - len({q for _, _, q in v}) for v in got.values())
    resubmissions = duplicates - redeliveries
    mismatches = list(bodies.mismatches)
    for rid, arr in got.items():
        want = load.sent_sha.get(rid)
        for _, h, _ in arr:
            if want is not None and h != want:
                mismatches.append(f"{rid}: the receiver got a body that differs from the submitted one")
                break
    unknown = [rid for rid in got if rid not in load.sent_sha]
    firsts = [got[rid][0][0] for rid in delivered]
    drain = max(0.0, max(firsts) - load_end) if firsts else 0.0
    late = [rid for rid in delivered if got[rid][0][0] - load_end > drain_limit]
    return {"acked": acked, "got": got, "delivered": delivered, "lost": lost, "stuck": stuck,
            "dup_ids": dup_ids, "duplicates": duplicates, "redeliveries": redeliveries,
            "resubmissions": resubmissions, "mismatches": mismatches, "unknown": unknown,
            "drain": drain, "late": late}


def takeover(leased, killed_at, got):
    """(seconds from `killed_at` until the last of `leased` (leased_by's answer) arrived after it,
    how many of them never arrived at all)."""
    worst, missing = 0.0, 0
    for m in leased.values():
        after = [t for t, _, _ in got.get(m["rid"], []) if t >= killed_at]
        before = [t for t, _, _ in got.get(m["rid"], []) if t < killed_at]
        if after:
            worst = max(worst, min(after) - killed_at)
        elif not before:
            missing += 1
    return worst, missing


def tear_down(load, receiver, cluster, keep, directory):
    """End of a run, on every exit path: ignores SIGTERM/SIGINT from now on, stops the load and the
    receiver, stops the nodes and removes `directory` unless `keep`."""
    signal.alarm(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if load is not None:
        load.stop.set()
        load.hard_stop.set()
    if receiver is not None:
        receiver.stop()
    cluster.down(purge=not keep)
    if keep:
        log(f"kept {directory}")
    elif os.path.isdir(directory):
        subprocess.run(["rm", "-rf", "--", directory])


def main():
    ap = argparse.ArgumentParser(prog="cluster/roll", description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--down", type=float, default=3, help="seconds a killed node stays down")
    ap.add_argument("--clients", type=int, default=8, help="retrying SMTP client threads")
    ap.add_argument("--rounds", type=int, default=1, help="times every node is killed")
    ap.add_argument("--settle", type=float, default=2, help="pause after a node is healthy again")
    ap.add_argument("--warmup", type=float, default=3, help="seconds of load before the first kill")
    ap.add_argument("--drain", type=float, default=60, help="longest wait for delivery after the load")
    ap.add_argument("--base", default="127.0.0.",
                    help="address prefix of the nodes; 127.0.0. uses cluster/up, another writes its configs")
    ap.add_argument("--receiver", help="receiver address (default: prefix + 50)")
    ap.add_argument("--dir", help="cluster directory (default: a new temporary one); removed at the end")
    ap.add_argument("--keep", action="store_true", help="keep the cluster directory (logs) after stopping")
    ap.add_argument("--fault", help="receiver fault to prove the checks fail: drop:N, corrupt:N, dup:N or defer:N")
    ap.add_argument("--timeout", type=float, default=0, help="overall limit in seconds (default: computed)")
    a = ap.parse_args()
    if a.nodes < 3 or a.clients < 1 or a.rounds < 1 or a.down < 0:
        ap.error("need --nodes >= 3 (a majority must survive a kill), --clients >= 1, --rounds >= 1")
    if not a.base.endswith("."):
        a.base += "."
    fault = None
    if a.fault:
        kind, _, n = a.fault.partition(":")
        if kind not in ("drop", "corrupt", "dup", "defer") or not n.isdigit() or int(n) < 1:
            ap.error("--fault must be drop:N, corrupt:N, dup:N or defer:N")
        fault = (kind, int(n))
    limit = a.timeout or (120 + a.warmup + a.nodes * a.rounds * (a.down + 90 + a.settle) + a.drain + 120)

    directory = a.dir or tempfile.mkdtemp(prefix="sx-roll-")
    token = "roll-admin-" + uuid.uuid4().hex
    cluster = Cluster(directory, a.nodes, a.base, token)
    receiver = None
    load = None

    def on_signal(sig, _frame):
        raise SystemExit(f"cluster/roll: {signal.Signals(sig).name}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    def on_alarm(_sig, _frame):
        raise SystemExit(f"cluster/roll: over {limit:.0f} s, stopped")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(limit))
    try:
        receiver = Receiver(a.receiver or f"{a.base}50", fault)
        password = "roll-pass-" + uuid.uuid4().hex[:12]
        overlay = {
            "users": [{"name": "roll", "password": password, "tenant": "roll"}],
            "routes": [{"domain": d, "hosts": [receiver.address], "tls": "none"} for d in DOMAINS],
        }
        log(f"receiver on {receiver.address}; cluster of {a.nodes} on {a.base}1-{a.nodes} in {directory}")
        cluster.up(overlay)
        if not cluster.wait_healthy(cluster.ids, 60):
            raise RuntimeError("the cluster did not become healthy in 60 s")
        load = Load(cluster, a.clients, "roll", password)
        load.start()
        bodies = BodyCheck(cluster)
        time.sleep(a.warmup)
        kills = []
        for r in range(a.rounds):
            for nid in cluster.ids:
                live = [x for x in cluster.ids if x != nid]
                before = len(load.acked)
                killed_at = time.time()
                cluster.script("kill", nid)
                leased, seen_from = leased_by(cluster, nid, live, killed_at)
                log(f"round {r + 1}: killed {nid} ({before} acknowledged so far); "
                    f"{len(leased)} messages under its lease (seen from {seen_from})")
                time.sleep(a.down)
                restarted_at = time.time()
                cluster.script("restart", nid)
                if not cluster.wait_healthy(cluster.ids, 90):
                    raise RuntimeError(f"{nid} (or a peer) not healthy 90 s after its restart")
                healthy_at = time.time()
                log(f"{nid} healthy again {healthy_at - restarted_at:.1f} s after restart")
                bodies.sample(cluster.ids, 50)
                kills.append({"node": nid, "round": r + 1, "killedAt": killed_at, "leased": leased,
                              "healthySeconds": round(healthy_at - restarted_at, 2)})
                time.sleep(a.settle)
        load_end = time.time()
        load.finish(60)
        log(f"load ended: {len(load.acked)} acknowledged, {load.retries} retried attempts, "
            f"{len(load.gave_up)} unacknowledged at the end")
        bodies.sample(cluster.ids, 200)

        c = check_delivery(cluster, load, receiver, bodies, load_end, a.drain)
        acked, got, delivered, lost, stuck = c["acked"], c["got"], c["delivered"], c["lost"], c["stuck"]
        dup_ids, duplicates, redeliveries = c["dup_ids"], c["duplicates"], c["redeliveries"]
        resubmissions, mismatches, unknown, drain, late = (c["resubmissions"], c["mismatches"], c["unknown"],
                                                           c["drain"], c["late"])
        takeovers = []
        for k in kills:
            worst, missing = takeover(k["leased"], k["killedAt"], got)
            takeovers.append({"node": k["node"], "round": k["round"], "leased": len(k["leased"]),
                              "takeoverSeconds": round(worst, 2), "undelivered": missing,
                              "leasedQueueIds": sorted(k["leased"])[:20],
                              "healthySeconds": k["healthySeconds"]})
        max_takeover = max((t["takeoverSeconds"] for t in takeovers), default=0.0)
        unacked_delivered = sum(1 for rid in load.gave_up if rid in got)

        print(f"cluster/roll: {a.nodes} nodes on {a.base}x, {a.clients} clients, {a.rounds} round(s), "
              f"{a.down:g} s down per kill")
        print(f"  acknowledged {len(acked)}, delivered {len(delivered)}, lost {len(lost)}, stuck {len(stuck)}, "
              f"duplicates {duplicates} (over {len(dup_ids)} messages: {redeliveries} redeliveries of a queue ID, "
              f"{resubmissions} resubmissions), body mismatches {len(mismatches)}")
        print(f"  retried submission attempts {load.retries}, rejected {len(load.rejected)}, "
              f"unacknowledged at the end {len(load.gave_up)} ({unacked_delivered} of them delivered), "
              f"unknown arrivals {len(unknown)}, receiver messages {receiver.messages}, "
              f"receiver sessions cut by a kill {receiver.resets}")
        print(f"  drain: last message {drain:.2f} s after the end of the load; {len(late)} later than {a.drain:g} s")
        print(f"  queued bodies compared across all nodes: {bodies.compared}")
        for t in takeovers:
            print(f"  kill {t['node']} (round {t['round']}): {t['leased']} messages under its lease, all delivered "
                  f"{t['takeoverSeconds']:.2f} s after the kill ({t['undelivered']} not); healthy "
                  f"{t['healthySeconds']:.1f} s after restart")
        for rid in lost[:20]:
            print(f"  LOST {rid} {acked[rid]}")
        for s in stuck[:20]:
            print(f"  STUCK {json.dumps(s)}")
        for m in mismatches[:20]:
            print(f"  MISMATCH {m}")
        for r in load.rejected[:5]:
            print(f"  REJECTED {r}")
        ok = not lost and not stuck and not mismatches and not late and not load.rejected
        print("  result: " + ("PASS" if ok else "FAIL"))
        print(json.dumps({
            "roll.nodes": a.nodes, "roll.clients": a.clients, "roll.rounds": a.rounds, "roll.downSeconds": a.down,
            "roll.acknowledged": len(acked), "roll.delivered": len(delivered), "roll.lost": len(lost),
            "roll.duplicates": duplicates, "roll.duplicatedMessages": len(dup_ids),
            "roll.redeliveries": redeliveries, "roll.resubmissions": resubmissions, "roll.stuck": len(stuck),
            "roll.mismatches": len(mismatches), "roll.late": len(late), "roll.rejected": len(load.rejected),
            "roll.retries": load.retries, "roll.unacknowledged": len(load.gave_up),
            "roll.bodiesCompared": bodies.compared,
            "roll.maxTakeoverSeconds": max_takeover, "roll.drainSeconds": round(drain, 2),
            "roll.kills": takeovers, "roll.ok": ok,
        }), flush=True)
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
