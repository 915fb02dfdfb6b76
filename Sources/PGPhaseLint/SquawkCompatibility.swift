/// How squawk's rule names map to pgphase's, for `-- squawk-ignore` comments and a squawk
/// config's excluded rules, so a project moves from squawk in one step. docs/rules/squawk.md is
/// generated from this table.
public enum SquawkCompatibility {
  /// squawk rule → the pgphase rules that report the same hazard (squawk 2.x names, and the
  /// older names squawk still accepts).
  public static let ruleMap: [(squawk: String, pgphase: [Rule])] = [
    ("adding-field-with-default", [.addColumnRewritingDefault, .addStoredGeneratedColumn]),
    ("adding-foreign-key-constraint", [.constraintMissingNotValid]),
    ("adding-not-nullable-field", [.setNotNullWithoutCheck]),
    ("adding-required-field", [.addColumnNotNullWithoutDefault]),
    ("adding-serial-primary-key-field", [.uniqueWithoutUsingIndex]),
    ("ban-alter-domain-with-add-constraint", [.alterDomainAddConstraint]),
    ("ban-char-field", [.preferText]),
    ("ban-concurrent-index-creation-in-transaction", [.concurrentlyInTransaction]),
    ("ban-create-domain-with-constraint", [.createDomainWithCheck]),
    ("ban-drop-column", [.dropColumn]),
    ("ban-drop-database", [.dropDatabase]),
    ("ban-drop-table", [.dropTable]),
    ("ban-duplicate-column-assignments", [.duplicateAssignment]),
    ("ban-truncate-cascade", [.truncateCascade]),
    ("ban-uncommitted-transaction", [.transactionLeftOpen]),
    ("changing-column-type", [.columnTypeRewrite]),
    ("constraint-missing-not-valid", [.constraintMissingNotValid, .validateInSameTransaction]),
    ("disallowed-unique-constraint", [.uniqueWithoutUsingIndex]),
    ("identifier-too-long", [.identifierTooLong]),
    ("prefer-big-int", [.preferBigint]),
    ("prefer-bigint-over-int", [.preferBigint]),
    ("prefer-bigint-over-smallint", [.preferBigint]),
    ("prefer-identity", [.preferIdentity]),
    ("prefer-repack", [.vacuumFull, .cluster]),
    ("prefer-text-field", [.preferText]),
    ("prefer-timestamp-tz", [.preferTimestamptz]),
    ("prefer-timestamptz", [.preferTimestamptz]),
    ("renaming-column", [.renameColumn]),
    ("renaming-table", [.renameTable]),
    ("require-concurrent-index-creation", [.requireConcurrentIndex]),
    ("require-concurrent-index-deletion", [.requireConcurrentDropIndex]),
    ("require-concurrent-partition-detach", [.detachPartitionWithoutConcurrently]),
    ("require-concurrent-reindex", [.requireConcurrentReindex]),
    ("require-enum-value-ordering", [.enumValueNotAtEnd]),
    ("require-lock-timeout", [.requireLockTimeout]),
    ("require-timeout-settings", [.requireLockTimeout]),
    ("transaction-nesting", [.transactionNesting]),
  ]

  /// squawk rules with no pgphase equivalent, and why.
  public static let unmapped: [String: String] = [
    "prefer-robust-stmts":
      "pgphase does not ask for IF [NOT] EXISTS: a migration runner records what ran, and a half-run file is found by its transaction, not by rerunning it.",
    "require-statement-timeout":
      "pgphase checks lock_timeout, which bounds the wait that blocks other sessions; statement_timeout would also cancel long, harmless work such as CREATE INDEX CONCURRENTLY.",
    "ban-drop-not-null":
      "DROP NOT NULL is catalog-only and keeps old app versions working; pgphase does not flag it.",
    "require-table-schema": "pgphase does not require schema-qualified names.",
    "unused-ignore": "pgphase reports its own unused ignores as unused-ignore; squawk ignores are not reported when unused.",
  ]

  /// The pgphase rules a squawk rule name maps to, or nil when it has no equivalent.
  public static func rules(for squawkRule: String) -> [Rule]? {
    ruleMap.first { $0.squawk == squawkRule }?.pgphase
  }
}
