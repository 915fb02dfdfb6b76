import PGPhaseModel
import PGPhaseSQL
import PGPhaseSchema

/// What the planner knows of the schema, in apply order: a `SchemaSnapshot` that starts as the
/// schema the intents start from (`plan --schema`), or empty without one, and that every change
/// planned so far has been applied to (tables, columns, constraints and indexes created, renamed
/// or dropped). Planning stays pure: the snapshot is an input, never read from a database.
///
/// With a starting schema every name an intent uses must be in the model (`complete`); without
/// one only objects intents create are known, and intents are checked against each other: two
/// intents creating one object, or a later intent using an object an earlier one dropped.
struct SchemaModel {
  typealias Column = SchemaSnapshot.Column

  struct Origin {
    var intent: String
    var location: SourceLocation
  }

  /// The schema as the changes planned so far leave it.
  private(set) var schema: SchemaSnapshot
  /// Whether `schema` started from a whole schema: then a name it lacks does not exist.
  let complete: Bool
  /// Tables, columns, indexes and constraints created by an intent, by a display key.
  private var created: [String: Origin] = [:]
  private var dropped: [String: Origin] = [:]
  /// Every index of `schema` (those of constraints too) by its qualified name: index names are
  /// looked up without a table, and a scan of a thousand tables per lookup was most of planning.
  private(set) var indexes: [QualifiedName: IndexOwner] = [:]
  /// Each table the current intent changed, as it was when the intent started (nil: it did not
  /// exist then), recorded at its first change: what a plan's `assumes` is made of, without a
  /// copy of the whole schema per intent.
  private var startOfIntent: [QualifiedName: SchemaSnapshot.Table?] = [:]

  /// The relation an index is on, and whether it is the index of a key or exclusion constraint.
  struct IndexOwner: Equatable {
    var relation: QualifiedName
    var constraint: Bool
  }

  init(schema: SchemaSnapshot? = nil) {
    self.schema = schema ?? SchemaSnapshot()
    complete = schema != nil
    for table in self.schema.tables { register(table) }
    for view in self.schema.views {
      for index in view.indexes { indexes[view.name.sibling(index.name)] = IndexOwner(relation: view.name, constraint: false) }
    }
  }

  /// The indexes of `table` (its own and its constraints'), by qualified name.
  private static func indexNames(of table: SchemaSnapshot.Table) -> [(QualifiedName, IndexOwner)] {
    table.indexes.keys.map { (table.name.sibling($0), IndexOwner(relation: table.name, constraint: false)) }
      + table.constraints.filter(\.hasIndex).map {
        (table.name.sibling($0.name), IndexOwner(relation: table.name, constraint: true))
      }
  }

  private mutating func register(_ table: SchemaSnapshot.Table) {
    for (name, owner) in Self.indexNames(of: table) { indexes[name] = owner }
  }

  private mutating func unregister(_ table: SchemaSnapshot.Table) {
    for (name, owner) in Self.indexNames(of: table) where indexes[name] == owner { indexes[name] = nil }
  }

  /// A key of `TableRenames` and the planner's per-intent bookkeeping: the name as written.
  struct TableKey: Hashable {
    var schema: String
    var name: String
    init(_ name: QualifiedName) {
      schema = name.schema ?? ""
      self.name = name.name
    }
  }

  /// The schema an unqualified name (no `schema:` in the intent either) is looked up in:
  /// PostgreSQL's default search_path puts new objects there.
  static let defaultSchema = "public"

  /// `name` with its schema filled in, as the snapshot keys it.
  static func resolve(_ name: QualifiedName) -> QualifiedName {
    name.schema == nil ? QualifiedName(schema: defaultSchema, name.name) : name
  }

  static func tableKey(_ t: QualifiedName) -> String { "table \(t.sql)" }
  static func columnKey(_ t: QualifiedName, _ c: String) -> String { "column \(t.sql).\(SQL.quoteIdentifier(c))" }
  static func indexKey(_ index: QualifiedName) -> String { "index \(index.sql)" }
  static func constraintKey(_ t: QualifiedName, _ c: String) -> String { "constraint \(SQL.quoteIdentifier(c)) on \(t.sql)" }

