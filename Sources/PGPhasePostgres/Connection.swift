internal import CLibPQ
import Foundation
public import Logging

/// One libpq connection to PostgreSQL.
///
/// Not `Sendable`, on purpose: libpq forbids using one `PGconn` from two threads at once, and a
/// session's state (transaction, `SET` values, advisory locks, temp tables) belongs to one line
/// of work. Create it, use it and close it within one task; to stop a running statement from
/// elsewhere, hand out a `Canceller` (which is `Sendable`) instead of the connection.
///
/// Every call blocks the calling thread until the server answers.
public final class Connection {
  private var handle: OpaquePointer?
  /// Owned here and passed unretained to libpq's notice receiver; it outlives every callback
  /// because `PQfinish` runs (in `close()`) before the connection's stored properties go away.
  private let noticeContext: NoticeContext

  /// Where server notices and warnings are logged.
  public var logger: Logger {
    get { noticeContext.logger }
    set { noticeContext.logger = newValue }
  }

  /// Called for every notice or warning the server sends, after it is logged. Runs on the
  /// calling thread, during the call that caused the notice.
  public var onNotice: ((Notice) -> Void)? {
    get { noticeContext.handler }
    set { noticeContext.handler = newValue }
  }

  private init(handle: OpaquePointer, logger: Logger) {
    self.handle = handle
    self.noticeContext = NoticeContext(logger: logger)
    let context = Unmanaged.passUnretained(noticeContext).toOpaque()
    PQsetNoticeReceiver(
      handle,
      { arg, result in
        guard let arg, let result else { return }
        let context = Unmanaged<NoticeContext>.fromOpaque(arg).takeUnretainedValue()
        context.receive(result)
      }, context)
  }

  deinit { close() }

  /// Opens a connection the standard libpq way: `dsn` (from `--dsn`), else `DATABASE_URL`, else
  /// an empty connection string so libpq applies its own `PG*` variables, `.pgpass` and service
  /// files. `dsn` may be a `key=value` string or a `postgres://` URI (`expand_dbname`).
  ///
  /// `applicationName` (e.g. `pgphase apply myhost:1234`) is set after the DSN, so it wins over an
  /// `application_name` in the DSN: other sessions see who runs pgphase in `pg_stat_activity`.
  /// `fallback_application_name` is `pgphase`.
  ///
  /// `environment` is where `DATABASE_URL` is looked up (nil: this process's environment).
  ///
  /// - Throws: `ConnectionError`, whose text never contains a password.
  public static func connect(
    dsn: String?, applicationName: String, logger: Logger = Logger(label: "pgphase.postgres"),
    environment: [String: String]? = nil
  ) throws(ConnectionError) -> Connection {
    let environment = environment ?? ProcessInfo.processInfo.environment
    let conninfo = dsn ?? environment["DATABASE_URL"] ?? ""
    var keywords: [String] = []
    var values: [String] = []
    if !conninfo.isEmpty {
      keywords.append("dbname")
      values.append(conninfo)
    }
    keywords += ["application_name", "fallback_application_name"]
    values += [applicationName, "pgphase"]

    let handle = withCStringArray(keywords) { keywordPointers in
      withCStringArray(values) { valuePointers in
        PQconnectdbParams(keywordPointers, valuePointers, 1)
      }
    }
    let redacted = conninfo.isEmpty ? nil : redactDSN(conninfo)
    guard let handle else {
      throw ConnectionError(message: "out of memory", redactedDSN: redacted)
    }
    guard PQstatus(handle) == CONNECTION_OK else {
      let raw = String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
      PQfinish(handle)
      throw ConnectionError(message: scrub(raw, secrets: dsnSecrets(conninfo)), redactedDSN: redacted)
    }
    return Connection(handle: handle, logger: logger)
  }

  /// Closes the connection; later calls throw. Safe to call twice. Also done on deinit.
  public func close() {
    if let handle {
      PQfinish(handle)
      self.handle = nil
    }
  }

  /// Whether `close` ran (or the connection failed); a closed connection is never reused.
  public var isClosed: Bool { handle == nil }

  /// The server process serving this session (`pg_backend_pid()`), 0 when closed.
  public var backendPID: Int32 {
    guard let handle else { return 0 }
    return PQbackendPID(handle)
  }

  /// e.g. 150004 for 15.4, 0 when closed.
  public var serverVersionNumber: Int {
    guard let handle else { return 0 }
    return Int(PQserverVersion(handle))
  }

