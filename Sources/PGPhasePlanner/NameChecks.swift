import PGPhaseModel
import PGPhaseSQL

/// The names a change uses and creates, checked where the change runs: against what earlier
/// changes dropped, and, when planning from a schema, against the schema as the earlier changes
/// leave it. An unknown name is an error at the YAML node that names it, with the closest name
/// the schema has; a name created twice is an error too.
extension IntentPlanner {
  /// Whether `table` exists where this change runs; a located error when it does not.
  /// `path` is the field that names it.
  @discardableResult
  mutating func useTable(_ table: QualifiedName, path: String = "table") -> Bool {
    if let d = model.use(SchemaModel.tableKey(table), at: change.location(of: path)) {
      diagnostics.append(d)
      return false
    }
    guard model.complete, model.table(table) == nil else { return true }
    let name = SchemaModel.resolve(table)
    if let kind = model.schema.relationKind(name) {
      error("`\(table.name)` is a \(kind.rawValue), not a table", at: path, object: name.description)
      return false
    }
    let sameSchema = model.schema.tables.keys.filter { $0.schema == name.schema }.map(\.name)
    var near = Suggest.closest(to: name.name, in: sameSchema)
    if near == nil {
      // A misspelt schema: suggest the qualified name.
      near = Suggest.closest(to: name.description, in: model.schema.tables.keys.map(\.description))
    }
    error(
      "table `\(name)` is not in the schema, and no earlier change creates it", at: path, object: name.description,
      hint: near.map { "did you mean `\($0)`?" } ?? "check the name, or create the table in an earlier change")
    return false
  }

  /// Whether `column` of `table` exists where this change runs (the table too); a located error
  /// when either does not.
  @discardableResult
  mutating func useColumn(_ table: QualifiedName, _ column: String, path: String = "column", tablePath: String = "table")
    -> Bool
  {
    guard useTable(table, path: tablePath) else { return false }
    usedColumns.insert(SchemaSnapshot.ColumnPath(table: SchemaModel.resolve(table), column: column))
    if let d = model.use(SchemaModel.columnKey(table, column), at: change.location(of: path)) {
      diagnostics.append(d)
      return false
    }
    guard model.complete, let t = model.table(table), t.column(column) == nil else { return true }
    error(
      "table `\(t.name)` has no column `\(column)`", at: path, object: "\(t.name).\(SQL.quoteIdentifier(column))",
      hint: Self.didYouMean(column, in: t.columns.map(\.name)) ?? "its columns: \(t.columns.map(\.name).joined(separator: ", "))")
    return false
  }

  /// The columns `expression` names (outside subqueries), as `useColumn` uses them. With
  /// `checked` (a CHECK's or an index's expression, where every name is a column of the table)
  /// an unknown one is a located error; otherwise (a backfill's value, which may name a function's
  /// argument or an outer query) they are only recorded.
  mutating func useExpression(_ table: QualifiedName, _ expression: String, path: String, checked: Bool) {
    guard let names = ColumnRename.columnReferences(inExpression: expression) else { return }
    for name in names {
      if checked {
        useColumn(table, name, path: path)
      } else if model.table(table)?.column(name) != nil || !model.complete {
        usedColumns.insert(SchemaSnapshot.ColumnPath(table: SchemaModel.resolve(table), column: name))
      }
    }
  }

  /// `useColumn` for each column of a list field (`columns: [a, b]`), each located at its item.
  @discardableResult
  mutating func useColumns(_ table: QualifiedName, _ columns: [String], path: String, tablePath: String = "table") -> Bool {
    guard useTable(table, path: tablePath) else { return false }
    var ok = true
    for (i, c) in columns.enumerated() where !useColumn(table, c, path: "\(path)[\(i)]", tablePath: tablePath) { ok = false }
    return ok
  }

  /// Whether the constraint `name` of `table` exists where this change runs.
  mutating func useConstraint(_ table: QualifiedName, _ name: String, path: String = "name") {
    guard useTable(table) else { return }
    if let d = model.use(SchemaModel.constraintKey(table, name), at: change.location(of: path)) {
      diagnostics.append(d)
      return
    }
    guard model.complete, let t = model.table(table), !t.constraints.contains(name) else { return }
    if t.columns.contains(where: { $0.notNull?.name == name }) { return }
    error(
      "table `\(t.name)` has no constraint `\(name)`", at: path, object: "constraint \(SQL.quoteIdentifier(name)) on \(t.name)",
      hint: Self.didYouMean(name, in: t.constraints.keys)
        ?? (t.constraints.isEmpty ? "it has no constraints" : "its constraints: \(t.constraints.keys.joined(separator: ", "))"))
  }

  /// Whether the index `name` exists where this change runs (and is not the index of a constraint,
  /// which DROP INDEX cannot drop).
  mutating func useIndex(_ name: QualifiedName, path: String = "name") {
    if let d = model.use(SchemaModel.indexKey(name), at: change.location(of: path)) {
      diagnostics.append(d)
      return
    }
    guard model.complete else { return }
    let index = SchemaModel.resolve(name)
    if let owner = model.indexOwner(name) {
      if owner.constraint {
        error(
          "index `\(index)` belongs to the constraint `\(index.name)` of `\(owner.relation)`", at: path,
          object: index.description, hint: "use `drop_constraint` (table: \(owner.relation), name: \(index.name))")
      }
      return
    }
    let names = model.indexes.filter { $0.key.schema == index.schema && !$0.value.constraint }.map(\.key.name).sorted()
    error(
      "index `\(index)` is not in the schema, and no earlier change creates it", at: path, object: index.description,
      hint: Self.didYouMean(index.name, in: names) ?? "check the name")
  }

  /// Records that this change creates the object `key`: an error when an earlier change created
  /// it too, or (from a schema) when the schema has it already (`exists`).
  mutating func creating(_ key: String, exists: Bool, path: String, object: String) {
    if let d = model.create(key, origin) {
      diagnostics.append(d)
    } else if model.complete && exists {
      error(
        "\(key) already exists in the schema", at: path, object: object,
        hint: "choose another name, or drop it in an earlier change")
    }
  }

  /// Whether the schema has a relation (table, view, sequence or index: they share one namespace
  /// per schema) called `name`.
  func relationExists(_ name: QualifiedName) -> Bool {
    model.schema.relationKind(SchemaModel.resolve(name)) != nil || model.indexOwner(name) != nil
  }

  /// Whether `table` has a constraint called `name`.
  func constraintExists(_ table: QualifiedName, _ name: String) -> Bool {
    model.table(table)?.constraints.contains(name) ?? false
  }

  static func didYouMean(_ word: String, in candidates: [String]) -> String? {
    Suggest.closest(to: word, in: candidates).map { "did you mean `\($0)`?" }
  }
}
