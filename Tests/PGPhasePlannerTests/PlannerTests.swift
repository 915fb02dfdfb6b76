import PGPhaseModel
import PGPhasePlanner
import Testing

@Suite struct OperationPhaseSplitTests {
  @Test func createTableIsOneExpandTransaction() throws {
    let plan = planChanges(
      """
        - create_table:
            table: incident_updates
            columns:
              - {name: id, type: bigint, identity: always, primary_key: true}
              - {name: incident_id, type: bigint, nullable: false, references: {table: incidents, column: id, on_delete: cascade}}
              - {name: body, type: text, nullable: false, comment: "what happened"}
      """)
    #expect(plan.shape == [.expand: 1, .backfill: 0, .contract: 0])
    let step = plan.steps(in: .expand)[0]
    #expect(step.transactional)
    #expect(step.sql[0].hasPrefix("CREATE TABLE public.incident_updates ("))
    #expect(step.sql[0].contains("REFERENCES public.incidents (id) ON DELETE CASCADE"))
    #expect(step.sql[1] == "COMMENT ON COLUMN public.incident_updates.body IS 'what happened'")
    #expect(step.locks.contains(LockedRelation(QualifiedName(schema: "public", "incidents"), .shareRowExclusive)))
    #expect(step.undo == Undo(sql: ["DROP TABLE IF EXISTS public.incident_updates"]))
    #expect(step.postconditions.contains(.tableExists(QualifiedName(schema: "public", "incident_updates"))))
    #expect(
      step.postconditions.contains(
        .columnExists(QualifiedName(schema: "public", "incident_updates"), "id", type: "bigint", nullable: false)))
  }

  @Test func dropTableOnlyInContract() {
    let plan = planChanges("  - drop_table: {table: legacy}\n")
    #expect(plan.shape == [.expand: 0, .backfill: 0, .contract: 1])
    #expect(plan.steps(in: .contract)[0].undo == nil)
  }

  @Test func renameTableLeavesAViewUnderTheOldNameUntilContract() {
    let plan = planChanges("  - rename_table: {from: check_results, to: check_runs}\n")
    #expect(plan.shape == [.expand: 1, .backfill: 0, .contract: 1])
    let expand = plan.steps(in: .expand)[0]
    #expect(expand.transactional)
    #expect(
      expand.sql == [
        "ALTER TABLE public.check_results RENAME TO check_runs",
        "CREATE VIEW public.check_results AS SELECT * FROM public.check_runs",
      ])
    #expect(plan.sql(.contract) == ["DROP VIEW public.check_results"])
  }

  /// Issue 13, finding 4. Other changes to a renamed table act on the table, wherever they stand
  /// in the file and by either name: the rename runs first (its view shows the old app only the
  /// columns it knows), every other step locks, writes and checks the renamed table (so the
  /// backfill walks the table, not the view, and `verify` finds what the postconditions name),
  /// the view goes first in contract (it reads the column rename_column drops), and what
  /// rename_column replaces is checked before the rename, against the old name.
  @Test func changesToARenamedTableActOnTheTable() throws {
    let others = """
        - add_column:
            table: TABLE
            column: {name: c, type: int, nullable: false}
            backfill: "a * 2"
        - rename_column: {table: TABLE, from: note, to: remark, type: text}
        - create_index: {table: TABLE, name: t2_c_idx, columns: [c]}
        - add_foreign_key: {table: child, name: child_t_fkey, columns: [t_id], references: {table: TABLE, columns: [id]}}

      """
    let rename = "  - rename_table: {from: t, to: t2}\n"
    let plans = [
      planChanges(rename + others.replacingOccurrences(of: "TABLE", with: "t2")),
      planChanges(rename + others.replacingOccurrences(of: "TABLE", with: "t")),
      planChanges(others.replacingOccurrences(of: "TABLE", with: "t") + rename),
    ]
    for plan in plans.dropFirst() {
      #expect(plan.allSteps.map(\.sql) == plans[0].allSteps.map(\.sql))
    }
    let old = QualifiedName(schema: "public", "t")
    let new = QualifiedName(schema: "public", "t2")
    for plan in plans {
      let first = try #require(plan.steps(in: .expand).first)
      #expect(first.operation == "rename_table")
      #expect(first.preconditions == [.columnReplaceable(old, "note", nullable: true, default: nil)])
      let contractFirst = try #require(plan.steps(in: .contract).first)
      #expect(contractFirst.sql == ["DROP VIEW public.t"])
      for step in plan.allSteps where step.operation != "rename_table" {
        #expect(!step.preconditions.contains { $0.table == old }, "\(step.id)")
        let tables =
          step.locks.map(\.relation) + step.postconditions.compactMap(\.table) + (step.backfill.map { [$0.table] } ?? [])
        #expect(!tables.contains(old), "\(step.id) acts on the view: \(step.sql)")
        #expect(tables.contains(new) || step.operation == "add_foreign_key", "\(step.id): \(tables)")
      }
      #expect(plan.steps(in: .backfill).compactMap(\.backfill).allSatisfy { $0.table == new })
      #expect(plan.sql(.expand).contains { $0.contains("REFERENCES public.t2 (id)") })
    }
  }

  @Test func constantDefaultIsOneCatalogOnlyStep() {
    let plan = planChanges(
      """
        - add_column: {table: incidents, column: {name: severity, type: text, default: "'minor'", nullable: false}}
      """)
    #expect(plan.shape == [.expand: 1, .backfill: 0, .contract: 0])
    let step = plan.steps(in: .expand)[0]
    #expect(step.sql == ["ALTER TABLE public.incidents ADD COLUMN severity text DEFAULT 'minor' NOT NULL"])
    #expect(step.cost == .catalogOnly)
    #expect(step.strongestLock == .accessExclusive)
  }

  @Test(arguments: ["now()", "CURRENT_TIMESTAMP", "'{}'::jsonb", "0", "'x'::varchar(10)"])
  func nonVolatileDefaultsStayCatalogOnly(defaultExpression: String) {
    let plan = planChanges("  - add_column: {table: t, column: {name: c, type: text, default: \"\(defaultExpression)\"}}\n")
    #expect(plan.shape == [.expand: 1, .backfill: 0, .contract: 0])
  }

  /// The default covers inserts; a fill trigger covers updates of rows the backfill has not
  /// reached yet (the NOT NULL check holds every updated row to it), and the backfill skips it.
  @Test(arguments: ["gen_random_uuid()", "random()", "clock_timestamp()", "my_function()"])
  func volatileDefaultIsSplitIntoDefaultForNewRowsAndABatchedBackfill(defaultExpression: String) throws {
    let plan = planChanges(
      "  - add_column: {table: t, column: {name: c, type: uuid, default: \"\(defaultExpression)\", nullable: false}}\n")
    let expand = plan.sql(.expand)
    #expect(expand[0] == "ALTER TABLE public.t ADD COLUMN c uuid")
    #expect(expand[1] == "ALTER TABLE public.t ALTER COLUMN c SET DEFAULT \(defaultExpression)")
    #expect(expand[2].contains("SELECT (\(defaultExpression)) INTO _pgphase_value FROM (SELECT NEW.*) AS _pgphase_row"))
    #expect(expand[3].hasPrefix("CREATE TRIGGER pgphase_fill_t_c_"))
    #expect(expand[4] == "ALTER TABLE public.t ADD CONSTRAINT t_c_not_null_check CHECK (c IS NOT NULL) NOT VALID")
    let trigger = try #require(plan.steps(in: .expand)[2].postconditions.first { $0.kind == .triggerExists }?.name)
    let backfill = plan.steps(in: .backfill)
    let batch = try #require(backfill.first)
    #expect(!batch.transactional)
    #expect(
      batch.backfill
        == BackfillSpec(
          table: QualifiedName(schema: "public", "t"), assignments: [Assignment(column: "c", expression: defaultExpression)],
          pending: "c IS NULL", bypassTrigger: trigger))
    #expect(plan.sql(.contract).first?.hasPrefix("DROP TRIGGER IF EXISTS \(trigger) ON public.t") == true)
    #expect(
      backfill.map { $0.sql[0] } == [
        "UPDATE public.t SET c = (\(defaultExpression)) WHERE c IS NULL",
        "ALTER TABLE public.t VALIDATE CONSTRAINT t_c_not_null_check",
        "ALTER TABLE public.t ALTER COLUMN c SET NOT NULL",
        "ALTER TABLE public.t DROP CONSTRAINT t_c_not_null_check",
      ])
    #expect(backfill[1].strongestLock == .shareUpdateExclusive)
  }

  @Test func notNullWithBackfillOnlyUsesAFillTriggerForOldAppInserts() {
    let plan = planChanges(
      "  - add_column: {table: t, column: {name: c, type: int, nullable: false}, backfill: \"length(title)\"}\n")
    let expand = plan.steps(in: .expand)
    #expect(expand.map(\.operation) == ["add_column", "add_column", "add_column"])
    #expect(expand[1].sql[0].contains("SELECT (length(title)) INTO _pgphase_value FROM (SELECT NEW.*) AS _pgphase_row"))
    #expect(expand[1].sql[1].hasPrefix("CREATE TRIGGER pgphase_fill_t_c_"))
    #expect(expand[2].sql == ["ALTER TABLE public.t ADD CONSTRAINT t_c_not_null_check CHECK (c IS NOT NULL) NOT VALID"])
    #expect(plan.steps(in: .contract).count == 1)
    #expect(plan.sql(.contract)[0].hasPrefix("DROP TRIGGER IF EXISTS pgphase_fill_t_c_"))
  }

  @Test func setNotNullIsCheckNotValidThenValidateThenSetNotNullThenDropCheck() {
    let plan = planChanges("  - set_not_null: {table: checks, column: name}\n")
    #expect(plan.shape == [.expand: 0, .backfill: 0, .contract: 4])
    #expect(
      plan.sql(.contract) == [
        "ALTER TABLE public.checks ADD CONSTRAINT checks_name_not_null_check CHECK (name IS NOT NULL) NOT VALID",
        "ALTER TABLE public.checks VALIDATE CONSTRAINT checks_name_not_null_check",
        "ALTER TABLE public.checks ALTER COLUMN name SET NOT NULL",
        "ALTER TABLE public.checks DROP CONSTRAINT checks_name_not_null_check",
      ])
  }

  @Test func setNotNullWithBackfillEnforcesBeforeContract() {
    let plan = planChanges("  - set_not_null: {table: checks, column: name, backfill: \"'check-' || id\"}\n")
    #expect(plan.shape == [.expand: 2, .backfill: 4, .contract: 1])
    #expect(
      plan.steps(in: .backfill).map { $0.sql[0] } == [
        "UPDATE public.checks SET name = ('check-' || id) WHERE name IS NULL",
        "ALTER TABLE public.checks VALIDATE CONSTRAINT checks_name_not_null_check",
        "ALTER TABLE public.checks ALTER COLUMN name SET NOT NULL",
        "ALTER TABLE public.checks DROP CONSTRAINT checks_name_not_null_check",
      ])
  }

  @Test func foreignKeyAndCheckAreNotValidThenValidated() {
    let plan = planChanges(
      """
        - add_foreign_key: {table: check_results, name: fk_check, columns: [check_id], references: {table: checks, columns: [id]}, on_delete: cascade}
        - add_check: {table: checks, name: positive_interval, expression: "interval_seconds > 0"}
      """)
    #expect(
      plan.sql(.expand) == [
        "ALTER TABLE public.check_results ADD CONSTRAINT fk_check FOREIGN KEY (check_id) REFERENCES public.checks (id) ON DELETE CASCADE NOT VALID",
        "ALTER TABLE public.checks ADD CONSTRAINT positive_interval CHECK (interval_seconds > 0) NOT VALID",
      ])
    #expect(
      plan.sql(.backfill) == [
        "ALTER TABLE public.check_results VALIDATE CONSTRAINT fk_check",
        "ALTER TABLE public.checks VALIDATE CONSTRAINT positive_interval",
      ])
    #expect(plan.steps(in: .expand)[0].locks.map(\.mode) == [.shareRowExclusive, .shareRowExclusive])
    #expect(
      plan.steps(in: .backfill)[1].postconditions == [
        .constraintExists(QualifiedName(schema: "public", "checks"), "positive_interval", validated: true)
      ])
  }

  @Test func uniqueIsAConcurrentIndexThenUsingIndex() {
    let plan = planChanges("  - add_unique: {table: checks, name: checks_name_key, columns: [name]}\n")
    let steps = plan.steps(in: .expand)
    #expect(
      steps.map(\.sql) == [
        ["CREATE UNIQUE INDEX CONCURRENTLY checks_name_key ON public.checks (name)"],
        ["ALTER TABLE public.checks ADD CONSTRAINT checks_name_key UNIQUE USING INDEX checks_name_key"],
      ])
    #expect(steps.map(\.transactional) == [false, true])
    #expect(steps[0].undo == Undo(sql: ["DROP INDEX CONCURRENTLY IF EXISTS public.checks_name_key"], transactional: false))
  }

  @Test func indexesAreBuiltAndDroppedConcurrentlyOutsideTransactions() {
    let plan = planChanges(
      """
        - create_index: {table: incidents, name: open_idx, columns: [created_at, "lower(title)"], where: "resolved_at IS NULL", using: btree, include: [id]}
        - drop_index: {name: old_idx}
      """)
    let create = plan.steps(in: .expand)[0]
    #expect(
      create.sql == [
        "CREATE INDEX CONCURRENTLY open_idx ON public.incidents USING btree (created_at, (lower(title))) INCLUDE (id) WHERE resolved_at IS NULL"
      ])
    #expect(!create.transactional)
    #expect(create.strongestLock == .shareUpdateExclusive)
    #expect(
      create.postconditions == [
        .indexExists(QualifiedName(schema: "public", "open_idx"), on: QualifiedName(schema: "public", "incidents"), unique: false)
      ])
    let drop = plan.steps(in: .contract)[0]
    #expect(drop.sql == ["DROP INDEX CONCURRENTLY public.old_idx"])
    #expect(!drop.transactional)
  }

  @Test func renameColumnUsesANewColumnSyncTriggerAndBatchedCopy() {
    let plan = planChanges("  - rename_column: {table: checks, from: url, to: endpoint, type: text, nullable: false}\n")
    let expand = plan.steps(in: .expand)
    #expect(expand[0].sql == ["ALTER TABLE public.checks ADD COLUMN endpoint text"])
    #expect(expand[1].sql[1].hasPrefix("CREATE TRIGGER pgphase_sync_checks_url_"))
    #expect(expand[1].sql[0].contains("_pgphase_up := NEW.url;"))
    #expect(
      expand[2].sql == [
        "ALTER TABLE public.checks ADD CONSTRAINT checks_endpoint_not_null_check CHECK (endpoint IS NOT NULL) NOT VALID"
      ])
    #expect(plan.steps(in: .backfill)[0].sql == ["UPDATE public.checks SET endpoint = (url) WHERE endpoint IS DISTINCT FROM url"])
    let contract = plan.sql(.contract)
    #expect(contract.contains("ALTER TABLE public.checks DROP COLUMN url"))
    #expect(contract.contains("ALTER TABLE public.checks ALTER COLUMN endpoint SET NOT NULL"))
    // The trigger goes in the same transaction as the old column: the old column may be NOT NULL,
    // and only the trigger fills it for the new app's inserts.
    let drop = plan.steps(in: .contract).first { $0.sql.contains("ALTER TABLE public.checks DROP COLUMN url") }
    #expect(drop?.sql.first?.hasPrefix("DROP TRIGGER IF EXISTS pgphase_sync_checks_url_") == true)
  }

  @Test func alterColumnWithoutNewNameSwapsTheShadowInAtContract() {
    let plan = planChanges(
      "  - alter_column: {table: incidents, column: impact, type: bigint, up: \"impact::bigint\", down: \"impact::integer\"}\n")
    #expect(plan.sql(.expand)[0] == "ALTER TABLE public.incidents ADD COLUMN _pgphase_new_impact bigint")
    #expect(
      plan.sql(.backfill) == [
        "UPDATE public.incidents SET _pgphase_new_impact = ((impact::bigint)) WHERE _pgphase_new_impact IS DISTINCT FROM (impact::bigint)"
      ])
    let swap = plan.sql(.contract)
    #expect(
      swap.suffix(2) == [
        "ALTER TABLE public.incidents DROP COLUMN impact",
        "ALTER TABLE public.incidents RENAME COLUMN _pgphase_new_impact TO impact",
      ])
    #expect(plan.steps(in: .contract).count == 1)
  }

  @Test func dropsHappenOnlyInContract() throws {
    let plan = planChanges(
      """
        - drop_column: {table: t, column: c}
        - drop_constraint: {table: t, name: k}
        - drop_default: {table: t, column: d}
        - drop_index: {name: i}
        - drop_table: {table: u}
      """)
    for step in plan.steps(in: .expand) + plan.steps(in: .backfill) {
      for sql in step.sql {
        #expect(
          !sql.contains("DROP COLUMN") && !sql.contains("DROP TABLE") && !sql.contains("DROP INDEX")
            && !sql.contains("DROP CONSTRAINT") && !sql.contains("DROP DEFAULT"), "\(sql)")
      }
    }
    #expect(plan.steps(in: .contract).count == 5)
    // Expand makes the doomed column nullable so the new app, which no longer writes it, can insert.
    #expect(plan.sql(.expand) == ["ALTER TABLE public.t ALTER COLUMN c DROP NOT NULL"])
  }

  @Test func defaultsAndNullability() {
    let plan = planChanges(
      """
        - set_default: {table: t, column: c, default: "'x'"}
        - drop_not_null: {table: t, column: d}
      """)
    #expect(
      plan.sql(.expand) == [
        "ALTER TABLE public.t ALTER COLUMN c SET DEFAULT 'x'", "ALTER TABLE public.t ALTER COLUMN d DROP NOT NULL",
      ])
    #expect(plan.steps(in: .expand)[0].postconditions == [.columnDefault(QualifiedName(schema: "public", "t"), "c", "'x'")])
  }

  @Test func backfillOperationIsBatchedAndOnlyTouchesRowsThatDiffer() {
    let plan = planChanges(
      "  - backfill: {table: checks, set: {name: \"trim(name)\", url: \"lower(url)\"}, where: \"id > 10\"}\n")
    let step = plan.steps(in: .backfill)[0]
    #expect(step.backfill?.pending == "(id > 10) AND (name IS DISTINCT FROM (trim(name)) OR url IS DISTINCT FROM (lower(url)))")
    #expect(!step.transactional)
    #expect(step.postconditions == [.noRowsMatch(QualifiedName(schema: "public", "checks"), step.backfill!.pending)])
  }

  @Test func sqlEscapeHatchKeepsItsPhaseAndTransactionality() {
    let plan = planChanges(
      """
        - sql: {phase: backfill, up: "VACUUM ANALYZE checks", transactional: false}
        - sql: {phase: expand, up: "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", down: "DROP FUNCTION f()"}
      """)
    #expect(plan.steps(in: .backfill)[0].transactional == false)
    #expect(plan.steps(in: .backfill)[0].cost == .unknown)
    #expect(plan.steps(in: .expand)[0].undo == Undo(sql: ["DROP FUNCTION f()"]))
  }
}

