import PGPhaseModel
import PGPhaseSQL

/// Changes that touch only the catalog and that the old app does not notice: comments, a
/// constraint's name, the replica identity, and alter_column's in-place changes. Each is one
/// short statement in expand (measured by the lock-truth suite: COMMENT ON takes SHARE UPDATE
/// EXCLUSIVE, RENAME CONSTRAINT and REPLICA IDENTITY a brief ACCESS EXCLUSIVE), undone by
/// restoring what the model knows was there before.
extension IntentPlanner {
  // MARK: comments

  mutating func commentTable(_ t: QualifiedName, _ comment: String?) {
    guard useTable(t) else { return }
    let previous = model.table(t).map { Optional.some($0.comment) } ?? nil
    emitComment(
      on: "TABLE \(t.sql)", table: t, slug: ["comment-table", t.name], what: "table \(t.name)", comment, previous: previous)
    model.setTable(t) { $0.comment = comment }
  }

  mutating func commentColumn(_ t: QualifiedName, _ column: String, _ comment: String?) {
    guard useColumn(t, column) else { return }
    let previous = model.column(t, column).map { Optional.some($0.comment) } ?? nil
    emitComment(
      on: "COLUMN \(t.sql).\(SQL.quoteIdentifier(column))", table: t, slug: ["comment-column", column], what: column, comment,
      previous: previous)
    model.setColumn(t, column) { $0.comment = comment }
  }

  /// `previous`: the comment before (nil inside: none), nil when the planner does not know it (then no undo).
  private mutating func emitComment(
    on target: String, table t: QualifiedName, slug: [String], what: String, _ comment: String?, previous: String??
  ) {
    func sql(_ text: String?) -> String { "COMMENT ON \(target) IS \(text.map(SQL.quoteLiteral) ?? "NULL")" }
    emit(
      .expand, slug,
      (comment == nil ? "Remove the comment of \(what)" : "Comment on \(what)")
        + ": catalog only, SHARE UPDATE EXCLUSIVE (reads and writes go on)"
        + (previous == nil ? " (no undo: the previous comment is unknown to the planner)" : ""),
      sql: [sql(comment)], locks: [LockedRelation(t, .shareUpdateExclusive)], cost: .catalogOnly,
      undo: previous.map { Undo(sql: [sql($0)]) }, post: [])
  }

  // MARK: rename_constraint

  mutating func renameConstraint(table t: QualifiedName, from: String, to: String) {
    useConstraint(t, from, path: "from")
    let existing = model.table(t)?.constraints[from]
    creating(
      SchemaModel.constraintKey(t, to), exists: constraintExists(t, to), path: "to",
      object: "constraint \(SQL.quoteIdentifier(to)) on \(SchemaModel.resolve(t))")
    if existing?.hasIndex == true, relationExists(t.sibling(to)) {
      error(
        "renaming \(existing!.kind.words) \(SQL.quoteIdentifier(from)) renames its index too, and \(t.sibling(to)) exists",
        at: "to", object: t.sibling(to).description, hint: "choose another name")
    }
    if from == to { error("`rename_constraint` renames `\(from)` to itself", at: "to") }
    let k = SQL.quoteIdentifier(from)
    let n = SQL.quoteIdentifier(to)
    emitCatalogAlter(
      .expand, ["rename-constraint", from, to],
      "Rename constraint \(from) to \(to)\(existing?.hasIndex == true ? " (and its index)" : ""): catalog only, a brief ACCESS EXCLUSIVE",
      table: t, "RENAME CONSTRAINT \(k) TO \(n)", undo: "ALTER TABLE \(t.sql) RENAME CONSTRAINT \(n) TO \(k)",
      // Existence only (`validated: false`): a rename leaves validation as it was, and the plan is
      // the same with or without a schema.
      post: [.constraintAbsent(t, from), .constraintExists(t, to, validated: false)],
      // A CHECK keeps its expression under the new name: what `schema dump` shows as written.
      writes: existing.flatMap(Self.checkExpression).map { [.check(table: t, name: to, expression: $0)] } ?? [])
    model.drop(SchemaModel.constraintKey(t, from), origin)
    model.renameConstraint(t, from: from, to: to)
  }

  // MARK: set_replica_identity

