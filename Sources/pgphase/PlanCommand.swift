import ArgumentParser
import Foundation
import PGPhaseModel
import PGPhasePlanner

struct PlanCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "Compile intent files into phased plans under plans/<intent-id>/.",
    discussion: """
      Each intent becomes a folder with plan.json (for the executor), expand.sql, backfill.sql and \
      contract.sql (psql-runnable, each step annotated with its lock, cost and transactional flag), \
      and undo.sql. Output is deterministic, so plans/ can be committed and reviewed.

      With a starting schema, plan also writes schema.sql into the plans folder: the schema after \
      every intent through contract, in `pgphase schema dump`'s canonical form, so a review shows \
      the schema diff beside the plans.

      With --schema (or `schema:` in .pgphase.yaml) the intents are planned against the schema \
      they start from, a `pgphase schema dump` or `pg_dump --schema-only` file: every table, \
      column, index and constraint an intent names must exist (in the schema, or made by an \
      earlier change), else it is an error at the name with the closest one the schema has; and \
      rename_column / alter_column take the column's type, NOT NULL, default and comment from it. \
      Planning reads only the file, never a database.

      Examples:
        pgphase plan examples/intents --out plans
        pgphase plan --check examples/intents     # CI: exit 1 with a diff if plans/ is stale
        pgphase schema dump --dsn "$DATABASE_URL" --out schema.sql
        pgphase plan --schema schema.sql intents/      # also writes plans/schema.sql
      """
  )

  @Argument(help: "Intent files or folders of them (default: intents/).")
  var paths: [String] = []

  @Option(help: "The folder to write plans into.")
  var out: String = "plans"

  @Flag(help: "Write nothing; exit 1 and show a diff if any plan on disk differs from what the intents compile to.")
  var check = false

  @Option(
    help: ArgumentHelp(
      "The schema the intents start from: `pgphase schema dump` or `pg_dump --schema-only` output (default: the config's `schema:`).",
      valueName: "file"))
  var schema: String?

  @Option(help: "Config file (default: .pgphase.yaml in the current folder, if any).")
  var config: String?

  func run() throws {
    do {
      let start = try SchemaInput.read(flag: schema, config: config)
      let inputs = try IntentFiles.find(paths)
      let (plans, after) = try IntentFiles.planning(inputs, paths: paths, schema: start?.snapshot)
      // Each plan renders on its own: on every core, in the plans' order.
      let files = Parallel.map(plans) { plan in Result { try PlanRenderer.files(for: plan) } }
      var rendered: [(plan: Plan, files: [String: String])] = []
      for (plan, result) in zip(plans, files) { rendered.append((plan, try result.get())) }
      let writer = PlanWriter(out: out, generatedNames: Set(rendered.flatMap(\.files.keys)))
      // The schema after the intents, only with the schema they start from: without it the
      // planner knows only what intents create, and a file of that would read as the whole schema.
      var topLevel: [String: String] = [:]
      if let start {
        try checkSchemaOutput(start: start.path, plans: plans)
        topLevel[PlanWriter.schemaFileName] = after.canonicalSQL()
      }
      if check {
        try runCheck(rendered, topLevel: topLevel, writer: writer, stale: inputs.onlyFolders)
      } else {
        try write(rendered, topLevel: topLevel, writer: writer, removeStale: inputs.onlyFolders)
      }
    } catch let e as ExitCodeError {
      throw ExitCode(e.code)
    }
  }

  /// Refuses to write PLANS/schema.sql over the schema the intents start from, or where an
  /// intent's plan folder of that name would go.
  func checkSchemaOutput(start: String, plans: [Plan]) throws {
    let target = "\(out)/\(PlanWriter.schemaFileName)"
    if URL(fileURLWithPath: start).resolvingSymlinksInPath().path == URL(fileURLWithPath: target).resolvingSymlinksInPath().path {
      report(
        fileProblem(
          start,
          "the starting schema is \(target), where plan writes the schema after the intents; keep the starting schema outside \(out)/"
        ))
      throw ExitCodeError(ExitStatus.badInput)
    }
    if let plan = plans.first(where: { $0.intent == PlanWriter.schemaFileName }) {
      report(
        fileProblem(
          plan.source,
          "intent id `\(plan.intent)` would name its plan folder \(target), where plan writes the schema after the intents"
        ))
      throw ExitCodeError(ExitStatus.badInput)
    }
  }

  func runCheck(
    _ rendered: [(plan: Plan, files: [String: String])], topLevel: [String: String], writer: PlanWriter, stale: Bool
  ) throws {
    var problems = 0
    let wanted = Set(rendered.map(\.plan.intent))
    func compare(_ path: String, _ content: String) {
      guard let data = FileManager.default.contents(atPath: path) else {
        printOut("missing: \(path)")
        problems += 1
        return
      }
      let onDisk = String(decoding: data, as: UTF8.self)
      if onDisk != content {
        printOut("stale: \(path)")
        printOut(
          LineDiff.unified(old: onDisk, new: content, oldName: "\(path) (committed)", newName: "\(path) (from intents)"),
          terminator: "")
        problems += 1
      }
    }
    for (plan, files) in rendered {
      for (name, content) in files.sorted(by: { $0.key < $1.key }) { compare("\(out)/\(plan.intent)/\(name)", content) }
    }
    for (name, content) in topLevel.sorted(by: { $0.key < $1.key }) { compare("\(out)/\(name)", content) }
    noteUnwrittenSchema(topLevel)
    // Only a run over whole folders knows that an intent is gone.
    if stale {
      for id in writer.existingPlanFolders() where !wanted.contains(id) {
        printOut("extra: \(out)/\(id)/ has no intent any more")
        problems += 1
      }
    }
    if problems > 0 {
      report(
        Diagnostic(
          .error,
          "\(problems) plan file\(problems == 1 ? " is" : "s are") out of date; run `pgphase plan \(paths.joined(separator: " "))\(out == "plans" ? "" : " --out \(out)")` and commit the result",
          at: nil))
      throw ExitCode(ExitStatus.problems)
    }
    printOut("plans in \(out)/ are up to date (\(rendered.count) intent\(rendered.count == 1 ? "" : "s"))")
  }

  /// Without a starting schema a PLANS/schema.sql of an earlier run is left as it was, and said so.
  func noteUnwrittenSchema(_ topLevel: [String: String]) {
    let path = "\(out)/\(PlanWriter.schemaFileName)"
    guard topLevel[PlanWriter.schemaFileName] == nil, FileManager.default.fileExists(atPath: path) else { return }
    report(
      fileProblem(
        path,
        "left as it was: without the schema the intents start from (--schema, or `schema:` in .pgphase.yaml) the schema after them is not known",
        .warning))
  }

  func write(
    _ rendered: [(plan: Plan, files: [String: String])], topLevel: [String: String], writer: PlanWriter, removeStale: Bool
  ) throws {
    let outcome: PlanWriter.Outcome
    do {
      outcome = try writer.write(rendered.map { ($0.plan.intent, $0.files) }, topLevel: topLevel, removeStale: removeStale)
    } catch {
      report(fileProblem(out, "\(error)"))
      throw ExitCode(ExitStatus.problems)
    }
    let written = Set(outcome.written)
    for (plan, _) in rendered {
      let counts = Phase.allCases.map { "\(plan.steps(in: $0).count) \($0.rawValue)" }.joined(separator: ", ")
      printOut("\(plan.intent): \(counts) → \(out)/\(plan.intent)/\(written.contains(plan.intent) ? "" : " (unchanged)")")
    }
    for name in topLevel.keys.sorted() {
      printOut("\(out)/\(name)\(outcome.writtenTopLevel.contains(name) ? "" : " (unchanged)")")
    }
    noteUnwrittenSchema(topLevel)
    for id in outcome.removed { printOut("removed \(out)/\(id)/ (no intent any more)") }
    for (id, others) in outcome.kept {
      report(
        fileProblem(
          "\(out)/\(id)/",
          "its intent is gone, but it holds files pgphase did not write (\(others.joined(separator: ", "))); kept it: remove it yourself",
          .warning))
    }
    printOut("planned \(rendered.count) intent\(rendered.count == 1 ? "" : "s") into \(out)/")
  }
}
