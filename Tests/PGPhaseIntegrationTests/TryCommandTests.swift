import Foundation
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// `pgphase try`: its own throwaway PostgreSQL (not the test server), every phase of every
/// intent with the app probes between phases, a summary, and nothing left behind.
@Suite(.serialized) struct TryCommandTests {
  /// Folders `pgphase try` creates for its server.
  func tryFolders() -> Set<String> {
    Set(((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter { $0.hasPrefix("pgphase-try") })
  }

  /// Server processes whose data folder is one of `try`'s.
  func tryServers() throws -> Int {
    let ps = Process()
    ps.executableURL = URL(fileURLWithPath: "/bin/ps")
    ps.arguments = ["-eo", "args"]
    let out = Pipe()
    ps.standardOutput = out
    try ps.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    ps.waitUntilExit()
    return text.split(separator: "\n").filter { $0.contains("/tmp/pgphase-try.") && $0.contains("postgres") }.count
  }

  @Test(.enabled(if: TestServer.shouldRun)) func tryTheExampleIntentsFromTheRepository() throws {
    let before = tryFolders()
    let result = try runPGPhase(["try", "examples/intents"], in: repositoryRoot)
    #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
    let lines = result.stdout.split(separator: "\n").map(String.init)
    #expect(lines.first == "loaded examples/schema.sql")
    let header = try #require(lines.first { $0.hasPrefix("intent ") })
    #expect(
      header.split(separator: " ", omittingEmptySubsequences: true) == [
        "intent", "expand", "backfill", "contract", "probes", "time",
      ])
    let ids = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("examples/intents").path)
      .map { String($0.dropLast(".yaml".count)) }.sorted()
    #expect(ids.count == 11)
    for id in ids {
      let row = try #require(lines.first { $0.hasPrefix(id + " ") }, "no summary row for \(id)")
      let cells = row.split(separator: " ", omittingEmptySubsequences: true)
      #expect(cells.contains("FAILED") == false && cells.contains("skipped") == false, "\(row)")
      #expect(row.contains("5 ok"), "old+new after expand, old+new after backfill, new after contract: \(row)")
    }
    #expect(lines.last == "ok: 11 intents applied through contract; 55 probes passed")
    #expect(result.stderr.contains("try: PostgreSQL 15"))
    #expect(tryFolders().subtracting(before).isEmpty, "the server's folder was removed")
    #expect(try tryServers() == 0)
  }

  /// A probe that fails is reported, the run exits 1, and the server is gone all the same.
  @Test(.enabled(if: TestServer.shouldRun)) func failingProbeIsReportedAndTheServerRemoved() throws {
    let probes = try makeTemporaryDirectory()
    let intents = try makeTemporaryDirectory()
    let id = "20261120_incident_severity"
    try FileManager.default.copyItem(
      at: repositoryRoot.appendingPathComponent("examples/intents/\(id).yaml"), to: intents.appendingPathComponent("\(id).yaml"))
    try FileManager.default.createDirectory(at: probes.appendingPathComponent(id), withIntermediateDirectories: true)
    try "SELECT id, title FROM incidents LIMIT 1;".write(
      to: probes.appendingPathComponent("\(id)/old.sql"), atomically: true, encoding: .utf8)
    // The new app reads a column no intent adds.
    try "SELECT severity, priority_score FROM incidents LIMIT 1;".write(
      to: probes.appendingPathComponent("\(id)/new.sql"), atomically: true, encoding: .utf8)
    let before = tryFolders()
    let result = try runPGPhase([
      "try", intents.path, "--base", repositoryRoot.appendingPathComponent("examples/schema.sql").path, "--probes", probes.path,
    ])
    #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
    #expect(result.stderr.contains("\(id): the new app's probe FAILED after expand:"), "\(result.stderr)")
    #expect(result.stderr.contains("priority_score"))
    let row = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix(id + " ") })
    #expect(row.contains("FAILED: new after expand, new after backfill, new after contract"), "\(row)")
    #expect(result.stdout.hasSuffix("FAILED: see above\n"))
    #expect(tryFolders().subtracting(before).isEmpty)
    #expect(try tryServers() == 0)
  }

  /// SIGTERM while a probe runs: the server is stopped and its folder removed before the exit.
  @Test(.enabled(if: TestServer.shouldRun)) func sigtermStopsAndRemovesTheServer() throws {
    let probes = try makeTemporaryDirectory()
    let id = "20261120_incident_severity"
    try FileManager.default.createDirectory(at: probes.appendingPathComponent(id), withIntermediateDirectories: true)
    try "SELECT pg_sleep(60);".write(to: probes.appendingPathComponent("\(id)/old.sql"), atomically: true, encoding: .utf8)
    let before = tryFolders()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try pgphaseBinary())
    process.arguments = ["try", "examples/intents", "--probes", probes.path]
    process.currentDirectoryURL = repositoryRoot
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    defer { if process.isRunning { kill(process.processIdentifier, SIGTERM) } }
    // Wait until the server runs the sleeping probe.
    let deadline = Date().addingTimeInterval(60)
    var sleeping = false
    while !sleeping, Date() < deadline, process.isRunning {
      let folders = tryFolders().subtracting(before).filter { !$0.hasSuffix(".out") }
      sleeping = try folders.contains { folder in
        guard FileManager.default.fileExists(atPath: "/tmp/\(folder)/.s.PGSQL.5432") else { return false }
        let c = try Connection.connect(
          dsn: "host=/tmp/\(folder) port=5432 user=postgres dbname=postgres", applicationName: "pgphase-tests")
        defer { c.close() }
        return try c.execute(
          "SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()"
        ).scalarBool()
          ?? false
      }
      if !sleeping { Thread.sleep(forTimeInterval: 0.1) }
    }
    try #require(sleeping, "the probe never ran")
    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
    #expect(process.terminationReason == .exit && process.terminationStatus == 128 + SIGTERM)
    #expect(tryFolders().subtracting(before).isEmpty)
    #expect(try tryServers() == 0)
  }

  @Test func badInputIsExitTwo() throws {
    let result = try runPGPhase(["try", "/nonexistent/plans"])
    #expect(result.status == 2, "\(result.stderr)")
  }
}
