extension BounceClassifier {
    private typealias E = EnhancedPattern

    /// The built-in rule table, most specific first: provider markers (Yahoo `[TSxx]`, Microsoft
    /// `S3150`/`5.7.6xx`, Gmail texts), then generic phrases, then enhanced-code and reply-code
    /// fallbacks. Pure constant; any caller.
    public static let standardRules: [Rule] = providerRules + phraseRules + enhancedRules + codeRules

    /// Yahoo/AOL, Microsoft and Gmail specific markers and texts.
    static let providerRules: [Rule] = [
        // Yahoo / AOL (senders.yahooinc.com/smtp-error-codes)
        Rule("yahoo-ts03", text: [["[ts03]"]], .reputationBlock, hardness: .hard),
        Rule("yahoo-tss09", text: [["[tss09]", "will be permanently deferred", "retrying will not succeed"]], .reputationBlock),
        Rule("yahoo-ts01", text: [["[ts01]", "[ts06]"]], .reputationBlock),
        Rule("yahoo-deferred-volume", text: [["[tss04]", "[ts02]", "[tss01]", "[tss02]", "[tss03]", "[tss05]", "[tss07]"]], .rateLimited),
        Rule("yahoo-gl01", text: [["[gl01]"]], .greylisted),
        Rule("yahoo-block-list", text: [["[bl21]", "[bl22]", "[bl23]"]], .reputationBlock),
        Rule("yahoo-phishing", text: [["[ph01]"]], .spamContent),
        Rule("yahoo-no-account", text: [["doesn't have a yahoo", "doesn't have an aol", "this user doesn't have a", "this mailbox is disabled"]], .badMailbox),
        Rule("aol-dynamic-throttle", text: [["(dyn:t1)", "(dyn:t2)"]], .rateLimited),
        Rule("aol-block", text: [["(rly:b", "(hvu:b", "(dyn:b"]], .reputationBlock),
        Rule("yahoo-unresolvable-from-domain", text: [["unresolvable rfc.5321", "unresolvable-from-domain"]], .policy),
        // Spectrum AUP codes (spectrum.net "Understanding email error codes", as tabled in sisimai's
        // rhost/spectrum.rb): 1000 and 1200-1250 IP blocked, 1100-1150 reverse DNS, 1160-1190 domain
        // policy, 1300-1490 connection and volume limits, 1530 message size.
        Rule("spectrum-aup-limits", text: [["aup#in-13", "aup#in-14", "aup#out-13", "aup#out-14"]], .rateLimited),
        Rule("spectrum-aup-blocked", text: [["aup#in-1000", "aup#in-12", "aup#out-1000", "aup#out-12"]], .reputationBlock),
        Rule("spectrum-aup-ptr", text: [["aup#in-11", "aup#out-11"]], .authFailure),
        Rule("spectrum-aup-size", text: [["aup#in-1530", "aup#out-1530"]], .messageTooLarge),
        // Orange: OFR_506 is the content filter's rejection ("Mail rejete").
        Rule("mimecast-greylisting", codes: 400...499, text: [["internal resource temporarily unavailable", "internal resources are temporarily unavailable"]], .greylisted),
        Rule("orange-content", text: [["ofr_506"]], .spamContent),
        // Microsoft (Exchange Online NDR codes, Outlook.com SC/DY/RP codes)
        Rule("microsoft-block-list", text: [["(s3150)", "(s3140)", "(s3114)", "(s3115)", "sc-001", "sc-002", "sc-003", "sc-004", "dy-001", "dy-002"]], .reputationBlock),
        Rule("microsoft-rate-limit-rp", text: [["rp-001", "rp-002", "rp-003"]], .rateLimited),
        Rule("microsoft-policy-ou", text: [["ou-002"]], .policy),
        // Exchange Online NDR reference: 5.7.501-503 banned sender, 5.7.507 IP blocked by the recipient's
        // organisation, 5.7.511 banned sender IP, 5.7.513 customer block list, 5.7.606-649 banned
        // sending IP, 5.7.700-749 tenant banned; 4.7.850-899 the IP is temporarily restricted.
        Rule("microsoft-banned-ip", codes: 500...599, enhanced: [E(7, 501...503), E(7, 507), E(7, 511), E(7, 513), E(7, 606...649), E(7, 700...749)], .reputationBlock),
        Rule("microsoft-ip-restricted", codes: 400...499, enhanced: [E(7, 850...899)], .reputationBlock),
        Rule("microsoft-ip-range-limit", enhanced: [E(7, 508)], .rateLimited),
        Rule("microsoft-ip-reputation", text: [["due to ip reputation"]], .reputationBlock),
        Rule("microsoft-throttled", codes: 400...499, enhanced: [E(7, 500...699)], .rateLimited),
        Rule("microsoft-auth-level", enhanced: [E(7, 509), E(7, 515), E(7, 57)], .authFailure),
        Rule("microsoft-sender-not-allowed", enhanced: [E(7, 133...136), E(7, 124), E(7, 750), E(7, 64), E(7, 54), E(7, 12)], .policy),
        Rule("microsoft-recipient-not-found", text: [["resolver.adr.recipientnotfound", "resolver.adr.exrecipnotfound", "resolver.adr.recipnotfound"]], .badMailbox),
        Rule("microsoft-dbeb", enhanced: [E(4, 1)], text: [["recipient address rejected: access denied"]], .badMailbox),
        Rule("microsoft-nonexistent-domain", text: [["nonexistentdomain", "dns domain does not exist"]], .badDomain),
        Rule("microsoft-nonexistent-domain-code", enhanced: [E(4, 310)], .badDomain),
        Rule("microsoft-dns-query-failed", enhanced: [E(4, 312)], .dnsFailure),
        Rule("microsoft-expired", enhanced: [E(4, 300), E(4, 316), E(4, 317), E(4, 318)], .timeout),
        Rule("microsoft-tls", enhanced: [E(7, 321...324)], .tlsFailure),
        Rule("microsoft-spam", enhanced: [E(7, 350)], .spamContent),
        // Gmail (support.google.com/a/answer/3726730)
        Rule("gmail-unusual-rate-deferral", codes: 400...499, text: [["unusual rate", "unusual amount"]], .rateLimited),
        Rule("gmail-rate-limit-code", codes: 400...499, enhanced: [E(7, 28)], .rateLimited),
        Rule("gmail-unusual-rate-block", codes: 500...599, text: [["unusual rate"]], .reputationBlock),
        Rule("gmail-low-reputation", text: [["low reputation"]], .reputationBlock),
        Rule("gmail-ip-not-authorized", text: [["not authorized to send email directly"]], .reputationBlock),
        Rule("gmail-receiving-too-fast", text: [["receiving mail too quickly", "receiving mail at a rate", "receiving email too quickly", "receiving email at a rate"]], .rateLimited),
        Rule("gmail-sending-limit", text: [["sending limit exceeded", "sending quota exceeded", "relay limit exceeded", "too many login attempts"]], .rateLimited),
        Rule("gmail-closing-connection", codes: 421...421, text: [["try again later, closing connection"]], .rateLimited),
        Rule("gmail-ip-whitelist", text: [["not in whitelist", "not in allowlist"]], .policy),
        Rule("gmail-dangerous-content", text: [["illegal attachment", "potential security issue"]], .spamContent),
    ]

