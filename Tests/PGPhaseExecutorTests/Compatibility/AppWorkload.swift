import Foundation
import PGPhaseModel
import PGPhasePostgres

/// Counts and failures of a harness run, written from several threads.
final class HarnessLedger: @unchecked Sendable {
  // Safety: every member is guarded by `lock`.
  private let lock = NSLock()
  private var counts: [String: Int] = [:]
  private var problems: [String] = []
  private var serial = 0

  /// A number no other caller gets: keeps inserted unique values apart across threads.
  func nextSerial() -> Int {
    lock.lock()
    defer { lock.unlock() }
    serial += 1
    return serial
  }

  func count(_ key: String, _ n: Int = 1) {
    lock.lock()
    counts[key, default: 0] += n
    lock.unlock()
  }

  func problem(_ text: String) {
    lock.lock()
    problems.append(text)
    lock.unlock()
  }

  var tally: [String: Int] {
    lock.lock()
    defer { lock.unlock() }
    return counts
  }

  var failures: [String] {
    lock.lock()
    defer { lock.unlock() }
    return problems
  }
}

/// One app version's workload: for every relation it knows, INSERTs naming only its columns (all
/// of them, and only the required ones), an UPDATE of every column to itself on rows the
/// backfills have done and on rows they have not, UPDATEs that change each column pgphase keeps
/// in step, a SELECT and a DELETE. Every app statement must succeed; after every write the
/// harness checks the row is in step (no trigger-backed backfill has it pending), that the app
/// reads back what it wrote, and that a write through the new side of a two-way change set the
/// old side to `down(new)`.
///
/// Values come from other rows (the physical table, read by the harness, not the app), as the
/// backfills would leave them; unique columns and free text get a per-statement suffix, so
/// inserts neither collide nor duplicate what a backfill deduplicates.
struct AppWorkload: Sendable {
  /// `old app` or `new app`.
  var app: String
  /// Which half of each table's rows this app updates (so its read-backs are its own).
  var half: Int
  var relations: [AppRelation]
  var promises: IntentPromises
  var ledger: HarnessLedger

  func round(on c: Connection, harness h: Connection, phase: String) {
    for r in relations { exercise(r, on: c, harness: h, phase: phase) }
  }

  private func problem(_ phase: String, _ r: AppRelation, _ text: String) {
    ledger.problem("\(phase), \(app), \(r.name): \(text)")
  }

  /// Runs one app statement, counting it and recording its failure.
  @discardableResult
  private func app(_ c: Connection, _ phase: String, _ r: AppRelation, _ sql: String, _ parameters: [String?] = [])
    -> QueryResult?
  {
    ledger.count("\(phase) statements")
    do {
      return try c.execute(sql, parameters)
    } catch {
      ledger.count("\(phase) failed")
      problem(phase, r, "FAILED \(sql) \(parameters.map { $0 ?? "NULL" }): \(error)")
      return nil
    }
  }

  /// Runs a harness query (not counted as app work); a failure is the harness's own problem.
  private func harness(_ h: Connection, _ phase: String, _ r: AppRelation, _ sql: String, _ parameters: [String?] = [])
    -> QueryResult?
  {
    do {
      return try h.execute(sql, parameters)
    } catch {
      problem(phase, r, "harness query failed: \(sql): \(error)")
      return nil
    }
  }

  private func keyFilter(_ r: AppRelation, from first: Int = 1) -> String {
    "(" + r.key.map(\.sql).joined(separator: ", ") + ") = ("
      + r.key.enumerated().map { "$\(first + $0.offset)::\($0.element.type)" }.joined(separator: ", ") + ")"
  }

