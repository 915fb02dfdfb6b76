import Foundation
public import PGPhaseModel
public import PGPhasePostgres

/// What reading a live database's schema gave: the snapshot, and what it left out.
public struct CatalogSchema: Sendable {
  public var snapshot: SchemaSnapshot
  /// Objects the snapshot does not cover, one line each (`table public.t inherits from public.p:
  /// inheritance is left out`), so a dump says what it is missing rather than hiding it.
  public var leftOut: [String]
  /// `server_version_num` of the server read, e.g. 150020.
  public var serverVersion: Int
}

/// Reads the schema of the database a connection is on into a `SchemaSnapshot`, using the
/// server's own deparsers for every definition (format_type, pg_get_expr, pg_get_constraintdef,
/// pg_get_indexdef, pg_get_triggerdef, pg_get_viewdef, pg_get_function_arguments, ...), as
/// pg_dump does, so a snapshot read live equals one read from a dump of the same database.
///
/// Leaves out pgphase's journal schema, the system schemas, and every object an extension owns.
/// Runs in one read-only REPEATABLE READ transaction with an empty `search_path` (names come
/// out schema-qualified, as in pg_dump), so the snapshot is of one moment and takes no lock
/// stronger than ACCESS SHARE on catalogs.
///
/// Not `Sendable`: it uses its connection, which belongs to one task at a time.
public struct CatalogSchemaReader {
  public let connection: Connection

  public init(_ connection: Connection) { self.connection = connection }

  /// Reads every user schema. The connection must not be in a transaction.
  public func read() throws -> CatalogSchema {
    try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    defer { _ = try? connection.execute("ROLLBACK") }
    try connection.execute("SELECT pg_catalog.set_config('search_path', '', true)")
    var reading = Reading(connection: connection, version: connection.serverVersionNumber)
    try reading.readAll()
    return CatalogSchema(snapshot: reading.snapshot, leftOut: reading.leftOut, serverVersion: reading.version)
  }
}

/// Reads in a query per object kind; objects are matched up by OID.
private struct Reading {
  let connection: Connection
  let version: Int
  var snapshot = SchemaSnapshot()
  var leftOut: [String] = []
  /// Tables, views and materialized views read, by OID.
  var relations: [String: QualifiedName] = [:]
  var tableOIDs: [String] = []
  var viewOIDs: [String] = []

  init(connection: Connection, version: Int) {
    self.connection = connection
    self.version = version
  }

  /// Objects in schemas a snapshot includes.
  static func userSchema(_ column: String) -> String {
    "\(column) NOT IN ('pg_catalog', 'information_schema', '\(SchemaSnapshot.journalSchema)') AND \(column) !~ '^pg_(toast|temp_)'"
  }

  /// Not owned by an extension.
  static func notExtensionMember(_ catalog: String, _ oid: String) -> String {
    "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = '\(catalog)'::pg_catalog.regclass AND e.objid = \(oid) AND e.deptype = 'e')"
  }

  func query(_ sql: String, _ parameters: [String?] = []) throws -> [Row] {
    try connection.execute(sql, parameters).rows
  }

  mutating func readAll() throws {
    try readSchemas()
    try readExtensions()
    try readTypes()
    try readSequences()
    try readFunctions()
    try readTables()
    try readViews()
    let all = tableOIDs + viewOIDs
    try readIndexes(of: all)
    try readTriggers(of: all)
    try readStatistics()
    try readLeftOut()
  }

  // MARK: - Schemas, extensions

  mutating func readSchemas() throws {
    let rows = try query(
      """
      SELECT n.nspname, pg_catalog.obj_description(n.oid, 'pg_namespace') AS comment
      FROM pg_catalog.pg_namespace n
      WHERE n.nspname <> 'public' AND \(Self.userSchema("n.nspname"))
        AND \(Self.notExtensionMember("pg_namespace", "n.oid"))
      """)
    for row in rows {
      snapshot.schemas.insert(.init(name: try text(row, "nspname"), comment: row["comment"]))
    }
  }

  mutating func readExtensions() throws {
    // Extensions initdb created (plpgsql) have OIDs below FirstNormalObjectId; pg_dump leaves them out too.
    let rows = try query(
      """
      SELECT e.extname, n.nspname FROM pg_catalog.pg_extension e
      JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE e.oid >= 16384
      """)
    for row in rows {
      snapshot.extensions.insert(.init(name: try text(row, "extname"), schema: try text(row, "nspname")))
    }
  }

  // MARK: - Types

