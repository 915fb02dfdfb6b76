public import PGPhaseModel
import Yams

/// Reads typed values out of a `YAMLNode` tree, collecting located diagnostics instead of
/// stopping at the first problem. Shared by every YAML file pgphase reads (intents,
/// `.pgphase.yaml`), so they all report problems the same way.
public struct YAMLReader: Sendable {
  public let file: String
  public private(set) var diagnostics: [Diagnostic] = []

  public init(file: String) { self.file = file }

  public mutating func error(_ message: String, at node: YAMLNode, hint: String? = nil) {
    diagnostics.append(.error(message, at: node.location, hint: hint))
  }

  public mutating func error(_ message: String, at location: SourceLocation, hint: String? = nil) {
    diagnostics.append(.error(message, at: location, hint: hint))
  }

  /// Reads a mapping with a fixed set of keys. An unknown key is an error at the key with a
  /// did-you-mean hint; a missing required key is an error at the mapping, unless an unknown
  /// key is its likely misspelling (then the typo is the one error).
  public mutating func mapping(
    _ node: YAMLNode, what: String, allowed: [String], required: [String] = []
  ) -> YAMLFields? {
    guard case .mapping(let entries) = node.content else {
      error("\(what) must be a mapping, found \(Self.describe(node))", at: node)
      return nil
    }
    var fields = YAMLFields(node: node)
    var misspelled: Set<String> = []
    for entry in entries {
      // Keys are matched as written: `on:` is the word, whatever type YAML 1.1 gives it.
      guard let name = entry.key.scalar?.text else {
        error("\(what) keys must be plain names, found \(Self.describe(entry.key))", at: entry.key)
        continue
      }
      if allowed.contains(name) {
        fields.values[name] = entry.value
        fields.keyLocations[name] = entry.key.location
        continue
      }
      if name == "<<" {
        error(
          "YAML merge keys (`<<`) are not supported in \(what)", at: entry.key,
          hint: "write the keys out; an anchor and alias (`&a`, `*a`) may still repeat a whole value")
      } else if let near = Suggest.closest(to: name, in: allowed) {
        misspelled.insert(near)
        error("unknown key `\(Self.excerpt(name))` in \(what)", at: entry.key, hint: "did you mean `\(near)`?")
      } else {
        error(
          "unknown key `\(Self.excerpt(name))` in \(what)", at: entry.key,
          hint: "allowed keys: \(allowed.joined(separator: ", "))")
      }
    }
    for name in required where fields.values[name] == nil && !misspelled.contains(name) {
      error("\(what) is missing required key `\(name)`", at: node)
    }
    return fields
  }

  /// A string: quoted, or a plain scalar that YAML reads as a string. `False`, `12` or
  /// `2024-01-01` unquoted are refused: every other YAML reader (editors, the JSON Schema)
  /// sees a boolean, number or date there, not the text.
  public mutating func string(_ node: YAMLNode?, _ what: String) -> String? {
    guard let node else { return nil }
    guard let scalar = node.scalar else {
      error("\(what) must be a string, found \(Self.describe(node))", at: node)
      return nil
    }
    if scalar.kind == .null || scalar.text.allSatisfy(\.isWhitespace) {
      error("\(what) must not be empty", at: node)
      return nil
    }
    guard scalar.kind == .string else {
      error(
        "\(what) must be a string, found \(Self.describe(node))", at: node,
        hint: "quote it if you mean the text: `'\(Self.excerpt(scalar.text))'`")
      return nil
    }
    return scalar.text
  }

  /// SQL passed through as written. Besides strings, plain numbers and `true`/`false` are
  /// accepted (they are SQL too), but only in the forms where YAML and SQL read the same
  /// value: not `0x1F`, `0o17`, `1_000`, `.inf`, `yes` or a bare date, which YAML reads as
  /// something else than PostgreSQL would.
  public mutating func expression(_ node: YAMLNode?, _ what: String) -> String? {
    guard let node else { return nil }
    guard let scalar = node.scalar, scalar.kind != .string, scalar.kind != .null else { return string(node, what) }
    let text = scalar.text
    let ok: Bool
    switch scalar.kind {
    case .int, .float: ok = Self.isSQLNumber(text)
    case .bool: ok = ["true", "false"].contains(text.lowercased())
    default: ok = false
    }
    if ok { return text }
    error(
      "\(what) is \(Self.describe(node)), which YAML and SQL read differently", at: node,
      hint: "quote the SQL you mean, e.g. `\"'\(Self.excerpt(text))'\"` for a string literal")
    return nil
  }

