import PGPhaseLint
import PGPhaseModel
import PGPhaseSQL
import Testing

/// The wrong answers and real-code findings of issues 15 and 17, one test each. Every one of
/// these failed on the linter before the fix (ac522c7).
@Suite struct WrongAnswerTests {
  static func lint(_ sql: String, pg: Int = 15, transactional: Bool = false) -> [Finding] {
    Linter.lint(sql: sql, file: "m.sql", options: LintOptions(pgVersion: pg, transactionalFiles: transactional))
  }

  static func rules(_ sql: String, pg: Int = 15) -> [Rule] { lint(sql, pg: pg).map(\.rule) }

  @Test func aUserFunctionDefaultIsFlaggedAsRewriting() {
    for function in ["some_user_function()", "uuid()", "app.make_token(1)"] {
      let found = Self.lint("SET lock_timeout = '2s';\nALTER TABLE t ADD COLUMN c uuid DEFAULT \(function);")
      #expect(found.map(\.rule) == [.addColumnRewritingDefault], "\(function)")
      #expect(found.first?.message.contains("treated as volatile") == true)
    }
  }

  @Test func vacuumFullFalseIsNotFlagged() {
    #expect(!Self.rules("VACUUM (FULL FALSE) t;").contains(.vacuumFull))
    #expect(!Self.rules("VACUUM (FULL off, ANALYZE) t;").contains(.vacuumFull))
    #expect(Self.rules("VACUUM (FULL true) t;").contains(.vacuumFull))
  }

  @Test func reindexSystemIsNotToldToUseConcurrently() throws {
    let found = try #require(Self.lint("REINDEX SYSTEM app;").first { $0.rule == .requireConcurrentReindex })
    #expect(found.help?.contains("CONCURRENTLY") == false)
    #expect(found.message.contains("no CONCURRENTLY form"))
  }

  @Test func validatingTheNotNullCheckInTheFileSilencesSetNotNull() {
    let sql = """
      SET lock_timeout = '2s';
      ALTER TABLE app_email VALIDATE CONSTRAINT app_email_email_not_null;
      ALTER TABLE app_email ALTER COLUMN email SET NOT NULL;
      """
    #expect(!Self.rules(sql).contains(.setNotNullWithoutCheck))
    // A validated constraint that does not name the column proves nothing about it.
    let other = sql.replacingOccurrences(of: "app_email_email_not_null", with: "app_email_amount_positive")
    #expect(Self.rules(other).contains(.setNotNullWithoutCheck))
  }

  @Test func requireLockTimeoutFiresOncePerFileWithTheCount() throws {
    let sql = """
      ALTER TABLE a ADD COLUMN x text;
      ALTER TABLE b ADD COLUMN x text;
      ALTER TABLE c ADD COLUMN x text;
      """
    let found = Self.lint(sql).filter { $0.rule == .requireLockTimeout }
    #expect(found.count == 1)
    #expect(found.first?.location.line == 1)
    #expect(found.first?.message.contains("2 more statements in this file (lines 2, 3)") == true)
  }

  @Test func lockTimeoutDoesNotRepeatOnATableTheTransactionHolds() {
    let sql = "BEGIN;\nALTER TABLE a ADD COLUMN x text;\nALTER TABLE a ADD COLUMN y text;\nCOMMIT;"
    let found = Self.lint(sql).filter { $0.rule == .requireLockTimeout }
    #expect(found.count == 1)
    #expect(found.first?.message.contains("more statement") == false, "\(found.map(\.message))")
  }

  @Test func timestampToTimestamptzUnderUTCDoesNotRewrite() {
    var linter = Linter()
    _ = linter.lint(SQLSource(file: "001.sql", text: "CREATE TABLE events (at timestamp, other timestamp);"))
    let sql = """
      SET lock_timeout = '2s';
      SET timezone = 'UTC';
      ALTER TABLE events ALTER COLUMN at TYPE timestamptz;
      """
    #expect(!linter.lint(SQLSource(file: "002.sql", text: sql)).contains { $0.rule == .columnTypeRewrite })
    // Without the UTC session it does rewrite (PostgreSQL must shift every value).
    var again = Linter()
    _ = again.lint(SQLSource(file: "001.sql", text: "CREATE TABLE events (at timestamp);"))
    let rewrites = again.lint(
      SQLSource(file: "002.sql", text: "SET lock_timeout = '2s';\nALTER TABLE events ALTER COLUMN at TYPE timestamptz;"))
    #expect(rewrites.contains { $0.rule == .columnTypeRewrite })
  }

