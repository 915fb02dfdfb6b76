import ArgumentParser
import Foundation
import PGPhaseModel
import PGPhasePostgres

struct WaitForDBCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "wait-for-db",
    abstract: "Block until the database accepts connections (exit 3 on timeout).")

  @Option(help: "How long to wait, e.g. 120s, 2m.")
  var timeout: String = "120s"

  @OptionGroup var connection: ConnectionOptions

  func run() throws {
    let seconds = try parseDuration(timeout, flag: "--timeout")
    let deadline = Date().addingTimeInterval(seconds)
    var lastError = ""
    var lastReport = Date.distantPast
    while true {
      do {
        let c = try Connection.connect(dsn: connection.dsn, applicationName: "pgphase wait-for-db")
        _ = try c.execute("SELECT 1")
        c.close()
        printOut("database is accepting connections")
        return
      } catch {
        lastError = "\(error)"
      }
      if Date() >= deadline {
        printError(Diagnostic(.error, "gave up after \(timeout): \(lastError)", at: nil).description)
        throw ExitCode(ExitStatus.database)
      }
      if Date().timeIntervalSince(lastReport) >= 10 {
        printError("waiting for the database: \(lastError)")
        lastReport = Date()
      }
      Thread.sleep(forTimeInterval: 0.5)
    }
  }
}
