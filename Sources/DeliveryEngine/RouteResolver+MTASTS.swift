import DeliveryCore

extension RouteResolver {
    /// The MTA-STS policy applied to an MX route and the MX hosts it leaves usable.
    struct MTASTSRouting: Sendable {
        /// The policy (enforce or testing).
        var policy: MTASTSPolicy
        /// The MX hosts to try: under `enforce` only those matching the policy's `mx` patterns.
        var hosts: [String]
    }

    /// Applies `domain`'s MTA-STS policy to its MX hosts (RFC 8461 §5): nil without a policy (or
    /// when disabled); `enforce` keeps the matching hosts and fails with a 451 4.7.5 (retry
    /// later, recorded for TLS reports) when none matches; `testing` keeps every host. BLOCKS on
    /// the policy's TXT lookup and, when needed, its HTTPS fetch.
    func applyMTASTS(domain: String, mxHosts: [String]) -> Result<MTASTSRouting?, MTASTSFailure> {
        guard let mtaSTS, let applied = mtaSTS.policy(for: domain) else { return .success(nil) }
        let policy = applied.policy
        guard policy.mode == .enforce else { return .success(MTASTSRouting(policy: policy, hosts: mxHosts)) }
        let matching = mxHosts.filter { policy.allows(mxHost: $0) }
        guard !matching.isEmpty else {
            mtaSTS.recordFailure(domain: domain, policy: policy, failure: TLSReportLog.Failure(
                .validationFailure, mxHost: mxHosts.first, information: "no MX host matches the policy's mx patterns"))
            return .failure(MTASTSFailure(reply: SMTPReply(451, EnhancedStatusCode(4, 7, 5),
                "MTA-STS policy of \(domain) requires an MX host matching \(policy.mx.joined(separator: ", ")); "
                + "none of \(mxHosts.joined(separator: ", ")) does")))
        }
        return .success(MTASTSRouting(policy: policy, hosts: matching))
    }

    /// An enforced policy that no MX host satisfies: the reply every recipient gets.
    struct MTASTSFailure: Error, Sendable {
        var reply: SMTPReply
    }
}
