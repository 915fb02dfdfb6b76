import PGPhaseLint
import PGPhaseModel
import PGPhaseSQL
import Testing

/// One rule, one SQL file, and whether the rule must fire.
struct RuleCase: Sendable, CustomTestStringConvertible {
  var rule: Rule
  var sql: String
  var pgVersion = 15
  var transactionalFiles = false
  var testDescription: String { "\(rule.rawValue): \(sql.prefix(70))" }

  init(_ rule: Rule, _ sql: String, pg: Int = 15, transactionalFiles: Bool = false) {
    self.rule = rule
    self.sql = sql
    self.pgVersion = pg
    self.transactionalFiles = transactionalFiles
  }

  func findings() -> [Finding] {
    let options = LintOptions(pgVersion: pgVersion, enabledRules: Set(Rule.allCases), transactionalFiles: transactionalFiles)
    return Linter.lint(sql: sql, file: "m.sql", options: options)
  }
}

/// Prefix that keeps require-lock-timeout quiet in cases about other rules.
let timeout = "SET lock_timeout = '2s';\n"

let firing: [RuleCase] = [
  RuleCase(.requireConcurrentIndex, "CREATE INDEX orders_customer_idx ON orders (customer_id);"),
  RuleCase(.requireConcurrentIndex, "CREATE UNIQUE INDEX orders_number_key ON orders (number);"),
  RuleCase(.concurrentlyInTransaction, "BEGIN;\nCREATE INDEX CONCURRENTLY i ON orders (a);\nCOMMIT;"),
  RuleCase(.concurrentlyInTransaction, "CREATE INDEX CONCURRENTLY i ON orders (a);", transactionalFiles: true),
  RuleCase(.concurrentlyInTransaction, "BEGIN; DROP INDEX CONCURRENTLY i; COMMIT;"),
  RuleCase(.concurrentlyInTransaction, "BEGIN; REINDEX INDEX CONCURRENTLY i; COMMIT;"),
  RuleCase(.requireConcurrentDropIndex, timeout + "DROP INDEX orders_customer_idx;"),
  RuleCase(.requireConcurrentReindex, timeout + "REINDEX INDEX orders_customer_idx;"),
  RuleCase(.requireConcurrentReindex, timeout + "REINDEX TABLE orders;", pg: 11),
  RuleCase(.addColumnRewritingDefault, timeout + "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();"),
  RuleCase(.addColumnRewritingDefault, timeout + "ALTER TABLE orders ADD COLUMN r float8 DEFAULT random();"),
  RuleCase(.addColumnRewritingDefault, timeout + "ALTER TABLE orders ADD COLUMN t timestamptz DEFAULT clock_timestamp();"),
  RuleCase(.addColumnRewritingDefault, timeout + "ALTER TABLE orders ADD COLUMN n bigint DEFAULT nextval('s');"),
  RuleCase(.addColumnRewritingDefault, timeout + "ALTER TABLE orders ADD COLUMN n bigserial;"),
  RuleCase(.addColumnRewritingDefault, timeout + "ALTER TABLE orders ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;"),
  // Before PostgreSQL 11 every non-null default rewrites, now() included.
  RuleCase(.addColumnRewritingDefault, timeout + "ALTER TABLE orders ADD COLUMN created timestamptz DEFAULT now();", pg: 10),
  RuleCase(.addColumnRewritingDefault, timeout + "ALTER TABLE orders ADD COLUMN status text DEFAULT 'new';", pg: 10),
  RuleCase(
    .addStoredGeneratedColumn, timeout + "ALTER TABLE orders ADD COLUMN total bigint GENERATED ALWAYS AS (price * qty) STORED;"),
  RuleCase(.addColumnNotNullWithoutDefault, timeout + "ALTER TABLE orders ADD COLUMN status text NOT NULL;"),
  RuleCase(.setNotNullWithoutCheck, timeout + "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;"),
  RuleCase(
    .setNotNullWithoutCheck,
    timeout
      + "ALTER TABLE orders ADD CONSTRAINT c CHECK (status IS NOT NULL) NOT VALID;\nALTER TABLE orders ALTER COLUMN status SET NOT NULL;"
  ),
  RuleCase(
    .setNotNullWithoutCheck,
    timeout
      + "ALTER TABLE orders ADD CONSTRAINT c CHECK (status IS NOT NULL);\nALTER TABLE orders ALTER COLUMN status SET NOT NULL;",
    pg: 11),
  RuleCase(.columnTypeRewrite, timeout + "ALTER TABLE orders ALTER COLUMN id TYPE bigint;"),
  RuleCase(.columnTypeRewrite, timeout + "ALTER TABLE orders ALTER COLUMN v TYPE text USING v::text;"),
  RuleCase(
    .constraintMissingNotValid,
    timeout + "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers (id);"),
  RuleCase(.constraintMissingNotValid, timeout + "ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0);"),
  RuleCase(.constraintMissingNotValid, timeout + "ALTER TABLE orders ADD COLUMN customer_id bigint REFERENCES customers (id);"),
  RuleCase(
    .validateInSameTransaction,
    timeout
      + "BEGIN;\nALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES customers (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT fk;\nCOMMIT;"
  ),
  RuleCase(.uniqueWithoutUsingIndex, timeout + "ALTER TABLE orders ADD CONSTRAINT orders_number_key UNIQUE (number);"),
  RuleCase(.uniqueWithoutUsingIndex, timeout + "ALTER TABLE orders ADD PRIMARY KEY (id);"),
  RuleCase(
    .excludeConstraint,
    timeout + "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);"),
  RuleCase(.renameColumn, timeout + "ALTER TABLE orders RENAME COLUMN total TO total_cents;"),
  RuleCase(.renameTable, timeout + "ALTER TABLE orders RENAME TO purchases;"),
  RuleCase(.renameTable, timeout + "ALTER TABLE orders RENAME TO purchases;\nCREATE VIEW orders AS SELECT * FROM purchases;"),
  RuleCase(.dropColumn, timeout + "ALTER TABLE orders DROP COLUMN legacy;"),
  RuleCase(.dropTable, timeout + "DROP TABLE legacy_orders;"),
  RuleCase(.vacuumFull, "VACUUM FULL orders;"),
  RuleCase(.vacuumFull, "VACUUM (FULL, ANALYZE) orders;"),
  RuleCase(.cluster, timeout + "CLUSTER orders USING orders_pkey;"),
  RuleCase(.requireConcurrentRefresh, timeout + "REFRESH MATERIALIZED VIEW daily_totals;"),
  RuleCase(.lockTable, timeout + "BEGIN; LOCK TABLE orders; COMMIT;"),
  RuleCase(.lockTable, timeout + "BEGIN; LOCK TABLE orders IN SHARE MODE; COMMIT;"),
  RuleCase(.requireLockTimeout, "ALTER TABLE orders ADD COLUMN note text;"),
  RuleCase(.requireLockTimeout, "BEGIN;\nSET LOCAL lock_timeout = '2s';\nCOMMIT;\nALTER TABLE orders ADD COLUMN note text;"),
  RuleCase(.requireLockTimeout, "SET lock_timeout = '2s';\nSET lock_timeout = 0;\nALTER TABLE orders ADD COLUMN note text;"),
  RuleCase(
    .requireLockTimeout,
    "SET lock_timeout = '2s';\nRESET lock_timeout;\nDROP INDEX CONCURRENTLY i;\nALTER TABLE orders DROP CONSTRAINT c;"),
  RuleCase(
    .multipleAccessExclusive,
    timeout + "BEGIN;\nALTER TABLE orders ADD COLUMN a text;\nALTER TABLE customers ADD COLUMN b text;\nCOMMIT;"),
  RuleCase(
    .unbatchedDMLWithDDL,
    timeout + "BEGIN;\nALTER TABLE orders ADD COLUMN status text;\nUPDATE orders SET status = 'new';\nCOMMIT;"),
  RuleCase(
    .unbatchedDMLWithDDL, timeout + "BEGIN;\nDELETE FROM orders WHERE legacy;\nALTER TABLE orders DROP CONSTRAINT c;\nCOMMIT;"),
  RuleCase(
    .unbatchedDMLWithDDL, timeout + "ALTER TABLE orders ADD COLUMN x int;\nINSERT INTO orders (x) SELECT x FROM staging;",
    transactionalFiles: true),
  RuleCase(.preferBigint, "CREATE TABLE t (id integer PRIMARY KEY);"),
  RuleCase(.preferBigint, "CREATE TABLE t (id serial PRIMARY KEY);"),
  RuleCase(.preferIdentity, "CREATE TABLE t (id bigserial PRIMARY KEY);"),
  RuleCase(.preferText, "CREATE TABLE t (name varchar(100));"),
  RuleCase(.preferText, "CREATE TABLE t (code char(3));"),
  RuleCase(.preferTimestamptz, "CREATE TABLE t (created timestamp);"),
  RuleCase(.preferTimestamptz, timeout + "ALTER TABLE t ADD COLUMN created timestamp without time zone;"),
  RuleCase(.unusedIgnore, "-- pgphase:ignore require-concurrent-index not needed\nSELECT 1;"),
  RuleCase(.unusedIgnore, "SELECT 1; -- pgphase:ignore no-such-rule typo"),
  RuleCase(.parseError, "ALTER TABLE orders ADD COLUMN;"),
  RuleCase(.transactionLeftOpen, timeout + "BEGIN;\nCREATE TABLE t (a int);"),
  RuleCase(.transactionLeftOpen, timeout + "BEGIN;\nALTER TABLE orders ADD COLUMN a text;\nCOMMIT;\nBEGIN;\nSELECT 1;"),
  RuleCase(.transactionNesting, timeout + "BEGIN;\nBEGIN;\nSELECT 1;\nCOMMIT;"),
  RuleCase(.transactionNesting, timeout + "BEGIN;\nSELECT 1;\nCOMMIT;", transactionalFiles: true),
  RuleCase(.identifierTooLong, "CREATE TABLE \(String(repeating: "a", count: 64)) (id bigint);"),
  RuleCase(.identifierTooLong, "CREATE INDEX CONCURRENTLY \"\(String(repeating: "é", count: 32))\" ON orders (a);"),
  RuleCase(.createDomainWithCheck, "CREATE DOMAIN positive AS int CHECK (VALUE > 0);"),
  RuleCase(.alterDomainAddConstraint, "ALTER DOMAIN positive ADD CONSTRAINT positive_check CHECK (VALUE > 0);"),
  RuleCase(.alterDomainAddConstraint, "ALTER DOMAIN positive SET NOT NULL;"),
  RuleCase(.enumAddValueInTransaction, "BEGIN;\nALTER TYPE mood ADD VALUE 'curious';\nCOMMIT;", pg: 11),
  RuleCase(.enumAddValueInTransaction, "ALTER TYPE mood ADD VALUE 'curious';", pg: 11, transactionalFiles: true),
  RuleCase(.enumValueNotAtEnd, "ALTER TYPE mood ADD VALUE 'curious' BEFORE 'happy';"),
  RuleCase(.enumValueNotAtEnd, "CREATE TYPE mood AS ENUM ('sad', 'happy');\nALTER TYPE mood ADD VALUE 'ok' AFTER 'sad';"),
  RuleCase(.duplicateAssignment, "UPDATE orders SET a = 1, b = 2, a = 3 WHERE id = 1;"),
  RuleCase(.duplicateAssignment, "UPDATE orders SET (a, b) = (1, 2), a = 3 WHERE id = 1;"),
  RuleCase(.dropDatabase, "DROP DATABASE app;"),
  RuleCase(.dropDatabase, "DROP DATABASE IF EXISTS app WITH (FORCE);"),
  RuleCase(.truncateCascade, timeout + "TRUNCATE orders CASCADE;"),
  RuleCase(.detachPartitionWithoutConcurrently, timeout + "ALTER TABLE measurements DETACH PARTITION m2023;"),
  RuleCase(.attachPartitionScan, timeout + "ALTER TABLE measurements ATTACH PARTITION m2024 FOR VALUES FROM (1) TO (2);"),
  RuleCase(
    .defaultPartitionScan,
    timeout
      + "ALTER TABLE measurements ATTACH PARTITION m_default DEFAULT;\nCREATE TABLE m2025 PARTITION OF measurements FOR VALUES FROM (3) TO (4);"
  ),
  RuleCase(.dynamicSQLInDoBlock, "DO $$ BEGIN EXECUTE format('ALTER TABLE %I ADD COLUMN x int', 'orders'); END $$;"),
  RuleCase(.dynamicSQLInDoBlock, "DO LANGUAGE plpgsql 'this is not PL/pgSQL';"),
]

