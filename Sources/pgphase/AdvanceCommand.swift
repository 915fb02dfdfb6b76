import ArgumentParser
import Foundation
import PGPhaseExecutor

struct AdvanceCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "advance",
    abstract: "Run the next due phase of each intent.")

  @Option(help: "Intent ids (repeatable; default: every intent).")
  var intent: [String] = []

  @Argument(help: "The plans folder.")
  var plans: String = "plans"

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var runner: RunnerOptions

  func run() throws {
    let loaded = try loadPlans(plans)
    let executor = makeExecutor(connection, try runner.executorOptions(command: "advance"))
    try runExecutor { try executor.advance(intents: intent.isEmpty ? nil : intent, plans: loaded) }
  }
}
