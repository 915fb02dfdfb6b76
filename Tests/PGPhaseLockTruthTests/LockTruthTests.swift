import Foundation
import PGPhaseLint
import PGPhaseModel
import PGPhasePlanner
import PGPhasePostgres
import PGPhaseSQL
import PGPhaseTestSupport
import Testing

/// One plan step and what it did on the test server.
struct MeasuredStep {
  var intent: String
  var step: Step
  var kind: StepKind
  var measurement: Measurement

  var label: String { "\(intent) \(step.id)" }

  /// `add_column_001_null_none expand/01-add-column-c`: where docs/locks.md's example comes from.
  var example: String {
    let short = intent.hasPrefix("20300101_") ? String(intent.dropFirst("20300101_".count)) : intent
    return "\(short) \(step.id)"
  }
}

/// What the suite knows before any server runs: the kinds every plan of the corpus and of the
/// examples has, and which corpus intents to run so every kind runs at least once.
enum LockTruth {
  static func kinds(_ plans: [Plan]) -> Set<StepKind> { Set(plans.flatMap(\.allSteps).map(StepKind.init)) }

  /// A small set of corpus plans that together have every kind of the corpus: repeatedly the plan
  /// with the most kinds not yet covered (ties: corpus order). Every operation is in it.
  static func cover(_ plans: [Plan]) -> [Plan] {
    var uncovered = kinds(plans)
    var chosen: [Plan] = []
    while !uncovered.isEmpty {
      let best = plans.max { a, b in
        let x = kinds([a]).intersection(uncovered).count
        let y = kinds([b]).intersection(uncovered).count
        return x < y || (x == y && a.intent > b.intent)
      }!
      chosen.append(best)
      uncovered.subtract(kinds([best]))
    }
    return chosen.sorted { $0.intent < $1.intent }
  }

  /// Runs the covering corpus plans, each on a fresh copy of the corpus schema, then the example
  /// plans in order on the example schema; measures every step. Once per test run.
  static let measured: Result<[MeasuredStep], any Error> = Result {
    var out: [MeasuredStep] = []
    let base = try TestDatabase.create(applicationName: "pgphase-locktruth")
    defer { try? base.drop() }
    try base.connection.executeScript(Corpus.schema)
    try base.connection.executeAlone("VACUUM ANALYZE")
    base.disconnect()
    for plan in cover(try Corpus.plans()) {
      try withTestDatabase(template: base.name) { db in
        out += try run(plan, on: db)
      }
    }
    try withTestDatabase { db in
      try db.connection.runSQLFile(repositoryRoot.appendingPathComponent("examples/schema.sql").path)
      try db.connection.execute("VACUUM ANALYZE")
      for plan in try Corpus.examplePlans() { out += try run(plan, on: db) }
    }
    return out
  }

  static func run(_ plan: Plan, on db: TestDatabase) throws -> [MeasuredStep] {
    let measurer = try StepMeasurer(db)
    defer { measurer.close() }
    return try plan.allSteps.map { step in
      do {
        return MeasuredStep(intent: plan.intent, step: step, kind: StepKind(step), measurement: try measurer.run(step))
      } catch {
        throw StepMeasurer.Failure(description: "\(plan.intent) \(step.id): \(error)")
      }
    }
  }

  /// How `step` differs from what it declares, measured as `m`; empty when it does not.
  static func mismatches(_ step: Step, _ m: Measurement) -> [String] {
    var out: [String] = []
    if let refused = m.refusedInTransaction, !refused {
      out.append("is declared non-transactional, but runs in a transaction block (it could be journaled atomically)")
    }
    guard step.cost != .unknown else { return out }  // `sql`: the planner claims nothing
    for (name, mode) in m.declared.sorted(by: { $0.key < $1.key }) where m.locks[name] != mode {
      out.append("declares \(mode.rawValue) on \(name), measured \(m.locks[name]?.rawValue ?? "no lock")")
    }
    for (name, mode) in m.locks.sorted(by: { $0.key < $1.key }) where m.declared[name] == nil && mode > .accessShare {
      if excused(name, mode, step, m) { continue }
      out.append("takes \(mode.rawValue) on \(name), which it does not declare")
    }
    if m.hadRows, m.cost != step.cost {
      out.append("declares cost \(step.cost.rawValue), measured \(m.cost.rawValue) (\(m.summary))")
    }
    return out
  }

