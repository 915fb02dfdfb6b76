import Foundation
public import PGPhaseModel
public import PGPhasePostgres

/// Why the executor stopped. Each case carries what a user needs to act on it; the command line
/// decides the exit code and prints `diagnostics`.
public enum ExecutorError: Error, Sendable, Equatable, CustomStringConvertible {
  /// A plan (or the plans folder) cannot be read: `path` names the file or folder.
  case badPlans(path: String, problem: String)
  /// Plans refused before anything ran because they would be unsafe to run (see `PlanSafety`).
  case unsafePlans([PlanSafety.Violation])
  /// An intent named on the command line has no plan.
  case unknownIntent(String, known: [String])
  /// A file the run was asked to write cannot be written (`--batch-log`).
  case cannotWrite(path: String)
  /// Could not take the runner lock in time; `holder` describes who holds it.
  case lockWaitTimeout(seconds: Double, holder: String?)
  /// Could not connect to the database.
  case connection(ConnectionError)
  /// The connection was lost while running; the journal says how far the run got.
  case connectionLost(PostgresErrorSummary)
  /// A step (or its undo) failed; the journal records it.
  case stepFailed(intent: String, step: String, undo: Bool, failure: StepFailure)
  /// A step that already ran (done or running) changed in the plan, or disappeared from it.
  case planChanged(intent: String, step: String, state: StepState, change: PlanChange)
  /// Intents named on the command line cannot run the asked phase yet.
  case phaseOrder([PhaseOrderProblem])
  /// Rollback refused: `step`, a contract step, has started (contract is the point of no return).
  case rollbackRefused(intent: String, step: String, state: StepState)
  /// SIGINT or SIGTERM: the running step was cancelled and journaled.
  case interrupted(signal: Int32)
  /// The journal was written by a newer pgphase.
  case journalTooNew(found: Int, supported: Int)
  /// Refused before anything of the intent's phase (or its rollback) ran, so nothing changed:
  /// names its steps create are taken by objects pgphase did not create, privileges they need are
  /// missing, or what an undo would drop is not pgphase's. `action` is the phase, or `roll back`.
  case refusedBeforeStart(intent: String, action: String, problems: [PreflightProblem])
  /// The journal cannot be used as it is (see `JournalProblem`); nothing was written.
  case journalUnusable(JournalProblem)
  /// A transaction-mode pooler is between pgphase and the server (`evidence` says what showed
  /// it): the session runner lock would not hold. Refused before the lock was taken.
  case transactionPooler(evidence: String)
  /// With `--allow-pooler` through a transaction-mode pooler: these steps (or the command) need a
  /// session of their own (they run outside a transaction). Refused before anything ran.
  case needsSession(what: [String], evidence: String?)

  /// How a step that ran differs from the plan given now.
  public enum PlanChange: String, Sendable, Equatable, Codable {
    /// The step is no longer in the plan.
    case removed
    /// Its SQL differs from the statements the journal recorded.
    case sqlDiffers = "sql_differs"
  }

