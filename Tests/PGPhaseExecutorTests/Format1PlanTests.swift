import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// The example plans as `pgphase plan` wrote them in format 1, before steps carried typed actions.
let format1PlansDir = repositoryRoot.appendingPathComponent("Tests/PGPhaseExecutorTests/Fixtures/format1-plans").path

@Suite("Format-1 plans", .serialized)
struct Format1PlanTests {
  /// A format-1 folder hashes as the pgphase that wrote it did, so journal rows and release ids made
  /// from it stay valid. The release id was measured with that binary (`pgphase check --release
  /// <the fixture> --print-sql`, commit ac522c7). The same plans written in format 2 hash
  /// differently, but as format 1 they hash the same.
  @Test func format1PlansHashAsTheVersionThatWroteThem() throws {
    let old = try LoadedPlan.loadAll(from: format1PlansDir)
    #expect(old.count == 11 && old.allSatisfy { $0.format == 1 })
    #expect(ReleaseManifest(plans: old).release == "r-347e8b4c7714dc9d")
    for o in old {
      let replanned = try LoadedPlan(o.plan)
      #expect(replanned.format == Plan.currentFormat)
      #expect(replanned.hash != o.hash)
      #expect(try replanned.hash(asFormat: 1) == o.hash, "\(o.plan.intent)")
    }
  }

  /// A plan of a format this pgphase cannot read stops the command before it connects (exit 2),
  /// printed at the file, saying what to do.
  @Test func anUnreadableFormatIsRefusedAtTheFile() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgphase-format-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("20990101_x"), withIntermediateDirectories: true)
    try Data(#"{"format": 3, "intent": "20990101_x"}"#.utf8).write(to: dir.appendingPathComponent("20990101_x/plan.json"))
    let r = try runPGPhase(["apply", "--phase", "expand", "--dsn", "host=/nonexistent", dir.path])
    #expect(r.status == 2, "\(r.stderr)")
    #expect(
      r.stderr.contains(
        "\(dir.path)/20990101_x/plan.json: error: plan format 3 is not supported (this pgphase reads formats 1 and 2): upgrade pgphase"
      ), "\(r.stderr)")
  }

  /// A format-1 plans folder still applies, and a journal it wrote (format-1 plans in
  /// pgphase.intents, as the earlier version stored them) still works for status, verify and
  /// repair, and for finishing the rollout with the re-planned format-2 folder.
  @Test(.enabled(if: TestServer.shouldRun))
  func format1FolderAppliesAndItsJournalStillServesStatusVerifyAndRepair() throws {
    try withTestDatabase { db in
      let c = db.connection
      try c.runSQLFile(schemaFile)
      let old = try LoadedPlan.loadAll(from: format1PlansDir)
      try makeExecutor(db).advance(intents: nil, to: .backfill, plans: old)
      let stored = try c.execute("SELECT plan_hash, plan ->> 'format' AS format FROM pgphase.intents ORDER BY intent").rows
      #expect(stored.map { $0["format"] } == Array(repeating: "1", count: old.count))
      #expect(stored.map { $0["plan_hash"] } == old.map(\.hash))

      // status: nothing edited, whether asked with the old folder or the same plans in format 2
      // (as `pgphase plan` writes them when the planner's output did not change).
      let current = try old.map { try LoadedPlan($0.plan) }
      let replannedDir = try writePlans(current)
      defer { try? FileManager.default.removeItem(at: replannedDir) }
      for plans in [old, current] {
        let statuses = try StatusReader.read(plans: plans, on: c)
        #expect(statuses.allSatisfy { !$0.planChanged && $0.active.isEmpty }, "\(StatusReader.render(statuses))")
        #expect(
          statuses.allSatisfy { s in
            s.phases.filter { $0.phase != .contract }.allSatisfy { $0.state == "done" || $0.state == "no steps" }
          }, "\(StatusReader.render(statuses))")
      }
      let status = try runPGPhase(["status", "--json", "--dsn", db.conninfo, replannedDir.path])
      #expect(status.status == 0, "\(status.stderr)")
      let decoded = try JSONDecoder().decode([IntentStatus].self, from: Data(status.stdout.utf8))
      #expect(decoded.count == current.count && decoded.allSatisfy { !$0.planChanged }, "\(status.stdout)")

      // verify and repair read the format-1 journal: an index built from it, made invalid, is
      // reported repairable and rebuilt from the format-1 step's derived action. (Until contract,
      // verify also reports the constraints 20261126 added to check_results, which 20261129 has
      // renamed: a known false drift, the same with either format.)
      let step = "expand/04-create-index-incidents-unresolved-idx"
      let before = try Verifier.verify(on: c)
      #expect(!before.findings.contains { $0.step == step }, "\(before.render())")
      try c.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'incidents_unresolved_idx'::regclass")
      let report = try Verifier.verify(on: c)
      let finding = try #require(report.findings.first { $0.step == step }, "\(report.render())")
      #expect(finding.kind == .drift && finding.problem == .invalidIndex && finding.repairable, "\(finding)")
      #expect(report.findings.count == before.findings.count + 1, "\(report.render())")
      let repaired = try makeExecutor(db).repair()
      #expect(repaired.actions.map(\.kind) == [.rebuiltIndex], "\(repaired.render())")
      #expect(repaired.actions.first?.step == step)
      #expect(repaired.verify.findings == before.findings, "\(repaired.render())")
      #expect(try Catalog(c).indexState(name: QualifiedName(schema: "public", "incidents_unresolved_idx"))?.isUsable == true)

      // The rollout finishes with the format-2 plans: the steps that ran are the same SQL.
      try makeExecutor(db).advance(intents: nil, to: .contract, plans: current)
      let journal = try Journal.steps(intent: nil, on: c)
      for lp in current {
        for step in lp.plan.allSteps {
          #expect(journal[lp.plan.intent]?[step.id]?.state == .done, "\(lp.plan.intent) \(step.id)")
        }
      }
      // Intents without contract steps keep their format-1 plan in the journal; verify reads both.
      let formats = try c.execute("SELECT intent, plan ->> 'format' AS format FROM pgphase.intents").rows
      #expect(formats.first { $0["intent"] == "20261120_incident_severity" }?["format"] == "1")
      #expect(formats.first { $0["intent"] == "20261121_checks_endpoint" }?["format"] == "2")
      let final = try Verifier.verify(on: c)
      #expect(final.isClean, "\(final.render())")
    }
  }
}
