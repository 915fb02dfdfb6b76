import PGPhaseModel
import Yams

/// Walks a composed YAML tree, reading typed values and collecting located diagnostics
/// instead of stopping at the first problem.
struct NodeReader {
  let file: String
  private(set) var diagnostics: [Diagnostic] = []

  init(file: String) { self.file = file }

  func location(_ node: Node) -> SourceLocation {
    let mark = node.mark
    return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
  }

  mutating func error(_ message: String, at node: Node, hint: String? = nil) {
    diagnostics.append(.error(message, at: location(node), hint: hint))
  }

  mutating func error(_ message: String, at location: SourceLocation, hint: String? = nil) {
    diagnostics.append(.error(message, at: location, hint: hint))
  }

  /// Reads a mapping with a fixed set of keys. Unknown keys are errors with a did-you-mean hint;
  /// missing required keys are errors at the mapping. Returns the known keys' nodes.
  mutating func mapping(
    _ node: Node, what: String, allowed: [String], required: [String] = []
  ) -> Fields? {
    guard case .mapping(let mapping) = node else {
      error("\(what) must be a mapping, found \(describe(node))", at: node)
      return nil
    }
    var fields = Fields(node: node)
    for (key, value) in mapping {
      guard let name = key.scalar?.string else {
        error("\(what) keys must be plain strings", at: key)
        continue
      }
      if allowed.contains(name) {
        fields.values[name] = value
        fields.keyLocations[name] = location(key)
      } else {
        let hint =
          Suggest.closest(to: name, in: allowed).map { "did you mean `\($0)`?" }
          ?? "allowed keys: \(allowed.joined(separator: ", "))"
        error("unknown key `\(name)` in \(what)", at: key, hint: hint)
      }
    }
    for name in required where fields.values[name] == nil {
      error("\(what) is missing required key `\(name)`", at: node)
    }
    return fields
  }

  mutating func string(_ node: Node?, _ what: String) -> String? {
    guard let node else { return nil }
    guard case .scalar(let scalar) = node else {
      error("\(what) must be a string, found \(describe(node))", at: node)
      return nil
    }
    if scalar.style == .plain, node.null != nil {
      error("\(what) must not be empty", at: node)
      return nil
    }
    if scalar.string.allSatisfy(\.isWhitespace) {
      error("\(what) must not be empty", at: node)
      return nil
    }
    return scalar.string
  }

  mutating func bool(_ node: Node?, _ what: String) -> Bool? {
    guard let node else { return nil }
    guard case .scalar = node, let value = node.bool else {
      error("\(what) must be true or false, found \(describe(node))", at: node)
      return nil
    }
    return value
  }

  mutating func int(_ node: Node?, _ what: String, minimum: Int = 1) -> Int? {
    guard let node else { return nil }
    guard case .scalar = node, let value = node.int else {
      error("\(what) must be a whole number, found \(describe(node))", at: node)
      return nil
    }
    guard value >= minimum else {
      error("\(what) must be at least \(minimum), found \(value)", at: node)
      return nil
    }
    return value
  }

  mutating func stringList(_ node: Node?, _ what: String) -> [String]? {
    guard let node else { return nil }
    guard case .sequence(let sequence) = node else {
      error("\(what) must be a list, found \(describe(node))", at: node)
      return nil
    }
    if sequence.isEmpty {
      error("\(what) must not be empty", at: node)
      return nil
    }
    var out: [String] = []
    var ok = true
    for item in sequence {
      if let s = string(item, "each item of \(what)") { out.append(s) } else { ok = false }
    }
    return ok ? out : nil
  }

  mutating func oneOf<E: RawRepresentable & CaseIterable>(_ node: Node?, _ what: String, as: E.Type) -> E?
  where E.RawValue == String {
    guard let text = string(node, what), let node else { return nil }
    if let value = E(rawValue: text) { return value }
    let names = E.allCases.map(\.rawValue)
    let hint =
      Suggest.closest(to: text, in: names).map { "did you mean `\($0)`?" }
      ?? "one of: \(names.joined(separator: ", "))"
    error("\(what) must be one of \(names.joined(separator: ", ")), found `\(text)`", at: node, hint: hint)
    return nil
  }

  func describe(_ node: Node) -> String {
    switch node {
    case .scalar(let scalar):
      if scalar.style == .plain, node.null != nil { return "nothing (null)" }
      return "`\(scalar.string)`"
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    case .alias: return "an alias"
    }
  }
}

/// The known keys of one mapping, with their key positions.
struct Fields {
  let node: Node
  var values: [String: Node] = [:]
  var keyLocations: [String: SourceLocation] = [:]

  subscript(_ key: String) -> Node? { values[key] }
}

/// Did-you-mean suggestions by edit distance.
enum Suggest {
  static func closest(to word: String, in candidates: [String]) -> String? {
    let scored = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
    let limit = max(2, word.count / 3)
    return best.1 <= limit ? best.0 : nil
  }

  /// Levenshtein distance.
  static func distance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      current[0] = i
      for j in 1...b.count {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
      }
      swap(&previous, &current)
    }
    return previous[b.count]
  }
}
