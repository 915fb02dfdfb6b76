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

  /// Input the reader used to take (issue 13, finding 6), through the command line.
  static let refused: [(name: String, bytes: [UInt8], expected: String)] = [
    (
      "not UTF-8", Array("description: caf".utf8) + [0xE9] + Array("\nchanges:\n  - drop_index: {name: i}\n".utf8),
      "20261201_a.yaml:1:17: error: the file is not UTF-8 text: invalid byte sequence here"
    ),
    (
      "raw NUL", Array("changes:\n  - drop_index: {name: a".utf8) + [0] + Array("}\n".utf8),
      "20261201_a.yaml:2:25: error: the file contains NUL (U+0000), which YAML does not allow"
    ),
    (
      "type False", Array("changes:\n  - add_column: {table: checks, column: {name: endpoint, type: False}}\n".utf8),
      "20261201_a.yaml:2:64: error: column `type` must be a string, found `False` (a YAML boolean)"
    ),
    (
      "binary tag", Array("changes:\n  - drop_index: {name: !!binary aGk=}\n".utf8),
      "20261201_a.yaml:2:24: error: explicit YAML tag `!!binary` is not supported"
    ),
    (
      "67-byte unique column",
      Array("changes:\n  - add_unique: {table: t, name: t_key, columns: [\(String(repeating: "c", count: 67))]}\n".utf8),
      "20261201_a.yaml:2:51: error: each item of `add_unique.columns` is 67 bytes long; PostgreSQL truncates names to 63 bytes"
    ),
  ]

  @Test(arguments: refused.indices)
  func refusedInputExitsTwoWithALocatedMessage(index: Int) throws {
    let (name, bytes, expected) = Self.refused[index]
    let dir = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let intents = dir.appendingPathComponent("intents")
    try FileManager.default.createDirectory(at: intents, withIntermediateDirectories: true)
    try Data(bytes).write(to: intents.appendingPathComponent("20261201_a.yaml"))
    let result = try runPGPhase(["plan", "intents", "--out", "plans"], in: dir)
    #expect(result.status == 2, "\(name): \(result.stderr)")
    #expect(result.stderr.contains("intents/" + expected), "\(name): \(result.stderr)")
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