  /// Undeclared locks the planner cannot declare, each checked against the catalog: a drop's lock
  /// on a table a foreign key links to what it drops, and a concurrent index drop's lock on the
  /// index's table (declared on the index, the table may be unknown to the planner).
  static func excused(_ name: String, _ mode: LockMode, _ step: Step, _ m: Measurement) -> Bool {
    let shape = StepKind(step).shape
    if m.foreignKeyNeighbours.contains(name),
      shape.contains("DROP TABLE") || shape.contains("DROP COLUMN") || shape.contains("DROP CONSTRAINT")
    {
      return true
    }
    if shape.hasPrefix("DROP INDEX CONCURRENTLY"), m.declared.values.contains(mode), m.indexTables.contains(name) { return true }
    return false
  }

  /// The facts of a measurement with the corpus's names replaced by the declared relation they
  /// are (so two instances of a kind on different tables compare equal). Locks a drop takes on
  /// foreign-key neighbours depend on the schema, not the step, and are left out.
  static func normalized(_ s: MeasuredStep) -> String {
    let m = s.measurement
    let order = s.step.locks.map(\.relation.name)
    var roles: [String] = []
    if s.step.cost == .unknown {
      roles = Set(m.locks.values.map(\.rawValue)).sorted()
    } else {
      for (name, mode) in m.locks {
        let bare = name.split(separator: ".").last.map(String.init) ?? name
        if let i = order.firstIndex(of: bare) {
          roles.append("declared#\(i)=\(mode.rawValue)")
        } else if !excused(name, mode, s.step, m) {
          roles.append("other=\(mode.rawValue)")
        }
      }
    }
    return "\(roles.sorted().joined(separator: ",")) \(m.cost.rawValue) refused=\(m.refusedInTransaction.map(String.init) ?? "-")"
  }

  /// Rules whose finding says a statement rewrites a table or scans it while blocking writes.
  static let blockingRules: Set<Rule> = [
    .requireConcurrentIndex, .requireConcurrentReindex, .addColumnRewritingDefault, .addStoredGeneratedColumn,
    .setNotNullWithoutCheck, .columnTypeRewrite, .constraintMissingNotValid, .vacuumFull, .cluster,
    .uniqueWithoutUsingIndex, .excludeConstraint, .requireConcurrentRefresh,
  ]

  /// The step each docs/locks.md row shows: the first of its kind among the corpus plans that run.
  static func representatives() throws -> [StepKind: (intent: String, step: Step)] {
    var out: [StepKind: (intent: String, step: Step)] = [:]
    for plan in cover(try Corpus.plans()) {
      for step in plan.allSteps where out[StepKind(step)] == nil { out[StepKind(step)] = (plan.intent, step) }
    }
    return out
  }

  /// docs/locks.md's rows: the representatives, with `version`'s cells from `measured` (nil: none)
  /// and the other versions' cells from the file on disk.
  static func docRows(_ measured: [MeasuredStep]?, version: Int?, onDisk: String?) throws -> [LocksDoc.Row] {
    let kept = onDisk.map(LocksDoc.measuredCells) ?? [:]
    return try representatives().map { kind, representative in
      var cells = kept[kind] ?? [:]
      if let version, let measured {
        cells[version] =
          measured.first { $0.intent == representative.intent && $0.step.id == representative.step.id }?.measurement.summary
      }
      let s = MeasuredStep(
        intent: representative.intent, step: representative.step, kind: kind,
        measurement: Measurement(
          locks: [:], declared: [:], scanned: false, scannedBlockingWrites: false, rewritten: [], refusedInTransaction: nil))
      return LocksDoc.Row(
        kind: kind, example: s.example, transactional: s.step.transactional ? "yes" : "no",
        declared: LocksDoc.declared(s.step), measured: cells)
    }
  }
}

