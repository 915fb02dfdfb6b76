import Foundation
import PGPhaseModel
package import PGPhasePostgres

/// Why the journal (schema `pgphase`) cannot be used as it is. Nothing is written when one of
/// these is found; each says which statement (run by whom) makes it usable.
public enum JournalProblem: Sendable, Equatable, CustomStringConvertible {
  /// A schema named `pgphase` exists that pgphase did not create (no `pgphase.schema_version` of
  /// the journal's shape, and not empty): it holds `objects`.
  case foreignSchema(objects: [String])
  /// The journal does not exist and `role` may not create schemas in `database`.
  case cannotCreate(role: String, database: String)
  /// `role` cannot use the journal, which `owner` owns; `readOnly` for status, verify and check.
  case noAccess(role: String, owner: String, readOnly: Bool, canTransfer: Bool)
  /// The journal must be upgraded (from `from` to `to`), which only its owner can do.
  case upgradeNeedsOwner(role: String, owner: String, from: Int, to: Int)
  /// An empty schema `pgphase` is there for the journal, but `owner`, not `role`, owns it.
  case emptySchemaNotOwned(role: String, owner: String)
  /// `role` (an app running `pgphase check`) may not call `pgphase.check_compatible`.
  case cannotCheck(role: String, owner: String)

  /// What is wrong.
  public var description: String {
    switch self {
    case .foreignSchema(let objects):
      "schema pgphase exists but is not a pgphase journal (it holds \(objects.prefix(5).joined(separator: ", "))\(objects.count > 5 ? ", ..." : "")): pgphase writes nothing into it"
    case .cannotCreate(let role, let database):
      "there is no pgphase journal in database \(database) and \(role) may not create it (it needs CREATE on the database)"
    case .noAccess(let role, let owner, let readOnly, _):
      "\(role) cannot \(readOnly ? "read" : "use") the pgphase journal (schema pgphase, owned by \(owner))"
    case .upgradeNeedsOwner(let role, let owner, let from, let to):
      "the pgphase journal is at version \(from) and this pgphase needs version \(to); only its owner \(owner) can upgrade it, not \(role)"
    case .emptySchemaNotOwned(let role, let owner):
      "schema pgphase is empty and owned by \(owner): \(role) would create the journal in it, but must own it"
    case .cannotCheck(let role, let owner):
      "\(role) cannot call pgphase.check_compatible: it has no USAGE on schema pgphase (owned by \(owner))"
    }
  }

  /// What to run, as whom.
  public var hint: String? {
    switch self {
    case .foreignSchema:
      return "rename that schema (ALTER SCHEMA pgphase RENAME TO ...), or run pgphase against another database"
    case .cannotCreate(let role, let database):
      let r = SQL.quoteIdentifier(role)
      return
        "as a superuser or the database owner, run `CREATE SCHEMA pgphase AUTHORIZATION \(r);` (pgphase creates its journal in that empty schema), or `GRANT CREATE ON DATABASE \(SQL.quoteIdentifier(database)) TO \(r);`"
    case .noAccess(let role, let owner, let readOnly, let canTransfer):
      let r = SQL.quoteIdentifier(role)
      let transfer = "SELECT pgphase.transfer_journal(\(SQL.quoteLiteral(role)));"
      let read = "GRANT USAGE ON SCHEMA pgphase TO \(r); GRANT SELECT ON ALL TABLES IN SCHEMA pgphase TO \(r);"
      let handOver =
        canTransfer
        ? "as \(owner) or a superuser, run `\(transfer)` to make \(role) the journal's owner"
        : "run pgphase once as \(owner) (it upgrades the journal), then as \(owner) or a superuser run `\(transfer)`"
      return readOnly ? "\(handOver); or, to let \(role) only read it: `\(read)`" : handOver
    case .upgradeNeedsOwner(let role, let owner, _, _):
      return
        "run pgphase once as \(owner), or as \(owner) or a superuser run `SELECT pgphase.transfer_journal(\(SQL.quoteLiteral(role)));` first (journal version 5 or later)"
    case .emptySchemaNotOwned(let role, let owner):
      return "as \(owner) or a superuser, run `ALTER SCHEMA pgphase OWNER TO \(SQL.quoteIdentifier(role));`"
    case .cannotCheck(let role, let owner):
      return
        "as \(owner) or a superuser, run `GRANT USAGE ON SCHEMA pgphase TO \(SQL.quoteIdentifier(role));` (the function itself runs with its owner's rights)"
    }
  }
}