  mutating func readTypes() throws {
    let rows = try query(
      """
      SELECT t.oid, n.nspname, t.typname, t.typtype::text AS kind, pg_catalog.obj_description(t.oid, 'pg_type') AS comment,
             pg_catalog.format_type(t.typbasetype, t.typtypmod) AS base, t.typnotnull,
             coalesce(pg_catalog.pg_get_expr(t.typdefaultbin, 0), t.typdefault) AS def,
             cn.nspname AS collschema, co.collname,
             (SELECT pg_catalog.json_agg(l.enumlabel ORDER BY l.enumsortorder) FROM pg_catalog.pg_enum l WHERE l.enumtypid = t.oid) AS labels,
             (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(c.conname, pg_catalog.pg_get_constraintdef(c.oid), c.convalidated)
                                         ORDER BY c.conname)
              FROM pg_catalog.pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c') AS checks,
             (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
                                                                     acn.nspname, aco.collname) ORDER BY a.attnum)
              FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
              LEFT JOIN pg_catalog.pg_collation aco ON aco.oid = a.attcollation AND a.attcollation <> at.typcollation
              LEFT JOIN pg_catalog.pg_namespace acn ON acn.oid = aco.collnamespace
              WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) AS attributes
      FROM pg_catalog.pg_type t
      JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
      LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation AND t.typtype = 'd' AND t.typcollation <> bt.typcollation
      LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
      WHERE \(Self.userSchema("n.nspname")) AND \(Self.notExtensionMember("pg_type", "t.oid"))
        AND (t.typtype IN ('e', 'd')
             OR (t.typtype = 'c' AND (SELECT r.relkind FROM pg_catalog.pg_class r WHERE r.oid = t.typrelid) = 'c'))
      """)
    for row in rows {
      let name = QualifiedName(schema: try text(row, "nspname"), try text(row, "typname"))
      let kind: SchemaSnapshot.TypeDefinition.Kind
      switch row["kind"] {
      case "e":
        kind = .enumeration(labels: try json([String].self, row["labels"]) ?? [])
      case "d":
        let checks = try json([[JSONScalar]].self, row["checks"]) ?? []
        kind = .domain(
          .init(
            baseType: try text(row, "base"), collation: qualified(row["collschema"], row["collname"]),
            defaultExpression: row["def"], notNull: try row.bool("typnotnull") ?? false,
            checks: checks.map { check in
              let validated = check[2].bool ?? true
              return .init(
                name: check[0].string ?? "", definition: strippingNotValid(check[1].string ?? "", validated), validated: validated
              )
            }))
      default:
        let attributes = try json([[JSONScalar]].self, row["attributes"]) ?? []
        kind = .composite(
          attributes: attributes.map { a in
            .init(name: a[0].string ?? "", type: a[1].string ?? "", collation: qualified(a[2].string, a[3].string))
          })
      }
      snapshot.types.insert(.init(name: name, kind: kind, comment: row["comment"]))
    }
  }

  // MARK: - Sequences

  static let sequenceColumns = """
    pg_catalog.format_type(s.seqtypid, NULL) AS seqtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle
    """

  func sequenceOptions(_ row: Row) throws -> SchemaSnapshot.SequenceOptions {
    func int64(_ column: String) throws -> Int64 {
      guard let value = Int64(try text(row, column)) else { throw CatalogReadError("\(column) is not a number") }
      return value
    }
    return .init(
      dataType: try text(row, "seqtype"), start: try int64("seqstart"), increment: try int64("seqincrement"),
      minValue: try int64("seqmin"), maxValue: try int64("seqmax"), cache: try int64("seqcache"),
      cycle: try row.bool("seqcycle") ?? false)
  }

  mutating func readSequences() throws {
    let rows = try query(
      """
      SELECT n.nspname, c.relname, pg_catalog.obj_description(c.oid, 'pg_class') AS comment, \(Self.sequenceColumns),
             own.deptype, own.tschema, own.tname, own.attname
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
      LEFT JOIN LATERAL (
        SELECT d.deptype::text AS deptype, tn.nspname AS tschema, t.relname AS tname, a.attname
        FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
        JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
        JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::pg_catalog.regclass
          AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
        LIMIT 1) own ON true
      WHERE c.relkind = 'S' AND \(Self.userSchema("n.nspname")) AND \(Self.notExtensionMember("pg_class", "c.oid"))
        AND own.deptype IS DISTINCT FROM 'i'
      """)
    for row in rows {
      let owner = qualified(row["tschema"], row["tname"]).flatMap { table in
        row["attname"].map { SchemaSnapshot.ColumnPath(table: table, column: $0) }
      }
      snapshot.sequences.insert(
        .init(
          name: QualifiedName(schema: try text(row, "nspname"), try text(row, "relname")), options: try sequenceOptions(row),
          ownedBy: owner, comment: row["comment"]))
    }
  }

