import PGPhaseModel

/// `-- pgphase:ignore RULE[, RULE] reason` (for one statement: the one the comment is on, or else
/// the next one) and `-- pgphase:ignore-file RULE[, RULE] reason` (the whole file). An ignore that
/// suppresses nothing is itself reported, as `unused-ignore`.
struct IgnoreComments {
  struct Comment {
    var rules: [String]
    var fileWide: Bool
    var location: SourceLocation
    /// The statement it applies to (nil for file-wide, or when no statement follows).
    var statement: Int?
  }

  var comments: [Comment] = []
  let options: LintOptions

  init(source: SQLSource, statements: [ParsedStatement], options: LintOptions) {
    self.options = options
    let bytes = source.bytes
    let marker = Array("pgphase:ignore".utf8)
    // Cheap pre-check: most files have no ignore comments at all.
    guard Self.contains(bytes, marker) else { return }
    let spans = statements.map { (source.line(ofByte: $0.start), source.line(ofByte: max($0.start, $0.end - 1)), $0.start) }
    for (lineIndex, lineStart) in source.lineStarts.enumerated() {
      let lineEnd = lineIndex + 1 < source.lineStarts.count ? source.lineStarts[lineIndex + 1] : bytes.count
      var i = lineStart
      // Find "--" on this line.
      var found: Int?
      while i + 1 < lineEnd {
        if bytes[i] == UInt8(ascii: "-"), bytes[i + 1] == UInt8(ascii: "-") {
          found = i
          break
        }
        i += 1
      }
      guard let dash = found else { continue }
      var j = dash + 2
      while j < lineEnd, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
      guard j + marker.count <= lineEnd, Array(bytes[j..<(j + marker.count)]) == marker else { continue }
      j += marker.count
      var fileWide = false
      let fileSuffix = Array("-file".utf8)
      if j + fileSuffix.count <= lineEnd, Array(bytes[j..<(j + fileSuffix.count)]) == fileSuffix {
        fileWide = true
        j += fileSuffix.count
      }
      // RULE[, RULE]...; the rest of the line is the reason.
      var rules: [String] = []
      while true {
        while j < lineEnd, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
        let start = j
        while j < lineEnd,
          (bytes[j] >= 0x61 && bytes[j] <= 0x7A) || (bytes[j] >= 0x30 && bytes[j] <= 0x39) || bytes[j] == UInt8(ascii: "-")
            || (bytes[j] >= 0x41 && bytes[j] <= 0x5A)
        {
          j += 1
        }
        if j > start { rules.append(String(decoding: bytes[start..<j], as: UTF8.self)) }
        var k = j
        while k < lineEnd, bytes[k] == 0x20 || bytes[k] == 0x09 { k += 1 }
        if k < lineEnd, bytes[k] == UInt8(ascii: ",") {
          j = k + 1
        } else {
          break
        }
      }
      let line = lineIndex + 1
      var statement: Int?
      if !fileWide {
        statement = spans.firstIndex { $0.0 <= line && line <= $0.1 } ?? spans.firstIndex { $0.2 > dash }
      }
      comments.append(Comment(rules: rules, fileWide: fileWide, location: source.location(ofByte: dash), statement: statement))
    }
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
  func apply(to findings: [Finding], statements: [Int]) -> [Finding] {
    guard !comments.isEmpty else { return findings }
    var used = Array(repeating: Set<String>(), count: comments.count)
    var kept: [Finding] = []
    for (finding, statement) in zip(findings, statements) {
      var suppressed = false
      if !finding.rule.isMeta {
        for (index, comment) in comments.enumerated() where comment.rules.contains(finding.rule.rawValue) {
          if comment.fileWide || comment.statement == statement {
            used[index].insert(finding.rule.rawValue)
            suppressed = true
          }
        }
      }
      if !suppressed { kept.append(finding) }
    }
    for (index, comment) in comments.enumerated() {
      let form = comment.fileWide ? "pgphase:ignore-file" : "pgphase:ignore"
      if comment.rules.isEmpty {
        kept.append(unused(comment, "\(form) names no rule", help: "-- \(form) RULE[, RULE] reason"))
      }
      for rule in comment.rules where !used[index].contains(rule) {
        guard let known = Rule(rawValue: rule), !known.isMeta else {
          kept.append(
            unused(comment, "\(form) names unknown rule '\(rule)'", help: "`pgphase lint --list-rules` lists the rule ids"))
          continue
        }
        // A rule the config turned off cannot fire; an ignore for it is not stale.
        guard options.enabledRules.contains(known) else { continue }
        kept.append(unused(comment, "\(form) \(rule) suppresses nothing", help: Rule.unusedIgnore.alternative))
      }
    }
    return kept
  }

  private func unused(_ comment: Comment, _ message: String, help: String) -> Finding {
    Finding(rule: .unusedIgnore, severity: .warning, message: message, help: help, location: comment.location, lock: nil)
  }
}
