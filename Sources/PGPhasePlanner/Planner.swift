public import PGPhaseModel

/// Compiles intents into phased plans. Pure and deterministic: the same intents always give
/// byte-identical plans, and nothing is read or written.
public enum Planner {
  /// The lock_timeout a plan gets when its intent sets none.
  public static let defaultLockTimeout = "2s"

  /// Plans every intent in id order, so a later intent may use what an earlier one creates.
  /// Returns no plans when any diagnostic is an error: a partial plan set is never useful.
  ///
  /// - Parameter schema: the schema the intents start from (`plan --schema`, read by the caller).
  ///   With it every table, column, index and constraint an intent names must exist where the
  ///   intent runs (in the schema, or made by an earlier change), and what a change needs to know
  ///   of an existing column (type, NOT NULL, default, comment) comes from it. Without it only
  ///   what intents create is known.
  public static func plan(_ intents: [Intent], schema: SchemaSnapshot? = nil) -> (plans: [Plan], diagnostics: [Diagnostic]) {
    let outcome = planning(intents, schema: schema)
    return (outcome.plans, outcome.diagnostics)
  }

  /// What planning gave: the plans, the diagnostics, and the schema after them.
  public struct Outcome: Sendable {
    /// Empty when any diagnostic is an error.
    public var plans: [Plan]
    public var diagnostics: [Diagnostic]
    /// The schema every change of every intent, through contract, leaves: the starting schema
    /// with the changes applied (objects intents create as the intents write them, types as
    /// `format_type` prints them), with what `sql` changes' DDL makes (a warning says what could
    /// not be read). Without a starting schema it holds only what intents create, and what they
    /// change of that; `sql` changes are not looked into then.
    public var schema: SchemaSnapshot
  }

  /// `plan(_:schema:)`, with the schema the intents leave (what `plans/schema.sql` renders).
  public static func planning(_ intents: [Intent], schema: SchemaSnapshot? = nil) -> Outcome {
    var model = SchemaModel(schema: schema)
    var plans: [Plan] = []
    var diagnostics: [Diagnostic] = []
    for intent in intents.sorted(by: { $0.id < $1.id }) {
      // `consume`: the planner holds the only reference, so its changes do not copy the whole
      // model (all earlier intents' objects) once per intent.
      model.beginIntent()
      var planner = IntentPlanner(intent: intent, model: consume model)
      planner.planAll()
      model = planner.model
      diagnostics += planner.diagnostics
      plans.append(planner.makePlan())
    }
    return Outcome(plans: diagnostics.hasErrors ? [] : plans, diagnostics: diagnostics, schema: model.schema)
  }
}

/// A step before its id is assigned (ids number steps within a phase).
struct DraftStep {
  var phase: Phase
  var slug: String
  var step: Step
}

/// Plans one intent, change by change, appending steps to the three phases.
struct IntentPlanner {
  let intent: Intent
  var model: SchemaModel
  var diagnostics: [Diagnostic] = []
  private var drafts: [DraftStep] = []
  /// The rename_table step of this intent that renamed a table (by its new name), and the
  /// table's name before the intent.
  private var renameSteps: [SchemaModel.TableKey: (draft: Int, before: QualifiedName)] = [:]
  private var changeIndex = 0
  private(set) var change: Change!
  /// The columns this intent's changes name: the plan's `uses`.
  var usedColumns: Set<SchemaSnapshot.ColumnPath> = []

  init(intent: Intent, model: SchemaModel) {
    self.intent = intent
    self.model = model
  }

  var origin: SchemaModel.Origin { .init(intent: intent.id, location: change.location) }

  /// Plans the changes in file order, except that renames of tables run first (see `TableRenames`).
  mutating func planAll() {
    let renames = TableRenames(intent.changes)
    for rename in renames.first {
      changeIndex = rename.index + 1
      change = intent.changes[rename.index]
      planChange(.renameTable(from: rename.from, to: rename.to))
    }
    let hoisted = Set(renames.first.map(\.index))
    for (i, change) in intent.changes.enumerated() where !hoisted.contains(i) {
      changeIndex = i + 1
      self.change = change
      planChange(renames.resolve(change.operation))
    }
  }

