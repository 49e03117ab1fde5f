"""The `relaybytes` scenario of cluster/bench (issue 16 item 4: write each body once).

smtp-source -> server -> smtp-sink at 5 KB and 100 KB, each server with its queue on a private
ext4 filesystem on a loop device (a sparse image file under the bench's temp dir), so the block
device's own counters (/sys/block/loopN/stat, sectors written) show exactly what that server's
queue wrote, journal included, and nothing that other programs on the machine write:

  msgs_per_s              messages arriving at the sink per second, end to end (as `relay`)
  relay.bytesPerByte      sectors written to the queue's device x 512 / (messages x message size),
                          from just before smtp-source starts until the queue is empty again and
                          the filesystem is synced (`sync -f`)
  ratio_msgs_per_s        Sendarix / Postfix messages per second (same run)
  ratio_bytes_per_byte    Sendarix / Postfix relay.bytesPerByte

Sendarix's dataDir and Postfix's queue_directory are the mount points; logs stay outside. Needs
root (losetup, mkfs.ext4, mount); without it the scenario reports "not available".
"""

import os
import shutil
import subprocess
import time

# RELAYBYTES_SIZES=102400 (comma-separated) measures only those sizes (quicker A/B runs).
SIZES = tuple(int(x) for x in os.environ.get("RELAYBYTES_SIZES", "5120,102400").split(",") if x.strip())
# RELAYBYTES_WARMUP=N relays N messages of the same size before the measured run (warm figures:
# the queue files already at their working size); 0 (default) measures a fresh server (cold).
WARMUP = int(os.environ.get("RELAYBYTES_WARMUP", "0"))
# RELAYBYTES_SYNC_LOOP=0 skips the secondary `bytesPerByte_syncLoop` count (up to 60 s per run).
SYNC_LOOP = os.environ.get("RELAYBYTES_SYNC_LOOP", "1") != "0"