  /// Records that `key` is created here; returns an error when an earlier change created it too.
  mutating func create(_ key: String, _ origin: Origin) -> Diagnostic? {
    if let first = created[key] {
      return .error(
        "\(key) is already created by intent `\(first.intent)` at \(first.location)", at: origin.location,
        hint: "two changes cannot create the same object; remove one, or drop the first before creating it again")
    }
    created[key] = origin
    dropped[key] = nil
    return nil
  }

  mutating func drop(_ key: String, _ origin: Origin) {
    created[key] = nil
    dropped[key] = origin
  }

  /// An error when an earlier change dropped the object this change uses.
  func use(_ key: String, at location: SourceLocation) -> Diagnostic? {
    guard let drop = dropped[key] else { return nil }
    return .error(
      "\(key) was dropped by intent `\(drop.intent)` at \(drop.location)", at: location,
      hint: "intents apply in id order; this one runs after the drop")
  }

  /// Whether an earlier change dropped the object (its `use` error says so; no other is needed).
  func wasDropped(_ key: String) -> Bool { dropped[key] != nil }

  // MARK: What an intent assumes

  /// Starts recording the tables the next intent changes.
  mutating func beginIntent() { startOfIntent = [:] }

  /// Records `table` as it is now, unless the current intent changed it already.
  private mutating func willChange(_ table: QualifiedName) {
    let table = Self.resolve(table)
    if startOfIntent[table] == nil { startOfIntent[table] = .some(schema.tables[table]) }
  }

  /// The tables the current intent changed so far (also those a step does not lock by name: the
  /// table of an index dropped concurrently, tables a `sql` change's DDL alters).
  var changedThisIntent: [QualifiedName] { Array(startOfIntent.keys) }

  /// `table` as it was when the current intent started, when it existed then and no intent made
  /// it (a table an intent of this run creates is not the schema's to drift from).
  func assumed(_ table: QualifiedName) -> SchemaSnapshot.Table? {
    let table = Self.resolve(table)
    let before = startOfIntent[table] ?? schema.tables[table]
    guard let before, !createdByIntent(before.name) else { return nil }
    return before
  }

  /// Whether an intent of this run created (or renamed into) `table`: intents name tables with or
  /// without the default schema, and the keys are as written.
  private func createdByIntent(_ table: QualifiedName) -> Bool {
    var spellings = [table]
    if table.schema == Self.defaultSchema { spellings.append(QualifiedName(schema: nil, table.name)) }
    return spellings.contains { created[Self.tableKey($0)] != nil }
  }

  // MARK: Reading

  func table(_ name: QualifiedName) -> SchemaSnapshot.Table? { schema.tables[Self.resolve(name)] }

  func column(_ table: QualifiedName, _ column: String) -> Column? { self.table(table)?.column(column) }

  /// The table or materialized view that has the index `name` (in the index's schema), and
  /// whether it is the index of a constraint (a primary key, unique or exclusion constraint).
  func indexOwner(_ name: QualifiedName) -> IndexOwner? { indexes[Self.resolve(name)] }

  // MARK: Applying changes

  mutating func addTable(_ name: QualifiedName, columns: [ColumnDefinition]) {
    let name = Self.resolve(name)
    willChange(name)
    schema.tables.insert(SchemaSnapshot.Table(name: name))
    for c in columns {
      let made = column(c, table: name)
      schema.tables[name]?.columns.append(made)
    }
  }

  mutating func addColumn(_ table: QualifiedName, _ c: ColumnDefinition) {
    let table = Self.resolve(table)
    willChange(table)
    guard schema.tables.contains(table) else { return }
    let made = column(c, table: table)
    schema.tables[table]?.columns.append(made)
  }

  /// A type as an intent writes it, spelled as the server's `format_type` prints it (`timestamptz`
  /// is `timestamp with time zone`), as a dump of the result spells it.
  static func displayType(_ written: String) -> String {
    WrittenSQL.formatType(written, defaultSchema: defaultSchema)
  }

