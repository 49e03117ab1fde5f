#!/usr/bin/python3
"""Power-loss filesystem: a passthrough FUSE mount that forgets every unsynced write on "power off".

Usage: powerloss_fs.py BACKING MOUNTPOINT [--ready FILE]

Every file under MOUNTPOINT is the file of the same name under BACKING. The BACKING directory holds
only what a real disk would still hold after a power cut:

- write() and truncate() go to an in-memory overlay of the file (4 KiB blocks copied on first
  write, the logical size, and a "floor" above which the backing bytes are known to be truncated
  away); reads see the overlay over the backing file.
- fsync()/fdatasync() (and msync(MS_SYNC)) applies the file's overlay to the backing file and
  fsyncs it.
- A write on an O_SYNC/O_DSYNC descriptor is durable at once, and only that write: the fsync the
  kernel sends after it on that descriptor makes nothing else durable (an explicit fsync on such a
  descriptor is treated the same: stricter than a real disk, never more lenient).
- close() makes nothing durable.
- Directory operations (create, mkdir, unlink, rename, link, chmod, utimens) go to BACKING at once:
  the model is a journaling filesystem that commits names in order but not file data (a new file
  that was never fsynced comes back empty; a file renamed over another keeps only its synced data).

"Power off" is SIGUSR1: every overlay is dropped (the kernel page cache goes with the unmount), the
mount is detached and the process exits 0, printing one JSON line with what was thrown away. Stop
the program using the files first (SIGKILL): the cut must not race its writes. SIGTERM or SIGINT
unmount without claiming anything about durability (the overlays are dropped all the same).

The page cache of the mount is kept (no direct_io), so LMDB's read-only mmap of data.mdb sees
the pwrite()s made through the same mount; shared writable mappings (lock.mdb) are written back
through write() like any other write.

Needs /usr/bin/python3 with python3-fusepy (Debian; it pulls libfuse2), /dev/fuse, and root (or
fuse3's fusermount) to mount.
"""
import errno
import json
import os
import signal
import stat
import sys
import threading

import fusepy

BLOCK = 4096
INFINITY = 1 << 62


class Overlay:
    """The unsynced state of one backing inode."""

    __slots__ = ("size", "floor", "blocks")

    def __init__(self, size):
        self.size = size          # logical size
        self.floor = INFINITY     # backing bytes at and after this offset read as zeros
        self.blocks = {}          # block index -> bytearray(BLOCK), the block's current content


