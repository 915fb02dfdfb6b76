import Foundation
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

@Suite(.enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct ConnectionTests {
  @Test func connectsWithPGEnvironmentWhenNoDSN() throws {
    try TestServer.require()
    let connection = try Connection.connect(dsn: nil, applicationName: "pgphase-tests", environment: [:])
    #expect(try connection.execute("SELECT 1 + 1").scalarInt() == 2)
    #expect(connection.backendPID > 0)
    #expect(connection.serverVersionNumber >= 120000)
    #expect(try connection.execute("SELECT current_database()").scalar == ProcessInfo.processInfo.environment["PGDATABASE"])
  }

  @Test func usesDatabaseURLWhenNoDSN() throws {
    try withTestDatabase { db in
      let connection = try Connection.connect(
        dsn: nil, applicationName: "pgphase-tests", environment: ["DATABASE_URL": db.conninfo])
      #expect(try connection.execute("SELECT current_database()").scalar == db.name)
    }
  }

  @Test func dsnWinsOverDatabaseURL() throws {
    try withTestDatabase { db in
      let connection = try Connection.connect(
        dsn: db.conninfo, applicationName: "pgphase-tests", environment: ["DATABASE_URL": "postgres://nobody@127.0.0.1:1/x"])
      #expect(try connection.execute("SELECT current_database()").scalar == db.name)
    }
  }

  @Test func acceptsURIs() throws {
    try withTestDatabase { db in
      let env = ProcessInfo.processInfo.environment
      let host = env["PGHOST"]!.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
      let uri = "postgresql://\(env["PGUSER"]!)@/\(db.name)?host=\(host)&port=\(env["PGPORT"]!)"
      let connection = try Connection.connect(dsn: uri, applicationName: "pgphase-tests")
      #expect(try connection.execute("SELECT current_database()").scalar == db.name)
    }
  }

  @Test func applicationNameIsVisibleInPgStatActivity() throws {
    try withTestDatabase { db in
      let connection = try Connection.connect(dsn: db.conninfo, applicationName: "pgphase apply myhost:1234")
      let seen = try db.connection.execute(
        "SELECT application_name FROM pg_stat_activity WHERE pid = $1::int", [String(connection.backendPID)])
      #expect(seen.scalar == "pgphase apply myhost:1234")
    }
  }

  @Test func applicationNameOverridesTheDSNs() throws {
    try withTestDatabase { db in
      let connection = try Connection.connect(
        dsn: db.conninfo + " application_name=fromdsn", applicationName: "pgphase status")
      #expect(try connection.execute("SHOW application_name").scalar == "pgphase status")
    }
  }

  @Test func parameterRoundTrip() throws {
    try withTestDatabase { db in
      let values: [String?] = [nil, "héllo wörld ✓ 🐘", "it's \"quoted\" \\ back", "", "line\nbreak"]
      let result = try db.connection.execute(
        "SELECT $1::text AS a, $2::text AS b, $3::text AS c, $4::text AS d, $5::text AS e", values)
      #expect(result.columns == ["a", "b", "c", "d", "e"])
      #expect(result.values == [values])
      let row = try #require(result.first)
      #expect(row["a"] == nil)
      #expect(row["b"] == "héllo wörld ✓ 🐘")
      #expect(row[2] == "it's \"quoted\" \\ back")
      #expect(result.commandTag == "SELECT 1")
      #expect(result.affectedRows == 1)
    }
  }

  @Test func typedAccessors() throws {
    try withTestDatabase { db in
      let row = try #require(
        try db.connection.execute("SELECT 42 AS n, true AS yes, false AS no, NULL::int AS nothing, 1.5::float8 AS f").first)
      #expect(try row.int("n") == 42)
      #expect(try row.bool("yes") == true)
      #expect(try row.bool("no") == false)
      #expect(try row.int("nothing") == nil)
      #expect(try row.double("f") == 1.5)
      #expect(throws: ValueError.self) { try row.bool("n") }
      #expect(try db.connection.execute("SELECT true").scalarBool() == true)
      #expect(try db.connection.execute("SELECT 1 WHERE false").scalar == nil)
    }
  }

  @Test func commandTagsAndAffectedRows() throws {
    try withTestDatabase { db in
      let c = db.connection
      #expect(try c.execute("CREATE TABLE t (id int PRIMARY KEY, v text)").commandTag == "CREATE TABLE")
      let insert = try c.execute("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 5) g")
      #expect(insert.commandTag == "INSERT 0 5")
      #expect(insert.affectedRows == 5)
      #expect(try c.execute("UPDATE t SET v = $1 WHERE id > $2::int", ["y", "2"]).affectedRows == 3)
      #expect(try c.execute("CREATE INDEX t_v ON t (v)").affectedRows == nil)
    }
  }

  @Test func divisionByZeroCarriesSQLState() throws {
    try withTestDatabase { db in
      let error = try #require(throws: PostgresError.self) { try db.connection.execute("SELECT 1/0") }
      #expect(error.sqlState == "22012")
      #expect(error.severity == "ERROR")
      #expect(error.message == "division by zero")
      #expect(error.statement == "SELECT 1/0")
      #expect(error.description.contains("22012"))
      #expect(error.description.contains("SELECT 1/0"))
      // The connection is still usable.
      #expect(try db.connection.execute("SELECT 1").scalarInt() == 1)
    }
  }

  @Test func syntaxErrorHasPosition() throws {
    try withTestDatabase { db in
      let error = try #require(throws: PostgresError.self) { try db.connection.execute("SELECT * FROMM t") }
      #expect(error.sqlState == "42601")
      #expect(error.position == 10)  // FROMM
      #expect(error.message.contains("syntax error"))
    }
  }

  @Test func uniqueViolationHasDetailAndConstraint() throws {
    try withTestDatabase { db in
      let c = db.connection
      try c.execute("CREATE TABLE u (email text CONSTRAINT u_email_key UNIQUE)")
      try c.execute("INSERT INTO u VALUES ($1)", ["a@example.com"])
      let error = try #require(throws: PostgresError.self) {
        try c.execute("INSERT INTO u VALUES ($1)", ["a@example.com"])
      }
      #expect(error.sqlState == "23505")
      #expect(error.detail == "Key (email)=(a@example.com) already exists.")
      #expect(error.constraint == "u_email_key")
      #expect(error.table == "u")
      #expect(error.schema == "public")
    }
  }

  @Test func parametersAreNeverPrintedInErrors() throws {
    try withTestDatabase { db in
      let error = try #require(throws: PostgresError.self) {
        try db.connection.execute("SELECT $1::int", ["top-secret-value"])
      }
      #expect(error.sqlState == "22P02")
      #expect(error.statement == "SELECT $1::int")
      // The server itself quotes the bad input in its message; the statement never carries values.
      #expect(!(error.statement ?? "").contains("top-secret-value"))
    }
  }

  @Test func hintIsCarried() throws {
    try withTestDatabase { db in
      let error = try #require(throws: PostgresError.self) {
        try db.connection.execute("SELECT nosuchfunction(1)")
      }
      #expect(error.sqlState == "42883")
      #expect(error.hint?.contains("No function matches") == true)
    }
  }

  @Test func executeAloneRunsCreateIndexConcurrently() throws {
    try withTestDatabase { db in
      let c = db.connection
      try c.execute("CREATE TABLE t (id int, v text)")
      let result = try c.executeAlone("CREATE INDEX CONCURRENTLY t_v ON t (v)")
      #expect(result.commandTag == "CREATE INDEX")
      #expect(try c.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v'::regclass").scalarBool() == true)
    }
  }

  @Test func createIndexConcurrentlyInATransactionFails25001() throws {
    try withTestDatabase { db in
      let c = db.connection
      try c.execute("CREATE TABLE t (id int, v text)")
      let error = try #require(throws: PostgresError.self) {
        try c.transaction { try $0.execute("CREATE INDEX CONCURRENTLY t_v ON t (v)") }
      }
      #expect(error.sqlState == "25001")
      #expect(error.isActiveSQLTransaction)
      #expect(c.transactionStatus == .idle)
      // A multi-statement PQexec string is one implicit transaction: the same failure.
      let implicit = try #require(throws: PostgresError.self) {
        try c.executeScript("SELECT 1; CREATE INDEX CONCURRENTLY t_v ON t (v)")
      }
      #expect(implicit.sqlState == "25001")
      #expect(try c.execute("SELECT to_regclass('t_v') IS NULL").scalarBool() == true)
    }
  }

  @Test func transactionCommitsAndRollsBack() throws {
    try withTestDatabase { db in
      let c = db.connection
      try c.execute("CREATE TABLE t (id int)")
      try c.transaction { try $0.execute("INSERT INTO t VALUES (1)") }
      struct Boom: Error {}
      #expect(throws: Boom.self) {
        try c.transaction { conn in
          try conn.execute("INSERT INTO t VALUES (2)")
          #expect(conn.transactionStatus == .inTransaction)
          throw Boom()
        }
      }
      #expect(c.transactionStatus == .idle)
      #expect(try c.execute("SELECT array_agg(id ORDER BY id)::text FROM t").scalar == "{1}")
    }
  }

  @Test func transactionReportsASwallowedFailure() throws {
    try withTestDatabase { db in
      let c = db.connection
      let error = try #require(throws: PostgresError.self) {
        try c.transaction { conn in _ = try? conn.execute("SELECT 1/0") }
      }
      #expect(error.sqlState == "25P02")
      #expect(c.transactionStatus == .idle)
    }
  }

  @Test func noticesAreDelivered() throws {
    try withTestDatabase { db in
      let c = db.connection
      final class Box { var notices: [Notice] = [] }
      let box = Box()
      c.onNotice = { box.notices.append($0) }
      try c.execute("DO $$ BEGIN RAISE NOTICE 'hello %', 42; RAISE WARNING 'careful' USING HINT = 'look'; END $$")
      #expect(box.notices.count == 2)
      #expect(box.notices.first?.message == "hello 42")
      #expect(box.notices.first?.severity == "NOTICE")
      #expect(box.notices.first?.sqlState == "00000")
      #expect(box.notices.last?.severity == "WARNING")
      #expect(box.notices.last?.hint == "look")
      c.onNotice = nil
      try c.execute("DO $$ BEGIN RAISE NOTICE 'ignored'; END $$")
      #expect(box.notices.count == 2)
    }
  }

  @Test func cancelFromAnotherThreadEndsTheStatementQuickly() throws {
    try withTestDatabase { db in
      let sleeper = try db.connect()
      let canceller = try sleeper.makeCanceller()
      let pid = sleeper.backendPID
      let transfer = UnsafeTransfer(sleeper)
      let start = Date()
      let work = BackgroundWork { () -> PostgresError? in
        do {
          try transfer.value.execute("SELECT pg_sleep(30)")
          return nil
        } catch let error as PostgresError {
          return error
        }
      }
      try db.connection.waitUntil(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1::int AND state = 'active' AND query LIKE '%pg_sleep%')",
        [String(pid)])
      try canceller.cancel()
      let error = try #require(try work.wait(timeout: 10))
      #expect(error.sqlState == "57014")
      #expect(error.isQueryCanceled)
      #expect(Date().timeIntervalSince(start) < 10)
      #expect(try sleeper.execute("SELECT 1").scalarInt() == 1)
    }
  }

  @Test func signalCancelsTheRunningStatement() throws {
    try withTestDatabase { db in
      let sleeper = try db.connect()
      let canceller = try sleeper.makeCanceller()
      let pid = sleeper.backendPID
      let cancellation = installCancelOnSignals(canceller, signals: [SIGUSR2])
      defer { cancellation.uninstall() }
      let transfer = UnsafeTransfer(sleeper)
      let work = BackgroundWork { () -> PostgresError? in
        do {
          try transfer.value.execute("SELECT pg_sleep(30)")
          return nil
        } catch let error as PostgresError {
          return error
        }
      }
      try db.connection.waitUntil(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1::int AND state = 'active' AND query LIKE '%pg_sleep%')",
        [String(pid)])
      kill(getpid(), SIGUSR2)
      let error = try #require(try work.wait(timeout: 10))
      #expect(error.sqlState == "57014")
      #expect(cancellation.receivedSignal == SIGUSR2)
    }
  }

  @Test func closedConnectionThrows() throws {
    try withTestDatabase { db in
      let c = try db.connect()
      c.close()
      c.close()
      #expect(c.isClosed)
      let error = try #require(throws: PostgresError.self) { try c.execute("SELECT 1") }
      #expect(error.connectionLost)
    }
  }

  @Test func describeReportsTypesWithoutRunning() throws {
    try withTestDatabase { db in
      let c = db.connection
      try c.execute("CREATE TABLE t (id int)")
      let columns = try c.describe("SELECT NULL::varchar(20) AS v, NULL::numeric(10,2) AS n")
      #expect(columns.map(\.name) == ["v", "n"])
      #expect(columns[0].typeOID == 1043)
      #expect(columns[0].typeModifier == 24)
      // Describing never executes.
      _ = try c.describe("INSERT INTO t VALUES (1) RETURNING id")
      #expect(try c.execute("SELECT count(*) FROM t").scalarInt() == 0)
    }
  }
}

