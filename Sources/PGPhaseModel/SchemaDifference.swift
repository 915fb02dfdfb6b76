/// One way two snapshots differ, named in a user's words: what object, how the first snapshot
/// (the expected one: a plan's assumption, a dump) has it, and how the second differs.
///
/// `public.orders.amount: expected integer NOT NULL DEFAULT 0 with index orders_amount_idx;
/// found also index orders_amount_brin`.
public struct SchemaDifference: Hashable, Sendable, CustomStringConvertible {
  /// `public.orders.amount`, `table public.orders`, `index public.orders_amount_idx`, ...
  public var object: String
  /// The object in the first snapshot, described; nil when it has none.
  public var expected: String?
  /// The object in the second snapshot, described; nil when it has none.
  public var actual: String?
  /// How the second differs from the first, short: `also index orders_amount_brin`, `bigint`,
  /// `no DEFAULT`; the whole description when there is nothing shorter to say.
  public var change: String

  public init(object: String, expected: String?, actual: String?, change: String) {
    self.object = object
    self.expected = expected
    self.actual = actual
    self.change = change
  }

  /// `object: <expectedLabel> <expected>; <actualLabel> <change>`, e.g. with "plan assumed" and
  /// "live has" for the drift guard.
  public func message(expected expectedLabel: String = "expected", actual actualLabel: String = "found") -> String {
    "\(object): \(expectedLabel) \(expected ?? "none"); \(actualLabel) \(actual == nil ? "none" : change)"
  }

  public var description: String { message() }
}

extension SchemaSnapshot {
  /// How `other` differs from this snapshot, object by object, in a stable order. Empty when
  /// they are equal. With `tables`, only those tables (and their columns, constraints, indexes,
  /// triggers and statistics) are compared, as the drift guard compares what a plan touches.
  public func differences(to other: SchemaSnapshot, tables only: Set<QualifiedName>? = nil) -> [SchemaDifference] {
    var out: [SchemaDifference] = []
    if only == nil {
      out += Self.compare(schemas, other.schemas) { s in
        ("schema \(SQL.quoteIdentifier(s.name))", s.comment.map { "comment \(SQL.quoteLiteral($0))" } ?? "schema")
      }
      out += Self.compare(extensions, other.extensions) { e in
        ("extension \(SQL.quoteIdentifier(e.name))", "in schema \(SQL.quoteIdentifier(e.schema))")
      }
      out += Self.compare(types, other.types) { t in ("type \(t.name.sql)", Self.typeSQL(t).statementText) }
      out += Self.compare(sequences, other.sequences) { s in
        let text = Self.sequenceSQL(s).statementText + (s.ownedBy.map { " OWNED BY \($0)" } ?? "")
        return ("sequence \(s.name.sql)", text)
      }
      out += Self.compare(functions, other.functions) { f in
        ("\(f.kind.rawValue) \(f.key)", Self.functionSQL(f).statementText)
      }
      out += Self.compare(views, other.views) { v in
        (
          "\(v.materialized ? "materialized view" : "view") \(v.name.sql)",
          Self.viewSQL(v).statementText
        )
      }
    }
    let mine = ColumnDependents(self)
    let theirs = ColumnDependents(other)
    let names = Set(tables.keys).union(other.tables.keys).filter { only?.contains($0) ?? true }.sorted()
    for name in names {
      switch (tables[name], other.tables[name]) {
      case (let a?, let b?): out += tableDifferences(a, b, mine, theirs, other: other)
      case (let a?, nil):
        out.append(SchemaDifference(object: "table \(name.sql)", expected: tableSummary(a), actual: nil, change: "none"))
      case (nil, let b?):
        let summary = other.tableSummary(b)
        out.append(SchemaDifference(object: "table \(name.sql)", expected: nil, actual: summary, change: summary))
      case (nil, nil): break
      }
    }
    return out
  }

  /// `table with columns a, b, c` (what a missing or extra table is in a message).
  func tableSummary(_ table: Table) -> String {
    "table with columns " + table.columns.map { SQL.quoteIdentifier($0.name) }.joined(separator: ", ")
  }

