import PGPhaseModel
import PGPhaseSQL

/// The directives a file gives in its comments, read from PostgreSQL's scanner, so only real SQL
/// comments count (never `--` inside a string or a dollar-quoted body):
///
/// - `-- pgphase:ignore RULE[, RULE] reason` (for one statement: the one the comment is on, or else
///   the next one) and `-- pgphase:ignore-file RULE[, RULE] reason` (the whole file). An ignore
///   that suppresses nothing is itself reported, as `unused-ignore`.
/// - squawk's `-- squawk-ignore rule[,rule]` and `-- squawk-ignore-file [rule,...]`, mapped to the
///   equivalent pgphase rules (`SquawkCompatibility`); a squawk rule with no equivalent is
///   reported as a warning.
/// - `-- pgphase:no-transaction` / `-- pgphase:transaction`: whether the runner wraps this file in
///   a transaction, overriding the config.
struct FileDirectives {
  struct Ignore {
    /// Rule ids as written (pgphase) or the pgphase rules they map to (squawk).
    var rules: [String]
    var fileWide: Bool
    /// A squawk comment: ignores all rules when `rules` is empty (file-wide only), and is not
    /// reported when it suppresses nothing (pgphase may not flag what squawk did).
    var fromSquawk: Bool
    var location: SourceLocation
    /// The statement it applies to (nil for file-wide, or when no statement follows).
    var statement: Int?
  }

  var ignores: [Ignore] = []
  /// Set by `-- pgphase:no-transaction` (false) or `-- pgphase:transaction` (true).
  var transaction: Bool?
  /// Warnings about the directives themselves (an unmapped squawk rule).
  var problems: [Finding] = []

  init() {}

  init(source: SQLSource, statements: [ParsedStatement]) {
    // Cheap pre-check: most files have no directive at all.
    guard Self.contains(source.bytes, Array("pgphase:".utf8)) || Self.contains(source.bytes, Array("squawk-ignore".utf8))
    else { return }
    let spans = statements.map { (source.line(ofByte: $0.start), source.line(ofByte: max($0.start, $0.end - 1)), $0.start) }
    for comment in SQLScanner.comments(source.text) {
      let text = Self.commentText(source.text(comment.range), kind: comment.kind)
      let location = source.location(ofByte: comment.range.lowerBound)
      let line = location.line
      let statement =
        spans.firstIndex { $0.0 <= line && line <= $0.1 } ?? spans.firstIndex { $0.2 >= comment.range.upperBound }
      read(text, location: location, statement: statement)
    }
  }

  /// The text between `--` and the end of the line, or inside `/* */`, trimmed.
  static func commentText(_ raw: String, kind: SQLToken.Kind) -> Substring {
    var text = Substring(raw)
    if kind == .lineComment {
      text = text.dropFirst(2)
    } else {
      text = text.dropFirst(2)
      if text.hasSuffix("*/") { text = text.dropLast(2) }
    }
    return text.drop { $0 == " " || $0 == "\t" }
  }

  private mutating func read(_ text: Substring, location: SourceLocation, statement: Int?) {
    func words(after prefix: String) -> (rules: [String], rest: Substring)? {
      guard text.hasPrefix(prefix) else { return nil }
      let rest = text.dropFirst(prefix.count)
      guard rest.isEmpty || rest.first == " " || rest.first == "\t" || rest.first == "," else { return nil }
      return Self.ruleList(rest)
    }
    if text.hasPrefix("pgphase:no-transaction") {
      transaction = false
    } else if text.hasPrefix("pgphase:transaction") {
      transaction = true
    } else if let (rules, _) = words(after: "pgphase:ignore-file") {
      ignores.append(Ignore(rules: rules, fileWide: true, fromSquawk: false, location: location, statement: nil))
    } else if let (rules, _) = words(after: "pgphase:ignore") {
      ignores.append(Ignore(rules: rules, fileWide: false, fromSquawk: false, location: location, statement: statement))
    } else if let (names, _) = words(after: "squawk-ignore-file") {
      ignores.append(
        Ignore(rules: mapSquawk(names, location), fileWide: true, fromSquawk: true, location: location, statement: nil))
    } else if let (names, _) = words(after: "squawk-ignore") {
      let rules = mapSquawk(names, location)
      guard !names.isEmpty else { return }
      ignores.append(Ignore(rules: rules, fileWide: false, fromSquawk: true, location: location, statement: statement))
    }
  }