/// What schema `pgphase` is, and what the current role may do with it. Read from the catalogs
/// only (which every role can read), so inspecting never fails for lack of privileges.
struct JournalSchema {
  enum State: Equatable {
    /// No schema `pgphase`.
    case absent
    /// An empty schema `pgphase` (made for pgphase by an administrator, say): pgphase creates
    /// its journal in it.
    case empty
    /// The journal: `pgphase.schema_version` of the journal's shape is there.
    case journal
    /// Something else, holding these objects.
    case foreign([String])
  }

  var state: State
  /// The journal's owner (of its tables; of the schema when it has none), and whether the current
  /// role has the privileges of both that owner and the schema's.
  var owner: String
  var ownedByRole: Bool
  /// The current role and database.
  var role: String
  var database: String
  /// USAGE and CREATE on the schema.
  var usage: Bool
  var create: Bool
  /// Tables of the journal the role cannot read / cannot write.
  var unreadable: [String]
  var unwritable: [String]
  /// `pgphase.transfer_journal` exists (journal version 5 or later).
  var canTransfer: Bool

  /// The journal's mark: `pgphase.schema_version (version integer, applied_at timestamptz)`,
  /// which every pgphase journal has had since version 1.
  static let markerShape = "version:integer,applied_at:timestamp with time zone"

  static func inspect(on c: Connection) throws -> JournalSchema {
    guard
      let row = try c.execute(
        """
        WITH j AS (
          -- The journal's owner: its tables' (the steps table's when there is one), else the schema's.
          SELECT n.*, coalesce((SELECT c.relowner FROM pg_class c WHERE c.relnamespace = n.oid
                                  AND c.relname IN ('steps', 'schema_version') AND c.relkind = 'r'
                                ORDER BY c.relname = 'steps' DESC LIMIT 1), n.nspowner) AS journal_owner
          FROM pg_namespace n WHERE n.nspname = 'pgphase'
        )
        SELECT n.journal_owner::regrole::text AS owner,
               pg_has_role(n.nspowner, 'USAGE') AND pg_has_role(n.journal_owner, 'USAGE') AS owned,
               has_schema_privilege(n.oid, 'USAGE') AS usage, has_schema_privilege(n.oid, 'CREATE') AS "create",
               current_user::text AS role, current_database()::text AS db,
               (SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
                  FROM pg_class v JOIN pg_attribute a ON a.attrelid = v.oid AND a.attnum > 0 AND NOT a.attisdropped
                  WHERE v.relnamespace = n.oid AND v.relname = 'schema_version' AND v.relkind = 'r') AS marker,
               (SELECT coalesce(array_agg(o ORDER BY o), '{}')::text FROM (
                  SELECT CASE c.relkind WHEN 'r' THEN 'table ' WHEN 'v' THEN 'view ' WHEN 'i' THEN 'index '
                           WHEN 'S' THEN 'sequence ' ELSE 'relation ' END || c.relname AS o
                  FROM pg_class c WHERE c.relnamespace = n.oid
                  UNION ALL SELECT 'function ' || p.proname FROM pg_proc p WHERE p.pronamespace = n.oid
                  UNION ALL SELECT 'type ' || t.typname FROM pg_type t
                    WHERE t.typnamespace = n.oid AND t.typrelid = 0 AND t.typcategory <> 'A') objects) AS objects,
               (SELECT coalesce(array_agg(c.relname ORDER BY c.relname), '{}')::text FROM pg_class c
                  WHERE c.relnamespace = n.oid AND c.relkind = 'r' AND NOT has_table_privilege(c.oid, 'SELECT')) AS unreadable,
               (SELECT coalesce(array_agg(c.relname ORDER BY c.relname), '{}')::text FROM pg_class c
                  WHERE c.relnamespace = n.oid AND c.relkind = 'r' AND NOT (has_table_privilege(c.oid, 'INSERT')
                    AND has_table_privilege(c.oid, 'UPDATE') AND has_table_privilege(c.oid, 'DELETE'))) AS unwritable,
               EXISTS (SELECT 1 FROM pg_proc p WHERE p.pronamespace = n.oid AND p.proname = 'transfer_journal') AS transfer
        FROM j n
        """
      ).first
    else {
      let me = try c.execute("SELECT current_user::text AS role, current_database()::text AS db").first
      return JournalSchema(
        state: .absent, owner: "", ownedByRole: false, role: me?["role"] ?? "?", database: me?["db"] ?? "?", usage: false,
        create: false, unreadable: [], unwritable: [], canTransfer: false)
    }
    let objects = parseTextArray(row["objects"] ?? "{}")
    let state: State =
      row["marker"] == markerShape ? .journal : objects.isEmpty ? .empty : .foreign(objects)
    return JournalSchema(
      state: state, owner: row["owner"] ?? "?", ownedByRole: try row.bool("owned") ?? false, role: row["role"] ?? "?",
      database: row["db"] ?? "?", usage: try row.bool("usage") ?? false, create: try row.bool("create") ?? false,
      unreadable: parseTextArray(row["unreadable"] ?? "{}"), unwritable: parseTextArray(row["unwritable"] ?? "{}"),
      canTransfer: try row.bool("transfer") ?? false)
  }

