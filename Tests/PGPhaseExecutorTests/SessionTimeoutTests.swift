import Foundation
import PGPhaseExecutor
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// Timeouts a role or database sets for its apps (`ALTER ROLE ... SET statement_timeout`) must
/// never cancel a step: pgphase turns them off for its sessions and says so in `status`.
@Suite struct SessionTimeoutTests {
  @Test(.enabled(if: TestServer.shouldRun))
  func timeoutsSetOnTheRoleCancelNoStepOfAnyExample() throws {
    _ = try pgphaseBinary()
    let role = "pgphase_timeouts_" + UUID().uuidString.prefix(8).lowercased()
    let admin = try TestServer.connectAdmin()
    defer { admin.close() }
    try admin.execute("CREATE ROLE \(role) LOGIN SUPERUSER")
    defer { _ = try? admin.execute("DROP ROLE IF EXISTS \(role)") }
    try withTestDatabase { db in
      // Enough rows that a backfill, a validation or an index build takes longer than 20ms.
      try seedForCrashTests(db.connection)
      try admin.execute("ALTER ROLE \(role) SET statement_timeout = '20ms'")
      try admin.execute("ALTER ROLE \(role) IN DATABASE \(db.name) SET idle_in_transaction_session_timeout = '20ms'")
      let dsn = db.conninfo + " user=\(role)"

      // The timeouts are in force for the role: an ordinary session of it is cancelled.
      let app = try Connection.connect(dsn: dsn, applicationName: "app")
      #expect(throws: PostgresError.self) { try app.execute("SELECT pg_sleep(0.2)") }
      app.close()

      let r = try runPGPhase(["advance", "--to", "contract", "--dsn", dsn, plansDir])
      #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
      let failed = try db.connection.execute("SELECT count(*) FROM pgphase.steps WHERE attempts > 1 OR state <> 'done'")
      #expect(try failed.scalarInt() == 0, "no step needed a second attempt")

      let json = try runPGPhase(["status", "--json", "--dsn", dsn, plansDir])
      #expect(json.status == 0, "\(json.stderr)")
      let statuses = try JSONDecoder().decode([IntentStatus].self, from: Data(json.stdout.utf8))
      #expect(!statuses.isEmpty)
      for s in statuses {
        #expect(s.phases.allSatisfy { $0.state == "done" || $0.state == "no steps" }, "\(s.intent): \(s.phases)")
        #expect(
          s.sessionSettings["statement_timeout"] == IntentStatus.SettingStatus(set: ["0"], overrode: "20ms set on the role"),
          "\(s.intent)")
        #expect(
          s.sessionSettings["idle_in_transaction_session_timeout"]
            == IntentStatus.SettingStatus(set: ["0"], overrode: "20ms set on the role in this database"), "\(s.intent)")
        #expect(s.sessionSettings["lock_timeout"] != nil, "\(s.intent)")
      }
      let text = try runPGPhase(["status", "--dsn", dsn, plansDir])
      #expect(text.stdout.contains("statement_timeout=0 (over 20ms set on the role)"), "\(text.stdout)\n\(text.stderr)")
      // The read-only commands shed the role's timeouts too: verify's catalog reads take longer than 20ms.
      for command in [["verify"], ["check", "--release", plansDir], ["schema", "dump"]] {
        let r = try runPGPhase(command + ["--dsn", dsn])
        #expect(r.status == 0, "\(command): \(r.stderr)")
      }
      try db.drop()
    }
  }
}
