import Glibc
import Testing
@testable import NetworkIO

@Suite("Listener accept failures")
struct ListenerAcceptTests {
    @Test("descriptor or memory exhaustion pauses the listener; a vanished peer moves on; EAGAIN waits")
    func reactions() {
        for e in [EMFILE, ENFILE, ENOBUFS, ENOMEM, EBADF] {
            #expect(Listener.reaction(toAcceptError: e) == .pause, "errno \(e)")
        }
        for e in [ECONNABORTED, EPROTO, EINTR, EPERM] {
            #expect(Listener.reaction(toAcceptError: e) == .next, "errno \(e)")
        }
        #expect(Listener.reaction(toAcceptError: EAGAIN) == .wait)
        #expect(Listener.reaction(toAcceptError: EWOULDBLOCK) == .wait)
    }
}
