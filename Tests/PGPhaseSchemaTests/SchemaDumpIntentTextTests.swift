import Foundation
import PGPhaseModel
import PGPhaseTestSupport
import Testing

/// `schema dump` shows a default pgphase set in its intent's words when the server confirms it
/// is the same expression, and in the server's words once it is not.
@Suite(.enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct SchemaDumpIntentTextTests {
  @Test func defaultsPgphaseSetAreShownAsTheIntentWroteThem() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE incidents (id bigint PRIMARY KEY, title text, status text DEFAULT 'open');
        """)
      let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgphase-dump-\(UUID().uuidString)")
      defer { try? FileManager.default.removeItem(at: dir) }
      let intents = dir.appendingPathComponent("intents")
      try FileManager.default.createDirectory(at: intents, withIntermediateDirectories: true)
      try """
      changes:
        - add_column:
            table: incidents
            column: {name: severity, type: text, default: "'minor'"}
        - set_default:
            table: incidents
            column: title
            default: "lower( 'Untitled' )"
      """.write(to: intents.appendingPathComponent("20270101_severity.yaml"), atomically: true, encoding: .utf8)
      let plans = dir.appendingPathComponent("plans").path
      let planned = try runPGPhase(["plan", intents.path, "--out", plans])
      #expect(planned.status == 0, "\(planned.stderr)")
      for phase in ["expand", "backfill", "contract"] {
        let r = try runPGPhase(["apply", "--phase", phase, "--dsn", db.conninfo, plans])
        #expect(r.status == 0, "\(phase): \(r.stderr)")
      }
      let dump = try schemaDump(db)
      #expect(dump.contains("    severity text DEFAULT 'minor'"))
      #expect(dump.contains("    title text DEFAULT lower( 'Untitled' )"))
      // Not pgphase's: the server's form.
      #expect(dump.contains("    status text DEFAULT 'open'::text"))

      // Changed by hand: no longer what the intent wrote, so the server's words.
      try db.connection.execute("ALTER TABLE incidents ALTER COLUMN severity SET DEFAULT 'major'")
      let changed = try schemaDump(db)
      #expect(changed.contains("    severity text DEFAULT 'major'::text"))
      #expect(changed.contains("    title text DEFAULT lower( 'Untitled' )"))
    }
  }
}
