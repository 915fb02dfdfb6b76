import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A PgBouncer of this test's own on loopback, in front of the test server's Unix socket.
final class PgBouncer {
  let dir: URL
  let port: Int
  let mode: String
  private let pidFile: URL
  private let process = Process()

  /// Starts PgBouncer in `mode` (`session` or `transaction`); fails when it is not installed
  /// (dependencies/apt.txt declares it).
  init(mode: String) throws {
    let env = ProcessInfo.processInfo.environment
    guard let binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].first(where: FileManager.default.isExecutableFile)
    else { throw SetupError(what: "pgbouncer is not installed (apt-get install pgbouncer; see dependencies/apt.txt)") }
    self.mode = mode
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgphase-pgbouncer-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    pidFile = dir.appendingPathComponent("pgbouncer.pid")
    port = try freeLoopbackPort()
    let user = env["PGUSER"] ?? "postgres"
    let ini = """
      [databases]
      * = host=\(env["PGHOST"] ?? "/tmp") port=\(env["PGPORT"] ?? "5432")
      [pgbouncer]
      listen_addr = 127.0.0.1
      listen_port = \(port)
      unix_socket_dir =
      auth_type = trust
      auth_file = \(dir.path)/users.txt
      pool_mode = \(mode)
      default_pool_size = 20
      max_client_conn = 100
      logfile = \(dir.path)/pgbouncer.log
      pidfile = \(pidFile.path)

      """
    try ini.write(to: dir.appendingPathComponent("pgbouncer.ini"), atomically: true, encoding: .utf8)
    try "\"\(user)\" \"\"\n".write(to: dir.appendingPathComponent("users.txt"), atomically: true, encoding: .utf8)
    // PgBouncer refuses to run as root: as the server's own user then, like scripts/with-pg. In
    // the foreground, as this test's child (a daemon would keep the output pipe open).
    var command = [binary, dir.appendingPathComponent("pgbouncer.ini").path]
    if getuid() == 0 {
      _ = try runTool(["/bin/chown", "-R", user, dir.path])
      command = ["/usr/sbin/runuser", "-u", user, "--"] + command
    }
    process.executableURL = URL(fileURLWithPath: command[0])
    process.arguments = Array(command.dropFirst())
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(10)
    while (try? Connection.connect(dsn: conninfo(database: "postgres"), applicationName: "probe")) == nil {
      if Date() > deadline || !process.isRunning {
        stop()
        throw SetupError(what: "pgbouncer did not accept connections: \(log)")
      }
      Thread.sleep(forTimeInterval: 0.05)
    }
  }

  var log: String { (try? String(contentsOf: dir.appendingPathComponent("pgbouncer.log"), encoding: .utf8)) ?? "" }

  /// A connection string reaching `database` through this PgBouncer.
  func conninfo(database: String) -> String {
    let user = ProcessInfo.processInfo.environment["PGUSER"] ?? "postgres"
    return "host=127.0.0.1 port=\(port) user=\(quoteConninfoValue(user)) dbname=\(quoteConninfoValue(database))"
  }

  /// Stops this PgBouncer (by the pid it wrote, then its runuser parent) and removes its folder.
  func stop() {
    if let text = try? String(contentsOf: pidFile, encoding: .utf8),
      let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    {
      kill(pid, SIGTERM)
    }
    if process.isRunning { process.terminate() }
    let deadline = Date().addingTimeInterval(5)
    while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    try? FileManager.default.removeItem(at: dir)
  }

  struct SetupError: Error, CustomStringConvertible {
    var what: String
    var description: String { what }
  }
}

/// A TCP port on 127.0.0.1 that nothing listens on now (the kernel picks it).
func freeLoopbackPort() throws -> Int {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  defer { close(fd) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  address.sin_port = 0
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  let bound = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
  }
  guard bound else { throw PgBouncer.SetupError(what: "no free loopback port") }
  return Int(UInt16(bigEndian: address.sin_port))
}

/// Runs a tool to its end; its status and merged output. The output goes through a file, not a
/// pipe: a server that `pg_ctl start` leaves running would keep a pipe open for ever.
func runTool(_ command: [String]) throws -> (status: Int32, output: String) {
  let file = FileManager.default.temporaryDirectory.appendingPathComponent("pgphase-tool-\(UUID().uuidString)")
  FileManager.default.createFile(atPath: file.path, contents: nil)
  defer { try? FileManager.default.removeItem(at: file) }
  let handle = try FileHandle(forWritingTo: file)
  defer { try? handle.close() }
  let process = Process()
  process.executableURL = URL(fileURLWithPath: command[0])
  process.arguments = Array(command.dropFirst())
  process.standardInput = FileHandle.nullDevice
  process.standardOutput = handle
  process.standardError = handle
  try process.run()
  process.waitUntilExit()
  return (process.terminationStatus, (try? String(contentsOf: file, encoding: .utf8)) ?? "")
}

/// pgphase behind a real PgBouncer: transaction pooling is refused before the runner lock (exit
/// 3, the mode named); session pooling runs every example through contract.
@Suite(.serialized) struct PoolerTests {
  func withBouncer<T>(_ mode: String, _ body: (PgBouncer) throws -> T) throws -> T {
    let bouncer = try PgBouncer(mode: mode)
    defer { bouncer.stop() }
    return try body(bouncer)
  }

