/// What the live catalog must show once a step is done. The executor checks it to resume after a
/// crash, and `verify` checks it to find drift. Each case carries exactly what its check needs.
///
/// In plan.json a postcondition is one object: `kind` and the case's fields (`object`, `table`,
/// `column`, `name`, `type`, `nullable`, `default`, `validated`, `unique`, `valid`, `predicate`);
/// the same shape in plan formats 1 and 2.
public enum Postcondition: Hashable, Sendable, Codable {
  case tableExists(QualifiedName)
  case tableAbsent(QualifiedName)
  /// A view (kept under a renamed table's old name) exists.
  case viewExists(QualifiedName)
  case viewAbsent(QualifiedName)
  /// The column exists; with `type`, of that type (as the server canonicalises it); with
  /// `nullable`, with that nullability.
  case columnExists(QualifiedName, String, type: String?, nullable: Bool?)
  case columnAbsent(QualifiedName, String)
  /// The column has this default expression (as written in the intent); nil means none.
  case columnDefault(QualifiedName, String, String?)
  /// The constraint exists on the table; `validated` demands `convalidated`.
  case constraintExists(QualifiedName, String, validated: Bool)
  case constraintAbsent(QualifiedName, String)
  /// The index exists on `table`, valid and ready, unique or not as `unique` says.
  case indexExists(QualifiedName, on: QualifiedName, unique: Bool)
  case indexAbsent(QualifiedName)
  /// The trigger exists on the table and is enabled.
  case triggerExists(QualifiedName, String)
  case triggerAbsent(QualifiedName, String)
  /// At least one function of that name exists.
  case functionExists(QualifiedName)
  case functionAbsent(QualifiedName)
  /// No row of the table matches the predicate: a backfill is complete.
  case noRowsMatch(QualifiedName, String)
  /// A `sql` step: nothing the planner can check; the journal alone records it.
  case unchecked

  /// The postcondition's name in plan.json.
  public enum Kind: String, Sendable, Codable, CaseIterable {
    case tableExists = "table_exists"
    case tableAbsent = "table_absent"
    case viewExists = "view_exists"
    case viewAbsent = "view_absent"
    case columnExists = "column_exists"
    case columnAbsent = "column_absent"
    case columnDefault = "column_default"
    case constraintExists = "constraint_exists"
    case constraintAbsent = "constraint_absent"
    case indexExists = "index_exists"
    case indexAbsent = "index_absent"
    case triggerExists = "trigger_exists"
    case triggerAbsent = "trigger_absent"
    case functionExists = "function_exists"
    case functionAbsent = "function_absent"
    case noRowsMatch = "no_rows_match"
    case unchecked
  }

  /// Which check it is, as plan.json names it.
  public var kind: Kind {
    switch self {
    case .tableExists: .tableExists
    case .tableAbsent: .tableAbsent
    case .viewExists: .viewExists
    case .viewAbsent: .viewAbsent
    case .columnExists: .columnExists
    case .columnAbsent: .columnAbsent
    case .columnDefault: .columnDefault
    case .constraintExists: .constraintExists
    case .constraintAbsent: .constraintAbsent
    case .indexExists: .indexExists
    case .indexAbsent: .indexAbsent
    case .triggerExists: .triggerExists
    case .triggerAbsent: .triggerAbsent
    case .functionExists: .functionExists
    case .functionAbsent: .functionAbsent
    case .noRowsMatch: .noRowsMatch
    case .unchecked: .unchecked
    }
  }

  /// The relation the condition is about: the table of a column, constraint, trigger, index or
  /// row check, or the table, view or function itself.
  public var subject: QualifiedName? {
    switch self {
    case .tableExists(let o), .tableAbsent(let o), .viewExists(let o), .viewAbsent(let o), .functionExists(let o),
      .functionAbsent(let o):
      o
    case .columnExists(let t, _, _, _), .columnAbsent(let t, _), .columnDefault(let t, _, _), .constraintExists(let t, _, _),
      .constraintAbsent(let t, _), .triggerExists(let t, _), .triggerAbsent(let t, _), .noRowsMatch(let t, _):
      t
    case .indexExists(let index, let table, _): index.schema == nil ? table.sibling(index.name) : index
    case .indexAbsent(let index): index
    case .unchecked: nil
    }
  }

  /// The object a finding about this condition names: the index, table, view or function, or the
  /// table for a column, constraint, trigger or row check.
  public var objectDescription: String? { subject?.description }

  /// The table a column, constraint, trigger, row or index check is on (nil for checks of a
  /// table, view or function itself, whose name is `subject`).
  public var table: QualifiedName? {
    switch self {
    case .columnExists(let t, _, _, _), .columnAbsent(let t, _), .columnDefault(let t, _, _), .constraintExists(let t, _, _),
      .constraintAbsent(let t, _), .triggerExists(let t, _), .triggerAbsent(let t, _), .noRowsMatch(let t, _),
      .indexExists(_, let t, _):
      t
    default: nil
    }
  }

  /// The column a column check is about.
  public var column: String? {
    switch self {
    case .columnExists(_, let c, _, _), .columnAbsent(_, let c), .columnDefault(_, let c, _): c
    default: nil
    }
  }

