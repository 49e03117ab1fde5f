#!/usr/bin/python3
"""Delaying transparent TCP and UDP forwarder for the lab's router namespace (the kernel has no netem).

The router's iptables TPROXY rules hand every TCP connection between two sites of different
regions to this process; it reads the original destination from the accepted socket (TPROXY keeps
it as the local address), connects to it from the client's own address (IP_TRANSPARENT), and copies
bytes both ways, holding each chunk for one one-way delay: `--delay-ms` +- `--jitter-ms`, drawn
per chunk, never reordering a direction (a chunk leaves no earlier than the one before it). Peers
see their real addresses; nothing in the nodes' configs knows about the forwarder.

UDP flows (DNS between regions) are relayed the same way, see `UDPRelay`.

Usage: delayproxy.py --port P --delay-ms 40 --jitter-ms 5 [--stats FILE]
Stats (connections, bytes) are written to FILE every second.
"""
import argparse
import asyncio
import json
import os
import random
import socket
import time

IP_TRANSPARENT = 19
IP_RECVORIGDSTADDR = 20
UDP_IDLE_SECONDS = 30

stats = {"connections": 0, "active": 0, "bytes": 0, "failedConnects": 0}


def one_way(args):
    d = args.delay_ms + random.uniform(-args.jitter_ms, args.jitter_ms)
    return max(0.0, d) / 1000.0


async def pump(reader, writer, args):
    """Copies reader -> writer, each chunk held one one-way delay, order kept."""
    loop = asyncio.get_running_loop()
    last_due = 0.0
    queue = asyncio.Queue()

    async def sender():
        while True:
            item = await queue.get()
            if item is None:
                break
            due, data = item
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except OSError:
            pass

    task = asyncio.ensure_future(sender())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            stats["bytes"] += len(data)
            due = max(last_due, loop.time() + one_way(args))
            last_due = due
            queue.put_nowait((due, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait(None)
    try:
        await task
    except (ConnectionError, OSError):
        pass


async def handle(reader, writer, args):
    sock = writer.get_extra_info("socket")
    client = writer.get_extra_info("peername")
    dst = sock.getsockname()  # TPROXY: the original destination
    stats["connections"] += 1
    stats["active"] += 1
    out = None
    try:
        await asyncio.sleep(one_way(args))  # the SYN's trip
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.bind((client[0], 0))
        s.setblocking(False)
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(s, dst), 10)
        except (OSError, asyncio.TimeoutError):
            stats["failedConnects"] += 1
            s.close()
            return
        r2, w2 = await asyncio.open_connection(sock=s)
        out = w2
        await asyncio.gather(pump(reader, w2, args), pump(r2, writer, args))
    finally:
        stats["active"] -= 1
        for w in (writer, out):
            if w is not None:
                try:
                    w.close()
                except OSError:
                    pass


class UDPRelay:
    """TPROXY for UDP: the first datagram of a flow arrives on the listener with its original
    destination in IP_ORIGDSTADDR; the flow then gets two transparent sockets: `up`, bound to the
    client's address and connected to the destination (the destination's replies reach it through
    the router's `-m socket` rule), and `down`, bound to the destination's address and port and
    connected to the client (later datagrams of the flow reach it the same way). Each datagram is
    held one one-way delay."""

    def __init__(self, args, loop):
        self.args, self.loop, self.flows = args, loop, {}
        ls = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        ls.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
        ls.setsockopt(socket.SOL_IP, IP_RECVORIGDSTADDR, 1)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("0.0.0.0", args.port))
        ls.setblocking(False)
        self.listener = ls
        loop.add_reader(ls, self.on_listener)
        loop.call_later(5, self.expire)

    @staticmethod
    def transparent(bind, connect):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(bind)
        s.connect(connect)
        s.setblocking(False)
        return s

    def later(self, sock, data):
        def send():
            try:
                sock.send(data)
            except OSError:
                pass
        self.loop.call_later(one_way(self.args), send)

    def on_listener(self):
        try:
            data, anc, _, client = self.listener.recvmsg(65535, 256)
        except OSError:
            return
        dst = None
        for level, kind, raw in anc:
            if level == socket.SOL_IP and kind == IP_RECVORIGDSTADDR:
                dst = (socket.inet_ntoa(raw[4:8]), int.from_bytes(raw[2:4], "big"))
        if dst is None:
            return
        stats["udpDatagrams"] = stats.get("udpDatagrams", 0) + 1
        key = (client, dst)
        flow = self.flows.get(key)
        if flow is None:
            try:
                up = self.transparent((client[0], 0), dst)
                down = self.transparent(dst, client)
            except OSError:
                return
            flow = self.flows[key] = {"up": up, "down": down, "last": time.monotonic()}
            self.loop.add_reader(up, self.relay, key, up, "down")
            self.loop.add_reader(down, self.relay, key, down, "up")
        flow["last"] = time.monotonic()
        self.later(flow["up"], data)

    def relay(self, key, sock, to):
        flow = self.flows.get(key)
        try:
            data = sock.recv(65535)
        except OSError:
            return
        if flow:
            flow["last"] = time.monotonic()
            stats["udpDatagrams"] = stats.get("udpDatagrams", 0) + 1
            self.later(flow[to], data)

    def expire(self):
        now = time.monotonic()
        for key, flow in list(self.flows.items()):
            if now - flow["last"] > UDP_IDLE_SECONDS:
                for s in (flow["up"], flow["down"]):
                    self.loop.remove_reader(s)
                    s.close()
                del self.flows[key]
        self.loop.call_later(5, self.expire)


async def write_stats(path):
    while True:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(stats, f)
        os.replace(tmp, path)
        await asyncio.sleep(1)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--delay-ms", type=float, default=40)
    ap.add_argument("--jitter-ms", type=float, default=5)
    ap.add_argument("--stats")
    args = ap.parse_args()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", args.port))
    ls.listen(1024)
    ls.setblocking(False)

    async def on_conn(r, w):
        s = w.get_extra_info("socket")
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        await handle(r, w, args)

    server = await asyncio.start_server(on_conn, sock=ls, limit=1 << 20)
    UDPRelay(args, asyncio.get_running_loop())
    if args.stats:
        asyncio.ensure_future(write_stats(args.stats))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
