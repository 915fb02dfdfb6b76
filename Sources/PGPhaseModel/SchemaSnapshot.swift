/// A database schema as a value: what `pgphase schema dump` reads from a live database, what the
/// schema file reader reads from `pg_dump --schema-only` output or a dump, and what the planner
/// applies intents to.
///
/// Names are exact (as in the catalog) and every object name is schema-qualified. Definitions that
/// the server deparses (defaults, CHECK and other constraint definitions, index expressions and
/// predicates, view queries, triggers, statistics objects, partition bounds) are kept as text: read
/// from a server they are the server's own form (`pg_get_expr`, `pg_get_constraintdef`, ...), read
/// from a file they are the text as the file wrote it. Two snapshots of the same database, one
/// read live and one read from its dump, are equal.
///
/// Left out on purpose: owners, privileges, tablespaces, sequence positions and data.
public struct SchemaSnapshot: Hashable, Sendable, Codable {
  /// Schemas other than `public` (which every database has).
  public var schemas: SchemaObjectMap<Namespace>
  public var extensions: SchemaObjectMap<Extension>
  /// Enums, domains and composite types (not tables' row types).
  public var types: SchemaObjectMap<TypeDefinition>
  /// Sequences, except those of identity columns (which are part of their column).
  public var sequences: SchemaObjectMap<SequenceDefinition>
  public var functions: SchemaObjectMap<Function>
  /// Tables, partitioned tables and partitions.
  public var tables: SchemaObjectMap<Table>
  /// Views and materialized views.
  public var views: SchemaObjectMap<View>

  public init(
    schemas: SchemaObjectMap<Namespace> = [], extensions: SchemaObjectMap<Extension> = [],
    types: SchemaObjectMap<TypeDefinition> = [], sequences: SchemaObjectMap<SequenceDefinition> = [],
    functions: SchemaObjectMap<Function> = [], tables: SchemaObjectMap<Table> = [], views: SchemaObjectMap<View> = []
  ) {
    self.schemas = schemas
    self.extensions = extensions
    self.types = types
    self.sequences = sequences
    self.functions = functions
    self.tables = tables
    self.views = views
  }

  /// The schema pgphase keeps its journal in: never part of a snapshot.
  public static let journalSchema = "pgphase"

  /// Whether an object in `schema` belongs in a snapshot: not pgphase's journal, not the system's.
  public static func isUserSchema(_ schema: String) -> Bool {
    schema != journalSchema && schema != "pg_catalog" && schema != "information_schema" && !schema.hasPrefix("pg_toast")
      && !schema.hasPrefix("pg_temp_")
  }

  /// The table or view (or materialized view) with this name.
  public func relationKind(_ name: QualifiedName) -> RelationKind? {
    if let table = tables[name] { return table.partitionKey == nil ? .table : .partitionedTable }
    if let view = views[name] { return view.materialized ? .materializedView : .view }
    if sequences[name] != nil { return .sequence }
    return nil
  }

  /// Adds (or replaces) a trigger of the table or view `relation`; false when there is neither.
  @discardableResult
  public mutating func insert(trigger: Trigger, on relation: QualifiedName) -> Bool {
    if tables.contains(relation) {
      tables[relation]?.triggers.insert(trigger)
    } else if views.contains(relation) {
      views[relation]?.triggers.insert(trigger)
    } else {
      return false
    }
    return true
  }

  /// Adds (or replaces) an index of the table or materialized view `relation`, its `columns` put
  /// in the table's column order (a view's: sorted); false when there is neither.
  @discardableResult
  public mutating func insert(index: Index, on relation: QualifiedName) -> Bool {
    var index = index
    if let table = tables[relation] {
      index.columns = table.inColumnOrder(index.columns)
      tables[relation]?.indexes.insert(index)
    } else if views.contains(relation) {
      index.columns = Array(Set(index.columns)).sorted()
      views[relation]?.indexes.insert(index)
    } else {
      return false
    }
    return true
  }

