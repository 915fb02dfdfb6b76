import ArgumentParser
import Foundation
import PGPhaseExecutor
import PGPhasePostgres

struct VerifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Check every done step's postconditions against the live catalog and report drift.",
    discussion: """
      Uses the plans the journal recorded (what actually ran). Reports objects missing, extra or \
      of the wrong type or definition, invalid indexes, constraints not validated, triggers gone, \
      steps left running or failed, and invalid indexes pgphase does not own. Read-only; takes no \
      lock. Exit 0 when clean, 1 on any drift.
      """)

  @Flag(help: "Write JSON.")
  var json = false

  @OptionGroup var connection: ConnectionOptions

  func run() throws {
    var report: VerifyReport?
    try runExecutor {
      let c = try Connection.connect(dsn: connection.dsn, applicationName: "pgphase verify")
      defer { c.close() }
      try SessionSettings.relaxForReading(c)
      report = try Verifier.verify(on: c)
    }
    guard let report else { return }
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      printOut(String(decoding: try encoder.encode(report), as: UTF8.self))
    } else {
      printOut(report.render())
    }
    if !report.isClean { throw ExitCode(ExitStatus.problems) }
  }
}