  private func exercise(_ r: AppRelation, on c: Connection, harness h: Connection, phase: String) {
    let table = r.physical.sql
    let names = r.columns.map(\.sql).joined(separator: ", ")
    guard !r.columns.isEmpty else { return }
    app(c, phase, r, "SELECT \(names) FROM \(r.name.sql) LIMIT 5")
    guard !r.key.isEmpty, r.rows > 0 else {
      ledger.count("\(phase) relations without rows or key (select only)")
      return
    }
    let keyText = r.key.map { "\($0.sql)::text" }.joined(separator: ", ")
    let keyList = r.key.map(\.sql).joined(separator: ", ")
    let pendingAny = promises.pending(r.physicalKey, triggerBackedOnly: false) ?? "false"
    let needed = 2 * r.columns.count + 8
    // This app's half of the rows, the ones a backfill has not done yet first.
    guard
      let picked = harness(
        h, phase, r,
        """
        SELECT \(keyText), (\(pendingAny)) AS _pgphase_pending FROM \(table)
        WHERE (hashtext(ROW(\(keyList))::text) & 1) = \(half)
        ORDER BY _pgphase_pending DESC, random() LIMIT \(needed)
        """)
    else { return }
    var pendingRows: [[String?]] = []
    var doneRows: [[String?]] = []
    for row in picked.values {
      if row.last == "t" { pendingRows.append(Array(row.dropLast())) } else { doneRows.append(Array(row.dropLast())) }
    }
    let sources = pendingRows + doneRows
    guard !sources.isEmpty else { return }

    // INSERT naming every column the app writes, then only the required ones.
    let writable = r.columns.filter { !$0.databaseFilled }
    let minimal = r.required.union(promises.backfilledWithoutTrigger(r.physicalKey))
    var inserted: [[String?]] = []
    for (n, columns) in [writable, writable.filter { minimal.contains($0.name) }].enumerated() {
      let source = sources[n % sources.count]
      if let key = insert(r, columns: columns, source: source, on: c, harness: h, phase: phase) { inserted.append(key) }
    }

    // UPDATE every column to itself, on a row still pending and on one already done.
    var pendingQueue = pendingRows[...]
    var doneQueue = doneRows[...]
    for column in r.columns where !column.readOnly {
      for row in [pendingQueue.popFirst(), doneQueue.popFirst()].compactMap({ $0 }) {
        let wasPending = pendingRows.contains(row)
        guard app(c, phase, r, "UPDATE \(r.name.sql) SET \(column.sql) = \(column.sql) WHERE \(keyFilter(r))", row) != nil
        else { continue }
        if wasPending { ledger.count("\(phase) updates of not yet backfilled rows") }
        checkInStep(r, row, after: "UPDATE of \(column.name) to itself", harness: h, phase: phase)
      }
    }

    // UPDATEs that change what pgphase keeps in step: to a value another row has once
    // backfilled (or its old value), and, for a column a fill trigger fills, to NULL.
    let maintained = promises.maintained(r.physicalKey)
    let filled = promises.filled(r.physicalKey)
    for column in r.columns where maintained.contains(column.name) && !column.readOnly {
      // A key other tables reference (or its other side, which the trigger writes through to it)
      // changes only on a row of this round, which nothing references.
      let referenced = r.columns.contains { maintained.contains($0.name) && $0.referenced }
      let unreferenced = referenced ? inserted.popLast() : nil
      // No row of this round left: any other row may be referenced, and the update would fail
      // whatever pgphase does.
      if referenced && unreferenced == nil { continue }
      guard let row = (unreferenced ?? pendingQueue.popFirst() ?? doneQueue.popFirst() ?? sources.first) else { break }
      let wasPending = pendingRows.contains(row)
      let source = sources[((sources.firstIndex(of: row) ?? 0) + 1) % sources.count]
      guard
        let value = harness(
          h, phase, r,
          "SELECT (\(valueExpression(column, in: r, fresh: uniqueColumn(column, in: r) ? ledger.nextSerial() : nil)))::text FROM \(table) WHERE \(keyFilter(r))",
          source)
      else { continue }
      let text = value.scalar
      // The source row may not be copied yet (its new side still NULL): an app does not write
      // NULL into a NOT NULL column, which fails whatever pgphase does.
      if text == nil && column.notNull { continue }
      guard
        let written = app(
          c, phase, r,
          "UPDATE \(r.name.sql) SET \(column.sql) = $1::\(column.type) WHERE \(keyFilter(r, from: 2)) RETURNING \(column.sql)::text",
          [text] + row)
      else { continue }
      // The other app may have deleted a row it inserted and this app picked: nothing to read back.
      if written.isEmpty { continue }
      if text != nil, written.scalar != text {
        problem(phase, r, "wrote \(column.name) = \(text ?? "NULL") on \(row), read back \(written.scalar ?? "NULL")")
      }
      checkInStep(r, row, after: "UPDATE of \(column.name)", harness: h, phase: phase)
      // NULL written into the new side of a row not copied yet reads as "not written": the
      // trigger does the copy's work (as the copy would), so down(NULL) is not expected there.
      if text != nil || !wasPending { checkDown(r, row, column: column.name, harness: h, phase: phase) }
      if app == "old app", filled.contains(column.name), !column.notNull {
        guard
          app(c, phase, r, "UPDATE \(r.name.sql) SET \(column.sql) = NULL WHERE \(keyFilter(r))", row) != nil
        else { continue }
        checkInStep(r, row, after: "UPDATE of \(column.name) to NULL", harness: h, phase: phase)
      }
    }

    for key in inserted { app(c, phase, r, "DELETE FROM \(r.name.sql) WHERE \(keyFilter(r))", key) }
  }

