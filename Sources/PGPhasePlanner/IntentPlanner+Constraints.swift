import PGPhaseModel

/// Constraints, indexes, data changes and user SQL: the operations that add no column.
extension IntentPlanner {
  // MARK: constraints and indexes

  mutating func addCheck(table t: QualifiedName, name: String, expression: String) {
    if useTable(t) { useExpression(t, expression, path: "expression", checked: true) }
    creatingConstraint(t, name)
    model.addConstraint(.intentCheck(name, expression, columns: []), on: t)
    let k = SQL.quoteIdentifier(name)
    emitCatalogAlter(
      .expand, ["add-check", name], "Add CHECK \(name) NOT VALID: enforced on new writes, no scan", table: t,
      "ADD CONSTRAINT \(k) CHECK (\(expression)) NOT VALID", undo: "ALTER TABLE \(t.sql) DROP CONSTRAINT IF EXISTS \(k)",
      post: [.constraintExists(t, name, validated: false)], creates: [.constraint(t, name)],
      writes: [.check(table: t, name: name, expression: expression)])
    emitValidate(.backfill, table: t, constraint: name, slug: ["validate", name])
  }

  mutating func addForeignKey(_ op: AddForeignKey) {
    let t = op.table
    useColumns(t, op.columns, path: "columns")
    if useTable(op.references.table, path: "references.table") {
      useColumns(op.references.table, op.references.columns, path: "references.columns", tablePath: "references.table")
    }
    creatingConstraint(t, op.name)
    model.addConstraint(
      .intentForeignKey(
        op.name, op.columns, .init(table: op.references.table, columns: op.references.columns), onDelete: op.onDelete,
        onUpdate: op.onUpdate), on: t)
    let k = SQL.quoteIdentifier(op.name)
    var clause =
      "ADD CONSTRAINT \(k) FOREIGN KEY (\(op.columns.map(SQL.quoteIdentifier).joined(separator: ", "))) REFERENCES \(op.references.table.sql) (\(op.references.columns.map(SQL.quoteIdentifier).joined(separator: ", ")))"
    if let a = op.onDelete { clause += " ON DELETE \(a.sql)" }
    if let a = op.onUpdate { clause += " ON UPDATE \(a.sql)" }
    emit(
      .expand, ["add-foreign-key", op.name],
      "Add FOREIGN KEY \(op.name) NOT VALID: enforced on new writes, no scan of either table",
      sql: ["ALTER TABLE \(t.sql) \(clause) NOT VALID"],
      locks: [LockedRelation(t, .shareRowExclusive), LockedRelation(op.references.table, .shareRowExclusive)], cost: .catalogOnly,
      undo: Undo(sql: ["ALTER TABLE \(t.sql) DROP CONSTRAINT IF EXISTS \(k)"]),
      post: [.constraintExists(t, op.name, validated: false)], creates: [.constraint(t, op.name)])
    emitValidate(.backfill, table: t, constraint: op.name, slug: ["validate", op.name], referenced: op.references.table)
  }

  mutating func addUnique(table t: QualifiedName, name: String, columns: [String]) {
    useColumns(t, columns, path: "columns")
    creatingConstraint(t, name)
    addUniqueSteps(index: CreateIndex(table: t, name: name, keys: columns.map { .column($0) }, unique: true), phase: .expand)
  }

  /// A unique constraint without a write-blocking build: CREATE UNIQUE INDEX CONCURRENTLY, then
  /// ADD CONSTRAINT … UNIQUE USING INDEX, which only takes a brief catalog lock.
  /// `path`: the field that names the constraint; `recorded: false` leaves the model to the
  /// caller (alter_column records it on the column's final name).
  mutating func addUniqueSteps(index: CreateIndex, phase: Phase, path: String = "name", recorded: Bool = true) {
    let t = index.table
    let name = t.sibling(index.name)
    creating(SchemaModel.indexKey(name), exists: relationExists(name), path: path, object: name.description)
    var columns: [String] = []
    for case .column(let c) in index.keys { columns.append(c) }
    if recorded { model.addConstraint(.intentKey(index.name, .unique, columns), on: t) }
    emitCreateIndex(
      phase, index: index, slug: ["create-unique-index", index.name],
      summary: "Build unique index \(index.name) concurrently: outside a transaction, without blocking writes")
    let k = SQL.quoteIdentifier(index.name)
    emitCatalogAlter(
      phase, ["add-unique", index.name], "Attach the index as UNIQUE constraint \(index.name): catalog only",
      table: t, "ADD CONSTRAINT \(k) UNIQUE USING INDEX \(k)",
      undo: "ALTER TABLE \(t.sql) DROP CONSTRAINT IF EXISTS \(k)", post: [.constraintExists(t, index.name, validated: true)],
      creates: [.constraint(t, index.name)])
  }

  mutating func dropConstraint(table t: QualifiedName, name: String) {
    useConstraint(t, name)
    emitCatalogAlter(
      .contract, ["drop-constraint", name], "Drop constraint \(name) once no app version relies on it (irreversible)",
      table: t, "DROP CONSTRAINT \(SQL.quoteIdentifier(name))", undo: nil, post: [.constraintAbsent(t, name)])
    model.drop(SchemaModel.constraintKey(t, name), origin)
    model.dropConstraint(t, name)
  }