  mutating func setReplicaIdentity(_ t: QualifiedName, _ identity: ReplicaIdentitySetting) {
    guard useTable(t) else { return }
    let table = model.table(t)
    if case .index(let name) = identity {
      checkReplicaIdentityIndex(t.sibling(name), of: t)
    }
    if case .default = identity, model.complete, let table, table.primaryKey == nil {
      diagnostics.append(
        Diagnostic(
          .warning,
          "`\(t.name)` has no primary key: with replica identity `default`, its UPDATEs and DELETEs cannot be published",
          at: change.location(of: "identity"), object: SchemaModel.resolve(t).description,
          hint: "add a primary key, or use `identity: full` or `index`"))
    }
    let previous = table.map { Self.replicaIdentityClause($0.replicaIdentity) }
    emitCatalogAlter(
      .expand, ["replica-identity", t.name],
      "Set the replica identity of \(t.name) to \(identity.sql): catalog only, a brief ACCESS EXCLUSIVE; what logical replication logs of updated and deleted rows",
      table: t, "REPLICA IDENTITY \(identity.sql)", undo: previous.map { "ALTER TABLE \(t.sql) REPLICA IDENTITY \($0)" },
      post: [])
    model.setTable(t) {
      switch identity {
      case .default: $0.replicaIdentity = .default
      case .full: $0.replicaIdentity = .full
      case .nothing: $0.replicaIdentity = .nothing
      case .index(let name): $0.replicaIdentity = .index(name)
      }
    }
  }

  static func replicaIdentityClause(_ identity: SchemaSnapshot.ReplicaIdentity) -> String {
    switch identity {
    case .default: "DEFAULT"
    case .full: "FULL"
    case .nothing: "NOTHING"
    case .index(let name): "USING INDEX \(SQL.quoteIdentifier(name))"
    }
  }

  /// PostgreSQL takes as replica identity only a unique, non-partial, immediate index of `table`
  /// on NOT NULL columns, without expressions; checked here where the model knows the index.
  private mutating func checkReplicaIdentityIndex(_ index: QualifiedName, of t: QualifiedName) {
    let names = model.indexes.filter { $0.value.relation == SchemaModel.resolve(t) }.map(\.key.name).sorted()
    if model.wasDropped(SchemaModel.indexKey(index)) {
      useIndex(index, path: "index")
      return
    }
    guard model.complete || model.indexOwner(index) != nil else { return }
    guard let owner = model.indexOwner(index), owner.relation == SchemaModel.resolve(t), let table = model.table(t) else {
      error(
        "`\(t.name)` has no index `\(index.name)`", at: "index", object: SchemaModel.resolve(index).description,
        hint: Self.didYouMean(index.name, in: names)
          ?? (names.isEmpty ? "it has no indexes" : "its indexes: \(names.joined(separator: ", "))"))
      return
    }
    let what = "index `\(index.name)`"
    var columns: [String] = []
    if owner.constraint, let k = table.constraints[index.name] {
      guard k.kind != .exclusion, !k.deferrable else {
        error("\(what) is not unique and immediate; a replica identity needs one that is", at: "index")
        return
      }
      columns = k.columns
    } else if let i = table.indexes[index.name] {
      guard i.unique, i.predicate == nil, i.keys.allSatisfy({ $0.column != nil }) else {
        error(
          "\(what) cannot be a replica identity: it must be unique, without WHERE and without expressions", at: "index",
          object: SchemaModel.resolve(index).description)
        return
      }
      columns = i.keys.compactMap(\.column)
    }
    for c in columns where table.column(c)?.nullable ?? false {
      error(
        "\(what) cannot be a replica identity: its column `\(c)` is nullable", at: "index",
        object: SchemaModel.resolve(index).description, hint: "`set_not_null` on `\(c)` in an earlier intent")
    }
  }

  // MARK: alter_column in place

