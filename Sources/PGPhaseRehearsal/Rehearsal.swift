import Foundation
public import PGPhaseExecutor
public import PGPhaseModel
import PGPhasePostgres

/// A rehearsal of plans on a database nobody else uses (what `pgphase try` runs on its throwaway
/// server): the base schema, then for each intent in id order expand, backfill and contract as
/// `advance` would, with the old and the new app's probes after expand and after backfill, and
/// the new app's after contract. After the first failure the remaining intents are skipped.
public struct Rehearsal: Sendable {
  public var plans: [LoadedPlan]
  /// SQL file loaded before the first intent.
  public var baseSchema: String?
  /// Folder of app probes, `<intent>/old.sql` and `<intent>/new.sql`.
  public var probes: String?

  public init(plans: [LoadedPlan], baseSchema: String?, probes: String?) {
    self.plans = plans
    self.baseSchema = baseSchema
    self.probes = probes
  }

  /// One line of the summary.
  public struct Row: Sendable, Equatable {
    public var intent: String
    /// `ok (N)`, `-` (no steps) or `FAILED`; a phase not reached is absent.
    public var phases: [Phase: String] = [:]
    public var probesRun = 0
    /// `old after expand`, ...
    public var probeFailures: [String] = []
    /// nil when the intent was skipped.
    public var seconds: Double?

    public init(intent: String) { self.intent = intent }
  }

  public struct Result: Sendable, Equatable {
    public var rows: [Row]
    /// A step, a probe or the base schema failed.
    public var failed: Bool
    public var probesRun: Int { rows.reduce(0) { $0 + $1.probesRun } }

    /// The summary table, one row per intent.
    public var table: String {
      let header = ["intent", "expand", "backfill", "contract", "probes", "time"]
      let body = rows.map { row -> [String] in
        let probes =
          row.probeFailures.isEmpty
          ? (row.seconds == nil ? "-" : "\(row.probesRun) ok") : "FAILED: " + row.probeFailures.joined(separator: ", ")
        return [row.intent] + Phase.allCases.map { row.phases[$0] ?? "skipped" } + [
          probes, row.seconds.map { String(format: "%.2fs", $0) } ?? "-",
        ]
      }
      let all = [header] + body
      let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
      return all.map { cells in
        cells.enumerated().map { i, cell in
          i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }
        .joined(separator: "  ")
      }.joined(separator: "\n")
    }
  }

  /// Runs everything on the database `dsn` reaches. `output` gets progress lines, `log` problems.
  public func run(dsn: String, output: @escaping @Sendable (String) -> Void, log: @escaping @Sendable (String) -> Void)
    throws -> Result
  {
    let c = try Connection.connect(dsn: dsn, applicationName: "pgphase try probes")
    defer { c.close() }
    if let baseSchema {
      do {
        try c.executeScript(try String(contentsOfFile: baseSchema, encoding: .utf8))
        output("loaded \(baseSchema)")
      } catch {
        log("pgphase: loading \(baseSchema) failed: \(error)")
        return Result(rows: [], failed: true)
      }
    }
    var options = ExecutorOptions(command: "try", lockWait: 30)
    options.rollout.guardWindow = 0
    let executor = Executor(dsn: dsn, options: options, output: { output("  \($0)") }, log: { log("  \($0)") })
    var failed = false
    var rows: [Row] = []
    for lp in plans {
      let id = lp.plan.intent
      var row = Row(intent: id)
      if failed {
        rows.append(row)
        continue
      }
      let start = Date()
      let old = probe(id, "old")
      let new = probe(id, "new")
      output("\(id):")
      for phase in Phase.allCases {
        let count = lp.plan.steps(in: phase).count
        do {
          if count > 0 { try executor.apply(phase: phase, intents: [id], plans: plans) }
          row.phases[phase] = count == 0 ? "-" : "ok (\(count))"
        } catch {
          log("  \(id) \(phase.rawValue) FAILED: \(error)")
          row.phases[phase] = "FAILED"
          failed = true
          break
        }
        let wanted: [(String, String?)] = phase == .contract ? [("new", new)] : [("old", old), ("new", new)]
        for (name, sql) in wanted {
          guard let sql else { continue }
          do {
            try Self.runProbe(sql, on: c)
            row.probesRun += 1
          } catch {
            log("  \(id): the \(name) app's probe FAILED after \(phase.rawValue): \(error)")
            row.probeFailures.append("\(name) after \(phase.rawValue)")
            failed = true
          }
        }
      }
      row.seconds = Date().timeIntervalSince(start)
      rows.append(row)
    }
    return Result(rows: rows, failed: failed)
  }

  func probe(_ intent: String, _ app: String) -> String? {
    guard let probes, let data = FileManager.default.contents(atPath: "\(probes)/\(intent)/\(app).sql") else { return nil }
    return String(decoding: data, as: UTF8.self)
  }

  /// Runs an app probe in one transaction and commits it, as the app would.
  static func runProbe(_ sql: String, on c: Connection) throws {
    do {
      try c.executeScript("BEGIN;\n\(sql)\n;COMMIT;")
    } catch {
      _ = try? c.executeScript("ROLLBACK")
      throw error
    }
  }
}
