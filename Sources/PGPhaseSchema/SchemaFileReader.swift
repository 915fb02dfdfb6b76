public import PGPhaseModel
import PGPhaseSQL

/// What reading a schema file gave: the snapshot, and every problem found, located.
public struct SchemaFileReading: Sendable {
  public var snapshot: SchemaSnapshot
  /// Errors (a statement that does not parse, or that a schema file cannot hold or this reader
  /// cannot take) and warnings (objects a snapshot leaves out), each at its file:line:column.
  public var diagnostics: [Diagnostic]

  public var hasErrors: Bool { diagnostics.hasErrors }
}

/// Reads SQL that describes a schema — `pg_dump --schema-only` output, `pgphase schema dump`'s
/// canonical form, or a hand-written schema file — into a `SchemaSnapshot`, through
/// libpg_query's parser (PGPhaseSQL). Pure: no database, no I/O.
///
/// Expressions (defaults, CHECK and exclusion constraints, index keys and predicates, view
/// queries, triggers, statistics, partition bounds) are kept as the file writes them, taken
/// from the exact source text; types are spelled as the server spells them (`int` is
/// `integer`). pg_dump and the canonical form print what the server deparsed, so reading either
/// gives the snapshot the live reader gives for the same database.
///
/// Ignored: data (INSERT, COPY with its rows, UPDATE, DELETE), SET and set_config (except that
/// search_path decides where unqualified names go), owners, GRANT/REVOKE, ANALYZE/VACUUM,
/// transaction control, psql meta-commands, roles and databases. Objects a snapshot does not
/// cover (policies, rules, aggregates, operators, range types, ...) are warnings; statements
/// that cannot be read are errors. Objects in pgphase's journal schema are left out.
public enum SchemaFileReader {
  /// Reads `text`, the contents of `file` (the name only appears in locations).
  public static func read(_ text: String, file: String) -> SchemaFileReading {
    var reader = Reader(text: text, file: file)
    reader.readAll()
    return SchemaFileReading(snapshot: reader.snapshot, diagnostics: reader.diagnostics)
  }

  /// Reads `text` as statements run on a database whose schema is `snapshot`, and returns the
  /// schema they leave: what the planner's model learns from a `sql` change's `up`. Statements are
  /// read as in a file (the same objects, the same rules), except that they may alter and drop
  /// what `snapshot` already has; what a file could not hold is an error here too, for the caller
  /// to weigh (the snapshot then lacks it).
  public static func apply(_ text: String, file: String, to snapshot: SchemaSnapshot) -> SchemaFileReading {
    var reader = Reader(text: text, file: file)
    reader.snapshot = snapshot
    for table in snapshot.tables {
      for index in table.indexes { reader.indexOwners[table.name.sibling(index.name)] = table.name }
      for key in table.constraints where key.kind == .primaryKey || key.kind == .unique || key.kind == .exclusion {
        reader.indexOwners[table.name.sibling(key.name)] = table.name
      }
    }
    for view in snapshot.views {
      for index in view.indexes { reader.indexOwners[view.name.sibling(index.name)] = view.name }
    }
    reader.readAll()
    return SchemaFileReading(snapshot: reader.snapshot, diagnostics: reader.diagnostics)
  }
}

typealias S = SchemaSnapshot

/// Where a statement is in the file.
struct StatementSpan {
  var start: Int
  var end: Int
}

/// The state of one read.
struct Reader {
  let file: String
  let bridge: GrammarBridge
  let source: SQLSource
  let s: SourceText
  var snapshot = SchemaSnapshot()
  var diagnostics: [Diagnostic] = []
  /// Where unqualified names are created and looked up (`SET search_path`); pg_dump sets it empty
  /// and qualifies every name.
  var searchPath = ["public"]
  /// The statement being read.
  var statement = StatementSpan(start: 0, end: 0)
  /// COMMENT statements, applied once every object exists.
  var comments: [(fields: JSONValue, span: StatementSpan)] = []
  /// Each index (also a key constraint's index) by its qualified name: the relation it is on.
  var indexOwners: [QualifiedName: QualifiedName] = [:]
  /// Views' query trees, for their dependencies once every table is known.
  var viewQueries: [QualifiedName: JSONValue] = [:]
  /// Column foreign keys written without referenced columns: the referenced table's primary key,
  /// filled in at the end.
  var pendingPrimaryKeyReferences: [(table: QualifiedName, constraint: String, location: Int)] = []
  /// ON UPDATE/DELETE and MATCH of foreign keys written on a column (their definition is made).
  var foreignKeyActions: [ConstraintKey: ForeignKeyActions] = [:]
  var columnKeyOptions: [ConstraintKey: ColumnKeyOptions] = [:]
  /// PostgreSQL 18's `ALTER TABLE ... ADD CONSTRAINT n NOT NULL col`, applied at the end.
  var pendingNotNulls: [GrammarBridge.NotNullStatement] = []

