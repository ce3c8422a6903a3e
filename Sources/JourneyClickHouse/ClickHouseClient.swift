import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import JourneyCore

/// A failure talking to ClickHouse, worded for the analyst: which server, what happened, what to do.
public struct ClickHouseError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Credentials go in every request's header; a 401 with `WWW-Authenticate` must end the request (with the
/// server's answer), not wait for a challenge handler that never comes.
final class NoChallenges: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
                    completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?) -> Void) {
        completionHandler(.rejectProtectionSpace, nil)
    }
}

/// ClickHouse over its HTTP interface: a query is a POST of its text, the answer the body (TabSeparated).
/// `http://host:8123/?database=journey&user=analyst`; the password comes from JOURNEY_CLICKHOUSE_PASSWORD and is
/// sent as HTTP basic auth, never printed.
public final class ClickHouseClient: @unchecked Sendable {
    public let url: URL
    public let database: String
    let user: String
    let password: String
    let timeout: TimeInterval
    /// Polled while a query runs; when it turns true the query is killed on the server (KILL QUERY by its id).
    public var isCancelled: () -> Bool = { false }
    private let session: URLSession
    /// Seconds spent waiting for the server's answers so far (`.timer on` shows ClickHouse's share of a run).
    public private(set) var waited: TimeInterval = 0

