/// An error the server (or libpq, for a lost connection) reported for a statement.
///
/// Carries the fields of the server's error report, read with `PQresultErrorField`, and the SQL
/// text that failed. Parameter values are never stored here, so printing the error cannot leak
/// data passed as parameters.
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The five-character SQLSTATE, e.g. `55P03`; nil when libpq failed before the server answered.
  public var sqlState: String?
  /// `ERROR`, `FATAL` or `PANIC`, never localised (the `V` field, else `S`).
  public var severity: String?
  /// The primary message (`M` field).
  public var message: String
  /// Details the message leaves out, e.g. the duplicate key (`D`).
  public var detail: String?
  /// The server's suggestion (`H`).
  public var hint: String?
  /// 1-based character position in `statement` the error points at, if any.
  public var position: Int?
  /// Where in PL/pgSQL or in a nested query the error happened.
  public var context: String?
  /// The schema of the object concerned, when the server says.
  public var schema: String?
  /// The table concerned, when the server says.
  public var table: String?
  /// The column concerned, when the server says.
  public var column: String?
  /// The constraint concerned, when the server says.
  public var constraint: String?
  /// The SQL text that failed (never its parameter values).
  public var statement: String?
  /// True when the connection was lost while running the statement.
  public var connectionLost: Bool

  /// An error with these fields; the executor also uses it for a COMMIT the server rolled back.
  public init(
    sqlState: String? = nil, severity: String? = "ERROR", message: String, detail: String? = nil, hint: String? = nil,
    position: Int? = nil, context: String? = nil, schema: String? = nil, table: String? = nil, column: String? = nil,
    constraint: String? = nil, statement: String? = nil, connectionLost: Bool = false
  ) {
    self.sqlState = sqlState
    self.severity = severity
    self.message = message
    self.detail = detail
    self.hint = hint
    self.position = position
    self.context = context
    self.schema = schema
    self.table = table
    self.column = column
    self.constraint = constraint
    self.statement = statement
    self.connectionLost = connectionLost
  }

  /// 55P03 lock_not_available: `lock_timeout` expired (or NOWAIT failed). Retry with backoff.
  public var isLockTimeout: Bool { sqlState == "55P03" }
  /// 40P01 deadlock_detected. Retry with backoff.
  public var isDeadlock: Bool { sqlState == "40P01" }
  /// 40001 serialization_failure.
  public var isSerializationFailure: Bool { sqlState == "40001" }
  /// 57014 query_canceled: a cancel request or `statement_timeout`.
  public var isQueryCanceled: Bool { sqlState == "57014" }
  /// 25001 active_sql_transaction: e.g. CREATE INDEX CONCURRENTLY inside a transaction block.
  public var isActiveSQLTransaction: Bool { sqlState == "25001" }

  /// `ERROR: message (SQLSTATE x)`, then detail, hint and the statement on their own lines.
  public var description: String {
    var text = "\(severity ?? "ERROR"): \(message)"
    if let sqlState { text += " (SQLSTATE \(sqlState))" }
    if connectionLost { text += " [connection lost]" }
    if let detail { text += "\n  detail: \(detail)" }
    if let hint { text += "\n  hint: \(hint)" }
    if let context { text += "\n  context: \(context)" }
    if let statement {
      text += "\n  statement: \(statement)"
      if let position { text += "\n  at character \(position)" }
    }
    return text
  }
}

/// libpq could not open a connection. The DSN is stored redacted (see `redactDSN(_:)`), and any
/// password it contained is also scrubbed from libpq's message.
public struct ConnectionError: Error, Sendable, Equatable, CustomStringConvertible {
  /// libpq's message, trimmed, with passwords replaced by `***`.
  public var message: String
  /// The connection string as given, with passwords replaced by `***`; nil when none was given
  /// (libpq used its PG* environment variables).
  public var redactedDSN: String?

  /// An error; pass the DSN already redacted.
  public init(message: String, redactedDSN: String?) {
    self.message = message
    self.redactedDSN = redactedDSN
  }

  /// `could not connect to PostgreSQL (<dsn>): <message>`.
  public var description: String {
    let target = redactedDSN.map { $0.isEmpty ? "" : " (\($0))" } ?? ""
    return "could not connect to PostgreSQL\(target): \(message)"
  }
}

/// A cancel request could not be sent.
public struct CancelError: Error, Sendable, Equatable, CustomStringConvertible {
  /// libpq's message.
  public var message: String
  /// A cancel that libpq could not send.
  public init(message: String) { self.message = message }
  /// `could not send cancel request: <message>`.
  public var description: String { "could not send cancel request: \(message)" }
}

/// A value in a query result could not be read as the type asked for.
public struct ValueError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The column read.
  public var column: String
  /// Its text.
  public var value: String
  /// The type asked for.
  public var expected: String
  /// A value that is not of the type asked for.
  public init(column: String, value: String, expected: String) {
    self.column = column
    self.value = value
    self.expected = expected
  }
  /// `column c: expected integer, got "x"`.
  public var description: String { "column \(column): expected \(expected), got \"\(value)\"" }
}
