import Foundation
import PGPhaseCatalog
import PGPhaseModel
import PGPhasePostgres

/// Before an intent's first step: are the live tables it touches as its plan assumed them
/// (`Plan.assumes`)? A plan made against a schema carries over what a column has (indexes,
/// constraints, defaults) as the schema said; an index added by hand since would be left on the
/// old column, or block the swap, so the difference refuses the intent before anything runs.
///
/// Compared, on both sides after the same server normalisation (`ExpressionNormalizer`: types as
/// `format_type`, defaults, CHECK and index definitions as the server prints them, so an
/// intent's `int` or `amount >= 0` equals the catalog's `integer` or `CHECK ((amount >= 0))`):
/// every column with its type, collation, NOT NULL, default, identity, generation and comment and
/// what uses it; every constraint, index, trigger and statistics object; the table's own options
/// and comment (`SchemaSnapshot.differences(to:tables:)` restricted to the assumed tables, so
/// foreign keys from other tables count only between assumed tables, on both sides alike).
///
/// Not compared: a table an earlier intent changes that is not fully applied yet (the plan
/// assumed it after that intent's contract; the live table is still in the middle of it): it is
/// left out with a line saying so.
struct DriftGuard {
  let connection: Connection
  let plan: LoadedPlan
  /// Every plan of the run's plans folder, for the earlier intents still in progress.
  let plans: [LoadedPlan]

  /// What is compared and what is left out.
  struct Outcome {
    var differences: [SchemaDifference]
    /// Assumed tables not compared, with why.
    var skipped: [String]
  }

  /// Compares the live tables with what the plan assumed; nothing is written (the normaliser's
  /// scratch table lives in a rolled-back transaction).
  func check() throws -> Outcome {
    guard let assumed = plan.plan.assumes, !assumed.isEmpty else { return Outcome(differences: [], skipped: []) }
    var skipped: [String] = []
    let inProgress = try earlierInProgress()
    var compared: [SchemaSnapshot.Table] = []
    for table in assumed {
      if let other = inProgress.first(where: { $0.touched.contains(table.name) }) {
        skipped.append("\(table.name) (intent \(other.intent), which changes it too, is not fully applied)")
      } else {
        compared.append(table)
      }
    }
    guard !compared.isEmpty else { return Outcome(differences: [], skipped: skipped) }
    let live = try CatalogSchemaReader(connection).read().snapshot
    let normalizer = ExpressionNormalizer(connection)
    var expected = SchemaSnapshot()
    var actual = SchemaSnapshot()
    for table in compared {
      var assumed = try normalizer.normalize(table).table
      if let found = live.tables[table.name] {
        let found = try normalizer.normalize(found).table
        // Before PostgreSQL 18 a NOT NULL has no name (the reader makes one up), so its name
        // cannot have drifted: a plan made after a rename_table assumes the names 18 keeps.
        if connection.serverVersionNumber < 180000 {
          for i in assumed.columns.indices where assumed.columns[i].notNull != nil {
            if let name = found.column(assumed.columns[i].name)?.notNull?.name { assumed.columns[i].notNull?.name = name }
          }
        }
        actual.tables.insert(found)
      }
      expected.tables.insert(assumed)
    }
    return Outcome(differences: expected.differences(to: actual, tables: Set(compared.map(\.name))), skipped: skipped)
  }

  /// Intents before this one (id order) with a step not done, and the tables they touch.
  private func earlierInProgress() throws -> [(intent: String, touched: Set<QualifiedName>)] {
    let earlier = plans.filter { $0.plan.intent < plan.plan.intent }
    guard !earlier.isEmpty else { return [] }
    let journal = try Journal.steps(intent: nil, on: connection)
    return earlier.compactMap { lp in
      let states = journal[lp.plan.intent] ?? [:]
      let unfinished = lp.plan.allSteps.contains { states[$0.id]?.state != .done }
      // The tables it locks, and those it assumed (an index dropped concurrently locks only the
      // index by name; its plan assumed the index's table).
      let touched = lp.plan.touchedRelations().union((lp.plan.assumes ?? []).map(\.name))
      return unfinished ? (lp.plan.intent, touched) : nil
    }
  }

  /// Whether an intent has not started: no step of it journaled, or every one pending or undone
  /// (a rolled-back intent starts again from the schema its plan assumed).
  static func notStarted(_ journal: [String: JournalStep]) -> Bool {
    journal.values.allSatisfy { $0.state == .pending || $0.state == .undone }
  }

  /// What to do about a drift refusal.
  static let hint =
    "re-plan against the live schema (`pgphase schema dump --out schema.sql`, then `pgphase plan --schema schema.sql`), or rerun with --force to run the plan as it is (journaled in pgphase.events)"

  /// The refusal's problems, one per difference.
  static func problems(_ differences: [SchemaDifference]) -> [PreflightProblem] {
    differences.map {
      PreflightProblem(
        kind: .drift, step: nil, object: $0.object, message: $0.message(expected: "plan assumed", actual: "live has"))
    }
  }
}

extension Executor {
  /// Runs the drift guard for `lp` when it has not started: refuses on a difference, or with
  /// `--force` journals the override (`pgphase.events`, kind `drift_guard_overridden`) and warns.
  func guardDrift(_ lp: LoadedPlan, phase: Phase, journal: [String: JournalStep], plans: [LoadedPlan], on c: Connection)
    throws
  {
    guard lp.plan.assumes != nil, DriftGuard.notStarted(journal) else { return }
    let outcome = try DriftGuard(connection: c, plan: lp, plans: plans).check()
    for line in outcome.skipped { log("drift guard: \(lp.plan.intent): not compared: \(line)") }
    guard !outcome.differences.isEmpty else { return }
    let problems = DriftGuard.problems(outcome.differences)
    guard options.rollout.force else {
      throw ExecutorError.refusedBeforeStart(intent: lp.plan.intent, action: phase.rawValue, problems: problems)
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let detail = String(decoding: try encoder.encode(["differences": problems.map(\.message)]), as: UTF8.self)
    try c.execute(
      "INSERT INTO pgphase.events (kind, intent, phase, runner, detail) VALUES ('drift_guard_overridden', $1, $2, $3, $4::jsonb)",
      [lp.plan.intent, phase.rawValue, runnerName, detail])
    log(
      "warning: --force: running \(lp.plan.intent) although the live tables differ from what its plan assumed: "
        + problems.map(\.message).joined(separator: "; "))
  }
}