  // MARK: - Functions

  mutating func readFunctions() throws {
    let rows = try query(
      """
      SELECT n.nspname, p.proname, p.prokind::text AS kind, pg_catalog.pg_get_function_arguments(p.oid) AS args,
             pg_catalog.pg_get_function_identity_arguments(p.oid) AS identity,
             CASE WHEN p.prokind <> 'p' THEN pg_catalog.pg_get_function_result(p.oid) END AS result,
             l.lanname, p.provolatile::text AS volatility, p.proisstrict, p.prosecdef, p.proleakproof,
             p.proparallel::text AS parallel, p.procost::text AS cost, p.prorows::text AS rows,
             pg_catalog.array_to_json(p.proconfig) AS config, p.prosrc, p.probin,
             CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid) END AS sqlbody,
             pg_catalog.obj_description(p.oid, 'pg_proc') AS comment
      FROM pg_catalog.pg_proc p
      JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      JOIN pg_catalog.pg_language l ON l.oid = p.prolang
      WHERE p.prokind IN ('f', 'p', 'w') AND \(Self.userSchema("n.nspname")) AND \(Self.notExtensionMember("pg_proc", "p.oid"))
      """)
    for row in rows {
      let language = try text(row, "lanname")
      let body: SchemaSnapshot.Function.Body
      if let sqlBody = row["sqlbody"] {
        body = .sqlBody(sqlBody)
      } else if let file = row["probin"] {
        body = .object(file: file, symbol: row["prosrc"] ?? "")
      } else {
        body = .source(row["prosrc"] ?? "")
      }
      let configuration = (try json([String].self, row["config"]) ?? []).map { entry in
        let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return SchemaSnapshot.Setting(name: String(parts[0]), value: parts.count > 1 ? String(parts[1]) : "")
      }
      let function = SchemaSnapshot.Function(
        name: QualifiedName(schema: try text(row, "nspname"), try text(row, "proname")),
        kind: row["kind"] == "p" ? .procedure : .function, arguments: try text(row, "args"),
        identityArguments: try text(row, "identity"), result: row["result"], language: language,
        volatility: row["volatility"] == "i" ? .immutable : row["volatility"] == "s" ? .stable : .volatile,
        strict: try row.bool("proisstrict") ?? false, securityDefiner: try row.bool("prosecdef") ?? false,
        leakproof: try row.bool("proleakproof") ?? false,
        parallel: row["parallel"] == "s" ? .safe : row["parallel"] == "r" ? .restricted : .unsafe,
        window: row["kind"] == "w", cost: try row.double("cost") ?? 0, rows: try row.double("rows") ?? 0,
        configuration: configuration, body: body, comment: row["comment"])
      snapshot.functions.insert(function)
    }
  }

  // MARK: - Tables

  mutating func readTables() throws {
    let rows = try query(
      """
      SELECT c.oid::text AS oid, n.nspname, c.relname, c.relkind::text AS relkind, c.relpersistence::text AS persistence,
             c.relreplident::text AS replident, pg_catalog.array_to_json(c.reloptions) AS options,
             pg_catalog.obj_description(c.oid, 'pg_class') AS comment,
             CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partkey,
             CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS bound,
             pn.nspname AS pschema, pc.relname AS pname,
             (SELECT ic.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = c.oid AND i.indisreplident) AS identindex
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_catalog.pg_inherits inh ON inh.inhrelid = c.oid AND c.relispartition
      LEFT JOIN pg_catalog.pg_class pc ON pc.oid = inh.inhparent
      LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
      WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' AND \(Self.userSchema("n.nspname"))
        AND \(Self.notExtensionMember("pg_class", "c.oid"))
      """)
    var tables: [String: SchemaSnapshot.Table] = [:]
    for row in rows {
      let oid = try text(row, "oid")
      let name = QualifiedName(schema: try text(row, "nspname"), try text(row, "relname"))
      var table = SchemaSnapshot.Table(name: name, unlogged: row["persistence"] == "u", comment: row["comment"])
      table.partitionKey = row["partkey"]
      if let parent = qualified(row["pschema"], row["pname"]), let bound = row["bound"] {
        table.partitionOf = .init(parent: parent, bound: bound)
      }
      switch row["replident"] {
      case "n": table.replicaIdentity = .nothing
      case "f": table.replicaIdentity = .full
      case "i": table.replicaIdentity = row["identindex"].map { .index($0) } ?? .default
      default: table.replicaIdentity = .default
      }
      table.options = try settings(row["options"])
      tables[oid] = table
      relations[oid] = name
    }
    tableOIDs = Array(tables.keys)
    try readColumns(into: &tables)
    try readConstraints(into: &tables)
    for table in tables.values { snapshot.tables.insert(table) }
  }

