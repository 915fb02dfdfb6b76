/// The outcome of one statement, copied out of libpq's `PGresult` at once (text format), so it
/// is a plain value: no libpq memory outlives the call that produced it.
public struct QueryResult: Sendable, Equatable {
  /// Column names, in order.
  public var columns: [String]
  /// Every row's values as the server's text output; nil is SQL NULL.
  public var values: [[String?]]
  /// The command tag, e.g. `SELECT 3`, `CREATE INDEX`, `COMMIT` (`ROLLBACK` when a failed
  /// transaction was ended with COMMIT).
  public var commandTag: String
  /// Rows affected by INSERT, UPDATE, DELETE, MERGE, SELECT, MOVE, FETCH or COPY; nil otherwise.
  public var affectedRows: Int?

  /// A result as copied out of libpq.
  public init(columns: [String], values: [[String?]], commandTag: String, affectedRows: Int?) {
    self.columns = columns
    self.values = values
    self.commandTag = commandTag
    self.affectedRows = affectedRows
  }

  /// Every row, for reading by column name.
  public var rows: [Row] { values.map { Row(columns: columns, values: $0) } }
  /// The first row, for single-row queries.
  public var first: Row? { values.first.map { Row(columns: columns, values: $0) } }
  /// Whether no row came back.
  public var isEmpty: Bool { values.isEmpty }

  /// The first column of the first row; nil when there is no row or the value is NULL.
  public var scalar: String? { values.first?.first ?? nil }

  /// `scalar` as an integer; nil when NULL or absent.
  public func scalarInt() throws -> Int? {
    guard let text = scalar else { return nil }
    return try Row.parseInt(text, column: columns.first ?? "?")
  }

  /// `scalar` as a boolean (`t`/`f`); nil when NULL or absent.
  public func scalarBool() throws -> Bool? {
    guard let text = scalar else { return nil }
    return try Row.parseBool(text, column: columns.first ?? "?")
  }
}

/// One row of a `QueryResult`, readable by column name or position.
public struct Row: Sendable, Equatable {
  /// The result's column names, in order.
  public var columns: [String]
  /// The row's values as text; nil is SQL NULL.
  public var values: [String?]

  /// A row of `columns`.
  public init(columns: [String], values: [String?]) {
    self.columns = columns
    self.values = values
  }

  /// The value at a position; nil is NULL.
  public subscript(_ index: Int) -> String? { values[index] }

  /// The value of a named column; nil is NULL. A name the result does not have is a
  /// programming error and traps.
  public subscript(_ name: String) -> String? {
    guard let index = columns.firstIndex(of: name) else {
      preconditionFailure("no column \"\(name)\" in result (columns: \(columns.joined(separator: ", ")))")
    }
    return values[index]
  }

  /// The text value of column `name` (nil: NULL or no such column).
  public func string(_ name: String) -> String? { self[name] }

  /// The named column as an integer; nil when NULL; throws when not an integer.
  public func int(_ name: String) throws -> Int? {
    guard let text = self[name] else { return nil }
    return try Row.parseInt(text, column: name)
  }

  /// The named column as a boolean from PostgreSQL's text output `t`/`f`; nil when NULL.
  public func bool(_ name: String) throws -> Bool? {
    guard let text = self[name] else { return nil }
    return try Row.parseBool(text, column: name)
  }

  /// The named column as a floating-point number; nil when NULL.
  public func double(_ name: String) throws -> Double? {
    guard let text = self[name] else { return nil }
    guard let value = Double(text) else { throw ValueError(column: name, value: text, expected: "a number") }
    return value
  }

  static func parseInt(_ text: String, column: String) throws -> Int {
    guard let value = Int(text) else { throw ValueError(column: column, value: text, expected: "an integer") }
    return value
  }

  static func parseBool(_ text: String, column: String) throws -> Bool {
    switch text {
    case "t", "true": return true
    case "f", "false": return false
    default: throw ValueError(column: column, value: text, expected: "a boolean (t or f)")
    }
  }
}

/// What the server says a statement would return, without running it (`PQdescribePrepared`).
public struct ColumnDescription: Sendable, Equatable {
  /// The column's name.
  public var name: String
  /// The type's OID (`pg_type.oid`).
  public var typeOID: UInt32
  /// The type modifier (`atttypmod`), -1 when none; e.g. 24 for `varchar(20)`.
  public var typeModifier: Int32

  /// A described column.
  public init(name: String, typeOID: UInt32, typeModifier: Int32) {
    self.name = name
    self.typeOID = typeOID
    self.typeModifier = typeModifier
  }
}

/// The session's transaction state as libpq tracks it (`PQtransactionStatus`).
public enum TransactionStatus: Sendable, Equatable {
  /// Not in a transaction block.
  case idle
  /// A command is in progress.
  case active
  /// In a transaction block that can still commit.
  case inTransaction
  /// In a failed transaction block: only ROLLBACK (to a savepoint) works.
  case inFailedTransaction
  /// The connection is bad.
  case unknown
}

/// A notice or warning the server sent (RAISE NOTICE, implicit index creation, ...).
public struct Notice: Sendable, Equatable, CustomStringConvertible {
  /// Never localised: `NOTICE`, `WARNING`, `INFO`, `DEBUG`, `LOG`.
  public var severity: String
  /// The notice's SQLSTATE (e.g. 42P07 for an `IF NOT EXISTS` that skipped).
  public var sqlState: String?
  /// The primary message.
  public var message: String
  /// The server's DETAIL.
  public var detail: String?
  /// The server's HINT.
  public var hint: String?

  /// A notice with these fields.
  public init(severity: String, sqlState: String?, message: String, detail: String?, hint: String?) {
    self.severity = severity
    self.sqlState = sqlState
    self.message = message
    self.detail = detail
    self.hint = hint
  }

  /// `SEVERITY: message`, then detail and hint on their own lines.
  public var description: String {
    var text = "\(severity): \(message)"
    if let detail { text += "\n  detail: \(detail)" }
    if let hint { text += "\n  hint: \(hint)" }
    return text
  }
}
