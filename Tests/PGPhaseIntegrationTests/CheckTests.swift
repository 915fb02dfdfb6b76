import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// A plans folder holding copies of the committed plans of `intents` (a release's plans).
func releasePlans(_ intents: [String]) throws -> URL {
  let dir = try makeTemporaryDirectory()
  for id in intents {
    try FileManager.default.copyItem(
      at: repositoryRoot.appendingPathComponent("plans/\(id)"), to: dir.appendingPathComponent(id))
  }
  return dir
}

/// Every committed intent id, in apply order.
func committedIntentIDs() throws -> [String] { try committedPlans().map(\.intent) }

/// A database with the example schema loaded.
func loadExampleSchema(_ db: TestDatabase) throws {
  try db.connection.executeScript(try readRepositoryFile("examples/schema.sql"))
}

/// The app compatibility check (`pgphase check`, `pgphase.check_compatible`) on a real PostgreSQL.
@Suite(.serialized) struct CheckTests {
  /// The seed story: the executor dies in the middle of expand. The old release (without the
  /// intent) is still compatible; the new one is not, and the report says exactly which steps are
  /// missing. After the rerun both pass; after contract the old one fails, saying why.
  @Test(.enabled(if: TestServer.shouldRun)) func killedInTheMiddleOfExpandThenOldAndNewReleases() throws {
    try withTestDatabase { db in
      try loadExampleSchema(db)
      let all = try committedIntentIDs()
      let newIntent = "20261130_status_subscribers"
      #expect(all.last == newIntent)
      let oldPlans = try releasePlans(all.filter { $0 != newIntent })
      let newPlans = try releasePlans(all)
      let dsn = db.conninfo

      // The old release is fully rolled out.
      let rollout = try runPGPhase(["advance", "--to", "contract", "--dsn", dsn, oldPlans.path])
      try #require(rollout.status == 0, "\(rollout.stderr)")

      // An open snapshot makes CREATE INDEX CONCURRENTLY (expand/02) wait, so the kill lands there.
      let blocker = try db.connect()
      defer { blocker.close() }
      try blocker.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
      try blocker.execute("SELECT 1")
      let killed = try runPGPhase(["advance", "--to", "backfill", "--dsn", dsn, newPlans.path], killAfter: 3)
      #expect(killed.signal && killed.status == SIGKILL)
      // The pod is gone: so is its backend (as when the OOM killer takes the whole pod).
      try db.connection.execute(
        """
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND query ILIKE 'CREATE INDEX CONCURRENTLY%'
        """)
      try blocker.execute("COMMIT")
      try db.connection.waitUntil(
        """
        SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity
          WHERE datname = current_database() AND query ILIKE 'CREATE INDEX CONCURRENTLY%')
        """)
      let stepState = try db.connection.execute(
        "SELECT state FROM pgphase.steps WHERE intent = $1 AND step_id = 'expand/02-create-index-status-subscribers-email-domain-idx'",
        [newIntent]
      ).first?["state"]
      try #require(stepState == "running")

      // Old release: compatible, with a note saying what is half-done and that it does not matter.
      let old = try runPGPhase(["check", "--no-record", "--release", oldPlans.path, "--dsn", dsn])
      #expect(old.status == 0, "\(old.stdout)\(old.stderr)")
      #expect(old.stdout.contains("compatible: this database can serve release"))
      #expect(
        old.stdout.contains(
          "note: 20261130_status_subscribers expand: expand is not done (1 of 3 steps done): expand/02-create-index-status-subscribers-email-domain-idx running, left half-done by pgphase advance "
        ), "\(old.stdout)")
      #expect(old.stdout.contains("(no longer connected); expand/03-sql not run; this release does not need it"))

      // New release: not compatible; exactly the missing steps, and what to run.
      let new = try runPGPhase(["check", "--no-record", "--release", newPlans.path, "--dsn", dsn])
      #expect(new.status == 1, "\(new.stdout)\(new.stderr)")
      let lines = new.stdout.split(separator: "\n").map(String.init)
      #expect(lines.filter { $0.hasPrefix("INCOMPATIBLE:") }.count == 1, "\(new.stdout)")
      #expect(
        lines.first?.hasPrefix(
          "INCOMPATIBLE: 20261130_status_subscribers expand: expand is not done (1 of 3 steps done): expand/02-create-index-status-subscribers-email-domain-idx running, left half-done by pgphase advance "
        ) == true, "\(new.stdout)")
      #expect(lines.first?.hasSuffix("(no longer connected); expand/03-sql not run") == true)
      #expect(lines.contains("  fix: run `pgphase advance --to backfill` (it resumes where the last run stopped)"))
      #expect(lines.last?.hasPrefix("not compatible: 1 problem for release r-") == true)

      // JSON says the same.
      let json = try runPGPhase(["check", "--no-record", "--json", "--release", newPlans.path, "--dsn", dsn])
      let report = try JSONDecoder().decode(CompatibilityReport.self, from: Data(json.stdout.utf8))
      #expect(!report.compatible && report.findings.map(\.intent) == [newIntent] && report.findings[0].phase == .expand)

