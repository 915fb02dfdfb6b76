import PGPhaseLint
import PGPhaseModel
import Testing

@Suite struct LocationTests {
  @Test func statementAfterMultibyteCommentIsLocatedInCharacters() {
    let sql = "-- café ☕\nSELECT 1; CREATE INDEX i ON orders (a);\n"
    let found = Linter.lint(sql: sql, file: "m.sql")
    #expect(found.count == 1)
    #expect(found.first?.location == SourceLocation(file: "m.sql", line: 2, column: 11))
  }

  @Test func clauseLocationOnALineWithMultibyteCharacters() {
    // 'é' and '☕' are 2 and 3 bytes but one column each.
    let sql = "SET lock_timeout = '1s'; /* é☕ */ ALTER TABLE orders ADD COLUMN t uuid DEFAULT gen_random_uuid();"
    let found = Linter.lint(sql: sql).filter { $0.rule == .addColumnRewritingDefault }
    let expected = Array(sql).firstIndex(of: "g").map { $0 + 1 }
    #expect(found.first?.location.column == expected)
    #expect(found.first?.location.line == 1)
  }

  @Test func parseErrorIsLocatedNotThrown() {
    let sql = "-- café ☕\nSELECT 1;\nALTER TABLE orders ADD COLUMN;\n"
    let found = Linter.lint(sql: sql, file: "bad.sql")
    #expect(found.count == 1)
    #expect(found.first?.rule == .parseError)
    #expect(found.first?.severity == .error)
    #expect(found.first?.message.contains("syntax error") == true)
    // The error is at ';' after COLUMN: line 3, column 30 (cursor positions count characters).
    #expect(found.first?.location == SourceLocation(file: "bad.sql", line: 3, column: 30))
    #expect(LintReport(findings: found, files: ["bad.sql"]).exitCode == 2)
  }

  @Test func parseErrorAfterMultibyteTextOnTheSameLine() {
    let sql = "SELECT 'ça ☕'; selec 1;"
    let found = Linter.lint(sql: sql)
    #expect(found.first?.location.column == 16)
  }

  @Test func leadingCommentsAreNotPartOfTheStatementLocation() {
    let sql = "SET lock_timeout = '1s';\n\n/* multi\n   line */\n-- more\n  DROP INDEX i;"
    let found = Linter.lint(sql: sql)
    #expect(found.first?.location.line == 6)
    #expect(found.first?.location.column == 3)
  }

  @Test func emptyAndCommentOnlyFilesAreClean() {
    #expect(Linter.lint(sql: "").isEmpty)
    #expect(Linter.lint(sql: "-- nothing here\n").isEmpty)
  }
}
