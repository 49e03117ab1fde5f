import Foundation
import RelayConfig
import RelayNode

/// The `sendarix` command line: `serve`, `check-config`, and operator commands that talk to a
/// running node's admin API. Runs on the main thread; operator commands block on HTTP.
enum CLI {
    static let usage = """
    usage: sendarix <command> [options]

      serve [--config FILE]            run a node (embedded single-node default without --config)
      check-config FILE                validate a config file and explain every problem
      queue list [--limit N]           list queued messages
      queue show ID                    show one message and its per-recipient state
      queue retry ID                   make a message's waiting recipients due now
      queue delete ID                  remove a message from the queue (recipients get 'failed' events)
      suppression list [--tenant T]    list a tenant's suppressed addresses
      suppression add ADDRESS [--tenant T] [--reason R]
      suppression remove ADDRESS [--tenant T]
      events [--recipient R] [--sender S] [--type T] [--queue-id ID] [--since TIME] [--limit N]
             [--tenant T] [--domain D] [--message-id ID] [--bounce-class C] [--until TIME] [--cursor C]
                                       search events, newest first (a full page prints a cursor)
      events --follow [--after ID] [filters]
                                       print new events as they are committed (Ctrl-C stops)
      events stats [--by all|tenant|domain|sourceIP] [--resolution minute|hour|day] [--from T] [--to T]
                                       counts, delivery latency, bounce and complaint rates
      domains add DOMAIN --tenant T    add a sending domain: new RSA-2048 + Ed25519 keys, prints the DNS records
                                       to publish (--private-key PEM-FILE --selector S imports a key instead)
      domains list [--tenant T]        sending domains and their status (pending, verified, failing)
      domains show DOMAIN              one domain: keys, status, the records to publish
      domains verify DOMAIN            look the records up now (verified once every DKIM record is found)
      domains rotate DOMAIN            publish new keys; they take over once verified, the old ones retire
      domains remove DOMAIN            stop signing for a domain and forget its keys
      tenants show T                   a tenant's sender policy
      tenants set T [--sender-policy enforce|sign-only|off] [--allow-subdomains true|false]
      tenants list | tenants create T  tenants of the control plane
      credentials create T [--username U] [--networks CIDR,…] [--sender-domains D,…] [--pool P]
                  [--environment E] [--platform true]   a new SMTP credential; prints its password once
      credentials list T | show T U | set T U [options as create] | revoke T U
      credentials rotate T U [--grace-seconds N]   new password; the old one works N more seconds (default a day)
      credentials suspend T U [--reason R] | resume T U
      suspensions list                 credentials suspended by abuse detection or an operator
      suspensions suspend T USER [--reason R]
      suspensions lift T USER          let a suspended credential send again
      limits show [--subject credential/T/USER|tenant/T]
                                       limit refusals and detections on this node; a subject's cluster-wide usage
      quarantine list                  messages held by the spam filter
      quarantine release ID            deliver a held message
      quarantine delete ID             drop a held message
      webhooks create|list|show|update|delete|rotate|pause|resume|replay|attempts …
                                       webhook endpoints (sendarix webhooks help)
      health                           show the node's health
      backup FILE                      consistent online copy of the node's spool and raft log into FILE
      restore FILE --data-dir DIR      lay a backup out as a fresh node's (empty) data directory
      cluster status                   leader, term, commit/applied index, each peer's match index, lag, last contact
      cluster add NODE-ID HOST:PORT    add a node (as a learner, promoted once caught up)
      cluster remove NODE-ID           remove a node from the cluster

    Operator commands find the admin API with --admin URL (default http://127.0.0.1:8025) and
    --token TOKEN (default $SENDARIX_ADMIN_TOKEN, else ./sendarix-data/admin-token), or take both
    from --config FILE.
    """

    static func main(_ args: [String]) -> Int32 {
        guard let command = args.first else {
            FileHandle.standardError.write(Data((usage + "\n").utf8))
            return 2
        }
        let rest = Array(args.dropFirst())
        do {
            switch command {
            case "serve": return try serve(rest)
            case "check-config": return checkConfig(rest)
            case "backup", "restore": return try command == "backup" ? Operator.backup(rest) : Operator.restore(rest)
            case "bench-search": return try BenchSearch.run(rest)  // cluster/bench --only search
            case "queue", "events", "health", "cluster", "suppression", "domains", "tenants", "credentials",
                 "suspensions", "limits", "quarantine", "webhooks":
                return try Operator.run(command, rest)
            case "help", "--help", "-h":
                print(usage)
                return 0
            default:
                fail("unknown command '\(command)'\n\n\(usage)")
                return 2
            }
        } catch {
            fail("\(error)")
            return 1
        }
    }

    static func fail(_ message: String) {
        FileHandle.standardError.write(Data("sendarix: \(message)\n".utf8))
    }

    /// Parses `--name value` options and positional arguments.
    static func options(_ args: [String], flags: Set<String> = []) throws -> (named: [String: String], positional: [String]) {
        var named: [String: String] = [:]
        var positional: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a.hasPrefix("--") {
                let name = String(a.dropFirst(2))
                if let eq = name.firstIndex(of: "=") {
                    named[String(name[..<eq])] = String(name[name.index(after: eq)...])
                } else if flags.contains(name) {
                    named[name] = "true"
                } else {
                    guard i + 1 < args.count else { throw CLIError("option --\(name) needs a value") }
                    named[name] = args[i + 1]
                    i += 1
                }
            } else {
                positional.append(a)
            }
            i += 1
        }
        return (named, positional)
    }

    static func serve(_ args: [String]) throws -> Int32 {
        let (named, positional) = try options(args)
        guard positional.isEmpty else { throw CLIError("serve takes no positional arguments") }
        let config: RelayConfig
        if let path = named["config"] {
            let result = RelayConfig.check(path: path)
            for p in result.problems { fail("\(p.severity.rawValue): \(p)") }
            guard result.isValid, let c = result.config else {
                fail("\(path): not starting; fix the problems above (see `sendarix check-config \(path)`)")
                return 1
            }
            config = c
        } else {
            let (c, dev) = try RelayConfig.embeddedDefault()
            config = c
            if dev.created, let password = dev.password {
                let port = c.listen.submission.first?.port ?? 587
                print("""
                Sendarix embedded default: data in \(c.node.dataDir)
                Created user 'dev' with password: \(password)
                (shown once; its hash is in \(c.node.dataDir)/dev-password — delete that file to get a new one)
                Try it:
                  swaks --server 127.0.0.1:\(port) --tls --auth PLAIN --auth-user dev --auth-password '\(password)' --from dev@example.com --to you@example.net
                Admin API: http://\(c.listen.admin?.description ?? "-")  token in \(c.node.dataDir)/admin-token
                """)
                fflush(nil)
            }
        }
        let node = RelayNode(config: config, configPath: named["config"])
        return try node.run()
    }

    static func checkConfig(_ args: [String]) -> Int32 {
        guard args.count == 1 else {
            fail("usage: sendarix check-config FILE")
            return 2
        }
        let result = RelayConfig.check(path: args[0])
        print(result.report(file: args[0]))
        return result.isValid ? 0 : 1
    }
}

/// A command-line usage error.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
