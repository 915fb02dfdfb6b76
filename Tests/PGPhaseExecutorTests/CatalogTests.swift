import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

@Suite(.enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct CatalogTests {
  @Test func indexStateOfAValidIndex() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try c.execute("CREATE TABLE t (email text)")
      try c.executeAlone("CREATE UNIQUE INDEX CONCURRENTLY t_email ON t (email)")
      let state = try #require(try Catalog(c).indexState(name: QualifiedName("t_email")))
      #expect(state.isUsable)
      #expect(state.unique)
      #expect(state.table == "t")
      #expect(try Catalog(c).indexState(name: QualifiedName("nope")) == nil)
    }
  }

  @Test func canonicalTypes() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let catalog = Catalog(db.connection)
      #expect(try catalog.canonicalType("int") == "integer")
      #expect(try catalog.canonicalType("varchar(20)") == "character varying(20)")
      #expect(try catalog.canonicalType("timestamptz") == "timestamp with time zone")
      #expect(try catalog.canonicalType(" text[] ") == "text[]")
      #expect(try catalog.canonicalType("numeric(10,2)") == "numeric(10,2)")
      #expect(try catalog.canonicalType("bigserial") == "bigint")
      #expect(throws: PostgresError.self) { try catalog.canonicalType("int; DROP TABLE x") }
    }
  }

  /// A concurrent build waiting for a writer shows in the progress view, with the writer as
  /// current locker and as a blocker of the build's session.
  @Test func runningIndexBuildAndBlockers() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try c.execute("CREATE TABLE t (id int, v text)")
      try c.execute("INSERT INTO t SELECT g, g::text FROM generate_series(1, 1000) g")
      let writer = try db.connect(applicationName: "writer")
      try writer.execute("BEGIN")
      try writer.execute("INSERT INTO t VALUES (0, 'x')")
      let builder = try db.connect(applicationName: "pgphase apply test:1")
      let builderPID = builder.backendPID
      let transfer = UnsafeTransfer(builder)
      let work = BackgroundWork { try transfer.value.executeAlone("CREATE INDEX CONCURRENTLY t_v ON t (v)") }
      let catalog = Catalog(c)
      var progress: Catalog.IndexBuildProgress?
      let deadline = Date().addingTimeInterval(10)
      while progress?.currentLockerPID == nil, Date() < deadline {
        progress = try catalog.runningIndexBuild(indexName: QualifiedName("t_v"))
        Thread.sleep(forTimeInterval: 0.02)
      }
      let p = try #require(progress)
      #expect(p.pid == builderPID)
      #expect(p.command == "CREATE INDEX CONCURRENTLY")
      #expect(p.phase.hasPrefix("waiting for writers"))
      #expect(p.currentLockerPID == writer.backendPID)
      #expect(p.applicationName == "pgphase apply test:1")
      let blockers = try catalog.blockingPIDs(of: builderPID)
      #expect(blockers.map(\.pid) == [writer.backendPID])
      #expect(blockers.first?.state == "idle in transaction")
      #expect(blockers.first?.applicationName == "writer")
      #expect(blockers.first?.query == "INSERT INTO t VALUES (0, 'x')")
      #expect((blockers.first?.transactionAgeSeconds ?? -1) >= 0)
      try writer.execute("COMMIT")
      let result = try work.wait(timeout: 30)
      #expect(result.commandTag == "CREATE INDEX")
      #expect(try catalog.runningIndexBuild(indexName: QualifiedName("t_v")) == nil)
      #expect(try catalog.blockingPIDs(of: builderPID).isEmpty)
    }
  }
}
