"""Where a loop device's written sectors go (issue 16 item 4: the byte breakdown of `relaybytes`).

`DeviceWriteTrace` records every write request the block layer issues to one device
(`perf record -e block:block_rq_issue`, filtered to that device) while a server runs, then
splits the sectors by what they landed on:

  journal        the ext4 journal (inode 8's extents, from `debugfs`)
  fs_metadata    superblocks, group descriptors, block/inode bitmaps, inode tables (`dumpe2fs`)
  file:<path>    the extents of each file still present at the end (`filefrag -v`), e.g.
                 `file:data.mdb` (Sendarix's LMDB data file)
  other          anything else: blocks of files deleted meanwhile (Postfix's queue files),
                 extent-tree and directory blocks

plus the number of write requests and cache flushes, and the jbd2 transactions committed
(`/proc/fs/jbd2/<dev>-8/info`). Needs root and perf with tracepoint access; `start` raises
RuntimeError when unavailable, and the caller reports the breakdown as missing.

Enabled in `relaybytes` by RELAYBYTES_BREAKDOWN=1 (bench.d/relaybytes.py).
"""

import bisect
import os
import re
import shutil
import signal
import subprocess
import time


def _run(argv):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return r.stdout.decode("utf-8", "replace") if r.returncode == 0 else ""


def _interrupt(proc, timeout):
    """Stops a perf process the way it writes its output (SIGINT); kills it after `timeout` s."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def jbd2_transactions(dev):
    """Journal transactions committed on `dev` since mount, or None."""
    try:
        with open("/proc/fs/jbd2/%s-8/info" % os.path.basename(dev)) as f:
            return int(f.readline().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def fs_block_size(dev):
    m = re.search(r"^Block size:\s+(\d+)", _run(["dumpe2fs", "-h", dev]), re.M)
    return int(m.group(1)) if m else 4096


def metadata_ranges(dev):
    """[(first_block, last_block)] of ext4's static metadata (superblocks, descriptors,
    bitmaps, inode tables)."""
    out = []
    text = _run(["dumpe2fs", dev])
    for m in re.finditer(r"(?:superblock at|Group descriptors at|Reserved GDT blocks at|Block bitmap at|"
                         r"Inode bitmap at|Inode table at) (\d+)(?:-(\d+))?", text):
        a = int(m.group(1))
        out.append((a, int(m.group(2) or a)))
    return out


def journal_ranges(dev):
    """[(first_block, last_block)] of the journal inode's extents."""
    text = _run(["debugfs", "-R", "stat <8>", dev])
    return [(int(a), int(b)) for a, b in re.findall(r"\(\d+(?:-\d+)?\):(\d+)-(\d+)", text)]


def file_ranges(root):
    """{relative path: [(first_block, last_block)]} of every regular file under `root`, in the
    filesystem's block size (`filefrag -v -b<bs>` is not portable, so the unit is read from
    filefrag's own header)."""
    out = {}
    for d, _, files in os.walk(root):
        for name in files:
            path = os.path.join(d, name)
            text = _run(["filefrag", "-v", path])
            m = re.search(r"blocks of (\d+) bytes", text)
            unit = int(m.group(1)) if m else 4096
            ranges = []
            for a, b in re.findall(r"^\s*\d+:\s+\d+\.\.\s*\d+:\s+(\d+)\.\.\s*(\d+):", text, re.M):
                ranges.append((int(a) * unit, (int(b) + 1) * unit))  # bytes
            if ranges:
                out[os.path.relpath(path, root)] = ranges
    return out


