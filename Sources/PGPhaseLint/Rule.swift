public import PGPhaseModel

/// Every check the linter knows, with the metadata that the messages, `--explain`, SARIF and the
/// pages under `docs/rules/` are all generated from. Ids are stable: configs and ignore comments
/// name them.
public enum Rule: String, Sendable, CaseIterable, Codable, Comparable {
  case requireConcurrentIndex = "require-concurrent-index"
  case concurrentlyInTransaction = "concurrently-in-transaction"
  case requireConcurrentDropIndex = "require-concurrent-drop-index"
  case requireConcurrentReindex = "require-concurrent-reindex"
  case addColumnRewritingDefault = "add-column-rewriting-default"
  case addStoredGeneratedColumn = "add-stored-generated-column"
  case addColumnNotNullWithoutDefault = "add-column-not-null-without-default"
  case setNotNullWithoutCheck = "set-not-null-without-check"
  case columnTypeRewrite = "column-type-rewrite"
  case constraintMissingNotValid = "constraint-missing-not-valid"
  case validateInSameTransaction = "validate-in-same-transaction"
  case uniqueWithoutUsingIndex = "unique-without-using-index"
  case excludeConstraint = "exclude-constraint"
  case renameColumn = "rename-column"
  case renameTable = "rename-table"
  case dropColumn = "drop-column"
  case dropTable = "drop-table"
  case vacuumFull = "vacuum-full"
  case cluster = "cluster"
  case requireConcurrentRefresh = "require-concurrent-refresh"
  case lockTable = "lock-table"
  case requireLockTimeout = "require-lock-timeout"
  case multipleAccessExclusive = "multiple-access-exclusive-in-transaction"
  case unbatchedDMLWithDDL = "unbatched-dml-with-ddl"
  case preferBigint = "prefer-bigint"
  case preferIdentity = "prefer-identity"
  case preferText = "prefer-text"
  case preferTimestamptz = "prefer-timestamptz"
  case transactionLeftOpen = "transaction-left-open"
  case transactionNesting = "transaction-nesting"
  case identifierTooLong = "identifier-too-long"
  case createDomainWithCheck = "create-domain-with-check"
  case alterDomainAddConstraint = "alter-domain-add-constraint"
  case enumAddValueInTransaction = "enum-add-value-in-transaction"
  case enumValueNotAtEnd = "enum-value-not-at-end"
  case duplicateAssignment = "duplicate-assignment"
  case dropDatabase = "drop-database"
  case truncateCascade = "truncate-cascade"
  case detachPartitionWithoutConcurrently = "detach-partition-without-concurrently"
  case attachPartitionScan = "attach-partition-scan"
  case defaultPartitionScan = "default-partition-scan"
  case dynamicSQLInDoBlock = "dynamic-sql-in-do-block"
  case traceHeldAccessExclusive = "trace-held-access-exclusive"
  case traceUnflaggedRewrite = "trace-unflagged-rewrite"
  case traceLockOnUnnamedRelation = "trace-lock-on-unnamed-relation"
  case unusedIgnore = "unused-ignore"
  case parseError = "parse-error"

  public static func < (a: Rule, b: Rule) -> Bool { a.rawValue < b.rawValue }

  /// Rules that only report on other reports or on input problems; they cannot be disabled
  /// or ignored, and have no lock.
  public var isMeta: Bool { self == .unusedIgnore || self == .parseError }

  /// Rules only `pgphase lint --trace` reports: they need the statement run on a server.
  public var isTraceOnly: Bool {
    self == .traceHeldAccessExclusive || self == .traceUnflaggedRewrite || self == .traceLockOnUnnamedRelation
  }

  /// Style rules are off unless a config enables them.
  public var enabledByDefault: Bool {
    switch self {
    case .preferBigint, .preferIdentity, .preferText, .preferTimestamptz: false
    default: true
    }
  }

  public var defaultSeverity: Diagnostic.Severity {
    switch self {
    case .preferBigint, .preferIdentity, .preferText, .preferTimestamptz, .unusedIgnore: .warning
    case .multipleAccessExclusive: .warning
    case .createDomainWithCheck, .enumValueNotAtEnd, .dynamicSQLInDoBlock, .traceLockOnUnnamedRelation: .warning
    default: .error
    }
  }

