import ArgumentParser
import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres

/// The `pgphase` command: parses flags and hands work to the libraries. No logic lives here.
@main
struct PGPhase: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pgphase",
    abstract: "Zero-downtime schema migrations for PostgreSQL: plan, lint and apply expand/contract phases.",
    discussion: """
      Exit codes: 0 success; 1 the check or lint found problems, or the operation failed cleanly \
      (journal consistent, safe to rerun); 2 bad usage or bad input files; 3 could not reach or \
      lock the database.
      """,
    subcommands: PGPhase.allSubcommands
  )

  /// Maps failures to the exit codes of the CLI contract: usage errors are 2, not
  /// ArgumentParser's 64.
  static func main() async {
    do {
      var arguments = Array(CommandLine.arguments.dropFirst())
      let bulkPaths = LintCommand.takeBulkPaths(from: &arguments)
      var command = try parseAsRoot(arguments)
      if !bulkPaths.isEmpty, var lint = command as? LintCommand {
        lint.paths = bulkPaths
        command = lint
      }
      if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch let exit as ExitCode {
      Foundation.exit(exit.rawValue)
    } catch let failure where ExitStatus.report(failure) != nil {
      // A library failure no command caught: printed and mapped as every command does.
      let (diagnostics, status) = ExitStatus.report(failure)!
      for d in diagnostics { printError(d.description) }
      Foundation.exit(status)
    } catch {
      let code = exitCode(for: error)
      if code == .success {
        printOut(fullMessage(for: error))
      } else {
        printError(fullMessage(for: error))
      }
      Foundation.exit(
        code == .success ? 0 : (code.rawValue == ExitCode.validationFailure.rawValue ? ExitStatus.badInput : code.rawValue))
    }
  }
}

/// The exit codes of cli.md, and the one place that maps failures to them.
enum ExitStatus {
  static let success: Int32 = 0
  /// The check or lint found problems, or the operation failed cleanly.
  static let problems: Int32 = 1
  /// Bad usage or bad input files.
  static let badInput: Int32 = 2
  /// Could not reach or lock the database.
  static let database: Int32 = 3
}

extension ExitStatus {
  /// The exit code of an executor failure.
  static func of(_ error: ExecutorError) -> Int32 {
    switch error {
    case .badPlans, .unsafePlans, .unknownIntent, .cannotWrite: badInput
    case .lockWaitTimeout, .connection, .connectionLost: database
    case .interrupted(let signal): 128 + signal
    case .stepFailed, .planChanged, .phaseOrder, .rollbackRefused, .journalTooNew: problems
    }
  }

  /// What to print for a failure of the libraries, and the exit code; nil for an error the
  /// command line does not know (ArgumentParser's own, which it reports itself).
  static func report(_ error: any Error) -> (diagnostics: [Diagnostic], status: Int32)? {
    switch error {
    case let e as ExecutorError: (e.diagnostics, of(e))
    case let e as RolloutError: ([e.diagnostic], problems)
    case let e as ConnectionError: ([Diagnostic(.error, e.description, at: nil)], database)
    case let e as PostgresError: ([Diagnostic(e)], e.connectionLost ? database : problems)
    default: nil
    }
  }
}