  /// The problems, one per intent (or step) where they have one, for every command to print.
  public var diagnostics: [Diagnostic] {
    switch self {
    case .badPlans(let path, let problem):
      return [Diagnostic(.error, problem, at: nil, object: path)]
    case .unsafePlans(let violations):
      return violations.map {
        .error(
          "refusing to run: changes rows of \($0.table) and runs DDL on it in the same transaction (DDL: "
            + $0.ddlStatements.map { "`\($0)`" }.joined(separator: "; ") + "; data: "
            + $0.dataStatements.map { "`\($0)`" }.joined(separator: "; ") + ")", intent: $0.intent, step: $0.step,
          hint: "split them into separate steps, so no transaction holds a DDL lock while it changes rows")
      }
    case .interrupted:
      return [Diagnostic(.error, description, at: nil)]
    case .stepFailed(let intent, let step, let undo, let failure):
      var d = Diagnostic.error(
        (undo ? "undo failed: " : "failed: ") + failure.message, intent: intent, step: step, object: failure.object)
      for (key, value) in failure.context { d.context[key] = value }
      return [d]
    case .planChanged(let intent, let step, _, _):
      return [
        .error(
          planChangedMessage, intent: intent, step: step,
          hint: "revert the plan edit, or write a new intent for the change")
      ]
    case .phaseOrder(let problems):
      return problems.map { .error($0.message, intent: $0.intent, hint: $0.hint) }
    case .rollbackRefused(let intent, let step, _):
      return [.error(description, intent: intent, step: step)]
    case .refusedBeforeStart(let intent, let action, let problems):
      return problems.map {
        .error(
          "refusing to \(action) (nothing changed): \($0.message)", intent: intent, step: $0.step, object: $0.object,
          hint: $0.grant.map { "as a role that may grant it, run: \($0)" } ?? ($0.kind == .drift ? DriftGuard.hint : nil))
      }
    case .journalUnusable(let problem):
      return [Diagnostic(.error, problem.description, at: nil, object: "schema pgphase", hint: problem.hint)]
    case .connectionLost(let summary):
      var d = Diagnostic(.error, "lost the connection to PostgreSQL: \(summary.message)", at: nil)
      if let sqlState = summary.sqlState { d.context[Diagnostic.ContextKey.sqlState] = sqlState }
      return [d]
    default:
      return [Diagnostic(.error, description, at: nil)]
    }
  }

  private var planChangedMessage: String {
    guard case .planChanged(let intent, let step, let state, let change) = self else { return "" }
    let what = change == .removed ? "is no longer in the plan" : "has different SQL in the plan"
    return "plan of \(intent) changed after some of its steps ran: step \(step) is \(state.rawValue) but \(what)"
  }

  /// One paragraph, for logs, hooks and webhooks.
  public var description: String {
    switch self {
    case .badPlans(let path, let problem): "bad plans: \(path): \(problem)"
    case .unsafePlans(let violations):
      "refusing to run: DDL and data changes on the same table in one transaction\n"
        + violations.map { "  " + $0.description }.joined(separator: "\n")
    case .unknownIntent(let id, let known): "no plan for intent \(id) (known: \(known.joined(separator: ", ")))"
    case .cannotWrite(let path): "cannot create or open \(path) for writing"
    case .lockWaitTimeout(let s, let holder):
      "could not take the pgphase runner lock within \(formatSeconds(s))" + (holder.map { "; held by \($0)" } ?? "")
    case .connection(let error): error.description
    case .connectionLost(let summary): "lost the connection to PostgreSQL: \(summary.message)"
    case .stepFailed(let intent, let step, let undo, let failure):
      "\(intent) \(step)\(undo ? " (undo)" : "") failed: \(failure)"
    case .planChanged:
      planChangedMessage + ". Revert the plan edit, or write a new intent for the change"
    case .phaseOrder(let problems): problems.map(\.description).joined(separator: "\n")
    case .rollbackRefused(let intent, let step, let state):
      "cannot roll back \(intent): its contract phase has started (\(step) is \(state.rawValue)); contract is the point of no return"
    case .interrupted(let signal):
      "interrupted by signal \(signal): the running step was cancelled and journaled; rerun to continue"
    case .journalTooNew(let found, let supported):
      "the pgphase journal is at version \(found) but this pgphase supports up to \(supported): upgrade pgphase"
    case .refusedBeforeStart(let intent, let action, let problems):
      "refusing to \(action) \(intent) (nothing changed): "
        + problems.map { $0.message + ($0.grant.map { " (grant it with: \($0))" } ?? "") }.joined(separator: "; ")
        + (problems.contains { $0.kind == .drift } ? "; \(DriftGuard.hint)" : "")
    case .journalUnusable(let problem): problem.description + (problem.hint.map { "; \($0)" } ?? "")
    case .transactionPooler(let evidence):
      "refusing to run through a connection pooler in transaction mode (pool_mode = transaction): \(evidence). pgphase's runner lock is a session advisory lock, which such a pooler leaves on whichever server connection ran it, and two runners could both believe they hold it. Connect directly to PostgreSQL or through a pool in session mode (pool_mode = session); --allow-pooler runs only the steps that need no session"
    case .needsSession(let what, let evidence):
      "refusing to run through a transaction-mode pooler (--allow-pooler\(evidence.map { "; \($0)" } ?? "")): \(what.joined(separator: ", ")) \(what.count == 1 ? "needs" : "need") a session of its own (\(what.count == 1 ? "it runs" : "they run") outside a transaction); connect directly or through a session-mode pool for \(what.count == 1 ? "it" : "them")"
    }
  }
}