  /// The lock the flagged statement takes (on the table unless the rule says otherwise).
  public var lock: LockMode? {
    switch self {
    case .requireConcurrentIndex: .share
    case .concurrentlyInTransaction: .shareUpdateExclusive
    case .requireConcurrentDropIndex, .requireConcurrentReindex: .accessExclusive
    case .addColumnRewritingDefault, .addStoredGeneratedColumn, .addColumnNotNullWithoutDefault: .accessExclusive
    case .setNotNullWithoutCheck, .columnTypeRewrite: .accessExclusive
    case .constraintMissingNotValid: .shareRowExclusive
    case .validateInSameTransaction: .accessExclusive
    case .uniqueWithoutUsingIndex, .excludeConstraint: .accessExclusive
    case .renameColumn, .renameTable, .dropColumn, .dropTable: .accessExclusive
    case .vacuumFull, .cluster, .requireConcurrentRefresh: .accessExclusive
    case .lockTable, .requireLockTimeout, .multipleAccessExclusive: .accessExclusive
    case .unbatchedDMLWithDDL: .accessExclusive
    case .transactionLeftOpen: .accessExclusive
    case .transactionNesting: nil
    case .identifierTooLong: nil
    case .createDomainWithCheck: nil
    case .alterDomainAddConstraint: .share
    case .enumAddValueInTransaction: nil
    case .enumValueNotAtEnd: nil
    case .duplicateAssignment: nil
    case .dropDatabase: nil
    case .truncateCascade: .accessExclusive
    case .detachPartitionWithoutConcurrently: .accessExclusive
    case .attachPartitionScan: .accessExclusive
    case .defaultPartitionScan: .accessExclusive
    case .dynamicSQLInDoBlock: nil
    case .traceHeldAccessExclusive: .accessExclusive
    case .traceUnflaggedRewrite: .accessExclusive
    case .traceLockOnUnnamedRelation: nil
    case .preferBigint, .preferIdentity, .preferText, .preferTimestamptz, .unusedIgnore, .parseError: nil
    }
  }

