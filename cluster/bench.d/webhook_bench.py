"""`cluster/bench --webhook`: the cost of webhooks on the accept and relay paths.

With --webhook every Sendarix measurement is also made with a third target, "sendarix-webhook":
the same binary started through bench.d/sendarix-with-webhook, which subscribes a local receiver
(answering 200) to every event of every tenant. The targets alternate round by round
(postfix, sendarix, sendarix-webhook), so all three see the same background load. The final
JSON gets, per accept size and for relay:

  webhookRatio_msgs_per_s        webhook-on msgs/s over webhook-off msgs/s of the same run
  ratio_msgs_per_s_webhook       webhook-on Sendarix over Postfix (compare with ratio_msgs_per_s)
  webhook_cpu_s_per_1000_added   CPU s per 1,000 messages, webhook-on minus webhook-off
  webhook_cpu_s_per_1000_added_until_drained
                                 the same, with each side's CPU counted until its work is done
                                 (sink drained; for webhook-on also every call answered)
and, per scenario, webhook_calls_received (the events the receivers got; two events a message:
accepted and delivered) so a run where calls did not flow is visible, and webhook_posts_received
(the POSTs that carried them: several events go in one POST as a batch under load).

On this kind of shared machine one on/off pair says little, so each round measures
--webhook-pairs pairs (default 3) of webhook-off and webhook-on servers, alternating which goes
first, and every pair gives its own figures (same background load within a pair):

  webhookRatio_msgs_per_s_paired_median  median over pairs of on/off msgs/s
  webhookRatio_msgs_per_s_paired         each pair's on/off msgs/s (the spread)
  webhookRatio_cpu_s_per_1000            median over pairs of off/on CPU s per 1,000 messages
                                         (1.0: webhooks cost no CPU; CPU is far less noisy than
                                         throughput, and on a CPU-bound relay it bounds it)
  webhookRatio_cpu_s_per_1000_until_drained  the same with CPU counted until the work is done
  webhook_cpu_s_per_1000_added_paired_median  median over pairs of on minus off CPU s / 1,000
  webhook_cpu_s_per_1000_added_paired         each pair's (the spread)
  webhook_pairs                          pairs measured Before the next accept
size (and before a relay round ends) the webhook-on server gets time to send its backlog, so one
phase's calls are not charged to the next.

With --webhook-off-bin PATH the webhook-off side runs another build (for issue 10: the code from
before webhooks, event search and metrics existed), so every pair compares "before the feature"
with "now, webhooks and metrics on" under the same background load, and the two ratios against
Postfix (ratio_msgs_per_s, ratio_msgs_per_s_webhook) are the issue's check in one run. The
webhook-on side's wrapper also scrapes /metrics every SENDARIX_BENCH_SCRAPE_SECONDS (default 5;
0 turns it off), as a Prometheus server would."""
import glob
import os
import statistics
import sys
import time

TARGET = "sendarix-webhook"
WRAPPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sendarix-with-webhook")


def add_arguments(p):
    p.add_argument("--webhook", action="store_true",
                   help="also measure Sendarix with a webhook on every event (target sendarix-webhook) "
                        "and report webhook-on/off ratios (bench.d/webhook_bench.py)")
    p.add_argument("--webhook-off-bin", metavar="PATH",
                   help="with --webhook: the webhook-off side runs this binary instead of --sendarix-bin "
                        "(e.g. a build of the code before webhooks existed), so each pair compares that "
                        "build with the binary under test with webhooks and metrics on; "
                        "ratio_msgs_per_s is then that build's ratio against Postfix")
    p.add_argument("--webhook-pairs", type=int, default=3, metavar="N",
                   help="with --webhook: webhook-off/on server pairs per round, alternating which "
                        "goes first; ratios are medians over pairs (default 3)")


def configure(a):
    """After parsing: adds the target and points the wrapper at the binary under test."""
    if getattr(a, "webhook", False) and "sendarix" in a.targets and TARGET not in a.targets:
        a.targets.append(TARGET)
        os.environ["SENDARIX_REAL_BIN"] = os.path.abspath(a.sendarix_bin)


