import PGPhaseModel

/// What the planner knows of the schema: only objects that intents create, rename or drop,
/// in apply order. It cannot see the live database (planning is pure), so it checks the
/// intents against each other: two intents creating one object, or a later intent using an
/// object an earlier one dropped.
struct SchemaModel {
  struct Column {
    var type: String
    var nullable: Bool
    var defaultExpression: String?
  }

  struct Origin {
    var intent: String
    var location: SourceLocation
  }

  struct Table {
    var columns: [String: Column] = [:]
    var origin: Origin
  }

  private(set) var tables: [TableKey: Table] = [:]
  /// Tables, columns, indexes and constraints created by an intent, by a display key.
  private var created: [String: Origin] = [:]
  private var dropped: [String: Origin] = [:]

  struct TableKey: Hashable {
    var schema: String
    var name: String
    init(_ name: QualifiedName) {
      schema = name.schema ?? ""
      self.name = name.name
    }
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

  mutating func addTable(_ name: QualifiedName, columns: [ColumnDefinition], origin: Origin) {
    var table = Table(origin: origin)
    for c in columns {
      table.columns[c.name] = Column(type: c.type, nullable: c.nullable && !c.primaryKey, defaultExpression: c.defaultExpression)
    }
    tables[TableKey(name)] = table
  }

  mutating func addColumn(_ table: QualifiedName, _ c: ColumnDefinition) {
    tables[TableKey(table)]?.columns[c.name] = Column(type: c.type, nullable: c.nullable, defaultExpression: c.defaultExpression)
  }

  mutating func renameTable(_ from: QualifiedName, to: QualifiedName) {
    if let t = tables.removeValue(forKey: TableKey(from)) { tables[TableKey(to)] = t }
  }

  mutating func dropTable(_ name: QualifiedName) { tables[TableKey(name)] = nil }

  mutating func dropColumn(_ table: QualifiedName, _ column: String) {
    tables[TableKey(table)]?.columns[column] = nil
  }

  mutating func renameColumn(_ table: QualifiedName, from: String, to: String) {
    let key = TableKey(table)
    if let c = tables[key]?.columns.removeValue(forKey: from) { tables[key]?.columns[to] = c }
  }

  mutating func setColumn(_ table: QualifiedName, _ column: String, _ update: (inout Column) -> Void) {
    let key = TableKey(table)
    if var c = tables[key]?.columns[column] {
      update(&c)
      tables[key]?.columns[column] = c
    }
  }

  func column(_ table: QualifiedName, _ column: String) -> Column? { tables[TableKey(table)]?.columns[column] }
}