  /// INSERT of one row naming `columns`, with values taken from `source`; returns its key.
  private func insert(
    _ r: AppRelation, columns: [ShapeColumn], source: [String?], on c: Connection, harness h: Connection, phase: String
  ) -> [String?]? {
    let fresh = ledger.nextSerial()
    // A unique key none of whose columns gets a fresh value (or is numbered by the database)
    // would collide with the source row: such an INSERT is skipped, and counted.
    let freshened = Set(columns.filter { freshens($0, in: r) }.map(\.name))
    let numbered = Set(r.columns.filter(\.databaseFilled).map(\.name))
    let named = Set(columns.map(\.name))
    if uniqueKeys(r).contains(where: { key in
      key.allSatisfy { named.contains($0) && !freshened.contains($0) && !numbered.contains($0) }
    }) {
      ledger.count("\(phase) inserts skipped (unique key without a fresh value)")
      return nil
    }
    let returning = r.key.map { "\($0.sql)::text" }.joined(separator: ", ")
    guard !columns.isEmpty else {
      guard let result = app(c, phase, r, "INSERT INTO \(r.name.sql) DEFAULT VALUES RETURNING \(returning)") else {
        return nil
      }
      let key = result.values.first
      if let key { checkInStep(r, key, after: "INSERT", harness: h, phase: phase) }
      return key
    }
    let select = columns.map { "(\(valueExpression($0, in: r, fresh: fresh)))::text" }.joined(separator: ", ")
    guard let values = harness(h, phase, r, "SELECT \(select) FROM \(r.physical.sql) WHERE \(keyFilter(r))", source)?.values.first
    else { return nil }
    let list = columns.map(\.sql).joined(separator: ", ")
    let placeholders = columns.enumerated().map { "$\($0.offset + 1)::\($0.element.type)" }.joined(separator: ", ")
    let readBack = columns.map { "\($0.sql)::text" }.joined(separator: ", ")
    guard
      let result = app(
        c, phase, r, "INSERT INTO \(r.name.sql) (\(list)) VALUES (\(placeholders)) RETURNING \(readBack), \(returning)", values),
      let row = result.values.first
    else { return nil }
    for (i, column) in columns.enumerated() where values[i] != nil && row[i] != values[i] {
      problem(phase, r, "inserted \(column.name) = \(values[i] ?? "NULL"), read back \(row[i] ?? "NULL")")
    }
    let key = Array(row.suffix(r.key.count))
    checkInStep(r, key, after: "INSERT", harness: h, phase: phase)
    // An INSERT's NULL cannot be told from a column left out: the trigger gives it up(old).
    for (i, column) in columns.enumerated() where values[i] != nil {
      checkDown(r, key, column: column.name, harness: h, phase: phase)
    }
    return key
  }