  @Test(.enabled(if: TestServer.shouldRun))
  func aDirectConnectionIsDirect() throws {
    try withTestDatabase { db in
      let other = try db.connect()
      #expect(try PoolerGuard.probe(db.connection, other) == .direct)
      other.close()
    }
  }

  @Test(.enabled(if: TestServer.shouldRun))
  func transactionModeIsRefusedWithExitThreeBeforeAnythingRuns() throws {
    _ = try pgphaseBinary()
    try withTestDatabase { db in
      try seedForCrashTests(db.connection)
      try withBouncer("transaction") { bouncer in
        let dsn = bouncer.conninfo(database: db.name)
        let a = try Connection.connect(dsn: dsn, applicationName: "a")
        let b = try Connection.connect(dsn: dsn, applicationName: "b")
        guard case .transactionPooler = try PoolerGuard.probe(a, b) else {
          Issue.record("a transaction pool was not detected")
          return
        }
        a.close()
        b.close()
        let commands = [
          ["advance", "--to", "contract", plansDir], ["apply", "--phase", "expand", plansDir],
          ["rollback", "--intent", "20261120_incident_severity", plansDir], ["repair"],
        ]
        for command in commands {
          let r = try runPGPhase(command + ["--dsn", dsn])
          #expect(r.status == 3, "\(command): \(r.stdout)\n\(r.stderr)")
          #expect(r.stderr.contains("pooler in transaction mode") && r.stderr.contains("pool_mode = transaction"), "\(r.stderr)")
        }
        #expect(try db.connection.execute("SELECT to_regnamespace('pgphase') IS NULL").scalarBool() == true, "nothing written")
        let advisory = try db.connection.execute(
          "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).scalarInt()
        #expect(advisory == 0, "no runner lock was left on a pooled server connection")
      }
    }
  }

  @Test(.enabled(if: TestServer.shouldRun))
  func sessionModeRunsEveryExampleThroughContract() throws {
    _ = try pgphaseBinary()
    try withTestDatabase { db in
      try seedForCrashTests(db.connection)
      try withBouncer("session") { bouncer in
        let dsn = bouncer.conninfo(database: db.name)
        let r = try runPGPhase(["advance", "--to", "contract", "--dsn", dsn, plansDir])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("in session mode"), "\(r.stderr)")
        let notDone = try db.connection.execute("SELECT count(*) FROM pgphase.steps WHERE state <> 'done'").scalarInt()
        #expect(notDone == 0)
        let plans = try LoadedPlan.loadAll(from: plansDir)
        let steps = try db.connection.execute("SELECT count(*) FROM pgphase.steps").scalarInt()
        #expect(steps == plans.reduce(0) { $0 + $1.plan.allSteps.count })
        let again = try runPGPhase(["advance", "--to", "contract", "--dsn", dsn, plansDir])
        #expect(again.status == 0 && again.stdout.contains("nothing to do"), "\(again.stdout)\n\(again.stderr)")
      }
    }
  }

  /// --allow-pooler through a transaction pool: transactional steps run, each under the runner
  /// lock taken for its transaction; a step that needs a session is refused before anything runs.
  @Test(.enabled(if: TestServer.shouldRun))
  func allowPoolerRunsTransactionalStepsOnly() throws {
    _ = try pgphaseBinary()
    try withTestDatabase { db in
      try db.connection.execute("CREATE TABLE t (id int PRIMARY KEY, x int)")
      let t = QualifiedName(schema: "public", "t")
      let ddl = try testPlan(
        "t_pooled",
        [
          sqlStep("expand/01-add", ["ALTER TABLE t ADD COLUMN y int"], locks: [LockedRelation(t, .accessExclusive)]),
          sqlStep("expand/02-add", ["ALTER TABLE t ADD COLUMN z int"], locks: [LockedRelation(t, .accessExclusive)]),
        ])
      let index = try testPlan("t_pooled_index", [indexStep(name: "t_x_idx", columns: "x")])
      let ddlDir = try writePlans([ddl])
      let indexDir = try writePlans([index])
      defer {
        try? FileManager.default.removeItem(at: ddlDir)
        try? FileManager.default.removeItem(at: indexDir)
      }
      try withBouncer("transaction") { bouncer in
        let dsn = bouncer.conninfo(database: db.name)
        let r = try runPGPhase(["apply", "--phase", "expand", "--allow-pooler", "--dsn", dsn, ddlDir.path])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("--allow-pooler"), "\(r.stderr)")
        #expect(try Catalog(db.connection).column("z", of: t) != nil)
        let refused = try runPGPhase(["apply", "--phase", "expand", "--allow-pooler", "--dsn", dsn, indexDir.path])
        #expect(refused.status == 3, "\(refused.stdout)\n\(refused.stderr)")
        #expect(refused.stderr.contains("t_pooled_index expand/01-index needs a session"), "\(refused.stderr)")
        #expect(try Catalog(db.connection).indexState(name: QualifiedName(schema: "public", "t_x_idx")) == nil)
        let repair = try runPGPhase(["repair", "--allow-pooler", "--dsn", dsn])
        #expect(repair.status == 3 && repair.stderr.contains("repair needs a session"), "\(repair.stderr)")
      }
      let advisory = try db.connection.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
      ).scalarInt()
      #expect(advisory == 0, "no session lock was taken")
    }
  }
}