  func tableDifferences(
    _ a: Table, _ b: Table, _ mine: ColumnDependents, _ theirs: ColumnDependents, other: SchemaSnapshot
  ) -> [SchemaDifference] {
    var out: [SchemaDifference] = []
    let table = "table \(a.name.sql)"
    let tableFacets = { (t: Table) -> [Facet] in
      var facets: [Facet] = []
      if t.unlogged { facets.append(Facet("logging", "UNLOGGED")) }
      if let key = t.partitionKey { facets.append(Facet("partitioning", "PARTITION BY \(key)")) }
      if let p = t.partitionOf { facets.append(Facet("partition", "PARTITION OF \(p.parent.sql) \(p.bound)")) }
      switch t.replicaIdentity {
      case .default: break
      case .nothing: facets.append(Facet("replica identity", "REPLICA IDENTITY NOTHING"))
      case .full: facets.append(Facet("replica identity", "REPLICA IDENTITY FULL"))
      case .index(let i): facets.append(Facet("replica identity", "REPLICA IDENTITY USING INDEX \(SQL.quoteIdentifier(i))"))
      }
      if !t.options.isEmpty { facets.append(Facet("storage parameters", "WITH (\(Self.settingsSQL(t.options)))")) }
      if let c = t.comment { facets.append(Facet("comment", "comment \(SQL.quoteLiteral(c))")) }
      return facets
    }
    if let d = Self.facetDifference(object: table, tableFacets(a), tableFacets(b), empty: "a plain table") { out.append(d) }
    let columnNames = a.columns.map(\.name)
    let otherNames = b.columns.map(\.name)
    if Set(columnNames) == Set(otherNames) && columnNames != otherNames {
      let list = { (names: [String]) in "columns in the order " + names.map(SQL.quoteIdentifier).joined(separator: ", ") }
      out.append(SchemaDifference(object: table, expected: list(columnNames), actual: list(otherNames), change: list(otherNames)))
    }
    for column in columnNames + otherNames.filter({ !columnNames.contains($0) }) {
      let object = "\(a.name.sql).\(SQL.quoteIdentifier(column))"
      let left = a.column(column).map { Self.columnFacets($0, in: a, mine, snapshot: self) }
      let right = b.column(column).map { Self.columnFacets($0, in: b, theirs, snapshot: other) }
      switch (left, right) {
      case (let l?, let r?):
        if let d = Self.facetDifference(object: object, l, r, empty: "") { out.append(d) }
      case (let l?, nil):
        out.append(SchemaDifference(object: object, expected: Self.describe(l), actual: nil, change: "none"))
      case (nil, let r?):
        out.append(SchemaDifference(object: object, expected: nil, actual: Self.describe(r), change: Self.describe(r)))
      case (nil, nil): break
      }
    }
    out += Self.compare(a.constraints, b.constraints) { c in
      ("\(c.kind.words) \(SQL.quoteIdentifier(c.name)) on \(a.name.sql)", Self.constraintDescription(c))
    }
    out += Self.compare(a.indexes, b.indexes) { i in
      let text =
        Self.indexSQL(i, on: a.name, partitioned: a.partitionKey != nil).statementText
        + (i.partitionOf.map { " (partition of index \($0.sql))" } ?? "")
      return ("index \(a.name.sibling(i.name).sql)", text)
    }
    out += Self.compare(a.triggers, b.triggers) { t in
      ("trigger \(SQL.quoteIdentifier(t.name)) on \(a.name.sql)", Self.triggerSQL(t, on: a.name).statementText)
    }
    out += Self.compare(a.statistics, b.statistics) { s in
      let text =
        s.definition + (s.target.map { " SET STATISTICS \($0)" } ?? "")
        + (s.comment.map { " comment \(SQL.quoteLiteral($0))" } ?? "")
      return ("statistics \(s.name.sql)", text)
    }
    return out
  }

  static func constraintDescription(_ c: Constraint) -> String {
    var text = c.definition
    if let parent = c.partitionOf { text += " (partition of index \(parent.sql))" }
    if let comment = c.comment { text += " comment \(SQL.quoteLiteral(comment))" }
    return text
  }

