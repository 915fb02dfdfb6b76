import Foundation
import PGPhasePostgres
import PGPhaseServer
import PGPhaseTestSupport
import Testing

@Suite struct ServerVersionParsingTests {
  @Test func distributionSuffixIsNotTheVersion() {
    #expect(
      PostgresInstallation.serverVersion(fromVersionOutput: "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n")
        == "15.20")
    #expect(PostgresInstallation.serverVersion(fromVersionOutput: "postgres (PostgreSQL) 18.6\n") == "18.6")
    #expect(PostgresInstallation.serverVersion(fromVersionOutput: "something else") == nil)
    #expect(PostgresInstallation(binDirectory: "/x", version: "17.10").major == 17)
  }

  @Test func anUnknownMajorIsAClearError() {
    #expect {
      _ = try PostgresInstallation.find(major: 9)
    } throws: { error in
      "\(error)".hasPrefix("PostgreSQL 9 is not installed (looked in ")
    }
  }
}

/// The launcher scripts/with-pg, the tests and `pgphase try` share: every supported major this
/// machine has starts, answers with that major, has the settings every throwaway server gets,
/// asks the password roles for a password, and is gone after `stop()`.
@Suite(.serialized) struct LauncherTests {
  /// The supported majors; under CI every one must be installed (scripts/bootstrap installs them).
  static let supported = [15, 17, 18]

  @Test func everySupportedMajorIsInstalledUnderCI() {
    let installed = Set(PostgresInstallation.all().map(\.major))
    if TestServer.mustRun {
      #expect(Set(Self.supported).isSubset(of: installed), "installed: \(installed.sorted())")
    }
    #expect(!installed.isEmpty, "no PostgreSQL server found at all")
  }

  @Test(arguments: supported) func startsTheMajorAskedFor(major: Int) throws {
    guard PostgresInstallation.all().contains(where: { $0.major == major }) || TestServer.mustRun else { return }
    var options = EphemeralPostgres.Options(major: major, passwordRoles: ["pgphase_launcher_pw"])
    options.settings["application_name"] = "launcher-test"
    let server = try EphemeralPostgres.create(options)
    defer { server.stop() }
    try server.start()
    #expect(server.major == major)
    let c = try Connection.connect(dsn: server.dsn, applicationName: "pgphase-tests")
    defer { c.close() }
    #expect(c.serverVersionNumber / 10000 == major)
    #expect(try c.execute("SHOW max_connections").scalar == "200")
    #expect(try c.execute("SHOW fsync").scalar == "off")
    #expect(try c.execute("SHOW listen_addresses").scalar == "")
    #expect(try c.execute("SHOW port").scalar == "5432")
    try c.execute("CREATE ROLE pgphase_launcher_pw LOGIN PASSWORD 'right'")
    try c.execute("CREATE ROLE pgphase_launcher_trusted LOGIN")
    let trusted = try Connection.connect(
      dsn: "host='\(server.directory)' port=5432 user=pgphase_launcher_trusted dbname=postgres", applicationName: "t")
    trusted.close()
    #expect(throws: (any Error).self) {
      try Connection.connect(
        dsn: "host='\(server.directory)' port=5432 user=pgphase_launcher_pw dbname=postgres password=wrong",
        applicationName: "t")
    }
    let right = try Connection.connect(
      dsn: "host='\(server.directory)' port=5432 user=pgphase_launcher_pw dbname=postgres password=right", applicationName: "t")
    right.close()
    c.close()
    server.stop()
    #expect(!FileManager.default.fileExists(atPath: server.directory))
    server.stop()  // a second stop is harmless
  }
}
