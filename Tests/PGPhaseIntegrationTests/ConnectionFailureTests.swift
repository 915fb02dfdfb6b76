import Foundation
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// cli.md: exit 3 when the database cannot be reached, with a clear message and never a password.
@Suite("Connection failures", .serialized)
struct ConnectionFailureTests {
  let plans = repositoryRoot.appendingPathComponent("plans").path

  @Test(.enabled(if: TestServer.shouldRun))
  func missingDatabaseExits3() throws {
    try TestServer.require()
    let dsn = TestServer.conninfo(database: "pgphase_no_such_database")
    for arguments in [["apply", "--phase", "expand", "--dsn", dsn, plans], ["status", "--dsn", dsn, plans]] {
      let r = try runPGPhase(arguments)
      #expect(r.status == 3, "\(arguments[0]): \(r.stderr)")
      #expect(r.stderr.contains("database \"pgphase_no_such_database\" does not exist"), "\(r.stderr)")
    }
  }

  @Test func unreachableServerExits3() throws {
    let dsn = "host=/nonexistent/pgphase-socket-dir port=1 dbname=x connect_timeout=2"
    let r = try runPGPhase(["apply", "--phase", "expand", "--dsn", dsn, plans])
    #expect(r.status == 3, "\(r.stderr)")
    #expect(r.stderr.contains("/nonexistent/pgphase-socket-dir"), "\(r.stderr)")
    let wait = try runPGPhase(["wait-for-db", "--timeout", "1s", "--dsn", dsn])
    #expect(wait.status == 3, "\(wait.stderr)")
  }

  /// A role that needs a password (`scripts/with-pg` gives `pgphase_password_test`
  /// scram-sha-256): the wrong one exits 3, names the failure, and is printed nowhere, in the
  /// key/value form, the URI form and DATABASE_URL.
  @Test(.enabled(if: TestServer.shouldRun))
  func wrongPasswordExits3WithoutPrintingIt() throws {
    let admin = try TestServer.connectAdmin()
    defer { admin.close() }
    try admin.execute("DROP ROLE IF EXISTS pgphase_password_test")
    try admin.execute("CREATE ROLE pgphase_password_test LOGIN PASSWORD 'right-Secret-1'")
    defer { _ = try? admin.execute("DROP ROLE IF EXISTS pgphase_password_test") }
    let env = ProcessInfo.processInfo.environment
    let host = env["PGHOST"] ?? "/tmp"
    let port = env["PGPORT"] ?? "5432"
    let secret = "wr0ng-Secret-42"
    let keyValue = "host=\(host) port=\(port) dbname=postgres user=pgphase_password_test password=\(secret)"
    let encodedHost = host.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? host
    let uri = "postgresql://pgphase_password_test:\(secret)@/postgres?host=\(encodedHost)&port=\(port)"
    var runs: [(String, RunResult)] = []
    for dsn in [keyValue, uri] {
      runs.append((dsn, try runPGPhase(["apply", "--phase", "expand", "--dsn", dsn, plans])))
      runs.append((dsn, try runPGPhase(["status", "--dsn", dsn, plans])))
    }
    runs.append(("DATABASE_URL", try runPGPhase(["apply", "--phase", "expand", plans], environment: ["DATABASE_URL": uri])))
    for (dsn, r) in runs {
      #expect(r.status == 3, "\(dsn): \(r.stderr)")
      #expect(r.stderr.contains("password authentication failed for user \"pgphase_password_test\""), "\(r.stderr)")
      #expect(!r.stderr.contains(secret) && !r.stdout.contains(secret), "\(r.stderr)")
    }
    // The right password works (the role really is reachable), so the failure above was the password.
    let right = keyValue.replacingOccurrences(of: secret, with: "right-Secret-1")
    let ok = try Connection.connect(dsn: right, applicationName: "pgphase-tests")
    ok.close()
  }
}
