import Foundation
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport

/// psql and pg_dump of the test server's own major version: Debian's for 15, the wheels
/// scripts/bootstrap installs under .pgphase-servers/ for 17 and 18, or `PGPHASE_PG_BINDIR`.
struct PostgresTools {
  let binDirectory: String
  let major: Int

  static func matching(_ connection: Connection) throws -> PostgresTools {
    let major = connection.serverVersionNumber / 10000
    let fm = FileManager.default
    var candidates: [String] = []
    if let dir = ProcessInfo.processInfo.environment["PGPHASE_PG_BINDIR"] { candidates.append(dir) }
    candidates.append("/usr/lib/postgresql/\(major)/bin")
    let servers = repositoryRoot.appendingPathComponent(".pgphase-servers/\(major)")
    for package in (try? fm.contentsOfDirectory(atPath: servers.path))?.sorted() ?? [] {
      candidates.append(servers.appendingPathComponent("\(package)/pginstall/bin").path)
    }
    guard let dir = candidates.first(where: { fm.isExecutableFile(atPath: "\($0)/pg_dump") }) else {
      throw ToolError(description: "no pg_dump of PostgreSQL \(major); looked in \(candidates.joined(separator: ", "))")
    }
    return PostgresTools(binDirectory: dir, major: major)
  }

  /// Runs a tool; its stdout, or an error with its stderr when it fails.
  @discardableResult
  func run(_ tool: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "\(binDirectory)/\(tool)")
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw ToolError(
        description: "\(tool) \(arguments.joined(separator: " ")) failed: \(String(decoding: errData, as: UTF8.self))")
    }
    return String(decoding: outData, as: UTF8.self)
  }

  /// Loads a SQL file the way a user would: psql, stopping at the first error.
  func load(_ file: String, into database: TestDatabase) throws {
    try run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database.conninfo, "-f", file])
  }

  func load(sql: String, into database: TestDatabase) throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("pgphase-schema-\(UUID().uuidString).sql")
    try sql.write(to: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: file) }
    try load(file.path, into: database)
  }

  func pgDumpSchema(_ database: TestDatabase) throws -> String {
    try run("pg_dump", ["--schema-only", "-d", database.conninfo])
  }
}

struct ToolError: Error, CustomStringConvertible {
  var description: String
}

/// A fixture file under Tests/PGPhaseSchemaTests/Fixtures.
func fixture(_ name: String) -> String {
  URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
}

/// The fixtures of a server version: broad.sql, and broad-18.sql on 18 and later.
func broadFixtures(serverVersion: Int) -> [String] {
  [fixture("broad.sql")] + (serverVersion >= 180000 ? [fixture("broad-18.sql")] : [])
}

/// The SQL files of a named fixture: `broad` (every object kind, with the PostgreSQL 18 extras on
/// 18), or `examples` (the example app's schema).
func fixtureFiles(_ which: String, serverVersion: Int) -> [String] {
  which == "broad"
    ? broadFixtures(serverVersion: serverVersion) : [repositoryRoot.appendingPathComponent("examples/schema.sql").path]
}

/// `pgphase schema dump` of a database, through the command line, written with --out.
func schemaDump(_ database: TestDatabase) throws -> String {
  let file = FileManager.default.temporaryDirectory.appendingPathComponent("pgphase-dump-\(UUID().uuidString).sql")
  defer { try? FileManager.default.removeItem(at: file) }
  let result = try runPGPhase(["schema", "dump", "--dsn", database.conninfo, "--out", file.path])
  guard result.status == 0 else {
    throw ToolError(description: "pgphase schema dump failed (\(result.status)): \(result.stderr)")
  }
  return try String(contentsOf: file, encoding: .utf8)
}

/// The differences of two snapshots, one per line, for a failing expectation's message.
func explain(_ a: SchemaSnapshot, _ b: SchemaSnapshot) -> String {
  a.differences(to: b).map(\.description).joined(separator: "\n")
}
