import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// A role made for one test (`LOGIN NOSUPERUSER`), dropped with everything it owns afterwards.
/// scripts/with-pg trusts every role on its socket, so `dsn` connects as it without a password.
final class TestRole {
  let name: String
  let dsn: String
  private let database: TestDatabase

  init(_ prefix: String, in database: TestDatabase, attributes: String = "LOGIN") throws {
    let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(10)
    name = "\(prefix)_\(suffix)"
    self.database = database
    dsn = database.conninfo + " user=\(name)"
    try database.connection.execute("CREATE ROLE \(name) NOSUPERUSER \(attributes)")
  }

  /// Runs `sql` as this role on the test's admin connection (SET ROLE), then goes back.
  func run(_ sql: String) throws {
    let c = database.connection
    try c.execute("SET ROLE \(name)")
    defer { _ = try? c.execute("RESET ROLE") }
    try c.executeScript(sql)
  }

  /// Drops the role: call after the database is dropped (it may own objects only there).
  static func drop(_ names: [String]) {
    guard let admin = try? TestServer.connectAdmin() else { return }
    defer { admin.close() }
    for name in names { _ = try? admin.execute("DROP ROLE IF EXISTS \(name)") }
  }
}

/// A LOGIN role that owns the test database (so it may create the journal and, in PostgreSQL 15
/// and later, objects in schema public), and with `examples` the example app's tables.
func databaseOwner(_ db: TestDatabase, _ roles: inout [String], examples: Bool = true) throws -> TestRole {
  let owner = try TestRole("pgphase_owner", in: db)
  roles.append(owner.name)
  try db.connection.execute("ALTER DATABASE \(db.name) OWNER TO \(owner.name)")
  // The schema ends with a database-wide ANALYZE, which warns about every shared catalog a
  // non-superuser may not analyze: quiet.
  if examples {
    try owner.run("SET client_min_messages = error;\n" + (try String(contentsOfFile: schemaFile, encoding: .utf8)))
    try db.connection.execute("RESET client_min_messages")
  }
  return owner
}

/// Runs `body` with a fresh database, and drops the roles it made once the database is gone.
func withRoles(_ body: (TestDatabase, inout [String]) throws -> Void) throws {
  var roles: [String] = []
  defer { TestRole.drop(roles) }
  try withTestDatabase { db in try body(db, &roles) }
}

