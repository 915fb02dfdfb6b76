internal import CPgQuery

/// One token of SQL text as PostgreSQL's own scanner reads it.
public struct SQLToken: Sendable, Hashable {
  /// What a token is, at the level the linter needs.
  public enum Kind: Sendable, Hashable {
    /// `-- ...` to the end of the line.
    case lineComment
    /// `/* ... */` (nesting allowed).
    case blockComment
    /// A keyword (`SELECT`, `CONCURRENTLY`, ...).
    case keyword
    /// An identifier, bare or `"quoted"`.
    case identifier
    /// A string constant: `'...'`, `E'...'`, `$tag$...$tag$`, `U&'...'`, bit and hex strings.
    case string
    /// A number.
    case number
    /// `;`
    case semicolon
    /// `,`
    case comma
    /// `(`
    case openParen
    /// `)`
    case closeParen
    /// Operators, `::`, `.`, parameters and every other symbol.
    case other
  }

  public var kind: Kind
  /// Byte range in the scanned text.
  public var range: Range<Int>

  public init(kind: Kind, range: Range<Int>) {
    self.kind = kind
    self.range = range
  }

  public var isComment: Bool { kind == .lineComment || kind == .blockComment }
}

/// The door to libpg_query's scanner: the tokens of SQL text with their byte ranges, comments
/// included. Only real comments come out as comments: `--` inside a string literal or a
/// dollar-quoted body is part of that string.
public enum SQLScanner {
  /// Scans `sql`; fails when PostgreSQL's scanner would (an unterminated quote or comment).
  public static func tokens(_ sql: String) -> Result<[SQLToken], SQLSyntaxError> {
    let result = sql.withCString { pg_query_scan($0) }
    defer { pg_query_free_scan_result(result) }
    if let error = result.error {
      let message = error.pointee.message.map { String(cString: $0) } ?? "syntax error"
      let cursor = Int(error.pointee.cursorpos)
      let offset = cursor > 0 ? SQLSource(file: "", text: sql).byteOffset(ofCharacter: cursor - 1) : 0
      return .failure(SQLSyntaxError(message: message, byteOffset: offset))
    }
    guard let data = result.pbuf.data else { return .success([]) }
    let buffer = data.withMemoryRebound(to: UInt8.self, capacity: Int(result.pbuf.len)) {
      UnsafeBufferPointer(start: $0, count: Int(result.pbuf.len))
    }
    return .success(decodeScanResult(buffer))
  }

  /// The comments of `sql` only; [] when it cannot be scanned.
  public static func comments(_ sql: String) -> [SQLToken] {
    guard case .success(let tokens) = tokens(sql) else { return [] }
    return tokens.filter(\.isComment)
  }

  // MARK: - The protobuf ScanResult (pg_query.proto), read by hand: two small messages.

  /// `ScanResult { int32 version = 1; repeated ScanToken tokens = 2; }`
  static func decodeScanResult(_ bytes: UnsafeBufferPointer<UInt8>) -> [SQLToken] {
    var reader = ProtobufReader(bytes: bytes, position: 0, end: bytes.count)
    var tokens: [SQLToken] = []
    while let (field, wire) = reader.key() {
      if field == 2, wire == 2, let (start, end) = reader.lengthDelimited() {
        var token = ProtobufReader(bytes: bytes, position: start, end: end)
        tokens.append(decodeToken(&token))
      } else if !reader.skip(wire) {
        break
      }
    }
    return tokens
  }

  /// `ScanToken { int32 start = 1; int32 end = 2; Token token = 4; KeywordKind keyword_kind = 5; }`
  private static func decodeToken(_ reader: inout ProtobufReader) -> SQLToken {
    var start = 0
    var end = 0
    var token = 0
    var keywordKind = 0
    while let (field, wire) = reader.key() {
      guard wire == 0, let value = reader.varint() else {
        if !reader.skip(wire) { break }
        continue
      }
      switch field {
      case 1: start = Int(value)
      case 2: end = Int(value)
      case 4: token = Int(value)
      case 5: keywordKind = Int(value)
      default: break
      }
    }
    return SQLToken(kind: kind(token: token, keywordKind: keywordKind), range: start..<max(start, end))
  }

  /// Token numbers from pg_query.proto's `enum Token`.
  private static func kind(token: Int, keywordKind: Int) -> SQLToken.Kind {
    if keywordKind != 0 { return .keyword }
    switch token {
    case 40: return .openParen
    case 41: return .closeParen
    case 44: return .comma
    case 59: return .semicolon
    case 258, 259: return .identifier  // IDENT, UIDENT
    case 260, 266: return .number  // FCONST, ICONST
    case 261, 262, 263, 264: return .string  // SCONST, USCONST, BCONST, XCONST
    case 275: return .lineComment  // SQL_COMMENT
    case 276: return .blockComment  // C_COMMENT
    default: return .other
    }
  }
}

/// Reads protobuf wire format: varints and length-delimited fields.
struct ProtobufReader {
  let bytes: UnsafeBufferPointer<UInt8>
  var position: Int
  let end: Int

  mutating func varint() -> UInt64? {
    var value: UInt64 = 0
    var shift: UInt64 = 0
    while position < end, shift < 64 {
      let byte = bytes[position]
      position += 1
      value |= UInt64(byte & 0x7F) << shift
      if byte & 0x80 == 0 { return value }
      shift += 7
    }
    return nil
  }

  /// The next field number and wire type, or nil at the end.
  mutating func key() -> (Int, Int)? {
    guard position < end, let key = varint() else { return nil }
    return (Int(key >> 3), Int(key & 7))
  }

  /// The byte range of a length-delimited field's payload, and moves past it.
  mutating func lengthDelimited() -> (Int, Int)? {
    guard let length = varint() else { return nil }
    let start = position
    let stop = start + Int(length)
    guard stop <= end else { return nil }
    position = stop
    return (start, stop)
  }

  /// Skips a field of the given wire type; false when the type is unknown.
  mutating func skip(_ wire: Int) -> Bool {
    switch wire {
    case 0: return varint() != nil
    case 1: position += 8
    case 2: return lengthDelimited() != nil
    case 5: position += 4
    default: return false
    }
    return position <= end
  }
}