  func makePlan() -> Plan {
    var phases: [PhasePlan] = []
    for phase in Phase.allCases {
      var steps: [Step] = []
      for draft in drafts where draft.phase == phase {
        var step = draft.step
        let number = steps.count + 1
        step.id = "\(phase.rawValue)/\(number < 10 ? "0" : "")\(number)-\(draft.slug)"
        steps.append(step)
      }
      phases.append(PhasePlan(phase: phase, steps: steps))
    }
    var plan = Plan(
      intent: intent.id, description: intent.description, source: intent.file,
      lockTimeout: intent.settings.lockTimeout ?? Planner.defaultLockTimeout,
      backfillBatchSize: intent.settings.backfillBatchSize, phases: phases)
    plan.uses = usedColumns.isEmpty ? nil : usedColumns.sorted()
    // What the drift guard checks: the touched tables the schema had before this intent, as
    // they were then (with those no step locks by name, such as an index's table). None without a starting schema (nothing is known of the tables).
    if model.complete {
      let touched = plan.touchedRelations(defaultSchema: SchemaModel.defaultSchema).union(model.changedThisIntent)
      let assumed = touched.sorted().compactMap { model.assumed($0) }
      plan.assumes = assumed.isEmpty ? nil : assumed
    }
    return plan
  }

  // MARK: - Emitting

  /// An error at the field `path` of the current change (the change itself when nil), about
  /// `object` when it names one.
  mutating func error(_ message: String, at path: String? = nil, object: String? = nil, hint: String? = nil) {
    diagnostics.append(
      Diagnostic(.error, message, at: path.map { change.location(of: $0) } ?? change.location, object: object, hint: hint))
  }

  mutating func report(_ diagnostic: Diagnostic?) {
    if let diagnostic { diagnostics.append(diagnostic) }
  }

  /// Appends a step of the current change. `action` says what the step is (the executor runs it by
  /// that, not by its SQL); most steps are DDL in one transaction. `creates` lists what the step
  /// brings into existence: pgphase owns exactly that (and undoes only that).
  mutating func emit(
    _ phase: Phase, _ slug: [String], _ summary: String, sql: [String], action: StepAction = .transaction,
    locks: [LockedRelation], cost: CostClass, undo: Undo?, post: [Postcondition], pre: [Precondition] = [],
    creates: [CreatedObject] = [], writes: [WrittenExpression] = []
  ) {
    let step = Step(
      id: "", phase: phase, change: changeIndex, location: change.location, operation: change.operation.name,
      summary: summary, sql: sql, action: action, locks: locks, cost: cost, undo: undo, postconditions: post,
      preconditions: pre, creates: creates, writes: writes)
    drafts.append(DraftStep(phase: phase, slug: Names.slug(slug), step: step))
  }

  /// Records that the step just emitted renamed `from` to `to` (leaving a view under `from`).
  mutating func noteRename(from: QualifiedName, to: QualifiedName) {
    renameSteps[SchemaModel.TableKey(to)] = renameSteps[SchemaModel.TableKey(from)] ?? (drafts.count - 1, from)
  }

  /// Adds preconditions to the step that renamed `table` in this intent (they are written against
  /// the name it had before, `pre`'s argument), so they are checked before that step changes
  /// anything; false when no step of this intent renamed `table`.
  mutating func requireBeforeRename(of table: QualifiedName, _ pre: (QualifiedName) -> [Precondition]) -> Bool {
    guard let (index, before) = renameSteps[SchemaModel.TableKey(table)] else { return false }
    drafts[index].step.preconditions += pre(before)
    return true
  }

  /// One ALTER TABLE statement that takes ACCESS EXCLUSIVE briefly and touches only the catalog.
  mutating func emitCatalogAlter(
    _ phase: Phase, _ slug: [String], _ summary: String, table: QualifiedName, _ clause: String, undo: String?,
    post: [Postcondition], pre: [Precondition] = [], extraLocks: [LockedRelation] = [], creates: [CreatedObject] = [],
    writes: [WrittenExpression] = []
  ) {
    emit(
      phase, slug, summary, sql: ["ALTER TABLE \(table.sql) \(clause)"],
      locks: [LockedRelation(table, .accessExclusive)] + extraLocks, cost: .catalogOnly,
      undo: undo.map { Undo(sql: [$0]) }, post: post, pre: pre, creates: creates, writes: writes)
  }

