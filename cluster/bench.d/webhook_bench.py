"""`cluster/bench --webhook`: the cost of webhooks on the accept and relay paths.

With --webhook every Sendarix measurement is also made with a third target, "sendarix-webhook":
the same binary started through bench.d/sendarix-with-webhook, which subscribes a local receiver
(answering 200) to every event of every tenant. The targets alternate round by round
(postfix, sendarix, sendarix-webhook), so all three see the same background load. The final
JSON gets, per accept size and for relay:

  webhookRatio_msgs_per_s        webhook-on msgs/s over webhook-off msgs/s of the same run
  ratio_msgs_per_s_webhook       webhook-on Sendarix over Postfix (compare with ratio_msgs_per_s)
  webhook_cpu_s_per_1000_added   CPU s per 1,000 messages, webhook-on minus webhook-off
and, per scenario, webhook_calls_received (what the receivers got; about two events a message:
accepted and delivered) so a run where calls did not flow is visible."""
import glob
import os
import sys

TARGET = "sendarix-webhook"
WRAPPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sendarix-with-webhook")


def add_arguments(p):
    p.add_argument("--webhook", action="store_true",
                   help="also measure Sendarix with a webhook on every event (target sendarix-webhook) "
                        "and report webhook-on/off ratios (bench.d/webhook_bench.py)")


def configure(a):
    """After parsing: adds the target and points the wrapper at the binary under test."""
    if getattr(a, "webhook", False) and "sendarix" in a.targets and TARGET not in a.targets:
        a.targets.append(TARGET)
        os.environ["SENDARIX_REAL_BIN"] = os.path.abspath(a.sendarix_bin)


def binary(a, target):
    """The executable a Sendarix target is started with."""
    return WRAPPER if target == TARGET else a.sendarix_bin


def _calls(root, scenario):
    total = 0
    for path in glob.glob(os.path.join(root, "*-%s-%s" % (scenario, TARGET), "webhook-calls")):
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
    log("  msgs/s off %s, on %s: on/off %s; vs Postfix off %s, on %s; CPU s/1000 off %s, on %s (+%s)"
        % (m_off, m_on, section["webhookRatio_msgs_per_s"], section.get("ratio_msgs_per_s"),
           section["ratio_msgs_per_s_webhook"], c_off, c_on, section["webhook_cpu_s_per_1000_added"]))


def add_ratios(results, root, log=lambda s: sys.stderr.write("bench: " + s + "\n")):
    """Adds the webhook keys to results["accept"] and results["relay"] (when measured)."""
    acc = results.get("accept")
    if acc and any(TARGET in sec for sec in acc.get("sizes", {}).values()):
        for size, sec in acc["sizes"].items():
            log("webhook cost, accept %s bytes:" % size)
            _add(sec, log)
        acc["webhook_calls_received"] = _calls(root, "accept")
    rel = results.get("relay")
    if rel and TARGET in rel:
        log("webhook cost, relay:")
        _add(rel, log)
        rel["webhook_calls_received"] = _calls(root, "relay")
