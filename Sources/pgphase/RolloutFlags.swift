import ArgumentParser
import Foundation
import PGPhaseConfig
import PGPhaseExecutor

/// Flags of `apply` and `advance` for the contract guard, hooks and notifications.
struct RolloutFlags: ParsableArguments {
  @Option(
    name: .customLong("guard-window"),
    help:
      "Refuse to contract an intent while a release that does not know it checked in this recently, e.g. 15m (0 turns it off; default 15m)."
  )
  var guardWindow: String?

  @Flag(
    help:
      "Contract despite recent check-ins of older releases, and run an intent whose tables differ from what its plan assumed (the drift guard); each override is recorded in pgphase.events."
  )
  var force = false

  @Option(
    name: .customLong("before-phase"),
    help: "Shell command run before each phase (env PGPHASE_PHASE, PGPHASE_INTENTS, PGPHASE_DATABASE); failing stops the phase.")
  var beforePhase: String?

  @Option(
    name: .customLong("after-phase"),
    help: "Shell command run after each phase (also PGPHASE_STATUS=finished|failed, PGPHASE_ERROR, PGPHASE_DURATION_SECONDS).")
  var afterPhase: String?

  @Option(help: "Webhook URL (e.g. a Slack incoming webhook) that gets a JSON event when a phase starts, finishes or fails.")
  var notify: String?

  @Option(
    name: .customLong("config"),
    help:
      "Config file whose `rollout:` section sets before_phase, after_phase, notify and guard_window (default: .pgphase.yaml here, if any); flags win."
  )
  var config: String?

  func options() throws -> RolloutOptions {
    let file: RolloutConfig
    do {
      file = try ConfigFile.load(path: config).rollout
    } catch {
      for diagnostic in error.diagnostics { printError(diagnostic.description) }
      throw ExitCode(ExitStatus.badInput)
    }
    var options = RolloutOptions()
    options.guardWindow = try parseDuration(guardWindow ?? file.guardWindow ?? "15m", flag: "--guard-window")
    options.force = force
    options.beforePhase = beforePhase ?? file.beforePhase
    options.afterPhase = afterPhase ?? file.afterPhase
    if let notify = notify ?? file.notify {
      guard let url = URL(string: notify), ["http", "https"].contains(url.scheme?.lowercased() ?? "") else {
        throw ValidationError("--notify must be an http:// or https:// URL")
      }
      options.notifyURL = notify
    }
    return options
  }
}