@Suite struct PlannerRefusalTests {
  @Test func notNullWithoutDefaultOrBackfillIsRefusedAtTheNullableNode() {
    let errors = planErrors(
      """
        - add_column:
            table: incidents
            column:
              name: severity
              type: text
              nullable: false
      """)
    #expect(errors.count == 1)
    #expect(errors[0].message.contains("NOT NULL with no default and no backfill"))
    #expect(errors[0].location == PGPhaseModel.SourceLocation(file: "intents/a0.yaml", line: 8, column: 19))
    #expect(errors[0].hint?.contains("backfill:") == true)
  }

  @Test func identityAndPrimaryKeyOnExistingTablesAreRefused() {
    #expect(
      planErrors("  - add_column: {table: t, column: {name: id2, type: bigint, identity: always}}\n").first?.message.contains(
        "rewrites the whole table") == true)
    #expect(
      planErrors(
        "  - add_column: {table: t, column: {name: id2, type: bigint, primary_key: true, nullable: false, default: 1}}\n"
      ).first?.message.contains("primary key") == true)
  }

  @Test func renameColumnNeedsATypeTheDatabaseAlone_knows() {
    let errors = planErrors("  - rename_column: {table: t, from: a, to: b}\n")
    #expect(errors.first?.message.contains("needs the type of `a`") == true)
  }

  @Test func twoIntentsCreatingTheSameObject() {
    let one = "changes:\n  - create_index: {table: t, name: same_idx, columns: [a]}\n"
    let two = "changes:\n  - create_index: {table: t, name: same_idx, columns: [b]}\n"
    let (plans, diagnostics) = planIntents([one, two])
    #expect(plans.isEmpty)
    #expect(diagnostics.count == 1)
    #expect(diagnostics[0].message == "index same_idx is already created by intent `a0` at intents/a0.yaml:2:5")
    #expect(diagnostics[0].location?.file == "intents/b1.yaml")
  }

  @Test func usingWhatAnEarlierIntentDropped() {
    let one = "changes:\n  - drop_table: {table: legacy}\n"
    let two = "changes:\n  - add_column: {table: legacy, column: {name: c, type: text}}\n"
    let diagnostics = planIntents([one, two]).diagnostics
    #expect(diagnostics.first?.message == "table legacy was dropped by intent `a0` at intents/a0.yaml:2:5")
  }

  @Test func aLaterIntentKnowsWhatAnEarlierOneCreated() {
    let one = "changes:\n  - create_table: {table: t, columns: [{name: a, type: integer, nullable: false, default: '0'}]}\n"
    let two = "changes:\n  - rename_column: {table: t, from: a, to: b}\n"
    let (plans, diagnostics) = planIntents([one, two])
    #expect(diagnostics.isEmpty)
    #expect(plans[1].sql(.expand)[0] == "ALTER TABLE t ADD COLUMN b integer")
    #expect(plans[1].sql(.contract).first == "ALTER TABLE t ALTER COLUMN b SET DEFAULT 0")
  }
}

