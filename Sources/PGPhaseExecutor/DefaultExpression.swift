import Foundation

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
