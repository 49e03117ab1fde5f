import Foundation
import Testing
@testable import RelayConfig

@Suite("Passwords, authentication and throttling")
struct CredentialTests {
    @Test("a hash verifies its password and rejects others, with the documented format")
    func hashVerify() throws {
        let h = try PasswordHasher.hash("correct horse", iterations: 100_000)
        #expect(h.hasPrefix("$pbkdf2-sha256$i=100000$"))
        #expect(PasswordHasher.verify("correct horse", against: h))
        #expect(!PasswordHasher.verify("correct horsE", against: h))
        #expect(!PasswordHasher.verify("", against: h))
        let parsed = try #require(PasswordHasher.parse(h))
        #expect(parsed.salt.count == 16)
        #expect(parsed.hash.count == 32)
        // Fresh salt per hash.
        #expect(try PasswordHasher.hash("correct horse", iterations: 100_000) != h)
    }

    @Test("new hashes cost 600,000 iterations (OWASP 2023); stored hashes below 100,000 are refused, weaker ones need a rehash")
    func iterationPolicy() throws {
        #expect(PasswordHasher.defaultIterations == 600_000)
        #expect(PasswordHasher.iterationRange.lowerBound == 100_000)
        let salt = "AAAAAAAAAAAAAAAAAAAAAA==", hash = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        #expect(PasswordHasher.parse("$pbkdf2-sha256$i=99999$\(salt)$\(hash)") == nil)
        #expect(PasswordHasher.parse("$pbkdf2-sha256$i=100000$\(salt)$\(hash)")?.iterations == 100_000)
        #expect(PasswordHasher.needsRehash("$pbkdf2-sha256$i=100000$\(salt)$\(hash)"))
        #expect(!PasswordHasher.needsRehash("$pbkdf2-sha256$i=600000$\(salt)$\(hash)"))
        #expect(!PasswordHasher.needsRehash(try PasswordHasher.memoryHash("pw")))
    }

    @Test("a plain config password is kept as a memory-only HMAC: it verifies, is not a storable hash, and costs no PBKDF2")
    func memoryHash() throws {
        let h = try PasswordHasher.memoryHash("pw-app")
        #expect(h.hasPrefix("$hmac-sha256-process$"))
        #expect(!h.contains("pw-app"))
        #expect(PasswordHasher.verify("pw-app", against: h))
        #expect(!PasswordHasher.verify("pw-apP", against: h))
        #expect(PasswordHasher.parse(h) == nil)
        #expect(try PasswordHasher.memoryHash("pw-app") == h)
        #expect(try PasswordHasher.memoryHash("pw-other") != h)
    }

    @Test("a stored hash weaker than the current cost is rehashed in memory after a successful login, and only then")
    func rehashOnLogin() throws {
        let stored = try PasswordHasher.hash("right", iterations: 100_000)
        let auth = try Authenticator(users: [RelayConfig.User(name: "u", passwordHash: stored)], iterations: 120_000)
        #expect(auth.verify(user: "u", password: "wrong", clientIP: nil) == .failure(.badPassword))
        #expect(auth.upgradedUsers.isEmpty)
        #expect(auth.effectiveHash(of: "u") == stored)
        #expect(auth.verify(user: "u", password: "right", clientIP: nil) == .success(user: "u", tenant: "default"))
        #expect(auth.upgradedUsers == ["u"])
        let stronger = try #require(auth.effectiveHash(of: "u"))
        #expect(PasswordHasher.parse(stronger)?.iterations == 120_000)
        #expect(PasswordHasher.verify("right", against: stronger))
        // The rehash survives a reload with the same stored hash, and is dropped when it changes.
        let reloaded = auth.replacingUsers([RelayConfig.User(name: "u", passwordHash: stored)])
        #expect(reloaded.effectiveHash(of: "u") == stronger)
        let changed = auth.replacingUsers([RelayConfig.User(name: "u", passwordHash: try PasswordHasher.memoryHash("new"))])
        #expect(changed.verify(user: "u", password: "new", clientIP: nil) == .success(user: "u", tenant: "default"))
        #expect(changed.verify(user: "u", password: "right", clientIP: nil) == .failure(.badPassword))
    }

