import JourneyEngine

/// Attributes for tests whose journeys have none: no customer or account attribute, no account.
struct EmptyAttributes: AttributeSource {
    func customerAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { _ in nil } }
    func accountAttribute(_ name: String, for ids: [Int64]) throws -> [String?] { ids.map { _ in nil } }
    func accounts(for ids: [Int64]) throws -> [Int64] { ids.map { _ in 0 } }
}