    /// Generic phrases used by Postfix, Exim, Sendmail, Exchange, appliances and providers.
    static let phraseRules: [Rule] = [
        // RFC 4954: 534 (mechanism too weak) and 535 (credentials invalid) answer SMTP AUTH.
        Rule("smtp-auth-code", codes: 534...535, .authFailure),
        // Apple iCloud answers a blocked client IP with "ESMTP not accepting connections".
        Rule("not-accepting-connections", text: [["not accepting connections"]], .reputationBlock),
        // A quota under a security/policy code (X.7.X) is a sending quota, not the mailbox's.
        Rule("sender-quota-enhanced", enhanced: [E(7, 0...999)], text: [["quota exceeded", "quota"]], .rateLimited),
        // URL blocklists (URIBL, SURBL, DBL) judge the message's links, that is its content.
        Rule("url-blocklist", text: [["blacklisted url", "blocklisted url", "uribl", "surbl", "url in message", "urls in message"]], .spamContent),
        Rule("sender-quota", text: [["submission quota", "sending quota", "daily limit for", "receive limit", "thread limit exceeded",
                                     "permitted limits", "unable to process connection", "frequency limited", "too many sessions",
                                     "message per connection", "messages per connection"]], .rateLimited),
        Rule("greylisted", codes: 400...499, text: [["greylist", "grey-list", "graylist", "gray-list", "postgrey", "grey listed", "greylisting"]], .greylisted),
        Rule("protocol-violation", text: [["protocol violation", "bad sequence", "syntax error", "bare linefeed", "barelinefeeds",
                                           "may not be repeated", "out of sequence", "unrecognized command", "unimplemented command",
                                           "no identity changes", "unauthenticated commands", "helo/ehlo argument"]], .other),
        Rule("too-many-recipients", enhanced: [E(5, 3)], .policy),
        Rule("relaying", text: [["relay access denied", "relaying denied", "relay denied", "relay not permitted", "not permitted to relay",
                                 "unable to relay", "configured to relay", "credentials for relay", "denies relay", "relay check",
                                 "to a non-local", "handle mail for"]], .policy),
        Rule("recipient-address-invalid", enhanced: [E(1, 1), E(1, 3)], text: [["not a valid rfc 5321", "not a valid rfc-5321"]], .badMailbox),
        Rule("rfc-compliance", text: [["rfc 5322 compliant", "rfc5322 compliant", "not a valid rfc 5321", "encoded-word", "missing a valid",
                                       "multiple addresses in the from", "disallowed header", "message is malformed", "provide a valid from",
                                       "noncompliant", "non-compliant"]], .policy),
        Rule("null-mx-sender", text: [["null mx", "nullmx"], ["sender"]], .policy),
        Rule("null-mx", text: [["null mx", "nullmx"]], .badDomain),
        Rule("tls-required", text: [["starttls", "tls required", "tls is required", "requires tls", "tls connection", "tls/ssl", "encryption required", "must use tls", "support tls", "tlscert", "ssl required", "encryption needed"]], .tlsFailure),
        Rule("tls-enhanced", enhanced: [E(7, 10), E(7, 11)], .tlsFailure),
        Rule("smtp-auth-credentials", text: [["authentication credentials", "username and password", "authentication failed", "authentication required",
                                              "invalid credentials", "cannot authenticate", "authentication type", "xoauth", "application-specific password",
                                              "log in with your web browser", "log in through your web browser", "auth error", "auth mode"]], .authFailure),
        Rule("dns-temporary", text: [["temporary dns", "dns failures", "dns temporary", "temporary lookup failure"]], .dnsFailure),
        Rule("sender-authentication", text: [["spf", "dkim", "dmarc", "unauthenticated", "authentication checks", "authentication information", "authenticate with", "sender policy framework", "ptr record", "ptr-record", "generic dns", "resolve your", "unresolvable relay host", "reverse dns", "reverse hostname", "cannot find your hostname", "not authenticated", "authentication level",
                                           "rdns", "name lookup failed", "unverifyable sending ip", "unverifiable sending ip", "mismatches client ip", "remote ip check"]], .authFailure),
        Rule("sender-authentication-enhanced", enhanced: [E(7, 8), E(7, 23...27), E(7, 30), E(7, 32)], .authFailure),
        Rule("mailbox-full", text: [["over quota", "quota exceeded", "mailbox full", "mailbox is full", "mailbox quota", "exceeded storage allocation", "mailbox size limit", "quotaexceeded", "full mailbox", "insufficient space in mailbox", "out of storage space",
                                 "too many messages on", "too much mail data"]], .mailboxFull, hardness: .soft),
        Rule("mailbox-full-enhanced", enhanced: [E(2, 2)], .mailboxFull, hardness: .soft),
        Rule("message-too-large", text: [["message size", "too large", "too big", "size limit", "exceeds fixed maximum", "exceeds maximum", "message length exceeds", "exceeded google's message size", "line limit exceeded",
                                          "message is too long", "attachment is too long", "header size"]], .messageTooLarge),
        // A sender address or domain on a block list is the sender's reputation, not a bad sender domain.
        Rule("sender-listed", text: [["sender domain", "sender address", "sender ip"], ["listed at", "listed in", "listed on", "blacklisted", "black list", "blocklisted"]], .reputationBlock),
        Rule("sender-domain-invalid", text: [["sender address rejected: domain not found", "domain of sender address", "sender domain", "sender address does not resolve"]], .policy),
        // Postfix words a permanent NXDOMAIN and a temporary resolver failure alike ("… try again"
        // only in the second): the reply code tells them apart.
        Rule("host-not-found-permanent", codes: 500...599, text: [["host or domain name not found"]], .badDomain),
        Rule("dns-lookup-failed", text: [["host or domain name not found", "name service error", "dns query failed", "dns lookup failed", "temporary lookup failure", "dns failure", "servfail", "cannot resolve", "unable to resolve", "contact dns"]], .dnsFailure),
        Rule("sender-rejected", text: [["sender address rejected", "sender verify", "sender verification", "callout", "sender denied", "sender rejected",
                                        "unroutable sender", "address is not verified", "mail from invalid", "denies the sender", "sender is unvalidated",
                                        "invalid sender", "does not accept mail from", "not owned by", "bogus mail from", "senderfilterconfig"]], .policy),
        Rule("sender-domain-enhanced", enhanced: [E(1, 7...8)], text: [["no such domain", "does not exist", "domain not found", "unknown domain"]], .policy),
        Rule("bad-domain", text: [["domain not found", "host unknown", "unrouteable", "no such domain", "domain does not exist", "nonexistent domain", "recipient domain", "unknown domain", "domain name not found", "no mx", "domain is not reachable", "does not accept mail", "not accepting network messages", "bad destination system",
                                   "lookups failed permanently"]], .badDomain),
        Rule("mailbox-busy", codes: 450...450, text: [["mailbox unavailable.", "mailbox busy"]], .other),
        Rule("bad-mailbox", text: [["user unknown", "unknown user", "no such user", "does not exist", "doesn't exist", "mailbox unavailable", "mailbox not available", "mailbox not found", "invalid recipient", "recipient not found", "unknown recipient", "recipient unknown", "no mailbox", "not a valid", "mailbox is disabled", "account is disabled", "account has been disabled", "inactive email address", "inactive account", "is inactive", "is disabled", "user not found", "no such recipient", "invalid mailbox", "undeliverable address", "address rejected: undeliverable", "no longer available", "not our customer", "user not local", "mailbox unknown", "address unknown", "unknown address", "no such mailbox", "not a known user",
                                    "user not exist", "is no longer valid", "not our user", "mailbox is frozen", "is locked", "recipient account is blocked", "compte du destinataire",
                                    "not listed in", "not an active", "by that name", "no one at", "no one with", "not a local address",
                                    "no longer valid", "not known to", "not currently being accepted", "not found in ldap"]], .badMailbox),
        Rule("reputation", text: [["block list", "blocklist", "blacklist", "black list", "blocked using", "listed at", "listed in", "listed on", "spamhaus", "spamcop", "barracuda", "sorbs", "dnsbl", "ipcheck.proofpoint", "dnsbl-lookup", "poor reputation", "bad reputation", "ip reputation", "sender reputation", "banned sending ip", "banned sender", "dynamic ip", "dynamically-assigned", "dynamically assigned", "client host blocked", "comcast block", "your ip has been", "ip address has been blocked", "blocked - see", "blocked. see",
                                   "blocked for abuse", "smtp server of your isp", "bad outbound sender", "spam abuse", "sender address blocked", "invalid ip for sending", "rbl reject", "rbl:", "rbl deny", "black ip",
                                   // spam spoken of the sending host, not of the message
                                   "sending spam", "spam ips", "spammer", "zombie", "bad ip", "open proxy", "mail from your ip"]], .reputationBlock),
        Rule("rate-limited", text: [["rate limit", "rate-limit", "ratelimit", "throttl", "too many connections", "too many concurrent", "too much mail", "too many messages", "exceeded the rate", "slow down", "server busy", "temporarily deferred", "deferred due to", "connection limit", "sending rate", "too frequently", "this hour", "per hour"]], .rateLimited),
        Rule("spam-content", text: [["spam", "unsolicited", "junk", "phish", "virus", "malware", "content filter", "content rejected", "message content", "content restriction", "content policy", "suspicious", "bulk mail", "infected", "malicious", "high probability", "by the scanner", "recurrent pattern"]], .spamContent),
        Rule("server-problem", text: [["local problem", "system failure", "system error", "system problem", "local error", "internal error", "insufficient system storage", "temporary failure", "service unavailable", "service not available", "resources are temporarily unavailable", "system resources", "not available", "disk space", "disk full", "system full",
                                      "mail loop", "routing loop", "loop detected", "looping", "too many hops", "hop count", " hops",
                                      "loop was found", "several matches", "no mdb", "delivery to file", "delivery to pipe"]], .other),
        Rule("greylisted-try-later", codes: 450...451, text: [["try again later", "try later", "please retry later", "come back later"]], .greylisted),
        Rule("timeout", text: [["timeout", "timed out", "time out", "expired", "connection lost", "lost connection", "connection refused", "connection reset", "no answer", "delivery time",
                               "able to establish an smtp connection", "queue too long",
                               "requests to connect", "could not deliver for", "could not be delivered for"]], .timeout),
        Rule("policy", text: [["relay access denied", "relaying denied", "relay not permitted", "relay denied", "not permitted to relay", "unable to relay", "open relay", "policy", "policies", "administrative prohibition", "access denied", "not allowed", "prohibited", "rejected by", "not authorized", "not permitted", "client host rejected", "helo command rejected", "envelope blocked", "anti-spoofing", "too many recipients",
                               "list of senders", "not accepting mail with", "before greeting", "fully qualified", "fully-qualified", "captcha"]], .policy),
        // A permanent rejection of the recipient address that names no other reason (Postfix's
        // "Recipient address rejected." with nothing after it) is about that address.
        Rule("recipient-rejected", codes: 500...599, text: [["recipient address rejected"]], .badMailbox),
    ]

