import Foundation
import PGPhaseModel
import PGPhaseSQL

/// What makes two plan steps the same kind for lock purposes: the operation they come from and
/// the shape of their SQL, read from the real parse tree with every name, type and expression
/// left out, but every clause that can change what PostgreSQL locks, scans or rewrites kept
/// (DEFAULT, NOT NULL, NOT VALID, UNIQUE, CONCURRENTLY, WHERE, INCLUDE, expression keys,
/// REFERENCES, ...). Two steps of one kind must measure the same; a new clause the planner starts
/// emitting is a new kind, measured and documented automatically.
///
/// The declared lock modes are part of the kind: one UPDATE declares ROW EXCLUSIVE, the same UPDATE
/// of a column with a foreign key also ROW SHARE on the referenced table; each must hold.
struct StepKind: Hashable, Comparable, CustomStringConvertible {
  var operation: String
  var shape: String
  /// The declared modes in the step's order, e.g. `ROW EXCLUSIVE + ROW SHARE`; empty for `sql`.
  var declared: String

  static func < (a: StepKind, b: StepKind) -> Bool {
    (a.operation, a.shape, a.declared) < (b.operation, b.shape, b.declared)
  }
  var description: String { "\(operation): \(shape) [\(declared)]" }

  init(operation: String, shape: String, declared: String) {
    self.operation = operation
    self.shape = shape
    self.declared = declared
  }

  init(_ step: Step) {
    operation = step.operation
    shape = step.sql.map(SQLShape.of).joined(separator: "; ")
    declared = step.cost == .unknown ? "" : step.locks.map(\.mode.rawValue).joined(separator: " + ")
  }
}

/// The shape of one SQL statement (see `StepKind`), from libpg_query's tree through PGPhaseSQL.
enum SQLShape {
  /// The relations a statement names (every RangeVar, and a COMMENT's object), and the one it
  /// creates, if any; names without schema.
  static func relations(_ sql: String) -> (named: Set<String>, created: String?) {
    guard let tree = SQLParser.parseTreeJSON(sql), let json = try? JSONSerialization.jsonObject(with: Data(tree)) else {
      return ([], nil)
    }
    var named = Set<String>()
    var created: String?
    func walk(_ value: Any, parent: String?) {
      if let object = value as? [String: Any] {
        for (key, child) in object {
          if key == "RangeVar" || key == "relation", let r = child as? [String: Any], let name = r["relname"] as? String {
            named.insert(name)
            if parent == "CreateStmt" { created = name }
          }
          if key == "CommentStmt", let c = child as? [String: Any],
            let items = ((c["object"] as? [String: Any])?["List"] as? [String: Any])?["items"] as? [[String: Any]]
          {
            let parts = items.compactMap { ($0["String"] as? [String: Any])?["sval"] as? String }
            let relation = c["objtype"] as? String == "OBJECT_COLUMN" ? parts.dropLast().last : parts.last
            if let relation { named.insert(relation) }
          }
          walk(child, parent: key)
        }
      } else if let array = value as? [Any] {
        for child in array { walk(child, parent: parent) }
      }
    }
    walk(json, parent: nil)
    return (named, created)
  }

  static func of(_ sql: String) -> String {
    if case .failure(let error) = SQLParser.syntaxCheck(sql) { return "unparsable (\(error.message))" }
    guard let tree = SQLParser.parseTreeJSON(sql),
      let json = try? JSONSerialization.jsonObject(with: Data(tree)) as? [String: Any],
      let statements = json["stmts"] as? [[String: Any]]
    else { return "unparsable" }
    return statements.compactMap { ($0["stmt"] as? [String: Any]).map(statement) }.joined(separator: "; ")
  }