  /// The constraint or trigger a check is about.
  public var name: String? {
    switch self {
    case .constraintExists(_, let n, _), .constraintAbsent(_, let n), .triggerExists(_, let n), .triggerAbsent(_, let n): n
    default: nil
    }
  }

  /// Reads the JSON object described on the type; a field the kind does not take is an error.
  public init(from decoder: any Decoder) throws {
    let c = try ConditionFields(decoder)
    switch try c.kind(Kind.self) {
    case .tableExists: self = .tableExists(try c.object())
    case .tableAbsent: self = .tableAbsent(try c.object())
    case .viewExists: self = .viewExists(try c.object())
    case .viewAbsent: self = .viewAbsent(try c.object())
    case .columnExists:
      try c.allow(.table, .column, .type, .nullable)
      self = .columnExists(
        try c.table(), try c.string(.column), type: try c.optionalString(.type), nullable: try c.optionalBool(.nullable))
    case .columnAbsent:
      try c.allow(.table, .column)
      self = .columnAbsent(try c.table(), try c.string(.column))
    case .columnDefault:
      try c.allow(.table, .column, .defaultExpression)
      self = .columnDefault(try c.table(), try c.string(.column), try c.optionalString(.defaultExpression))
    case .constraintExists:
      try c.allow(.table, .name, .validated)
      self = .constraintExists(try c.table(), try c.string(.name), validated: try c.bool(.validated))
    case .constraintAbsent:
      try c.allow(.table, .name)
      self = .constraintAbsent(try c.table(), try c.string(.name))
    case .indexExists:
      try c.allow(.object, .table, .unique, .valid)
      // Format 1 wrote `valid: true` on every index check; nothing ever wrote false.
      if try c.optionalBool(.valid) == false { throw c.error(.valid, "an index check that accepts an invalid index") }
      self = .indexExists(
        try c.qualifiedName(.object), on: try c.qualifiedName(.table), unique: try c.bool(.unique))
    case .indexAbsent:
      try c.allow(.object, .table)
      // An index lives in its table's schema: a `table` written beside an unqualified index names it.
      let index = try c.qualifiedName(.object)
      let table = try c.optionalQualifiedName(.table)
      self = .indexAbsent(index.schema == nil ? QualifiedName(schema: table?.schema, index.name) : index)
    case .triggerExists:
      try c.allow(.table, .name)
      self = .triggerExists(try c.table(), try c.string(.name))
    case .triggerAbsent:
      try c.allow(.table, .name)
      self = .triggerAbsent(try c.table(), try c.string(.name))
    case .functionExists: self = .functionExists(try c.object())
    case .functionAbsent: self = .functionAbsent(try c.object())
    case .noRowsMatch:
      try c.allow(.table, .predicate)
      self = .noRowsMatch(try c.table(), try c.string(.predicate))
    case .unchecked:
      try c.allow()
      self = .unchecked
    }
  }

  /// Writes the fields of the case only.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: ConditionKey.self)
    try c.encode(kind.rawValue, forKey: .kind)
    switch self {
    case .tableExists(let o), .tableAbsent(let o), .viewExists(let o), .viewAbsent(let o), .functionExists(let o),
      .functionAbsent(let o), .indexAbsent(let o):
      try c.encode(o, forKey: .object)
    case .columnExists(let t, let column, let type, let nullable):
      try c.encode(t, forKey: .table)
      try c.encode(column, forKey: .column)
      try c.encodeIfPresent(type, forKey: .type)
      try c.encodeIfPresent(nullable, forKey: .nullable)
    case .columnAbsent(let t, let column):
      try c.encode(t, forKey: .table)
      try c.encode(column, forKey: .column)
    case .columnDefault(let t, let column, let expression):
      try c.encode(t, forKey: .table)
      try c.encode(column, forKey: .column)
      try c.encodeIfPresent(expression, forKey: .defaultExpression)
    case .constraintExists(let t, let name, let validated):
      try c.encode(t, forKey: .table)
      try c.encode(name, forKey: .name)
      try c.encode(validated, forKey: .validated)
    case .constraintAbsent(let t, let name), .triggerExists(let t, let name), .triggerAbsent(let t, let name):
      try c.encode(t, forKey: .table)
      try c.encode(name, forKey: .name)
    case .indexExists(let index, let table, let unique):
      try c.encode(index, forKey: .object)
      try c.encode(table, forKey: .table)
      try c.encode(unique, forKey: .unique)
      try c.encode(true, forKey: .valid)
    case .noRowsMatch(let t, let predicate):
      try c.encode(t, forKey: .table)
      try c.encode(predicate, forKey: .predicate)
    case .unchecked:
      break
    }
  }
}

/// What the live catalog must show before a step that is not done yet may run. Checked before
/// anything of the step runs: when one does not hold, the step is refused and nothing changes.
public enum Precondition: Hashable, Sendable, Codable {
  /// `column` of the table can be replaced by a new column without losing anything dropping it
  /// takes along (indexes, constraints, foreign keys, views, owned sequences) but what the plan
  /// carries over to the new column (`carried`, as `CarriedObject` keys), and the new column
  /// keeps its NOT NULL (`nullable` false) and its default (`default` set).
  case columnReplaceable(QualifiedName, String, nullable: Bool, default: String?, carried: [String] = [])

