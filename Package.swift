// swift-tools-version:6.0
import PackageDescription

// Language mode: Swift 5 for every target (see docs/ARCHITECTURE.md, "Language mode").
let v5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "journey",
    products: [.executable(name: "journey", targets: ["journey"]),
               // libFuzzer's target (`make fuzz`): built with --sanitize=fuzzer only; see docs/RELIABILITY.md.
               .executable(name: "FuzzTarget", targets: ["FuzzTarget"])],
    targets: [
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CEditLine", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
        // A header-only module: the engine's prefetch hint (docs/ARCHITECTURE.md, "Paths").
        .systemLibrary(name: "CPrefetch"),
        .target(name: "JourneyCore", swiftSettings: v5),
        // The import loop mutates the importer's state millions of times; dynamic exclusivity checks on those
        // class properties cost ~15% of the import (docs/ARCHITECTURE.md, "Language mode").
        .target(name: "JourneyStore", dependencies: ["CSQLite", "JourneyCore"],
                swiftSettings: v5 + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .target(name: "JourneyGenerator", dependencies: ["JourneyCore"], swiftSettings: v5),
        .target(name: "JourneyLanguage", dependencies: ["JourneyCore"], swiftSettings: v5),
        // parse → bind → plan: the backend-neutral QueryPlan (docs/ARCHITECTURE.md, "Stages").
        .target(name: "JourneyPlanner", dependencies: ["JourneyCore", "JourneyLanguage"], swiftSettings: v5),
        // Aggregates → tables, notes and chart hints, the same for every backend.
        .target(name: "JourneyResults", dependencies: ["JourneyCore", "JourneyLanguage", "JourneyPlanner"], swiftSettings: v5),
        .target(name: "JourneyEngine", dependencies: ["CPrefetch", "JourneyCore", "JourneyLanguage", "JourneyPlanner", "JourneyResults"], swiftSettings: v5),
        .target(name: "JourneyRender", dependencies: ["JourneyCore"], swiftSettings: v5),
        // The second backend: ClickHouse over HTTP (push, translator, runner).
        .target(name: "JourneyClickHouse", dependencies: ["JourneyCore", "JourneyLanguage", "JourneyPlanner", "JourneyEngine", "JourneyResults", "JourneyStore"], swiftSettings: v5),
        .target(name: "JourneySession",
                dependencies: ["JourneyCore", "JourneyStore", "JourneyLanguage", "JourneyPlanner", "JourneyEngine", "JourneyResults", "JourneyClickHouse", "JourneyRender"],
                swiftSettings: v5),
        .target(name: "JourneyShell", dependencies: ["CEditLine", "JourneySession", "JourneyRender"], swiftSettings: v5),
        .executableTarget(name: "journey",
                          dependencies: ["JourneyCore", "JourneyShell", "JourneySession", "JourneyStore", "JourneyGenerator"],
                          swiftSettings: v5),
        .executableTarget(name: "FuzzTarget",
                          dependencies: ["JourneyCore", "JourneyGenerator", "JourneyLanguage", "JourneyPlanner", "JourneySession", "JourneyStore"],
                          swiftSettings: v5),
        .target(name: "JourneyTestSupport", path: "Tests/JourneyTestSupport", swiftSettings: v5),
        .testTarget(name: "JourneyStoreTests", dependencies: ["JourneyStore", "JourneyGenerator", "JourneyTestSupport"], swiftSettings: v5),
        .testTarget(name: "JourneyLanguageTests", dependencies: ["JourneyLanguage", "JourneyPlanner"], swiftSettings: v5),
        .testTarget(name: "JourneyRenderTests", dependencies: ["JourneyRender", "JourneyCore"], exclude: ["golden"], swiftSettings: v5),
        .testTarget(name: "JourneyEngineTests",
                    dependencies: ["JourneyEngine", "JourneyPlanner", "JourneyResults", "JourneyStore", "JourneySession", "JourneyGenerator"],
                    swiftSettings: v5),
        .testTarget(name: "JourneyEndToEndTests", dependencies: ["JourneyStore", "JourneyClickHouse", "JourneyTestSupport"], exclude: ["golden"], swiftSettings: v5),
    ]
)
