import Foundation
import PGPhaseTestSupport
import Testing

/// The `rollout:` section of `.pgphase.yaml` sets hooks once for every apply/advance; flags win
/// over it; a bad section is a located error (exit 2); lint reads the same file and accepts it.
@Suite(.serialized) struct RolloutConfigTests {
  static let intent = "20261120_incident_severity"

  func writeConfig(_ text: String, in dir: URL) throws {
    try Data(text.utf8).write(to: dir.appendingPathComponent(".pgphase.yaml"))
  }

  @Test(.enabled(if: TestServer.shouldRun)) func hooksFromTheConfigFileRunAndFlagsOverrideThem() throws {
    try withTestDatabase { db in
      try loadExampleSchema(db)
      let plans = try releasePlans([Self.intent])
      let dir = try makeTemporaryDirectory()
      try writeConfig(
        """
        rules:
          disable: [prefer-bigint]
        rollout:
          before_phase: echo "$PGPHASE_PHASE $PGPHASE_INTENTS" >> \(dir.path)/config-before
          after_phase: echo "$PGPHASE_STATUS" >> \(dir.path)/config-after
          guard_window: 5m
        """, in: dir)
      // --config points at another file: its failing before-hook stops expand before anything changes.
      let other = try makeTemporaryDirectory()
      try writeConfig("rollout:\n  before_phase: exit 9\n", in: other)
      let refused = try runPGPhase(
        [
          "apply", "--phase", "expand", "--config", other.appendingPathComponent(".pgphase.yaml").path, "--dsn", db.conninfo,
          plans.path,
        ], in: dir)
      #expect(refused.status == 1 && refused.stderr.contains("hook failed (exit 9)"), "\(refused.stderr)")
      #expect(
        try db.connection.execute(
          "SELECT count(*) FROM pg_attribute WHERE attrelid = 'incidents'::regclass AND attname = 'severity'"
        )
        .scalarInt() == 0)
      let expand = try runPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, plans.path], in: dir)
      #expect(expand.status == 0, "\(expand.stderr)")
      let before = try String(contentsOf: dir.appendingPathComponent("config-before"), encoding: .utf8)
      #expect(before == "expand \(Self.intent)\n")
      let after = try String(contentsOf: dir.appendingPathComponent("config-after"), encoding: .utf8)
      #expect(after == "finished\n")
      // A flag replaces the config's hook of the same kind; the other one still comes from the file.
      let backfill = try runPGPhase(
        [
          "apply", "--phase", "backfill", "--before-phase", "echo flag >> \(dir.path)/flag-before", "--dsn", db.conninfo,
          plans.path,
        ],
        in: dir)
      #expect(backfill.status == 0, "\(backfill.stderr)")
      #expect(try String(contentsOf: dir.appendingPathComponent("config-before"), encoding: .utf8) == "expand \(Self.intent)\n")
      #expect(try String(contentsOf: dir.appendingPathComponent("flag-before"), encoding: .utf8) == "flag\n")
      #expect(try String(contentsOf: dir.appendingPathComponent("config-after"), encoding: .utf8) == "finished\nfinished\n")
      // lint reads the same file and accepts the section.
      let lint = try runPGPhase(["lint", plans.path], in: dir)
      #expect(lint.status == 0, "\(lint.stdout)\(lint.stderr)")
    }
  }

  @Test func aBadRolloutSectionIsALocatedUsageError() throws {
    let dir = try makeTemporaryDirectory()
    try writeConfig("rollout:\n  before: ./snapshot.sh\n  notify: [a, b]\n", in: dir)
    let plans = repositoryRoot.appendingPathComponent("plans").path
    let r = try runPGPhase(["apply", "--phase", "expand", "--dsn", "host=/nonexistent dbname=x", plans], in: dir)
    #expect(r.status == 2, "\(r.stderr)")
    #expect(r.stderr.contains(".pgphase.yaml:2:3: error: unknown key `before` in `rollout`"), "\(r.stderr)")
    #expect(r.stderr.contains("did you mean `before_phase`?"), "\(r.stderr)")
    #expect(r.stderr.contains(".pgphase.yaml:3:11: error: `rollout.notify` must be a string"), "\(r.stderr)")
  }

  /// Both old `.pgphase.yaml` readers put a YAML error at 1:1 and guessed keys by prefix; the
  /// one reader locates it and suggests by edit distance, whichever command reads the file.
  @Test func configErrorsAreLocatedForEveryCommand() throws {
    let dir = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    try writeConfig("pg_version: 15\nrules:\n  disable: [prefer-bigint\nrollout: {}\n", in: dir)
    let plans = repositoryRoot.appendingPathComponent("plans").path
    let lint = try runPGPhase(["lint", plans], in: dir)
    #expect(lint.status == 2, "\(lint.stderr)")
    #expect(lint.stderr.contains(".pgphase.yaml:4:"), "\(lint.stderr)")
    #expect(!lint.stderr.contains(".pgphase.yaml:1:1:"), "\(lint.stderr)")
    let apply = try runPGPhase(["apply", "--phase", "expand", "--dsn", "host=/nonexistent dbname=x", plans], in: dir)
    #expect(apply.status == 2 && apply.stderr.contains(".pgphase.yaml:4:"), "\(apply.stderr)")

    try writeConfig("rules:\n  disable: [prefer-timestampz]\nrollout:\n  guard_windw: 5m\n", in: dir)
    let typo = try runPGPhase(["lint", plans], in: dir)
    #expect(typo.status == 2)
    #expect(typo.stderr.contains(".pgphase.yaml:2:13: error: unknown rule `prefer-timestampz`"), "\(typo.stderr)")
    #expect(typo.stderr.contains("did you mean `prefer-timestamptz`?"), "\(typo.stderr)")
    // lint checks the rollout section too, so CI finds a typo there before a deploy does.
    #expect(typo.stderr.contains(".pgphase.yaml:4:3: error: unknown key `guard_windw` in `rollout`"), "\(typo.stderr)")
  }
}
