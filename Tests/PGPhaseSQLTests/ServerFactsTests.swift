import PGPhaseModel
import PGPhasePostgres
import PGPhaseSQL
import PGPhaseTestSupport
import Testing

/// PGPhaseSQL's facts against the server the tests run on (15 by default; run under the 17 and 18
/// servers too): the volatility list against pg_proc, the lock facts against pg_locks.
@Suite struct ServerFactsTests {
  @Test(.enabled(if: TestServer.shouldRun)) func builtinVolatilityMatchesPgProc() throws {
    let c = try TestServer.connectAdmin()
    defer { c.close() }
    let rows = try c.execute(
      """
      SELECT proname, bool_or(provolatile = 'v') FROM pg_proc
      WHERE pronamespace = 'pg_catalog'::regnamespace AND prokind = 'f' AND prorettype <> 'internal'::regtype
        AND NOT ('internal'::regtype = ANY (proargtypes::oid[]))
      GROUP BY proname
      """
    ).values
    #expect(rows.count > 1500)
    var wrong: [String] = []
    for row in rows {
      guard let name = row[0], let volatile = row[1] else { continue }
      let known = FunctionVolatility.classify(name: name)
      if volatile == "t", known != .volatileBuiltin { wrong.append("\(name) is volatile here, listed \(known)") }
      // Non-volatile here but volatile on another supported version is listed volatile: fine.
      if volatile == "f", known == .unknown { wrong.append("\(name) is not in the list") }
    }
    #expect(wrong.isEmpty, "\(wrong.prefix(20)); regenerate with Tests/PGPhaseSQLTests/gen_builtin_functions.py")
  }

  /// Each statement runs in a transaction on a fresh schema; the locks it holds on the relations
  /// LockFacts names must be exactly the modes LockFacts says (plus weaker ones PostgreSQL takes
  /// on the way, such as ACCESS SHARE for a foreign key's lookup).
  @Test(
    .enabled(if: TestServer.shouldRun),
    arguments: [
      "CREATE INDEX i2 ON t (a)",
      "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
      "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (u_id) REFERENCES u (id) NOT VALID",
      "ALTER TABLE t VALIDATE CONSTRAINT t_a_check",
      "ALTER TABLE t ADD COLUMN x int", "ALTER TABLE t ALTER COLUMN a SET STATISTICS 100", "COMMENT ON TABLE t IS 'x'",
      "CREATE POLICY pol ON t USING (true)", "CREATE RULE r AS ON INSERT TO t DO ALSO NOTIFY t", "LOCK TABLE t IN SHARE MODE",
      "TRUNCATE u2", "ALTER TABLE t RENAME COLUMN a TO a2", "ALTER INDEX t_a_idx RENAME TO t_a_idx2",
      "CREATE TABLE p3 PARTITION OF p FOR VALUES FROM (20) TO (30)",
      "ALTER TABLE p ATTACH PARTITION p2 FOR VALUES FROM (30) TO (40)",
      "ALTER TABLE p DETACH PARTITION p1", "REFRESH MATERIALIZED VIEW mv", "CREATE TABLE n (id bigint REFERENCES u (id))",
      "UPDATE t SET a = 1", "CREATE STATISTICS st ON a, u_id FROM t", "ALTER TABLE t DISABLE TRIGGER ALL",
    ])
  func lockFactsMatchPgLocks(statement: String) throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE u (id bigint PRIMARY KEY);
        CREATE TABLE u2 (id bigint);
        CREATE TABLE t (id bigint PRIMARY KEY, a int, u_id bigint);
        ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a > 0) NOT VALID;
        CREATE INDEX t_a_idx ON t (a);
        CREATE TABLE p (id bigint, k int) PARTITION BY RANGE (k);
        CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);
        CREATE TABLE p2 (id bigint, k int);
        CREATE MATERIALIZED VIEW mv AS SELECT id FROM t;
        """)
      let facts = LockFacts.locks(of: statement)
      #expect(!facts.isEmpty)
      // By OID, read before the statement runs: a rename changes the name.
      var oids: [String: String] = [:]
      for fact in facts {
        oids[fact.relation.name] = try db.connection.execute("SELECT to_regclass($1)::oid::text", [fact.relation.name]).scalar
      }
      try db.connection.executeAlone("BEGIN")
      try db.connection.executeAlone(statement)
      for fact in facts {
        let measured = try db.connection.execute(
          """
          SELECT mode FROM pg_locks
          WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted AND relation = $1::oid
          """, [oids[fact.relation.name] ?? "0"]
        ).values.compactMap { $0[0] }
        let strongest = measured.compactMap { name in LockMode.allCases.first { $0.pgLocksName == name } }.max()
        #expect(strongest == fact.mode, "\(statement): \(fact) but pg_locks shows \(measured)")
      }
      try db.connection.executeAlone("ROLLBACK")
    }
  }
}
