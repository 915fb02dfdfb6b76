import ArgumentParser
import Foundation
import PGPhaseExecutor
import PGPhasePostgres

struct StatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show every intent with the state of each phase, the step in progress, who runs it and what blocks it.")

  @Flag(help: "Write JSON.")
  var json = false

  @Argument(help: "The plans folder.")
  var plans: String = "plans"

  @OptionGroup var connection: ConnectionOptions

  func run() throws {
    let loaded = try loadPlans(plans)
    try runExecutor {
      let c = try Connection.connect(dsn: connection.dsn, applicationName: "pgphase status")
      defer { c.close() }
      try SessionSettings.relaxForReading(c)
      let statuses = try StatusReader.read(plans: loaded, on: c)
      if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        printOut(String(decoding: try encoder.encode(statuses), as: UTF8.self))
      } else {
        printOut(statuses.isEmpty ? "no plans in \(plans)/" : StatusReader.render(statuses))
      }
    }
  }
}
