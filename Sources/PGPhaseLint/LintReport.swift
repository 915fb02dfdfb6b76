import Foundation
import PGPhaseModel

/// The findings of a run and their renderings: text, JSON, GitHub workflow commands and SARIF.
public struct LintReport: Sendable {
  public static let toolVersion = "0.1.0"
  public static let informationURI = "https://github.com/pgphase/pgphase"

  public var findings: [Finding]
  /// Files linted, for SARIF's artifacts and the JSON summary.
  public var files: [String]

  /// Text printed before the findings (`lint --trace` puts its per-statement measurements here).
  public var preamble = ""
  /// More members of the JSON report, as rendered JSON values (`lint --trace` adds `trace`).
  public var extraJSON: [(key: String, json: String)] = []

  public init(findings: [Finding], files: [String]) {
    self.findings = findings
    self.files = files
  }

  public var errorCount: Int { findings.filter { $0.severity == .error }.count }
  public var warningCount: Int { findings.filter { $0.severity == .warning }.count }
  public var hasParseErrors: Bool { findings.contains { $0.rule == .parseError && $0.severity == .error } }

  /// 0 clean (warnings allowed), 1 findings at error severity, 2 a file did not parse.
  public var exitCode: Int32 {
    if hasParseErrors { return 2 }
    return errorCount > 0 ? 1 : 0
  }

  public enum Format: String, Sendable, CaseIterable {
    case text, json, github, sarif
  }

  public func render(_ format: Format, color: Bool = false) -> String {
    switch format {
    case .text: text(color: color)
    case .json: json()
    case .github: github()
    case .sarif: sarif()
    }
  }

  // MARK: text

