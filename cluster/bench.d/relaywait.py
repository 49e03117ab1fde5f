#!/usr/bin/env python3
"""Where a Sendarix relay run waits (issue 16 item 4): one release binary, its data on a fresh
loop filesystem (as `relaybytes`), smtp-sink, smtp-source; Sendarix only, no Postfix.

    flock /tmp/sendarix-bench.lock cluster/bench.d/relaywait.py BINARY [--size 102400]
        [--count 2500] [--sessions 20] [--perf] [--dir DIR]

Prints, for the measured relay:
  - messages per second end to end and accepted per second, CPU ms per message (user / sys);
  - per thread: CPU run time, time runnable but waiting for a CPU (schedstat), switches;
  - per thread: a sample every 4 ms of its state and system call (R running or runnable,
    S/D with the call: 75 fdatasync, 18 pwrite64 (LMDB's O_DSYNC meta page), 232 epoll_wait,
    202 futex), in percent of the samples;
  - CPU per message of smtp-source, smtp-sink and the kernel workers (loop device, writeback);
  - commits and commit seconds from /metrics; the sink's count every 0.1 s (the timeline).
With --perf, `perf record -g` of the server during the run (DIR/perf.data); `--perf-callgraph dwarf`
unwinds through libc and liblmdb (no frame pointers there), at a larger perf.data.

Traffic stays on 127.87.0.0/16. Needs root (loop device, perf). Wrap it in the bench lock.
"""

import argparse
import collections
import http.client
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as m  # noqa: E402
import relaybytes  # noqa: E402

SYSCALLS = {"7": "poll", "18": "pwrite64", "43": "accept", "75": "fdatasync", "202": "futex",
            "232": "epoll_wait", "20": "writev", "1": "write", "0": "read", "44": "sendto"}


def metrics(server):
    c = http.client.HTTPConnection(server.ip, server.admin_port, timeout=5)
    c.request("GET", "/metrics", headers={"Authorization": "Bearer " + m.ADMIN_TOKEN})
    text = c.getresponse().read().decode()
    c.close()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        k, _, v = line.rpartition(" ")
        try:
            out[k] = float(v)
        except ValueError:
            pass
    return out


def schedstat(pid):
    """{tid: (comm, run ns, runqueue wait ns, switches)}"""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            comm = open("/proc/%d/task/%s/comm" % (pid, tid)).read().strip()
            r, w, n = open("/proc/%d/task/%s/schedstat" % (pid, tid)).read().split()
            out[tid] = (comm, int(r), int(w), int(n))
        except OSError:
            pass
    return out