/// Lock truth: every kind of step the planner emits is run on the test server, on tables with
/// rows, and must take exactly the locks it declares, with the cost class it declares, in a
/// transaction exactly when it says so. `scripts/test` runs this on PostgreSQL 15, 17 and 18.
@Suite("Lock truth", .serialized, .enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct LockTruthTests {
  static func steps() throws -> [MeasuredStep] { try LockTruth.measured.get() }

  @Test func everyStepTakesTheLocksItDeclares() throws {
    var problems: [String] = []
    for s in try Self.steps() {
      let found = LockTruth.mismatches(s.step, s.measurement)
      if !found.isEmpty { problems.append("\(s.label) [\(s.kind)]: " + found.joined(separator: "; ")) }
    }
    #expect(problems.isEmpty, "on PostgreSQL \(TestServer.major):\n\(problems.joined(separator: "\n"))")
  }

  /// Two steps of one kind measure the same; otherwise the kind hides a difference that matters.
  @Test func everyInstanceOfAKindMeasuresTheSame() throws {
    var byKind: [StepKind: [(String, String)]] = [:]
    for s in try Self.steps() where s.measurement.hadRows {
      byKind[s.kind, default: []].append((s.label, LockTruth.normalized(s)))
    }
    for (kind, instances) in byKind {
      let distinct = Set(instances.map(\.1))
      #expect(distinct.count == 1, "\(kind): \(instances.map { "\($0.0) → \($0.1)" }.joined(separator: "; "))")
    }
  }

  /// 100% of the kinds: every kind of every corpus plan and example plan was run and measured.
  @Test func everyKindWasMeasured() throws {
    let planned = LockTruth.kinds(try Corpus.plans()).union(LockTruth.kinds(try Corpus.examplePlans()))
    let measured = Set(try Self.steps().map(\.kind))
    #expect(planned.subtracting(measured).isEmpty, "never run: \(planned.subtracting(measured).sorted())")
    #expect(planned.count > 40, "\(planned.count) kinds")
  }

  /// The linter's lock facts (`LockFacts`) and the planner claim the same lock for the same step (the strongest lock on a
  /// relation that existed before it); for `sql` steps, which the planner does not analyse, the
  /// linter's claim is held against the measurement. The linter's version-dependent rules (a
  /// rewriting default, SET NOT NULL without a validated check, a type change, ...) fire on a
  /// step exactly when this server rewrote the table or scanned it while blocking writes.
  @Test func theLinterAgreesWithThePlannerAndTheServer() throws {
    let steps = try Self.steps()
    var problems: [String] = []
    for s in steps {
      // A statement only on a table an earlier statement of the step created locks nothing anyone
      // else can see (the linter knows new tables from context, not from one statement).
      var created = Set<String>()
      var lint: LockMode?
      for sql in s.step.sql {
        let relations = SQLShape.relations(sql)
        if relations.named.isEmpty || !relations.named.isSubset(of: created), let mode = LockFacts.strongestMode(of: sql) {
          lint = max(lint ?? mode, mode)
        }
        if let new = relations.created { created.insert(new) }
      }
      let other =
        s.step.cost == .unknown
        ? s.measurement.locks.values.filter { $0 > .accessShare }.max() : s.measurement.declared.values.max()
      if lint != other {
        let side = s.step.cost == .unknown ? "measured" : "the planner declares"
        problems.append(
          "\(s.label): the linter says \(lint?.rawValue ?? "no lock"), \(side) \(other?.rawValue ?? "no lock")")
      }
    }
    let byIntent = Dictionary(grouping: steps, by: \.intent)
    let allPlans = try Corpus.plans() + Corpus.examplePlans()
    let options = LintOptions(pgVersion: TestServer.major)
    for (intent, measured) in byIntent {
      let plan = try #require(allPlans.first { $0.intent == intent })
      // One line per step id, so each finding points at its step.
      let text = plan.allSteps.map { "\"\($0.id)\"" }.joined(separator: "\n")
      let findings = Linter(options: options).lint(plan: plan, file: "plan.json", text: text)
      for (i, s) in plan.allSteps.enumerated() {
        let flagged = findings.filter { $0.location.line == i + 1 && LockTruth.blockingRules.contains($0.rule) }
        let m = try #require(measured.first { $0.step.id == s.id }).measurement
        let cost = m.cost
        guard m.hadRows else { continue }
        let blocking = cost == .rewrite || cost == .scanBlocksWrites
        if flagged.isEmpty == blocking {
          problems.append(
            "\(intent) \(s.id): measured \(cost.rawValue) on PostgreSQL \(TestServer.major), but the linter "
              + (flagged.isEmpty ? "is silent" : "reports \(flagged.map(\.rule.rawValue).joined(separator: ", "))"))
        }
      }
    }
    #expect(problems.isEmpty, "\(problems.sorted().joined(separator: "\n"))")
  }

  /// docs/locks.md's column for this server version is what was measured now; its other columns
  /// are kept. `PGPHASE_RECORD=1` rewrites this version's column and fails, so CI cannot pass by
  /// recording.
  @Test func docsHoldThisVersionsMeasurements() throws {
    let url = repositoryRoot.appendingPathComponent(LocksDoc.path)
    let onDisk = try? String(contentsOf: url, encoding: .utf8)
    let content = LocksDoc.render(try LockTruth.docRows(try Self.steps(), version: TestServer.major, onDisk: onDisk))
    if ProcessInfo.processInfo.environment["PGPHASE_RECORD"] == "1" {
      try content.write(to: url, atomically: true, encoding: .utf8)
      Issue.record("PGPHASE_RECORD=1 rewrote the PostgreSQL \(TestServer.major) column of \(LocksDoc.path); rerun without it")
      return
    }
    #expect(
      onDisk == content,
      "\(LocksDoc.path) differs from what PostgreSQL \(TestServer.major) measured:\n\(LineDiff.unified(old: onDisk ?? "", new: content, oldName: "on disk", newName: "measured"))\nrun `PGPHASE_RECORD=1 scripts/with-pg --pg \(TestServer.major) swift test --filter PGPhaseLockTruthTests` and review the diff"
    )
  }
}

