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
            // Row labels of a measure table ("customers who paused and came back") too.
            if t.columns.first == "measure" {
                t.rows = t.rows.map { row in
                    guard case .text(let label)? = row.first else { return row }
                    var row = row
                    row[0] = .text(accounts(label))
                    return row
                }
            }
            t.notes = t.notes.map(accounts)
            t.notes.append("account level: each account's journey is all its people's events merged (people without an account count alone)")
            return t
        }
    }
}
