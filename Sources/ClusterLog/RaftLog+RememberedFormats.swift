/// Members' log entry formats remembered across restarts.
///
/// The format gate (`RaftLog+Formats`) counted a member it had not heard from since it started as
/// format 1, so a leader restarted while another member was down wrote format 1 until that member
/// came back (webhook batch records waited, postpones were off, outcomes lost their pool). Each node
/// now saves every member's format (raft storage meta, fsynced, only when it changes): from the
/// member's hello, or, for a member not connected to it, from the leader's announcement (followers
/// do not dial each other, so that is how a follower learns of them). For a member not heard from
/// since it started it uses the saved one. A hello always wins over the saved value, so a member
/// restarted with an older build still lowers the format the moment it dials in, exactly as when
/// the leader had not restarted (its in-memory view also outlived the member's downtime). A member
/// never heard of at all still counts as 1. Loop thread.
extension RaftLog {
    /// The format to count for member `name`: its hello since this node started, else the saved
    /// one, else 1.
    func memberFormat(_ name: String) -> UInt8 {
        transport.peerFormats[name] ?? rememberedFormats[name] ?? 1
    }

    /// Saves the formats heard in hellos that differ from the saved ones (one fsynced write, only
    /// when something changed; a failed write is logged and tried again at the next refresh).
    func rememberPeerFormats() {
        var merged = rememberedFormats
        for (name, format) in transport.peerFormats where merged[name] != format { merged[name] = format }
        save(merged)
    }

    /// Follower: the leader announced `announced` (`.leaderView`), the lowest format among the
    /// members it counts. Members that are not connected to this node now (no connection they
    /// dialled in; followers do not talk to each other, so this node may never have heard from
    /// them, or only in an earlier run) count as that from now on, and it is saved: this node then
    /// knows them as the leader does if it leads after a restart. A member connected now keeps its
    /// hello's format (the truth for its current run), and so does the leader. A member that came
    /// back with an older build and dialled only the leader lowers this count through the
    /// announcement; one that runs newer than announced gets its own count back with its next hello
    /// (it dials this node as soon as it has something to send, e.g. answering it as the new leader).
    func followLeaderFormat(announced: UInt8, leader: String) {
        for id in raft.confState.voters + raft.confState.learners where id != raft.id {
            let name = ids.name(id)
            guard name != leader, transport.peerFormats[name] != announced, !transport.dialledIn(by: name) else { continue }
            transport.peerFormats[name] = announced
        }
        rememberPeerFormats()
    }

    private func save(_ merged: [String: UInt8]) {
        if merged != rememberedFormats {
            rememberedFormats = merged
            formatsUnsaved = true
        }
        guard formatsUnsaved, !savingFormatsFailed || ticks % 100 == 0 else { return }
        do {
            try storage.savePeerFormats(rememberedFormats)
            formatsUnsaved = false
            savingFormatsFailed = false
        } catch {
            if !savingFormatsFailed { log("warning", "raft.peer_formats_not_saved", ["error": "\(error)"]) }
            savingFormatsFailed = true
        }
    }

    /// The saved formats of `storage` (empty when unreadable: every member then counts as 1 until heard).
    static func savedFormats(_ storage: RaftLogStorage) -> [String: UInt8] {
        (try? storage.loadPeerFormats()) ?? [:]
    }
}

extension PeerTransport {
    /// Whether `peer` has an authenticated connection dialled in to this node now. Loop thread.
    func dialledIn(by peer: String) -> Bool { inbound.values.contains { $0.peer == peer } }
}
