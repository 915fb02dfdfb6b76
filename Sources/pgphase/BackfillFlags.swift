import ArgumentParser
import PGPhaseExecutor

/// Flags of `apply` and `advance` that size and pace backfills.
struct BackfillFlags: ParsableArguments {
  @Option(
    name: .customLong("batch-target"),
    help: "How long one backfill batch should take, e.g. 100ms; the batch size adapts to it (at most 1s).")
  var batchTarget: String = "100ms"

  @Option(name: .customLong("batch-pause"), help: "Pause between backfill batches, e.g. 0s, 50ms.")
  var batchPause: String = "0s"

  @Option(name: .customLong("max-batch-rows"), help: "Rows a backfill batch never exceeds.")
  var maxBatchRows: Int = 200_000

  @Option(
    name: .customLong("batch-log"),
    help: "Append one line per backfill batch to this file (rows scanned, rows updated, milliseconds), for benchmarks.")
  var batchLog: String?

  func options() throws -> BackfillOptions {
    let target = try parseDuration(batchTarget, flag: "--batch-target")
    guard target > 0, target <= 1 else {
      throw ValidationError("--batch-target must be above 0 and at most 1s (short batches keep row locks short)")
    }
    guard maxBatchRows > 0 else { throw ValidationError("--max-batch-rows must be positive") }
    return BackfillOptions(
      batchTarget: target, batchPause: try parseDuration(batchPause, flag: "--batch-pause"), maxBatchSize: maxBatchRows,
      batchLogPath: batchLog)
  }
}