  mutating func createIndex(_ op: CreateIndex) {
    if useTable(op.table) {
      for (i, key) in op.keys.enumerated() {
        switch key {
        case .column(let c): useColumn(op.table, c, path: "columns[\(i)]")
        case .expression(let e): useExpression(op.table, e, path: "columns[\(i)]", checked: true)
        }
      }
      useColumns(op.table, op.include, path: "include")
      if let predicate = op.predicate { useExpression(op.table, predicate, path: "where", checked: true) }
    }
    let name = op.table.sibling(op.name)
    creating(SchemaModel.indexKey(name), exists: relationExists(name), path: "name", object: name.description)
    model.addIndex(op)
    emitCreateIndex(
      .expand, index: op, slug: ["create-index", op.name],
      summary:
        "Build index \(op.name) concurrently: outside a transaction, without blocking writes; the executor checks it is valid")
  }

  mutating func dropIndex(_ name: QualifiedName) {
    useIndex(name)
    emit(
      .contract, ["drop-index", name.name],
      "Drop index \(name.name) concurrently: outside a transaction, without blocking reads or writes",
      sql: ["DROP INDEX CONCURRENTLY \(name.sql)"], action: .dropIndex(name),
      locks: [LockedRelation(name, .shareUpdateExclusive)],
      cost: .catalogOnly, undo: nil, post: [.indexAbsent(name)])
    model.drop(SchemaModel.indexKey(name), origin)
    model.dropIndex(name)
  }

  /// Records that this change adds the constraint `name` to `table` (the `name` field).
  mutating func creatingConstraint(_ table: QualifiedName, _ name: String, path: String = "name") {
    creating(
      SchemaModel.constraintKey(table, name), exists: constraintExists(table, name), path: path,
      object: "constraint \(SQL.quoteIdentifier(name)) on \(SchemaModel.resolve(table))")
  }

  // MARK: data and raw SQL

  mutating func backfill(_ op: Backfill) {
    if useTable(op.table) {
      for a in op.assignments {
        useColumn(op.table, a.column, path: "set.\(a.column)")
        useExpression(op.table, a.expression, path: "set.\(a.column)", checked: false)
      }
      if let w = op.predicate { useExpression(op.table, w, path: "where", checked: false) }
    }
    let differs = op.assignments.map { "\(SQL.quoteIdentifier($0.column)) IS DISTINCT FROM (\($0.expression))" }
    var pending = differs.count == 1 ? differs[0] : "(" + differs.joined(separator: " OR ") + ")"
    if let w = op.predicate { pending = "(\(w)) AND \(pending)" }
    let deterministic = !op.assignments.contains { Expressions.isVolatile($0.expression) }
    emitBatchedUpdate(
      .backfill, ["backfill", op.table.name] + op.assignments.map(\.column),
      "Update \(op.table.name) in small batches, each its own short transaction; only rows that still differ are touched",
      table: op.table, assignments: op.assignments, pending: pending, checkable: deterministic)
  }

  mutating func rawSQL(_ op: RawSQL) {
    emit(
      op.phase, ["sql"], "User SQL (escape hatch): locks and cost are not analysed by the planner; `pgphase lint` checks it",
      sql: [op.up], action: Self.userSQLAction(op), locks: [], cost: .unknown,
      undo: op.down.map { Undo(sql: [$0], transactional: op.transactional) }, post: [.unchecked])
    // With a starting schema the model is what PLANS/schema.sql shows: it learns what the DDL
    // makes, and says what it could not read rather than leaving it out silently.
    guard model.complete else { return }
    for problem in model.applySQL(op.up) {
      let line = problem.location.map { " (line \($0.line) of `up`)" } ?? ""
      diagnostics.append(
        Diagnostic(
          .warning, "the schema after the intents (PLANS/schema.sql) may be incomplete: \(problem.message)\(line)",
          at: change.location(of: "up"),
          hint: "the planner reads a `sql` change's DDL as a schema file is read (docs/schema.md, \"Reading SQL files\")"))
    }
  }

  /// What a `sql` change's step is. Outside a transaction, one statement that builds, rebuilds or
  /// drops an index concurrently is run as such (watched, and its leftovers repaired); anything
  /// else runs as written, without the short lock_timeout when it uses CONCURRENTLY.
  static func userSQLAction(_ op: RawSQL) -> StepAction {
    guard !op.transactional else { return .sql(transactional: true, concurrently: false) }
    switch StatementShape(parsing: op.up) {
    case .reindexIndexConcurrently(let index): return .rebuildIndex(index)
    case .dropIndexConcurrently(let index): return .dropIndex(index)
    case .createIndexConcurrently: return .sql(transactional: false, concurrently: true)
    case .validateConstraint: return .sql(transactional: false, concurrently: false)
    case .other(let concurrently): return .sql(transactional: false, concurrently: concurrently)
    }
  }
}
