import Foundation
import PGPhaseTestSupport
import Testing

/// `pgphase plan` on bad input: exit 2, a located message, and nothing written.
@Suite struct PlanCommandBadInputTests {
  static let valid = "changes:\n  - create_index: {table: incidents, name: a_idx, columns: [created_at]}\n"

  static let cases: [(name: String, files: [String: String], expected: String)] = [
    (
      "malformed YAML", ["20261201_a.yaml": "changes:\n  - add_column: {table: t\n  - oops\n"],
      "20261201_a.yaml:4:1: error: malformed YAML: did not find expected ',' or '}' (while parsing a flow mapping at line 2, column 17)"
    ),
    (
      "unknown operation", ["20261201_a.yaml": "changes:\n  - ad_column: {table: t}\n"],
      "20261201_a.yaml:2:5: error: unknown operation `ad_column`\n  hint: did you mean `add_column`?"
    ),
    (
      "missing field", ["20261201_a.yaml": "changes:\n  - drop_column:\n      table: t\n"],
      "20261201_a.yaml:3:7: error: `drop_column` is missing required key `column`"
    ),
    (
      "wrong type", ["20261201_a.yaml": "changes:\n  - create_index: {table: t, name: i, columns: [a], unique: often}\n"],
      "20261201_a.yaml:2:61: error: `create_index.unique` must be true or false, found `often`"
    ),
    (
      "duplicate ids",
      ["20261201_a.yaml": "id: same\n" + valid, "20261202_b.yaml": "id: same\nchanges:\n  - drop_index: {name: x}\n"],
      "20261202_b.yaml:1:5: error: duplicate intent id `same`"
    ),
    (
      "two intents create the same object", ["20261201_a.yaml": valid, "20261202_b.yaml": valid],
      "20261202_b.yaml:2:5: error: index a_idx is already created by intent `20261201_a`"
    ),
    (
      "unsafe NOT NULL",
      ["20261201_a.yaml": "changes:\n  - add_column:\n      table: t\n      column: {name: c, type: text, nullable: false}\n"],
      "20261201_a.yaml:4:47: error: `c` is NOT NULL with no default and no backfill"
    ),
  ]

  @Test(arguments: cases.indices)
  func badInputExitsTwoWithALocatedMessageAndWritesNothing(index: Int) throws {
    let (name, files, expected) = Self.cases[index]
    let dir = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let intents = dir.appendingPathComponent("intents")
    try FileManager.default.createDirectory(at: intents, withIntermediateDirectories: true)
    // A valid intent beside the bad one: nothing at all may be written.
    try "changes:\n  - drop_index: {name: unrelated_idx}\n".write(
      to: intents.appendingPathComponent("20261130_ok.yaml"), atomically: true, encoding: .utf8)
    for (file, text) in files { try text.write(to: intents.appendingPathComponent(file), atomically: true, encoding: .utf8) }
    let result = try runPGPhase(["plan", "intents", "--out", "plans"], in: dir)
    #expect(result.status == 2, "\(name): \(result.stderr)")
    #expect(result.stderr.contains("intents/" + expected), "\(name): \(result.stderr)")
    #expect(result.stderr.contains("nothing was planned or written"), "\(name)")
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("plans").path), "\(name): plans/ was written")
  }

  @Test func checkFindsStalePlansAndShowsADiff() throws {
    let dir = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let intents = dir.appendingPathComponent("intents")
    try FileManager.default.createDirectory(at: intents, withIntermediateDirectories: true)
    let file = intents.appendingPathComponent("20261201_a.yaml")
    try Self.valid.write(to: file, atomically: true, encoding: .utf8)
    #expect(try runPGPhase(["plan", "intents"], in: dir).status == 0)
    let fresh = try runPGPhase(["plan", "--check", "intents"], in: dir)
    #expect(fresh.status == 0, "\(fresh.stderr)")

    try Self.valid.replacingOccurrences(of: "created_at", with: "resolved_at").write(to: file, atomically: true, encoding: .utf8)
    let planBefore = try String(contentsOf: dir.appendingPathComponent("plans/20261201_a/expand.sql"), encoding: .utf8)
    let stale = try runPGPhase(["plan", "--check", "intents"], in: dir)
    #expect(stale.status == 1)
    #expect(stale.stdout.contains("stale: plans/20261201_a/expand.sql"))
    #expect(stale.stdout.contains("-CREATE INDEX CONCURRENTLY a_idx ON incidents (created_at);"))
    #expect(stale.stdout.contains("+CREATE INDEX CONCURRENTLY a_idx ON incidents (resolved_at);"))
    // --check writes nothing.
    #expect(try String(contentsOf: dir.appendingPathComponent("plans/20261201_a/expand.sql"), encoding: .utf8) == planBefore)

    try FileManager.default.removeItem(at: file)
    try "changes:\n  - drop_index: {name: b}\n".write(
      to: intents.appendingPathComponent("20261202_b.yaml"), atomically: true, encoding: .utf8)
    let extra = try runPGPhase(["plan", "--check", "intents"], in: dir)
    #expect(extra.status == 1)
    #expect(extra.stdout.contains("extra: plans/20261201_a/ has no intent any more"))
  }

  @Test func missingPathIsBadUsage() throws {
    let dir = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let result = try runPGPhase(["plan", "no-such-folder"], in: dir)
    #expect(result.status == 2)
    #expect(result.stderr.contains("no-such-folder: error: no such file or folder"))
  }
}
