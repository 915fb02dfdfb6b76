/// An object a step brings into existence. pgphase owns exactly these: the executor records each
/// one's identity (oid, and attnum for a column) in the journal when the step creates it, refuses
/// a step whose name is already taken by something it did not create, and undoes (drops) only
/// what its journal says it created. Anything else a step touches (a table it renames, a column
/// whose default it sets) stays the user's.
///
/// In plan.json: `{"kind": "column", "table": {...}, "name": "..."}`; `table` and `index` kinds
/// and the rest take the fields their case has.
public enum CreatedObject: Hashable, Sendable, Codable, CustomStringConvertible {
  /// A table (its columns, constraints and indexes come and go with it).
  case table(QualifiedName)
  /// A view.
  case view(QualifiedName)
  /// A column added to an existing table.
  case column(QualifiedName, String)
  /// A constraint added to an existing table.
  case constraint(QualifiedName, String)
  /// An index, in its table's schema.
  case index(QualifiedName, on: QualifiedName)
  /// A trigger on a table.
  case trigger(QualifiedName, String)
  /// A function taking no arguments (the planner's trigger functions).
  case function(QualifiedName)

  /// The kind's name in plan.json and in the journal.
  public enum Kind: String, Sendable, Codable, CaseIterable {
    case table, view, column, constraint, index, trigger, function
  }

  /// Which kind of object.
  public var kind: Kind {
    switch self {
    case .table: .table
    case .view: .view
    case .column: .column
    case .constraint: .constraint
    case .index: .index
    case .trigger: .trigger
    case .function: .function
    }
  }

  /// The table a column, constraint, index or trigger belongs to (nil for relations and functions).
  public var table: QualifiedName? {
    switch self {
    case .column(let t, _), .constraint(let t, _), .trigger(let t, _), .index(_, let t): t
    case .table, .view, .function: nil
    }
  }

  /// The object's own name (unqualified).
  public var name: String {
    switch self {
    case .table(let o), .view(let o), .function(let o), .index(let o, _): o.name
    case .column(_, let n), .constraint(_, let n), .trigger(_, let n): n
    }
  }

  /// The same object on `table` (for a column, constraint, index or trigger; relations and
  /// functions are returned as they are). An index keeps its name, in `table`'s schema.
  public func onTable(_ table: QualifiedName) -> CreatedObject {
    switch self {
    case .column(_, let n): .column(table, n)
    case .constraint(_, let n): .constraint(table, n)
    case .trigger(_, let n): .trigger(table, n)
    case .index(let i, _): .index(table.sibling(i.name), on: table)
    case .table, .view, .function: self
    }
  }

  /// For people: `column public.t.x`, `index public.t_x_idx on public.t`, `function f()`.
  public var description: String {
    switch self {
    case .table(let o): "table \(o)"
    case .view(let o): "view \(o)"
    case .column(let t, let n): "column \(t).\(SQL.quoteIdentifier(n))"
    case .constraint(let t, let n): "constraint \(SQL.quoteIdentifier(n)) on \(t)"
    case .index(let i, let t): "index \(i) on \(t)"
    case .trigger(let t, let n): "trigger \(SQL.quoteIdentifier(n)) on \(t)"
    case .function(let f): "function \(f)()"
    }
  }

  enum CodingKeys: String, CodingKey { case kind, object, table, name }

  /// Reads `{"kind": ..., <fields>}`; a field the kind does not take is an error.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let kind = try c.decode(Kind.self, forKey: .kind)
    let allowed: Set<CodingKeys> =
      switch kind {
      case .table, .view, .function: [.kind, .object]
      case .index: [.kind, .object, .table]
      case .column, .constraint, .trigger: [.kind, .table, .name]
      }
    for key in c.allKeys where !allowed.contains(key) {
      throw DecodingError.dataCorruptedError(
        forKey: key, in: c, debugDescription: "created \(kind.rawValue): `\(key.rawValue)` is a field it does not take")
    }
    switch kind {
    case .table: self = .table(try c.decode(QualifiedName.self, forKey: .object))
    case .view: self = .view(try c.decode(QualifiedName.self, forKey: .object))
    case .function: self = .function(try c.decode(QualifiedName.self, forKey: .object))
    case .index:
      self = .index(try c.decode(QualifiedName.self, forKey: .object), on: try c.decode(QualifiedName.self, forKey: .table))
    case .column: self = .column(try c.decode(QualifiedName.self, forKey: .table), try c.decode(String.self, forKey: .name))
    case .constraint:
      self = .constraint(try c.decode(QualifiedName.self, forKey: .table), try c.decode(String.self, forKey: .name))
    case .trigger: self = .trigger(try c.decode(QualifiedName.self, forKey: .table), try c.decode(String.self, forKey: .name))
    }
  }

  /// Writes the fields of the case only.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(kind, forKey: .kind)
    switch self {
    case .table(let o), .view(let o), .function(let o): try c.encode(o, forKey: .object)
    case .index(let i, let t):
      try c.encode(i, forKey: .object)
      try c.encode(t, forKey: .table)
    case .column(let t, let n), .constraint(let t, let n), .trigger(let t, let n):
      try c.encode(t, forKey: .table)
      try c.encode(n, forKey: .name)
    }
  }
}

