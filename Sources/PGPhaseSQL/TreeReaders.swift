public import PGPhaseModel

/// Readers for the parse-tree shapes every user of the tree needs.
extension JSONValue {
  /// `[{"String": {"sval": "x"}}, ...]` to `["x", ...]`.
  package var names: [String] {
    array.compactMap { $0.node("String")?["sval"]?.string }
  }

  /// A RangeVar's relation name, without its schema (files rarely qualify names consistently).
  package var relationName: String? { self["relname"]?.string }

  /// A RangeVar (bare or wrapped in `{"RangeVar": ...}`) as a schema-qualified name.
  package var qualifiedName: QualifiedName? {
    let fields = node("RangeVar") ?? self
    guard let name = fields["relname"]?.string else { return nil }
    return QualifiedName(schema: fields["schemaname"]?.string, name)
  }

  /// An A_Const's value as text (`ival {}` is 0: libpg_query omits zero values).
  package var constantText: String? {
    guard let c = node("A_Const") else { return nil }
    if let s = c["sval"]?["sval"]?.string { return s }
    if let i = c["ival"] { return String(i["ival"]?.int ?? 0) }
    if let f = c["fval"]?["fval"]?.string { return f }
    if let b = c["boolval"] { return b["boolval"]?.bool == true ? "true" : "false" }
    return nil
  }

  /// The byte offset libpg_query recorded for this node, if any.
  package var location: Int? { self["location"]?.int }

  /// A DefElem's value as a boolean option (`FULL`, `FULL TRUE`, `FULL 1`, `FULL on` are true;
  /// `FULL FALSE`, `FULL 0`, `FULL off` are false), as PostgreSQL's `defGetBoolean` reads it.
  package var defElemBool: Bool {
    guard let arg = self["arg"] else { return true }
    if let b = arg.node("Boolean") { return b["boolval"]?.bool ?? false }
    if let text = arg.constantText ?? arg.node("String")?["sval"]?.string
      ?? arg.node("Integer").map({ String($0["ival"]?.int ?? 0) })
    {
      return !["false", "off", "0", "no"].contains(text.lowercased())
    }
    return true
  }
}

extension QualifiedName {
  /// From a List of String nodes (`[schema,] name`), as DROP statements give names.
  package init?(parts: [String]) {
    guard let name = parts.last else { return nil }
    self.init(schema: parts.count >= 2 ? parts[parts.count - 2] : nil, name)
  }

  /// Whether the two may name the same relation: an unqualified name may be in any schema.
  package func matches(_ other: QualifiedName) -> Bool {
    name == other.name && (schema == nil || other.schema == nil || schema == other.schema)
  }
}
