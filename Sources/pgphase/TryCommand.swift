import ArgumentParser
import Dispatch
import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhaseRehearsal
import PGPhaseServer

struct TryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "try",
    abstract:
      "Try plans on a throwaway PostgreSQL: every phase of every intent, with the old and new app's probes between phases.",
    discussion: """
      Starts a PostgreSQL of its own (initdb and pg_ctl in a temporary folder, Unix socket only, run \
      as the postgres user when started as root; --pg picks the major version), loads the base \
      schema, then for each intent in id order runs expand, backfill and contract as `advance` would. After expand and after backfill \
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

  @Option(
    name: .customLong("pg"),
    help: ArgumentHelp(
      "The PostgreSQL major version to start, e.g. 18 (default: pg_config's, else the newest Debian server).",
      valueName: "major"))
  var major: Int?

  func run() throws {
    let loaded = try loadPlansOrIntents(plans)
    guard !loaded.isEmpty else {
      report(fileProblem(plans, "no plans or intents in it"))
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
      var options = EphemeralPostgres.Options(major: major)
      options.folderPrefix = "pgphase-try"
      server = try EphemeralPostgres.create(options)
    } catch {
      report(Diagnostic(.error, "could not start a throwaway PostgreSQL: \(error)", at: nil))
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
      report(Diagnostic(.error, "could not start a throwaway PostgreSQL: \(error)", at: nil))
      throw ExitCode(ExitStatus.database)
    }
    printError("try: PostgreSQL \(server.version) in \(server.directory) (removed at the end)")

    let rehearsal = Rehearsal(plans: loaded, baseSchema: baseFile, probes: probesDir)
    let result = try rehearsal.run(dsn: server.dsn, output: { printOut($0) }, log: { printError($0) })
    printOut(result.table)
    if result.failed {
      printOut("FAILED: see above")
      throw ExitCode(ExitStatus.problems)
    }
    let rows = result.rows
    let probeCount = result.probesRun
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
