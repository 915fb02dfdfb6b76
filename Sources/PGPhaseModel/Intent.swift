/// One change intent: what a schema change should achieve, as read from one YAML file.
/// The planner decides how.
public struct Intent: Sendable, Equatable {
  /// Unique across a set of intents; intents apply in the order of their ids.
  public var id: String
  /// Free text for reviewers; copied into the plan and its SQL headers.
  public var description: String?
  /// Default schema for unqualified names; nil means the connection's search_path decides.
  public var schema: String?
  /// Per-intent overrides of the run defaults.
  public var settings: IntentSettings
  /// The changes in the order written; steps keep that order within each phase.
  public var changes: [Change]
  /// The file it came from, as the caller named it; used in diagnostics and in the plan.
  public var file: String
  /// Where `id` (or the document, when id is implicit) is, for duplicate-id errors.
  public var location: SourceLocation

  /// An intent as the reader builds it; tests build them directly.
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
  /// Rows in a backfill's first batch; later batches adapt to `--batch-target`.
  public var backfillBatchSize: Int?

  /// Overrides; nil keeps the default.
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
  /// What the change does.
  public var operation: Operation
  /// Where the change's entry starts in the file: diagnostics and plan steps point here.
  public var location: SourceLocation
  /// Locations of fields by dotted path inside the operation, e.g. `column.nullable`.
  public var fieldLocations: [String: SourceLocation]

  /// A change read at `location`, with the locations of its fields.
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
  /// `ALTER TABLE ... RENAME CONSTRAINT` (and the index of a key, which PostgreSQL renames with it).
  case renameConstraint(table: QualifiedName, from: String, to: String)
  /// `COMMENT ON TABLE`; nil removes the comment.
  case commentTable(table: QualifiedName, comment: String?)
  /// `COMMENT ON COLUMN`; nil removes the comment.
  case commentColumn(table: QualifiedName, column: String, comment: String?)
  /// `ALTER TABLE ... REPLICA IDENTITY`: what logical replication writes of an updated or deleted row.
  case setReplicaIdentity(table: QualifiedName, identity: ReplicaIdentitySetting)
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
    case .renameConstraint: "rename_constraint"
    case .commentTable: "comment_table"
    case .commentColumn: "comment_column"
    case .setReplicaIdentity: "set_replica_identity"
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
    "add_foreign_key", "add_unique", "drop_constraint", "rename_constraint", "comment_table", "comment_column",
    "set_replica_identity", "create_index", "drop_index", "backfill", "sql",
  ]
}

/// What a foreign key does when the referenced row is deleted or updated.
public enum ReferentialAction: String, Sendable, Equatable, Codable, CaseIterable {
  case cascade, restrict
  case noAction = "no_action"
  case setNull = "set_null"
  case setDefault = "set_default"

  /// The clause as SQL (`ON DELETE <sql>`).
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

/// How an identity column generates values: `always` refuses explicit values, `by_default` takes them.
public enum IdentityKind: String, Sendable, Equatable, Codable, CaseIterable {
  case always
  case byDefault = "by_default"
}

/// What `set_replica_identity` sets: PostgreSQL's four replica identities.
public enum ReplicaIdentitySetting: Sendable, Equatable {
  /// The primary key's columns (PostgreSQL's default).
  case `default`
  /// The whole old row.
  case full
  /// Nothing: UPDATE and DELETE cannot be published.
  case nothing
  /// The columns of this unique index (in the table's schema).
  case index(String)

  /// The keyword as intents write it (`identity:`).
  public static let keywords = ["default", "full", "nothing", "index"]

  /// The clause after `REPLICA IDENTITY`.
  public var sql: String {
    switch self {
    case .default: "DEFAULT"
    case .full: "FULL"
    case .nothing: "NOTHING"
    case .index(let name): "USING INDEX \(SQL.quoteIdentifier(name))"
    }
  }
}

/// A single-column foreign key written on a column definition.
public struct ColumnReference: Sendable, Equatable {
  /// The referenced table.
  public var table: QualifiedName
  /// The referenced column.
  public var column: String
  /// `ON DELETE`; nil is PostgreSQL's default (NO ACTION).
  public var onDelete: ReferentialAction?
  /// `ON UPDATE`; nil is PostgreSQL's default (NO ACTION).
  public var onUpdate: ReferentialAction?

