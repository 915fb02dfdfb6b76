/// One change intent: what a schema change should achieve, as read from one YAML file.
/// The planner decides how.
public struct Intent: Sendable, Equatable {
  /// Unique across a set of intents; intents apply in the order of their ids.
  public var id: String
  public var description: String?
  /// Default schema for unqualified names; nil means the connection's search_path decides.
  public var schema: String?
  public var settings: IntentSettings
  public var changes: [Change]
  /// The file it came from, as the caller named it; used in diagnostics and in the plan.
  public var file: String
  /// Where `id` (or the document, when id is implicit) is, for duplicate-id errors.
  public var location: SourceLocation

  public init(
    id: String, description: String? = nil, schema: String? = nil, settings: IntentSettings = .init(),
    changes: [Change], file: String, location: SourceLocation
  ) {
    self.id = id
    self.description = description
    self.schema = schema
    self.settings = settings
    self.changes = changes
    self.file = file
    self.location = location
  }
}

/// Per-intent overrides of run defaults.
public struct IntentSettings: Sendable, Equatable, Codable {
  /// As PostgreSQL accepts it for `SET lock_timeout`, e.g. `2s` or `500ms`.
  public var lockTimeout: String?
  public var backfillBatchSize: Int?

  public init(lockTimeout: String? = nil, backfillBatchSize: Int? = nil) {
    self.lockTimeout = lockTimeout
    self.backfillBatchSize = backfillBatchSize
  }

  enum CodingKeys: String, CodingKey {
    case lockTimeout = "lock_timeout"
    case backfillBatchSize = "backfill_batch_size"
  }
}

/// One entry of `changes`: an operation plus where each of its fields was written, so later
/// stages (the planner refusing an unsafe request) can point at the exact YAML node.
public struct Change: Sendable, Equatable {
  public var operation: Operation
  public var location: SourceLocation
  /// Locations of fields by dotted path inside the operation, e.g. `column.nullable`.
  public var fieldLocations: [String: SourceLocation]

  public init(_ operation: Operation, location: SourceLocation, fieldLocations: [String: SourceLocation] = [:]) {
    self.operation = operation
    self.location = location
    self.fieldLocations = fieldLocations
  }

  /// The location of a field, or of the change itself when the field was not written.
  public func location(of path: String) -> SourceLocation {
    fieldLocations[path] ?? location
  }
}

/// The operations of the intent language (intents.md).
public enum Operation: Sendable, Equatable {
  case createTable(CreateTable)
  case dropTable(table: QualifiedName)
  case renameTable(from: QualifiedName, to: String)
  case addColumn(AddColumn)
  case dropColumn(table: QualifiedName, column: String)
  case renameColumn(RenameColumn)
  case alterColumn(AlterColumn)
  case setNotNull(table: QualifiedName, column: String, backfill: String?)
  case dropNotNull(table: QualifiedName, column: String)
  case setDefault(table: QualifiedName, column: String, default: String)
  case dropDefault(table: QualifiedName, column: String)
  case addCheck(table: QualifiedName, name: String, expression: String)
  case addForeignKey(AddForeignKey)
  case addUnique(table: QualifiedName, name: String, columns: [String])
  case dropConstraint(table: QualifiedName, name: String)
  case createIndex(CreateIndex)
  case dropIndex(name: QualifiedName)
  case backfill(Backfill)
  case sql(RawSQL)

  /// The operation's key in YAML.
  public var name: String {
    switch self {
    case .createTable: "create_table"
    case .dropTable: "drop_table"
    case .renameTable: "rename_table"
    case .addColumn: "add_column"
    case .dropColumn: "drop_column"
    case .renameColumn: "rename_column"
    case .alterColumn: "alter_column"
    case .setNotNull: "set_not_null"
    case .dropNotNull: "drop_not_null"
    case .setDefault: "set_default"
    case .dropDefault: "drop_default"
    case .addCheck: "add_check"
    case .addForeignKey: "add_foreign_key"
    case .addUnique: "add_unique"
    case .dropConstraint: "drop_constraint"
    case .createIndex: "create_index"
    case .dropIndex: "drop_index"
    case .backfill: "backfill"
    case .sql: "sql"
    }
  }