  /// `references`: tables a foreign key on an assigned column points to. Each updated row's key
  /// is checked there (`FOR KEY SHARE`), which takes ROW SHARE on them (measured by the
  /// lock-truth suite).
  mutating func emitBatchedUpdate(
    _ phase: Phase, _ slug: [String], _ summary: String, table: QualifiedName, assignments: [Assignment], pending: String,
    checkable: Bool = true, bypassTrigger: String? = nil, references: [QualifiedName] = []
  ) {
    let set = assignments.map { "\(SQL.quoteIdentifier($0.column)) = (\($0.expression))" }.joined(separator: ", ")
    emit(
      phase, slug, summary, sql: ["UPDATE \(table.sql) SET \(set) WHERE \(pending)"],
      action: .backfill(BackfillSpec(table: table, assignments: assignments, pending: pending, bypassTrigger: bypassTrigger)),
      locks: [LockedRelation(table, .rowExclusive)] + references.map { LockedRelation($0, .rowShare) },
      cost: .scanNoWriteBlock, undo: nil,
      post: checkable ? [.noRowsMatch(table, pending)] : [.unchecked])
  }

  /// The CHECK (c IS NOT NULL) that stands in for NOT NULL until it is validated.
  /// Not `<table>_<column>_not_null`: PostgreSQL 18 gives that name to the NOT NULL constraint
  /// SET NOT NULL creates, and with the CHECK still holding it would name it `..._not_null1`.
  static func notNullCheckName(_ table: QualifiedName, _ column: String) -> String {
    Names.fit("\(table.name)_\(column)_not_null_check")
  }

  /// CHECK (c IS NOT NULL) NOT VALID: enforced on new rows at once, existing rows are not scanned.
  /// `why` says what keeps new rows non-null meanwhile.
  mutating func emitNotNullCheck(_ phase: Phase, table: QualifiedName, column: String, why: String) {
    let k = SQL.quoteIdentifier(Self.notNullCheckName(table, column))
    emitCatalogAlter(
      phase, ["add-not-null-check", column], "Add CHECK (\(column) IS NOT NULL) NOT VALID: \(why)", table: table,
      "ADD CONSTRAINT \(k) CHECK (\(SQL.quoteIdentifier(column)) IS NOT NULL) NOT VALID",
      undo: "ALTER TABLE \(table.sql) DROP CONSTRAINT IF EXISTS \(k)",
      post: [.constraintExists(table, Self.notNullCheckName(table, column), validated: false)],
      creates: [.constraint(table, Self.notNullCheckName(table, column))])
  }

  /// SET NOT NULL once `check` is validated (PG 12+ trusts it and skips the scan), then drop the
  /// now redundant check. `undoable` is false in contract, which is never undone.
  mutating func emitSetNotNull(
    _ phase: Phase, table: QualifiedName, column: String, check: String, note: String = "", undoable: Bool = true
  ) {
    let c = SQL.quoteIdentifier(column)
    emitCatalogAlter(
      phase, ["set-not-null", column], "SET NOT NULL on \(column): the validated check lets PostgreSQL skip the scan\(note)",
      table: table, "ALTER COLUMN \(c) SET NOT NULL",
      undo: undoable ? "ALTER TABLE \(table.sql) ALTER COLUMN \(c) DROP NOT NULL" : nil,
      post: [.columnExists(table, column, type: nil, nullable: false)])
    emitCatalogAlter(
      phase, ["drop-not-null-check", column], "Drop the CHECK, now redundant with NOT NULL", table: table,
      "DROP CONSTRAINT \(SQL.quoteIdentifier(check))", undo: nil, post: [.constraintAbsent(table, check)])
  }

  mutating func emitValidate(
    _ phase: Phase, table: QualifiedName, constraint: String, slug: [String], referenced: QualifiedName? = nil
  ) {
    var locks = [LockedRelation(table, .shareUpdateExclusive)]
    if let referenced { locks.append(LockedRelation(referenced, .rowShare)) }
    emit(
      phase, slug, "VALIDATE CONSTRAINT \(constraint): scans existing rows without blocking reads or writes",
      sql: ["ALTER TABLE \(table.sql) VALIDATE CONSTRAINT \(SQL.quoteIdentifier(constraint))"],
      action: .validateConstraint(table: table, name: constraint), locks: locks, cost: .scanNoWriteBlock, undo: nil,
      post: [.constraintExists(table, constraint, validated: true)])
  }