  /// A reference to `table.column`.
  public init(table: QualifiedName, column: String, onDelete: ReferentialAction? = nil, onUpdate: ReferentialAction? = nil) {
    self.table = table
    self.column = column
    self.onDelete = onDelete
    self.onUpdate = onUpdate
  }
}

/// One column as `create_table` and `add_column` describe it.
public struct ColumnDefinition: Sendable, Equatable {
  /// The exact column name (quoted in SQL where needed).
  public var name: String
  /// The type as written; passed through to SQL unchanged.
  public var type: String
  /// false adds NOT NULL, done without a long lock where the table has rows.
  public var nullable: Bool = true
  /// A SQL expression, passed through as written (a string literal keeps its quotes: `"'minor'"`).
  public var defaultExpression: String?
  /// A CHECK expression on this column, named `<table>_<column>_check`.
  public var check: String?
  /// Adds a UNIQUE constraint named `<table>_<column>_key`.
  public var unique: Bool = false
  /// Makes the column the table's single-column primary key.
  public var primaryKey: Bool = false
  /// A single-column foreign key.
  public var references: ColumnReference?
  /// Makes it an identity column.
  public var identity: IdentityKind?
  /// Becomes `COMMENT ON COLUMN`.
  public var comment: String?

  /// A nullable column with no default or constraint; set the other fields as needed.
  public init(name: String, type: String) {
    self.name = name
    self.type = type
  }
}

/// A table-level constraint in `create_table`: exactly one of check, unique or foreign key.
public struct TableConstraint: Sendable, Equatable {
  /// Which constraint it is.
  public enum Kind: Sendable, Equatable {
    case check(String)
    case unique([String])
    case foreignKey(columns: [String], references: ForeignKeyTarget, onDelete: ReferentialAction?, onUpdate: ReferentialAction?)
  }
  /// The constraint's exact name.
  public var name: String
  /// What it constrains.
  public var kind: Kind

  /// A named constraint.
  public init(name: String, kind: Kind) {
    self.name = name
    self.kind = kind
  }
}

/// The referenced side of a multi-column foreign key.
public struct ForeignKeyTarget: Sendable, Equatable {
  /// The referenced table.
  public var table: QualifiedName
  /// The referenced columns, in the order of the referencing ones.
  public var columns: [String]

  /// A reference to `columns` of `table`.
  public init(table: QualifiedName, columns: [String]) {
    self.table = table
    self.columns = columns
  }
}

/// `create_table`: a new table, created in one short transaction (the old app never sees it).
public struct CreateTable: Sendable, Equatable {
  /// The new table.
  public var table: QualifiedName
  /// Its columns, in order.
  public var columns: [ColumnDefinition]
  /// A composite primary key; a single one may instead be written on the column.
  public var primaryKey: [String]?
  /// The primary key constraint's name (`primary_key: {name, columns}`); nil is `<table>_pkey`.
  public var primaryKeyName: String?
  /// Table-level CHECK, UNIQUE and FOREIGN KEY constraints.
  public var constraints: [TableConstraint]
  /// Becomes `COMMENT ON TABLE`.
  public var comment: String?

  /// A table with its columns and constraints.
  public init(
    table: QualifiedName, columns: [ColumnDefinition], primaryKey: [String]? = nil, primaryKeyName: String? = nil,
    constraints: [TableConstraint] = [], comment: String? = nil
  ) {
    self.table = table
    self.columns = columns
    self.primaryKey = primaryKey
    self.primaryKeyName = primaryKeyName
    self.constraints = constraints
    self.comment = comment
  }
}

/// `add_column`: a column added so the old app's writes keep working.
public struct AddColumn: Sendable, Equatable {
  /// The table the column goes on.
  public var table: QualifiedName
  /// The new column.
  public var column: ColumnDefinition
  /// SQL expression that fills existing rows, in batches.
  public var backfill: String?

  /// A column to add; `backfill` fills existing rows in batches.
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
  /// The table.
  public var table: QualifiedName
  /// The current name.
  public var from: String
  /// The new name.
  public var to: String
  /// The column's type; needed when no earlier intent created the column.
  public var type: String?
  /// The old column's NOT NULL, carried to the new one (CHECK NOT VALID, VALIDATE, SET NOT NULL).
  public var nullable: Bool?
  /// The old column's default, carried to the new one.
  public var defaultExpression: String?

