internal import CPgQuery
import Foundation

/// One top-level statement of a file, as libpg_query parsed it.
package struct ParsedStatement: Sendable {
  /// The node type, e.g. `IndexStmt`, and its fields.
  package var type: String
  package var fields: JSONValue
  /// Byte offset of the statement's first token (after leading comments and whitespace).
  package var start: Int
  /// Byte offset just past the statement (before its semicolon).
  package var end: Int
}

/// A statement that does not parse: the message, where, and whether a newer grammar would read it.
public struct SQLSyntaxError: Error, Sendable, Hashable {
  public var message: String
  /// Byte offset into the parsed text.
  public var byteOffset: Int
  /// Set when the failing statement uses syntax that PostgreSQL `newerGrammar` (16 or later)
  /// accepts but libpg_query's PostgreSQL 15 grammar does not.
  public var newerGrammar: Int?

  public init(message: String, byteOffset: Int, newerGrammar: Int? = nil) {
    self.message = message
    self.byteOffset = byteOffset
    self.newerGrammar = newerGrammar
  }
}

/// What parsing a file gave: every statement that parsed, and every statement that did not.
package struct ParseOutcome: Sendable {
  package var statements: [ParsedStatement]
  package var errors: [SQLSyntaxError]
}

/// The door to libpg_query's parser (PostgreSQL 15 grammar). Pure: parsing a string is not I/O,
/// and libpg_query keeps its state per thread, so files may be parsed in parallel.
public enum SQLParser {
  /// The grammar libpg_query implements.
  public static let grammarVersion = 15

  /// At most this many syntax errors are collected from one file; the rest are not looked for.
  static let maxErrors = 50

  /// Parses a whole file. When a statement does not parse, it is blanked out (same byte length,
  /// newlines kept, so every offset stays valid) and the file parsed again, until the rest parses:
  /// every syntax error of the file is reported, and every other statement is still returned.
  package static func parse(_ source: SQLSource) -> ParseOutcome {
    switch parseOnce(source.text, source: source) {
    case .success(let statements): return ParseOutcome(statements: statements, errors: [])
    case .failure(let first): return recover(source, first: first)
    }
  }

  /// Parses SQL text (one or more statements) and returns the statements, or the first error.
  package static func parse(_ sql: String) -> Result<[ParsedStatement], SQLSyntaxError> {
    parseOnce(sql, source: SQLSource(file: "", text: sql))
  }

  /// Parses one expression (a column default, a backfill value) as `SELECT <expression>`; nil when
  /// it does not parse.
  package static func parseExpression(_ expression: String) -> JSONValue? {
    guard case .success(let statements) = parse("SELECT (\n\(expression)\n)"), statements.count == 1,
      let target = statements[0].fields["targetList"]?.array.first?.node("ResTarget")
    else { return nil }
    return target["val"]
  }

  /// The byte ranges of the statements in `sql` as PostgreSQL's scanner splits it at top-level
  /// semicolons (quotes, dollar quotes and comments respected), without parsing it; leading
  /// comments and whitespace are included. Fails only when the text cannot be scanned.
  public static func split(_ sql: String) -> Result<[Range<Int>], SQLSyntaxError> {
    let result = sql.withCString { pg_query_split_with_scanner($0) }
    defer { pg_query_free_split_result(result) }
    if let error = result.error {
      return .failure(syntaxError(error, in: SQLSource(file: "", text: sql)))
    }
    let total = sql.utf8.count
    var ranges: [Range<Int>] = []
    for i in 0..<Int(result.n_stmts) {
      guard let stmt = result.stmts[i]?.pointee else { continue }
      let start = min(total, Int(stmt.stmt_location))
      let end = min(total, start + Int(stmt.stmt_len))
      ranges.append(start..<end)
    }
    return .success(ranges)
  }

