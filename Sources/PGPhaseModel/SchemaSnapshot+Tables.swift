extension SchemaSnapshot {
  /// A table: regular, partitioned, or a partition of one.
  public struct Table: SchemaSnapshotObject {
    public var name: QualifiedName
    public var unlogged: Bool
    /// In `attnum` order (dropped columns left out).
    public var columns: [Column]
    /// Every constraint on the table except NOT NULL (which is part of its column) and the
    /// foreign keys a partition inherits from its parent's.
    public var constraints: SchemaObjectMap<Constraint>
    /// Indexes not backing a constraint (those are part of their constraint).
    public var indexes: SchemaObjectMap<Index>
    /// User triggers (not the internal ones of foreign keys, nor those a partition inherits).
    public var triggers: SchemaObjectMap<Trigger>
    public var statistics: SchemaObjectMap<Statistics>
    /// `pg_get_partkeydef` of a partitioned table: `RANGE (taken_at)`, `LIST (code)`, `HASH (id)`.
    public var partitionKey: String?
    /// Set for a partition: its parent and bound.
    public var partitionOf: PartitionOf?
    public var replicaIdentity: ReplicaIdentity
    /// Storage parameters (`WITH (fillfactor='90')`), in the stored order.
    public var options: [Setting]
    public var comment: String?

    public init(
      name: QualifiedName, unlogged: Bool = false, columns: [Column] = [], constraints: SchemaObjectMap<Constraint> = [],
      indexes: SchemaObjectMap<Index> = [], triggers: SchemaObjectMap<Trigger> = [], statistics: SchemaObjectMap<Statistics> = [],
      partitionKey: String? = nil, partitionOf: PartitionOf? = nil, replicaIdentity: ReplicaIdentity = .default,
      options: [Setting] = [], comment: String? = nil
    ) {
      self.name = name
      self.unlogged = unlogged
      self.columns = columns
      self.constraints = constraints
      self.indexes = indexes
      self.triggers = triggers
      self.statistics = statistics
      self.partitionKey = partitionKey
      self.partitionOf = partitionOf
      self.replicaIdentity = replicaIdentity
      self.options = options
      self.comment = comment
    }

    public var key: QualifiedName { name }

    public func column(_ name: String) -> Column? { columns.first { $0.name == name } }

    /// The column's position in `columns`.
    public func columnIndex(_ name: String) -> Int? { columns.firstIndex { $0.name == name } }

    /// Applies `body` to the named column; false when there is none.
    @discardableResult
    public mutating func updateColumn(_ name: String, _ body: (inout Column) throws -> Void) rethrows -> Bool {
      guard let i = columnIndex(name) else { return false }
      try body(&columns[i])
      return true
    }

    /// `names` in column order, unknown ones dropped: how the catalog lists the columns an object uses.
    public func inColumnOrder(_ names: some Swift.Sequence<String>) -> [String] {
      let wanted = Set(names)
      return columns.map(\.name).filter { wanted.contains($0) }
    }

    /// The table's primary key, if any.
    public var primaryKey: Constraint? { constraints.first { $0.kind == .primaryKey } }

    enum CodingKeys: String, CodingKey {
      case name, unlogged, columns, constraints, indexes, triggers, statistics
      case partitionKey = "partition_key"
      case partitionOf = "partition_of"
      case replicaIdentity = "replica_identity"
      case options, comment
    }
  }

  /// `PARTITION OF parent FOR VALUES ...` (or `DEFAULT`).
  public struct PartitionOf: Hashable, Sendable, Codable {
    public var parent: QualifiedName
    /// `pg_get_expr(relpartbound)`: `FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')`, `DEFAULT`.
    public var bound: String

    public init(parent: QualifiedName, bound: String) {
      self.parent = parent
      self.bound = bound
    }
  }

  /// `REPLICA IDENTITY`: which old values logical replication gets for updates and deletes.
  public enum ReplicaIdentity: Hashable, Sendable, Codable {
    /// The primary key, if any.
    case `default`
    case nothing
    case full
    /// A unique index (or the index of a unique constraint), by name.
    case index(String)
  }

  public struct Column: Hashable, Sendable, Codable {
    public var name: String
    /// `format_type(atttypid, atttypmod)`: `integer`, `character varying(40)`, `public.mood`.
    public var type: String
    /// Set only when it differs from the type's default collation.
    public var collation: QualifiedName?
    public var notNull: NotNull?
    /// The default expression; nil with none (identity and generated columns have none).
    public var defaultExpression: String?
    public var identity: Identity?
    public var generated: Generated?
    public var comment: String?

    public init(
      name: String, type: String, collation: QualifiedName? = nil, notNull: NotNull? = nil, defaultExpression: String? = nil,
      identity: Identity? = nil, generated: Generated? = nil, comment: String? = nil
    ) {
      self.name = name
      self.type = type
      self.collation = collation
      self.notNull = notNull
      self.defaultExpression = defaultExpression
      self.identity = identity
      self.generated = generated
      self.comment = comment
    }

    /// NOT NULL, and validated (on PostgreSQL 18 a NOT NULL may be NOT VALID).
    public var isNotNull: Bool { notNull?.validated ?? false }

    enum CodingKeys: String, CodingKey {
      case name, type, collation
      case notNull = "not_null"
      case defaultExpression = "default"
      case identity, generated, comment
    }
  }

  /// A column's NOT NULL. PostgreSQL 18 keeps it as a named constraint (which may be NOT VALID or
  /// NO INHERIT); before 18 it has no name, and the snapshot gives it the name 18 would
  /// (`<table>_<column>_not_null`), so snapshots of both agree.
  public struct NotNull: Hashable, Sendable, Codable {
    public var name: String
    public var validated: Bool
    public var noInherit: Bool

    public init(name: String, validated: Bool = true, noInherit: Bool = false) {
      self.name = name
      self.validated = validated
      self.noInherit = noInherit
    }

    /// The name PostgreSQL 18 gives a NOT NULL written without one.
    public static func defaultName(table: String, column: String) -> String {
      SQL.makeObjectName(table, column, label: "not_null")
    }

    enum CodingKeys: String, CodingKey {
      case name, validated
      case noInherit = "no_inherit"
    }
  }

  /// `GENERATED ALWAYS|BY DEFAULT AS IDENTITY` with its sequence.
  public struct Identity: Hashable, Sendable, Codable {
    public var kind: IdentityKind
    public var sequence: QualifiedName
    public var options: SequenceOptions

    public init(kind: IdentityKind, sequence: QualifiedName, options: SequenceOptions) {
      self.kind = kind
      self.sequence = sequence
      self.options = options
    }
  }

  /// `GENERATED ALWAYS AS (expression) STORED` (or `VIRTUAL`, PostgreSQL 18).
  public struct Generated: Hashable, Sendable, Codable {
    public var expression: String
    public var stored: Bool
    /// The columns the expression reads, in column order.
    public var columns: [String]

    public init(expression: String, stored: Bool = true, columns: [String]) {
      self.expression = expression
      self.stored = stored
      self.columns = columns
    }
  }

  public struct Constraint: SchemaSnapshotObject {
    public var name: String
    public var kind: Kind
    /// As `pg_get_constraintdef` prints it: `PRIMARY KEY (id)`, `CHECK ((amount >= 0)) NOT VALID`,
    /// `FOREIGN KEY (customer_id) REFERENCES public.customers(id) ON DELETE CASCADE`.
    public var definition: String
    /// The columns it constrains (`conkey`): key order for keys, column order for a CHECK.
    public var columns: [String]
    /// A foreign key's referenced table and columns.
    public var references: ForeignKeyTarget?
    public var validated: Bool
    public var deferrable: Bool
    public var initiallyDeferred: Bool
    /// For the key of a partition: the parent's index it is attached to.
    public var partitionOf: QualifiedName?
    public var comment: String?

    public init(
      name: String, kind: Kind, definition: String, columns: [String], references: ForeignKeyTarget? = nil,
      validated: Bool = true, deferrable: Bool = false, initiallyDeferred: Bool = false, partitionOf: QualifiedName? = nil,
      comment: String? = nil
    ) {
      self.name = name
      self.kind = kind
      self.definition = definition
      self.columns = columns
      self.references = references
      self.validated = validated
      self.deferrable = deferrable
      self.initiallyDeferred = initiallyDeferred
      self.partitionOf = partitionOf
      self.comment = comment
    }

    public var key: String { name }

    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
      case primaryKey = "primary_key"
      case unique, check
      case foreignKey = "foreign_key"
      case exclusion

      /// In messages: "primary key", "unique constraint", ...
      public var words: String {
        switch self {
        case .primaryKey: "primary key"
        case .unique: "unique constraint"
        case .check: "check constraint"
        case .foreignKey: "foreign key"
        case .exclusion: "exclusion constraint"
        }
      }
    }

    enum CodingKeys: String, CodingKey {
      case name, kind, definition, columns, references, validated, deferrable
      case initiallyDeferred = "initially_deferred"
      case partitionOf = "partition_of"
      case comment
    }
  }

  public struct ForeignKeyTarget: Hashable, Sendable, Codable {
    public var table: QualifiedName
    public var columns: [String]

    public init(table: QualifiedName, columns: [String]) {
      self.table = table
      self.columns = columns
    }
  }

  public struct Index: SchemaSnapshotObject {
    /// In its table's schema.
    public var name: String
    public var unique: Bool
    /// `btree`, `gin`, `gist`, `hash`, `brin`, ...
    public var method: String
    public var keys: [IndexKey]
    /// `INCLUDE (...)` columns.
    public var include: [String]
    public var nullsNotDistinct: Bool
    /// `WITH (fillfactor='70')`, in the stored order.
    public var options: [Setting]
    /// `pg_get_expr(indpred)`: `(handle IS NOT NULL)`.
    public var predicate: String?
    /// Every column of the table it uses (keys, expressions, INCLUDE, predicate), in column order.
    public var columns: [String]
    /// For an index of a partition: the parent's index it is attached to.
    public var partitionOf: QualifiedName?
    public var comment: String?

    public init(
      name: String, unique: Bool = false, method: String = "btree", keys: [IndexKey], include: [String] = [],
      nullsNotDistinct: Bool = false, options: [Setting] = [], predicate: String? = nil, columns: [String],
      partitionOf: QualifiedName? = nil, comment: String? = nil
    ) {
      self.name = name
      self.unique = unique
      self.method = method
      self.keys = keys
      self.include = include
      self.nullsNotDistinct = nullsNotDistinct
      self.options = options
      self.predicate = predicate
      self.columns = columns
      self.partitionOf = partitionOf
      self.comment = comment
    }

    public var key: String { name }

    enum CodingKeys: String, CodingKey {
      case name, unique, method, keys, include
      case nullsNotDistinct = "nulls_not_distinct"
      case options, predicate, columns
      case partitionOf = "partition_of"
      case comment
    }
  }

  /// One key of an index: a column or an expression, then what `pg_get_indexdef` prints after it.
  public struct IndexKey: Hashable, Sendable, Codable {
    /// Set for a plain column key.
    public var column: String?
    /// Set for an expression key, as printed in the key list (`lower(name)`, `((a + b))`).
    public var expression: String?
    /// What follows the column or expression: collation, operator class, order, nulls:
    /// `COLLATE "C" text_pattern_ops DESC NULLS LAST`; nil when nothing does.
    public var options: String?

    public init(column: String, options: String? = nil) {
      self.column = column
      self.expression = nil
      self.options = options
    }

    public init(expression: String, options: String? = nil) {
      self.column = nil
      self.expression = expression
      self.options = options
    }

    /// The key as the index definition prints it.
    public var sql: String {
      let head = column.map(SQL.quoteIdentifier) ?? expression ?? ""
      return options.map { "\(head) \($0)" } ?? head
    }
  }

  public struct Trigger: SchemaSnapshotObject {
    public var name: String
    /// `pg_get_triggerdef`: `CREATE TRIGGER t BEFORE UPDATE OF a ON public.t FOR EACH ROW EXECUTE FUNCTION public.f()`.
    public var definition: String
    /// `UPDATE OF` columns, in column order.
    public var columns: [String]
    public var function: QualifiedName
    public var enabled: TriggerEnabled
    public var comment: String?

    public init(
      name: String, definition: String, columns: [String] = [], function: QualifiedName, enabled: TriggerEnabled = .origin,
      comment: String? = nil
    ) {
      self.name = name
      self.definition = definition
      self.columns = columns
      self.function = function
      self.enabled = enabled
      self.comment = comment
    }

    public var key: String { name }
  }

  /// `pg_trigger.tgenabled`.
  public enum TriggerEnabled: String, Hashable, Sendable, Codable {
    /// Fires in origin and local mode (the default).
    case origin
    case disabled
    /// Fires only in replica mode (`ENABLE REPLICA TRIGGER`).
    case replica
    /// Fires always (`ENABLE ALWAYS TRIGGER`).
    case always
  }

  /// `CREATE STATISTICS`.
  public struct Statistics: SchemaSnapshotObject {
    /// May be in another schema than its table.
    public var name: QualifiedName
    /// `pg_get_statisticsobjdef`.
    public var definition: String
    /// The columns it covers, directly or in its expressions, in column order.
    public var columns: [String]
    /// `ALTER STATISTICS ... SET STATISTICS n`; nil for the default.
    public var target: Int?
    public var comment: String?

    public init(name: QualifiedName, definition: String, columns: [String], target: Int? = nil, comment: String? = nil) {
      self.name = name
      self.definition = definition
      self.columns = columns
      self.target = target
      self.comment = comment
    }

    public var key: QualifiedName { name }
  }

  /// A view or materialized view.
  public struct View: SchemaSnapshotObject {
    public var name: QualifiedName
    public var materialized: Bool
    /// The query, as `pg_get_viewdef` prints it (without the final semicolon, trimmed).
    public var definition: String
    /// `WITH (security_barrier='true')`, without `check_option` (which is `checkOption`).
    public var options: [Setting]
    /// `cascaded` or `local` for `WITH ... CHECK OPTION`.
    public var checkOption: String?
    /// The tables and views it reads, and which of their columns, sorted.
    public var dependencies: [ViewDependency]
    /// A materialized view's indexes.
    public var indexes: SchemaObjectMap<Index>
    /// `INSTEAD OF` and other triggers on a view.
    public var triggers: SchemaObjectMap<Trigger>
    /// Comments on its columns, by column name.
    public var columnComments: [String: String]
    public var comment: String?

    public init(
      name: QualifiedName, materialized: Bool = false, definition: String, options: [Setting] = [], checkOption: String? = nil,
      dependencies: [ViewDependency] = [], indexes: SchemaObjectMap<Index> = [], triggers: SchemaObjectMap<Trigger> = [],
      columnComments: [String: String] = [:], comment: String? = nil
    ) {
      self.name = name
      self.materialized = materialized
      self.definition = definition
      self.options = options
      self.checkOption = checkOption
      self.dependencies = dependencies
      self.indexes = indexes
      self.triggers = triggers
      self.columnComments = columnComments
      self.comment = comment
    }

    public var key: QualifiedName { name }

    enum CodingKeys: String, CodingKey {
      case name, materialized, definition, options
      case checkOption = "check_option"
      case dependencies, indexes, triggers
      case columnComments = "column_comments"
      case comment
    }
  }

  /// A relation a view reads, and the columns of it that it uses (sorted by name; empty when it
  /// uses none by name, e.g. `count(*)`).
  public struct ViewDependency: Hashable, Sendable, Codable, Comparable {
    public var relation: QualifiedName
    public var columns: [String]

    public init(relation: QualifiedName, columns: [String]) {
      self.relation = relation
      self.columns = columns
    }

    public static func < (a: ViewDependency, b: ViewDependency) -> Bool { a.relation < b.relation }
  }
}