  /// A column as an intent defines it: the default as written, the type as the server prints it,
  /// an identity with the sequence the server would name for it.
  func column(_ c: ColumnDefinition, table: QualifiedName) -> Column {
    let type = Self.displayType(c.type)
    let identity = c.identity.map { kind in
      SchemaSnapshot.Identity(
        kind: kind,
        sequence: table.sibling(
          SQL.chooseName(table.name, c.name, label: "seq") { schema.relationKind(table.sibling($0)) != nil }),
        options: SchemaSnapshot.SequenceOptions(dataType: type))
    }
    return Column(
      name: c.name, type: type,
      notNull: c.nullable && !c.primaryKey && c.identity == nil
        ? nil : .init(name: SchemaSnapshot.NotNull.defaultName(table: table.name, column: c.name)),
      defaultExpression: c.defaultExpression, identity: identity, comment: c.comment)
  }

  /// Records a constraint an intent adds.
  mutating func addConstraint(_ constraint: SchemaSnapshot.Constraint, on table: QualifiedName) {
    let table = Self.resolve(table)
    guard schema.tables.contains(table) else { return }
    willChange(table)
    var constraint = constraint
    if constraint.kind == .check, let t = schema.tables[table] {
      // Every column the expression reads, as the catalog lists a CHECK's columns.
      let expression = constraint.definition.dropFirst("CHECK (".count).dropLast()
      constraint.columns = t.inColumnOrder(constraint.columns + WrittenSQL.columnReferences(String(expression)))
    }
    schema.tables[table]?.constraints.insert(constraint)
    if constraint.hasIndex { indexes[table.sibling(constraint.name)] = IndexOwner(relation: table, constraint: true) }
  }

  mutating func dropConstraint(_ table: QualifiedName, _ name: String) {
    let table = Self.resolve(table)
    willChange(table)
    guard schema.tables[table]?.constraints.remove(name)?.hasIndex == true else { return }
    indexes[table.sibling(name)] = nil
  }

  mutating func addIndex(_ index: CreateIndex) {
    // Every column the index uses: keys, expressions, INCLUDE and the predicate.
    var columns: [String] = index.include
    for key in index.keys {
      switch key {
      case .column(let c): columns.append(c)
      case .expression(let e): columns += WrittenSQL.columnReferences(e)
      }
    }
    if let predicate = index.predicate { columns += WrittenSQL.columnReferences(predicate) }
    let keys = index.keys.enumerated().map { i, key in
      let options = index.options(ofKey: i).flatMap(Self.printedOptions)
      return switch key {
      case .column(let c): SchemaSnapshot.IndexKey(column: c, options: options)
      case .expression(let e): SchemaSnapshot.IndexKey(expression: e, options: options)
      }
    }
    let table = Self.resolve(index.table)
    if schema.tables.contains(table) { willChange(table) }
    let inserted = schema.insert(
      index: SchemaSnapshot.Index(
        name: index.name, unique: index.unique, method: index.method ?? "btree", keys: keys, include: index.include,
        options: index.storageParameters.map { SchemaSnapshot.Setting(name: $0.name, value: $0.value) },
        predicate: index.predicate, columns: columns),
      on: table)
    if inserted { indexes[table.sibling(index.name)] = IndexOwner(relation: table, constraint: false) }
  }

  /// A key's options as `pg_get_indexdef` prints them: ASC and the NULLS order that goes with
  /// the key's order by default are left out; nil when nothing is left.
  static func printedOptions(_ o: IndexKeyOptions) -> String? {
    var printed = o
    if printed.order == .asc { printed.order = nil }
    if printed.nulls == (printed.order == .desc ? .first : .last) { printed.nulls = nil }
    return printed.isEmpty ? nil : printed.sql
  }

  mutating func dropIndex(_ name: QualifiedName) {
    guard let relation = indexOwner(name)?.relation else { return }
    indexes[Self.resolve(name)] = nil
    if schema.tables.contains(relation) {
      willChange(relation)
      schema.tables[relation]?.indexes.remove(name.name)
    } else {
      schema.views[relation]?.indexes.remove(name.name)
    }
  }

  mutating func renameTable(_ from: QualifiedName, to: QualifiedName) {
    guard schema.tables.contains(Self.resolve(from)) else { return }
    willChange(from)
    willChange(to)
    guard var t = schema.tables.remove(Self.resolve(from)) else { return }
    unregister(t)
    t.name = Self.resolve(to)
    schema.tables.insert(t)
    register(t)
  }

