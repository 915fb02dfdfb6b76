import Foundation
import PGPhaseTestSupport
import Testing

/// `pgphase plan --schema` and `schema:` in .pgphase.yaml, through the command line.
@Suite struct PlanSchemaCommandTests {
  static let schema = """
    CREATE TABLE public.orders (
        id bigint NOT NULL,
        title character varying(200),
        amount integer DEFAULT 0 NOT NULL
    );
    COMMENT ON COLUMN public.orders.title IS 'Shown on the invoice';

    """

  /// A folder with `schema.sql` and `intents/<file>` holding `intent`.
  func project(intent: String, schema: String = schema, file: String = "20270101_a.yaml") throws -> URL {
    let dir = try makeTemporaryDirectory()
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("intents"), withIntermediateDirectories: true)
    try intent.write(to: dir.appendingPathComponent("intents/\(file)"), atomically: true, encoding: .utf8)
    try schema.write(to: dir.appendingPathComponent("schema.sql"), atomically: true, encoding: .utf8)
    return dir
  }

  @Test func anUnknownNameIsALocatedErrorWithTheClosestName() throws {
    let dir = try project(intent: "changes:\n  - rename_column: {table: orders, from: titel, to: summary}\n")
    defer { try? FileManager.default.removeItem(at: dir) }
    let result = try runPGPhase(["plan", "intents", "--schema", "schema.sql", "--out", "plans"], in: dir)
    #expect(result.status == 2, "\(result.stderr)")
    #expect(
      result.stderr.contains(
        "intents/20270101_a.yaml:2:42: error: table `public.orders` has no column `titel`\n  hint: did you mean `title`?"),
      "\(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("plans").path))
    // The same intent without a schema asks for the type instead.
    let without = try runPGPhase(["plan", "intents", "--out", "plans"], in: dir)
    #expect(without.status == 2 && without.stderr.contains("needs the type of `titel`"), "\(without.stderr)")
  }

  /// With a starting schema, plan writes PLANS/schema.sql: the schema after the intents, in
  /// `schema dump`'s canonical form; --check reports it when it differs; without a schema the
  /// file is not written, and one already there is left as it was.
  @Test func planWritesTheSchemaAfterTheIntentsAndCheckCoversIt() throws {
    let dir = try project(
      intent: """
        changes:
          - add_column:
              table: orders
              column: {name: placed_at, type: timestamptz, nullable: false, default: "now()"}
          - create_index: {table: orders, name: orders_placed_idx, columns: [placed_at], where: "amount > 0"}
          - rename_column: {table: orders, from: title, to: summary}
        """)
    defer { try? FileManager.default.removeItem(at: dir) }
    let result = try runPGPhase(["plan", "intents", "--schema", "schema.sql", "--out", "plans"], in: dir)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("plans/schema.sql\n"), "\(result.stdout)")
    let path = dir.appendingPathComponent("plans/schema.sql")
    let written = try String(contentsOf: path, encoding: .utf8)
    #expect(written.hasPrefix("-- "), "\(written)")
    // The type as the server prints it; the renamed column last (a new column replaced it).
    #expect(
      written.contains(
        """
        CREATE TABLE public.orders (
            id bigint NOT NULL,
            amount integer DEFAULT 0 NOT NULL,
            placed_at timestamp with time zone DEFAULT now() NOT NULL,
            summary character varying(200)
        );
        COMMENT ON COLUMN public.orders.summary IS 'Shown on the invoice';
        """), "\(written)")
    #expect(
      written.contains("CREATE INDEX orders_placed_idx ON public.orders USING btree (placed_at) WHERE amount > 0;"),
      "\(written)")
    // Nothing staged is left, and a second run writes nothing.
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("plans").path).sorted() == [
        "20270101_a", "schema.sql",
      ])
    let again = try runPGPhase(["plan", "intents", "--schema", "schema.sql", "--out", "plans"], in: dir)
    #expect(again.stdout.contains("plans/schema.sql (unchanged)"), "\(again.stdout)")

    try (written + "-- edited\n").write(to: path, atomically: true, encoding: .utf8)
    let check = try runPGPhase(["plan", "intents", "--schema", "schema.sql", "--out", "plans", "--check"], in: dir)
    #expect(check.status == 1, "\(check.stdout)\(check.stderr)")
    #expect(check.stdout.contains("stale: plans/schema.sql"), "\(check.stdout)")
    #expect(check.stdout.contains("-- edited"), "\(check.stdout)")
    try FileManager.default.removeItem(at: path)
    let missing = try runPGPhase(["plan", "intents", "--schema", "schema.sql", "--out", "plans", "--check"], in: dir)
    #expect(missing.status == 1 && missing.stdout.contains("missing: plans/schema.sql"), "\(missing.stdout)")

    // Without a schema: not written, and a file already there is kept and said to be.
    let plain = try project(intent: "changes:\n  - create_table: {table: t, columns: [{name: id, type: int}]}\n")
    defer { try? FileManager.default.removeItem(at: plain) }
    try FileManager.default.createDirectory(at: plain.appendingPathComponent("plans"), withIntermediateDirectories: true)
    try "-- mine\n".write(to: plain.appendingPathComponent("plans/schema.sql"), atomically: true, encoding: .utf8)
    let kept = try runPGPhase(["plan", "intents", "--out", "plans"], in: plain)
    #expect(kept.status == 0, "\(kept.stderr)")
    #expect(kept.stderr.contains("plans/schema.sql: warning: left as it was"), "\(kept.stderr)")
    #expect(try String(contentsOf: plain.appendingPathComponent("plans/schema.sql"), encoding: .utf8) == "-- mine\n")
  }

  /// plan never writes the schema after the intents over the schema they start from.
  @Test func theStartingSchemaIsNeverOverwritten() throws {
    let dir = try project(intent: "changes:\n  - create_table: {table: t, columns: [{name: id, type: int}]}\n")
    defer { try? FileManager.default.removeItem(at: dir) }
    let result = try runPGPhase(["plan", "intents", "--schema", "schema.sql", "--out", "."], in: dir)
    #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
    #expect(result.stderr.contains("where plan writes the schema after the intents"), "\(result.stderr)")
    #expect(try String(contentsOf: dir.appendingPathComponent("schema.sql"), encoding: .utf8) == Self.schema)
  }

  @Test func theSchemaGivesTheTypeAndComment() throws {
    let dir = try project(intent: "changes:\n  - rename_column: {table: orders, from: title, to: summary}\n")
    defer { try? FileManager.default.removeItem(at: dir) }
    let result = try runPGPhase(["plan", "intents", "--schema", "schema.sql", "--out", "plans"], in: dir)
    #expect(result.status == 0, "\(result.stderr)")
    let expand = try String(contentsOf: dir.appendingPathComponent("plans/20270101_a/expand.sql"), encoding: .utf8)
    #expect(expand.contains("ALTER TABLE orders ADD COLUMN summary character varying(200);"))
    #expect(expand.contains("COMMENT ON COLUMN orders.summary IS 'Shown on the invoice';"))
    let check = try runPGPhase(["plan", "intents", "--schema", "schema.sql", "--out", "plans", "--check"], in: dir)
    #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
  }

  /// `schema:` in .pgphase.yaml is relative to the config file; --schema overrides it.
  @Test func theConfigNamesTheSchemaRelativeToItself() throws {
    let dir = try project(intent: "changes:\n  - rename_column: {table: orders, from: title, to: summary}\n")
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("db"), withIntermediateDirectories: true)
    try FileManager.default.moveItem(
      at: dir.appendingPathComponent("schema.sql"), to: dir.appendingPathComponent("db/schema.sql"))
    try "schema: schema.sql\n".write(to: dir.appendingPathComponent("db/pgphase.yaml"), atomically: true, encoding: .utf8)
    let result = try runPGPhase(["plan", "intents", "--config", "db/pgphase.yaml", "--out", "plans"], in: dir)
    #expect(result.status == 0, "\(result.stderr)")
    let expand = try String(contentsOf: dir.appendingPathComponent("plans/20270101_a/expand.sql"), encoding: .utf8)
    #expect(expand.contains("ADD COLUMN summary character varying(200)"))
    // In the current folder's .pgphase.yaml, a file that is not there is an error at the setting.
    try "rules: {disable: []}\nschema: missing.sql\n".write(
      to: dir.appendingPathComponent(".pgphase.yaml"), atomically: true, encoding: .utf8)
    let missing = try runPGPhase(["plan", "intents", "--out", "plans2"], in: dir)
    #expect(missing.status == 2)
    #expect(missing.stderr.contains(".pgphase.yaml:2:9: error: no such schema file: missing.sql"), "\(missing.stderr)")
    // --schema wins over the config.
    let flag = try runPGPhase(["plan", "intents", "--schema", "db/schema.sql", "--out", "plans2"], in: dir)
    #expect(flag.status == 0, "\(flag.stderr)")
    // A misspelt key next to it is found too.
    try "schemas: db/schema.sql\n".write(to: dir.appendingPathComponent(".pgphase.yaml"), atomically: true, encoding: .utf8)
    let typo = try runPGPhase(["plan", "intents", "--out", "plans3"], in: dir)
    #expect(typo.status == 2 && typo.stderr.contains("did you mean `schema`?"), "\(typo.stderr)")
  }

  @Test func aSchemaFileThatDoesNotReadStopsWithItsLocatedErrors() throws {
    let dir = try project(
      intent: "changes:\n  - drop_index: {name: i}\n", schema: "CREATE TABLE t (id int);\nCREATE TABLE u (id int,);\n")
    defer { try? FileManager.default.removeItem(at: dir) }
    let result = try runPGPhase(["plan", "intents", "--schema", "schema.sql", "--out", "plans"], in: dir)
    #expect(result.status == 2)
    #expect(result.stderr.contains("schema.sql:2:"), "\(result.stderr)")
    #expect(result.stderr.contains("nothing was planned or written"))
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("plans").path))
    let missing = try runPGPhase(["plan", "intents", "--schema", "nope.sql", "--out", "plans"], in: dir)
    #expect(missing.status == 2 && missing.stderr.contains("nope.sql: error: no such schema file: nope.sql"), "\(missing.stderr)")
  }
}

