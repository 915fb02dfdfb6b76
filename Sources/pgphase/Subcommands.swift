import ArgumentParser

extension PGPhase {
  /// Every subcommand, in the order `--help` lists them.
  static let allSubcommands: [any ParsableCommand.Type] = [PlanCommand.self, LintCommand.self]
}