  mutating func readColumns(into tables: inout [String: SchemaSnapshot.Table]) throws {
    let rows = try query(
      """
      SELECT a.attrelid::text AS rel, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
             a.attnotnull, a.attidentity::text AS identity, a.attgenerated::text AS generated,
             pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS expr, pg_catalog.col_description(a.attrelid, a.attnum) AS comment,
             cn.nspname AS collschema, co.collname,
             (SELECT pg_catalog.json_agg(DISTINCT ra.attname) FROM pg_catalog.pg_depend d
              JOIN pg_catalog.pg_attribute ra ON ra.attrelid = d.refobjid AND ra.attnum = d.refobjsubid
              WHERE a.attgenerated <> '' AND d.refclassid = 'pg_class'::pg_catalog.regclass AND d.refobjid = a.attrelid
                AND d.refobjsubid > 0 AND d.refobjsubid <> a.attnum
                AND ((d.classid = 'pg_class'::pg_catalog.regclass AND d.objid = a.attrelid AND d.objsubid = a.attnum)
                     OR (d.classid = 'pg_attrdef'::pg_catalog.regclass AND d.objid = ad.oid))) AS genuses,
             sn.nspname AS seqschema, sc.relname AS seqname, \(Self.sequenceColumns)
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
      LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation AND a.attcollation <> t.typcollation
      LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
      LEFT JOIN pg_catalog.pg_depend sd ON a.attidentity <> '' AND sd.classid = 'pg_class'::pg_catalog.regclass
        AND sd.refclassid = 'pg_class'::pg_catalog.regclass AND sd.refobjid = a.attrelid AND sd.refobjsubid = a.attnum
        AND sd.deptype = 'i'
      LEFT JOIN pg_catalog.pg_class sc ON sc.oid = sd.objid AND sc.relkind = 'S'
      LEFT JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace
      LEFT JOIN pg_catalog.pg_sequence s ON s.seqrelid = sc.oid
      WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum
      """, [oidArray(tableOIDs)])
    for row in rows {
      let rel = try text(row, "rel")
      guard var table = tables[rel] else { continue }
      let name = try text(row, "attname")
      var column = SchemaSnapshot.Column(
        name: name, type: try text(row, "type"), collation: qualified(row["collschema"], row["collname"]),
        comment: row["comment"])
      if version < 180000, try row.bool("attnotnull") ?? false {
        column.notNull = .init(name: SchemaSnapshot.NotNull.defaultName(table: table.name.name, column: name))
      }
      let generated = row["generated"] ?? ""
      if generated.isEmpty {
        column.defaultExpression = row["expr"]
      } else if let expression = row["expr"] {
        let uses = try json([String].self, row["genuses"]) ?? []
        column.generated = .init(expression: expression, stored: generated == "s", columns: uses)
      }
      let identity = row["identity"] ?? ""
      if !identity.isEmpty {
        guard let sequence = qualified(row["seqschema"], row["seqname"]) else {
          throw CatalogReadError("identity column \(table.name.sql).\(name) has no sequence")
        }
        column.identity = .init(
          kind: identity == "a" ? .always : .byDefault, sequence: sequence, options: try sequenceOptions(row))
      }
      table.columns.append(column)
      tables[rel] = table
    }
    // Generated columns' inputs in column order, now that every column is known.
    for (oid, var table) in tables {
      for i in table.columns.indices {
        guard let generated = table.columns[i].generated else { continue }
        let ordered = table.inColumnOrder(generated.columns)
        table.columns[i].generated?.columns = ordered
      }
      tables[oid] = table
    }
    guard version >= 180000 else { return }
    // PostgreSQL 18: NOT NULL is a pg_constraint row with a name, maybe NOT VALID or NO INHERIT.
    let notNulls = try query(
      """
      SELECT c.conrelid::text AS rel, c.conname, c.convalidated, c.connoinherit, a.attname
      FROM pg_catalog.pg_constraint c
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
      WHERE c.contype = 'n' AND c.conrelid = ANY($1::oid[])
      """, [oidArray(tableOIDs)])
    for row in notNulls {
      let rel = try text(row, "rel")
      guard var table = tables[rel] else { continue }
      let notNull = SchemaSnapshot.NotNull(
        name: try text(row, "conname"), validated: try row.bool("convalidated") ?? true,
        noInherit: try row.bool("connoinherit") ?? false)
      table.updateColumn(try text(row, "attname")) { $0.notNull = notNull }
      tables[rel] = table
    }
  }