/// The promise of issue 16 item 3 on a real server: a rename_column planned from `schema dump` of
/// the live database names no type, runs through contract, keeps the data and the comment.
@Suite(.serialized) struct PlanFromLiveSchemaTests {
  @Test(.enabled(if: TestServer.shouldRun))
  func renameColumnPlannedFromTheLiveSchemaKeepsTheComment() throws {
    try TestServer.require()
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE orders (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          title varchar(200),
          amount integer NOT NULL DEFAULT 0
        );
        COMMENT ON COLUMN orders.title IS 'Shown on the invoice; it''s public';
        INSERT INTO orders (title, amount) SELECT 'order ' || g, g FROM generate_series(1, 500) AS g;
        INSERT INTO orders (title) VALUES (NULL);
        """)
      let dir = try makeTemporaryDirectory()
      defer { try? FileManager.default.removeItem(at: dir) }
      let dump = try runPGPhase(["schema", "dump", "--dsn", db.conninfo, "--out", "schema.sql"], in: dir)
      #expect(dump.status == 0, "\(dump.stderr)")
      try FileManager.default.createDirectory(at: dir.appendingPathComponent("intents"), withIntermediateDirectories: true)
      try """
      changes:
        - rename_column: {table: orders, from: title, to: summary}
        - rename_column: {table: orders, from: amount, to: total}

      """.write(to: dir.appendingPathComponent("intents/20270101_rename.yaml"), atomically: true, encoding: .utf8)
      let plan = try runPGPhase(["plan", "intents", "--schema", "schema.sql", "--out", "plans"], in: dir)
      #expect(plan.status == 0, "\(plan.stderr)")
      let run = try runPGPhase(["advance", "--to", "contract", "--dsn", db.conninfo, "plans"], in: dir)
      #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
      let columns = try db.connection.execute(
        """
        SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull::text AS not_null,
               coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS "default", coalesce(col_description(a.attrelid, a.attnum), '') AS comment
        FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = 'orders'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
        """
      ).rows.map { [$0["name"]!, $0["type"]!, $0["not_null"]!, $0["default"]!, $0["comment"]!] }
      #expect(
        columns == [
          ["id", "bigint", "true", "", ""],
          ["summary", "character varying(200)", "false", "", "Shown on the invoice; it's public"],
          ["total", "integer", "true", "0", ""],
        ])
      let copied = try db.connection.execute(
        "SELECT count(*) FILTER (WHERE summary = 'order ' || id AND total = id) AS same, count(*) AS rows FROM orders"
      ).rows[0]
      #expect(copied["same"] == "500" && copied["rows"] == "501")
      let verify = try runPGPhase(["verify", "--dsn", db.conninfo], in: dir)
      #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }
  }
}
