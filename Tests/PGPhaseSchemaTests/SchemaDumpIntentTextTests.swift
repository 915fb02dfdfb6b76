import Foundation
import PGPhaseModel
import PGPhaseTestSupport
import Testing

/// `schema dump` shows a default pgphase set in its intent's words when the server confirms it
/// is the same expression, and in the server's words once it is not.
@Suite(.enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct SchemaDumpIntentTextTests {
  /// Writes `intents` (file name, YAML) into a new folder, plans them (against `schema`, written
  /// beside them, when given), takes them through contract on `db` with `advance`, and runs
  /// `body` with the plans folder; the folder is removed afterwards.
  func rollOut(
    _ intents: [(String, String)], schema: String? = nil, on db: TestDatabase,
    sourceLocation: Testing.SourceLocation = #_sourceLocation, _ body: (String) throws -> Void
  ) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgphase-dump-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let folder = dir.appendingPathComponent("intents")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for (name, yaml) in intents {
      try yaml.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    let plans = dir.appendingPathComponent("plans").path
    var command = ["plan", folder.path, "--out", plans]
    if let schema {
      let file = dir.appendingPathComponent("schema.sql")
      try schema.write(to: file, atomically: true, encoding: .utf8)
      command += ["--schema", file.path]
    }
    let planned = try runPGPhase(command)
    #expect(planned.status == 0, "\(planned.stderr)", sourceLocation: sourceLocation)
    let advance = try runPGPhase(["advance", "--to", "contract", "--dsn", db.conninfo, plans])
    #expect(advance.status == 0, "\(advance.stderr)", sourceLocation: sourceLocation)
    try body(plans)
  }

  @Test func defaultsPgphaseSetAreShownAsTheIntentWroteThem() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE incidents (id bigint PRIMARY KEY, title text, status text DEFAULT 'open');
        """)
      let severity = """
        changes:
          - add_column:
              table: incidents
              column: {name: severity, type: text, default: "'minor'"}
          - set_default:
              table: incidents
              column: title
              default: "lower( 'Untitled' )"
        """
      try rollOut([("20270101_severity.yaml", severity)], on: db) { _ in }
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

  /// An expression the server can no longer read as the intent wrote it (its function renamed by
  /// hand) is shown in the server's words, and the dump says so on stderr instead of differing
  /// from the plans in silence.
  @Test func whatTheServerCannotConfirmIsShownInItsWordsAndSaid() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE FUNCTION positive(integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 > 0';
        CREATE TABLE t (id bigint PRIMARY KEY, n integer);
        """)
      let positive = "changes:\n  - add_check: {table: t, name: t_n_positive, expression: \"positive(n)\"}\n"
      try rollOut([("20270101_positive.yaml", positive)], on: db) { _ in }
      let before = try runPGPhase(["schema", "dump", "--dsn", db.conninfo])
      #expect(before.stdout.contains("CONSTRAINT t_n_positive CHECK (positive(n))") && before.stderr.isEmpty, "\(before.stderr)")
      try db.connection.execute("ALTER FUNCTION positive(integer) RENAME TO is_positive")
      let after = try runPGPhase(["schema", "dump", "--dsn", db.conninfo])
      #expect(after.status == 0)
      #expect(after.stdout.contains("CONSTRAINT t_n_positive CHECK (public.is_positive(n))"), "\(after.stdout)")
      #expect(
        after.stderr.contains("t_n_positive")
          && after.stderr.contains("shown as the server prints it, not as the intent wrote it"),
        "\(after.stderr)")
    }
  }

  /// An index and a CHECK an intent wrote, carried over by a later rename of their column, are
  /// still shown as written, under the column's new name (the rename's contract records what it
  /// leaves); before, the dump fell back to the server's words.
  @Test func whatARenameCarriesOverIsShownAsWrittenUnderTheNewName() throws {
    try withTestDatabase { db in
      let schema = "CREATE TABLE orders (id bigint PRIMARY KEY, email text, amount integer);"
      try db.connection.executeScript(schema)
      let index = """
        changes:
          - create_index: {table: orders, name: orders_email_idx, columns: [{expression: "lower( email )"}], where: "amount > 1"}
          - add_check: {table: orders, name: orders_email_check, expression: "email <> ''"}
        """
      let rename = "changes:\n  - rename_column: {table: orders, from: email, to: mail}\n"
      try rollOut([("20270101_index.yaml", index), ("20270102_rename.yaml", rename)], schema: schema, on: db) { plans in
        let dump = try runPGPhase(["schema", "dump", "--dsn", db.conninfo])
        #expect(dump.stderr.isEmpty, "\(dump.stderr)")
        #expect(
          dump.stdout.contains("CREATE INDEX orders_email_idx ON public.orders USING btree (lower( mail )) WHERE amount > 1"),
          "\(dump.stdout)")
        #expect(dump.stdout.contains("CONSTRAINT orders_email_check CHECK (mail <> '')"), "\(dump.stdout)")
        // The plans' schema.sql says the same.
        let after = try String(contentsOfFile: "\(plans)/schema.sql", encoding: .utf8)
        #expect(
          after.contains("USING btree (lower( mail )) WHERE amount > 1") && after.contains("CHECK (mail <> '')"), "\(after)")
      }
    }
  }

  /// CHECK constraints and index keys and predicates pgphase wrote are shown as their intents
  /// wrote them (followed through a later rename of their table), where the server holds the same
  /// expression; one changed by hand since is shown in the server's words. A table renamed keeps
  /// its NOT NULLs' names on every version, as PostgreSQL 18 keeps them (before 18 they have
  /// none; the plan of the rename assumed them).
  @Test func checksAndIndexExpressionsPgphaseWroteAreShownAsTheIntentWroteThem() throws {
    try withTestDatabase { db in
      let schema = "CREATE TABLE orders (id bigint PRIMARY KEY, amount integer, email text);"
      try db.connection.executeScript(schema)
      let checks = """
        changes:
          - add_check: {table: orders, name: orders_amount_check, expression: "amount IN (1, 2, 3)"}
          - add_check: {table: orders, name: orders_email_check, expression: "email <> ''"}
          - create_index: {table: orders, name: orders_domain_idx, columns: ["split_part(email, '@', 2)", id], where: "amount > 1"}
          - create_table:
              table: refunds
              columns:
                - {name: id, type: bigint, primary_key: true, check: "id > 0"}
        """
      let rename = "changes:\n  - rename_table: {from: orders, to: purchases}\n"
      try rollOut([("20270101_checks.yaml", checks), ("20270102_rename.yaml", rename)], schema: schema, on: db) { plans in
        let dump = try schemaDump(db)
        #expect(
          dump.contains("CREATE TABLE public.purchases (\n    id bigint CONSTRAINT orders_id_not_null NOT NULL,"), "\(dump)")
        // What the plan says the intents leave, byte for byte.
        let after = try String(contentsOfFile: "\(plans)/schema.sql", encoding: .utf8)
        #expect(dump == after, "plans/schema.sql:\n\(after)\nschema dump:\n\(dump)")
        #expect(dump.contains("    CONSTRAINT orders_amount_check CHECK (amount IN (1, 2, 3)),"), "\(dump)")
        #expect(dump.contains("    CONSTRAINT orders_email_check CHECK (email <> '')\n);"), "\(dump)")
        #expect(dump.contains("    id bigint NOT NULL,\n    CONSTRAINT refunds_id_check CHECK (id > 0)\n);"), "\(dump)")
        #expect(
          dump.contains(
            "CREATE INDEX orders_domain_idx ON public.purchases USING btree (split_part(email, '@', 2), id) WHERE amount > 1;"),
          "\(dump)")

        // Changed by hand: the server's words for what changed, the intent's for the rest.
        try db.connection.executeScript(
          "ALTER TABLE purchases DROP CONSTRAINT orders_amount_check, ADD CONSTRAINT orders_amount_check CHECK (amount IN (1, 2));"
        )
        let changed = try schemaDump(db)
        #expect(
          changed.contains("    CONSTRAINT orders_amount_check CHECK ((amount = ANY (ARRAY[1, 2]))),"), "\(changed)")
        #expect(changed.contains("    CONSTRAINT orders_email_check CHECK (email <> '')\n);"), "\(changed)")
      }
    }
  }
}
