import ArgumentParser
import Foundation
import PGPhaseCatalog
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres

struct SchemaCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "schema",
    abstract: "Read a database's schema in pgphase's canonical SQL form.",
    subcommands: [SchemaDumpCommand.self])
}

struct SchemaDumpCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dump",
    abstract: "Write the live database's schema as canonical SQL (sorted, one object per statement).",
    discussion: """
      Reads every schema except pgphase's own journal (pgphase) and the system's, leaving out \
      objects that extensions own, owners, privileges and data. The output is deterministic: the \
      same schema always gives the same bytes, so it diffs well and can be committed. psql loads \
      it into an empty database (psql -X -v ON_ERROR_STOP=1 -f FILE), and `pgphase plan --schema` \
      reads it. Definitions are the server's own form (pg_get_expr, pg_get_indexdef, ...), \
      except that a column default pgphase set is shown as its intent wrote it when the server \
      confirms it is the same expression. Objects the form does not cover (e.g. row security \
      policies) are named on stderr.

      Examples:
        pgphase schema dump --dsn postgres://app@db/app --out schema.sql
        pgphase schema dump > schema.sql
      """)

  @Option(help: "Write the schema to this file (replaced atomically) instead of standard output.")
  var out: String?

  @OptionGroup var connection: ConnectionOptions

  func run() throws {
    let schema: CatalogSchema
    do {
      let c = try Connection.connect(dsn: connection.dsn, applicationName: "pgphase schema dump")
      defer { c.close() }
      try SessionSettings.relaxForReading(c)
      schema = try SchemaDump.read(on: c)
    } catch let e as CatalogReadError {
      report(Diagnostic(.error, "\(e)", at: nil))
      throw ExitCode(ExitStatus.problems)
    } catch {
      guard let (diagnostics, status) = ExitStatus.report(error) else { throw error }
      diagnostics.forEach(report)
      throw ExitCode(status)
    }
    for note in schema.leftOut { report(Diagnostic(.warning, "not in the dump: \(note)", at: nil)) }
    let text = schema.snapshot.canonicalSQL()
    guard let out else {
      printOut(text, terminator: "")
      return
    }
    do {
      try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
    } catch {
      report(fileProblem(out, "cannot write the schema: \(error.localizedDescription)"))
      throw ExitCode(ExitStatus.problems)
    }
  }
}
