/// What a piece of SQL text is, as far as running it goes: one concurrent index build, rebuild or
/// drop (which the executor watches and repairs), or anything else, noting whether it uses
/// CONCURRENTLY (and so must run without the short lock_timeout that would cancel its waits).
///
/// The planner reads it once, from SQL a user wrote in a `sql` change, to give the step its typed
/// action; the format-1 plan reader uses it to derive actions the old format did not store. The
/// executor never looks at SQL text. It is read with PostgreSQL's parser
/// (`StatementShape(parsing:)` in PGPhaseSQL, the one door to libpg_query); anything it does not
/// recognise is `.other`, which runs the statements as written.
public enum StatementShape: Equatable, Sendable {
  /// `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON [ONLY] table definition`.
  case createIndexConcurrently(unique: Bool, name: String, table: QualifiedName, definition: String)
  /// `REINDEX [(options)] INDEX CONCURRENTLY name`.
  case reindexIndexConcurrently(QualifiedName)
  /// `DROP INDEX CONCURRENTLY [IF EXISTS] name [RESTRICT]`.
  case dropIndexConcurrently(QualifiedName)
  /// `ALTER TABLE [IF EXISTS] [ONLY] table VALIDATE CONSTRAINT name`.
  case validateConstraint(table: QualifiedName, name: String)
  /// Anything else, or more than one statement.
  case other(concurrently: Bool)

  /// Whether the text uses CONCURRENTLY as a keyword anywhere.
  public var concurrently: Bool {
    switch self {
    case .createIndexConcurrently, .reindexIndexConcurrently, .dropIndexConcurrently: true
    case .validateConstraint: false
    case .other(let concurrently): concurrently
    }
  }
}
