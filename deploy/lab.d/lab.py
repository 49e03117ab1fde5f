#!/usr/bin/python3
"""deploy/lab: a multi-region Sendarix cluster in Linux network namespaces (root only).

  lab up --layout 3n2r|5n3r --bin PATH [--prefix sxlab-] [--delay-ms 40] [--jitter-ms 5]
         [--ttl 10] [--preferred-region rN]
  lab down [--prefix sxlab-]        removes every namespace, process, file it created (idempotent)
  lab status [--prefix sxlab-]      processes alive, each node's raft role and leader
  lab cut rN | heal rN              takes region N's data-center link down / up (on the router)
  lab exec SITE CMD...              runs CMD in a lab namespace (n1, u2, dns, mta, rt)

Topology (all addresses in 198.18.0.0/15, existing only inside the lab's namespaces):
  router ns PREFIXrt: one bridge per site, IP forwarding, TPROXY rules sending every TCP
      connection and UDP flow between sites of different regions through delayproxy.py (one-way
      delay +- jitter)
  data center of region R: bridge dcR, 198.18.R.0/24; node i at 198.18.R.(10+i), ns PREFIXnI
  users of region R: bridge usR, 198.18.(100+R).0/24; client ns PREFIXuR at 198.18.(100+R).10,
      and region R's own unbound at 198.18.(100+R).53 (resolver-address routing), named by
      /etc/netns/PREFIXuR/resolv.conf
  core (no added delay): bridge core, 198.19.0.0/24; ns PREFIXdns holds the parent zone server
      (198.19.0.2, delegates relay.sxlab. to the nodes with NS + glue) and one unbound sending ECS
      (198.19.0.60);
      ns PREFIXmta holds smtp-sink (198.19.0.25:25) writing every message to a file.
Everything is described in STATE_DIR/state.json (STATE_DIR = /tmp/PREFIXlab).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
LAYOUTS = {
    # node -> region
    "3n2r": {"n1": 1, "n2": 1, "n3": 2},
    "5n3r": {"n1": 1, "n2": 1, "n3": 2, "n4": 2, "n5": 3},
}
PARENT = "sxlab."
ZONE = "relay.sxlab"
INGRESS = "smtp.relay.sxlab"
TOKEN = "lab-admin-token-0123456789"
MTA = "198.19.0.25"
PARENT_NS = "198.19.0.2"
ECS_RESOLVER = "198.19.0.60"
PROXY_PORT = 7999


def resolver_of(region):
    """Region R's own resolver (its users' ISP resolver), in the users' namespace."""
    return f"198.18.{100 + region}.53"


def node_ip(nid, region):
    return f"198.18.{region}.{10 + int(nid[1:])}"


def client_ip(region):
    return f"198.18.{100 + region}.10"


def run(*cmd, check=True, quiet=False):
    r = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return r


def state_dir(prefix):
    return f"/tmp/{prefix}lab"


def load_state(prefix):
    try:
        return json.load(open(os.path.join(state_dir(prefix), "state.json")))
    except (OSError, ValueError):
        return None


def save_state(st):
    path = os.path.join(st["dir"], "state.json")
    with open(path + ".tmp", "w") as f:
        json.dump(st, f, indent=2)
    os.replace(path + ".tmp", path)


def spawn(st, ns, name, cmd, env=None):
    """Starts cmd in namespace ns (own session, logs to DIR/name.log); records its pid."""
    log = open(os.path.join(st["dir"], f"{name}.log"), "ab")
    p = subprocess.Popen(["ip", "netns", "exec", ns] + cmd, stdin=subprocess.DEVNULL, stdout=log,
                         stderr=subprocess.STDOUT, start_new_session=True, env=env)
    st["pids"][name] = p.pid
    save_state(st)
    return p


def add_site_link(st, rt, ns, bridge, addr, gw, ifname="eth0"):
    """A veth pair: ifname in ns (addr/24, default route via gw), the other end on bridge in rt."""
    st["veths"] = st.get("veths", 0) + 1
    peer = f"v{st['veths']}"
    run("ip", "-n", rt, "link", "add", peer, "type", "veth", "peer", "name", ifname, "netns", ns)
    run("ip", "-n", rt, "link", "set", peer, "master", bridge, "up")
    run("ip", "-n", ns, "addr", "add", addr, "dev", ifname)
    run("ip", "-n", ns, "link", "set", ifname, "up")
    if gw:
        run("ip", "-n", ns, "route", "add", "default", "via", gw)


