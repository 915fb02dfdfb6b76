import Foundation
import PGPhaseTestSupport
import Testing

/// The drift guard: a plan made against a schema refuses to start when a table it touches has
/// changed since (nothing changed, exit 1, the difference named); `--force` runs it anyway and
/// journals the override; a plan without a schema is not checked.
@Suite(.enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct DriftGuardTests {
  /// `amount` has nothing a replacement would lose (until carry-over of indexes and constraints
  /// lands, the step's own `column_replaceable` precondition refuses such a column); the table
  /// has a CHECK, a foreign key and indexes on other columns, which the guard compares too.
  static let liveSchema = """
    CREATE TABLE customers (id bigint PRIMARY KEY);
    CREATE TABLE orders (
      id bigint PRIMARY KEY CONSTRAINT orders_id_check CHECK (id > 0),
      customer_id bigint NOT NULL REFERENCES customers (id),
      amount integer NOT NULL DEFAULT 0,
      title character varying(200)
    );
    CREATE INDEX orders_customer_idx ON orders (customer_id) WHERE customer_id IS NOT NULL;
    COMMENT ON COLUMN orders.title IS 'Shown on the invoice';
    INSERT INTO customers VALUES (1);
    INSERT INTO orders VALUES (1, 1, 5, 'first'), (2, 1, 7, 'second');
    """

  /// The operations that replace a column, and so carry over what it has.
  static let intents = [
    "changes:\n  - alter_column: {table: orders, column: amount, type: bigint}\n",
    "changes:\n  - rename_column: {table: orders, from: amount, to: total}\n",
  ]

  /// A project folder: `intents/20270101_change.yaml` planned into `plans/`, with `--schema FILE`
  /// when given.
  func project(_ intent: String, schema: String?) throws -> URL {
    let dir = try makeTemporaryDirectory()
    let intents = dir.appendingPathComponent("intents")
    try FileManager.default.createDirectory(at: intents, withIntermediateDirectories: true)
    try intent.write(to: intents.appendingPathComponent("20270101_change.yaml"), atomically: true, encoding: .utf8)
    var arguments = ["plan", "intents", "--out", "plans"]
    if let schema { arguments += ["--schema", schema] }
    let planned = try runPGPhase(arguments, in: dir)
    #expect(planned.status == 0, "\(planned.stderr)")
    return dir
  }

  /// `schema dump` of the database, and the state of pgphase's journal for the intent.
  func snapshot(_ db: TestDatabase) throws -> String {
    let dump = try runPGPhase(["schema", "dump", "--dsn", db.conninfo])
    #expect(dump.status == 0, "\(dump.stderr)")
    return dump.stdout
  }

  func journaledSteps(_ db: TestDatabase) throws -> Int {
    let exists = try db.connection.execute("SELECT to_regclass('pgphase.steps') IS NOT NULL").scalar == "t"
    guard exists else { return 0 }
    return Int(try db.connection.execute("SELECT count(*) FROM pgphase.steps WHERE intent = '20270101_change'").scalar ?? "")
      ?? -1
  }

  /// Creates `liveSchema` in the database and dumps it (`schema dump`) into `live.sql` of a new
  /// folder, which is returned.
  func dumpLiveSchema(_ db: TestDatabase) throws -> URL {
    try db.connection.executeScript(Self.liveSchema)
    let dir = try makeTemporaryDirectory()
    let dumped = try runPGPhase(["schema", "dump", "--dsn", db.conninfo, "--out", dir.appendingPathComponent("live.sql").path])
    #expect(dumped.status == 0, "\(dumped.stderr)")
    return dir
  }

  func overrides(_ db: TestDatabase) throws -> [String] {
    let exists = try db.connection.execute("SELECT to_regclass('pgphase.events') IS NOT NULL").scalar == "t"
    guard exists else { return [] }
    return try db.connection.execute(
      "SELECT intent || ' ' || phase || ' ' || (detail->>'differences') AS d FROM pgphase.events WHERE kind = 'drift_guard_overridden' ORDER BY id"
    ).rows.compactMap { $0["d"] }
  }

  @Test(arguments: intents)
  func anIndexAddedAfterPlanningRefusesTheIntentAndChangesNothing(intent: String) throws {
    try withTestDatabase { db in
      let dir = try dumpLiveSchema(db)
      defer { try? FileManager.default.removeItem(at: dir) }
      let project = try self.project(intent, schema: dir.appendingPathComponent("live.sql").path)
      defer { try? FileManager.default.removeItem(at: project) }
      let plan = try String(contentsOf: project.appendingPathComponent("plans/20270101_change/plan.json"), encoding: .utf8)
      #expect(plan.contains("\"assumes\""))

      // Someone adds an index on the column after planning.
      try db.connection.execute("CREATE INDEX orders_amount_brin ON orders USING brin (amount)")
      let before = try snapshot(db)
      let refused = try runPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, "plans"], in: project)
      #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
      #expect(refused.stderr.contains("refusing to expand (nothing changed)"), "\(refused.stderr)")
      #expect(
        refused.stderr.contains(
          "public.orders.amount: plan assumed integer NOT NULL DEFAULT 0; live has also index orders_amount_brin"),
        "\(refused.stderr)")
      #expect(
        refused.stderr.contains(
          "index public.orders_amount_brin: plan assumed none; live has CREATE INDEX orders_amount_brin ON public.orders USING brin (amount)"
        ), "\(refused.stderr)")
      #expect(refused.stderr.contains("--force"), "\(refused.stderr)")
      #expect(try snapshot(db) == before)
      #expect(try journaledSteps(db) == 0)
      #expect(try overrides(db).isEmpty)
      // advance refuses the same way.
      let advanced = try runPGPhase(["advance", "--to", "contract", "--dsn", db.conninfo, "plans"], in: project)
      #expect(advanced.status == 1 && advanced.stderr.contains("orders_amount_brin"), "\(advanced.stderr)")
      #expect(try snapshot(db) == before)
      #expect(try journaledSteps(db) == 0)
    }
  }

  /// `--force` runs a drifted plan, says so on stderr, and journals the override in
  /// pgphase.events; once the intent has started, later phases are not checked again (its own
  /// steps changed the table).
  @Test(arguments: intents)
  func forceRunsADriftedPlanAndJournalsTheOverride(intent: String) throws {
    try withTestDatabase { db in
      let dir = try dumpLiveSchema(db)
      defer { try? FileManager.default.removeItem(at: dir) }
      let schemaFile = dir.appendingPathComponent("live.sql").path
      let project = try self.project(intent, schema: schemaFile)
      defer { try? FileManager.default.removeItem(at: project) }
      // Drift on another column of the touched table: a new index, and a changed comment.
      try db.connection.executeScript(
        """
        CREATE INDEX orders_title_idx ON orders (title);
        COMMENT ON COLUMN orders.title IS 'Shown on the receipt';
        """)
      let refused = try runPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, "plans"], in: project)
      #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
      #expect(refused.stderr.contains("public.orders.title: plan assumed character varying(200)"), "\(refused.stderr)")
      #expect(
        refused.stderr.contains("orders_title_idx") && refused.stderr.contains("'Shown on the receipt'"), "\(refused.stderr)")
      #expect(try journaledSteps(db) == 0)

      let forced = try runPGPhase(["advance", "--to", "contract", "--force", "--dsn", db.conninfo, "plans"], in: project)
      #expect(forced.status == 0, "\(forced.stdout)\(forced.stderr)")
      #expect(forced.stderr.contains("warning: --force: running 20270101_change although"), "\(forced.stderr)")
      let events = try overrides(db)
      #expect(events.count == 1, "\(events)")
      #expect(
        events.first?.hasPrefix("20270101_change expand ") == true && events.first?.contains("orders_title_idx") == true,
        "\(events)")
      let status = try runPGPhase(["status", "--dsn", db.conninfo, "plans"], in: project)
      #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
      #expect(try journaledSteps(db) > 0)
      #expect(
        try db.connection.execute("SELECT count(*) FROM pgphase.steps WHERE intent = '20270101_change' AND state <> 'done'")
          .scalar == "0")
    }
  }

  /// No drift: the plan runs through contract, though the schema file spells everything its own
  /// way (`int`, `amount >= 0`, no schema names) and the catalog the server's way.
  @Test(arguments: intents)
  func withoutDriftThePlanRunsThroughContract(intent: String) throws {
    try withTestDatabase { db in
      try db.connection.executeScript(Self.liveSchema)
      let dir = try makeTemporaryDirectory()
      defer { try? FileManager.default.removeItem(at: dir) }
      let handWritten = """
        CREATE TABLE customers (id int8 PRIMARY KEY);
        CREATE TABLE orders (
          id int8 PRIMARY KEY CONSTRAINT orders_id_check CHECK (id > 0),
          customer_id int8 NOT NULL CONSTRAINT orders_customer_id_fkey REFERENCES customers (id),
          amount int NOT NULL DEFAULT 0,
          title varchar(200)
        );
        CREATE INDEX orders_customer_idx ON orders (customer_id) WHERE customer_id IS NOT NULL;
        COMMENT ON COLUMN orders.title IS 'Shown on the invoice';
        """
      let file = dir.appendingPathComponent("hand.sql")
      try handWritten.write(to: file, atomically: true, encoding: .utf8)
      let project = try self.project(intent, schema: file.path)
      defer { try? FileManager.default.removeItem(at: project) }
      for phase in ["expand", "backfill", "contract"] {
        let r = try runPGPhase(["apply", "--phase", phase, "--dsn", db.conninfo, "plans"], in: project)
        #expect(r.status == 0, "\(phase): \(r.stdout)\(r.stderr)")
        #expect(!r.stderr.contains("drift"), "\(phase): \(r.stderr)")
      }
      #expect(try overrides(db).isEmpty)
    }
  }

  /// A plan made without a schema assumes nothing and is not checked; the same intent planned
  /// with one is.
  @Test func aPlanWithoutASchemaIsNotChecked() throws {
    try withTestDatabase { db in
      let dir = try dumpLiveSchema(db)
      defer { try? FileManager.default.removeItem(at: dir) }
      let intent = "changes:\n  - add_column: {table: orders, column: {name: note, type: text}}\n"
      let schemaFile = dir.appendingPathComponent("live.sql").path
      let withSchema = try project(intent, schema: schemaFile)
      let without = try project(intent, schema: nil)
      defer {
        try? FileManager.default.removeItem(at: withSchema)
        try? FileManager.default.removeItem(at: without)
      }
      let plan = try String(contentsOf: without.appendingPathComponent("plans/20270101_change/plan.json"), encoding: .utf8)
      #expect(!plan.contains("assumes"))
      try db.connection.execute("CREATE INDEX orders_amount_brin ON orders USING brin (amount)")
      let checked = try runPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, "plans"], in: withSchema)
      #expect(checked.status == 1 && checked.stderr.contains("orders_amount_brin"), "\(checked.stderr)")
      let unchecked = try runPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, "plans"], in: without)
      #expect(unchecked.status == 0, "\(unchecked.stdout)\(unchecked.stderr)")
      #expect(
        try db.connection.execute("SELECT count(*) FROM information_schema.columns WHERE column_name = 'note'").scalar == "1")
    }
  }

  /// Several intents on one table in one run: a later intent assumes the table as the earlier
  /// ones leave it: types as the server prints them (`character varying(20)` for the intent's
  /// `varchar(20)`), expressions in their words (`'x'`), which the guard puts in the server's
  /// form; while an earlier intent touching the table is not fully applied, the table is not
  /// compared (the plan assumed it after that intent's contract), and the log says so.
  @Test func laterIntentsAssumeWhatEarlierOnesLeave() throws {
    try withTestDatabase { db in
      let dir = try dumpLiveSchema(db)
      defer { try? FileManager.default.removeItem(at: dir) }
      let schemaFile = dir.appendingPathComponent("live.sql").path
      let intents = dir.appendingPathComponent("intents")
      try FileManager.default.createDirectory(at: intents, withIntermediateDirectories: true)
      let files = [
        "20270101_note": "changes:\n  - add_column: {table: orders, column: {name: note, type: varchar(20), default: \"'x'\"}}\n",
        "20270102_amount": "changes:\n  - alter_column: {table: orders, column: amount, type: bigint}\n",
        "20270103_flag": "changes:\n  - add_column: {table: orders, column: {name: flag, type: int}}\n",
      ]
      for (name, text) in files {
        try text.write(to: intents.appendingPathComponent("\(name).yaml"), atomically: true, encoding: .utf8)
      }
      let planned = try runPGPhase(["plan", "intents", "--schema", schemaFile, "--out", "plans"], in: dir)
      #expect(planned.status == 0, "\(planned.stderr)")
      let second = try String(contentsOf: dir.appendingPathComponent("plans/20270102_amount/plan.json"), encoding: .utf8)
      #expect(
        second.contains("\"character varying(20)\""), "the plan assumes the earlier intent's column as the server prints it")
      #expect(second.contains("\"'x'\""), "and its default in its words")
      let run = try runPGPhase(["advance", "--to", "contract", "--dsn", db.conninfo, "plans"], in: dir)
      #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
      #expect(!run.stderr.contains("refusing"), "\(run.stderr)")
      let skipped =
        "drift guard: 20270103_flag: not compared: public.orders (intent 20270102_amount, which changes it too, is not fully applied)"
      let ranBeforeContract =
        (run.stdout.range(of: "20270103_flag expand")?.lowerBound ?? run.stdout.endIndex)
        < (run.stdout.range(of: "20270102_amount contract")?.lowerBound ?? run.stdout.startIndex)
      // The scheduler runs 20270103_flag's expand before 20270102_amount's contract (expand waits
      // only for earlier backfills), so both paths are taken: 02 compared, 03 not.
      #expect(ranBeforeContract, "\(run.stdout)")
      #expect(run.stderr.contains(skipped) == ranBeforeContract, "\(run.stdout)\(run.stderr)")
      #expect(try db.connection.execute("SELECT count(*) FROM pgphase.steps WHERE state <> 'done'").scalar == "0")
      #expect(try overrides(db).isEmpty)
    }
  }

}