def round_targets(a, targets, r):
    """The targets of round `r`: the others once, then --webhook-pairs pairs of webhook-off and
    webhook-on Sendarix, alternating which of the two goes first (so a drift in background load
    does not favour one side)."""
    if TARGET not in targets or "sendarix" not in targets:
        return targets
    pairs = max(1, getattr(a, "webhook_pairs", 1))
    out = [t for t in targets if t not in ("sendarix", TARGET)]
    for k in range(pairs):
        out += ["sendarix", TARGET] if (r * pairs + k) % 2 == 0 else [TARGET, "sendarix"]
    return out


ROUND_KEYS = ("cpu_s_per_1000", "cpu_s_per_1000_until_drained", "write_bytes_per_msg", "commits_per_1000")


def io_snapshot(server):
    """At the start of a phase, for `settle`: (bytes the node's process tree wrote to storage so
    far, its spool commits so far), either None when not readable (Postfix; no /metrics)."""
    if not getattr(server, "name", "") == "sendarix" or getattr(server, "proc", None) is None:
        return (None, None)
    return (_write_bytes(server.proc.pid), _spool_commits(server))


def _write_bytes(pid):
    """write_bytes of /proc/PID/io (bytes sent to the storage layer, counted when pages are
    dirtied), or None."""
    try:
        with open("/proc/%d/io" % pid) as f:
            for line in f:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _spool_commits(server):
    """The node's spool write transactions so far (`relaybytes.spool_commits`: /metrics), or None.
    The admin listener may open a moment after SMTP answers (the first phase starts then)."""
    import socket
    import relaybytes
    for _ in range(50):
        try:
            socket.create_connection((server.ip, server.admin_port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    return relaybytes.spool_commits(server)


def keep_rounds(med, entries):
    """For bench.combine: keeps every round's CPU figures beside its `rounds` list, so that
    on/off pairs can be compared round by round."""
    for k in ROUND_KEYS:
        vals = [e.get(k) if e.get("available") else None for e in entries]
        if any(v is not None for v in vals):
            med["rounds_" + k] = vals


def _per_round(entry, key):
    """Every round's `key` of a combined entry (one round: [its value])."""
    if not isinstance(entry, dict):
        return []
    if key == "msgs_per_s" and "rounds" in entry:
        return entry["rounds"]
    if "rounds_" + key in entry:
        return entry["rounds_" + key]
    return [entry.get(key) if entry.get("available") else None]


def _pairs(on, off, key):
    """(on, off) values of `key` of the pairs where both were measured."""
    a, b = _per_round(on, key), _per_round(off, key)
    return [(x, y) for x, y in zip(a, b) if x is not None and y is not None]


def _median(values, digits=3):
    return round(statistics.median(values), digits) if values else None


def binary(a, target):
    """The executable a Sendarix target is started with."""
    if target == TARGET:
        return WRAPPER
    return getattr(a, "webhook_off_bin", None) or a.sendarix_bin


def wait_registered(server, target, unavailable, timeout=30.0):
    """For the webhook-on target: waits until the wrapper registered the endpoint, so that no
    event of the measurement is recorded before it (those would have no call)."""
    if target != TARGET:
        return
    path = os.path.join(server.root, "webhook-registered")
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise unavailable("the webhook endpoint was not registered within %.0f s" % timeout)
        time.sleep(0.1)


def settle(entry, server, target, expected_calls, cpu0, messages, stall=10.0, limit=180.0, io0=(None, None)):
    """After a phase (the sink has everything): for the webhook-on target waits until the
    receiver got `expected_calls` calls in all (or nothing came for `stall` s), then records in
    `entry` the calls and the CPU per 1,000 messages from `cpu0` until now, and from `io0`
    (`io_snapshot` at the phase's start) the bytes written per message (`write_bytes_per_msg`:
    log, spool state and bodies together, as the kernel counts them) and the spool commits per
    1,000 messages (`commits_per_1000`). Any Sendarix target."""
    if not target.startswith("sendarix") or not entry.get("available") or not messages:
        return
    if target == TARGET:
        path = os.path.join(server.root, "webhook-calls")
        start = last_change = time.monotonic()
        seen = -1
        while True:
            try:
                with open(path) as f:
                    n = int(f.read().strip() or "0")
            except (OSError, ValueError):
                n = 0
            now = time.monotonic()
            if n != seen:
                seen, last_change = n, now
            if n >= expected_calls or now - last_change > stall or now - start > limit:
                break
            time.sleep(0.25)
        entry["webhook_calls"] = seen
        entry["webhook_calls_expected"] = expected_calls
        entry["webhook_drain_s"] = round(time.monotonic() - start, 2)
        # The receiver runs on the same cores: its CPU for this phase, per 1,000 messages.
        try:
            with open(os.path.join(server.root, "webhook-receiver-cpu")) as f:
                rcpu = float(f.read().strip() or "0")
            before = getattr(server, "webhook_receiver_cpu", 0.0)
            server.webhook_receiver_cpu = rcpu
            entry["webhook_receiver_cpu_s_per_1000"] = round((rcpu - before) * 1000.0 / messages, 3)
        except (OSError, ValueError):
            pass
    cpu1 = server.cpu_seconds()
    if cpu0 is not None and cpu1 is not None:
        entry["cpu_s_per_1000_until_drained"] = round((cpu1 - cpu0) * 1000.0 / messages, 3)
    w1, k1 = io_snapshot(server)
    if io0[0] is not None and w1 is not None:
        entry["write_bytes_per_msg"] = round((w1 - io0[0]) / messages, 1)
    if io0[1] is not None and k1 is not None:
        entry["commits_per_1000"] = round((k1 - io0[1]) * 1000.0 / messages, 1)


def _calls(root, scenario, name="webhook-calls"):
    total = 0
    for path in glob.glob(os.path.join(root, "*-%s-%s" % (scenario, TARGET), name)):
        try:
            with open(path) as f:
                total += int(f.read().strip() or "0")
        except (OSError, ValueError):
            pass
    return total


def _get(entry, key):
    return entry.get(key) if isinstance(entry, dict) and entry.get("available") else None


def _add(section, log):
    on, off, pf = section.get(TARGET), section.get("sendarix"), section.get("postfix")
    m_on, m_off = _get(on, "msgs_per_s"), _get(off, "msgs_per_s")
    section["webhookRatio_msgs_per_s"] = round(m_on / m_off, 3) if m_on and m_off else None
    m_pf = _get(pf, "msgs_per_s")
    section["ratio_msgs_per_s_webhook"] = round(m_on / m_pf, 3) if m_on and m_pf else None
    c_on, c_off = _get(on, "cpu_s_per_1000"), _get(off, "cpu_s_per_1000")
    section["webhook_cpu_s_per_1000_added"] = round(c_on - c_off, 3) if c_on is not None and c_off is not None else None
    d_on, d_off = _get(on, "cpu_s_per_1000_until_drained"), _get(off, "cpu_s_per_1000_until_drained")
    section["webhook_cpu_s_per_1000_added_until_drained"] = (
        round(d_on - d_off, 3) if d_on is not None and d_off is not None else None)
    tput = _pairs(on, off, "msgs_per_s")
    per_pair = [round(x / y, 3) for x, y in tput if y]
    section["webhook_pairs"] = len(per_pair)
    section["webhookRatio_msgs_per_s_paired"] = per_pair
    section["webhookRatio_msgs_per_s_paired_median"] = _median(per_pair)
    cpu = _pairs(on, off, "cpu_s_per_1000")
    section["webhookRatio_cpu_s_per_1000"] = _median([y / x for x, y in cpu if x])
    added = [round(x - y, 3) for x, y in cpu]
    section["webhook_cpu_s_per_1000_added_paired"] = added
    section["webhook_cpu_s_per_1000_added_paired_median"] = _median(added)
    drained = _pairs(on, off, "cpu_s_per_1000_until_drained")
    section["webhookRatio_cpu_s_per_1000_until_drained"] = _median([y / x for x, y in drained if x])
    # Bytes written and commits per message: counted, not timed, so far less noisy than msgs/s.
    for key in ("write_bytes_per_msg", "commits_per_1000"):
        got = _pairs(on, off, key)
        section["webhook_%s_paired" % key] = [(x, y) for x, y in got]  # (on, off) per pair
        section["webhook_%s_on_median" % key] = _median([x for x, _ in got], 1)
        section["webhook_%s_off_median" % key] = _median([y for _, y in got], 1)
        section["webhookRatio_%s" % key] = _median([y / x for x, y in got if x])  # off / on
    log("  bytes written per message off %s, on %s (off/on %s); spool commits per 1,000 messages "
        "off %s, on %s (off/on %s)"
        % (section["webhook_write_bytes_per_msg_off_median"], section["webhook_write_bytes_per_msg_on_median"],
           section["webhookRatio_write_bytes_per_msg"], section["webhook_commits_per_1000_off_median"],
           section["webhook_commits_per_1000_on_median"], section["webhookRatio_commits_per_1000"]))
    log("  %d pairs: on/off msgs/s median %s (each %s); off/on CPU median %s, until drained %s; "
        "CPU s/1000 added median %s (each %s)"
        % (len(per_pair), section["webhookRatio_msgs_per_s_paired_median"], per_pair,
           section["webhookRatio_cpu_s_per_1000"], section["webhookRatio_cpu_s_per_1000_until_drained"],
           section["webhook_cpu_s_per_1000_added_paired_median"], added))
    log("  msgs/s off %s, on %s: on/off %s; vs Postfix off %s, on %s; CPU s/1000 off %s, on %s (+%s); "
        "until drained off %s, on %s (+%s); calls %s of %s; receiver CPU s/1000 %s"
        % (m_off, m_on, section["webhookRatio_msgs_per_s"], section.get("ratio_msgs_per_s"),
           section["ratio_msgs_per_s_webhook"], c_off, c_on, section["webhook_cpu_s_per_1000_added"],
           d_off, d_on, section["webhook_cpu_s_per_1000_added_until_drained"],
           _get(on, "webhook_calls"), _get(on, "webhook_calls_expected"),
           _get(on, "webhook_receiver_cpu_s_per_1000")))


def add_ratios(results, root, log=lambda s: sys.stderr.write("bench: " + s + "\n")):
    """Adds the webhook keys to results["accept"] and results["relay"] (when measured)."""
    acc = results.get("accept")
    if acc and any(TARGET in sec for sec in acc.get("sizes", {}).values()):
        for size, sec in acc["sizes"].items():
            log("webhook cost, accept %s bytes:" % size)
            _add(sec, log)
        acc["webhook_calls_received"] = _calls(root, "accept")
        acc["webhook_posts_received"] = _calls(root, "accept", "webhook-posts")
    rel = results.get("relay")
    if rel and TARGET in rel:
        log("webhook cost, relay:")
        _add(rel, log)
        rel["webhook_calls_received"] = _calls(root, "relay")
        rel["webhook_posts_received"] = _calls(root, "relay", "webhook-posts")
    summary = {}
    sections = [("accept_%s" % size, sec) for size, sec in sorted((acc or {}).get("sizes", {}).items(),
                                                                   key=lambda kv: int(kv[0]))]
    sections += [("relay", rel)] if rel and TARGET in rel else []
    for name, sec in sections:
        if TARGET not in sec:
            continue
        # On/off: 1.0 means webhooks cost nothing; above 1 for the off/on ones means cheaper with.
        summary[name + "_msgsPerSecondRatio"] = sec.get("webhookRatio_msgs_per_s_paired_median")
        summary[name + "_cpuRatio"] = sec.get("webhookRatio_cpu_s_per_1000")
        summary[name + "_cpuUntilDrainedRatio"] = sec.get("webhookRatio_cpu_s_per_1000_until_drained")
        summary[name + "_writeBytesRatio"] = sec.get("webhookRatio_write_bytes_per_msg")
        summary[name + "_commitsRatio"] = sec.get("webhookRatio_commits_per_1000")
        summary[name + "_pairs"] = sec.get("webhook_pairs")
    if summary:
        results["webhook"] = summary
        for k, v in summary.items():
            log("webhook.%s = %s" % (k, v))
