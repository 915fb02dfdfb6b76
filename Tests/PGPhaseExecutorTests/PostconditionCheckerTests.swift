import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

private let t = QualifiedName(schema: "public", "incidents")

private func setUp(_ c: Connection) throws {
  try c.executeScript(
    """
    CREATE TYPE severity_level AS ENUM ('minor', 'major');
    CREATE DOMAIN short_code AS varchar(8);
    CREATE TABLE incidents (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      severity integer NOT NULL DEFAULT -1,
      kind text DEFAULT 'minor',
      title varchar(20),
      created_at timestamptz NOT NULL DEFAULT now(),
      tags text[] DEFAULT '{}',
      amount numeric(10,2) DEFAULT 1.50,
      level severity_level DEFAULT 'minor',
      code short_code,
      flag boolean DEFAULT true,
      seq_id integer DEFAULT nextval('incidents_seq')
    );
    """.replacingOccurrences(of: "seq_id integer DEFAULT nextval('incidents_seq')", with: "seq_id serial"))
  try c.execute("CREATE VIEW open_incidents AS SELECT * FROM incidents")
  try c.execute("CREATE INDEX incidents_title ON incidents (title)")
  try c.execute("CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")
  try c.execute("CREATE TRIGGER incidents_touch BEFORE UPDATE ON incidents FOR EACH ROW EXECUTE FUNCTION touch()")
}

private func expectHolds(_ p: Postcondition, _ c: Connection, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
  let result = try PostconditionChecker.check(p, on: c)
  #expect(result == .holds, "\(p.kind.rawValue): \(result)", sourceLocation: sourceLocation)
}

private func expectViolated(
  _ p: Postcondition, _ c: Connection, _ reason: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
) throws {
  let result = try PostconditionChecker.check(p, on: c)
  #expect(result.reason == reason, "\(result)", sourceLocation: sourceLocation)
}

