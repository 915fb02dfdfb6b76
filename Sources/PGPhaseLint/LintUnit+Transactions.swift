import PGPhaseModel
import PGPhaseSQL

/// Transactions, lock_timeout, and the locks statements queue for.
extension LintUnit {
  func checkTransaction(_ f: JSONValue) {
    switch f["kind"]?.string ?? "" {
    case "TRANS_STMT_BEGIN", "TRANS_STMT_START":
      if inTransaction {
        let why =
          explicitBegin.map { "the transaction begun at line \(location(of: $0).line) is still open" }
          ?? (runnerTransaction
            ? "the runner already wraps this file in a transaction (transactional_files or the file's transaction mode)"
            : "a transaction is already open")
        emit(
          .transactionNesting, at: nil,
          "BEGIN inside a transaction does not start a new one (PostgreSQL warns and ignores it): \(why), so the COMMIT that follows ends the outer transaction early",
          help: runnerTransaction
            ? "Remove BEGIN and COMMIT from the file (the runner commits), or mark the file -- pgphase:no-transaction."
            : "COMMIT;  -- before this BEGIN, or remove the inner BEGIN/COMMIT pair")
        return
      }
      begin(implicit: false)
      explicitBeginIndex = currentIndex
    case "TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE", "TRANS_STMT_COMMIT_PREPARED",
      "TRANS_STMT_ROLLBACK_PREPARED":
      end()
    default: break
    }
  }

  func checkSet(_ f: JSONValue) {
    let name = f["name"]?.string ?? ""
    let kind = f["kind"]?.string ?? ""
    let isLocal = f["is_local"]?.bool == true
    switch name {
    case "lock_timeout":
      let value = f["args"]?.array.first?.constantText
      let enabled = kind == "VAR_SET_VALUE" && value.map { !Self.isZeroTimeout($0) } ?? false
      if isLocal {
        if inTransaction { lockTimeoutLocal = enabled }
      } else {
        lockTimeoutSession = enabled
        lockTimeoutLocal = false
      }
    case "timezone":
      // SET timezone = 'UTC' / SET TIME ZONE 'UTC' / ... = 'Etc/UTC' / INTERVAL '+00:00' / 0
      let value = (f["args"]?.array.first?.constantText ?? "").lowercased()
      sessionTimeZoneUTC =
        kind == "VAR_SET_VALUE" && ["utc", "etc/utc", "gmt", "etc/gmt", "zulu", "z", "0", "+00:00", "00:00"].contains(value)
    default: break
    }
  }

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

  /// require-lock-timeout and multiple-access-exclusive-in-transaction. A lock counts when it
  /// conflicts with the app's writes and with itself (SHARE ROW EXCLUSIVE or stronger: foreign
  /// keys, triggers, and everything ACCESS EXCLUSIVE; a plain CREATE INDEX's SHARE has its own
  /// rule), is on a table that existed before the file, and
  /// is not already held as strongly by the transaction (then the statement cannot queue).
  /// Linter.lint keeps one require-lock-timeout finding per file.
  func checkStrongLocks(_ locks: [StatementLock]) {
    let queueing = locks.filter { lock in
      guard lock.mode >= .shareRowExclusive, !isNew(lock.relation) else { return false }
      guard let table = lock.relation, let held = txHeld[table] else { return true }
      return held < lock.mode
    }
    if let first = queueing.max(by: { $0.mode < $1.mode }), !lockTimeoutSet {
      let blocked = first.mode.blocksReads ? "every query" : "every write"
      emit(
        .requireLockTimeout, at: nil,
        "this statement waits for \(first.mode.rawValue) on \(first.displayName) with no lock_timeout set earlier in the file; while it waits, \(blocked) on \(first.relation ?? "that table") queues behind it",
        help: "SET lock_timeout = '2s';  -- earlier in the file, then retry the migration on SQLSTATE 55P03",
        lock: first.mode)
    }
    guard inTransaction else { return }
    let strong = locks.filter { $0.mode == .accessExclusive && !isNew($0.relation) }
    let strongTables = Set(strong.compactMap(\.relation))
    let others = txAccessExclusive.subtracting(strongTables)
    if !others.isEmpty, let newlyHeld = strong.first(where: { $0.relation.map { !txAccessExclusive.contains($0) } ?? false }) {
      emit(
        .multipleAccessExclusive, at: nil,
        "this transaction already holds ACCESS EXCLUSIVE on \(others.sorted().joined(separator: ", ")) and now queues for it on \(newlyHeld.displayName)",
        help: "COMMIT;  -- before this statement, so each table's strong lock is held alone and briefly")
    }
    txAccessExclusive.formUnion(strongTables)
    for lock in locks {
      guard let table = lock.relation else { continue }
      txHeld[table] = max(txHeld[table] ?? lock.mode, lock.mode)
    }
  }

