import DeliveryCore

/// How TLS went on one outbound SMTP session, for TLS reports (RFC 8460): negotiated (and, when
/// checked, the certificate valid for the MX host), or the failure's result type.
enum TLSSessionOutcome: Sendable, Equatable {
    /// TLS was negotiated; the certificate verified when it was checked.
    case success
    /// TLS failed or was unavailable; `reasonCode` is e.g. the X.509 verification error.
    case failure(TLSReport.ResultType, reasonCode: String?)

    /// The outcome of a finished handshake from the peer verification result (nil: not checked).
    static func handshake(verifyResult: Int?) -> TLSSessionOutcome {
        guard let code = verifyResult, let type = TLSReport.ResultType.forVerifyError(code) else { return .success }
        return .failure(type, reasonCode: "X509_V_ERR \(code)")
    }
}
