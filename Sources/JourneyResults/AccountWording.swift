import Foundation
import JourneyCore

extension ResultBuilder {
    /// Tables computed over account journeys, worded for accounts: "customers" columns and notes say "accounts".
    public static func asAccounts(_ tables: [ResultTable]) -> [ResultTable] {
        tables.map { t in
            var t = t
            t.columns = t.columns.map { $0 == "customers" ? "accounts" : $0 == "customer" ? "account" : $0 == "per customer" ? "per account" : $0 == "margin per customer" ? "margin per account" : $0 == "cost per customer" ? "cost per account" : $0 }
            // Whole words only: `customer.segment` stays the attribute it is.
            func accounts(_ s: String) -> String {
                s.replacingOccurrences(of: #"\bcustomers\b(?!\.)"#, with: "accounts", options: .regularExpression)
                    .replacingOccurrences(of: #"\bcustomer\b(?!\.)"#, with: "account", options: .regularExpression)
            }
            t.title = accounts(t.title)
            t.notes = t.notes.map(accounts)
            t.notes.append("account level: each account's journey is all its people's events merged (people without an account count alone)")
            return t
        }
    }
}
