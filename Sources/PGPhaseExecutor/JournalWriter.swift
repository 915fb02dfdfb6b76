import PGPhaseModel
import PGPhasePostgres

/// Writes the step rows of one plan in `pgphase.steps`, through the named transitions of a step's
/// life: `running` (an attempt starts), `done`, `failed`, `undone`. Each writes on whatever
/// transaction the connection is in, so a transactional step's `done` commits with its DDL.
struct JournalWriter {
  let connection: Connection
  let plan: LoadedPlan
  /// `pgphase <command> <host>:<pid>`, recorded as the step's runner.
  let runner: String
  private let positions: [String: Int]

  init(connection: Connection, plan: LoadedPlan, runner: String) {
    self.connection = connection
    self.plan = plan
    self.runner = runner
    positions = Dictionary(plan.plan.allSteps.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
  }

  /// How much of an attempt a transition closes.
  enum Attempt {
    /// The attempt that `running` opened ends now.
    case current
    /// A whole attempt starts and ends now: a transactional step, written inside its transaction.
    case whole
  }

  /// An attempt starts: `running`, one more attempt, started now, not finished. A
  /// non-transactional step commits this before it runs, so a kill leaves it to be resolved.
  func running(_ step: Step) throws {
    try write(step, .running, startsAttempt: true, failure: nil)
  }

  /// The step is done (its postconditions hold, or its transaction is committing).
  func done(_ step: Step, _ attempt: Attempt = .current) throws {
    try write(step, .done, startsAttempt: attempt == .whole, failure: nil)
  }

  /// The step failed, with what went wrong.
  func failed(_ step: Step, _ failure: StepFailure, _ attempt: Attempt = .current) throws {
    try write(step, .failed, startsAttempt: attempt == .whole, failure: failure)
  }

  /// The step's undo ran (or it had nothing to undo): the next apply runs it again.
  func undone(_ step: Step) throws {
    try write(step, .undone, startsAttempt: false, failure: nil)
  }

  /// Upserts the row. An attempt that starts here counts one more and sets `started_at`; every
  /// state but `running` sets `finished_at`.
  private func write(_ step: Step, _ state: StepState, startsAttempt: Bool, failure: StepFailure?) throws {
    let finished = state != .running
    try connection.execute(
      """
      INSERT INTO pgphase.steps AS s (intent, step_id, phase, position, statements, state, attempts, started_at,
        finished_at, runner, backend_pid, error_sqlstate, error_message, error_detail, error_statement)
      VALUES ($1, $2, $3, $4::int, $5::text[], $6, $7::int, CASE WHEN $8::bool THEN clock_timestamp() END,
        CASE WHEN $9::bool THEN clock_timestamp() END, $10, pg_backend_pid(), $11, $12, $13, $14)
      ON CONFLICT (intent, step_id) DO UPDATE SET
        phase = excluded.phase, position = excluded.position, statements = excluded.statements,
        state = excluded.state, attempts = s.attempts + excluded.attempts,
        started_at = CASE WHEN $8::bool THEN excluded.started_at ELSE s.started_at END,
        finished_at = excluded.finished_at, runner = excluded.runner, backend_pid = excluded.backend_pid,
        error_sqlstate = excluded.error_sqlstate, error_message = excluded.error_message,
        error_detail = excluded.error_detail, error_statement = excluded.error_statement
      """,
      [
        plan.plan.intent, step.id, step.phase.rawValue, String(positions[step.id] ?? 0), textArrayLiteral(step.sql),
        state.rawValue, startsAttempt ? "1" : "0", startsAttempt ? "true" : "false", finished ? "true" : "false", runner,
        failure?.sqlState, failure?.message, failure?.detail, failure?.statement,
      ])
  }
}
