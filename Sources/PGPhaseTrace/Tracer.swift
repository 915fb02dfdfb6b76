import Foundation
public import PGPhaseLint
public import PGPhaseModel
public import PGPhasePostgres
public import PGPhaseSQL

/// A lock one statement took, as `pg_locks` showed it right after the statement.
public struct MeasuredLock: Hashable, Sendable, Codable {
  /// The relation's name (schema-qualified unless in `public`).
  public var relation: String
  /// `pg_class.relkind`: `r` table, `p` partitioned table, `i` index, `m` materialized view, ...
  public var kind: String
  public var mode: LockMode
  /// The 1-based line of the statement that ends the transaction holding the lock (COMMIT, or
  /// the statement itself when it ran alone), nil when the transaction never ended in the file.
  public var heldUntilLine: Int?
}

/// A relation PostgreSQL wrote a new copy of (its relfilenode changed).
public struct Rewrite: Hashable, Sendable, Codable {
  public var relation: String
  public var kind: String
  public var before: String
  public var after: String
}

/// What running one statement showed.
public struct StatementTrace: Sendable, Codable {
  public var location: SourceLocation
  /// The statement as written, shortened to one line.
  public var text: String
  public var locks: [MeasuredLock]
  public var rewrites: [Rewrite]
  public var milliseconds: Double
  /// Ran inside a transaction block (the file's own, or the runner's); false when it ran alone
  /// because it cannot run in one (CREATE INDEX CONCURRENTLY, VACUUM, ...): its locks were not
  /// observable after it.
  public var inTransactionBlock: Bool
  /// The server's error, when the statement failed (the trace stops there).
  public var error: String?
}

/// The trace of one file: every statement's measurements, and the findings only a trace shows.
public struct FileTrace: Sendable {
  public var file: String
  public var statements: [StatementTrace]
  public var findings: [Finding]
}

/// Runs migrations statement by statement on a scratch database and measures what each one does:
/// the locks it took (`pg_locks` of its own session, read right after it, inside its transaction)
/// and until when they are held, the relations it rewrote (`pg_class.relfilenode` before and
/// after, read in the same session so the transaction's own changes are visible), and how long it
/// ran. Statements keep the file's transaction structure; a statement outside any BEGIN runs in a
/// transaction of its own (which is what PostgreSQL does with it anyway), so its locks can be read
/// before it commits. Only relations that existed before the file count as rewritten or locked:
/// what the file creates is invisible to the app.
///
/// The tracer never picks a database itself: it is handed a connection, which the command line
/// opens only to a server it started or to a `--dsn` the user named.
public final class Tracer {
  let connection: Connection
  let lintOptions: LintOptions

  public init(connection: Connection, lintOptions: LintOptions) {
    self.connection = connection
    self.lintOptions = lintOptions
  }

  /// Loads SQL (a schema) before tracing; a failure is thrown with the server's message.
  public func load(_ sql: String) throws(PostgresError) {
    try connection.executeScript(sql)
  }

  /// Traces one file. `transactional` says whether the runner wraps the file in a transaction
  /// (nil: the lint options' default, or the file's `-- pgphase:[no-]transaction`). `staticFindings`
  /// are the linter's findings for the file, so a rewrite they already report is not reported twice.
  public func trace(_ source: SQLSource, transactional: Bool? = nil, staticFindings: [Finding] = []) throws -> FileTrace {
    guard case .success(let statements) = SQLParser.parse(source.text) else {
      return FileTrace(file: source.file, statements: [], findings: [])
    }
    let directive = SQLScanner.comments(source.text).compactMap { comment -> Bool? in
      let text = source.text(comment.range)
      if text.contains("pgphase:no-transaction") { return false }
      if text.contains("pgphase:transaction") { return true }
      return nil
    }.first
    let wrapped = directive ?? transactional ?? lintOptions.transactionalFiles
    let initial = try relations()
    var traces: [StatementTrace] = []
    var transaction = OpenTransaction(wrapped: wrapped)
    if wrapped { try connection.executeAlone("BEGIN") }
    var failed = false
    for statement in statements {
      let text = source.text(statement.start..<statement.end)
      let location = source.location(ofByte: statement.start)
      let isTransactionControl = statement.type == "TransactionStmt"
      let kind = statement.fields["kind"]?.string ?? ""
      if isTransactionControl {
        let ends = ["TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE"].contains(kind)
        let begins = ["TRANS_STMT_BEGIN", "TRANS_STMT_START"].contains(kind)
        if begins && transaction.isOpen {
          continue  // nested BEGIN: PostgreSQL ignores it (the linter reports it)
        }
        let start = Date()
        do {
          try connection.executeAlone(text)
        } catch {
          traces.append(failure(text, location, error, start, inTransaction: transaction.isOpen))
          failed = true
          break
        }
        if begins { transaction.open() }
        if ends { transaction.close(atLine: location.line, into: &traces) }
        continue
      }
      let alone = !transaction.isOpen
      var before = try locks()
      let filesBefore = try relations()
      if alone { try connection.executeAlone("BEGIN") }
      let start = Date()
      var inBlock = true
      do {
        try connection.executeAlone(text)
      } catch let error where error.sqlState == "25001" && alone {
        // Cannot run inside a transaction block: run it alone; its locks are gone by the time
        // anyone could read them.
        _ = try? connection.executeAlone("ROLLBACK")
        inBlock = false
        before = []
        do {
          try connection.executeAlone(text)
        } catch {
          traces.append(failure(text, location, error, start, inTransaction: false))
          failed = true
          break
        }
      } catch {
        if alone || transaction.isOpen { _ = try? connection.executeAlone("ROLLBACK") }
        traces.append(failure(text, location, error, start, inTransaction: !alone))
        failed = true
        break
      }
      let elapsed = Date().timeIntervalSince(start) * 1000
      let after = inBlock ? try locks() : []
      let filesAfter = try relations()
      let taken = after.subtracting(before).filter { initial[$0.oid] != nil }
      let measured = taken.map {
        MeasuredLock(relation: initial[$0.oid]?.name ?? $0.oid, kind: initial[$0.oid]?.kind ?? "?", mode: $0.mode)
      }.sorted { ($0.relation, $0.mode) < ($1.relation, $1.mode) }
      let rewrites = filesBefore.compactMap { oid, relation -> Rewrite? in
        guard initial[oid] != nil, let now = filesAfter[oid], now.filenode != relation.filenode, relation.filenode != "0" else {
          return nil
        }
        return Rewrite(relation: relation.name, kind: relation.kind, before: relation.filenode, after: now.filenode)
      }.sorted { $0.relation < $1.relation }
      traces.append(
        StatementTrace(
          location: location, text: Self.oneLine(text), locks: measured, rewrites: rewrites, milliseconds: elapsed,
          inTransactionBlock: inBlock, error: nil))
      let index = traces.count - 1
      transaction.note(statement: index, type: statement.type, fields: statement.fields, text: text)
      if alone {
        if inBlock { try connection.executeAlone("COMMIT") }
        for i in traces[index].locks.indices { traces[index].locks[i].heldUntilLine = location.line }
      }
    }
    if !failed, transaction.isOpen {
      if wrapped && !transaction.explicit {
        try connection.executeAlone("COMMIT")
        transaction.close(atLine: statements.last.map { source.location(ofByte: $0.end).line }, into: &traces)
      } else {
        // A BEGIN left open: the locks stay held past the end of the file.
        _ = try? connection.executeAlone("ROLLBACK")
        transaction.close(atLine: nil, into: &traces)
      }
    }
    let findings = TraceFindings.derive(
      traces: traces, transactions: transaction.finished, staticFindings: staticFindings, options: lintOptions)
    return FileTrace(file: source.file, statements: traces, findings: findings)
  }

