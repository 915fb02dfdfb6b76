import Foundation
import PGPhaseModel
import PGPhasePostgres

extension Executor {
  /// Runs a `CREATE [UNIQUE] INDEX CONCURRENTLY` step: waits for a build of the same index still
  /// running in the server, drops an invalid leftover, then builds unless a valid one is there.
  /// Returns a note for the step's output line.
  func runIndexStep(_ index: QualifiedName, step: Step, of lp: LoadedPlan, on c: Connection) throws -> String {
    try prepareIndex(index, step: step, of: lp, on: c)
    if try violations(of: step, on: c).isEmpty { return " (already complete in the catalog)" }
    try runStatementsAlone(step, of: lp, on: c)
    return ""
  }

  // MARK: - Index builds

  /// The index a `CREATE [UNIQUE] INDEX CONCURRENTLY` step builds, from its postcondition.
  func indexTarget(of step: Step) -> QualifiedName? {
    guard let sql = step.sql.first,
      sql.range(of: #"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY"#, options: [.regularExpression, .caseInsensitive]) != nil,
      let p = step.postconditions.first(where: { $0.kind == .indexExists }), let object = p.object
    else { return nil }
    if object.schema == nil, let schema = p.table?.schema { return QualifiedName(schema: schema, object.name) }
    return object
  }

  /// Before (re)building an index: wait for a build of it still running in the server (a killed
  /// runner's CIC goes on), then drop an invalid leftover so the build starts clean.
  func prepareIndex(_ index: QualifiedName, step: Step, of lp: LoadedPlan, on c: Connection) throws {
    let catalog = Catalog(c)
    var lastReport = Date.distantPast
    while let progress = try catalog.runningIndexBuild(indexName: index) {
      if Date().timeIntervalSince(lastReport) >= options.progressInterval {
        let done = progress.fractionDone.map { String(format: " %.0f%%", $0 * 100) } ?? ""
        let locker = progress.currentLockerPID.map { ", waiting for pid \($0)" } ?? ""
        log(
          "\(lp.plan.intent) \(step.id): a build of \(index) is still running in pid \(progress.pid) (\(progress.phase)\(done)\(locker)); waiting for it"
        )
        lastReport = Date()
      }
      Thread.sleep(forTimeInterval: 0.5)
    }
    if let state = try catalog.indexState(name: index), !state.isUsable {
      log("\(lp.plan.intent) \(step.id): index \(index) exists but is invalid (a build was interrupted); dropping it to rebuild")
      try c.execute("SET lock_timeout = 0")
      defer { _ = try? c.execute("RESET lock_timeout") }
      try c.executeAlone("DROP INDEX CONCURRENTLY IF EXISTS \(index.sql)")
    }
  }
}
