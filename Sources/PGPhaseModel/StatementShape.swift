/// What a piece of SQL text is, as far as running it goes: one concurrent index build, rebuild or
/// drop (which the executor watches and repairs), or anything else, noting whether it uses
/// CONCURRENTLY (and so must run without the short lock_timeout that would cancel its waits).
///
/// The planner reads it once, from SQL a user wrote in a `sql` change, to give the step its typed
/// action; the format-1 plan reader uses it to derive actions the old format did not store. The
/// executor never looks at SQL text. It reads keyword tokens, skipping comments, string and
/// dollar-quoted literals and quoted identifiers; it is not a parser, and anything it does not
/// recognise is `.other`, which runs the statements as written.
public enum StatementShape: Equatable, Sendable {
  /// `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON [ONLY] table definition`.
  case createIndexConcurrently(unique: Bool, name: String, table: QualifiedName, definition: String)
  /// `REINDEX [(options)] INDEX CONCURRENTLY name`.
  case reindexIndexConcurrently(QualifiedName)
  /// `DROP INDEX CONCURRENTLY [IF EXISTS] name [RESTRICT]`.
  case dropIndexConcurrently(QualifiedName)
  /// `ALTER TABLE [IF EXISTS] [ONLY] table VALIDATE CONSTRAINT name`.
  case validateConstraint(table: QualifiedName, name: String)
  /// Anything else, or more than one statement.
  case other(concurrently: Bool)

  /// Reads `sql` (one or more statements).
  public init(_ sql: String) {
    let tokens = SQLWords(sql).tokens
    let statements = tokens.split(whereSeparator: { $0.kind == .symbol(";") })
    let concurrently = tokens.contains { $0.isKeyword("CONCURRENTLY") }
    guard statements.count == 1, let statement = statements.first else {
      self = .other(concurrently: concurrently)
      return
    }
    var reader = TokenReader(tokens: Array(statement), text: sql)
    self = reader.index() ?? reader.validate() ?? .other(concurrently: concurrently)
  }

  /// Whether the text starts `CREATE [UNIQUE] INDEX CONCURRENTLY`, readable further or not.
  static func beginsIndexBuild(_ sql: String) -> Bool {
    var reader = TokenReader(tokens: SQLWords(sql).tokens, text: sql)
    guard reader.keyword("CREATE") else { return false }
    _ = reader.keyword("UNIQUE")
    return reader.keywords("INDEX", "CONCURRENTLY")
  }

  /// Whether the text uses CONCURRENTLY as a keyword anywhere.
  public var concurrently: Bool {
    switch self {
    case .createIndexConcurrently, .reindexIndexConcurrently, .dropIndexConcurrently: true
    case .validateConstraint: false
    case .other(let concurrently): concurrently
    }
  }
}

/// Matches the three concurrent index statements on the tokens of one statement.
private struct TokenReader {
  let tokens: [SQLWords.Token]
  let text: String
  var i = 0

  init(tokens: [SQLWords.Token], text: String) {
    self.tokens = tokens
    self.text = text
  }

  var atEnd: Bool { i >= tokens.count }

  mutating func keyword(_ word: String) -> Bool {
    guard i < tokens.count, tokens[i].isKeyword(word) else { return false }
    i += 1
    return true
  }

  mutating func keywords(_ words: String...) -> Bool {
    let start = i
    for word in words where !keyword(word) {
      i = start
      return false
    }
    return true
  }

  /// One name part: an unquoted word (folded to lower case, as PostgreSQL does) or a quoted one.
  mutating func namePart() -> String? {
    guard i < tokens.count else { return nil }
    switch tokens[i].kind {
    case .word(let w):
      i += 1
      return w.lowercased()
    case .quoted(let q):
      i += 1
      return q
    default:
      return nil
    }
  }

  /// `name` or `schema.name`.
  mutating func qualifiedName() -> QualifiedName? {
    guard let first = namePart() else { return nil }
    guard i < tokens.count, tokens[i].kind == .symbol(".") else { return QualifiedName(first) }
    i += 1
    guard let second = namePart() else { return nil }
    return QualifiedName(schema: first, second)
  }

  /// A parenthesised group, skipped with its nesting.
  mutating func skipGroup() -> Bool {
    guard i < tokens.count, tokens[i].kind == .symbol("(") else { return false }
    var depth = 0
    while i < tokens.count {
      if tokens[i].kind == .symbol("(") { depth += 1 }
      if tokens[i].kind == .symbol(")") { depth -= 1 }
      i += 1
      if depth == 0 { return true }
    }
    return false
  }

  mutating func validate() -> StatementShape? {
    i = 0
    guard keywords("ALTER", "TABLE") else { return nil }
    _ = keywords("IF", "EXISTS")
    _ = keyword("ONLY")
    guard let table = qualifiedName(), keywords("VALIDATE", "CONSTRAINT"), let name = namePart(), atEnd else { return nil }
    return .validateConstraint(table: table, name: name)
  }

