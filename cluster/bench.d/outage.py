"""The `outage` scenario of cluster/bench (issue 16, item 1): a provider outage with load going on.

One Sendarix node on 127.63.0.2 relays example.test to the bench receiver on 127.63.0.50
(outage_receiver.py), which answers every connection with 421 while the outage lasts. smtp-source
keeps sending 5 KB messages, so the queue grows to --outage-depth (default 1,000,000; --quick
20,000). At each checkpoint depth (0, 100,000, 1,000,000 and the target) the bench records:

- the accept rate of a measured smtp-source chunk (`acceptRatio` = rate at the deepest checkpoint /
  rate at the empty queue, target >= 0.9);
- the node's CPU per second over a few seconds with no load (the scheduler's work for a deep,
  deferred queue: it must not grow with depth);
- RSS and RssAnon, bytes written, fsyncs and LMDB commits per message, the LMDB map in use and the
  data dir's allocated bytes per queued message (the costTable rows). Bytes written are the sectors
  written by the node's data directory's own device (a loop ext4 sized for the depth, deleted at
  the end; deepqueue.data_filesystem), from a sync before the chunk to a sync after it;
  /proc/PID/io write_bytes is kept as pageCacheDirtiedPerMsg (not a byte count on this kernel);
- the receiver's connections per second (retries follow the schedule and the circuit breaker:
  no retry storm).

Past the target the outage is held (outage_hold.py, default 400 s) with an accept chunk every 45 s,
so the accept rate is also measured while postponed messages come due again (`acceptRatioHeldWorst`;
`acceptRatioWorst` over every checkpoint with a queue and the hold). Then the receiver recovers: for --outage-drain seconds the bench records the delivery rate
(against the shaped rate, `drainRatio`) and sends a fresh message every 0.5 s whose delivery
latency is compared with the age of the backlog delivered at the same time (fair to new mail).
Depths beyond the target (10^7) are extrapolated from the measured growth."""
import os
import shutil
import threading
import time

import deepqueue as dq
import outage_hold
from outage_receiver import Receiver

B = __import__("__main__")


