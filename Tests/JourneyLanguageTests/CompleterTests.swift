import Testing
@testable import JourneyLanguage

@Suite struct CompleterTests {
    var c: Completer {
        var c = Completer()
        c.stages = ["awareness", "consideration", "conversion"]
        c.events = ["", "contract_signed", "webinar"]
        c.channels = ["", "linkedin", "website"]
        c.customerAttributes = ["segment"]
        c.commands = [".help", ".mode"]
        c.commandArguments = ["mode": ["table", "ascii", "csv", "tsv"]]
        return c
    }

    @Test func firstWordIsAStatementOrCommand() {
        #expect(c.candidates(for: "fu") == ["funnel"])
        #expect(c.candidates(for: ".m") == [".mode"])
        #expect(c.candidates(for: ".mode ") == ["table", "ascii", "csv", "tsv"])
        #expect(c.candidates(for: ".mode t") == ["table", "tsv"])
        #expect(c.candidates(for: "funnel a > b ties ") == ["in"])
    }

    @Test func afterAStepKeywordComeStepNames() {
        #expect(c.candidates(for: "funnel con") == ["consideration", "conversion", "contract_signed"])
        #expect(c.candidates(for: "funnel awareness > w") == ["webinar", "website"])
        #expect(c.candidates(for: "paths from awareness to c") == ["consideration", "conversion", "contract_signed", "channel:", "campaign:"])
    }

    @Test func attributionAndRelevanceClauses() {
        #expect(c.candidates(for: "attribution model m") == ["markov"])
        #expect(c.candidates(for: "attribution model markov by ") == ["channel", "event", "kind", "stage"])
        #expect(c.candidates(for: "attribution of con") == ["consideration", "conversion", "contract_signed"])
        #expect(c.candidates(for: "touchpoints f") == ["for"])
        #expect(c.candidates(for: "to") == ["top", "touchpoints"])
        #expect(c.candidates(for: "customers m") == ["matching"])
        #expect(c.candidates(for: "customers matching web") == ["webinar", "website"])
    }

    @Test func clausesFieldsAndValues() {
        #expect(c.candidates(for: "funnel a > b wi") == ["within"])
        #expect(c.candidates(for: "funnel a > b by cu") == ["customer.segment"])
        #expect(c.candidates(for: "paths show c") == ["channel"])
        #expect(c.candidates(for: "funnel a > b where channel = l") == ["linkedin"])
        #expect(c.candidates(for: "funnel a > b order ") == ["sequential", "strict", "any"])
        #expect(c.candidates(for: "top ") == ["channels", "events", "stages", "kinds", "campaigns"])
        #expect(c.candidates(for: "count customers by customer.se") == ["customer.segment"])
        #expect(c.candidates(for: "funnel stage:aw") == ["stage:awareness"])
        #expect(c.candidates(for: "funnel a>b where channel=web") == ["website"])
    }
}
