import PGPhaseModel
import PGPhaseSQL

/// What alter_column and rename_column take from the old column to the new one, so that
/// replacing a column loses nothing the schema knows of: its indexes (built concurrently in
/// expand), CHECK and foreign key constraints both ways (NOT VALID, then validated), primary key
/// and unique constraints (a unique index built concurrently, attached in contract with USING
/// INDEX), column triggers, statistics objects and owned sequences. Each takes its original
/// name in contract, in the transaction that drops the old column, so no moment exists where
/// the table lacks one of them.
struct CarryOver {
  /// Contract, before the old column is dropped: what would block or take the drop.
  var beforeDrop: [String] = []
  /// Contract, after the drop (and the new column's rename): keys attached, names restored,
  /// triggers and statistics recreated.
  var afterDrop: [String] = []
  /// What the contract step also locks (tables whose foreign keys it renames, sequences).
  var locks: [LockedRelation] = []
  var post: [Postcondition] = []
  /// `CarriedObject` keys of the old column's dependents this plan recreates.
  var carried: [String] = []
  /// The expressions the contract step leaves under the original names (its `writes`).
  var writes: [WrittenExpression] = []
  /// A primary key or an identity moves: the new column must be NOT NULL in the drop's transaction.
  var notNullInDrop = false
  /// Tables the carried foreign keys of the new column reference: the copy, enforcing them on
  /// each row it writes, takes ROW SHARE on them.
  var referenced: [QualifiedName] = []
  /// Expand steps, run once the new column and its trigger exist.
  fileprivate var expand: [Expand] = []
  /// Backfill steps, run once the copy is done (validations, foreign keys of other tables).
  fileprivate var afterCopy: [AfterCopy] = []

  fileprivate enum Expand {
    case buildIndex(SchemaSnapshot.Index, original: String)
    case addConstraint(name: String, definition: String, what: String, referenced: QualifiedName?)
  }

  fileprivate enum AfterCopy {
    case validate(table: QualifiedName, constraint: String, referenced: QualifiedName?)
    case incomingForeignKey(table: QualifiedName, name: String, definition: String, referenced: QualifiedName, validate: Bool)
  }
}

extension IntentPlanner {
  /// Whether a `PARTITION BY` key (`RANGE (created_at)`, `LIST (lower(region))`) uses `column`.
  static func partitionKey(_ key: String, uses column: String) -> Bool {
    guard let open = key.firstIndex(of: "("), let close = key.lastIndex(of: ")"), open < close else { return false }
    let inner = String(key[key.index(after: open)..<close])
    // The elements as one expression (a row of them); with an opclass or collation, which no
    // expression has, every word that could name the column.
    if let names = ColumnRename.columnReferences(inExpression: inner) { return names.contains(column) }
    return inner.split { !($0.isLetter || $0.isNumber || $0 == "_") }.contains { $0 == column }
  }

  /// The name an object carried over to the new column has until contract restores the original.
  static func carriedName(_ name: String) -> String { Names.fit("_pgphase_new_\(name)") }

