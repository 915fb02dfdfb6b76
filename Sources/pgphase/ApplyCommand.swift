import ArgumentParser
import Foundation
import PGPhaseExecutor
import PGPhaseModel

struct ApplyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "apply",
    abstract: "Run one phase (expand, backfill or contract) of the plans.",
    discussion: """
      Without --intent, runs the phase for every intent for which it is the next phase. Phases run \
      in order per intent: asking for contract of an intent whose backfill is not done fails (exit 1). \
      Only one runner works at a time (an advisory lock); others wait up to --lock-wait. Safe to rerun.
      """)

  @Option(help: "expand, backfill or contract.")
  var phase: String

  @Option(help: "Intent ids to run (repeatable; default: every intent due for this phase).")
  var intent: [String] = []

  @Argument(help: "The plans folder.")
  var plans: String = "plans"

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var runner: RunnerOptions

  func run() throws {
    guard let phase = Phase(rawValue: phase) else {
      throw ValidationError("--phase must be expand, backfill or contract, not \"\(self.phase)\"")
    }
    let loaded = try loadPlans(plans)
    let executor = makeExecutor(connection, try runner.executorOptions(command: "apply"))
    try runExecutor { try executor.apply(phase: phase, intents: intent.isEmpty ? nil : intent, plans: loaded) }
  }
}
