internal import CPgQuery
import Foundation

/// One top-level statement of a file, as libpg_query parsed it.
struct ParsedStatement: Sendable {
  /// The node type, e.g. `IndexStmt`, and its fields.
  var type: String
  var fields: JSONValue
  /// Byte offset of the statement's first token (after leading comments and whitespace).
  var start: Int
  /// Byte offset just past the statement (before its semicolon).
  var end: Int
}

/// A syntax error: message and byte offset.
struct SQLParseError: Error, Sendable {
  var message: String
  var byteOffset: Int
}

enum PGQuery {
  /// Parses a whole file once with the PostgreSQL 15 grammar.
  static func parse(_ source: SQLSource) -> Result<[ParsedStatement], SQLParseError> {
    let result = source.text.withCString { pg_query_parse($0) }
    defer { pg_query_free_parse_result(result) }
    if let error = result.error {
      let message = error.pointee.message.map { String(cString: $0) } ?? "syntax error"
      // cursorpos counts characters, 1-based; 0 means "no position".
      let cursor = Int(error.pointee.cursorpos)
      let offset = cursor > 0 ? source.byteOffset(ofCharacter: cursor - 1) : 0
      return .failure(SQLParseError(message: message, byteOffset: offset))
    }
    guard let treePointer = result.parse_tree else { return .success([]) }
    let length = strlen(treePointer)
    let tree: JSONValue
    do {
      tree = try treePointer.withMemoryRebound(to: UInt8.self, capacity: length) {
        try JSONValue.parse(UnsafeBufferPointer(start: $0, count: length))
      }
    } catch {
      return .failure(SQLParseError(message: "could not read the parse tree", byteOffset: 0))
    }
    var statements: [ParsedStatement] = []
    let total = source.bytes.count
    for raw in tree["stmts"]?.array ?? [] {
      let location = raw["stmt_location"]?.int ?? 0
      let length = raw["stmt_len"]?.int ?? 0
      let end = length == 0 ? total : min(total, location + length)
      guard let node = raw["stmt"]?.node else { continue }
      let start = source.skipTrivia(from: location, to: end)
      statements.append(ParsedStatement(type: node.type, fields: node.fields, start: start, end: end))
    }
    return .success(statements)
  }
}
