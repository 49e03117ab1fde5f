"""The `sessions` scenario of cluster/bench (issue 16, items 3 and 6): many idle TLS submission
sessions held open on one Sendarix node.

One node listens on 127.64.0.1 (implicit-TLS submission, the relay port for the load, admin) and
relays to smtp-sink on 127.64.0.3. Idle-session clients are separate Python processes (asyncio,
--session-clients of them) that open sessions over implicit TLS, EHLO, AUTH PLAIN (235), and then
stay silent; their source addresses are spread over 127.64.1.1 upwards, 50 sessions per address, so
neither the per-IP connection limit (raised to 100 in the bench config anyway) nor the ephemeral
ports of one address bind. The session count grows in steps, 0 -> 100 -> 1,000 -> 10,000; at each
step:
  - RSS (VmRSS) and heap (RssAnon) of the node, settled;
  - idle CPU: the node's CPU seconds over --idle-seconds with nothing but the idle sessions;
  - load: smtp-source (20 sessions, N x 5 KB) on the relay port with a prober alongside (one
    message at a time, end of DATA -> 250), waiting until the sink has every message; CPU seconds,
    bytes written (by the device of the data directory, a loop ext4 of its own, counted as
    relaybytes does; not /proc/PID/io write_bytes, which charges whole large folios: see
    write_diagnostics) and fsync-family system calls (perf stat on the syscalls tracepoints, when
    perf can attach) per message.
After the top step every idle session is closed and the 0-session load round runs again (the
machine is shared: load drifts). Headlines: sessions.p99Ratio = prober p99 at the top step / the
mean of the two 0-session rounds (and p50Ratio, acceptRateRatio), per session memory = RSS growth
while opening sessions / sessions opened, idle CPU percent at the top step, and
a costTable of rows {scenario: "sessions", sessions, cpuPerMsg, bytesPerMsg, pageCacheDirtiedPerMsg, fsyncsPerMsg, rssMB}.
Also checks the node stayed healthy: sessions the node reports open (sendarix_connections_open), no
"accept paused" (descriptor exhaustion) in its log, GET /health answering.

The module is also the idle-session client: `python3 sessions_bench.py client HOST PORT USER PASS
INDEX STRIDE` reads `open N` lines on stdin and answers one JSON line per command.
"""
import asyncio
import base64
import json
import os
import resource
import signal
import ssl
import subprocess
import sys
import threading
import time

IP = "127.64.0.1"
SINK_IP = "127.64.0.3"
SESSIONS_PER_SOURCE = 50
USER, PASSWORD = "idle", "idle-sessions-bench-password"
STEPS = (0, 100, 1000, 10000)