  mutating func emitCreateIndex(_ phase: Phase, index: CreateIndex, slug: [String], summary: String) {
    let name = index.table.sibling(index.name)
    let build = IndexBuild(
      index: name, table: index.table, unique: index.unique,
      definition: IndexBuild.definition(
        method: index.method, keys: index.keySQL, include: index.include, with: index.storageParameters.map(\.sql),
        predicate: index.predicate))
    emit(
      phase, slug, summary, sql: [build.createSQL(concurrently: true)], action: .buildIndex(build),
      locks: [LockedRelation(index.table, .shareUpdateExclusive)], cost: .scanNoWriteBlock,
      undo: Undo(sql: ["DROP INDEX CONCURRENTLY IF EXISTS \(name.sql)"], transactional: false),
      post: [.indexExists(name, on: index.table, unique: index.unique)], creates: [.index(name, on: index.table)],
      writes: Self.writtenExpressions(of: index))
  }

  /// An index's expressions as the intent wrote them, when it has any (a key or a predicate).
  static func writtenExpressions(of index: CreateIndex) -> [WrittenExpression] {
    let keys: [String?] = index.keys.map {
      if case .expression(let e) = $0 { return e }
      return nil
    }
    guard index.predicate != nil || keys.contains(where: { $0 != nil }) else { return [] }
    return [.index(index.table.sibling(index.name), on: index.table, keys: keys, predicate: index.predicate)]
  }

  /// A BEFORE trigger that fills `column` from `expression` (evaluated on the row being written)
  /// whenever a write leaves it NULL: the old app, which does not know the column, keeps working
  /// while NOT NULL is enforced, and so does any UPDATE (of any column, by either app or another
  /// change's backfill) of a row the backfill has not reached yet.
  /// Returns the trigger's name, for the backfill that does the same work (`bypassTrigger`).
  @discardableResult
  mutating func emitFillTrigger(table: QualifiedName, column: String, expression: String) -> String {
    let base = Names.fit("pgphase_fill_\(table.name)_\(column)_\(NameHash.hex("\(intent.id)|\(table.sql)|\(column)|fill"))")
    let function = table.sibling(base)
    let c = SQL.quoteIdentifier(column)
    let body = """
      CREATE FUNCTION \(function.sql)() RETURNS trigger LANGUAGE plpgsql AS $pgphase$
      DECLARE
        _pgphase_value \(table.sql).\(c)%TYPE;
      BEGIN
        IF NEW.\(c) IS NULL THEN
          SELECT (\(expression)) INTO _pgphase_value FROM (SELECT NEW.*) AS _pgphase_row;
          NEW.\(c) := _pgphase_value;
        END IF;
        RETURN NEW;
      END
      $pgphase$
      """
    emitTrigger(
      table: table, function: function, body: body, events: "INSERT OR UPDATE", slug: ["fill-trigger", column],
      summary:
        "Trigger that fills \(column) from `\(expression)` when a write leaves it NULL (old-app inserts, and updates of rows not yet backfilled, keep working)"
    )
    return function.name
  }

  enum SyncValue {
    case column(String)
    case expression(String)
  }

