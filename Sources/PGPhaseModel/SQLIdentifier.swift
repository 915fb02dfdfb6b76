/// SQL text helpers. Identifiers in intents are exact names (as in the catalog), so they are
/// quoted whenever PostgreSQL would otherwise fold, misread or reject them.
public enum SQL {
  /// Quotes an identifier the way `quote_ident()` does: only when needed, doubling inner quotes.
  public static func quoteIdentifier(_ name: String) -> String {
    if isSafeBareIdentifier(name) { return name }
    return "\"" + doubling("\"", in: name) + "\""
  }

  /// A string literal, with quotes doubled. Standard-conforming strings are on since 9.1.
  public static func quoteLiteral(_ text: String) -> String {
    "'" + doubling("'", in: text) + "'"
  }

  static func doubling(_ quote: Character, in text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for c in text {
      out.append(c)
      if c == quote { out.append(c) }
    }
    return out
  }

  static func isSafeBareIdentifier(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, first == "_" || ("a"..."z").contains(first) else {
      return false
    }
    for scalar in name.unicodeScalars {
      let ok = scalar == "_" || ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
      if !ok { return false }
    }
    return !keywordsNeedingQuotes.contains(name)
  }

  /// PostgreSQL 15 keywords that are reserved, or usable only as column or type/function names;
  /// `quote_ident()` quotes all of these.
  static let keywordsNeedingQuotes: Set<String> = [
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization",
    "between", "bigint", "binary", "bit", "boolean", "both", "case", "cast", "char", "character", "check",
    "coalesce", "collate", "collation", "column", "concurrently", "constraint", "create", "cross",
    "current_catalog", "current_date", "current_role", "current_schema", "current_time",
    "current_timestamp", "current_user", "dec", "decimal", "default", "deferrable", "desc", "distinct",
    "do", "else", "end", "except", "exists", "extract", "false", "fetch", "float", "for", "foreign",
    "freeze", "from", "full", "grant", "greatest", "group", "grouping", "having", "ilike", "in",
    "initially", "inner", "inout", "int", "integer", "intersect", "interval", "into", "is", "isnull",
    "join", "lateral", "leading", "least", "left", "like", "limit", "localtime", "localtimestamp",
    "national", "natural", "nchar", "none", "normalize", "not", "notnull", "null", "nullif", "numeric",
    "offset", "on", "only", "or", "order", "out", "outer", "overlaps", "overlay", "placing", "position",
    "precision", "primary", "real", "references", "returning", "right", "row", "select",
    "session_user", "setof", "similar", "smallint", "some", "substring", "symmetric", "table",
    "tablesample", "then", "time", "timestamp", "to", "trailing", "treat", "trim", "true", "union",
    "unique", "user", "using", "values", "varchar", "variadic", "verbose", "when", "where", "window",
    "with", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists", "xmlforest", "xmlnamespaces",
    "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable",
  ]

  /// Splits `text` at `separator` outside double quotes; a quoted part loses its quotes and its
  /// doubled `""` become `"`. With `skippingWhitespace`, whitespace outside quotes is dropped (a
  /// list setting: `a, "B c"`). nil when a quote is not closed.
  public static func splitQuoted(_ text: String, separator: Character, skippingWhitespace: Bool) -> [String]? {
    var parts: [String] = []
    var current = ""
    var inQuotes = false
    var chars = Array(text)[...]
    while let c = chars.first {
      chars = chars.dropFirst()
      if inQuotes {
        if c != "\"" {
          current.append(c)
        } else if chars.first == "\"" {
          current.append("\"")
          chars = chars.dropFirst()
        } else {
          inQuotes = false
        }
      } else if c == "\"" {
        inQuotes = true
      } else if c == separator {
        parts.append(current)
        current = ""
      } else if !(skippingWhitespace && c.isWhitespace) {
        current.append(c)
      }
    }
    parts.append(current)
    return inQuotes ? nil : parts
  }

  /// PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1).
  public static let maxIdentifierBytes = 63
}

/// A relation, index, function or other schema object name, optionally schema-qualified.
public struct QualifiedName: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
  /// nil: resolved through the search_path.
  public var schema: String?
  /// The exact name, unquoted.
  public var name: String

  /// `schema.name`, or just `name`.
  public init(schema: String? = nil, _ name: String) {
    self.schema = schema
    self.name = name
  }

  /// Parses `name` or `schema.name` as written in an intent. A part may be double-quoted to
  /// contain a dot; otherwise the text is taken as the exact name.
  public init?(parsing text: String, defaultSchema: String? = nil) {
    guard let parts = SQL.splitQuoted(text, separator: ".", skippingWhitespace: false) else { return nil }
    if parts.count > 2 || parts.contains(where: \.isEmpty) { return nil }
    if parts.count == 2 {
      self.init(schema: parts[0], parts[1])
    } else {
      self.init(schema: defaultSchema, parts[0])
    }
  }

  /// The name as SQL, each part quoted where needed.
  public var sql: String {
    if let schema { return SQL.quoteIdentifier(schema) + "." + SQL.quoteIdentifier(name) }
    return SQL.quoteIdentifier(name)
  }

  /// The name inside a SQL string literal, for `to_regclass('…')` and similar catalog lookups.
  public var literal: String { SQL.quoteLiteral(sql) }

  /// The name as SQL.
  public var description: String { sql }

  /// The same schema with another object name, e.g. an index beside its table.
  public func sibling(_ name: String) -> QualifiedName { QualifiedName(schema: schema, name) }

  /// By schema, then name, for sorted, deterministic output.
  public static func < (a: QualifiedName, b: QualifiedName) -> Bool {
    (a.schema ?? "", a.name) < (b.schema ?? "", b.name)
  }
}
