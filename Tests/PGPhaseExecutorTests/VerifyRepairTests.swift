import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// A plan touching every kind of object verify checks, on table `public.t`.
func driftPlan() throws -> LoadedPlan {
  let t = QualifiedName(schema: "public", "t")
  let steps: [Step] = [
    sqlStep(
      "expand/01-table", ["CREATE TABLE t (id int, a int, b int, c int)"],
      postconditions: [.tableExists(t), .columnExists(t, "c", type: "integer", nullable: true)]),
    indexStep("expand/02-index-a", name: "t_a_idx", columns: "a"),
    sqlStep(
      "expand/03-check-b", ["ALTER TABLE t ADD CONSTRAINT t_b_check CHECK (b >= 0) NOT VALID"],
      postconditions: [.constraintExists(t, "t_b_check", validated: false)]),
    sqlStep(
      "expand/04-validate-b", ["ALTER TABLE t VALIDATE CONSTRAINT t_b_check"],
      postconditions: [.constraintExists(t, "t_b_check", validated: true)]),
    sqlStep(
      "expand/05-trigger",
      [
        "CREATE FUNCTION t_touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
        "CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_touch()",
      ], postconditions: [.triggerExists(t, "t_trg")]),
    sqlStep(
      "expand/06-side-table", ["CREATE TABLE side (x int)"],
      postconditions: [.tableExists(QualifiedName(schema: "public", "side"))]),
    indexStep("expand/07-index-b", name: "t_b_idx", columns: "b"),
  ]
  return try testPlan("t_drift", steps)
}

@Suite("Verify and repair", .serialized)
struct VerifyRepairTests {
  /// After every example plan is applied through contract, verify finds no drift: superseded
  /// postconditions (a column renamed, a NOT VALID check later dropped) are not reported.
  @Test(.enabled(if: TestServer.shouldRun))
  func everyExamplePlanAppliedVerifiesClean() throws {
    try withTestDatabase { db in
      try db.connection.runSQLFile(schemaFile)
      let plans = try LoadedPlan.loadAll(from: plansDir)
      try makeExecutor(db).advance(intents: nil, to: .contract, plans: plans)
      let report = try Verifier.verify(on: db.connection)
      #expect(report.findings == [], "\(report.render())")
      #expect(report.checkedPostconditions > 20)
      #expect(report.isClean)
    }
  }

