import ArgumentParser
import Foundation
import PGPhaseExecutor

struct RollbackCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rollback",
    abstract: "Undo the backfill and expand steps of an intent whose contract has not started.")

  @Option(help: "The intent to roll back.")
  var intent: String

  @Argument(help: "The plans folder.")
  var plans: String = "plans"

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var runner: RunnerOptions

  func run() throws {
    let loaded = try loadPlans(plans)
    let executor = makeExecutor(connection, try runner.executorOptions(command: "rollback"))
    try runExecutor { try executor.rollback(intent: intent, plans: loaded) }
  }
}