  mutating func readConstraints(into tables: inout [String: SchemaSnapshot.Table]) throws {
    // WITHOUT OVERLAPS (PostgreSQL 18) marks the last key column of a temporal key.
    let period = version >= 180000 ? "c.conperiod" : "false"
    let rows = try query(
      """
      SELECT c.conrelid::text AS rel, c.conname, c.contype::text AS type, pg_catalog.pg_get_constraintdef(c.oid) AS def,
             c.convalidated, c.condeferrable, c.condeferred, pg_catalog.obj_description(c.oid, 'pg_constraint') AS comment,
             (SELECT pg_catalog.json_agg(a.attname ORDER BY k.n) FROM pg_catalog.unnest(c.conkey) WITH ORDINALITY k(attnum, n)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns,
             fn.nspname AS fschema, fc.relname AS fname,
             (SELECT pg_catalog.json_agg(a.attname ORDER BY k.n) FROM pg_catalog.unnest(c.confkey) WITH ORDINALITY k(attnum, n)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) AS fcolumns,
             pin.nspname AS pschema, pic.relname AS pname,
             ix.indnullsnotdistinct, pg_catalog.array_to_json(ixc.reloptions) AS indexoptions, \(period) AS period,
             (SELECT pg_catalog.json_agg(a.attname ORDER BY k.n) FROM pg_catalog.unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, n)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
              WHERE k.n > ix.indnkeyatts) AS include
      FROM pg_catalog.pg_constraint c
      LEFT JOIN pg_catalog.pg_index ix ON c.contype IN ('p', 'u') AND ix.indexrelid = c.conindid
      LEFT JOIN pg_catalog.pg_class ixc ON ixc.oid = ix.indexrelid
      LEFT JOIN pg_catalog.pg_class fc ON fc.oid = c.confrelid
      LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
      LEFT JOIN pg_catalog.pg_inherits ih ON c.contype IN ('p', 'u', 'x') AND c.conparentid <> 0 AND ih.inhrelid = c.conindid
      LEFT JOIN pg_catalog.pg_class pic ON pic.oid = ih.inhparent
      LEFT JOIN pg_catalog.pg_namespace pin ON pin.oid = pic.relnamespace
      WHERE c.conrelid = ANY($1::oid[]) AND c.contype IN ('p', 'u', 'c', 'f', 'x')
        AND NOT (c.contype = 'f' AND c.conparentid <> 0)
      """, [oidArray(tableOIDs)])
    for row in rows {
      let rel = try text(row, "rel")
      guard var table = tables[rel] else { continue }
      let kind: SchemaSnapshot.Constraint.Kind =
        switch row["type"] {
        case "p": .primaryKey
        case "u": .unique
        case "c": .check
        case "f": .foreignKey
        default: .exclusion
        }
      var columns = try json([String].self, row["columns"]) ?? []
      if kind == .check { columns = table.inColumnOrder(columns) }
      var definition = try text(row, "def")
      if kind == .primaryKey || kind == .unique {
        definition = SchemaSnapshot.Constraint.keyDefinition(
          kind: kind, columns: columns, include: try json([String].self, row["include"]) ?? [],
          nullsNotDistinct: try row.bool("indnullsnotdistinct") ?? false, options: try settings(row["indexoptions"]),
          deferrable: try row.bool("condeferrable") ?? false, deferred: try row.bool("condeferred") ?? false,
          withoutOverlaps: try row.bool("period") ?? false)
      }
      var references: SchemaSnapshot.ForeignKeyTarget?
      if kind == .foreignKey, let target = qualified(row["fschema"], row["fname"]) {
        references = .init(table: target, columns: try json([String].self, row["fcolumns"]) ?? [])
      }
      table.constraints.insert(
        .init(
          name: try text(row, "conname"), kind: kind, definition: definition, columns: columns, references: references,
          validated: try row.bool("convalidated") ?? true, deferrable: try row.bool("condeferrable") ?? false,
          initiallyDeferred: try row.bool("condeferred") ?? false, partitionOf: qualified(row["pschema"], row["pname"]),
          comment: row["comment"]))
      tables[rel] = table
    }
  }

  // MARK: - Views

