// swift-tools-version:6.0
import PackageDescription

/// Module map (one job each):
/// - PGPhaseModel: the value types every stage speaks (intents, plans and their formats, typed steps, diagnostics, SQL quoting).
/// - PGPhaseYAML: reads YAML files (via Yams) into located values, with every problem reported at its line and column.
/// - PGPhaseIntents: reads intent YAML into the model, with located diagnostics.
/// - PGPhaseConfig: reads `.pgphase.yaml` (lint and rollout settings) into typed values.
/// - PGPhasePlanner: compiles intents into phased plans and renders them as files. Pure: no I/O.
/// - PGPhaseSQL: the one door to libpg_query (parse, scan, split, positions) and the SQL facts built on it
///   (lock modes, function volatility, type rewrites). Pure: parsing a string is not I/O.
/// - PGPhaseLint: finds lock-heavy or unsafe DDL in SQL text and plans, from PGPhaseSQL's parse trees. Pure.
/// - PGPhaseTrace: runs a migration on a scratch database statement by statement and reports the locks
///   each took and the relations it rewrote (pg_locks, relfilenode), as lint findings.
/// - PGPhasePostgres: a small libpq layer (connections, queries, errors).
/// - PGPhaseSchema: reads schema SQL files (pg_dump --schema-only, the canonical dump, hand-written) into a
///   SchemaSnapshot through PGPhaseSQL, with located diagnostics. Pure.
/// - PGPhaseCatalog: reads a live database's schema into a SchemaSnapshot (the server's own deparsers) and
///   normalises expressions on the server.
/// - PGPhaseExecutor: applies plans to a live database with a crash-safe journal; reads the catalog.
/// - PGPhaseServer: starts and stops throwaway PostgreSQL servers of a given major version.
/// - PGPhaseRehearsal: rehearses plans phase by phase with the old and new app's probes (`pgphase try`).
/// - pgphase-server: runs one command against a throwaway server (what scripts/with-pg calls).
/// - pgphase: the command line; parses flags, reads and writes files, picks exit codes.
let swiftSettings: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
  name: "pgphase",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "pgphase", targets: ["pgphase"]),
    .executable(name: "pgphase-server", targets: ["pgphase-server"]),
    .library(name: "PGPhasePlanner", targets: ["PGPhasePlanner"]),
    .library(name: "PGPhaseLint", targets: ["PGPhaseLint"]),
  ],
  dependencies: [
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
  ],
  targets: [
    .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
    .systemLibrary(name: "CPgQuery", providers: [.apt(["libpg-query-dev"])]),
    .target(name: "PGPhaseModel", swiftSettings: swiftSettings),
    .target(
      name: "PGPhaseYAML", dependencies: ["PGPhaseModel", .product(name: "Yams", package: "Yams")],
      swiftSettings: swiftSettings),
    .target(name: "PGPhaseIntents", dependencies: ["PGPhaseModel", "PGPhaseYAML"], swiftSettings: swiftSettings),
    .target(name: "PGPhaseConfig", dependencies: ["PGPhaseModel", "PGPhaseYAML", "PGPhaseLint"], swiftSettings: swiftSettings),
    .target(name: "PGPhaseSQL", dependencies: ["PGPhaseModel", "CPgQuery"], swiftSettings: swiftSettings),
    .target(name: "PGPhasePlanner", dependencies: ["PGPhaseModel", "PGPhaseSQL", "PGPhaseSchema"], swiftSettings: swiftSettings),
    .target(name: "PGPhaseLint", dependencies: ["PGPhaseModel", "PGPhaseSQL"], swiftSettings: swiftSettings),
    .target(
      name: "PGPhaseTrace", dependencies: ["PGPhaseModel", "PGPhaseSQL", "PGPhaseLint", "PGPhasePostgres"],
      swiftSettings: swiftSettings),
    .target(
      name: "PGPhasePostgres",
      dependencies: ["CLibPQ", .product(name: "Logging", package: "swift-log")],
      swiftSettings: swiftSettings),
    .target(name: "PGPhaseSchema", dependencies: ["PGPhaseModel", "PGPhaseSQL"], swiftSettings: swiftSettings),
    .target(
      name: "PGPhaseCatalog", dependencies: ["PGPhaseModel", "PGPhasePostgres"], swiftSettings: swiftSettings),
    .target(
      name: "PGPhaseExecutor",
      dependencies: [
        "PGPhaseModel", "PGPhasePlanner", "PGPhasePostgres", "PGPhaseSQL", "PGPhaseCatalog",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings),
    .target(name: "PGPhaseServer", swiftSettings: swiftSettings),
    .target(
      name: "PGPhaseRehearsal", dependencies: ["PGPhaseModel", "PGPhasePostgres", "PGPhaseExecutor"],
      swiftSettings: swiftSettings),
    .executableTarget(name: "pgphase-server", dependencies: ["PGPhaseServer"], swiftSettings: swiftSettings),
    .executableTarget(
      name: "pgphase",
      dependencies: [
        "PGPhaseModel", "PGPhaseIntents", "PGPhaseConfig", "PGPhasePlanner", "PGPhaseLint", "PGPhaseTrace",
        "PGPhasePostgres", "PGPhaseExecutor", "PGPhaseServer", "PGPhaseRehearsal", "PGPhaseCatalog", "PGPhaseSchema",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings),
    .target(
      name: "PGPhaseTestSupport", dependencies: ["PGPhasePostgres", "PGPhaseServer"], path: "Tests/PGPhaseTestSupport",
      swiftSettings: swiftSettings),
    .testTarget(name: "PGPhaseModelTests", dependencies: ["PGPhaseModel"], swiftSettings: swiftSettings),
    .testTarget(name: "PGPhaseIntentsTests", dependencies: ["PGPhaseIntents", "PGPhaseYAML"], swiftSettings: swiftSettings),
    .testTarget(
      name: "PGPhaseYAMLTests", dependencies: ["PGPhaseYAML", .product(name: "Yams", package: "Yams")],
      swiftSettings: swiftSettings),
    .testTarget(name: "PGPhaseConfigTests", dependencies: ["PGPhaseConfig", "PGPhaseLint"], swiftSettings: swiftSettings),
    .testTarget(
      name: "PGPhasePlannerTests",
      dependencies: ["PGPhasePlanner", "PGPhaseIntents", "PGPhaseLint", "PGPhaseSQL", "PGPhaseSchema"],
      exclude: ["Fixtures"],
      swiftSettings: swiftSettings),
    .testTarget(
      name: "PGPhaseLintTests", dependencies: ["PGPhaseLint", "PGPhaseSQL", "PGPhasePlanner", "PGPhaseIntents"],
      swiftSettings: swiftSettings),
    .testTarget(
      name: "PGPhaseSQLTests", dependencies: ["PGPhaseSQL", "PGPhaseTestSupport"], exclude: ["gen_builtin_functions.py"],
      swiftSettings: swiftSettings),
    .testTarget(
      name: "PGPhaseTraceTests", dependencies: ["PGPhaseTrace", "PGPhaseLint", "PGPhaseSQL", "PGPhaseTestSupport"],
      swiftSettings: swiftSettings),
    .executableTarget(
      name: "pgphase-sql-bench", dependencies: ["PGPhaseSQL"], path: "bench/sql", swiftSettings: swiftSettings),
    .executableTarget(
      name: "pgphase-schema-bench", dependencies: ["PGPhaseModel", "PGPhaseSQL", "PGPhaseSchema"], path: "bench/schema",
      exclude: ["README.md"], swiftSettings: swiftSettings),
    .testTarget(
      name: "PGPhaseExecutorTests",
      dependencies: [
        "PGPhaseExecutor", "PGPhasePlanner", "PGPhaseIntents", "PGPhaseServer", "PGPhaseTestSupport", "PGPhaseCatalog",
        "PGPhaseSQL", "PGPhaseSchema",
      ],
      exclude: ["Fixtures"],
      swiftSettings: swiftSettings),
    .testTarget(
      name: "PGPhaseLockTruthTests",
      dependencies: [
        "PGPhaseModel", "PGPhaseIntents", "PGPhasePlanner", "PGPhaseLint", "PGPhaseSQL", "PGPhasePostgres", "PGPhaseTestSupport",
        "PGPhaseSchema",
      ],
      swiftSettings: swiftSettings),
    .testTarget(
      name: "PGPhaseServerTests", dependencies: ["PGPhaseServer", "PGPhasePostgres", "PGPhaseTestSupport"],
      swiftSettings: swiftSettings),
    .testTarget(
      name: "PGPhaseSchemaTests",
      dependencies: ["PGPhaseModel", "PGPhaseSchema", "PGPhaseCatalog", "PGPhasePostgres", "PGPhaseTestSupport"],
      exclude: ["Fixtures"],
      swiftSettings: swiftSettings),
    .testTarget(
      name: "PGPhasePostgresTests", dependencies: ["PGPhasePostgres", "PGPhaseTestSupport"], swiftSettings: swiftSettings),
    .testTarget(
      name: "PGPhaseIntegrationTests",
      dependencies: ["PGPhasePlanner", "PGPhaseIntents", "PGPhasePostgres", "PGPhaseExecutor", "PGPhaseTestSupport"],
      exclude: ["expected-final-catalog.txt"],
      swiftSettings: swiftSettings),
  ],
  swiftLanguageModes: [.v6]
)
