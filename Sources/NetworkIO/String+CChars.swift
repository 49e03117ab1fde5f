extension String {
    /// Decodes a NUL-terminated C character buffer (as filled by `inet_ntop`, `gethostname`,
    /// `ERR_error_string_n`) as UTF-8, stopping at the first NUL. Pure.
    public init(nulTerminated buffer: [CChar]) {
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
