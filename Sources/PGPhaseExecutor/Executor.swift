import Foundation
public import PGPhaseModel
import PGPhasePostgres

/// Knobs of one executor run.
public struct ExecutorOptions: Sendable {
  /// The subcommand, for `application_name` (`pgphase <command> <host>:<pid>`).
  public var command: String
  /// Seconds to wait for the runner lock before giving up.
  public var lockWait: Double
  /// How steps that hit lock_timeout or a deadlock are retried.
  public var retry: RetryPolicy
  /// Seconds between progress lines of backfills and index builds.
  public var progressInterval: Double
  /// On SIGINT/SIGTERM, cancel the running statement, journal the step as failed and stop
  /// (`ExecutorError.interrupted`); a second signal ends the process at once. For the CLI.
  public var cancelOnSignals: Bool
  /// A redrawn bar (a terminal) or a plain line every `progressInterval` (CI, Kubernetes logs).
  public var progressStyle: ProgressStyle = .lines
  /// Batch sizing and pacing of backfills.
  public var backfill = BackfillOptions()
  /// Contract guard, hooks and notifications around phases.
  public var rollout = RolloutOptions()

  /// Options of a run; the defaults are the CLI's.
  public init(
    command: String = "apply", lockWait: Double = 600, retry: RetryPolicy = RetryPolicy(), progressInterval: Double = 5,
    cancelOnSignals: Bool = false
  ) {
    self.cancelOnSignals = cancelOnSignals
    self.command = command
    self.lockWait = lockWait
    self.retry = retry
    self.progressInterval = progressInterval
  }
}

/// Applies phases of plans to one database, with the journal in schema `pgphase`.
///
/// Every mutating entry point takes the runner lock (see `RunnerLock`), creates or upgrades the
/// journal, re-reads it, and only then decides what to run (`PhaseScheduler`); a `StepRunner`
/// runs the steps. All state is per instance: many executors can run in one process, one per
/// database. Blocking: call from a plain thread.
public final class Executor {
  /// The database, as a libpq connection string or URI; nil means libpq's environment.
  public let dsn: String?
  /// Options of the runs; read when each entry point starts.
  public var options: ExecutorOptions
  /// One line per step (`<intent> expand/01-... done in 12ms`): the command's stdout.
  public var output: (String) -> Void
  /// Progress and diagnostics (waits, retries, blockers): the command's stderr.
  public var log: (String) -> Void

  /// Raw progress text (bars with `\r`, lines ending in `\n`): the CLI's stderr. When nil,
  /// progress goes to `log` as plain lines.
  public var progressWrite: ((String) -> Void)?

  /// `pgphase <command> <host>:<pid>`, shown in pg_stat_activity and written to the journal.
  public let runnerName: String

  /// An executor for the database `dsn`; `output` gets one line per step, `log` the progress and waits.
  public init(
    dsn: String?, options: ExecutorOptions = ExecutorOptions(), output: @escaping (String) -> Void,
    log: @escaping (String) -> Void
  ) {
    self.dsn = dsn
    self.options = options
    self.output = output
    self.log = log
    let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
    self.runnerName = "pgphase \(options.command) \(host):\(ProcessInfo.processInfo.processIdentifier)"
  }

  // MARK: - Entry points

  /// Runs `phase` of the named intents (nil: every intent for which `phase` is next).
  /// An explicitly named intent whose earlier phase is not done, or that waits for an earlier
  /// intent, is an error naming it; unnamed ones are skipped with a line saying why.
  public func apply(phase: Phase, intents: [String]?, plans: [LoadedPlan]) throws {
    let selected = try select(intents, from: plans)
    try PlanSafety.check(selected)
    try withSession { runner in
      let journal = try Journal.steps(intent: nil, on: runner.c)
      for lp in selected { try checkUnchanged(lp, journal[lp.plan.intent] ?? [:]) }
      var scheduler = PhaseScheduler(plans: plans.map(\.plan), states: Self.states(journal))
      let decision = scheduler.apply(phase, to: selected.map(\.plan.intent))
      let named = intents != nil
      if named {
        for id in decision.alreadyDone { output("\(id) \(phase.rawValue): already done") }
        if !decision.blocked.isEmpty { throw ExecutorError.phaseOrder(decision.blocked) }
      } else {
        // Unnamed intents whose own earlier phase is not done are simply not due; those waiting
        // for an earlier intent are named, with the way to run them in order.
        for problem in decision.blocked {
          if case .waitsFor = problem.reason { output(problem.explanation) }
        }
      }
      if decision.run.isEmpty {
        output("nothing to do: no intent has \(phase.rawValue) as its next phase" + (named ? " among those named" : ""))
        return
      }
      let byID = Dictionary(plans.map { ($0.plan.intent, $0) }, uniquingKeysWith: { first, _ in first })
      try runSchedule(decision.run.compactMap { id in byID[id].map { (phase, $0) } }, runner: runner)
    }
  }

  /// Runs the next due phase of each named intent (nil: every intent); with `target`, every
  /// phase up to and including it, in the order `PhaseScheduler.advance` decides.
  public func advance(intents: [String]?, to target: Phase? = nil, plans: [LoadedPlan]) throws {
    let selected = try select(intents, from: plans)
    try PlanSafety.check(selected)
    try withSession { runner in
      let journal = try Journal.steps(intent: nil, on: runner.c)
      for lp in selected { try checkUnchanged(lp, journal[lp.plan.intent] ?? [:]) }
      var scheduler = PhaseScheduler(plans: plans.map(\.plan), states: Self.states(journal))
      let decision = scheduler.advance(selected.map(\.plan.intent), to: target)
      for problem in decision.waiting { output(problem.summary) }
      if decision.run.isEmpty {
        output(
          decision.waiting.isEmpty
            ? "nothing to do: every intent is \(target.map { "at least through \($0.rawValue)" } ?? "fully applied")"
            : "nothing to do until the intents above can run")
        return
      }
      let byID = Dictionary(plans.map { ($0.plan.intent, $0) }, uniquingKeysWith: { first, _ in first })
      try runSchedule(decision.run.compactMap { s in byID[s.intent].map { (s.phase, $0) } }, runner: runner)
    }
  }

