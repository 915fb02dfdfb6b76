import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// The contract guard: a release that does not know an intent and checked in recently blocks
/// that intent's contract; `--force` overrides it and is journaled; a stale check-in does not block.
@Suite(.serialized) struct RolloutTests {
  static let old = ["20261120_incident_severity"]
  static let new = ["20261120_incident_severity", "20261121_checks_endpoint"]

  /// The old release fully applied, the new one expanded and backfilled.
  func prepare(_ db: TestDatabase) throws -> (old: URL, new: URL) {
    try loadExampleSchema(db)
    let old = try releasePlans(Self.old)
    let new = try releasePlans(Self.new)
    let run = try runPGPhase(["advance", "--to", "backfill", "--dsn", db.conninfo, new.path])
    try #require(run.status == 0, "\(run.stderr)")
    return (old, new)
  }

  func contractSteps(_ db: TestDatabase) throws -> Int {
    try db.connection.execute(
      "SELECT count(*) FROM pgphase.steps WHERE intent = '20261121_checks_endpoint' AND phase = 'contract'"
    ).scalarInt() ?? -1
  }

  @Test(.enabled(if: TestServer.shouldRun)) func recentOldCheckinBlocksContractAndForceOverridesIt() throws {
    try withTestDatabase { db in
      let (old, new) = try prepare(db)
      for host in ["pod-b", "pod-a"] {
        let check = try runPGPhase(["check", "--release", old.path, "--name", "v1.4.0", "--host", host, "--dsn", db.conninfo])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
      }
      // The new release checking in does not block: it knows the intent.
      let newCheck = try runPGPhase(["check", "--release", new.path, "--name", "v1.5.0", "--host", "pod-c", "--dsn", db.conninfo])
      #expect(newCheck.status == 0)

      for command in [["apply", "--phase", "contract"], ["advance", "--to", "contract"]] {
        let refused = try runPGPhase(command + ["--dsn", db.conninfo, new.path])
        #expect(refused.status == 1, "\(command): \(refused.stdout)\(refused.stderr)")
        #expect(
          refused.stderr.contains(
            "refusing to contract 20261121_checks_endpoint: an app release that does not know it checked in within the last 15m00s: v1.4.0 on pod-a, pod-b (last check-in "
          ), "\(refused.stderr)")
        #expect(refused.stderr.contains("v1.4.0 on pod-a, pod-b (last check-in "), "\(refused.stderr)")
        #expect(!refused.stderr.contains("v1.5.0"))
        #expect(try contractSteps(db) == 0, "nothing of the contract ran")
      }

      let forced = try runPGPhase(["apply", "--phase", "contract", "--force", "--dsn", db.conninfo, new.path])
      #expect(forced.status == 0, "\(forced.stdout)\(forced.stderr)")
      #expect(forced.stderr.contains("warning: --force: contracting 20261121_checks_endpoint although"))
      #expect(try contractSteps(db) == 3)
      let events = try db.connection.execute(
        """
        SELECT kind, intent, phase, runner, detail -> 'releases' -> 0 ->> 'release' AS release,
               (detail -> 'releases' -> 0 -> 'hosts')::text AS hosts, (detail ->> 'window_seconds')::float8 AS window
        FROM pgphase.events
        """)
      #expect(events.rows.count == 1)
      let event = try #require(events.first)
      #expect(event["kind"] == "contract_guard_overridden" && event["intent"] == "20261121_checks_endpoint")
      #expect(event["phase"] == "contract" && event["runner"]?.hasPrefix("pgphase apply ") == true)
      #expect(event["release"] == "v1.4.0" && event["hosts"] == #"["pod-a", "pod-b"]"# && event["window"] == "900")
    }
  }

  @Test(.enabled(if: TestServer.shouldRun)) func staleCheckinDoesNotBlock() throws {
    try withTestDatabase { db in
      let (old, new) = try prepare(db)
      let check = try runPGPhase(["check", "--release", old.path, "--name", "v1.4.0", "--host", "pod-a", "--dsn", db.conninfo])
      #expect(check.status == 0)
      // Two minutes old: inside the default 15 minutes, outside a 1-minute window.
      try db.connection.execute("UPDATE pgphase.checkins SET checked_at = now() - interval '2 minutes'")
      let refused = try runPGPhase(["advance", "--to", "contract", "--dsn", db.conninfo, new.path])
      #expect(refused.status == 1 && refused.stderr.contains("v1.4.0 on pod-a"), "\(refused.stderr)")
      let allowed = try runPGPhase(["advance", "--to", "contract", "--guard-window", "1m", "--dsn", db.conninfo, new.path])
      #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
      #expect(try contractSteps(db) == 3)
      #expect(try db.connection.execute("SELECT count(*) FROM pgphase.events").scalarInt() == 0, "no override to journal")
    }
  }

  @Test(.enabled(if: TestServer.shouldRun)) func checkinOlderThanTheDefaultWindowDoesNotBlock() throws {
    try withTestDatabase { db in
      let (old, new) = try prepare(db)
      let check = try runPGPhase(["check", "--release", old.path, "--host", "pod-a", "--dsn", db.conninfo])
      #expect(check.status == 0)
      let release = try db.connection.execute("SELECT release FROM pgphase.checkins").first?["release"]
      #expect(release?.hasPrefix("r-") == true && release?.count == 18, "a fingerprint of the plans: \(release ?? "nil")")
      try db.connection.execute("UPDATE pgphase.checkins SET checked_at = now() - interval '16 minutes'")
      let contract = try runPGPhase(["apply", "--phase", "contract", "--dsn", db.conninfo, new.path])
      #expect(contract.status == 0, "\(contract.stdout)\(contract.stderr)")
      #expect(try contractSteps(db) == 3)
    }
  }
}
