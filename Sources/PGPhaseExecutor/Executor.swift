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
  /// Seconds a transaction holding or awaiting a lock on a step's table may have been open before
  /// the step waits for it outside the lock queue; nil: the plan's lock_timeout.
  public var maxBlockerAge: Double?
  /// Batch sizing and pacing of backfills.
  public var backfill = BackfillOptions()
  /// When backfills and index builds wait for replicas, slots and the WAL rate.
  public var pacing = PacingLimits()
  /// Run through a transaction-mode pooler anyway: without the session runner lock, and only
  /// steps that run in one transaction (others are refused before anything runs).
  public var allowPooler = false
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
  /// The terminal's columns now (nil: unknown), read at each redraw so a bar fits the screen.
  public var progressWidth: () -> Int? = { nil }

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
      try runSchedule(decision.run.compactMap { id in byID[id].map { (phase, $0) } }, plans: plans, runner: runner)
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
      try runSchedule(decision.run.compactMap { s in byID[s.intent].map { (s.phase, $0) } }, plans: plans, runner: runner)
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
      let toUndo = (lp.plan.steps(in: .expand) + lp.plan.steps(in: .backfill)).reversed().filter { step in
        guard let state = journal[step.id]?.state else { return false }
        return state == .done || state == .running || (state == .failed && !step.transactional)
      }
      // What the undos drop must be pgphase's, and droppable by this role: checked for every
      // step before the first undo runs.
      try Preflight(connection: runner.c, plan: lp).checkRollback(Array(toUndo))
      if runner.transactionPooled {
        let alone = (lp.plan.steps(in: .expand) + lp.plan.steps(in: .backfill)).filter { step in
          guard let state = journal[step.id]?.state, state != .pending, state != .undone else { return false }
          return step.undo.map { !$0.transactional } ?? false
        }
        if !alone.isEmpty { throw ExecutorError.needsSession(what: alone.map { "undo of \(intent) \($0.id)" }, evidence: nil) }
      }
      var undone = 0
      for step in toUndo {
        try runner.undo(step, of: lp)
        undone += 1
      }
      if undone == 0 { output("\(intent): nothing to roll back") }
    }
  }

  // MARK: - Session

  /// Takes the runner lock, connects, creates or upgrades the journal, and runs `body` with a
  /// step runner on that connection; releases everything afterwards.
  ///
  /// Before the lock, the two connections probe for a pooler (`PoolerGuard`): a transaction-mode
  /// pooler is refused (`ExecutorError.transactionPooler`) unless `options.allowPooler`; then no
  /// session lock is taken and the runner runs transactional steps only, each under the runner's
  /// advisory lock taken for its transaction (`StepRunner.transactionPooled`). `needsSession`
  /// names a command that cannot run that way at all.
  func withSession(needsSession command: String? = nil, _ body: (StepRunner) throws -> Void) throws {
    let lockConnection = try RunnerLock.connect(dsn: dsn, applicationName: runnerName)
    var lock: RunnerLock?
    defer {
      if let lock { lock.release() } else { lockConnection.close() }
    }
    let c = try RunnerLock.connect(dsn: dsn, applicationName: runnerName)
    defer { c.close() }
    var pooled = false
    switch try PoolerGuard.probe(lockConnection, c) {
    case .direct: break
    case .sessionPooler(let evidence): log(evidence)
    case .transactionPooler(let evidence):
      guard options.allowPooler else { throw ExecutorError.transactionPooler(evidence: evidence) }
      if let command { throw ExecutorError.needsSession(what: [command], evidence: evidence) }
      log(
        "a transaction-mode pooler is between pgphase and the server (\(evidence)); --allow-pooler: no session lock, transactional steps only, each under the runner lock taken for its own transaction"
      )
      pooled = true
    }
    if !pooled { lock = try RunnerLock.acquire(on: lockConnection, wait: options.lockWait, log: log) }
    let signals = options.cancelOnSignals ? installCancelOnSignals(try c.makeCanceller()) : nil
    defer { signals?.uninstall() }
    let session = try SessionSettings.prepare(on: c, set: !pooled)
    try Journal.ensure(on: c)
    let runner = StepRunner(
      connection: c, dsn: dsn, runnerName: runnerName, options: options, output: output, log: log,
      progressWrite: progressWrite, progressWidth: progressWidth, signals: signals, session: session)
    runner.transactionPooled = pooled
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
  /// `plans`: every plan of the folder (the drift guard looks at earlier intents).
  private func runSchedule(_ schedule: [(Phase, LoadedPlan)], plans: [LoadedPlan], runner: StepRunner) throws {
    var groups: [(Phase, [LoadedPlan])] = []
    for (phase, lp) in schedule {
      if let last = groups.last, last.0 == phase {
        groups[groups.count - 1].1.append(lp)
      } else {
        groups.append((phase, [lp]))
      }
    }
    let c = runner.c
    if runner.transactionPooled {
      var alone: [String] = []
      for (phase, lp) in schedule {
        let journal = try Journal.steps(intent: lp.plan.intent, on: c)[lp.plan.intent] ?? [:]
        for step in lp.plan.steps(in: phase) where !step.transactional && journal[step.id]?.state != .done {
          alone.append("\(lp.plan.intent) \(step.id)")
        }
      }
      if !alone.isEmpty { throw ExecutorError.needsSession(what: alone, evidence: nil) }
    }
    for (phase, group) in groups {
      try willRunPhase(phase, intents: group, on: c)
      let start = Date()
      do {
        for lp in group {
          let current = try Journal.steps(intent: lp.plan.intent, on: c)[lp.plan.intent] ?? [:]
          try guardDrift(lp, phase: phase, journal: current, plans: plans, on: c)
          try Preflight(connection: c, plan: lp).checkBefore(phase, journal: current)
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
