public import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One installed PostgreSQL server: the folder holding `initdb`, `pg_ctl` and `postgres`, and the
/// version `postgres --version` reports.
public struct PostgresInstallation: Sendable, Equatable {
  /// The folder holding the server binaries.
  public var binDirectory: String
  /// The version as the server reports it, e.g. `15.20` or `18.6`.
  public var version: String
  /// The major version: `15` for `15.20`.
  public var major: Int { Int(version.prefix { $0.isNumber }) ?? 0 }

  public init(binDirectory: String, version: String) {
    self.binDirectory = binDirectory
    self.version = version
  }

  /// Why no server could be found, with what was looked at.
  public struct NotFound: Error, CustomStringConvertible {
    public var major: Int?
    public var looked: [String]
    public var found: [PostgresInstallation]
    public var description: String {
      let wanted = major.map { "PostgreSQL \($0)" } ?? "a PostgreSQL server"
      var text = "\(wanted) is not installed (looked in \(looked.joined(separator: ", ")))"
      if !found.isEmpty {
        text += "; installed: " + found.map { "\($0.version) (\($0.binDirectory))" }.joined(separator: ", ")
      }
      if let major, major != 15 {
        text += "; scripts/bootstrap installs 17 and 18 into .pgphase-servers/ (dependencies/postgres.txt)"
      } else {
        text += "; install Debian's postgresql package"
      }
      return text
    }
  }

  /// The server of major version `major`, or with none given the system's default (the one
  /// `pg_config --bindir` names, else the newest `/usr/lib/postgresql/*/bin`).
  ///
  /// Where servers are looked for, in order: the project-local folder of PyPI wheels
  /// (`.pgphase-servers/<major>/<package>/pginstall/bin`, installed by `scripts/bootstrap`; found
  /// through `PGPHASE_SERVERS`, else in the current folder or any parent, else beside this
  /// executable's checkout), Debian's `/usr/lib/postgresql/<major>/bin`, and `pg_config --bindir`.
  /// A candidate counts only when its `postgres --version` says the major asked for, so a
  /// mislabelled folder is never used.
  public static func find(major: Int? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws
    -> PostgresInstallation
  {
    let candidates = candidateDirectories(environment: environment)
    var found: [PostgresInstallation] = []
    for directory in candidates {
      guard let installation = inspect(directory), !found.contains(installation) else { continue }
      found.append(installation)
    }
    if let major {
      if let match = found.first(where: { $0.major == major }) { return match }
    } else {
      if let configured = pgConfigDirectory(), let match = found.first(where: { $0.binDirectory == configured }) {
        return match
      }
      let debian = found.filter { $0.binDirectory.hasPrefix("/usr/lib/postgresql/") }
      if let newest = debian.max(by: { $0.major < $1.major }) { return newest }
      if let any = found.first { return any }
    }
    throw NotFound(major: major, looked: lookedIn(environment: environment), found: found)
  }

  /// Every server this machine has, by major version (newest major first, one per major).
  public static func all(environment: [String: String] = ProcessInfo.processInfo.environment) -> [PostgresInstallation] {
    var byMajor: [Int: PostgresInstallation] = [:]
    for directory in candidateDirectories(environment: environment) {
      guard let installation = inspect(directory), byMajor[installation.major] == nil else { continue }
      byMajor[installation.major] = installation
    }
    return byMajor.values.sorted { $0.major > $1.major }
  }

  /// The version in `postgres --version` output: `postgres (PostgreSQL) 15.20 (Debian
  /// 15.20-0+deb12u1)` gives `15.20`, `postgres (PostgreSQL) 18.6` gives `18.6`. Distributions
  /// append their own package version in parentheses, so the word after `(PostgreSQL)` is taken,
  /// not the last one.
  public static func serverVersion(fromVersionOutput text: String) -> String? {
    let words = text.split(whereSeparator: \.isWhitespace)
    guard let i = words.firstIndex(of: "(PostgreSQL)"), i + 1 < words.count else { return nil }
    return String(words[i + 1])
  }

  /// The project-local folder of wheel-installed servers, when there is one.
  public static func serversFolder(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
    let fm = FileManager.default
    if let explicit = environment["PGPHASE_SERVERS"], !explicit.isEmpty { return explicit }
    var starts = [fm.currentDirectoryPath]
    starts.append(URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path)
    for start in starts {
      var folder = URL(fileURLWithPath: start).standardizedFileURL
      while true {
        let candidate = folder.appendingPathComponent(".pgphase-servers").path
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue { return candidate }
        let parent = folder.deletingLastPathComponent()
        if parent.path == folder.path { break }
        folder = parent
      }
    }
    return nil
  }

  static func lookedIn(environment: [String: String]) -> [String] {
    [serversFolder(environment: environment).map { "\($0)/<major>/*/pginstall/bin" } ?? ".pgphase-servers (none found)"]
      + ["/usr/lib/postgresql/*/bin", "pg_config --bindir"]
  }

  static func candidateDirectories(environment: [String: String]) -> [String] {
    let fm = FileManager.default
    var directories: [String] = []
    if let servers = serversFolder(environment: environment) {
      for major in ((try? fm.contentsOfDirectory(atPath: servers)) ?? []).sorted() {
        for package in ((try? fm.contentsOfDirectory(atPath: "\(servers)/\(major)")) ?? []).sorted() {
          directories.append("\(servers)/\(major)/\(package)/pginstall/bin")
        }
      }
    }
    let debian = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).sorted {
      (Int($0) ?? 0) > (Int($1) ?? 0)
    }
    directories += debian.map { "/usr/lib/postgresql/\($0)/bin" }
    if let configured = pgConfigDirectory() { directories.append(configured) }
    return directories
  }

  static func pgConfigDirectory() -> String? {
    guard let out = try? capture(["/bin/sh", "-c", "pg_config --bindir 2>/dev/null"]) else { return nil }
    let directory = out.trimmingCharacters(in: .whitespacesAndNewlines)
    return directory.isEmpty ? nil : directory
  }

  /// The installation in `directory`, when it has initdb, pg_ctl and a postgres that answers.
  static func inspect(_ directory: String) -> PostgresInstallation? {
    let fm = FileManager.default
    guard ["initdb", "pg_ctl", "postgres"].allSatisfy({ fm.isExecutableFile(atPath: "\(directory)/\($0)") }),
      let out = try? capture(["\(directory)/postgres", "--version"]), let version = serverVersion(fromVersionOutput: out)
    else { return nil }
    return PostgresInstallation(binDirectory: directory, version: version)
  }

  static func capture(_ command: [String]) throws -> String {
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