    public init(_ text: String, password: String? = ProcessInfo.processInfo.environment["JOURNEY_CLICKHOUSE_PASSWORD"],
                timeout: TimeInterval? = nil) throws {
        guard var parts = URLComponents(string: text), let scheme = parts.scheme, ["http", "https"].contains(scheme), parts.host != nil else {
            throw ClickHouseError("'\(text)' is not a ClickHouse HTTP URL (e.g. http://127.0.0.1:8123/?database=journey)")
        }
        let items = parts.queryItems ?? []
        database = items.first { $0.name == "database" }?.value ?? "journey"
        user = items.first { $0.name == "user" }?.value ?? parts.user ?? "default"
        self.password = password ?? parts.password ?? ""
        parts.queryItems = nil; parts.user = nil; parts.password = nil
        if parts.path.isEmpty { parts.path = "/" }
        url = parts.url!
        // How long a query may take before it is cancelled on the server: JOURNEY_CLICKHOUSE_TIMEOUT seconds, 600 by default.
        self.timeout = timeout ?? ProcessInfo.processInfo.environment["JOURNEY_CLICKHOUSE_TIMEOUT"].flatMap(TimeInterval.init).flatMap { $0 > 0 ? $0 : nil } ?? 600
        guard database.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw ClickHouseError("the database name '\(database)' may hold letters, digits and _ only")
        }
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = self.timeout
        config.timeoutIntervalForResource = self.timeout
        session = URLSession(configuration: config, delegate: NoChallenges(), delegateQueue: nil)
    }

    /// The server as shown in messages: `http://127.0.0.1:8123/ (database journey)`.
    public var display: String { "\(url.absoluteString) (database \(database))" }

    /// Runs `sql` and returns the body. `database`: send the query with the database as default (off for
    /// CREATE DATABASE). Rows come back as TabSeparated when the query says so.
    @discardableResult
    public func query(_ sql: String, body: Data? = nil, inDatabase: Bool = true, settings: [String: String] = [:]) throws -> String {
        if CrashPoints.armed, body != nil || sql.hasPrefix("INSERT") || sql.hasPrefix("CREATE") || sql.hasPrefix("ALTER") || sql.hasPrefix("DROP") {
            CrashPoints.hit()
        }
        let id = UUID().uuidString
        var parts = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        var items = [URLQueryItem(name: "query_id", value: id)]
        if inDatabase { items.append(URLQueryItem(name: "database", value: database)) }
        for (k, v) in settings.sorted(by: { $0.key < $1.key }) { items.append(URLQueryItem(name: k, value: v)) }
        var request: URLRequest
        if let body {
            // An INSERT: the statement in the URL, the rows in the body.
            items.append(URLQueryItem(name: "query", value: sql))
            parts.queryItems = items
            request = URLRequest(url: parts.url!)
            request.httpBody = body
        } else {
            parts.queryItems = items
            request = URLRequest(url: parts.url!)
            request.httpBody = Data(sql.utf8)
        }
        request.httpMethod = "POST"
        request.timeoutInterval = timeout
        let auth = Data("\(user):\(password)".utf8).base64EncodedString()
        request.setValue("Basic \(auth)", forHTTPHeaderField: "Authorization")

        final class Box: @unchecked Sendable { var data: Data?; var response: URLResponse?; var error: Error? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { d, r, e in box.data = d; box.response = r; box.error = e; done.signal() }
        let sent = Date()
        defer { waited += Date().timeIntervalSince(sent) }
        task.resume()
        // Wait, checking Ctrl-C every 50 ms; a cancelled query is killed on the server, not just abandoned.
        while done.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
            if isCancelled() {
                task.cancel()
                _ = try? kill(queryID: id)
                _ = done.wait(timeout: .now() + 5)
                throw QueryCancelled()
            }
        }
        if let e = box.error as NSError? {
            if e.code == NSURLErrorCancelled || e.code == NSURLErrorUserCancelledAuthentication || e.code == NSURLErrorUserAuthenticationRequired {
                // The server asked for other credentials (HTTP 401 with a challenge).
                throw ClickHouseError("the ClickHouse server at \(display) refused user '\(user)': wrong or missing password (set JOURNEY_CLICKHOUSE_PASSWORD)")
            }
            if e.code == NSURLErrorTimedOut {
                _ = try? kill(queryID: id)
                throw ClickHouseError("the ClickHouse server at \(display) did not answer within \(SQL.number(timeout)) s; the query was cancelled there (set JOURNEY_CLICKHOUSE_TIMEOUT to the seconds to wait)")
            }
            throw ClickHouseError("cannot reach the ClickHouse server at \(display): \(e.localizedDescription) — is it running, and is the URL right?")
        }
        let status = (box.response as? HTTPURLResponse)?.statusCode ?? 0
        let text = String(decoding: box.data ?? Data(), as: UTF8.self)
        if status == 401 || text.contains("Code: 193") || text.contains("Code: 192") {
            throw ClickHouseError("the ClickHouse server at \(display) refused user '\(user)': wrong or missing password (set JOURNEY_CLICKHOUSE_PASSWORD)")
        }
        guard status == 200 else {
            let first = text.split(separator: "\n").first.map(String.init) ?? "HTTP \(status)"
            throw ClickHouseError("the ClickHouse server at \(display) answered with an error: \(Self.shorten(first))")
        }
        return text
    }

    /// Stops a running query on the server.
    func kill(queryID: String) throws {
        var parts = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        parts.queryItems = nil
        var request = URLRequest(url: parts.url!)
        request.httpMethod = "POST"
        request.httpBody = Data("KILL QUERY WHERE query_id = '\(queryID)' ASYNC".utf8)
        request.setValue("Basic \(Data("\(user):\(password)".utf8).base64EncodedString())", forHTTPHeaderField: "Authorization")
        request.timeoutInterval = 5
        let done = DispatchSemaphore(value: 0)
        session.dataTask(with: request) { _, _, _ in done.signal() }.resume()
        _ = done.wait(timeout: .now() + 5)
    }

    /// Rows of a TabSeparated answer, unescaped.
    public func rows(_ sql: String) throws -> [[String]] {
        let text = try query(sql + "\nFORMAT TabSeparated")
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0)
            .filter { !$0.isEmpty || text.count > 1 }
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map { SQL.unescapeTSV(String($0)) } }
    }

    static func shorten(_ s: String) -> String {
        var t = s.replacingOccurrences(of: ", e.what() = DB::Exception", with: "")
        if let r = t.range(of: "e.displayText() = DB::Exception: ") { t = String(t[r.upperBound...]) }
        return t.count > 400 ? String(t.prefix(400)) + "…" : t
    }
}
