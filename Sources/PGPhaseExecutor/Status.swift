import Foundation
public import PGPhaseModel
public import PGPhasePostgres

/// Where one intent stands, for `pgphase status`.
public struct IntentStatus: Sendable, Codable, Equatable {
  /// One phase of the intent.
  public struct PhaseStatus: Sendable, Codable, Equatable {
    /// Which phase.
    public var phase: Phase
    /// `not started`, `in progress`, `done`, `failed`, or `no steps` for an empty phase.
    public var state: String
    /// Steps in the phase.
    public var steps: Int
    /// Steps of it done.
    public var done: Int
  }

  /// A step running or failed.
  public struct StepStatus: Sendable, Codable, Equatable {
    /// The step id.
    public var step: String
    /// `running` or `failed`.
    public var state: String
    /// `pgphase <command> <host>:<pid>` of the runner that started it.
    public var runner: String?
    /// The backend that ran it.
    public var backendPID: Int32?
    /// Whether that backend is still connected.
    public var alive: Bool
    /// Seconds since it started.
    public var seconds: Double?
    /// Sessions the running backend waits for (from `pg_blocking_pids`).
    public var blockedBy: [String]
    /// The recorded error of a failed step, with its SQLSTATE.
    public var error: String?
    /// For a backfill that ran batches: where it stands (a rerun resumes from `checkpoint`).
    public var backfill: BackfillStatus?

    enum CodingKeys: String, CodingKey {
      case step, state, runner, alive, seconds, error, backfill
      case backendPID = "backend_pid"
      case blockedBy = "blocked_by"
    }
  }

  /// How far a backfill got.
  public struct BackfillStatus: Sendable, Codable, Equatable {
    /// Rows the batches changed.
    public var rowsDone: Int64
    /// Rows (or blocks' worth of rows) the batches covered.
    public var rowsScanned: Int64
    /// The table's row estimate at the start.
    public var rowsEstimated: Int64?
    /// Batches committed.
    public var batches: Int
    /// The resume point, as JSON.
    public var checkpoint: String?

    enum CodingKeys: String, CodingKey {
      case batches, checkpoint
      case rowsDone = "rows_done"
      case rowsScanned = "rows_scanned"
      case rowsEstimated = "rows_estimated"
    }
  }

  /// The intent's id.
  public var intent: String
  /// Expand, backfill and contract.
  public var phases: [PhaseStatus]
  /// Steps running or failed.
  public var active: [StepStatus]
  /// The plan differs from the one last applied (edited since). A plan re-planned in a newer
  /// format with nothing else changed is the same plan.
  public var planChanged: Bool

  enum CodingKeys: String, CodingKey {
    case intent, phases, active
    case planChanged = "plan_changed"
  }
}

/// Reads where every intent stands, for `pgphase status`.
public enum StatusReader {
  /// Reads the journal (without the runner lock) and the live sessions for every plan.
  public static func read(plans: [LoadedPlan], on c: Connection) throws -> [IntentStatus] {
    let hasJournal = try Journal.exists(on: c)
    let journal = hasJournal ? try Journal.steps(intent: nil, on: c) : [:]
    var out: [IntentStatus] = []
    for lp in plans {
      let steps = journal[lp.plan.intent] ?? [:]
      let recorded = hasJournal ? try Journal.intent(lp.plan.intent, on: c) : nil
      var phases: [IntentStatus.PhaseStatus] = []
      var active: [IntentStatus.StepStatus] = []
      let backfills = hasJournal ? try BackfillProgress.read(intent: lp.plan.intent, on: c) : [:]
      for phase in Phase.allCases {
        let planned = lp.plan.steps(in: phase)
        let states = planned.map { steps[$0.id]?.state ?? .pending }
        let done = states.filter { $0 == .done }.count
        let state: String =
          if planned.isEmpty { "no steps" } else if states.contains(.failed) { "failed" } else if done == planned.count {
            "done"
          } else if states.contains(.running) || done > 0 { "in progress" } else { "not started" }
        phases.append(.init(phase: phase, state: state, steps: planned.count, done: done))
        for step in planned {
          guard let record = steps[step.id], record.state == .running || record.state == .failed else { continue }
          var alive = false
          var blockers: [String] = []
          if record.state == .running, let pid = record.backendPID {
            alive =
              try c.execute("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1::int)", [String(pid)]).scalarBool()
              ?? false
            if alive {
              blockers = try Catalog(c).blockingPIDs(of: pid).map { b in
                var text = "pid \(b.pid)"
                if let app = b.applicationName, !app.isEmpty { text += " (\(app))" }
                if let state = b.state { text += " \(state)" }
                if let age = b.transactionAgeSeconds { text += ", transaction open for \(formatSeconds(age))" }
                if let q = b.query, !q.isEmpty { text += ": \(q.prefix(120))" }
                return text
              }
            }
          }
          let error = record.errorMessage.map { m in m + (record.errorSQLState.map { " (SQLSTATE \($0))" } ?? "") }
          active.append(
            .init(
              step: step.id, state: record.state.rawValue, runner: record.runner, backendPID: record.backendPID, alive: alive,
              seconds: record.ageSeconds, blockedBy: blockers, error: error,
              backfill: backfills[step.id].map {
                .init(
                  rowsDone: $0.rowsDone, rowsScanned: $0.rowsScanned, rowsEstimated: $0.rowsEstimated, batches: $0.batches,
                  checkpoint: $0.checkpoint)
              }))
        }
      }
      out.append(
        IntentStatus(
          intent: lp.plan.intent, phases: phases, active: active,
          planChanged: try recorded.map { $0.planHash != (try lp.hash(asFormat: $0.planFormat)) } ?? false))
    }
    return out
  }

  /// Human-readable lines.
  public static func render(_ statuses: [IntentStatus]) -> String {
    var lines: [String] = []
    for s in statuses {
      let phases = s.phases.map { "\($0.phase.rawValue): \($0.state) (\($0.done)/\($0.steps))" }.joined(separator: "  ")
      lines.append("\(s.intent)  \(phases)\(s.planChanged ? "  [plan edited since last applied]" : "")")
      for a in s.active {
        if a.state == "running" {
          var text = "  running \(a.step) by \(a.runner ?? "?")"
          if let pid = a.backendPID {
            text += " (pid \(pid), \(a.alive ? "alive" : "gone: it will be resolved by the next run"))"
          }
          if let seconds = a.seconds { text += " for \(formatSeconds(seconds))" }
          if !a.blockedBy.isEmpty { text += "; blocked by \(a.blockedBy.joined(separator: "; "))" }
          lines.append(text)
        } else {
          lines.append("  failed \(a.step): \(a.error ?? "unknown error")")
        }
        if let b = a.backfill {
          let of = b.rowsEstimated.map { "/~\($0)" } ?? ""
          lines.append(
            "    backfill: \(b.rowsScanned)\(of) scanned, \(b.rowsDone) updated in \(b.batches) batches; checkpoint \(b.checkpoint ?? "none")"
          )
        }
      }
    }
    return lines.joined(separator: "\n")
  }
}
