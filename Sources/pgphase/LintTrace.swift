import ArgumentParser
import Foundation
import PGPhaseLint
import PGPhaseModel
import PGPhasePostgres
import PGPhaseSQL
import PGPhaseTrace

/// `pgphase lint --trace`: the flags, and the run (server, database, schema) around the tracer.
struct TraceOptions: ParsableArguments {
  @Flag(help: "Run the .sql files on a throwaway PostgreSQL and report the locks and rewrites each statement caused.")
  var trace = false

  @Option(
    name: .customLong("dsn"),
    help: "With --trace: the scratch database to run on instead of a throwaway server. Its changes are committed.")
  var dsn: String?

  @Option(help: "With --trace: SQL loaded first, the schema the migrations start from (e.g. pg_dump --schema-only).")
  var schema: String?

  @Option(help: "With --trace: more SQL loaded after --schema (test data, roles, extensions); repeatable.")
  var setup: [String] = []

  func validate() throws {
    if !trace, dsn != nil || schema != nil || !setup.isEmpty {
      throw ValidationError("--dsn, --schema and --setup go with --trace")
    }
    if let dsn {
      // Never a database the user did not name: libpq would fill a missing dbname from PGDATABASE.
      guard Self.namesDatabase(dsn) else {
        throw ValidationError("--dsn must name the scratch database (dbname=... or postgres://host/DBNAME)")
      }
    }
    for file in [schema].compactMap({ $0 }) + setup where !FileManager.default.fileExists(atPath: file) {
      throw ValidationError("\(file): no such file")
    }
  }

  /// Whether a DSN names its database itself: `dbname=` in key/value form, a path in a URI.
  static func namesDatabase(_ dsn: String) -> Bool {
    guard DSN.isURI(dsn) else { return dsn.contains("dbname") }
    let beforeQuery = dsn.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    guard let scheme = beforeQuery.range(of: "://") else { return false }
    let rest = beforeQuery[scheme.upperBound...]
    guard let slash = rest.firstIndex(of: "/") else { return false }
    return !rest[rest.index(after: slash)...].isEmpty
  }

  struct Result {
    var traces: [FileTrace]

    /// The static report with the trace's findings and measurements added.
    func merged(into report: LintReport) -> LintReport {
      var out = LintReport(
        findings: (report.findings + traces.flatMap(\.findings)).sorted { ($0.location, $0.rule) < ($1.location, $1.rule) },
        files: report.files)
      out.preamble = traces.map { $0.text() }.joined()
      if !out.preamble.isEmpty { out.preamble += "\n" }
      out.extraJSON = [("trace", "[" + traces.map { $0.json() }.joined(separator: ",") + "]")]
      return out
    }
  }

  func run(
    files: [String], options: LintOptions, config: LintConfig, staticFindings: [Finding], read: (String) -> String?
  ) throws -> Result {
    if let dsn {
      return try traceAll(files, dsn: dsn, options: options, config: config, staticFindings: staticFindings, read: read)
    }
    let server: EphemeralPostgres
    do {
      server = try EphemeralPostgres.create()
      try server.start()
    } catch {
      printError("pgphase: could not start a throwaway PostgreSQL for --trace: \(error)")
      throw ExitCode(ExitStatus.database)
    }
    defer { server.stop() }
    printError("trace: PostgreSQL \(server.version) in \(server.directory) (removed at the end)")
    do {
      let admin = try Connection.connect(dsn: server.dsn, applicationName: "pgphase lint --trace")
      try admin.executeAlone("CREATE DATABASE pgphase_trace")
      admin.close()
    } catch {
      printError("pgphase: could not create the trace database: \(error)")
      throw ExitCode(ExitStatus.database)
    }
    let dsn = server.dsn.replacingOccurrences(of: "dbname=postgres", with: "dbname=pgphase_trace")
    return try traceAll(files, dsn: dsn, options: options, config: config, staticFindings: staticFindings, read: read)
  }

  private func traceAll(
    _ files: [String], dsn: String, options: LintOptions, config: LintConfig, staticFindings: [Finding],
    read: (String) -> String?
  ) throws -> Result {
    let connection: Connection
    do {
      connection = try Connection.connect(dsn: dsn, applicationName: "pgphase lint --trace")
    } catch {
      printError("pgphase: could not connect for --trace: \(error)")
      throw ExitCode(ExitStatus.database)
    }
    defer { connection.close() }
    let tracer = Tracer(connection: connection, lintOptions: options)
    for file in [schema].compactMap({ $0 }) + setup {
      guard let text = read(file) else { throw ExitCode(ExitStatus.badInput) }
      do {
        try tracer.load(text)
      } catch {
        printError("\(file): error: loading it failed: \(error)")
        throw ExitCode(ExitStatus.badInput)
      }
    }
    var traces: [FileTrace] = []
    for file in files {
      guard let text = read(file) else { continue }
      let transactional = MigrationTools.transactional(path: file) ?? config.transactional(path: file)
      let source = SQLSource(file: file, text: text)
      do {
        let trace = try tracer.trace(
          source, transactional: transactional, staticFindings: staticFindings.filter { $0.location.file == file })
        traces.append(trace)
        if trace.statements.last?.error != nil {
          printError("trace: \(file) failed at a statement; later files were not run")
          break
        }
      } catch {
        printError("pgphase: tracing \(file) failed: \(error)")
        throw ExitCode(ExitStatus.database)
      }
    }
    return Result(traces: traces)
  }
}
