extension AdminServer {
    /// The answer to an operator action that threw: its `OperatorFailure` status, else 400.
    static func failureResponse(_ error: Error, keepAlive: Bool) -> [UInt8] {
        let status = (error as? any OperatorFailure)?.httpStatus ?? 400
        return response(status, json: ["error": (error as? any OperatorFailure)?.description ?? "\(error)"], keepAlive: keepAlive)
    }

    /// 404 for a method and path no route takes.
    static func noSuchResource(_ method: String, _ parts: [String], keepAlive: Bool) -> [UInt8] {
        response(404, json: ["error": "no such resource: \(method) /" + parts.joined(separator: "/")], keepAlive: keepAlive)
    }
}
