import Foundation
import PGPhaseModel
import PGPhasePlanner
import PGPhasePostgres
import PGPhaseTestSupport

/// The committed plans (the golden set under plans/), in apply order.
func committedPlans() throws -> [Plan] {
  let dir = repositoryRoot.appendingPathComponent("plans")
  let ids = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
    FileManager.default.fileExists(atPath: dir.appendingPathComponent("\($0)/plan.json").path)
  }.sorted()
  return try ids.map {
    try PlanRenderer.decode(json: String(contentsOf: dir.appendingPathComponent("\($0)/plan.json"), encoding: .utf8))
  }
}

func readRepositoryFile(_ path: String) throws -> String {
  try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
}

func makeTemporaryDirectory() throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("pgphase-test-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// Applies one step the way its flags say: a transactional step in one transaction under the
/// plan's lock_timeout; a non-transactional step alone, with no lock_timeout. This stands in for
/// the executor in tests that check the plans themselves.
func applyStep(_ step: Step, of plan: Plan, on connection: Connection) throws {
  if step.transactional && step.backfill == nil {
    try connection.transaction { c in
      _ = try c.execute("SELECT set_config('lock_timeout', $1, true)", [plan.lockTimeout])
      for sql in step.sql { _ = try c.executeAlone(sql) }
    }
  } else {
    _ = try connection.execute("SET lock_timeout = 0")
    defer { _ = try? connection.execute("RESET lock_timeout") }
    for sql in step.sql { _ = try connection.executeAlone(sql) }
  }
}

/// Runs an app probe (a few statements) in one transaction and commits it, as the app would.
func runProbe(_ sql: String, on connection: Connection) throws {
  do {
    _ = try connection.executeScript("BEGIN;\n\(sql)\n;COMMIT;")
  } catch {
    _ = try? connection.executeScript("ROLLBACK")
    throw error
  }
}
