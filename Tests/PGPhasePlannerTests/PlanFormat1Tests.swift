import Foundation
import PGPhaseModel
import PGPhasePlanner
import Testing

/// The example plans as `pgphase plan` wrote them in format 1 (before typed steps), kept as a fixture.
let format1Plans = repositoryRoot.appendingPathComponent("Tests/PGPhaseExecutorTests/Fixtures/format1-plans")

@Suite struct PlanFormat1Tests {
  /// Reading a format-1 plan derives every step's action: today's example plans (planned without
  /// a schema, as format 1 plans were), written as format 1 (what format 1 stored of them), read
  /// back as exactly the same plans but for what format 1 did not record: source locations, the
  /// columns the intent uses and the expressions steps write.
  @Test func plansWrittenAsFormat1ReadBackAsTheSamePlansWithoutLocations() throws {
    let planned = try examplePlansWithoutSchema()
    for current in planned {
      let v1 = try PlanDocument(plan: current).canonicalJSON(asFormat: 1)
      #expect(v1.contains(#""format":1"#) && !v1.contains(#""action""#))
      let document = try PlanDocument.decode(Data(v1.utf8))
      #expect(document.format == 1)
      var expected = current
      // Nor the columns the intent uses (`uses`, added to format 2 later; optional in it).
      expected.uses = nil
      for p in expected.phases.indices {
        for s in expected.phases[p].steps.indices {
          expected.phases[p].steps[s].location = nil
          expected.phases[p].steps[s].writes = []
        }
      }
      for (old, new) in zip(document.plan.allSteps, expected.allSteps) where old != new {
        Issue.record("\(current.intent) \(new.id): read from format 1 as \(old.action), planned as \(new.action)")
      }
      #expect(document.plan == expected, "\(current.intent)")
    }
    let kinds = Set(planned.flatMap(\.allSteps).map(\.action.kind))
    #expect(kinds == [.transaction, .validateConstraint, .buildIndex, .dropIndex, .backfill, .sql], "\(kinds)")
  }

  /// The example plans as the earlier version wrote them are read as format 1, and written back
  /// as format 1 they are the files' own content (what their hash was computed over).
  @Test func format1FilesReadAndWriteBackAsTheyWere() throws {
    let ids = try FileManager.default.contentsOfDirectory(atPath: format1Plans.path).sorted()
    #expect(ids.count == 11)
    for id in ids {
      let data = try Data(contentsOf: format1Plans.appendingPathComponent("\(id)/plan.json"))
      let document = try PlanDocument.decode(data)
      #expect(document.format == 1 && document.plan.intent == id)
      #expect(document.plan.allSteps.allSatisfy { $0.location == nil })
      let canonical = try document.canonicalJSON(asFormat: 1)
      let reference = try JSONSerialization.jsonObject(with: data) as? NSDictionary
      let roundTrip = try JSONSerialization.jsonObject(with: Data(canonical.utf8)) as? NSDictionary
      #expect(reference == roundTrip, "\(id)")
    }
  }

  /// A format-1 step the old executor ran as an index build, whose statement cannot be read, is
  /// refused with the way out rather than run as something else.
  @Test func anUnreadableFormat1IndexBuildIsRefusedWithAWayOut() throws {
    let data = try Data(contentsOf: format1Plans.appendingPathComponent("20261120_incident_severity/plan.json"))
    let text = String(decoding: data, as: UTF8.self).replacingOccurrences(
      of: "CREATE INDEX CONCURRENTLY incidents_unresolved_idx ON public.incidents (created_at)",
      with: "CREATE INDEX CONCURRENTLY ON public.incidents (created_at)")
    #expect(text != String(decoding: data, as: UTF8.self))
    let error = #expect(throws: PlanReadError.self) { try PlanDocument.decode(Data(text.utf8)) }
    #expect(
      error
        == .unconvertible(
          step: "expand/04-create-index-incidents-unresolved-idx", reason: "an index build whose statement cannot be read"))
    #expect("\(try #require(error))".contains("re-plan with `pgphase plan`"))
  }

  /// A `sql` change is typed from its statement: a lone concurrent rebuild or drop of an index is
  /// run as one (watched, leftovers cleaned); anything else runs as written, without the short
  /// lock_timeout when it uses CONCURRENTLY.
  @Test(arguments: [
    ("REINDEX INDEX CONCURRENTLY checks_name_key", false, StepAction.rebuildIndex(QualifiedName("checks_name_key"))),
    ("DROP INDEX CONCURRENTLY IF EXISTS public.old_idx", false, .dropIndex(QualifiedName(schema: "public", "old_idx"))),
    ("CREATE INDEX CONCURRENTLY checks_x ON checks (name)", false, .sql(transactional: false, concurrently: true)),
    ("VACUUM ANALYZE checks", false, .sql(transactional: false, concurrently: false)),
    ("REINDEX INDEX CONCURRENTLY checks_name_key", true, .sql(transactional: true, concurrently: false)),
  ])
  func userSQLIsTypedFromItsStatement(up: String, transactional: Bool, action: StepAction) throws {
    let plan = planChanges("  - sql: {phase: backfill, up: \"\(up)\", transactional: \(transactional)}\n")
    let step = try #require(plan.steps(in: .backfill).first)
    #expect(step.action == action)
    #expect(step.sql == [up])
    #expect(step.location?.line == 3)
  }

  @Test func unsupportedFormatsSayWhatToDo() throws {
    let newer = #expect(throws: PlanReadError.self) { try PlanDocument.decode(Data(#"{"format": 3}"#.utf8)) }
    #expect(newer == .unsupportedFormat(3))
    #expect("\(try #require(newer))".contains("upgrade pgphase"))
    let older = #expect(throws: PlanReadError.self) { try PlanDocument.decode(Data(#"{"format": 0}"#.utf8)) }
    #expect("\(try #require(older))".contains("re-plan with `pgphase plan`"))
    let none = #expect(throws: PlanReadError.self) { try PlanDocument.decode(Data(#"{"intent": "x"}"#.utf8)) }
    #expect("\(try #require(none))".contains("not a pgphase plan"))
  }
}
