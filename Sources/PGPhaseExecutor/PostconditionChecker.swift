import Foundation
public import PGPhaseModel
public import PGPhasePostgres

/// Whether a postcondition holds in the live catalog.
public enum PostconditionResult: Sendable, Equatable, CustomStringConvertible {
  case holds
  /// `reason` says exactly what differs, e.g.
  /// `column public.incidents.severity has type integer, expected text`.
  case violated(reason: String)

  public var holds: Bool { self == .holds }

  public var description: String {
    switch self {
    case .holds: "holds"
    case .violated(let reason): "violated: \(reason)"
    }
  }
}

/// A postcondition missing a field its kind needs: a bug in the plan, not drift.
public struct MalformedPostconditionError: Error, Sendable, CustomStringConvertible {
  public var kind: Postcondition.Kind
  public var missing: String
  public var description: String { "postcondition \(kind.rawValue) has no \(missing)" }
}

/// Checks a step's postconditions against the live catalog: the executor uses it to resume after
/// a crash, and `pgphase verify` to find drift.
///
/// Names without a schema resolve through the session's search_path. An index without a schema
/// is looked up in its table's schema when the table has one (an index always lives there).
///
/// The checks only read. Two of them evaluate text from the plan on the server (a column type for
/// `column_exists`, a predicate for `no_rows_match`); if the connection is inside a transaction
/// block, those run under a savepoint so an error cannot abort the caller's transaction.
///
/// Type comparison: the expected type is canonicalised by the server (`Catalog.canonicalType`) and
/// compared with `format_type` of the column, so `int`, `int4` and `integer` are equal and
/// `varchar(20)` differs from `varchar(30)`. A type the server does not know is a violation.
///
/// Default comparison (sound: a mismatch is reported only when clearly different):
/// 1. An expected default of nil means the column must have none; any expected default means it
///    must have one.
/// 2. Both texts are normalised: casts (`::text`, `::character varying(20)[]`) removed, letters
///    lowercased and whitespace collapsed outside quotes, redundant outer parentheses removed, and
///    an expression that is only a string literal replaced by the literal's content. So
///    `'minor'::text` equals `'minor'`, `'-1'::integer` equals `-1`, `nextval('s'::regclass)`
///    equals `nextval('s')`, `CURRENT_TIMESTAMP` equals `current_timestamp`. Equal forms hold.
/// 3. When the forms differ but both are constants (literals, numbers, true/false/null,
///    arithmetic operators, casts; no identifiers or function calls, so nothing volatile runs),
///    the server compares the values cast to the column's type (`1.50` vs `1.5` numeric,
///    `'t'` vs `true`, `'{}'` vs `'{}'::text[]`).
/// 4. Otherwise the expressions are reported as different (e.g. `now()` vs `CURRENT_TIMESTAMP`,
///    which are equivalent but written differently: write the default as PostgreSQL prints it).
public enum PostconditionChecker {
  /// - Parameter countRows: for `no_rows_match`, count the matching rows instead of stopping at the
  ///   first one. Use it where the check is expected to hold (after a backfill): the whole table is
  ///   read either way then, a count can use parallel workers, and a violation says how many rows.
  public static func check(_ p: Postcondition, on connection: Connection, countRows: Bool = false) throws
    -> PostconditionResult
  {
    let catalog = Catalog(connection)
    switch p.kind {
    case .unchecked:
      return .holds

    case .tableExists, .viewExists:
      let object = try required(p.object, "object", p)
      let wantView = p.kind == .viewExists
      let noun = wantView ? "view" : "table"
      guard let kind = try catalog.relationKind(object) else {
        return .violated(reason: "\(noun) \(object) does not exist")
      }
      if wantView ? kind.isView : kind.isTable { return .holds }
      return .violated(reason: "\(object) is \(kind.article), expected a \(noun)")

    case .tableAbsent, .viewAbsent:
      let object = try required(p.object, "object", p)
      let wantView = p.kind == .viewAbsent
      guard let kind = try catalog.relationKind(object), wantView ? kind.isView : kind.isTable else { return .holds }
      return .violated(reason: "\(kind.article.dropArticle()) \(object) still exists")

    case .columnExists:
      let table = try required(p.table, "table", p)
      let column = try required(p.column, "column", p)
      let columnName = "\(table).\(SQL.quoteIdentifier(column))"
      guard let info = try catalog.column(column, of: table) else {
        if try catalog.relationKind(table) == nil { return .violated(reason: "table \(table) does not exist") }
        return .violated(reason: "column \(columnName) does not exist")
      }
      var problems: [String] = []
      if let type = p.type {
        switch try savepointed(connection, { try catalog.canonicalType(type) }) {
        case .success(let expected):
          if expected != info.type { problems.append("has type \(info.type), expected \(expected)") }
        case .failure(let error):
          problems.append("has type \(info.type), expected \(type), which the server does not know (\(error.message))")
        }
      }
      if let nullable = p.nullable, nullable == info.notNull {
        problems.append(info.notNull ? "is NOT NULL, expected nullable" : "is nullable, expected NOT NULL")
      } else if p.nullable == false, !info.notNullValidated {
        problems.append("is NOT NULL NOT VALID (existing rows were never checked), expected NOT NULL")
      }
      if let expected = p.defaultExpression,
        let problem = try compareDefault(expected: expected, column: info, on: connection)
      {
        problems.append(problem)
      }
      return problems.isEmpty ? .holds : .violated(reason: "column \(columnName) " + problems.joined(separator: "; "))

    case .columnAbsent:
      let table = try required(p.table, "table", p)
      let column = try required(p.column, "column", p)
      guard try catalog.column(column, of: table) != nil else { return .holds }
      return .violated(reason: "column \(table).\(SQL.quoteIdentifier(column)) still exists")

    case .columnReplaceable:
      let table = try required(p.table, "table", p)
      let column = try required(p.column, "column", p)
      let name = "\(table).\(SQL.quoteIdentifier(column))"
      guard let info = try catalog.column(column, of: table) else {
        return .violated(reason: "column \(name) does not exist")
      }
      var lost: [String] = []
      let dependents = try catalog.dependents(of: column, in: table)
      if !dependents.isEmpty {
        lost.append(
          "\(dependents.joined(separator: ", ")) depend\(dependents.count == 1 ? "s" : "") on it and would be dropped with it at contract, or stop the drop (pgphase does not recreate them on the new column)"
        )
      }
      if info.notNull, p.nullable != false {
        lost.append("it is NOT NULL and the new column would not be (add `nullable: false` to the change)")
      }
      if let d = info.defaultExpression, p.defaultExpression == nil {
        lost.append("it has DEFAULT \(d) and the new column would have none (add `default:` to the change)")
      }
      if let identity = info.identity {
        lost.append(
          "it is an identity column (GENERATED \(identity == "a" ? "ALWAYS" : "BY DEFAULT")), which the new column would not be")
      }
      if info.generatedExpression != nil { lost.append("it is a generated column, which the new column would not be") }
      guard !lost.isEmpty else { return .holds }
      return .violated(reason: "column \(name) cannot be replaced without losing what it has: \(lost.joined(separator: "; "))")

    case .columnDefault:
      let table = try required(p.table, "table", p)
      let column = try required(p.column, "column", p)
      let columnName = "\(table).\(SQL.quoteIdentifier(column))"
      guard let info = try catalog.column(column, of: table) else {
        if try catalog.relationKind(table) == nil { return .violated(reason: "table \(table) does not exist") }
        return .violated(reason: "column \(columnName) does not exist")
      }
      guard let expected = p.defaultExpression else {
        if let actual = info.defaultExpression {
          return .violated(reason: "column \(columnName) has default \(actual), expected no default")
        }
        return .holds
      }
      if let problem = try compareDefault(expected: expected, column: info, on: connection) {
        return .violated(reason: "column \(columnName) \(problem)")
      }
      return .holds

    case .constraintExists:
      let table = try required(p.table, "table", p)
      let name = try required(p.name, "name", p)
      guard let info = try catalog.constraint(name, on: table) else {
        if try catalog.relationKind(table) == nil { return .violated(reason: "table \(table) does not exist") }
        return .violated(reason: "constraint \(SQL.quoteIdentifier(name)) on \(table) does not exist")
      }
      if p.validated == true && !info.validated {
        return .violated(reason: "constraint \(SQL.quoteIdentifier(name)) on \(table) is NOT VALID (not validated)")
      }
      return .holds

    case .constraintAbsent:
      let table = try required(p.table, "table", p)
      let name = try required(p.name, "name", p)
      guard try catalog.constraint(name, on: table) != nil else { return .holds }
      return .violated(reason: "constraint \(SQL.quoteIdentifier(name)) on \(table) still exists")

    case .indexExists:
      let index = indexName(try required(p.object, "object", p), table: p.table)
      guard let state = try catalog.indexState(name: index) else {
        if let kind = try catalog.relationKind(index) {
          return .violated(reason: "\(index) is \(kind.article), expected an index")
        }
        return .violated(reason: "index \(index) does not exist")
      }
      var problems: [String] = []
      if let table = p.table {
        let tableOID = try connection.execute("SELECT to_regclass($1)::oid::int8", [table.sql]).scalarInt()
        if tableOID.map(UInt32.init) != state.tableOID {
          problems.append("is on table \(state.table), expected \(table)")
        }
      }
      if p.valid ?? true {
        if !state.valid {
          problems.append(
            "is invalid (indisvalid = false; a failed or interrupted concurrent build): drop it concurrently and build it again"
          )
        } else if !state.ready {
          problems.append("is not ready (indisready = false)")
        }
      }
      if let unique = p.unique, unique != state.unique {
        problems.append(unique ? "is not unique, expected unique" : "is unique, expected not unique")
      }
      return problems.isEmpty ? .holds : .violated(reason: "index \(index) " + problems.joined(separator: "; "))

    case .indexAbsent:
      let index = indexName(try required(p.object, "object", p), table: p.table)
      guard let state = try catalog.indexState(name: index) else { return .holds }
      return .violated(reason: "index \(index) still exists\(state.valid ? "" : " (invalid)") on \(state.table)")

    case .triggerExists:
      let table = try required(p.table, "table", p)
      let name = try required(p.name, "name", p)
      guard let info = try catalog.trigger(name, on: table) else {
        if try catalog.relationKind(table) == nil { return .violated(reason: "table \(table) does not exist") }
        return .violated(reason: "trigger \(SQL.quoteIdentifier(name)) on \(table) does not exist")
      }
      if !info.isEnabled {
        return .violated(reason: "trigger \(SQL.quoteIdentifier(name)) on \(table) exists but is disabled")
      }
      return .holds

    case .triggerAbsent:
      let table = try required(p.table, "table", p)
      let name = try required(p.name, "name", p)
      guard try catalog.trigger(name, on: table) != nil else { return .holds }
      return .violated(reason: "trigger \(SQL.quoteIdentifier(name)) on \(table) still exists")

    case .functionExists:
      let function = try required(p.object, "object", p)
      if try catalog.functionCount(function) > 0 { return .holds }
      return .violated(reason: "function \(function) does not exist")

    case .functionAbsent:
      let function = try required(p.object, "object", p)
      let count = try catalog.functionCount(function)
      if count == 0 { return .holds }
      return .violated(reason: "function \(function) still exists" + (count > 1 ? " (\(count) overloads)" : ""))

    case .noRowsMatch:
      let table = try required(p.table, "table", p)
      let predicate = try required(p.predicate, "predicate", p)
      let matching = "SELECT 1 FROM \(table.sql) WHERE \(predicate)"
      let sql = "SELECT count(*) FROM " + (countRows ? "(\(matching)) m" : "(\(matching) LIMIT 1) m")
      switch try savepointed(connection, { try connection.execute(sql).scalarInt() }) {
      case .success(let count):
        guard let count, count > 0 else { return .holds }
        guard countRows else { return .violated(reason: "rows of \(table) still match \(predicate)") }
        let rows = count == 1 ? "1 row of \(table) still matches" : "\(count) rows of \(table) still match"
        return .violated(reason: "\(rows) \(predicate)")
      case .failure(let error) where error.sqlState == "42P01" || error.sqlState == "42703":
        // The table or a column the predicate names is gone: that is drift, not a broken check.
        return .violated(reason: "cannot check rows of \(table) against \(predicate): \(error.message)")
      case .failure(let error):
        throw error
      }
    }
  }

