import ArgumentParser
import Foundation
import PGPhaseConfig
import PGPhaseLint
import PGPhaseModel
import PGPhasePlanner
import PGPhaseSQL

struct LintCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lint",
    abstract: "Find lock-heavy or unsafe DDL in plan folders, intent files and plain .sql migrations.",
    discussion: """
      Folders are searched recursively: a folder holding plan.json is linted as a plan (its \
      rendered .sql files are skipped), other .sql files as migrations, in path order. Intent \
      files (.yaml) are compiled with the planner and their plans linted; name them explicitly.

      Silence one statement with `-- pgphase:ignore RULE[, RULE] reason` on it or on the line \
      before, a whole file with `-- pgphase:ignore-file RULE reason`; squawk's `-- squawk-ignore` \
      and `-- squawk-ignore-file` comments work too (docs/rules/squawk.md). Configure with \
      .pgphase.yaml (rules: {enable, disable}, pg_version, exclude, transactional_files, \
      no_transaction_files); without one, a .squawk.toml is read.

      Whether the runner wraps a file in a transaction: `-- pgphase:no-transaction` or \
      `-- pgphase:transaction` in the file, else the tool's own setting beside it (Diesel's \
      metadata.toml `run_in_transaction`, Flyway's FILE.sql.conf `executeInTransaction`), else \
      the config's no_transaction_files and transactional_files.

      --trace runs each .sql file, statement by statement in its own transaction structure, on \
      a throwaway PostgreSQL it starts (or on the scratch database --dsn names: never on one \
      not named) and reports the locks each statement took, until when they are held, what it \
      rewrote and how long it ran, then the findings only a run can show.

      Exit codes: 0 no errors (warnings allowed); 1 findings at error severity; 2 bad usage, a \
      bad config, or an input file that cannot be read or does not parse.

      Examples:
        pgphase lint db/migrations
        pgphase lint plans --format sarif > pgphase.sarif
        pgphase lint --explain require-concurrent-index
        pgphase lint --trace --schema db/schema.sql db/migrations/20260101_add_index.sql
      """
  )

  @Argument(help: "Plan folders, intent files, .sql files, or folders of them (default: current folder).")
  var paths: [String] = []

  @Option(help: "Output format: text, json, github or sarif.")
  var format: String = "text"

  @Option(help: "Config file (default: .pgphase.yaml in the current folder, if any).")
  var config: String?

  @Option(
    name: .customLong("pg-version"),
    help: "PostgreSQL major version the migrations run on (default 15, or the config's pg_version).")
  var pgVersion: Int?

  @Option(help: "Print the documentation of one rule and exit.")
  var explain: String?

  @Flag(name: .customLong("list-rules"), help: "List every rule id and exit.")
  var listRules = false

  @OptionGroup var traceOptions: TraceOptions

  /// The options of `lint` that take a value (`--format json`), for `takeBulkPaths`.
  static let optionsWithValues: Set<String> = [
    "--format", "--config", "--pg-version", "--explain", "--dsn", "--schema", "--setup",
  ]

  /// For `pgphase lint` with many paths (a CI job passing every migration file): takes the paths
  /// out of `arguments` so ArgumentParser sees only the options. Its positional parsing grows
  /// with the square of the count (0.23 s for 2,000 paths, a third of the lint itself). Returns []
  /// and changes nothing for other commands and for fewer than 64 paths.
  static func takeBulkPaths(from arguments: inout [String]) -> [String] {
    guard arguments.first == "lint" else { return [] }
    var kept = ["lint"]
    var paths: [String] = []
    var i = 1
    while i < arguments.count {
      let argument = arguments[i]
      if argument == "--" {
        paths += arguments[(i + 1)...]
        break
      }
      if argument.hasPrefix("-") {
        kept.append(argument)
        if optionsWithValues.contains(argument), i + 1 < arguments.count {
          kept.append(arguments[i + 1])
          i += 1
        }
      } else {
        paths.append(argument)
      }
      i += 1
    }
    guard paths.count >= 64 else { return [] }
    arguments = kept
    return paths
  }

  func validate() throws {
    guard LintReport.Format(rawValue: format) != nil else {
      throw ValidationError("--format must be one of: \(LintReport.Format.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    if let pgVersion, !(9...30).contains(pgVersion) {
      throw ValidationError("--pg-version must be a PostgreSQL major version such as 15")
    }
    try traceOptions.validate()
  }

  func run() throws {
    if listRules {
      for rule in Rule.allCases {
        printOut(
          "\(rule.rawValue.padding(toLength: 42, withPad: " ", startingAt: 0)) \(rule.enabledByDefault ? "on " : "off") \(rule.summary)"
        )
      }
      return
    }
    if let explain {
      guard let rule = Rule(rawValue: explain) else {
        report(Diagnostic(.error, "unknown rule '\(explain)'; `pgphase lint --list-rules` lists them", at: nil))
        throw ExitCode(ExitStatus.badInput)
      }
      printOut(RuleDocs.markdown(for: rule), terminator: "")
      return
    }
    let lintConfig = try loadConfig()
    let options = lintConfig.options(pgVersionOverride: pgVersion)
    var inputError = false
    let inputs = try findInputs(exclude: lintConfig.exclude, inputError: &inputError)

    var linter = Linter(options: options)
    var findings: [Finding] = []
    var files: [String] = []
    var sqlPaths: [String] = []
    // Consecutive .sql files are linted as one batch: read and parsed on worker threads ahead of
    // the rules. A file that cannot be read is reported after the batch, in path order.
    func flushSQL() {
      guard !sqlPaths.isEmpty else { return }
      let paths = sqlPaths
      let problems = LoadProblems(count: paths.count)
      let results = linter.lint(count: paths.count) { i in
        switch Self.readText(paths[i]) {
        case .problem(let problem):
          problems.set(i, problem)
          return nil
        case .text(let text):
          let path = paths[i]
          let transactional = MigrationTools.transactional(path: path) ?? lintConfig.transactional(path: path)
          return Linter.Input(source: SQLSource(file: path, text: text), transactional: transactional)
        }
      }
      for result in results { findings += result ?? [] }
      for problem in problems.all {
        report(problem)
        inputError = true
      }
      sqlPaths = []
    }
    for input in inputs {
      files.append(input.path)
      switch input.kind {
      case .sql:
        sqlPaths.append(input.path)
      case .plan:
        flushSQL()
        guard let text = read(input.path) else {
          inputError = true
          continue
        }
        do {
          let plan = try PlanDocument.decode(Data(text.utf8)).plan
          findings += linter.lint(plan: plan, file: input.path, text: text)
        } catch {
          report(fileProblem(input.path, "not a pgphase plan: \(error)"))
          inputError = true
        }
      case .intent:
        flushSQL()
        do {
          let plans = try IntentFiles.plan([input.path])
          for plan in plans { findings += linter.lint(plan: plan, file: input.path) }
        } catch {
          inputError = true
        }
      }
    }
    flushSQL()
    var lintReport = LintReport(findings: findings, files: files)
    if traceOptions.trace {
      let sqlFiles = inputs.filter { $0.kind == .sql }.map(\.path)
      let traced = try traceOptions.run(
        files: sqlFiles, options: options, config: lintConfig, staticFindings: findings, read: read)
      lintReport = traced.merged(into: lintReport)
    }
    let color = format == "text" && isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    printOut(lintReport.render(LintReport.Format(rawValue: format)!, color: color), terminator: "")
    let code = inputError ? ExitStatus.badInput : lintReport.exitCode
    if code != 0 { throw ExitCode(code) }
  }

  func read(_ path: String) -> String? {
    switch Self.readText(path) {
    case .text(let text): return text
    case .problem(let problem):
      report(problem)
      return nil
    }
  }

  enum FileText {
    case text(String)
    case problem(Diagnostic)
  }

  /// A file's text, or the problem to report; safe on any thread.
  static func readText(_ path: String) -> FileText {
    guard let data = FileManager.default.contents(atPath: path) else {
      return .problem(fileProblem(path, "cannot read the file"))
    }
    guard let text = String(data: data, encoding: .utf8) else {
      return .problem(fileProblem(path, "the file is not UTF-8 text"))
    }
    return .text(text)
  }

  func loadConfig() throws -> LintConfig {
    // Without a .pgphase.yaml, a squawk config is read (or one named with --config).
    if let config, config.hasSuffix(".toml") { return try loadSquawkConfig(config) ?? LintConfig() }
    if config == nil, !FileManager.default.fileExists(atPath: LintConfig.fileName), let squawk = try loadSquawkConfig() {
      return squawk
    }
    do {
      return try ConfigFile.load(path: config).lint
    } catch {
      for d in error.diagnostics { report(d) }
      throw ExitCode(ExitStatus.badInput)
    }
  }

  /// A squawk config, read when there is no .pgphase.yaml (or named with --config).
  func loadSquawkConfig(_ named: String? = nil) throws -> LintConfig? {
    guard let path = named ?? SquawkConfig.fileNames.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
      return nil
    }
    guard let text = read(path) else { throw ExitCode(ExitStatus.badInput) }
    do {
      let (config, warnings) = try SquawkConfig.parse(text, file: path)
      for warning in warnings { report(warning) }
      return config
    } catch {
      for d in error.diagnostics { report(d) }
      throw ExitCode(ExitStatus.badInput)
    }
  }

  enum Kind { case sql, plan, intent }
  struct Input {
    var path: String
    var kind: Kind
  }

  func findInputs(exclude: [String], inputError: inout Bool) throws -> [Input] {
    let fm = FileManager.default
    func excluded(_ path: String) -> Bool {
      exclude.contains { Glob.matches($0, path) }
    }
    var inputs: [Input] = []
    for root in paths.isEmpty ? ["."] : paths {
      var isDirectory: ObjCBool = false
      guard fm.fileExists(atPath: root, isDirectory: &isDirectory) else {
        report(fileProblem(root, "no such file or folder"))
        inputError = true
        continue
      }
      if !isDirectory.boolValue {
        if excluded(root) { continue }
        if root.hasSuffix(".yaml") || root.hasSuffix(".yml") {
          inputs.append(Input(path: root, kind: .intent))
        } else if root.hasSuffix(".json") {
          inputs.append(Input(path: root, kind: .plan))
        } else {
          inputs.append(Input(path: root, kind: .sql))
        }
        continue
      }
      let base = root.hasSuffix("/") ? String(root.dropLast()) : root
      let entries = (fm.enumerator(atPath: root)?.allObjects as? [String] ?? []).sorted()
      let planFolders = Set(
        entries.filter { $0 == "plan.json" || $0.hasSuffix("/plan.json") }.map { ($0 as NSString).deletingLastPathComponent })
      for entry in entries {
        let path = base == "." ? entry : "\(base)/\(entry)"
        if entry.split(separator: "/").contains(where: { $0.hasPrefix(".") }) || excluded(path) { continue }
        let folder = (entry as NSString).deletingLastPathComponent
        if entry.hasSuffix("plan.json"), planFolders.contains(folder) {
          inputs.append(Input(path: path, kind: .plan))
        } else if entry.hasSuffix(".sql"), !planFolders.contains(folder) {
          inputs.append(Input(path: path, kind: .sql))
        }
      }
    }
    return inputs
  }
}

/// The files of a lint batch that could not be read, filled in by the reading threads.
private final class LoadProblems: @unchecked Sendable {
  // Safety: every access holds `lock`.
  private var problems: [Diagnostic?]
  private let lock = NSLock()

  init(count: Int) { problems = Array(repeating: nil, count: count) }

  func set(_ index: Int, _ problem: Diagnostic) {
    lock.lock()
    problems[index] = problem
    lock.unlock()
  }

  /// The problems in file order.
  var all: [Diagnostic] {
    lock.lock()
    defer { lock.unlock() }
    return problems.compactMap { $0 }
  }
}
