import Foundation
import PGPhaseTestSupport
import Testing

/// `pgphase plan` writes all or nothing and deletes only what it wrote (issue 13, finding 3).
@Suite struct PlanWriteTests {
  let fm = FileManager.default

  /// A scratch copy of examples/intents, planned into plans/.
  func plannedExamples() throws -> URL {
    let dir = try makeTemporaryDirectory()
    try fm.copyItem(
      at: repositoryRoot.appendingPathComponent("examples/intents"), to: dir.appendingPathComponent("intents"))
    let first = try runPGPhase(["plan", "intents", "--out", "plans"], in: dir)
    #expect(first.status == 0, "\(first.stderr)")
    return dir
  }

  func folders(_ dir: URL) throws -> [String] {
    try fm.contentsOfDirectory(atPath: dir.appendingPathComponent("plans").path).sorted()
  }

  /// Every file under plans/, with its content.
  func snapshot(_ dir: URL) throws -> [String: Data] {
    let root = dir.appendingPathComponent("plans")
    var files: [String: Data] = [:]
    for path in fm.enumerator(atPath: root.path)?.allObjects as? [String] ?? [] {
      var isDirectory: ObjCBool = false
      _ = fm.fileExists(atPath: root.appendingPathComponent(path).path, isDirectory: &isDirectory)
      if !isDirectory.boolValue { files[path] = fm.contents(atPath: root.appendingPathComponent(path).path) }
    }
    return files
  }

  func write(_ text: String, to url: URL) throws { try Data(text.utf8).write(to: url) }