  public func text(color: Bool) -> String {
    func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    var out = preamble
    for f in findings {
      let severity = paint(f.severity.rawValue, f.severity == .error ? "1;31" : "1;33")
      out += "\(paint(f.location.description, "1")): \(severity)[\(f.rule.rawValue)]: \(f.message)\n"
      if let help = f.help {
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false)
        out += "  \(paint("help:", "1;36")) \(lines[0])\n"
        for line in lines.dropFirst() { out += "        \(line)\n" }
      }
    }
    let files = self.files.count == 1 ? "1 file" : "\(self.files.count) files"
    out +=
      findings.isEmpty
      ? "\(files) checked, no problems\n" : "\(files) checked: \(errorCount) error(s), \(warningCount) warning(s)\n"
    return out
  }

  // MARK: json

  /// Schema: docs/rules/README.md.
  public func json() -> String {
    // The findings array, rendered in chunks on all cores (a run over thousands of files has
    // thousands of findings), exactly as `JSONOut.array` writes it at this depth.
    let findings = self.findings
    let chunks = JSONOut.renderedConcurrently(count: findings.count) { i, out in
      let f = findings[i]
      out += "    "
      out += JSONOut.object([
        ("rule", .string(f.rule.rawValue)), ("severity", .string(f.severity.rawValue)), ("message", .string(f.message)),
        ("help", .optional(f.help)), ("lock", .optional(f.lock?.rawValue)),
        ("file", .string(f.location.file)), ("line", .int(f.location.line)), ("column", .int(f.location.column)),
      ]).fragment(indent: 4)
      out += i + 1 < findings.count ? ",\n" : "\n"
    }
    // The rest is rendered around a NUL (which JSON text never holds raw) and the findings are
    // put in its place, in one string of the final size: joining the chunks, then copying the
    // result into the object's rendering, then into a String, copied megabytes three times more
    // (each into freshly mapped pages: a third of a large lint's page faults).
    let envelope = JSONOut.object(
      [
        ("version", .int(1)), ("files", .array(files.map { .string($0) })), ("findings", .raw("\u{0}")),
        ("summary", .object([("errors", .int(errorCount)), ("warnings", .int(warningCount))])),
      ] + extraJSON.map { ($0.key, JSONOut.raw($0.json)) }
    ).rendered()
    guard let marker = envelope.utf8.firstIndex(of: 0) else { return envelope }
    var out = ""
    out.reserveCapacity(envelope.utf8.count + chunks.reduce(8) { $0 + $1.utf8.count })
    out += envelope[..<marker]
    if findings.isEmpty {
      out += "[]"
    } else {
      out += "[\n"
      for chunk in chunks { out += chunk }
      out += "  ]"
    }
    out += envelope[envelope.utf8.index(after: marker)...]
    return out
  }

  // MARK: github

  public func github() -> String {
    func escapeData(_ s: String) -> String {
      s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(
        of: "\n", with: "%0A")
    }
    func escapeProperty(_ s: String) -> String {
      escapeData(s).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }
    var out = ""
    for f in findings {
      let command = f.severity == .error ? "error" : (f.severity == .warning ? "warning" : "notice")
      var message = f.message
      if let help = f.help { message += "\n\nSafer:\n" + help }
      out +=
        "::\(command) file=\(escapeProperty(f.location.file)),line=\(f.location.line),col=\(f.location.column),title=\(escapeProperty("pgphase " + f.rule.rawValue))::\(escapeData(message))\n"
    }
    return out
  }

  // MARK: sarif

  /// SARIF 2.1.0, as GitHub code scanning accepts it. Columns count Unicode code points
  /// (`columnKind: unicodeCodePoints`), the same as our text output.
  public func sarif() -> String {
    let rules = Rule.allCases
    let ruleIndex = Dictionary(uniqueKeysWithValues: rules.enumerated().map { ($1, $0) })
    let ruleObjects: [JSONOut] = rules.map { rule in
      .object([
        ("id", .string(rule.rawValue)),
        ("name", .string(rule.rawValue.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined())),
        ("shortDescription", .object([("text", .string(rule.summary))])),
        ("fullDescription", .object([("text", .string(rule.rationale))])),
        (
          "help",
          .object([("text", .string("Safer:\n" + rule.alternative)), ("markdown", .string(RuleDocs.markdown(for: rule)))])
        ),
        ("helpUri", .string("\(Self.informationURI)/blob/main/docs/rules/\(rule.rawValue).md")),
        (
          "defaultConfiguration",
          .object([("enabled", .bool(rule.enabledByDefault)), ("level", .string(Self.sarifLevel(rule.defaultSeverity)))])
        ),
        ("properties", .object([("tags", .array(rule.lock.map { [.string("lock:" + $0.rawValue)] } ?? []))])),
      ])
    }
    var uris: [String: String] = [:]
    func uri(_ file: String) -> String {
      if let u = uris[file] { return u }
      let u = Self.uri(file)
      uris[file] = u
      return u
    }
    let results: [JSONOut] = findings.map { f in
      var message = f.message
      if let help = f.help { message += "\nSafer:\n" + help }
      return .object([
        ("ruleId", .string(f.rule.rawValue)),
        ("ruleIndex", .int(ruleIndex[f.rule] ?? 0)),
        ("level", .string(Self.sarifLevel(f.severity))),
        ("message", .object([("text", .string(message))])),
        (
          "locations",
          .array([
            .object([
              (
                "physicalLocation",
                .object([
                  ("artifactLocation", .object([("uri", .string(uri(f.location.file)))])),
                  (
                    "region",
                    .object([("startLine", .int(max(1, f.location.line))), ("startColumn", .int(max(1, f.location.column)))])
                  ),
                ])
              )
            ])
          ])
        ),
      ])
    }
    let run: JSONOut = .object([
      (
        "tool",
        .object([
          (
            "driver",
            .object([
              ("name", .string("pgphase")), ("version", .string(Self.toolVersion)),
              ("semanticVersion", .string(Self.toolVersion)),
              ("informationUri", .string(Self.informationURI)), ("rules", .array(ruleObjects)),
            ])
          )
        ])
      ),
      ("columnKind", .string("unicodeCodePoints")),
      ("artifacts", .array(files.map { .object([("location", .object([("uri", .string(uri($0)))]))]) })),
      ("results", .array(results)),
    ])
    return JSONOut.object([
      ("$schema", .string("https://json.schemastore.org/sarif-2.1.0.json")),
      ("version", .string("2.1.0")),
      ("runs", .array([run])),
    ]).rendered()
  }

  static func sarifLevel(_ severity: Diagnostic.Severity) -> String {
    switch severity {
    case .error: "error"
    case .warning: "warning"
    case .note: "note"
    }
  }

  /// A relative path as a URI reference (percent-encoded); absolute paths become file:// URIs.
  static func uri(_ path: String) -> String {
    var allowed = CharacterSet.urlPathAllowed
    allowed.remove(charactersIn: "?#[]@")
    let encoded = path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
    var trimmed = encoded
    while trimmed.hasPrefix("./") { trimmed.removeFirst(2) }
    return path.hasPrefix("/") ? "file://" + encoded : trimmed
  }
}
