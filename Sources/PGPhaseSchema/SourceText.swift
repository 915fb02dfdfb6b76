import PGPhaseSQL

/// A schema file's text with its tokens, for taking the exact source text of a clause: the parse
/// tree says what a statement is, but not where its expressions end, and a snapshot keeps
/// expressions as written.
struct SourceText {
  let source: SQLSource
  /// Every token but comments, in order.
  let tokens: [SQLToken]

  init(_ source: SQLSource, tokens: [SQLToken]) {
    self.source = source
    self.tokens = tokens.filter { !$0.isComment }
  }

  var byteCount: Int { source.bytes.count }

  func text(_ range: Range<Int>) -> String { source.text(range) }

  func text(of token: Int) -> String { source.text(tokens[token].range) }

  /// The index of the first token starting at or after `offset` (`tokens.count` when none).
  func token(atOrAfter offset: Int) -> Int {
    var lo = 0
    var hi = tokens.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if tokens[mid].range.lowerBound < offset { lo = mid + 1 } else { hi = mid }
    }
    return lo
  }

  /// Whether token `i` is the keyword (or unreserved word) `word`, in any case.
  func isWord(_ i: Int, _ word: String) -> Bool {
    guard i < tokens.count, tokens[i].kind == .keyword || tokens[i].kind == .identifier else { return false }
    let text = source.bytes[tokens[i].range]
    guard text.count == word.utf8.count else { return false }
    return zip(text, word.utf8).allSatisfy { a, b in a == b || (a >= 0x61 && a <= 0x7A && a - 0x20 == b) }
  }

  func isSymbol(_ i: Int, _ symbol: String) -> Bool {
    i < tokens.count && source.bytes[tokens[i].range].elementsEqual(symbol.utf8)
  }

  /// +1 for `(` and `[`, -1 for `)` and `]`, else 0.
  func depthChange(_ i: Int) -> Int {
    switch tokens[i].kind {
    case .openParen: return 1
    case .closeParen: return -1
    case .other:
      if isSymbol(i, "[") { return 1 }
      if isSymbol(i, "]") { return -1 }
      return 0
    default: return 0
    }
  }

  /// The index of the token that closes the group opened by token `open`.
  func closing(_ open: Int) -> Int? {
    var depth = 0
    var i = open
    while i < tokens.count {
      depth += depthChange(i)
      if depth == 0 { return i }
      i += 1
    }
    return nil
  }

  /// The first token in `from..<limit` at the starting nesting depth that satisfies `predicate`;
  /// nil when the group the search started in closes first.
  func firstTopLevel(from: Int, limit: Int, where predicate: (Int) -> Bool) -> Int? {
    var depth = 0
    var i = from
    while i < tokens.count, tokens[i].range.lowerBound < limit {
      if depth == 0, predicate(i) { return i }
      depth += depthChange(i)
      if depth < 0 { return nil }
      i += 1
    }
    return nil
  }

  /// The end (byte offset) of a list element starting at `offset`: its top-level comma, or the
  /// parenthesis closing its list, or `limit`.
  func elementEnd(from offset: Int, limit: Int) -> Int {
    var depth = 0
    var i = token(atOrAfter: offset)
    while i < tokens.count, tokens[i].range.lowerBound < limit {
      let change = depthChange(i)
      if depth == 0 && (tokens[i].kind == .comma || change < 0 || tokens[i].kind == .semicolon) {
        return tokens[i].range.lowerBound
      }
      depth += change
      i += 1
    }
    return limit
  }

  /// The byte ranges of the top-level elements inside the group opened by token `open`.
  func elements(ofGroupAt open: Int) -> [Range<Int>] {
    guard let close = closing(open) else { return [] }
    var out: [Range<Int>] = []
    var start = tokens[open].range.upperBound
    var depth = 0
    for i in (open + 1)..<close {
      if depth == 0, tokens[i].kind == .comma {
        out.append(start..<tokens[i].range.lowerBound)
        start = tokens[i].range.upperBound
      }
      depth += depthChange(i)
    }
    out.append(start..<tokens[close].range.lowerBound)
    return out.filter { !span($0).isEmpty }
  }

  /// The part of `range` from its first token's start to its last token's end (no surrounding
  /// whitespace or comments); empty when it holds no token.
  func span(_ range: Range<Int>) -> Range<Int> {
    let first = token(atOrAfter: range.lowerBound)
    guard first < tokens.count, tokens[first].range.upperBound <= range.upperBound else {
      return range.lowerBound..<range.lowerBound
    }
    var last = first
    while last + 1 < tokens.count, tokens[last + 1].range.upperBound <= range.upperBound { last += 1 }
    return tokens[first].range.lowerBound..<tokens[last].range.upperBound
  }

  /// `text(span(range))`.
  func spanText(_ range: Range<Int>) -> String { text(span(range)) }

  /// The contents of the parenthesised group starting at the first `(` at or after `offset`.
  func groupContents(from offset: Int, limit: Int) -> Range<Int>? {
    var i = token(atOrAfter: offset)
    while i < tokens.count, tokens[i].range.lowerBound < limit, tokens[i].kind != .openParen { i += 1 }
    guard i < tokens.count, tokens[i].kind == .openParen, let close = closing(i) else { return nil }
    return tokens[i].range.upperBound..<tokens[close].range.lowerBound
  }

  /// The name a token spells: a quoted identifier unquoted, anything else folded to lower case as
  /// PostgreSQL folds unquoted names (ASCII letters only).
  func name(of i: Int) -> String {
    SourceText.identifierValue(text(of: i))
  }

  static func identifierValue(_ text: String) -> String {
    if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 {
      var inner = String(text.dropFirst().dropLast())
      inner = inner.replacing("\"\"", with: "\"")
      return inner
    }
    return String(
      String.UnicodeScalarView(
        text.unicodeScalars.map { ($0.value >= 0x41 && $0.value <= 0x5A) ? Unicode.Scalar($0.value + 0x20)! : $0 }))
  }
}
