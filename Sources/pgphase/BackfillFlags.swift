import ArgumentParser
import PGPhaseExecutor

/// Flags of `apply` and `advance` that size and pace backfills.
struct BackfillFlags: ParsableArguments {
  func options() throws -> BackfillOptions { BackfillOptions() }
}
