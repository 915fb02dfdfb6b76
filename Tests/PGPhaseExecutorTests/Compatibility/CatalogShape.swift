import Foundation
import PGPhaseModel
import PGPhasePostgres

/// One column of a table or view, as the live catalog shows it.
struct ShapeColumn: Sendable, Equatable {
  var name: String
  /// `format_type`, usable in a cast (`$1::timestamp with time zone`).
  var type: String
  var notNull: Bool
  var hasDefault: Bool
  /// `a` (GENERATED ALWAYS AS IDENTITY), `d` (BY DEFAULT) or empty.
  var identity: String
  /// A generated (computed) column.
  var generated: Bool
  /// Defaults to `nextval(...)` (serial).
  var serial: Bool
  /// `pg_type.typcategory`: S string, N numeric, B boolean, D date/time, U user-defined (uuid), ...
  var category: String
  var typeName: String
  /// Named in a CHECK constraint (so the harness never alters its value's text).
  var inCheck: Bool
  var inForeignKey: Bool
  /// Another table's foreign key references it: changing its value in a referenced row fails
  /// whatever pgphase does (the app would not do it).
  var referenced: Bool = false

  var sql: String { SQL.quoteIdentifier(name) }
  /// The database numbers or computes it: an app's INSERT never names it.
  var databaseFilled: Bool { !identity.isEmpty || generated || serial }
  /// An app can never write it.
  var readOnly: Bool { identity == "a" || generated }
}

/// A table or view and its columns.
struct ShapeRelation: Sendable {
  var name: QualifiedName
  /// `r` table, `p` partitioned table, `v` view.
  var kind: String
  var columns: [ShapeColumn]
  /// Primary key columns (tables only).
  var primaryKey: [String]
  /// Column lists of the unique indexes on plain columns.
  var uniqueKeys: [[String]]
  var rowCount: Int

  func column(_ name: String) -> ShapeColumn? { columns.first { $0.name == name } }
  var isUnique: Set<String> { Set(uniqueKeys.flatMap { $0 }) }
}

/// Every user table and view of a database (outside the system schemas and pgphase's journal),
/// read from the catalog: the harness derives what each app version sees from this, never from a
/// hand-written list.
struct CatalogShape: Sendable {
  var relations: [String: ShapeRelation]
  /// View key -> the one table it reads (an auto-updatable view, as `rename_table` leaves).
  var viewBases: [String: QualifiedName]

  /// `schema.name`, the schema defaulting to public (as unqualified names in plans resolve).
  static func key(_ name: QualifiedName) -> String { "\(name.schema ?? "public").\(name.name)" }

  func relation(_ name: QualifiedName) -> ShapeRelation? { relations[Self.key(name)] }

  /// The table behind `name`: itself, or a view's base table.
  func physical(_ name: QualifiedName) -> QualifiedName? {
    guard let r = relation(name) else { return nil }
    return r.kind == "v" ? viewBases[Self.key(name)] : r.name
  }

  static func read(_ c: Connection) throws -> CatalogShape {
    let scope = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgphase') AND n.nspname NOT LIKE 'pg_toast%'"
    let columns = try c.execute(
      """
      SELECT n.nspname, c.relname, c.relkind::text AS kind, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
             a.attnotnull, a.atthasdef, a.attidentity::text AS identity, a.attgenerated::text <> '' AS generated,
             coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false) AS serial,
             t.typcategory::text AS category, t.typname,
             EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'c' AND a.attnum = ANY (k.conkey))
               AS in_check,
             EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f' AND a.attnum = ANY (k.conkey))
               AS in_fk,
             EXISTS (SELECT 1 FROM pg_constraint k WHERE k.confrelid = c.oid AND k.contype = 'f' AND a.attnum = ANY (k.confkey))
               AS referenced
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
      WHERE c.relkind IN ('r', 'p', 'v') AND \(scope)
      ORDER BY n.nspname, c.relname, a.attnum
      """)
    var relations: [String: ShapeRelation] = [:]
    for row in columns.rows {
      let name = QualifiedName(schema: row["nspname"], row["relname"] ?? "")
      let column = ShapeColumn(
        name: row["attname"] ?? "", type: row["type"] ?? "", notNull: try row.bool("attnotnull") ?? false,
        hasDefault: try row.bool("atthasdef") ?? false, identity: row["identity"] ?? "",
        generated: try row.bool("generated") ?? false, serial: try row.bool("serial") ?? false,
        category: row["category"] ?? "", typeName: row["typname"] ?? "", inCheck: try row.bool("in_check") ?? false,
        inForeignKey: try row.bool("in_fk") ?? false, referenced: try row.bool("referenced") ?? false)
      relations[
        key(name),
        default: ShapeRelation(
          name: name, kind: row["kind"] ?? "r", columns: [], primaryKey: [], uniqueKeys: [], rowCount: 0)
      ]
      .columns.append(column)
    }
    let indexes = try c.execute(
      """
      SELECT n.nspname, c.relname, i.indisprimary,
             array_to_string(ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY u(attnum, o)
                                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum ORDER BY u.o), ',')
               AS columns
      FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.indisunique AND i.indexprs IS NULL AND \(scope)
      """)
    for row in indexes.rows {
      let k = key(QualifiedName(schema: row["nspname"], row["relname"] ?? ""))
      let cols = (row["columns"] ?? "").split(separator: ",").map(String.init)
      relations[k]?.uniqueKeys.append(cols)
      if try row.bool("indisprimary") == true { relations[k]?.primaryKey = cols }
    }
    let bases = try c.execute(
      """
      SELECT vn.nspname AS vschema, v.relname AS vname, bn.nspname AS bschema, b.relname AS bname
      FROM pg_rewrite r JOIN pg_class v ON v.oid = r.ev_class JOIN pg_namespace vn ON vn.oid = v.relnamespace
      JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
      JOIN pg_class b ON b.oid = d.refobjid AND b.oid <> v.oid AND b.relkind IN ('r', 'p')
      JOIN pg_namespace bn ON bn.oid = b.relnamespace
      WHERE v.relkind = 'v' AND vn.nspname NOT IN ('pg_catalog', 'information_schema', 'pgphase')
      GROUP BY 1, 2, 3, 4
      """)
    var viewBases: [String: QualifiedName] = [:]
    for row in bases.rows {
      viewBases[key(QualifiedName(schema: row["vschema"], row["vname"] ?? ""))] = QualifiedName(
        schema: row["bschema"], row["bname"] ?? "")
    }
    for (k, r) in relations where r.kind != "v" {
      relations[k]?.rowCount = try c.execute("SELECT count(*) FROM \(r.name.sql)").scalarInt() ?? 0
    }
    return CatalogShape(relations: relations, viewBases: viewBases)
  }
}
