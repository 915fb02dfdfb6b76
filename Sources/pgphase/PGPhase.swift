import ArgumentParser

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
}