  static func statement(_ node: [String: Any]) -> String {
    guard let (type, f) = node.first.map({ ($0.key, $0.value as? [String: Any] ?? [:]) }) else { return "?" }
    switch type {
    case "AlterTableStmt":
      let object = (f["objtype"] as? String).map(objectName) ?? "TABLE"
      let commands = (f["cmds"] as? [[String: Any]] ?? []).compactMap { $0["AlterTableCmd"] as? [String: Any] }
      return "ALTER \(object) " + commands.map(alterCommand).joined(separator: ", ")
    case "RenameStmt":
      switch f["renameType"] as? String {
      case "OBJECT_COLUMN": return "ALTER TABLE RENAME COLUMN"
      case "OBJECT_TABLE": return "ALTER TABLE RENAME TO"
      case let other: return "RENAME \(objectName(other ?? "?"))"
      }
    case "IndexStmt":
      var s = "CREATE" + (f["unique"] as? Bool == true ? " UNIQUE" : "") + " INDEX"
      if f["concurrent"] as? Bool == true { s += " CONCURRENTLY" }
      if f["if_not_exists"] as? Bool == true { s += " IF NOT EXISTS" }
      // The grammar fills in btree when USING is left out: `USING btree` is the same statement.
      if let method = f["accessMethod"] as? String, method != "btree" { s += " USING \(method)" }
      let keys = (f["indexParams"] as? [[String: Any]] ?? []).compactMap { $0["IndexElem"] as? [String: Any] }
      let kinds = Set(keys.map { $0["expr"] != nil ? "expression" : "column" })
      s += " (" + (keys.count > 1 ? "several: " : "") + kinds.sorted().joined(separator: " and ") + ")"
      if !(f["indexIncludingParams"] as? [Any] ?? []).isEmpty { s += " INCLUDE" }
      if !(f["options"] as? [Any] ?? []).isEmpty { s += " WITH" }
      if f["whereClause"] != nil { s += " WHERE" }
      return s
    case "DropStmt":
      var s = "DROP " + objectName(f["removeType"] as? String ?? "?")
      if f["concurrent"] as? Bool == true { s += " CONCURRENTLY" }
      if f["missing_ok"] as? Bool == true { s += " IF EXISTS" }
      return s
    case "CreateStmt":
      // A new table is invisible to everyone else: only a foreign key, which locks the table it
      // references, changes what the statement locks.
      var references = false
      for element in f["tableElts"] as? [[String: Any]] ?? [] {
        let constraints =
          (element["ColumnDef"] as? [String: Any]).map { ($0["constraints"] as? [[String: Any]] ?? []) } ?? [element]
        references =
          references
          || constraints.contains { ($0["Constraint"] as? [String: Any])?["contype"] as? String == "CONSTR_FOREIGN" }
      }
      return "CREATE TABLE" + (references ? " (with foreign keys)" : "")
    case "ViewStmt": return "CREATE VIEW"
    case "CreateFunctionStmt": return "CREATE FUNCTION"
    case "CreateTrigStmt": return "CREATE TRIGGER" + (f["whenClause"] != nil ? " WHEN" : "")
    case "CommentStmt": return "COMMENT ON " + objectName(f["objtype"] as? String ?? "?")
    case "UpdateStmt": return "UPDATE" + (f["whereClause"] != nil ? " WHERE" : "")
    case "VacuumStmt": return f["is_vacuumcmd"] as? Bool == true ? "VACUUM" : "ANALYZE"
    default:
      return type.hasSuffix("Stmt") ? String(type.dropLast(4)) : type
    }
  }

  static func alterCommand(_ cmd: [String: Any]) -> String {
    let subtype = cmd["subtype"] as? String ?? "?"
    let def = cmd["def"] as? [String: Any]
    switch subtype {
    case "AT_AddColumn":
      let column = def?["ColumnDef"] as? [String: Any] ?? [:]
      let features = (column["constraints"] as? [[String: Any]] ?? []).compactMap { $0["Constraint"] as? [String: Any] }
        .map { constraint($0, inColumn: true) }
      return "ADD COLUMN" + (features.isEmpty ? "" : " " + features.joined(separator: " "))
    case "AT_AddConstraint":
      return "ADD " + constraint(def?["Constraint"] as? [String: Any] ?? [:], inColumn: false)
    case "AT_ValidateConstraint": return "VALIDATE CONSTRAINT"
    case "AT_DropConstraint": return "DROP CONSTRAINT" + (cmd["missing_ok"] as? Bool == true ? " IF EXISTS" : "")
    case "AT_DropColumn": return "DROP COLUMN" + (cmd["missing_ok"] as? Bool == true ? " IF EXISTS" : "")
    case "AT_SetNotNull": return "ALTER COLUMN SET NOT NULL"
    case "AT_DropNotNull": return "ALTER COLUMN DROP NOT NULL"
    case "AT_ColumnDefault": return def == nil ? "ALTER COLUMN DROP DEFAULT" : "ALTER COLUMN SET DEFAULT"
    case "AT_AlterColumnType": return "ALTER COLUMN TYPE"
    case "AT_ReplicaIdentity": return "REPLICA IDENTITY"
    default: return subtype.replacingOccurrences(of: "AT_", with: "")
    }
  }

  static func constraint(_ c: [String: Any], inColumn: Bool) -> String {
    var s: String
    switch c["contype"] as? String ?? "" {
    case "CONSTR_DEFAULT": s = "DEFAULT"
    case "CONSTR_NOTNULL": s = "NOT NULL"
    case "CONSTR_NULL": s = "NULL"
    case "CONSTR_CHECK": s = "CHECK"
    case "CONSTR_PRIMARY": s = "PRIMARY KEY"
    case "CONSTR_UNIQUE": s = c["indexname"] != nil ? "UNIQUE USING INDEX" : "UNIQUE"
    case "CONSTR_FOREIGN": s = inColumn ? "REFERENCES" : "FOREIGN KEY"
    case "CONSTR_IDENTITY": s = "IDENTITY"
    case "CONSTR_GENERATED": s = "GENERATED"
    case "CONSTR_EXCLUSION": s = "EXCLUDE"
    case let other: s = other.replacingOccurrences(of: "CONSTR_", with: "")
    }
    if c["skip_validation"] as? Bool == true { s += " NOT VALID" }
    return s
  }

  static func objectName(_ objtype: String) -> String {
    objtype.replacingOccurrences(of: "OBJECT_", with: "").replacingOccurrences(of: "_", with: " ")
  }
}