  /// One line: what is wrong.
  public var summary: String {
    switch self {
    case .requireConcurrentIndex: "CREATE INDEX without CONCURRENTLY blocks writes to the table for the whole build"
    case .concurrentlyInTransaction: "CONCURRENTLY cannot run inside a transaction block"
    case .requireConcurrentDropIndex: "DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table"
    case .requireConcurrentReindex: "REINDEX without CONCURRENTLY blocks writes, and every query planned on the table"
    case .addColumnRewritingDefault: "ADD COLUMN with a volatile default rewrites the whole table under ACCESS EXCLUSIVE"
    case .addStoredGeneratedColumn: "ADD COLUMN ... GENERATED ALWAYS AS (...) STORED rewrites the whole table"
    case .addColumnNotNullWithoutDefault: "ADD COLUMN NOT NULL without a default fails on any table that has rows"
    case .setNotNullWithoutCheck: "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE"
    case .columnTypeRewrite: "ALTER COLUMN TYPE rewrites the table under ACCESS EXCLUSIVE unless the change is binary-compatible"
    case .constraintMissingNotValid:
      "Adding a FOREIGN KEY or CHECK constraint without NOT VALID scans the table while holding a lock"
    case .validateInSameTransaction:
      "VALIDATE CONSTRAINT in the transaction that added it NOT VALID keeps the strong lock during the scan"
    case .uniqueWithoutUsingIndex: "ADD UNIQUE / PRIMARY KEY builds its index under ACCESS EXCLUSIVE"
    case .excludeConstraint: "ADD EXCLUDE builds its index under ACCESS EXCLUSIVE, and has no online form"
    case .renameColumn: "Renaming a column breaks every running app that still uses the old name"
    case .renameTable: "Renaming a table breaks every running app that still uses the old name"
    case .dropColumn: "Dropping a column breaks every running app that still reads it"
    case .dropTable: "Dropping a table breaks every running app that still uses it"
    case .vacuumFull: "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE"
    case .cluster: "CLUSTER rewrites the table under ACCESS EXCLUSIVE"
    case .requireConcurrentRefresh: "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks every read of the view"
    case .lockTable: "LOCK TABLE takes an explicit lock that blocks the app for as long as the transaction lasts"
    case .requireLockTimeout:
      "A statement that queues for a strong lock with no lock_timeout set can stall every query or write on the table"
    case .multipleAccessExclusive: "One transaction takes ACCESS EXCLUSIVE on more than one table"
    case .unbatchedDMLWithDDL: "An unbatched data change runs in the same transaction as DDL on the same table"
    case .preferBigint: "Prefer bigint over int, integer, smallint and serial: 32-bit keys run out"
    case .preferIdentity: "Prefer an identity column over serial"
    case .preferText: "Prefer text (with a CHECK on length if needed) over varchar(n) or char(n)"
    case .preferTimestamptz: "Prefer timestamptz over timestamp without time zone"
    case .transactionLeftOpen: "A file leaves a transaction open at its end (BEGIN with no COMMIT or ROLLBACK)"
    case .transactionNesting: "BEGIN inside an open transaction does not nest: the inner COMMIT ends the outer transaction"
    case .identifierTooLong: "An identifier longer than 63 bytes is silently truncated by PostgreSQL"
    case .createDomainWithCheck:
      "A domain with a CHECK binds every column of that type to it, and changing it later scans them all"
    case .alterDomainAddConstraint:
      "ALTER DOMAIN ... ADD CONSTRAINT checks every column of the domain while blocking writes to their tables"
    case .enumAddValueInTransaction: "ALTER TYPE ... ADD VALUE cannot run inside a transaction block before PostgreSQL 12"
    case .enumValueNotAtEnd: "ADD VALUE ... BEFORE/AFTER puts the new enum value inside the type's sort order"
    case .duplicateAssignment: "UPDATE assigns the same column twice"
    case .dropDatabase: "DROP DATABASE deletes every table in the database, and cannot be rolled back"
    case .truncateCascade: "TRUNCATE ... CASCADE also empties every table with a foreign key to the truncated one"
    case .detachPartitionWithoutConcurrently:
      "DETACH PARTITION without CONCURRENTLY takes ACCESS EXCLUSIVE on the partitioned table (PostgreSQL 14+)"
    case .attachPartitionScan: "ATTACH PARTITION scans the table under ACCESS EXCLUSIVE unless a validated CHECK proves the bound"
    case .defaultPartitionScan:
      "Adding a partition to a table with a default partition scans the default partition under ACCESS EXCLUSIVE"
    case .dynamicSQLInDoBlock: "A DO block runs SQL that pgphase cannot see (EXECUTE, or a body it cannot read)"
    case .traceHeldAccessExclusive: "Measured: an ACCESS EXCLUSIVE lock is held across later statements of the same transaction"
    case .traceUnflaggedRewrite: "Measured: a statement rewrote a table or index that the static rules did not flag"
    case .traceLockOnUnnamedRelation: "Measured: a statement took a lock that blocks writes on a table it does not name"
    case .unusedIgnore: "A pgphase:ignore comment suppresses nothing"
    case .parseError: "The file does not parse as PostgreSQL 15 SQL"
    }
  }