  init(text: String, file: String) {
    self.file = file
    bridge = GrammarBridge(text)
    source = SQLSource(file: file, text: bridge.text)
    let tokens = bridge.tokens ?? (try? SQLScanner.tokens(bridge.text).get()) ?? []
    s = SourceText(source, tokens: tokens)
  }

  // MARK: - Statements

  mutating func readAll() {
    let outcome = SQLParser.parse(source)
    for error in outcome.errors {
      let hint = error.newerGrammar.map {
        "this needs PostgreSQL \($0)'s grammar; the parser here reads PostgreSQL \(SQLParser.grammarVersion)'s"
      }
      diagnostics.append(.error(error.message, at: source.location(ofByte: error.byteOffset), hint: hint))
    }
    for notNull in bridge.notNullStatements { addNotNullConstraint(notNull) }
    for statement in outcome.statements {
      self.statement = StatementSpan(start: statement.start, end: statement.end)
      read(statement)
    }
    finish()
    diagnostics.sort {
      ($0.location ?? .init(file: "", line: 0, column: 0)) < ($1.location ?? .init(file: "", line: 0, column: 0))
    }
  }

  /// Statements with nothing a snapshot holds: data, settings, privileges, maintenance.
  static let ignored: Set<String> = [
    "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "CopyStmt", "GrantStmt", "GrantRoleStmt", "AlterOwnerStmt",
    "AlterDefaultPrivilegesStmt", "VacuumStmt", "TransactionStmt", "CheckPointStmt", "LockStmt", "CreateRoleStmt",
    "AlterRoleStmt", "AlterRoleSetStmt", "DropRoleStmt", "CreatedbStmt", "AlterDatabaseStmt", "AlterDatabaseSetStmt",
    "AlterDatabaseRefreshCollStmt", "DropdbStmt", "SecLabelStmt", "NotifyStmt", "ListenStmt", "UnlistenStmt", "DiscardStmt",
    "RefreshMatViewStmt", "ClusterStmt", "ReindexStmt", "ExplainStmt", "PrepareStmt", "ExecuteStmt", "DeallocateStmt",
    "AlterExtensionStmt", "AlterExtensionContentsStmt", "AlterSystemStmt", "CallStmt", "CreateTableSpaceStmt",
    "DropTableSpaceStmt", "AlterTableSpaceOptionsStmt", "ReassignOwnedStmt", "DropOwnedStmt", "VariableShowStmt",
    "ConstraintsSetStmt", "DeclareCursorStmt", "ClosePortalStmt", "FetchStmt", "LoadStmt",
  ]

  /// Statements that create what a snapshot does not cover: read past with a warning.
  static let leftOut: [String: String] = [
    "CreatePolicyStmt": "row security policies", "AlterPolicyStmt": "row security policies", "RuleStmt": "rules",
    "DefineStmt": "aggregates, operators, base types and text search objects", "CreateRangeStmt": "range types",
    "CreateCastStmt": "casts", "CreateConversionStmt": "conversions", "CreateOpClassStmt": "operator classes",
    "CreateOpFamilyStmt": "operator families", "AlterOpFamilyStmt": "operator families",
    "CreateFdwStmt": "foreign data wrappers", "CreateForeignServerStmt": "foreign servers",
    "CreateForeignTableStmt": "foreign tables", "CreateUserMappingStmt": "user mappings",
    "ImportForeignSchemaStmt": "foreign tables", "CreateEventTrigStmt": "event triggers",
    "AlterEventTrigStmt": "event triggers", "CreatePublicationStmt": "publications", "AlterPublicationStmt": "publications",
    "CreateSubscriptionStmt": "subscriptions", "CreatePLangStmt": "procedural languages", "CreateTransformStmt": "transforms",
    "CreateAmStmt": "access methods", "DoStmt": "DO blocks (not run, so what they create is not known)",
    "AlterTSConfigurationStmt": "text search configurations", "AlterTSDictionaryStmt": "text search dictionaries",
    "AlterOperatorStmt": "operators", "AlterTypeStmt": "type options", "AlterCollationStmt": "collations",
    "AlterFunctionStmt": "function attributes changed after CREATE FUNCTION",
  ]