    @Test("PBKDF2 output matches the RFC 7914 test vector for PBKDF2-HMAC-SHA256")
    func knownVector() throws {
        // RFC 7914 §11: P="passwd", S="salt", c=1, dkLen=64.
        let dk = try PasswordHasher.derive(password: "passwd", salt: Array("salt".utf8), iterations: 1, length: 64)
        let hex = dk.map { String(format: "%02x", $0) }.joined()
        #expect(hex.hasPrefix("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"))
    }

    @Test("an empty password hashes and verifies without crashing")
    func emptyPassword() throws {
        let h = try PasswordHasher.hash("", iterations: 100_000)
        #expect(PasswordHasher.verify("", against: h))
        #expect(!PasswordHasher.verify("x", against: h))
    }

    @Test("malformed stored hashes never verify")
    func malformed() {
        for bad in ["", "plain", "$pbkdf2-sha256$i=10$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==",
                    "$pbkdf2-sha256$i=1000$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==", "$hmac-sha256-process$AAAA",
                    "$pbkdf2-sha256$i=1000$!!!$AAAA", "$pbkdf2-sha1$i=1000$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==",
                    "$pbkdf2-sha256$i=1000$AAAAAAAAAAA=", "$pbkdf2-sha256$i=99999999999$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA=="] {
            #expect(PasswordHasher.parse(bad) == nil, "parsed \(bad)")
            #expect(!PasswordHasher.verify("x", against: bad))
        }
    }

    @Test("the authenticator accepts the right password, rejects wrong ones and unknown users")
    func authenticator() throws {
        let users = [
            RelayConfig.User(name: "app", passwordHash: try PasswordHasher.memoryHash("pw1"), tenant: "acme"),
            RelayConfig.User(name: "ci", passwordHash: try PasswordHasher.memoryHash("pw2"),
                             allowedNetworks: [IPNetwork("10.0.0.0/8")!, IPNetwork("2001:db8::/32")!]),
        ]
        let auth = try Authenticator(users: users, iterations: 1000)
        let ip = IPAddress("192.0.2.1")!
        #expect(auth.verify(user: "app", password: "pw1", clientIP: ip) == .success(user: "app", tenant: "acme"))
        // Second success comes from the cache and must give the same answer.
        #expect(auth.verify(user: "app", password: "pw1", clientIP: ip) == .success(user: "app", tenant: "acme"))
        #expect(auth.verify(user: "app", password: "pw2", clientIP: ip) == .failure(.badPassword))
        #expect(auth.verify(user: "nobody", password: "pw1", clientIP: ip) == .failure(.unknownUser))
        #expect(auth.verify(user: "APP", password: "pw1", clientIP: ip) == .failure(.unknownUser))
        // A plain-config (memory-hash) user: right and wrong password.
        #expect(auth.verify(user: "ci", password: "pw2", clientIP: IPAddress("10.1.1.1")) == .success(user: "ci", tenant: "default"))
        #expect(auth.verify(user: "ci", password: "pw1", clientIP: IPAddress("10.1.1.1")) == .failure(.badPassword))
    }

