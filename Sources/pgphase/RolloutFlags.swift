import ArgumentParser
import PGPhaseExecutor

/// Flags of `apply` and `advance` for the contract guard, hooks and notifications.
struct RolloutFlags: ParsableArguments {
  func options() throws -> RolloutOptions { RolloutOptions() }
}
