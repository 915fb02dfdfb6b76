import Foundation
import PGPhaseModel
import PGPhaseSQL

/// A relation a statement locks (by unqualified name, as the linter tracks tables) and the mode.
/// `relation` is nil for a lock on the table of an index whose table the linted files never
/// showed; `index` then names the index.
struct StatementLock: Hashable, Sendable {
  var relation: String?
  var mode: LockMode
  var index: String? = nil
  var role: RelationLock.Role = .target

  /// How a message names what is locked.
  var displayName: String { relation ?? "the table of index \(index ?? "?")" }
}

/// The state of linting one file (or one phase of a plan): transaction, lock_timeout, tables
/// created so far, and the findings. The checks live in extensions, one file per hazard class
/// (`LintUnit+AlterTable.swift`, `LintUnit+Transactions.swift`, ...).
final class LintUnit {
  enum Mode {
    case file
    case plan(phase: Phase, lockTimeout: Bool)
  }

  let options: LintOptions
  let mode: Mode
  var schema: SchemaKnowledge
  var findings: [Finding] = []
  /// The statement index each finding came from (for ignore comments), parallel to `findings`.
  var findingStatements: [Int] = []

  var inTransaction = false
  /// Where the open explicit transaction began (nil when none, or when the runner opened it).
  var explicitBegin: Int?
  var lockTimeoutSession = false
  var lockTimeoutLocal = false
  /// `SET timezone = 'UTC'` (or TIME ZONE 'UTC') earlier in the file.
  var sessionTimeZoneUTC = false
  /// Tables created in this file (or phase) and still empty, so nothing on them blocks anyone. A
  /// table filled by CREATE TABLE ... AS SELECT, INSERT ... SELECT or COPY is not in it.
  var createdTables: Set<String> = []
  /// Set while linting a plan backfill step, which the executor runs in batches.
  var batchedStep = false

  // Per transaction.
  /// The strongest lock the transaction holds on each table: a statement on a table held at
  /// least that strongly cannot queue.
  var txHeld: [String: LockMode] = [:]
  var txAccessExclusive: Set<String> = []
  var txNotValid: Set<String> = []
  var txDDL: [String: Int] = [:]
  var txUnbatchedDML: [String: Int] = [:]
  /// `table.column` and tables dropped in this transaction: renaming something into their
  /// place is a swap, and the app's name keeps working.
  var txDroppedColumns: Set<String> = []
  var txDroppedTables: Set<String> = []
  /// Tables renamed in this transaction → index of the rename-table finding, withdrawn if a view
  /// with the old name is created before COMMIT.
  var txRenamedTables: [String: Int] = [:]

  init(options: LintOptions, schema: SchemaKnowledge, mode: Mode) {
    self.options = options
    self.schema = schema
    self.mode = mode
  }

  var pgVersion: Int { options.pgVersion }
  var contractPhase: Bool {
    if case .plan(let phase, _) = mode { return phase == .contract }
    return false
  }
  var inPlan: Bool {
    if case .plan = mode { return true }
    return false
  }
  var lockTimeoutSet: Bool {
    if case .plan(_, let set) = mode, set { return true }
    return lockTimeoutSession || (inTransaction && lockTimeoutLocal)
  }
  /// Whether the file's runner wraps it in a transaction (config, sidecar file or directive).
  var runnerTransaction = false

  func begin(implicit: Bool) {
    inTransaction = true
    if !implicit { explicitBegin = statementStart }
  }

  func end() {
    inTransaction = false
    explicitBegin = nil
    lockTimeoutLocal = false
    txHeld = [:]
    txAccessExclusive = []
    txNotValid = []
    txDDL = [:]
    txUnbatchedDML = [:]
    txDroppedColumns = []
    txDroppedTables = []
    txRenamedTables = [:]
  }

  func withdraw(_ index: Int) {
    findings.remove(at: index)
    findingStatements.remove(at: index)
    for (table, i) in txRenamedTables where i > index { txRenamedTables[table] = i - 1 }
  }

