extension RelayConfig {
    /// `cluster.preferredLeaderRegion` must name the region of at least one member (this node or a
    /// peer); on a single node it has nothing to act on (warning).
    func validatePreferredLeaderRegion(_ p: ConfigProblems) {
        guard let region = cluster.preferredLeaderRegion else { return }
        let path = "cluster.preferredLeaderRegion"
        guard RelayConfig.isValidID(region) else {
            return p.error(path, "'\(region)' must be 1-64 letters, digits, '-', '_' or '.'")
        }
        let known = Set([node.region] + cluster.peers.map(\.region))
        if !known.contains(region) {
            p.error(path, "no node is in region '\(region)' (known: \(known.sorted().joined(separator: ", ")))")
        } else if cluster.peers.isEmpty {
            p.warning(path, "has no effect without cluster.peers")
        }
    }
}
