import ArgumentParser
import Foundation
import PGPhaseExecutor

struct RepairCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "repair",
    abstract: "Finish or undo half-done steps, rebuild invalid indexes, then re-verify.",
    discussion: """
      Takes the runner lock like apply. Resolves every step left running or failed from its \
      postconditions (finish it, or undo it where that is safe), rebuilds invalid or missing \
      indexes pgphase built, drops their REINDEX CONCURRENTLY leftovers, validates constraints \
      left NOT VALID, and reports (never touches) invalid indexes it does not own. Idempotent: a \
      second run changes nothing and says so. Exit 0 when verify is clean afterwards, else 1.
      """)

  @Flag(help: "Write JSON.")
  var json = false

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var runner: RunnerOptions

  func run() throws {
    let executor = makeExecutor(connection, try runner.executorOptions(command: "repair"))
    var report: RepairReport?
    try runExecutor { report = try executor.repair() }
    guard let report else { return }
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      printOut(String(decoding: try encoder.encode(report), as: UTF8.self))
    } else {
      printOut(report.render())
    }
    if !report.verify.isClean { throw ExitCode(ExitStatus.problems) }
  }
}