/// Why an intent cannot run the phase asked for (see `PhaseScheduler`).
public struct PhaseOrderProblem: Sendable, Equatable, CustomStringConvertible {
  /// What stands in the way.
  public enum Reason: Sendable, Equatable {
    /// The intent's own earlier phase is not done.
    case earlierPhase(Phase)
    /// An earlier intent has not finished `phase`.
    case waitsFor(intent: String, phase: Phase)
  }

  /// The intent that cannot run.
  public var intent: String
  /// The phase asked for.
  public var phase: Phase
  /// What stands in the way.
  public var reason: Reason
  /// With `.waitsFor` a contract: the object both touch; nil when the wait is the id-order rule.
  public var conflict: Conflict?

  /// Why a phase waits for an earlier intent's contract.
  public enum Conflict: Sendable, Equatable {
    /// The contract drops what this phase creates again (`table public.products`).
    case recreates(String)
    /// The contract replaces a column this intent uses (`column public.orders.amount`): what this
    /// phase makes on it would be dropped with the old column.
    case uses(String)
  }

  /// A problem of `intent` running `phase`.
  public init(intent: String, phase: Phase, reason: Reason, conflict: Conflict? = nil) {
    self.intent = intent
    self.phase = phase
    self.reason = reason
    self.conflict = conflict
  }

  /// For a diagnostic, whose place already names the intent.
  public var message: String {
    switch reason {
    case .earlierPhase(let next): "cannot apply \(phase.rawValue): its \(next.rawValue) phase is not done"
    case .waitsFor(let other, let missing):
      switch conflict {
      case .recreates(let object):
        "\(phase.rawValue) waits for \(other): its \(missing.rawValue) phase drops \(object), which this \(phase.rawValue) creates again"
      case .uses(let object):
        "\(phase.rawValue) waits for \(other): its \(missing.rawValue) phase replaces \(object), which this intent uses"
      case nil:
        "\(phase.rawValue) waits for \(other): its \(missing.rawValue) phase is not done"
      }
    }
  }

  /// `<intent> <phase> waits for <other>: its <phase> phase is not done`, as `advance` prints it.
  public var summary: String { "\(intent) \(message)" }

  /// The line `apply` prints for an intent it skips.
  public var explanation: String {
    switch reason {
    case .earlierPhase(let next):
      "cannot apply \(phase.rawValue) of \(intent): its \(next.rawValue) phase is not done (run `pgphase apply --phase \(next.rawValue) --intent \(intent)` first)"
    case .waitsFor(let other, _) where conflict != nil:
      "\(summary) (`pgphase advance --to contract` runs \(other)'s contract first)"
    case .waitsFor:
      "\(summary) (intents apply in id order; `pgphase advance --to \(phase == .contract ? "contract" : "backfill")` runs them in that order)"
    }
  }

  /// The whole sentence with the way out, as `apply` refuses.
  public var description: String {
    switch reason {
    case .earlierPhase: explanation
    case .waitsFor: "cannot apply: " + explanation
    }
  }

  /// The command that gets past it.
  public var hint: String? {
    switch reason {
    case .earlierPhase(let next): "run `pgphase apply --phase \(next.rawValue) --intent \(intent)` first"
    case .waitsFor:
      "intents apply in id order; `pgphase advance --to \(phase == .contract ? "contract" : "backfill")` runs them in that order"
    }
  }
}

/// Why a step failed: what PostgreSQL said, or what pgphase itself refused. Journaled with the
/// step (`error_sqlstate` is set only when the server gave one).
public enum StepFailure: Error, Sendable, Equatable, CustomStringConvertible {
  /// The server rejected a statement (or the connection broke).
  case postgres(PostgresErrorSummary)
  /// pgphase stopped the step: a check before or after it did not hold. `statement` is the step's.
  case refused(StepRefusal, statement: String?)