      // The rerun finishes expand and backfill: both releases pass.
      let rerun = try runPGPhase(["advance", "--to", "backfill", "--dsn", dsn, newPlans.path])
      try #require(rerun.status == 0, "\(rerun.stdout)\(rerun.stderr)")
      for plans in [oldPlans, newPlans] {
        let check = try runPGPhase(["check", "--no-record", "--release", plans.path, "--dsn", dsn])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("compatible:") } == [])
      }

      // After contract the old release fails, naming the intent and phase.
      let contract = try runPGPhase(["advance", "--to", "contract", "--dsn", dsn, newPlans.path])
      try #require(contract.status == 0, "\(contract.stdout)\(contract.stderr)")
      let after = try runPGPhase(["check", "--no-record", "--release", oldPlans.path, "--dsn", dsn])
      #expect(after.status == 1)
      #expect(
        after.stdout.contains(
          "INCOMPATIBLE: 20261130_status_subscribers contract: contract has started (1 of 1 steps done) but this release does not know the intent: it may still use what contract removes\n  fix: deploy a release built with this intent"
        ), "\(after.stdout)")
      let newAfter = try runPGPhase(["check", "--no-record", "--release", newPlans.path, "--dsn", dsn])
      #expect(newAfter.status == 0, "\(newAfter.stdout)")
      #expect(try db.connection.execute("SELECT count(*) FROM pgphase.checkins").scalarInt() == 0, "--no-record records nothing")
    }
  }

  /// For every example intent: once its expand and backfill are done, the release before it
  /// and the release with it both pass; once its contract started, the release before it fails
  /// (when the intent has contract steps) and the release with it passes.
  @Test(.enabled(if: TestServer.shouldRun)) func everyExampleOldAndNewReleasePassBetweenExpandAndContract() throws {
    try withTestDatabase { db in
      try loadExampleSchema(db)
      let plans = try committedPlans().map { try LoadedPlan($0) }
      let executor = Executor(dsn: db.conninfo, output: { _ in }, log: { _ in })
      executor.options.rollout.guardWindow = 0
      let c = db.connection
      for (index, lp) in plans.enumerated() {
        let id = lp.plan.intent
        let old = ReleaseManifest(plans: Array(plans[..<index]))
        let new = ReleaseManifest(plans: Array(plans[...index]))
        let before = try CompatibilityCheck.run(new, recordFrom: nil, on: c)
        if !lp.plan.steps(in: .expand).isEmpty {
          #expect(!before.compatible, "\(id): the new release passed before its expand")
          #expect(before.findings.first { $0.blocking }?.intent == id)
        }
        try executor.advance(intents: [id], to: .backfill, plans: plans)
        for (name, manifest) in [("old", old), ("new", new)] {
          let report = try CompatibilityCheck.run(manifest, recordFrom: nil, on: c)
          #expect(report.compatible, "\(id): the \(name) release fails between expand and contract: \(report.render())")
        }
        try executor.advance(intents: [id], to: .contract, plans: plans)
        let oldAfter = try CompatibilityCheck.run(old, recordFrom: nil, on: c)
        let hasContract = !lp.plan.steps(in: .contract).isEmpty
        #expect(oldAfter.compatible == !hasContract, "\(id): \(oldAfter.render())")
        if hasContract {
          #expect(oldAfter.findings.filter(\.blocking).map { "\($0.intent) \($0.phase.rawValue)" } == ["\(id) contract"])
        }
        #expect(try CompatibilityCheck.run(new, recordFrom: nil, on: c).compatible)
      }
    }
  }

  @Test func unreachableDatabaseIsExitThree() throws {
    let plans = try releasePlans(["20261120_incident_severity"])
    let result = try runPGPhase(["check", "--release", plans.path, "--dsn", "host=/nonexistent-pgphase-socket-dir port=1"])
    #expect(result.status == 3, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.isEmpty)
  }

  /// Apps call the SQL function directly: the same answers, a check-in recorded, bad input refused.
  @Test(.enabled(if: TestServer.shouldRun)) func sqlFunctionRecordsCheckinsAndRejectsBadRequirements() throws {
    try withTestDatabase { db in
      try loadExampleSchema(db)
      let plans = try committedPlans().prefix(2).map { try LoadedPlan($0) }
      let executor = Executor(dsn: db.conninfo, output: { _ in }, log: { _ in })
      try executor.advance(intents: [plans[0].plan.intent], to: .expand, plans: Array(plans))
      let c = db.connection
      // 20261120's backfill is not done: needed by default, not with ':expand'.
      let strict = try c.execute(
        "SELECT intent, phase, blocking FROM pgphase.check_compatible(ARRAY['20261120_incident_severity'], 'v1', 'pod-1')")
      #expect(
        strict.rows.map { [$0["intent"], $0["phase"], $0["blocking"]] } == [["20261120_incident_severity", "backfill", "t"]])
      let relaxed = try c.execute(
        "SELECT count(*) FROM pgphase.check_compatible(ARRAY['20261120_incident_severity:expand'])")
      #expect(try relaxed.scalarInt() == 0)
      let unknown = try c.execute("SELECT problem FROM pgphase.check_compatible(ARRAY['20261121_checks_endpoint:none'])")
      #expect(unknown.rows.isEmpty)
      let checkins = try c.execute("SELECT release, host, intents::text AS intents FROM pgphase.checkins")
      #expect(
        checkins.rows.map { [$0["release"], $0["host"], $0["intents"]] } == [["v1", "pod-1", "{20261120_incident_severity}"]])
      #expect(throws: PostgresError.self) { try c.execute("SELECT * FROM pgphase.check_compatible(ARRAY['x:later'])") }
      // Without a journal at all, nothing is expanded.
      try withTestDatabase { empty in
        let report = try CompatibilityCheck.run(ReleaseManifest(plans: Array(plans)), recordFrom: "h", on: empty.connection)
        #expect(report.findings.map(\.intent) == plans.map(\.plan.intent) && !report.compatible)
      }
    }
  }
}
