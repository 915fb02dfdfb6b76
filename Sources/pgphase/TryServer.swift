import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A throwaway PostgreSQL for `pgphase try`: initdb and pg_ctl in a temporary folder, reachable
/// only through a Unix socket there, run as `postgres` (via runuser) when we are root because
/// initdb refuses root. `stop()` stops it and removes the folder; it is safe to call twice.
final class EphemeralPostgres: @unchecked Sendable {
  // Safety: `stopped` is only read and written while holding `lock`, which `stop()` holds throughout.
  let directory: String
  let binDirectory: String
  let user: String
  let version: String
  private let runAs: [String]
  private let lock = NSLock()
  private var stopped = false

  /// A libpq key/value connection string for the `postgres` database.
  var dsn: String { "host='\(directory)' port=5432 user='\(user)' dbname=postgres" }

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  private init(directory: String, binDirectory: String, user: String, runAs: [String], version: String) {
    self.directory = directory
    self.binDirectory = binDirectory
    self.user = user
    self.runAs = runAs
    self.version = version
  }

  /// The folder holding initdb, pg_ctl and postgres: `pg_config --bindir`, else the newest
  /// `/usr/lib/postgresql/*/bin` (Debian and Ubuntu), as scripts/with-pg finds them.
  static func findBinaries() -> String? {
    let fm = FileManager.default
    if let out = try? capture(["/bin/sh", "-c", "pg_config --bindir 2>/dev/null"]) {
      let dir = out.trimmingCharacters(in: .whitespacesAndNewlines)
      if !dir.isEmpty, fm.isExecutableFile(atPath: "\(dir)/initdb") { return dir }
    }
    let versions = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
      .sorted { a, b in
        let x = a.split(separator: ".").compactMap { Int($0) }
        let y = b.split(separator: ".").compactMap { Int($0) }
        return x.lexicographicallyPrecedes(y)
      }
    for version in versions.reversed() where fm.isExecutableFile(atPath: "/usr/lib/postgresql/\(version)/bin/initdb") {
      return "/usr/lib/postgresql/\(version)/bin"
    }
    return nil
  }

  /// Makes the temporary folder (owned by `postgres` when we are root); `start()` fills it.
  static func create() throws -> EphemeralPostgres {
    guard let bin = findBinaries() else {
      throw Failure(description: "no PostgreSQL server binaries found (install postgresql; initdb must be on pg_config --bindir)")
    }
    var template = Array("/tmp/pgphase-try.XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw Failure(description: "cannot create a temporary folder") }
    let dir = String(cString: made)
    chmod(dir, 0o755)
    var runAs: [String] = []
    var user = ProcessInfo.processInfo.userName
    if getuid() == 0 {
      guard let pw = getpwnam("postgres") else {
        try? FileManager.default.removeItem(atPath: dir)
        throw Failure(description: "running as root, and there is no `postgres` user to run initdb as")
      }
      chown(dir, pw.pointee.pw_uid, pw.pointee.pw_gid)
      runAs = ["/usr/sbin/runuser", "-u", "postgres", "--"]
      if !FileManager.default.isExecutableFile(atPath: runAs[0]) { runAs[0] = "runuser" }
      user = "postgres"
    }
    let version = (try? capture(["\(bin)/postgres", "--version"])).flatMap(serverVersion(fromVersionOutput:))
    return EphemeralPostgres(directory: dir, binDirectory: bin, user: user, runAs: runAs, version: version ?? "?")
  }

  /// initdb, then pg_ctl start (waiting until the server accepts connections).
  func start() throws {
    let bin = binDirectory
    let dir = directory
    try run(
      ["\(bin)/initdb", "-D", "\(dir)/data", "-U", user, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
      what: "initdb")
    try run(
      [
        "\(bin)/pg_ctl", "-D", "\(dir)/data", "-l", "\(dir)/server.log", "-w", "-t", "60", "-o",
        "-k \(dir) -c listen_addresses= -p 5432 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        "start",
      ], what: "pg_ctl start", log: "\(dir)/server.log")
  }

  /// Runs a server tool to completion with posix_spawn and waitpid, output to a file. Not
  /// Foundation's Process: its wait did not return after `pg_ctl start` (whose server outlives it).
  private func run(_ command: [String], what: String, log: String? = nil) throws {
    let full = runAs + command
    let outPath = "\(directory)/\(UUID().uuidString).out"
    defer { try? FileManager.default.removeItem(atPath: outPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv: [UnsafeMutablePointer<CChar>?] = full.map { strdup($0) } + [nil]
    defer { for arg in argv { free(arg) } }
    var pid: pid_t = 0
    let spawned = posix_spawnp(&pid, full[0], &actions, nil, argv, environ)
    guard spawned == 0 else {
      throw Failure(description: "\(what): cannot run \(full[0]): \(String(cString: strerror(spawned)))")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    let exited = (status & 0x7f) == 0
    let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    guard code == 0 else {
      var text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
      if let log, let more = FileManager.default.contents(atPath: log) { text += String(decoding: more, as: UTF8.self) }
      throw Failure(description: "\(what) failed (exit \(code)):\n\(text)")
    }
  }

  /// Stops the server at once (nothing in it is worth keeping) and removes its folder. A second
  /// caller (the main thread after a signal handler began) waits until the first one is done.
  func stop() {
    lock.lock()
    defer { lock.unlock() }
    guard !stopped else { return }
    stopped = true
    try? run(["\(binDirectory)/pg_ctl", "-D", "\(directory)/data", "-m", "immediate", "-w", "stop"], what: "pg_ctl stop")
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// The version number in `postgres --version` output: `postgres (PostgreSQL) 15.20 (Debian
  /// 15.20-0+deb12u1)` gives `15.20`, `postgres (PostgreSQL) 18.6` gives `18.6`. Distributions
  /// append their own package version in parentheses, so the word after `(PostgreSQL)` is taken,
  /// not the last one.
  static func serverVersion(fromVersionOutput text: String) -> String? {
    let words = text.split(whereSeparator: \.isWhitespace)
    guard let i = words.firstIndex(of: "(PostgreSQL)"), i + 1 < words.count else { return nil }
    return String(words[i + 1])
  }

  private static func capture(_ command: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: command[0])
    process.arguments = Array(command.dropFirst())
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
  }
}