  /// The precondition's name in plan.json.
  public enum Kind: String, Sendable, Codable, CaseIterable {
    case columnReplaceable = "column_replaceable"
  }

  /// The table the condition is about.
  public var table: QualifiedName {
    switch self {
    case .columnReplaceable(let t, _, _, _, _): t
    }
  }

  /// Which check it is, as plan.json names it.
  public var kind: Kind {
    switch self {
    case .columnReplaceable: .columnReplaceable
    }
  }

  /// Reads the JSON object described on `Postcondition`, strictly.
  public init(from decoder: any Decoder) throws {
    let c = try ConditionFields(decoder)
    switch try c.kind(Kind.self) {
    case .columnReplaceable:
      try c.allow(.table, .column, .nullable, .defaultExpression, .carried)
      self = .columnReplaceable(
        try c.table(), try c.string(.column), nullable: try c.bool(.nullable), default: try c.optionalString(.defaultExpression),
        carried: try c.c.decodeIfPresent([String].self, forKey: .carried) ?? [])
    }
  }

  /// Writes the fields of the case only.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: ConditionKey.self)
    try c.encode(kind.rawValue, forKey: .kind)
    switch self {
    case .columnReplaceable(let t, let column, let nullable, let expression, let carried):
      try c.encode(t, forKey: .table)
      try c.encode(column, forKey: .column)
      try c.encode(nullable, forKey: .nullable)
      try c.encodeIfPresent(expression, forKey: .defaultExpression)
      if !carried.isEmpty { try c.encode(carried, forKey: .carried) }
    }
  }
}

/// The key of an object that depends on a column, as `Precondition.columnReplaceable` lists
/// what a plan carries over and the executor names what the live catalog has: one spelling on
/// both sides: exact names, `schema.name` where an object is schema-qualified (an unqualified
/// name is in `public`).
public enum CarriedObject {
  public static func index(_ name: String) -> String { "index:\(name)" }
  public static func constraint(_ table: QualifiedName, _ name: String) -> String { "constraint:\(path(table)):\(name)" }
  public static func trigger(_ name: String) -> String { "trigger:\(name)" }
  /// The column's identity (not a dependent: a property of the column, which the plan recreates).
  public static func identity(_ column: String) -> String { "identity:\(column)" }
  public static func statistics(_ name: QualifiedName) -> String { "statistics:\(path(name))" }
  public static func sequence(_ name: QualifiedName) -> String { "sequence:\(path(name))" }
  private static func path(_ name: QualifiedName) -> String { "\(name.schema ?? "public").\(name.name)" }
}

/// The JSON keys of postconditions and preconditions.
enum ConditionKey: String, CodingKey, CaseIterable {
  case kind, object, table, column, name, type, nullable, validated, valid, unique, predicate, carried
  case defaultExpression = "default"
}

/// Reads a condition's fields strictly: a field its kind does not take is an error, not ignored,
/// so a hand-edited check is never silently weakened.
private struct ConditionFields {
  let c: KeyedDecodingContainer<ConditionKey>
  let kindName: String

  init(_ decoder: any Decoder) throws {
    c = try decoder.container(keyedBy: ConditionKey.self)
    kindName = try c.decode(String.self, forKey: .kind)
  }

  func kind<K: RawRepresentable<String> & CaseIterable>(_ type: K.Type) throws -> K {
    guard let kind = K(rawValue: kindName) else {
      throw DecodingError.dataCorruptedError(
        forKey: .kind, in: c,
        debugDescription: "unknown kind \(kindName) (expected one of: \(K.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    return kind
  }

  /// Fails when a key other than `kind` and `keys` is present.
  func allow(_ keys: ConditionKey...) throws {
    for key in c.allKeys where key != .kind && !keys.contains(key) {
      throw error(key, "a field \(kindName) does not take")
    }
  }

  func error(_ key: ConditionKey, _ what: String) -> DecodingError {
    DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "\(kindName): `\(key.rawValue)` is \(what)")
  }

  func object() throws -> QualifiedName {
    try allow(.object)
    return try qualifiedName(.object)
  }
  func table() throws -> QualifiedName { try qualifiedName(.table) }
  func qualifiedName(_ key: ConditionKey) throws -> QualifiedName { try c.decode(QualifiedName.self, forKey: key) }
  func optionalQualifiedName(_ key: ConditionKey) throws -> QualifiedName? {
    try c.decodeIfPresent(QualifiedName.self, forKey: key)
  }
  func string(_ key: ConditionKey) throws -> String { try c.decode(String.self, forKey: key) }
  func optionalString(_ key: ConditionKey) throws -> String? { try c.decodeIfPresent(String.self, forKey: key) }
  func bool(_ key: ConditionKey) throws -> Bool { try c.decode(Bool.self, forKey: key) }
  func optionalBool(_ key: ConditionKey) throws -> Bool? { try c.decodeIfPresent(Bool.self, forKey: key) }
}