  static func columnFacets(_ column: Column, in table: Table, _ dependents: ColumnDependents, snapshot: SchemaSnapshot) -> [Facet]
  {
    var facets = [Facet("type", column.type + (column.collation.map { " COLLATE \($0.sql)" } ?? ""))]
    if let notNull = column.notNull {
      var text = "NOT NULL"
      if !notNull.validated { text += " NOT VALID" }
      if notNull.noInherit { text += " NO INHERIT" }
      if notNull.name != NotNull.defaultName(table: table.name.name, column: column.name) {
        text += " (constraint \(SQL.quoteIdentifier(notNull.name)))"
      }
      facets.append(Facet("NOT NULL", text))
    }
    if let d = column.defaultExpression { facets.append(Facet("DEFAULT", "DEFAULT \(d)")) }
    if let g = column.generated {
      facets.append(Facet("generation expression", "GENERATED ALWAYS AS (\(g.expression)) \(g.stored ? "STORED" : "VIRTUAL")"))
    }
    if let i = column.identity {
      let options = Self.sequenceOptionsSQL(i.options, includeType: false).joined(separator: " ")
      facets.append(
        Facet(
          "identity",
          "GENERATED \(i.kind == .always ? "ALWAYS" : "BY DEFAULT") AS IDENTITY (SEQUENCE NAME \(i.sequence.sql) \(options))"))
    }
    if let c = column.comment { facets.append(Facet("comment", "comment \(SQL.quoteLiteral(c))")) }
    for dependent in dependents.of(column.name, in: table.name, snapshot: snapshot) {
      facets.append(Facet(dependent.description, dependent.description, isDependent: true))
    }
    return facets
  }

  /// A property of an object, for comparing two of them part by part.
  struct Facet: Hashable {
    /// What it is about (`DEFAULT`, `type`, or the dependent object itself).
    var category: String
    var text: String
    /// An object that uses the column (`index i`): listed after `with`.
    var isDependent: Bool = false

    init(_ category: String, _ text: String, isDependent: Bool = false) {
      self.category = category
      self.text = text
      self.isDependent = isDependent
    }
  }

  /// `integer NOT NULL DEFAULT 0 with index a, constraint b`.
  static func describe(_ facets: [Facet]) -> String {
    let own = facets.filter { !$0.isDependent }.map(\.text)
    let dependents = facets.filter(\.isDependent).map(\.text)
    var text = own.joined(separator: " ")
    if !dependents.isEmpty { text += (text.isEmpty ? "" : " ") + "with " + dependents.joined(separator: ", ") }
    return text
  }

  static func facetDifference(object: String, _ a: [Facet], _ b: [Facet], empty: String) -> SchemaDifference? {
    guard a != b else { return nil }
    var parts: [String] = []
    let bByCategory = Dictionary(b.map { ($0.category, $0) }, uniquingKeysWith: { first, _ in first })
    let aCategories = Set(a.map(\.category))
    for facet in a {
      if let other = bByCategory[facet.category] {
        if other.text != facet.text { parts.append(other.text) }
      } else {
        parts.append(facet.isDependent ? "no \(facet.text)" : "no \(facet.category)")
      }
    }
    for facet in b where !aCategories.contains(facet.category) {
      parts.append(facet.isDependent ? "also \(facet.text)" : facet.text)
    }
    if parts.isEmpty {
      // Same parts in another order (the dependents are sorted, so this is the properties').
      parts = [describe(b)]
    }
    let left = describe(a)
    let right = describe(b)
    return SchemaDifference(
      object: object, expected: left.isEmpty ? empty : left, actual: right.isEmpty ? empty : right,
      change: parts.joined(separator: ", "))
  }