  func isNew(_ table: String?) -> Bool {
    guard let table else { return false }
    return createdTables.contains(table)
  }

  // MARK: - Checking one statement

  var currentIndex = 0
  /// The statement index of the open explicit BEGIN.
  var explicitBeginIndex = 0
  private var locate: (Int) -> SourceLocation = { _ in SourceLocation(file: "", line: 1, column: 1) }
  var statementSource: SQLSource?
  var statementEnd = 0
  var statementStart = 0
  /// Set while checking one clause of a multi-clause ALTER TABLE: findings without a more precise
  /// position point at the clause, not at the statement's first line.
  var clauseStart: Int?
  /// Findings about statements inside a DO block point at the block's line for that statement.
  var fixedLocation: SourceLocation?
  /// The statement as written, for help text; computed only when a finding needs it.
  var statementText: String {
    guard let source = statementSource else { return "" }
    var end = statementEnd
    while end > statementStart, [0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ";")].contains(source.bytes[end - 1]) { end -= 1 }
    return source.text(statementStart..<end)
  }

  func location(of offset: Int?) -> SourceLocation {
    fixedLocation ?? locate(offset ?? clauseStart ?? statementStart)
  }

  /// `message` and `help` are built only for an enabled rule: the style rules are off by default,
  /// and their texts were built for every column anyway.
  func emit(
    _ rule: Rule, at offset: Int?, _ message: @autoclosure () -> String, help: @autoclosure () -> String? = nil,
    lock: LockMode? = nil, severity: Diagnostic.Severity? = nil
  ) {
    guard options.enabledRules.contains(rule) else { return }
    findings.append(
      Finding(
        rule: rule, severity: severity ?? rule.defaultSeverity, message: message(), help: help() ?? rule.alternative,
        location: location(of: offset), lock: lock ?? rule.lock))
    findingStatements.append(currentIndex)
  }

  func check(_ statement: ParsedStatement, in source: SQLSource, index: Int, locate: @escaping (Int) -> SourceLocation) {
    currentIndex = index
    self.locate = locate
    statementStart = statement.start
    statementSource = source
    statementEnd = statement.end
    clauseStart = nil
    check(type: statement.type, fields: statement.fields)
  }

  /// Checks one statement of the current source (also used for the statements of a DO block).
  func check(type: String, fields f: JSONValue) {
    let locks = resolvedLocks(type: type, fields: f)

    switch type {
    case "TransactionStmt":
      checkTransaction(f)
      return
    case "VariableSetStmt":
      checkSet(f)
      return
    case "SelectStmt":
      checkSetConfig(f)
      checkStrongLocks(locks)
      return
    default: break
    }

    switch type {
    case "CreateStmt": checkCreateTable(f, locks: locks)
    case "ViewStmt":
      if let view = f["view"]?.relationName, let index = txRenamedTables[view] {
        withdraw(index)
        txRenamedTables[view] = nil
      }
    case "CreateTableAsStmt": checkCreateTableAs(f)
    case "IndexStmt": checkCreateIndex(f)
    case "AlterTableStmt": checkAlterTable(f)
    case "RenameStmt": checkRename(f)
    case "DropStmt": checkDrop(f)
    case "DropdbStmt": checkDropDatabase(f)
    case "TruncateStmt": checkTruncate(f)
    case "ReindexStmt": checkReindex(f)
    case "VacuumStmt": checkVacuum(f, locks: locks)
    case "ClusterStmt":
      let table = f["relation"]?.relationName ?? "the table"
      emit(
        .cluster, at: f["relation"]?.location, "CLUSTER rewrites \(table) under ACCESS EXCLUSIVE, blocking reads and writes",
        help: "pg_repack --table=\(table) --order-by=<columns>  -- reorders online")
    case "RefreshMatViewStmt":
      if f["concurrent"]?.bool != true {
        let view = f["relation"]?.relationName ?? "view"
        emit(
          .requireConcurrentRefresh, at: nil,
          "REFRESH MATERIALIZED VIEW \(view) without CONCURRENTLY blocks every read of the view",
          help: "REFRESH MATERIALIZED VIEW CONCURRENTLY \(view);  -- needs a unique index on the view")
      }
    case "LockStmt":
      let mode = locks.first?.mode ?? .accessExclusive
      let tables = locks.map(\.displayName).joined(separator: ", ")
      emit(.lockTable, at: nil, "LOCK TABLE \(tables) takes \(mode.rawValue) until the transaction ends", lock: mode)
    case "UpdateStmt", "DeleteStmt", "InsertStmt", "MergeStmt": checkDML(type, f)
    case "CopyStmt": checkCopy(f)
    case "CreateDomainStmt": checkCreateDomain(f)
    case "AlterDomainStmt": checkAlterDomain(f)
    case "AlterEnumStmt": checkAlterEnum(f)
    case "CreateEnumStmt": checkCreateEnum(f)
    case "DoStmt": checkDoBlock(f)
    default: break
    }

    checkStrongLocks(locks)
    noteDDL(type, locks)
    if !inTransaction { end() }
  }

  /// LockFacts' locks, with the tables the files have shown: an index's table, a dropped table's
  /// referenced tables, a partitioned table's default partition, a domain's tables.
  func resolvedLocks(type: String, fields f: JSONValue) -> [StatementLock] {
    var locks: [StatementLock] = []
    for lock in LockFacts.locks(type: type, fields: f) {
      let name = lock.relation.name
      switch lock.role {
      case .index:
        locks.append(StatementLock(relation: schema.indexTables[name], mode: lock.mode, index: name, role: .index))
      case .target where type == "DropStmt" && f["removeType"]?.string == "OBJECT_TABLE":
        locks.append(StatementLock(relation: name, mode: lock.mode))
        // Dropping a table drops its foreign keys' triggers on the referenced tables: ACCESS
        // EXCLUSIVE there too (measured on 15).
        for referenced in schema.foreignKeys[name] ?? [] where referenced != name {
          locks.append(StatementLock(relation: referenced, mode: .accessExclusive, role: .referenced))
        }
      case .parent where schema.defaultPartitions[name] != nil && lock.mode >= .shareUpdateExclusive:
        locks.append(StatementLock(relation: name, mode: lock.mode, role: .parent))
        if let defaultPartition = schema.defaultPartitions[name] {
          locks.append(StatementLock(relation: defaultPartition, mode: .accessExclusive, role: .partition))
        }
      default:
        locks.append(StatementLock(relation: name, mode: lock.mode, role: lock.role))
      }
    }
    if type == "AlterDomainStmt", f["def"]?.node("Constraint")?["skip_validation"]?.bool != true,
      let domain = f["typeName"]?.names.last
    {
      for table in (schema.domainTables[domain] ?? []).sorted() { locks.append(StatementLock(relation: table, mode: .share)) }
    }
    return locks
  }

  static func isZeroTimeout(_ value: String) -> Bool {
    let digits = value.trimmingCharacters(in: .whitespaces).prefix { $0.isNumber || $0 == "." }
    return Double(digits) == 0
  }

  /// Runs the checks that need the whole file: a transaction left open at its end.
  func finish() {
    if let begin = explicitBegin, case .file = mode {
      clauseStart = nil
      fixedLocation = nil
      statementStart = begin
      currentIndex = explicitBeginIndex
      emit(
        .transactionLeftOpen, at: begin,
        "this BEGIN has no COMMIT or ROLLBACK before the end of the file: the locks its statements took stay held until the session ends, or the runner commits or rolls back work it did not mean to",
        help: "COMMIT;  -- at the end of the file")
    }
  }
}

extension JSONValue {
  /// A ColumnDef with its name filled in (ALTER COLUMN TYPE's ColumnDef has none).
  func settingName(_ name: String) -> JSONValue {
    guard case .object(var members) = self else { return self }
    members.removeAll { $0.0 == "colname" }
    members.append(("colname", .string(name)))
    return .object(members)
  }
}