  private func failure(_ text: String, _ location: SourceLocation, _ error: any Error, _ start: Date, inTransaction: Bool)
    -> StatementTrace
  {
    StatementTrace(
      location: location, text: Self.oneLine(text), locks: [], rewrites: [],
      milliseconds: Date().timeIntervalSince(start) * 1000, inTransactionBlock: inTransaction, error: "\(error)")
  }

  static func oneLine(_ text: String) -> String {
    let words = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    return words.count > 120 ? String(words.prefix(117)) + "..." : words
  }

  // MARK: - Catalog reads, in the traced session

  struct HeldLock: Hashable {
    var oid: String
    var mode: LockMode
  }

  struct Relation {
    var name: String
    var kind: String
    var filenode: String
  }

  /// The relation-level locks this session holds right now, on relations outside pg_catalog.
  func locks() throws -> Set<HeldLock> {
    let result = try connection.execute(
      """
      SELECT relation::oid::text, mode FROM pg_locks
      WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted AND relation >= 16384
      """)
    var out: Set<HeldLock> = []
    for row in result.values {
      guard let oid = row[0], let name = row[1], let mode = LockMode.allCases.first(where: { $0.pgLocksName == name }) else {
        continue
      }
      out.insert(HeldLock(oid: oid, mode: mode))
    }
    return out
  }

  /// Every user relation (tables, partitioned tables, indexes, materialized views, sequences),
  /// by OID, with its file.
  func relations() throws -> [String: Relation] {
    let result = try connection.execute(
      """
      SELECT c.oid::text, CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END,
             c.relkind::text, pg_relation_filenode(c.oid)::text
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid >= 16384 AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
        AND c.relkind IN ('r', 'p', 'i', 'I', 'm', 'S', 'v')
      """)
    var out: [String: Relation] = [:]
    for row in result.values {
      guard let oid = row[0], let name = row[1], let kind = row[2] else { continue }
      out[oid] = Relation(name: name, kind: kind, filenode: row[3] ?? "0")
    }
    return out
  }
}

/// The transaction a traced file has open: which statements ran in it, for the held-across finding.
struct OpenTransaction {
  struct Finished {
    /// Indices into the traces, in order.
    var statements: [Int]
    var endLine: Int?
  }

  let wrapped: Bool
  private(set) var isOpen: Bool
  private(set) var explicit = false
  private var statements: [Int] = []
  private(set) var finished: [Finished] = []

  init(wrapped: Bool) {
    self.wrapped = wrapped
    isOpen = wrapped
  }

  mutating func open() {
    isOpen = true
    explicit = true
    statements = []
  }

  mutating func note(statement index: Int, type: String, fields: JSONValue, text: String) {
    if isOpen { statements.append(index) }
  }

  /// Ends the transaction at `line` and marks every lock its statements took as held until then.
  mutating func close(atLine line: Int?, into traces: inout [StatementTrace]) {
    for index in statements {
      for i in traces[index].locks.indices { traces[index].locks[i].heldUntilLine = line }
    }
    if isOpen { finished.append(Finished(statements: statements, endLine: line)) }
    isOpen = false
    explicit = false
    statements = []
  }
}
