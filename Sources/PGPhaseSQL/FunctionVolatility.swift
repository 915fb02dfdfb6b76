/// The project's one list of function volatility, and its one rule: a function that is not a known
/// built-in is volatile. Being wrong that way costs a batched backfill or a finding to silence; the
/// other way it costs a table rewrite under ACCESS EXCLUSIVE (`ADD COLUMN ... DEFAULT f()` with a
/// volatile `f` computes a value for every existing row).
public enum FunctionVolatility {
  /// What is known about a function name.
  public enum Class: String, Sendable, Hashable {
    /// A built-in whose every overload is immutable or stable: evaluated once per statement.
    case nonVolatile = "non-volatile"
    /// A built-in with a volatile overload (`random`, `gen_random_uuid`, `nextval`, ...).
    case volatileBuiltin = "volatile"
    /// Not a built-in (a user or extension function, or a built-in called through another
    /// schema): treated as volatile.
    case unknown
  }

  /// A function call that makes an expression volatile.
  public struct Call: Sendable, Hashable {
    /// The name as written, lower-cased by the parser unless quoted (`gen_random_uuid`).
    public var name: String
    /// Why it counts: a volatile built-in, or an unknown function.
    public var volatility: Class
    /// Byte offset of the call in the parsed text.
    public var byteOffset: Int?
  }

  private static let nonVolatile: Set<Substring> = Set(builtinNonVolatileNames.split(whereSeparator: \.isWhitespace))
  private static let volatile: Set<Substring> = Set(builtinVolatileNames.split(whereSeparator: \.isWhitespace))

  /// What is known about `name` called in `schema` (nil: unqualified). Built-ins live in
  /// `pg_catalog`; the same name in any other schema is someone's own function.
  public static func classify(name: String, schema: String? = nil) -> Class {
    guard schema == nil || schema == "pg_catalog" else { return .unknown }
    let key = Substring(name)
    if volatile.contains(key) { return .volatileBuiltin }
    if nonVolatile.contains(key) { return .nonVolatile }
    return .unknown
  }

  /// Whether calling `name` may give a different value each time. Unknown functions are volatile.
  public static func isVolatile(name: String, schema: String? = nil) -> Bool {
    classify(name: name, schema: schema) != .nonVolatile
  }

  /// Whether an SQL expression (a column default, a backfill value) may give a different value for
  /// each row. An expression that does not parse counts as volatile.
  public static func isVolatile(expression: String) -> Bool {
    guard let tree = SQLParser.parseExpression(expression) else { return true }
    return firstVolatileCall(in: tree) != nil
  }

  /// Whether an SQL expression is made of literals, casts and operators only (no function call,
  /// column, subquery, parameter or `CURRENT_*` value): its value is the same wherever and whenever
  /// it is computed, so two such defaults can be compared by value (`1.50` and `1.5` on a
  /// `numeric(10,2)`). An expression that does not parse is not constant.
  public static func isConstant(expression: String) -> Bool {
    guard let tree = SQLParser.parseExpression(expression) else { return false }
    let computed = ["FuncCall", "ColumnRef", "SubLink", "ParamRef", "SQLValueFunction", "CoalesceExpr", "MinMaxExpr"]
    var constant = true
    tree.walk { value in
      if constant, computed.contains(where: { value.node($0) != nil }) { constant = false }
    }
    return constant
  }

  /// The first call in a parsed expression that makes it volatile, in document order.
  package static func firstVolatileCall(in expression: JSONValue) -> Call? {
    var found: Call?
    expression.walk { value in
      guard found == nil, let call = value.node("FuncCall") else { return }
      let parts = call["funcname"]?.names ?? []
      guard let name = parts.last else { return }
      let schema = parts.count >= 2 ? parts[parts.count - 2] : nil
      let volatility = classify(name: name, schema: schema)
      if volatility != .nonVolatile { found = Call(name: name, volatility: volatility, byteOffset: call.location) }
    }
    return found
  }
}