  /// Checks every postcondition; the violations, in order (empty when all hold).
  public static func violations(of postconditions: [Postcondition], on connection: Connection) throws -> [String] {
    try postconditions.compactMap { p in
      if case .violated(let reason) = try check(p, on: connection) { return reason }
      return nil
    }
  }

  // MARK: - Helpers

  private static func required<T>(_ value: T?, _ field: String, _ p: Postcondition) throws -> T {
    guard let value else { throw MalformedPostconditionError(kind: p.kind, missing: field) }
    return value
  }

  private static func indexName(_ index: QualifiedName, table: QualifiedName?) -> QualifiedName {
    index.schema == nil ? QualifiedName(schema: table?.schema, index.name) : index
  }

  /// Runs a read that may fail on text from the plan. Inside a transaction block it runs under a
  /// savepoint, so a failure leaves the caller's transaction usable. Only `PostgresError`s are
  /// returned as failures; a lost connection is thrown.
  static func savepointed<T>(
    _ connection: Connection, _ body: () throws -> T
  ) throws -> Result<T, PostgresError> {
    let inTransaction = connection.transactionStatus == .inTransaction
    if inTransaction { try connection.execute("SAVEPOINT pgphase_postcondition") }
    do {
      let value = try body()
      if inTransaction { try connection.execute("RELEASE SAVEPOINT pgphase_postcondition") }
      return .success(value)
    } catch let error as PostgresError where !error.connectionLost {
      if inTransaction {
        try connection.execute("ROLLBACK TO SAVEPOINT pgphase_postcondition")
        try connection.execute("RELEASE SAVEPOINT pgphase_postcondition")
      }
      return .failure(error)
    }
  }