  /// Every operation key, for did-you-mean hints and the JSON Schema test.
  public static let allNames: [String] = [
    "create_table", "drop_table", "rename_table", "add_column", "drop_column", "rename_column",
    "alter_column", "set_not_null", "drop_not_null", "set_default", "drop_default", "add_check",
    "add_foreign_key", "add_unique", "drop_constraint", "create_index", "drop_index", "backfill", "sql",
  ]
}

public enum ReferentialAction: String, Sendable, Equatable, Codable, CaseIterable {
  case cascade, restrict
  case noAction = "no_action"
  case setNull = "set_null"
  case setDefault = "set_default"

  public var sql: String {
    switch self {
    case .cascade: "CASCADE"
    case .restrict: "RESTRICT"
    case .noAction: "NO ACTION"
    case .setNull: "SET NULL"
    case .setDefault: "SET DEFAULT"
    }
  }
}

public enum IdentityKind: String, Sendable, Equatable, Codable, CaseIterable {
  case always
  case byDefault = "by_default"
}

/// A single-column foreign key written on a column definition.
public struct ColumnReference: Sendable, Equatable {
  public var table: QualifiedName
  public var column: String
  public var onDelete: ReferentialAction?
  public var onUpdate: ReferentialAction?

  public init(table: QualifiedName, column: String, onDelete: ReferentialAction? = nil, onUpdate: ReferentialAction? = nil) {
    self.table = table
    self.column = column
    self.onDelete = onDelete
    self.onUpdate = onUpdate
  }
}

public struct ColumnDefinition: Sendable, Equatable {
  public var name: String
  /// The type as written; passed through to SQL unchanged.
  public var type: String
  public var nullable: Bool = true
  /// A SQL expression, passed through as written (a string literal keeps its quotes: `"'minor'"`).
  public var defaultExpression: String?
  public var check: String?
  public var unique: Bool = false
  public var primaryKey: Bool = false
  public var references: ColumnReference?
  public var identity: IdentityKind?
  public var comment: String?

  public init(name: String, type: String) {
    self.name = name
    self.type = type
  }
}

/// A table-level constraint in `create_table`: exactly one of check, unique or foreign key.
public struct TableConstraint: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    case check(String)
    case unique([String])
    case foreignKey(columns: [String], references: ForeignKeyTarget, onDelete: ReferentialAction?, onUpdate: ReferentialAction?)
  }
  public var name: String
  public var kind: Kind

  public init(name: String, kind: Kind) {
    self.name = name
    self.kind = kind
  }
}

public struct ForeignKeyTarget: Sendable, Equatable {
  public var table: QualifiedName
  public var columns: [String]

  public init(table: QualifiedName, columns: [String]) {
    self.table = table
    self.columns = columns
  }
}

public struct CreateTable: Sendable, Equatable {
  public var table: QualifiedName
  public var columns: [ColumnDefinition]
  /// A composite primary key; a single one may instead be written on the column.
  public var primaryKey: [String]?
  public var constraints: [TableConstraint]

  public init(table: QualifiedName, columns: [ColumnDefinition], primaryKey: [String]? = nil, constraints: [TableConstraint] = [])
  {
    self.table = table
    self.columns = columns
    self.primaryKey = primaryKey
    self.constraints = constraints
  }
}

public struct AddColumn: Sendable, Equatable {
  public var table: QualifiedName
  public var column: ColumnDefinition
  /// SQL expression that fills existing rows, in batches.
  public var backfill: String?

  public init(table: QualifiedName, column: ColumnDefinition, backfill: String? = nil) {
    self.table = table
    self.column = column
    self.backfill = backfill
  }
}