  /// The reproducer: planning one file removed the ten other intents' plan folders, with the
  /// NOTES.md a user had put in one of them.
  @Test func planningOneFileDeletesNothing() throws {
    let dir = try plannedExamples()
    defer { try? fm.removeItem(at: dir) }
    let notes = dir.appendingPathComponent("plans/20261121_checks_endpoint/NOTES.md")
    try write("rollout notes\n", to: notes)
    let before = try snapshot(dir)
    #expect(try folders(dir).count == 12)
    let r = try runPGPhase(["plan", "intents/20261120_incident_severity.yaml", "--out", "plans"], in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(try snapshot(dir) == before)
    #expect(!r.stdout.contains("removed"), "\(r.stdout)")
    // --check on one file compares that intent only: the others are not "extra".
    let check = try runPGPhase(["plan", "--check", "intents/20261120_incident_severity.yaml", "--out", "plans"], in: dir)
    #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
  }

  /// A folder is removed only when the whole intents folder is planned, its intent is gone,
  /// and it holds nothing but generated files; a user's file keeps it, with a warning.
  @Test func staleFoldersAreRemovedOnlyWhenTheyHoldOnlyGeneratedFiles() throws {
    let dir = try plannedExamples()
    defer { try? fm.removeItem(at: dir) }
    try write("keep me\n", to: dir.appendingPathComponent("plans/20261122_incident_impact_bigint/NOTES.md"))
    for gone in ["20261122_incident_impact_bigint", "20261123_reporter_email_lowercase"] {
      try fm.removeItem(at: dir.appendingPathComponent("intents/\(gone).yaml"))
    }
    let r = try runPGPhase(["plan", "intents", "--out", "plans"], in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("removed plans/20261123_reporter_email_lowercase/ (no intent any more)"), "\(r.stdout)")
    #expect(
      r.stderr.contains(
        "plans/20261122_incident_impact_bigint/: warning: its intent is gone, but it holds files pgphase did not write (NOTES.md); kept it"
      ), "\(r.stderr)")
    let left = try folders(dir)
    #expect(!left.contains("20261123_reporter_email_lowercase"))
    #expect(left.contains("20261122_incident_impact_bigint"))
    #expect(
      try String(contentsOf: dir.appendingPathComponent("plans/20261122_incident_impact_bigint/NOTES.md"), encoding: .utf8)
        == "keep me\n")
    #expect(left.count == 11)
    #expect(!left.contains { $0.hasPrefix(".") }, "staging left behind: \(left)")
  }

  /// Files are read, plans rendered and folders written on every core: every run still writes
  /// the committed plans byte for byte (the golden set was written one file at a time), and a
  /// second run over them finds every file unchanged.
  @Test func repeatedRunsWriteTheCommittedPlansByteForByte() throws {
    let committed = try snapshot(repositoryRoot)
    // One folder per example intent, and schema.sql beside them.
    let intents = try fm.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("examples/intents").path)
      .filter { $0.hasSuffix(".yaml") }
    let committedFolders = Set(committed.keys.filter { $0.contains("/") }.map { String($0.split(separator: "/")[0]) })
    #expect(committedFolders.count == intents.count && committed["schema.sql"] != nil)
    for _ in 0..<5 {
      let dir = try makeTemporaryDirectory()
      defer { try? fm.removeItem(at: dir) }
      try fm.createDirectory(at: dir.appendingPathComponent("examples"), withIntermediateDirectories: true)
      try fm.copyItem(
        at: repositoryRoot.appendingPathComponent("examples/intents"), to: dir.appendingPathComponent("examples/intents"))
      try fm.copyItem(
        at: repositoryRoot.appendingPathComponent("examples/schema.sql"), to: dir.appendingPathComponent("examples/schema.sql"))
      let command = ["plan", "examples/intents", "--schema", "examples/schema.sql", "--out", "plans"]
      let r = try runPGPhase(command, in: dir)
      #expect(r.status == 0, "\(r.stderr)")
      #expect(try snapshot(dir) == committed)
      let again = try runPGPhase(command, in: dir)
      #expect(
        again.stdout.split(separator: "\n").filter { $0.hasSuffix("(unchanged)") }.count == committedFolders.count + 1,
        "\(again.stdout)")
      #expect(try folders(dir) == committedFolders.union(["schema.sql"]).sorted())
    }
  }

  /// Re-planning a changed intent replaces its files and keeps a user's file beside them.
  @Test func aUsersFileInALivePlanFolderSurvivesReplanning() throws {
    let dir = try makeTemporaryDirectory()
    defer { try? fm.removeItem(at: dir) }
    try fm.createDirectory(at: dir.appendingPathComponent("intents"), withIntermediateDirectories: true)
    let intent = dir.appendingPathComponent("intents/20261201_a.yaml")
    try write("changes:\n  - drop_index: {name: a_idx}\n", to: intent)
    #expect(try runPGPhase(["plan", "intents"], in: dir).status == 0)
    try write("mine\n", to: dir.appendingPathComponent("plans/20261201_a/NOTES.md"))
    try write("changes:\n  - drop_index: {name: b_idx}\n", to: intent)
    let r = try runPGPhase(["plan", "intents"], in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    let contract = try String(contentsOf: dir.appendingPathComponent("plans/20261201_a/contract.sql"), encoding: .utf8)
    #expect(contract.contains("b_idx") && !contract.contains("a_idx"))
    #expect(try String(contentsOf: dir.appendingPathComponent("plans/20261201_a/NOTES.md"), encoding: .utf8) == "mine\n")
    #expect(try runPGPhase(["plan", "--check", "intents"], in: dir).status == 0)
    // Planning again changes nothing and says so.
    let again = try runPGPhase(["plan", "intents"], in: dir)
    #expect(again.stdout.contains("(unchanged)"), "\(again.stdout)")
  }

  /// The reproducer: an id too long for a file name failed with `NSCocoaErrorDomain Code=514`
  /// after the other folders were already removed. Now it is a located error and nothing moves.
  @Test func anOverlongIDIsALocatedErrorAndNothingIsWritten() throws {
    let dir = try plannedExamples()
    defer { try? fm.removeItem(at: dir) }
    let before = try snapshot(dir)
    try fm.removeItem(at: dir.appendingPathComponent("intents/20261130_status_subscribers.yaml"))
    let id = String(repeating: "x", count: 300)
    try write("id: \(id)\nchanges:\n  - drop_index: {name: i}\n", to: dir.appendingPathComponent("intents/20261201_long.yaml"))
    let r = try runPGPhase(["plan", "intents", "--out", "plans"], in: dir)
    #expect(r.status == 2, "\(r.stderr)")
    #expect(
      r.stderr.contains(
        "intents/20261201_long.yaml:1:5: error: intent id `\(String(repeating: "x", count: 200))… (300 bytes)` is 300 bytes"),
      "\(r.stderr)")
    #expect(!r.stderr.contains("NSCocoaErrorDomain"))
    #expect(try snapshot(dir) == before)
  }

  /// A write that cannot happen is found before anything changes: here a file stands where a
  /// plan folder goes.
  @Test func aFolderThatCannotBeWrittenChangesNothing() throws {
    let dir = try plannedExamples()
    defer { try? fm.removeItem(at: dir) }
    try write("changes:\n  - drop_index: {name: z_idx}\n", to: dir.appendingPathComponent("intents/20261201_z.yaml"))
    try write("not a folder\n", to: dir.appendingPathComponent("plans/20261201_z"))
    try fm.removeItem(at: dir.appendingPathComponent("intents/20261128_drop_legacy.yaml"))
    let before = try snapshot(dir)
    let r = try runPGPhase(["plan", "intents", "--out", "plans"], in: dir)
    #expect(r.status == 1, "\(r.stderr)")
    #expect(r.stderr.contains("cannot write plans/20261201_z/: a file of that name is in the way"), "\(r.stderr)")
    #expect(try snapshot(dir) == before)
  }
}
