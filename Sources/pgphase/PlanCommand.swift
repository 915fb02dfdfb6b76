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

      Examples:
        pgphase plan examples/intents --out plans
        pgphase plan --check examples/intents     # CI: exit 1 with a diff if plans/ is stale
      """
  )

  @Argument(help: "Intent files or folders of them (default: intents/).")
  var paths: [String] = []

  @Option(help: "The folder to write plans into.")
  var out: String = "plans"

  @Flag(help: "Write nothing; exit 1 and show a diff if any plan on disk differs from what the intents compile to.")
  var check = false

  func run() throws {
    do {
      let plans = try IntentFiles.plan(paths)
      var rendered: [(plan: Plan, files: [String: String])] = []
      for plan in plans { rendered.append((plan, try PlanRenderer.files(for: plan))) }
      if check {
        try runCheck(rendered)
      } else {
        try write(rendered)
      }
    } catch let e as ExitCodeError {
      throw ExitCode(e.code)
    }
  }

  /// Plan folders already in `out` (those holding a plan.json), by intent id.
  func existingPlanFolders() -> [String] {
    let fm = FileManager.default
    let entries = (try? fm.contentsOfDirectory(atPath: out)) ?? []
    return entries.filter { fm.fileExists(atPath: "\(out)/\($0)/plan.json") }.sorted()
  }

  func runCheck(_ rendered: [(plan: Plan, files: [String: String])]) throws {
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
    for id in existingPlanFolders() where !wanted.contains(id) {
      printOut("extra: \(out)/\(id)/ has no intent any more")
      problems += 1
    }
    if problems > 0 {
      printError(
        "\(problems) plan file\(problems == 1 ? " is" : "s are") out of date; run `pgphase plan \(paths.joined(separator: " "))\(out == "plans" ? "" : " --out \(out)")` and commit the result"
      )
      throw ExitCode(ExitStatus.problems)
    }
    printOut("plans in \(out)/ are up to date (\(rendered.count) intent\(rendered.count == 1 ? "" : "s"))")
  }

  func write(_ rendered: [(plan: Plan, files: [String: String])]) throws {
    let fm = FileManager.default
    let wanted = Set(rendered.map(\.plan.intent))
    for id in existingPlanFolders() where !wanted.contains(id) {
      try fm.removeItem(atPath: "\(out)/\(id)")
      printOut("removed \(out)/\(id)/ (no intent any more)")
    }
    for (plan, files) in rendered {
      let dir = "\(out)/\(plan.intent)"
      try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
      for (name, content) in files.sorted(by: { $0.key < $1.key }) {
        let path = "\(dir)/\(name)"
        if fm.contents(atPath: path) == Data(content.utf8) { continue }
        try Data(content.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
      }
      let counts = Phase.allCases.map { "\(plan.steps(in: $0).count) \($0.rawValue)" }.joined(separator: ", ")
      printOut("\(plan.intent): \(counts) → \(dir)/")
    }
    printOut("planned \(rendered.count) intent\(rendered.count == 1 ? "" : "s") into \(out)/")
  }
}
