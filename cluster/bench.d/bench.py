#!/usr/bin/env python3
"""Sendarix vs Postfix benchmark (driven by cluster/bench).

Scenarios, each run against a fresh Postfix instance and a fresh Sendarix node, one server at a
time, on 127.0.0.0/8 only:

  accept   smtp-source (20 sessions) with 5 KB and 100 KB messages; accepted messages/s from the
           wall clock around smtp-source, p50/p99 end-of-DATA -> 250 latency from a one-message-at-
           a-time prober running alongside, server CPU seconds per 1,000 accepted messages.
  rss      N idle STARTTLS sessions (EHLO, STARTTLS, EHLO): (RSS_after - RSS_before) / N, Sendarix
           from /proc/PID/status VmRSS, Postfix summed over its smtpd processes (PSS too).
  relay    smtp-source -> server -> smtp-sink: messages/s arriving at the sink and server CPU
           seconds per 1,000 delivered messages. Skipped with "not yet available" when Sendarix
           does not deliver.
  clusterbytes  3-node cluster relay, each node's data on its own loop fs: bytes written per byte
           of mail per node, bodies copied into the spool vs kept in the raft log (bench.d/clusterbytes.py).
  raftmap  3-node cluster queueing 5 KB mail with bodies in the raft log (delivery off): raft map
           size, use and growths per node, accept rate across the growths (bench.d/raftmap.py; --only).
  relaybytes  relay at 5 KB and 100 KB with each server's queue on its own loop-mounted ext4:
           messages/s and bytes written to that device per byte of mail (bench.d/relaybytes.py).
  cluster  3 Sendarix nodes (Raft, replication on) on 127.0.4.1-3: smtp-source (20 sessions, 5 KB)
           against the leader vs Postfix single-node acceptance; then retrying clients while the
           leader is SIGKILLed: longest gap between 250s and acknowledged messages lost (looked up
           on every node after the killed one restarts).
  dnsperf  dnsperf against one node's DNS responder (A queries for the ingress name): queries/s.
  dkim     relay end to end with DKIM signing: Sendarix (sending domain in its own zone, RSA-2048 +
           Ed25519) vs Postfix + OpenDKIM milter (RSA-2048): messages/s, CPU per message, and
           Sendarix's signing CPU per message (the same load unsigned, same node, same run).

Prints progress on stderr, a table on stdout, and the last stdout line is one JSON object with
every figure. Uses only the Python standard library.
"""

import argparse
import base64
import concurrent.futures
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import webhook_bench

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
SENDER = "from@bench.test"
RECIPIENT = "to@example.test"
ADMIN_TOKEN = "bench-token-not-secret"  # >= 16 characters, or Sendarix warns

# Addresses (ports are the preferred ones; a busy port is replaced by a free one on the same IP).
SX_IP, SX_PORT, SX_ADMIN_PORT = "127.0.0.2", 2525, 8025
SX_SINK_IP, SX_SINK_PORT = "127.0.0.3", 2526
PF_IP, PF_PORT = "127.0.0.4", 2525
PF_SINK_IP, PF_SINK_PORT = "127.0.0.5", 2526
# Connections each server may open to its sink at once: Postfix's default_destination_concurrency_limit
# (20), given to Sendarix too (its own default for an unknown provider is 10), so both relay out
# with the same concurrency. BENCH_SINK_CONCURRENCY=0 leaves both servers at their defaults.
SINK_CONCURRENCY = int(os.environ.get("BENCH_SINK_CONCURRENCY", "20"))
# Source addresses for the idle TLS sessions (spread so per-IP connection limits do not bite).
CLIENT_NET = "127.0.1."
SESSIONS_PER_SOURCE_IP = 100


def log(msg):
    """Progress line on stderr."""
    print("bench: " + msg, file=sys.stderr, flush=True)


class Unavailable(Exception):
    """A side of a scenario cannot be measured (reason is printed, the run continues)."""


# --------------------------------------------------------------------------------------------
# Process bookkeeping and cleanup


class Processes:
    """Every process this run started; `cleanup` stops them all (reverse order)."""

    def __init__(self):
        self.popens = []      # (name, Popen) started in their own session
        self.stoppers = []    # callables (e.g. postfix stop)
        self.lock = threading.Lock()

    def spawn(self, name, argv, stdout=None, stderr=None, env=None):
        out = open(stdout, "ab") if stdout else subprocess.DEVNULL
        err = open(stderr, "ab") if stderr else subprocess.DEVNULL
        try:
            p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                 env=env, start_new_session=True)
        finally:
            for f in (out, err):
                if f is not subprocess.DEVNULL:
                    f.close()
        with self.lock:
            self.popens.append((name, p))
        return p

    def add_stopper(self, fn):
        with self.lock:
            self.stoppers.append(fn)

    def remove_stopper(self, fn):
        with self.lock:
            if fn in self.stoppers:
                self.stoppers.remove(fn)

    def stop(self, p, grace=5.0):
        """Stops one spawned process group: SIGTERM, then SIGKILL after `grace` seconds.
        Descendants that left the group (e.g. under `script`'s pty) are signalled by pid."""
        strays = [c for c in descendants(p.pid) if pgid_of(c) != p.pid] \
            if p.poll() is None else []
        for c in strays:
            try:
                os.kill(c, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        with self.lock:
            self.popens = [(n, q) for (n, q) in self.popens if q is not p]

    def cleanup(self):
        with self.lock:
            stoppers = list(reversed(self.stoppers))
            self.stoppers = []
        for fn in stoppers:
            try:
                fn()
            except Exception as e:  # keep going: every process must be stopped
                log("cleanup: %s" % e)
        with self.lock:
            popens = list(reversed(self.popens))
        for _, p in popens:
            try:
                self.stop(p, grace=3.0)
            except Exception as e:
                log("cleanup: %s" % e)


def pgid_of(pid):
    """Process group of pid, or None when it is gone."""
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


PROCS = Processes()


# --------------------------------------------------------------------------------------------
# /proc helpers


def proc_stat(pid):
    """(ppid, utime+stime, cutime+cstime) in clock ticks, or None if the process is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    rest = data[data.rindex(")") + 2:].split()
    return int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14])


def start_time(pid):
    """Start time of pid (clock ticks since boot), or None when it is gone or a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None if rest[0] == "Z" else int(rest[19])


def descendants(pid):
    """PIDs of all live descendants of pid."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st:
            children.setdefault(st[0], []).append(int(name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def tree_cpu_seconds(pid):
    """CPU seconds (user+system) used by pid, its reaped children and its live descendants."""
    total = 0
    st = proc_stat(pid)
    if st is None:
        return None
    total += st[1] + st[2]
    for c in descendants(pid):
        cst = proc_stat(c)
        if cst:
            total += cst[1] + cst[2]  # its own time and that of the children it reaped
    return total / CLK_TCK


def proc_kb(pid, name, key):
    """The kB figure of `key` in /proc/PID/<name> (status, smaps_rollup), or None."""
    try:
        with open("/proc/%d/%s" % (pid, name)) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def vm_rss_kb(pid):
    return proc_kb(pid, "status", "VmRSS:")


def pss_kb(pid):
    return proc_kb(pid, "smaps_rollup", "Pss:")


def file_tail(path, n):
    """The last n bytes of a file as text ("" when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - n))
            return f.read().decode("latin-1", "replace")
    except OSError:
        return ""


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


# --------------------------------------------------------------------------------------------
# Network helpers


def pick_port(ip, preferred):
    """`preferred` if it can be bound on ip, else a free ephemeral port on ip."""
    for port in (preferred, 0):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((ip, port))
            return s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port on %s" % ip)


class SMTPError(Exception):
    pass


class SMTPConn:
    """Minimal blocking SMTP client (plain or after STARTTLS)."""

    def __init__(self, ip, port, timeout=60.0, source_ip=None):
        self.sock = socket.create_connection((ip, port), timeout=timeout,
                                             source_address=(source_ip, 0) if source_ip else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _line(self):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
                return line.rstrip(b"\r\n").decode("latin-1")
            data = self.sock.recv(65536)
            if not data:
                raise SMTPError("connection closed by server")
            self.buf += data

    def reply(self):
        """(code, [text lines]) of one possibly multi-line reply."""
        lines = []
        while True:
            line = self._line()
            if len(line) < 3 or not line[:3].isdigit():
                raise SMTPError("malformed reply: %r" % line)
            lines.append(line[4:])
            if len(line) == 3 or line[3] != "-":
                return int(line[:3]), lines

    def cmd(self, text, expect=None):
        self.sock.sendall(text.encode("latin-1") + b"\r\n")
        code, lines = self.reply()
        if expect is not None and code // 100 != expect:
            raise SMTPError("%s -> %d %s" % (text.split(" ")[0], code, " / ".join(lines)))
        return code, lines

    def greet(self):
        code, lines = self.reply()
        if code != 220:
            raise SMTPError("greeting %d %s" % (code, " ".join(lines)))

    def ehlo(self, name="probe.bench.test"):
        _, lines = self.cmd("EHLO " + name, expect=2)
        return set(l.split(" ")[0].upper() for l in lines[1:])

    def starttls(self, ctx, server_hostname="bench.test"):
        self.cmd("STARTTLS", expect=2)
        self.buf = b""
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)

    def send_message(self, body, with_reply=False):
        """Sends one transaction; returns seconds from the end of DATA to the 250 reply (and the
        reply's last line with `with_reply`)."""
        self.cmd("MAIL FROM:<%s>" % SENDER, expect=2)
        self.cmd("RCPT TO:<%s>" % RECIPIENT, expect=2)
        self.cmd("DATA", expect=3)
        self.sock.sendall(body)
        t0 = time.monotonic()
        code, lines = self.reply()
        t1 = time.monotonic()
        if code // 100 != 2:
            raise SMTPError("end of DATA -> %d %s" % (code, " ".join(lines)))
        return (t1 - t0, lines[-1]) if with_reply else t1 - t0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def quit_and_close(self):
        """Best-effort QUIT without waiting for the reply, then close."""
        try:
            self.sock.settimeout(1.0)
            self.sock.sendall(b"QUIT\r\n")
        except (OSError, ssl.SSLError):
            pass
        self.close()


