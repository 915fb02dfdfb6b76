import PGPhaseConfig
import PGPhaseLint
import PGPhaseModel
import Testing

private func problems(_ text: String) -> [Diagnostic] {
  do {
    _ = try ProjectConfig.parse(text, file: "c.yaml")
    return []
  } catch {
    return error.diagnostics
  }
}

@Suite struct ConfigTests {
  @Test func readsEveryKey() throws {
    let config = try ProjectConfig.parse(
      """
      rules:
        enable: [prefer-bigint, prefer-text]
        disable: [drop-table]
      pg_version: 12
      exclude: ["legacy/*.sql"]
      transactional_files: true
      rollout:
        before_phase: ./snapshot.sh
        after_phase: ./announce.sh
        notify: https://example.invalid/hook
        guard_window: 5m
      """, file: ".pgphase.yaml")
    let options = config.lint.options()
    #expect(options.pgVersion == 12)
    #expect(options.transactionalFiles)
    #expect(options.enabledRules.contains(.preferBigint))
    #expect(!options.enabledRules.contains(.dropTable))
    #expect(!options.enabledRules.contains(.preferTimestamptz))
    #expect(config.lint.exclude == ["legacy/*.sql"])
    #expect(config.lint.options(pgVersionOverride: 14).pgVersion == 14)
    #expect(config.rollout.beforePhase == "./snapshot.sh")
    #expect(config.rollout.afterPhase == "./announce.sh")
    #expect(config.rollout.notify == "https://example.invalid/hook")
    #expect(config.rollout.guardWindow == "5m")
  }

  @Test func unknownKeysAndRulesAreLocatedErrors() {
    let d = problems("pg_version: 15\nrulez: {}\nrules:\n  enable: [prefer-bigints]\n")
    #expect(d.count == 2)
    #expect(d.map(\.location?.line) == [2, 4])
    #expect(d[0].message == "unknown key `rulez` in the file")
    #expect(d[0].hint == "did you mean `rules`?")
    #expect(d[1].message == "unknown rule `prefer-bigints` in `rules.enable`")
    #expect(d[1].hint?.hasPrefix("did you mean `prefer-bigint`?") == true)
    #expect(d[1].location?.column == 12)
  }

  /// The suggestion is the closest rule by edit distance, not the first sharing a prefix
  /// (the old reader suggested `prefer-bigint` for anything starting `prefer`).
  @Test func ruleSuggestionsAreByEditDistance() {
    let d = problems("rules:\n  disable: [prefer-timestampz]\n")
    #expect(d.first?.hint?.hasPrefix("did you mean `prefer-timestamptz`?") == true, "\(d)")
  }

  @Test func emptyConfigIsTheDefault() throws {
    #expect(try ProjectConfig.parse("", file: "c.yaml").lint.options() == LintOptions())
    #expect(try ProjectConfig.parse("# nothing yet\n", file: "c.yaml") == ProjectConfig())
  }

  @Test func badValuesAreLocatedErrors() {
    #expect(
      problems("transactional_files: maybe\n").map(\.description) == [
        "c.yaml:1:22: error: `transactional_files` must be true or false, found `maybe`"
      ])
    #expect(problems("pg_version: fifteen\n").first?.location?.column == 13)
    #expect(problems("pg_version: 99\n").first?.message == "`pg_version` must be between 9 and 30, found 99")
    #expect(problems("exclude: [1, ok]\n").first?.message.contains("must be a string, found `1` (a YAML number)") == true)
  }

  /// Malformed YAML was reported at 1:1 by both old readers; now at the place it breaks.
  @Test func malformedYAMLIsLocated() {
    let d = problems("rules:\n  enable: [a, b\nrollout: {}\n")
    #expect(d.count == 1)
    #expect(d[0].message.hasPrefix("malformed YAML"))
    #expect(d[0].location != SourceLocation(file: "c.yaml", line: 1, column: 1), "\(d)")
    #expect(problems("a: !!binary aGk=\n").first?.message == "explicit YAML tag `!!binary` is not supported")
    #expect(problems("rules: [\u{1}]\n").first?.location == SourceLocation(file: "c.yaml", line: 1, column: 9))
  }

  @Test func theRolloutSectionIsCheckedWithTheRest() {
    let d = problems("rollout:\n  before: ./snapshot.sh\n  notify: [a, b]\n  guard_window: 15m\n")
    #expect(
      d.map(\.description) == [
        "c.yaml:2:3: error: unknown key `before` in `rollout`\n  hint: did you mean `before_phase`?",
        "c.yaml:3:11: error: `rollout.notify` must be a string, found a list",
      ])
    #expect(problems("rollout: 3\n").first?.message == "`rollout` must be a mapping, found `3` (a YAML number)")
  }
}
