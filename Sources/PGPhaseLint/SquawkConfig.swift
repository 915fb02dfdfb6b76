public import PGPhaseModel

/// Reads a squawk config (`.squawk.toml`), used when a project has no `.pgphase.yaml`: its
/// `excluded_rules` become pgphase's disabled rules (mapped by `SquawkCompatibility`),
/// `pg_version` the server version, `assume_in_transaction` `transactional_files`, and
/// `excluded_paths` the excluded paths. Only these keys are read: squawk's config is small, and
/// pgphase has no TOML library, so this reads the subset squawk documents (strings, booleans and
/// arrays of strings, `#` comments, tables such as `[upload_to_github]` skipped).
public enum SquawkConfig {
  /// The names squawk looks for, in order.
  public static let fileNames = [".squawk.toml", "squawk.toml"]

  /// The config, and warnings for excluded squawk rules pgphase has no equivalent of.
  public static func parse(_ text: String, file: String) throws(DiagnosticsError) -> (LintConfig, [Diagnostic]) {
    var config = LintConfig()
    var problems: [Diagnostic] = []
    var warnings: [Diagnostic] = []
    var table = ""
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var index = 0
    while index < lines.count {
      let lineNumber = index + 1
      var line = stripComment(lines[index])
      index += 1
      let trimmed = line.trimmingSpaces
      if trimmed.isEmpty { continue }
      if trimmed.hasPrefix("[") {
        table = trimmed
        continue
      }
      guard table.isEmpty else { continue }
      guard let equals = line.firstIndex(of: "=") else {
        problems.append(.error("expected `key = value`", at: SourceLocation(file: file, line: lineNumber, column: 1)))
        continue
      }
      let key = String(line[..<equals]).trimmingSpaces
      var value = String(line[line.index(after: equals)...]).trimmingSpaces
      // Arrays may span lines.
      while value.hasPrefix("["), !value.hasSuffix("]"), index < lines.count {
        line = stripComment(lines[index])
        index += 1
        value += " " + line.trimmingSpaces
      }
      let at = SourceLocation(file: file, line: lineNumber, column: 1)
      switch key {
      case "excluded_rules":
        guard let names = stringArray(value) else {
          problems.append(.error("'excluded_rules' must be an array of rule names", at: at))
          continue
        }
        for name in names {
          if let rules = SquawkCompatibility.rules(for: name) {
            config.disable += rules
          } else {
            warnings.append(Diagnostic(.warning, "squawk rule '\(name)' has no pgphase equivalent; nothing to exclude", at: at))
          }
        }
      case "pg_version":
        guard let text = string(value), let major = Int(text.split(separator: ".").first ?? "") else {
          problems.append(.error("'pg_version' must be a version string such as \"13.0\"", at: at))
          continue
        }
        config.pgVersion = major
      case "assume_in_transaction":
        guard value == "true" || value == "false" else {
          problems.append(.error("'assume_in_transaction' must be true or false", at: at))
          continue
        }
        config.transactionalFiles = value == "true"
      case "excluded_paths":
        guard let paths = stringArray(value) else {
          problems.append(.error("'excluded_paths' must be an array of paths", at: at))
          continue
        }
        config.exclude += paths
      default:
        continue  // squawk settings pgphase has no use for
      }
    }
    if !problems.isEmpty { throw DiagnosticsError(problems) }
    return (config, warnings)
  }

  private static func stripComment(_ line: String) -> String {
    var inString: Character?
    for (i, c) in zip(line.indices, line) {
      if let quote = inString {
        if c == quote { inString = nil }
      } else if c == "\"" || c == "'" {
        inString = c
      } else if c == "#" {
        return String(line[..<i])
      }
    }
    return line
  }

  private static func string(_ value: String) -> String? {
    guard value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first else { return nil }
    return String(value.dropFirst().dropLast())
  }

  private static func stringArray(_ value: String) -> [String]? {
    guard value.hasPrefix("["), value.hasSuffix("]") else { return nil }
    let inner = value.dropFirst().dropLast()
    var items: [String] = []
    for part in inner.split(separator: ",") {
      let item = String(part).trimmingSpaces
      if item.isEmpty { continue }
      guard let s = string(item) else { return nil }
      items.append(s)
    }
    return items
  }
}

extension String {
  fileprivate var trimmingSpaces: String {
    var s = Substring(self)
    while let c = s.first, c == " " || c == "\t" || c == "\r" { s.removeFirst() }
    while let c = s.last, c == " " || c == "\t" || c == "\r" { s.removeLast() }
    return String(s)
  }
}
