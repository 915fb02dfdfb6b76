// pgphase-server: starts a throwaway PostgreSQL (PGPhaseServer's launcher), runs one command
// against it, and removes it however the command ends. scripts/with-pg builds and calls it; a
// separate small executable (Foundation only) so that with-pg works before the rest of pgphase
// has been built, and so that `pgphase` itself carries no test plumbing.
//
//   pgphase-server run [--pg MAJOR] [--port N] [--password-role ROLE]... [--] COMMAND [ARGS...]
//   pgphase-server list
import Dispatch
import Foundation
import PGPhaseServer

#if canImport(Glibc)
  import Glibc
#endif

let usage = """
  usage: pgphase-server run [--pg MAJOR] [--port N] [--password-role ROLE]... [--] COMMAND [ARGS...]
         pgphase-server list
  """

func fail(_ message: String, status: Int32) -> Never {
  FileHandle.standardError.write(Data("with-pg: \(message)\n".utf8))
  exit(status)
}

/// The command's process and the first signal received, shared by the signal handlers and the
/// main thread.
final class Supervisor: @unchecked Sendable {
  // Safety: `child` and `signal` are only touched while holding `lock`.
  private let lock = NSLock()
  private var child: pid_t?
  private var signal: Int32?

  var receivedSignal: Int32? { lock.withLock { signal } }
  func started(_ pid: pid_t) { lock.withLock { child = pid } }

  /// Records the signal and returns the command to pass it to (nil before it started).
  func received(_ number: Int32) -> pid_t? {
    lock.withLock {
      if signal == nil { signal = number }
      return child
    }
  }
}

func runCommand(_ arguments: [String]) -> Never {
  var options = EphemeralPostgres.Options()
  var rest = arguments[...]
  while let first = rest.first {
    func value() -> String {
      rest = rest.dropFirst()
      guard let v = rest.first else { fail("\(first) needs a value\n\(usage)", status: 2) }
      rest = rest.dropFirst()
      return v
    }
    if first == "--" {
      rest = rest.dropFirst()
      break
    } else if first == "--pg" {
      let v = value()
      guard let major = Int(v), major > 0 else { fail("--pg \(v): expected a major version such as 15", status: 2) }
      options.major = major
    } else if first == "--port" {
      let v = value()
      guard let port = Int(v), (1...65535).contains(port) else { fail("--port \(v): expected a port number", status: 2) }
      options.port = port
    } else if first == "--password-role" {
      options.passwordRoles.append(value())
    } else if first.hasPrefix("-") {
      fail("unknown option \(first)\n\(usage)", status: 2)
    } else {
      break
    }
  }
  let command = Array(rest)
  guard !command.isEmpty else { fail("no command to run\n\(usage)", status: 2) }

  let server: EphemeralPostgres
  do {
    server = try EphemeralPostgres.create(options)
  } catch {
    fail("\(error)", status: 3)
  }
  let supervisor = Supervisor()
  let sources = ([SIGINT, SIGTERM, SIGHUP] as [Int32]).map { number -> any DispatchSourceSignal in
    signal(number, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
    source.setEventHandler {
      if let child = supervisor.received(number) {
        kill(child, number)  // the command decides how to end; we clean up after it
      } else {
        server.stop()
        exit(128 + number)
      }
    }
    source.resume()
    return source
  }
  do {
    try server.start()
  } catch {
    server.stop()
    fail("could not start PostgreSQL \(server.version): \(error)", status: 3)
  }
  FileHandle.standardError.write(
    Data("with-pg: PostgreSQL \(server.version) on socket \(server.directory) port \(server.port)\n".utf8))
  var environment = ProcessInfo.processInfo.environment
  for key in ["DATABASE_URL", "PGPASSWORD", "PGSERVICE", "PGHOSTADDR", "PGSSLMODE"] { environment[key] = nil }
  environment.merge(server.environment) { _, new in new }
  environment["PGPHASE_TEST_SERVER"] = "1"
  let child: pid_t
  do {
    child = try Spawn.start(command, environment: environment)
  } catch {
    server.stop()
    fail("\(error)", status: 127)
  }
  supervisor.started(child)
  let status = Spawn.wait(child)
  for source in sources { source.cancel() }
  server.stop()
  if let number = supervisor.receivedSignal, status == 0 { exit(128 + number) }
  exit(status)
}

func list() -> Never {
  let all = PostgresInstallation.all()
  if all.isEmpty { fail("no PostgreSQL server found", status: 3) }
  for installation in all { print("\(installation.major)\t\(installation.version)\t\(installation.binDirectory)") }
  exit(0)
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "run": runCommand(Array(arguments.dropFirst()))
case "list": list()
case "-h", "--help":
  print(usage)
  exit(0)
default: fail(usage, status: 2)
}
