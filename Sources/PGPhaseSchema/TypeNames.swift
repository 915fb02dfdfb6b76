import PGPhaseModel
import PGPhaseSQL

/// Spells a type of the parse tree as the server's `format_type` prints it (with an empty
/// search_path, as pg_dump and the live reader run): `integer`, `character varying(40)`,
/// `timestamp with time zone`, `numeric(12,2)`, `public.mood[]`. pg_dump output and the
/// canonical form already spell types that way and come back unchanged; a hand-written file's
/// `int`, `varchar(40)` or `timestamptz` comes out as the server would store it.
enum TypeNames {
  /// Names the grammar gives built-in types (`pg_catalog.int4`), and what format_type prints.
  static let display: [String: String] = [
    "bool": "boolean", "int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
    "float8": "double precision", "bpchar": "character", "varchar": "character varying",
    "timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone",
    "time": "time without time zone", "timetz": "time with time zone", "varbit": "bit varying", "char": "\"char\"",
  ]

  /// Types in pg_catalog that an unqualified name in a file means (the rest are the file's own).
  static let builtins: Set<String> = [
    "bool", "boolean", "bytea", "char", "name", "int8", "int2", "int2vector", "int4", "regproc", "text", "oid", "tid", "xid",
    "cid", "oidvector", "json", "xml", "pg_node_tree", "point", "lseg", "path", "box", "polygon", "line", "float4", "float8",
    "circle", "money", "macaddr", "inet", "cidr", "macaddr8", "aclitem", "bpchar", "varchar", "date", "time", "timestamp",
    "timestamptz", "interval", "timetz", "bit", "varbit", "numeric", "refcursor", "regprocedure", "regoper", "regoperator",
    "regclass", "regcollation", "regtype", "regrole", "regnamespace", "regconfig", "regdictionary", "uuid", "pg_lsn",
    "tsvector", "gtsvector", "tsquery", "jsonb", "jsonpath", "txid_snapshot", "pg_snapshot", "xid8", "int4range", "numrange",
    "tsrange", "tstzrange", "daterange", "int8range", "int4multirange", "nummultirange", "tsmultirange", "tstzmultirange",
    "datemultirange", "int8multirange", "record", "cstring", "any", "anyarray", "void", "trigger", "event_trigger",
    "language_handler", "internal", "anyelement", "anynonarray", "anyenum", "fdw_handler", "index_am_handler",
    "tsm_handler", "table_am_handler", "anyrange", "anycompatible", "anycompatiblearray", "anycompatiblenonarray",
    "anycompatiblerange", "anymultirange", "anycompatiblemultirange", "unknown",
  ]

  /// `serial` and friends, which are not types: the integer type they make.
  static let serials: [String: String] = [
    "serial": "integer", "serial4": "integer", "bigserial": "bigint", "serial8": "bigint", "smallserial": "smallint",
    "serial2": "smallint",
  ]

  /// The serial type a TypeName names, if it is one (only unqualified, without modifiers or array).
  static func serial(_ typeName: JSONValue) -> String? {
    let names = typeName["names"]?.names ?? []
    guard names.count == 1, typeName["arrayBounds"] == nil, typeName["typmods"] == nil else { return nil }
    return serials[names[0]]
  }

  /// format_type's spelling of a TypeName node; `written` is its text in the file, kept for what
  /// this cannot spell (interval fields, `%TYPE`).
  static func format(_ typeName: JSONValue, defaultSchema: String, written: String) -> String {
    let names = typeName["names"]?.names ?? []
    guard !names.isEmpty, typeName["pct_type"] == nil else { return written }
    let modifiers = (typeName["typmods"]?.array ?? []).map { $0.constantText }
    if modifiers.contains(where: { $0 == nil }) { return written }
    let mods = modifiers.compactMap { $0 }
    var base: String
    let isCatalog = names.count == 2 && names[0] == "pg_catalog" || names.count == 1 && builtins.contains(names[0])
    let name = names.last!
    if isCatalog {
      if name == "interval" && !mods.isEmpty { return written }
      // format_type prints built-in names bare, keywords too (`numeric`, `time`).
      let shown = display[name] ?? name
      switch name {
      case "timestamp", "timestamptz", "time", "timetz":
        let (word, zone) = shown.split(separator: " ", maxSplits: 1).map(String.init).pairOrSelf
        base = mods.isEmpty ? shown : "\(word)(\(mods.joined(separator: ",")))" + (zone.isEmpty ? "" : " \(zone)")
      case "numeric":
        base = mods.isEmpty ? shown : "numeric(\(mods[0]),\(mods.count > 1 ? mods[1] : "0"))"
      default:
        base = mods.isEmpty ? shown : "\(shown)(\(mods.joined(separator: ",")))"
      }
    } else {
      let qualified =
        names.count >= 2 ? QualifiedName(schema: names[names.count - 2], name) : QualifiedName(schema: defaultSchema, name)
      base = qualified.sql + (mods.isEmpty ? "" : "(\(mods.joined(separator: ",")))")
    }
    if typeName["arrayBounds"] != nil { base += "[]" }
    return base
  }
}

extension Array where Element == String {
  /// `[a, b]` as `(a, b)`, `[a]` as `(a, "")`.
  fileprivate var pairOrSelf: (String, String) { (first ?? "", count > 1 ? self[1] : "") }
}

/// What the planner needs of a schema file's rules, for objects intents write: the same spelling
/// and column lists the reader gives, so the planner's snapshot agrees with a dump of the result.
package enum WrittenSQL {
  /// A type as written (`timestamptz`, `varchar(20)`, `int[]`) spelled as `format_type` prints
  /// it; the text unchanged when it does not parse as a type.
  package static func formatType(_ written: String, defaultSchema: String) -> String {
    guard case .success(let statements) = SQLParser.parse("CREATE TABLE t (c \(written))"), statements.count == 1,
      let column = statements[0].fields["tableElts"]?.array.first?.node("ColumnDef"), let typeName = column["typeName"],
      (column["constraints"]?.array ?? []).isEmpty
    else { return written }
    return TypeNames.serial(typeName) ?? TypeNames.format(typeName, defaultSchema: defaultSchema, written: written)
  }

  /// The columns an expression reads (every `ColumnRef`'s last name); none when it does not parse.
  package static func columnReferences(_ expression: String) -> [String] {
    Reader.columnReferences(SQLParser.parseExpression(expression))
  }
}
