import ArgumentParser

/// `pgphase check-args -- ARGS...`: parses a pgphase command line without running it, for tests
/// and CI checks of command lines written in manifests and workflows. Hidden from `--help`.
struct CheckArgsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check-args",
    abstract: "Parse a pgphase command line without running it (exit 0 if valid, 2 if not).",
    shouldDisplay: false)

  @Argument(parsing: .captureForPassthrough, help: "The arguments after `pgphase`.")
  var arguments: [String] = []

  func run() throws {
    var args = arguments
    if args.first == "--" { args.removeFirst() }
    do {
      guard !args.isEmpty else { throw ValidationError("no command line to check") }
      _ = try PGPhase.parseAsRoot(args)
      printOut("ok: pgphase \(args.joined(separator: " "))")
    } catch {
      printError("invalid: pgphase \(args.joined(separator: " ")): \(PGPhase.message(for: error))")
      throw ExitCode(ExitStatus.badInput)
    }
  }
}
