import ArgumentParser

extension PGPhase {
  /// Every subcommand, in the order `--help` lists them.
  static let allSubcommands: [any ParsableCommand.Type] = [
    PlanCommand.self, LintCommand.self, ApplyCommand.self, AdvanceCommand.self, RollbackCommand.self, StatusCommand.self,
    WaitForDBCommand.self, CheckCommand.self, TryCommand.self, CheckArgsCommand.self,
    VerifyCommand.self, RepairCommand.self, SchemaCommand.self,
  ]
}