  /// A rename; `type`, `nullable` and `defaultExpression` describe the column when the planner cannot know it.
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
  /// The table.
  public var table: QualifiedName
  /// The column to change.
  public var column: String
  /// The new type; nil keeps the type (a content change through `up`/`down`).
  public var type: String?
  /// Maps old to new, written in terms of the table's columns (e.g. `lower(email)`).
  public var up: String?
  /// Maps new to old, written in terms of the new column's name.
  public var down: String?
  /// A new name for the converted column; nil swaps it in under the old name at contract.
  public var newName: String?
  /// The new column's nullability; nil keeps what the planner knows (else nullable).
  public var nullable: Bool?
  /// The new column's default, set at contract.
  public var defaultExpression: String?
  /// The column's comment: nil keeps the old column's, `.some(nil)` (`comment: null`) removes it.
  public var comment: String??
  /// Adds a UNIQUE constraint `<table>_<column>_key` on the (new) column.
  public var unique: Bool
  /// Adds a CHECK constraint `<table>_<column>_check` on the (new) column.
  public var check: String?

  /// A change; give at least one field besides `table` and `column`.
  public init(
    table: QualifiedName, column: String, type: String? = nil, up: String? = nil, down: String? = nil, newName: String? = nil,
    nullable: Bool? = nil, defaultExpression: String? = nil, comment: String?? = nil, unique: Bool = false,
    check: String? = nil
  ) {
    self.table = table
    self.column = column
    self.type = type
    self.up = up
    self.down = down
    self.newName = newName
    self.nullable = nullable
    self.defaultExpression = defaultExpression
    self.comment = comment
    self.unique = unique
    self.check = check
  }

  /// Whether the change replaces the column by a new one (a type, content or name change);
  /// otherwise each field is changed in place.
  public var replacesColumn: Bool { type != nil || up != nil || down != nil || newName != nil }
}

/// `add_foreign_key`: added NOT VALID, validated in backfill, so neither table is scanned under a lock.
public struct AddForeignKey: Sendable, Equatable {
  /// The referencing table.
  public var table: QualifiedName
  /// The constraint's exact name.
  public var name: String
  /// The referencing columns.
  public var columns: [String]
  /// The referenced table and columns.
  public var references: ForeignKeyTarget
  /// `ON DELETE`; nil is NO ACTION.
  public var onDelete: ReferentialAction?
  /// `ON UPDATE`; nil is NO ACTION.
  public var onUpdate: ReferentialAction?

  /// A foreign key named `name` from `columns` of `table` to `references`.
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

  /// The key as SQL: a quoted column, or the expression in parentheses.
  public var sql: String {
    switch self {
    case .column(let name): SQL.quoteIdentifier(name)
    case .expression(let expression): "(\(expression))"
    }
  }
}

/// `create_index`: built concurrently, outside any transaction.
public struct CreateIndex: Sendable, Equatable {
  /// The indexed table.
  public var table: QualifiedName
  /// The index's exact name; it lives in the table's schema.
  public var name: String
  /// The key columns and expressions, in order.
  public var keys: [IndexKey]
  /// A unique index.
  public var unique: Bool
  /// A partial index's WHERE expression.
  public var predicate: String?
  /// The access method (`btree`, `gin`, ...); nil is PostgreSQL's default, btree.
  public var method: String?
  /// Non-key columns stored in the index (`INCLUDE`).
  public var include: [String]
  /// Per key (same order as `keys`): collation, operator class, order; empty when no key has any.
  public var keyOptions: [IndexKeyOptions]
  /// Storage parameters (`WITH (fillfactor = 70)`), in the order written.
  public var storageParameters: [StorageParameter]

  /// An index named `name` on `keys` of `table`.
  public init(
    table: QualifiedName, name: String, keys: [IndexKey], unique: Bool = false, predicate: String? = nil, method: String? = nil,
    include: [String] = [], keyOptions: [IndexKeyOptions] = [], storageParameters: [StorageParameter] = []
  ) {
    self.table = table
    self.name = name
    self.keys = keys
    self.unique = unique
    self.predicate = predicate
    self.method = method
    self.include = include
    self.keyOptions = keyOptions
    self.storageParameters = storageParameters
  }

