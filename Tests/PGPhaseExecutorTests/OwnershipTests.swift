import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// pgphase owns what it creates, and only that: a user's object that has the name a step needs
/// is never adopted by `repair`, never dropped by `rollback`, and expand refuses before it changes
/// anything.
@Suite("Ownership", .serialized, .enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct OwnershipTests {
  static let widen = """
    schema: public
    changes:
      - alter_column:
          table: items
          column: x
          type: bigint
          up: "x::bigint"
          down: "x::integer"
    """

  /// The reproducer of issue 13, finding 2: `items` already has a column `_pgphase_new_x` (the
  /// user's, with 100 rows of data). Expand of an alter_column on `x` must refuse; repair must not
  /// call the step finished because a column of that name exists; rollback must not drop it.
  @Test func aUsersColumnWithTheShadowNameIsNeverAdoptedNorDropped() throws {
    try withTestDatabase { db in
      let c = db.connection
      try c.executeScript(
        """
        CREATE TABLE items (id bigint PRIMARY KEY, x int, _pgphase_new_x bigint);
        INSERT INTO items SELECT g, g, 1000 + g FROM generate_series(1, 100) g;
        """)
      let lp = try planIntent("20260101_widen_x", Self.widen)
      let executor = makeExecutor(db)
      let error = #expect(throws: ExecutorError.self) { try executor.apply(phase: .expand, intents: nil, plans: [lp]) }
      #expect("\(try #require(error))".contains("_pgphase_new_x"), "\(String(describing: error))")

      let report = try executor.repair()
      #expect(
        !report.actions.contains { $0.kind == .finishedStep && $0.intent == lp.plan.intent }, "\(report.render())")
      #expect(
        try Journal.steps(intent: lp.plan.intent, on: c)[lp.plan.intent]?.values.contains { $0.state == .done } != true,
        "no step of the intent is journaled done")

      _ = try? executor.rollback(intent: lp.plan.intent, plans: [lp])
      #expect(try Catalog(c).column("_pgphase_new_x", of: QualifiedName("items"))?.type == "bigint", "the user's column is there")
      #expect(try c.execute("SELECT count(*) FROM items WHERE _pgphase_new_x = 1000 + id").scalarInt() == 100)
    }
  }

  static let base = """
    CREATE TABLE t (id bigint PRIMARY KEY, x int NOT NULL DEFAULT 0, y int);
    INSERT INTO t SELECT g, g, g FROM generate_series(1, 100) g;
    CREATE FUNCTION user_fn() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
    """

  /// One kind of object the planner creates: an intent that creates one, SQL that makes a user's
  /// object of that name before expand (`before`) or in place of pgphase's after it (`replace`),
  /// and a query that is true while the user's object is intact.
  struct Case: Sendable, CustomStringConvertible {
    var kind: String
    var intent: String
    /// `%name%` is replaced by the name of the object of that kind the plan creates.
    var before: String
    var replace: String
    var intact: String
    var description: String { kind }
  }

  static let alterY = """
    schema: public
    changes:
      - alter_column: {table: t, column: y, type: bigint, up: "y::bigint", down: "y::integer"}
    """

  static let cases: [Case] = [
    Case(
      kind: "column", intent: alterY,
      before: "ALTER TABLE t ADD COLUMN _pgphase_new_y bigint DEFAULT 7",
      replace: "ALTER TABLE t DROP COLUMN _pgphase_new_y; ALTER TABLE t ADD COLUMN _pgphase_new_y bigint DEFAULT 7",
      intact: "SELECT count(*) = 100 FROM t WHERE _pgphase_new_y = 7"),
    Case(
      kind: "constraint", intent: "schema: public\nchanges:\n  - add_check: {table: t, name: t_y_check, expression: \"y > 0\"}",
      before: "ALTER TABLE t ADD CONSTRAINT t_y_check CHECK (y >= -5)",
      replace: "ALTER TABLE t DROP CONSTRAINT t_y_check; ALTER TABLE t ADD CONSTRAINT t_y_check CHECK (y >= -5)",
      intact: "SELECT pg_get_constraintdef(oid) LIKE '%-5%' FROM pg_constraint WHERE conname = 't_y_check'"),
    Case(
      kind: "index", intent: "schema: public\nchanges:\n  - create_index: {table: t, name: t_y_idx, columns: [y]}",
      before: "CREATE INDEX t_y_idx ON t (y); COMMENT ON INDEX t_y_idx IS 'mine'",
      replace: "DROP INDEX t_y_idx; CREATE INDEX t_y_idx ON t (y); COMMENT ON INDEX t_y_idx IS 'mine'",
      intact: "SELECT obj_description('t_y_idx'::regclass, 'pg_class') = 'mine'"),
    Case(
      kind: "trigger", intent: alterY,
      before: "CREATE TRIGGER %name% BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION user_fn()",
      replace: "DROP TRIGGER %name% ON t; CREATE TRIGGER %name% BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION user_fn()",
      intact:
        "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '%name%' AND tgfoid = 'user_fn'::regproc)"),
    Case(
      kind: "function", intent: alterY,
      before: "CREATE FUNCTION %name%() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN OLD; END$$",
      replace:
        "DROP TRIGGER %name% ON t; DROP FUNCTION %name%(); CREATE FUNCTION %name%() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN OLD; END$$",
      intact: "SELECT prosrc LIKE '%RETURN OLD%' FROM pg_proc WHERE proname = '%name%'"),
    Case(
      kind: "view", intent: "schema: public\nchanges:\n  - rename_table: {from: t, to: t2}",
      before: "CREATE TABLE t2 (z int); INSERT INTO t2 VALUES (42)",
      replace: "DROP VIEW t; CREATE VIEW t AS SELECT id, 42 AS mine FROM t2",
      intact:
        "SELECT (SELECT count(*) FROM pg_class WHERE relname IN ('t', 't2')) = 2 AND EXISTS (SELECT 1 FROM pg_attribute WHERE attname IN ('z', 'mine'))"
    ),
    Case(
      kind: "table",
      intent:
        "schema: public\nchanges:\n  - create_table: {table: extra, columns: [{name: id, type: bigint, primary_key: true}]}",
      before: "CREATE TABLE extra (id int, note text); INSERT INTO extra VALUES (1, 'mine')",
      replace: "DROP TABLE extra; CREATE TABLE extra (id int, note text); INSERT INTO extra VALUES (1, 'mine')",
      intact: "SELECT note = 'mine' FROM extra"),
  ]

  /// The name of the object of `kind` the plan creates (for the trigger and function cases).
  static func name(of kind: String, in lp: LoadedPlan) -> String {
    for step in lp.plan.allSteps {
      for o in step.createdObjects where o.kind.rawValue == kind { return o.name }
    }
    return "?"
  }

  /// A database with the base tables and the case's plan; the name of the object of its kind.
  static func prepare(_ kase: Case, _ db: TestDatabase) throws -> (LoadedPlan, String) {
    try db.connection.executeScript(base)
    let lp = try planIntent("20260101_\(kase.kind)", kase.intent)
    return (lp, name(of: kase.kind, in: lp))
  }

  /// The catalog of schema public and the data (`fingerprint`), plus its functions, and the journal.
  static func snapshot(_ c: Connection) throws -> [String] {
    var lines = try fingerprint(c)
    lines += try c.execute(
      "SELECT proname || ' ' || md5(prosrc) FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1"
    ).values.map { $0[0] ?? "" }
    if try c.execute("SELECT to_regclass('pgphase.steps') IS NOT NULL").scalarBool() == true {
      lines += try c.execute("SELECT intent || ' ' || step_id || ' ' || state FROM pgphase.steps ORDER BY 1").values.map {
        $0[0] ?? ""
      }
      lines += try c.execute(
        "SELECT intent || ' ' || label || ' ' || coalesce(oid::text, '-') FROM pgphase.created_objects ORDER BY 1"
      )
      .values.map { $0[0] ?? "" }
    }
    return lines
  }

  /// A user's object of the name a step needs, there before expand: expand refuses before its
  /// first step and changes nothing (catalog, data and journal); with the steps journaled failed
  /// (as an earlier pgphase would have left them), repair does not take the object as the step's
  /// and rollback does not drop it.
  @Test(arguments: cases)
  func aUsersObjectOfANameAStepNeedsIsRefusedNeverAdoptedNeverDropped(_ kase: Case) throws {
    try withTestDatabase { db in
      let c = db.connection
      let (lp, name) = try Self.prepare(kase, db)
      try c.executeScript(kase.before.replacingOccurrences(of: "%name%", with: name))
      let intact = kase.intact.replacingOccurrences(of: "%name%", with: name)
      #expect(try c.execute(intact).scalarBool() == true, "\(kase.kind): the set-up holds")
      // The journal exists (a first run made it), so "unchanged" covers it too.
      try makeExecutor(db).apply(phase: .expand, intents: nil, plans: [try testPlan("t_journal", [])])
      let before = try Self.snapshot(c)

      let executor = makeExecutor(db)
      let error = #expect(throws: ExecutorError.self) { try executor.apply(phase: .expand, intents: nil, plans: [lp]) }
      guard case .refusedBeforeStart(_, "expand", let problems)? = error else {
        Issue.record("\(kase.kind): \(String(describing: error))")
        return
      }
      #expect(problems.contains { $0.kind == .nameTaken }, "\(kase.kind): \(problems)")
      #expect(
        problems.allSatisfy { $0.message.contains("pgphase did not create") || $0.message.contains("already exists") },
        "\(problems)")
      #expect(try Self.snapshot(c) == before, "\(kase.kind): nothing changed")

      // As an earlier pgphase would have left it: the step that creates the object, failed.
      try c.execute(
        "INSERT INTO pgphase.intents (intent, plan_hash, plan) VALUES ($1, $2, $3::jsonb)",
        [lp.plan.intent, lp.hash, lp.canonicalJSON])
      for (i, step) in lp.plan.allSteps.enumerated() where step.createdObjects.contains(where: { $0.kind.rawValue == kase.kind })
      {
        try c.execute(
          """
          INSERT INTO pgphase.steps (intent, step_id, phase, position, statements, state, attempts, error_message)
          VALUES ($1, $2, $3, $4::int, $5::text[], 'failed', 1, 'already exists')
          """, [lp.plan.intent, step.id, step.phase.rawValue, String(i), "{}"])
      }
      let report = try executor.repair()
      #expect(
        !report.actions.contains { $0.intent == lp.plan.intent && $0.kind == .finishedStep }, "\(kase.kind): \(report.render())")
      #expect(
        report.unresolved.contains { $0.intent == lp.plan.intent && $0.message.contains("pgphase did not create") },
        "\(kase.kind): \(report.render())")
      _ = try? executor.rollback(intent: lp.plan.intent, plans: [lp])
      #expect(try c.execute(intact).scalarBool() == true, "\(kase.kind): the user's object is intact")
      #expect(
        try Journal.steps(intent: lp.plan.intent, on: c)[lp.plan.intent]?.values.allSatisfy { $0.state != .done } == true)
    }
  }

  /// pgphase's object replaced by a user's of the same name after expand: rollback refuses before
  /// it undoes anything, naming the object, and nothing changes.
  @Test(arguments: cases)
  func rollbackRefusesWhenAnObjectOfItsNameIsNotPgphases(_ kase: Case) throws {
    try withTestDatabase { db in
      let c = db.connection
      let (lp, name) = try Self.prepare(kase, db)
      let executor = makeExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try c.executeScript(kase.replace.replacingOccurrences(of: "%name%", with: name))
      let before = try Self.snapshot(c)
      let error = #expect(throws: ExecutorError.self) { try executor.rollback(intent: lp.plan.intent, plans: [lp]) }
      guard case .refusedBeforeStart(_, "roll back", let problems)? = error else {
        Issue.record("\(kase.kind): \(String(describing: error))")
        return
      }
      #expect(problems.contains { $0.kind == .notOwned && $0.object.contains(name) }, "\(kase.kind): \(problems)")
      #expect(try Self.snapshot(c) == before, "\(kase.kind): nothing changed")
      #expect(try c.execute(kase.intact.replacingOccurrences(of: "%name%", with: name)).scalarBool() == true)
    }
  }

  /// What pgphase made is undone as before: expand, then rollback, leaves the catalog as it was,
  /// and the journal owns nothing afterwards.
  @Test(arguments: cases)
  func rollbackDropsWhatPgphaseCreated(_ kase: Case) throws {
    try withTestDatabase { db in
      let c = db.connection
      try c.executeScript(Self.base)
      let lp = try planIntent("20260101_\(kase.kind)", kase.intent)
      let before = try fingerprint(c)
      let executor = makeExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      let owned = try c.execute("SELECT count(*) FROM pgphase.created_objects WHERE oid IS NOT NULL").scalarInt() ?? 0
      #expect(owned == lp.plan.steps(in: .expand).flatMap(\.createdObjects).count, "\(kase.kind)")
      try executor.rollback(intent: lp.plan.intent, plans: [lp])
      #expect(try fingerprint(c) == before, "\(kase.kind)")
      #expect(try c.execute("SELECT count(*) FROM pgphase.created_objects").scalarInt() == 0)
    }
  }

  /// Turns the journal back into version 3 (before pgphase recorded what it created), as a
  /// pgphase of that version would have left it.
  static func downgradeJournalToVersion3(_ c: Connection) throws {
    try c.executeScript(
      """
      DROP TABLE pgphase.created_objects;
      ALTER TABLE pgphase.steps DROP COLUMN owns_recorded, DROP COLUMN session_settings;
      DROP FUNCTION pgphase.transfer_journal(regrole);
      COMMENT ON SCHEMA pgphase IS NULL;
      DELETE FROM pgphase.schema_version WHERE version > 3;
      """)
  }

  /// A journal from before ownership was recorded (version 3) is upgraded in place; the steps it
  /// journaled done are trusted by name, as that version did, so an intent expanded then can
  /// still be rolled back; what runs after the upgrade is recorded.
  @Test func stepsJournaledBeforeOwnershipWasRecordedAreTrustedByName() throws {
    try withTestDatabase { db in
      let c = db.connection
      try c.executeScript(Self.base)
      let lp = try planIntent("20260101_column", Self.alterY)
      let before = try fingerprint(c)
      let executor = makeExecutor(db)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      try Self.downgradeJournalToVersion3(c)

      try executor.rollback(intent: lp.plan.intent, plans: [lp])
      #expect(try fingerprint(c) == before, "the expand of the older version is undone")
      #expect(try c.execute("SELECT max(version) FROM pgphase.schema_version").scalarInt() == Journal.currentVersion)
      try executor.apply(phase: .expand, intents: nil, plans: [lp])
      #expect(
        try c.execute("SELECT count(*) FROM pgphase.created_objects WHERE oid IS NOT NULL").scalarInt()
          == lp.plan.steps(in: .expand).flatMap(\.createdObjects).count)
      #expect(try c.execute("SELECT bool_and(owns_recorded) FROM pgphase.steps").scalarBool() == true)
    }
  }
}