extension SchemaSnapshot.Constraint {
  /// A primary key or unique constraint's definition as pg_dump writes it (pg_get_constraintdef
  /// leaves out the index's storage parameters): `UNIQUE NULLS NOT DISTINCT (a, b) INCLUDE (c)
  /// WITH (fillfactor='80') DEFERRABLE INITIALLY DEFERRED`.
  public static func keyDefinition(
    kind: Kind, columns: [String], include: [String] = [], nullsNotDistinct: Bool = false,
    options: [SchemaSnapshot.Setting] = [], deferrable: Bool = false, deferred: Bool = false, withoutOverlaps: Bool = false
  ) -> String {
    var text = kind == .primaryKey ? "PRIMARY KEY" : "UNIQUE"
    if nullsNotDistinct { text += " NULLS NOT DISTINCT" }
    var keys = columns.map(SQL.quoteIdentifier)
    if withoutOverlaps, !keys.isEmpty { keys[keys.count - 1] += " WITHOUT OVERLAPS" }
    text += " (\(keys.joined(separator: ", ")))"
    if !include.isEmpty { text += " INCLUDE (\(include.map(SQL.quoteIdentifier).joined(separator: ", ")))" }
    if !options.isEmpty { text += " WITH (\(SchemaSnapshot.settingsSQL(options)))" }
    if deferrable { text += deferred ? " DEFERRABLE INITIALLY DEFERRED" : " DEFERRABLE" }
    return text
  }