    @Test("replacingUsers (config reload) adds and removes users, and a changed password hash takes effect at once")
    func replacingUsers() throws {
        let old = try PasswordHasher.memoryHash("pw1")
        let auth = try Authenticator(users: [RelayConfig.User(name: "app", passwordHash: old),
                                             RelayConfig.User(name: "gone", passwordHash: old)], iterations: 1000)
        let ip = IPAddress("192.0.2.1")!
        #expect(auth.verify(user: "app", password: "pw1", clientIP: ip) == .success(user: "app", tenant: "default"))
        let same = auth.replacingUsers([RelayConfig.User(name: "app", passwordHash: old, tenant: "acme"),
                                        RelayConfig.User(name: "new", passwordHash: try PasswordHasher.memoryHash("pw3"))])
        #expect(same.verify(user: "app", password: "pw1", clientIP: ip) == .success(user: "app", tenant: "acme"))
        #expect(same.verify(user: "new", password: "pw3", clientIP: ip) == .success(user: "new", tenant: "default"))
        #expect(same.verify(user: "gone", password: "pw1", clientIP: ip) == .failure(.unknownUser))
        // The cached success of pw1 must not outlive a password change.
        let changed = same.replacingUsers([RelayConfig.User(name: "app", passwordHash: try PasswordHasher.memoryHash("pw2"))])
        #expect(changed.verify(user: "app", password: "pw1", clientIP: ip) == .failure(.badPassword))
        #expect(changed.verify(user: "app", password: "pw2", clientIP: ip) == .success(user: "app", tenant: "default"))
    }

    @Test("allowedNetworks restricts where a user may log in from, including mapped IPv4")
    func allowedNetworks() throws {
        let users = [RelayConfig.User(name: "ci", passwordHash: try PasswordHasher.memoryHash("pw"),
                                      allowedNetworks: [IPNetwork("10.0.0.0/8")!])]
        let auth = try Authenticator(users: users, iterations: 1000)
        #expect(auth.verify(user: "ci", password: "pw", clientIP: IPAddress("10.2.3.4")) == .success(user: "ci", tenant: "default"))
        #expect(auth.verify(user: "ci", password: "pw", clientIP: IPAddress("::ffff:10.2.3.4")) == .success(user: "ci", tenant: "default"))
        #expect(auth.verify(user: "ci", password: "pw", clientIP: IPAddress("11.0.0.1")) == .failure(.networkNotAllowed))
        #expect(auth.verify(user: "ci", password: "pw", clientIP: nil) == .failure(.networkNotAllowed))
        #expect(auth.verify(user: "ci", password: "bad", clientIP: IPAddress("11.0.0.1")) == .failure(.badPassword))
    }

    @Test("a cached success does not let a different password in")
    func cacheIsPerPassword() throws {
        let users = [RelayConfig.User(name: "u", passwordHash: try PasswordHasher.hash("right", iterations: 100_000))]
        let auth = try Authenticator(users: users, iterations: 100_000)
        #expect(auth.verify(user: "u", password: "right", clientIP: nil) == .success(user: "u", tenant: "default"))
        #expect(auth.verify(user: "u", password: "wrong", clientIP: nil) == .failure(.badPassword))
        #expect(auth.verify(user: "u", password: "right", clientIP: nil) == .success(user: "u", tenant: "default"))
    }

    @Test("N failures inside the window throttle a client until the oldest failure leaves the window")
    func throttle() {
        var t = AuthThrottle(maxFailures: 3, window: 60)
        let ip = IPAddress("198.51.100.7")!
        let other = IPAddress("198.51.100.8")!
        t.recordFailure(from: ip, now: 100)
        t.recordFailure(from: ip, now: 110)
        #expect(!t.isThrottled(ip, now: 111))
        t.recordFailure(from: ip, now: 120)
        #expect(t.isThrottled(ip, now: 121))
        #expect(t.retryAfter(ip, now: 121) == 39)  // until 100 + 60
        #expect(!t.isThrottled(other, now: 121))
        #expect(!t.isThrottled(ip, now: 160))
        // Failures spread wider than the window never throttle.
        var slow = AuthThrottle(maxFailures: 3, window: 60)
        for i in 0..<10 { slow.recordFailure(from: ip, now: Double(i) * 31) }
        #expect(!slow.isThrottled(ip, now: 280))
    }

