import Foundation
import PGPhaseLint
import PGPhaseModel
import Testing

@Suite struct ReportTests {
  let report = LintReport(
    findings: Linter.lint(sql: "-- x\nCREATE INDEX i ON orders (a);", file: "db/001 init.sql"), files: ["db/001 init.sql"])

  @Test func textHasLocationRuleAndHelp() {
    let text = report.text(color: false)
    #expect(text.hasPrefix("db/001 init.sql:2:1: error[require-concurrent-index]: CREATE INDEX on existing table orders"))
    #expect(text.contains("\n  help: CREATE INDEX CONCURRENTLY i ON orders (a);"))
    #expect(!text.contains("\u{1B}["))
    #expect(report.text(color: true).contains("\u{1B}["))
  }

  @Test func jsonIsOneBased() throws {
    let object = try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as! [String: Any]
    let findings = object["findings"] as! [[String: Any]]
    #expect(findings.count == 1)
    #expect(findings[0]["line"] as? Int == 2)
    #expect(findings[0]["column"] as? Int == 1)
    #expect(findings[0]["rule"] as? String == "require-concurrent-index")
    #expect(findings[0]["lock"] as? String == "SHARE")
  }

  @Test func githubWorkflowCommands() {
    let out = report.github()
    #expect(out.hasPrefix("::error file=db/001 init.sql,line=2,col=1,title=pgphase require-concurrent-index::CREATE INDEX"))
    #expect(!out.dropLast().contains("\n"))
  }

  @Test func sarifHasRulesAndRegions() throws {
    let object = try JSONSerialization.jsonObject(with: Data(report.sarif().utf8)) as! [String: Any]
    #expect(object["version"] as? String == "2.1.0")
    let run = (object["runs"] as! [[String: Any]])[0]
    let driver = (run["tool"] as! [String: Any])["driver"] as! [String: Any]
    #expect(driver["name"] as? String == "pgphase")
    #expect((driver["rules"] as! [Any]).count == Rule.allCases.count)
    let result = (run["results"] as! [[String: Any]])[0]
    #expect(result["ruleId"] as? String == "require-concurrent-index")
    let location = ((result["locations"] as! [[String: Any]])[0]["physicalLocation"] as! [String: Any])
    #expect((location["artifactLocation"] as! [String: Any])["uri"] as? String == "db/001%20init.sql")
    #expect((location["region"] as! [String: Any])["startLine"] as? Int == 2)
  }

  @Test func exitCodes() {
    #expect(LintReport(findings: [], files: []).exitCode == 0)
    #expect(report.exitCode == 1)
  }
}

/// The pages under docs/rules/ are rendered from the rule metadata; this test fails when they
/// drift. `PGPHASE_RECORD=1 swift test --filter RuleDocsTests` rewrites them, and fails anyway so
/// that CI can never pass by recording.
@Suite struct RuleDocsTests {
  static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
    .appendingPathComponent("docs/rules")

  static var expected: [(String, String)] {
    Rule.allCases.map { ("\($0.rawValue).md", RuleDocs.markdown(for: $0)) } + [
      ("index.md", RuleDocs.index()), ("squawk.md", RuleDocs.squawk()),
    ]
  }

  @Test func docsMatchTheCode() throws {
    let record = ProcessInfo.processInfo.environment["PGPHASE_RECORD"] == "1"
    var problems: [String] = []
    for (name, content) in Self.expected {
      let url = Self.docs.appendingPathComponent(name)
      let onDisk = try? String(contentsOf: url, encoding: .utf8)
      if onDisk == content { continue }
      if record {
        try FileManager.default.createDirectory(at: Self.docs, withIntermediateDirectories: true)
        try content.write(to: url, atomically: true, encoding: .utf8)
        problems.append("recorded docs/rules/\(name)")
      } else {
        problems.append("docs/rules/\(name) is out of date:\n" + Self.diff(old: onDisk ?? "", new: content))
      }
    }
    if record {
      Issue.record(
        "PGPHASE_RECORD=1: \(problems.isEmpty ? "nothing changed" : problems.joined(separator: ", ")); recording runs always fail, rerun without it"
      )
    } else {
      #expect(
        problems.isEmpty,
        "\(problems.joined(separator: "\n"))\nrun `PGPHASE_RECORD=1 swift test --filter RuleDocsTests` to rewrite")
    }
  }

  /// A minimal line diff: lines only on disk (-) and only in the code (+).
  static func diff(old: String, new: String) -> String {
    let a = old.split(separator: "\n", omittingEmptySubsequences: false)
    let b = new.split(separator: "\n", omittingEmptySubsequences: false)
    var out: [String] = []
    let n = a.count
    let m = b.count
    var lcs = Array(repeating: Array(repeating: 0, count: m + 1), count: n + 1)
    for i in stride(from: n - 1, through: 0, by: -1) {
      for j in stride(from: m - 1, through: 0, by: -1) {
        lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
      }
    }
    var i = 0
    var j = 0
    while i < n || j < m {
      if i < n, j < m, a[i] == b[j] {
        i += 1
        j += 1
      } else if j < m, i == n || lcs[i][j + 1] >= lcs[i + 1][j] {
        out.append("+ \(b[j])")
        j += 1
      } else {
        out.append("- \(a[i])")
        i += 1
      }
    }
    return out.joined(separator: "\n")
  }
}
