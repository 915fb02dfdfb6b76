import Foundation
import PGPhasePlanner
import PGPhaseTestSupport
import Testing

/// The acceptance run of every supported server (scripts/test runs this target on 15, 17 and
/// 18): `pgphase advance --to contract` of the example plans on the example schema, then
/// `pgphase verify`, both as a user would type them, clean; and `pgphase schema dump` of the
/// migrated database is `plans/schema.sql` byte for byte (issue 16: the schema plan writes is
/// the schema the intents leave).
@Suite(.enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct ExamplesOnEveryVersionTests {
  @Test func examplesAdvanceToContractAndVerifyClean() throws {
    try withTestDatabase { db in
      try db.connection.runSQLFile(repositoryRoot.appendingPathComponent("examples/schema.sql").path)
      let plans = repositoryRoot.appendingPathComponent("plans").path
      let advance = try runPGPhase(["advance", "--to", "contract", "--dsn", db.conninfo, plans])
      #expect(advance.status == 0, "PostgreSQL \(TestServer.major): \(advance.stdout)\n\(advance.stderr)")
      let verify = try runPGPhase(["verify", "--dsn", db.conninfo])
      #expect(verify.status == 0, "PostgreSQL \(TestServer.major): \(verify.stdout)\n\(verify.stderr)")
      #expect(verify.stdout.contains("no drift: checked "), "\(verify.stdout)")
      let done = try db.connection.execute("SELECT count(*) FROM pgphase.steps WHERE state = 'done'").scalarInt()
      let planned = try Corpus.examplePlans().reduce(0) { $0 + $1.allSteps.count }
      #expect(done == planned, "steps done: \(done ?? -1) of \(planned)")

      let dump = try runPGPhase(["schema", "dump", "--dsn", db.conninfo])
      #expect(dump.status == 0 && dump.stderr.isEmpty, "PostgreSQL \(TestServer.major): \(dump.stderr)")
      let expected = try String(contentsOf: repositoryRoot.appendingPathComponent("plans/schema.sql"), encoding: .utf8)
      #expect(
        dump.stdout == expected,
        """
        PostgreSQL \(TestServer.major): schema dump of the migrated database differs from plans/schema.sql:
        \(LineDiff.unified(old: expected, new: dump.stdout, oldName: "plans/schema.sql", newName: "schema dump"))
        """)
    }
  }
}