    /// Fallbacks on the enhanced status code alone (RFC 3463 subjects and details).
    static let enhancedRules: [Rule] = [
        Rule("enhanced-bad-mailbox", enhanced: [E(1, 1), E(1, 3), E(1, 6), E(2, 1), E(1, 10)], .badMailbox, isFallback: true),
        Rule("enhanced-bad-domain", enhanced: [E(1, 2), E(4, 4), E(3, 2)], .badDomain, isFallback: true),
        Rule("enhanced-dns", enhanced: [E(1, 7), E(1, 8), E(4, 3)], .dnsFailure, isFallback: true),
        Rule("enhanced-too-large", enhanced: [E(2, 3), E(3, 4)], .messageTooLarge, isFallback: true),
        Rule("enhanced-timeout", enhanced: [E(4, 1), E(4, 2), E(4, 7)], .timeout, isFallback: true),
        Rule("enhanced-congestion", enhanced: [E(4, 5)], .rateLimited, isFallback: true),
        // X.6.X: the message's media or encoding is not accepted, a content-format policy.
        Rule("enhanced-media", enhanced: [E(6, 0...999)], .policy, isFallback: true),
        Rule("enhanced-security", enhanced: [E(7, 0...999)], .policy, isFallback: true),
    ]

    /// Last-resort fallbacks on the reply code alone.
    static let codeRules: [Rule] = [
        Rule("code-552", codes: 552...552, .messageTooLarge, isFallback: true),
        Rule("code-521", codes: 521...521, .badDomain, isFallback: true),
        Rule("code-553", codes: 553...553, .badMailbox, isFallback: true),
    ]
}