  /// Why it matters, for the rule's page and SARIF's full description.
  public var rationale: String {
    switch self {
    case .requireConcurrentIndex:
      "A plain CREATE INDEX takes a SHARE lock on the table: reads go on, but every INSERT, UPDATE and DELETE waits until the index is built, which takes minutes on a large table. CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE instead and lets writes continue. An index on a table created earlier in the same file is not flagged: the table is still empty."
    case .concurrentlyInTransaction:
      "CREATE INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY and REINDEX CONCURRENTLY fail with \"cannot run inside a transaction block\". This fires after an explicit BEGIN, and for every such statement when the config says the migration runner wraps each file in a transaction (`transactional_files: true`, as Flyway does)."
    case .requireConcurrentDropIndex:
      "DROP INDEX takes ACCESS EXCLUSIVE on the index's table, which blocks reads and writes, and the request queues behind running transactions while blocking everything that arrives after it. DROP INDEX CONCURRENTLY waits for running transactions instead of blocking them."
    case .requireConcurrentReindex:
      "REINDEX takes SHARE on the table (blocking writes) and ACCESS EXCLUSIVE on the index; since planning any query on the table locks all its indexes, reads stall too. REINDEX CONCURRENTLY (PostgreSQL 12+) builds a replacement online. Before 12, build a new index concurrently, drop the old one concurrently and rename."
    case .addColumnRewritingDefault:
      "From PostgreSQL 11 a constant or stable default (`0`, `'x'`, `now()`, `CURRENT_TIMESTAMP`) is stored in the catalog and ADD COLUMN is instant. A volatile default (`random()`, `clock_timestamp()`, `gen_random_uuid()`, `timeofday()`, `nextval()`, and so serial and identity columns) must be computed per row, so the table is rewritten under ACCESS EXCLUSIVE. pgphase knows the volatility of every built-in function (from pg_proc of PostgreSQL 15, 17 and 18) and treats any other function, such as an extension's `uuid_generate_v4()` or your own, as volatile: it cannot see its definition. Before 11, any non-null default rewrites."
    case .addStoredGeneratedColumn:
      "A STORED generated column is computed for every existing row when it is added, which rewrites the table under ACCESS EXCLUSIVE. Reads and writes wait for the whole rewrite."
    case .addColumnNotNullWithoutDefault:
      "Existing rows would hold NULL in the new column, so PostgreSQL rejects the statement on any table that has rows; on an empty table it passes in development and fails in production."
    case .setNotNullWithoutCheck:
      "SET NOT NULL holds ACCESS EXCLUSIVE while it scans every row. From PostgreSQL 12 the scan is skipped when a validated `CHECK (col IS NOT NULL)` constraint already proves it, and that constraint can be added NOT VALID and validated without blocking writes."
    case .columnTypeRewrite:
      "Changing a column's type rewrites the table and every index on it under ACCESS EXCLUSIVE. Binary-compatible changes are catalog-only and are not flagged: varchar(n) to text or to a longer or unbounded varchar, text to unbounded varchar, numeric(p,s) to numeric with a larger precision and the same scale, or to unconstrained numeric. A USING clause always rewrites. When the old type is unknown (the table was created outside the linted files) a change to text or varchar is reported as a warning."
    case .constraintMissingNotValid:
      "Adding a FOREIGN KEY takes SHARE ROW EXCLUSIVE on both tables and a CHECK takes ACCESS EXCLUSIVE, and both scan the whole table before releasing the lock. Adding it NOT VALID is instant and enforces new rows; VALIDATE CONSTRAINT later scans under SHARE UPDATE EXCLUSIVE, which does not block reads or writes. Constraints inside CREATE TABLE, or on a table created earlier in the same file, are not flagged."
    case .validateInSameTransaction:
      "The ADD CONSTRAINT ... NOT VALID took a strong lock that is held until the transaction ends, so validating in the same transaction scans the table while still holding it, which is what NOT VALID was meant to avoid. Commit first."
    case .uniqueWithoutUsingIndex:
      "ADD CONSTRAINT ... UNIQUE or PRIMARY KEY builds the unique index while holding ACCESS EXCLUSIVE, blocking reads and writes for the whole build. Build the index with CREATE UNIQUE INDEX CONCURRENTLY first, then attach it with USING INDEX, which is instant."
    case .excludeConstraint:
      "An exclusion constraint builds its index under ACCESS EXCLUSIVE. There is no NOT VALID or USING INDEX form for EXCLUDE, so there is no online way to add one to a table with data: schedule a maintenance window, or enforce the rule another way (a trigger, or application logic)."
    case .renameColumn:
      "The rename itself is instant, but the app version running during the deploy still uses the old name and fails at once. Use expand/contract: add the new column, write both, backfill, switch reads, then drop the old column in a later deploy (a pgphase intent does this for you)."
    case .renameTable:
      "The rename itself is instant, but the app version running during the deploy still uses the old name and fails at once. Rename in phases: create the new name as a view over the table (or the reverse), move the app, then drop the old name later."
    case .dropColumn:
      "The drop is catalog-only, but the app version still running during the deploy may read or write the column and then fails. Stop using the column in a deploy first, then drop it in the contract phase of a later one. In a pgphase plan, drops in the contract phase are allowed."
    case .dropTable:
      "The app version still running during the deploy may use the table. Stop using it first, then drop it in the contract phase of a later deploy. In a pgphase plan, drops in the contract phase are allowed."
    case .vacuumFull:
      "VACUUM FULL copies the whole table under ACCESS EXCLUSIVE. Plain VACUUM reclaims space for reuse without blocking; to shrink a bloated table online use an extension such as pg_repack or pg_squeeze."
    case .cluster:
      "CLUSTER rewrites the whole table in index order under ACCESS EXCLUSIVE. Use pg_repack (`--order-by`) to reorder online."
    case .requireConcurrentRefresh:
      "A plain REFRESH MATERIALIZED VIEW takes ACCESS EXCLUSIVE on the view, so every read waits for the refresh. REFRESH ... CONCURRENTLY takes EXCLUSIVE (reads continue); it needs a unique index on the view."
    case .lockTable:
      "An explicit LOCK TABLE (ACCESS EXCLUSIVE unless a mode is given) blocks the app until the transaction ends and is rarely needed: the statements that need a lock take it themselves. If it is truly needed, take the weakest mode that works, with a short lock_timeout."
    case .requireLockTimeout:
      "A lock request waits behind every running transaction that holds a conflicting lock, and while it waits every new request that conflicts with it queues behind it. For ACCESS EXCLUSIVE that is every query on the table; for SHARE ROW EXCLUSIVE (a foreign key, on both tables, and CREATE TRIGGER) every write. One long-running report can take the app down. Set a short lock_timeout earlier in the file (`SET lock_timeout`, `SET LOCAL lock_timeout` or `set_config('lock_timeout', ...)`) and retry on failure. One finding per file, at the first such statement, counts the others. Statements on tables created empty in the file, or already locked at least as strongly by the same transaction (they cannot queue), do not count. pgphase plans need no SET: the executor applies the plan's lock_timeout."
    case .multipleAccessExclusive:
      "Each ACCESS EXCLUSIVE lock is held until the transaction ends. Taking a second one on another table means the first table stays blocked while the transaction waits in the second table's queue, and two such migrations can deadlock. Statements on a table the transaction already holds in ACCESS EXCLUSIVE, or on tables it created, do not count."
    case .unbatchedDMLWithDDL:
      "A data change in the same transaction as DDL on the same table either holds the DDL's strong lock while it touches every row, or holds row locks while it queues for the DDL's lock. Commit the DDL first and change the data in small batches in their own transactions (pgphase backfill steps do this)."
    case .preferBigint:
      "A 32-bit key runs out at 2,147,483,647, and widening it later is a full table rewrite under ACCESS EXCLUSIVE. bigint costs four more bytes per row."
    case .preferIdentity:
      "serial creates a sequence the table does not fully own (permissions, dumps and copies behave oddly). `GENERATED BY DEFAULT AS IDENTITY` is the SQL-standard replacement."
    case .preferText:
      "varchar(n) and char(n) store the same way as text, but changing the limit later can rewrite the table, and char(n) pads with spaces. Use text with a CHECK (length(col) <= n) when a limit is wanted: a CHECK can be changed online with NOT VALID."
    case .preferTimestamptz:
      "timestamp without time zone drops the offset, so values depend on the writer's time zone setting. timestamptz stores an absolute instant; converting the column later rewrites the table."
    case .transactionLeftOpen:
      "Every lock the file's statements took stays held until the session ends or the runner commits or rolls back on its own, and a runner that wraps the file in its own transaction ends up committing or rolling back work it did not mean to. Close every BEGIN in the file that opened it."
    case .transactionNesting:
      "PostgreSQL has no nested transactions: a second BEGIN only warns, and the COMMIT that follows it commits everything, so the statements after it run outside the transaction the author meant. This also fires when the runner wraps the file in a transaction (transactional_files, a Diesel or Flyway setting, or `-- pgphase:transaction`) and the file has its own BEGIN."
    case .identifierTooLong:
      "PostgreSQL keeps the first 63 bytes of a name (NAMEDATALEN - 1) and only emits a NOTICE. Two long names that share their first 63 bytes then collide, and a later statement that spells the full name refers to the truncated object only by accident. Bytes count, not characters: a name with accents or emoji reaches the limit sooner."
    case .createDomainWithCheck:
      "A CHECK on a domain is enforced for every column declared with the domain, in every table. Changing it later (ALTER DOMAIN ... ADD CONSTRAINT, or SET NOT NULL) checks every such column under a SHARE lock on each of their tables, which blocks their writes; there is no equivalent of adding a table's CHECK NOT VALID and validating it without blocking writes. Put the CHECK on the table columns instead."
    case .alterDomainAddConstraint:
      "Adding a constraint to a domain (or SET NOT NULL) checks every value of every column of that domain, holding SHARE on each table (measured: `ShareLock` on every table with such a column), so every write to those tables waits for the scan. ADD CONSTRAINT ... NOT VALID checks new values only; VALIDATE CONSTRAINT later still scans, under a lock that does not block writes."
    case .enumAddValueInTransaction:
      "Before PostgreSQL 12, ALTER TYPE ... ADD VALUE fails with \"cannot run inside a transaction block\", so a migration that wraps it in BEGIN (or a runner that wraps the file) fails. From 12 it may run in a transaction, but the new value cannot be used until that transaction commits."
    case .enumValueNotAtEnd:
      "Enum values sort in the order they were declared. A value added BEFORE or AFTER an existing one changes how ORDER BY, comparisons and indexes order existing rows relative to it, which breaks an app (or a report) that relies on the order; it can also make comparisons of the type slower. Add values at the end unless the order is meant to change."
    case .duplicateAssignment:
      "`UPDATE t SET a = 1, a = 2` is rejected by PostgreSQL (\"multiple assignments to same column\"), so the migration fails when it reaches the statement; the duplicate is usually a copy-and-paste slip that hides which value was meant."
    case .dropDatabase:
      "A migration runs against a database; dropping one from a migration is almost always a mistake (a script meant for development), it cannot run in a transaction, and nothing brings the data back but a backup."
    case .truncateCascade:
      "CASCADE follows foreign keys recursively: every referencing table, and every table referencing those, is emptied too, each under ACCESS EXCLUSIVE. The statement does not name them, so a reviewer cannot see what it deletes. Name every table to empty instead."
    case .detachPartitionWithoutConcurrently:
      "A plain DETACH PARTITION takes ACCESS EXCLUSIVE on the parent and the partition (and the default partition), so every query on the partitioned table waits. From PostgreSQL 14, DETACH PARTITION ... CONCURRENTLY takes SHARE UPDATE EXCLUSIVE on the parent instead and lets queries continue; it cannot run in a transaction block."
    case .attachPartitionScan:
      "ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the parent (PostgreSQL 12+) but ACCESS EXCLUSIVE on the table being attached, and scans every row to prove it fits the partition bound, unless a validated CHECK constraint already implies the bound. Add that CHECK NOT VALID, validate it (which does not block writes), then attach. A table created empty in the same file is not flagged, nor is one with a CHECK validated earlier in the linted files."
    case .defaultPartitionScan:
      "When the partitioned table has a default partition, CREATE TABLE ... PARTITION OF and ATTACH PARTITION scan the default partition for rows that belong to the new partition, under ACCESS EXCLUSIVE on it (measured), unless a validated CHECK on the default partition excludes the new bound. pgphase knows of a default partition when the linted files created or attached it."
    case .dynamicSQLInDoBlock:
      "The statements of a DO block are checked like the file's own, but `EXECUTE` builds its statement at run time, and a body that is not PL/pgSQL cannot be read: whatever they lock or rewrite goes unchecked. Write the DDL out as plain statements, or run `pgphase lint --trace`, which measures what actually happens."
    case .traceHeldAccessExclusive:
      "Reported by `pgphase lint --trace`, which runs the file on a throwaway server and reads pg_locks after each statement. Once a statement takes ACCESS EXCLUSIVE, every later statement of the same transaction runs while every query on that table waits; the longer they take, the longer the app stalls. Commit right after the statement that needs the strong lock."
    case .traceUnflaggedRewrite:
      "Reported by `pgphase lint --trace`: the relation's relfilenode changed, so PostgreSQL wrote a new copy of it (under ACCESS EXCLUSIVE), and no static rule warned about it. On a large table that is minutes of blocked reads and writes."
    case .traceLockOnUnnamedRelation:
      "Reported by `pgphase lint --trace`: pg_locks showed a lock that blocks writes (SHARE or stronger) on a table the statement does not mention, such as a foreign key's referenced table, the table of a dropped index, a default partition, or the tables using a domain. Those tables stall too; set lock_timeout and plan for them."
    case .unusedIgnore:
      "An ignore comment that no longer matches a finding hides nothing now, but will silently hide a future finding on that line. Remove it, or fix the rule name."
    case .parseError:
      "pgphase parses with the PostgreSQL 15 grammar (libpg_query). Every statement that does not parse is reported, and the file's other statements are still checked. A statement using syntax from PostgreSQL 16 or later (a FROM subquery without an alias, JSON constructors, 0x1F and 1_000 literals, ...) is named as needing a newer grammar, and reported as a warning when `--pg-version` (or `pg_version`) is that version or later. Otherwise psql would reject the statement too: pgphase exits with 2 when any input fails to parse."
    }
  }

