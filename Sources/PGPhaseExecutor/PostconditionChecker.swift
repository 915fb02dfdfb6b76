import Foundation
import PGPhaseCatalog
package import PGPhaseModel
package import PGPhasePostgres
import PGPhaseSQL

/// Whether a postcondition (or precondition) holds in the live catalog.
public enum PostconditionResult: Sendable, Equatable, CustomStringConvertible {
  case holds
  case violated(Violation)

  /// What differs, for people (`reason`) and machines (`problem`).
  public struct Violation: Sendable, Equatable, Codable {
    /// What kind of difference it is.
    public enum Problem: String, Sendable, Codable, CaseIterable {
      /// The object (table, column, index, constraint, trigger, function) does not exist.
      case missing
      /// An object the step removed exists again (or still).
      case present
      /// The object exists but is another kind of relation (a view where a table belongs).
      case wrongKind = "wrong_kind"
      /// It exists with another type, nullability, default, table, uniqueness or definition.
      case differs
      /// A constraint the step validated is NOT VALID.
      case notValidated = "not_validated"
      /// An index is invalid or not ready (a failed or interrupted concurrent build).
      case invalidIndex = "invalid_index"
      /// A trigger exists but is disabled.
      case disabled
      /// Rows still match a backfill's pending predicate.
      case rowsPending = "rows_pending"
      /// The check itself cannot run any more (its table or a column it names is gone).
      case uncheckable
      /// A column cannot be replaced without losing what depends on it (a precondition).
      case notReplaceable = "not_replaceable"
    }

    /// The kind of difference, for machines and `verify --json`.
    public var problem: Problem
    /// Exactly what differs, e.g. `column public.incidents.severity has type integer, expected text`.
    public var reason: String

    /// A violation of kind `problem`.
    public init(_ problem: Problem, _ reason: String) {
      self.problem = problem
      self.reason = reason
    }
  }

  /// Shorthand for a violation.
  static func violated(_ problem: Violation.Problem, _ reason: String) -> PostconditionResult {
    .violated(Violation(problem, reason))
  }

  /// Whether the condition holds.
  public var holds: Bool { self == .holds }

  /// The violation's reason, nil when it holds.
  public var reason: String? {
    if case .violated(let v) = self { return v.reason }
    return nil
  }

  /// `holds` or `violated: <reason>`.
  public var description: String {
    switch self {
    case .holds: "holds"
    case .violated(let v): "violated: \(v.reason)"
    }
  }
}