  /// Objects of one kind: missing, extra, or described differently. `describe` gives an object's
  /// name in messages and its description.
  static func compare<T: SchemaSnapshotObject>(
    _ a: SchemaObjectMap<T>, _ b: SchemaObjectMap<T>, describe: (T) -> (name: String, text: String)
  ) -> [SchemaDifference] {
    var out: [SchemaDifference] = []
    for key in Set(a.keys).union(b.keys).sorted() {
      switch (a[key], b[key]) {
      case (let x?, let y?):
        guard x != y else { continue }
        let (name, left) = describe(x)
        let right = describe(y).text
        // Equal descriptions of unequal objects: they differ in what the description leaves out.
        out.append(
          SchemaDifference(object: name, expected: left, actual: right, change: right == left ? "\(right) (in details)" : right))
      case (let x?, nil):
        let (name, text) = describe(x)
        out.append(SchemaDifference(object: name, expected: text, actual: nil, change: "none"))
      case (nil, let y?):
        let (name, text) = describe(y)
        out.append(SchemaDifference(object: name, expected: nil, actual: text, change: text))
      case (nil, nil): break
      }
    }
    return out
  }
}

/// Every column's dependents, found in one pass over a snapshot (other tables' foreign keys and
/// views are indexed once instead of searched for each column).
extension SchemaSnapshot.Constraint {
  /// The INCLUDE columns of a primary key or unique constraint (its index has them, `conkey`
  /// does not), read from the definition as `pg_get_constraintdef` prints it (see
  /// `Index(keyConstraint:name:)`).
  var includedColumns: [String] {
    guard kind == .primaryKey || kind == .unique else { return [] }
    return SchemaSnapshot.Index(keyConstraint: definition, name: name)?.include ?? []
  }
}

struct ColumnDependents {
  var incoming: [SchemaSnapshot.ColumnPath: [SchemaSnapshot.ColumnDependent]] = [:]

  init(_ snapshot: SchemaSnapshot) {
    for table in snapshot.tables {
      for constraint in table.constraints {
        guard let reference = constraint.references else { continue }
        for column in reference.columns {
          incoming[.init(table: reference.table, column: column), default: []].append(
            .incomingForeignKey(table: table.name, constraint: constraint.name))
        }
      }
    }
    for view in snapshot.views {
      for dependency in view.dependencies {
        for column in dependency.columns {
          incoming[.init(table: dependency.relation, column: column), default: []].append(
            .view(view.name, materialized: view.materialized))
        }
      }
    }
    for sequence in snapshot.sequences {
      if let owner = sequence.ownedBy { incoming[owner, default: []].append(.ownedSequence(sequence.name)) }
    }
  }

  /// The same list as `SchemaSnapshot.dependents(ofColumn:in:)`, sorted by description.
  func of(_ column: String, in table: QualifiedName, snapshot: SchemaSnapshot) -> [SchemaSnapshot.ColumnDependent] {
    var out: [SchemaSnapshot.ColumnDependent] = []
    if let t = snapshot.tables[table] {
      for index in t.indexes where index.columns.contains(column) { out.append(.index(index.name)) }
      for constraint in t.constraints
      where constraint.columns.contains(column) || constraint.includedColumns.contains(column) {
        out.append(.constraint(constraint.name, kind: constraint.kind))
      }
      for trigger in t.triggers where trigger.columns.contains(column) { out.append(.trigger(trigger.name)) }
      for statistics in t.statistics where statistics.columns.contains(column) { out.append(.statistics(statistics.name)) }
      for other in t.columns where other.generated?.columns.contains(column) ?? false {
        out.append(.generatedColumn(other.name))
      }
    }
    out += incoming[.init(table: table, column: column)] ?? []
    return Array(Set(out)).sorted { $0.description < $1.description }
  }
}

extension Array where Element == String {
  /// Statements as one line of a message: `CREATE INDEX ...; COMMENT ON INDEX ...`, no final semicolon.
  fileprivate var statementText: String {
    var text = joined(separator: " ").replacingNewlines()
    if text.hasSuffix(";") { text.removeLast() }
    return text
  }
}

extension String {
  fileprivate func replacingNewlines() -> String {
    var out = ""
    var lastWasSpace = false
    for c in self {
      if c == "\n" || c == " " {
        if !lastWasSpace { out.append(" ") }
        lastWasSpace = true
      } else {
        out.append(c)
        lastWasSpace = false
      }
    }
    return out
  }
}