  @Test func dropIndexLocksTheIndexTableNotATableNamedAfterIt() throws {
    var linter = Linter()
    _ = linter.lint(SQLSource(file: "001.sql", text: "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);"))
    let sql = """
      BEGIN;
      ALTER TABLE orders ADD COLUMN note text;
      DROP INDEX orders_customer_idx;
      COMMIT;
      """
    let found = linter.lint(SQLSource(file: "002.sql", text: sql))
    #expect(!found.contains { $0.rule == .multipleAccessExclusive }, "\(found.map(\.message))")
    let drop = try #require(found.first { $0.rule == .requireConcurrentDropIndex })
    #expect(drop.message.contains("on the index and on orders"))
    let timeout = try #require(found.first { $0.rule == .requireLockTimeout })
    #expect(!timeout.message.contains("orders_customer_idx with no"), "\(timeout.message)")
    // An index of unknown table: the message does not invent one.
    let unknown = try #require(Self.lint("SET lock_timeout = '1s';\nDROP INDEX mystery_idx;").first)
    #expect(unknown.message.contains("on the index and on its table"))
  }

  @Test func aTableFilledByCreateTableAsOrInsertSelectIsNotEmpty() {
    let ctas = """
      SET lock_timeout = '2s';
      CREATE TABLE archive AS SELECT * FROM orders;
      ALTER TABLE archive ADD CONSTRAINT archive_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
      """
    #expect(Self.rules(ctas).contains(.constraintMissingNotValid))
    let insert = """
      SET lock_timeout = '2s';
      CREATE TABLE archive (id bigint, customer_id bigint);
      INSERT INTO archive SELECT id, customer_id FROM orders;
      ALTER TABLE archive ADD CONSTRAINT archive_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
      """
    #expect(Self.rules(insert).contains(.constraintMissingNotValid))
    let noData = ctas.replacingOccurrences(of: "FROM orders;", with: "FROM orders WITH NO DATA;")
    #expect(!Self.rules(noData).contains(.constraintMissingNotValid))
  }

