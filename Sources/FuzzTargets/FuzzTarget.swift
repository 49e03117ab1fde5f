/// The fuzz targets by executable name, so tests and tools can run any of them in-process.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case smtpCommand = "FuzzSMTPCommand"
    case smtpSession = "FuzzSMTPSession"
    case smtpData = "FuzzSMTPData"
    case dns = "FuzzDNS"
    case http = "FuzzHTTP"
    case config = "FuzzConfig"
    case smtpReply = "FuzzSMTPReply"
    case mime = "FuzzMIME"

    /// Runs one input through the target; traps on a broken invariant. Pure.
    public func run(_ input: [UInt8]) {
        switch self {
        case .smtpCommand: SMTPCommandFuzzer.run(input)
        case .smtpSession: SMTPSessionFuzzer.run(input)
        case .smtpData: SMTPDataFuzzer.run(input)
        case .dns: DNSFuzzer.run(input)
        case .http: HTTPFuzzer.run(input)
        case .config: ConfigFuzzer.run(input)
        case .smtpReply: SMTPReplyFuzzer.run(input)
        case .mime: MIMEFuzzer.run(input)
        }
    }

    /// Copies a C buffer (libFuzzer's) and runs it. Always returns 0, as libFuzzer expects.
    static func run(_ target: FuzzTarget, _ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        target.run(Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }
}

// C entry points for the fuzz executables' shims (Sources/Fuzz/<name>/main.c), one per target.

@_cdecl("sendarix_fuzz_smtp_command")
public func sendarixFuzzSMTPCommand(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { FuzzTarget.run(.smtpCommand, data, size) }
@_cdecl("sendarix_fuzz_smtp_session")
public func sendarixFuzzSMTPSession(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { FuzzTarget.run(.smtpSession, data, size) }
@_cdecl("sendarix_fuzz_smtp_data")
public func sendarixFuzzSMTPData(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { FuzzTarget.run(.smtpData, data, size) }
@_cdecl("sendarix_fuzz_dns")
public func sendarixFuzzDNS(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { FuzzTarget.run(.dns, data, size) }
@_cdecl("sendarix_fuzz_http")
public func sendarixFuzzHTTP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { FuzzTarget.run(.http, data, size) }
@_cdecl("sendarix_fuzz_config")
public func sendarixFuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { FuzzTarget.run(.config, data, size) }
@_cdecl("sendarix_fuzz_smtp_reply")
public func sendarixFuzzSMTPReply(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { FuzzTarget.run(.smtpReply, data, size) }
@_cdecl("sendarix_fuzz_mime")
public func sendarixFuzzMIME(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { FuzzTarget.run(.mime, data, size) }