def source_ip(g):
    """Source address of global session index g: 50 per address from 127.64.1.1 upwards."""
    k = g // SESSIONS_PER_SOURCE
    return "127.64.%d.%d" % (1 + k // 250, 1 + k % 250)


# --------------------------------------------------------------------------------------------
# Idle-session client (runs as its own process)


async def client_main(host, port, user, password, index, stride):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    auth = base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()
    sessions = []
    next_global = index
    gate = asyncio.Semaphore(64)  # handshakes in flight per client process

    async def reply(reader):
        while True:
            line = await reader.readline()
            if not line:
                raise ConnectionError("closed by server")
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3])

    async def one(g):
        async with gate:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                host, port, ssl=ctx, server_hostname="bench.test", local_addr=(source_ip(g), 0)), 60)
            try:
                if await asyncio.wait_for(reply(reader), 60) != 220:
                    raise ConnectionError("no 220 greeting")
                writer.write(b"EHLO idle%d.bench.test\r\n" % g)
                if await asyncio.wait_for(reply(reader), 60) != 250:
                    raise ConnectionError("EHLO refused")
                writer.write(("AUTH PLAIN %s\r\n" % auth).encode())
                code = await asyncio.wait_for(reply(reader), 60)
                if code != 235:
                    raise ConnectionError("AUTH -> %d" % code)
            except BaseException:
                writer.close()
                raise
            return reader, writer

    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.strip() == "quit":
            break
        n = int(line.split()[1])
        ids = [next_global + i * stride for i in range(n)]
        next_global += n * stride
        t0 = time.monotonic()
        results = await asyncio.gather(*[one(g) for g in ids], return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        sessions += [r for r in results if not isinstance(r, BaseException)]
        # A session the server closed (timeout, error) shows as EOF: count the live ones.
        live = sum(1 for r, _ in sessions if not r.at_eof())
        print(json.dumps({"open": len(sessions), "live": live, "errors": len(errors),
                          "firstError": repr(errors[0]) if errors else None,
                          "seconds": round(time.monotonic() - t0, 2)}), flush=True)
    for _, w in sessions:
        w.close()


# --------------------------------------------------------------------------------------------
# Scenario


def raise_nofile(want):
    """Raises this process's descriptor limit (children inherit it): the soft limit to `want`, and
    the hard limit too when allowed (root). Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Node:
    """One Sendarix node for this scenario (own config; ports from dataDir/listen.json)."""

    def __init__(self, b, d, binary, cert, key, sink, max_sessions, ip=IP):
        self.b, self.d = b, d
        self.data = os.path.join(d, "data")
        os.makedirs(self.data, exist_ok=True)  # may be the loop filesystem's mount point (run)
        self.logfile = os.path.join(d, "sendarix.log")
        self.config = os.path.join(d, "sendarix.json")
        cfg = {
            "node": {"id": "sess1", "hostname": "bench.sendarix.test", "dataDir": self.data},
            "listen": {"submission": [], "smtps": [ip + ":0"], "relay": [ip + ":0"], "admin": ip + ":0"},
            "tls": {"certificate": cert, "privateKey": key},
            "users": [{"name": USER, "password": PASSWORD, "tenant": "bench"}],
            # Only the load generator relays without AUTH (it connects from 127.0.0.1, the source the
            # kernel picks on lo); the idle clients, from 127.64.1.1 upwards, authenticate.
            "policy": {"trustedNetworks": ["127.0.0.1/32", "127.64.0.0/24"], "localDomains": ["example.test"],
                       "maxConnectionsPerIP": 2 * SESSIONS_PER_SOURCE},
            "limits": {"maxConnections": max_sessions + 1000},
            # Idle sessions must outlive the run (the default command timeout would close them).
            "timeouts": {"command": 3600},
            "routes": [{"domain": "example.test", "hosts": ["%s:%d" % (sink.ip, sink.port)], "tls": "none"}],
            "adminToken": b.ADMIN_TOKEN,
        }
        with open(self.config, "w") as f:
            json.dump(cfg, f, indent=2)
        self.proc = b.PROCS.spawn("sendarix", [binary, "serve", "--config", self.config],
                                  stdout=self.logfile, stderr=self.logfile)
        deadline = time.monotonic() + 60
        path = os.path.join(self.data, "listen.json")
        while not os.path.exists(path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise b.Unavailable("sendarix did not start: %s" % b.file_tail(self.logfile, 600))
            time.sleep(0.05)
        ports = json.load(open(path))
        self.smtps = ports["smtps"][0].rsplit(":", 1)
        self.ip, self.port = ports["relay"][0].rsplit(":", 1)[0], int(ports["relay"][0].rsplit(":", 1)[1])
        self.admin = ports["admin"]
        b.wait_smtp_ready(self.ip, self.port, 30, self.proc, what="sendarix")

    def stop(self):
        self.b.PROCS.stop(self.proc, grace=30.0)

    def cpu(self):
        return self.b.tree_cpu_seconds(self.proc.pid)

    def status_kb(self, key):
        return self.b.proc_kb(self.proc.pid, "status", key)

    def write_bytes(self):
        return self.io().get("write_bytes")

    def io(self):
        """The fields of /proc/PID/io (write_bytes, wchar, syscw, cancelled_write_bytes, ...); {} if gone."""
        out = {}
        try:
            with open("/proc/%d/io" % self.proc.pid) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    out[k.strip()] = int(v)
        except (OSError, ValueError):
            return {}
        return out

    def get(self, path):
        import http.client
        host, port = self.admin.rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            c.request("GET", path, headers={"Authorization": "Bearer " + self.b.ADMIN_TOKEN})
            r = c.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        finally:
            c.close()

    def metric(self, name):
        try:
            status, text = self.get("/metrics")
        except OSError:
            return None
        total = None
        for line in text.splitlines():
            if line.startswith(name) and (len(line) == len(name) or line[len(name)] in " {"):
                total = (total or 0) + float(line.rsplit(" ", 1)[1])
        return total


class IdleClients:
    """The idle-session client processes (see client_main)."""

    def __init__(self, b, host, port, count):
        self.b = b
        self.procs = []
        for k in range(count):
            p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "client", host, str(port),
                                  USER, PASSWORD, str(k), str(count)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 start_new_session=True)
            with b.PROCS.lock:
                b.PROCS.popens.append(("idle-clients", p))
            self.procs.append(p)

    def open(self, n):
        """Opens n more sessions spread over the processes; returns (live, errors, first error)."""
        per = [n // len(self.procs) + (1 if i < n % len(self.procs) else 0) for i in range(len(self.procs))]
        for p, k in zip(self.procs, per):
            p.stdin.write("open %d\n" % k)
            p.stdin.flush()
        live = errors = 0
        first = None
        for p in self.procs:
            line = p.stdout.readline()
            if not line:
                raise self.b.Unavailable("an idle-session client died")
            r = json.loads(line)
            live += r["live"]
            errors += r["errors"]
            first = first or r["firstError"]
        return live, errors, first

    def close(self):
        for p in self.procs:
            try:
                p.stdin.write("quit\n")
                p.stdin.flush()
            except OSError:
                pass
        for p in self.procs:
            self.b.PROCS.stop(p, grace=20.0)


def load_round(bench, b, node, sink, d, count, tag, loopfs=None):
    """smtp-source count x 5 KB on the relay port with the prober; waits for the sink. Returns the
    row's figures. bytesPerMsg is what the node's data directory's device wrote (`loopfs`, a
    relaybytes.LoopFS: counted as relaybytes does, settled and synced once before and after), or
    None without it; the process's write_bytes is kept apart as pageCacheDirtiedPerMsg (it is not a
    byte count on this kernel: see write_diagnostics)."""
    a = bench.args
    import deepqueue  # the fsync counter shared with the deep-queue benches
    fs = deepqueue.FsyncCounter(node.proc.pid, os.path.join(d, "perf-%d.txt" % time.monotonic_ns()))
    time.sleep(0.3)  # perf attaches asynchronously; nothing is measured yet
    sectors0 = loopfs.settle_once() if loopfs else None
    base = sink.received()
    cpu0, wb0 = node.cpu(), node.write_bytes()
    diag0 = write_diagnostics(node)
    prober = b.Prober(node.ip, node.port, 5120)
    prober.start()
    ok, secs, err = b.run_smtp_source(node, a.sessions, 5120, count, d, tag)
    lat = prober.finish()
    if not ok:
        fs.stop()
        raise b.Unavailable("smtp-source failed after %.1fs: %s" % (secs, err))
    want = base + count + lat["samples"]
    got, _ = sink.wait_for(want, stall_seconds=30.0, max_seconds=max(120.0, count * 0.05))
    cpu1, wb1 = node.cpu(), node.write_bytes()
    diag1 = write_diagnostics(node)
    fsyncs = fs.stop()
    sectors1 = loopfs.settle_once() if loopfs else None
    msgs = count + lat["samples"]
    return {"writes": {k: round((diag1[k] - diag0[k]) / msgs, 3) for k in diag0
                       if diag0.get(k) is not None and diag1.get(k) is not None},
            "bytesPerMsg": round((sectors1 - sectors0) * 512 / msgs) if loopfs else None,
            "bytesCounted": "device writes of the data directory's loop filesystem" if loopfs else None,
            "pageCacheDirtiedPerMsg": round((wb1 - wb0) / msgs) if wb0 is not None and wb1 is not None else None,
            "messages": msgs, "delivered": got - base, "accept_msgs_per_s": round(count / secs, 1),
            "latency": lat,
            "cpuPerMsg": round((cpu1 - cpu0) / msgs * 1000.0, 4),  # milliseconds
            "fsyncsPerMsg": round(fsyncs / msgs, 3) if fsyncs is not None else None}


def data_filesystem(b, d, count, res):
    """The node's data directory on a fresh loop ext4 filesystem (relaybytes.LoopFS), so bytes are
    counted on a device of its own; None (and res["bytesPerMsg_unavailable"]) when one cannot be
    made (not root, no losetup): bytesPerMsg is then None."""
    import relaybytes
    try:
        # Sparse; large enough that the spool's reserve (1 GiB by default) is free.
        fs = relaybytes.LoopFS(os.path.join(d, "queue.img"), os.path.join(d, "data"),
                               max(4 << 30, count * 5120 * 16 + (2 << 30)))
    except (RuntimeError, OSError) as e:
        res["bytesPerMsg_unavailable"] = "no loop filesystem: %s" % e
        return None
    b.PROCS.add_stopper(fs.stop)
    return fs


def write_diagnostics(node):
    """What the write figures are made of (per message once differenced): write_bytes, wchar and
    syscw (bytes and calls of write-family system calls, sockets included), cancelled_write_bytes,
    the spool's commits, the node's log file and the spool file's growth.

    write_bytes is not the bytes written: the kernel charges the whole page-cache folio each time a
    clean folio becomes dirty, and on this kernel (ext4 with large folios, 6.16+) the folios of a
    file that was read ahead are up to 2 MiB. LMDB's 4 KiB page writes into its map thus count
    10 KiB to 940 KiB each while the device writes 4 KiB (measured: a 4 KiB pwrite + fdatasync into
    a read-ahead file on a loop ext4 counted 940,810 write_bytes and 4,096 device bytes). The
    cost rows' bytesPerMsg therefore counts the data directory's device (load_round)."""
    io = node.io()
    out = {k: io.get(k) for k in ("write_bytes", "wchar", "syscw", "cancelled_write_bytes")}
    out["spoolCommits"] = node.metric("sendarix_spool_commit_duration_seconds_count")
    try:
        out["logFileBytes"] = os.path.getsize(node.logfile)
    except OSError:
        out["logFileBytes"] = None
    data = os.path.join(node.data, "spool", "data.mdb")
    try:
        out["spoolFileBytes"] = os.path.getsize(data)
    except OSError:
        out["spoolFileBytes"] = None
    return out


def run(bench):
    b = __import__("__main__")
    b.shutil = __import__("shutil")
    a = bench.args
    top = a.idle_sessions
    steps = [s for s in STEPS if s < top] + [top]
    count = a.session_messages
    clients_n = max(1, min(4, os.cpu_count() or 1))
    res = {"sessions": top, "steps": steps, "messages_per_step": count, "message_bytes": 5120,
           "tls": "implicit (smtps), EHLO + AUTH PLAIN, then idle",
           "sources": "127.64.1.1 upwards, %d sessions per address" % SESSIONS_PER_SOURCE,
           "maxConnectionsPerIP": 2 * SESSIONS_PER_SOURCE, "client_processes": clients_n,
           "loadavg_start": round(os.getloadavg()[0], 2)}
    nofile = raise_nofile(2 * top + 4096)
    res["nofile"] = nofile
    if "sendarix" not in bench.targets():
        res.update(available=False, reason="sendarix not among --targets")
        bench.results["sessions"] = res
        return
    d = bench.dir("sessions")
    sink = node = clients = loopfs = None
    rows, per_step = [], {}
    try:
        loopfs = data_filesystem(b, d, count, res)
        sink = b.Sink(d, "sessions-sink", SINK_IP, 2526)
        node = Node(b, d, a.sendarix_bin, bench.cert, bench.key, sink, top)
        res["node_nofile"] = _limit_of(node.proc.pid)
        clients = IdleClients(b, node.smtps[0], int(node.smtps[1]), clients_n)
        # Warm-up: one session and a few messages, so one-time initialisation (TLS, code paths,
        # allocator pools) is not charged to the first step.
        clients.open(1)
        load_round(bench, b, node, sink, d, 200, "warmup", loopfs)
        opened = 1
        for n in steps:
            entry = {"sessions": n}
            if n > opened:
                entry["rss_before_open_kb"] = b.settle(lambda: node.status_kb("VmRSS:"))
                entry["rss_anon_before_open_kb"] = node.status_kb("RssAnon:")
                b.log("sessions: opening %d more idle TLS sessions (to %d)" % (n - opened, n))
                t0 = time.monotonic()
                live, errors, first = clients.open(n - opened)
                entry["open_seconds"] = round(time.monotonic() - t0, 1)
                entry["open_errors"] = errors
                if first:
                    entry["first_error"] = first
                opened = n
                entry["client_live"] = live
            entry["rss_kb"] = b.settle(lambda: node.status_kb("VmRSS:"))
            entry["rss_anon_kb"] = node.status_kb("RssAnon:")
            entry["node_connections_open"] = node.metric("sendarix_connections_open")
            c0, t0 = node.cpu(), time.monotonic()
            time.sleep(a.idle_seconds)
            c1, t1 = node.cpu(), time.monotonic()
            entry["idle_cpu_percent"] = round((c1 - c0) / (t1 - t0) * 100.0, 2)
            b.log("sessions: %d open (node says %s), RSS %.1f MB, idle CPU %.2f %%"
                  % (n, entry["node_connections_open"], entry["rss_kb"] / 1024.0, entry["idle_cpu_percent"]))
            entry.update(load_round(bench, b, node, sink, d, count, "sessions-%d" % n, loopfs))
            entry["rss_after_load_kb"] = node.status_kb("VmRSS:")
            try:
                status, _ = node.get("/health")
                entry["health"] = status
            except OSError as e:
                entry["health"] = str(e)
            b.log("sessions: %d: accept %.1f msg/s, prober p50 %s p99 %s ms, CPU %.3f ms/msg, %s device bytes/msg "
                  "(write_bytes %s), %s fsyncs/msg"
                  % (n, entry["accept_msgs_per_s"], entry["latency"]["p50_ms"], entry["latency"]["p99_ms"],
                     entry["cpuPerMsg"], entry["bytesPerMsg"], entry["pageCacheDirtiedPerMsg"], entry["fsyncsPerMsg"]))
            per_step[n] = entry
            if n > 0:
                rows.append({"scenario": "sessions", "sessions": n, "cpuPerMsg": entry["cpuPerMsg"],
                             "bytesPerMsg": entry["bytesPerMsg"], "bytesCounted": entry["bytesCounted"],
                             "pageCacheDirtiedPerMsg": entry["pageCacheDirtiedPerMsg"],
                             "fsyncsPerMsg": entry["fsyncsPerMsg"],
                             "rssMB": round(entry["rss_kb"] / 1024.0, 1), "unit": "cpuPerMsg in ms"})
        # The machine is shared: measure the no-session baseline again after closing every idle
        # session, and compare the top step with the mean of the two baselines.
        clients.close()
        clients = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (node.metric("sendarix_connections_open") or 0) > 0:
            time.sleep(0.2)
        after = load_round(bench, b, node, sink, d, count, "sessions-0-after", loopfs)
        after["node_connections_open_before"] = node.metric("sendarix_connections_open")
        res["baseline_after"] = after
        b.log("sessions: 0 again: accept %.1f msg/s, prober p50 %s p99 %s ms"
              % (after["accept_msgs_per_s"], after["latency"]["p50_ms"], after["latency"]["p99_ms"]))
        base = dict(per_step[0])
        base["latency"] = {k: _mean(per_step[0]["latency"].get(k), after["latency"].get(k))
                           for k in ("p50_ms", "p99_ms")}
        base["accept_msgs_per_s"] = _mean(per_step[0]["accept_msgs_per_s"], after["accept_msgs_per_s"])
        hi = per_step[top]
        res["steps_detail"] = [per_step[n] for n in steps]
        res["available"] = True
        # Memory per idle session: the growth while sessions were being opened (not while the
        # load ran between steps), summed over the steps, over the sessions opened.
        grown = [(per_step[n]["rss_kb"] - per_step[n]["rss_before_open_kb"],
                  per_step[n]["rss_anon_kb"] - per_step[n]["rss_anon_before_open_kb"])
                 for n in steps if "rss_before_open_kb" in per_step[n]]
        res["rss_per_session_kb"] = round(sum(g[0] for g in grown) / (top - 1), 2)
        res["rss_anon_per_session_kb"] = round(sum(g[1] for g in grown) / (top - 1), 2)
        res["rss_total_growth_per_session_kb"] = round((hi["rss_kb"] - base["rss_kb"]) / top, 2)
        res["idle_cpu_percent"] = hi["idle_cpu_percent"]
        res["rss_per_session_kb_note"] = "growth while opening, excluding the load rounds between steps"
        res["p50_ms"] = {"0": base["latency"]["p50_ms"], str(top): hi["latency"]["p50_ms"]}
        res["p99_ms"] = {"0": base["latency"]["p99_ms"], str(top): hi["latency"]["p99_ms"]}
        res["p99Ratio"] = _r(hi["latency"]["p99_ms"], base["latency"]["p99_ms"])
        res["p50Ratio"] = _r(hi["latency"]["p50_ms"], base["latency"]["p50_ms"])
        res["acceptRateRatio"] = _r(hi["accept_msgs_per_s"], base["accept_msgs_per_s"])
        text = b.file_tail(node.logfile, 1 << 22)
        res["accept_paused_in_log"] = text.count("accept paused")
        res["emfile_in_log"] = text.count("Too many open files")
        res["costTable"] = rows
        for r in rows:
            b.log("sessions: cost row %s" % json.dumps(r, sort_keys=True))
        b.log("sessions: %d idle: %.2f KB RSS per session, idle CPU %.2f %%, p99 ratio %s, p50 ratio %s"
              % (top, res["rss_per_session_kb"], res["idle_cpu_percent"], res["p99Ratio"], res["p50Ratio"]))
    except (b.Unavailable, OSError, ValueError, KeyError) as e:
        b.log("sessions: not available: %s" % e)
        res.update(available=False, reason=str(e))
        if per_step:
            res["steps_detail"] = list(per_step.values())
    finally:
        if clients:
            clients.close()
        if node:
            node.stop()
        if sink:
            sink.stop()
        if loopfs:
            loopfs.stop()
    res["loadavg_end"] = round(os.getloadavg()[0], 2)
    bench.results["sessions"] = res
    bench.results.setdefault("costTable", {"rows": []})["rows"].extend(rows)


def _mean(x, y):
    return round((x + y) / 2.0, 3) if x is not None and y is not None else (x if y is None else y)


def _r(x, y):
    return round(x / y, 3) if x is not None and y else None


def _limit_of(pid):
    try:
        for line in open("/proc/%d/limits" % pid):
            if line.startswith("Max open files"):
                return int(line.split()[3])
    except (OSError, ValueError):
        return None
    return None


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "client":
    host, port, user, password, index, stride = sys.argv[2:8]
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(client_main(host, int(port), user, password, int(index), int(stride)))
