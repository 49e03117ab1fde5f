#!/usr/bin/python3
"""The lab's parent zone ("the registrar"): serves PARENT authoritatively and delegates CHILD to
the relay nodes' built-in DNS with NS records and glue, as an operator sets up at a registrar.

Usage: parentzone.py --listen 198.19.0.2 --parent sxlab. --child relay.sxlab. \
           --ns n1.relay.sxlab.=198.18.1.11 --ns n2.relay.sxlab.=198.18.1.12 ...
UDP and TCP on port 53. Queries under CHILD get a referral (NS in authority, glue A in additional);
the parent's own names get AA answers or NXDOMAIN.
"""
import argparse
import socket
import socketserver
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

TTL = 3600


def build(args):
    parent = dns.name.from_text(args.parent)
    child = dns.name.from_text(args.child)
    ns = [(dns.name.from_text(n.split("=")[0]), n.split("=")[1]) for n in args.ns]
    own_ns = dns.name.from_text("ns", parent)
    return parent, child, ns, own_ns


def answer(wire, zone, listen):
    parent, child, ns, own_ns = zone
    try:
        q = dns.message.from_wire(wire)
    except Exception:
        return None
    r = dns.message.make_response(q)
    r.flags &= ~dns.flags.RA
    if not q.question:
        r.set_rcode(dns.rcode.FORMERR)
        return r.to_wire()
    qname, qtype = q.question[0].name, q.question[0].rdtype
    if qname.is_subdomain(child):
        r.authority.append(dns.rrset.from_text_list(child, TTL, "IN", "NS", [n.to_text() for n, _ in ns]))
        for n, a in ns:
            r.additional.append(dns.rrset.from_text(n, TTL, "IN", "A", a))
        return r.to_wire()
    if not qname.is_subdomain(parent):
        r.set_rcode(dns.rcode.REFUSED)
        return r.to_wire()
    r.flags |= dns.flags.AA
    soa = dns.rrset.from_text(parent, TTL, "IN", "SOA", f"{own_ns} hostmaster.{parent} 1 3600 600 86400 60")
    if qname == parent and qtype == dns.rdatatype.SOA:
        r.answer.append(soa)
    elif qname == parent and qtype == dns.rdatatype.NS:
        r.answer.append(dns.rrset.from_text(parent, TTL, "IN", "NS", own_ns.to_text()))
    elif qname == own_ns and qtype == dns.rdatatype.A:
        r.answer.append(dns.rrset.from_text(own_ns, TTL, "IN", "A", listen))
    elif qname in (parent, own_ns):
        r.authority.append(soa)
    else:
        r.set_rcode(dns.rcode.NXDOMAIN)
        r.authority.append(soa)
    return r.to_wire()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--parent", required=True)
    ap.add_argument("--child", required=True)
    ap.add_argument("--ns", action="append", default=[])
    args = ap.parse_args()
    zone = build(args)

    class UDP(socketserver.BaseRequestHandler):
        def handle(self):
            data, sock = self.request
            out = answer(data, zone, args.listen)
            if out:
                sock.sendto(out, self.client_address)

    class TCP(socketserver.StreamRequestHandler):
        def handle(self):
            while True:
                head = self.rfile.read(2)
                if len(head) < 2:
                    return
                data = self.rfile.read(int.from_bytes(head, "big"))
                out = answer(data, zone, args.listen)
                if not out:
                    return
                self.wfile.write(len(out).to_bytes(2, "big") + out)

    socketserver.ThreadingUDPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    udp = socketserver.ThreadingUDPServer((args.listen, 53), UDP)
    tcp = socketserver.ThreadingTCPServer((args.listen, 53), TCP)
    threading.Thread(target=tcp.serve_forever, daemon=True).start()
    udp.serve_forever()


if __name__ == "__main__":
    main()