def checkpoints(target):
    return sorted({0, target // 4, target // 2, target} | {c for c in (100_000, 1_000_000) if c < target})


def fit(points):
    """Least-squares slope and intercept of (x, y) points (None when fewer than 2)."""
    pts = [(x, y) for x, y in points if y is not None]
    if len(pts) < 2:
        return None, None
    n = len(pts)
    mx = sum(x for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    den = sum((x - mx) ** 2 for x, _ in pts)
    if den == 0:
        return None, None
    slope = sum((x - mx) * (y - my) for x, y in pts) / den
    return slope, my - slope * mx


def fresh_sender(node, stop, sent, interval=0.5):
    """Sends one tagged message per `interval` seconds until `stop` is set."""
    i = 0
    while not stop.is_set():
        i += 1
        now = time.time()
        body = ("From: <%s>\r\nTo: <%s>\r\nSubject: fresh %d\r\nX-Bench-Sent: %.3f\r\n\r\n"
                % (B.SENDER, B.RECIPIENT, i, now)).encode() + (b"y" * 76 + b"\r\n") * 60 + b".\r\n"
        try:
            c = B.SMTPConn(node.ip, node.port, timeout=30)
            c.greet()
            c.ehlo()
            c.send_message(body)
            c.quit_and_close()
            sent.append(now)
        except (OSError, B.SMTPError):
            pass
        stop.wait(interval)


def run(bench):
    a = bench.args
    target = a.outage_depth or (20_000 if a.quick else 1_000_000)
    drain_seconds = a.outage_drain or (30 if a.quick else 60)
    measure = max(2_000, min(20_000, target // 20))
    fill_chunk = 50_000
    # Full run: the default schedule's first steps (60, 300, 900 s; a deferred queue's retries come
    # to depth / 900 per second at most). --quick compresses it so its small queue is as busy.
    retry = [int(x) for x in a.outage_retry.split(",")] if a.outage_retry else \
        ([10, 30, 60, 120] if a.quick else [60, 300, 900])
    # The breaker's open period doubles from 10 s up to 30 s (delivery.circuitBreaker.maxOpenSeconds):
    # the drain must start within 30 s of the receiver's recovery.
    mode = {"retrySchedule": retry, "breakerOpenSeconds": 10, "breakerMaxOpenSeconds": 30, "shapedRate": 100,
            "maxConnections": 10}
    res = {"available": True, "targetDepth": target, "measureChunk": measure, "messageBytes": 5120,
           "retrySchedule": mode["retrySchedule"], "shapedRate": mode["shapedRate"],
           "breakerMaxOpenSeconds": mode["breakerMaxOpenSeconds"],
           "loadavgStart": round(os.getloadavg()[0], 2),
           # Parking's in-memory bound (beyond it messages are postponed in batches); the node reads
           # SENDARIX_MAX_PARKED from the environment cluster/bench runs in.
           "maxParked": int(os.environ.get("SENDARIX_MAX_PARKED", "500000"))}
    d = bench.dir("outage")
    receiver = Receiver(dq.RECEIVER_IP, B.pick_port(dq.RECEIVER_IP, 2526))
    node = fs = None
    try:
        receiver.start()
        # Room for 10^6 x 5 KB and their records, events and log (about 14 KB each).
        map_mb = max(16_384, int(target * 16 * 1024 / 2 ** 20) + 4096)
        node = dq.Node(d, a.sendarix_bin, dq.NET + "2", "o1", receiver.port, mode, map_mb=map_mb)
        # The data directory on a device of its own, sized for the target plus the measured chunks
        # (one per checkpoint and per hold interval) on top of it.
        fs, why = dq.data_filesystem(node.data, dq.image_bytes(target + 20 * measure),
                                     before_stop=node.stop)
        node.fs = fs
        if fs is None:
            res["deviceBytesUnavailable"] = why
        else:
            res["dataImageGB"] = round(dq.image_bytes(target + 20 * measure) / 2 ** 30, 1)
        node.start()
        outage_start = time.monotonic()
        rows = []
        # When the queue passed parking's memory bound: mail received later was postponed.
        postpone_from = None
        for cp in checkpoints(target):
            while node.depth() < cp:
                n = min(fill_chunk, cp - node.depth())
                t0 = time.monotonic()
                ok, secs, tail = dq.run_source(node, n, d, "fill-%d" % node.depth())
                B.log("outage: filled %d in %.1f s (%.0f/s), depth %d%s"
                      % (n, secs, n / max(secs, 1e-9), node.depth(), "" if ok else ": " + tail))
                if not ok and time.monotonic() - t0 < 1:
                    raise B.Unavailable("smtp-source failed: " + tail)
                if postpone_from is None and node.depth() >= res["maxParked"]:
                    postpone_from = time.time()
            depth = node.depth()
            idle, retries, per_retry, idle_bytes = dq.idle_cpu(node, 5.0)
            row = dq.measured_chunk(node, measure, d, "measure-%d" % cp)
            row["checkpoint"] = cp
            row["depth"] = depth
            row["idleDeviceBytesPerSecond"] = idle_bytes
            row["idleCpuPerSecond"] = idle
            row["idleRetriesPerSecond"] = retries
            row["idleCpuPerRetryMs"] = per_retry
            m = node.metrics()
            row["parked"] = m.get("sendarix_deliveries_parked")
            row["postponedTotal"] = m.get("sendarix_deliveries_postponed_total")
            row["mapGrown"] = m.get("sendarix_lmdb_map_grown_total")
            rows.append(row)
            B.log("outage: depth %d: %s" % (depth, row))
        # Past the postpone horizon: accepting while postponed messages come due again.
        held = outage_hold.hold(node, d, measure, outage_hold.hold_seconds(a.quick))
        outage_end = time.monotonic()
        mean_c, max_c, total_c = receiver.connections_per_second(outage_start, outage_end)
        res["checkpoints"] = rows
        res["outageSeconds"] = round(outage_end - outage_start, 1)
        res["outageConnections"] = total_c
        res["outageConnectionsPerSecond"] = round(mean_c, 2)
        res["outageMaxConnectionsPerSecond"] = max_c
        first, last = rows[0], rows[-1]
        res["maxDepth"] = last["depth"]
        res["acceptRateEmpty"] = first["msgsPerSecond"]
        res["acceptRateAtMaxDepth"] = last["msgsPerSecond"]
        res["acceptRatio"] = round(last["msgsPerSecond"] / max(first["msgsPerSecond"], 1e-9), 3)
        if held:
            res["hold"] = held
            worst = min(held, key=lambda r: r["msgsPerSecond"])
            res["acceptRatioHeldWorst"] = round(worst["msgsPerSecond"] / max(first["msgsPerSecond"], 1e-9), 3)
            res["postponedPerSecondHeldMax"] = max(r["postponedPerSecond"] for r in held)
        deep = [r["msgsPerSecond"] for r in rows if r["depth"] > 0] + [r["msgsPerSecond"] for r in held]
        if deep:
            res["acceptRatioWorst"] = round(min(deep) / max(first["msgsPerSecond"], 1e-9), 3)
        with_depth = [r for r in rows if r["depth"] > 0]
        if with_depth:
            res["idleCpuFirst"] = with_depth[0]["idleCpuPerSecond"]
            res["idleCpuAtMaxDepth"] = last["idleCpuPerSecond"]
            res["idleCpuRatio"] = round(last["idleCpuPerSecond"] / max(with_depth[0]["idleCpuPerSecond"], 1e-3), 3)
        # The work per retry must not grow with depth (no scans per poll): CPU per deferral while idle.
        per = [r for r in rows if r.get("idleCpuPerRetryMs")]
        if per:
            res["cpuPerRetryMsFirst"] = per[0]["idleCpuPerRetryMs"]
            res["cpuPerRetryMsDeep"] = per[-1]["idleCpuPerRetryMs"]
            res["cpuPerRetryDepths"] = [per[0]["depth"], per[-1]["depth"]]
            res["schedulerCpuPerRetryRatio"] = round(per[-1]["idleCpuPerRetryMs"] / max(per[0]["idleCpuPerRetryMs"], 1e-6), 3)
        res["rssRatio"] = round(last["rssMB"] / max(first["rssMB"], 1e-9), 3)
        res["rssAnonRatio"] = round(last["rssAnonMB"] / max(first["rssAnonMB"], 1e-9), 3)
        res["cpuPerMsgRatio"] = round(last["cpuPerMsgMs"] / max(first["cpuPerMsgMs"], 1e-9), 3)
        # Device bytes written per accepted message (None without a loop filesystem).
        res["bytesPerMsgEmpty"] = first.get("bytesPerMsg")
        res["bytesPerMsgAtMaxDepth"] = last.get("bytesPerMsg")
        if first.get("bytesPerMsg") and last.get("bytesPerMsg") is not None:
            res["bytesPerMsgRatio"] = round(last["bytesPerMsg"] / first["bytesPerMsg"], 3)
        # Extrapolation to 10^7 from the measured growth.
        ext = {"depth": 10_000_000}
        slope, icpt = fit([(r["depth"], r["idleCpuPerRetryMs"]) for r in per])
        if slope is not None:
            ext["cpuPerRetryMs"] = round(icpt + max(slope, 0.0) * 1e7, 3)
        if last.get("diskBytesPerQueued"):
            ext["diskGB"] = round(last["diskBytesPerQueued"] * 1e7 / 1e9, 1)
        if last.get("mapUsedBytesPerQueued"):
            ext["mapUsedGB"] = round(last["mapUsedBytesPerQueued"] * 1e7 / 1e9, 1)
        ext["method"] = ("per-message disk and map use times 10^7; CPU per retry on the least-squares line "
                         "through the checkpoints with retries (only if it grows). Not extrapolated: the accept rate "
                         "(set by the retries due, i.e. by the arrival rate one retry step earlier, not by depth) "
                         "and RssAnon (bounded by delivery.maxInFlight)")
        res["extrapolated"] = ext
        dq.add_cost_rows(bench, [dq.cost_row("outage", r["checkpoint"], r) for r in rows])

        # ---- recovery: the receiver takes mail again ----
        backlog = node.depth()
        m_rec = node.metrics()
        res["parkedAtRecovery"] = m_rec.get("sendarix_deliveries_parked")
        rss_rec = node.sample()
        delivered0 = receiver.delivered()
        receiver.deferring = False
        recover_t = time.time()
        stop, sent = threading.Event(), []
        sender = threading.Thread(target=fresh_sender, args=(node, stop, sent), daemon=True)
        sender.start()
        t_end = time.monotonic() + drain_seconds
        while time.monotonic() < t_end:
            time.sleep(1)
        stop.set()
        sender.join(timeout=60)
        # Give fresh messages sent at the very end a few seconds more to arrive.
        time.sleep(min(10, drain_seconds / 3))
        _, arrivals, _ = receiver.snapshot()
        window = [x for x in arrivals[delivered0:] if x[0] <= recover_t + drain_seconds]
        backlog_arrivals = [x for x in window if x[1] == "backlog"]
        res["backlogAtRecovery"] = backlog
        res["drainSeconds"] = drain_seconds
        res["deliveredInDrain"] = len(window)
        if len(window) >= 2:
            t_first = window[0][0]
            span = max(recover_t + drain_seconds - t_first, 1e-9)
            res["drainRate"] = round(len(window) / span, 1)
            res["drainRatio"] = round(res["drainRate"] / mode["shapedRate"], 3)
            res["firstDeliveryAfterRecoverySeconds"] = round(t_first - recover_t, 2)
        fresh = sorted(at - st for at, k, st in arrivals if k == "fresh" and st is not None)
        res["freshSent"] = len(sent)
        res["freshDelivered"] = len(fresh)
        if fresh:
            res["freshLatencyP50"] = round(B.percentile(fresh, 50), 2)
            res["freshLatencyP99"] = round(B.percentile(fresh, 99), 2)
        ages = sorted(at - st for at, k, st in backlog_arrivals if st is not None)
        if ages:
            res["backlogAgeP50"] = round(B.percentile(ages, 50), 1)
            res["backlogAgeMax"] = round(ages[-1], 1)
        if fresh and ages:
            # Below 1: fresh mail waits less than the backlog delivered beside it has waited.
            res["freshToBacklogWaitRatio"] = round(res["freshLatencyP50"] / max(res["backlogAgeP50"], 1e-3), 4)
        if res.get("drainRate"):
            res["drainAllSecondsEstimate"] = round(backlog / res["drainRate"], 0)
        res["depthAfterDrain"] = node.depth()
        # Postponed mail pulled forward at recovery (RecoveryDrain) and fresh mail claimed first.
        m_end = node.metrics()
        for key, name in (("sendarix_deliveries_pulled_total", "pulledInDrain"),
                          ("sendarix_deliveries_fresh_first_total", "freshFirstInDrain")):
            if key in m_end:
                res[name] = int(m_end[key] - m_rec.get(key, 0))
        fresh_window = [x for x in window if x[1] == "fresh"]
        res["freshDeliveredInDrainWindow"] = len(fresh_window)
        res["freshSentInDrainWindow"] = len([t for t in sent if t <= recover_t + drain_seconds])
        if postpone_from is not None:
            # Backlog received (Received: date, 1 s) after parking was full: postponed, not parked.
            late = [at for at, k, st in arrivals[delivered0:] if k == "backlog" and st is not None and st > postpone_from + 1]
            res["postponedDeliveredInDrain"] = len([at for at in late if at <= recover_t + drain_seconds])
            if late:
                res["firstPostponedDeliveryAfterRecoverySeconds"] = round(min(late) - recover_t, 2)
        after = node.sample()
        res["rssAnonMBAtRecovery"] = round((rss_rec["rssAnonKB"] or 0) / 1024, 1)
        res["rssAnonMBAfterDrain"] = round((after["rssAnonKB"] or 0) / 1024, 1)
        res["loadavgEnd"] = round(os.getloadavg()[0], 2)
    except B.Unavailable as e:
        res = {"available": False, "reason": str(e)}
    finally:
        if node is not None:
            if node.proc is not None and node.proc.poll() is not None:
                res["crashed"] = "exit %s; log tail: %s" % (node.proc.returncode, B.file_tail(node.logfile, 600))
            node.stop()
        receiver.stop()
        dq.release_filesystem(fs)
        shutil.rmtree(os.path.join(d, "o1"), ignore_errors=True)
    bench.results["outage"] = res
