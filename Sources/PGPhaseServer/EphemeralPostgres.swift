import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A throwaway PostgreSQL: initdb and pg_ctl in a temporary folder, reachable only through a Unix
/// socket there (no TCP), trust authentication, run as `postgres` (via runuser) when we are root
/// because initdb refuses root. `stop()` stops it and removes the folder; it is safe to call
/// twice and from a signal handler's thread.
///
/// The one launcher of the project: `scripts/with-pg` (through `pgphase-server`), the tests and
/// `pgphase try` all start their servers here, with the same settings.
public final class EphemeralPostgres: @unchecked Sendable {
  // Safety: `stopped` and `started` are only read and written while holding `lock`, which
  // `stop()` holds throughout; everything else is immutable.

  /// What the server is started with. The defaults suit tests and rehearsals: durability off
  /// (nothing in it is worth keeping), room for many concurrent runners.
  public struct Options: Sendable, Equatable {
    /// The major version to start; nil takes the system default (see `PostgresInstallation.find`).
    public var major: Int?
    /// The port number in the socket's name (`.s.PGSQL.<port>`); no TCP port is opened.
    public var port: Int = 5432
    /// Roles that must log in with a password (scram-sha-256); every other role is trusted.
    public var passwordRoles: [String] = []
    /// Server settings (`-c name=value`), on top of `EphemeralPostgres.defaultSettings`.
    public var settings: [String: String] = [:]
    /// The temporary folder's name prefix, under /tmp: `pgphase-pg` (scripts/with-pg),
    /// `pgphase-try`, `pgphase-trace`, so a folder says who made it.
    public var folderPrefix = "pgphase-pg"

    public init(major: Int? = nil, port: Int = 5432, passwordRoles: [String] = [], settings: [String: String] = [:]) {
      self.major = major
      self.port = port
      self.passwordRoles = passwordRoles
      self.settings = settings
    }
  }

  /// Settings every throwaway server gets.
  public static let defaultSettings: [String: String] = [
    "listen_addresses": "", "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
    "max_connections": "200", "shared_buffers": "256MB", "max_wal_size": "4GB",
  ]

  /// The temporary folder: `data/`, the socket, `server.log`.
  public let directory: String
  /// The folder holding initdb, pg_ctl and postgres.
  public let binDirectory: String
  /// The role initdb made the superuser, and the one to connect as.
  public let user: String
  /// The server's version, e.g. `15.20`.
  public let version: String
  public let options: Options
  private let runAs: [String]
  private let lock = NSLock()
  private var stopped = false

  /// The major version: `18` for `18.6`.
  public var major: Int { Int(version.prefix { $0.isNumber }) ?? 0 }

  public var port: Int { options.port }

  /// A libpq key/value connection string for the `postgres` database.
  public var dsn: String { dsn(database: "postgres") }

  /// A libpq key/value connection string for `database`.
  public func dsn(database: String) -> String {
    "host='\(directory)' port=\(port) user='\(user)' dbname='\(database)'"
  }

  /// libpq's environment variables for this server, for a child process: PGHOST, PGPORT, PGUSER
  /// and PGDATABASE.
  public var environment: [String: String] {
    ["PGHOST": directory, "PGPORT": String(port), "PGUSER": user, "PGDATABASE": "postgres"]
  }

  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  private init(directory: String, installation: PostgresInstallation, user: String, runAs: [String], options: Options) {
    self.directory = directory
    self.binDirectory = installation.binDirectory
    self.version = installation.version
    self.user = user
    self.runAs = runAs
    self.options = options
  }

