import PGPhaseModel
import PGPhaseSQL

/// Renames, drops, TRUNCATE, REINDEX, VACUUM.
extension LintUnit {
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
    if f["renameType"]?.string == "OBJECT_INDEX", let table = schema.indexTables.removeValue(forKey: table) {
      schema.indexTables[newName] = table
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
        let tables = Set(names.compactMap { schema.indexTables[$0] }).sorted()
        let onWhat =
          tables.isEmpty
          ? (names.count == 1 ? "on the index and on its table" : "on the indexes and on their tables")
          : "on the index and on \(tables.joined(separator: ", "))"
        emit(
          .requireConcurrentDropIndex, at: nil,
          "DROP INDEX \(names.joined(separator: ", ")) without CONCURRENTLY takes ACCESS EXCLUSIVE \(onWhat), blocking reads and writes",
          help: "\(fixed);  -- alone, outside a transaction block")
      }
      for name in names { schema.indexTables[name] = nil }
    case "OBJECT_TABLE":
      if inTransaction { txDroppedTables.formUnion(names) }
      for name in names { schema.forget(table: name) }
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

  func checkDropDatabase(_ f: JSONValue) {
    let name = f["dbname"]?.string ?? "the database"
    emit(
      .dropDatabase, at: nil, "DROP DATABASE \(name) deletes every table in it, and cannot be undone or rolled back",
      help: "Drop databases by hand, after a backup, never from a migration.")
  }

  func checkTruncate(_ f: JSONValue) {
    guard f["behavior"]?.string == "DROP_CASCADE" else { return }
    let tables = (f["relations"]?.array ?? []).compactMap(\.qualifiedName?.name)
    let referencing = schema.foreignKeys.filter { !$0.value.isDisjoint(with: tables) }.map(\.key).sorted()
    let known = referencing.isEmpty ? "" : " (from the files: \(referencing.joined(separator: ", ")))"
    emit(
      .truncateCascade, at: nil,
      "TRUNCATE \(tables.joined(separator: ", ")) CASCADE also empties every table with a foreign key to \(tables.count == 1 ? "it" : "them")\(known), and those tables' referencing tables, under ACCESS EXCLUSIVE",
      help: "TRUNCATE \((tables + referencing).joined(separator: ", "));  -- name every table you mean to empty")
  }

  func checkReindex(_ f: JSONValue) {
    let concurrent = (f["params"]?.array ?? []).contains {
      $0.node("DefElem").map { $0["defname"]?.string == "concurrently" && $0.defElemBool } ?? false
    }
    if concurrent {
      checkNotInTransaction("REINDEX CONCURRENTLY")
      return
    }
    let kind = f["kind"]?.string ?? ""
    if kind == "REINDEX_OBJECT_SYSTEM" {
      // REINDEX SYSTEM rebuilds the catalogs' indexes, which CONCURRENTLY cannot do.
      emit(
        .requireConcurrentReindex, at: nil,
        "REINDEX SYSTEM locks the system catalogs' indexes, stalling every session's queries; it has no CONCURRENTLY form",
        help: "Run REINDEX SYSTEM in a maintenance window, outside migrations.")
      return
    }
    let target = f["relation"]?.relationName ?? f["name"]?.string ?? "index"
    if pgVersion >= 12 {
      let keyword: String =
        switch kind {
        case "REINDEX_OBJECT_INDEX": "INDEX"
        case "REINDEX_OBJECT_SCHEMA": "SCHEMA"
        case "REINDEX_OBJECT_DATABASE": "DATABASE"
        default: "TABLE"
        }
      let fixed = Self.insertingConcurrently(into: statementText, after: keyword)
      let note = kind == "REINDEX_OBJECT_DATABASE" ? " (CONCURRENTLY skips the system catalogs)" : ""
      emit(
        .requireConcurrentReindex, at: nil,
        "REINDEX \(target) without CONCURRENTLY blocks writes, and reads that plan with the index",
        help: "\(fixed);  -- alone, outside a transaction block\(note)")
    } else {
      emit(
        .requireConcurrentReindex, at: nil,
        "REINDEX \(target) blocks writes, and reads that plan with the index; PostgreSQL \(pgVersion) has no REINDEX CONCURRENTLY",
        help:
          "CREATE INDEX CONCURRENTLY <new_name> ON <table> (...);  -- same definition\nDROP INDEX CONCURRENTLY \(target);\nALTER INDEX <new_name> RENAME TO \(target);"
      )
    }
  }

  func checkVacuum(_ f: JSONValue, locks: [StatementLock]) {
    if locks.contains(where: { $0.mode == .accessExclusive }) {
      let table = locks.first?.displayName ?? "the table"
      emit(
        .vacuumFull, at: nil, "VACUUM FULL rewrites \(table) under ACCESS EXCLUSIVE, blocking reads and writes",
        help: "VACUUM (ANALYZE) \(table);  -- or pg_repack --table=\(table) to shrink it online")
    }
    if !(f["is_vacuumcmd"]?.bool == false) { checkNotInTransaction("VACUUM") }
  }
}
