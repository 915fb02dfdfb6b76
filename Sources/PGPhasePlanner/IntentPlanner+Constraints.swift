import PGPhaseModel

/// Constraints, indexes, data changes and user SQL: the operations that add no column.
extension IntentPlanner {
  // MARK: constraints and indexes

  mutating func addCheck(table t: QualifiedName, name: String, expression: String) {
    useTable(t)
    report(model.create(SchemaModel.constraintKey(t, name), origin))
    let k = SQL.quoteIdentifier(name)
    emitCatalogAlter(
      .expand, ["add-check", name], "Add CHECK \(name) NOT VALID: enforced on new writes, no scan", table: t,
      "ADD CONSTRAINT \(k) CHECK (\(expression)) NOT VALID", undo: "ALTER TABLE \(t.sql) DROP CONSTRAINT IF EXISTS \(k)",
      post: [.constraintExists(t, name, validated: false)])
    emitValidate(.backfill, table: t, constraint: name, slug: ["validate", name])
  }

  mutating func addForeignKey(_ op: AddForeignKey) {
    let t = op.table
    useTable(t)
    useTable(op.references.table)
    report(model.create(SchemaModel.constraintKey(t, op.name), origin))
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
      post: [.constraintExists(t, op.name, validated: false)])
    emitValidate(.backfill, table: t, constraint: op.name, slug: ["validate", op.name], referenced: op.references.table)
  }

  mutating func addUnique(table t: QualifiedName, name: String, columns: [String]) {
    useTable(t)
    report(model.create(SchemaModel.constraintKey(t, name), origin))
    addUniqueSteps(index: CreateIndex(table: t, name: name, keys: columns.map { .column($0) }, unique: true), phase: .expand)
  }

  /// A unique constraint without a write-blocking build: CREATE UNIQUE INDEX CONCURRENTLY, then
  /// ADD CONSTRAINT … UNIQUE USING INDEX, which only takes a brief catalog lock.
  mutating func addUniqueSteps(index: CreateIndex, phase: Phase) {
    let t = index.table
    report(model.create(SchemaModel.indexKey(t.sibling(index.name)), origin))
    emitCreateIndex(
      phase, index: index, slug: ["create-unique-index", index.name],
      summary: "Build unique index \(index.name) concurrently: outside a transaction, without blocking writes")
    let k = SQL.quoteIdentifier(index.name)
    emitCatalogAlter(
      phase, ["add-unique", index.name], "Attach the index as UNIQUE constraint \(index.name): catalog only",
      table: t, "ADD CONSTRAINT \(k) UNIQUE USING INDEX \(k)",
      undo: "ALTER TABLE \(t.sql) DROP CONSTRAINT IF EXISTS \(k)", post: [.constraintExists(t, index.name, validated: true)])
  }

  mutating func dropConstraint(table t: QualifiedName, name: String) {
    useTable(t)
    if let d = model.use(SchemaModel.constraintKey(t, name), at: change.location(of: "name")) { diagnostics.append(d) }
    emitCatalogAlter(
      .contract, ["drop-constraint", name], "Drop constraint \(name) once no app version relies on it (irreversible)",
      table: t, "DROP CONSTRAINT \(SQL.quoteIdentifier(name))", undo: nil, post: [.constraintAbsent(t, name)])
    model.drop(SchemaModel.constraintKey(t, name), origin)
  }

  mutating func createIndex(_ op: CreateIndex) {
    useTable(op.table)
    report(model.create(SchemaModel.indexKey(op.table.sibling(op.name)), origin))
    emitCreateIndex(
      .expand, index: op, slug: ["create-index", op.name],
      summary:
        "Build index \(op.name) concurrently: outside a transaction, without blocking writes; the executor checks it is valid")
  }

  mutating func dropIndex(_ name: QualifiedName) {
    if let d = model.use(SchemaModel.indexKey(name), at: change.location(of: "name")) { diagnostics.append(d) }
    emit(
      .contract, ["drop-index", name.name],
      "Drop index \(name.name) concurrently: outside a transaction, without blocking reads or writes",
      sql: ["DROP INDEX CONCURRENTLY \(name.sql)"], action: .dropIndex(name),
      locks: [LockedRelation(name, .shareUpdateExclusive)],
      cost: .catalogOnly, undo: nil, post: [.indexAbsent(name)])
    model.drop(SchemaModel.indexKey(name), origin)
  }

  // MARK: data and raw SQL

  mutating func backfill(_ op: Backfill) {
    useTable(op.table)
    for a in op.assignments { useColumn(op.table, a.column, path: "set") }
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
  }

  /// What a `sql` change's step is. Outside a transaction, one statement that builds, rebuilds or
  /// drops an index concurrently is run as such (watched, and its leftovers repaired); anything
  /// else runs as written, without the short lock_timeout when it uses CONCURRENTLY.
  static func userSQLAction(_ op: RawSQL) -> StepAction {
    guard !op.transactional else { return .sql(transactional: true, concurrently: false) }
    switch StatementShape(op.up) {
    case .reindexIndexConcurrently(let index): return .rebuildIndex(index)
    case .dropIndexConcurrently(let index): return .dropIndex(index)
    case .createIndexConcurrently: return .sql(transactional: false, concurrently: true)
    case .validateConstraint: return .sql(transactional: false, concurrently: false)
    case .other(let concurrently): return .sql(transactional: false, concurrently: concurrently)
    }
  }
}