  /// The options of key `i`, if any.
  public func options(ofKey i: Int) -> IndexKeyOptions? {
    i < keyOptions.count && !keyOptions[i].isEmpty ? keyOptions[i] : nil
  }

  /// Each key as SQL, with its options: `lower(name) COLLATE "C" text_pattern_ops DESC`.
  public var keySQL: [String] {
    keys.enumerated().map { i, key in options(ofKey: i).map { "\(key.sql) \($0.sql)" } ?? key.sql }
  }
}

/// What may follow an index key: `COLLATE c`, an operator class, `ASC`/`DESC`, `NULLS FIRST`/`LAST`.
public struct IndexKeyOptions: Sendable, Equatable {
  /// The key's sort order.
  public enum Order: String, Sendable, Equatable, CaseIterable { case asc, desc }
  /// Where NULLs sort.
  public enum Nulls: String, Sendable, Equatable, CaseIterable { case first, last }

  public var collation: QualifiedName?
  public var opclass: QualifiedName?
  public var order: Order?
  public var nulls: Nulls?

  /// Options of one key; nil leaves each to PostgreSQL's default.
  public init(collation: QualifiedName? = nil, opclass: QualifiedName? = nil, order: Order? = nil, nulls: Nulls? = nil) {
    self.collation = collation
    self.opclass = opclass
    self.order = order
    self.nulls = nulls
  }

  /// No option given.
  public var isEmpty: Bool { collation == nil && opclass == nil && order == nil && nulls == nil }

  /// The options as `pg_get_indexdef` orders them: `COLLATE "C" text_pattern_ops DESC NULLS LAST`.
  public var sql: String {
    var parts: [String] = []
    if let collation { parts.append("COLLATE \(collation.sql)") }
    if let opclass { parts.append(opclass.sql) }
    if let order { parts.append(order.rawValue.uppercased()) }
    if let nulls { parts.append("NULLS \(nulls.rawValue.uppercased())") }
    return parts.joined(separator: " ")
  }
}

/// One storage parameter of an index (`fillfactor = 70`): a name and its value as SQL.
public struct StorageParameter: Sendable, Equatable {
  public var name: String
  /// As written: a number or `true`/`false`, or text (quoted as a literal in SQL).
  public var value: String
  /// Whether `value` is text, written as a string literal.
  public var quoted: Bool

  /// A parameter `name = value`.
  public init(name: String, value: String, quoted: Bool = false) {
    self.name = name
    self.value = value
    self.quoted = quoted
  }

  /// `name = value`.
  public var sql: String { "\(SQL.quoteIdentifier(name)) = \(quoted ? SQL.quoteLiteral(value) : value)" }
}

/// `backfill`: a batched data change, resumable and idempotent.
public struct Backfill: Sendable, Equatable {
  /// The table to update.
  public var table: QualifiedName
  /// Column → SQL expression, in the order written.
  public var assignments: [Assignment]
  /// Only rows matching it are changed.
  public var predicate: String?

  /// A batched `UPDATE table SET assignments [WHERE predicate]`.
  public init(table: QualifiedName, assignments: [Assignment], predicate: String? = nil) {
    self.table = table
    self.assignments = assignments
    self.predicate = predicate
  }
}

/// One `column = expression` of a backfill.
public struct Assignment: Sendable, Equatable, Codable, Hashable {
  /// The column set.
  public var column: String
  /// The SQL expression it is set to, evaluated per row.
  public var expression: String

  /// `column = expression`.
  public init(column: String, expression: String) {
    self.column = column
    self.expression = expression
  }
}

/// The escape hatch: SQL the user writes for one phase.
public struct RawSQL: Sendable, Equatable {
  /// The phase the SQL runs in.
  public var phase: Phase
  /// The SQL, run as written.
  public var up: String
  /// SQL that undoes `up`, used by rollback; nil makes the step irreversible.
  public var down: String?
  /// false sends `up` alone outside a transaction (CREATE INDEX CONCURRENTLY, VACUUM, ...).
  public var transactional: Bool

  /// User SQL for `phase`.
  public init(phase: Phase, up: String, down: String? = nil, transactional: Bool = true) {
    self.phase = phase
    self.up = up
    self.down = down
    self.transactional = transactional
  }
}