  mutating func dropTable(_ name: QualifiedName) {
    willChange(name)
    guard let t = schema.tables.remove(Self.resolve(name)) else { return }
    unregister(t)
    // Its serial sequences go with it, as PostgreSQL drops what a table's columns own.
    for sequence in schema.sequences where sequence.ownedBy?.table == t.name { schema.sequences.remove(sequence.name) }
  }

  /// Drops the column and, as PostgreSQL does, the indexes and constraints of its table that use it.
  mutating func dropColumn(_ table: QualifiedName, _ column: String) {
    let key = Self.resolve(table)
    guard var t = schema.tables[key] else { return }
    willChange(key)
    unregister(t)
    t.columns.removeAll { $0.name == column }
    for sequence in schema.sequences where sequence.ownedBy == .init(table: key, column: column) {
      schema.sequences.remove(sequence.name)
    }
    for k in t.constraints where k.columns.contains(column) { t.constraints.remove(k.name) }
    for i in t.indexes where i.columns.contains(column) { t.indexes.remove(i.name) }
    schema.tables[key] = t
    register(t)
  }

  /// Renames the column and, as PostgreSQL does (it keeps column numbers, not names), every
  /// reference to it: its table's constraints, indexes, triggers and statistics, and other
  /// tables' foreign keys to it.
  mutating func renameColumn(_ table: QualifiedName, from: String, to: String) {
    let key = Self.resolve(table)
    willChange(table)
    guard var t = schema.tables[key] else { return }
    t.updateColumn(from) { $0.name = to }
    func rename(_ names: [String]) -> [String] { names.map { $0 == from ? to : $0 } }
    for var k in t.constraints where k.columns.contains(from) {
      k.definition = ColumnRename.constraint(k.definition, from: from, to: to) ?? k.definition
      k.columns = rename(k.columns)
      t.constraints.insert(k)
    }
    for var i in t.indexes where i.columns.contains(from) {
      for (n, k) in i.keys.enumerated() {
        if k.column == from { i.keys[n].column = to }
        if let e = k.expression { i.keys[n].expression = ColumnRename.expression(e, from: from, to: to) ?? e }
      }
      i.include = rename(i.include)
      i.predicate = i.predicate.map { ColumnRename.expression($0, from: from, to: to) ?? $0 }
      i.columns = rename(i.columns)
      t.indexes.insert(i)
    }
    for var g in t.triggers where g.columns.contains(from) || g.definition.contains(from) {
      g.definition = ColumnRename.statement(g.definition, from: from, to: to) ?? g.definition
      g.columns = rename(g.columns)
      t.triggers.insert(g)
    }
    for var x in t.statistics where x.columns.contains(from) {
      x.definition = ColumnRename.statement(x.definition, from: from, to: to) ?? x.definition
      x.columns = rename(x.columns)
      t.statistics.insert(x)
    }
    schema.tables[key] = t
    for other in schema.tables {
      for var k in other.constraints where k.kind == .foreignKey && k.references?.table == key {
        guard let columns = k.references?.columns, columns.contains(from) else { continue }
        willChange(other.name)
        k.definition = ColumnRename.referencedColumn(k.definition, from: from, to: to) ?? k.definition
        k.references?.columns = rename(columns)
        schema.tables[other.name]?.constraints.insert(k)
      }
    }
  }

  /// Moves the column to the end, as replacing it by a new column does, and puts the lists kept
  /// in column order (a CHECK's columns, an index's, a trigger's, a statistics object's) in the
  /// new order.
  mutating func moveColumnToEnd(_ table: QualifiedName, _ column: String) {
    let key = Self.resolve(table)
    willChange(table)
    guard var t = schema.tables[key], let index = t.columnIndex(column) else { return }
    t.columns.append(t.columns.remove(at: index))
    for var k in t.constraints where k.kind == .check && k.columns.contains(column) {
      k.columns = t.inColumnOrder(k.columns)
      t.constraints.insert(k)
    }
    for var i in t.indexes where i.columns.contains(column) {
      i.columns = t.inColumnOrder(i.columns)
      t.indexes.insert(i)
    }
    for var g in t.triggers where g.columns.contains(column) {
      g.columns = t.inColumnOrder(g.columns)
      t.triggers.insert(g)
    }
    for var x in t.statistics where x.columns.contains(column) {
      x.columns = t.inColumnOrder(x.columns)
      x.definition = ColumnRename.statisticsInColumnOrder(x.definition, order: t.columns.map(\.name)) ?? x.definition
      t.statistics.insert(x)
    }
    schema.tables[key] = t
  }

