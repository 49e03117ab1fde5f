extension PeerTransport {
    /// Applies the transport settings of `options` (mutual TLS, handshake deadline and limits) and
    /// sends security events to `logSink` as `warn` lines tagged with the node id. Call before
    /// `start`; blocks on reading the TLS files and throws if they cannot be loaded.
    func apply(_ options: RaftLog.Options, logSink: @escaping RaftLog.LogSink) throws {
        if let tls = options.tls { try enableTLS(tls) }
        handshakeTimeout = options.handshakeTimeout
        maxPendingHandshakes = options.maxPendingHandshakes
        maxPendingHandshakesPerIP = options.maxPendingHandshakesPerIP
        let node = options.nodeID
        onSecurityEvent = { event, fields in
            var f = fields
            f["node"] = node
            logSink("warn", event, f)
        }
    }
}