  /// alter_column without a new type, content or name: each field is changed on the column
  /// itself, planned as its own operation is (`set_not_null`, `drop_not_null`, `set_default`,
  /// `comment_column`, `add_check`, `add_unique`), so each is as lock-safe as that one.
  mutating func alterColumnInPlace(_ op: AlterColumn) {
    let t = op.table
    let known = model.column(t, op.column)
    guard op.nullable != nil || op.defaultExpression != nil || op.comment != nil || op.unique || op.check != nil else {
      error(
        "`alter_column` says nothing to change",
        hint:
          "give `type`, `up`/`down`, `new_name`, or what changes in place: `nullable`, `default`, `comment`, `unique`, `check`")
      return
    }
    if let nullable = op.nullable, known.map({ $0.nullable != nullable }) ?? true {
      if nullable {
        dropNotNull(table: t, column: op.column)
      } else {
        setNotNull(table: t, column: op.column, backfill: nil)
      }
    }
    if let value = op.defaultExpression { setDefault(table: t, column: op.column, value: value) }
    if let comment = op.comment { commentColumn(t, op.column, comment) }
    if let check = op.check { addCheck(table: t, name: Self.checkName(t, op.column), expression: check) }
    if op.unique { addUnique(table: t, name: Self.uniqueName(t, op.column), columns: [op.column]) }
  }
}

/// What alter_column gives the new column besides its type, NOT NULL and default: a comment, a
/// UNIQUE and a CHECK constraint, named after the column's final name as a column definition's
/// are (`<table>_<column>_key`, `<table>_<column>_check`).
struct NewColumnConstraints {
  /// The new column's comment: the change's, else the old column's (nil: none).
  var comment: String?
  /// The change gives the comment (or removes it).
  var commentChanged = false
  var unique = false
  var check: String?

  init() {}

  init(_ op: AlterColumn, known: SchemaSnapshot.Column?) {
    comment = op.comment ?? known?.comment
    commentChanged = op.comment != nil
    unique = op.unique
    check = op.check
  }
}

extension IntentPlanner {
  /// Expand: the CHECK on the new column, NOT VALID (enforced on every write from now on, the
  /// sync trigger's included; the copy's rows too); validated after the copy. Its name, when
  /// planned.
  mutating func emitAddedCheck(_ added: NewColumnConstraints, table t: QualifiedName, shadow: String, finalName: String)
    -> String?
  {
    guard let check = added.check else { return nil }
    let name = Self.checkName(t, finalName)
    creatingConstraint(t, name, path: "check")
    // Written against the column's final name; until contract the new column is the shadow.
    guard let expression = shadow == finalName ? check : ColumnRename.expression(check, from: finalName, to: shadow) else {
      error("cannot rewrite the check `\(check)` for the new column `\(shadow)`", at: "check")
      return nil
    }
    let k = SQL.quoteIdentifier(name)
    emitCatalogAlter(
      .expand, ["add-check", name], "Add CHECK \(name) on the new column NOT VALID: enforced on new writes, no scan", table: t,
      "ADD CONSTRAINT \(k) CHECK (\(expression)) NOT VALID", undo: "ALTER TABLE \(t.sql) DROP CONSTRAINT IF EXISTS \(k)",
      post: [.constraintExists(t, name, validated: false)], creates: [.constraint(t, name)])
    return name
  }

  /// Backfill, after the copy: the UNIQUE on the new column, built concurrently and attached
  /// (existing duplicates make the build fail, before anything enforces it). Returns what
  /// contract's drop transaction adds: the index's column takes the final name too.
  mutating func emitAddedUnique(_ added: NewColumnConstraints, table t: QualifiedName, shadow: String, finalName: String)
    -> [String]
  {
    guard added.unique else { return [] }
    let name = Self.uniqueName(t, finalName)
    creatingConstraint(t, name, path: "unique")
    addUniqueSteps(
      index: CreateIndex(table: t, name: name, keys: [.column(shadow)], unique: true), phase: .backfill, path: "unique",
      recorded: false)
    let index = SchemaSnapshot.Index(name: name, unique: true, keys: [.init(column: shadow)], columns: [shadow])
    return Self.renameIndexColumns(index, as: name, on: t, shadow: shadow, finalName: finalName)
  }

  /// Records the added constraints on the column's final name.
  mutating func addToModel(_ added: NewColumnConstraints, table t: QualifiedName, column: String) {
    if let check = added.check { model.addConstraint(.intentCheck(Self.checkName(t, column), check, columns: [column]), on: t) }
    if added.unique { model.addConstraint(.intentKey(Self.uniqueName(t, column), .unique, [column]), on: t) }
  }
}