  mutating func readViews() throws {
    let rows = try query(
      """
      SELECT c.oid::text AS oid, n.nspname, c.relname, c.relkind::text AS relkind, pg_catalog.pg_get_viewdef(c.oid) AS def,
             pg_catalog.array_to_json(c.reloptions) AS options, pg_catalog.obj_description(c.oid, 'pg_class') AS comment,
             (SELECT pg_catalog.json_object_agg(a.attname, d.description) FROM pg_catalog.pg_description d
              JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid
              WHERE d.objoid = c.oid AND d.classoid = 'pg_class'::pg_catalog.regclass AND d.objsubid > 0) AS colcomments
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('v', 'm') AND \(Self.userSchema("n.nspname")) AND \(Self.notExtensionMember("pg_class", "c.oid"))
      """)
    var views: [String: SchemaSnapshot.View] = [:]
    for row in rows {
      let oid = try text(row, "oid")
      let name = QualifiedName(schema: try text(row, "nspname"), try text(row, "relname"))
      var definition = try text(row, "def").trimmingCharacters(in: .whitespacesAndNewlines)
      if definition.hasSuffix(";") { definition.removeLast() }
      var options = try settings(row["options"])
      let checkOption = options.first { $0.name == "check_option" }?.value
      options.removeAll { $0.name == "check_option" }
      views[oid] = SchemaSnapshot.View(
        name: name, materialized: row["relkind"] == "m", definition: definition, options: options, checkOption: checkOption,
        columnComments: try json([String: String].self, row["colcomments"]) ?? [:], comment: row["comment"])
      relations[oid] = name
    }
    viewOIDs = Array(views.keys)
    let dependencies = try query(
      """
      SELECT r.ev_class::text AS view, rn.nspname, rc.relname,
             pg_catalog.json_agg(DISTINCT a.attname) FILTER (WHERE a.attname IS NOT NULL) AS columns
      FROM pg_catalog.pg_rewrite r
      JOIN pg_catalog.pg_depend d ON d.classid = 'pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid
        AND d.refclassid = 'pg_class'::pg_catalog.regclass AND d.refobjid <> r.ev_class
      JOIN pg_catalog.pg_class rc ON rc.oid = d.refobjid AND rc.relkind IN ('r', 'p', 'v', 'm', 'f')
      JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
      LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid AND d.refobjsubid > 0
      WHERE r.ev_class = ANY($1::oid[]) AND r.rulename = '_RETURN'
      GROUP BY r.ev_class, rn.nspname, rc.relname
      """, [oidArray(viewOIDs)])
    for row in dependencies {
      let oid = try text(row, "view")
      let relation = QualifiedName(schema: try text(row, "nspname"), try text(row, "relname"))
      let columns = (try json([String].self, row["columns"]) ?? []).sorted()
      views[oid]?.dependencies.append(.init(relation: relation, columns: columns))
    }
    for var view in views.values {
      view.dependencies.sort()
      snapshot.views.insert(view)
    }
  }

  // MARK: - Indexes, triggers, statistics

  mutating func readIndexes(of oids: [String]) throws {
    let rows = try query(
      """
      SELECT i.indrelid::text AS rel, ic.relname, i.indisunique, am.amname, i.indnkeyatts,
             pg_catalog.pg_get_indexdef(i.indexrelid) AS def,
             (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(k.n, a.attname, pg_catalog.pg_get_indexdef(i.indexrelid, k.n::int, false))
                                         ORDER BY k.n)
              FROM pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, n)
              LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0) AS keys,
             i.indnullsnotdistinct, pg_catalog.array_to_json(ic.reloptions) AS options,
             pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS pred, pg_catalog.obj_description(i.indexrelid, 'pg_class') AS comment,
             pn.nspname AS pschema, pc.relname AS pname,
             (SELECT pg_catalog.json_agg(DISTINCT a.attname) FROM pg_catalog.pg_depend d
              JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
              WHERE d.classid = 'pg_class'::pg_catalog.regclass AND d.objid = i.indexrelid
                AND d.refclassid = 'pg_class'::pg_catalog.regclass AND d.refobjid = i.indrelid AND d.refobjsubid > 0) AS uses
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_catalog.pg_am am ON am.oid = ic.relam
      LEFT JOIN pg_catalog.pg_inherits ih ON ih.inhrelid = i.indexrelid
      LEFT JOIN pg_catalog.pg_class pc ON pc.oid = ih.inhparent
      LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
      WHERE i.indrelid = ANY($1::oid[])
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
      """, [oidArray(oids)])
    for row in rows {
      guard let relation = relations[try text(row, "rel")] else { continue }
      let definition = try text(row, "def")
      let keyCount = try row.int("indnkeyatts") ?? 0
      let entries = try json([[JSONScalar]].self, row["keys"]) ?? []
      let elements = try IndexDefinitionParts.keyElements(of: definition)
      var keys: [SchemaSnapshot.IndexKey] = []
      var include: [String] = []
      var used: [String] = try json([String].self, row["uses"]) ?? []
      for (position, entry) in entries.enumerated() {
        let column = entry[1].string
        if position >= keyCount {
          if let column { include.append(column) }
          continue
        }
        guard position < elements.count else { throw CatalogReadError("cannot read the keys of \(definition)") }
        let keyText = entry[2].string ?? ""
        let options = try IndexDefinitionParts.options(of: elements[position], after: keyText, in: definition)
        if let column {
          keys.append(.init(column: column, options: options))
          used.append(column)
        } else {
          keys.append(.init(expression: keyText, options: options))
        }
      }
      used += include
      let index = SchemaSnapshot.Index(
        name: try text(row, "relname"), unique: try row.bool("indisunique") ?? false, method: try text(row, "amname"), keys: keys,
        include: include, nullsNotDistinct: try row.bool("indnullsnotdistinct") ?? false, options: try settings(row["options"]),
        predicate: row["pred"], columns: used, partitionOf: qualified(row["pschema"], row["pname"]), comment: row["comment"])
      snapshot.insert(index: index, on: relation)
    }
  }