@Suite(.enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct PostconditionCheckerTests {
  @Test func tablesAndViews() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try setUp(c)
      let view = QualifiedName(schema: "public", "open_incidents")
      let missing = QualifiedName(schema: "public", "nope")
      try expectHolds(.tableExists(t), c)
      try expectHolds(.tableExists(QualifiedName("incidents")), c)  // through search_path
      try expectViolated(.tableExists(missing), c, "table public.nope does not exist")
      try expectViolated(.tableExists(view), c, "public.open_incidents is a view, expected a table")
      try expectHolds(.tableAbsent(missing), c)
      try expectViolated(.tableAbsent(t), c, "table public.incidents still exists")
      try expectHolds(.viewExists(view), c)
      try expectViolated(.viewExists(t), c, "public.incidents is a table, expected a view")
      try expectViolated(.viewExists(missing), c, "view public.nope does not exist")
      try expectHolds(.viewAbsent(missing), c)
      try expectViolated(.viewAbsent(view), c, "view public.open_incidents still exists")
    }
  }

  @Test func columnExistenceAndAbsence() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try setUp(c)
      try expectHolds(.columnExists(t, "severity", type: nil, nullable: nil), c)
      try expectViolated(
        .columnExists(t, "nope", type: nil, nullable: nil), c, "column public.incidents.nope does not exist")
      try expectViolated(
        .columnExists(QualifiedName(schema: "public", "nope"), "x", type: nil, nullable: nil), c,
        "table public.nope does not exist")
      try expectHolds(.columnAbsent(t, "nope"), c)
      try expectViolated(.columnAbsent(t, "kind"), c, "column public.incidents.kind still exists")
      try c.execute("ALTER TABLE incidents DROP COLUMN kind CASCADE")
      try expectHolds(.columnAbsent(t, "kind"), c)  // attisdropped columns do not count
      try expectViolated(
        .columnExists(t, "kind", type: nil, nullable: nil), c, "column public.incidents.kind does not exist")
    }
  }

  @Test(arguments: [
    ("severity", "int"), ("severity", "integer"), ("severity", "int4"), ("severity", "INTEGER"),
    ("id", "bigint"), ("id", "int8"),
    ("title", "varchar(20)"), ("title", "character varying(20)"),
    ("created_at", "timestamptz"), ("created_at", "timestamp with time zone"),
    ("tags", "text[]"), ("tags", "_text"),
    ("amount", "numeric(10,2)"), ("amount", "decimal(10, 2)"),
    ("level", "severity_level"), ("level", "public.severity_level"),
    ("code", "short_code"),
    ("seq_id", "serial"), ("seq_id", "integer"),
  ])
  func columnTypeHolds(column: String, type: String) throws {
    try withTestDatabase { (db: TestDatabase) throws in
      try setUp(db.connection)
      try expectHolds(.columnExists(t, column, type: type, nullable: nil), db.connection)
    }
  }

  @Test func columnTypeViolations() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try setUp(c)
      try expectViolated(
        .columnExists(t, "severity", type: "text", nullable: nil), c,
        "column public.incidents.severity has type integer, expected text")
      try expectViolated(
        .columnExists(t, "title", type: "varchar(30)", nullable: nil), c,
        "column public.incidents.title has type character varying(20), expected character varying(30)")
      try expectViolated(
        .columnExists(t, "title", type: "text", nullable: nil), c,
        "column public.incidents.title has type character varying(20), expected text")
      try expectViolated(
        .columnExists(t, "amount", type: "numeric", nullable: nil), c,
        "column public.incidents.amount has type numeric(10,2), expected numeric")
      try expectViolated(
        .columnExists(t, "created_at", type: "timestamp", nullable: nil), c,
        "column public.incidents.created_at has type timestamp with time zone, expected timestamp without time zone")
      try expectViolated(
        .columnExists(t, "tags", type: "varchar[]", nullable: nil), c,
        "column public.incidents.tags has type text[], expected character varying[]")
      try expectViolated(
        .columnExists(t, "code", type: "varchar(8)", nullable: nil), c,
        "column public.incidents.code has type short_code, expected character varying(8)")
      let unknown = try PostconditionChecker.check(.columnExists(t, "severity", type: "no_such_type", nullable: nil), on: c)
      guard case .violated(let violation) = unknown else {
        Issue.record("expected a violation, got \(unknown)")
        return
      }
      #expect(violation.problem == .differs)
      #expect(
        violation.reason.hasPrefix(
          "column public.incidents.severity has type integer, expected no_such_type, which the server does not know"))
    }
  }

  @Test func nullability() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try setUp(c)
      try expectHolds(.columnExists(t, "severity", type: "integer", nullable: false), c)
      try expectHolds(.columnExists(t, "title", type: nil, nullable: true), c)
      try expectViolated(
        .columnExists(t, "title", type: nil, nullable: false), c,
        "column public.incidents.title is nullable, expected NOT NULL")
      try expectViolated(
        .columnExists(t, "severity", type: "text", nullable: true), c,
        "column public.incidents.severity has type integer, expected text; is NOT NULL, expected nullable")
    }
  }

  @Test(arguments: [
    ("kind", "'minor'"), ("kind", "'minor'::text"), ("severity", "-1"), ("severity", "'-1'"),
    ("created_at", "now()"), ("created_at", "NOW( )"), ("tags", "'{}'"), ("tags", "'{}'::text[]"),
    ("amount", "1.50"), ("amount", "1.5"), ("level", "'minor'"), ("flag", "true"), ("flag", "'t'"),
    ("seq_id", "nextval('incidents_seq_id_seq')"), ("seq_id", "nextval('incidents_seq_id_seq'::regclass)"),
  ])
  func defaultsThatMatch(column: String, expected: String) throws {
    try withTestDatabase { (db: TestDatabase) throws in
      try setUp(db.connection)
      try expectHolds(.columnDefault(t, column, expected), db.connection)
    }
  }

  /// Defaults the server rewrites beyond casts (an `interval` literal, operators parenthesised)
  /// are the same default as the plan wrote them; a different one still is not. Before the
  /// server's normaliser, verify reported drift for each of the first three.
  @Test func defaultsCompareInTheServersForm() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try c.executeScript(
        """
        CREATE SCHEMA app;
        CREATE SEQUENCE app.ticket_seq;
        CREATE TABLE tickets (
          due_at timestamptz DEFAULT now() + interval '1 day',
          opened date DEFAULT date '2026-01-01',
          big boolean DEFAULT (2 > 1 AND 3 IN (1, 2, 3)),
          ticket bigint DEFAULT nextval('app.ticket_seq')
        );
        """)
      let tickets = QualifiedName(schema: "public", "tickets")
      for (column, expected) in [
        ("due_at", "now() + interval '1 day'"), ("due_at", "(now() + '1 day'::interval)"),
        ("opened", "date '2026-01-01'"), ("opened", "'2026-01-01'"), ("big", "(2 > 1 AND 3 IN (1, 2, 3))"),
        ("ticket", "nextval('app.ticket_seq')"), ("ticket", "nextval('app.ticket_seq'::regclass)"),
      ] {
        try expectHolds(.columnDefault(tickets, column, expected), c)
      }
      try expectViolated(
        .columnDefault(tickets, "due_at", "now() + interval '2 days'"), c,
        "column public.tickets.due_at has default (now() + '1 day'::interval), expected now() + interval '2 days'")
      try expectViolated(
        .columnDefault(tickets, "opened", "date '2026-01-02'"), c,
        "column public.tickets.opened has default '2026-01-01'::date, expected date '2026-01-02'")
      try expectViolated(
        .columnDefault(tickets, "due_at", "nonsense("), c,
        "column public.tickets.due_at has default (now() + '1 day'::interval), expected nonsense( (which the server does not take as a default of timestamp with time zone: syntax error at end of input)"
      )
    }
  }

  @Test func defaultViolations() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try setUp(c)
      try expectViolated(
        .columnDefault(t, "kind", "'major'"), c, "column public.incidents.kind has default 'minor'::text, expected 'major'")
      try expectViolated(
        .columnDefault(t, "severity", "0"), c, "column public.incidents.severity has default '-1'::integer, expected 0")
      try expectViolated(
        .columnDefault(t, "amount", "2"), c, "column public.incidents.amount has default 1.50, expected 2")
      try expectViolated(
        .columnDefault(t, "created_at", "clock_timestamp()"), c,
        "column public.incidents.created_at has default now(), expected clock_timestamp()")
      try expectViolated(
        .columnDefault(t, "title", "'x'"), c, "column public.incidents.title has no default, expected default 'x'")
      try expectViolated(
        .columnDefault(t, "kind", nil), c, "column public.incidents.kind has default 'minor'::text, expected no default")
      try expectHolds(.columnDefault(t, "title", nil), c)
      try expectHolds(.columnDefault(t, "id", nil), c)  // identity is not a default
      try expectViolated(
        .columnDefault(t, "nope", nil), c, "column public.incidents.nope does not exist")
    }
  }

  @Test func checksInsideATransactionLeaveItUsable() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try setUp(c)
      try c.transaction { c in
        _ = try PostconditionChecker.check(.columnExists(t, "severity", type: "no_such_type", nullable: nil), on: c)
        _ = try PostconditionChecker.check(.columnDefault(t, "kind", "'a' + 1"), on: c)
        #expect(c.transactionStatus == .inTransaction)
        try c.execute("INSERT INTO incidents (severity) VALUES (1)")
      }
      #expect(try c.execute("SELECT count(*) FROM incidents").scalarInt() == 1)
    }
  }

  @Test func constraints() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try setUp(c)
      try c.execute("INSERT INTO incidents (severity) VALUES (-5)")
      try c.execute("ALTER TABLE incidents ADD CONSTRAINT severity_positive CHECK (severity > 0) NOT VALID")
      try c.execute("ALTER TABLE incidents ADD CONSTRAINT severity_small CHECK (severity < 100)")
      try expectHolds(.constraintExists(t, "severity_small", validated: true), c)
      try expectHolds(.constraintExists(t, "severity_positive", validated: false), c)
      try expectViolated(
        .constraintExists(t, "severity_positive", validated: true), c,
        "constraint severity_positive on public.incidents is NOT VALID (not validated)")
      try expectViolated(
        .constraintExists(t, "nope", validated: false), c, "constraint nope on public.incidents does not exist")
      try expectHolds(.constraintAbsent(t, "nope"), c)
      try expectViolated(
        .constraintAbsent(t, "severity_small"), c, "constraint severity_small on public.incidents still exists")
      try c.execute("DELETE FROM incidents")
      try c.execute("ALTER TABLE incidents VALIDATE CONSTRAINT severity_positive")
      try expectHolds(.constraintExists(t, "severity_positive", validated: true), c)
    }
  }

  @Test func indexes() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try setUp(c)
      let title = QualifiedName(schema: "public", "incidents_title")
      try expectHolds(.indexExists(title, on: t, unique: false), c)
      try expectHolds(.indexExists(QualifiedName("incidents_title"), on: t, unique: false), c)
      try expectViolated(
        .indexExists(title, on: t, unique: true), c, "index public.incidents_title is not unique, expected unique")
      try expectViolated(
        .indexExists(QualifiedName(schema: "public", "nope"), on: t, unique: false), c,
        "index public.nope does not exist")
      try c.execute("CREATE TABLE other (title text)")
      try expectViolated(
        .indexExists(title, on: QualifiedName(schema: "public", "other"), unique: false), c,
        "index public.incidents_title is on table incidents, expected public.other")
      try expectViolated(
        .indexExists(t, on: t, unique: false), c, "public.incidents is a table, expected an index")
      try expectHolds(.indexAbsent(QualifiedName(schema: "public", "nope")), c)
      try expectViolated(.indexAbsent(title), c, "index public.incidents_title still exists on incidents")
    }
  }

  @Test func failedConcurrentUniqueBuildIsReportedInvalid() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try setUp(c)
      try c.execute("INSERT INTO incidents (severity, title) VALUES (1, 'dup'), (2, 'dup')")
      let error = try #require(throws: PostgresError.self) {
        try c.executeAlone("CREATE UNIQUE INDEX CONCURRENTLY incidents_title_key ON incidents (title)")
      }
      #expect(error.sqlState == "23505")
      let index = QualifiedName(schema: "public", "incidents_title_key")
      try expectViolated(
        .indexExists(index, on: t, unique: true), c,
        "index public.incidents_title_key is invalid (indisvalid = false; a failed or interrupted concurrent build): drop it concurrently and build it again"
      )
      try expectViolated(.indexAbsent(index), c, "index public.incidents_title_key still exists (invalid) on incidents")
      let state = try #require(try Catalog(c).indexState(name: index))
      #expect(!state.valid)
      #expect(state.unique)
      #expect(state.definition == "CREATE UNIQUE INDEX incidents_title_key ON public.incidents USING btree (title)")
    }
  }

  @Test func triggers() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try setUp(c)
      try expectHolds(.triggerExists(t, "incidents_touch"), c)
      try expectHolds(.triggerAbsent(t, "nope"), c)
      try expectViolated(.triggerAbsent(t, "incidents_touch"), c, "trigger incidents_touch on public.incidents still exists")
      try c.execute("ALTER TABLE incidents DISABLE TRIGGER incidents_touch")
      try expectViolated(
        .triggerExists(t, "incidents_touch"), c, "trigger incidents_touch on public.incidents exists but is disabled")
      try c.execute("DROP TRIGGER incidents_touch ON incidents")
      try expectViolated(
        .triggerExists(t, "incidents_touch"), c, "trigger incidents_touch on public.incidents does not exist")
      try expectHolds(.triggerAbsent(t, "incidents_touch"), c)
      // Internal triggers (a foreign key's) are not user triggers.
      try c.execute("CREATE TABLE child (incident bigint REFERENCES incidents (id))")
      let internalTrigger = try #require(
        try c.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'child'::regclass AND tgisinternal LIMIT 1").scalar)
      try expectHolds(.triggerAbsent(QualifiedName(schema: "public", "child"), internalTrigger), c)
    }
  }

  @Test func functions() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try setUp(c)
      try c.execute("CREATE FUNCTION twice(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2'")
      try c.execute("CREATE FUNCTION twice(text) RETURNS text LANGUAGE sql AS 'SELECT $1 || $1'")
      try expectHolds(.functionExists(QualifiedName(schema: "public", "touch")), c)
      try expectHolds(.functionExists(QualifiedName("twice")), c)
      try expectViolated(.functionExists(QualifiedName(schema: "public", "nope")), c, "function public.nope does not exist")
      try expectViolated(.functionExists(QualifiedName(schema: "other", "touch")), c, "function other.touch does not exist")
      try expectHolds(.functionAbsent(QualifiedName("nope")), c)
      try expectViolated(.functionAbsent(QualifiedName("twice")), c, "function twice still exists (2 overloads)")
      try expectViolated(.functionAbsent(QualifiedName(schema: "public", "touch")), c, "function public.touch still exists")
    }
  }

  @Test func noRowsMatch() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      let c = db.connection
      try setUp(c)
      try c.execute("INSERT INTO incidents (severity, title) VALUES (1, NULL), (2, 'a')")
      try c.execute("INSERT INTO incidents (severity, title) VALUES (3, NULL)")
      try expectViolated(
        .noRowsMatch(t, "title IS NULL"), c, "rows of public.incidents still match title IS NULL")
      // Counting (the form used after a backfill, expected to hold) says how many.
      #expect(
        try PostconditionChecker.check(.noRowsMatch(t, "title IS NULL"), on: c, countRows: true)
          == .violated(.init(.rowsPending, "2 rows of public.incidents still match title IS NULL")))
      try c.execute("UPDATE incidents SET title = 'c' WHERE severity = 3")
      #expect(
        try PostconditionChecker.check(.noRowsMatch(t, "title IS NULL"), on: c, countRows: true)
          == .violated(.init(.rowsPending, "1 row of public.incidents still matches title IS NULL")))
      try c.execute("UPDATE incidents SET title = 'b' WHERE title IS NULL")
      try expectHolds(.noRowsMatch(t, "title IS NULL"), c)
      #expect(try PostconditionChecker.check(.noRowsMatch(t, "title IS NULL"), on: c, countRows: true) == .holds)
      let gone = try PostconditionChecker.check(.noRowsMatch(t, "nope IS NULL"), on: c)
      #expect(
        gone
          == .violated(
            .init(.uncheckable, "cannot check rows of public.incidents against nope IS NULL: column \"nope\" does not exist")))
      #expect(throws: PostgresError.self) { try PostconditionChecker.check(.noRowsMatch(t, "1/0 = 1"), on: c) }
    }
  }

  @Test func uncheckedHolds() throws {
    try withTestDatabase { (db: TestDatabase) throws in
      #expect(try PostconditionChecker.check(.unchecked, on: db.connection) == .holds)
    }
  }
}