/// What the suite checks without a server: the corpus covers every operation, the examples have
/// no kind the corpus lacks, and docs/locks.md has exactly the corpus's kinds, the planner's
/// declarations, and a measurement on every supported version.
@Suite struct LockTruthCoverageTests {
  @Test func theCorpusHasEveryOperationOfTheDocs() throws {
    let docs = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/intents.md"), encoding: .utf8)
    // The `### op` headings of the "## Operations" section.
    let lines = docs.split(separator: "\n")
    let start = try #require(lines.firstIndex(of: "## Operations"))
    let section = lines[(start + 1)...].prefix { !$0.hasPrefix("## ") }
    let documented = Set(
      section.filter { $0.hasPrefix("### ") }.flatMap {
        $0.dropFirst(4).split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
      }.filter { !$0.contains(" ") })
    #expect(documented.count >= 19, "\(documented.sorted())")
    let planned = Set(try Corpus.plans().flatMap(\.allSteps).map(\.operation))
    #expect(
      documented.subtracting(planned).isEmpty, "operations with no corpus intent: \(documented.subtracting(planned).sorted())")
  }

  @Test func theExamplesHaveNoKindTheCorpusLacks() throws {
    let missing = LockTruth.kinds(try Corpus.examplePlans()).subtracting(LockTruth.kinds(try Corpus.plans()))
    #expect(missing.isEmpty, "add corpus intents for: \(missing.sorted())")
  }

  @Test func theDocsHaveEveryKindMeasuredOnEveryVersion() throws {
    let url = repositoryRoot.appendingPathComponent(LocksDoc.path)
    let onDisk = try String(contentsOf: url, encoding: .utf8)
    let cells = LocksDoc.measuredCells(in: onDisk)
    let kinds = LockTruth.kinds(try Corpus.plans())
    #expect(
      Set(cells.keys) == kinds,
      "rows without a kind: \(Set(cells.keys).subtracting(kinds).sorted()); kinds without a row: \(kinds.subtracting(cells.keys).sorted())"
    )
    for kind in kinds.sorted() {
      let missing = LocksDoc.versions.filter { cells[kind]?[$0] == nil }
      #expect(missing.isEmpty, "\(kind) is not measured on PostgreSQL \(missing)")
    }
    // The declared columns are the planner's: rendering the planned corpus with the measured
    // cells on disk gives the file back.
    let rendered = LocksDoc.render(try LockTruth.docRows(nil, version: nil, onDisk: onDisk))
    #expect(
      rendered == onDisk,
      "\(LocksDoc.path) does not match the planner's declarations:\n\(LineDiff.unified(old: onDisk, new: rendered, oldName: "on disk", newName: "planned"))"
    )
  }
}
