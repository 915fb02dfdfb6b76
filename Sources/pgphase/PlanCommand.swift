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
        pgphase plan --schema schema.sql intents/
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
      let snapshot = try SchemaInput.read(flag: schema, config: config)
      let inputs = try IntentFiles.find(paths)
      let plans = try IntentFiles.plan(inputs, paths: paths, schema: snapshot)
      // Each plan renders on its own: on every core, in the plans' order.
      let files = Parallel.map(plans) { plan in Result { try PlanRenderer.files(for: plan) } }
      var rendered: [(plan: Plan, files: [String: String])] = []
      for (plan, result) in zip(plans, files) { rendered.append((plan, try result.get())) }
      let writer = PlanWriter(out: out, generatedNames: Set(rendered.flatMap(\.files.keys)))
      if check {
        try runCheck(rendered, writer: writer, stale: inputs.onlyFolders)
      } else {
        try write(rendered, writer: writer, removeStale: inputs.onlyFolders)
      }
    } catch let e as ExitCodeError {
      throw ExitCode(e.code)
    }
  }

  func runCheck(_ rendered: [(plan: Plan, files: [String: String])], writer: PlanWriter, stale: Bool) throws {
    var problems = 0
    let wanted = Set(rendered.map(\.plan.intent))
    for (plan, files) in rendered {
      for (name, content) in files.sorted(by: { $0.key < $1.key }) {
        let path = "\(out)/\(plan.intent)/\(name)"
        guard let data = FileManager.default.contents(atPath: path) else {
          printOut("missing: \(path)")
          problems += 1
          continue
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
    }
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

  func write(_ rendered: [(plan: Plan, files: [String: String])], writer: PlanWriter, removeStale: Bool) throws {
    let outcome: PlanWriter.Outcome
    do {
      outcome = try writer.write(rendered.map { ($0.plan.intent, $0.files) }, removeStale: removeStale)
    } catch {
      report(fileProblem(out, "\(error)"))
      throw ExitCode(ExitStatus.problems)
    }
    let written = Set(outcome.written)
    for (plan, _) in rendered {
      let counts = Phase.allCases.map { "\(plan.steps(in: $0).count) \($0.rawValue)" }.joined(separator: ", ")
      printOut("\(plan.intent): \(counts) → \(out)/\(plan.intent)/\(written.contains(plan.intent) ? "" : " (unchanged)")")
    }
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