  private static func parseOnce(_ text: String, source: SQLSource) -> Result<[ParsedStatement], SQLSyntaxError> {
    let result = text.withCString { pg_query_parse($0) }
    defer { pg_query_free_parse_result(result) }
    if let error = result.error {
      return .failure(syntaxError(error, in: source))
    }
    guard let treePointer = result.parse_tree else { return .success([]) }
    let length = strlen(treePointer)
    let tree: JSONValue
    do {
      tree = try treePointer.withMemoryRebound(to: UInt8.self, capacity: length) {
        try JSONValue.parse(UnsafeBufferPointer(start: $0, count: length))
      }
    } catch {
      return .failure(SQLSyntaxError(message: "could not read the parse tree", byteOffset: 0))
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

  /// libpg_query's error cursor counts characters (1-based, 0 for none); everything else here
  /// counts UTF-8 bytes.
  private static func syntaxError(_ error: UnsafeMutablePointer<PgQueryError>, in source: SQLSource) -> SQLSyntaxError {
    let message = error.pointee.message.map { String(cString: $0) } ?? "syntax error"
    let cursor = Int(error.pointee.cursorpos)
    let offset = cursor > 0 ? source.byteOffset(ofCharacter: cursor - 1) : 0
    return SQLSyntaxError(message: message, byteOffset: offset)
  }

  private static func recover(_ source: SQLSource, first: SQLSyntaxError) -> ParseOutcome {
    guard case .success(let split) = split(source.text) else {
      // The scanner itself failed (an unterminated quote or comment): nothing after it is readable.
      return ParseOutcome(statements: [], errors: [annotated(first, source: source, piece: nil)])
    }
    // The scanner's split leaves out text that does not start with a keyword (`SELEC 1;`): the
    // gaps between its statements are pieces too, so every byte is in one piece.
    var pieces: [Range<Int>] = []
    var covered = 0
    for range in split {
      if range.lowerBound > covered { pieces.append(covered..<range.lowerBound) }
      pieces.append(range)
      covered = max(covered, range.upperBound)
    }
    if covered < source.bytes.count { pieces.append(covered..<source.bytes.count) }
    var bytes = source.bytes
    var errors: [SQLSyntaxError] = []
    var error = first
    var blanked: Set<Int> = []
    while true {
      // The piece holding the error, else the last piece starting before it (errors at the end of
      // the input point just past the last statement).
      // An error at a statement's `;` (or at the end of the input) belongs to the statement
      // before it: the last piece starting before the error that holds more than `;` and spaces.
      let atTerminator = error.byteOffset >= bytes.count || bytes[error.byteOffset] == UInt8(ascii: ";")
      let index =
        atTerminator
        ? pieces.lastIndex { $0.lowerBound < max(1, error.byteOffset) && Self.hasCode(bytes, $0) }
        : pieces.firstIndex { $0.contains(error.byteOffset) }
      errors.append(annotated(error, source: source, piece: index.map { pieces[$0] }))
      guard let index, !blanked.contains(index), errors.count < maxErrors else { break }
      blanked.insert(index)
      // Newlines stay (lines keep their numbers) and so do semicolons (the statements around
      // the blanked one stay apart; a stray one only adds an empty statement).
      for i in pieces[index] where bytes[i] != 0x0A && bytes[i] != UInt8(ascii: ";") { bytes[i] = 0x20 }
      let text = String(decoding: bytes, as: UTF8.self)
      switch parseOnce(text, source: SQLSource(file: source.file, text: text)) {
      case .success(let statements):
        return ParseOutcome(statements: statements, errors: errors)
      case .failure(let next):
        error = next
      }
    }
    return ParseOutcome(statements: [], errors: errors)
  }

  /// Whether a range holds anything but whitespace and semicolons.
  private static func hasCode(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
    range.contains { ![0x20, 0x09, 0x0A, 0x0D, 0x0C, UInt8(ascii: ";")].contains(bytes[$0]) }
  }

  private static func annotated(_ error: SQLSyntaxError, source: SQLSource, piece: Range<Int>?) -> SQLSyntaxError {
    var error = error
    let text = piece.map { source.text($0) } ?? source.text
    error.newerGrammar = newerGrammar(for: error.message, statement: text)
    return error
  }

  /// Syntax that PostgreSQL 16 or 17 added, recognised from the error libpg_query's PostgreSQL 15
  /// grammar gives for it: the PostgreSQL version that reads it, or nil.
  static func newerGrammar(for message: String, statement: String) -> Int? {
    if message.hasPrefix("subquery in FROM must have an alias") || message.hasPrefix("VALUES in FROM must have an alias") {
      return 16
    }
    if message.hasPrefix("trailing junk after numeric literal") {
      return 16  // 0x1F, 0o17, 0b101 and 1_000_000 literals
    }
    let upper = statement.uppercased()
    let pg16 = [
      "JSON_OBJECT(", "JSON_ARRAY(", "JSON_OBJECTAGG(", "JSON_ARRAYAGG(", "IS JSON", "IS NOT JSON", "SYSTEM_USER",
    ]
    let pg17 = [
      "JSON_TABLE(", "JSON_QUERY(", "JSON_VALUE(", "JSON_EXISTS(", "JSON_SCALAR(", "JSON_SERIALIZE(", "MERGE_ACTION(",
      "NOT MATCHED BY SOURCE",
    ]
    func uses(_ words: [String]) -> Bool {
      words.contains { word in
        upper.contains(word) || upper.contains(word.replacingOccurrences(of: "(", with: " ("))
      }
    }
    if uses(pg16) { return 16 }
    if uses(pg17) { return 17 }
    if upper.hasPrefix("MERGE"), upper.contains("RETURNING") { return 17 }
    return nil
  }
}

extension SQLParser {
  /// Whether `sql` parses with the PostgreSQL 15 grammar; the first error when it does not.
  public static func syntaxCheck(_ sql: String) -> Result<Void, SQLSyntaxError> {
    parse(sql).map { _ in () }
  }
}

extension SQLParser {
  /// libpg_query's parse tree of `sql` as the JSON bytes it produces, for checking and measuring
  /// the tree reader (`JSONValue.parse`); nil when `sql` does not parse.
  package static func parseTreeJSON(_ sql: String) -> [UInt8]? {
    let result = sql.withCString { pg_query_parse($0) }
    defer { pg_query_free_parse_result(result) }
    guard result.error == nil, let tree = result.parse_tree else { return nil }
    return Array(UnsafeBufferPointer(start: UnsafeRawPointer(tree).assumingMemoryBound(to: UInt8.self), count: strlen(tree)))
  }
}