  /// The server's error as a failure.
  public init(_ error: PostgresError) {
    self = .postgres(PostgresErrorSummary(error))
  }

  /// The first line: the server's message, or the refusal.
  public var message: String {
    switch self {
    case .postgres(let e): e.message
    case .refused(let r, _): r.description
    }
  }

  /// The server's SQLSTATE; nil for a refusal of pgphase's own.
  public var sqlState: String? {
    if case .postgres(let e) = self { return e.sqlState }
    return nil
  }

  /// The server's DETAIL, when it gave one.
  public var detail: String? {
    if case .postgres(let e) = self { return e.detail }
    return nil
  }

  /// The statement that failed, or the step's own for a refusal.
  public var statement: String? {
    switch self {
    case .postgres(let e): e.statement
    case .refused(_, let statement): statement
    }
  }

  /// The object the failure is about, when pgphase knows it.
  public var object: String? {
    if case .refused(let r, _) = self { return r.object }
    return nil
  }

  /// SQLSTATE, detail and statement under the keys of `Diagnostic.ContextKey`.
  var context: [String: String] {
    var out: [String: String] = [:]
    if let sqlState { out[Diagnostic.ContextKey.sqlState] = sqlState }
    if let detail { out[Diagnostic.ContextKey.detail] = detail }
    if let statement { out[Diagnostic.ContextKey.statement] = statement }
    return out
  }

  /// `message (SQLSTATE x); detail: ...; statement: ...`, one line, as the step's output line shows it.
  public var description: String {
    switch self {
    case .postgres(let e): e.description
    case .refused(let r, let statement): r.description + (statement.map { "; statement: \($0)" } ?? "")
    }
  }
}

/// A step pgphase refused to run, or judged failed, on its own account (no server error).
public enum StepRefusal: Error, Sendable, Equatable, CustomStringConvertible {
  /// Preconditions that do not hold (their reasons); nothing of the step ran.
  case preconditionsUnmet([String])
  /// The step ran, and these postconditions do not hold afterwards.
  case postconditionsViolated([String])
  /// A valid index of the step's name exists with another definition; it is neither used nor dropped.
  case indexDefinitionDiffers(QualifiedName, existing: String, planned: String)
  /// The index the build step built is not in the catalog afterwards.
  case indexMissingAfterBuild(QualifiedName)
  /// The build ended without error but left the index invalid, every attempt.
  case indexInvalidAfterBuild(QualifiedName)
  /// A rebuild step's index does not exist.
  case nothingToRebuild(QualifiedName)
  /// `REINDEX CONCURRENTLY` ended without error but the index is not valid.
  case indexInvalidAfterRebuild(QualifiedName)
  /// A backfill of a table with partitions or child tables and no key to walk.
  case backfillNeedsKey(table: String)
  /// The journal row a backfill batch updates is gone (someone edited the journal).
  case journalRowMissing(intent: String, step: String)
  /// Objects of names the step creates are not the ones pgphase created (each described with
  /// what has the name): pgphase neither takes them as its own nor drops them.
  case notCreatedByPgphase([String])
  /// The step ran but an object it declares it creates is not in the catalog.
  case createdObjectMissing(String)
  /// Transactions open longer than `--max-blocker-age` held or awaited locks on the step's tables
  /// for as long as the retry budget allowed; the step never joined their lock queue.
  case blockedByLongTransactions(blockers: [String], waited: Double)

  /// The object concerned.
  public var object: String? {
    switch self {
    case .indexDefinitionDiffers(let index, _, _), .indexMissingAfterBuild(let index), .indexInvalidAfterBuild(let index),
      .nothingToRebuild(let index), .indexInvalidAfterRebuild(let index):
      index.description
    case .backfillNeedsKey(let table): table
    case .notCreatedByPgphase(let objects): objects.count == 1 ? objects[0] : nil
    case .createdObjectMissing(let object): object
    case .preconditionsUnmet, .postconditionsViolated, .journalRowMissing, .blockedByLongTransactions: nil
    }
  }