/// Checks a step's postconditions against the live catalog: the executor uses it to resume after
/// a crash, and `pgphase verify` to find drift.
///
/// Names without a schema resolve through the session's search_path. An index without a schema
/// is looked up in its table's schema when the table has one (an index always lives there).
///
/// Each case carries the fields it needs, so a check can never lack one at run time.
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
package enum PostconditionChecker {
  /// - Parameter countRows: for `no_rows_match`, count the matching rows instead of stopping at the
  ///   first one. Use it where the check is expected to hold (after a backfill): the whole table is
  ///   read either way then, a count can use parallel workers, and a violation says how many rows.
  package static func check(_ p: Postcondition, on connection: Connection, countRows: Bool = false) throws
    -> PostconditionResult
  {
    let catalog = Catalog(connection)
    switch p {
    case .unchecked:
      return .holds

    case .tableExists(let object), .viewExists(let object):
      let wantView = p.kind == .viewExists
      let noun = wantView ? "view" : "table"
      guard let kind = try catalog.relationKind(object) else {
        return .violated(.missing, "\(noun) \(object) does not exist")
      }
      if wantView ? kind.isView : kind.isTable { return .holds }
      return .violated(.wrongKind, "\(object) is \(kind.article), expected a \(noun)")

    case .tableAbsent(let object), .viewAbsent(let object):
      let wantView = p.kind == .viewAbsent
      guard let kind = try catalog.relationKind(object), wantView ? kind.isView : kind.isTable else { return .holds }
      return .violated(.present, "\(kind.noun) \(object) still exists")

    case .columnExists(let table, let column, let type, let nullable):
      let columnName = "\(table).\(SQL.quoteIdentifier(column))"
      guard let info = try catalog.column(column, of: table) else {
        if try catalog.relationKind(table) == nil { return .violated(.missing, "table \(table) does not exist") }
        return .violated(.missing, "column \(columnName) does not exist")
      }
      var problems: [String] = []
      if let type {
        do {
          switch try savepointed(connection, { try catalog.canonicalType(type) }) {
          case .success(let expected):
            if expected != info.type { problems.append("has type \(info.type), expected \(expected)") }
          case .failure(let error):
            problems.append("has type \(info.type), expected \(type), which the server does not know (\(error.message))")
          }
        } catch let error as Catalog.NotASingleType {
          problems.append("has type \(info.type), expected \(type), which the server does not know (\(error))")
        }
      }
      if let nullable, nullable == info.notNull {
        problems.append(info.notNull ? "is NOT NULL, expected nullable" : "is nullable, expected NOT NULL")
      } else if nullable == false, !info.notNullValidated {
        problems.append("is NOT NULL NOT VALID (existing rows were never checked), expected NOT NULL")
      }
      return problems.isEmpty ? .holds : .violated(.differs, "column \(columnName) " + problems.joined(separator: "; "))

    case .columnAbsent(let table, let column):
      guard try catalog.column(column, of: table) != nil else { return .holds }
      return .violated(.present, "column \(table).\(SQL.quoteIdentifier(column)) still exists")

    case .columnDefault(let table, let column, let expected):
      let columnName = "\(table).\(SQL.quoteIdentifier(column))"
      guard let info = try catalog.column(column, of: table) else {
        if try catalog.relationKind(table) == nil { return .violated(.missing, "table \(table) does not exist") }
        return .violated(.missing, "column \(columnName) does not exist")
      }
      guard let expected else {
        if let actual = info.defaultExpression {
          return .violated(.differs, "column \(columnName) has default \(actual), expected no default")
        }
        return .holds
      }
      if let problem = try compareDefault(expected: expected, column: info, on: connection) {
        return .violated(.differs, "column \(columnName) \(problem)")
      }
      return .holds

    case .constraintExists(let table, let name, let validated):
      guard let info = try catalog.constraint(name, on: table) else {
        if try catalog.relationKind(table) == nil { return .violated(.missing, "table \(table) does not exist") }
        return .violated(.missing, "constraint \(SQL.quoteIdentifier(name)) on \(table) does not exist")
      }
      if validated && !info.validated {
        return .violated(.notValidated, "constraint \(SQL.quoteIdentifier(name)) on \(table) is NOT VALID (not validated)")
      }
      return .holds

    case .constraintAbsent(let table, let name):
      guard try catalog.constraint(name, on: table) != nil else { return .holds }
      return .violated(.present, "constraint \(SQL.quoteIdentifier(name)) on \(table) still exists")

    case .indexExists(_, let table, let unique):
      let index = p.subject ?? table
      guard let state = try catalog.indexState(name: index) else {
        if let kind = try catalog.relationKind(index) {
          return .violated(.wrongKind, "\(index) is \(kind.article), expected an index")
        }
        return .violated(.missing, "index \(index) does not exist")
      }
      var problems: [String] = []
      var problem = PostconditionResult.Violation.Problem.differs
      let tableOID = try connection.execute("SELECT to_regclass($1)::oid::int8", [table.sql]).scalarInt()
      if tableOID.map(UInt32.init) != state.tableOID {
        problems.append("is on table \(state.table), expected \(table)")
      }
      if !state.valid {
        problems.append(
          "is invalid (indisvalid = false; a failed or interrupted concurrent build): drop it concurrently and build it again"
        )
        if problems.count == 1 { problem = .invalidIndex }
      } else if !state.ready {
        problems.append("is not ready (indisready = false)")
        if problems.count == 1 { problem = .invalidIndex }
      }
      if unique != state.unique {
        problems.append(unique ? "is not unique, expected unique" : "is unique, expected not unique")
      }
      if problems.count > 1 { problem = .differs }
      return problems.isEmpty ? .holds : .violated(problem, "index \(index) " + problems.joined(separator: "; "))

    case .indexAbsent(let index):
      guard let state = try catalog.indexState(name: index) else { return .holds }
      return .violated(.present, "index \(index) still exists\(state.valid ? "" : " (invalid)") on \(state.table)")

    case .triggerExists(let table, let name):
      guard let info = try catalog.trigger(name, on: table) else {
        if try catalog.relationKind(table) == nil { return .violated(.missing, "table \(table) does not exist") }
        return .violated(.missing, "trigger \(SQL.quoteIdentifier(name)) on \(table) does not exist")
      }
      if !info.isEnabled {
        return .violated(.disabled, "trigger \(SQL.quoteIdentifier(name)) on \(table) exists but is disabled")
      }
      return .holds

    case .triggerAbsent(let table, let name):
      guard try catalog.trigger(name, on: table) != nil else { return .holds }
      return .violated(.present, "trigger \(SQL.quoteIdentifier(name)) on \(table) still exists")

    case .functionExists(let function):
      if try catalog.functionCount(function) > 0 { return .holds }
      return .violated(.missing, "function \(function) does not exist")

    case .functionAbsent(let function):
      let count = try catalog.functionCount(function)
      if count == 0 { return .holds }
      return .violated(.present, "function \(function) still exists" + (count > 1 ? " (\(count) overloads)" : ""))

    case .noRowsMatch(let table, let predicate):
      let matching = "SELECT 1 FROM \(table.sql) WHERE \(predicate)"
      let sql = "SELECT count(*) FROM " + (countRows ? "(\(matching)) m" : "(\(matching) LIMIT 1) m")
      switch try savepointed(connection, { try connection.execute(sql).scalarInt() }) {
      case .success(let count):
        guard let count, count > 0 else { return .holds }
        guard countRows else { return .violated(.rowsPending, "rows of \(table) still match \(predicate)") }
        let rows = count == 1 ? "1 row of \(table) still matches" : "\(count) rows of \(table) still match"
        return .violated(.rowsPending, "\(rows) \(predicate)")
      case .failure(let error) where error.sqlState == "42P01" || error.sqlState == "42703":
        // The table or a column the predicate names is gone: that is drift, not a broken check.
        return .violated(.uncheckable, "cannot check rows of \(table) against \(predicate): \(error.message)")
      case .failure(let error):
        throw error
      }
    }
  }

  /// Checks a precondition: whether the step may run without losing what the plan cannot see.
  package static func check(_ p: Precondition, on connection: Connection) throws -> PostconditionResult {
    let catalog = Catalog(connection)
    switch p {
    case .columnReplaceable(let table, let column, let nullable, let expression, let carried):
      let name = "\(table).\(SQL.quoteIdentifier(column))"
      guard let info = try catalog.column(column, of: table) else {
        return .violated(.missing, "column \(name) does not exist")
      }
      var lost: [String] = []
      // What the plan carries over to the new column is not lost; anything else is.
      let carriedKeys = Set(carried)
      let dependents = try catalog.dependentObjects(of: column, in: table).filter { dependent in
        dependent.key.map { !carriedKeys.contains($0) } ?? true
      }.map(\.description)
      if !dependents.isEmpty {
        lost.append(
          "\(dependents.joined(separator: ", ")) depend\(dependents.count == 1 ? "s" : "") on it and would be dropped with it at contract, or stop the drop (the plan does not carry them over to the new column: plan with a `--schema` that has them, a `pgphase schema dump`, and it does)"
        )
      }
      if info.notNull, nullable {
        lost.append("it is NOT NULL and the new column would not be (add `nullable: false` to the change)")
      }
      if let d = info.defaultExpression, expression == nil {
        lost.append("it has DEFAULT \(d) and the new column would have none (add `default:` to the change)")
      }
      if let identity = info.identity, !carriedKeys.contains(CarriedObject.identity(column)) {
        lost.append(
          "it is an identity column (GENERATED \(identity == "a" ? "ALWAYS" : "BY DEFAULT")), which the new column would not be")
      }
      if info.generatedExpression != nil { lost.append("it is a generated column, which the new column would not be") }
      guard !lost.isEmpty else { return .holds }
      return .violated(
        .notReplaceable, "column \(name) cannot be replaced without losing what it has: \(lost.joined(separator: "; "))")
    }
  }

  /// Checks every postcondition; the reasons of those violated, in order (empty when all hold).
  /// - Parameter countRows: see `check`.
  package static func violations(of postconditions: [Postcondition], on connection: Connection, countRows: Bool = false)
    throws -> [String]
  {
    try postconditions.compactMap { try check($0, on: connection, countRows: countRows).reason }
  }

  /// Checks every precondition; the reasons of those that do not hold, in order.
  package static func violations(of preconditions: [Precondition], on connection: Connection) throws -> [String] {
    try preconditions.compactMap { try check($0, on: connection).reason }
  }

  // MARK: - Helpers

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
    } catch let error as PostgresError {
      throw error
    } catch {
      if inTransaction { try connection.execute("RELEASE SAVEPOINT pgphase_postcondition") }
      throw error
    }
  }

  /// nil when the column's default is the expression `expected`, else the problem. Both are put
  /// in the server's form (`ExpressionNormalizer`: applied as defaults of a scratch column of the
  /// column's type in a rolled-back savepoint, read back with `pg_get_expr`), so `'open'` and
  /// `'open'::text`, or `now() + interval '1 day'` and `(now() + '1 day'::interval)`, are the same
  /// default whatever the spelling. Two constant defaults that still differ in form are compared by
  /// value under the column's type (`1.50` and `1.5` on a `numeric(10,2)`).
  static func compareDefault(expected: String, column: Catalog.ColumnInfo, on connection: Connection) throws -> String? {
    guard let actual = column.defaultExpression else {
      return "has no default, expected default \(expected)"
    }
    if actual == expected { return nil }
    let scratch = SchemaSnapshot.Table(
      name: QualifiedName(schema: "pg_temp", "pgphase_default"),
      columns: [
        SchemaSnapshot.Column(name: "live", type: column.type, defaultExpression: actual),
        SchemaSnapshot.Column(name: "planned", type: column.type, defaultExpression: expected),
      ])
    let (normalized, failures) = try ExpressionNormalizer(connection).normalize(scratch)
    if failures.isEmpty, let live = normalized.column("live")?.defaultExpression,
      live == normalized.column("planned")?.defaultExpression
    {
      return nil
    }
    if let failure = failures.first(where: { $0.object.hasSuffix(".planned") }) {
      return
        "has default \(actual), expected \(expected) (which the server does not take as a default of \(column.type): \(failure.error.message))"
    }
    if FunctionVolatility.isConstant(expression: actual) && FunctionVolatility.isConstant(expression: expected) {
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
