/// Every kind of error journey reports about a statement, with a stable id (as swift-syntax's diagnostic ids):
/// tests, docs and tools match on the id, never on the wording. Ids are never reused or renumbered; a new kind of
/// error gets the next free number of its family. The list is in docs/language.md, "Errors".
///
/// - J1xx: syntax (the parser)
/// - J2xx: names (the binder: stages, events, channels, fields, attributes)
/// - J3xx: statement options that do not fit together (the planner)
public enum DiagnosticID: String, CaseIterable, Sendable {
    // J1xx syntax
    case emptyStatement = "J100"
    case expected = "J101"
    case unexpectedAfterStatement = "J102"
    case illegalToken = "J103"
    case unknownStatement = "J104"
    case unknownParameter = "J105"
    case parameterKind = "J106"
    case durationUnit = "J107"
    case unknownQualifier = "J108"
    case repetitionBounds = "J109"
    case secondBreakdown = "J110"
    case unknownModel = "J111"
    case markovOrder = "J112"
    case positionShares = "J113"
    case conflictingClauses = "J114"
    case topWithoutGroups = "J115"
    // J2xx names
    case unknownName = "J200"
    case unknownField = "J201"
    case unknownValue = "J202"
    case journeyLevelInStep = "J203"
    case wrongOperator = "J204"
    case monthOfNonDate = "J205"
    case oneBreakdown = "J206"
    case breakdownNotAllowed = "J207"
    // J3xx planning
    case optionalEntry = "J300"
    case strictlyLaterAnyOrder = "J301"
    case optionalAnyOrder = "J302"
    case sameField = "J303"
    case exclusionSteps = "J304"
    case dropoffNeedsTarget = "J305"
    case tooManySteps = "J306"
    case leadStagesOrder = "J307"
    case noCosts = "J308"

    /// The id as printed: `J201`.
    public var code: String { rawValue }
}
