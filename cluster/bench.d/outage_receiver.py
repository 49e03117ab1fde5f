"""A receiving MTA for the outage and restart benches (issue 16): while `deferring` is set it
answers every connection with `421 4.3.2` and closes it (a provider outage); otherwise it takes
mail (no PIPELINING, no TLS) and records when each message arrived and, for messages the bench
sent itself, the `X-Bench-Sent:` time in their header (fresh mail) or else the date of the
relay's own `Received:` header (the backlog's age).

Runs an asyncio loop on its own thread; only 127.0.0.0/8. Every connection's start time is kept
(per second), so retry storms show up as connections per second."""
import asyncio
import email.utils
import threading
import time


class Receiver:
    def __init__(self, ip, port):
        self.ip, self.port = ip, port
        self.deferring = True
        self.lock = threading.Lock()
        self.connections = []      # monotonic time of every accepted connection
        self.deferred_connections = 0
        self.arrivals = []         # (wall time, kind "fresh"|"backlog", wall time the message was sent or received)
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.ready = threading.Event()

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self):
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("receiver did not start on %s:%d" % (self.ip, self.port))

    def stop(self):
        def shut():
            if self.server is not None:
                self.server.close()
            self.loop.stop()
        self.loop.call_soon_threadsafe(shut)
        self.thread.join(timeout=10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._session, self.ip, self.port, backlog=1024, reuse_address=True))
        self.ready.set()
        self.loop.run_forever()

    # ---- figures -----------------------------------------------------------------------------

    def delivered(self):
        with self.lock:
            return len(self.arrivals)

    def snapshot(self):
        with self.lock:
            return list(self.connections), list(self.arrivals), self.deferred_connections

    def connections_per_second(self, since, until):
        """(mean, max over whole seconds) of connections opened in [since, until) (monotonic)."""
        with self.lock:
            times = [t for t in self.connections if since <= t < until]
        seconds = max(1, int(until - since))
        buckets = [0] * seconds
        for t in times:
            buckets[min(seconds - 1, int(t - since))] += 1
        return len(times) / max(until - since, 1e-9), max(buckets) if buckets else 0, len(times)

    # ---- SMTP --------------------------------------------------------------------------------

    async def _session(self, reader, writer):
        with self.lock:
            self.connections.append(time.monotonic())
        try:
            if self.deferring:
                with self.lock:
                    self.deferred_connections += 1
                writer.write(b"421 4.3.2 receiver.bench.test Service not available, closing transmission channel\r\n")
                await writer.drain()
                return
            writer.write(b"220 receiver.bench.test ESMTP\r\n")
            await writer.drain()
            while True:
                line = await reader.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250-receiver.bench.test\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    head = []
                    in_head = True
                    while True:
                        l = await reader.readline()
                        if not l or l == b".\r\n":
                            break
                        if in_head:
                            if l in (b"\r\n", b"\n"):
                                in_head = False
                            elif len(head) < 40:
                                head.append(l)
                    self._record(head)
                    writer.write(b"250 2.0.0 ok\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 2.0.0 bye\r\n")
                    await writer.drain()
                    return
                else:
                    writer.write(b"250 2.0.0 ok\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    def _record(self, raw):
        now = time.time()
        head = []  # unfolded header lines
        for l in raw:
            if l[:1] in (b" ", b"\t") and head:
                head[-1] = head[-1].rstrip(b"\r\n") + b" " + l.strip()
            else:
                head.append(l.rstrip(b"\r\n"))
        kind, sent = "backlog", None
        for l in head:
            low = l.lower()
            if low.startswith(b"x-bench-sent:"):
                kind = "fresh"
                try:
                    sent = float(l.split(b":", 1)[1].strip())
                except ValueError:
                    pass
                break
        if sent is None:
            for l in head:
                if l.lower().startswith(b"received:") and b";" in l:
                    try:
                        sent = email.utils.parsedate_to_datetime(
                            l.rsplit(b";", 1)[1].strip().decode("latin-1")).timestamp()
                    except (TypeError, ValueError):
                        pass
                    break
        with self.lock:
            self.arrivals.append((now, kind, sent))
