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
  case unusedIgnore = "unused-ignore"
  case parseError = "parse-error"

  public static func < (a: Rule, b: Rule) -> Bool { a.rawValue < b.rawValue }

  /// Rules that only report on other reports or on input problems; they cannot be disabled
  /// or ignored, and have no lock.
  public var isMeta: Bool { self == .unusedIgnore || self == .parseError }

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
    case .requireLockTimeout: "An ACCESS EXCLUSIVE statement with no lock_timeout can stall every query on the table"
    case .multipleAccessExclusive: "One transaction takes ACCESS EXCLUSIVE on more than one table"
    case .unbatchedDMLWithDDL: "An unbatched data change runs in the same transaction as DDL on the same table"
    case .preferBigint: "Prefer bigint over int, integer, smallint and serial: 32-bit keys run out"
    case .preferIdentity: "Prefer an identity column over serial"
    case .preferText: "Prefer text (with a CHECK on length if needed) over varchar(n) or char(n)"
    case .preferTimestamptz: "Prefer timestamptz over timestamp without time zone"
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
      "From PostgreSQL 11 a constant or stable default (`0`, `'x'`, `now()`, `CURRENT_TIMESTAMP`) is stored in the catalog and ADD COLUMN is instant. A volatile default (`random()`, `clock_timestamp()`, `gen_random_uuid()`, `uuid_generate_v4()`, `timeofday()`, `nextval()`, `txid_current()`, and so serial and identity columns) must be computed per row, so the table is rewritten under ACCESS EXCLUSIVE. Before 11, any non-null default rewrites."
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
      "An ACCESS EXCLUSIVE request waits behind every running transaction on the table, and while it waits every new query on the table queues behind it, so one long-running report can take the app down. Set a short lock_timeout earlier in the file (`SET lock_timeout`, `SET LOCAL lock_timeout` or `set_config('lock_timeout', ...)`) and retry on failure. pgphase plans need no SET: the executor applies the plan's lock_timeout."
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
    case .unusedIgnore:
      "An ignore comment that no longer matches a finding hides nothing now, but will silently hide a future finding on that line. Remove it, or fix the rule name."
    case .parseError:
      "pgphase parses with the PostgreSQL 15 grammar (libpg_query). A file that does not parse cannot be checked; psql would reject it too. pgphase exits with 2 when any input fails to parse."
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
    case .unusedIgnore: "Delete the comment, or correct the rule id it names."
    case .parseError: "Fix the syntax at the reported position."
    }
  }
}