def other_cpu_ticks():
    """CPU ticks of the client, the sink and kernel workers, by command name."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            comm = open("/proc/%s/comm" % p).read().strip()
            if comm in ("smtp-sink", "smtp-source", "script") or comm.startswith(("kworker", "jbd2", "loop")):
                f = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()
                out[p] = (comm, int(f[11]) + int(f[12]))
        except OSError:
            pass
    return out


def user_sys_ticks(pid):
    """(user ticks, system ticks, minor page faults) of the process."""
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]), int(f[12]), int(f[7])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("binary")
    p.add_argument("--size", type=int, default=102400)
    p.add_argument("--count", type=int, default=2500)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--perf", action="store_true")
    p.add_argument("--perf-callgraph", default="fp", help="perf record --call-graph mode (fp, dwarf, ...)")
    p.add_argument("--dir", default=None, help="work directory (kept); default a temp dir, removed")
    a = p.parse_args()
    m.SX_IP, m.SX_SINK_IP = "127.87.0.2", "127.87.0.3"
    root = a.dir or tempfile.mkdtemp(prefix="relaywait-")
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o755)
    cert, key = os.path.join(root, "cert.pem"), os.path.join(root, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=bench.test"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o644)
    fs = relaybytes.LoopFS(os.path.join(root, "queue.img"), os.path.join(root, "data"), 4 << 30)
    sink = server = perf = None
    tick = os.sysconf("SC_CLK_TCK")
    try:
        sink = m.Sink(root, "sink", m.SX_SINK_IP, 2526)
        server = m.SendarixServer(root, a.binary, cert, key, sink, 200)
        server.start()
        c = m.SMTPConn(server.ip, server.port)
        c.greet()
        c.ehlo()
        c.send_message(m.make_body(1024, "probe"))
        c.cmd("QUIT")
        c.close()
        if sink.wait_for(1, 15, 15)[0] < 1:
            raise SystemExit("the probe message did not reach the sink")
        pid = server.proc.pid
        if a.perf:
            perf = subprocess.Popen(["perf", "record", "-F", "999", "--call-graph", a.perf_callgraph, "-p", str(pid), "-o",
                                     os.path.join(root, "perf.data")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        mt0, sc0, ot0, us0 = metrics(server), schedstat(pid), other_cpu_ticks(), user_sys_ticks(pid)
        base, t0 = sink.received(), time.monotonic()
        stop, timeline, states = [False], [], collections.Counter()

        def sample_sink():
            while not stop[0]:
                timeline.append((round(time.monotonic() - t0, 2), sink.received() - base))
                time.sleep(0.1)

        def sample_threads():
            tids = os.listdir("/proc/%d/task" % pid)
            while not stop[0]:
                for tid in tids:
                    try:
                        st = open("/proc/%d/task/%s/stat" % (pid, tid)).read().rsplit(")", 1)[1].split()[0]
                        sc = "-" if st == "R" else open("/proc/%d/task/%s/syscall" % (pid, tid)).read().split()[0]
                    except (OSError, IndexError):
                        continue
                    states[(tid, st, SYSCALLS.get(sc, sc))] += 1
                time.sleep(0.004)

        threads = [threading.Thread(target=sample_sink), threading.Thread(target=sample_threads)]
        for t in threads:
            t.start()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        ok, secs, err = m.run_smtp_source(server, a.sessions, a.size, a.count, root, "relaywait")
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        got, t_last = sink.wait_for(base + a.count, 30, max(120, a.count * 0.05))
        stop[0] = True
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
        mt1, sc1, ot1, us1 = metrics(server), schedstat(pid), other_cpu_ticks(), user_sys_ticks(pid)
        n = max(1, got - base)
        span = max(t_last - t0, secs)
        print(json.dumps({"ok": ok, "error": "" if ok else err[-200:], "delivered": got - base,
                          "msgs_per_s": round((got - base) / span, 1), "accepted_per_s": round(a.count / secs, 1),
                          "accept_s": round(secs, 3), "span_s": round(span, 3),
                          "sendarix_user_ms_per_msg": round((us1[0] - us0[0]) * 1000 / tick / n, 3),
                          "sendarix_sys_ms_per_msg": round((us1[1] - us0[1]) * 1000 / tick / n, 3),
                          "sendarix_minor_faults_per_msg": round((us1[2] - us0[2]) / n, 1),
                          "smtp_source_ms_per_msg": round(((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime))
                                                          * 1000 / a.count, 3),
                          "commits": mt1.get("sendarix_spool_commit_duration_seconds_count", 0)
                          - mt0.get("sendarix_spool_commit_duration_seconds_count", 0),
                          "commit_s": round(mt1.get("sendarix_spool_commit_duration_seconds_sum", 0)
                                            - mt0.get("sendarix_spool_commit_duration_seconds_sum", 0), 3),
                          "loadavg": open("/proc/loadavg").read().strip()}))
        print("threads over %.0f ms (run ms, runnable-but-waiting ms, switches):" % (wall * 1000))
        for tid, (comm, r, w, sw) in sorted(sc1.items(), key=lambda x: -(x[1][1] - sc0.get(x[0], ("", 0, 0, 0))[1])):
            b = sc0.get(tid, (comm, 0, 0, 0))
            if r - b[1] > 5e6 or w - b[2] > 5e6:
                print("  %-8s %-16s run %7.1f  waiting %7.1f  switches %6d" % (tid, comm, (r - b[1]) / 1e6,
                                                                             (w - b[2]) / 1e6, sw - b[3]))
        per = collections.defaultdict(dict)
        for (tid, st, sc), k in states.items():
            per[tid][st + ":" + sc] = k
        print("thread states (samples every 4 ms):")
        for tid, d in sorted(per.items()):
            total = sum(d.values())
            shown = ", ".join("%s %d%%" % (k, v * 100 // total) for k, v in sorted(d.items(), key=lambda x: -x[1])
                              if v * 100 >= total * 3)
            print("  %-8s %s" % (tid, shown))
        others = collections.Counter()
        for pid_, (comm, t) in ot1.items():
            others["kworker" if comm.startswith("kworker") else comm] += t - ot0.get(pid_, (comm, 0))[1]
        print("other CPU ms per message:", {k: round(v * 1000 / tick / n, 3) for k, v in others.items() if v})
        print("timeline (s, delivered):", timeline)
    finally:
        if perf and perf.poll() is None:
            perf.send_signal(2)
            perf.wait(timeout=60)
        if server:
            server.stop()
        if sink:
            sink.stop()
        fs.stop()
        if not a.dir:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