  /// libpq's view of the session: idle, in a transaction, or in a failed one (which only ROLLBACK leaves).
  public var transactionStatus: TransactionStatus {
    guard let handle else { return .unknown }
    switch PQtransactionStatus(handle) {
    case PQTRANS_IDLE: return .idle
    case PQTRANS_ACTIVE: return .active
    case PQTRANS_INTRANS: return .inTransaction
    case PQTRANS_INERROR: return .inFailedTransaction
    default: return .unknown
    }
  }

  /// Runs one statement with parameters (`$1`, `$2`, ... sent separately as text, never
  /// interpolated; nil is NULL) through the extended protocol (`PQexecParams`). The server
  /// rejects a string holding more than one statement.
  @discardableResult
  public func execute(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> QueryResult {
    let handle = try openHandle(sql)
    if parameters.contains(where: { $0?.utf8.contains(0) ?? false }) {
      throw PostgresError(message: "a parameter contains a NUL byte, which PostgreSQL text cannot hold", statement: sql)
    }
    let result = withOptionalCStringArray(parameters) { pointers in
      PQexecParams(handle, sql, Int32(parameters.count), nil, pointers, nil, nil, 0)
    }
    return try consume(result, sql: sql)
  }

  /// Sends `sql` with `PQexec` (the simple protocol), for a statement that must run outside any
  /// transaction block: `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `VACUUM`, ...
  ///
  /// Send exactly one statement. A string with several statements is run by the server as one
  /// implicit transaction, in which those statements fail with SQLSTATE 25001.
  @discardableResult
  public func executeAlone(_ sql: String) throws(PostgresError) -> QueryResult {
    try executeSimple(sql)
  }

  /// Runs a script of several statements with `PQexec` (as one implicit transaction unless it
  /// contains its own BEGIN/COMMIT). Returns the last statement's result. Not for COPY.
  @discardableResult
  public func executeScript(_ sql: String) throws(PostgresError) -> QueryResult {
    try executeSimple(sql)
  }

  /// What `sql` would return (column names, type OIDs and modifiers), found by preparing it as
  /// the unnamed statement and describing it. The statement is parsed and analysed but never run.
  public func describe(_ sql: String) throws(PostgresError) -> [ColumnDescription] {
    let handle = try openHandle(sql)
    _ = try consume(PQprepare(handle, "", sql, 0, nil), sql: sql)
    guard let result = PQdescribePrepared(handle, "") else {
      throw lostConnectionError(sql: sql)
    }
    defer { PQclear(result) }
    let status = PQresultStatus(result)
    guard status == PGRES_COMMAND_OK else {
      throw makeError(result, sql: sql)
    }
    return (0..<PQnfields(result)).map { i in
      ColumnDescription(
        name: String(cString: PQfname(result, i)), typeOID: UInt32(PQftype(result, i)), typeModifier: PQfmod(result, i))
    }
  }

  /// Runs `body` in a transaction: BEGIN, then COMMIT when it returns, ROLLBACK when it throws
  /// (the body's error is rethrown; a failing ROLLBACK is ignored as the error says more).
  /// If the body swallowed a statement error, COMMIT ends the failed transaction with ROLLBACK;
  /// that is reported as an error rather than as success.
  @discardableResult
  public func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
    try execute("BEGIN")
    let value: T
    do {
      value = try body(self)
    } catch {
      if !isClosed { _ = try? execute("ROLLBACK") }
      throw error
    }
    let commit = try execute("COMMIT")
    if commit.commandTag == "ROLLBACK" {
      throw PostgresError(
        sqlState: "25P02", message: "the transaction was rolled back because a statement in it failed",
        statement: "COMMIT")
    }
    return value
  }

  /// A handle to cancel whatever this connection is running, from any thread.
  public func makeCanceller() throws -> Canceller {
    guard let handle, let cancel = PQgetCancel(handle) else {
      throw CancelError(message: "connection is closed")
    }
    return Canceller(cancel)
  }

  // MARK: - Internals

  private func openHandle(_ sql: String) throws(PostgresError) -> OpaquePointer {
    guard let handle else {
      throw PostgresError(message: "connection is closed", statement: sql, connectionLost: true)
    }
    return handle
  }

  private func executeSimple(_ sql: String) throws(PostgresError) -> QueryResult {
    let handle = try openHandle(sql)
    return try consume(PQexec(handle, sql), sql: sql)
  }

  private func lostConnectionError(sql: String) -> PostgresError {
    let message = handle.map { String(cString: PQerrorMessage($0)) } ?? "connection is closed"
    return PostgresError(
      sqlState: nil, message: message.trimmingCharacters(in: .whitespacesAndNewlines), statement: sql,
      connectionLost: true)
  }