extension Step {
  /// What the step creates: `creates` as the planner declared it, or, for a step read from a
  /// plan written before steps declared it (format 1, early format 2), what that planner's steps
  /// created, derived once from the action and postconditions (see `derivedCreates`).
  public var createdObjects: [CreatedObject] { creates ?? derivedCreates }

  /// What a step of a plan that did not declare `creates` created, as the planner of that time
  /// wrote its steps: the index of an index build; for a transaction, each object its
  /// postconditions say exists, except what such a step did not create: a table a rename moved
  /// (the view under the old name is created), columns and constraints of a table the same step
  /// creates (they come with it), a column check without a type (a nullability change), a column
  /// named in contract (the swap of a converted column into the old name), and a constraint a
  /// validation only validated. User SQL, backfills and the other index actions create nothing
  /// pgphase owns.
  public var derivedCreates: [CreatedObject] {
    switch action {
    case .buildIndex(let build): return [.index(build.index, on: build.table)]
    case .transaction: break
    case .validateConstraint, .rebuildIndex, .dropIndex, .backfill, .sql: return []
    }
    let renamed = tableRename?.to
    var tables: [QualifiedName] = []
    for case .tableExists(let t) in postconditions where t != renamed { tables.append(t) }
    var out: [CreatedObject] = []
    for p in postconditions {
      switch p {
      case .tableExists(let t) where t != renamed: out.append(.table(t))
      case .viewExists(let v): out.append(.view(v))
      case .columnExists(let t, let c, .some, _) where phase != .contract && !tables.contains(t): out.append(.column(t, c))
      // A renamed constraint is the same object (no planner that did not declare `creates` renamed one).
      case .constraintExists(let t, let n, _) where !tables.contains(t) && operation != "rename_constraint":
        out.append(.constraint(t, n))
      case .triggerExists(let t, let n): out.append(.trigger(t, n))
      case .functionExists(let f): out.append(.function(f))
      default: break
      }
    }
    return out
  }

  /// For the step of `rename_table` that renames a table and leaves a view under the old name:
  /// the old and new names. Whatever earlier steps said about objects on `from` is now on `to`.
  public var tableRename: (from: QualifiedName, to: QualifiedName)? {
    guard operation == "rename_table", case .transaction = action else { return nil }
    var to: QualifiedName?
    var from: QualifiedName?
    for p in postconditions {
      if case .tableExists(let t) = p { to = t }
      if case .viewExists(let v) = p { from = v }
    }
    guard let from, let to else { return nil }
    return (from, to)
  }
}

extension Postcondition {
  /// The same condition about an object on `table` instead (for a table a rename moved): checks
  /// of a column, default, constraint, trigger, index or rows move; checks of a relation or a
  /// function itself are returned as they are. An index keeps its name.
  public func onTable(_ table: QualifiedName) -> Postcondition {
    switch self {
    case .columnExists(_, let c, let type, let nullable): .columnExists(table, c, type: type, nullable: nullable)
    case .columnAbsent(_, let c): .columnAbsent(table, c)
    case .columnDefault(_, let c, let d): .columnDefault(table, c, d)
    case .constraintExists(_, let n, let validated): .constraintExists(table, n, validated: validated)
    case .constraintAbsent(_, let n): .constraintAbsent(table, n)
    case .triggerExists(_, let n): .triggerExists(table, n)
    case .triggerAbsent(_, let n): .triggerAbsent(table, n)
    case .noRowsMatch(_, let predicate): .noRowsMatch(table, predicate)
    case .indexExists(let i, _, let unique): .indexExists(i.schema == nil ? i : table.sibling(i.name), on: table, unique: unique)
    case .tableExists, .tableAbsent, .viewExists, .viewAbsent, .indexAbsent, .functionExists, .functionAbsent, .unchecked: self
    }
  }
}