  mutating func readTriggers(of oids: [String]) throws {
    let rows = try query(
      """
      SELECT t.tgrelid::text AS rel, t.tgname, pg_catalog.pg_get_triggerdef(t.oid, false) AS def, t.tgenabled::text AS enabled,
             fn.nspname AS fschema, f.proname, pg_catalog.obj_description(t.oid, 'pg_trigger') AS comment,
             (SELECT pg_catalog.json_agg(a.attname ORDER BY k.n) FROM pg_catalog.unnest(t.tgattr::int2[]) WITH ORDINALITY k(attnum, n)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = k.attnum) AS columns
      FROM pg_catalog.pg_trigger t
      JOIN pg_catalog.pg_proc f ON f.oid = t.tgfoid
      JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace
      WHERE t.tgrelid = ANY($1::oid[]) AND NOT t.tgisinternal AND t.tgparentid = 0
      """, [oidArray(oids)])
    for row in rows {
      guard let relation = relations[try text(row, "rel")] else { continue }
      let enabled: SchemaSnapshot.TriggerEnabled =
        switch row["enabled"] {
        case "D": .disabled
        case "R": .replica
        case "A": .always
        default: .origin
        }
      let trigger = SchemaSnapshot.Trigger(
        name: try text(row, "tgname"), definition: try text(row, "def"), columns: try json([String].self, row["columns"]) ?? [],
        function: QualifiedName(schema: try text(row, "fschema"), try text(row, "proname")), enabled: enabled,
        comment: row["comment"])
      snapshot.insert(trigger: trigger, on: relation)
    }
  }

  mutating func readStatistics() throws {
    let rows = try query(
      """
      SELECT s.stxrelid::text AS rel, n.nspname, s.stxname, pg_catalog.pg_get_statisticsobjdef(s.oid) AS def,
             NULLIF(s.stxstattarget, -1) AS target, pg_catalog.obj_description(s.oid, 'pg_statistic_ext') AS comment,
             (SELECT pg_catalog.json_agg(DISTINCT a.attname) FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = s.stxrelid AND (a.attnum = ANY(s.stxkeys::int2[]) OR EXISTS (
                SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_statistic_ext'::pg_catalog.regclass AND d.objid = s.oid
                  AND d.refclassid = 'pg_class'::pg_catalog.regclass AND d.refobjid = s.stxrelid AND d.refobjsubid = a.attnum))) AS columns
      FROM pg_catalog.pg_statistic_ext s
      JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
      WHERE s.stxrelid = ANY($1::oid[])
      """, [oidArray(tableOIDs)])
    for row in rows {
      guard let relation = relations[try text(row, "rel")], var table = snapshot.tables[relation] else { continue }
      table.statistics.insert(
        .init(
          name: QualifiedName(schema: try text(row, "nspname"), try text(row, "stxname")), definition: try text(row, "def"),
          columns: table.inColumnOrder(try json([String].self, row["columns"]) ?? []), target: try row.int("target"),
          comment: row["comment"]))
      snapshot.tables.insert(table)
    }
  }

  // MARK: - What the snapshot does not cover

