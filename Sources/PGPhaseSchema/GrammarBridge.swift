import PGPhaseModel
import PGPhaseSQL

/// Lets libpg_query's PostgreSQL 15 grammar read what newer pg_dump versions and psql scripts
/// write, by rewriting the text before it is parsed without moving a single byte (every
/// rewrite keeps the length, so every offset and so every location stays that of the file), and
/// remembering what each rewrite meant:
///
/// - psql meta-commands at the start of a statement (`\restrict KEY`, `\connect db`, which
///   pg_dump 15.14+/17.6+/18 writes) are blanked;
/// - the data lines of `COPY ... FROM stdin;` up to `\.` are blanked;
/// - a virtual generated column (PostgreSQL 18: `GENERATED ALWAYS AS (expr)` with no STORED,
///   or with `VIRTUAL`) is read as a default and remembered as virtual;
/// - `NOT NULL NO INHERIT` of a column (18) is read as NOT NULL and remembered;
/// - `ALTER TABLE t ADD CONSTRAINT n NOT NULL col [NOT VALID] [NO INHERIT]` (18) is read by
///   hand and blanked.
struct GrammarBridge {
  /// A NOT NULL constraint added by ALTER TABLE (PostgreSQL 18 syntax).
  struct NotNullStatement {
    var table: [String]
    var name: String
    var column: String
    var validated: Bool
    var noInherit: Bool
    var location: Int
  }

  /// Offsets of `GENERATED` of virtual generated columns.
  var virtualGenerated: Set<Int> = []
  /// Offsets of `NOT` of column NOT NULLs written NO INHERIT.
  var noInheritNotNull: Set<Int> = []
  var notNullStatements: [NotNullStatement] = []
  /// The rewritten text.
  var text: String
  /// The text's tokens (no comments), when no rewrite changed them; nil when the text must be scanned again.
  var tokens: [SQLToken]?

  init(_ original: String) {
    var bytes = Array(original.utf8)
    GrammarBridge.blankCopyData(&bytes)
    GrammarBridge.blankKnownMetaCommands(&bytes)
    var text = String(decoding: bytes, as: UTF8.self)
    guard case .success(let all) = SQLScanner.tokens(text) else {
      self.text = text
      return
    }
    var tokens = all.filter { !$0.isComment }
    var changed = false
    // psql meta-commands: a backslash first on its line at a statement boundary, to the line's end.
    var atStatementStart = true
    var kept: [SQLToken] = []
    var i = 0
    while i < tokens.count {
      let token = tokens[i]
      if atStatementStart, bytes[token.range.lowerBound] == UInt8(ascii: "\\"),
        GrammarBridge.firstOnLine(bytes, token.range.lowerBound)
      {
        var end = token.range.lowerBound
        while end < bytes.count, bytes[end] != 0x0A { end += 1 }
        GrammarBridge.blank(&bytes, token.range.lowerBound..<end)
        while i < tokens.count, tokens[i].range.lowerBound < end { i += 1 }
        changed = true
        continue
      }
      atStatementStart = token.kind == .semicolon
      kept.append(token)
      i += 1
    }
    tokens = kept
    text = String(decoding: bytes, as: UTF8.self)
    let source = SourceText(SQLSource(file: "", text: text), tokens: tokens)
    self.text = text
    rewriteGenerated(source, &bytes)
    rewriteNoInherit(source, &bytes)
    readNotNullStatements(source, &bytes)
    self.text = String(decoding: bytes, as: UTF8.self)
    let rewritten = changed || !virtualGenerated.isEmpty || !noInheritNotNull.isEmpty || !notNullStatements.isEmpty
    self.tokens = rewritten ? nil : tokens
  }

  static func firstOnLine(_ bytes: [UInt8], _ offset: Int) -> Bool {
    var i = offset - 1
    while i >= 0, bytes[i] != 0x0A {
      if bytes[i] != 0x20 && bytes[i] != 0x09 && bytes[i] != 0x0D { return false }
      i -= 1
    }
    return true
  }

  /// Spaces over `range`, newlines kept (lines keep their numbers).
  static func blank(_ bytes: inout [UInt8], _ range: Range<Int>) {
    for i in range where bytes[i] != 0x0A { bytes[i] = 0x20 }
  }

  /// The psql meta-commands pg_dump and scripts write, by line, before anything is scanned: the
  /// scanner cannot always read them (`\restrict` takes a random key, which may hold `7k`, and
  /// PostgreSQL's scanner rejects a number followed by letters), and one unreadable token would
  /// leave the whole file unscanned.
  static let knownMetaCommands: Set<String> = [
    "restrict", "unrestrict", "connect", "c", "encoding", "set", "unset", "pset", "if", "elif", "else", "endif", "i", "ir",
    "include", "echo", "qecho", "timing", "o", "out",
  ]