  /// Copies a result into a value (or an error), clearing it in every case.
  private func consume(_ result: OpaquePointer?, sql: String) throws(PostgresError) -> QueryResult {
    guard let result else { throw lostConnectionError(sql: sql) }
    defer { PQclear(result) }
    switch PQresultStatus(result) {
    case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
      return copy(result)
    case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
      abandonCopy()
      throw PostgresError(message: "COPY to or from the client is not supported here", statement: sql)
    default:
      throw makeError(result, sql: sql)
    }
  }

  private func copy(_ result: OpaquePointer) -> QueryResult {
    let rowCount = PQntuples(result)
    let columnCount = PQnfields(result)
    let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
    var values: [[String?]] = []
    values.reserveCapacity(Int(rowCount))
    for row in 0..<rowCount {
      values.append(
        (0..<columnCount).map { column in
          PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
        })
    }
    let tag = String(cString: PQcmdStatus(result))
    let affected = Int(String(cString: PQcmdTuples(result)))
    return QueryResult(columns: columns, values: values, commandTag: tag, affectedRows: affected)
  }

  private func makeError(_ result: OpaquePointer, sql: String) -> PostgresError {
    func field(_ code: UInt8) -> String? {
      guard let value = PQresultErrorField(result, Int32(code)) else { return nil }
      return String(cString: value)
    }
    let message =
      field(UInt8(ascii: "M"))
      ?? String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
    let lost = handle.map { PQstatus($0) == CONNECTION_BAD } ?? true
    return PostgresError(
      sqlState: field(UInt8(ascii: "C")),
      severity: field(UInt8(ascii: "V")) ?? field(UInt8(ascii: "S")),
      message: message.isEmpty ? "unknown error" : message,
      detail: field(UInt8(ascii: "D")),
      hint: field(UInt8(ascii: "H")),
      position: field(UInt8(ascii: "P")).flatMap { Int($0) },
      context: field(UInt8(ascii: "W")),
      schema: field(UInt8(ascii: "s")),
      table: field(UInt8(ascii: "t")),
      column: field(UInt8(ascii: "c")),
      constraint: field(UInt8(ascii: "n")),
      statement: sql,
      connectionLost: lost)
  }

  /// Ends an unexpected COPY so the connection stays usable.
  private func abandonCopy() {
    guard let handle else { return }
    _ = PQputCopyEnd(handle, "COPY is not supported by pgphase")
    var buffer: UnsafeMutablePointer<CChar>?
    while PQgetCopyData(handle, &buffer, 0) > 0 {
      PQfreemem(buffer)
      buffer = nil
    }
    while let next = PQgetResult(handle) { PQclear(next) }
  }
}

/// Holds what the C notice receiver needs; reached through an unretained pointer.
private final class NoticeContext {
  var logger: Logger
  var handler: ((Notice) -> Void)?

  init(logger: Logger) { self.logger = logger }

  func receive(_ result: OpaquePointer) {
    func field(_ code: UInt8) -> String? {
      guard let value = PQresultErrorField(result, Int32(code)) else { return nil }
      return String(cString: value)
    }
    let notice = Notice(
      severity: field(UInt8(ascii: "V")) ?? field(UInt8(ascii: "S")) ?? "NOTICE",
      sqlState: field(UInt8(ascii: "C")),
      message: field(UInt8(ascii: "M")) ?? "",
      detail: field(UInt8(ascii: "D")),
      hint: field(UInt8(ascii: "H")))
    let level: Logger.Level =
      switch notice.severity {
      case "WARNING": .warning
      case "NOTICE": .notice
      case "INFO": .info
      default: .debug
      }
    var metadata: Logger.Metadata = ["severity": .string(notice.severity)]
    if let state = notice.sqlState { metadata["sqlstate"] = .string(state) }
    if let detail = notice.detail { metadata["detail"] = .string(detail) }
    if let hint = notice.hint { metadata["hint"] = .string(hint) }
    logger.log(level: level, "\(notice.message)", metadata: metadata)
    handler?(notice)
  }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStringArray<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
  let copies = strings.map { strdup($0) }
  defer { for copy in copies { free(copy) } }
  return body(copies.map { UnsafePointer($0) } + [nil])
}

/// Like `withCStringArray`, keeping nil entries as NULL pointers (SQL NULL parameters).
private func withOptionalCStringArray<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
  let copies = strings.map { $0.flatMap { strdup($0) } }
  defer { for copy in copies { free(copy) } }
  return body(copies.map { $0.map { UnsafePointer($0) } })
}
