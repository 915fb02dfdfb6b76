public import PGPhaseModel
import PGPhaseSQL

/// Refuses plans whose transactional step (or transactional undo) changes rows of a table and
/// runs DDL on the same table in the same transaction.
///
/// DDL takes a strong lock that is held until COMMIT; a data change in the same transaction then
/// holds it for as long as the rows take, and row locks taken before the DDL can deadlock with the
/// app (what happened to seed 001's team). The planner keeps them apart; this check catches a
/// hand-edited plan or a `sql` change that does not. Statements are read with PostgreSQL's own
/// parser (through PGPhaseSQL); a statement it cannot parse is left to the server.
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
    var data: [(QualifiedName, String)] = []
    var ddl: [(QualifiedName, String)] = []
    var created: [QualifiedName] = []
    for text in statements {
      guard case .success(let parsed) = SQLParser.parse(text) else { continue }
      let source = SQLSource(file: "", text: text)
      for statement in parsed {
        let snippet = String(source.text(statement.start..<statement.end).trimmed.prefix(160))
        for table in DataChanges.targets(of: statement) { data.append((table, snippet)) }
        for table in ddlTargets(of: statement) { ddl.append((table, snippet)) }
        created += createdTables(by: statement)
      }
    }
    var out: [Violation] = []
    var reported: [QualifiedName] = []
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

  /// Tables whose definition the statement changes under a lock held to COMMIT.
  static func ddlTargets(of statement: ParsedStatement) -> [QualifiedName] {
    let f = statement.fields
    switch statement.type {
    case "AlterTableStmt", "IndexStmt", "CreateTrigStmt", "RenameStmt", "RuleStmt", "ClusterStmt":
      return f["relation"]?.qualifiedName.map { [$0] } ?? []
    case "CreatePolicyStmt", "AlterPolicyStmt":
      return f["table"]?.qualifiedName.map { [$0] } ?? []
    case "TruncateStmt":
      return (f["relations"]?.array ?? []).compactMap(\.qualifiedName)
    case "DropStmt":
      let kind = f["removeType"]?.string ?? ""
      return (f["objects"]?.array ?? []).compactMap { object -> QualifiedName? in
        let parts = object.node("List")?["items"]?.names ?? []
        switch kind {
        case "OBJECT_TABLE", "OBJECT_FOREIGN_TABLE", "OBJECT_MATVIEW": return QualifiedName(parts: parts)
        case "OBJECT_TRIGGER", "OBJECT_RULE", "OBJECT_POLICY": return QualifiedName(parts: Array(parts.dropLast()))
        default: return nil
        }
      }
    default: return []
    }
  }

  static func createdTables(by statement: ParsedStatement) -> [QualifiedName] {
    switch statement.type {
    case "CreateStmt": statement.fields["relation"]?.qualifiedName.map { [$0] } ?? []
    case "CreateTableAsStmt": statement.fields["into"]?["rel"]?.qualifiedName.map { [$0] } ?? []
    default: []
    }
  }
}

extension String {
  fileprivate var trimmed: String {
    var s = Substring(self)
    while let c = s.first, c.isWhitespace { s.removeFirst() }
    while let c = s.last, c.isWhitespace { s.removeLast() }
    return String(s)
  }
}