  /// Unique column lists of the table: those it has now and those the plan builds later.
  private func uniqueKeys(_ r: AppRelation) -> [[String]] {
    r.uniqueKeys + (promises.uniqueLater[r.physicalKey] ?? [])
  }

  private func uniqueColumn(_ column: ShapeColumn, in r: AppRelation) -> Bool {
    uniqueKeys(r).contains { $0.contains(column.name) }
  }

  /// Whether an inserted value of `column` gets a per-statement suffix: unique columns (so the
  /// row does not collide) and free text (so it duplicates nothing a backfill deduplicates).
  /// An UPDATE's value gets one only where the column is unique.
  private func freshens(_ column: ShapeColumn, in r: AppRelation) -> Bool {
    guard !column.inForeignKey else { return false }
    let unique = uniqueColumn(column, in: r)
    switch column.category {
    case "S": return unique || !column.inCheck
    case "N": return unique
    default: return unique && column.typeName == "uuid"
    }
  }

  /// The SQL (over the source row) for the value the app writes into `column`: the value the
  /// backfills give it, with a fresh suffix where `freshens` says so (nil `fresh`: none).
  private func valueExpression(_ column: ShapeColumn, in r: AppRelation, fresh: Int?) -> String {
    let base = promises.converged(r.physicalKey, column.name) ?? column.sql
    guard let fresh, freshens(column, in: r) else { return base }
    switch column.category {
    case "S": return "(\(base)) || '~\(fresh)'"
    case "N": return column.typeName == "int2" ? "\(10_000 + fresh % 20_000)" : "\(1_000_000_000 + fresh)"
    default: return "gen_random_uuid()"
    }
  }

  /// Every write leaves its row in step: no trigger-backed backfill of this intent has it pending.
  private func checkInStep(_ r: AppRelation, _ key: [String?], after what: String, harness h: Connection, phase: String) {
    guard let pending = promises.pending(r.physicalKey, triggerBackedOnly: true) else { return }
    ledger.count("\(phase) rows checked in step")
    guard
      let result = harness(
        h, phase, r, "SELECT count(*) FROM \(r.physical.sql) WHERE \(keyFilter(r)) AND (\(pending))", key)
    else { return }
    if result.scalar != "0" {
      problem(phase, r, "\(what) left row \(key.map { $0 ?? "NULL" }) out of step (still matches \(pending))")
    }
  }

  /// A write through the new side of a two-way change set the old side to `down(new)`.
  private func checkDown(_ r: AppRelation, _ key: [String?], column: String, harness h: Connection, phase: String) {
    for pair in promises.pairs where pair.table == r.physicalKey && pair.new == column {
      ledger.count("\(phase) two-way writes checked")
      let sql = """
        SELECT count(*) FROM \(r.physical.sql) AS _pgphase_t WHERE \(keyFilter(r))
          AND \(SQL.quoteIdentifier(pair.old)) IS DISTINCT FROM
            (SELECT (\(pair.down)) FROM (SELECT _pgphase_t.\(SQL.quoteIdentifier(pair.new)) AS \(SQL.quoteIdentifier(pair.final))) AS _pgphase_row)
        """
      if let result = harness(h, phase, r, sql, key), result.scalar != "0" {
        // A backfill batch that ran after the write recomputes new = up(old): where up(down(v))
        // is not v (`lower(x)` one way, `x` back) the row is in step the other way round, and the
        // new app's value came back as up(down(v)) (docs/intents.md, alter_column). Counted, so
        // the summary shows it; any other state is a problem.
        let recomputed = promises.backfills.filter { $0.table == r.physicalKey }.contains { b in
          harness(h, phase, r, "SELECT count(*) FROM \(r.physical.sql) WHERE \(keyFilter(r)) AND NOT (\(b.spec.pending))", key)?
            .scalar == "1"
        }
        if recomputed {
          ledger.count("\(phase) new-app values recomputed by the backfill")
        } else {
          problem(phase, r, "writing \(pair.new) on \(key.map { $0 ?? "NULL" }) did not set \(pair.old) = \(pair.down)")
        }
      }
    }
  }
}