class DeviceWriteTrace:
    """Block-layer write requests to `dev` (a /dev/loopN with ext4 mounted at `mountpoint`)."""

    def __init__(self, dev, mountpoint, workdir):
        self.dev, self.mountpoint = dev, mountpoint
        self.data = os.path.join(workdir, "blockwrites.perf.data")
        self.proc = None
        st = os.stat(dev)
        self.devnum = (os.major(st.st_rdev) << 20) | os.minor(st.st_rdev)  # the kernel's dev_t

    def start(self):
        if not shutil.which("perf"):
            raise RuntimeError("perf not found")
        self.jbd0 = jbd2_transactions(self.dev)
        self.proc = subprocess.Popen(["perf", "record", "-q", "-e", "block:block_rq_issue",
                                      "--filter", "dev == %d" % self.devnum, "-a", "-o", self.data],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # perf opens its events within a moment; a probe write shows it is recording.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("perf record exited (%s)" % self.proc.returncode)
            if os.path.exists(self.data) and os.path.getsize(self.data) > 0:
                break
            time.sleep(0.1)
        time.sleep(0.5)

    def stop(self):
        """Stops recording; returns the breakdown dict (see the module doc)."""
        if self.proc is None:
            return None
        _interrupt(self.proc, 60)
        self.proc = None
        jbd1 = jbd2_transactions(self.dev)
        bs = fs_block_size(self.dev)
        intervals = []  # (start_byte, end_byte, label)
        for a, b in journal_ranges(self.dev):
            intervals.append((a * bs, (b + 1) * bs, "journal"))
        for a, b in metadata_ranges(self.dev):
            intervals.append((a * bs, (b + 1) * bs, "fs_metadata"))
        for path, ranges in file_ranges(self.mountpoint).items():
            for a, b in ranges:
                intervals.append((a, b, "file:" + path))
        intervals.sort()
        starts = [iv[0] for iv in intervals]
        by, issuers, cross = {}, {}, {}
        requests = flushes = 0
        text = _run(["perf", "script", "-i", self.data, "-F", "trace"])
        for line in text.splitlines():
            # "7,0 WSM 7168 () 229398 + 14 0x2,0,3 [jbd2/loop0-8]": the issuing task in brackets
            m = re.match(r"\s*\d+,\d+\s+(\S+)\s+\d+\s+\(.*?\)\s+(\d+)\s+\+\s+(\d+).*\[(.*)\]\s*$", line)
            if not m:
                continue
            rwbs, sector, count = m.group(1), int(m.group(2)), int(m.group(3))
            issuer = re.sub(r"[/:].*$", "", m.group(4))  # jbd2/loop0-8 -> jbd2, kworker/u4:2 -> kworker
            if "F" in rwbs:
                flushes += 1
            if count == 0 or "W" not in rwbs:
                continue
            requests += 1
            issuers[issuer] = issuers.get(issuer, 0) + count * 512
            lo, hi = sector * 512, (sector + count) * 512
            covered = 0
            i = max(0, bisect.bisect_right(starts, lo) - 1)
            while i < len(intervals) and intervals[i][0] < hi:
                a, b, label = intervals[i]
                n = min(b, hi) - max(a, lo)
                if n > 0:
                    by[label] = by.get(label, 0) + n
                    cross[label + "@" + issuer] = cross.get(label + "@" + issuer, 0) + n
                    covered += n
                i += 1
            if hi - lo > covered:
                by["other"] = by.get("other", 0) + (hi - lo - covered)
                cross["other@" + issuer] = cross.get("other@" + issuer, 0) + (hi - lo - covered)
        try:
            os.unlink(self.data)
        except OSError:
            pass
        return {"bytes": dict(sorted(by.items(), key=lambda kv: -kv[1])), "write_requests": requests,
                "by_issuer": dict(sorted(issuers.items(), key=lambda kv: -kv[1])),
                "by_target_and_issuer": dict(sorted(cross.items(), key=lambda kv: -kv[1])),
                "flushes": flushes,
                "jbd2_transactions": (jbd1 - self.jbd0) if jbd1 is not None and self.jbd0 is not None else None}

    def abort(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class SyscallCount:
    """Counts a process's write and sync system calls (`perf stat` on syscall tracepoints)."""

    EVENTS = ("fdatasync", "fsync", "pwrite64", "write", "pwritev", "msync")

    def __init__(self, pid, workdir):
        self.pid, self.out = pid, os.path.join(workdir, "syscalls.perf.csv")
        self.proc = None

    def start(self):
        ev = ",".join("syscalls:sys_enter_%s" % e for e in self.EVENTS)
        self.proc = subprocess.Popen(["perf", "stat", "-x", ",", "-e", ev, "-p", str(self.pid), "-o", self.out],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # perf writes its header once it has attached; counting starts a moment later.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            if os.path.exists(self.out) and os.path.getsize(self.out) > 0:
                break
            time.sleep(0.05)
        time.sleep(0.3)

    def stop(self):
        if self.proc is None:
            return None
        _interrupt(self.proc, 30)
        self.proc = None
        counts = {}
        try:
            with open(self.out) as f:
                for line in f:
                    parts = line.strip().split(",")
                    if len(parts) > 2 and parts[2].startswith("syscalls:sys_enter_"):
                        try:
                            counts[parts[2][len("syscalls:sys_enter_"):]] = int(parts[0])
                        except ValueError:
                            pass
        except OSError:
            return None
        return counts