def make_body(size, tag="probe"):
    """A dot-terminated message of about `size` bytes (CRLF lines, no dot-stuffing needed)."""
    head = ("From: <%s>\r\nTo: <%s>\r\nSubject: bench %s\r\nMessage-ID: <%s.%d@bench.test>\r\n\r\n"
            % (SENDER, RECIPIENT, tag, tag, os.getpid())).encode()
    line = b"x" * 76 + b"\r\n"
    n = max(1, (size - len(head)) // len(line))
    return head + line * n + b".\r\n"


def wait_smtp_ready(ip, port, timeout, proc=None, what="server"):
    """Polls until ip:port answers with a 220 greeting (or the process exits / time runs out)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise Unavailable("%s exited with status %s during start-up" % (what, proc.returncode))
        try:
            c = SMTPConn(ip, port, timeout=5.0)
            try:
                c.greet()
                c.cmd("QUIT")
                return
            finally:
                c.close()
        except (OSError, SMTPError) as e:
            last = str(e)
        time.sleep(0.05)
    raise Unavailable("%s not ready on %s:%d after %.0fs (%s)" % (what, ip, port, timeout, last))


def wait_listening(ip, port, timeout, what="server"):
    """Polls /proc/net/tcp until ip:port is in LISTEN state (no connection is made, so a
    Postfix master does not spawn an smtpd that would linger in later measurements)."""
    a = socket.inet_aton(ip)
    want = "%02X%02X%02X%02X:%04X" % (a[3], a[2], a[1], a[0], port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/tcp") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 3 and fields[1] == want and fields[3] == "0A":
                    return
        time.sleep(0.05)
    raise Unavailable("%s not listening on %s:%d after %.0fs" % (what, ip, port, timeout))


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


# --------------------------------------------------------------------------------------------
# smtp-sink


class Sink:
    """An `smtp-sink -c` counting received messages (parsed from its running counters).

    smtp-sink buffers its counter output unless stdout is a terminal, and flushes a plain file
    only when a session ends; a relay that keeps its connection open would look stalled. So it
    runs under `script`, whose pty makes every update visible at once."""

    def __init__(self, root, name, ip, preferred_port):
        self.ip = ip
        self.port = pick_port(ip, preferred_port)
        self.out = os.path.join(root, "%s.out" % name)
        argv = ["smtp-sink", "-c", "-m", "1024"]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        argv += ["%s:%d" % (ip, self.port), "1024"]
        self.proc = PROCS.spawn(name, ["script", "-qfec", " ".join(argv), "/dev/null"],
                                stdout=self.out, stderr=self.out)
        try:
            wait_smtp_ready(ip, self.port, 10.0, self.proc, what=name)
        except BaseException:
            self.stop()
            raise
        self.base = self.count()

    def count(self):
        """Messages received since the sink started (the readiness probe sends none)."""
        found = re.findall(r"mesg=(\d+)", file_tail(self.out, 4096))
        return int(found[-1]) if found else 0

    def received(self):
        return self.count() - self.base

    def stop(self):
        # smtp-sink runs in the pty's own session: stop it by pid, then `script`.
        for pid in descendants(self.proc.pid):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        PROCS.stop(self.proc)

    def wait_for(self, target, stall_seconds, max_seconds):
        """Waits until `received() >= target` or no progress for stall_seconds / max_seconds.
        Returns (received, monotonic time of the last observed increase)."""
        start = time.monotonic()
        last_n, last_change = self.received(), time.monotonic()
        while True:
            n = self.received()
            now = time.monotonic()
            if n != last_n:
                last_n, last_change = n, now
            if n >= target or now - last_change > stall_seconds or now - start > max_seconds:
                return n, last_change
            time.sleep(0.02)


# --------------------------------------------------------------------------------------------
# Servers


class PostfixServer:
    """A private Postfix instance (own config/queue/data dirs under `root`)."""

    name = "postfix"

    def __init__(self, root, cert, key, sink, smtpd_maxproc):
        if os.geteuid() != 0:
            raise Unavailable("Postfix needs root to run a private instance")
        self.root = root
        self.etc = os.path.join(root, "etc")
        self.spool = os.path.join(root, "spool")
        self.data = os.path.join(root, "data")
        self.logfile = os.path.join(root, "postfix.log")
        for d in (self.etc, self.spool, self.data):
            os.makedirs(d, exist_ok=True)
        shutil.chown(self.data, user="postfix")
        self.ip = PF_IP
        self.port = pick_port(PF_IP, PF_PORT)
        main_cf = """\
# Private benchmark instance generated by cluster/bench. Defaults except where noted.
compatibility_level = 3.6
queue_directory = {spool}
data_directory = {data}
meta_directory = /etc/postfix
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = {log}
maillog_file_prefixes = {root}
myhostname = postfix.bench.test
mydomain = bench.test
myorigin = $mydomain
# relay only: no local delivery
mydestination =
local_recipient_maps =
local_transport = error:local delivery disabled
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relayhost = [{sink_ip}]:{sink_port}
# no DNS: the sink is an address literal; do not reverse-resolve clients
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
biff = no
{concurrency}""".format(concurrency="default_destination_concurrency_limit = %d\n" % SINK_CONCURRENCY if SINK_CONCURRENCY > 0 else "",
           spool=self.spool, data=self.data, log=self.logfile, root=root,
           sink_ip=sink.ip, sink_port=sink.port, cert=cert, key=key)
        master_cf = """\
{ip}:{port} inet n - n - {maxproc} smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
""".format(ip=self.ip, port=self.port, maxproc=smtpd_maxproc)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(main_cf)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(master_cf)
        self.master = None

    def _postfix(self, action, timeout=60):
        # `script` gives postfix a terminal so its errors reach us (there may be no syslog).
        cmd = "postfix -c %s %s" % (self.etc, action)
        argv = ["script", "-qec", cmd, "/dev/null"] if shutil.which("script") else cmd.split()
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        return r.returncode, r.stdout.decode("latin-1", "replace").replace("\r", "")

    def start(self):
        PROCS.add_stopper(self.stop)
        rc, out = self._postfix("start")
        if rc != 0:
            raise Unavailable("postfix start failed: %s" % out.strip()[-400:])
        pidfile = os.path.join(self.spool, "pid", "master.pid")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.master is None:
            try:
                with open(pidfile) as f:
                    self.master = int(f.read().strip())
            except (FileNotFoundError, ValueError):
                time.sleep(0.05)
        if self.master is None:
            raise Unavailable("postfix master pid file did not appear")
        wait_listening(self.ip, self.port, 30.0, what="postfix master")

    def stop(self):
        PROCS.remove_stopper(self.stop)
        if self.master is None:
            return
        # (pid, start time) so that a recycled pid is never signalled
        procs = [(p, start_time(p)) for p in [self.master] + descendants(self.master)]
        try:
            self._postfix("stop", timeout=30)
        except subprocess.TimeoutExpired:
            pass
        alive = lambda: [p for p, t in procs if t is not None and start_time(p) == t]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and alive():
            time.sleep(0.05)
        for p in alive():  # anything left over from this instance
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.master = None

    def cpu_seconds(self):
        return tree_cpu_seconds(self.master)

    def smtpd_pids(self):
        return [p for p in descendants(self.master) if comm(p) == "smtpd"]

    def session_memory_kb(self):
        """(sum VmRSS, sum PSS, process count) over the smtpd processes."""
        pids = self.smtpd_pids()
        rss = sum(vm_rss_kb(p) or 0 for p in pids)
        pss = sum(pss_kb(p) or 0 for p in pids)
        return rss, pss, len(pids)

    def delivers(self):
        return True, ""

    def describe_failure(self):
        return file_tail(self.logfile, 1500)


class SendarixServer:
    """A Sendarix node started from its release binary with a generated JSON config."""

    name = "sendarix"

    def __init__(self, root, binary, cert, key, sink, max_conn):
        if not binary or not os.path.isfile(binary) or not os.access(binary, os.X_OK):
            raise Unavailable("binary %s not found (build it: cd %s && swift build -c release, "
                              "or pass --build / --sendarix-bin)" % (binary, REPO))
        self.root = root
        self.binary = binary
        self.ip = SX_IP
        self.port = pick_port(SX_IP, SX_PORT)
        self.admin_port = pick_port(SX_IP, SX_ADMIN_PORT)
        self.logfile = os.path.join(root, "sendarix.log")
        self.config = os.path.join(root, "sendarix.json")
        cfg = {
            "node": {"id": "bench1", "hostname": "bench.sendarix.test",
                     "dataDir": os.path.join(root, "data")},
            "listen": {"submission": [], "smtps": [], "relay": ["%s:%d" % (self.ip, self.port)],
                       "admin": "%s:%d" % (self.ip, self.admin_port)},
            "tls": {"certificate": cert, "privateKey": key},
            "policy": {"trustedNetworks": ["127.0.0.0/8"], "localDomains": ["example.test"],
                       "maxConnectionsPerIP": max_conn},
            "limits": {"maxConnections": max(10000, max_conn * 2)},
            "routes": [{"domain": "example.test", "hosts": ["%s:%d" % (sink.ip, sink.port)],
                        "tls": "none"}],
            "adminToken": ADMIN_TOKEN,
        }
        if SINK_CONCURRENCY > 0:
            cfg["delivery"] = {"shaping": {"default": {"maxConnections": SINK_CONCURRENCY}}}
        with open(self.config, "w") as f:
            json.dump(cfg, f, indent=2)
        self.proc = None

    def start(self):
        self.proc = PROCS.spawn("sendarix", [self.binary, "serve", "--config", self.config],
                                stdout=self.logfile, stderr=self.logfile)
        wait_smtp_ready(self.ip, self.port, 60.0, self.proc, what="sendarix")

    def stop(self):
        if self.proc is not None:
            PROCS.stop(self.proc, grace=10.0)
            self.proc = None

    def cpu_seconds(self):
        return tree_cpu_seconds(self.proc.pid)

    def rss_kb(self):
        return vm_rss_kb(self.proc.pid)

    def health(self):
        """(status, parsed JSON or text) of GET /health, or (None, error)."""
        try:
            c = http.client.HTTPConnection(self.ip, self.admin_port, timeout=5)
            c.request("GET", "/health", headers={"Authorization": "Bearer " + ADMIN_TOKEN})
            r = c.getresponse()
            body = r.read().decode("utf-8", "replace")
            c.close()
            try:
                return r.status, json.loads(body)
            except ValueError:
                return r.status, body
        except (OSError, http.client.HTTPException) as e:
            return None, str(e)

    def delivers(self):
        """(True, "") unless /health says delivery is off."""
        status, body = self.health()
        if isinstance(body, dict):
            for key in ("delivery", "deliveryEnabled", "delivers"):
                v = body.get(key)
                if v is False or (isinstance(v, dict) and v.get("enabled") is False):
                    return False, "/health reports %s=%s" % (key, json.dumps(v))
        return True, ""

    def describe_failure(self):
        """Tail of the node's log, plus `sendarix check-config` output when that rejects the
        generated config."""
        text = file_tail(self.logfile, 1500)
        try:
            r = subprocess.run([self.binary, "check-config", self.config], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            if r.returncode != 0:
                text += "\ncheck-config: " + r.stdout.decode("utf-8", "replace").strip()[-600:]
        except (OSError, subprocess.TimeoutExpired):
            pass
        return text


# --------------------------------------------------------------------------------------------
# Load tools


class Prober(threading.Thread):
    """Sends one message at a time over one SMTP connection and records end-of-DATA -> 250."""

    def __init__(self, ip, port, size, interval=0.025):
        super().__init__(daemon=True)
        self.interval = interval  # pause between messages: sample the load, do not add to it
        self.ip, self.port = ip, port
        self.body = make_body(size)
        self.stop_event = threading.Event()
        self.samples = []
        self.errors = 0
        self.last_error = None

    def run(self):
        conn = None
        while not self.stop_event.is_set():
            try:
                if conn is None:
                    conn = SMTPConn(self.ip, self.port, timeout=60.0)
                    conn.greet()
                    conn.ehlo()
                self.samples.append(conn.send_message(self.body))
                self.stop_event.wait(self.interval)
            except (OSError, SMTPError) as e:
                self.errors += 1
                self.last_error = str(e)
                if conn is not None:
                    conn.close()
                conn = None
                self.stop_event.wait(0.05)
        if conn is not None:
            try:
                conn.cmd("QUIT")
            except (OSError, SMTPError):
                pass
            conn.close()

    def finish(self):
        self.stop_event.set()
        self.join(timeout=120)
        s = sorted(self.samples)
        ms = lambda v: None if v is None else round(v * 1000.0, 2)
        return {"samples": len(s), "errors": self.errors, "p50_ms": ms(percentile(s, 50)),
                "p99_ms": ms(percentile(s, 99)), "max_ms": ms(s[-1] if s else None),
                "last_error": self.last_error}


def run_smtp_source(server, sessions, size, count, root, tag):
    """Runs smtp-source against the server; returns (ok, seconds, stderr tail)."""
    out = os.path.join(root, "smtp-source-%s.log" % tag)
    argv = ["smtp-source", "-s", str(sessions), "-l", str(size), "-m", str(count),
            "-f", SENDER, "-t", RECIPIENT, "%s:%d" % (server.ip, server.port)]
    t0 = time.monotonic()
    p = PROCS.spawn("smtp-source", argv, stdout=out, stderr=out)
    timeout = 300 + count * 0.1
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        PROCS.stop(p)
        return False, time.monotonic() - t0, "timed out after %.0fs" % timeout
    elapsed = time.monotonic() - t0
    PROCS.stop(p)
    with open(out, "rb") as f:
        text = f.read().decode("latin-1", "replace").strip()
    return rc == 0, elapsed, text[-400:]


def open_idle_tls(server, n, workers=16):
    """Opens n sessions (EHLO, STARTTLS, EHLO) and leaves them open. Returns (conns, errors)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def one(i):
        src = CLIENT_NET + str(10 + i // SESSIONS_PER_SOURCE_IP)
        c = SMTPConn(server.ip, server.port, timeout=60.0, source_ip=src)
        try:
            c.greet()
            ext = c.ehlo("idle%d.bench.test" % i)
            if "STARTTLS" not in ext:
                raise Unavailable("EHLO does not offer STARTTLS")
            c.starttls(ctx)
            c.ehlo("idle%d.bench.test" % i)
            return c
        except BaseException:
            c.close()
            raise

    conns, errors = [], []
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for fut in [pool.submit(one, i) for i in range(n)]:
            try:
                conns.append(fut.result())
            except Unavailable:
                raise
            except (OSError, SMTPError, ssl.SSLError) as e:
                errors.append(str(e))
    return conns, errors


def settle(sample, rounds=15, interval=0.2, tolerance=0.005):
    """Samples a value until two consecutive samples differ by < tolerance (or rounds run out)."""
    prev = sample()
    for _ in range(rounds):
        time.sleep(interval)
        cur = sample()
        if prev and cur is not None and abs(cur - prev) <= tolerance * prev:
            return cur
        prev = cur
    return prev


# --------------------------------------------------------------------------------------------
# Scenario runner


class Bench:
    def __init__(self, args):
        self.args = args
        self.root = tempfile.mkdtemp(prefix="sendarix-bench-")
        os.chmod(self.root, 0o755)  # the postfix user must reach its queue directory
        self.cert = os.path.join(self.root, "cert.pem")
        self.key = os.path.join(self.root, "key.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", self.key, "-out", self.cert, "-days", "2",
                            "-subj", "/CN=bench.test"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise SystemExit("openssl req failed: %s" % r.stderr.decode())
        os.chmod(self.key, 0o644)
        self.seq = 0
        self.results = {}

    def dir(self, name):
        self.seq += 1
        d = os.path.join(self.root, "%02d-%s" % (self.seq, name))
        os.makedirs(d)
        os.chmod(d, 0o755)
        return d

    def targets(self):
        return [t for t in ("postfix", "sendarix", webhook_bench.TARGET) if t in self.args.targets]

    def start_server(self, target, d, sink, max_conn):
        """Starts a fresh server for one target; raises Unavailable."""
        if target == "postfix":
            s = PostfixServer(d, self.cert, self.key, sink, smtpd_maxproc=max(100, max_conn))
        else:
            s = SendarixServer(d, webhook_bench.binary(self.args, target), self.cert, self.key, sink, max_conn)
        try:
            s.start()
            webhook_bench.wait_registered(s, target, Unavailable)
        except Unavailable as e:
            tail = s.describe_failure().strip()
            s.stop()
            raise Unavailable("%s%s" % (e, ("; log tail: " + tail[-600:]) if tail else ""))
        except BaseException:
            s.stop()
            raise
        return s

    def sink_for(self, target, d):
        if target == "postfix":
            return Sink(d, "postfix-sink", PF_SINK_IP, PF_SINK_PORT)
        return Sink(d, "sendarix-sink", SX_SINK_IP, SX_SINK_PORT)

    # ---- rounds ----------------------------------------------------------------------------

    def rounds(self, measure):
        """Runs measure(target) for every target, --rounds times, alternating the targets so
        both see the same background load. Returns {target: [result of each round]}."""
        out = {t: [] for t in self.targets()}
        for r in range(self.args.rounds):
            for t in webhook_bench.round_targets(self.args, self.targets(), r):
                if self.args.rounds > 1:
                    log("round %d/%d: %s" % (r + 1, self.args.rounds, t))
                out[t].append(measure(t))
        return out

    # ---- 1. acceptance ------------------------------------------------------------------

    def accept_sizes(self):
        return [(5120, self.args.messages), (102400, self.args.messages_large)]

    def measure_accept(self, target):
        """One server, one sink; smtp-source at each size with the prober alongside.
        Returns {size: entry}."""
        a = self.args
        out = {}
        reason = "not measured"
        d = self.dir("accept-" + target)
        sink = server = None
        try:
            sink = self.sink_for(target, d)
            server = self.start_server(target, d, sink, max_conn=200)
            delivered_before = 0
            for size, count in self.accept_sizes():
                log("accept: %s, %d x %d bytes, %d sessions" % (target, count, size, a.sessions))
                prober = Prober(server.ip, server.port, size)
                io0 = webhook_bench.io_snapshot(server)
                cpu0 = server.cpu_seconds()
                prober.start()
                ok, secs, err = run_smtp_source(server, a.sessions, size, count, d,
                                                "%s-%d" % (target, size))
                lat = prober.finish()
                cpu1 = server.cpu_seconds()
                if not ok:
                    entry = {"available": False,
                             "reason": "smtp-source failed after %.1fs: %s" % (secs, err)}
                    log("accept: %s %d: %s" % (target, size, entry["reason"]))
                    out[str(size)] = entry
                    continue
                accepted = count + lat["samples"]
                entry = {
                    "available": True, "messages": count, "seconds": round(secs, 3),
                    "msgs_per_s": round(count / secs, 1),
                    "mb_per_s": round(count * size / secs / 1e6, 2),
                    "latency": lat,
                    "cpu_s_per_1000": round((cpu1 - cpu0) * 1000.0 / accepted, 3)
                    if cpu0 is not None and cpu1 is not None else None,
                }
                log("accept: %s %d: %.1f msg/s, p99 %s ms (%d samples)"
                    % (target, size, entry["msgs_per_s"], lat["p99_ms"], lat["samples"]))
                # Let queued deliveries finish so the next size starts from an idle server.
                n, _ = sink.wait_for(delivered_before + accepted, stall_seconds=5.0,
                                     max_seconds=a.drain_timeout)
                entry["delivered_to_sink"] = n - delivered_before
                if n == delivered_before:
                    entry["note"] = ("nothing reached the sink: CPU figure excludes delivery work")
                delivered_before = n
                webhook_bench.settle(entry, server, target, 2 * n, cpu0, accepted, io0=io0)
                out[str(size)] = entry
        except Unavailable as e:
            reason = str(e)
            log("accept: %s not available: %s" % (target, e))
        finally:
            if server:
                server.stop()
            if sink:
                sink.stop()
        for size, _ in self.accept_sizes():
            out.setdefault(str(size), {"available": False, "reason": reason})
        return out

    def scenario_accept(self):
        per = self.rounds(self.measure_accept)
        res = {"sessions": self.args.sessions, "rounds": self.args.rounds, "sizes": {}}
        for size, count in self.accept_sizes():
            sec = {"messages": count, "message_bytes": size}
            for t, runs in per.items():
                sec[t] = combine([r[str(size)] for r in runs], "msgs_per_s")
            sec["ratio_msgs_per_s"] = ratio(sec, "msgs_per_s")
            sec["ratio_p50"] = ratio(sec, "latency", "p50_ms")
            sec["ratio_p99"] = ratio(sec, "latency", "p99_ms")
            sec["ratio_cpu"] = ratio(sec, "cpu_s_per_1000")
            res["sizes"][str(size)] = sec
        self.results["accept"] = res

    # ---- 2. RSS per idle TLS session ------------------------------------------------------

    def measure_rss(self, target):
        n = self.args.tls_sessions
        d = self.dir("rss-" + target)
        sink = server = None
        conns = []
        try:
            sink = self.sink_for(target, d)
            server = self.start_server(target, d, sink, max_conn=n + 50)
            log("rss: %s, %d idle STARTTLS sessions" % (target, n))
            if target == "sendarix":
                # Warm up once so one-time TLS/library initialisation is not charged per session.
                warm, _ = open_idle_tls(server, 1, workers=1)
                for c in warm:
                    c.quit_and_close()
                before = settle(server.rss_kb)
                conns, errors = open_idle_tls(server, n)
                after = settle(server.rss_kb)
                entry = {"available": True, "sessions_open": len(conns), "errors": len(errors),
                         "rss_before_kb": before, "rss_after_kb": after}
                if conns:
                    entry["rss_per_session_kb"] = round((after - before) / len(conns), 2)
            else:
                # Readiness was checked without connecting, so no smtpd exists yet.
                rss0, pss0, _ = server.session_memory_kb()
                conns, errors = open_idle_tls(server, n)
                rss1 = settle(lambda: server.session_memory_kb()[0])
                _, pss1, procs = server.session_memory_kb()
                entry = {"available": True, "sessions_open": len(conns), "errors": len(errors),
                         "smtpd_processes": procs, "rss_before_kb": rss0, "rss_after_kb": rss1,
                         "pss_before_kb": pss0, "pss_after_kb": pss1}
                if conns:
                    entry["rss_per_session_kb"] = round((rss1 - rss0) / len(conns), 2)
                    entry["pss_per_session_kb"] = round((pss1 - pss0) / len(conns), 2)
            if errors:
                entry["first_error"] = errors[0]
            if not conns:
                entry = {"available": False,
                         "reason": "no session opened: %s" % (errors[0] if errors else "?")}
            log("rss: %s: %s KB per session (%d open, %d errors)"
                % (target, entry.get("rss_per_session_kb"), len(conns), len(errors)))
            return entry
        except Unavailable as e:
            log("rss: %s not available: %s" % (target, e))
            return {"available": False, "reason": str(e)}
        finally:
            for c in conns:
                c.quit_and_close()
            if server:
                server.stop()
            if sink:
                sink.stop()

    def scenario_rss(self):
        res = {"sessions": self.args.tls_sessions, "rounds": self.args.rounds}
        for t, runs in self.rounds(self.measure_rss).items():
            res[t] = combine(runs, "rss_per_session_kb")
        res["ratio_rss_per_session"] = ratio(res, "rss_per_session_kb")
        # Postfix's RSS counts shared libraries once per smtpd process; PSS splits them.
        p, sx = res.get("postfix") or {}, res.get("sendarix") or {}
        res["ratio_rss_vs_postfix_pss"] = (
            round(sx["rss_per_session_kb"] / p["pss_per_session_kb"], 3)
            if sx.get("rss_per_session_kb") is not None and p.get("pss_per_session_kb") else None)
        self.results["rss"] = res

    # ---- 3. end-to-end relay ------------------------------------------------------------

    def measure_relay(self, target):
        a = self.args
        count, size = a.relay_messages, 5120
        d = self.dir("relay-" + target)
        sink = server = None
        try:
            sink = self.sink_for(target, d)
            server = self.start_server(target, d, sink, max_conn=200)
            ok, why = server.delivers()
            if not ok:
                raise Unavailable("not yet available (%s)" % why)
            # One probe message must reach the sink, otherwise delivery is not there yet.
            c = SMTPConn(server.ip, server.port)
            try:
                c.greet()
                c.ehlo()
                c.send_message(make_body(1024, "relay-probe"))
                c.cmd("QUIT")
            except (OSError, SMTPError) as e:
                raise Unavailable("probe message not accepted: %s" % e)
            finally:
                c.close()
            n, _ = sink.wait_for(1, stall_seconds=a.delivery_probe_timeout,
                                 max_seconds=a.delivery_probe_timeout)
            if n < 1:
                raise Unavailable("not yet available (a probe message did not reach the sink "
                                  "within %.0fs)" % a.delivery_probe_timeout)
            log("relay: %s, %d x %d bytes" % (target, count, size))
            base = sink.received()
            io0 = webhook_bench.io_snapshot(server)
            cpu0 = server.cpu_seconds()
            t0 = time.monotonic()
            ok, secs, err = run_smtp_source(server, a.sessions, size, count, d, "relay-" + target)
            if not ok:
                raise Unavailable("smtp-source failed after %.1fs: %s" % (secs, err))
            got, t_last = sink.wait_for(base + count, stall_seconds=30.0,
                                        max_seconds=max(120.0, count * 0.05))
            cpu1 = server.cpu_seconds()
            delivered = got - base
            span = max(t_last - t0, secs)
            entry = {"available": True, "accepted": count, "delivered": delivered,
                     "accept_seconds": round(secs, 3), "seconds": round(span, 3),
                     "msgs_per_s": round(delivered / span, 1) if span > 0 else None,
                     "cpu_s_per_1000": round((cpu1 - cpu0) * 1000.0 / delivered, 3)
                     if delivered else None}
            if delivered < count:
                entry["note"] = "only %d of %d reached the sink" % (delivered, count)
            webhook_bench.settle(entry, server, target, 2 * got, cpu0, delivered, io0=io0)
            log("relay: %s: %s msg/s end to end, %s CPU s / 1000"
                % (target, entry["msgs_per_s"], entry["cpu_s_per_1000"]))
            return entry
        except Unavailable as e:
            log("relay: %s: %s" % (target, e))
            return {"available": False, "reason": str(e)}
        finally:
            if server:
                server.stop()
            if sink:
                sink.stop()

    def scenario_relay(self):
        res = {"messages": self.args.relay_messages, "message_bytes": 5120,
               "sessions": self.args.sessions, "rounds": self.args.rounds}
        for t, runs in self.rounds(self.measure_relay).items():
            res[t] = combine(runs, "msgs_per_s")
        res["ratio_msgs_per_s"] = ratio(res, "msgs_per_s")
        res["ratio_cpu"] = ratio(res, "cpu_s_per_1000")
        self.results["relay"] = res

    def scenario_relaybytes(self):
        """Relay at 5 KB and 100 KB with each queue on its own loop filesystem: bytes written per
        byte of mail (cluster/bench.d/relaybytes.py)."""
        import relaybytes
        relaybytes.scenario(self, sys.modules[__name__])

    # ---- 4. replicated cluster ---------------------------------------------------------------

    def scenario_clusterbytes(self):
        """3-node cluster relay with each node's data on its own loop fs: bytes written per byte
        of mail per node, bodies copied into the spool vs kept in the raft log (bench.d/clusterbytes.py)."""
        import clusterbytes
        clusterbytes.scenario(self, sys.modules[__name__])

    def scenario_cluster(self):
        """3 Sendarix nodes on 127.0.4.1-3 (Raft, replication on, delivery off so only acceptance
        is measured): smtp-source (20 sessions, 5 KB) against the leader with the latency prober,
        compared with Postfix single-node acceptance of this run (measured now when the accept
        section did not run). Then retrying clients across all nodes while the leader is
        SIGKILLed: the longest gap between acknowledgements around the kill, and how many
        acknowledged messages are missing from any node after the killed node is restarted."""
        a = self.args
        res = {"nodes": 3, "sessions": a.sessions, "message_bytes": 5120, "messages": a.messages}
        pf = ((self.results.get("accept") or {}).get("sizes") or {}).get("5120", {}).get("postfix")
        if (not pf or not pf.get("available")) and "postfix" in self.targets():
            pf = self.measure_accept("postfix").get("5120")
        res["postfix"] = pf or {"available": False, "reason": "postfix not measured"}
        d = self.dir("cluster")
        nodes = []
        try:
            nodes = ClusterNodes(d, self.args.sendarix_bin)
            nodes.start()
            leader = nodes.wait_leader(30.0)
            target = nodes.node(leader)
            log("cluster: leader %s; accept %d x 5120 bytes, %d sessions" % (leader, a.messages, a.sessions))
            prober = Prober(target.ip, target.port, 5120)
            prober.start()
            ok, secs, err = run_smtp_source(target, a.sessions, 5120, a.messages, d, "cluster")
            lat = prober.finish()
            if not ok:
                raise Unavailable("smtp-source failed after %.1fs: %s" % (secs, err))
            sx = {"available": True, "messages": a.messages, "seconds": round(secs, 3),
                  "msgs_per_s": round(a.messages / secs, 1), "latency": lat}
            log("cluster: %.1f msg/s, p99 %s ms" % (sx["msgs_per_s"], lat["p99_ms"]))
            fo = nodes.failover(leader, seconds_before=3.0, seconds_after=6.0)
            sx.update(fo)
            log("cluster: leader kill: longest acknowledgement gap %.2f s, %d acknowledged, %d missing"
                % (fo["failover_gap_s"], fo["acknowledged"], fo["lost"]))
            res["sendarix"] = sx
        except Unavailable as e:
            log("cluster: not available: %s" % e)
            res["sendarix"] = {"available": False, "reason": str(e)}
        finally:
            if nodes:
                nodes.stop()
        res["ratio_msgs_per_s"] = ratio(res, "msgs_per_s")
        res["ratio_p99"] = ratio(res, "latency", "p99_ms")
        self.results["cluster"] = res

    # ---- 6. repeated leader kills (cluster/nemesis) ---------------------------------------

    def scenario_nemesis(self):
        """cluster/nemesis --leader-kills N on 127.0.17.1-3 with the release binary: the leader
        SIGKILLed N times back to back under six retrying clients, each time waiting for a new
        leader and a 250, the dead node restarted 1.5 s after its kill. Per kill: the longest
        interval without any 250 from the kill to the next kill, the time until the last message
        leased by the dead node was delivered elsewhere, the duplicates. Absolute figures only."""
        a = self.args
        if a.self_test:
            self.results["nemesis"] = {"sendarix": {"available": False, "reason": "not part of the self-test"}}
            return
        d = self.dir("nemesis")
        env = dict(os.environ, SENDARIX_BINARY=a.sendarix_bin, SENDARIX_CLUSTER_DIR=os.path.join(d, "cluster"))
        argv = [os.path.join(REPO, "cluster", "nemesis"), "--leader-kills", str(a.nemesis_kills),
                "--base", "127.0.17.", "--clients", "6", "--seed", "1", "--dir", os.path.join(d, "cluster")]
        if a.keep:
            argv.append("--keep")
        log("nemesis: %d leader kills (%s)" % (a.nemesis_kills, " ".join(argv[1:])))
        t0 = time.time()
        with open(os.path.join(d, "nemesis.log"), "w") as errf:
            p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=errf, stdin=subprocess.DEVNULL,
                               text=True)
        lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
        if not lines:
            self.results["nemesis"] = {"sendarix": {"available": False, "reason": "cluster/nemesis exited %d "
                                                    "without figures: %s" % (p.returncode, file_tail(
                                                        os.path.join(d, "nemesis.log"), 2000))}}
            return
        fig = json.loads(lines[-1])
        kills = [{"node": f.get("node"), "newLeader": f.get("newLeader"),
                  "acceptGapSeconds": f.get("acceptGapSeconds"), "firstAckAfterKillSeconds": f.get("firstAckAfterKillSeconds"),
                  "electionSeconds": f.get("electionSeconds"), "leased": f.get("leased"),
                  "takeoverSeconds": f.get("takeoverSeconds"), "duplicates": f.get("duplicates")}
                 for f in fig.get("nemesis.faults", []) if f.get("kind") == "leaderKill"]
        sx = {k: v for k, v in fig.items() if k != "nemesis.faults"}
        gaps = sorted(k["acceptGapSeconds"] for k in kills if k["acceptGapSeconds"] is not None)
        sx.update({"available": True, "exitStatus": p.returncode, "seconds": round(time.time() - t0, 1),
                   "nemesis.maxKillAcceptGapSeconds": gaps[-1] if gaps else None,
                   "nemesis.p99AcceptGapSeconds": percentile(gaps, 99) if gaps else None, "kills": kills})
        if p.returncode != 0:
            sx["note"] = "cluster/nemesis exited %d (lost %s, stuck %s, anomalies %s)" % (
                p.returncode, fig.get("nemesis.lost"), fig.get("nemesis.stuck"), fig.get("nemesis.anomalies"))
        log("nemesis: %d kills, lost %s, longest gap %s s, takeover p50 %s s max %s s, %s duplicates per kill"
            % (len(kills), fig.get("nemesis.lost"), fig.get("nemesis.maxAcceptGapSeconds"),
               fig.get("nemesis.p50TakeoverSeconds"), fig.get("nemesis.maxTakeoverSeconds"),
               fig.get("nemesis.duplicatesPerKill")))
        self.results["nemesis"] = {"sendarix": sx}

    # ---- 5. DNS responder -----------------------------------------------------------------

    def scenario_dnsperf(self):
        """dnsperf against one node's authoritative responder, A queries for the ingress name.
        Postfix has no counterpart: absolute figures only."""
        res = {}
        if shutil.which("dnsperf") is None:
            log("dnsperf: not installed (cluster/bench installs it)")
            self.results["dnsperf"] = {"sendarix": {"available": False, "reason": "dnsperf not installed"}}
            return
        d = self.dir("dnsperf")
        node = None
        try:
            node = ClusterNodes(d, self.args.sendarix_bin, count=1, dns=True)
            node.start()
            qfile = os.path.join(d, "queries.txt")
            with open(qfile, "w") as f:
                f.write("smtp.relay.test A\n")
            seconds = 5 if self.args.quick else 15
            out = subprocess.run(["dnsperf", "-s", node.nodes[0].ip, "-p", str(node.dns_port), "-d", qfile,
                                  "-l", str(seconds), "-c", "4", "-Q", "1000000"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=seconds + 60)
            text = out.stdout.decode("utf-8", "replace")
            qps = re.search(r"Queries per second:\s+([0-9.]+)", text)
            lost = re.search(r"Queries lost:\s+([0-9]+)", text)
            lat = re.search(r"Average Latency \(s\):\s+([0-9.]+)", text)
            if not qps:
                raise Unavailable("dnsperf output not understood: %s" % text[-400:])
            res = {"available": True, "seconds": seconds, "queries_per_s": round(float(qps.group(1)), 1),
                   "lost": int(lost.group(1)) if lost else None,
                   "avg_latency_ms": round(float(lat.group(1)) * 1000, 3) if lat else None}
            log("dnsperf: %.0f queries/s for the ingress name, %s lost" % (res["queries_per_s"], res["lost"]))
        except Unavailable as e:
            log("dnsperf: not available: %s" % e)
            res = {"available": False, "reason": str(e)}
        finally:
            if node:
                node.stop()
        self.results["dnsperf"] = {"sendarix": res}

    # ---- 5b. Event search ------------------------------------------------------------------

    def scenario_search(self):
        """Event search at scale (issue 10): `sendarix bench-search` fills a fresh spool store
        directly through SpoolStore (no SMTP: millions of events in minutes) with synthetic
        events (100 tenants, skewed; 200k recipients over big providers and 20k small domains;
        realistic type mix) spread over 7 days, then times searches per query kind in process
        (first page of 100, p50/p99) and reports disk bytes per event. Postfix has no
        counterpart: absolute figures only. Headline: worst p99 over the 50 ms budget."""
        a = self.args
        d = self.dir("search")
        out = os.path.join(d, "bench-search.out")
        err = os.path.join(d, "bench-search.err")
        res = {}
        try:
            argv = [a.sendarix_bin, "bench-search", "--data-dir", os.path.join(d, "spool"),
                    "--events", str(a.search_events), "--queries", "200"]
            log("search: filling %d events and timing queries (%s)" % (a.search_events, " ".join(argv[1:])))
            p = PROCS.spawn("bench-search", argv, stdout=out, stderr=err)
            try:
                rc = p.wait(timeout=max(600, a.search_events / 2000))
            except subprocess.TimeoutExpired:
                rc = None
            PROCS.stop(p)
            if rc != 0:
                raise Unavailable("bench-search exited %s: %s" % (rc, file_tail(err, 400)))
            with open(out) as f:
                res = json.loads(f.read().strip().splitlines()[-1])
            worst = max(q["p99_ms"] for q in res["queries"].values())
            res["available"] = True
            res["worst_p99_ms"] = worst
            res["budget_ms"] = 50
            log("search: %d events, worst p99 %.2f ms, %d disk bytes per event"
                % (res["events"], worst, res["diskBytesPerEvent"]))
        except (Unavailable, OSError, ValueError, KeyError) as e:
            log("search: not available: %s" % e)
            res = {"available": False, "reason": str(e)}
        finally:
            shutil.rmtree(os.path.join(d, "spool"), ignore_errors=True)
        section = {"sendarix": res}
        if res.get("available"):
            section["ratio_worst_p99_to_budget"] = round(res["worst_p99_ms"] / 50.0, 4)
        self.results["search"] = section

    # ---- 6. DKIM signing ------------------------------------------------------------------

    def scenario_outage(self):
        """Provider outage with a deep queue (bench.d/outage.py); only with --only outage."""
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import outage
        outage.run(self)

    def scenario_raftmap(self):
        """3-node cluster filling its queue with bodies in the raft log: raft map growth, accept
        rate across it (bench.d/raftmap.py); only with --only raftmap."""
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import raftmap
        raftmap.run(self)

    def scenario_restart(self):
        """Restart with a deep queue (bench.d/restart.py); only with --only restart."""
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import restart
        restart.run(self)

    def scenario_spamfilter(self):
        """Accept rate with rspamd scoring against the same run without (bench.d/spamfilter.py);
        only with --only spamfilter."""
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import spamfilter
        spamfilter.run(self)

    def scenario_sessions(self):
        """10,000 idle TLS sessions (bench.d/sessions_bench.py); only with --only sessions."""
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import sessions_bench
        sessions_bench.run(self)

    def scenario_heap(self):
        """Heap over a long relay run (bench.d/heap_bench.py); only with --only heap."""
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import heap_bench
        heap_bench.run(self)

    def scenario_wan(self):
        """Accept latency per leader placement across 40 ms regions (bench.d/wan_bench.py); only with --only wan."""
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import wan_bench
        wan_bench.run(self)

    def scenario_dkim(self):
        """Relay end to end with DKIM signing on both sides: smtp-source -> Sendarix (a sending
        domain bench.test, added and verified through its own DNS zone: RSA-2048 + Ed25519) ->
        smtp-sink, and smtp-source -> Postfix + OpenDKIM milter (RSA-2048) -> smtp-sink. Sendarix
        also relays the same load from a domain that is not a sending domain (unsigned), so the
        CPU that signing costs per message is measured in the same run. Every message at the sinks
        is counted for its signatures; one of each side is verified with dkimpy when present."""
        a = self.args
        res = {"messages": a.relay_messages, "message_bytes": 5120, "sessions": a.sessions,
               "sendarix_algorithms": ["rsa-sha256 (2048)", "ed25519-sha256"],
               "postfix_algorithms": ["rsa-sha256 (2048)"]}
        res["rounds"] = a.rounds
        for t, runs in self.rounds(self.measure_dkim).items():
            for key in ((t,) if t == "postfix" else ("sendarix", "sendarix_unsigned")):
                res[key] = combine([r[key] for r in runs], "msgs_per_s")
        res["ratio_msgs_per_s"] = ratio(res, "msgs_per_s")
        res["ratio_cpu"] = ratio(res, "cpu_s_per_1000")
        res["ratio_signing_cpu"] = ratio(res, "signing_cpu_ms_per_msg")
        self.results["dkim"] = res

    def measure_dkim(self, target):
        """One round of one side: {"postfix": entry} or {"sendarix": signed, "sendarix_unsigned": entry}."""
        if target == "postfix":
            return {"postfix": self.measure_dkim_postfix()}
        signed, unsigned = self.measure_dkim_sendarix()
        return {"sendarix": signed, "sendarix_unsigned": unsigned}

    def dkim_run(self, server, sink, sender, count, d, tag, dump, extra_cpu=None):
        """smtp-source (`sender` as envelope and From) -> server -> sink; one measured run.
        Returns the entry with msgs/s, CPU and the signatures found in the sink's dump."""
        a = self.args
        base = sink.received()
        dump_start = os.path.getsize(dump) if os.path.exists(dump) else 0
        cpu0 = server.cpu_seconds()
        x0 = extra_cpu() if extra_cpu else 0.0
        t0 = time.monotonic()
        out = os.path.join(d, "smtp-source-%s.log" % tag)
        argv = ["smtp-source", "-s", str(a.sessions), "-l", "5120", "-m", str(count),
                "-f", sender, "-t", RECIPIENT, "%s:%d" % (server.ip, server.port)]
        p = PROCS.spawn("smtp-source", argv, stdout=out, stderr=out)
        try:
            rc = p.wait(timeout=300 + count * 0.1)
        except subprocess.TimeoutExpired:
            rc = None
        secs = time.monotonic() - t0
        PROCS.stop(p)
        if rc != 0:
            raise Unavailable("smtp-source failed after %.1fs: %s" % (secs, file_tail(out, 400)))
        got, t_last = sink.wait_for(base + count, stall_seconds=30.0, max_seconds=max(120.0, count * 0.05))
        cpu1 = server.cpu_seconds()
        x1 = extra_cpu() if extra_cpu else 0.0
        delivered = got - base
        span = max(t_last - t0, secs)
        cpu = (cpu1 - cpu0) + (x1 - x0)
        sigs = dkim_signatures(dump, dump_start)
        entry = {"available": True, "accepted": count, "delivered": delivered,
                 "accept_seconds": round(secs, 3), "seconds": round(span, 3),
                 "msgs_per_s": round(delivered / span, 1) if span > 0 else None,
                 "cpu_s_per_1000": round(cpu * 1000.0 / delivered, 3) if delivered else None,
                 "signatures": sigs}
        if extra_cpu and delivered:
            entry["milter_cpu_s_per_1000"] = round((x1 - x0) * 1000.0 / delivered, 3)
        if delivered < count:
            entry["note"] = "only %d of %d reached the sink" % (delivered, count)
        log("dkim: %s: %s msg/s end to end, %s CPU s / 1000, signatures %s"
            % (tag, entry["msgs_per_s"], entry["cpu_s_per_1000"], sigs))
        return entry

    def dkim_sink(self, d, name, ip, port):
        """A sink that also appends every message to d/dump/NAME (smtp-sink -D; it runs as
        nobody, so the directory is world-writable)."""
        dump_dir = os.path.join(d, "dump")
        os.makedirs(dump_dir, exist_ok=True)
        os.chmod(dump_dir, 0o777)
        dump = os.path.join(dump_dir, name)
        sink = DumpSink(d, name, ip, port, dump)
        return sink, dump

    def measure_dkim_sendarix(self):
        a = self.args
        d = self.dir("dkim-sendarix")
        sink = server = None
        try:
            sink, dump = self.dkim_sink(d, "sendarix-sink", SX_SINK_IP, SX_SINK_PORT)
            server = SendarixServer(d, a.sendarix_bin, self.cert, self.key, sink, 200)
            # The node serves its own zone bench.test; a sending domain inside it publishes its
            # DKIM records there, and verification asks that responder (nothing leaves 127/8).
            dns_port = pick_port(SX_IP, 5354)
            with open(server.config) as f:
                cfg = json.load(f)
            cfg["listen"]["dns"] = ["%s:%d" % (SX_IP, dns_port)]
            cfg["dns"] = {"zone": "bench.test", "ingressName": "smtp.bench.test", "ttl": 60,
                          "rateLimit": {"enabled": False}}
            cfg["resolver"] = {"nameservers": ["%s:%d" % (SX_IP, dns_port)], "timeoutMs": 2000}
            with open(server.config, "w") as f:
                json.dump(cfg, f, indent=2)
            try:
                server.start()
            except Unavailable as e:
                raise Unavailable("%s; log tail: %s" % (e, server.describe_failure()[-600:]))
            wait_listening(server.ip, server.admin_port, 30.0, what="sendarix admin")
            domain = sendarix_verified_domain(server, "bench.test")
            records = {r["name"]: r["value"] for r in domain.get("records", []) if r.get("purpose") == "dkim"}
            # Probe: one signed message must reach the sink.
            c = SMTPConn(server.ip, server.port)
            try:
                c.greet()
                c.ehlo()
                c.send_message(make_body(1024, "dkim-probe"))
                c.cmd("QUIT")
            finally:
                c.close()
            n, _ = sink.wait_for(1, stall_seconds=a.delivery_probe_timeout, max_seconds=a.delivery_probe_timeout)
            if n < 1:
                raise Unavailable("the probe message did not reach the sink within %.0fs"
                                  % a.delivery_probe_timeout)
            sample = verify_first_message(dump, records)
            log("dkim: sendarix: domain bench.test %s, probe signatures verified with dkimpy: %s"
                % (domain.get("status"), sample))
            count = a.relay_messages
            unsigned = self.dkim_run(server, sink, "from@unsigned.test", count, d, "sendarix-unsigned", dump)
            signed = self.dkim_run(server, sink, SENDER, count, d, "sendarix-signed", dump)
            signed["sample_verification"] = sample
            if signed.get("cpu_s_per_1000") is not None and unsigned.get("cpu_s_per_1000") is not None:
                signed["signing_cpu_ms_per_msg"] = round(signed["cpu_s_per_1000"] - unsigned["cpu_s_per_1000"], 3)
            if signed["signatures"].get("messages_signed") != signed["delivered"]:
                signed["note"] = "only %s of %d messages at the sink carry signatures" % (
                    signed["signatures"].get("messages_signed"), signed["delivered"])
            return signed, unsigned
        except (Unavailable, OSError, SMTPError) as e:
            log("dkim: sendarix: %s" % e)
            gone = {"available": False, "reason": str(e)}
            return gone, dict(gone)
        finally:
            if server:
                server.stop()
            if sink:
                sink.stop()

    def measure_dkim_postfix(self):
        d = self.dir("dkim-postfix")
        sink = server = milter = None
        try:
            if shutil.which("opendkim") is None:
                raise Unavailable("opendkim not installed (apt-get install opendkim; cluster/lib/deps.sh test lists it)")
            sink, dump = self.dkim_sink(d, "postfix-sink", PF_SINK_IP, PF_SINK_PORT)
            milter = OpenDKIMSigner(d, "bench.test", "pf2048")
            milter.start()
            server = PostfixServer(d, self.cert, self.key, sink, smtpd_maxproc=200)
            with open(os.path.join(server.etc, "main.cf"), "a") as f:
                f.write("# DKIM signing by the OpenDKIM milter\nsmtpd_milters = inet:%s:%d\n"
                        "milter_default_action = tempfail\n" % (milter.ip, milter.port))
            try:
                server.start()
            except Unavailable as e:
                raise Unavailable("%s; log tail: %s" % (e, server.describe_failure()[-600:]))
            c = SMTPConn(server.ip, server.port)
            try:
                c.greet()
                c.ehlo()
                c.send_message(make_body(1024, "dkim-probe"))
                c.cmd("QUIT")
            finally:
                c.close()
            n, _ = sink.wait_for(1, stall_seconds=self.args.delivery_probe_timeout,
                                 max_seconds=self.args.delivery_probe_timeout)
            if n < 1:
                raise Unavailable("the probe message did not reach the sink: %s" % server.describe_failure()[-600:])
            sample = verify_first_message(dump, {milter.record_name: milter.record})
            log("dkim: postfix: probe signature verified with dkimpy: %s" % sample)
            e = self.dkim_run(server, sink, SENDER, self.args.relay_messages, d, "postfix-opendkim", dump,
                              extra_cpu=milter.cpu_seconds)
            e["sample_verification"] = sample
            if e.get("milter_cpu_s_per_1000") is not None:
                e["signing_cpu_ms_per_msg"] = e["milter_cpu_s_per_1000"]
            if e["signatures"].get("messages_signed") != e["delivered"]:
                e["note"] = "only %s of %d messages at the sink carry a signature" % (
                    e["signatures"].get("messages_signed"), e["delivered"])
            return e
        except (Unavailable, OSError, SMTPError) as e:
            log("dkim: postfix: %s" % e)
            return {"available": False, "reason": str(e)}
        finally:
            if server:
                server.stop()
            if milter:
                milter.stop()
            if sink:
                sink.stop()


class ClusterNodes:
    """`count` Sendarix nodes on 127.0.4.1 … (Raft peers on port 7700 of each when count > 1),
    relay on a free port, admin on a free port; `dns` adds the responder for relay.test."""

    class Node:
        def __init__(self, ip, port, admin_port):
            self.ip, self.port, self.admin_port = ip, port, admin_port
            self.proc = None
            self.name = "sendarix"

    def __init__(self, root, binary, count=3, dns=False):
        if not binary or not os.access(binary, os.X_OK):
            raise Unavailable("binary %s not found (build it or pass --sendarix-bin)" % binary)
        self.root, self.binary, self.count = root, binary, count
        self.nodes = []
        secret = os.path.join(root, "cluster.key")
        with open(secret, "w") as f:
            f.write("bench-cluster-secret-%d" % os.getpid())
        self.dns_port = pick_port("127.0.4.1", 5353) if dns else None
        ips = ["127.0.4.%d" % (i + 1) for i in range(count)]
        for i, ip in enumerate(ips):
            n = ClusterNodes.Node(ip, pick_port(ip, 2525), pick_port(ip, 8025))
            cfg = {
                "node": {"id": "n%d" % (i + 1), "hostname": "n%d.relay.test" % (i + 1),
                         "dataDir": os.path.join(root, "n%d" % (i + 1))},
                "listen": {"submission": [], "smtps": [], "relay": ["%s:%d" % (ip, n.port)],
                           "admin": "%s:%d" % (ip, n.admin_port)},
                "policy": {"trustedNetworks": ["127.0.0.0/8"], "maxConnectionsPerIP": 500},
                "limits": {"maxConnections": 10000},
                "delivery": {"enabled": False},
                "adminToken": ADMIN_TOKEN,
            }
            if count > 1:
                cfg["listen"]["peer"] = "%s:7700" % ip
                cfg["cluster"] = {"secretFile": secret,
                                  "peers": [{"id": "n%d" % (j + 1), "address": "%s:7700" % other}
                                            for j, other in enumerate(ips) if other != ip]}
            if dns:
                cfg["listen"]["dns"] = ["%s:%d" % (ip, self.dns_port)]
                # dnsperf is one client asking one name as fast as it can: response rate limiting
                # (on by default) would measure the limiter, not the responder.
                cfg["dns"] = {"zone": "relay.test", "ingressName": "smtp.relay.test", "ttl": 60,
                              "rateLimit": {"enabled": False}}
            n.config = os.path.join(root, "n%d.json" % (i + 1))
            n.logfile = os.path.join(root, "n%d.log" % (i + 1))
            with open(n.config, "w") as f:
                json.dump(cfg, f, indent=2)
            self.nodes.append(n)

    def start_node(self, n):
        n.proc = PROCS.spawn("sendarix", [self.binary, "serve", "--config", n.config],
                             stdout=n.logfile, stderr=n.logfile)
        wait_smtp_ready(n.ip, n.port, 60.0, n.proc, what="sendarix %s" % n.ip)

    def start(self):
        for n in self.nodes:
            self.start_node(n)

    def stop(self):
        for n in self.nodes:
            if n.proc is not None:
                PROCS.stop(n.proc, grace=15.0)
                n.proc = None

    def node(self, node_id):
        return self.nodes[int(node_id[1:]) - 1]

    def admin(self, n, path):
        try:
            c = http.client.HTTPConnection(n.ip, n.admin_port, timeout=5)
            c.request("GET", path, headers={"Authorization": "Bearer " + ADMIN_TOKEN})
            r = c.getresponse()
            body = r.read()
            c.close()
            return r.status, json.loads(body) if body[:1] in (b"{", b"[") else body
        except (OSError, http.client.HTTPException, ValueError):
            return None, None

    def wait_leader(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for n in self.nodes:
                if n.proc is None:
                    continue
                st, body = self.admin(n, "/v1/cluster/status")
                if st == 200 and isinstance(body, dict) and body.get("leader") and body.get("hasQuorum"):
                    return body["leader"]
            time.sleep(0.1)
        raise Unavailable("no leader elected within %.0f s" % timeout)

    def failover(self, leader, seconds_before, seconds_after, clients=6):
        """Retrying clients (one message per connection, rotating over the nodes) while the
        leader is SIGKILLed; then the killed node restarts and every acknowledged queue id is
        looked up on every node."""
        acks, lock, stop = [], threading.Lock(), threading.Event()

        def client(k):
            i = 0
            while not stop.is_set():
                n = self.nodes[(i + k) % len(self.nodes)]
                i += 1
                try:
                    c = SMTPConn(n.ip, n.port, timeout=3.0)
                    c.greet()
                    c.ehlo()
                    _, text = c.send_message(make_body(1024, "failover"), with_reply=True)
                    c.close()
                    if "queued as" in text:
                        with lock:
                            acks.append((time.monotonic(), text.split()[-1]))
                except (OSError, SMTPError, ValueError):
                    time.sleep(0.05)

        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
        for t in threads:
            t.start()
        time.sleep(seconds_before)
        victim = self.node(leader)
        t_kill = time.monotonic()
        os.killpg(victim.proc.pid, signal.SIGKILL)
        victim.proc.wait()
        victim.proc = None
        time.sleep(seconds_after)
        stop.set()
        for t in threads:
            t.join(timeout=10)
        times = sorted(t for t, _ in acks)
        gap = max((b - a for a, b in zip(times, times[1:]) if b > t_kill), default=None)
        first_after = next((t - t_kill for t in times if t > t_kill), None)
        self.start_node(victim)
        self.wait_leader(30.0)
        ids = [q for _, q in acks]
        # Wait until every node applied as far as the leader committed, then look every id up.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            applied = [(self.admin(n, "/v1/cluster/status")[1] or {}).get("applied") for n in self.nodes]
            if None not in applied and len(set(applied)) == 1:
                break
            time.sleep(0.2)
        lost = 0
        for q in ids:
            for n in self.nodes:
                st, _ = self.admin(n, "/v1/queue/" + q)
                if st != 200:
                    lost += 1
                    break
        return {"failover_gap_s": round(gap, 3) if gap is not None else None,
                "first_ack_after_kill_s": round(first_after, 3) if first_after is not None else None,
                "acknowledged": len(ids), "lost": lost}


# --------------------------------------------------------------------------------------------
# DKIM scenario helpers


class DumpSink(Sink):
    """A counting smtp-sink that also appends every message to `dump` (`smtp-sink -D`)."""

    def __init__(self, root, name, ip, preferred_port, dump):
        self.ip = ip
        self.port = pick_port(ip, preferred_port)
        self.out = os.path.join(root, "%s.out" % name)
        argv = ["smtp-sink", "-c", "-m", "1024", "-D", dump]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        argv += ["%s:%d" % (ip, self.port), "1024"]
        self.proc = PROCS.spawn(name, ["script", "-qfec", " ".join(argv), "/dev/null"],
                                stdout=self.out, stderr=self.out)
        try:
            wait_smtp_ready(ip, self.port, 10.0, self.proc, what=name)
        except BaseException:
            self.stop()
            raise
        self.base = self.count()


class OpenDKIMSigner:
    """Debian's opendkim as a signing milter (mode s, RSA-2048 key made here, relaxed/relaxed,
    rsa-sha256, From oversigned) on PF_IP, for the Postfix side of the dkim scenario. Signing asks
    no DNS question, so no resolver is configured: OpenDKIM 2.11 re-reads a ResolverConfiguration
    file at every milter connection, from concurrent threads, and its (non-reentrant) unbound
    config parser then fails and the milter tempfails mail."""

    def __init__(self, root, domain, selector):
        self.dir = os.path.join(root, "opendkim")
        os.makedirs(self.dir, exist_ok=True)
        self.ip = PF_IP
        self.port = pick_port(PF_IP, 8891)
        self.logfile = os.path.join(self.dir, "opendkim.log")
        key = os.path.join(self.dir, "key.pem")
        r = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                            "-out", key], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise Unavailable("openssl genpkey failed: %s" % r.stderr.decode()[-300:])
        os.chmod(key, 0o600)
        der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout
        self.record_name = "%s._domainkey.%s" % (selector, domain)
        self.record = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
        self.conf = os.path.join(self.dir, "opendkim.conf")
        with open(self.conf, "w") as f:
            f.write("Mode s\nDomain %s\nSelector %s\nKeyFile %s\nCanonicalization relaxed/relaxed\n"
                    "SignatureAlgorithm rsa-sha256\nOversignHeaders From\nInternalHosts csl:127.0.0.0/8\n"
                    "RequireSafeKeys no\nSocket inet:%d@%s\nBackground no\nSyslog no\nPidFile %s\n"
                    % (domain, selector, key, self.port, self.ip, os.path.join(self.dir, "opendkim.pid")))
        self.proc = None

    def start(self):
        self.proc = PROCS.spawn("opendkim", ["opendkim", "-x", self.conf, "-f"],
                                stdout=self.logfile, stderr=self.logfile)
        try:
            wait_listening(self.ip, self.port, 20.0, what="opendkim")
        except Unavailable as e:
            raise Unavailable("%s: %s" % (e, file_tail(self.logfile, 400)))

    def cpu_seconds(self):
        return tree_cpu_seconds(self.proc.pid) or 0.0

    def stop(self):
        if self.proc is not None:
            PROCS.stop(self.proc)
            self.proc = None


def dkim_signatures(dump, offset=0):
    """Signatures in the messages appended to an smtp-sink dump since `offset`: messages,
    messages with at least one DKIM-Signature, and the count per algorithm."""
    try:
        with open(dump, "rb") as f:
            f.seek(offset)
            text = f.read().decode("latin-1")
    except FileNotFoundError:
        return {"messages": 0, "messages_signed": 0}
    messages = [m for m in re.split(r"(?m)^(?=X-Client-Addr: )", text) if m.startswith("X-Client-Addr: ")]
    out = {"messages": len(messages), "messages_signed": 0}
    for m in messages:
        head = m.split("\n\n", 1)[0]
        sigs = re.findall(r"(?m)^DKIM-Signature:((?:.*\n[ \t].*)*.*)", head)
        if sigs:
            out["messages_signed"] += 1
        for s in sigs:
            alg = re.search(r"a=([a-z0-9-]+)", s)
            key = alg.group(1) if alg else "?"
            out[key] = out.get(key, 0) + 1
    return out


def verify_first_message(dump, records):
    """dkimpy's verdict on each signature of the first message in the dump, keys taken from
    `records` (DNS name -> TXT value); None when python3-dkim is not installed."""
    try:
        import dkim
    except ImportError:
        return None
    try:
        with open(dump, "rb") as f:
            text = f.read(1 << 20).decode("latin-1")
    except FileNotFoundError:
        return "no message"
    first = [m for m in re.split(r"(?m)^(?=X-Client-Addr: )", text) if m.startswith("X-Client-Addr: ")][:1]
    if not first:
        return "no message"
    msg = first[0].replace("\r\n", "\n").replace("\n", "\r\n").encode("latin-1")

    def dnsfunc(name, timeout=5):
        v = records.get(name.decode().rstrip("."))
        return v.encode() if v else None

    d = dkim.DKIM(msg)
    n = len([h for h in d.headers if h[0].lower() == b"dkim-signature"])
    verdicts = []
    for i in range(n):
        try:
            verdicts.append("pass" if d.verify(idx=i, dnsfunc=dnsfunc) else "fail")
        except Exception as e:  # dkimpy raises for unusable keys or records
            verdicts.append("error (%s)" % e)
    return " ".join(verdicts) or "unsigned"


def sendarix_verified_domain(server, name, timeout=20.0):
    """Adds sending domain `name` through the admin API and asks for verification until the
    node finds its records (its own zone refreshes every second). Returns the domain JSON."""
    def call(method, path, body=None):
        c = http.client.HTTPConnection(server.ip, server.admin_port, timeout=30)
        headers = {"Authorization": "Bearer " + ADMIN_TOKEN, "Content-Type": "application/json"}
        c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = c.getresponse()
        data = r.read().decode("utf-8", "replace")
        c.close()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, {"text": data}

    status, domain = call("POST", "/v1/domains", {"domain": name, "tenant": "bench"})
    if status != 201:
        raise Unavailable("POST /v1/domains: %d %s" % (status, domain))
    deadline = time.monotonic() + timeout
    while True:
        status, v = call("POST", "/v1/domains/%s/verify" % name)
        if status == 200 and v.get("status") == "verified":
            return v
        if time.monotonic() > deadline:
            raise Unavailable("sending domain %s not verified after %.0fs: %d %s" % (name, timeout, status, v))
        time.sleep(0.5)


def combine(entries, key):
    """The median round (by `key`, lower median) among the available ones, with every round's
    `key` listed under `rounds`; the first entry when none is available."""
    ok = sorted((e for e in entries if e.get("available") and e.get(key) is not None),
                key=lambda e: e[key])
    if not ok:
        return entries[0]
    med = dict(ok[(len(ok) - 1) // 2])
    if len(entries) > 1:
        med["rounds"] = [e.get(key) if e.get("available") else None for e in entries]
        webhook_bench.keep_rounds(med, entries)
    return med


def ratio(section, key, sub=None):
    """Sendarix / Postfix for one figure, or None when either side is missing."""
    def get(t):
        v = section.get(t) or {}
        v = v.get(key) if isinstance(v, dict) else None
        if sub is not None:
            v = v.get(sub) if isinstance(v, dict) else None
        return v
    p, s = get("postfix"), get("sendarix")
    if not p or s is None:
        return None
    return round(s / p, 3)


# --------------------------------------------------------------------------------------------
# Report


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, float):
        v = ("%.3f" % v) if abs(v) < 10 else ("%.1f" % v)
    return "%s%s" % (v, unit)


def side(section, target, key, sub=None):
    v = section.get(target) or {}
    if not v.get("available", False):
        return "n/a"
    v = v.get(key)
    if sub is not None:
        v = v.get(sub) if isinstance(v, dict) else None
    return fmt(v)


def dkim_rows(dk, r):
    """Report rows of the dkim scenario (none when it did not run)."""
    if not dk:
        return []
    unsigned = {"sendarix": dk.get("sendarix_unsigned") or {}}
    return [
        ("DKIM relay end-to-end msgs/s (Postfix+OpenDKIM RSA; Sendarix RSA+Ed25519)",
         side(dk, "postfix", "msgs_per_s"), side(dk, "sendarix", "msgs_per_s"), r(dk.get("ratio_msgs_per_s")), "higher"),
        ("DKIM relay CPU s / 1000 msgs (Postfix incl. opendkim)", side(dk, "postfix", "cpu_s_per_1000"),
         side(dk, "sendarix", "cpu_s_per_1000"), r(dk.get("ratio_cpu")), "lower"),
        ("  signing CPU ms / msg (opendkim; Sendarix signed - unsigned)", side(dk, "postfix", "signing_cpu_ms_per_msg"),
         side(dk, "sendarix", "signing_cpu_ms_per_msg"), r(dk.get("ratio_signing_cpu")), "lower"),
        ("  Sendarix unsigned (same run): msgs/s", "", side(unsigned, "sendarix", "msgs_per_s"), "", ""),
        ("  Sendarix unsigned (same run): CPU s / 1000 msgs", "", side(unsigned, "sendarix", "cpu_s_per_1000"), "", ""),
    ]


def print_report(results, meta):
    rows = []  # (metric, postfix, sendarix, ratio, better)

    def r(v):
        if v is None:
            return "-"
        return ("%.2fx" % v) if v >= 0.1 else ("%.4fx" % v)

    acc = results.get("accept")
    if acc:
        for size, sec in acc["sizes"].items():
            label = "%d KB" % (int(size) // 1024)
            rows.append(("accept %s: msgs/s" % label, side(sec, "postfix", "msgs_per_s"),
                         side(sec, "sendarix", "msgs_per_s"), r(sec.get("ratio_msgs_per_s")), "higher"))
            rows.append(("accept %s: p50 latency ms" % label, side(sec, "postfix", "latency", "p50_ms"),
                         side(sec, "sendarix", "latency", "p50_ms"), r(sec.get("ratio_p50")), "lower"))
            rows.append(("accept %s: p99 latency ms" % label, side(sec, "postfix", "latency", "p99_ms"),
                         side(sec, "sendarix", "latency", "p99_ms"), r(sec.get("ratio_p99")), "lower"))
            rows.append(("accept %s: CPU s / 1000 msgs" % label, side(sec, "postfix", "cpu_s_per_1000"),
                         side(sec, "sendarix", "cpu_s_per_1000"), r(sec.get("ratio_cpu")), "lower"))
    rss = results.get("rss")
    if rss:
        rows.append(("RSS KB per idle TLS session", side(rss, "postfix", "rss_per_session_kb"),
                     side(rss, "sendarix", "rss_per_session_kb"), r(rss.get("ratio_rss_per_session")), "lower"))
        rows.append(("  same, Postfix smtpd PSS instead of RSS", side(rss, "postfix", "pss_per_session_kb"),
                     side(rss, "sendarix", "rss_per_session_kb"), r(rss.get("ratio_rss_vs_postfix_pss")),
                     "lower"))
    rel = results.get("relay")
    if rel:
        rows.append(("relay end-to-end msgs/s", side(rel, "postfix", "msgs_per_s"),
                     side(rel, "sendarix", "msgs_per_s"), r(rel.get("ratio_msgs_per_s")), "higher"))
        rows.append(("relay CPU s / 1000 msgs", side(rel, "postfix", "cpu_s_per_1000"),
                     side(rel, "sendarix", "cpu_s_per_1000"), r(rel.get("ratio_cpu")), "lower"))
    cl = results.get("cluster")
    if cl:
        rows.append(("3-node cluster accept 5 KB: msgs/s (Postfix: 1 node)", side(cl, "postfix", "msgs_per_s"),
                     side(cl, "sendarix", "msgs_per_s"), r(cl.get("ratio_msgs_per_s")), "higher"))
        rows.append(("3-node cluster accept 5 KB: p99 latency ms", side(cl, "postfix", "latency", "p99_ms"),
                     side(cl, "sendarix", "latency", "p99_ms"), r(cl.get("ratio_p99")), "lower"))
        rows.append(("leader SIGKILL: longest gap between 250s, s", "", side(cl, "sendarix", "failover_gap_s"),
                     "", "lower"))
        rows.append(("leader SIGKILL: acknowledged messages lost", "", side(cl, "sendarix", "lost"), "", "0"))
    se = results.get("search")
    if se and (se.get("sendarix") or {}).get("available"):
        sr = se["sendarix"]
        rows.append(("event search: events stored (filled through SpoolStore)", "", fmt(sr.get("events")), "", ""))
        for kind, q in sorted(sr.get("queries", {}).items()):
            rows.append(("event search %s: p50 / p99 ms" % kind, "",
                         "%s / %s" % (fmt(q.get("p50_ms")), fmt(q.get("p99_ms"))), "", "< 50"))
        rows.append(("event search: disk bytes per event", "", fmt(sr.get("diskBytesPerEvent")), "", "lower"))
    dp = results.get("dnsperf")
    if dp:
        rows.append(("DNS responder: queries/s (ingress name)", "", side(dp, "sendarix", "queries_per_s"),
                     "", "higher"))

    nm = (results.get("nemesis") or {}).get("sendarix") or {}
    if nm.get("available"):
        for label, key, better in (
                ("leader kills (back to back)", "nemesis.leaderKills", ""),
                ("leader kills: acknowledged lost", "nemesis.lost", "0"),
                ("leader kills: stuck", "nemesis.stuck", "0"),
                ("leader kills: longest interval without 250, s", "nemesis.maxAcceptGapSeconds", "lower"),
                ("leader kills: p50 gap per kill, s", "nemesis.p50AcceptGapSeconds", "lower"),
                ("leader kills: p50 takeover of leased mail, s", "nemesis.p50TakeoverSeconds", "lower"),
                ("leader kills: max takeover of leased mail, s", "nemesis.maxTakeoverSeconds", "lower"),
                ("leader kills: duplicates per kill", "nemesis.duplicatesPerKill", "lower")):
            rows.append((label, "", fmt(nm.get(key)), "", better))
    rows += dkim_rows(results.get("dkim"), r)
    import relaybytes
    rows += relaybytes.report_rows(results.get("relaybytes"), sys.modules[__name__], r)
    import clusterbytes
    rows += clusterbytes.report_rows(results.get("clusterbytes"), sys.modules[__name__], r)
    if results.get("outage") or results.get("restart") or results.get("costTable"):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import deepqueue
        rows += deepqueue.report_rows(results)

    head = ("metric", "Postfix", "Sendarix", "S/P", "better")
    widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(5)]
    line = "  ".join("%-*s" % (widths[0], head[0]) if i == 0 else "%*s" % (widths[i], head[i])
                     for i in range(5))
    print()
    if meta.get("self_test"):
        print("SELF-TEST: the Sendarix column measures a Python test double "
              "(cluster/bench.d/fake-sendarix), not Sendarix")
    print("Sendarix vs Postfix %s on %s (%d CPUs, load average %s at start, %s at end)%s"
          % (meta["postfix_version"], meta["host"], meta["cpus"], meta["loadavg_start"],
             meta["loadavg_end"], "; median of %d rounds" % meta["rounds"] if meta["rounds"] > 1 else ""))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join("%-*s" % (widths[0], row[0]) if i == 0 else "%*s" % (widths[i], row[i])
                        for i in range(5)))
    notes = []
    for name, sec in results.items():
        if not isinstance(sec, dict) or name == "costTable":  # rows, printed by deepqueue.report_rows
            continue
        if "sizes" in sec:
            items = [(name + " " + s, v) for s, v in sec["sizes"].items()]
        else:
            items = [(name, sec)]
        for label, v in items:
            for t in ("postfix", "sendarix"):
                e = v.get(t)
                if isinstance(e, dict) and not e.get("available", True):
                    notes.append("%s %s: %s" % (label, t, e.get("reason", "")[:300]))
                elif isinstance(e, dict) and e.get("note"):
                    notes.append("%s %s: %s" % (label, t, e["note"]))
    if float(meta["loadavg_start"]) > 0.5 or float(meta["loadavg_end"]) > 2.5:
        notes.append("the machine was busy with other work (load average %s -> %s): absolute "
                     "figures are noisy; --rounds N alternates the servers and reports medians"
                     % (meta["loadavg_start"], meta["loadavg_end"]))
    if nm.get("kills"):
        print()
        print("leader kills (cluster/nemesis): kill, killed -> new leader (seconds to see it), longest "
              "interval without 250 after the kill, messages leased by the dead node, their takeover, duplicates")
        for i, k in enumerate(nm["kills"], 1):
            print("  %3d  %s -> %s (%5s s)  gap %5.2f s  leased %3s  takeover %5.2f s  dup %s"
                  % (i, k["node"], k["newLeader"], k["electionSeconds"], k["acceptGapSeconds"] or 0,
                     k["leased"], k["takeoverSeconds"] or 0, k["duplicates"]))
    if notes:
        print()
        for n in notes:
            print("note: " + n)
    print()


# --------------------------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(prog="cluster/bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short run (fewer messages and sessions)")
    p.add_argument("--only", action="append", default=None,
                   choices=["accept", "rss", "relay", "cluster", "dnsperf", "dkim", "nemesis", "spamfilter", "search",
                            "sessions", "heap", "wan", "relaybytes", "outage", "restart", "clusterbytes", "raftmap"],
                   help="run only this scenario (repeatable)")
    p.add_argument("--messages", type=int, default=None,
                   help="5 KB messages for accept (100 KB runs use a quarter); relay uses "
                        "half (all with --quick). Default 20000, --quick 2000")
    p.add_argument("--sessions", type=int, default=20, help="smtp-source sessions (default 20)")
    p.add_argument("--clusterbytes-sizes", default="102400",
                   help="clusterbytes: message sizes in bytes, comma list (default 102400)")
    p.add_argument("--nemesis-kills", type=int, default=None,
                   help="leader kills of the nemesis scenario (default 100, --quick 10)")
    p.add_argument("--search-events", type=int, default=None,
                   help="events stored for the search scenario (default 10000000, --quick 200000)")
    p.add_argument("--outage-depth", type=int, default=None,
                   help="queue depth the outage scenario grows to (default 1000000, --quick 20000)")
    p.add_argument("--outage-drain", type=int, default=None,
                   help="seconds the outage scenario watches the backlog drain (default 60, --quick 30)")
    p.add_argument("--outage-retry", default=None,
                   help="outage scenario retry schedule, seconds, comma list (default 60,300,900; --quick 10,30,60,120)")
    p.add_argument("--restart-depth", type=int, default=None,
                   help="queue depth of the restart scenario (default 1000000 single node, a tenth in "
                        "the cluster; --quick 20000)")
    p.add_argument("--raftmap-messages", type=int, default=None,
                   help="5 KB messages the raftmap scenario queues on 3 nodes (default 100000, --quick 20000)")
    p.add_argument("--raftmap-map-mb", type=int, default=64,
                   help="raftmap scenario: cluster.raftMapSizeMB the nodes open with (default 64)")
    p.add_argument("--restart-no-cluster", action="store_true",
                   help="restart scenario: the single node only")
    p.add_argument("--restart-cluster-depth", type=int, default=None,
                   help="queue depth of the restart scenario's 3-node cluster (default a tenth of --restart-depth)")
    p.add_argument("--restart-no-single", action="store_true",
                   help="restart scenario: the 3-node cluster only")
    p.add_argument("--restart-minutes", type=float, default=None,
                   help="restart scenario: after this many minutes, skip the phases not yet begun (default no limit)")
    p.add_argument("--restart-checkpoints", default=None,
                   help="restart scenario: cluster depths (comma list) at which a follower and the leader "
                        "are restarted on the way to --restart-cluster-depth")
    p.add_argument("--restart-fill-sessions", type=int, default=None,
                   help="restart scenario: SMTP sessions of each fill smtp-source (default 20)")
    p.add_argument("--restart-fill-only", action="store_true",
                   help="restart scenario: stop the cluster after its fill (fill rate and CPU per message)")
    p.add_argument("--tls-sessions", type=int, default=None,
                   help="idle STARTTLS sessions for rss (default 500, --quick 100)")
    p.add_argument("--idle-sessions", type=int, default=None,
                   help="idle TLS sessions of the sessions scenario (default 10000, --quick 1000)")
    p.add_argument("--session-messages", type=int, default=None,
                   help="5 KB messages per step of the sessions scenario (default 5000, --quick 1000)")
    p.add_argument("--idle-seconds", type=float, default=None,
                   help="idle CPU sampling window per step of the sessions scenario (default 10, --quick 3)")
    p.add_argument("--heap-messages", type=int, default=None,
                   help="5 KB messages relayed by the heap scenario (default 200000, --quick 20000)")
    p.add_argument("--targets", default="postfix,sendarix",
                   help="comma list of servers to measure (default postfix,sendarix)")
    p.add_argument("--sendarix-bin", default=os.environ.get(
        "SENDARIX_BIN", os.path.join(REPO, ".build", "release", "sendarix")),
                   help="Sendarix binary (default $SENDARIX_BIN or .build/release/sendarix)")
    p.add_argument("--build", action="store_true",
                   help="run `swift build -c release --product sendarix` in the repo first")
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat each scenario N times alternating the servers; report medians")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, configs)")
    p.add_argument("--json", metavar="FILE", help="also write the final JSON object to FILE")
    p.add_argument("--self-test", action="store_true",
                   help="check the harness itself: --quick against a Python test double "
                        "(bench.d/fake-sendarix) instead of the Sendarix binary")
    webhook_bench.add_arguments(p)
    a = p.parse_args(argv)
    if a.self_test:
        a.quick = True
        a.sendarix_bin = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake-sendarix")
    if a.rounds < 1:
        p.error("--rounds must be at least 1")
    a.targets = [t.strip() for t in a.targets.split(",") if t.strip()]
    for t in a.targets:
        if t not in ("postfix", "sendarix"):
            p.error("unknown target %r" % t)
    if a.messages is None:
        a.messages = 2000 if a.quick else 20000
    a.messages_large = max(100, a.messages // 4)
    a.relay_messages = a.messages if a.quick else max(100, a.messages // 2)
    if a.tls_sessions is None:
        a.tls_sessions = 100 if a.quick else 500
    a.drain_timeout = 60.0 if a.quick else 180.0
    a.delivery_probe_timeout = 15.0
    if a.search_events is None:
        a.search_events = 200000 if a.quick else 10000000
    if a.idle_sessions is None:
        a.idle_sessions = 1000 if a.quick else 10000
    if a.session_messages is None:
        a.session_messages = 1000 if a.quick else 5000
    if a.idle_seconds is None:
        a.idle_seconds = 3.0 if a.quick else 10.0
    if a.heap_messages is None:
        a.heap_messages = 20000 if a.quick else 200000
    if a.nemesis_kills is None:
        a.nemesis_kills = 10 if a.quick else 100
    # nemesis (100 leader kills, ~15 min) and search (10 M events) run only when asked for:
    # --only nemesis, --only search.
    a.only = a.only or ["accept", "rss", "relay", "cluster", "dnsperf", "dkim"]
    webhook_bench.configure(a)
    return a


def main(argv):
    args = parse_args(argv)

    def on_signal(signum, _frame):
        log("interrupted by signal %d: stopping everything this run started" % signum)
        raise SystemExit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * args.tls_sessions + 1024))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    if args.build:
        log("building sendarix (release)")
        r = subprocess.run(["swift", "build", "-c", "release", "--product", "sendarix"], cwd=REPO)
        if r.returncode != 0:
            log("build failed; Sendarix figures will be missing")

    for tool in ("smtp-source", "smtp-sink", "postfix", "openssl", "script"):
        if not shutil.which(tool):
            raise SystemExit("bench: %s not found (cluster/bench installs postfix)" % tool)

    bench = None
    try:
        bench = Bench(args)
        pv = subprocess.run(["postconf", "-d", "-h", "mail_version"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL).stdout.decode().strip() or "?"
        meta = {"host": socket.gethostname(), "cpus": os.cpu_count(),
                "loadavg_start": "%.2f" % os.getloadavg()[0], "postfix_version": pv,
                "sendarix_bin": args.sendarix_bin, "quick": args.quick, "rounds": args.rounds,
                "self_test": args.self_test, "messages": args.messages,
                "messages_100k": args.messages_large, "relay_messages": args.relay_messages,
                "sessions": args.sessions, "tls_sessions": args.tls_sessions,
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        log("temp dir %s; load average %s" % (bench.root, meta["loadavg_start"]))
        for name in ("accept", "rss", "relay", "cluster", "dnsperf", "dkim", "nemesis", "spamfilter", "search",
                     "sessions", "heap", "wan", "relaybytes", "outage", "restart", "clusterbytes", "raftmap"):
            if name in args.only:
                getattr(bench, "scenario_" + name)()
        meta["loadavg_end"] = "%.2f" % os.getloadavg()[0]
        webhook_bench.add_ratios(bench.results, bench.root)
        print_report(bench.results, meta)
        line = json.dumps({"bench": "sendarix-vs-postfix", "meta": meta, "results": bench.results},
                          sort_keys=True)
        if args.json:
            with open(args.json, "w") as f:
                f.write(line + "\n")
        print(line, flush=True)
        return 0
    finally:
        PROCS.cleanup()
        if bench is not None:
            if args.keep:
                log("kept %s" % bench.root)
            else:
                shutil.rmtree(bench.root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