/// pgphase run as the role that owns the app's tables, not a superuser.
@Suite("Privileges", .serialized, .enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct PrivilegeTests {
  /// A schema named `pgphase` that pgphase did not create is refused, and nothing is written into it.
  @Test func aForeignSchemaNamedPgphaseIsRefusedUntouched() throws {
    try withTestDatabase { db in
      let c = db.connection
      try c.executeScript("CREATE SCHEMA pgphase; CREATE TABLE pgphase.settings (k text PRIMARY KEY, v text)")
      let lp = try testPlan("t_foreign", [sqlStep("expand/01-a", ["CREATE TABLE a (x int)"])])
      let error = #expect(throws: ExecutorError.self) { try makeExecutor(db).apply(phase: .expand, intents: nil, plans: [lp]) }
      #expect("\(try #require(error))".contains("schema pgphase"), "\(String(describing: error))")
      #expect(
        try c.execute(
          "SELECT array_agg(relname ORDER BY relname)::text FROM pg_class WHERE relnamespace = 'pgphase'::regnamespace"
        )
        .scalar == "{settings,settings_pkey}")
      #expect(try c.execute("SELECT to_regclass('public.a') IS NULL").scalarBool() == true)
    }
  }

  /// The journal created by a superuser is handed to the table owner with one statement; before
  /// that, the owner is told which statement to run (not `permission denied for schema pgphase`).
  @Test func aJournalCreatedByASuperuserIsHandedOverWithOneStatement() throws {
    _ = try pgphaseBinary()
    try withRoles { db, roles in
      let owner = try databaseOwner(db, &roles)
      // The superuser runs expand of the first intent (and so creates the journal).
      let plans = try LoadedPlan.loadAll(from: plansDir).filter { $0.plan.intent == "20261120_incident_severity" }
      try makeExecutor(db).apply(phase: .expand, intents: nil, plans: plans)

      let before = try runPGPhase(["status", "--dsn", owner.dsn, plansDir])
      #expect(before.status != 0)
      #expect(before.stderr.contains("pgphase.transfer_journal"), "\(before.stderr)")

      try db.connection.execute("SELECT pgphase.transfer_journal($1)", [owner.name])
      for args in [
        ["status", plansDir], ["apply", "--phase", "backfill", "--intent", "20261120_incident_severity", plansDir],
        ["advance", "--to", "backfill", "--intent", "20261121_checks_endpoint", plansDir], ["verify"],
        ["check", "--release", plansDir],
      ] {
        let result = try runPGPhase(args + ["--dsn", owner.dsn])
        // check finds later intents not applied (exit 1); everything else succeeds.
        #expect(result.status == (args[0] == "check" ? 1 : 0), "\(args): \(result.stdout)\(result.stderr)")
        #expect(!result.stderr.contains("permission denied"), "\(args): \(result.stderr)")
      }
      let rollback = try runPGPhase(["rollback", "--intent", "20261121_checks_endpoint", "--dsn", owner.dsn, plansDir])
      #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
      // What the superuser created stays the superuser's: its undo is refused up front, with the
      // statement that would let the owner drop it.
      let refused = try runPGPhase(["rollback", "--intent", "20261120_incident_severity", "--dsn", owner.dsn, plansDir])
      #expect(refused.status == 1)
      #expect(
        refused.stderr.contains("ALTER TABLE public.incident_updates OWNER TO \(owner.name);"), "\(refused.stderr)")
      #expect(try db.connection.execute("SELECT to_regclass('public.incident_updates') IS NOT NULL").scalarBool() == true)
    }
  }

  /// A privilege a step needs, missing: the intent, what the role lacks, and the statement
  /// pgphase must name (with `%app%` and `%other%` for the roles).
  struct Missing: Sendable, CustomStringConvertible {
    var what: String
    var intent: String
    var grant: String
    /// Run the phases up to this one (a backfill operation has no expand steps).
    var phase: Phase = .expand
    var description: String { what }
  }

  static let missing: [Missing] = [
    Missing(
      what: "CREATE on the schema (a trigger function)",
      intent: "  - alter_column: {table: t, column: v, type: bigint, up: \"v::bigint\", down: \"v::integer\"}",
      grant: "GRANT CREATE ON SCHEMA public TO %app%;"),
    Missing(
      what: "CREATE on the schema (a table)",
      intent: "  - create_table: {table: fresh, columns: [{name: id, type: bigint, primary_key: true}]}",
      grant: "GRANT CREATE ON SCHEMA public TO %app%;"),
    Missing(
      what: "ownership of the table", intent: "  - add_column: {table: o, column: {name: extra, type: int}}",
      grant: "GRANT %other% TO %app%;"),
    Missing(
      what: "ownership of the table (an index)", intent: "  - create_index: {table: o, name: o_v_idx, columns: [v]}",
      grant: "GRANT %other% TO %app%;"),
    Missing(
      what: "CREATE on the schema (an index)", intent: "  - create_index: {table: t, name: t_v_idx, columns: [v]}",
      grant: "GRANT CREATE ON SCHEMA public TO %app%;"),
    Missing(
      what: "REFERENCES on the referenced table",
      intent:
        "  - add_foreign_key: {table: t, name: t_r_fkey, columns: [r_id], references: {table: r, columns: [id]}}",
      grant: "GRANT REFERENCES ON TABLE public.r TO %app%;"),
    Missing(
      what: "USAGE on the schema", intent: "  - add_column: {table: private.p, column: {name: extra, type: int}}",
      grant: "GRANT USAGE ON SCHEMA private TO %app%;"),
    Missing(
      what: "UPDATE for a backfill", intent: "  - backfill: {table: o, set: {v: \"id * 2\"}}",
      grant: "GRANT UPDATE ON TABLE public.o TO %app%;", phase: .backfill),
  ]

  /// Each privilege a step needs, missing: the phase is refused before its first step with the
  /// GRANT named, and nothing changes (catalog, data, journal); once that GRANT is run, the same
  /// phase goes through (the statement named is the one needed).
  @Test(arguments: missing)
  func aMissingPrivilegeIsRefusedUpFrontWithTheGrantNamed(_ m: Missing) throws {
    try withRoles { db, roles in
      let app = try TestRole("pgphase_app", in: db)
      let other = try TestRole("pgphase_other", in: db, attributes: "NOLOGIN")
      roles += [app.name, other.name]
      let c = db.connection
      try c.executeScript(
        """
        REVOKE CREATE ON SCHEMA public FROM PUBLIC;
        CREATE TABLE t (id bigint PRIMARY KEY, v int, r_id bigint);
        CREATE TABLE r (id bigint PRIMARY KEY);
        CREATE TABLE o (id bigint PRIMARY KEY, v int);
        CREATE SCHEMA private;
        CREATE TABLE private.p (id bigint PRIMARY KEY);
        INSERT INTO t SELECT g, g, NULL FROM generate_series(1, 20) g;
        INSERT INTO o SELECT g, g FROM generate_series(1, 20) g;
        ALTER TABLE t OWNER TO \(app.name);
        ALTER TABLE r OWNER TO \(other.name);
        ALTER TABLE o OWNER TO \(other.name);
        ALTER SCHEMA private OWNER TO \(other.name);
        ALTER TABLE private.p OWNER TO \(other.name);
        GRANT SELECT ON o TO \(app.name);
        CREATE SCHEMA pgphase AUTHORIZATION \(app.name);
        """)
      let lp = try planIntent("20260101_needs", "schema: public\nchanges:\n" + m.intent)
      let runner = Executor(dsn: app.dsn, output: { _ in }, log: { _ in })
      // The journal, created by the runner itself in the schema made for it.
      try runner.apply(phase: .expand, intents: nil, plans: [try testPlan("t_first", [])])
      #expect(
        try c.execute("SELECT relowner::regrole::text FROM pg_class WHERE oid = 'pgphase.steps'::regclass").scalar == app.name)
      let before = try OwnershipTests.snapshot(c)
      let grant = m.grant.replacingOccurrences(of: "%app%", with: app.name).replacingOccurrences(of: "%other%", with: other.name)

      let error = #expect(throws: ExecutorError.self) { try runner.advance(intents: nil, to: m.phase, plans: [lp]) }
      guard case .refusedBeforeStart(_, _, let problems)? = error else {
        Issue.record("\(m.what): \(String(describing: error))")
        return
      }
      #expect(problems.contains { $0.kind == .privilegeMissing && $0.grant == grant }, "\(m.what): \(problems)")
      #expect(try OwnershipTests.snapshot(c) == before, "\(m.what): nothing changed")

      for problem in problems { try c.executeScript(problem.grant ?? "") }
      try runner.advance(intents: nil, to: m.phase, plans: [lp])
      let journal = try Journal.steps(intent: lp.plan.intent, on: c)[lp.plan.intent] ?? [:]
      #expect(!journal.isEmpty && journal.values.allSatisfy { $0.state == .done }, "\(m.what): \(journal)")
    }
  }

  /// The acceptance run: a role without superuser that owns the app's tables (and the database,
  /// so it creates the journal itself) runs every example intent through contract with the CLI,
  /// rolls one back and applies it again, and reads status, verify and check.
  @Test func theTableOwnerRunsEveryExampleThroughContract() throws {
    _ = try pgphaseBinary()
    try withRoles { db, roles in
      let owner = try databaseOwner(db, &roles)
      #expect(
        try db.connection.execute("SELECT rolsuper FROM pg_roles WHERE rolname = $1", [owner.name]).scalarBool() == false)
      func run(_ args: [String], expect status: Int32 = 0) throws {
        let result = try runPGPhase(args + ["--dsn", owner.dsn])
        #expect(result.status == status, "\(args): \(result.stdout)\(result.stderr)")
        #expect(!result.stderr.contains("permission denied"), "\(args): \(result.stderr)")
      }
      try run(["advance", "--to", "backfill", plansDir])
      try run(["status", plansDir])
      try run(["rollback", "--intent", "20261130_status_subscribers", plansDir])
      try run(["check", "--release", plansDir], expect: 1)
      try run(["advance", "--to", "contract", plansDir])
      try run(["status", plansDir])
      try run(["verify"])
      try run(["check", "--release", plansDir])
      let steps = try LoadedPlan.loadAll(from: plansDir).reduce(0) { $0 + $1.plan.allSteps.count }
      #expect(try db.connection.execute("SELECT count(*) FROM pgphase.steps WHERE state = 'done'").scalarInt() == steps)
      #expect(try db.connection.execute("SELECT count(*) FROM pgphase.steps WHERE state <> 'done'").scalarInt() == 0)
      #expect(
        try db.connection.execute(
          "SELECT count(*) FROM pgphase.steps WHERE intent = '20261130_status_subscribers' AND attempts = 2"
        ).scalarInt() ?? 0 > 0, "rolled back, then applied again")
      #expect(
        try db.connection.execute(
          "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relowner <> $1::regrole",
          [owner.name]
        ).scalarInt() == 0, "everything pgphase made belongs to the owner")
    }
  }

  /// A journal another role owns and this pgphase must upgrade: refused with who can upgrade it,
  /// before anything is written; once its owner ran pgphase (the upgrade), the transfer works.
  @Test func anUpgradeTheRoleCannotMakeIsRefusedWithWhoCan() throws {
    try withRoles { db, roles in
      let owner = try databaseOwner(db, &roles, examples: false)
      try makeExecutor(db).apply(phase: .expand, intents: nil, plans: [try testPlan("t_first", [])])
      try OwnershipTests.downgradeJournalToVersion3(db.connection)
      try db.connection.executeScript(
        "GRANT USAGE ON SCHEMA pgphase TO \(owner.name); GRANT ALL ON ALL TABLES IN SCHEMA pgphase TO \(owner.name)")
      let runner = Executor(dsn: owner.dsn, output: { _ in }, log: { _ in })
      let error = #expect(throws: ExecutorError.self) {
        try runner.apply(phase: .expand, intents: nil, plans: [try testPlan("t_second", [])])
      }
      guard case .journalUnusable(.upgradeNeedsOwner(let role, _, 3, Journal.currentVersion))? = error else {
        Issue.record("\(String(describing: error))")
        return
      }
      #expect(role == owner.name)
      #expect(try db.connection.execute("SELECT max(version) FROM pgphase.schema_version").scalarInt() == 3)
      try makeExecutor(db).apply(phase: .expand, intents: nil, plans: [try testPlan("t_second", [])])
      try db.connection.execute("SELECT pgphase.transfer_journal($1)", [owner.name])
      try runner.apply(phase: .expand, intents: nil, plans: [try testPlan("t_third", [])])
      #expect(
        try db.connection.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'pgphase'").scalar
          == owner.name)
    }
  }
}