  /// A BEFORE trigger that keeps `old` and `new` in step for writes through either name: `up`
  /// maps old to new (evaluated on the row), `down` maps new back to old. It only assigns to
  /// NEW, so it can never recurse. A write already consistent with up(old) (as the batched copy
  /// is) leaves the old column untouched.
  ///
  /// Every row a statement writes leaves it in step, whichever columns the statement names: an
  /// UPDATE of other columns (by either app, or by another change's backfill) brings a row the
  /// copy has not reached yet to new = up(old), exactly as the copy would, so the NOT NULL check
  /// on `new`, enforced on every updated row, never sees it half done.
  /// Returns the trigger's name, for the batched copy (`bypassTrigger`).
  @discardableResult
  mutating func emitSyncTrigger(
    table: QualifiedName, old: String, new: String, finalName: String, up: SyncValue, down: SyncValue, kind: String
  ) -> String {
    let base = Names.fit("pgphase_sync_\(table.name)_\(old)_\(NameHash.hex("\(intent.id)|\(table.sql)|\(old)|\(new)|sync"))")
    let function = table.sibling(base)
    let o = SQL.quoteIdentifier(old)
    let n = SQL.quoteIdentifier(new)
    func compute(_ value: SyncValue, into variable: String, source: String) -> String {
      switch value {
      case .column(let name): return "\(variable) := NEW.\(SQL.quoteIdentifier(name));"
      case .expression(let e): return "SELECT (\(e)) INTO \(variable) FROM (\(source)) AS _pgphase_row;"
      }
    }
    let upSource = "SELECT NEW.*"
    let downSource = "SELECT NEW.\(n) AS \(SQL.quoteIdentifier(finalName))"
    let body = """
      CREATE FUNCTION \(function.sql)() RETURNS trigger LANGUAGE plpgsql AS $pgphase$
      DECLARE
        _pgphase_up \(table.sql).\(n)%TYPE;
        _pgphase_down \(table.sql).\(o)%TYPE;
      BEGIN
        \(compute(up, into: "_pgphase_up", source: upSource))
        IF TG_OP = 'INSERT' THEN
          IF NEW.\(n) IS NULL THEN
            NEW.\(n) := _pgphase_up;
          ELSIF NEW.\(n) IS DISTINCT FROM _pgphase_up THEN
            \(compute(down, into: "_pgphase_down", source: downSource))
            NEW.\(o) := _pgphase_down;
          END IF;
        ELSIF NEW.\(o) IS DISTINCT FROM OLD.\(o) THEN
          NEW.\(n) := _pgphase_up;
        ELSIF NEW.\(n) IS DISTINCT FROM OLD.\(n) THEN
          IF NEW.\(n) IS DISTINCT FROM _pgphase_up THEN
            \(compute(down, into: "_pgphase_down", source: downSource))
            NEW.\(o) := _pgphase_down;
          END IF;
        ELSIF NEW.\(n) IS DISTINCT FROM _pgphase_up THEN
          -- Neither name written, and the copy has not reached this row yet: do its work now.
          NEW.\(n) := _pgphase_up;
        END IF;
        RETURN NEW;
      END
      $pgphase$
      """
    emitTrigger(
      table: table, function: function, body: body, events: "INSERT OR UPDATE", slug: ["sync-trigger", old, new],
      summary: "Trigger that keeps \(old) and \(new) in sync both ways, so old and new app can both write (\(kind))")
    return function.name
  }

  private mutating func emitTrigger(
    table: QualifiedName, function: QualifiedName, body: String, events: String, slug: [String], summary: String
  ) {
    let trigger = SQL.quoteIdentifier(function.name)
    emit(
      .expand, slug, summary,
      sql: [
        body,
        "CREATE TRIGGER \(trigger) BEFORE \(events) ON \(table.sql) FOR EACH ROW"
          + " WHEN (current_setting('\(Self.bypassSetting)', true) IS DISTINCT FROM \(SQL.quoteLiteral(function.name)))"
          + " EXECUTE FUNCTION \(function.sql)()",
      ],
      locks: [LockedRelation(table, .shareRowExclusive)], cost: .catalogOnly,
      undo: Undo(sql: ["DROP TRIGGER IF EXISTS \(trigger) ON \(table.sql)", "DROP FUNCTION IF EXISTS \(function.sql)()"]),
      post: [.functionExists(function), .triggerExists(table, function.name)],
      creates: [.function(function), .trigger(table, function.name)])
    triggersToDrop.append((table, function))
  }

  /// The setting a backfill session sets to a trigger's name to skip that trigger (see
  /// `BackfillSpec.bypassTrigger`).
  static let bypassSetting = "pgphase.bypass_trigger"

  /// Triggers this change created, dropped again in contract.
  var triggersToDrop: [(QualifiedName, QualifiedName)] = []

  /// The statements that remove this change's triggers (used inside a contract transaction).
  mutating func takeTriggerDrops() -> (sql: [String], post: [Postcondition]) {
    defer { triggersToDrop.removeAll() }
    var sql: [String] = []
    var post: [Postcondition] = []
    for (table, function) in triggersToDrop {
      sql.append("DROP TRIGGER IF EXISTS \(SQL.quoteIdentifier(function.name)) ON \(table.sql)")
      sql.append("DROP FUNCTION IF EXISTS \(function.sql)()")
      post += [.triggerAbsent(table, function.name), .functionAbsent(function)]
    }
    return (sql, post)
  }
}
