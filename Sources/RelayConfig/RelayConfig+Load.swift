import Foundation

extension RelayConfig {
    /// Outcome of checking a config without throwing: the config (nil if any error) and every problem.
    public struct CheckResult: Sendable {
        /// The loaded config when there were no errors (warnings allowed).
        public var config: RelayConfig?
        /// All errors and warnings, in document order of discovery.
        public var problems: [Problem]
        /// True when there is no error-severity problem.
        public var isValid: Bool { !problems.contains { $0.severity == .error } }

        /// Human report for `sendarix check-config`: one `error: path: message` / `warning: …` line per
        /// problem, then a summary line (`OK` or `N errors, M warnings`). Never contains secrets.
        public func report(file: String) -> String {
            var lines = problems.map { "\($0.severity.rawValue): \($0)" }
            let errors = problems.filter { $0.severity == .error }.count
            let warnings = problems.count - errors
            func plural(_ n: Int, _ w: String) -> String { "\(n) \(w)\(n == 1 ? "" : "s")" }
            if errors == 0 {
                lines.append("\(file): OK" + (warnings > 0 ? " (\(plural(warnings, "warning")))" : ""))
            } else {
                lines.append("\(file): \(plural(errors, "error")), \(plural(warnings, "warning"))")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Reads, validates and prepares the config file at `path`: relative paths are resolved against the
    /// file's directory, secret files are read, plain passwords are replaced by their memory-only
    /// hash (`PasswordHasher.memoryHash`; `hashIterations` is no longer used). Blocks on file I/O.
    /// Throws `RelayConfigError` (`.unreadableFile`, `.syntax`, or `.invalid` with all problems).
    /// Call at startup, from any thread.
    public static func load(path: String, hashIterations: Int = PasswordHasher.defaultIterations) throws -> RelayConfig {
        let data = try readFile(path)
        let base = (absolutePath(path, base: FileManager.default.currentDirectoryPath) as NSString)
            .deletingLastPathComponent
        do {
            return try parse(data: data, baseDirectory: base, hashIterations: hashIterations)
        } catch var e as RelayConfigError {
            if e.file == nil { e.file = path }
            throw e
        }
    }

    /// Like `load(path:)` but from bytes; `baseDirectory` anchors relative paths. Blocks on secret file
    /// reads and PBKDF2. Throws `RelayConfigError`.
    public static func parse(data: Data, baseDirectory: String,
                             hashIterations: Int = PasswordHasher.defaultIterations) throws -> RelayConfig {
        let result = try checkThrowingSyntax(data: data, baseDirectory: baseDirectory, hashIterations: hashIterations)
        guard let config = result.config else {
            let n = result.problems.filter { $0.severity == .error }.count
            throw RelayConfigError(.invalid, "invalid configuration (\(n) error\(n == 1 ? "" : "s"))",
                                   problems: result.problems)
        }
        return config
    }

    /// For `sendarix check-config FILE`: loads like `load(path:)` but never throws; unreadable files and
    /// JSON syntax errors become problems with an empty path. Blocks on I/O and PBKDF2.
    public static func check(path: String, hashIterations: Int = PasswordHasher.defaultIterations) -> CheckResult {
        do {
            let data = try readFile(path)
            let base = (absolutePath(path, base: FileManager.default.currentDirectoryPath) as NSString)
                .deletingLastPathComponent
            return try checkThrowingSyntax(data: data, baseDirectory: base, hashIterations: hashIterations)
        } catch let e as RelayConfigError {
            return CheckResult(config: nil, problems: [Problem(.error, "", e.reason)])
        } catch {
            return CheckResult(config: nil, problems: [Problem(.error, "", "\(error)")])
        }
    }

    static func checkThrowingSyntax(data: Data, baseDirectory: String, hashIterations: Int) throws -> CheckResult {
        let root: JSONValue
        do {
            root = try JSONValue.parse(Array(data))
        } catch {
            throw RelayConfigError(.syntax, "not valid JSON: \(error)")
        }
        let problems = ConfigProblems()
        var config = decode(root, problems: problems)
        config.resolvePaths(relativeTo: baseDirectory)
        if problems.list.contains(where: { $0.severity == .error }) {
            // Semantic checks on a half-decoded config would only repeat the same mistakes.
            return CheckResult(config: nil, problems: problems.list)
        }
        problems.list += config.validate()
        if problems.list.contains(where: { $0.severity == .error }) {
            return CheckResult(config: nil, problems: problems.list)
        }
        config.readSecrets(problems: problems)
        config.hashPlainPasswords(iterations: hashIterations, problems: problems)
        let ok = !problems.list.contains { $0.severity == .error }
        return CheckResult(config: ok ? config : nil, problems: problems.list)
    }

    /// Makes every file path in the config absolute, anchored at `base`. Does not touch the disk.
    public mutating func resolvePaths(relativeTo base: String) {
        node.dataDir = RelayConfig.absolutePath(node.dataDir, base: base)
        if var t = tls {
            t.certificate = RelayConfig.absolutePath(t.certificate, base: base)
            t.privateKey = RelayConfig.absolutePath(t.privateKey, base: base)
            tls = t
        }
        cluster.secretFile = cluster.secretFile.map { RelayConfig.absolutePath($0, base: base) }
        if var t = cluster.tls {
            t.certificate = RelayConfig.absolutePath(t.certificate, base: base)
            t.privateKey = RelayConfig.absolutePath(t.privateKey, base: base)
            t.caFile = RelayConfig.absolutePath(t.caFile, base: base)
            cluster.tls = t
        }
        adminTokenFile = adminTokenFile.map { RelayConfig.absolutePath($0, base: base) }
        adminReadOnlyTokenFile = adminReadOnlyTokenFile.map { RelayConfig.absolutePath($0, base: base) }
        delivery.caFile = delivery.caFile.map { RelayConfig.absolutePath($0, base: base) }
        dkim.keyFile = dkim.keyFile.map { RelayConfig.absolutePath($0, base: base) }
        oauth.jwksFile = oauth.jwksFile.map { RelayConfig.absolutePath($0, base: base) }
        webhooks.caFile = webhooks.caFile.map { RelayConfig.absolutePath($0, base: base) }
        bounces.keyFile = bounces.keyFile.map { RelayConfig.absolutePath($0, base: base) }
        for i in routes.indices {
            if let a = routes[i].auth {
                routes[i].auth!.passwordFile = RelayConfig.absolutePath(a.passwordFile, base: base)
            }
        }
    }

    mutating func readSecrets(problems: ConfigProblems) {
        func secret(_ file: String, _ path: String) -> String? {
            guard let data = try? RelayConfig.readFile(file) else {
                problems.error(path, "cannot read '\(file)'")
                return nil
            }
            let s = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if s.isEmpty { problems.error(path, "'\(file)' is empty") }
            return s
        }
        if adminToken == nil, let f = adminTokenFile { adminToken = secret(f, "adminTokenFile") }
        if adminReadOnlyToken == nil, let f = adminReadOnlyTokenFile { adminReadOnlyToken = secret(f, "adminReadOnlyTokenFile") }
        if let f = cluster.secretFile { cluster.secret = secret(f, "cluster.secretFile") }
        for i in routes.indices {
            if let a = routes[i].auth { routes[i].auth!.password = secret(a.passwordFile, "routes[\(i)].auth.passwordFile") }
        }
    }

    /// Replaces plain-text passwords by their memory-only hash (`PasswordHasher.memoryHash`: an HMAC
    /// under a per-process key, microseconds per user). Not PBKDF2: the plain text is in the file
    /// anyway, and 0.33 s per user would make startup and every reload slow with many users.
    /// `iterations` is not used any more.
    mutating func hashPlainPasswords(iterations: Int, problems: ConfigProblems) {
        for i in users.indices {
            guard let plain = users[i].password else { continue }
            do {
                users[i].passwordHash = try PasswordHasher.memoryHash(plain)
                users[i].password = nil
            } catch {
                problems.error("users[\(i)].password", "could not be hashed: \(error)")
            }
        }
    }

    static func readFile(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RelayConfigError(.unreadableFile, "cannot read file '\(path)'", file: path)
        }
        return data
    }

    /// `path` if absolute, else `base/path`, with `.` and `..` components removed.
    static func absolutePath(_ path: String, base: String) -> String {
        let joined = path.hasPrefix("/") ? path : (base.hasSuffix("/") ? base + path : base + "/" + path)
        var parts: [Substring] = []
        for comp in joined.split(separator: "/") {
            if comp == "." { continue }
            if comp == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(comp)
        }
        return "/" + parts.joined(separator: "/")
    }
}