class PowerLossFS(fusepy.Operations):
    use_ns = True

    def __init__(self, backing, ready):
        self.root = os.path.realpath(backing)
        self.ready = ready
        self.mutex = threading.RLock()
        self.overlays = {}        # (st_dev, st_ino) -> Overlay
        self.handles = {}         # fh (backing fd) -> (key, flags)
        self.opens = {}           # key -> open handle count
        self.dead = set()         # keys unlinked while open: dropped on last release
        self.off = False
        self.stats = {"writes": 0, "fsyncs": 0, "syncWrites": 0, "syncedBlocks": 0}

    # MARK: helpers

    def _full(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def _check(self):
        if self.off:
            raise fusepy.FuseOSError(errno.EIO)

    @staticmethod
    def _key(st):
        return (st.st_dev, st.st_ino)

    def _backing_read(self, fd, ov, offset, length):
        """`length` bytes of the backing file at `offset` as the logical file sees them (no overlay
        blocks): zeros past its end and past the truncation floor."""
        data = bytearray(os.pread(fd, length, offset)) if length > 0 else bytearray()
        if len(data) < length:
            data.extend(bytes(length - len(data)))
        if ov is not None and ov.floor < offset + length:
            start = max(ov.floor - offset, 0)
            data[start:] = bytes(length - start)
        return data

    def _overlay(self, fd, key):
        ov = self.overlays.get(key)
        if ov is None:
            ov = Overlay(os.fstat(fd).st_size)
            self.overlays[key] = ov
        return ov

    def _apply(self, fd, key):
        """Makes the overlay of `key` durable in the backing file (through `fd`) and forgets it."""
        ov = self.overlays.pop(key, None)
        if ov is not None:
            backing_size = os.fstat(fd).st_size
            if ov.floor < backing_size:
                os.ftruncate(fd, ov.floor)
            for index in sorted(ov.blocks):
                start = index * BLOCK
                n = min(BLOCK, ov.size - start)
                if n > 0:
                    os.pwrite(fd, bytes(ov.blocks[index][:n]), start)
            self.stats["syncedBlocks"] += len(ov.blocks)
            os.ftruncate(fd, ov.size)
        os.fsync(fd)

    def _forget_if_unlinked(self, path):
        """Before `path` is unlinked or replaced: its inode's overlay dies with its last name."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
            return
        key = self._key(st)
        if self.opens.get(key, 0) > 0:
            self.dead.add(key)
        else:
            self.overlays.pop(key, None)

    # MARK: lifecycle

    def init(self, path):
        if self.ready:
            with open(self.ready, "w") as f:
                f.write(str(os.getpid()))

    def power_off(self):
        """Drops every unsynced write; returns what was dropped."""
        with self.mutex:
            self.off = True
            dropped = {"files": len(self.overlays), "blocks": sum(len(o.blocks) for o in self.overlays.values())}
            self.overlays.clear()
            for fd in list(self.handles):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.handles.clear()
            return dropped

    # MARK: attributes and names (durable at once)

    def getattr(self, path, fh=None):
        with self.mutex:
            self._check()
            if fh and fh.fh in self.handles:
                st = os.fstat(fh.fh)
            else:
                st = os.lstat(self._full(path))
            attrs = {k: getattr(st, k) for k in ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size",
                                                  "st_blocks", "st_atime", "st_mtime", "st_ctime")}
            attrs["st_atime"], attrs["st_mtime"], attrs["st_ctime"] = st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns
            ov = self.overlays.get(self._key(st)) if stat.S_ISREG(st.st_mode) else None
            if ov is not None:
                attrs["st_size"] = ov.size
                attrs["st_blocks"] = (ov.size + 511) // 512
            return attrs

    def access(self, path, amode):
        self._check()
        if not os.access(self._full(path), amode):
            raise fusepy.FuseOSError(errno.EACCES)

    def readdir(self, path, fh):
        self._check()
        return [".", ".."] + os.listdir(self._full(path))

    def readlink(self, path):
        self._check()
        return os.readlink(self._full(path))

    def mkdir(self, path, mode):
        self._check()
        os.mkdir(self._full(path), mode)

    def rmdir(self, path):
        self._check()
        os.rmdir(self._full(path))

    def mknod(self, path, mode, dev):
        self._check()
        os.mknod(self._full(path), mode, dev)

    def symlink(self, target, source):
        self._check()
        os.symlink(source, self._full(target))

    def link(self, target, source):
        self._check()
        os.link(self._full(source), self._full(target))

    def unlink(self, path):
        with self.mutex:
            self._check()
            full = self._full(path)
            self._forget_if_unlinked(full)
            os.unlink(full)

    def rename(self, old, new):
        with self.mutex:
            self._check()
            self._forget_if_unlinked(self._full(new))
            os.rename(self._full(old), self._full(new))

    def chmod(self, path, mode):
        self._check()
        os.chmod(self._full(path), mode)

    def chown(self, path, uid, gid):
        self._check()
        os.chown(self._full(path), uid, gid)

    def utimens(self, path, times=None):
        self._check()
        os.utime(self._full(path), ns=times)

    def statfs(self, path):
        st = os.statvfs(self._full(path))
        return {k: getattr(st, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail",
                                            "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")}

    def fsyncdir(self, path, datasync, fh):
        self._check()

    # MARK: files

    def _register(self, fd, flags):
        key = self._key(os.fstat(fd))
        self.handles[fd] = (key, flags)
        self.opens[key] = self.opens.get(key, 0) + 1
        return fd

    @staticmethod
    def _backing_flags(flags):
        # Always read-write (fsync applies overlays through any handle); never append (offsets come
        # from the kernel), never sync or direct (durability is this program's business).
        drop = os.O_ACCMODE | os.O_APPEND | os.O_SYNC | os.O_DSYNC | getattr(os, "O_DIRECT", 0) | os.O_TRUNC
        return (flags & ~drop) | os.O_RDWR

    def open(self, path, fi):
        with self.mutex:
            self._check()
            fi.fh = self._register(os.open(self._full(path), self._backing_flags(fi.flags)), fi.flags)
            fi.direct_io = 0
            fi.keep_cache = 0
            return 0

    def create(self, path, mode, fi):
        with self.mutex:
            self._check()
            fd = os.open(self._full(path), self._backing_flags(fi.flags) | os.O_CREAT, mode)
            fi.fh = self._register(fd, fi.flags)
            fi.direct_io = 0
            fi.keep_cache = 0
            return 0

    def read(self, path, size, offset, fi):
        with self.mutex:
            self._check()
            fd = fi.fh
            key, _ = self.handles[fd]
            ov = self.overlays.get(key)
            if ov is None:
                return os.pread(fd, size, offset)
            end = min(offset + size, ov.size)
            if end <= offset:
                return b""
            data = self._backing_read(fd, ov, offset, end - offset)
            first, last = offset // BLOCK, (end - 1) // BLOCK
            if len(ov.blocks) < last - first + 1:
                indices = [i for i in ov.blocks if first <= i <= last]
            else:
                indices = [i for i in range(first, last + 1) if i in ov.blocks]
            for index in indices:
                start = index * BLOCK
                lo, hi = max(start, offset), min(start + BLOCK, end)
                data[lo - offset:hi - offset] = ov.blocks[index][lo - start:hi - start]
            return bytes(data)

    def write(self, path, data, offset, fi):
        with self.mutex:
            self._check()
            fd = fi.fh
            key, flags = self.handles[fd]
            ov = self._overlay(fd, key)
            end = offset + len(data)
            pos = offset
            while pos < end:
                index = pos // BLOCK
                start = index * BLOCK
                block = ov.blocks.get(index)
                if block is None:
                    block = self._backing_read(fd, ov, start, BLOCK)
                    if ov.size < start + BLOCK:  # bytes past the logical end read as zeros
                        cut = max(ov.size - start, 0)
                        block[cut:] = bytes(BLOCK - cut)
                    ov.blocks[index] = block
                hi = min(start + BLOCK, end)
                block[pos - start:hi - start] = data[pos - offset:hi - offset]
                pos = hi
            ov.size = max(ov.size, end)
            self.stats["writes"] += 1
            if flags & (os.O_SYNC | os.O_DSYNC):
                # Durable at once: exactly these bytes (the kernel follows with an fsync of its own).
                os.pwrite(fd, data, offset)
                os.fdatasync(fd)
            return len(data)

    def truncate(self, path, length, fh=None):
        with self.mutex:
            self._check()
            if fh and fh.fh in self.handles:
                fd, close = fh.fh, False
            else:
                fd, close = os.open(self._full(path), os.O_RDWR), True
            try:
                key = self._key(os.fstat(fd))
                ov = self._overlay(fd, key)
                ov.floor = min(ov.floor, length, ov.size)
                for index in [i for i in ov.blocks if i * BLOCK >= length]:
                    del ov.blocks[index]
                tail = ov.blocks.get(length // BLOCK)
                if tail is not None:
                    cut = length % BLOCK
                    tail[cut:] = bytes(BLOCK - cut)
                ov.size = length
            finally:
                if close:
                    os.close(fd)

    def fsync(self, path, datasync, fi):
        with self.mutex:
            self._check()
            fd = fi.fh
            key, flags = self.handles[fd]
            if flags & (os.O_SYNC | os.O_DSYNC):
                # The kernel follows every write on such a descriptor with an fsync of it; that
                # write is durable already, and the file's other unsynced writes must stay unsynced
                # (LMDB writes its meta page this way and must have fdatasynced the data before).
                self.stats["syncWrites"] += 1
                return 0
            self._apply(fd, key)
            self.stats["fsyncs"] += 1

    def flush(self, path, fi):
        self._check()  # close() makes nothing durable

    def release(self, path, fi):
        with self.mutex:
            entry = self.handles.pop(fi.fh, None)
            if entry is None:
                return 0
            key, _ = entry
            os.close(fi.fh)
            self.opens[key] -= 1
            if self.opens[key] == 0:
                del self.opens[key]
                if key in self.dead:
                    self.dead.discard(key)
                    self.overlays.pop(key, None)
            return 0


def detach(mountpoint):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    MNT_DETACH = 2
    if libc.umount2(mountpoint.encode(), MNT_DETACH) != 0:
        print(json.dumps({"event": "umount failed", "errno": ctypes.get_errno()}), file=sys.stderr, flush=True)


def main():
    args = sys.argv[1:]
    ready = None
    if "--ready" in args:
        i = args.index("--ready")
        ready = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    backing, mountpoint = args
    fs = PowerLossFS(backing, ready)
    mountpoint = os.path.realpath(mountpoint)

    # SIGUSR1/SIGTERM/SIGINT are taken by one thread with sigwait: FUSE's own threads (which inherit
    # this mask) never see them, and the main thread is inside libfuse where Python handlers wait.
    signals = {signal.SIGUSR1, signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)

    def waiter():
        sig = signal.sigwait(signals)
        dropped = fs.power_off()
        event = "power off" if sig == signal.SIGUSR1 else "stop"
        print(json.dumps({"event": event, "dropped": dropped, **fs.stats}), flush=True)
        detach(mountpoint)

    threading.Thread(target=waiter, daemon=True).start()
    fusepy.FUSE(fs, mountpoint, raw_fi=True, foreground=True, nothreads=False, fsname="powerloss",
                attr_timeout=0, entry_timeout=0, negative_timeout=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