  public enum RelationKind: String, Sendable, Hashable {
    case table
    case partitionedTable = "partitioned table"
    case view
    case materializedView = "materialized view"
    case sequence
  }

  /// The objects that use `column` of `table`: its own table's indexes, constraints, column-list
  /// triggers, statistics objects and generated columns, other tables' foreign keys to it, views
  /// that read it, and sequences it owns, sorted by description. What a change to the column must
  /// carry over or refuse.
  public func dependents(ofColumn column: String, in table: QualifiedName) -> [ColumnDependent] {
    ColumnDependents(self).of(column, in: table, snapshot: self)
  }

  /// Something that depends on a column (see `dependents(ofColumn:in:)`).
  public enum ColumnDependent: Hashable, Sendable, CustomStringConvertible {
    case index(String)
    case constraint(String, kind: Constraint.Kind)
    case trigger(String)
    case statistics(QualifiedName)
    case generatedColumn(String)
    case incomingForeignKey(table: QualifiedName, constraint: String)
    case view(QualifiedName, materialized: Bool)
    case ownedSequence(QualifiedName)

    public var description: String {
      switch self {
      case .index(let name): "index \(SQL.quoteIdentifier(name))"
      case .constraint(let name, let kind): "\(kind.words) \(SQL.quoteIdentifier(name))"
      case .trigger(let name): "trigger \(SQL.quoteIdentifier(name))"
      case .statistics(let name): "statistics \(name)"
      case .generatedColumn(let name): "generated column \(SQL.quoteIdentifier(name))"
      case .incomingForeignKey(let table, let constraint): "foreign key \(SQL.quoteIdentifier(constraint)) of \(table)"
      case .view(let name, let materialized): "\(materialized ? "materialized view" : "view") \(name)"
      case .ownedSequence(let name): "sequence \(name)"
      }
    }
  }
}

// MARK: - Schemas, extensions, types, sequences, functions

extension SchemaSnapshot {
  /// A schema (`CREATE SCHEMA`).
  public struct Namespace: SchemaSnapshotObject {
    public var name: String
    public var comment: String?

    public init(name: String, comment: String? = nil) {
      self.name = name
      self.comment = comment
    }

    public var key: String { name }
  }

  /// An extension, by name and the schema it was created in. Its version is left out (it follows
  /// the server), and so are the objects it owns.
  public struct Extension: SchemaSnapshotObject {
    public var name: String
    public var schema: String

    public init(name: String, schema: String) {
      self.name = name
      self.schema = schema
    }

    public var key: String { name }
  }

  /// An enum, domain or composite type.
  public struct TypeDefinition: SchemaSnapshotObject {
    public var name: QualifiedName
    public var kind: Kind
    public var comment: String?

    public init(name: QualifiedName, kind: Kind, comment: String? = nil) {
      self.name = name
      self.kind = kind
      self.comment = comment
    }

    public var key: QualifiedName { name }

    public enum Kind: Hashable, Sendable, Codable {
      /// `CREATE TYPE ... AS ENUM`, labels in sort order.
      case enumeration(labels: [String])
      case domain(Domain)
      /// `CREATE TYPE ... AS (...)`.
      case composite(attributes: [CompositeAttribute])
    }
  }

  /// `CREATE DOMAIN`: the base type as `format_type` prints it, and its constraints.
  public struct Domain: Hashable, Sendable, Codable {
    public var baseType: String
    public var collation: QualifiedName?
    public var defaultExpression: String?
    public var notNull: Bool
    /// In name order.
    public var checks: [DomainCheck]

    public init(
      baseType: String, collation: QualifiedName? = nil, defaultExpression: String? = nil, notNull: Bool = false,
      checks: [DomainCheck] = []
    ) {
      self.baseType = baseType
      self.collation = collation
      self.defaultExpression = defaultExpression
      self.notNull = notNull
      self.checks = checks
    }