    @Test("the client key: IPv4 and mapped IPv4 per address, IPv6 per configured prefix")
    func clientKeys() {
        #expect(IPAddress("192.0.2.7")!.clientKey(ipv6PrefixLength: 64) == IPAddress("192.0.2.7"))
        #expect(IPAddress("::ffff:192.0.2.7")!.clientKey(ipv6PrefixLength: 64) == IPAddress("192.0.2.7"))
        #expect(IPAddress("2001:db8:1:2:3:4:5:6")!.clientKey(ipv6PrefixLength: 64) == IPAddress("2001:db8:1:2::"))
        #expect(IPAddress("2001:db8:1:2:3:4:5:6")!.clientKey(ipv6PrefixLength: 48) == IPAddress("2001:db8:1::"))
        #expect(IPAddress("2001:db8:1:2:3:4:5:6")!.clientKey(ipv6PrefixLength: 128) == IPAddress("2001:db8:1:2:3:4:5:6"))
        #expect(IPAddress("2001:db8:1:2:3:4:5:6")!.clientKey(ipv6PrefixLength: 56) == IPAddress("2001:db8:1::"))
        #expect(IPAddress("2001:db8:1:2ff:3:4:5:6")!.clientKey(ipv6PrefixLength: 56) == IPAddress("2001:db8:1:200::"))
    }

    @Test("a throttle with a /48 prefix counts a whole /48 as one client; /128 counts addresses")
    func throttlePrefixLength() {
        var wide = AuthThrottle(maxFailures: 2, window: 10, ipv6PrefixLength: 48)
        wide.recordFailure(from: IPAddress("2001:db8:1:1::1")!, now: 0)
        wide.recordFailure(from: IPAddress("2001:db8:1:ffff::1")!, now: 1)
        #expect(wide.isThrottled(IPAddress("2001:db8:1:7::7")!, now: 2))
        #expect(!wide.isThrottled(IPAddress("2001:db8:2::1")!, now: 2))
        var exact = AuthThrottle(maxFailures: 2, window: 10, ipv6PrefixLength: 128)
        exact.recordFailure(from: IPAddress("2001:db8::1")!, now: 0)
        exact.recordFailure(from: IPAddress("2001:db8::2")!, now: 1)
        #expect(!exact.isThrottled(IPAddress("2001:db8::1")!, now: 2))
        // IPv4 neighbours never share a key.
        var v4 = AuthThrottle(maxFailures: 2, window: 10, ipv6PrefixLength: 16)
        v4.recordFailure(from: IPAddress("192.0.2.1")!, now: 0)
        v4.recordFailure(from: IPAddress("192.0.2.2")!, now: 1)
        #expect(!v4.isThrottled(IPAddress("192.0.2.1")!, now: 2))
    }

    @Test("IPv6 clients are counted per /64 and the throttle forgets old clients")
    func throttleIPv6AndPrune() {
        var t = AuthThrottle(maxFailures: 2, window: 10)
        t.recordFailure(from: IPAddress("2001:db8:1:2::1")!, now: 0)
        t.recordFailure(from: IPAddress("2001:db8:1:2:ffff::9")!, now: 1)
        #expect(t.isThrottled(IPAddress("2001:db8:1:2::77")!, now: 2))
        #expect(!t.isThrottled(IPAddress("2001:db8:1:3::1")!, now: 2))
        t.recordFailure(from: IPAddress("10.0.0.1")!, now: 5)
        #expect(t.trackedClients == 2)
        t.prune(now: 12)
        #expect(t.trackedClients == 1)
        t.prune(now: 20)
        #expect(t.trackedClients == 0)
    }

    @Test("the throttle's memory stays bounded under many distinct clients")
    func throttleBounded() {
        var t = AuthThrottle(maxFailures: 5, window: 300, maxTrackedClients: 100)
        for i in 0..<1000 { t.recordFailure(from: .v4(UInt32(i)), now: Double(i)) }
        #expect(t.trackedClients <= 100)
        // The most recent offender is still remembered.
        #expect(t.failures[.v4(999)] != nil)
    }
}