  /// Finds the server binaries and makes the temporary folder (owned by `postgres` when we are
  /// root); `start()` fills it.
  public static func create(_ options: Options = Options()) throws -> EphemeralPostgres {
    let installation: PostgresInstallation
    do {
      installation = try PostgresInstallation.find(major: options.major)
    } catch {
      throw Failure(description: "\(error)")
    }
    var template = Array("/tmp/\(options.folderPrefix).XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw Failure(description: "cannot create a temporary folder in /tmp") }
    let directory = String(cString: made)
    chmod(directory, 0o755)
    var runAs: [String] = []
    var user = ProcessInfo.processInfo.userName
    if getuid() == 0 {
      guard let pw = getpwnam("postgres") else {
        try? FileManager.default.removeItem(atPath: directory)
        throw Failure(description: "running as root, and there is no `postgres` user to run initdb as")
      }
      chown(directory, pw.pointee.pw_uid, pw.pointee.pw_gid)
      runAs = ["/usr/sbin/runuser", "-u", "postgres", "--"]
      if !FileManager.default.isExecutableFile(atPath: runAs[0]) { runAs[0] = "runuser" }
      user = "postgres"
    }
    return EphemeralPostgres(directory: directory, installation: installation, user: user, runAs: runAs, options: options)
  }

  /// initdb, the authentication rules, then pg_ctl start (waiting until the server accepts
  /// connections).
  public func start() throws {
    let data = "\(directory)/data"
    try run(
      ["\(binDirectory)/initdb", "-D", data, "-U", user, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"], what: "initdb")
    if !options.passwordRoles.isEmpty {
      // pg_hba.conf is first-match: the password rules go first.
      let hba = "\(data)/pg_hba.conf"
      let rules = options.passwordRoles.map { "local all \($0) scram-sha-256\n" }.joined()
      let existing = (try? String(contentsOfFile: hba, encoding: .utf8)) ?? ""
      let staged = "\(directory)/pg_hba.conf.new"
      try (rules + existing).write(toFile: staged, atomically: true, encoding: .utf8)
      try run(["/bin/cp", staged, hba], what: "writing pg_hba.conf")
    }
    try startPostmaster(data: data, port: port, settings: options.settings, log: "\(directory)/server.log")
  }

  /// pg_ctl start on the data directory `data` (this server's, or another made with these
  /// binaries, such as a standby's base backup), waiting until it accepts connections: its socket
  /// in `directory` named for `port`, `defaultSettings` overridden by `settings`, its log in `log`.
  public func startPostmaster(data: String, port: Int, settings: [String: String], log: String) throws {
    let settings = Self.defaultSettings.merging(settings) { _, mine in mine }
    let flags =
      ["-k \(directory)", "-p \(port)"]
      + settings.keys.sorted().map { key in
        let value = settings[key]!
        return "-c \(key)=\(value.isEmpty || value.contains(" ") ? "'\(value)'" : value)"
      }
    try run(
      ["\(binDirectory)/pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o", flags.joined(separator: " "), "start"],
      what: "pg_ctl start", log: log)
  }

  /// Stops the postmaster of `data` at once (`-m immediate`), if one runs there.
  public func stopPostmaster(data: String) {
    guard FileManager.default.fileExists(atPath: "\(data)/postmaster.pid") else { return }
    try? run(["\(binDirectory)/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"], what: "pg_ctl stop")
  }

  /// Stops the server at once and removes its folder. A second caller (the main thread after a
  /// signal handler began) waits until the first one is done.
  public func stop() {
    lock.lock()
    defer { lock.unlock() }
    guard !stopped else { return }
    stopped = true
    stopPostmaster(data: "\(directory)/data")
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// Runs a server tool (`initdb`, `pg_ctl`, `pg_basebackup`, ...) as the server's user, to
  /// completion, its output into a file shown on failure (with `log`'s content appended).
  public func run(_ command: [String], what: String, log: String? = nil) throws {
    let outPath = "\(directory)/\(UUID().uuidString).out"
    defer { try? FileManager.default.removeItem(atPath: outPath) }
    let code: Int32
    do {
      code = try Spawn.run(runAs + command, output: outPath)
    } catch {
      throw Failure(description: "\(what): \(error)")
    }
    guard code == 0 else {
      var text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
      if let log, let more = FileManager.default.contents(atPath: log) { text += String(decoding: more, as: UTF8.self) }
      throw Failure(description: "\(what) failed (exit \(code)):\n\(text)")
    }
  }
}