  mutating func read(_ statement: ParsedStatement) {
    let f = statement.fields
    switch statement.type {
    case "VariableSetStmt": readSet(f)
    case "SelectStmt": readSelect(f)
    case "CreateSchemaStmt": readCreateSchema(f)
    case "CreateExtensionStmt": readCreateExtension(f)
    case "CreateEnumStmt": readCreateEnum(f)
    case "AlterEnumStmt": readAlterEnum(f)
    case "CompositeTypeStmt": readCompositeType(f)
    case "CreateDomainStmt": readCreateDomain(f)
    case "AlterDomainStmt": readAlterDomain(f)
    case "CreateFunctionStmt": readCreateFunction(f)
    case "CreateSeqStmt": readCreateSequence(f)
    case "AlterSeqStmt": readAlterSequence(f)
    case "CreateStmt": readCreateTable(f)
    case "AlterTableStmt": readAlterTable(f)
    case "IndexStmt": readCreateIndex(f)
    case "CreateTrigStmt": readCreateTrigger(f)
    case "CreateStatsStmt": readCreateStatistics(f)
    case "AlterStatsStmt": readAlterStatistics(f)
    case "ViewStmt": readCreateView(f)
    case "CreateTableAsStmt": readCreateTableAs(f)
    case "CommentStmt": comments.append((f, self.statement))
    case "RenameStmt": readRename(f)
    case "DropStmt": readDrop(f)
    default:
      if Self.ignored.contains(statement.type) { return }
      if let what = Self.leftOut[statement.type] {
        warn("\(what) are not part of a schema snapshot; left out")
      } else {
        error("\(Self.words(statement.type)) cannot be read in a schema file")
      }
    }
  }

  /// `CreateForeignTableStmt` as `CREATE FOREIGN TABLE`-ish words: the node name split at capitals.
  static func words(_ type: String) -> String {
    var out = ""
    for c in type.replacing("Stmt", with: "") {
      if c.isUppercase, !out.isEmpty { out.append(" ") }
      out.append(c)
    }
    return out.uppercased()
  }

  // MARK: - Settings

  mutating func readSet(_ f: JSONValue) {
    guard f["name"]?.string == "search_path", f["kind"]?.string == "VAR_SET_VALUE" else { return }
    setSearchPath((f["args"]?.array ?? []).compactMap(\.constantText).joined(separator: ","))
  }

  /// `SELECT pg_catalog.set_config('search_path', '...', false)` (pg_dump); every other SELECT is data.
  mutating func readSelect(_ f: JSONValue) {
    guard let call = f["targetList"]?.array.first?.node("ResTarget")?["val"]?.node("FuncCall"),
      call["funcname"]?.names.last == "set_config",
      let args = call["args"]?.array, args.count >= 2, args[0].constantText == "search_path",
      let value = args[1].constantText
    else { return }
    setSearchPath(value)
  }

  mutating func setSearchPath(_ value: String) {
    let schemas = SchemaSnapshot.splitNameList(value).filter { !$0.isEmpty && $0 != "$user" && $0 != "pg_catalog" }
    searchPath = schemas.isEmpty ? ["public"] : schemas
  }

  // MARK: - Names

  var defaultSchema: String { searchPath.first ?? "public" }

  /// A name as written (`[schema.]name`) where a new object goes.
  func creating(_ parts: [String]) -> QualifiedName {
    QualifiedName(schema: parts.count >= 2 ? parts[parts.count - 2] : defaultSchema, parts.last ?? "")
  }