@Suite struct ConnectionErrorTests {
  @Test func unreachableURIDoesNotLeakThePassword() throws {
    let error = try #require(throws: ConnectionError.self) {
      try Connection.connect(dsn: "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=5", applicationName: "pgphase-tests")
    }
    #expect(!error.description.contains("s3cret"))
    #expect(error.description.contains("user=u password=*** connect_timeout=5 dbname=db host=127.0.0.1 port=1"))
    #expect(error.description.contains("127.0.0.1"))
    #expect(!error.message.isEmpty)
  }

  @Test func unreachableKeyValueDoesNotLeakThePassword() throws {
    let error = try #require(throws: ConnectionError.self) {
      try Connection.connect(
        dsn: "host=127.0.0.1 port=1 user=u password='s3 cret' dbname=db connect_timeout=5", applicationName: "pgphase-tests")
    }
    #expect(!error.description.contains("s3 cret"))
    #expect(error.description.contains("password=***"))
  }

  @Test func malformedDSNIsAConnectionError() throws {
    let error = try #require(throws: ConnectionError.self) {
      try Connection.connect(dsn: "host=x password=s3cret nosuchoption=1", applicationName: "pgphase-tests")
    }
    // libpq quotes the piece it could not read, which may be a password: that piece is hidden.
    #expect(error.message == #"invalid connection string: invalid connection option "***""#)
    #expect(error.redactedDSN == "***")
    #expect(!error.description.contains("s3cret"))
  }

  /// A password where libpq expected a keyword: its message would have quoted it.
  @Test func aPasswordInTheWrongPlaceIsNotQuoted() throws {
    let error = try #require(throws: ConnectionError.self) {
      try Connection.connect(dsn: "host=x s3cret", applicationName: "pgphase-tests")
    }
    #expect(!error.description.contains("s3cret"), "\(error)")
  }
}
