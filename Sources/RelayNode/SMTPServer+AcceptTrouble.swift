import Foundation
import NetworkIO

extension SMTPServer {
    /// Logs a listener's descriptor-exhaustion episode: once when accepts pause (with the error,
    /// e.g. `tooManyOpenFiles: Too many open files`, and what to raise), once when they resume.
    func acceptTroubleReporter(_ kind: Kind) -> (AcceptTrouble) -> Void {
        let logger = self.logger
        return { trouble in
            switch trouble {
            case .paused(let error, let retry):
                logger.log(.error, "accept paused", fields: [
                    ("service", kind.rawValue), ("error", error.description),
                    ("retrySeconds", String(retry)),
                    ("hint", "raise the open-file limit (ulimit -n, systemd LimitNOFILE) or limits.maxConnections below it"),
                ])
            case .resumed(let failures, let seconds):
                logger.log(.warning, "accept resumed", fields: [
                    ("service", kind.rawValue), ("failedAttempts", String(failures)),
                    ("pausedSeconds", String(format: "%.2f", seconds)),
                ])
            }
        }
    }
}