  static func blankKnownMetaCommands(_ bytes: inout [UInt8]) {
    var lineStart = 0
    while lineStart < bytes.count {
      var lineEnd = lineStart
      while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
      var i = lineStart
      while i < lineEnd, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
      if i < lineEnd, bytes[i] == UInt8(ascii: "\\") {
        var j = i + 1
        while j < lineEnd, bytes[j] >= 0x61 && bytes[j] <= 0x7A { j += 1 }
        if knownMetaCommands.contains(String(decoding: bytes[(i + 1)..<j], as: UTF8.self)), j == lineEnd || bytes[j] == 0x20 {
          blank(&bytes, i..<lineEnd)
        }
      }
      lineStart = lineEnd + 1
    }
  }

  /// `COPY ... FROM stdin;` as pg_dump writes it, then data lines up to `\.`.
  static func blankCopyData(_ bytes: inout [UInt8]) {
    var lineStart = 0
    var inData = false
    while lineStart < bytes.count {
      var lineEnd = lineStart
      while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
      let line = String(decoding: bytes[lineStart..<lineEnd], as: UTF8.self)
      if inData {
        blank(&bytes, lineStart..<lineEnd)
        if line == "\\." { inData = false }
      } else if line.hasPrefix("COPY "), line.hasSuffix(" FROM stdin;") {
        inData = true
      }
      lineStart = lineEnd + 1
    }
  }

  mutating func rewriteGenerated(_ s: SourceText, _ bytes: inout [UInt8]) {
    var i = 0
    while i + 3 < s.tokens.count {
      defer { i += 1 }
      guard s.isWord(i, "GENERATED"), s.isWord(i + 1, "ALWAYS"), s.isWord(i + 2, "AS"), s.tokens[i + 3].kind == .openParen,
        let close = s.closing(i + 3)
      else { continue }
      let start = s.tokens[i].range.lowerBound
      if s.isWord(close + 1, "STORED") { continue }
      if s.isWord(close + 1, "VIRTUAL") {
        replace(&bytes, s.tokens[close + 1].range, with: "STORED")
      } else {
        replace(&bytes, start..<s.tokens[i + 2].range.upperBound, with: "DEFAULT")
      }
      virtualGenerated.insert(start)
    }
  }

  mutating func rewriteNoInherit(_ s: SourceText, _ bytes: inout [UInt8]) {
    var i = 0
    while i + 3 < s.tokens.count {
      defer { i += 1 }
      guard s.isWord(i, "NOT"), s.isWord(i + 1, "NULL"), s.isWord(i + 2, "NO"), s.isWord(i + 3, "INHERIT") else { continue }
      // Not `IS NOT NULL` inside an expression: a column constraint follows a type, a name or a default.
      if i > 0, s.isWord(i - 1, "IS") { continue }
      GrammarBridge.blank(&bytes, s.tokens[i + 2].range.lowerBound..<s.tokens[i + 3].range.upperBound)
      noInheritNotNull.insert(s.tokens[i].range.lowerBound)
    }
  }

  /// `ALTER TABLE [IF EXISTS] [ONLY] name ADD CONSTRAINT n NOT NULL col [NOT VALID] [NO INHERIT]`.
  mutating func readNotNullStatements(_ s: SourceText, _ bytes: inout [UInt8]) {
    var start = 0
    while start < s.tokens.count {
      var end = start
      while end < s.tokens.count, s.tokens[end].kind != .semicolon { end += 1 }
      defer { start = end + 1 }
      var i = start
      guard s.isWord(i, "ALTER"), s.isWord(i + 1, "TABLE") else { continue }
      i += 2
      if s.isWord(i, "IF"), s.isWord(i + 1, "EXISTS") { i += 2 }
      if s.isWord(i, "ONLY") { i += 1 }
      var table = [s.name(of: i)]
      i += 1
      while s.isSymbol(i, "."), i + 1 < end {
        table.append(s.name(of: i + 1))
        i += 2
      }
      guard s.isWord(i, "ADD"), s.isWord(i + 1, "CONSTRAINT"), i + 2 < end, s.isWord(i + 3, "NOT"), s.isWord(i + 4, "NULL"),
        i + 5 < end
      else { continue }
      var statement = NotNullStatement(
        table: table, name: s.name(of: i + 2), column: s.name(of: i + 5), validated: true, noInherit: false,
        location: s.tokens[start].range.lowerBound)
      i += 6
      while i < end {
        if s.isWord(i, "NOT"), s.isWord(i + 1, "VALID") {
          statement.validated = false
          i += 2
        } else if s.isWord(i, "NO"), s.isWord(i + 1, "INHERIT") {
          statement.noInherit = true
          i += 2
        } else {
          break
        }
      }
      guard i == end else { continue }
      notNullStatements.append(statement)
      GrammarBridge.blank(&bytes, s.tokens[start].range.lowerBound..<s.tokens[end - 1].range.upperBound)
    }
  }

  /// Writes `word` over `range`, padded with spaces (the range is never shorter than the word).
  func replace(_ bytes: inout [UInt8], _ range: Range<Int>, with word: String) {
    let new = Array(word.utf8)
    precondition(new.count <= range.count)
    for (k, i) in range.enumerated() { bytes[i] = k < new.count ? new[k] : 0x20 }
  }
}
