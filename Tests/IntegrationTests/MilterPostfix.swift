import Foundation
import Glibc
import TestSupport

/// A private Postfix instance on 127.0.0.1 (like `PostfixReceiver`: its own config, queue and data
/// directories under a temporary root, `postfix start-fg` as a child of the test) whose smtpd
/// passes every message through a milter (`smtpd_milters = inet:127.0.0.1:PORT`,
/// `milter_default_action = tempfail`: a milter that cannot be reached refuses the mail rather than
/// letting it through unchecked). Mail for `domain` lands in one Maildir through `virtual`.
final class MilterPostfix: @unchecked Sendable {
    // Safe: set up in init, only read afterwards; stop() is called once by the owning test.
    let root: String
    let port: UInt16
    private let etc: String
    private let master: ChildProcess

    init(domain: String, milterPort: UInt16) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("sx-pfmilter-\(UUID().uuidString)").path
        etc = root + "/etc"
        let spool = root + "/spool", data = root + "/data", mail = root + "/mail"
        for d in [etc, spool, data, mail] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        chmod(root, 0o755)
        guard let pw = getpwnam("postfix") else { throw HarnessError("no postfix user (install Debian's postfix)") }
        let (uid, gid) = (pw.pointee.pw_uid, pw.pointee.pw_gid)
        for d in [data, mail] { chown(d, uid, gid) }
        let mainCF = """
        compatibility_level = 3.6
        queue_directory = \(spool)
        data_directory = \(data)
        meta_directory = /etc/postfix
        daemon_directory = /usr/lib/postfix/sbin
        command_directory = /usr/sbin
        shlib_directory = /usr/lib/postfix
        mail_owner = postfix
        setgid_group = postdrop
        maillog_file = \(root)/postfix.log
        maillog_file_prefixes = \(root)
        myhostname = postfix.pf.test
        mydomain = pf.test
        mydestination =
        local_recipient_maps =
        local_transport = error:local delivery disabled
        alias_maps =
        alias_database =
        inet_interfaces = loopback-only
        inet_protocols = ipv4
        mynetworks = 127.0.0.0/8
        smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
        virtual_mailbox_domains = \(domain)
        virtual_mailbox_base = \(mail)
        virtual_mailbox_maps = static:inbox/
        virtual_uid_maps = static:\(uid)
        virtual_gid_maps = static:\(gid)
        smtp_dns_support_level = disabled
        smtpd_peername_lookup = no
        smtpd_milters = inet:127.0.0.1:\(milterPort)
        milter_default_action = tempfail
        biff = no

        """
        let masterCFTemplate = """
        127.0.0.1:@PORT@ inet n - n - 10 smtpd
        pickup    unix  n       -       n       60      1       pickup
        cleanup   unix  n       -       n       -       0       cleanup
        qmgr      unix  n       -       n       300     1       qmgr
        rewrite   unix  -       -       n       -       -       trivial-rewrite
        bounce    unix  -       -       n       -       0       bounce
        defer     unix  -       -       n       -       0       bounce
        trace     unix  -       -       n       -       0       bounce
        verify    unix  -       -       n       -       1       verify
        flush     unix  n       -       n       1000?   0       flush
        proxymap  unix  -       -       n       -       -       proxymap
        smtp      unix  -       -       n       -       -       smtp
        relay     unix  -       -       n       -       -       smtp
        showq     unix  n       -       n       -       -       showq
        error     unix  -       -       n       -       -       error
        retry     unix  -       -       n       -       -       error
        discard   unix  -       -       n       -       -       discard
        virtual   unix  -       n       n       -       -       virtual
        anvil     unix  -       -       n       -       1       anvil
        scache    unix  -       -       n       -       1       scache
        postlog   unix-dgram n  -       n       -       1       postlogd

        """
        try mainCF.write(toFile: etc + "/main.cf", atomically: true, encoding: .utf8)
        // The port was free a moment ago; if another test takes it first, start again on a new one.
        var started: (port: UInt16, master: ChildProcess)?
        for attempt in 1...3 {
            let port = try SinkProcess.freePort()
            try masterCFTemplate.replacingOccurrences(of: "@PORT@", with: String(port))
                .write(toFile: etc + "/master.cf", atomically: true, encoding: .utf8)
            let master = try ChildProcess("/usr/sbin/postfix", ["-c", etc, "start-fg"],
                                          stdoutPath: root + "/master.out", stderrPath: root + "/master.out")
            let deadline = Date().addingTimeInterval(30) // hang guard
            while master.isRunning, Date() < deadline, !SinkProcess.listens(port, inTreeOf: master.pid) { usleep(50_000) }
            if master.isRunning, SinkProcess.listens(port, inTreeOf: master.pid) {
                started = (port, master)
                break
            }
            let out = (try? String(contentsOfFile: root + "/master.out", encoding: .utf8)) ?? ""
            PostfixReceiver.halt(etc: etc, master: master)
            if attempt == 3 {
                try? FileManager.default.removeItem(atPath: root)
                throw HarnessError("postfix did not start listening (3 ports tried): \(out)")
            }
        }
        guard let started else { throw HarnessError("postfix did not start") }
        port = started.port
        master = started.master
    }

    /// Postfix's own mail log.
    var log: String { (try? String(contentsOfFile: root + "/postfix.log", encoding: .utf8)) ?? "" }

    /// The messages in the Maildir (`mail/inbox/new`), file contents.
    var mailbox: [String] {
        let dir = root + "/mail/inbox/new"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.sorted().compactMap { try? String(contentsOfFile: dir + "/" + $0, encoding: .utf8) }
    }

    /// Polls the Maildir until a message delivered to `recipient` is there (30 s hang guard).
    func waitForMessage(to recipient: String) -> String? {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let m = mailbox.first(where: { $0.contains("Delivered-To: \(recipient)\n") }) { return m }
            usleep(100_000)
        }
        return nil
    }

    /// Stops the instance (no process left behind) and removes its directory.
    func stop() {
        PostfixReceiver.halt(etc: etc, master: master)
        try? FileManager.default.removeItem(atPath: root)
    }
}