  func creating(_ rangeVar: JSONValue) -> QualifiedName {
    let fields = rangeVar.node("RangeVar") ?? rangeVar
    return QualifiedName(schema: fields["schemaname"]?.string ?? defaultSchema, fields["relname"]?.string ?? "")
  }

  /// An existing object named as written: an unqualified name is looked up along the search path.
  func resolving(_ parts: [String], exists: (QualifiedName) -> Bool) -> QualifiedName {
    if parts.count >= 2 { return QualifiedName(schema: parts[parts.count - 2], parts.last ?? "") }
    let name = parts.last ?? ""
    for schema in searchPath where exists(QualifiedName(schema: schema, name)) { return QualifiedName(schema: schema, name) }
    return QualifiedName(schema: defaultSchema, name)
  }

  func resolvingRelation(_ rangeVar: JSONValue) -> QualifiedName {
    let fields = rangeVar.node("RangeVar") ?? rangeVar
    var parts = [fields["relname"]?.string ?? ""]
    if let schema = fields["schemaname"]?.string { parts.insert(schema, at: 0) }
    return resolvingRelation(parts)
  }

  func resolvingRelation(_ parts: [String]) -> QualifiedName {
    resolving(parts) { snapshot.tables.contains($0) || snapshot.views.contains($0) || snapshot.sequences.contains($0) }
  }

  /// Whether an object of this name is in pgphase's journal schema (which a snapshot leaves out).
  static func isJournal(_ name: QualifiedName) -> Bool { name.schema == SchemaSnapshot.journalSchema }

  /// Whether a relation-like name (table, view, sequence, index) is taken in its schema.
  func relationNameTaken(_ name: QualifiedName) -> Bool {
    if snapshot.tables.contains(name) || snapshot.views.contains(name) || snapshot.sequences.contains(name) { return true }
    if indexOwners[name] != nil { return true }
    return snapshot.tables.contains { $0.name.schema == name.schema && $0.columns.contains { $0.identity?.sequence == name } }
  }

  // MARK: - Diagnostics

  func location(_ offset: Int? = nil) -> SourceLocation { source.location(ofByte: offset ?? statement.start) }

  mutating func error(_ message: String, at offset: Int? = nil, hint: String? = nil) {
    diagnostics.append(.error(message, at: location(offset), hint: hint))
  }

  mutating func warn(_ message: String, at offset: Int? = nil) {
    diagnostics.append(Diagnostic(.warning, message, at: location(offset)))
  }

  // MARK: - Text

  /// The statement's text (no final semicolon).
  var statementText: String { s.spanText(statement.start..<statement.end) }

  /// The value of a DefElem's argument as text: `fillfactor=70` and `fillfactor='70'` are both `70`.
  static func argumentText(_ defElem: JSONValue) -> String? {
    guard let arg = defElem["arg"] else { return nil }
    if let s = arg.node("String")?["sval"]?.string { return s }
    if let i = arg.node("Integer") { return String(i["ival"]?.int ?? 0) }
    if let f = arg.node("Float")?["fval"]?.string { return f }
    if let b = arg.node("Boolean") { return b["boolval"]?.bool == true ? "true" : "false" }
    if let t = arg.node("TypeName") { return t["names"]?.names.joined(separator: ".") }
    return arg.constantText
  }

  /// Storage parameters of a `WITH (...)` list; a parameter with no value is `true`.
  static func settings(_ options: JSONValue?) -> [SchemaSnapshot.Setting] {
    let list = options?.node("List")?["items"] ?? options
    return (list?.array ?? []).compactMap { $0.node("DefElem") }.map { d in
      let name = (d["defnamespace"]?.string.map { "\($0)." } ?? "") + (d["defname"]?.string ?? "")
      return SchemaSnapshot.Setting(name: name, value: argumentText(d) ?? "true")
    }
  }

  /// Every column name a tree refers to (`ColumnRef`s' last field).
  static func columnReferences(_ tree: JSONValue?) -> [String] {
    var out: [String] = []
    tree?.walk { node in
      if let ref = node.node("ColumnRef"), let last = ref["fields"]?.array.last?.node("String")?["sval"]?.string {
        out.append(last)
      }
    }
    return out
  }
}
