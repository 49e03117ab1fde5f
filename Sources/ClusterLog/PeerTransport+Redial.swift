import NetworkIO

/// A peer that dials in is up: lanes to it waiting out a dial backoff dial again at once.
///
/// After a peer has been down a while, each lane to it waits up to 2 s between dials (50 ms
/// doubling). When the peer restarts it dials this node first (forwards, raft replies); without
/// this, the leader's appends to it waited for the backoff to run out, and a restarted follower
/// answered no client until then (it completes a forwarded message once the entry is applied
/// there). Loop thread only.
extension PeerTransport {
    /// `peer` authenticated an inbound connection: resets the backoff of every lane to it, and
    /// dials the idle lanes that have frames queued.
    func peerDialledIn(_ peer: String) {
        for link in links[peer] ?? [] { link.redialNow() }
    }
}

extension PeerTransport.Outbound {
    /// Forgets the dial backoff; an idle lane with queued frames dials now.
    func redialNow() {
        backoff = 0.05
        guard state == .idle else { return }
        nextAttempt = 0
        if !queued.isEmpty { dial() }
    }
}