    enum CodingKeys: String, CodingKey {
      case baseType = "base_type"
      case collation
      case defaultExpression = "default"
      case notNull = "not_null"
      case checks
    }
  }

  public struct DomainCheck: Hashable, Sendable, Codable {
    public var name: String
    /// `CHECK ((VALUE > 0))`, as `pg_get_constraintdef` prints it (without NOT VALID).
    public var definition: String
    public var validated: Bool

    public init(name: String, definition: String, validated: Bool = true) {
      self.name = name
      self.definition = definition
      self.validated = validated
    }
  }

  public struct CompositeAttribute: Hashable, Sendable, Codable {
    public var name: String
    public var type: String
    public var collation: QualifiedName?

    public init(name: String, type: String, collation: QualifiedName? = nil) {
      self.name = name
      self.type = type
      self.collation = collation
    }
  }

  /// The options of a sequence (also of an identity column's sequence), as numbers: defaults are
  /// filled in, so `NO MINVALUE` and `MINVALUE 1` of an ascending sequence are the same value.
  public struct SequenceOptions: Hashable, Sendable, Codable {
    /// `smallint`, `integer` or `bigint`.
    public var dataType: String
    public var start: Int64
    public var increment: Int64
    public var minValue: Int64
    public var maxValue: Int64
    public var cache: Int64
    public var cycle: Bool

    public init(
      dataType: String = "bigint", start: Int64? = nil, increment: Int64 = 1, minValue: Int64? = nil, maxValue: Int64? = nil,
      cache: Int64 = 1, cycle: Bool = false
    ) {
      self.dataType = dataType
      self.increment = increment
      let defaults = SequenceOptions.defaultBounds(dataType: dataType, increment: increment)
      self.minValue = minValue ?? defaults.min
      self.maxValue = maxValue ?? defaults.max
      self.start = start ?? (increment > 0 ? self.minValue : self.maxValue)
      self.cache = cache
      self.cycle = cycle
    }

    /// What `NO MINVALUE` and `NO MAXVALUE` mean for a type and direction.
    public static func defaultBounds(dataType: String, increment: Int64) -> (min: Int64, max: Int64) {
      let typeMax: Int64 =
        switch dataType {
        case "smallint": Int64(Int16.max)
        case "integer": Int64(Int32.max)
        default: Int64.max
        }
      let typeMin: Int64 =
        switch dataType {
        case "smallint": Int64(Int16.min)
        case "integer": Int64(Int32.min)
        default: Int64.min
        }
      return increment > 0 ? (1, typeMax) : (typeMin, -1)
    }

    enum CodingKeys: String, CodingKey {
      case dataType = "data_type"
      case start, increment
      case minValue = "min_value"
      case maxValue = "max_value"
      case cache, cycle
    }
  }

  /// A table's column, for `OWNED BY` and references.
  public struct ColumnPath: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var table: QualifiedName
    public var column: String

    public init(table: QualifiedName, column: String) {
      self.table = table
      self.column = column
    }

    public var description: String { "\(table.sql).\(SQL.quoteIdentifier(column))" }

