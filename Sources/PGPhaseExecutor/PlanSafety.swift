internal import CPgQuery
import Foundation
public import PGPhaseModel

/// Refuses plans whose transactional step (or transactional undo) changes rows of a table and
/// runs DDL on the same table in the same transaction.
///
/// DDL takes a strong lock that is held until COMMIT; a data change in the same transaction then
/// holds it for as long as the rows take, and row locks taken before the DDL can deadlock with the
/// app (what happened to seed 001's team). The planner keeps them apart; this check catches a
/// hand-edited plan or a `sql` change that does not. Statements are read with PostgreSQL's own
/// parser (libpg_query); a statement it cannot parse is left to the server.
public enum PlanSafety {
  /// A data change and DDL on one table inside one transaction.
  public struct Violation: Sendable, Equatable, CustomStringConvertible {
    public var intent: String
    public var step: String
    /// The table as written in the plan (`schema.name` or `name`).
    public var table: String
    public var dataStatements: [String]
    public var ddlStatements: [String]

    public var description: String {
      "\(intent) \(step): changes rows of \(table) and runs DDL on it in the same transaction; "
        + "split them into separate steps (DDL: \(ddlStatements.map { "`\($0)`" }.joined(separator: "; ")); "
        + "data: \(dataStatements.map { "`\($0)`" }.joined(separator: "; ")))"
    }
  }

  /// - Throws: `ExecutorError.unsafePlans` listing every violation, so nothing of the plans runs.
  public static func check(_ plans: [LoadedPlan]) throws {
    let found = plans.flatMap { violations(in: $0.plan) }
    guard !found.isEmpty else { return }
    throw ExecutorError.unsafePlans(found)
  }

  /// Every violation in `plan`'s transactional steps and transactional undos.
  public static func violations(in plan: Plan) -> [Violation] {
    var out: [Violation] = []
    for step in plan.allSteps {
      if step.transactional {
        out += violations(in: step.sql, intent: plan.intent, step: step.id)
      }
      if let undo = step.undo, undo.transactional {
        out += violations(in: undo.sql, intent: plan.intent, step: step.id + " (undo)")
      }
    }
    return out
  }

  /// Violations among `statements` run as one transaction.
  static func violations(in statements: [String], intent: String, step: String) -> [Violation] {
    var data: [(TableRef, String)] = []
    var ddl: [(TableRef, String)] = []
    var created: [TableRef] = []
    for text in statements {
      for parsed in parse(text) {
        let snippet = String(parsed.text.prefix(160))
        for table in parsed.dataTargets { data.append((table, snippet)) }
        for table in parsed.ddlTargets { ddl.append((table, snippet)) }
        created += parsed.createdTables
      }
    }
    var out: [Violation] = []
    var reported: [TableRef] = []
    for (table, _) in data {
      // A table created in this transaction is invisible to every other session: no lock to fight over.
      guard !created.contains(where: { $0.matches(table) }), !reported.contains(where: { $0.matches(table) }) else { continue }
      let ddlHere = ddl.filter { $0.0.matches(table) }.map(\.1)
      guard !ddlHere.isEmpty else { continue }
      reported.append(table)
      let dataHere = data.filter { $0.0.matches(table) }.map(\.1)
      out.append(
        Violation(
          intent: intent, step: step, table: table.description, dataStatements: unique(dataHere), ddlStatements: unique(ddlHere)))
    }
    return out
  }

  private static func unique(_ items: [String]) -> [String] {
    var seen: Set<String> = []
    return items.filter { seen.insert($0).inserted }
  }

  /// A table named in a statement. Without a schema it may be any schema's table of that name.
  struct TableRef: Equatable, CustomStringConvertible {
    var schema: String?
    var name: String

    func matches(_ other: TableRef) -> Bool {
      name == other.name && (schema == nil || other.schema == nil || schema == other.schema)
    }

    var description: String { (schema.map { $0 + "." } ?? "") + name }
  }

  struct ParsedStatement {
    var text: String
    var dataTargets: [TableRef] = []
    var ddlTargets: [TableRef] = []
    var createdTables: [TableRef] = []
  }

