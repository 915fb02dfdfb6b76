import ArgumentParser
import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres

struct CheckCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "For app start-up: exit 0 if this database is compatible with the app built from a plans folder.",
    discussion: """
      Compatible: every intent of the release has finished expand and backfill (only expand for \
      intents named with --expand-only), no intent the release does not know has started contract, \
      and no half-done or failed step breaks either. Otherwise exit 1, naming each intent and phase \
      and what to run. Records a check-in (release, host, time) that `apply --phase contract` reads \
      to refuse contracting what a running release still needs; --no-record skips it.
      The same check is one SQL query, for apps that prefer not to ship pgphase (see --print-sql):
        SELECT * FROM pgphase.check_compatible(ARRAY['id1', 'id2'], 'release', 'host') WHERE blocking
      """)

  @Option(help: "The plans folder (or intents folder) the app was built with.")
  var release: String = "plans"

  @Option(help: "A name for the release in check-ins (default: r-<hash of its plans>).")
  var name: String?

  @Option(help: "The host in check-ins (default: this host's name, the pod name under Kubernetes).")
  var host: String?

  @Flag(name: .customLong("no-record"), help: "Do not record a check-in.")
  var noRecord = false

  @Option(name: .customLong("expand-only"), help: "An intent whose backfilled data this app does not read (repeatable).")
  var expandOnly: [String] = []

  @Flag(help: "Write JSON.")
  var json = false

  @Flag(name: .customLong("print-sql"), help: "Print the start-up query for this release instead of running it.")
  var printSQL = false

  @OptionGroup var connection: ConnectionOptions

  func run() throws {
    let plans = try loadPlansOrIntents(release)
    let known = Set(plans.map(\.plan.intent))
    if let unknown = expandOnly.first(where: { !known.contains($0) }) {
      throw ValidationError("--expand-only \(unknown): no such intent in \(release)")
    }
    let manifest = ReleaseManifest(plans: plans, expandOnly: Set(expandOnly), name: name)
    let checkinHost = noRecord ? nil : (host ?? ProcessInfo.processInfo.hostName)
    if printSQL {
      printOut(manifest.startupQuery(host: checkinHost) + ";")
      return
    }
    var report: CompatibilityReport?
    try runExecutor {
      let c = try Connection.connect(dsn: connection.dsn, applicationName: "pgphase check")
      defer { c.close() }
      try SessionSettings.relaxForReading(c)
      report = try CompatibilityCheck.run(manifest, recordFrom: checkinHost, on: c)
    }
    guard let report else { return }
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      printOut(String(decoding: try encoder.encode(report), as: UTF8.self))
    } else {
      printOut(report.render())
    }
    if !report.compatible { throw ExitCode(ExitStatus.problems) }
  }
}

/// Plans from a plans folder (`*/plan.json`), or compiled in memory from a folder or file of
/// intents (`.yaml`) when there are no plans there.
func loadPlansOrIntents(_ path: String) throws -> [LoadedPlan] {
  let fm = FileManager.default
  var isDirectory: ObjCBool = false
  let exists = fm.fileExists(atPath: path, isDirectory: &isDirectory)
  let hasPlans =
    exists && isDirectory.boolValue
    && ((try? fm.contentsOfDirectory(atPath: path)) ?? []).contains { fm.fileExists(atPath: "\(path)/\($0)/plan.json") }
  if hasPlans || !exists { return try loadPlans(path) }
  do {
    return try IntentFiles.plan([path]).map { try LoadedPlan($0) }
  } catch let e as ExitCodeError {
    throw ExitCode(e.code)
  }
}
