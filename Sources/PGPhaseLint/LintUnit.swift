import Foundation
import PGPhaseModel

/// The state of linting one file (or one phase of a plan): transaction, lock_timeout, tables
/// created so far, and the findings.
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
  var lockTimeoutSession = false
  var lockTimeoutLocal = false
  /// Tables created in this file (or phase): still empty, so nothing on them blocks anyone.
  var createdTables: Set<String> = []
  /// Set while linting a plan backfill step, which the executor runs in batches.
  var batchedStep = false

  // Per transaction.
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

  func begin(implicit: Bool) {
    inTransaction = true
  }

  func end() {
    inTransaction = false
    lockTimeoutLocal = false
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

  private var currentIndex = 0
  private var locate: (Int) -> SourceLocation = { _ in SourceLocation(file: "", line: 1, column: 1) }
  private var statementSource: SQLSource?
  private var statementEnd = 0
  private var statementStart = 0
  /// The statement as written, for help text; computed only when a finding needs it.
  var statementText: String {
    guard let source = statementSource else { return "" }
    var end = statementEnd
    while end > statementStart, [0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ";")].contains(source.bytes[end - 1]) { end -= 1 }
    return source.text(statementStart..<end)
  }

  func emit(
    _ rule: Rule, at offset: Int?, _ message: String, help: String? = nil, lock: LockMode? = nil,
    severity: Diagnostic.Severity? = nil
  ) {
    guard options.enabledRules.contains(rule) else { return }
    findings.append(
      Finding(
        rule: rule, severity: severity ?? rule.defaultSeverity, message: message, help: help ?? rule.alternative,
        location: locate(offset ?? statementStart), lock: lock ?? rule.lock))
    findingStatements.append(currentIndex)
  }

  func check(_ statement: ParsedStatement, in source: SQLSource, index: Int, locate: @escaping (Int) -> SourceLocation) {
    currentIndex = index
    self.locate = locate
    statementStart = statement.start
    statementSource = source
    statementEnd = statement.end
    let f = statement.fields
    let locks = Linter.locks(of: statement)

    switch statement.type {
    case "TransactionStmt":
      switch f["kind"]?.string ?? "" {
      case "TRANS_STMT_BEGIN", "TRANS_STMT_START": begin(implicit: false)
      case "TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE": end()
      default: break
      }
      return
    case "VariableSetStmt":
      if f["name"]?.string == "lock_timeout" {
        let kind = f["kind"]?.string ?? ""
        let value = f["args"]?.array.first?.constantText
        let enabled = kind == "VAR_SET_VALUE" && value.map { !Self.isZeroTimeout($0) } ?? false
        if f["is_local"]?.bool == true {
          if inTransaction { lockTimeoutLocal = enabled }
        } else {
          lockTimeoutSession = enabled
          lockTimeoutLocal = false
        }
      }
      return
    case "SelectStmt":
      checkSetConfig(f)
      checkStrongLocks(locks)
      return
    default: break
    }

    switch statement.type {
    case "CreateStmt": checkCreateTable(f)
    case "ViewStmt":
      if let view = f["view"]?.relationName, let index = txRenamedTables[view] {
        withdraw(index)
        txRenamedTables[view] = nil
      }
    case "CreateTableAsStmt":
      if let t = f["into"]?["rel"]?.relationName { createdTables.insert(t) }
    case "IndexStmt": checkCreateIndex(f)
    case "AlterTableStmt": checkAlterTable(f)
    case "RenameStmt": checkRename(f)
    case "DropStmt": checkDrop(f)
    case "ReindexStmt": checkReindex(f)
    case "VacuumStmt":
      if locks.contains(where: { $0.mode == .accessExclusive }) {
        let table = locks.first?.relation ?? "the table"
        emit(
          .vacuumFull, at: nil, "VACUUM FULL rewrites \(table) under ACCESS EXCLUSIVE, blocking reads and writes",
          help: "VACUUM (ANALYZE) \(table);  -- or pg_repack --table=\(table) to shrink it online")
      }
      if !(f["is_vacuumcmd"]?.bool == false) { checkNotInTransaction("VACUUM") }
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
      let tables = locks.map(\.relation).joined(separator: ", ")
      emit(.lockTable, at: nil, "LOCK TABLE \(tables) takes \(mode.rawValue) until the transaction ends", lock: mode)
    case "UpdateStmt", "DeleteStmt", "InsertStmt", "MergeStmt": checkDML(statement.type, f)
    default: break
    }

    checkStrongLocks(locks)
    noteDDL(statement.type, locks)
    if !inTransaction { end() }
  }

  static func isZeroTimeout(_ value: String) -> Bool {
    let digits = value.trimmingCharacters(in: .whitespaces).prefix { $0.isNumber || $0 == "." }
    return Double(digits) == 0
  }

  // MARK: lock_timeout, strong locks, transactions

  func checkSetConfig(_ f: JSONValue) {
    f.walk { value in
      guard let call = value.node("FuncCall"), call["funcname"]?.names.last == "set_config" else { return }
      let args = call["args"]?.array ?? []
      guard args.count >= 2, args[0].constantText == "lock_timeout" else { return }
      let enabled = args[1].constantText.map { !Self.isZeroTimeout($0) } ?? true
      let isLocal = args.count > 2 && (args[2].node("A_Const")?["boolval"]?["boolval"]?.bool ?? false)
      if isLocal {
        if inTransaction { lockTimeoutLocal = enabled }
      } else {
        lockTimeoutSession = enabled
      }
    }
  }

  func checkStrongLocks(_ locks: [StatementLock]) {
    let strong = locks.filter { $0.mode == .accessExclusive && !isNew($0.relation) }
    guard let first = strong.first else { return }
    if !lockTimeoutSet {
      emit(
        .requireLockTimeout, at: nil,
        "this statement takes ACCESS EXCLUSIVE on \(first.relation) with no lock_timeout set earlier in the file; while it waits, every query on \(first.relation) queues behind it",
        help: "SET lock_timeout = '2s';  -- earlier in the file, then retry the migration on SQLSTATE 55P03")
    }
    if inTransaction {
      let others = txAccessExclusive.subtracting(strong.map(\.relation))
      if !others.isEmpty, strong.contains(where: { !txAccessExclusive.contains($0.relation) }) {
        emit(
          .multipleAccessExclusive, at: nil,
          "this transaction already holds ACCESS EXCLUSIVE on \(others.sorted().joined(separator: ", ")) and now queues for it on \(first.relation)",
          help: "COMMIT;  -- before this statement, so each table's strong lock is held alone and briefly")
      }
      txAccessExclusive.formUnion(strong.map(\.relation))
    }
  }

  func checkNotInTransaction(_ what: String) {
    guard inTransaction else { return }
    let why =
      inPlan
      ? "this plan step is transactional"
      : (options.transactionalFiles
        ? "the runner wraps this file in a transaction (transactional_files: true)" : "it follows BEGIN")
    emit(
      .concurrentlyInTransaction, at: nil, "\(what) cannot run inside a transaction block, and \(why)",
      help: options.transactionalFiles && !inPlan
        ? "Move this statement to its own migration file that the runner does not wrap in a transaction."
        : "COMMIT;  -- first, then run the statement alone: \(statementText);")
  }

  /// Records DDL on existing tables in this transaction, and flags DDL after unbatched DML.
  func noteDDL(_ type: String, _ locks: [StatementLock]) {
    guard inTransaction, !["UpdateStmt", "DeleteStmt", "InsertStmt", "MergeStmt", "SelectStmt", "LockStmt"].contains(type) else {
      return
    }
    for lock in locks where lock.mode >= .shareUpdateExclusive && !isNew(lock.relation) {
      if let line = txUnbatchedDML[lock.relation] {
        emit(
          .unbatchedDMLWithDDL, at: nil,
          "DDL on \(lock.relation) in the same transaction as the unbatched data change at line \(line): row locks and the DDL lock are held together",
          help:
            "COMMIT;  -- between the data change and the DDL; change the data in batches of a few thousand rows, each in its own transaction"
        )
        txUnbatchedDML[lock.relation] = nil
      }
      txDDL[lock.relation] = txDDL[lock.relation] ?? locate(statementStart).line
    }
  }

  func checkDML(_ type: String, _ f: JSONValue) {
    guard let table = f["relation"]?.relationName, !isNew(table), inTransaction, !batchedStep else { return }
    if type == "InsertStmt" {
      // INSERT ... VALUES touches a few rows; INSERT ... SELECT FROM may copy a whole table.
      guard let select = f["selectStmt"]?.node("SelectStmt"), select["fromClause"] != nil else { return }
    }
    // A LIMIT anywhere (typically `WHERE id IN (SELECT id ... LIMIT n)`) marks a batch.
    if f.contains(where: { $0["limitCount"] != nil }) { return }
    let verb =
      ["UpdateStmt": "UPDATE", "DeleteStmt": "DELETE", "InsertStmt": "INSERT ... SELECT", "MergeStmt": "MERGE"][type] ?? type
    if let line = txDDL[table] {
      emit(
        .unbatchedDMLWithDDL, at: nil,
        "unbatched \(verb) on \(table) in the same transaction as the DDL on \(table) at line \(line): every changed row stays locked, and so does the DDL's lock, until COMMIT",
        help:
          "COMMIT;  -- after the DDL, then \(verb) in batches: ... WHERE id IN (SELECT id FROM \(table) WHERE <pending> LIMIT 1000)"
      )
    } else {
      txUnbatchedDML[table] = locate(statementStart).line
    }
  }

  // MARK: CREATE TABLE / INDEX

  func checkCreateTable(_ f: JSONValue) {
    guard let table = f["relation"]?.relationName else { return }
    createdTables.insert(table)
    var columns: [String: TypeRef] = [:]
    for element in f["tableElts"]?.array ?? [] {
      guard let column = element.node("ColumnDef"), let name = column["colname"]?.string else { continue }
      if let type = TypeRef(column["typeName"]) { columns[name] = type }
      checkColumnStyle(column)
    }
    schema.columns[table] = columns
  }

  func checkColumnStyle(_ column: JSONValue) {
    guard let type = TypeRef(column["typeName"]) else { return }
    let name = column["colname"]?.string ?? "column"
    let at = column["typeName"]?.location ?? column.location
    if ["int2", "int4", "serial", "serial4", "smallserial", "serial2"].contains(type.name) {
      let better = type.name.contains("serial") ? "bigint GENERATED BY DEFAULT AS IDENTITY" : "bigint"
      emit(.preferBigint, at: at, "column \(name) is \(type); a 32-bit value runs out at 2^31", help: "\(name) \(better)")
    }
    if TypeRef.serialNames.contains(type.name) {
      emit(
        .preferIdentity, at: at, "column \(name) is \(type.name); prefer an identity column",
        help: "\(name) bigint GENERATED BY DEFAULT AS IDENTITY")
    }
    if (type.name == "varchar" && !type.modifiers.isEmpty) || type.name == "bpchar" {
      let limit = type.modifiers.first.map { " CHECK (length(\(name)) <= \($0))" } ?? ""
      emit(.preferText, at: at, "column \(name) is \(type); prefer text", help: "\(name) text\(limit)")
    }
    if type.name == "timestamp" {
      emit(
        .preferTimestamptz, at: at, "column \(name) is timestamp without time zone; prefer timestamptz",
        help: "\(name) timestamptz")
    }
  }

  func checkCreateIndex(_ f: JSONValue) {
    let table = f["relation"]?.relationName
    let concurrent = f["concurrent"]?.bool == true
    if concurrent {
      checkNotInTransaction("CREATE INDEX CONCURRENTLY")
      return
    }
    guard let table, !isNew(table) else { return }
    let fixed = Self.insertingConcurrently(into: statementText, after: "INDEX")
    emit(
      .requireConcurrentIndex, at: nil,
      "CREATE INDEX on existing table \(table) without CONCURRENTLY takes SHARE: every write to \(table) waits for the whole build",
      help: "\(fixed);  -- alone, outside a transaction block")
  }

  /// `CREATE UNIQUE INDEX i ON t` → `CREATE UNIQUE INDEX CONCURRENTLY i ON t`.
  static func insertingConcurrently(into sql: String, after keyword: String) -> String {
    let bytes = Array(sql.utf8)
    let key = Array(keyword.uppercased().utf8)
    guard bytes.count >= key.count else { return sql }
    for i in 0...(bytes.count - key.count) {
      var match = true
      for j in 0..<key.count where bytes[i + j] & 0xDF != key[j] {
        match = false
        break
      }
      guard match else { continue }
      let isUpper = bytes[i] < 0x60
      let head = String(decoding: bytes[..<(i + key.count)], as: UTF8.self)
      let tail = String(decoding: bytes[(i + key.count)...], as: UTF8.self)
      return head + (isUpper ? " CONCURRENTLY" : " concurrently") + tail
    }
    return sql
  }

  // MARK: ALTER TABLE

  func checkAlterTable(_ f: JSONValue) {
    guard let table = f["relation"]?.relationName else { return }
    let isNewTable = isNew(table)
    for cmd in f["cmds"]?.array ?? [] {
      guard let c = cmd.node("AlterTableCmd") else { continue }
      let subtype = c["subtype"]?.string ?? ""
      switch subtype {
      case "AT_AddColumn":
        guard let column = c["def"]?.node("ColumnDef") else { continue }
        if let name = column["colname"]?.string, let type = TypeRef(column["typeName"]) {
          schema.columns[table, default: [:]][name] = type
        }
        checkColumnStyle(column)
        if !isNewTable { checkAddColumn(table, column) }
      case "AT_AlterColumnType":
        guard let column = c["name"]?.string, let def = c["def"]?.node("ColumnDef"), let newType = TypeRef(def["typeName"]) else {
          continue
        }
        let oldType = schema.columns[table]?[column]
        schema.columns[table, default: [:]][column] = newType
        checkColumnStyle(def.settingName(column))
        if !isNewTable {
          checkAlterType(
            table, column, from: oldType, to: newType, using: def["raw_default"] != nil, at: def["typeName"]?.location)
        }
      case "AT_SetNotNull":
        guard let column = c["name"]?.string, !isNewTable else { continue }
        checkSetNotNull(table, column)
      case "AT_AddConstraint":
        guard let constraint = c["def"]?.node("Constraint") else { continue }
        checkAddConstraint(table, constraint, isNewTable: isNewTable)
      case "AT_ValidateConstraint":
        guard let name = c["name"]?.string else { continue }
        if txNotValid.contains("\(table).\(name)") {
          emit(
            .validateInSameTransaction, at: nil,
            "VALIDATE CONSTRAINT \(name) runs in the transaction that added it NOT VALID, so the scan happens under that statement's strong lock on \(table)",
            help: "COMMIT;  -- before: ALTER TABLE \(table) VALIDATE CONSTRAINT \(name);")
        }
        if let column = schema.notValidNotNullChecks["\(table).\(name)"] { schema.validatedNotNull.insert("\(table).\(column)") }
      case "AT_DropColumn":
        let column = c["name"]?.string ?? "column"
        if inTransaction { txDroppedColumns.insert("\(table).\(column)") }
        guard !isNewTable, !contractPhase else { continue }
        let phaseNote = inPlan ? " outside the contract phase" : ""
        emit(
          .dropColumn, at: nil,
          "dropping column \(table).\(column)\(phaseNote) breaks the app version still running during the deploy",
          help:
            "Stop reading and writing \(column) in a deploy first; drop it in a later migration (a pgphase intent's contract phase)."
        )
      default: break
      }
    }
  }

  func checkAddColumn(_ table: String, _ column: JSONValue) {
    let name = column["colname"]?.string ?? "column"
    let type = TypeRef(column["typeName"])
    let constraints = (column["constraints"]?.array ?? []).compactMap { $0.node("Constraint") }
    let kind = { (c: JSONValue) in c["contype"]?.string ?? "" }
    let defaultExpr = constraints.first { kind($0) == "CONSTR_DEFAULT" }?["raw_expr"]
    let typeText = type?.description ?? "<type>"
    let notNull = constraints.contains { kind($0) == "CONSTR_NOTNULL" || kind($0) == "CONSTR_PRIMARY" }

    if let generated = constraints.first(where: { kind($0) == "CONSTR_GENERATED" }) {
      emit(
        .addStoredGeneratedColumn, at: generated.location,
        "adding STORED generated column \(table).\(name) computes it for every row: the table is rewritten under ACCESS EXCLUSIVE",
        help:
          "ALTER TABLE \(table) ADD COLUMN \(name) \(typeText);  -- plain column: fill it with a trigger and a batched backfill, or compute it in a view"
      )
    }
    let serial = type.map { TypeRef.serialNames.contains($0.name) } ?? false
    let identity = constraints.first { kind($0) == "CONSTR_IDENTITY" }
    var volatile: (String, Int?)?
    if let defaultExpr { volatile = Self.volatileCall(in: defaultExpr) }
    if serial { volatile = ("nextval (\(type!.name))", column["typeName"]?.location) }
    if let identity { volatile = ("an identity sequence", identity.location) }
    if let (function, at) = volatile {
      emit(
        .addColumnRewritingDefault, at: at,
        "adding \(table).\(name) with a default from \(function) evaluates it for every row: the table is rewritten under ACCESS EXCLUSIVE",
        help: """
          ALTER TABLE \(table) ADD COLUMN \(name) \(serial ? "bigint" : typeText);  -- instant; then SET DEFAULT for new rows and backfill existing rows in batches
          """)
    } else if let defaultExpr, pgVersion < 11, !Self.isNullConstant(defaultExpr) {
      emit(
        .addColumnRewritingDefault, at: defaultExpr.node?.fields.location,
        "on PostgreSQL \(pgVersion) any non-null default on ADD COLUMN rewrites \(table) under ACCESS EXCLUSIVE (instant only from 11)",
        help:
          "ALTER TABLE \(table) ADD COLUMN \(name) \(typeText);\nALTER TABLE \(table) ALTER COLUMN \(name) SET DEFAULT <expr>;  -- then backfill existing rows in batches"
      )
    }
    let hasDefault =
      (defaultExpr.map { !Self.isNullConstant($0) } ?? false) || serial || identity != nil
      || constraints.contains { kind($0) == "CONSTR_GENERATED" }
    if notNull && !hasDefault {
      emit(
        .addColumnNotNullWithoutDefault,
        at: constraints.first { kind($0) == "CONSTR_NOTNULL" || kind($0) == "CONSTR_PRIMARY" }?.location,
        "adding NOT NULL column \(table).\(name) without a default fails as soon as \(table) has a row",
        help:
          "ALTER TABLE \(table) ADD COLUMN \(name) \(typeText) NOT NULL DEFAULT <constant>;  -- instant on PG 11+; or add it nullable, backfill, then SET NOT NULL via a validated CHECK"
      )
    }
    for c in constraints {
      switch kind(c) {
      case "CONSTR_FOREIGN":
        let target = c["pktable"]?.relationName ?? "other"
        let targetColumn = c["pk_attrs"]?.names.first.map { " (\($0))" } ?? ""
        let conname = c["conname"]?.string ?? "\(table)_\(name)_fkey"
        emit(
          .constraintMissingNotValid, at: c.location,
          "REFERENCES on a new column of \(table) validates at once, holding SHARE ROW EXCLUSIVE on \(table) and \(target) during the scan",
          help: """
            ALTER TABLE \(table) ADD COLUMN \(name) \(typeText);
            ALTER TABLE \(table) ADD CONSTRAINT \(conname) FOREIGN KEY (\(name)) REFERENCES \(target)\(targetColumn) NOT VALID;
            ALTER TABLE \(table) VALIDATE CONSTRAINT \(conname);  -- in a later transaction
            """, lock: .shareRowExclusive)
      case "CONSTR_CHECK":
        emit(
          .constraintMissingNotValid, at: c.location,
          "CHECK on a new column of \(table) scans the table under ACCESS EXCLUSIVE",
          help:
            "Add the column without the CHECK, then ADD CONSTRAINT ... CHECK (...) NOT VALID and VALIDATE it in a later transaction.",
          lock: .accessExclusive)
      case "CONSTR_UNIQUE", "CONSTR_PRIMARY":
        let what = kind(c) == "CONSTR_UNIQUE" ? "UNIQUE" : "PRIMARY KEY"
        emit(
          .uniqueWithoutUsingIndex, at: c.location, "\(what) on a new column of \(table) builds its index under ACCESS EXCLUSIVE",
          help: """
            ALTER TABLE \(table) ADD COLUMN \(name) \(typeText);
            CREATE UNIQUE INDEX CONCURRENTLY \(table)_\(name)_key ON \(table) (\(name));
            ALTER TABLE \(table) ADD CONSTRAINT \(table)_\(name)_key \(what) USING INDEX \(table)_\(name)_key;
            """)
      default: break
      }
    }
  }

  static let volatileFunctions: Set<String> = [
    "random", "clock_timestamp", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4",
    "timeofday", "nextval", "txid_current", "pg_current_xact_id", "gen_random_bytes", "random_normal", "setseed",
  ]

  /// The first volatile function called in an expression (name and location).
  static func volatileCall(in expression: JSONValue) -> (String, Int?)? {
    var found: (String, Int?)?
    expression.walk { value in
      guard found == nil, let call = value.node("FuncCall"), let name = call["funcname"]?.names.last?.lowercased() else { return }
      if volatileFunctions.contains(name) { found = ("\(name)()", call.location) }
    }
    return found
  }

  static func isNullConstant(_ expression: JSONValue) -> Bool {
    expression.node("A_Const")?["isnull"]?.bool == true
  }

  func checkAlterType(_ table: String, _ column: String, from old: TypeRef?, to new: TypeRef, using: Bool, at: Int?) {
    let alternative = """
      ALTER TABLE \(table) ADD COLUMN \(column)_new \(new);  -- expand
      -- sync writes with a trigger, backfill in batches, switch the app, then drop \(column) and rename in a later deploy
      """
    if using {
      emit(
        .columnTypeRewrite, at: at,
        "ALTER COLUMN \(table).\(column) TYPE \(new) USING ... rewrites \(table) under ACCESS EXCLUSIVE", help: alternative)
      return
    }
    if let old {
      if TypeRef.isBinaryCompatible(from: old, to: new) { return }
      emit(
        .columnTypeRewrite, at: at,
        "changing \(table).\(column) from \(old) to \(new) rewrites \(table) and its indexes under ACCESS EXCLUSIVE",
        help: alternative)
      return
    }
    // Old type unknown: a change to text/varchar/numeric is often binary-compatible.
    let maybeCompatible = ["text", "varchar", "numeric", "varbit", "inet"].contains(new.name)
    emit(
      .columnTypeRewrite, at: at,
      maybeCompatible
        ? "changing \(table).\(column) to \(new) rewrites \(table) under ACCESS EXCLUSIVE unless the old type is binary-compatible (the old type is not in the linted files)"
        : "changing \(table).\(column) to \(new) rewrites \(table) and its indexes under ACCESS EXCLUSIVE",
      help: alternative, severity: maybeCompatible ? .warning : .error)
  }

  func checkSetNotNull(_ table: String, _ column: String) {
    if pgVersion >= 12, schema.validatedNotNull.contains("\(table).\(column)") { return }
    let checkName = "\(table)_\(column)_not_null"
    if pgVersion < 12 {
      emit(
        .setNotNullWithoutCheck, at: nil,
        "SET NOT NULL on \(table).\(column) scans the whole table under ACCESS EXCLUSIVE (PostgreSQL \(pgVersion) cannot use a CHECK to skip the scan; 12+ can)",
        help: "Keep a validated CHECK (\(column) IS NOT NULL) constraint instead of SET NOT NULL until you run PostgreSQL 12+.")
      return
    }
    emit(
      .setNotNullWithoutCheck, at: nil,
      "SET NOT NULL on \(table).\(column) scans the whole table under ACCESS EXCLUSIVE: no validated CHECK (\(column) IS NOT NULL) precedes it",
      help: """
        ALTER TABLE \(table) ADD CONSTRAINT \(checkName) CHECK (\(column) IS NOT NULL) NOT VALID;
        ALTER TABLE \(table) VALIDATE CONSTRAINT \(checkName);  -- separate transaction, does not block writes
        ALTER TABLE \(table) ALTER COLUMN \(column) SET NOT NULL;  -- no scan now
        ALTER TABLE \(table) DROP CONSTRAINT \(checkName);
        """)
  }

  func checkAddConstraint(_ table: String, _ c: JSONValue, isNewTable: Bool) {
    let type = c["contype"]?.string ?? ""
    let name = c["conname"]?.string
    let notValid = c["skip_validation"]?.bool == true
    // Track CHECK (col IS NOT NULL) for SET NOT NULL.
    if type == "CONSTR_CHECK", let column = Self.notNullColumn(c["raw_expr"]) {
      if notValid || false {
        if let name { schema.notValidNotNullChecks["\(table).\(name)"] = column }
      } else {
        schema.validatedNotNull.insert("\(table).\(column)")
      }
    }
    if notValid, let name, inTransaction { txNotValid.insert("\(table).\(name)") }
    guard !isNewTable else { return }
    let conname = name ?? "\(table)_constraint"
    switch type {
    case "CONSTR_FOREIGN", "CONSTR_CHECK":
      guard !notValid else { return }
      let isFK = type == "CONSTR_FOREIGN"
      let what = isFK ? "FOREIGN KEY \(conname)" : "CHECK \(conname)"
      let lockText =
        isFK
        ? "SHARE ROW EXCLUSIVE on \(table) and \(c["pktable"]?.relationName ?? "the referenced table")"
        : "ACCESS EXCLUSIVE on \(table)"
      let original = statementText
      emit(
        .constraintMissingNotValid, at: c.location,
        "adding \(what) without NOT VALID scans \(table) while holding \(lockText)",
        help: """
          \(original) NOT VALID;
          ALTER TABLE \(table) VALIDATE CONSTRAINT \(conname);  -- in a later transaction: SHARE UPDATE EXCLUSIVE, no blocking
          """, lock: isFK ? .shareRowExclusive : .accessExclusive)
    case "CONSTR_UNIQUE", "CONSTR_PRIMARY":
      guard c["indexname"] == nil else { return }
      let what = type == "CONSTR_UNIQUE" ? "UNIQUE" : "PRIMARY KEY"
      let columns = (c["keys"]?.names ?? []).joined(separator: ", ")
      emit(
        .uniqueWithoutUsingIndex, at: c.location,
        "adding \(what) \(conname) builds its index while holding ACCESS EXCLUSIVE on \(table): reads and writes wait for the whole build",
        help: """
          CREATE UNIQUE INDEX CONCURRENTLY \(conname) ON \(table) (\(columns));
          ALTER TABLE \(table) ADD CONSTRAINT \(conname) \(what) USING INDEX \(conname);
          """)
    case "CONSTR_EXCLUSION":
      emit(
        .excludeConstraint, at: c.location,
        "adding EXCLUDE constraint \(conname) builds its index under ACCESS EXCLUSIVE on \(table); PostgreSQL has no online way to add one",
        help:
          "No safe form exists (EXCLUDE has neither NOT VALID nor USING INDEX): run it in a maintenance window, or enforce the rule with a trigger or in the application."
      )
    default: break
    }
  }

  /// `col IS NOT NULL` → `col`.
  static func notNullColumn(_ expression: JSONValue?) -> String? {
    guard let test = expression?.node("NullTest"), test["nulltesttype"]?.string == "IS_NOT_NULL",
      let column = test["arg"]?.node("ColumnRef")?["fields"]?.names.last
    else { return nil }
    return column
  }

  // MARK: renames, drops, reindex

  func checkRename(_ f: JSONValue) {
    guard let table = f["relation"]?.relationName else { return }
    let newName = f["newname"]?.string ?? "new_name"
    // Carry what we know to the new name.
    if f["renameType"]?.string == "OBJECT_COLUMN", let column = f["subname"]?.string {
      if let type = schema.columns[table]?[column] {
        schema.columns[table]?[column] = nil
        schema.columns[table]?[newName] = type
      }
      if schema.validatedNotNull.remove("\(table).\(column)") != nil { schema.validatedNotNull.insert("\(table).\(newName)") }
    }
    if f["renameType"]?.string == "OBJECT_TABLE" {
      if let columns = schema.columns.removeValue(forKey: table) { schema.columns[newName] = columns }
      if createdTables.remove(table) != nil { createdTables.insert(newName) }
    }
    guard !isNew(table), !isNew(newName) else { return }
    switch f["renameType"]?.string {
    case "OBJECT_COLUMN":
      let column = f["subname"]?.string ?? "column"
      // Swapping a column into the place of one dropped in this transaction keeps the name working.
      if txDroppedColumns.contains("\(table).\(newName)") { return }
      emit(
        .renameColumn, at: nil,
        "renaming \(table).\(column) to \(newName) breaks the app version still running during the deploy",
        help: """
          ALTER TABLE \(table) ADD COLUMN \(newName) <type>;  -- expand; sync both columns, backfill, move the app to \(newName)
          ALTER TABLE \(table) DROP COLUMN \(column);  -- contract, in a later deploy
          """)
    case "OBJECT_TABLE":
      if txDroppedTables.contains(newName) { return }
      if inTransaction, options.enabledRules.contains(.renameTable) { txRenamedTables[table] = findings.count }
      emit(
        .renameTable, at: nil, "renaming table \(table) to \(newName) breaks the app version still running during the deploy",
        help: """
          ALTER TABLE \(table) RENAME TO \(newName);
          CREATE VIEW \(table) AS SELECT * FROM \(newName);  -- same transaction; drop the view once no app uses \(table)
          """)
    default: break
    }
  }

  func checkDrop(_ f: JSONValue) {
    let type = f["removeType"]?.string ?? ""
    let names = (f["objects"]?.array ?? []).compactMap { $0.node("List")?["items"]?.names.last }
    switch type {
    case "OBJECT_INDEX":
      if f["concurrent"]?.bool == true {
        checkNotInTransaction("DROP INDEX CONCURRENTLY")
      } else {
        let fixed = Self.insertingConcurrently(into: statementText, after: "INDEX")
        emit(
          .requireConcurrentDropIndex, at: nil,
          "DROP INDEX \(names.joined(separator: ", ")) without CONCURRENTLY takes ACCESS EXCLUSIVE on its table",
          help: "\(fixed);  -- alone, outside a transaction block")
      }
    case "OBJECT_TABLE":
      if inTransaction { txDroppedTables.formUnion(names) }
      let existing = names.filter { !isNew($0) }
      guard !existing.isEmpty, !contractPhase else { return }
      let phaseNote = inPlan ? " outside the contract phase" : ""
      emit(
        .dropTable, at: nil,
        "dropping table \(existing.joined(separator: ", "))\(phaseNote) breaks the app version still running during the deploy",
        help:
          "Stop using \(existing.joined(separator: ", ")) in a deploy first; drop it in a later migration (a pgphase intent's contract phase)."
      )
    default: break
    }
  }

  func checkReindex(_ f: JSONValue) {
    let concurrent = (f["params"]?.array ?? []).contains { $0.node("DefElem")?["defname"]?.string == "concurrently" }
    if concurrent {
      checkNotInTransaction("REINDEX CONCURRENTLY")
      return
    }
    let target = f["relation"]?.relationName ?? f["name"]?.string ?? "index"
    if pgVersion >= 12 {
      let fixed = Self.insertingConcurrently(
        into: statementText, after: f["kind"]?.string == "REINDEX_OBJECT_INDEX" ? "INDEX" : "TABLE")
      emit(
        .requireConcurrentReindex, at: nil,
        "REINDEX \(target) without CONCURRENTLY blocks writes, and reads that plan with the index",
        help: "\(fixed);  -- alone, outside a transaction block")
    } else {
      emit(
        .requireConcurrentReindex, at: nil,
        "REINDEX \(target) blocks writes, and reads that plan with the index; PostgreSQL \(pgVersion) has no REINDEX CONCURRENTLY",
        help:
          "CREATE INDEX CONCURRENTLY <new_name> ON <table> (...);  -- same definition\nDROP INDEX CONCURRENTLY \(target);\nALTER INDEX <new_name> RENAME TO \(target);"
      )
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