  /// Parses `sql` (one or more statements) and classifies each; [] when it does not parse.
  static func parse(_ sql: String) -> [ParsedStatement] {
    let result = sql.withCString { pg_query_parse($0) }
    defer { pg_query_free_parse_result(result) }
    guard result.error == nil, let tree = result.parse_tree else { return [] }
    guard let json = try? JSONSerialization.jsonObject(with: Data(String(cString: tree).utf8)) as? [String: Any],
      let stmts = json["stmts"] as? [[String: Any]]
    else { return [] }
    let bytes = Array(sql.utf8)
    var out: [ParsedStatement] = []
    for raw in stmts {
      guard let node = raw["stmt"] as? [String: Any], let (type, fields) = node.first.map({ ($0.key, $0.value) }),
        let body = fields as? [String: Any]
      else { continue }
      let location = min(bytes.count, raw["stmt_location"] as? Int ?? 0)
      let length = raw["stmt_len"] as? Int ?? 0
      let end = length == 0 ? bytes.count : min(bytes.count, location + length)
      let text = String(decoding: bytes[location..<end], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      var parsed = ParsedStatement(text: text)
      collectDataTargets(node, into: &parsed.dataTargets)
      classifyDDL(type, body, into: &parsed)
      out.append(parsed)
    }
    return out
  }

  /// Targets of INSERT/UPDATE/DELETE/MERGE anywhere in the tree (data-modifying CTEs included)
  /// and of COPY ... FROM.
  private static func collectDataTargets(_ value: Any, into out: inout [TableRef]) {
    if let dict = value as? [String: Any] {
      for (key, child) in dict {
        if ["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"].contains(key), let body = child as? [String: Any],
          let table = rangeVar(body["relation"])
        {
          out.append(table)
        }
        if key == "CopyStmt", let body = child as? [String: Any], body["is_from"] as? Bool == true,
          let table = rangeVar(body["relation"])
        {
          out.append(table)
        }
        collectDataTargets(child, into: &out)
      }
    } else if let array = value as? [Any] {
      for child in array { collectDataTargets(child, into: &out) }
    }
  }

  private static func classifyDDL(_ type: String, _ body: [String: Any], into parsed: inout ParsedStatement) {
    switch type {
    case "AlterTableStmt", "IndexStmt", "CreateTrigStmt", "RenameStmt", "RuleStmt", "CreatePolicyStmt", "AlterPolicyStmt",
      "ClusterStmt":
      if let table = rangeVar(body["relation"]) { parsed.ddlTargets.append(table) }
    case "CreateStmt", "CreateTableAsStmt":
      let relation = type == "CreateStmt" ? body["relation"] : (body["into"] as? [String: Any])?["rel"]
      if let table = rangeVar(relation) { parsed.createdTables.append(table) }
    case "TruncateStmt":
      for item in body["relations"] as? [Any] ?? [] {
        if let table = rangeVar((item as? [String: Any])?["RangeVar"]) { parsed.ddlTargets.append(table) }
      }
    case "DropStmt":
      let kind = body["removeType"] as? String ?? ""
      for object in body["objects"] as? [Any] ?? [] {
        let names = ((object as? [String: Any])?["List"] as? [String: Any])?["items"] as? [Any] ?? []
        let parts = names.compactMap { (($0 as? [String: Any])?["String"] as? [String: Any])?["sval"] as? String }
        switch kind {
        case "OBJECT_TABLE", "OBJECT_FOREIGN_TABLE", "OBJECT_MATVIEW":
          if let table = tableRef(parts) { parsed.ddlTargets.append(table) }
        case "OBJECT_TRIGGER", "OBJECT_RULE", "OBJECT_POLICY":
          if let table = tableRef(Array(parts.dropLast())) { parsed.ddlTargets.append(table) }
        default: break
        }
      }
    default: break
    }
  }

  private static func rangeVar(_ value: Any?) -> TableRef? {
    var dict = value as? [String: Any]
    if let inner = dict?["RangeVar"] as? [String: Any] { dict = inner }
    guard let dict, let name = dict["relname"] as? String else { return nil }
    return TableRef(schema: dict["schemaname"] as? String, name: name)
  }

  private static func tableRef(_ parts: [String]) -> TableRef? {
    guard let name = parts.last else { return nil }
    return TableRef(schema: parts.count >= 2 ? parts[parts.count - 2] : nil, name: name)
  }
}