def unbound_conf(st, name, address, ecs):
    d = st["dir"]
    lines = [
        "server:",
        f"  interface: {address}", "  port: 53", f"  outgoing-interface: {address}",
        "  access-control: 0.0.0.0/0 allow", "  do-not-query-localhost: no", '  username: ""',
        '  chroot: ""', f'  directory: "{d}"', f'  pidfile: "{d}/{name}.pid"', "  use-syslog: no",
        f'  logfile: "{d}/{name}.unbound.log"', "  num-threads: 1", "  so-reuseport: no",
        "  qname-minimisation: no", "  harden-referral-path: no", "  prefetch: no", "  cache-min-ttl: 0",
        "  infra-host-ttl: 10", "  infra-keep-probing: yes", "  target-fetch-policy: \"0 0 0 0 0\"",
        "  outgoing-range: 128", "  num-queries-per-thread: 64",
        '  module-config: "subnetcache iterator"' if ecs else '  module-config: "iterator"',
    ]
    if ecs:
        lines += ["  send-client-subnet: 198.18.0.0/16", "  max-client-subnet-ipv4: 24"]
    lines += ["stub-zone:", f'  name: "{PARENT}"', f"  stub-addr: {PARENT_NS}"]
    path = os.path.join(d, f"{name}.conf")
    open(path, "w").write("\n".join(lines) + "\n")
    return path


def node_config(st, nid, region):
    layout = st["nodes"]
    d = os.path.join(st["dir"], nid)
    os.makedirs(os.path.join(d, "data"), exist_ok=True)
    ip = node_ip(nid, region)
    regions = sorted(set(n["region"] for n in layout.values()))
    cfg = {
        "node": {"id": nid, "region": f"r{region}", "hostname": f"{nid}.{ZONE}", "dataDir": os.path.join(d, "data")},
        "listen": {"submission": [f"{ip}:587"], "relay": [f"{ip}:25"], "admin": f"{ip}:8025",
                   "dns": [f"{ip}:53"], "peer": f"{ip}:7700"},
        "cluster": {"peers": [{"id": p, "address": f"{n['ip']}:7700", "region": f"r{n['region']}"}
                              for p, n in sorted(layout.items()) if p != nid],
                    "secretFile": os.path.join(st["dir"], "cluster.key")},
        "adminToken": TOKEN,
        "dns": {"zone": ZONE, "ingressName": INGRESS, "ttl": st["ttl"],
                "regions": {f"r{r}": [f"198.18.{r}.0/24", f"198.18.{100 + r}.0/24", f"{resolver_of(r)}/32"]
                            for r in regions},
                "rateLimit": {"enabled": False}},
        "policy": {"localDomains": [ZONE], "trustedNetworks": ["198.18.0.0/15"]},
        "routes": [{"domain": "*", "hosts": [f"{MTA}:25"], "tls": "none"}],
        "resolver": {"nameservers": [resolver_of(region)]},
    }
    if st.get("preferredRegion"):
        cfg["cluster"]["preferredLeaderRegion"] = st["preferredRegion"]
    path = os.path.join(d, "sendarix.json")
    json.dump(cfg, open(path, "w"), indent=2)
    return path


START_NODE_SECONDS = 120