  /// The refusal for a role that cannot read (or, unless `readOnly`, write) the journal; nil when it can.
  func accessProblem(readOnly: Bool) -> JournalProblem? {
    guard state == .journal else { return nil }
    if usage && unreadable.isEmpty && (readOnly || unwritable.isEmpty) { return nil }
    return .noAccess(role: role, owner: owner, readOnly: readOnly, canTransfer: canTransfer)
  }
}

extension Journal {
  /// Version 5: the journal marks itself (a comment on the schema, beside `schema_version`), and
  /// `pgphase.transfer_journal(new_owner)` hands the whole journal (the schema and its tables,
  /// sequences and functions) to another role, such as the role that owns the app's tables, so
  /// that role runs every command, journal upgrades included. Run it as the journal's owner or a
  /// superuser: `SELECT pgphase.transfer_journal('app_owner');`. Grants made on the journal (an
  /// app role's USAGE, for `check_compatible`) are kept.
  static let accessMigration = """
    COMMENT ON SCHEMA pgphase IS 'pgphase journal: which schema changes ran here (see pgphase.schema_version)';
    CREATE FUNCTION pgphase.transfer_journal(new_owner regrole) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
      r record;
    BEGIN
      EXECUTE format('ALTER SCHEMA pgphase OWNER TO %s', new_owner);
      -- Tables take their indexes and the sequences their columns own along.
      FOR r IN
        SELECT c.oid::regclass AS rel FROM pg_class c
        WHERE c.relnamespace = 'pgphase'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                            AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
      LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO %s', r.rel, new_owner);
      END LOOP;
      FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p WHERE p.pronamespace = 'pgphase'::regnamespace LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO %s', r.fn, new_owner);
      END LOOP;
    END
    $fn$;
    REVOKE EXECUTE ON FUNCTION pgphase.transfer_journal(regrole) FROM PUBLIC;
    """

  /// Creates the journal where there is none (or in an empty schema `pgphase` made for it), after
  /// checking that the schema is pgphase's and that the role may use it. Nothing is written into
  /// a schema `pgphase` that pgphase did not create.
  static func prepare(on c: Connection) throws -> JournalSchema {
    let schema = try JournalSchema.inspect(on: c)
    switch schema.state {
    case .foreign(let objects):
      throw ExecutorError.journalUnusable(.foreignSchema(objects: objects))
    case .absent:
      let canCreate =
        try c.execute("SELECT has_database_privilege(current_database(), 'CREATE')").scalarBool() ?? false
      guard canCreate else { throw ExecutorError.journalUnusable(.cannotCreate(role: schema.role, database: schema.database)) }
      try createMarked(on: c, schema: true)
    case .empty:
      guard schema.ownedByRole else {
        throw ExecutorError.journalUnusable(.emptySchemaNotOwned(role: schema.role, owner: schema.owner))
      }
      try createMarked(on: c, schema: false)
    case .journal:
      if let problem = schema.accessProblem(readOnly: false) { throw ExecutorError.journalUnusable(problem) }
      return schema
    }
    return try JournalSchema.inspect(on: c)
  }

  private static func createMarked(on c: Connection, schema: Bool) throws {
    try c.transaction { c in
      if schema { try c.execute("CREATE SCHEMA pgphase") }
      try c.execute(
        "CREATE TABLE pgphase.schema_version (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
    }
  }

  /// Whether a journal exists that the role can read (status, verify and check only read).
  /// - Throws: `ExecutorError.journalUnusable` for a schema `pgphase` pgphase did not create, or
  ///   a journal the role cannot read, with what to grant.
  package static func exists(on connection: Connection) throws -> Bool {
    let schema = try JournalSchema.inspect(on: connection)
    switch schema.state {
    case .absent, .empty: return false
    case .foreign(let objects): throw ExecutorError.journalUnusable(.foreignSchema(objects: objects))
    case .journal:
      if let problem = schema.accessProblem(readOnly: true) { throw ExecutorError.journalUnusable(problem) }
      return true
    }
  }
}