  /// Applies a `sql` change's DDL (`up`), read as a schema file's statements are
  /// (`SchemaFileReader.apply`), and returns what the reader could not take: statements it
  /// cannot read, and objects a snapshot leaves out. The model then lacks what those made.
  mutating func applySQL(_ text: String) -> [Diagnostic] {
    let reading = SchemaFileReader.apply(text, file: "up", to: schema)
    for table in schema.tables where reading.snapshot.tables[table.name] != table { willChange(table.name) }
    for table in reading.snapshot.tables where !schema.tables.contains(table.name) { willChange(table.name) }
    for table in schema.tables { unregister(table) }
    schema = reading.snapshot
    for table in schema.tables { register(table) }
    return reading.diagnostics
  }

  /// Changes what a table has besides its columns and constraints (its comment, replica identity).
  mutating func setTable(_ table: QualifiedName, _ update: (inout SchemaSnapshot.Table) -> Void) {
    willChange(table)
    guard var t = schema.tables[Self.resolve(table)] else { return }
    update(&t)
    schema.tables[t.name] = t
  }

  /// Renames a constraint and, for a key, its index (PostgreSQL renames them together); a NOT
  /// NULL constraint (PostgreSQL 18) keeps its column.
  mutating func renameConstraint(_ table: QualifiedName, from: String, to: String) {
    let key = Self.resolve(table)
    willChange(key)
    guard var t = schema.tables[key] else { return }
    if var k = t.constraints.remove(from) {
      k.name = to
      t.constraints.insert(k)
      if k.hasIndex {
        indexes[key.sibling(from)] = nil
        indexes[key.sibling(to)] = IndexOwner(relation: key, constraint: true)
        if t.replicaIdentity == .index(from) { t.replicaIdentity = .index(to) }
      }
    } else if let column = t.columns.first(where: { $0.notNull?.name == from }) {
      t.updateColumn(column.name) { $0.notNull?.name = to }
    }
    schema.tables[key] = t
  }

  mutating func setColumn(_ table: QualifiedName, _ column: String, _ update: (inout Column) -> Void) {
    willChange(table)
    schema.tables[Self.resolve(table)]?.updateColumn(column) {
      update(&$0)
      $0.type = Self.displayType($0.type)
    }
  }
}

extension SchemaSnapshot.Column {
  /// NULLs allowed (no NOT NULL, or one not yet valid).
  var nullable: Bool { !isNotNull }

  /// A NOT NULL set here gets the name PostgreSQL 18 would give it (`<table>_<column>_not_null`).
  mutating func setNullable(_ nullable: Bool, table: QualifiedName) {
    if nullable {
      notNull = nil
    } else if !isNotNull {
      notNull = .init(name: SchemaSnapshot.NotNull.defaultName(table: table.name, column: name))
    }
  }
}

extension SchemaSnapshot.Constraint {
  /// A primary key, unique or exclusion constraint: one with an index of its name.
  var hasIndex: Bool { kind == .primaryKey || kind == .unique || kind == .exclusion }

  /// A primary key or unique constraint an intent adds.
  static func intentKey(_ name: String, _ kind: Kind, _ columns: [String]) -> Self {
    Self(name: name, kind: kind, definition: keyDefinition(kind: kind, columns: columns), columns: columns)
  }

  /// A CHECK an intent adds, with its expression as written (`columns`: those the planner knows it uses).
  static func intentCheck(_ name: String, _ expression: String, columns: [String]) -> Self {
    Self(name: name, kind: .check, definition: "CHECK (\(expression))", columns: columns)
  }

  /// A foreign key an intent adds, with its actions.
  static func intentForeignKey(
    _ name: String, _ columns: [String], _ target: SchemaSnapshot.ForeignKeyTarget, onDelete: ReferentialAction? = nil,
    onUpdate: ReferentialAction? = nil
  ) -> Self {
    var target = target
    target.table = SchemaModel.resolve(target.table)
    return Self(
      name: name, kind: .foreignKey,
      definition: foreignKeyDefinition(columns: columns, references: target, onUpdate: onUpdate?.sql, onDelete: onDelete?.sql),
      columns: columns, references: target)
  }
}
