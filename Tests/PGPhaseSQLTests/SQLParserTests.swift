import PGPhaseModel
import PGPhaseSQL
import Testing

@Suite struct SQLParserTests {
  @Test func errorPositionsCountCharactersStatementOffsetsCountBytes() throws {
    // 'é' and '☕' are 2 and 3 bytes: the error cursor (characters) and the statement offsets
    // (bytes) must land on the same place in the text.
    let sql = "SELECT 'é☕'; SELEC 1;"
    let outcome = SQLParser.parse(SQLSource(file: "m.sql", text: sql))
    let error = try #require(outcome.errors.first)
    let source = SQLSource(file: "m.sql", text: sql)
    #expect(source.location(ofByte: error.byteOffset) == SourceLocation(file: "m.sql", line: 1, column: 14))
    #expect(Array(sql.utf8)[error.byteOffset] == UInt8(ascii: "S"))
  }

  @Test func everySyntaxErrorIsReportedAndTheRestStillParses() {
    let sql = """
      CREATE TABLE a (id bigint);
      ALTER TABLE a ADD COLUMN;
      CREATE INDEX i ON a (id);
      SELEC 1;
      DROP TABLE a;
      """
    let outcome = SQLParser.parse(SQLSource(file: "m.sql", text: sql))
    let source = SQLSource(file: "m.sql", text: sql)
    #expect(outcome.errors.map { source.location(ofByte: $0.byteOffset).line } == [2, 4])
    #expect(outcome.statements.map(\.type) == ["CreateStmt", "IndexStmt", "DropStmt"])
    #expect(outcome.statements.map { source.location(ofByte: $0.start).line } == [1, 3, 5])
  }

  @Test func anUnterminatedQuoteStopsTheFile() {
    let outcome = SQLParser.parse(SQLSource(file: "m.sql", text: "SELECT 1;\nSELECT 'open;\nSELECT 2;"))
    #expect(outcome.errors.count == 1)
    #expect(outcome.statements.isEmpty)
  }

  @Test(arguments: [
    ("SELECT * FROM (SELECT 1)", 16),
    ("SELECT 0x1F", 16),
    ("SELECT 1_000_000", 16),
    ("SELECT JSON_OBJECT('a': 1)", 16),
    ("SELECT a IS JSON FROM t", 16),
    ("SELECT * FROM JSON_TABLE(j, '$' COLUMNS (a int))", 17),
  ])
  func newerGrammarIsRecognised(sql: String, version: Int) throws {
    let error = try #require(SQLParser.parse(SQLSource(file: "m.sql", text: sql)).errors.first)
    #expect(error.newerGrammar == version, "\(error.message)")
  }

  @Test func plainTyposAreNotBlamedOnTheGrammar() throws {
    let error = try #require(SQLParser.parse(SQLSource(file: "m.sql", text: "SELEC 1")).errors.first)
    #expect(error.newerGrammar == nil)
  }

  @Test func splitKeepsQuotedSemicolons() throws {
    let sql = "SELECT ';'; DO $$ BEGIN PERFORM 1; END $$; SELECT 2"
    let ranges = try SQLParser.split(sql).get()
    #expect(ranges.count == 3)
  }

  @Test func scannerFindsOnlyRealComments() throws {
    let sql = """
      SELECT '-- not a comment', $$ -- nor this $$, "-- nor" FROM t; -- a comment
      /* a /* nested */ block */ SELECT 1;
      """
    let comments = SQLScanner.comments(sql)
    let bytes = Array(sql.utf8)
    let texts = comments.map { String(decoding: bytes[$0.range], as: UTF8.self) }
    #expect(texts == ["-- a comment", "/* a /* nested */ block */"])
    #expect(comments.map(\.kind) == [.lineComment, .blockComment])
  }

  @Test func plpgsqlBodiesAreRead() throws {
    let body = """

      BEGIN
        ALTER TABLE t ADD COLUMN z int;
        IF true THEN
          CREATE INDEX i ON t (z);
        END IF;
        EXECUTE format('DROP TABLE %I', 'x');
      END
      """
    let statements = try #require(SQLParser.plpgsqlStatements(body: body))
    #expect(
      statements.map(\.sql) == ["ALTER TABLE t ADD COLUMN z int", "CREATE INDEX i ON t (z)", "format('DROP TABLE %I', 'x')"])
    #expect(statements.map(\.line) == [3, 5, 7])
    #expect(statements.map(\.isDynamic) == [false, false, true])
  }
}