  /// nil when the column's default matches `expected` (see the rule on the type), else the problem.
  static func compareDefault(expected: String, column: Catalog.ColumnInfo, on connection: Connection) throws -> String? {
    guard let actual = column.defaultExpression else {
      return "has no default, expected default \(expected)"
    }
    let a = DefaultExpression(actual)
    let e = DefaultExpression(expected)
    if a.normalized == e.normalized { return nil }
    if a.isConstant && e.isConstant {
      let sql = "SELECT ((\(actual))::\(column.type)) IS NOT DISTINCT FROM ((\(expected))::\(column.type))"
      if case .success(let same) = try savepointed(connection, { try connection.execute(sql).scalarBool() }),
        same == true
      {
        return nil
      }
    }
    return "has default \(actual), expected \(expected)"
  }
}

/// A default expression reduced to a form where trivial spelling differences vanish.
struct DefaultExpression {
  enum Token: Equatable {
    case string(String)  // content, quotes removed, '' undoubled
    case quotedIdentifier(String)
    case word(String)  // lowercased identifier or keyword
    case number(String)
    case symbol(String)
  }

  let tokens: [Token]
  let normalized: String

  init(_ text: String) {
    var tokens = DefaultExpression.stripCasts(DefaultExpression.tokenize(text))
    while tokens.count >= 2, tokens.first == .symbol("("), tokens.last == .symbol(")"),
      DefaultExpression.outerParensMatch(tokens)
    {
      tokens = Array(tokens.dropFirst().dropLast())
    }
    self.tokens = tokens
    if tokens.count == 1, case .string(let content) = tokens[0] {
      normalized = content
    } else {
      normalized = tokens.map { token -> String in
        switch token {
        case .string(let s): "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
        case .quotedIdentifier(let s): "\"" + s + "\""
        case .word(let s), .number(let s), .symbol(let s): s
        }
      }.joined(separator: " ")
    }
  }

