import PGPhaseLint
import PGPhaseModel
import Testing

@Suite struct IgnoreTests {
  @Test func ignoreOnTheLineBefore() {
    let sql =
      "-- pgphase:ignore require-concurrent-index tiny table\nCREATE INDEX i ON orders (a);\nCREATE INDEX j ON orders (b);"
    let found = Linter.lint(sql: sql)
    #expect(found.map(\.location.line) == [3])
  }

  @Test func ignoreOnTheStatementLine() {
    let sql = "CREATE INDEX i ON orders (a); -- pgphase:ignore require-concurrent-index tiny\nCREATE INDEX j ON orders (b);"
    #expect(Linter.lint(sql: sql).map(\.location.line) == [2])
  }

  @Test func ignoreSeveralRules() {
    let sql = "-- pgphase:ignore drop-table, require-lock-timeout table was never used\nDROP TABLE legacy;"
    #expect(Linter.lint(sql: sql).isEmpty)
  }

  @Test func ignoreFile() {
    let sql =
      "-- pgphase:ignore-file require-concurrent-index seeding an empty database\nCREATE INDEX i ON a (x);\nCREATE INDEX j ON b (y);"
    #expect(Linter.lint(sql: sql).isEmpty)
  }

  @Test func unusedIgnoresAreReported() {
    let sql = "-- pgphase:ignore drop-table, require-lock-timeout reason\nCREATE INDEX CONCURRENTLY i ON orders (a);"
    let found = Linter.lint(sql: sql)
    #expect(found.map(\.rule) == [.unusedIgnore, .unusedIgnore])
    #expect(found.allSatisfy { $0.severity == .warning && $0.location.line == 1 })
    #expect(LintReport(findings: found, files: ["m.sql"]).exitCode == 0)
  }

  @Test func ignoreOfADisabledRuleIsNotReported() {
    var rules = Rule.defaultEnabled
    rules.remove(.dropTable)
    let sql = "SET lock_timeout = '1s';\n-- pgphase:ignore drop-table reason\nDROP TABLE legacy;"
    #expect(Linter.lint(sql: sql, options: LintOptions(enabledRules: rules)).isEmpty)
  }
}