class LoopFS:
    """A fresh ext4 filesystem on a loop device mounted at `mountpoint`; `stop` unmounts and
    detaches it. `sectors_written` reads the device's counter."""

    def __init__(self, image, mountpoint, size_bytes):
        self.image, self.mountpoint, self.dev = image, mountpoint, None
        for tool in ("losetup", "mkfs.ext4", "mount", "umount"):
            if not shutil.which(tool):
                raise RuntimeError("%s not found" % tool)
        with open(image, "wb") as f:
            f.truncate(size_bytes)
        r = subprocess.run(["losetup", "-f", "--show", image], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if r.returncode != 0:
            os.unlink(image)
            raise RuntimeError("losetup: %s" % r.stderr.decode().strip())
        self.dev = r.stdout.decode().strip()
        try:
            # Initialise inode tables and journal now: lazy init would write in the background
            # while a server is measured.
            # Few inodes: a queue needs few files, and small inode tables are quick to initialise.
            self._run(["mkfs.ext4", "-q", "-F", "-N", "16384", "-E", "lazy_itable_init=0,lazy_journal_init=0",
                       self.dev])
            os.makedirs(mountpoint, exist_ok=True)
            self._run(["mount", self.dev, mountpoint])
            self.mounted = True
            shutil.rmtree(os.path.join(mountpoint, "lost+found"), ignore_errors=True)
            os.chmod(mountpoint, 0o755)
        except BaseException:
            self.mounted = False
            self.stop()
            raise

    @staticmethod
    def _run(argv):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(argv), r.stdout.decode().strip()))

    def sectors_written(self):
        with open("/sys/block/%s/stat" % os.path.basename(self.dev)) as f:
            return int(f.read().split()[6])

    def sync(self):
        subprocess.run(["sync", "-f", self.mountpoint], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def settle(self, quiet_seconds=1.5, max_seconds=60.0):
        """Waits until the device has written nothing for `quiet_seconds` after a sync (the
        server finished its post-delivery updates), then returns the sector counter.

        Syncs every 0.25 s while it waits: a server that keeps dirtying a page while idle (LMDB's
        reader table in lock.mdb, touched by every read transaction, and the file's mtime with it)
        pays a page, a journal commit and an inode-table block per sync, up to 240 times, which
        the kernel alone would write back once per 30 s. Kept for the secondary
        `bytesPerByte_syncLoop` figure."""
        deadline = time.monotonic() + max_seconds
        self.sync()
        self.syncs = 1
        last, since = self.sectors_written(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            self.sync()
            self.syncs += 1
            cur = self.sectors_written()
            if cur != last:
                last, since = cur, time.monotonic()
            elif time.monotonic() - since >= quiet_seconds:
                break
        return last

    def settle_once(self, quiet_seconds=1.5, max_seconds=60.0):
        """Waits until the device has written nothing for `quiet_seconds` WITHOUT syncing (the
        server's own synced writes are done: Sendarix's fdatasync'd commits, Postfix's fsync'd
        queue files), then syncs the filesystem once, so what the kernel would still write back
        later (journal commits, metadata, dirty mmap'd pages, unsynced files) is counted once,
        and returns the sector counter. The same for both servers."""
        deadline = time.monotonic() + max_seconds
        last, since = self.sectors_written(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            cur = self.sectors_written()
            if cur != last:
                last, since = cur, time.monotonic()
            elif time.monotonic() - since >= quiet_seconds:
                break
        self.sync()
        return self.sectors_written()

    def stop(self):
        """Unmounts, detaches and deletes the image. Idempotent. A mount still busy after 5 s (a
        process left in it) is detached lazily (`umount -l`): it leaves the namespace at once and
        the loop device (autoclear after `losetup -d`) goes when its last user does."""
        if getattr(self, "mounted", False):
            for _ in range(20):
                if subprocess.run(["umount", self.mountpoint], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode == 0:
                    break
                time.sleep(0.25)
            else:
                subprocess.run(["umount", "-l", self.mountpoint], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            self.mounted = False
        if self.dev:
            subprocess.run(["losetup", "-d", self.dev], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            self.dev = None
        try:
            os.unlink(self.image)
        except FileNotFoundError:
            pass


def spool_commits(server):
    """Sendarix's LMDB write transactions so far (/metrics), or None (Postfix, or no answer)."""
    if getattr(server, "name", "") != "sendarix":
        return None
    import http.client
    try:
        c = http.client.HTTPConnection(server.ip, server.admin_port, timeout=5)
        c.request("GET", "/metrics", headers={"Authorization": "Bearer " + server_token(server)})
        body = c.getresponse().read().decode("utf-8", "replace")
        c.close()
    except (OSError, http.client.HTTPException):
        return None
    for line in body.splitlines():
        if line.startswith("sendarix_spool_commit_duration_seconds_count"):
            try:
                return float(line.rsplit(" ", 1)[1])
            except ValueError:
                return None
    return None


def server_token(server):
    """The admin token from the server's generated config."""
    import json
    with open(server.config) as f:
        return json.load(f).get("adminToken", "")


def allocated_bytes(root):
    """Bytes allocated to every file under `root` (st_blocks)."""
    total = 0
    for d, _, files in os.walk(root):
        for name in files:
            try:
                total += os.stat(os.path.join(d, name)).st_blocks * 512
            except OSError:
                pass
    return total


def start_breakdown(fs, server, d, m):
    """With RELAYBYTES_BREAKDOWN=1: starts tracing the device's writes (and Sendarix's write and
    sync system calls); (None, None) otherwise or when perf cannot trace."""
    if os.environ.get("RELAYBYTES_BREAKDOWN") != "1":
        return None, None
    import devwrites
    trace = devwrites.DeviceWriteTrace(fs.dev, fs.mountpoint, d)
    try:
        trace.start()
    except (RuntimeError, OSError) as e:
        m.log("relaybytes: no write breakdown: %s" % e)
        trace.abort()
        return None, None
    calls = None
    if getattr(server, "name", "") == "sendarix" and getattr(server, "proc", None) is not None:
        calls = devwrites.SyscallCount(server.proc.pid, d)
        calls.start()
    return trace, calls


def stop_breakdown(trace, calls, mail, delivered):
    """The breakdown of the writes since `start_breakdown`, in bytes per byte of mail."""
    if trace is None:
        return None
    b = trace.stop()
    if b is None:
        return None
    out = {"perByte": {k: round(v / mail, 4) for k, v in b["bytes"].items()},
           "perByteByIssuer": {k: round(v / mail, 4) for k, v in b["by_issuer"].items()},
           "perByteByTargetAndIssuer": {k: round(v / mail, 4) for k, v in b["by_target_and_issuer"].items()},
           "write_requests_per_msg": round(b["write_requests"] / delivered, 2) if delivered else None,
           "flushes_per_msg": round(b["flushes"] / delivered, 2) if delivered else None,
           "jbd2_transactions_per_msg": round(b["jbd2_transactions"] / delivered, 3)
           if delivered and b["jbd2_transactions"] is not None else None}
    if calls is not None:
        c = calls.stop()
        if c and delivered:
            out["syscalls_per_msg"] = {k: round(v / delivered, 2) for k, v in c.items()}
    return out


def measure(bench, m, target):
    """One fresh server per size, its queue on its own loop filesystem. Returns {size: entry}."""
    a = bench.args
    out = {}
    for size in SIZES:
        count = a.relay_messages if size <= 5120 else max(100, a.relay_messages // 4)
        d = bench.dir("relaybytes-%s-%d" % (target, size))
        mount = os.path.join(d, "data" if target == "sendarix" else "spool")
        fs = sink = server = trace = calls = None
        try:
            try:
                # Sparse; large enough that Sendarix's spool reserve (1 GiB by default) is free.
                fs = LoopFS(os.path.join(d, "queue.img"), mount,
                            max(4 << 30, count * size * 4 + (2 << 30)))
            except (RuntimeError, OSError) as e:
                raise m.Unavailable("no loop filesystem: %s" % e)
            m.PROCS.add_stopper(fs.stop)
            sink = bench.sink_for(target, d)
            server = bench.start_server(target, d, sink, max_conn=200)
            c = m.SMTPConn(server.ip, server.port)
            try:
                c.greet()
                c.ehlo()
                c.send_message(m.make_body(1024, "relay-probe"))
                c.cmd("QUIT")
            except (OSError, m.SMTPError) as e:
                raise m.Unavailable("probe message not accepted: %s" % e)
            finally:
                c.close()
            n, _ = sink.wait_for(1, stall_seconds=a.delivery_probe_timeout,
                                 max_seconds=a.delivery_probe_timeout)
            if n < 1:
                raise m.Unavailable("a probe message did not reach the sink")
            if WARMUP > 0:
                # Warm: the same relay before the measured one, so the queue's files have grown to
                # their working size (LMDB reuses freed pages, Postfix its directories) as on a
                # relay that has run for a while. Applied to both servers alike.
                m.log("relaybytes: %s, warm-up %d x %d bytes" % (target, WARMUP, size))
                ok, secs, err = m.run_smtp_source(server, a.sessions, size, WARMUP, d,
                                                  "relaybytes-warmup-%s-%d" % (target, size))
                if not ok:
                    raise m.Unavailable("warm-up smtp-source failed after %.1fs: %s" % (secs, err))
                sink.wait_for(1 + WARMUP, stall_seconds=30.0, max_seconds=max(120.0, WARMUP * 0.05))
            sectors0 = fs.settle_once()  # a clean start: everything written so far is on the device
            trace, calls = start_breakdown(fs, server, d, m)
            m.log("relaybytes: %s, %d x %d bytes" % (target, count, size))
            base = sink.received()
            cpu0 = server.cpu_seconds()
            commits0 = spool_commits(server)
            alloc0 = allocated_bytes(mount)
            t0 = time.monotonic()
            ok, secs, err = m.run_smtp_source(server, a.sessions, size, count, d,
                                              "relaybytes-%s-%d" % (target, size))
            if not ok:
                raise m.Unavailable("smtp-source failed after %.1fs: %s" % (secs, err))
            got, t_last = sink.wait_for(base + count, stall_seconds=30.0,
                                        max_seconds=max(120.0, count * 0.05))
            cpu1 = server.cpu_seconds()
            delivered = got - base
            span = max(t_last - t0, secs)
            sectors1 = fs.settle_once()
            mail = float(count * size)
            breakdown = stop_breakdown(trace, calls, mail, delivered)
            loop_started = time.monotonic()
            sectors_loop = fs.settle() if SYNC_LOOP else None
            entry = {"available": True, "accepted": count, "delivered": delivered,
                     "message_bytes": size, "seconds": round(span, 3), "warmup_messages": WARMUP,
                     "msgs_per_s": round(delivered / span, 1) if span > 0 else None,
                     "cpu_s_per_1000": round((cpu1 - cpu0) * 1000.0 / delivered, 3)
                     if delivered else None,
                     "device_bytes": (sectors1 - sectors0) * 512,
                     "relay.bytesPerByte": round((sectors1 - sectors0) * 512 / mail, 3),
                     # The former figure: syncing every 0.25 s until 1.5 s quiet (at most 60 s).
                     "bytesPerByte_syncLoop": round((sectors_loop - sectors0) * 512 / mail, 3)
                     if SYNC_LOOP else None,
                     "syncLoop_syncs": getattr(fs, "syncs", None) if SYNC_LOOP else None,
                     "syncLoop_seconds": round(time.monotonic() - loop_started, 1)}
            commits1 = spool_commits(server)
            if commits0 is not None and commits1 is not None and delivered:
                entry["commits_per_msg"] = round((commits1 - commits0) / delivered, 3)
            entry["queue_allocated_growth_bytes"] = allocated_bytes(mount) - alloc0
            if breakdown:
                entry["breakdown"] = breakdown
                m.log("relaybytes: %s %d breakdown: %s" % (target, size, breakdown))
            if delivered < count:
                entry["note"] = "only %d of %d reached the sink" % (delivered, count)
            m.log("relaybytes: %s %d: %s msg/s, %s bytes written per byte of mail (%s with a sync every "
                  "0.25 s, %d syncs), %s commits/msg, queue files grew %d KB"
                  % (target, size, entry["msgs_per_s"], entry["relay.bytesPerByte"],
                     entry["bytesPerByte_syncLoop"], entry["syncLoop_syncs"] or 0, entry.get("commits_per_msg"),
                     entry["queue_allocated_growth_bytes"] // 1024))
            out[str(size)] = entry
        except m.Unavailable as e:
            m.log("relaybytes: %s %d: %s" % (target, size, e))
            out[str(size)] = {"available": False, "reason": str(e)}
        finally:
            if trace:
                trace.abort()
            if calls:
                calls.stop()
            if server:
                server.stop()
            if sink:
                sink.stop()
            if fs:
                fs.stop()
                m.PROCS.remove_stopper(fs.stop)
    return out


def scenario(bench, m):
    """Runs `relaybytes` (both targets, --rounds alternating) into bench.results["relaybytes"]."""
    per = bench.rounds(lambda t: measure(bench, m, t))
    res = {"sessions": bench.args.sessions, "rounds": bench.args.rounds, "sizes": {}}
    for size in SIZES:
        sec = {"message_bytes": size}
        for t, runs in per.items():
            sec[t] = m.combine([r[str(size)] for r in runs], "msgs_per_s")
            sec[t + "_bytesPerByte_rounds"] = [r[str(size)].get("relay.bytesPerByte") for r in runs]
            sec[t + "_bytesPerByte_syncLoop_rounds"] = [r[str(size)].get("bytesPerByte_syncLoop") for r in runs]
        sec["ratio_msgs_per_s"] = m.ratio(sec, "msgs_per_s")
        sec["ratio_cpu"] = m.ratio(sec, "cpu_s_per_1000")
        sec["ratio_bytes_per_byte"] = m.ratio(sec, "relay.bytesPerByte")
        res["sizes"][str(size)] = sec
    bench.results["relaybytes"] = res


def report_rows(res, m, r):
    """Rows for bench.py's table."""
    rows = []
    if not res:
        return rows
    for size, sec in res["sizes"].items():
        label = "%d KB" % (int(size) // 1024)
        rows.append(("relay %s (queue on loop fs): msgs/s" % label, m.side(sec, "postfix", "msgs_per_s"),
                     m.side(sec, "sendarix", "msgs_per_s"), r(sec.get("ratio_msgs_per_s")), "higher"))
        rows.append(("relay %s: bytes written per byte of mail" % label,
                     m.side(sec, "postfix", "relay.bytesPerByte"),
                     m.side(sec, "sendarix", "relay.bytesPerByte"), r(sec.get("ratio_bytes_per_byte")),
                     "lower"))
    return rows