  /// Only literals, true/false/null and arithmetic: evaluating it runs nothing volatile.
  var isConstant: Bool {
    !tokens.isEmpty
      && tokens.allSatisfy { token in
        switch token {
        case .string, .number: true
        case .word(let w): ["true", "false", "null"].contains(w)
        case .symbol(let s): ["+", "-", "*", "/", "(", ")"].contains(s)
        case .quotedIdentifier: false
        }
      }
  }

  static func tokenize(_ text: String) -> [Token] {
    var tokens: [Token] = []
    let chars = Array(text)
    var i = 0
    while i < chars.count {
      let c = chars[i]
      if c.isWhitespace {
        i += 1
      } else if c == "'" || ((c == "E" || c == "e") && i + 1 < chars.count && chars[i + 1] == "'") {
        let escapes = c != "'"
        i += escapes ? 2 : 1
        var content = ""
        while i < chars.count {
          if escapes && chars[i] == "\\" && i + 1 < chars.count {
            content.append(chars[i])
            content.append(chars[i + 1])
            i += 2
            continue
          }
          if chars[i] == "'" {
            if i + 1 < chars.count && chars[i + 1] == "'" {
              content.append("'")
              i += 2
              continue
            }
            i += 1
            break
          }
          content.append(chars[i])
          i += 1
        }
        tokens.append(.string(escapes ? "E:" + content : content))
      } else if c == "\"" {
        i += 1
        var content = ""
        while i < chars.count {
          if chars[i] == "\"" {
            if i + 1 < chars.count && chars[i + 1] == "\"" {
              content.append("\"")
              i += 2
              continue
            }
            i += 1
            break
          }
          content.append(chars[i])
          i += 1
        }
        tokens.append(.quotedIdentifier(content))
      } else if c.isNumber || (c == "." && i + 1 < chars.count && chars[i + 1].isNumber) {
        var s = ""
        while i < chars.count, chars[i].isNumber || chars[i] == "." || chars[i] == "e" || chars[i] == "E" {
          s.append(chars[i])
          i += 1
        }
        tokens.append(.number(s.lowercased()))
      } else if c.isLetter || c == "_" {
        var s = ""
        while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == "$" {
          s.append(chars[i])
          i += 1
        }
        tokens.append(.word(s.lowercased()))
      } else if c == ":" && i + 1 < chars.count && chars[i + 1] == ":" {
        tokens.append(.symbol("::"))
        i += 2
      } else {
        tokens.append(.symbol(String(c)))
        i += 1
      }
    }
    return tokens
  }

