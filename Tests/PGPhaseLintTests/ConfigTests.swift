import PGPhaseLint
import PGPhaseModel
import Testing

@Suite struct ConfigTests {
  @Test func readsEveryKey() throws {
    let config = try LintConfig.parse(
      """
      rules:
        enable: [prefer-bigint, prefer-text]
        disable: [drop-table]
      pg_version: 12
      exclude: ["legacy/*.sql"]
      transactional_files: true
      """, file: ".pgphase.yaml")
    let options = config.options()
    #expect(options.pgVersion == 12)
    #expect(options.transactionalFiles)
    #expect(options.enabledRules.contains(.preferBigint))
    #expect(!options.enabledRules.contains(.dropTable))
    #expect(!options.enabledRules.contains(.preferTimestamptz))
    #expect(config.exclude == ["legacy/*.sql"])
    #expect(config.options(pgVersionOverride: 14).pgVersion == 14)
  }

  @Test func unknownKeysAndRulesAreLocatedErrors() {
    do {
      _ = try LintConfig.parse("pg_version: 15\nrulez: {}\nrules:\n  enable: [prefer-bigints]\n", file: "c.yaml")
      Issue.record("expected an error")
    } catch {
      let d = error.diagnostics
      #expect(d.count == 2)
      #expect(d.map(\.location?.line) == [2, 4])
      #expect(d[0].message.contains("rulez"))
      #expect(d[1].message.contains("prefer-bigints"))
      #expect(d[1].location?.column == 12)
    }
  }

  @Test func emptyConfigIsTheDefault() throws {
    #expect(try LintConfig.parse("", file: "c.yaml").options() == LintOptions())
  }

  @Test func badValuesAreErrors() {
    #expect(throws: DiagnosticsError.self) { try LintConfig.parse("transactional_files: maybe\n", file: "c.yaml") }
    #expect(throws: DiagnosticsError.self) { try LintConfig.parse("pg_version: fifteen\n", file: "c.yaml") }
  }
}
