import Foundation
public import PGPhasePostgres

/// Whether tests can reach a PostgreSQL server, and what to do when they cannot.
///
/// Policy: `scripts/with-pg` sets `PGPHASE_TEST_SERVER=1` and `PGHOST`. Without them a test that
/// needs the server is skipped on a developer machine, but under `CI=true` it runs and FAILS
/// (never silently skips), because `TestDatabase.create()` throws `TestServerError.unavailable`.
/// Mark such tests `@Test(.enabled(if: TestServer.shouldRun))`.
public enum TestServer {
  public static let unavailableMessage = "no PostgreSQL test server: run tests through scripts/with-pg"

  /// A server was started for this run (`scripts/with-pg`).
  public static var isAvailable: Bool {
    let env = ProcessInfo.processInfo.environment
    return env["PGPHASE_TEST_SERVER"] == "1" && !(env["PGHOST"] ?? "").isEmpty
  }

  /// Running under CI, where a missing server is a failure, not a skip.
  public static var mustRun: Bool {
    ProcessInfo.processInfo.environment["CI"]?.lowercased() == "true"
  }

  /// Whether a server test should run (and then fail if the server is missing).
  public static var shouldRun: Bool { isAvailable || mustRun }

  /// Throws `TestServerError.unavailable` unless a server is there.
  public static func require() throws {
    guard isAvailable else { throw TestServerError.unavailable }
  }

  /// The test server's `server_version_num` (`150020` for 15.20, `180006` for 18.6), asked once;
  /// 0 when there is no server. Version-specific expectations branch on this, never on which
  /// binaries started the server.
  public static let versionNumber: Int = {
    guard isAvailable, let c = try? connectAdmin() else { return 0 }
    defer { c.close() }
    return c.serverVersionNumber
  }()

  /// The test server's major version (15, 17, 18); 0 when there is no server.
  public static var major: Int { versionNumber / 10000 }

  /// A libpq key/value string for the server's maintenance database, or for `database`.
  public static func conninfo(database: String? = nil) -> String {
    let env = ProcessInfo.processInfo.environment
    var parts: [String] = []
    for (key, variable) in [("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER")] {
      if let value = env[variable], !value.isEmpty { parts.append("\(key)=\(quoteConninfoValue(value))") }
    }
    let db = database ?? env["PGDATABASE"] ?? "postgres"
    parts.append("dbname=\(quoteConninfoValue(db))")
    return parts.joined(separator: " ")
  }

  /// A connection to the maintenance database.
  public static func connectAdmin(applicationName: String = "pgphase-tests") throws -> Connection {
    try require()
    return try Connection.connect(dsn: conninfo(), applicationName: applicationName)
  }
}

public enum TestServerError: Error, CustomStringConvertible {
  case unavailable
  public var description: String { TestServer.unavailableMessage }
}

/// Quotes a value for a libpq key/value connection string.
public func quoteConninfoValue(_ value: String) -> String {
  "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
}

/// A fresh database for one test, dropped by `drop()` (or at the end of `withTestDatabase`).
public final class TestDatabase {
  /// `pgphase_test_<random>`.
  public let name: String
  /// A connection to it, opened by `create()`.
  public let connection: Connection
  /// A libpq key/value string reaching it, for more connections or child processes.
  public let conninfo: String
  private var dropped = false

  private init(name: String, connection: Connection, conninfo: String) {
    self.name = name
    self.connection = connection
    self.conninfo = conninfo
  }

  /// Creates a uniquely named database (a copy of `template` when given: cheap, a file copy)
  /// and connects to it.
  /// - Throws: `TestServerError.unavailable` when no server is there (so CI fails loudly).
  public static func create(template: String? = nil, applicationName: String = "pgphase-tests") throws -> TestDatabase {
    try TestServer.require()
    let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
    let name = "pgphase_test_\(suffix)"
    let admin = try TestServer.connectAdmin()
    defer { admin.close() }
    try admin.executeAlone("CREATE DATABASE \(name)" + (template.map { " TEMPLATE \($0)" } ?? ""))
    let conninfo = TestServer.conninfo(database: name)
    let connection = try Connection.connect(dsn: conninfo, applicationName: applicationName)
    return TestDatabase(name: name, connection: connection, conninfo: conninfo)
  }

  /// Another connection to this database.
  public func connect(applicationName: String = "pgphase-tests") throws -> Connection {
    try Connection.connect(dsn: conninfo, applicationName: applicationName)
  }

  /// Closes `connection`, so the database can serve as a template (no session may be in it).
  public func disconnect() {
    connection.close()
  }

  /// Closes `connection` and drops the database, ending any other session still in it.
  public func drop() throws {
    guard !dropped else { return }
    dropped = true
    connection.close()
    let admin = try TestServer.connectAdmin()
    defer { admin.close() }
    try admin.executeAlone("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
  }
}

/// Runs `body` with a fresh database and drops it afterwards, whether `body` throws or not.
@discardableResult
public func withTestDatabase<T>(template: String? = nil, _ body: (TestDatabase) throws -> T) throws -> T {
  let database = try TestDatabase.create(template: template)
  do {
    let value = try body(database)
    try database.drop()
    return value
  } catch {
    try? database.drop()
    throw error
  }
}

/// Async variant of `withTestDatabase`.
@discardableResult
public func withTestDatabaseAsync<T>(_ body: (TestDatabase) async throws -> T) async throws -> T {
  let database = try TestDatabase.create()
  do {
    let value = try await body(database)
    try database.drop()
    return value
  } catch {
    try? database.drop()
    throw error
  }
}