let silent: [RuleCase] = [
  RuleCase(.requireConcurrentIndex, "CREATE INDEX CONCURRENTLY i ON orders (customer_id);"),
  // A table created earlier in the same file is still empty.
  RuleCase(.requireConcurrentIndex, "CREATE TABLE orders (id bigint);\nCREATE INDEX i ON orders (id);"),
  RuleCase(.concurrentlyInTransaction, "CREATE INDEX CONCURRENTLY i ON orders (a);"),
  RuleCase(.concurrentlyInTransaction, "BEGIN; SELECT 1; COMMIT;\nCREATE INDEX CONCURRENTLY i ON orders (a);"),
  RuleCase(.requireConcurrentDropIndex, "DROP INDEX CONCURRENTLY orders_customer_idx;"),
  RuleCase(.requireConcurrentReindex, "REINDEX INDEX CONCURRENTLY orders_customer_idx;"),
  // Constant and stable defaults are catalog-only from PostgreSQL 11: no rewrite.
  RuleCase(.addColumnRewritingDefault, timeout + "ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';"),
  RuleCase(.addColumnRewritingDefault, timeout + "ALTER TABLE orders ADD COLUMN created timestamptz DEFAULT now();"),
  RuleCase(.addColumnRewritingDefault, timeout + "ALTER TABLE orders ADD COLUMN created timestamptz DEFAULT CURRENT_TIMESTAMP;"),
  RuleCase(.addColumnRewritingDefault, timeout + "ALTER TABLE orders ADD COLUMN n int DEFAULT NULL;", pg: 10),
  RuleCase(
    .addColumnRewritingDefault,
    "CREATE TABLE orders (id bigint);\nALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();"),
  RuleCase(.addStoredGeneratedColumn, timeout + "ALTER TABLE orders ADD COLUMN total bigint;"),
  RuleCase(.addColumnNotNullWithoutDefault, timeout + "ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';"),
  RuleCase(.addColumnNotNullWithoutDefault, timeout + "ALTER TABLE orders ADD COLUMN status text;"),
  RuleCase(
    .setNotNullWithoutCheck,
    timeout
      + "ALTER TABLE orders ADD CONSTRAINT c CHECK (status IS NOT NULL) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT c;\nALTER TABLE orders ALTER COLUMN status SET NOT NULL;"
  ),
  RuleCase(
    .setNotNullWithoutCheck,
    timeout
      + "ALTER TABLE orders ADD CONSTRAINT c CHECK (status IS NOT NULL);\nALTER TABLE orders ALTER COLUMN status SET NOT NULL;"),
  // Binary-compatible type changes are catalog-only (checked on PostgreSQL 15).
  RuleCase(
    .columnTypeRewrite,
    "CREATE TABLE t (v varchar(10), n numeric(10,2));\nALTER TABLE t ALTER COLUMN v TYPE text;\nALTER TABLE t ALTER COLUMN n TYPE numeric(12,2);"
  ),
  RuleCase(
    .constraintMissingNotValid,
    timeout + "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;"),
  RuleCase(.constraintMissingNotValid, timeout + "ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID;"),
  RuleCase(
    .constraintMissingNotValid, "CREATE TABLE orders (id bigint, customer_id bigint REFERENCES customers (id), CHECK (id > 0));"),
  RuleCase(.constraintMissingNotValid, timeout + "ALTER TABLE orders VALIDATE CONSTRAINT fk;"),
  RuleCase(
    .validateInSameTransaction,
    timeout
      + "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES customers (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT fk;"
  ),
  RuleCase(
    .uniqueWithoutUsingIndex,
    "CREATE UNIQUE INDEX CONCURRENTLY k ON orders (number);\n" + timeout
      + "ALTER TABLE orders ADD CONSTRAINT k UNIQUE USING INDEX k;"),
  RuleCase(.uniqueWithoutUsingIndex, "CREATE TABLE orders (id bigint PRIMARY KEY, number text UNIQUE);"),
  RuleCase(
    .excludeConstraint, "CREATE TABLE bookings (room int, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&));"),
  RuleCase(.renameColumn, "CREATE TABLE t (a int);\nALTER TABLE t RENAME COLUMN a TO b;"),
  RuleCase(.renameTable, timeout + "ALTER INDEX orders_idx RENAME TO orders_customer_idx;"),
  // The old name keeps working through a view created in the same transaction.
  RuleCase(
    .renameTable,
    timeout + "BEGIN;\nALTER TABLE orders RENAME TO purchases;\nCREATE VIEW orders AS SELECT * FROM purchases;\nCOMMIT;"),
  // Swapping a column into the place of one dropped in the same transaction keeps the name.
  RuleCase(
    .renameColumn,
    timeout + "BEGIN;\nALTER TABLE t DROP COLUMN impact;\nALTER TABLE t RENAME COLUMN impact_new TO impact;\nCOMMIT;"),
  RuleCase(.dropColumn, "CREATE TABLE t (a int, b int);\nALTER TABLE t DROP COLUMN b;"),
  RuleCase(.dropTable, "CREATE TABLE scratch (a int);\nDROP TABLE scratch;"),
  RuleCase(.vacuumFull, "VACUUM (ANALYZE) orders;"),
  RuleCase(.cluster, "SELECT 1;"),
  RuleCase(.requireConcurrentRefresh, "REFRESH MATERIALIZED VIEW CONCURRENTLY daily_totals;"),
  RuleCase(.lockTable, "BEGIN; SELECT * FROM orders FOR UPDATE; COMMIT;"),
  RuleCase(.requireLockTimeout, "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN note text;"),
  RuleCase(.requireLockTimeout, "BEGIN;\nSET LOCAL lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;"),
  RuleCase(.requireLockTimeout, "SELECT set_config('lock_timeout', '2s', false);\nALTER TABLE orders ADD COLUMN note text;"),
  RuleCase(
    .requireLockTimeout,
    "BEGIN;\nSELECT set_config('lock_timeout', '2s', true);\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;"),
  // Only ACCESS EXCLUSIVE statements need it; tables created in the file don't.
  RuleCase(.requireLockTimeout, "CREATE INDEX CONCURRENTLY i ON orders (a);\nALTER TABLE orders VALIDATE CONSTRAINT fk;"),
  RuleCase(.requireLockTimeout, "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int;"),
  RuleCase(
    .multipleAccessExclusive,
    timeout + "BEGIN;\nALTER TABLE orders ADD COLUMN a text;\nALTER TABLE orders ADD COLUMN b text;\nCOMMIT;"),
  RuleCase(.multipleAccessExclusive, timeout + "ALTER TABLE orders ADD COLUMN a text;\nALTER TABLE customers ADD COLUMN b text;"),
  RuleCase(
    .unbatchedDMLWithDDL,
    timeout
      + "BEGIN;\nALTER TABLE orders ADD COLUMN status text;\nUPDATE orders SET status = 'new' WHERE id IN (SELECT id FROM orders WHERE status IS NULL LIMIT 1000);\nCOMMIT;"
  ),
  RuleCase(.unbatchedDMLWithDDL, timeout + "ALTER TABLE orders ADD COLUMN status text;\nUPDATE orders SET status = 'new';"),
  RuleCase(
    .unbatchedDMLWithDDL,
    timeout + "BEGIN;\nALTER TABLE orders ADD COLUMN status text;\nINSERT INTO orders (status) VALUES ('x');\nCOMMIT;"),
  RuleCase(.preferBigint, "CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY);"),
  RuleCase(.preferIdentity, "CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY);"),
  RuleCase(.preferText, "CREATE TABLE t (name text, v varchar);"),
  RuleCase(.preferTimestamptz, "CREATE TABLE t (created timestamptz, at timestamp with time zone);"),
  RuleCase(.unusedIgnore, "-- pgphase:ignore require-concurrent-index small lookup table\nCREATE INDEX i ON orders (a);"),
  RuleCase(.parseError, "SELECT 1;"),
  RuleCase(.transactionLeftOpen, timeout + "BEGIN;\nALTER TABLE orders ADD COLUMN a text;\nCOMMIT;"),
  RuleCase(.transactionLeftOpen, "CREATE TABLE t (a int);", transactionalFiles: true),
  RuleCase(.transactionNesting, timeout + "BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;"),
  RuleCase(
    .identifierTooLong,
    "CREATE TABLE \(String(repeating: "a", count: 63)) (id bigint);\nSELECT '\(String(repeating: "b", count: 80))';"),
  RuleCase(.createDomainWithCheck, "CREATE DOMAIN email AS text;"),
  RuleCase(.alterDomainAddConstraint, "ALTER DOMAIN positive ADD CONSTRAINT positive_check CHECK (VALUE > 0) NOT VALID;"),
  RuleCase(.enumAddValueInTransaction, "BEGIN;\nALTER TYPE mood ADD VALUE 'curious';\nCOMMIT;", pg: 12),
  RuleCase(.enumAddValueInTransaction, "ALTER TYPE mood ADD VALUE 'curious';", pg: 11),
  RuleCase(.enumValueNotAtEnd, "ALTER TYPE mood ADD VALUE 'curious';"),
  RuleCase(.enumValueNotAtEnd, "CREATE TYPE mood AS ENUM ('sad', 'happy');\nALTER TYPE mood ADD VALUE 'ecstatic' AFTER 'happy';"),
  RuleCase(.duplicateAssignment, "UPDATE orders SET a = 1, b = 2 WHERE id = 1;\nUPDATE orders SET a[1] = 1, a[2] = 2;"),
  RuleCase(.dropDatabase, "DROP TABLE IF EXISTS app_scratch_dummy_never_existed CASCADE;"),
  RuleCase(.truncateCascade, timeout + "TRUNCATE orders, order_items;"),
  RuleCase(.detachPartitionWithoutConcurrently, "ALTER TABLE measurements DETACH PARTITION m2023 CONCURRENTLY;"),
  RuleCase(.detachPartitionWithoutConcurrently, timeout + "ALTER TABLE measurements DETACH PARTITION m2023;", pg: 13),
  RuleCase(
    .attachPartitionScan,
    timeout
      + "ALTER TABLE m2024 ADD CONSTRAINT b CHECK (k >= 1 AND k < 2) NOT VALID;\nALTER TABLE m2024 VALIDATE CONSTRAINT b;\nALTER TABLE measurements ATTACH PARTITION m2024 FOR VALUES FROM (1) TO (2);"
  ),
  RuleCase(
    .attachPartitionScan,
    "CREATE TABLE m2024 (k int);\n" + timeout + "ALTER TABLE measurements ATTACH PARTITION m2024 FOR VALUES FROM (1) TO (2);"),
  RuleCase(.defaultPartitionScan, timeout + "CREATE TABLE m2025 PARTITION OF measurements FOR VALUES FROM (3) TO (4);"),
  RuleCase(.dynamicSQLInDoBlock, timeout + "DO $$ BEGIN ALTER TABLE orders ADD COLUMN x int; END $$;"),
]