  /// The safer way, generic; findings carry a concrete version built from the statement.
  public var alternative: String {
    switch self {
    case .requireConcurrentIndex:
      "CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);  -- outside a transaction block"
    case .concurrentlyInTransaction:
      "Run the CONCURRENTLY statement on its own, outside BEGIN/COMMIT (and outside a file the runner wraps in a transaction)."
    case .requireConcurrentDropIndex: "DROP INDEX CONCURRENTLY orders_customer_id_idx;  -- outside a transaction block"
    case .requireConcurrentReindex:
      "REINDEX INDEX CONCURRENTLY orders_customer_id_idx;  -- PostgreSQL 12+, outside a transaction block"
    case .addColumnRewritingDefault:
      """
      ALTER TABLE orders ADD COLUMN token uuid;                   -- instant
      ALTER TABLE orders ALTER COLUMN token SET DEFAULT gen_random_uuid();  -- new rows
      -- then fill existing rows in batches:
      UPDATE orders SET token = gen_random_uuid() WHERE id IN (SELECT id FROM orders WHERE token IS NULL LIMIT 1000);
      """
    case .addStoredGeneratedColumn:
      """
      ALTER TABLE orders ADD COLUMN total_cents bigint;  -- plain column, instant
      -- keep it up to date with a trigger, backfill existing rows in batches,
      -- or compute the expression in queries or a view instead.
      """
    case .addColumnNotNullWithoutDefault:
      """
      ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';  -- constant default: instant on PG 11+
      -- or: add it nullable, backfill in batches, then enforce NOT NULL with a validated CHECK (see set-not-null-without-check)
      """
    case .setNotNullWithoutCheck:
      """
      ALTER TABLE orders ADD CONSTRAINT orders_status_not_null CHECK (status IS NOT NULL) NOT VALID;
      ALTER TABLE orders VALIDATE CONSTRAINT orders_status_not_null;  -- separate transaction
      ALTER TABLE orders ALTER COLUMN status SET NOT NULL;            -- no scan on PG 12+
      ALTER TABLE orders DROP CONSTRAINT orders_status_not_null;
      """
    case .columnTypeRewrite:
      """
      -- expand/contract instead of an in-place type change:
      ALTER TABLE orders ADD COLUMN amount_new numeric(12,2);
      -- write both columns (trigger or app), backfill in batches, switch reads, then drop the old column later
      """
    case .constraintMissingNotValid:
      """
      ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
      ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;  -- in a later transaction
      """
    case .validateInSameTransaction: "COMMIT;  -- between ADD CONSTRAINT ... NOT VALID and VALIDATE CONSTRAINT"
    case .uniqueWithoutUsingIndex:
      """
      CREATE UNIQUE INDEX CONCURRENTLY orders_number_key ON orders (number);
      ALTER TABLE orders ADD CONSTRAINT orders_number_key UNIQUE USING INDEX orders_number_key;
      """
    case .excludeConstraint:
      "No safe form exists: add it in a maintenance window, or enforce the rule with a trigger or in the application."
    case .renameColumn:
      """
      ALTER TABLE orders ADD COLUMN total_cents bigint;  -- expand: new name
      -- keep both in sync, backfill, move the app to the new name, then in a later deploy:
      ALTER TABLE orders DROP COLUMN total;              -- contract
      """
    case .renameTable:
      """
      ALTER TABLE orders RENAME TO purchases;
      CREATE VIEW orders AS SELECT * FROM purchases;  -- same transaction: old name keeps working
      -- drop the view once no running app uses the old name
      """
    case .dropColumn:
      "Remove every use of the column from the app, deploy, then drop it in a later migration (the contract phase of a pgphase intent)."
    case .dropTable:
      "Remove every use of the table from the app, deploy, then drop it in a later migration (the contract phase of a pgphase intent)."
    case .vacuumFull: "VACUUM (ANALYZE) orders;  -- or pg_repack to shrink online"
    case .cluster: "pg_repack --table=orders --order-by=created_at  -- online reorder"
    case .requireConcurrentRefresh: "REFRESH MATERIALIZED VIEW CONCURRENTLY daily_totals;  -- needs a unique index on the view"
    case .lockTable: "Drop the explicit LOCK, or use the weakest mode that works after SET lock_timeout = '2s';"
    case .requireLockTimeout: "SET lock_timeout = '2s';  -- before the statement; retry on SQLSTATE 55P03"
    case .multipleAccessExclusive:
      "Split the transaction: one table's strong-lock DDL per transaction, each under a short lock_timeout."
    case .unbatchedDMLWithDDL:
      """
      COMMIT;  -- end the DDL transaction first, then in batches, each its own transaction:
      UPDATE orders SET status = 'new' WHERE id IN (SELECT id FROM orders WHERE status IS NULL LIMIT 1000);
      """
    case .preferBigint: "id bigint GENERATED BY DEFAULT AS IDENTITY"
    case .preferIdentity: "id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    case .preferText: "name text CHECK (length(name) <= 100)"
    case .preferTimestamptz: "created_at timestamptz NOT NULL DEFAULT now()"
    case .transactionLeftOpen:
      """
      BEGIN;
      ALTER TABLE orders ADD COLUMN note text;
      COMMIT;
      """
    case .transactionNesting:
      "Use one BEGIN ... COMMIT per transaction; in a file the runner wraps, write no BEGIN at all (or mark it -- pgphase:no-transaction)."
    case .identifierTooLong:
      "CREATE INDEX orders_customer_created_idx ON orders (customer_id, created_at);  -- a name of at most 63 bytes"
    case .createDomainWithCheck:
      """
      CREATE DOMAIN email AS text;
      ALTER TABLE users ADD CONSTRAINT users_email_check CHECK (email ~ '@') NOT VALID;
      """
    case .alterDomainAddConstraint:
      """
      ALTER DOMAIN email ADD CONSTRAINT email_check CHECK (VALUE ~ '@') NOT VALID;
      ALTER DOMAIN email VALIDATE CONSTRAINT email_check;  -- later
      """
    case .enumAddValueInTransaction:
      "ALTER TYPE mood ADD VALUE 'curious';  -- alone, outside a transaction block"
    case .enumValueNotAtEnd:
      "ALTER TYPE status ADD VALUE 'archived';  -- at the end"
    case .duplicateAssignment:
      "UPDATE orders SET status = 'paid', paid_at = now() WHERE id = 1;"
    case .dropDatabase:
      "Drop databases by hand, after a backup, never from a migration."
    case .truncateCascade:
      "TRUNCATE orders, order_items;  -- every table you mean to empty, by name"
    case .detachPartitionWithoutConcurrently:
      "ALTER TABLE measurements DETACH PARTITION measurements_2023 CONCURRENTLY;  -- outside a transaction block"
    case .attachPartitionScan:
      """
      ALTER TABLE measurements_2024 ADD CONSTRAINT m2024_bound CHECK (at >= '2024-01-01' AND at < '2025-01-01') NOT VALID;
      ALTER TABLE measurements_2024 VALIDATE CONSTRAINT m2024_bound;
      ALTER TABLE measurements ATTACH PARTITION measurements_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      """
    case .defaultPartitionScan:
      """
      ALTER TABLE measurements_default ADD CONSTRAINT excludes_2024 CHECK (NOT (at >= '2024-01-01' AND at < '2025-01-01')) NOT VALID;
      ALTER TABLE measurements_default VALIDATE CONSTRAINT excludes_2024;  -- then add the partition
      """
    case .dynamicSQLInDoBlock:
      "ALTER TABLE orders ADD COLUMN note text;  -- as a plain statement, not EXECUTE format('ALTER TABLE %I ...', ...)"
    case .traceHeldAccessExclusive:
      "COMMIT;  -- right after the statement that takes ACCESS EXCLUSIVE; run the rest in its own transaction"
    case .traceUnflaggedRewrite:
      "Rewrite the change as expand/contract: add a new column, backfill it in batches, switch, and drop the old one later."
    case .traceLockOnUnnamedRelation:
      "SET lock_timeout = '2s';  -- and expect the other table's writes to wait as well"
    case .unusedIgnore: "Delete the comment, or correct the rule id it names."
    case .parseError: "Fix the syntax at the reported position."
    }
  }
}
