import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// The built `pgphase` binary: `PGPHASE_BIN`, else beside the test bundle, else under the scratch
/// folder this package is usually built in.
func pgphaseBinary() throws -> String {
  let fm = FileManager.default
  if let path = ProcessInfo.processInfo.environment["PGPHASE_BIN"], fm.isExecutableFile(atPath: path) { return path }
  var candidates: [String] = []
  let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
  candidates.append(argv0.deletingLastPathComponent().appendingPathComponent("pgphase").path)
  candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("pgphase").path)
  for scratch in [".build-exec", ".build"] {
    candidates.append(repoRoot.appendingPathComponent("\(scratch)/debug/pgphase").path)
  }
  if let found = candidates.first(where: { fm.isExecutableFile(atPath: $0) }) { return found }
  throw BinaryNotFound(candidates: candidates)
}

struct BinaryNotFound: Error, CustomStringConvertible {
  var candidates: [String]
  var description: String { "pgphase binary not found (set PGPHASE_BIN); looked at \(candidates.joined(separator: ", "))" }
}

struct RunResult: Sendable {
  var status: Int32
  var signal: Bool
  var stdout: String
  var stderr: String
}

/// Runs `pgphase` with `arguments`; when `killAfter` is set, SIGKILLs it after that many seconds.
func runPGPhase(_ arguments: [String], killAfter: Double? = nil) throws -> RunResult {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: try pgphaseBinary())
  process.arguments = arguments
  let out = Pipe()
  let err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  if let killAfter {
    Thread.sleep(forTimeInterval: killAfter)
    kill(process.processIdentifier, SIGKILL)
  }
  // Read before waiting, so a full pipe cannot stall the child.
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  let errData = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return RunResult(
    status: process.terminationStatus, signal: process.terminationReason == .uncaughtSignal,
    stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}

/// Intents that can run phase by phase together (expand of all, then backfill, then contract).
let concurrentIntents = [
  "20261120_incident_severity", "20261121_checks_endpoint", "20261122_incident_impact_bigint",
  "20261123_reporter_email_lowercase", "20261124_check_hygiene",
]

@Suite("Runner processes", .serialized)
struct RunnerProcessTests {
  /// (c) Eight `pgphase apply` processes at once on the same plans: all succeed, and every step
  /// is applied exactly once (attempts = 1 in the journal).
  @Test(.enabled(if: TestServer.shouldRun))
  func eightConcurrentRunnersApplyEachStepOnce() throws {
    _ = try pgphaseBinary()
    try withTestDatabase { db in
      try db.connection.runSQLFile(schemaFile)
      let intentArgs = concurrentIntents.flatMap { ["--intent", $0] }
      let dsn = db.conninfo
      let start = Date()
      let workers = (0..<8).map { _ in
        BackgroundWork { () throws -> [RunResult] in
          try ["expand", "backfill", "contract"].map { phase in
            try runPGPhase(["apply", "--phase", phase, "--dsn", dsn] + intentArgs + [plansDir])
          }
        }
      }
      let results = try workers.flatMap { try $0.wait(timeout: 300) }
      let elapsed = Date().timeIntervalSince(start)
      print("8 concurrent runners × 3 phases over \(concurrentIntents.count) intents took \(String(format: "%.2f", elapsed))s")
      for r in results {
        #expect(r.status == 0, "exit \(r.status): \(r.stderr)")
      }
      let plans = try LoadedPlan.loadAll(from: plansDir).filter { concurrentIntents.contains($0.plan.intent) }
      let expected = plans.flatMap { lp in lp.plan.allSteps.map { "\(lp.plan.intent) \($0.id)" } }
      let doneLines = results.flatMap { $0.stdout.split(separator: "\n").map(String.init) }.filter { $0.contains(" done in ") }
      #expect(doneLines.count == expected.count, "\(doneLines)")
      let rows = try db.connection.execute("SELECT intent, step_id, state, attempts FROM pgphase.steps").rows
      #expect(rows.count == expected.count)
      for row in rows {
        #expect(row["state"] == "done", "\(row.values)")
        #expect(row["attempts"] == "1", "\(row.values)")
      }
    }
  }
}
