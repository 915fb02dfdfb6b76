import ArgumentParser
import Foundation
import PGPhaseExecutor
import PGPhaseModel

struct AdvanceCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "advance",
    abstract: "Run the next due phase of each intent, or every phase up to --to.",
    discussion: """
      Intents apply in id order: expand and backfill of an intent wait until every earlier intent \
      is backfilled, and contracts run in id order after every earlier contract. `advance --to \
      backfill` before deploying a release and `advance --to contract` once the old app is gone is \
      the usual rollout.
      """)

  @Option(help: "Run every phase up to and including this one (expand, backfill or contract).")
  var to: String?

  @Option(help: "Intent ids (repeatable; default: every intent).")
  var intent: [String] = []

  @Argument(help: "The plans folder.")
  var plans: String = "plans"

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var runner: RunnerOptions

  func run() throws {
    let target = try to.map { name in
      guard let phase = Phase(rawValue: name) else {
        throw ValidationError("--to must be expand, backfill or contract, not \"\(name)\"")
      }
      return phase
    }
    let loaded = try loadPlans(plans)
    let executor = makeExecutor(connection, try runner.executorOptions(command: "advance"))
    try runExecutor { try executor.advance(intents: intent.isEmpty ? nil : intent, to: target, plans: loaded) }
  }
}