@Suite struct RuleTests {
  @Test(arguments: firing)
  func fires(_ c: RuleCase) {
    let found = c.findings()
    #expect(found.contains { $0.rule == c.rule }, "expected \(c.rule.rawValue) in: \(found.map(\.rule.rawValue))")
  }

  @Test(arguments: silent)
  func staysSilent(_ c: RuleCase) {
    let found = c.findings()
    #expect(
      !found.contains { $0.rule == c.rule }, "unexpected \(c.rule.rawValue): \(found.filter { $0.rule == c.rule }.map(\.message))"
    )
  }

  @Test func everyRuleHasAFiringAndASilentCase() {
    for rule in Rule.allCases where !rule.isTraceOnly {
      #expect(firing.contains { $0.rule == rule }, "no firing case for \(rule.rawValue)")
      #expect(silent.contains { $0.rule == rule }, "no silent case for \(rule.rawValue)")
    }
  }

  @Test func styleRulesAreOffByDefault() {
    let found = Linter.lint(sql: "CREATE TABLE t (id serial, name varchar(10), at timestamp);")
    #expect(found.isEmpty)
  }

  @Test func nowIsNotVolatileOnCurrentVersions() {
    let sql = timeout + "ALTER TABLE orders ADD COLUMN created timestamptz NOT NULL DEFAULT now();"
    #expect(Linter.lint(sql: sql, options: LintOptions(pgVersion: 15)).isEmpty)
    #expect(Linter.lint(sql: sql, options: LintOptions(pgVersion: 10)).map(\.rule) == [.addColumnRewritingDefault])
  }

  @Test func typeChangesUseTypesFromEarlierFiles() {
    var linter = Linter(options: LintOptions())
    _ = linter.lint(SQLSource(file: "001.sql", text: "CREATE TABLE t (v varchar(10), n numeric(10,2), s text, i int);"))
    let sql =
      timeout + """
        ALTER TABLE t ALTER COLUMN v TYPE text;
        ALTER TABLE t ALTER COLUMN n TYPE numeric(12,2);
        ALTER TABLE t ALTER COLUMN s TYPE varchar;
        ALTER TABLE t ALTER COLUMN v TYPE varchar;
        ALTER TABLE t ALTER COLUMN i TYPE bigint;
        ALTER TABLE t ALTER COLUMN n TYPE numeric(12,3);
        """
    let found = linter.lint(SQLSource(file: "002.sql", text: sql)).filter { $0.rule == .columnTypeRewrite }
    #expect(found.map(\.location.line) == [6, 7])
    #expect(found.allSatisfy { $0.severity == .error })
  }

  @Test func varcharGrowthIsBinaryCompatibleButShrinkIsNot() {
    var linter = Linter(options: LintOptions())
    _ = linter.lint(SQLSource(file: "001.sql", text: "CREATE TABLE t (v varchar(10), w varchar(10));"))
    let found = linter.lint(
      SQLSource(
        file: "002.sql",
        text: timeout + "ALTER TABLE t ALTER COLUMN v TYPE varchar(20);\nALTER TABLE t ALTER COLUMN w TYPE varchar(5);"))
    #expect(found.filter { $0.rule == .columnTypeRewrite }.map(\.location.line) == [3])
  }

  @Test func unknownOldTypeToTextIsOnlyAWarning() {
    let found = Linter.lint(sql: timeout + "ALTER TABLE orders ALTER COLUMN note TYPE text;")
    #expect(found.map(\.rule) == [.columnTypeRewrite])
    #expect(found.first?.severity == .warning)
  }

  @Test func helpGivesTheExactSaferStatement() {
    let found = Linter.lint(sql: "CREATE UNIQUE INDEX orders_number_key ON orders (number);")
    #expect(found.first?.help?.hasPrefix("CREATE UNIQUE INDEX CONCURRENTLY orders_number_key ON orders (number);") == true)
    let fk = Linter.lint(sql: timeout + "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES customers (id);")
    #expect(
      fk.first?.help?.hasPrefix(
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES customers (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT fk;"
      ) == true)
  }

  @Test func excludeAdviceDoesNotSuggestNotValid() {
    let found = Linter.lint(sql: timeout + "ALTER TABLE b ADD CONSTRAINT x EXCLUDE USING gist (r WITH &&);")
    #expect(found.map(\.rule) == [.excludeConstraint])
    #expect(found.first?.help?.contains("No safe form") == true)
  }

  @Test func disabledRulesDoNotFire() {
    var rules = Rule.defaultEnabled
    rules.remove(.requireConcurrentIndex)
    #expect(Linter.lint(sql: "CREATE INDEX i ON orders (a);", options: LintOptions(enabledRules: rules)).isEmpty)
  }

  @Test func lockModes() {
    #expect(LockFacts.strongestMode(of: "CREATE INDEX i ON t (a)") == .share)
    #expect(LockFacts.strongestMode(of: "CREATE INDEX CONCURRENTLY i ON t (a)") == .shareUpdateExclusive)
    #expect(LockFacts.strongestMode(of: "ALTER TABLE t ADD COLUMN a int") == .accessExclusive)
    #expect(
      LockFacts.strongestMode(of: "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id) NOT VALID")
        == .shareRowExclusive)
    #expect(LockFacts.strongestMode(of: "ALTER TABLE t VALIDATE CONSTRAINT f") == .shareUpdateExclusive)
    #expect(LockFacts.strongestMode(of: "DROP INDEX CONCURRENTLY i") == .shareUpdateExclusive)
    #expect(LockFacts.strongestMode(of: "DROP INDEX i") == .accessExclusive)
    #expect(LockFacts.strongestMode(of: "LOCK TABLE t IN ROW EXCLUSIVE MODE") == .rowExclusive)
    #expect(LockFacts.strongestMode(of: "REFRESH MATERIALIZED VIEW CONCURRENTLY v") == .exclusive)
    #expect(LockFacts.strongestMode(of: "VACUUM t") == .shareUpdateExclusive)
    #expect(LockFacts.strongestMode(of: "UPDATE t SET a = 1") == .rowExclusive)
    #expect(
      LockFacts.strongestMode(of: "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()") == .shareRowExclusive)
    #expect(LockFacts.strongestMode(of: "CREATE TABLE t (a int)") == nil)
    #expect(LockFacts.strongestMode(of: "SET lock_timeout = '1s'") == nil)
  }
}
