package import PGPhaseModel
package import PGPhasePostgres

/// Reads the live catalog through one connection. Every read is a plain SELECT with names passed
/// as parameters; names without a schema resolve through the session's `search_path`, exactly as
/// the statements of a plan would.
///
/// Not `Sendable`: it uses its connection, which belongs to one task at a time.
package struct Catalog {
  package let connection: Connection

  package init(_ connection: Connection) { self.connection = connection }

  // MARK: - Relations

  /// A relation's `pg_class.relkind` as a readable value.
  package enum RelationKind: String, Sendable, Equatable {
    case table = "r"
    case partitionedTable = "p"
    case view = "v"
    case materializedView = "m"
    case index = "i"
    case partitionedIndex = "I"
    case sequence = "S"
    case foreignTable = "f"
    case compositeType = "c"
    case toastTable = "t"

    package var isTable: Bool { self == .table || self == .partitionedTable }
    package var isView: Bool { self == .view || self == .materializedView }
    package var isIndex: Bool { self == .index || self == .partitionedIndex }

    /// For messages: "table", "view", ...
    package var noun: String {
      switch self {
      case .table: "table"
      case .partitionedTable: "partitioned table"
      case .view: "view"
      case .materializedView: "materialized view"
      case .index: "index"
      case .partitionedIndex: "partitioned index"
      case .sequence: "sequence"
      case .foreignTable: "foreign table"
      case .compositeType: "composite type"
      case .toastTable: "TOAST table"
      }
    }

    /// For messages: "a table", "an index", ...
    package var article: String { (self == .index ? "an " : "a ") + noun }
  }

  /// The kind of the relation `name` resolves to, or nil when there is none.
  package func relationKind(_ name: QualifiedName) throws -> RelationKind? {
    let result = try connection.execute("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)", [name.sql])
    return result.scalar.flatMap(RelationKind.init(rawValue:))
  }

  // MARK: - Columns

  package struct ColumnInfo: Sendable, Equatable {
    package var name: String
    /// `format_type(atttypid, atttypmod)`, e.g. `character varying(20)`.
    package var type: String
    package var typeOID: UInt32
    /// `attnotnull`: new rows must not be NULL. On PostgreSQL 18 that includes a NOT NULL added
    /// `NOT VALID`, whose existing rows were never checked (`notNullValidated` false).
    package var notNull: Bool
    /// NOT NULL and checked for every row: false when the column is nullable, or (18) when its
    /// NOT NULL constraint is `NOT VALID`.
    package var notNullValidated: Bool
    /// `pg_get_expr(adbin, adrelid)` of a default (not of a generated column); nil when none.
    package var defaultExpression: String?
    /// The generation expression of a `GENERATED ALWAYS AS (...) STORED` column.
    package var generatedExpression: String?
    /// `a` (always) or `d` (by default) for an identity column.
    package var identity: String?
  }

  /// A live (not dropped, not system) column of a relation; nil when the relation or the column
  /// does not exist.
  package func column(_ column: String, of table: QualifiedName) throws -> ColumnInfo? {
    let result = try connection.execute(
      """
      SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.atttypid::int8 AS typeoid,
             a.attnotnull, a.attgenerated::text AS generated, a.attidentity::text AS identity,
             pg_get_expr(d.adbin, d.adrelid) AS expr,
             a.attnotnull AND NOT EXISTS (
               SELECT 1 FROM pg_constraint n
               WHERE n.conrelid = a.attrelid AND n.contype = 'n' AND n.conkey = ARRAY[a.attnum] AND NOT n.convalidated
             ) AS notnull_validated
      FROM pg_attribute a
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped
      """, [table.sql, column])
    guard let row = result.first else { return nil }
    let generated = (row["generated"] ?? "") != ""
    let identity = row["identity"].flatMap { $0.isEmpty ? nil : $0 }
    return ColumnInfo(
      name: row["attname"] ?? column, type: row["type"] ?? "", typeOID: UInt32(try row.int("typeoid") ?? 0),
      notNull: try row.bool("attnotnull") ?? false, notNullValidated: try row.bool("notnull_validated") ?? false,
      defaultExpression: generated ? nil : row["expr"], generatedExpression: generated ? row["expr"] : nil,
      identity: identity)
  }

  /// What depends on one column and goes when it is dropped (or stops the drop): indexes,
  /// constraints (also other tables' foreign keys to it), views, triggers with a column list,
  /// owned sequences, statistics objects; as `pg_describe_object` words them, sorted. The
  /// column's default and its NOT NULL are left out: they are the column's own, and what replaces
  /// the column restates them (`nullable`, `default`). PostgreSQL 18 records a NOT NULL as a
  /// `pg_constraint` row (contype `n`, e.g. `checks_url_not_null`) that depends on the column;
  /// 15 and 17 only set `attnotnull`.
  package func dependents(of column: String, in table: QualifiedName) throws -> [String] {
    try dependentObjects(of: column, in: table).map(\.description)
  }

  /// An object that depends on a column: how `pg_describe_object` names it, and its key as
  /// `CarriedObject` spells it (nil for kinds a plan never carries over, such as views).
  package struct ColumnDependent: Sendable, Equatable {
    package var description: String
    package var key: String?
  }

  /// What depends on `column` of `table` (indexes, constraints of it and of other tables, column
  /// triggers, statistics, views, owned sequences, generated columns), sorted by description.
  package func dependentObjects(of column: String, in table: QualifiedName) throws -> [ColumnDependent] {
    let result = try connection.execute(
      """
      SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid) AS what,
        CASE
          WHEN d.classid = 'pg_class'::regclass AND d.objsubid = 0 THEN
            (SELECT CASE r.relkind WHEN 'i' THEN 'index:' || r.relname WHEN 'I' THEN 'index:' || r.relname
                      WHEN 'S' THEN 'sequence:' || ns.nspname || '.' || r.relname END
             FROM pg_class r JOIN pg_namespace ns ON ns.oid = r.relnamespace WHERE r.oid = d.objid)
          WHEN d.classid = 'pg_constraint'::regclass THEN
            (SELECT 'constraint:' || ns.nspname || '.' || r.relname || ':' || k.conname
             FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid JOIN pg_namespace ns ON ns.oid = r.relnamespace
             WHERE k.oid = d.objid)
          WHEN d.classid = 'pg_trigger'::regclass THEN
            (SELECT 'trigger:' || g.tgname FROM pg_trigger g WHERE g.oid = d.objid)
          WHEN d.classid = 'pg_statistic_ext'::regclass THEN
            (SELECT 'statistics:' || ns.nspname || '.' || x.stxname
             FROM pg_statistic_ext x JOIN pg_namespace ns ON ns.oid = x.stxnamespace WHERE x.oid = d.objid)
        END AS key
      FROM pg_attribute a
      JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
      WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped
        AND d.classid <> 'pg_attrdef'::regclass
        AND NOT (d.classid = 'pg_constraint'::regclass
                 AND EXISTS (SELECT 1 FROM pg_constraint n WHERE n.oid = d.objid AND n.contype = 'n'))
      """, [table.sql, column])
    // A view's dependency is its rewrite rule: "rule _RETURN on view v" reads better as "view v".
    return result.rows.compactMap { row -> ColumnDependent? in
      guard let what = row["what"] else { return nil }
      let rule = "rule _RETURN on "
      return ColumnDependent(description: what.hasPrefix(rule) ? String(what.dropFirst(rule.count)) : what, key: row["key"])
    }.sorted { $0.description < $1.description }
  }

  /// The server's canonical spelling of a type as written (`int` → `integer`,
  /// `varchar(20)` → `character varying(20)`, `timestamptz` → `timestamp with time zone`,
  /// `text[]`, `numeric(10,2)`, enums, domains), found without creating anything:
  /// `SELECT NULL::<type>` is prepared and described (never run), which gives the type's OID and
  /// modifier, and `format_type` renders those exactly as it renders a column's type.
  /// `serial`, `bigserial` and `smallserial` (not real types) become the integer type they make.
  ///
  /// - Throws: `PostgresError` (e.g. 42704 undefined_object) when the server does not know the type,
  ///   `NotASingleType` when the text names several (`int, text`).
  package func canonicalType(_ written: String) throws -> String {
    let trimmed = written.trimmingWhitespace()
    let serials = [
      "serial": "integer", "serial4": "integer", "bigserial": "bigint", "serial8": "bigint",
      "smallserial": "smallint", "serial2": "smallint",
    ]
    let spelled = serials[trimmed.lowercased()] ?? trimmed
    let described = try connection.describe("SELECT NULL::\(spelled) AS t")
    guard described.count == 1 else { throw NotASingleType(written: written) }
    let type = described[0]
    // A domain's value is described as its base type in some paths; to_regtype keeps the domain.
    // Domains take no modifier, so when the two disagree the named type with no modifier is right.
    let result = try connection.execute(
      """
      SELECT CASE WHEN r.oid IS NULL OR r.oid = $1::oid THEN format_type($1::oid, $2::int)
                  ELSE format_type(r.oid, NULL) END
      FROM (SELECT to_regtype($3) AS oid) r
      """, [String(type.typeOID), String(type.typeModifier), spelled])
    return result.scalar ?? spelled
  }

  /// Type text that the server reads as more than one type: not a column type.
  package struct NotASingleType: Error, Sendable, Equatable, CustomStringConvertible {
    package var written: String
    package var description: String { "not a single type: \(written)" }
  }

  // MARK: - Constraints, triggers, functions

  package struct ConstraintInfo: Sendable, Equatable {
    package var name: String
    /// `pg_constraint.contype`: c check, f foreign key, p primary key, u unique, x exclusion, t trigger,
    /// n NOT NULL (PostgreSQL 18, which names them, e.g. `t_c_not_null`).
    package var type: String
    package var validated: Bool
    package var definition: String
  }

  package func constraint(_ name: String, on table: QualifiedName) throws -> ConstraintInfo? {
    let result = try connection.execute(
      """
      SELECT conname, contype::text AS type, convalidated, pg_get_constraintdef(oid) AS def
      FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2
      """, [table.sql, name])
    guard let row = result.first else { return nil }
    return ConstraintInfo(
      name: row["conname"] ?? name, type: row["type"] ?? "", validated: try row.bool("convalidated") ?? false,
      definition: row["def"] ?? "")
  }

  package struct TriggerInfo: Sendable, Equatable {
    package var name: String
    /// `pg_trigger.tgenabled`: O (origin, the default), D disabled, R replica, A always.
    package var enabled: String
    package var isEnabled: Bool { enabled != "D" }
  }

  /// A user trigger (not an internal one, such as a foreign key's) on a table.
  package func trigger(_ name: String, on table: QualifiedName) throws -> TriggerInfo? {
    let result = try connection.execute(
      """
      SELECT tgname, tgenabled::text AS enabled FROM pg_trigger
      WHERE tgrelid = to_regclass($1) AND tgname = $2 AND NOT tgisinternal
      """, [table.sql, name])
    guard let row = result.first else { return nil }
    return TriggerInfo(name: row["tgname"] ?? name, enabled: row["enabled"] ?? "O")
  }

  /// How many functions (overloads) have this name in its schema; with no schema, in
  /// `current_schema()`, where an unqualified CREATE FUNCTION puts it.
  package func functionCount(_ name: QualifiedName) throws -> Int {
    let result = try connection.execute(
      """
      SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE p.proname = $2 AND n.nspname = coalesce($1, current_schema())
      """, [name.schema, name.name])
    return try result.scalarInt() ?? 0
  }

  // MARK: - Indexes

  package struct IndexState: Sendable, Equatable {
    /// The index as `regclass` prints it (qualified when not on the search_path).
    package var name: String
    /// Its table, as `regclass` prints it.
    package var table: String
    package var tableOID: UInt32
    /// `indisvalid`: usable by queries. False after a failed or interrupted concurrent build.
    package var valid: Bool
    /// `indisready`: maintained by writes.
    package var ready: Bool
    package var unique: Bool
    /// `pg_get_indexdef`, e.g. `CREATE UNIQUE INDEX i ON public.t USING btree (email)`.
    package var definition: String

    /// Valid and ready: what a finished build leaves.
    package var isUsable: Bool { valid && ready }
  }

  /// The state of an index, or nil when `name` is not an index.
  package func indexState(name: QualifiedName) throws -> IndexState? {
    let result = try connection.execute(
      """
      SELECT i.indexrelid::regclass::text AS name, i.indrelid::regclass::text AS tbl, i.indrelid::int8 AS tbloid,
             i.indisvalid, i.indisready, i.indisunique, pg_get_indexdef(i.indexrelid) AS def
      FROM pg_index i WHERE i.indexrelid = to_regclass($1)
      """, [name.sql])
    guard let row = result.first else { return nil }
    return IndexState(
      name: row["name"] ?? name.sql, table: row["tbl"] ?? "", tableOID: UInt32(try row.int("tbloid") ?? 0),
      valid: try row.bool("indisvalid") ?? false, ready: try row.bool("indisready") ?? false,
      unique: try row.bool("indisunique") ?? false, definition: row["def"] ?? "")
  }

  /// A `CREATE INDEX [CONCURRENTLY]` or `REINDEX` in progress, from `pg_stat_progress_create_index`.
  package struct IndexBuildProgress: Sendable, Equatable {
    /// The backend running the build (it may belong to a killed client: the server goes on).
    package var pid: Int32
    package var command: String
    /// e.g. `waiting for writers before build`, `building index: scanning table`.
    package var phase: String
    package var lockersTotal: Int?
    package var lockersDone: Int?
    /// The session the build is waiting for, when it waits: show it to the operator.
    package var currentLockerPID: Int32?
    package var blocksTotal: Int?
    package var blocksDone: Int?
    package var tuplesTotal: Int?
    package var tuplesDone: Int?
    /// The builder's `application_name`, e.g. `pgphase apply host:1234`.
    package var applicationName: String?

    /// blocks_done / blocks_total, else tuples_done / tuples_total, in 0...1, when known.
    package var fractionDone: Double? {
      if let total = blocksTotal, total > 0, let done = blocksDone { return min(1, Double(done) / Double(total)) }
      if let total = tuplesTotal, total > 0, let done = tuplesDone { return min(1, Double(done) / Double(total)) }
      return nil
    }
  }

  /// The build of the index `indexName`, when one runs (joined on `index_relid`). Needs the
  /// index's catalog row, which a concurrent build commits in its first transaction.
  package func runningIndexBuild(indexName: QualifiedName) throws -> IndexBuildProgress? {
    let result = try connection.execute(
      """
      SELECT p.pid, p.command, p.phase, p.lockers_total, p.lockers_done, p.current_locker_pid,
             p.blocks_total, p.blocks_done, p.tuples_total, p.tuples_done, a.application_name
      FROM pg_stat_progress_create_index p
      LEFT JOIN pg_stat_activity a ON a.pid = p.pid
      WHERE p.index_relid = to_regclass($1)
      """, [indexName.sql])
    guard let row = result.first else { return nil }
    let locker = try row.int("current_locker_pid")
    return IndexBuildProgress(
      pid: Int32(try row.int("pid") ?? 0), command: row["command"] ?? "", phase: row["phase"] ?? "",
      lockersTotal: try row.int("lockers_total"), lockersDone: try row.int("lockers_done"),
      currentLockerPID: locker.flatMap { $0 == 0 ? nil : Int32($0) },
      blocksTotal: try row.int("blocks_total"), blocksDone: try row.int("blocks_done"),
      tuplesTotal: try row.int("tuples_total"), tuplesDone: try row.int("tuples_done"),
      applicationName: row["application_name"])
  }

  // MARK: - Sessions

  /// A session that blocks another, from `pg_blocking_pids` and `pg_stat_activity`.
  package struct BlockingSession: Sendable, Equatable {
    package var pid: Int32
    /// `active`, `idle in transaction`, ...; nil when not visible to this role.
    package var state: String?
    /// Its current or last statement.
    package var query: String?
    /// Seconds since its transaction began; nil when it has none.
    package var transactionAgeSeconds: Double?
    package var applicationName: String?
    package var user: String?
    package var clientAddress: String?
  }

  /// The sessions `pid` waits for, with what they are doing.
  package func blockingPIDs(of pid: Int32) throws -> [BlockingSession] {
    let result = try connection.execute(
      """
      SELECT b.pid, a.state, a.query, extract(epoch FROM now() - a.xact_start)::float8 AS xact_age,
             a.application_name, a.usename::text AS usename, a.client_addr::text AS client_addr
      FROM unnest(pg_blocking_pids($1::int)) AS b(pid)
      LEFT JOIN pg_stat_activity a ON a.pid = b.pid
      ORDER BY b.pid
      """, [String(pid)])
    return try result.rows.map { row in
      BlockingSession(
        pid: Int32(try row.int("pid") ?? 0), state: row["state"], query: row["query"],
        transactionAgeSeconds: try row.double("xact_age"), applicationName: row["application_name"],
        user: row["usename"], clientAddress: row["client_addr"])
    }
  }
}

extension String {
  fileprivate func trimmingWhitespace() -> String {
    var s = Substring(self)
    while let c = s.first, c.isWhitespace { s = s.dropFirst() }
    while let c = s.last, c.isWhitespace { s = s.dropLast() }
    return String(s)
  }
}