@Suite struct QuotingAndDeterminismTests {
  @Test func identifiersAreQuotedWhereNeeded() {
    let plan = planChanges(
      """
        - create_table:
            table: "audit.Events"
            columns:
              - {name: order, type: int}
              - {name: "say \\"hi\\"", type: text}
              - {name: café, type: text}
      """, schema: nil)
    #expect(
      plan.sql(.expand)[0] == "CREATE TABLE audit.\"Events\" (\n  \"order\" int,\n  \"say \"\"hi\"\"\" text,\n  \"café\" text\n)")
  }

  @Test func generatedNamesFitPostgresLimit() {
    let long = String(repeating: "x", count: 60)
    let plan = planChanges("  - set_not_null: {table: \(long), column: \(long)}\n")
    var names = 0
    for step in plan.allSteps {
      for p in step.postconditions {
        switch p {
        case .constraintExists(_, let name, _), .constraintAbsent(_, let name), .triggerExists(_, let name),
          .triggerAbsent(_, let name):
          #expect(name.utf8.count <= 63)
          names += 1
        default: break
        }
      }
    }
    #expect(names > 0)
  }

  @Test func planningIsDeterministic() throws {
    let a = try examplePlans().map { try PlanRenderer.files(for: $0) }
    let b = try examplePlans().map { try PlanRenderer.files(for: $0) }
    #expect(a == b)
  }

  @Test func planJSONRoundTrips() throws {
    for plan in try examplePlans() {
      #expect(try PlanRenderer.decode(json: PlanRenderer.json(plan)) == plan)
    }
  }

  @Test func nonTransactionalStepsHoldExactlyOneStatement() throws {
    for step in try examplePlans().flatMap(\.allSteps) where !step.transactional {
      #expect(step.sql.count == 1, "\(step.id)")
    }
  }
}