@Suite struct FunctionVolatilityTests {
  @Test(arguments: [
    "now()", "CURRENT_TIMESTAMP", "'x'", "0", "lower('A') || 'b'", "pg_catalog.now()", "now() AT TIME ZONE 'utc'",
    "'{}'::jsonb", "txid_current()", "EXTRACT(epoch FROM now())", "coalesce(null, 1)",
  ])
  func nonVolatile(expression: String) {
    #expect(!FunctionVolatility.isVolatile(expression: expression), "\(expression)")
  }

  @Test(arguments: [
    "random()", "gen_random_uuid()", "clock_timestamp()", "nextval('s')", "uuid_generate_v4()", "uuid()",
    "some_user_function()", "public.now()", "lower(my_func())", "not even sql (",
  ])
  func volatile(expression: String) {
    #expect(FunctionVolatility.isVolatile(expression: expression), "\(expression)")
  }

  @Test func classification() {
    #expect(FunctionVolatility.classify(name: "random") == .volatileBuiltin)
    #expect(FunctionVolatility.classify(name: "now") == .nonVolatile)
    #expect(FunctionVolatility.classify(name: "now", schema: "app") == .unknown)
    #expect(FunctionVolatility.classify(name: "some_user_function") == .unknown)
  }
}

@Suite struct LockFactsTests {
  @Test func vacuumFullFalseIsNotVacuumFull() {
    #expect(LockFacts.strongestMode(of: "VACUUM (FULL FALSE) t") == .shareUpdateExclusive)
    #expect(LockFacts.strongestMode(of: "VACUUM (FULL 0, ANALYZE) t") == .shareUpdateExclusive)
    #expect(LockFacts.strongestMode(of: "VACUUM (FULL) t") == .accessExclusive)
    #expect(LockFacts.strongestMode(of: "VACUUM (FULL TRUE) t") == .accessExclusive)
    #expect(LockFacts.strongestMode(of: "VACUUM FULL t") == .accessExclusive)
  }

  @Test func dropIndexNamesTheIndexNotATable() {
    let locks = LockFacts.locks(of: "DROP INDEX app.orders_customer_idx")
    #expect(
      locks == [RelationLock(relation: QualifiedName(schema: "app", "orders_customer_idx"), mode: .accessExclusive, role: .index)]
    )
  }

  @Test func foreignKeysLockBothTables() {
    let locks = LockFacts.locks(of: "ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (c) REFERENCES customers (id) NOT VALID")
    #expect(locks.map(\.relation.name) == ["orders", "customers"])
    #expect(locks.allSatisfy { $0.mode == .shareRowExclusive })
    #expect(locks.map(\.role) == [.target, .referenced])
  }

  @Test func partitionsLockTheirParent() {
    #expect(
      LockFacts.locks(of: "CREATE TABLE p3 PARTITION OF p FOR VALUES FROM (1) TO (2)")
        == [RelationLock(relation: QualifiedName("p"), mode: .accessExclusive, role: .parent)])
    #expect(
      LockFacts.locks(of: "ALTER TABLE p ATTACH PARTITION p2 FOR VALUES FROM (1) TO (2)").map { "\($0.relation.name) \($0.mode)" }
        == ["p shareUpdateExclusive", "p2 accessExclusive"])
    #expect(LockFacts.strongestMode(of: "ALTER TABLE p DETACH PARTITION p2 CONCURRENTLY") == .shareUpdateExclusive)
  }

  @Test func policiesAndRulesTakeAccessExclusive() {
    #expect(LockFacts.strongestMode(of: "CREATE POLICY p ON t USING (true)") == .accessExclusive)
    #expect(LockFacts.strongestMode(of: "CREATE RULE r AS ON INSERT TO t DO ALSO NOTIFY t") == .accessExclusive)
  }
}