  @Test func foreignKeysNeedALockTimeoutForTheReferencedTable() throws {
    let found = try #require(
      Self.lint("CREATE TABLE invoices (id bigint, customer_id bigint REFERENCES customers (id));").first {
        $0.rule == .requireLockTimeout
      })
    #expect(found.message.contains("SHARE ROW EXCLUSIVE on customers"))
    #expect(
      Self.rules("ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (c) REFERENCES customers (id) NOT VALID;").contains(
        .requireLockTimeout))
  }

  @Test func createPolicyNeedsALockTimeout() {
    #expect(Self.rules("CREATE POLICY own_rows ON orders USING (owner = current_user);") == [.requireLockTimeout])
    #expect(Self.rules("SET lock_timeout = '2s';\nCREATE POLICY own_rows ON orders USING (owner = current_user);").isEmpty)
  }

  @Test func transactionModeIsDecidedPerFile() {
    let cic = "CREATE INDEX CONCURRENTLY i ON orders (a);"
    #expect(Self.rules(cic, pg: 15).isEmpty)
    #expect(Self.lint(cic, transactional: true).map(\.rule) == [.concurrentlyInTransaction])
    #expect(Self.lint("-- pgphase:no-transaction\n" + cic, transactional: true).isEmpty)
    var linter = Linter(options: LintOptions(transactionalFiles: true))
    #expect(linter.lint(SQLSource(file: "up.sql", text: cic), transactional: false).isEmpty)
    #expect(
      Self.lint("-- pgphase:transaction\n" + cic, transactional: false).map(\.rule) == [.concurrentlyInTransaction])
    #expect(MigrationTool.dieselRunInTransaction(metadataToml: "run_in_transaction = false\n") == false)
    #expect(MigrationTool.flywayExecuteInTransaction(scriptConfig: "executeInTransaction=false\n") == false)
    #expect(MigrationTool.flywayExecuteInTransaction(scriptConfig: "# nothing\n") == nil)
  }

  @Test func findingsOnAMultiClauseAlterTablePointAtTheClause() throws {
    let sql = """
      SET lock_timeout = '2s';
      ALTER TABLE orders
        ADD COLUMN note text,
        ADD COLUMN token uuid DEFAULT gen_random_uuid(),
        ALTER COLUMN id TYPE bigint;
      """
    let found = Self.lint(sql)
    let typeChange = try #require(found.first { $0.rule == .columnTypeRewrite })
    #expect(typeChange.location.line == 5)
    let rewrite = try #require(found.first { $0.rule == .addColumnRewritingDefault })
    #expect(rewrite.location.line == 4)
    let dropColumn = try #require(
      Self.lint("SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN a text,\n  DROP COLUMN legacy;").first {
        $0.rule == .dropColumn
      })
    #expect(dropColumn.location == SourceLocation(file: "m.sql", line: 3, column: 3))
  }

  @Test func newerGrammarIsNamedAndAWarningOnNewerServers() throws {
    let sql = "SELECT count(*) FROM (SELECT 1);"
    let on15 = try #require(Self.lint(sql, pg: 15).first)
    #expect(on15.rule == .parseError && on15.severity == .error)
    #expect(on15.message.contains("needs a PostgreSQL 16+ grammar"))
    let on16 = try #require(Self.lint(sql, pg: 16).first)
    #expect(on16.severity == .warning)
    #expect(LintReport(findings: [on16], files: ["m.sql"]).exitCode == 0)
  }

  @Test func everyParseErrorIsReportedAndTheRestIsLinted() {
    let sql = "ALTER TABLE a ADD COLUMN;\nCREATE INDEX i ON orders (a);\nSELEC 1;\n"
    let found = Self.lint(sql)
    #expect(found.filter { $0.rule == .parseError }.map(\.location.line) == [1, 3])
    #expect(found.contains { $0.rule == .requireConcurrentIndex && $0.location.line == 2 })
  }

  @Test func ignoreCommentsInsideStringsDoNotCount() {
    let sql = """
      SELECT '-- pgphase:ignore require-concurrent-index', $$ -- pgphase:ignore-file require-concurrent-index $$;
      CREATE INDEX i ON orders (a);
      """
    #expect(Self.rules(sql) == [.requireConcurrentIndex])
    #expect(Self.rules("/* pgphase:ignore require-concurrent-index tiny */ CREATE INDEX i ON orders (a);").isEmpty)
  }

  @Test func squawkIgnoreCommentsSuppressTheMappedRules() {
    #expect(Self.rules("-- squawk-ignore require-concurrent-index-creation\nCREATE INDEX i ON orders (a);").isEmpty)
    #expect(
      Self.rules("-- squawk-ignore-file\nSET lock_timeout = '1s';\nCREATE INDEX i ON orders (a);\nDROP TABLE legacy;").isEmpty)
    #expect(
      Self.rules("-- squawk-ignore-file ban-drop-table\nSET lock_timeout = '1s';\nDROP TABLE legacy;\nCREATE INDEX i ON t (a);")
        == [.requireConcurrentIndex])
    // The comment applies to the next statement only.
    let next = "-- squawk-ignore require-concurrent-index-creation\nCREATE INDEX i ON orders (a);\nCREATE INDEX j ON orders (b);"
    #expect(Self.lint(next).map(\.location.line) == [3])
    let unmapped = Self.lint("-- squawk-ignore prefer-robust-stmts\nSELECT 1;")
    #expect(unmapped.map(\.rule) == [.unusedIgnore])
    #expect(unmapped.first?.severity == .warning)
    #expect(unmapped.first?.message.contains("no pgphase equivalent") == true)
  }

  @Test func squawkConfigExcludedRulesAreRead() throws {
    let (config, warnings) = try SquawkConfig.parse(
      """
      # squawk settings
      excluded_rules = [
        "require-concurrent-index-creation",  # small tables
        "prefer-robust-stmts",
      ]
      pg_version = "13.0"
      assume_in_transaction = true
      excluded_paths = ["legacy/*.sql"]
      [upload_to_github]
      fail_on_violations = true
      """, file: ".squawk.toml")
    let options = config.options()
    #expect(!options.enabledRules.contains(.requireConcurrentIndex))
    #expect(options.pgVersion == 13)
    #expect(options.transactionalFiles)
    #expect(config.exclude == ["legacy/*.sql"])
    #expect(warnings.count == 1)
    #expect(warnings.first?.message.contains("prefer-robust-stmts") == true)
  }

  @Test func ddlInsideDoBlocksIsChecked() throws {
    let sql = """
      SET lock_timeout = '2s';
      DO $$
      BEGIN
        CREATE INDEX orders_a_idx ON orders (a);
      END
      $$;
      """
    let found = try #require(Self.lint(sql).first { $0.rule == .requireConcurrentIndex })
    #expect(found.location.line == 4)
  }
}
