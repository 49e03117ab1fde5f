"""The `heap` scenario of cluster/bench (issue 16, item 5): the heap of one Sendarix node over a
long relay run with the queue kept empty.

One node (relay port on 127.64.2.1, delivery to smtp-sink on 127.64.2.3) relays --heap-messages
5 KB messages from smtp-source (20 sessions) in chunks of a tenth of the run; after each chunk
the harness waits until the sink has every message (the queue is empty again), lets the node
settle, and samples RssAnon (anonymous resident memory: the heap, thread stacks, malloc arenas;
the LMDB map is file-backed and not in it) and VmRSS from /proc/PID/status.

Headlines: heap.growthRatio = RssAnon after the last chunk / after the first (the first chunk is
the warm-up: allocator pools, caches filled to their bounds), and heap.bytesPerMessage = growth
between those two samples / messages relayed in between. A heap independent of the number of
messages handled shows a ratio near 1 and a few bytes per message at most (allocator noise).
"""
import os
import time

RELAY_IP = "127.64.2.1"
SINK_IP = "127.64.2.3"


def run(bench):
    b = __import__("__main__")
    import sessions_bench as sb
    b.shutil = __import__("shutil")
    a = bench.args
    total = a.heap_messages
    chunks = 10
    per = max(100, total // chunks)
    res = {"messages": per * chunks, "chunk": per, "message_bytes": 5120, "sessions": a.sessions,
           "loadavg_start": round(os.getloadavg()[0], 2)}
    if "sendarix" not in bench.targets():
        res.update(available=False, reason="sendarix not among --targets")
        bench.results["heap"] = res
        return
    d = bench.dir("heap")
    sink = node = None
    samples = []
    try:
        sink = b.Sink(d, "heap-sink", SINK_IP, 2526)
        node = sb.Node(b, d, a.sendarix_bin, bench.cert, bench.key, sink, 200, ip=RELAY_IP)
        sent = 0
        for i in range(chunks):
            base = sink.received()
            cpu0 = node.cpu()
            ok, secs, err = b.run_smtp_source(node, a.sessions, 5120, per, d, "heap-%d" % i)
            if not ok:
                raise b.Unavailable("smtp-source failed after %.1fs: %s" % (secs, err))
            got, _ = sink.wait_for(base + per, stall_seconds=30.0, max_seconds=max(120.0, per * 0.05))
            sent += per
            queued = node.metric("sendarix_queue_messages")
            anon = b.settle(lambda: node.status_kb("RssAnon:"), rounds=10, interval=0.3)
            s = {"relayed": sent, "delivered": got - base, "queue": queued, "rss_anon_kb": anon,
                 "vm_rss_kb": node.status_kb("VmRSS:"), "accept_msgs_per_s": round(per / secs, 1),
                 "cpu_ms_per_msg": round((node.cpu() - cpu0) / per * 1000.0, 3)}
            samples.append(s)
            b.log("heap: %d relayed, RssAnon %.2f MB, VmRSS %.1f MB, queue %s, %.0f msg/s"
                  % (sent, anon / 1024.0, s["vm_rss_kb"] / 1024.0, queued, s["accept_msgs_per_s"]))
        first, last = samples[0], samples[-1]
        res["samples"] = samples
        res["available"] = True
        res["rss_anon_first_kb"] = first["rss_anon_kb"]
        res["rss_anon_last_kb"] = last["rss_anon_kb"]
        res["growthRatio"] = round(last["rss_anon_kb"] / first["rss_anon_kb"], 3)
        res["bytesPerMessage"] = round((last["rss_anon_kb"] - first["rss_anon_kb"]) * 1024.0
                                       / (last["relayed"] - first["relayed"]), 2)
        b.log("heap: growth ratio %s, %s bytes per message after the warm-up"
              % (res["growthRatio"], res["bytesPerMessage"]))
    except (b.Unavailable, OSError, ValueError, KeyError) as e:
        b.log("heap: not available: %s" % e)
        res.update(available=False, reason=str(e), samples=samples)
    finally:
        if node:
            node.stop()
        if sink:
            sink.stop()
    res["loadavg_end"] = round(os.getloadavg()[0], 2)
    bench.results["heap"] = res
