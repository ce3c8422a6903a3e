import Foundation
import JourneyCore
import JourneyStore
import JourneyClickHouse

/// `journey push STORE --clickhouse URL [--cluster NAME --shard URL …]`: copies a store into ClickHouse.
enum PushCommand {
    static let usage = """
    usage: journey push STORE --clickhouse URL [--cluster NAME --shard URL --shard URL …]
      URL: http://HOST:8123/?database=journey (the password from JOURNEY_CLICKHOUSE_PASSWORD)
      --cluster NAME: the cluster in the servers' <remote_servers>; events go to a Distributed table sharded by
        customer, and every shard's tables are created through its own --shard URL (one of them may be URL)
    """

    static func run(_ args: [String]) -> Int32 {
        var store: String?, url: String?, cluster: String?, shards: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            func value() -> String? { i += 1; return i < args.count ? args[i] : nil }
            switch a {
            case "--clickhouse": url = value()
            case "--cluster": cluster = value()
            case "--shard": if let s = value() { shards.append(s) }
            case "--help", "-h": print(usage); return 0
            default:
                if a.hasPrefix("-") || store != nil { printError("unexpected '\(a)'\n\(usage)"); return 1 }
                store = a
            }
            i += 1
        }
        guard let store, let url else { printError(usage); return 1 }
        if cluster != nil && shards.isEmpty { printError("--cluster needs every shard's HTTP URL (--shard URL for each)\n\(usage)"); return 1 }
        if let problem = missingStore(store) { printError(problem); return 1 }
        do {
            let client = try ClickHouseClient(url)
            let database = client.database
            var pusher = Pusher(store: try Store(path: store, create: false), client: client)
            pusher.cluster = cluster
            pusher.shards = try shards.map { s in
                // Each shard in the same database as the main URL.
                let c = try ClickHouseClient(s.contains("database=") ? s : s + (s.contains("?") ? "&" : "?") + "database=\(database)")
                return c
            }
            if let b = ProcessInfo.processInfo.environment["JOURNEY_PUSH_BATCH_EVENTS"].flatMap(Int.init), b > 0 { pusher.batchEvents = b }
            let tty = isatty(2) != 0
            pusher.progress = { line in if tty { FileHandle.standardError.write(Data(("\r" + line + "   ").utf8)) } }
            let summary = try pusher.push()
            if tty { FileHandle.standardError.write(Data("\n".utf8)) }
            print("\(summary) into \(client.display)\(cluster.map { ", cluster \($0)" } ?? "")")
            return 0
        } catch {
            printError("\(error)")
            return 1
        }
    }
}