  /// Undoes the backfill and expand steps of an intent, in reverse, unless contract started.
  public func rollback(intent: String, plans: [LoadedPlan]) throws {
    guard let lp = plans.first(where: { $0.plan.intent == intent }) else {
      throw ExecutorError.unknownIntent(intent, known: plans.map(\.plan.intent))
    }
    try PlanSafety.check([lp])
    try withSession { runner in
      let journal = try Journal.steps(intent: intent, on: runner.c)[intent] ?? [:]
      try checkUnchanged(lp, journal)
      let started = lp.plan.steps(in: .contract).filter { s in
        guard let state = journal[s.id]?.state else { return false }
        return state != .pending && state != .undone
      }
      if let first = started.first, let state = journal[first.id]?.state {
        throw ExecutorError.rollbackRefused(intent: intent, step: first.id, state: state)
      }
      var undone = 0
      for step in (lp.plan.steps(in: .expand) + lp.plan.steps(in: .backfill)).reversed() {
        guard let state = journal[step.id]?.state else { continue }
        let needsUndo = state == .done || state == .running || (state == .failed && !step.transactional)
        guard needsUndo else { continue }
        try runner.undo(step, of: lp)
        undone += 1
      }
      if undone == 0 { output("\(intent): nothing to roll back") }
    }
  }

  // MARK: - Session

  /// Takes the runner lock, connects, creates or upgrades the journal, and runs `body` with a
  /// step runner on that connection; releases everything afterwards.
  func withSession(_ body: (StepRunner) throws -> Void) throws {
    let lock = try RunnerLock.acquire(dsn: dsn, applicationName: runnerName, wait: options.lockWait, log: log)
    defer { lock.release() }
    let c: Connection
    do {
      c = try Connection.connect(dsn: dsn, applicationName: runnerName)
    } catch {
      throw ExecutorError.connection(error)
    }
    defer { c.close() }
    let signals = options.cancelOnSignals ? installCancelOnSignals(try c.makeCanceller()) : nil
    defer { signals?.uninstall() }
    try Journal.ensure(on: c)
    let runner = StepRunner(
      connection: c, dsn: dsn, runnerName: runnerName, options: options, output: output, log: log,
      progressWrite: progressWrite, signals: signals)
    do {
      try body(runner)
    } catch let e as PostgresError where e.connectionLost {
      throw ExecutorError.connectionLost(PostgresErrorSummary(e))
    }
  }

  private func select(_ intents: [String]?, from plans: [LoadedPlan]) throws -> [LoadedPlan] {
    guard let intents, !intents.isEmpty else { return plans }
    return try intents.map { id in
      guard let lp = plans.first(where: { $0.plan.intent == id }) else {
        throw ExecutorError.unknownIntent(id, known: plans.map(\.plan.intent))
      }
      return lp
    }
  }

  /// The journal's step states, for the scheduler.
  static func states(_ journal: [String: [String: JournalStep]]) -> [String: [String: StepState]] {
    journal.mapValues { $0.mapValues(\.state) }
  }

  /// Refuses a plan when a step that ran (done or running) changed its SQL or disappeared.
  /// Steps not yet run may differ.
  private func checkUnchanged(_ lp: LoadedPlan, _ journal: [String: JournalStep]) throws {
    let ran = journal.values.filter { $0.state == .done || $0.state == .running }
    guard !ran.isEmpty else { return }
    let steps = Dictionary(lp.plan.allSteps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    for record in ran.sorted(by: { $0.stepID < $1.stepID }) {
      guard let step = steps[record.stepID] else {
        throw ExecutorError.planChanged(intent: lp.plan.intent, step: record.stepID, state: record.state, change: .removed)
      }
      if step.sql != record.statements {
        throw ExecutorError.planChanged(intent: lp.plan.intent, step: record.stepID, state: record.state, change: .sqlDiffers)
      }
    }
  }

  /// Runs scheduled (phase, intent) pairs in order. Consecutive pairs of the same phase form one
  /// group: `willRunPhase` before it (may refuse), `didRunPhase` after it or after its failure.
  private func runSchedule(_ schedule: [(Phase, LoadedPlan)], runner: StepRunner) throws {
    var groups: [(Phase, [LoadedPlan])] = []
    for (phase, lp) in schedule {
      if let last = groups.last, last.0 == phase {
        groups[groups.count - 1].1.append(lp)
      } else {
        groups.append((phase, [lp]))
      }
    }
    let c = runner.c
    for (phase, group) in groups {
      try willRunPhase(phase, intents: group, on: c)
      let start = Date()
      do {
        for lp in group {
          let current = try Journal.steps(intent: lp.plan.intent, on: c)[lp.plan.intent] ?? [:]
          try runner.runPhase(phase, of: lp, journal: current)
        }
      } catch {
        didRunPhase(phase, intents: group, seconds: Date().timeIntervalSince(start), error: error, on: c)
        throw error
      }
      didRunPhase(phase, intents: group, seconds: Date().timeIntervalSince(start), error: nil, on: c)
    }
  }
}