  /// What recreating on `shadow` what depends on `old` takes, phase by phase; errors (located at
  /// the change) for what cannot be carried over safely. Emits nothing: `emitCarryOverExpand`
  /// and `emitCarryOverBackfill` do, and the contract step takes `beforeDrop` and `afterDrop`.
  mutating func carryOver(
    table t: QualifiedName, old: String, shadow: String, finalName: String, type: String, nullable: Bool
  ) -> CarryOver {
    var carry = CarryOver()
    let resolved = SchemaModel.resolve(t)
    guard let table = model.table(t) else { return carry }
    let dependents = model.schema.dependents(ofColumn: old, in: resolved)
    let column = "\(t).\(SQL.quoteIdentifier(old))"
    if let key = table.partitionKey, Self.partitionKey(key, uses: old) {
      error(
        "\(column) is in the partition key of \(t) (PARTITION BY \(key)): PostgreSQL cannot drop it, so it cannot be replaced",
        object: column,
        hint: "create a new partitioned table partitioned by the new column, copy the rows, and switch the app to it")
      return carry
    }
    guard !dependents.isEmpty || table.column(old)?.identity != nil else { return carry }
    if let identity = table.column(old)?.identity {
      carryIdentity(identity, table: t, old: old, finalName: finalName, type: type, nullable: nullable, carry: &carry)
    }
    if table.partitionKey != nil || table.partitionOf != nil {
      let names = dependents.map(\.description).joined(separator: ", ")
      error(
        "\(column) has \(names), and \(t) is \(table.partitionOf != nil ? "a partition" : "partitioned"): indexes cannot be built concurrently on it",
        object: column, hint: "change the column with `sql:` changes in a maintenance window, or without dependents")
      return carry
    }
    // Keys first: other tables' foreign keys to the new column need their index.
    func rank(_ d: SchemaSnapshot.ColumnDependent) -> Int {
      switch d {
      case .constraint(_, let kind) where kind == .primaryKey || kind == .unique: 0
      case .index, .constraint: 1
      case .incomingForeignKey: 2
      default: 3
      }
    }
    for dependent in dependents.enumerated().sorted(by: { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) })
      .map(\.element)
    {
      switch dependent {
      case .view(let view, let materialized):
        error(
          "\(column) is read by \(materialized ? "materialized view" : "view") \(view): a view cannot follow a column to its replacement",
          object: column,
          hint:
            "drop the view in an earlier intent (`sql:` in contract), and create it again on the new column in a later one")
      case .generatedColumn(let name):
        error(
          "\(column) is used by generated column \(SQL.quoteIdentifier(name)), which cannot follow it to a new column",
          object: column,
          hint: "drop the generated column first (`drop_column` in an earlier intent), and add it again afterwards")
      case .index(let name):
        guard let index = table.indexes[name] else { continue }
        carryIndex(index, table: t, old: old, shadow: shadow, finalName: finalName, carry: &carry)
      case .constraint(let name, let kind):
        guard let constraint = table.constraints[name] else { continue }
        switch kind {
        case .check, .foreignKey:
          carryConstraint(constraint, table: t, old: old, shadow: shadow, finalName: finalName, carry: &carry)
        case .primaryKey, .unique:
          if kind == .primaryKey, nullable {
            error(
              "\(column) is the primary key: the new column must be NOT NULL", at: "nullable", object: column,
              hint: "remove `nullable: true`")
          }
          carryKey(constraint, table: t, old: old, shadow: shadow, finalName: finalName, carry: &carry)
        case .exclusion:
          error(
            "\(column) is in exclusion constraint \(SQL.quoteIdentifier(name)), which pgphase cannot build without blocking writes",
            object: column, hint: "drop the constraint in an earlier intent, and add it again afterwards")
        }
      case .incomingForeignKey(let other, let name):
        guard let constraint = model.table(other)?.constraints[name] else { continue }
        carryIncomingForeignKey(constraint, from: other, table: t, old: old, shadow: shadow, carry: &carry)
      case .trigger(let name):
        guard let trigger = table.triggers[name] else { continue }
        carryTrigger(trigger, table: t, old: old, finalName: finalName, carry: &carry)
      case .statistics(let name):
        guard let statistics = table.statistics[name] else { continue }
        carryStatistics(statistics, old: old, finalName: finalName, carry: &carry)
      case .ownedSequence(let sequence):
        carry.beforeDrop.append("ALTER SEQUENCE \(sequence.sql) OWNED BY \(t.sql).\(SQL.quoteIdentifier(shadow))")
        carry.locks.append(LockedRelation(sequence, .accessExclusive))
        carry.carried.append(CarriedObject.sequence(sequence))
      }
    }
    // A foreign key of another table needs the new column's unique index: the key carried here.
    return carry
  }

  /// Emits the expand steps of `carry`: copies of indexes built concurrently, constraints NOT VALID.
  mutating func emitCarryOverExpand(_ carry: CarryOver, table t: QualifiedName) {
    for item in carry.expand {
      switch item {
      case .buildIndex(let index, let original):
        emitCarriedIndexBuild(index, table: t, of: original)
      case .addConstraint(let name, let definition, let what, let referenced):
        let k = SQL.quoteIdentifier(name)
        var locks = [LockedRelation(t, referenced == nil ? .accessExclusive : .shareRowExclusive)]
        if let referenced { locks.append(LockedRelation(referenced, .shareRowExclusive)) }
        emit(
          .expand, ["carry", name], "Add \(what) to the new column as \(name) NOT VALID: enforced on new writes, no scan",
          sql: ["ALTER TABLE \(t.sql) ADD CONSTRAINT \(k) \(definition) NOT VALID"], locks: locks, cost: .catalogOnly,
          undo: Undo(sql: ["ALTER TABLE \(t.sql) DROP CONSTRAINT IF EXISTS \(k)"]),
          post: [.constraintExists(t, name, validated: false)], creates: [.constraint(t, name)])
      }
    }
  }

  /// Emits the backfill steps of `carry`: validations, then other tables' foreign keys to the
  /// new column (only now: before the copy, rows not yet copied would fail their checks).
  mutating func emitCarryOverBackfill(_ carry: CarryOver) {
    for item in carry.afterCopy {
      switch item {
      case .validate(let table, let constraint, let referenced):
        emitValidate(.backfill, table: table, constraint: constraint, slug: ["validate", constraint], referenced: referenced)
      case .incomingForeignKey(let table, let name, let definition, let referenced, let validate):
        let k = SQL.quoteIdentifier(name)
        emit(
          .backfill, ["add-foreign-key", name],
          "Add \(name) NOT VALID on \(table), to the new column: every row is copied, so new rows pass it",
          sql: ["ALTER TABLE \(table.sql) ADD CONSTRAINT \(k) \(definition) NOT VALID"],
          locks: [LockedRelation(table, .shareRowExclusive), LockedRelation(referenced, .shareRowExclusive)],
          cost: .catalogOnly, undo: Undo(sql: ["ALTER TABLE \(table.sql) DROP CONSTRAINT IF EXISTS \(k)"]),
          post: [.constraintExists(table, name, validated: false)], creates: [.constraint(table, name)])
        if validate {
          emitValidate(.backfill, table: table, constraint: name, slug: ["validate", name], referenced: referenced)
        }
      }
    }
  }

  private mutating func carryIndex(
    _ index: SchemaSnapshot.Index, table t: QualifiedName, old: String, shadow: String, finalName: String,
    carry: inout CarryOver
  ) {
    var copy = index
    copy.name = Self.carriedName(index.name)
    for (i, key) in copy.keys.enumerated() {
      if key.column == old {
        copy.keys[i].column = shadow
      } else if let expression = key.expression {
        guard let renamed = renamed(expression, old, shadow, in: "index \(index.name)") else { return }
        copy.keys[i].expression = renamed
      }
    }
    copy.include = copy.include.map { $0 == old ? shadow : $0 }
    if let predicate = copy.predicate {
      guard let renamed = renamed(predicate, old, shadow, in: "index \(index.name)") else { return }
      copy.predicate = renamed
    }
    guard freeIndexName(t.sibling(copy.name)) else { return }
    carry.expand.append(.buildIndex(copy, original: index.name))
    carry.afterDrop.append("ALTER INDEX \(t.sibling(copy.name).sql) RENAME TO \(SQL.quoteIdentifier(index.name))")
    carry.afterDrop += Self.renameIndexColumns(copy, as: index.name, on: t, shadow: shadow, finalName: finalName)
    if let comment = index.comment {
      carry.afterDrop.append("COMMENT ON INDEX \(t.sibling(index.name).sql) IS \(SQL.quoteLiteral(comment))")
    }
    carry.post.append(.indexExists(t.sibling(index.name), on: t, unique: index.unique))
    carry.carried.append(CarriedObject.index(index.name))
    // Under its own name at contract, on the column's final name: what `schema dump` shows as
    // written (only what has an expression: plain keys have no words to keep).
    let keys = index.keys.map { $0.expression.map { ColumnRename.expression($0, from: old, to: finalName) ?? $0 } }
    let predicate = index.predicate.map { ColumnRename.expression($0, from: old, to: finalName) ?? $0 }
    if predicate != nil || keys.contains(where: { $0 != nil }) {
      carry.writes.append(.index(t.sibling(index.name), on: t, keys: keys, predicate: predicate))
    }
  }

  private mutating func carryConstraint(
    _ constraint: SchemaSnapshot.Constraint, table t: QualifiedName, old: String, shadow: String, finalName: String,
    carry: inout CarryOver
  ) {
    let what = "\(constraint.kind.words) \(constraint.name)"
    guard let definition = renamedConstraint(constraint, old, shadow, in: what) else { return }
    let temporary = Self.carriedName(constraint.name)
    guard freeConstraintName(t, temporary) else { return }
    let referenced = constraint.kind == .foreignKey ? constraint.references?.table : nil
    carry.expand.append(.addConstraint(name: temporary, definition: definition, what: what, referenced: referenced))
    if let referenced, !carry.referenced.contains(referenced) { carry.referenced.append(referenced) }
    if constraint.validated { carry.afterCopy.append(.validate(table: t, constraint: temporary, referenced: referenced)) }
    restoreName(of: constraint, on: t, from: temporary, carry: &carry)
    // Under its own name at contract, on the column's final name: what `schema dump` shows as written.
    var final = constraint
    if let renamed = ColumnRename.constraint(constraint.definition, from: old, to: finalName) {
      final.definition = renamed
      if let expression = Self.checkExpression(final) {
        carry.writes.append(.check(table: t, name: constraint.name, expression: expression))
      }
    }
  }

  private mutating func carryKey(
    _ constraint: SchemaSnapshot.Constraint, table t: QualifiedName, old: String, shadow: String, finalName: String,
    carry: inout CarryOver
  ) {
    let what = "\(constraint.kind.words) \(constraint.name)"
    if constraint.deferrable {
      error(
        "\(what) is DEFERRABLE: pgphase cannot attach a deferrable key to the new column", object: what,
        hint: "drop the constraint in an earlier intent, and add it again afterwards")
      return
    }
    guard let definition = renamedConstraint(constraint, old, shadow, in: what),
      let index = SchemaSnapshot.Index(keyConstraint: definition, name: Self.carriedName(constraint.name))
    else {
      error("cannot read the index of \(what) from its definition `\(constraint.definition)`", object: what)
      return
    }
    guard freeIndexName(t.sibling(index.name)) else { return }
    carry.expand.append(.buildIndex(index, original: constraint.name))
    let kind = constraint.kind == .primaryKey ? "PRIMARY KEY" : "UNIQUE"
    carry.notNullInDrop = carry.notNullInDrop || constraint.kind == .primaryKey
    carry.afterDrop.append(
      "ALTER TABLE \(t.sql) ADD CONSTRAINT \(SQL.quoteIdentifier(constraint.name)) \(kind) USING INDEX \(SQL.quoteIdentifier(index.name))"
    )
    carry.afterDrop += Self.renameIndexColumns(index, as: constraint.name, on: t, shadow: shadow, finalName: finalName)
    if let comment = constraint.comment {
      carry.afterDrop.append(
        "COMMENT ON CONSTRAINT \(SQL.quoteIdentifier(constraint.name)) ON \(t.sql) IS \(SQL.quoteLiteral(comment))")
    }
    if model.table(t)?.replicaIdentity == .index(constraint.name) {
      carry.afterDrop.append("ALTER TABLE \(t.sql) REPLICA IDENTITY USING INDEX \(SQL.quoteIdentifier(constraint.name))")
    }
    carry.post.append(.constraintExists(t, constraint.name, validated: true))
    carry.carried += [CarriedObject.constraint(SchemaModel.resolve(t), constraint.name), CarriedObject.index(constraint.name)]
  }

  private mutating func carryIncomingForeignKey(
    _ constraint: SchemaSnapshot.Constraint, from other: QualifiedName, table t: QualifiedName, old: String, shadow: String,
    carry: inout CarryOver
  ) {
    let what = "foreign key \(constraint.name) of \(other)"
    let keys = model.table(t)?.constraints.filter { $0.kind == .primaryKey || $0.kind == .unique } ?? []
    guard let target = constraint.references?.columns, keys.contains(where: { $0.columns == target }) else {
      error(
        "\(what) references \(t).\(SQL.quoteIdentifier(old)) through no primary key or unique constraint pgphase can carry over",
        object: what,
        hint: "add a unique constraint on the referenced columns first, or drop the foreign key in an earlier intent")
      return
    }
    var definition = Self.withoutNotValid(constraint.definition)
    if SchemaModel.resolve(other) == SchemaModel.resolve(t), constraint.columns.contains(old) {
      guard let local = ColumnRename.constraint(definition, from: old, to: shadow) else { return }
      definition = local
    }
    guard let renamed = ColumnRename.referencedColumn(definition, from: old, to: shadow) else {
      error("cannot rewrite \(what) (`\(constraint.definition)`) for the new column", object: what)
      return
    }
    let temporary = Self.carriedName(constraint.name)
    guard freeConstraintName(other, temporary) else { return }
    carry.afterCopy.append(
      .incomingForeignKey(table: other, name: temporary, definition: renamed, referenced: t, validate: constraint.validated))
    carry.beforeDrop.append("ALTER TABLE \(other.sql) DROP CONSTRAINT \(SQL.quoteIdentifier(constraint.name))")
    carry.locks.append(LockedRelation(other, .accessExclusive))
    restoreName(of: constraint, on: other, from: temporary, carry: &carry)
  }

  private func restoreName(
    of constraint: SchemaSnapshot.Constraint, on t: QualifiedName, from temporary: String, carry: inout CarryOver
  ) {
    let k = SQL.quoteIdentifier(constraint.name)
    carry.afterDrop.append("ALTER TABLE \(t.sql) RENAME CONSTRAINT \(SQL.quoteIdentifier(temporary)) TO \(k)")
    if let comment = constraint.comment {
      carry.afterDrop.append("COMMENT ON CONSTRAINT \(k) ON \(t.sql) IS \(SQL.quoteLiteral(comment))")
    }
    carry.post.append(.constraintExists(t, constraint.name, validated: constraint.validated))
    carry.carried.append(CarriedObject.constraint(SchemaModel.resolve(t), constraint.name))
  }

  /// An identity column's new column becomes identity in contract, in the drop's transaction:
  /// the old sequence's next value is kept (in a transaction-local setting) before the old column
  /// and its sequence go, then the new column, NOT NULL under its final name (the validated check
  /// lets it skip the scan), gets `ADD GENERATED` with the old sequence's name and options and
  /// starts after that value. The old app is gone by then, so no value is handed out twice (one
  /// is skipped).
  private mutating func carryIdentity(
    _ identity: SchemaSnapshot.Identity, table t: QualifiedName, old: String, finalName: String, type: String,
    nullable: Bool, carry: inout CarryOver
  ) {
    let column = "\(t).\(SQL.quoteIdentifier(old))"
    guard !nullable else {
      error(
        "\(column) is an identity column: the new column must be NOT NULL", at: "nullable", object: column,
        hint: "remove `nullable: true`")
      return
    }
    guard let options = Self.identityOptions(identity.options, newType: type) else {
      error(
        "\(column) is an identity column: the new type \(type) cannot hold an identity (smallint, integer or bigint only)",
        at: "type", object: column, hint: "drop the identity first (`sql:` in an earlier intent), or keep an integer type")
      return
    }
    let kind = identity.kind == .always ? "ALWAYS" : "BY DEFAULT"
    let settings = ["SEQUENCE NAME \(identity.sequence.sql)"] + SchemaSnapshot.sequenceOptionsSQL(options, includeType: false)
    let setting = SQL.quoteLiteral(Self.identitySetting)
    carry.beforeDrop.append("SELECT set_config(\(setting), nextval(\(identity.sequence.literal))::text, true)")
    carry.afterDrop += [
      "ALTER TABLE \(t.sql) ALTER COLUMN \(SQL.quoteIdentifier(finalName)) ADD GENERATED \(kind) AS IDENTITY (\(settings.joined(separator: " ")))",
      "SELECT setval(\(identity.sequence.literal), current_setting(\(setting))::bigint)",
    ]
    carry.locks.append(LockedRelation(identity.sequence, .accessExclusive))
    carry.notNullInDrop = true
    carry.carried += [CarriedObject.identity(old), CarriedObject.sequence(identity.sequence)]
  }

  /// The transaction-local setting that holds an identity's next value across the drop.
  static let identitySetting = "pgphase.identity_next"

  /// The identity options on the new column: the old ones, in the new integer type (bounds that
  /// were the old type's defaults become the new type's); nil when the type is not an integer.
  static func identityOptions(_ options: SchemaSnapshot.SequenceOptions, newType: String) -> SchemaSnapshot.SequenceOptions? {
    let type = SchemaModel.displayType(newType)
    guard ["smallint", "integer", "bigint"].contains(type) else { return nil }
    var o = options
    let before = SchemaSnapshot.SequenceOptions.defaultBounds(dataType: options.dataType, increment: options.increment)
    let after = SchemaSnapshot.SequenceOptions.defaultBounds(dataType: type, increment: options.increment)
    o.dataType = type
    if o.minValue == before.min { o.minValue = after.min }
    if o.maxValue == before.max { o.maxValue = after.max }
    return o
  }

  /// A column trigger is recreated, not duplicated: two copies would fire twice in the window.
  private mutating func carryTrigger(
    _ trigger: SchemaSnapshot.Trigger, table t: QualifiedName, old: String, finalName: String, carry: inout CarryOver
  ) {
    guard let definition = old == finalName ? trigger.definition : renamedStatement(trigger.definition, old, finalName)
    else { return }
    let k = SQL.quoteIdentifier(trigger.name)
    carry.beforeDrop.append("DROP TRIGGER \(k) ON \(t.sql)")
    carry.afterDrop.append(definition)
    switch trigger.enabled {
    case .origin: break
    case .disabled: carry.afterDrop.append("ALTER TABLE \(t.sql) DISABLE TRIGGER \(k)")
    case .replica: carry.afterDrop.append("ALTER TABLE \(t.sql) ENABLE REPLICA TRIGGER \(k)")
    case .always: carry.afterDrop.append("ALTER TABLE \(t.sql) ENABLE ALWAYS TRIGGER \(k)")
    }
    if let comment = trigger.comment {
      carry.afterDrop.append("COMMENT ON TRIGGER \(k) ON \(t.sql) IS \(SQL.quoteLiteral(comment))")
    }
    carry.post.append(.triggerExists(t, trigger.name))
    carry.carried.append(CarriedObject.trigger(trigger.name))
  }

  private mutating func carryStatistics(
    _ statistics: SchemaSnapshot.Statistics, old: String, finalName: String, carry: inout CarryOver
  ) {
    guard
      let definition = old == finalName
        ? statistics.definition : renamedStatement(statistics.definition, old, finalName)
    else { return }
    // DROP COLUMN drops a statistics object only when one column would be left: drop it first.
    carry.beforeDrop.append("DROP STATISTICS \(statistics.name.sql)")
    carry.afterDrop.append(definition)
    if let target = statistics.target {
      carry.afterDrop.append("ALTER STATISTICS \(statistics.name.sql) SET STATISTICS \(target)")
    }
    if let comment = statistics.comment {
      carry.afterDrop.append("COMMENT ON STATISTICS \(statistics.name.sql) IS \(SQL.quoteLiteral(comment))")
    }
    carry.carried.append(CarriedObject.statistics(statistics.name))
  }

  private mutating func emitCarriedIndexBuild(_ index: SchemaSnapshot.Index, table t: QualifiedName, of original: String) {
    let name = t.sibling(index.name)
    let build = IndexBuild(index: name, table: t, unique: index.unique, definition: index.definition)
    emit(
      .expand, ["carry", original],
      "Build \(index.name) concurrently on the new column, for \(original) (renamed to it at contract)",
      sql: [build.createSQL(concurrently: true)], action: .buildIndex(build),
      locks: [LockedRelation(t, .shareUpdateExclusive)], cost: .scanNoWriteBlock,
      undo: Undo(sql: ["DROP INDEX CONCURRENTLY IF EXISTS \(name.sql)"], transactional: false),
      post: [.indexExists(name, on: t, unique: index.unique)], creates: [.index(name, on: t)])
  }

  /// An index's columns are named after the table's columns when it is built, and keep those
  /// names when a table column is renamed: the copy's columns made on the new column get the
  /// final name too, so that `\d` of the index shows what the original showed.
  static func renameIndexColumns(
    _ index: SchemaSnapshot.Index, as name: String, on t: QualifiedName, shadow: String, finalName: String
  ) -> [String] {
    guard shadow != finalName, index.keys.contains(where: { $0.column == shadow }) || index.include.contains(shadow)
    else { return [] }
    return [
      "ALTER TABLE \(t.sibling(name).sql) RENAME COLUMN \(SQL.quoteIdentifier(shadow)) TO \(SQL.quoteIdentifier(finalName))"
    ]
  }

  /// What a CHECK's definition encloses (`CHECK (a > 0) NOT VALID` gives `a > 0`); nil for
  /// another kind of constraint.
  static func checkExpression(_ constraint: SchemaSnapshot.Constraint) -> String? {
    let d = withoutNotValid(constraint.definition)
    guard constraint.kind == .check, d.hasPrefix("CHECK ("), d.hasSuffix(")") else { return nil }
    return String(d.dropFirst("CHECK (".count).dropLast())
  }

  static func withoutNotValid(_ definition: String) -> String {
    definition.hasSuffix(" NOT VALID") ? String(definition.dropLast(" NOT VALID".count)) : definition
  }

  private mutating func renamedConstraint(_ constraint: SchemaSnapshot.Constraint, _ old: String, _ new: String, in what: String)
    -> String?
  {
    guard let renamed = ColumnRename.constraint(Self.withoutNotValid(constraint.definition), from: old, to: new) else {
      error("cannot rewrite \(what) (`\(constraint.definition)`) for the new column", object: what)
      return nil
    }
    return renamed
  }

  private mutating func renamed(_ expression: String, _ old: String, _ new: String, in what: String) -> String? {
    guard let renamed = ColumnRename.expression(expression, from: old, to: new) else {
      error("cannot rewrite the expression `\(expression)` of \(what) for the new column", object: what)
      return nil
    }
    return renamed
  }

  private mutating func renamedStatement(_ sql: String, _ old: String, _ new: String) -> String? {
    guard let renamed = ColumnRename.statement(sql, from: old, to: new) else {
      error("cannot rewrite `\(sql)` for the new column")
      return nil
    }
    return renamed
  }

  private mutating func freeIndexName(_ name: QualifiedName) -> Bool {
    guard relationExists(name) else { return true }
    error(
      "the name \(name) that pgphase gives the new column's copy of an index is taken", object: name.description,
      hint: "rename or drop that relation first")
    return false
  }

  private mutating func freeConstraintName(_ table: QualifiedName, _ name: String) -> Bool {
    guard constraintExists(table, name) else { return true }
    error(
      "the name \(SQL.quoteIdentifier(name)) that pgphase gives the new column's copy of a constraint is taken on \(table)",
      object: name, hint: "rename or drop that constraint first")
    return false
  }
}