def start_node(st, nid):
    n = st["nodes"][nid]
    listen = os.path.join(n["dir"], "data", "listen.json")
    if os.path.exists(listen):
        os.remove(listen)
    spawn(st, n["ns"], nid, [st["bin"], "serve", "--config", n["config"]])
    # A hang guard, left as soon as the node reports its listeners: a debug node on a loaded
    # machine took 31 s to log its first line.
    deadline = time.monotonic() + START_NODE_SECONDS
    while time.monotonic() < deadline:
        if os.path.exists(listen):
            return
        if not alive(st["pids"][nid]):
            raise RuntimeError(f"node {nid} exited; see {st['dir']}/{nid}.log")
        time.sleep(0.1)
    raise RuntimeError(f"node {nid} did not report its listeners in {START_NODE_SECONDS} s")


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def up(args):
    if os.geteuid() != 0:
        sys.exit("deploy/lab needs root (network namespaces)")
    prefix = args.prefix
    if load_state(prefix):
        down(args)
    d = state_dir(prefix)
    os.makedirs(d, exist_ok=True)
    layout = LAYOUTS[args.layout]
    st = {"prefix": prefix, "dir": d, "layout": args.layout, "bin": os.path.abspath(args.bin), "ttl": args.ttl,
          "delayMs": args.delay_ms, "jitterMs": args.jitter_ms, "preferredRegion": args.preferred_region,
          "namespaces": [], "pids": {}, "token": TOKEN, "zone": ZONE, "ingress": INGRESS, "mta": MTA,
          "ecsResolver": ECS_RESOLVER, "nodes": {}, "regions": sorted(set(layout.values()))}
    for nid, r in layout.items():
        st["nodes"][nid] = {"region": r, "ip": node_ip(nid, r), "ns": f"{prefix}{nid}", "dir": os.path.join(d, nid)}
    save_state(st)
    with open(os.path.join(d, "cluster.key"), "w") as f:
        f.write(os.urandom(32).hex())

    def netns(name):
        run("ip", "netns", "add", name)
        st["namespaces"].append(name)
        save_state(st)
        run("ip", "-n", name, "link", "set", "lo", "up")

    rt = f"{prefix}rt"
    netns(rt)
    run("ip", "netns", "exec", rt, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    run("ip", "netns", "exec", rt, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0")
    # Bridged frames must not pass iptables: TPROXY at the bridge hook loses its socket (RSTs).
    run("ip", "netns", "exec", rt, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0", check=False)
    run("ip", "netns", "exec", rt, "sysctl", "-qw", "net.ipv4.conf.default.rp_filter=0")
    sites = {"core": ("198.19.0.1/24", None)}
    for r in st["regions"]:
        sites[f"dc{r}"] = (f"198.18.{r}.1/24", r)
        sites[f"us{r}"] = (f"198.18.{100 + r}.1/24", r)
    for br, (addr, _) in sites.items():
        run("ip", "-n", rt, "link", "add", br, "type", "bridge")
        run("ip", "-n", rt, "addr", "add", addr, "dev", br)
        run("ip", "-n", rt, "link", "set", br, "up")
    # Delay: TCP between sites of different regions goes through the forwarder (TPROXY keeps both
    # addresses); replies to the forwarder's transparent sockets are delivered locally.
    ipt = ["ip", "netns", "exec", rt, "iptables", "-w", "-t", "mangle"]
    run(*ipt, "-N", "DIVERT")
    run(*ipt, "-A", "DIVERT", "-j", "MARK", "--set-mark", "1")
    run(*ipt, "-A", "DIVERT", "-j", "ACCEPT")
    for proto in ("tcp", "udp"):
        run(*ipt, "-A", "PREROUTING", "-p", proto, "-m", "socket", "-j", "DIVERT")
    nets = {br: addr.rsplit(".", 1)[0] + ".0/24" for br, (addr, _) in sites.items()}
    if args.delay_ms > 0 or args.jitter_ms > 0 or args.proxy_always:
        for a, (_, ra) in sites.items():
            for b, (_, rb) in sites.items():
                if ra is not None and rb is not None and ra != rb:
                    for proto in ("tcp", "udp"):
                        run(*ipt, "-A", "PREROUTING", "-p", proto, "-s", nets[a], "-d", nets[b], "-j", "TPROXY",
                            "--on-port", str(PROXY_PORT), "--tproxy-mark", "1")
    run("ip", "-n", rt, "rule", "add", "fwmark", "1", "lookup", "100")
    run("ip", "-n", rt, "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "100")
    spawn(st, rt, "delayproxy", ["/usr/bin/python3", os.path.join(HERE, "delayproxy.py"), "--port", str(PROXY_PORT),
                                 "--delay-ms", str(args.delay_ms), "--jitter-ms", str(args.jitter_ms),
                                 "--stats", os.path.join(d, "delayproxy.json")])

    # Core: DNS (parent zone + resolvers) and the receiving MTA.
    dnsns = f"{prefix}dns"
    netns(dnsns)
    add_site_link(st, rt, dnsns, "core", f"{PARENT_NS}/24", "198.19.0.1")
    run("ip", "-n", dnsns, "addr", "add", f"{ECS_RESOLVER}/24", "dev", "eth0")
    mtans = f"{prefix}mta"
    netns(mtans)
    add_site_link(st, rt, mtans, "core", f"{MTA}/24", "198.19.0.1")
    mail = os.path.join(d, "mail")
    os.makedirs(mail, exist_ok=True)
    os.chmod(mail, 0o777)
    os.chmod(d, 0o755)
    spawn(st, mtans, "smtp-sink", ["/usr/sbin/smtp-sink", "-u", "nobody", "-d", mail + "/", f"{MTA}:25", "256"])

    # Data centers and users.
    for nid, n in st["nodes"].items():
        netns(n["ns"])
        add_site_link(st, rt, n["ns"], f"dc{n['region']}", n["ip"] + "/24", f"198.18.{n['region']}.1")
        n["config"] = node_config(st, nid, n["region"])
    for r in st["regions"]:
        ns = f"{prefix}u{r}"
        netns(ns)
        add_site_link(st, rt, ns, f"us{r}", client_ip(r) + "/24", f"198.18.{100 + r}.1")
        run("ip", "-n", ns, "addr", "add", f"{resolver_of(r)}/24", "dev", "eth0")
        os.makedirs(f"/etc/netns/{ns}", exist_ok=True)
        open(f"/etc/netns/{ns}/resolv.conf", "w").write(f"nameserver {resolver_of(r)}\noptions timeout:2 attempts:2\n")
    save_state(st)

    spawn(st, dnsns, "parentzone", ["/usr/bin/python3", os.path.join(HERE, "parentzone.py"), "--listen", PARENT_NS,
                                    "--parent", PARENT, "--child", ZONE + "."]
          + [f"--ns={nid}.{ZONE}.={n['ip']}" for nid, n in sorted(st["nodes"].items())])
    for r in st["regions"]:
        spawn(st, f"{prefix}u{r}", f"unbound-r{r}", ["/usr/sbin/unbound", "-d", "-c", unbound_conf(st, f"unbound-r{r}", resolver_of(r), False)])
    spawn(st, dnsns, "unbound-ecs", ["/usr/sbin/unbound", "-d", "-c", unbound_conf(st, "unbound-ecs", ECS_RESOLVER, True)])

    for nid in sorted(st["nodes"]):
        start_node(st, nid)
    wait_leader(st, 60)
    wait_dns(st, 60)
    print(json.dumps(summary(st), indent=2))


def summary(st):
    return {"prefix": st["prefix"], "dir": st["dir"], "layout": st["layout"], "ingress": st["ingress"],
            "nodes": {k: {"ip": v["ip"], "region": f"r{v['region']}", "ns": v["ns"]} for k, v in st["nodes"].items()},
            "clients": {f"r{r}": {"ns": f"{st['prefix']}u{r}", "ip": client_ip(r), "resolver": resolver_of(r)}
                        for r in st["regions"]},
            "ecsResolver": st["ecsResolver"], "mta": st["mta"], "delayMs": st["delayMs"], "jitterMs": st["jitterMs"]}


def admin(st, nid, path, method="GET", body=None, timeout=5):
    """Calls node nid's admin API from inside its namespace (curl in the node's netns)."""
    n = st["nodes"][nid]
    cmd = ["ip", "netns", "exec", n["ns"], "curl", "-s", "-m", str(timeout), "-X", method,
           "-H", f"Authorization: Bearer {st['token']}", f"http://{n['ip']}:8025{path}"]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def cluster_status(st):
    out = {}
    for nid in sorted(st["nodes"]):
        s = admin(st, nid, "/v1/cluster/status", timeout=2) if alive(st["pids"].get(nid, -1)) else None
        out[nid] = {"role": s.get("role"), "leader": s.get("leader"), "term": s.get("term"),
                    "commit": s.get("commit"), "quorum": s.get("hasQuorum")} if s else None
    return out


def wait_leader(st, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        s = cluster_status(st)
        leaders = {v["leader"] for v in s.values() if v and v["leader"]}
        if len(leaders) == 1 and all(v and v["leader"] for v in s.values()):
            return leaders.pop()
        time.sleep(0.3)
    raise RuntimeError(f"no single leader within {seconds} s: {cluster_status(st)}")


def wait_dns(st, seconds):
    """Waits until every node, asked directly from each region's users' network, answers the
    cluster hostname with that region's nodes (every node sees every other as healthy), so that no
    resolver caches an answer from before the cluster settled."""
    deadline = time.time() + seconds
    pending = []
    while time.time() < deadline:
        pending = []
        for r in st["regions"]:
            want = sorted(n["ip"] for n in st["nodes"].values() if n["region"] == r)
            for nid, n in sorted(st["nodes"].items()):
                out = subprocess.run(["ip", "netns", "exec", f"{st['prefix']}u{r}", "dig", "+short", "+time=2",
                                      "+tries=1", f"@{n['ip']}", st["ingress"], "A"], capture_output=True, text=True)
                if sorted(out.stdout.split()) != want:
                    pending.append(f"{nid} for r{r}: {out.stdout.split()}")
        if not pending:
            return
        time.sleep(0.5)
    raise RuntimeError(f"nodes' DNS answers did not settle in {seconds} s: {pending}")


def down(args):
    prefix = args.prefix
    st = load_state(prefix) or {"pids": {}, "dir": state_dir(prefix)}
    pids = list(st.get("pids", {}).values())
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.time() + 5
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    # Any process still inside a lab namespace (started by hand with `lab exec`) goes too.
    names = [l.split()[0] for l in run("ip", "netns", "list", check=False).stdout.splitlines() if l.strip()]
    # Only this lab's own names (PREFIX + rt|dns|mta|nN|uR): another lab's prefix may start with this one.
    mine = [n for n in names if n.startswith(prefix) and re.fullmatch(r"(rt|dns|mta|n\d+|u\d+)", n[len(prefix):])]
    for ns in mine:
        for pid in run("ip", "netns", "pids", ns, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
    for ns in mine:
        run("ip", "netns", "del", ns, check=False)
        shutil.rmtree(f"/etc/netns/{ns}", ignore_errors=True)
    if os.path.isdir(st["dir"]) and st["dir"].startswith("/tmp/"):
        shutil.rmtree(st["dir"], ignore_errors=True)
    print(json.dumps({"down": prefix, "namespacesRemoved": len(mine)}))


def status(args):
    st = load_state(args.prefix)
    if not st:
        print(json.dumps({"up": False}))
        return
    procs = {name: alive(pid) for name, pid in st["pids"].items()}
    print(json.dumps({"up": True, **summary(st), "processes": procs, "cluster": cluster_status(st)}, indent=2))


def cut(args, down_=True):
    st = load_state(args.prefix)
    r = int(args.region.lstrip("r"))
    run("ip", "-n", f"{st['prefix']}rt", "link", "set", f"dc{r}", "down" if down_ else "up")
    print(json.dumps({"region": f"r{r}", "link": "down" if down_ else "up"}))


def main():
    ap = argparse.ArgumentParser(prog="deploy/lab")
    ap.add_argument("--prefix", default=os.environ.get("SXLAB_PREFIX", "sxlab-"))
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("up")
    u.add_argument("--layout", choices=sorted(LAYOUTS), default="3n2r")
    u.add_argument("--bin", default=os.environ.get("SENDARIX_BINARY", ""))
    u.add_argument("--delay-ms", type=float, default=40)
    u.add_argument("--jitter-ms", type=float, default=5)
    u.add_argument("--proxy-always", action="store_true", help="route through the forwarder even at 0 ms")
    u.add_argument("--ttl", type=int, default=10)
    u.add_argument("--preferred-region")
    sub.add_parser("down")
    sub.add_parser("status")
    for name in ("cut", "heal"):
        c = sub.add_parser(name)
        c.add_argument("region")
    e = sub.add_parser("exec")
    e.add_argument("site")
    e.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    if args.cmd == "up":
        if not args.bin:
            sys.exit("deploy/lab up: --bin PATH (or SENDARIX_BINARY) is required")
        try:
            up(args)
        except Exception as e:
            keep = os.environ.get("SXLAB_KEEP_ON_FAILURE")
            print(f"deploy/lab up failed: {e}; {'kept for inspection' if keep else 'tearing down'}", file=sys.stderr)
            if not keep:
                down(args)
            sys.exit(1)
    elif args.cmd == "down":
        down(args)
    elif args.cmd == "status":
        status(args)
    elif args.cmd in ("cut", "heal"):
        cut(args, args.cmd == "cut")
    elif args.cmd == "exec":
        os.execvp("ip", ["ip", "netns", "exec", args.prefix + args.site] + args.command)


if __name__ == "__main__":
    main()
