import ArgumentParser
import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres

/// `--dsn` (else DATABASE_URL, else libpq's PG* variables), shared by every command that connects.
struct ConnectionOptions: ParsableArguments {
  @Option(help: "A libpq connection string or postgres:// URI (default: DATABASE_URL, else libpq's PG* variables).")
  var dsn: String?
}

/// Options of the commands that take the runner lock and change the database.
struct RunnerOptions: ParsableArguments {
  @Option(name: .customLong("lock-wait"), help: "How long to wait for another runner to finish, e.g. 10m, 90s (exit 3 after).")
  var lockWait: String = "10m"

  @Option(name: .customLong("retry-deadline"), help: "Total time to keep retrying a step that hits lock_timeout, e.g. 5m.")
  var retryDeadline: String = "5m"

  @Option(name: .customLong("max-retries"), help: "Retries of a step that hits lock_timeout or a deadlock.")
  var maxRetries: Int = 10

  @Option(name: .customLong("progress-interval"), help: "Seconds between progress lines when stderr is not a terminal.")
  var progressInterval: String = "5s"

  @OptionGroup var backfill: BackfillFlags
  @OptionGroup var rollout: RolloutFlags

  func executorOptions(command: String) throws -> ExecutorOptions {
    var options = ExecutorOptions(
      command: command, lockWait: try parseDuration(lockWait, flag: "--lock-wait"),
      retry: RetryPolicy(maxRetries: maxRetries, deadline: try parseDuration(retryDeadline, flag: "--retry-deadline")),
      progressInterval: try parseDuration(progressInterval, flag: "--progress-interval"), cancelOnSignals: true)
    options.progressStyle = isatty(STDERR_FILENO) == 1 ? .bar : .lines
    options.backfill = try backfill.options()
    options.rollout = try rollout.options()
    return options
  }
}

/// `120`, `120s`, `500ms`, `2m`, `1h` as seconds.
func parseDuration(_ text: String, flag: String) throws -> Double {
  let t = text.trimmingCharacters(in: .whitespaces).lowercased()
  let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
  for (suffix, factor) in units where t.hasSuffix(suffix) {
    if let v = Double(t.dropLast(suffix.count)), v >= 0 { return v * factor }
  }
  if let v = Double(t), v >= 0 { return v }
  throw ValidationError("\(flag): cannot read \"\(text)\" as a duration (e.g. 90s, 10m, 500ms)")
}

/// Runs an executor action (or a read of the database), printing its failure as diagnostics and
/// ending with the exit code the failure maps to (see `ExitStatus.of`).
func runExecutor(_ body: () throws -> Void) throws {
  do {
    try body()
  } catch {
    guard let (diagnostics, status) = ExitStatus.report(error) else { throw error }
    for d in diagnostics { printError(d.description) }
    throw ExitCode(status)
  }
}

/// Every plan of a plans folder; a folder or plan that cannot be read ends the command (exit 2).
func loadPlans(_ dir: String) throws -> [LoadedPlan] {
  var plans: [LoadedPlan] = []
  try runExecutor { plans = try LoadedPlan.loadAll(from: dir) }
  return plans
}

func makeExecutor(_ connection: ConnectionOptions, _ options: ExecutorOptions) -> Executor {
  let executor = Executor(
    dsn: connection.dsn, options: options, output: { printOut($0) },
    log: { printError($0) })
  executor.progressWrite = { Console.shared.progress($0) }
  return executor
}