  /// Words that continue a multi-word type name after its first word.
  static let typeContinuations: Set<String> = ["varying", "precision", "with", "without", "time", "zone"]

  /// Removes every `::type` (qualified, multi-word, with modifiers and array brackets).
  static func stripCasts(_ tokens: [Token]) -> [Token] {
    var out: [Token] = []
    var i = 0
    while i < tokens.count {
      guard tokens[i] == .symbol("::") else {
        out.append(tokens[i])
        i += 1
        continue
      }
      i += 1
      // name, possibly schema-qualified
      func isName(_ t: Token) -> Bool {
        if case .word = t { return true }
        if case .quotedIdentifier = t { return true }
        return false
      }
      if i < tokens.count, isName(tokens[i]) { i += 1 }
      while i + 1 < tokens.count, tokens[i] == .symbol("."), isName(tokens[i + 1]) { i += 2 }
      while i < tokens.count, case .word(let w) = tokens[i], typeContinuations.contains(w) { i += 1 }
      if i < tokens.count, tokens[i] == .symbol("(") {
        var depth = 0
        while i < tokens.count {
          if tokens[i] == .symbol("(") { depth += 1 }
          if tokens[i] == .symbol(")") { depth -= 1 }
          i += 1
          if depth == 0 { break }
        }
        // `time(3) with time zone`
        while i < tokens.count, case .word(let w) = tokens[i], typeContinuations.contains(w) { i += 1 }
      }
      while i + 1 < tokens.count, tokens[i] == .symbol("["), tokens[i + 1] == .symbol("]") { i += 2 }
    }
    return out
  }

  /// True when the first `(` closes at the last token.
  static func outerParensMatch(_ tokens: [Token]) -> Bool {
    var depth = 0
    for (index, token) in tokens.enumerated() {
      if token == .symbol("(") { depth += 1 }
      if token == .symbol(")") {
        depth -= 1
        if depth == 0 && index != tokens.count - 1 { return false }
      }
    }
    return depth == 0
  }
}

extension String {
  fileprivate func dropArticle() -> String {
    if hasPrefix("an ") { return String(dropFirst(3)) }
    if hasPrefix("a ") { return String(dropFirst(2)) }
    return self
  }
}