  mutating func readLeftOut() throws {
    let rows = try query(
      """
      SELECT 'table ' || c.oid::pg_catalog.regclass::text || ' inherits from ' || i.inhparent::pg_catalog.regclass::text
             || ': table inheritance (other than partitions) is left out' AS what
      FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND \(Self.userSchema("n.nspname"))
      UNION ALL
      SELECT 'policy ' || p.polname || ' on ' || p.polrelid::pg_catalog.regclass::text || ': row security policies are left out'
      FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE \(Self.userSchema("n.nspname"))
      UNION ALL
      SELECT 'table ' || c.oid::pg_catalog.regclass::text || ': row level security is left out'
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relrowsecurity AND \(Self.userSchema("n.nspname"))
      UNION ALL
      SELECT 'rule ' || r.rulename || ' on ' || r.ev_class::pg_catalog.regclass::text || ': rules are left out'
      FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE r.rulename <> '_RETURN' AND \(Self.userSchema("n.nspname"))
      UNION ALL
      SELECT 'foreign table ' || c.oid::pg_catalog.regclass::text || ': foreign tables are left out'
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'f' AND \(Self.userSchema("n.nspname")) AND \(Self.notExtensionMember("pg_class", "c.oid"))
      UNION ALL
      SELECT 'aggregate ' || p.oid::pg_catalog.regprocedure::text || ': aggregates are left out'
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE p.prokind = 'a' AND \(Self.userSchema("n.nspname")) AND \(Self.notExtensionMember("pg_proc", "p.oid"))
      UNION ALL
      SELECT 'type ' || t.oid::pg_catalog.regtype::text || ': ' || CASE t.typtype WHEN 'r' THEN 'range' ELSE 'base' END
             || ' types are left out'
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE (t.typtype = 'r' OR (t.typtype = 'b' AND t.typelem = 0 AND t.oid >= 16384))
        AND \(Self.userSchema("n.nspname")) AND \(Self.notExtensionMember("pg_type", "t.oid"))
      UNION ALL
      SELECT 'collation ' || n.nspname || '.' || c.collname || ': collations are left out'
      FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
      WHERE c.oid >= 16384 AND \(Self.userSchema("n.nspname")) AND \(Self.notExtensionMember("pg_collation", "c.oid"))
      UNION ALL
      SELECT 'operator ' || o.oid::pg_catalog.regoperator::text || ': operators are left out'
      FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
      WHERE o.oid >= 16384 AND \(Self.userSchema("n.nspname")) AND \(Self.notExtensionMember("pg_operator", "o.oid"))
      ORDER BY 1
      """)
    leftOut = rows.compactMap { $0["what"] }
  }

  // MARK: - Values

  func text(_ row: Row, _ column: String) throws -> String {
    guard let value = row[column] else { throw CatalogReadError("\(column) is NULL") }
    return value
  }

  func qualified(_ schema: String?, _ name: String?) -> QualifiedName? {
    guard let schema, let name else { return nil }
    return QualifiedName(schema: schema, name)
  }

  func json<T: Decodable>(_ type: T.Type, _ text: String?) throws -> T? {
    guard let text else { return nil }
    return try JSONDecoder().decode(T.self, from: Data(text.utf8))
  }

  /// `reloptions` (`{fillfactor=90}`) as settings, in the stored order.
  func settings(_ json: String?) throws -> [SchemaSnapshot.Setting] {
    (try self.json([String].self, json) ?? []).map { entry in
      let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      return .init(name: String(parts[0]), value: parts.count > 1 ? String(parts[1]) : "")
    }
  }

  func oidArray(_ oids: [String]) -> String { "{" + oids.joined(separator: ",") + "}" }

  func strippingNotValid(_ definition: String, _ validated: Bool) -> String {
    guard !validated, definition.hasSuffix(" NOT VALID") else { return definition }
    return String(definition.dropLast(" NOT VALID".count))
  }
}

/// A JSON string, number, boolean or null inside a mixed array from `json_build_array`.
private enum JSONScalar: Decodable {
  case string(String)
  case number(Double)
  case bool(Bool)
  case null

  init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else {
      self = .string(try container.decode(String.self))
    }
  }

  var string: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  var bool: Bool? {
    if case .bool(let b) = self { return b }
    return nil
  }
}

/// The catalog said something the reader did not expect (a bug or an unsupported server).
public struct CatalogReadError: Error, CustomStringConvertible, Sendable {
  public var message: String
  init(_ message: String) { self.message = message }
  public var description: String { "reading the schema: \(message)" }
}
