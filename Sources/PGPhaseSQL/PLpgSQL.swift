internal import CPgQuery
import Foundation

/// A statement inside a PL/pgSQL body (a DO block or a function), as libpg_query's PL/pgSQL
/// parser finds it.
package struct PLpgSQLStatement: Sendable, Hashable {
  /// The SQL text, for a static statement; for `EXECUTE`, the expression that builds it.
  package var sql: String
  /// 1-based line within the body.
  package var line: Int
  /// `EXECUTE <expression>`: the statement is only known when it runs.
  package var isDynamic: Bool
}

extension SQLParser {
  /// The SQL statements a PL/pgSQL body runs, in order, at any nesting depth (IF, LOOP, nested
  /// blocks, exception handlers); nil when the body does not parse as PL/pgSQL.
  package static func plpgsqlStatements(body: String) -> [PLpgSQLStatement]? {
    var tag = "pgphase"
    while body.contains("$\(tag)$") { tag += "_" }
    // The body starts on the first line of the function text, so PL/pgSQL's line numbers are
    // the body's own.
    let function = "CREATE FUNCTION pg_temp.pgphase_do() RETURNS void LANGUAGE plpgsql AS $\(tag)$\(body)$\(tag)$"
    let result = function.withCString { pg_query_parse_plpgsql($0) }
    defer { pg_query_free_plpgsql_parse_result(result) }
    guard result.error == nil, let json = result.plpgsql_funcs else { return nil }
    let length = strlen(json)
    guard
      let tree = try? json.withMemoryRebound(
        to: UInt8.self, capacity: length, { try JSONValue.parse(UnsafeBufferPointer(start: $0, count: length)) })
    else { return nil }
    var statements: [PLpgSQLStatement] = []
    tree.walk { value in
      guard let (type, fields) = value.node else { return }
      let line = fields["lineno"]?.int ?? 1
      switch type {
      case "PLpgSQL_stmt_execsql":
        if let query = fields["sqlstmt"]?["PLpgSQL_expr"]?["query"]?.string {
          statements.append(PLpgSQLStatement(sql: query, line: line, isDynamic: false))
        }
      case "PLpgSQL_stmt_dynexecute":
        let query = fields["query"]?["PLpgSQL_expr"]?["query"]?.string ?? ""
        statements.append(PLpgSQLStatement(sql: query, line: line, isDynamic: true))
      default: break
      }
    }
    return statements
  }
}