  /// Drift introduced by hand is found, each located by intent and step: a dropped column, an index
  /// made invalid, a constraint left NOT VALID, a trigger dropped, a done step whose table is gone,
  /// a step left running by a dead runner, and an invalid index pgphase does not own.
  /// Repair fixes what it can (index, constraint, the running step), leaves the foreign index
  /// alone, and a second run does nothing and says so.
  @Test(.enabled(if: TestServer.shouldRun))
  func verifyFindsDriftAndRepairFixesWhatItCanIdempotently() throws {
    _ = try pgphaseBinary()
    try withTestDatabase { db in
      let lp = try driftPlan()
      try makeExecutor(db).apply(phase: .expand, intents: nil, plans: [lp])
      #expect(try Verifier.verify(on: db.connection).isClean)
      let c = db.connection
      try c.executeScript(
        """
        ALTER TABLE t DROP COLUMN c;
        UPDATE pg_index SET indisvalid = false WHERE indexrelid = 't_a_idx'::regclass;
        ALTER TABLE t DROP CONSTRAINT t_b_check;
        ALTER TABLE t ADD CONSTRAINT t_b_check CHECK (b >= 0) NOT VALID;
        DROP TRIGGER t_trg ON t;
        DROP TABLE side;
        DROP INDEX t_b_idx;
        UPDATE pgphase.steps SET state = 'running', backend_pid = 2147483000, finished_at = NULL
          WHERE step_id = 'expand/07-index-b';
        CREATE INDEX foreign_idx ON t (id);
        UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'foreign_idx'::regclass;
        """)
      let report = try Verifier.verify(on: c)
      func finding(_ kind: VerifyReport.Finding.Kind, _ step: String?, _ text: String) -> Bool {
        report.findings.contains { $0.kind == kind && $0.step == step && $0.message.contains(text) }
      }
      #expect(finding(.drift, "expand/01-table", "column public.t.c does not exist"), "\(report.render())")
      #expect(finding(.drift, "expand/02-index-a", "index public.t_a_idx is invalid"), "\(report.render())")
      #expect(finding(.drift, "expand/04-validate-b", "is NOT VALID"), "\(report.render())")
      #expect(finding(.drift, "expand/05-trigger", "trigger t_trg on public.t does not exist"), "\(report.render())")
      #expect(finding(.drift, "expand/06-side-table", "table public.side does not exist"), "\(report.render())")
      #expect(finding(.unresolvedStep, "expand/07-index-b", "left running"), "\(report.render())")
      #expect(finding(.foreignInvalidIndex, nil, "foreign_idx"), "\(report.render())")
      #expect(report.findings.count == 7, "\(report.render())")
      // Repairable: the invalid index, the unvalidated constraint, the running step.
      #expect(
        report.findings.filter(\.repairable).map { $0.step ?? "-" }.sorted()
          == ["expand/02-index-a", "expand/04-validate-b", "expand/07-index-b"], "\(report.findings)")
      #expect(!report.isClean)

      // The CLI: exit 1, text and JSON.
      let text = try runPGPhase(["verify", "--dsn", db.conninfo])
      #expect(text.status == 1, "\(text.stderr)")
      #expect(text.stdout.contains("DRIFT t_drift expand/01-table: column public.t.c does not exist"), "\(text.stdout)")
      #expect(text.stdout.contains("7 problems found"), "\(text.stdout)")
      #expect(text.stdout.contains("`pgphase repair` resolves 3 of them"), "\(text.stdout)")
      let json = try runPGPhase(["verify", "--json", "--dsn", db.conninfo])
      #expect(json.status == 1)
      let decoded = try JSONDecoder().decode(VerifyReport.self, from: Data(json.stdout.utf8))
      #expect(decoded.findings == report.findings)
      let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
      #expect(object?["clean"] as? Bool == false)
      // Structured, not sentences: what kind of problem, about which object, and the check itself.
      let findings = object?["findings"] as? [[String: Any]] ?? []
      let dropped = findings.first { $0["step"] as? String == "expand/01-table" }
      #expect(dropped?["kind"] as? String == "drift")
      #expect(dropped?["problem"] as? String == "missing")
      #expect(dropped?["object"] as? String == "public.t")
      #expect(dropped?["repairable"] as? Bool == false)
      let expected = dropped?["expected"] as? [String: Any]
      #expect(expected?["kind"] as? String == "column_exists" && expected?["column"] as? String == "c", "\(json.stdout)")
      let running = findings.first { $0["step"] as? String == "expand/07-index-b" }
      #expect(running?["state"] as? String == "running" && running?["object"] as? String == "public.t_b_idx")

      // Repair: the index rebuilt, the constraint validated, the running step finished.
      let output = Lines()
      let repaired = try makeExecutor(db, output: output).repair()
      let actions = repaired.actions.map(\.description).joined(separator: "\n")
      #expect(actions.contains("expand/07-index-b: finished: index public.t_b_idx is built and valid"), "\(actions)")
      #expect(actions.contains("expand/02-index-a: rebuilt invalid index public.t_a_idx"), "\(actions)")
      #expect(actions.contains("expand/04-validate-b: validated constraint t_b_check on public.t"), "\(actions)")
      #expect(repaired.actions.count == 3, "\(actions)")
      let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(repaired)) as? [String: Any]
      let rebuilt = (encoded?["actions"] as? [[String: Any]])?.first { $0["kind"] as? String == "rebuilt_index" }
      #expect(rebuilt?["intent"] as? String == "t_drift" && rebuilt?["step"] as? String == "expand/02-index-a")
      #expect(rebuilt?["object"] as? String == "public.t_a_idx")
      #expect(repaired.unresolved.contains { $0.kind == .foreignInvalidIndex && $0.description.contains("foreign_idx") })
      #expect(
        repaired.actions.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.finishedStep, .rebuiltIndex, .validatedConstraint])
      let catalog = Catalog(c)
      #expect(try catalog.indexState(name: QualifiedName(schema: "public", "t_a_idx"))?.isUsable == true)
      #expect(try catalog.indexState(name: QualifiedName(schema: "public", "t_b_idx"))?.isUsable == true)
      #expect(try catalog.constraint("t_b_check", on: QualifiedName(schema: "public", "t"))?.validated == true)
      #expect(try catalog.indexState(name: QualifiedName(schema: "public", "foreign_idx"))?.valid == false)
      let journal = try Journal.steps(intent: "t_drift", on: c)["t_drift"] ?? [:]
      #expect(journal["expand/07-index-b"]?.state == .done)
      // What repair cannot recreate safely is left, and re-verify says so.
      let left = repaired.verify.findings.map { "\($0.kind.rawValue) \($0.step ?? "-")" }.sorted()
      #expect(
        left == ["drift expand/01-table", "drift expand/05-trigger", "drift expand/06-side-table", "foreign_invalid_index -"],
        "\(repaired.render())")

      // Idempotent: the second run changes nothing and says so (CLI, exit 1: drift remains).
      let again = try runPGPhase(["repair", "--dsn", db.conninfo])
      #expect(again.status == 1, "\(again.stderr)")
      #expect(again.stdout.hasPrefix("nothing to repair"), "\(again.stdout)")
      #expect(!again.stdout.split(separator: "\n").contains { $0.hasPrefix("repaired:") }, "\(again.stdout)")
      let third = try makeExecutor(db).repair()
      #expect(third.nothingToDo)
      #expect(third.verify.findings == repaired.verify.findings)
    }
  }

  /// An index of the step's name with another definition (made by hand) is drift; repair does not
  /// drop an index it did not build that way.
  @Test(.enabled(if: TestServer.shouldRun))
  func verifyReportsAnIndexWithAnotherDefinition() throws {
    try withTestDatabase { db in
      try db.connection.execute("CREATE TABLE t (id int, a int, b int)")
      let lp = try testPlan("t_redef", [indexStep(name: "t_a_idx", columns: "a")])
      try makeExecutor(db).apply(phase: .expand, intents: nil, plans: [lp])
      #expect(try Verifier.verify(on: db.connection).isClean)
      try db.connection.executeScript("DROP INDEX t_a_idx; CREATE INDEX t_a_idx ON t (b) WHERE b > 0")
      let report = try Verifier.verify(on: db.connection)
      #expect(report.findings.count == 1, "\(report.render())")
      let message = report.findings.first?.message ?? ""
      #expect(
        message.contains("index public.t_a_idx has definition CREATE INDEX t_a_idx ON public.t USING btree (b) WHERE (b > 0)"))
      #expect(message.contains("but the step built CREATE INDEX t_a_idx ON pg_temp"))
      let repaired = try makeExecutor(db).repair()
      #expect(repaired.nothingToDo)
      #expect(
        try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_a_idx"))?.definition.contains("(b)")
          == true)
    }
  }

  /// Extra objects and wrong types are drift too: a column a done step dropped is back, a column a
  /// done step created has another type. A step superseded by a later one (the column's first type)
  /// is not reported.
  @Test(.enabled(if: TestServer.shouldRun))
  func verifyReportsExtraObjectsAndWrongTypes() throws {
    try withTestDatabase { db in
      let t = QualifiedName(schema: "public", "t")
      let lp = try testPlan(
        "t_extra",
        [
          sqlStep(
            "expand/01-table", ["CREATE TABLE t (id int, legacy text, n int)"],
            postconditions: [.tableExists(t), .columnExists(t, "n", type: "integer", nullable: true)]),
          sqlStep(
            "expand/02-widen", ["ALTER TABLE t ALTER COLUMN n TYPE bigint"],
            postconditions: [.columnExists(t, "n", type: "bigint", nullable: true)]),
          sqlStep("expand/03-drop-legacy", ["ALTER TABLE t DROP COLUMN legacy"], postconditions: [.columnAbsent(t, "legacy")]),
        ])
      try makeExecutor(db).apply(phase: .expand, intents: nil, plans: [lp])
      #expect(try Verifier.verify(on: db.connection).isClean)
      try db.connection.executeScript("ALTER TABLE t ADD COLUMN legacy text; ALTER TABLE t ALTER COLUMN n TYPE numeric")
      let report = try Verifier.verify(on: db.connection)
      let messages = report.findings.map { "\($0.step ?? "-"): \($0.message)" }.sorted()
      #expect(
        messages == [
          "expand/02-widen: column public.t.n has type numeric, expected bigint",
          "expand/03-drop-legacy: column public.t.legacy still exists",
        ], "\(report.render())")
      #expect(!report.findings.contains { $0.repairable })
    }
  }

  /// A later check of a column that says nothing of its default (SET NOT NULL) does not retire an
  /// earlier step's default: a default dropped by hand is still drift.
  @Test(.enabled(if: TestServer.shouldRun))
  func aLaterColumnCheckKeepsAnEarlierDefault() throws {
    try withTestDatabase { db in
      let t = QualifiedName(schema: "public", "t")
      let lp = try testPlan(
        "t_default",
        [
          sqlStep("expand/01-table", ["CREATE TABLE t (id int, status text)"], postconditions: [.tableExists(t)]),
          sqlStep(
            "expand/02-default", ["ALTER TABLE t ALTER COLUMN status SET DEFAULT 'open'"],
            postconditions: [.columnDefault(t, "status", "'open'::text")]),
          sqlStep(
            "expand/03-not-null", ["ALTER TABLE t ALTER COLUMN status SET NOT NULL"],
            postconditions: [.columnExists(t, "status", type: "text", nullable: false)]),
        ])
      try makeExecutor(db).apply(phase: .expand, intents: nil, plans: [lp])
      #expect(try Verifier.verify(on: db.connection).isClean)
      try db.connection.execute("ALTER TABLE t ALTER COLUMN status DROP DEFAULT")
      let report = try Verifier.verify(on: db.connection)
      #expect(report.findings.map(\.step) == ["expand/02-default"], "\(report.render())")
    }
  }

  /// Finishing a failed contract step is contracting: repair honours the contract guard (an app
  /// release that does not know the intent checked in recently) and finishes it only when forced.
  @Test(.enabled(if: TestServer.shouldRun))
  func repairHonoursTheContractGuard() throws {
    try withTestDatabase { db in
      try db.connection.execute("CREATE TABLE t (id int, x int)")
      let t = QualifiedName(schema: "public", "t")
      var step = sqlStep("contract/01-drop-x", ["ALTER TABLE t DROP COLUMN x"], postconditions: [.columnAbsent(t, "x")])
      step.phase = .contract
      let lp = try testPlan("t_contract", lockTimeout: "100ms", [step])
      let holder = try db.connect()
      try holder.execute("BEGIN")
      try holder.execute("LOCK TABLE t IN ACCESS SHARE MODE")
      var options = ExecutorOptions()
      options.retry = RetryPolicy(baseDelay: 0.01, maxDelay: 0.01, maxRetries: 1, deadline: 1)
      #expect(throws: ExecutorError.self) {
        try makeExecutor(db, options: options).apply(phase: .contract, intents: nil, plans: [lp])
      }
      try holder.execute("ROLLBACK")
      try db.connection.execute("INSERT INTO pgphase.checkins (release, host, intents) VALUES ('v1', 'web-1', '{}')")
      let refused = try makeExecutor(db).repair()
      #expect(refused.nothingToDo)
      #expect(
        refused.unresolved.contains {
          $0.kind == .stepNotFinished && $0.description.hasPrefix("t_contract contract/01-drop-x: not finished:")
        }, "\(refused.unresolved)")
      #expect(try Catalog(db.connection).column("x", of: t) != nil)
      #expect(try Journal.steps(intent: "t_contract", on: db.connection)["t_contract"]?["contract/01-drop-x"]?.state == .failed)
      var forced = ExecutorOptions()
      forced.rollout.force = true
      let finished = try makeExecutor(db, options: forced).repair()
      #expect(finished.actions.count == 1, "\(finished.render())")
      #expect(try Catalog(db.connection).column("x", of: t) == nil)
      #expect(try Journal.steps(intent: "t_contract", on: db.connection)["t_contract"]?["contract/01-drop-x"]?.state == .done)
      holder.close()
    }
  }

  /// An invalid `_ccnew` leftover of a REINDEX CONCURRENTLY of an index pgphase built is reported as
  /// pgphase's and dropped by repair; the index itself is left alone.
  @Test(.enabled(if: TestServer.shouldRun))
  func repairDropsReindexLeftoversOfOwnedIndexes() throws {
    try withTestDatabase { db in
      try db.connection.execute("CREATE TABLE t (id int, a int)")
      let lp = try testPlan("t_cc", [indexStep(name: "t_a_idx", columns: "a")])
      try makeExecutor(db).apply(phase: .expand, intents: nil, plans: [lp])
      try db.connection.executeScript(
        """
        CREATE INDEX t_a_idx_ccnew ON t (a);
        UPDATE pg_index SET indisvalid = false WHERE indexrelid = 't_a_idx_ccnew'::regclass;
        """)
      let report = try Verifier.verify(on: db.connection)
      #expect(report.findings.count == 1, "\(report.render())")
      #expect(report.findings.first?.kind == .invalidIndex)
      #expect(report.findings.first?.step == "expand/01-index")
      #expect(report.findings.first?.message.contains("leftover of REINDEX CONCURRENTLY") == true)
      let oid = try db.connection.execute("SELECT 't_a_idx'::regclass::oid::int8").scalarInt()
      let repaired = try makeExecutor(db).repair()
      #expect(
        repaired.actions == [
          .init(
            kind: .droppedLeftover, object: "t_a_idx_ccnew",
            message: "dropped t_a_idx_ccnew, an invalid leftover of REINDEX CONCURRENTLY")
        ])
      #expect(repaired.verify.isClean, "\(repaired.render())")
      #expect(try db.connection.execute("SELECT 't_a_idx'::regclass::oid::int8").scalarInt() == oid)
      #expect(try makeExecutor(db).repair().nothingToDo)
    }
  }

  /// A failed step is finished by repair once its cause is gone; a failed unique build whose
  /// duplicates remain is undone (its undo is safe in expand), so the journal is consistent.
  @Test(.enabled(if: TestServer.shouldRun))
  func repairFinishesOrUndoesFailedSteps() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        "CREATE TABLE t (id int, name text, v int); INSERT INTO t VALUES (1, 'a', 1), (2, 'a', 2)")
      let lp = try testPlan("t_failed", [indexStep(name: "t_name_key", columns: "name", unique: true)])
      #expect(throws: ExecutorError.self) { try makeExecutor(db).apply(phase: .expand, intents: nil, plans: [lp]) }
      let undone = try makeExecutor(db).repair()
      #expect(undone.actions.count == 1)
      #expect(undone.actions.first?.kind == .undidStep)
      #expect(undone.actions.first?.message.contains("undone instead") == true, "\(undone.actions)")
      var journal = try Journal.steps(intent: "t_failed", on: db.connection)["t_failed"] ?? [:]
      #expect(journal["expand/01-index"]?.state == .undone)
      #expect(undone.verify.isClean, "\(undone.render())")
      // Fix the data; apply runs it again (undone steps run again).
      try db.connection.execute("UPDATE t SET name = 'b' WHERE id = 2")
      try makeExecutor(db).apply(phase: .expand, intents: nil, plans: [lp])
      journal = try Journal.steps(intent: "t_failed", on: db.connection)["t_failed"] ?? [:]
      #expect(journal["expand/01-index"]?.state == .done)

      // A transactional step that failed (lock timeout) is run again by repair once the lock is free.
      let t2 = try testPlan(
        "t_lock", lockTimeout: "100ms",
        [
          sqlStep(
            "expand/01-add-col", ["ALTER TABLE t ADD COLUMN w int"],
            postconditions: [.columnExists(QualifiedName(schema: "public", "t"), "w", type: "integer", nullable: true)])
        ])
      let holder = try db.connect()
      try holder.execute("BEGIN")
      try holder.execute("LOCK TABLE t IN ACCESS SHARE MODE")
      var options = ExecutorOptions()
      options.retry = RetryPolicy(baseDelay: 0.01, maxDelay: 0.01, maxRetries: 1, deadline: 1)
      #expect(throws: ExecutorError.self) {
        try makeExecutor(db, options: options).apply(phase: .expand, intents: nil, plans: [t2])
      }
      try holder.execute("ROLLBACK")
      let finished = try makeExecutor(db).repair()
      #expect(
        finished.actions.map(\.description) == [
          "t_lock expand/01-add-col: finished: ran it again (it had failed atomically, so nothing of it was applied)"
        ])
      #expect(finished.verify.isClean, "\(finished.render())")
      #expect(try makeExecutor(db).repair().nothingToDo)
      holder.close()
    }
  }
}