  mutating func index() -> StatementShape? {
    if keyword("CREATE") {
      let unique = keyword("UNIQUE")
      guard keywords("INDEX", "CONCURRENTLY") else { return nil }
      _ = keywords("IF", "NOT", "EXISTS")
      guard let name = namePart(), keyword("ON") else { return nil }
      _ = keyword("ONLY")
      guard let table = qualifiedName(), !atEnd else { return nil }
      let definition = text[tokens[i].range.lowerBound..<tokens[tokens.count - 1].range.upperBound]
      return .createIndexConcurrently(unique: unique, name: name, table: table, definition: String(definition))
    }
    if keyword("REINDEX") {
      if i < tokens.count, tokens[i].kind == .symbol("(") { guard skipGroup() else { return nil } }
      guard keywords("INDEX", "CONCURRENTLY"), let name = qualifiedName(), atEnd else { return nil }
      return .reindexIndexConcurrently(name)
    }
    if keywords("DROP", "INDEX", "CONCURRENTLY") {
      _ = keywords("IF", "EXISTS")
      guard let name = qualifiedName() else { return nil }
      _ = keyword("RESTRICT")
      return atEnd ? .dropIndexConcurrently(name) : nil
    }
    return nil
  }
}

/// The tokens of SQL text that matter for `StatementShape`: words, quoted identifiers and
/// symbols, with their place in the text. Whitespace, comments and literals are dropped (a
/// literal leaves an `.other` token so that it still separates words).
struct SQLWords {
  enum Kind: Equatable {
    case word(String)
    case quoted(String)
    case symbol(Character)
    case other
  }

  struct Token {
    var kind: Kind
    var range: Range<String.Index>

    func isKeyword(_ word: String) -> Bool {
      if case .word(let w) = kind { return w.uppercased() == word }
      return false
    }
  }

  private(set) var tokens: [Token] = []

  init(_ text: String) {
    var i = text.startIndex
    func peek(_ offset: Int = 0) -> Character? {
      var j = i
      for _ in 0..<offset {
        guard j < text.endIndex else { return nil }
        j = text.index(after: j)
      }
      return j < text.endIndex ? text[j] : nil
    }
    func advance(_ n: Int = 1) {
      for _ in 0..<n where i < text.endIndex { i = text.index(after: i) }
    }
    while i < text.endIndex {
      let start = i
      let c = text[i]
      if c.isWhitespace {
        advance()
      } else if c == "-", peek(1) == "-" {
        while i < text.endIndex, text[i] != "\n" { advance() }
      } else if c == "/", peek(1) == "*" {
        advance(2)
        var depth = 1
        while i < text.endIndex, depth > 0 {
          if text[i] == "/", peek(1) == "*" {
            depth += 1
            advance(2)
          } else if text[i] == "*", peek(1) == "/" {
            depth -= 1
            advance(2)
          } else {
            advance()
          }
        }
      } else if c == "'" {
        skipString(text, &i, backslashes: false)
        tokens.append(Token(kind: .other, range: start..<i))
      } else if c == "\"" {
        advance()
        var name = ""
        while i < text.endIndex {
          if text[i] == "\"" {
            if peek(1) == "\"" {
              name.append("\"")
              advance(2)
              continue
            }
            advance()
            break
          }
          name.append(text[i])
          advance()
        }
        tokens.append(Token(kind: .quoted(name), range: start..<i))
      } else if c == "$", let tag = dollarTag(text, at: i) {
        advance(tag.count)
        let body = text[i...]
        if let end = body.range(of: tag) {
          i = end.upperBound
        } else {
          i = text.endIndex
        }
        tokens.append(Token(kind: .other, range: start..<i))
      } else if c.isLetter || c == "_" {
        while i < text.endIndex, text[i].isLetter || text[i].isNumber || text[i] == "_" || text[i] == "$" { advance() }
        let word = String(text[start..<i])
        if i < text.endIndex, text[i] == "'" {
          // A prefixed literal: E'...' (backslash escapes), B'', X'', N'', U&'' and the like.
          skipString(text, &i, backslashes: word.uppercased() == "E")
          tokens.append(Token(kind: .other, range: start..<i))
        } else {
          tokens.append(Token(kind: .word(word), range: start..<i))
        }
      } else if c.isNumber {
        while i < text.endIndex, text[i].isNumber || text[i] == "." || text[i] == "e" || text[i] == "E" { advance() }
        tokens.append(Token(kind: .other, range: start..<i))
      } else {
        advance()
        tokens.append(Token(kind: .symbol(c), range: start..<i))
      }
    }
  }

  /// Moves `i` past a single-quoted literal starting at `i`, `''` doubling a quote.
  private func skipString(_ text: String, _ i: inout String.Index, backslashes: Bool) {
    i = text.index(after: i)
    while i < text.endIndex {
      let c = text[i]
      i = text.index(after: i)
      if backslashes, c == "\\", i < text.endIndex {
        i = text.index(after: i)
      } else if c == "'" {
        guard i < text.endIndex, text[i] == "'" else { return }
        i = text.index(after: i)
      }
    }
  }

  /// `$tag$` or `$$` starting at `i`, or nil for a `$1` parameter or a lone `$`.
  private func dollarTag(_ text: String, at i: String.Index) -> String? {
    var j = text.index(after: i)
    var tag = "$"
    while j < text.endIndex, text[j].isLetter || text[j] == "_" || (text[j].isNumber && tag.count > 1) {
      tag.append(text[j])
      j = text.index(after: j)
    }
    guard j < text.endIndex, text[j] == "$" else { return nil }
    return tag + "$"
  }
}
