import ArgumentParser
import Dispatch
import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres

struct TryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "try",
    abstract:
      "Try plans on a throwaway PostgreSQL: every phase of every intent, with the old and new app's probes between phases.",
    discussion: """
      Starts a PostgreSQL of its own (initdb and pg_ctl in a temporary folder, Unix socket only, run \
      as the postgres user when started as root), loads the base schema, then for each intent in id \
      order runs expand, backfill and contract as `advance` would. After expand and after backfill \
      it runs both the old and the new app's probe (<probes>/<intent>/old.sql and new.sql), after \
      contract the new app's. Prints a summary; exit 1 if a step or probe failed. The server is \
      stopped and removed however the command ends. PLANS may be a plans folder or an intents folder.
      Example:
        pgphase try examples/intents
      """)

  @Argument(help: "A plans folder, or a folder of intent files (compiled in memory).")
  var plans: String = "plans"

  @Option(help: "SQL loaded before the first intent (default: schema.sql beside PLANS, else examples/schema.sql).")
  var base: String?

  @Option(help: "Folder of app probes, <intent>/old.sql and new.sql (default: probes/ beside PLANS, else examples/probes).")
  var probes: String?

  func run() throws {
    let loaded = try loadPlansOrIntents(plans)
    guard !loaded.isEmpty else {
      printError("pgphase: no plans or intents in \(plans)")
      throw ExitCode(ExitStatus.badInput)
    }
    let baseFile = try resolveBase()
    let besidePlans = ((plans as NSString).standardizingPath as NSString).deletingLastPathComponent
    let probesDir =
      probes
      ?? [(besidePlans.isEmpty ? "." : besidePlans) + "/probes", "examples/probes"].first {
        FileManager.default.fileExists(atPath: $0)
      }
    if let probes, !FileManager.default.fileExists(atPath: probes) {
      throw ValidationError("--probes \(probes): no such folder")
    }

    let server: EphemeralPostgres
    do {
      server = try EphemeralPostgres.create()
    } catch {
      printError("pgphase: could not start a throwaway PostgreSQL: \(error)")
      throw ExitCode(ExitStatus.database)
    }
    let received = ReceivedSignal()
    defer {
      server.stop()
      // A signal handler stopped the server under us: end as it would have.
      if let number = received.number { Foundation.exit(128 + number) }
    }
    let signals = stopOnSignals(server, received)
    defer { for source in signals { source.cancel() } }
    do {
      try server.start()
    } catch {
      printError("pgphase: could not start a throwaway PostgreSQL: \(error)")
      throw ExitCode(ExitStatus.database)
    }
    printError("try: PostgreSQL \(server.version) in \(server.directory) (removed at the end)")

    var rows: [TryRow] = []
    let failed = try runAll(loaded, base: baseFile, probes: probesDir, dsn: server.dsn, rows: &rows)
    printOut(TryRow.table(rows))
    if failed {
      printOut("FAILED: see above")
      throw ExitCode(ExitStatus.problems)
    }
    let probeCount = rows.reduce(0) { $0 + $1.probesRun }
    printOut(
      "ok: \(rows.count) intent\(rows.count == 1 ? "" : "s") applied through contract; \(probeCount) probe\(probeCount == 1 ? "" : "s") passed"
    )
  }

  func resolveBase() throws -> String? {
    let fm = FileManager.default
    if let base {
      guard fm.fileExists(atPath: base) else { throw ValidationError("--base \(base): no such file") }
      return base
    }
    let beside = ((plans as NSString).standardizingPath as NSString).deletingLastPathComponent
    for candidate in [(beside.isEmpty ? "." : beside) + "/schema.sql", "examples/schema.sql"]
    where fm.fileExists(atPath: candidate) {
      return candidate
    }
    return nil
  }

  /// Applies everything, filling `rows`; returns whether anything failed.
  func runAll(_ loaded: [LoadedPlan], base: String?, probes: String?, dsn: String, rows: inout [TryRow]) throws -> Bool {
    let c = try Connection.connect(dsn: dsn, applicationName: "pgphase try probes")
    defer { c.close() }
    if let base {
      do {
        try c.executeScript(try String(contentsOfFile: base, encoding: .utf8))
        printOut("loaded \(base)")
      } catch {
        printError("pgphase: loading \(base) failed: \(error)")
        return true
      }
    }
    var options = ExecutorOptions(command: "try", lockWait: 30)
    options.rollout.guardWindow = 0
    let executor = Executor(dsn: dsn, options: options, output: { printOut("  \($0)") }, log: { printError("  \($0)") })
    var failed = false
    for lp in loaded {
      let id = lp.plan.intent
      var row = TryRow(intent: id)
      if failed {
        rows.append(row)
        continue
      }
      let start = Date()
      let old = probes.flatMap { FileManager.default.contents(atPath: "\($0)/\(id)/old.sql") }.map {
        String(decoding: $0, as: UTF8.self)
      }
      let new = probes.flatMap { FileManager.default.contents(atPath: "\($0)/\(id)/new.sql") }.map {
        String(decoding: $0, as: UTF8.self)
      }
      printOut("\(id):")
      for phase in Phase.allCases {
        let count = lp.plan.steps(in: phase).count
        do {
          if count > 0 { try executor.apply(phase: phase, intents: [id], plans: loaded) }
          row.phases[phase] = count == 0 ? "-" : "ok (\(count))"
        } catch {
          printError("  \(id) \(phase.rawValue) FAILED: \(error)")
          row.phases[phase] = "FAILED"
          failed = true
          break
        }
        let wanted: [(String, String?)] = phase == .contract ? [("new", new)] : [("old", old), ("new", new)]
        for (name, sql) in wanted {
          guard let sql else { continue }
          do {
            try runProbe(sql, on: c)
            row.probesRun += 1
          } catch {
            printError("  \(id): the \(name) app's probe FAILED after \(phase.rawValue): \(error)")
            row.probeFailures.append("\(name) after \(phase.rawValue)")
            failed = true
          }
        }
      }
      row.seconds = Date().timeIntervalSince(start)
      rows.append(row)
    }
    return failed
  }

  /// Runs an app probe in one transaction and commits it, as the app would.
  func runProbe(_ sql: String, on c: Connection) throws {
    do {
      try c.executeScript("BEGIN;\n\(sql)\n;COMMIT;")
    } catch {
      _ = try? c.executeScript("ROLLBACK")
      throw error
    }
  }

  /// SIGINT, SIGTERM and SIGHUP stop and remove the server, then end the process.
  func stopOnSignals(_ server: EphemeralPostgres, _ received: ReceivedSignal) -> [any DispatchSourceSignal] {
    ([SIGINT, SIGTERM, SIGHUP] as [Int32]).map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        received.set(number)
        server.stop()
        Foundation.exit(128 + number)
      }
      source.resume()
      return source
    }
  }
}

/// The first signal received, shared by the handler and the main thread.
final class ReceivedSignal: @unchecked Sendable {
  // Safety: `value` is only touched while holding `lock`.
  private let lock = NSLock()
  private var value: Int32?
  var number: Int32? { lock.withLock { value } }
  func set(_ number: Int32) { lock.withLock { if value == nil { value = number } } }
}

/// One line of the `try` summary.
struct TryRow {
  var intent: String
  var phases: [Phase: String] = [:]
  var probesRun = 0
  var probeFailures: [String] = []
  var seconds: Double?

  static func table(_ rows: [TryRow]) -> String {
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