  func checkNotInTransaction(_ what: String) {
    guard inTransaction else { return }
    let why =
      inPlan
      ? "this plan step is transactional"
      : (runnerTransaction && explicitBegin == nil
        ? "the runner wraps this file in a transaction (transactional_files, or the file's transaction mode)"
        : "it follows BEGIN")
    emit(
      .concurrentlyInTransaction, at: nil, "\(what) cannot run inside a transaction block, and \(why)",
      help: runnerTransaction && explicitBegin == nil && !inPlan
        ? "Move this statement to its own migration file that the runner does not wrap in a transaction (or mark that file -- pgphase:no-transaction)."
        : "COMMIT;  -- first, then run the statement alone: \(statementText);")
  }

  /// Records DDL on existing tables in this transaction, and flags DDL after unbatched DML.
  func noteDDL(_ type: String, _ locks: [StatementLock]) {
    guard inTransaction, !["UpdateStmt", "DeleteStmt", "InsertStmt", "MergeStmt", "SelectStmt", "LockStmt"].contains(type) else {
      return
    }
    for lock in locks where lock.mode >= .shareUpdateExclusive && !isNew(lock.relation) {
      guard let table = lock.relation else { continue }
      if let line = txUnbatchedDML[table] {
        emit(
          .unbatchedDMLWithDDL, at: nil,
          "DDL on \(table) in the same transaction as the unbatched data change at line \(line): row locks and the DDL lock are held together",
          help:
            "COMMIT;  -- between the data change and the DDL; change the data in batches of a few thousand rows, each in its own transaction"
        )
        txUnbatchedDML[table] = nil
      }
      txDDL[table] = txDDL[table] ?? location(of: nil).line
    }
  }

  func checkDML(_ type: String, _ f: JSONValue) {
    if type == "UpdateStmt" { checkDuplicateAssignments(f) }
    guard let table = f["relation"]?.relationName else { return }
    if type == "InsertStmt" {
      // INSERT ... VALUES touches a few rows; INSERT ... SELECT FROM may copy a whole table.
      guard let select = f["selectStmt"]?.node("SelectStmt"), select["fromClause"] != nil else { return }
      // A table created in this file and filled from a query is no longer empty.
      createdTables.remove(table)
      return checkUnbatched(type, table, f)
    }
    checkUnbatched(type, table, f)
  }

  private func checkUnbatched(_ type: String, _ table: String, _ f: JSONValue) {
    guard !isNew(table), inTransaction, !batchedStep else { return }
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
      txUnbatchedDML[table] = location(of: nil).line
    }
  }

  /// `COPY t FROM ...` fills a table created in this file.
  func checkCopy(_ f: JSONValue) {
    if f["is_from"]?.bool == true, let table = f["relation"]?.relationName { createdTables.remove(table) }
  }

  /// `UPDATE t SET a = 1, a = 2`: PostgreSQL rejects it ("multiple assignments to same column").
  func checkDuplicateAssignments(_ f: JSONValue) {
    var seen: Set<String> = []
    for target in f["targetList"]?.array ?? [] {
      guard let t = target.node("ResTarget"), let name = t["name"]?.string else { continue }
      // `SET (a, b) = ...` lists each column once per position; subscripted or field targets
      // (`SET a[1] = ..., a[2] = ...`) may repeat the column legitimately.
      guard t["indirection"] == nil else { continue }
      if !seen.insert(name).inserted {
        emit(
          .duplicateAssignment, at: t.location,
          "UPDATE assigns \(name) more than once; PostgreSQL rejects the statement (multiple assignments to same column \"\(name)\")",
          help: "Keep one assignment to \(name).")
      }
    }
  }
}