  /// A foreign key's definition as `pg_get_constraintdef` prints it: `FOREIGN KEY (a) REFERENCES
  /// public.t(b) MATCH FULL ON UPDATE CASCADE ON DELETE SET NULL (a) DEFERRABLE NOT VALID`.
  /// Actions are SQL words (`CASCADE`, `SET NULL`, ...); nil or `NO ACTION` is not printed.
  public static func foreignKeyDefinition(
    columns: [String], references: SchemaSnapshot.ForeignKeyTarget, matchFull: Bool = false, onUpdate: String? = nil,
    onDelete: String? = nil, deleteSetColumns: [String] = [], deferrable: Bool = false, deferred: Bool = false,
    validated: Bool = true
  ) -> String {
    var text = "FOREIGN KEY (\(columns.map(SQL.quoteIdentifier).joined(separator: ", "))) REFERENCES "
    text += "\(references.table.sql)(\(references.columns.map(SQL.quoteIdentifier).joined(separator: ", ")))"
    if matchFull { text += " MATCH FULL" }
    if let onUpdate, onUpdate != "NO ACTION" { text += " ON UPDATE \(onUpdate)" }
    if let onDelete, onDelete != "NO ACTION" {
      text += " ON DELETE \(onDelete)"
      if !deleteSetColumns.isEmpty { text += " (\(deleteSetColumns.map(SQL.quoteIdentifier).joined(separator: ", ")))" }
    }
    if deferrable { text += " DEFERRABLE" }
    if deferred { text += " INITIALLY DEFERRED" }
    if !validated { text += " NOT VALID" }
    return text
  }
}
