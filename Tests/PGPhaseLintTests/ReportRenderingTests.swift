import Foundation
import PGPhaseModel
import Testing

@testable import PGPhaseLint

/// The JSON report renders its findings in chunks on several threads: the text must be exactly
/// what one `JSONOut` tree, written in one pass, gives.
@Suite struct ReportRenderingTests {
  @Test func chunkedFindingsAreTheOnePassRendering() {
    var findings: [Finding] = []
    for i in 0..<1_000 {
      findings.append(
        Finding(
          rule: i % 2 == 0 ? .requireConcurrentIndex : .requireLockTimeout, severity: i % 3 == 0 ? .error : .warning,
          message: "finding \(i) on \"t\(i)\"\twith\\escapes and \u{1}",
          help: i % 5 == 0 ? nil : "CREATE INDEX CONCURRENTLY i\(i);",
          location: SourceLocation(file: "db/\(i).sql", line: i + 1, column: 1), lock: i % 4 == 0 ? nil : .share))
    }
    for count in [0, 1, 255, 256, 257, 1_000] {
      let report = LintReport(findings: Array(findings.prefix(count)), files: ["db/a.sql", "db/b.sql"])
      let items: [JSONOut] = report.findings.map { f in
        .object([
          ("rule", .string(f.rule.rawValue)), ("severity", .string(f.severity.rawValue)), ("message", .string(f.message)),
          ("help", .optional(f.help)), ("lock", .optional(f.lock?.rawValue)),
          ("file", .string(f.location.file)), ("line", .int(f.location.line)), ("column", .int(f.location.column)),
        ])
      }
      let onePass = JSONOut.object([
        ("version", .int(1)), ("files", .array(report.files.map { .string($0) })), ("findings", .array(items)),
        ("summary", .object([("errors", .int(report.errorCount)), ("warnings", .int(report.warningCount))])),
      ]).rendered()
      #expect(report.json() == onePass, "\(count) findings")
    }
  }
}
