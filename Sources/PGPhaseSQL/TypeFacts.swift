// Facts about column types that decide whether ALTER COLUMN TYPE rewrites the table.
/// A column type as written, normalised to PostgreSQL's internal names (`int4`, `varchar`, ...).
package struct TypeRef: Hashable, Sendable, CustomStringConvertible {
  package var name: String
  package var modifiers: [Int]
  package var isArray: Bool

  package init(name: String, modifiers: [Int] = [], isArray: Bool = false) {
    self.name = name
    self.modifiers = modifiers
    self.isArray = isArray
  }

  package init?(_ typeName: JSONValue?) {
    // The last String of the name list, as `names.last` gives it, without building the list:
    // lint reads a TypeRef for every column it sees.
    guard let typeName,
      let last = typeName["names"]?.array.reversed().lazy.compactMap({ $0.node("String")?["sval"]?.string }).first
    else { return nil }
    name = last
    modifiers = typeName["typmods"]?.array.compactMap { $0.constantText.flatMap { Int($0) } } ?? []
    isArray = !(typeName["arrayBounds"]?.array.isEmpty ?? true)
  }

  package var description: String {
    let display: String =
      switch name {
      case "int4": "integer"
      case "int2": "smallint"
      case "int8": "bigint"
      case "bpchar": "char"
      case "varchar": "varchar"
      case "timestamptz": "timestamptz"
      default: name
      }
    let mods = modifiers.isEmpty ? "" : "(" + modifiers.map(String.init).joined(separator: ",") + ")"
    return display + mods + (isArray ? "[]" : "")
  }

  package static let serialNames: Set<String> = ["serial", "serial4", "smallserial", "serial2", "bigserial", "serial8"]

  /// Whether changing a column from `old` to `new` is catalog-only (no rewrite, no scan).
  /// Verified on PostgreSQL 15: varchar(n)→text, text→varchar, varchar(n)→varchar(m≥n),
  /// numeric(p,s)→numeric(p2≥p,s) and numeric(p,s)→numeric keep the relfilenode. timestamp and
  /// timestamptz convert without a rewrite from PostgreSQL 12 when the session time zone is UTC
  /// (`sessionTimeZoneUTC`), because the stored values are then the same.
  package static func isBinaryCompatible(
    from old: TypeRef, to new: TypeRef, pgVersion: Int = 15, sessionTimeZoneUTC: Bool = false
  ) -> Bool {
    if old.isArray != new.isArray { return false }
    if old == new { return true }
    let timestamps: Set<String> = ["timestamp", "timestamptz"]
    if timestamps.contains(old.name), timestamps.contains(new.name), pgVersion >= 12, sessionTimeZoneUTC,
      old.modifiers == new.modifiers || new.modifiers.isEmpty
    {
      return true
    }
    let textLike: Set<String> = ["text", "varchar"]
    if textLike.contains(old.name), textLike.contains(new.name) {
      if new.name == "text" || new.modifiers.isEmpty { return true }
      // to varchar(m): only from varchar(n) with n <= m
      if old.name == "varchar", let n = old.modifiers.first, let m = new.modifiers.first { return m >= n }
      return false
    }
    if old.name == "numeric", new.name == "numeric" {
      if new.modifiers.isEmpty { return true }
      guard old.modifiers.count >= 1 else { return false }
      let oldScale = old.modifiers.count > 1 ? old.modifiers[1] : 0
      let newScale = new.modifiers.count > 1 ? new.modifiers[1] : 0
      return new.modifiers[0] >= old.modifiers[0] && newScale == oldScale
    }
    if old.name == "varbit", new.name == "varbit" {
      if new.modifiers.isEmpty { return true }
      if let n = old.modifiers.first, let m = new.modifiers.first { return m >= n }
      return false
    }
    if old.name == "cidr", new.name == "inet" { return true }
    return false
  }
}