  /// What was refused, and what to do about it.
  public var description: String {
    switch self {
    case .preconditionsUnmet(let reasons): "refused before it ran: \(reasons.joined(separator: "; "))"
    case .postconditionsViolated(let reasons): "postcondition violated after the step ran: \(reasons.joined(separator: "; "))"
    case .indexDefinitionDiffers(let index, let existing, let planned):
      "index \(index) already exists with another definition: \(existing); the step builds: \(planned). Drop or rename the existing index, or change the plan"
    case .indexMissingAfterBuild(let index): "index \(index) is missing after its build"
    case .indexInvalidAfterBuild(let index): "index \(index) was left invalid by its build"
    case .nothingToRebuild(let index): "index \(index) does not exist: nothing to rebuild"
    case .indexInvalidAfterRebuild(let index): "index \(index) is not valid after REINDEX CONCURRENTLY"
    case .backfillNeedsKey(let table):
      "cannot batch the backfill of \(table): it has partitions or child tables and no primary key or unique NOT NULL index to walk; add one, or run the step's SQL by hand"
    case .journalRowMissing(let intent, let step): "the journal has no row for \(intent) \(step)"
    case .notCreatedByPgphase(let objects):
      "\(objects.joined(separator: "; ")) \(objects.count == 1 ? "exists" : "exist") and pgphase did not create \(objects.count == 1 ? "it" : "them") (the journal has no record of \(objects.count == 1 ? "it" : "them")): pgphase neither takes \(objects.count == 1 ? "it" : "them") as its own nor drops \(objects.count == 1 ? "it" : "them"). Rename or drop \(objects.count == 1 ? "it" : "them") yourself if \(objects.count == 1 ? "it is" : "they are") not needed, or change the plan"
    case .createdObjectMissing(let object): "the step ran, but \(object), which it creates, is not in the catalog"
    case .blockedByLongTransactions(let blockers, let waited):
      "gave up after waiting \(formatSeconds(waited)) for long transactions on the step's tables, without joining their lock queue (every query on the table would have queued behind the step): \(blockers.joined(separator: "; ")); end them, or rerun later"
    }
  }
}

extension Diagnostic {
  /// A server error as a diagnostic: its message, SQLSTATE, detail, statement and hint.
  public init(_ error: PostgresError) {
    var context: [String: String] = [:]
    if let sqlState = error.sqlState { context[ContextKey.sqlState] = sqlState }
    if let detail = error.detail { context[ContextKey.detail] = detail }
    if let statement = error.statement { context[ContextKey.statement] = statement }
    self.init(
      .error, error.connectionLost ? "lost the connection to PostgreSQL: \(error.message)" : error.message, at: nil,
      context: context, hint: error.hint)
  }
}

/// The parts of a server error worth printing and journaling.
public struct PostgresErrorSummary: Sendable, Equatable, CustomStringConvertible {
  /// nil when libpq failed before the server answered.
  public var sqlState: String?
  /// The server's primary message.
  public var message: String
  /// The server's DETAIL.
  public var detail: String?
  /// The SQL text that failed.
  public var statement: String?

  /// A summary with these parts.
  public init(sqlState: String?, message: String, detail: String?, statement: String?) {
    self.sqlState = sqlState
    self.message = message
    self.detail = detail
    self.statement = statement
  }

  /// The summary of a server error.
  public init(_ e: PostgresError) {
    self.init(sqlState: e.sqlState, message: e.message, detail: e.detail, statement: e.statement)
  }

  /// `message (SQLSTATE x); detail: ...; statement: ...` on one line.
  public var description: String {
    var text = message
    if let sqlState { text += " (SQLSTATE \(sqlState))" }
    if let detail { text += "; detail: \(detail)" }
    if let statement { text += "; statement: \(statement)" }
    return text
  }
}

/// `850ms`, `12.3s`, `4m05s`: durations as progress and log lines show them.
func formatSeconds(_ s: Double) -> String {
  if s < 1 { return "\(Int((s * 1000).rounded()))ms" }
  if s < 120 { return String(format: "%.1fs", s) }
  return String(format: "%.0fm%02.0fs", (s / 60).rounded(.down), s.truncatingRemainder(dividingBy: 60))
}