  /// `12`, `-3`, `1.5`, `.5`, `1e6`: numbers that read the same in YAML and SQL.
  static func isSQLNumber(_ text: String) -> Bool {
    var s = Substring(text)
    if s.first == "-" || s.first == "+" { s = s.dropFirst() }
    let mantissaEnd = s.firstIndex { $0 == "e" || $0 == "E" } ?? s.endIndex
    let mantissa = s[..<mantissaEnd]
    let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count <= 2, parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }), parts.contains(where: { !$0.isEmpty })
    else { return false }
    // A leading zero makes YAML 1.1 read an integer as octal.
    if parts.count == 1, parts[0].count > 1, parts[0].first == "0" { return false }
    if mantissaEnd == s.endIndex { return true }
    var exponent = s[s.index(after: mantissaEnd)...]
    if exponent.first == "-" || exponent.first == "+" { exponent = exponent.dropFirst() }
    return !exponent.isEmpty && exponent.allSatisfy(\.isASCIIDigit)
  }

  public mutating func bool(_ node: YAMLNode?, _ what: String) -> Bool? {
    guard let node else { return nil }
    guard let scalar = node.scalar, scalar.kind == .bool, let value = Bool.construct(from: Node.Scalar(scalar.text)) else {
      error("\(what) must be true or false, found \(Self.describe(node))", at: node)
      return nil
    }
    return value
  }

  public mutating func int(_ node: YAMLNode?, _ what: String, minimum: Int = 1) -> Int? {
    guard let node else { return nil }
    guard let scalar = node.scalar, scalar.kind == .int, let value = Int.construct(from: Node.Scalar(scalar.text)) else {
      error("\(what) must be a whole number, found \(Self.describe(node))", at: node)
      return nil
    }
    guard value >= minimum else {
      error("\(what) must be at least \(minimum), found \(value)", at: node)
      return nil
    }
    return value
  }

  /// The items of a list; `nonEmpty` makes an empty list an error.
  public mutating func sequence(_ node: YAMLNode?, _ what: String, nonEmpty: Bool = true) -> [YAMLNode]? {
    guard let node else { return nil }
    guard case .sequence(let items) = node.content else {
      error("\(what) must be a list, found \(Self.describe(node))", at: node)
      return nil
    }
    if nonEmpty && items.isEmpty {
      error("\(what) must not be empty", at: node)
      return nil
    }
    return items
  }

  /// A non-empty list of strings; nil (with every bad item reported) if any item is not one.
  public mutating func stringList(_ node: YAMLNode?, _ what: String) -> [String]? {
    guard let items = sequence(node, what) else { return nil }
    var out: [String] = []
    var ok = true
    for item in items {
      if let s = string(item, "each item of \(what)") { out.append(s) } else { ok = false }
    }
    return ok ? out : nil
  }

  public mutating func oneOf<E: RawRepresentable & CaseIterable>(_ node: YAMLNode?, _ what: String, as: E.Type) -> E?
  where E.RawValue == String {
    guard let text = string(node, what), let node else { return nil }
    if let value = E(rawValue: text) { return value }
    let names = E.allCases.map(\.rawValue)
    let hint =
      Suggest.closest(to: text, in: names).map { "did you mean `\($0)`?" }
      ?? "one of: \(names.joined(separator: ", "))"
    error("\(what) must be one of \(names.joined(separator: ", ")), found `\(Self.excerpt(text))`", at: node, hint: hint)
    return nil
  }

  /// A node as a message shows it: a scalar's text (cut when long) and its YAML type.
  public static func describe(_ node: YAMLNode) -> String {
    switch node.content {
    case .scalar(let scalar):
      switch scalar.kind {
      case .null: return "nothing (null)"
      case .string: return "`\(excerpt(scalar.text))`"
      case .bool: return "`\(excerpt(scalar.text))` (a YAML boolean)"
      case .int, .float: return "`\(excerpt(scalar.text))` (a YAML number)"
      case .timestamp: return "`\(excerpt(scalar.text))` (a YAML date)"
      }
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    }
  }

  /// Longest value echoed whole in a message, in bytes.
  public static let excerptLimit = 200

  /// A value as messages quote it: on one line, and cut after `excerptLimit` bytes with its
  /// full size, so a megabyte pasted into a field does not come back as a megabyte of error.
  public static func excerpt(_ text: String) -> String {
    var out = ""
    var bytes = 0
    for c in text {
      let piece: String =
        switch c {
        case "\n": "\\n"
        case "\r": "\\r"
        case "\t": "\\t"
        default: String(c)
        }
      if bytes + piece.utf8.count > excerptLimit {
        return out + "… (\(text.utf8.count) bytes)"
      }
      out += piece
      bytes += piece.utf8.count
    }
    return out
  }
}

/// The known keys of one mapping, with their key positions.
public struct YAMLFields: Sendable {
  public let node: YAMLNode
  public var values: [String: YAMLNode] = [:]
  public var keyLocations: [String: SourceLocation] = [:]

  public init(node: YAMLNode) { self.node = node }

  public subscript(_ key: String) -> YAMLNode? { values[key] }
}

extension Character {
  fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
