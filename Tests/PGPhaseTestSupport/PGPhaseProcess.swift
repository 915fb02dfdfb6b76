public import Foundation

/// The repository root, found from this file's path (Tests/PGPhaseTestSupport/…).
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

/// The built `pgphase` binary: `PGPHASE_BIN`, else beside the test bundle, else under the scratch
/// folder this package is usually built in.
public func pgphaseBinary() throws -> String {
  let fm = FileManager.default
  if let path = ProcessInfo.processInfo.environment["PGPHASE_BIN"], fm.isExecutableFile(atPath: path) { return path }
  var candidates: [String] = []
  let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
  candidates.append(argv0.deletingLastPathComponent().appendingPathComponent("pgphase").path)
  candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("pgphase").path)
  for scratch in [".build-exec", ".build"] {
    candidates.append(repositoryRoot.appendingPathComponent("\(scratch)/debug/pgphase").path)
  }
  if let found = candidates.first(where: { fm.isExecutableFile(atPath: $0) }) { return found }
  throw BinaryNotFound(candidates: candidates)
}

public struct BinaryNotFound: Error, CustomStringConvertible {
  public var candidates: [String]
  public var description: String { "pgphase binary not found (set PGPHASE_BIN); looked at \(candidates.joined(separator: ", "))" }
}

public struct RunResult: Sendable {
  public var status: Int32
  /// Whether the process ended by a signal (`status` is then the signal number).
  public var signal: Bool
  public var stdout: String
  public var stderr: String
}

/// Starts `pgphase` with `arguments` in `directory` without waiting, for tests that signal it
/// or watch it mid-run; its output goes to `stdout` (default: discarded) and stderr is
/// discarded, unless `output` is given: then both go there, in the order written (a file the
/// test reads while it runs).
public func startPGPhase(_ arguments: [String], in directory: URL? = nil, stdout: Pipe? = nil, output: FileHandle? = nil)
  throws -> Process
{
  let process = Process()
  process.executableURL = URL(fileURLWithPath: try pgphaseBinary())
  process.arguments = arguments
  if let directory { process.currentDirectoryURL = directory }
  process.standardOutput = output ?? stdout ?? FileHandle.nullDevice
  process.standardError = output ?? FileHandle.nullDevice
  try process.run()
  return process
}

/// Runs `pgphase` with `arguments` in `directory` (default: the current one), with `environment`
/// added to this process's; when `killAfter` is set, SIGKILLs it after that many seconds.
public func runPGPhase(
  _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:], killAfter: Double? = nil
) throws -> RunResult {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: try pgphaseBinary())
  process.arguments = arguments
  if !environment.isEmpty {
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
  }
  if let directory { process.currentDirectoryURL = directory }
  let out = Pipe()
  let err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  if let killAfter {
    Thread.sleep(forTimeInterval: killAfter)
    kill(process.processIdentifier, SIGKILL)
  }
  // Read before waiting, so a full pipe cannot stall the child.
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  let errData = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return RunResult(
    status: process.terminationStatus, signal: process.terminationReason == .uncaughtSignal,
    stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}

/// Runs `pgphase` with stdout and stderr into one pipe, as a terminal or a CI log receives them;
/// returns the exit status and everything written, in the order it arrived.
public func runPGPhaseMerged(_ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, output: String) {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: try pgphaseBinary())
  process.arguments = arguments
  if let directory { process.currentDirectoryURL = directory }
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = pipe
  try process.run()
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