  private mutating func mapSquawk(_ names: [String], _ location: SourceLocation) -> [String] {
    var rules: [String] = []
    for name in names {
      if let mapped = SquawkCompatibility.rules(for: name) {
        rules += mapped.map(\.rawValue)
      } else {
        problems.append(
          Finding(
            rule: .unusedIgnore, severity: .warning,
            message: "squawk rule '\(name)' has no pgphase equivalent; this squawk-ignore suppresses nothing for it",
            help: SquawkCompatibility.unmapped[name] ?? "docs/rules/squawk.md lists how squawk's rules map to pgphase's",
            location: location, lock: nil))
      }
    }
    return rules
  }

  /// `RULE[, RULE]...` at the start of `text`; the rest is the reason.
  static func ruleList(_ text: Substring) -> (rules: [String], rest: Substring) {
    var rules: [String] = []
    var rest = text
    while true {
      rest = rest.drop { $0 == " " || $0 == "\t" }
      let word = rest.prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
      guard !word.isEmpty else { break }
      rules.append(String(word))
      rest = rest.dropFirst(word.count)
      let afterSpace = rest.drop { $0 == " " || $0 == "\t" }
      guard afterSpace.first == "," else { break }
      rest = afterSpace.dropFirst()
    }
    return (rules, rest)
  }

  static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
    guard bytes.count >= needle.count, let first = needle.first else { return false }
    var i = 0
    let last = bytes.count - needle.count
    while i <= last {
      if bytes[i] == first {
        var j = 1
        while j < needle.count, bytes[i + j] == needle[j] { j += 1 }
        if j == needle.count { return true }
      }
      i += 1
    }
    return false
  }

  /// Drops ignored findings and adds `unused-ignore` warnings.
  func apply(to findings: [Finding], statements: [Int], options: LintOptions) -> [Finding] {
    guard !ignores.isEmpty || !problems.isEmpty else { return findings }
    var used = Array(repeating: Set<String>(), count: ignores.count)
    var kept: [Finding] = []
    for (finding, statement) in zip(findings, statements) {
      var suppressed = false
      if !finding.rule.isMeta {
        for (index, ignore) in ignores.enumerated()
        where ignore.rules.contains(finding.rule.rawValue) || (ignore.fromSquawk && ignore.fileWide && ignore.rules.isEmpty) {
          if ignore.fileWide || ignore.statement == statement {
            used[index].insert(finding.rule.rawValue)
            suppressed = true
          }
        }
      }
      if !suppressed { kept.append(finding) }
    }
    kept += problems
    for (index, ignore) in ignores.enumerated() where !ignore.fromSquawk {
      let form = ignore.fileWide ? "pgphase:ignore-file" : "pgphase:ignore"
      if ignore.rules.isEmpty {
        kept.append(unused(ignore, "\(form) names no rule", help: "-- \(form) RULE[, RULE] reason"))
      }
      for rule in ignore.rules where !used[index].contains(rule) {
        guard let known = Rule(rawValue: rule), !known.isMeta else {
          kept.append(
            unused(ignore, "\(form) names unknown rule '\(rule)'", help: "`pgphase lint --list-rules` lists the rule ids"))
          continue
        }
        // A rule the config turned off cannot fire; an ignore for it is not stale.
        guard options.enabledRules.contains(known) else { continue }
        kept.append(unused(ignore, "\(form) \(rule) suppresses nothing", help: Rule.unusedIgnore.alternative))
      }
    }
    return kept
  }

  private func unused(_ ignore: Ignore, _ message: String, help: String) -> Finding {
    Finding(rule: .unusedIgnore, severity: .warning, message: message, help: help, location: ignore.location, lock: nil)
  }
}