    public static func < (a: ColumnPath, b: ColumnPath) -> Bool { (a.table, a.column) < (b.table, b.column) }
  }

  public struct SequenceDefinition: SchemaSnapshotObject {
    public var name: QualifiedName
    public var options: SequenceOptions
    /// The column that owns it (`serial`, `OWNED BY`): dropped with the column.
    public var ownedBy: ColumnPath?
    public var comment: String?

    public init(name: QualifiedName, options: SequenceOptions = .init(), ownedBy: ColumnPath? = nil, comment: String? = nil) {
      self.name = name
      self.options = options
      self.ownedBy = ownedBy
      self.comment = comment
    }

    public var key: QualifiedName { name }

    enum CodingKeys: String, CodingKey {
      case name, options
      case ownedBy = "owned_by"
      case comment
    }
  }

  /// A function is found by its name and its argument types (`pg_get_function_identity_arguments`).
  public struct FunctionKey: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var name: QualifiedName
    /// e.g. `amount numeric, rate numeric`.
    public var identityArguments: String

    public init(name: QualifiedName, identityArguments: String) {
      self.name = name
      self.identityArguments = identityArguments
    }

    public var description: String { "\(name.sql)(\(identityArguments))" }

    public static func < (a: FunctionKey, b: FunctionKey) -> Bool {
      (a.name, a.identityArguments) < (b.name, b.identityArguments)
    }
  }

  /// A function or procedure, in the parts `pg_dump` writes it from (its own deparsers for the
  /// argument list and result type, the body as stored).
  public struct Function: SchemaSnapshotObject {
    public var name: QualifiedName
    public var kind: Kind
    /// `pg_get_function_arguments`: names, modes, types and defaults.
    public var arguments: String
    /// `pg_get_function_identity_arguments`: what names the function in COMMENT or DROP.
    public var identityArguments: String
    /// `pg_get_function_result` (`integer`, `SETOF text`, `TABLE(a integer)`); nil for procedures.
    public var result: String?
    public var language: String
    public var volatility: Volatility
    public var strict: Bool
    public var securityDefiner: Bool
    public var leakproof: Bool
    public var parallel: Parallel
    /// `WINDOW` functions.
    public var window: Bool
    public var cost: Double
    /// Estimated rows of a set-returning function (0 for others).
    public var rows: Double
    /// `SET name = value` of the function, in the stored order.
    public var configuration: [Setting]
    public var body: Body
    public var comment: String?

    public init(
      name: QualifiedName, kind: Kind = .function, arguments: String, identityArguments: String, result: String?,
      language: String, volatility: Volatility = .volatile, strict: Bool = false, securityDefiner: Bool = false,
      leakproof: Bool = false, parallel: Parallel = .unsafe, window: Bool = false, cost: Double, rows: Double = 0,
      configuration: [Setting] = [], body: Body, comment: String? = nil
    ) {
      self.name = name
      self.kind = kind
      self.arguments = arguments
      self.identityArguments = identityArguments
      self.result = result
      self.language = language
      self.volatility = volatility
      self.strict = strict
      self.securityDefiner = securityDefiner
      self.leakproof = leakproof
      self.parallel = parallel
      self.window = window
      self.cost = cost
      self.rows = rows
      self.configuration = configuration
      self.body = body
      self.comment = comment
    }

    public var key: FunctionKey { FunctionKey(name: name, identityArguments: identityArguments) }

    /// The cost PostgreSQL gives a function of `language` when none is written.
    public static func defaultCost(language: String) -> Double {
      language == "c" || language == "internal" ? 1 : 100
    }

    public enum Kind: String, Hashable, Sendable, Codable {
      case function, procedure
    }

    public enum Volatility: String, Hashable, Sendable, Codable {
      case immutable, stable, volatile
    }

    public enum Parallel: String, Hashable, Sendable, Codable {
      case safe, restricted, unsafe
    }

    public enum Body: Hashable, Sendable, Codable {
      /// `AS '...'`: the source as stored (`prosrc`).
      case source(String)
      /// `AS 'file', 'symbol'` of a C function.
      case object(file: String, symbol: String)
      /// A SQL-standard body (`RETURN ...` or `BEGIN ATOMIC ... END`), as `pg_get_function_sqlbody` prints it.
      case sqlBody(String)
    }

    enum CodingKeys: String, CodingKey {
      case name, kind, arguments
      case identityArguments = "identity_arguments"
      case result, language, volatility, strict
      case securityDefiner = "security_definer"
      case leakproof, parallel, window, cost, rows, configuration, body, comment
    }
  }

  /// A `name = value` pair: a function's `SET`, a storage parameter.
  public struct Setting: Hashable, Sendable, Codable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
      self.name = name
      self.value = value
    }
  }
}