/// `rename_column`. PostgreSQL cannot give one column two names, so the new name is a new
/// column kept in sync with the old one until contract. The planner needs the column's type
/// for that; it knows it when an earlier intent created the column, otherwise `type` says it.
public struct RenameColumn: Sendable, Equatable {
  public var table: QualifiedName
  public var from: String
  public var to: String
  public var type: String?
  /// The old column's NOT NULL, carried to the new one (CHECK NOT VALID, VALIDATE, SET NOT NULL).
  public var nullable: Bool?
  public var defaultExpression: String?

  public init(
    table: QualifiedName, from: String, to: String, type: String? = nil, nullable: Bool? = nil, defaultExpression: String? = nil
  ) {
    self.table = table
    self.from = from
    self.to = to
    self.type = type
    self.nullable = nullable
    self.defaultExpression = defaultExpression
  }
}

/// `alter_column`: a type or content change through a shadow column kept in sync both ways.
public struct AlterColumn: Sendable, Equatable {
  public var table: QualifiedName
  public var column: String
  public var type: String?
  /// Maps old to new, written in terms of the table's columns (e.g. `lower(email)`).
  public var up: String?
  /// Maps new to old, written in terms of the new column's name.
  public var down: String?
  public var newName: String?
  public var nullable: Bool?
  public var defaultExpression: String?

  public init(
    table: QualifiedName, column: String, type: String? = nil, up: String? = nil, down: String? = nil, newName: String? = nil,
    nullable: Bool? = nil, defaultExpression: String? = nil
  ) {
    self.table = table
    self.column = column
    self.type = type
    self.up = up
    self.down = down
    self.newName = newName
    self.nullable = nullable
    self.defaultExpression = defaultExpression
  }
}

public struct AddForeignKey: Sendable, Equatable {
  public var table: QualifiedName
  public var name: String
  public var columns: [String]
  public var references: ForeignKeyTarget
  public var onDelete: ReferentialAction?
  public var onUpdate: ReferentialAction?

  public init(
    table: QualifiedName, name: String, columns: [String], references: ForeignKeyTarget, onDelete: ReferentialAction? = nil,
    onUpdate: ReferentialAction? = nil
  ) {
    self.table = table
    self.name = name
    self.columns = columns
    self.references = references
    self.onDelete = onDelete
    self.onUpdate = onUpdate
  }
}

/// An index key: a column name, or an expression (written with parentheses or any
/// non-identifier character, e.g. `lower(email)`).
public enum IndexKey: Sendable, Equatable {
  case column(String)
  case expression(String)

  public var sql: String {
    switch self {
    case .column(let name): SQL.quoteIdentifier(name)
    case .expression(let expression): "(\(expression))"
    }
  }
}

public struct CreateIndex: Sendable, Equatable {
  public var table: QualifiedName
  public var name: String
  public var keys: [IndexKey]
  public var unique: Bool
  public var predicate: String?
  public var method: String?
  public var include: [String]

  public init(
    table: QualifiedName, name: String, keys: [IndexKey], unique: Bool = false, predicate: String? = nil, method: String? = nil,
    include: [String] = []
  ) {
    self.table = table
    self.name = name
    self.keys = keys
    self.unique = unique
    self.predicate = predicate
    self.method = method
    self.include = include
  }
}

public struct Backfill: Sendable, Equatable {
  public var table: QualifiedName
  /// Column → SQL expression, in the order written.
  public var assignments: [Assignment]
  public var predicate: String?

  public init(table: QualifiedName, assignments: [Assignment], predicate: String? = nil) {
    self.table = table
    self.assignments = assignments
    self.predicate = predicate
  }
}

public struct Assignment: Sendable, Equatable, Codable, Hashable {
  public var column: String
  public var expression: String

  public init(column: String, expression: String) {
    self.column = column
    self.expression = expression
  }
}

/// The escape hatch: SQL the user writes for one phase.
public struct RawSQL: Sendable, Equatable {
  public var phase: Phase
  public var up: String
  public var down: String?
  public var transactional: Bool

  public init(phase: Phase, up: String, down: String? = nil, transactional: Bool = true) {
    self.phase = phase
    self.up = up
    self.down = down
    self.transactional = transactional
  }
}
