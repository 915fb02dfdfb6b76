import Foundation
import PGPhaseCatalog
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

private typealias S = SchemaSnapshot

private func read(_ database: TestDatabase) throws -> CatalogSchema {
  try CatalogSchemaReader(database.connection).read()
}

private let customers = QualifiedName(schema: "public", "customers")
private let invoices = QualifiedName(schema: "billing", "invoices")

/// `text` equals the committed file at `path`; `PGPHASE_RECORD=1` rewrites the file and fails,
/// so a run can never pass by recording.
private func expectGolden(_ text: String, _ path: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
  if ProcessInfo.processInfo.environment["PGPHASE_RECORD"] == "1" {
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    Issue.record(
      "PGPHASE_RECORD=1: rewrote \(path); recording runs always fail, rerun without it", sourceLocation: sourceLocation)
    return
  }
  let golden = try String(contentsOfFile: path, encoding: .utf8)
  #expect(
    text == golden, "\(path) is not the dump: run `PGPHASE_RECORD=1 scripts/with-pg swift test --filter CatalogReaderTests`",
    sourceLocation: sourceLocation)
}

@Suite(.enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct CatalogReaderTests {
  /// The promise of `schema dump`: dump, load the dump into an empty database, dump again: the
  /// same bytes, and the same snapshot. On the broad fixture (every object kind) and the example
  /// app's schema (which has seed data).
  @Test(arguments: ["broad", "examples"])
  func dumpLoadDumpIsByteIdentical(_ which: String) throws {
    try withTestDatabase { original in
      let tools = try PostgresTools.matching(original.connection)
      for file in fixtureFiles(which, serverVersion: original.connection.serverVersionNumber) {
        try tools.load(file, into: original)
      }
      let first = try schemaDump(original)
      let snapshot = try read(original).snapshot
      #expect(first == snapshot.canonicalSQL())
      try withTestDatabase { copy in
        try tools.load(sql: first, into: copy)
        let second = try schemaDump(copy)
        #expect(second == first, "the dump of the reloaded dump differs")
        let reloaded = try read(copy).snapshot
        let same = reloaded == snapshot
        #expect(same, "\(explain(snapshot, reloaded))")
      }
      // pgphase's journal schema and everything in it stays out.
      #expect(!first.contains("pgphase.") && !first.contains("SCHEMA pgphase"))
      #expect(!snapshot.schemas.contains("pgphase"))
      #expect(snapshot.tables.allSatisfy { $0.name.schema != "pgphase" })
      #expect(snapshot.views.allSatisfy { $0.name.schema != "pgphase" })
      #expect(snapshot.functions.allSatisfy { $0.name.schema != "pgphase" })
      if which == "broad", original.connection.serverVersionNumber / 10000 == 15 {
        try expectGolden(first, fixture("broad.schema.sql"))
      }
      if which == "broad" {
        // Extensions are named, what they own is not.
        #expect(snapshot.extensions.keys == ["btree_gist", "citext"])
        #expect(!first.contains("FUNCTION public.citext"))
      }
    }
  }

  /// Each index renders back to exactly what the server prints for it, so nothing of its
  /// definition is lost on the way into the snapshot (a lost DESC or opclass would still round
  /// trip, but not match here).
  @Test func indexesRenderAsTheServerPrintsThem() throws {
    try withTestDatabase { db in
      let tools = try PostgresTools.matching(db.connection)
      for file in broadFixtures(serverVersion: db.connection.serverVersionNumber) { try tools.load(file, into: db) }
      let snapshot = try read(db).snapshot
      try db.connection.execute("SET search_path = ''")
      var seen = 0
      func check(_ index: S.Index, on relation: QualifiedName, partitioned: Bool) throws {
        let live = try db.connection.execute(
          "SELECT pg_get_indexdef(to_regclass($1))", [relation.sibling(index.name).sql]
        ).scalar
        #expect(index.createStatement(on: relation, only: partitioned) == live)
        seen += 1
      }
      for table in snapshot.tables {
        for index in table.indexes { try check(index, on: table.name, partitioned: table.partitionKey != nil) }
      }
      for view in snapshot.views {
        for index in view.indexes { try check(index, on: view.name, partitioned: false) }
      }
      #expect(seen == 17)  // every index of the fixture (those backing constraints are constraints)
    }
  }

  /// What the snapshot says about the fixture, object kind by object kind.
  @Test func theSnapshotHoldsWhatTheCatalogHas() throws {
    try withTestDatabase { db in
      let tools = try PostgresTools.matching(db.connection)
      let version = db.connection.serverVersionNumber
      for file in broadFixtures(serverVersion: version) { try tools.load(file, into: db) }
      let snapshot = try read(db).snapshot
      let c = try #require(snapshot.tables[customers])
      let id = try #require(c.column("id"))
      #expect(id.identity?.kind == .always)
      #expect(id.identity?.sequence == QualifiedName(schema: "public", "customers_id_seq"))
      #expect(id.identity?.options.start == 100 && id.identity?.options.increment == 10)
      #expect(id.isNotNull && id.defaultExpression == nil)
      #expect(c.column("name")?.collation == QualifiedName(schema: "pg_catalog", "C"))
      #expect(c.column("handle")?.type == "character varying(40)")
      #expect(c.column("moods")?.type == "public.mood[]")
      #expect(c.column("Weird \"Name\"")?.defaultExpression == "public.add_one(41)")
      #expect(c.column("name_upper")?.generated == .init(expression: "upper(name)", stored: true, columns: ["name"]))
      #expect(c.column("email")?.comment == "Login, case-insensitive")
      #expect(c.replicaIdentity == .full)
      #expect(c.constraints["customers_pkey"]?.kind == .primaryKey)
      #expect(c.constraints["customers_email_key"]?.comment == "One account per email")
      #expect(c.triggers["customers_touch"]?.columns == ["name", "email"])
      #expect(c.triggers["customers_audit"]?.enabled == .disabled)
      #expect(c.triggers["customers_replica"]?.enabled == .replica)
      #expect(c.triggers["customers_always"]?.enabled == .always)
      #expect(
        c.indexes["customers_created_desc_idx"]?.keys == [
          .init(column: "created_at", options: "DESC NULLS LAST"), .init(column: "id", options: "NULLS FIRST"),
        ])
      #expect(c.indexes["customers_lower_name_idx"]?.keys == [.init(expression: "lower(name)", options: "text_pattern_ops")])
      #expect(c.indexes["customers_handle_partial_idx"]?.include == ["email"])
      #expect(c.indexes["customers_handle_partial_idx"]?.columns == ["email", "handle", "feeling"])
      #expect(c.indexes["customers_handle_nnd_idx"]?.nullsNotDistinct == true)
      #expect(c.indexes["customers_doc_gist"]?.keys.first?.options == "tsvector_ops (siglen='100')")
      #expect(c.statistics[QualifiedName(schema: "public", "customers_stats")]?.columns == ["handle", "feeling"])

      let i = try #require(snapshot.tables[invoices])
      #expect(i.options == [.init(name: "fillfactor", value: "90")])
      #expect(i.column("id")?.defaultExpression == "nextval('billing.invoices_id_seq'::regclass)")
      let fk = try #require(i.constraints["invoices_customer_fkey"])
      #expect(fk.references == .init(table: customers, columns: ["id"]))
      #expect(fk.deferrable && !fk.initiallyDeferred)
      #expect(i.constraints["invoices_note_short"]?.validated == false)
      #expect(i.constraints["invoices_number_key"]?.initiallyDeferred == true)
      #expect(i.constraints["invoices_no_overlap"]?.kind == .exclusion)
      #expect(i.constraints["invoices_status_known"]?.definition.hasSuffix("NO INHERIT") == true)
      let expressionStats = try #require(i.statistics[QualifiedName(schema: "billing", "invoice_expr_stats")])
      #expect(expressionStats.target == 500 && expressionStats.columns == ["amount", "status"])
      #expect(i.statistics[QualifiedName(schema: "public", "invoice_mcv")] != nil)
      let lines = try #require(snapshot.tables[QualifiedName(schema: "Mixed Case", "Order Lines")])
      #expect(lines.replicaIdentity == .index("Order Lines_pkey"))
      #expect(
        lines.constraints["Order Lines_pkey"]?.definition == "PRIMARY KEY (\"Line ID\") INCLUDE (\"Qty\") WITH (fillfactor='80')")
      #expect(lines.column("Line ID")?.identity?.kind == .byDefault)

      #expect(
        snapshot.sequences[QualifiedName(schema: "billing", "invoices_id_seq")]?.ownedBy == .init(table: invoices, column: "id"))
      #expect(snapshot.sequences[QualifiedName(schema: "public", "customers_id_seq")] == nil)  // part of its identity column
      let numbers = try #require(snapshot.sequences[QualifiedName(schema: "billing", "invoice_number_seq")])
      #expect(
        numbers.options
          == .init(dataType: "integer", start: 1000, increment: 5, minValue: 10, maxValue: 99_999_999, cache: 10, cycle: true))
      #expect(snapshot.sequences[QualifiedName(schema: "public", "countdown")]?.options == .init(increment: -1))

      let m = try #require(snapshot.tables[QualifiedName(schema: "public", "measurements")])
      #expect(m.partitionKey == "RANGE (taken_at)")
      let m2027 = try #require(snapshot.tables[QualifiedName(schema: "public", "measurements_2027")])
      #expect(m2027.partitionOf?.parent == m.name)
      #expect(m2027.column("value")?.defaultExpression == "0")
      #expect(m2027.constraints["measurements_2027_pkey"]?.partitionOf == QualifiedName(schema: "public", "measurements_pkey"))
      #expect(
        m2027.indexes["measurements_2027_device_idx"]?.partitionOf == QualifiedName(schema: "public", "measurements_device_idx"))
      #expect(snapshot.tables[QualifiedName(schema: "public", "measurements_other")]?.partitionOf?.bound == "DEFAULT")
      // A partition's inherited foreign keys and triggers are its parent's, not its own.
      #expect(snapshot.tables[QualifiedName(schema: "public", "fkp_1")]?.constraints.contains { $0.kind == .foreignKey } == false)
      #expect(snapshot.tables[QualifiedName(schema: "public", "fkp_1")]?.triggers.isEmpty == true)
      #expect(snapshot.tables[QualifiedName(schema: "public", "reffkp")]?.constraints.count == 1)

      let totals = try #require(snapshot.views[QualifiedName(schema: "billing", "customer_totals")])
      #expect(totals.options == [.init(name: "security_barrier", value: "true")])
      #expect(
        totals.dependencies == [
          .init(relation: invoices, columns: ["amount", "customer_id"]),
          .init(relation: QualifiedName(schema: "public", "active_customers"), columns: ["email", "id"]),
        ])
      #expect(snapshot.views[QualifiedName(schema: "public", "open_invoices")]?.checkOption == "cascaded")
      #expect(
        snapshot.views[QualifiedName(schema: "public", "customer_counts")]?.dependencies == [
          .init(relation: customers, columns: [])
        ])
      #expect(snapshot.views[QualifiedName(schema: "public", "active_customers")]?.columnComments == ["email": "From customers"])
      #expect(snapshot.views[QualifiedName(schema: "public", "writable_customers")]?.triggers.keys == ["writable_customers_ins"])
      let revenue = try #require(snapshot.views[QualifiedName(schema: "billing", "daily_revenue")])
      #expect(revenue.materialized && revenue.indexes.keys == ["daily_revenue_day_idx"])

      guard case .domain(let posint) = snapshot.types[QualifiedName(schema: "public", "posint")]?.kind else {
        Issue.record("posint is not a domain")
        return
      }
      #expect(posint.notNull && posint.defaultExpression == "1")
      #expect(posint.checks.map(\.name) == ["posint_positive", "posint_small"])
      #expect(posint.checks.map(\.validated) == [true, false])
      #expect(posint.checks[1].definition == "CHECK ((VALUE < 1000000))")
      #expect(
        snapshot.types[QualifiedName(schema: "public", "mood")]?.kind
          == .enumeration(labels: ["sad", "ok", "happy", "it's complicated"]))
      let net = try #require(snapshot.functions.first { $0.name.name == "net" })
      #expect(net.arguments == "amount numeric, rate numeric DEFAULT 0.2")
      #expect(net.identityArguments == "amount numeric, rate numeric")
      #expect(net.volatility == .immutable && net.strict && net.parallel == .safe)
      let secure = try #require(snapshot.functions.first { $0.name.name == "secure_thing" })
      #expect(
        secure.configuration == [
          .init(name: "search_path", value: "pg_catalog, pg_temp"), .init(name: "work_mem", value: "64MB"),
        ])
      #expect(secure.cost == 5 && secure.rows == 10 && secure.securityDefiner && secure.leakproof)
      #expect(snapshot.functions.first { $0.name.name == "noop" }?.kind == .procedure)
      #expect(snapshot.functions.first { $0.name.name == "my_int4pl" }?.body == .source("int4pl"))
      if case .sqlBody(let body) = snapshot.functions.first(where: { $0.name.name == "add_one" })?.body {
        #expect(body == "RETURN (x + 1)")
      } else {
        Issue.record("add_one has no SQL-standard body")
      }

      // What depends on a column: the planner's carry-over list.
      #expect(
        snapshot.dependents(ofColumn: "email", in: customers).map(\.description) == [
          "index customers_handle_partial_idx", "trigger customers_touch", "unique constraint customers_email_key",
          "view public.active_customers",
        ])
      #expect(
        snapshot.dependents(ofColumn: "id", in: customers).map(\.description).contains(
          "foreign key invoices_customer_fkey of billing.invoices"))
      #expect(snapshot.dependents(ofColumn: "name", in: customers).map(\.description).contains("generated column name_upper"))

      if version >= 180000 {
        let v18 = try #require(snapshot.tables[QualifiedName(schema: "public", "v18")])
        #expect(v18.column("a")?.notNull == .init(name: "v18_a_named"))
        #expect(v18.column("b")?.notNull == .init(name: "v18_b_nn", validated: false))
        #expect(v18.column("b")?.isNotNull == false)
        #expect(v18.column("c")?.generated == .init(expression: "(a * 2)", stored: false, columns: ["a"]))
        #expect(v18.column("e")?.notNull == .init(name: "v18_e_not_null", noInherit: true))
        // A partition's NOT NULL keeps its parent's name on 18.
        #expect(m2027.column("id")?.notNull?.name == "measurements_id_not_null")
      } else {
        #expect(m2027.column("id")?.notNull?.name == "measurements_2027_id_not_null")
      }
    }
  }

  /// A role with no privilege on anything reads the same snapshot as the owner: the reader only
  /// reads catalogs, which every role may.
  @Test func aRoleWithoutPrivilegesReadsTheSameSchema() throws {
    try withTestDatabase { db in
      let tools = try PostgresTools.matching(db.connection)
      for file in broadFixtures(serverVersion: db.connection.serverVersionNumber) { try tools.load(file, into: db) }
      let owner = try read(db).snapshot
      let role = "pgphase_reader_\(db.name.suffix(8))"
      try db.connection.execute("CREATE ROLE \(role) LOGIN")
      defer { _ = try? db.connection.execute("DROP ROLE \(role)") }
      let c = try Connection.connect(dsn: db.conninfo + " user=\(role)", applicationName: "pgphase-tests")
      let plain = try CatalogSchemaReader(c).read().snapshot
      c.close()
      let same = plain == owner
      #expect(same, "\(explain(owner, plain))")
    }
  }

  /// Objects the snapshot does not cover are named, on stderr of `schema dump`, not dropped silently.
  @Test func whatIsLeftOutIsSaid() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE parent (id int);
        CREATE TABLE child (extra text) INHERITS (parent);
        CREATE TABLE secrets (id int);
        ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
        CREATE POLICY secrets_mine ON secrets USING (id > 0);
        CREATE TYPE floatrange AS RANGE (subtype = float8);
        CREATE RULE parent_no_delete AS ON DELETE TO parent DO INSTEAD NOTHING;
        CREATE AGGREGATE my_sum(int) (sfunc = int4pl, stype = int);
        """)
      let leftOut = try read(db).leftOut
      #expect(
        leftOut == [
          "aggregate public.my_sum(integer): aggregates are left out",
          "policy secrets_mine on public.secrets: row security policies are left out",
          "rule parent_no_delete on public.parent: rules are left out",
          "table public.child inherits from public.parent: table inheritance (other than partitions) is left out",
          "table public.secrets: row level security is left out",
          "type public.floatrange: range types are left out",
        ])
      let result = try runPGPhase(["schema", "dump", "--dsn", db.conninfo])
      #expect(result.status == 0)
      #expect(result.stderr.contains("warning: not in the dump: policy secrets_mine on public.secrets"))
      #expect(result.stdout.contains("CREATE TABLE public.secrets"))
    }
  }

  @Test func outReplacesTheFileWholeOrNotAtAll() throws {
    try withTestDatabase { db in
      try db.connection.execute("CREATE TABLE t (id int)")
      let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgphase-out-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(at: dir) }
      let file = dir.appendingPathComponent("schema.sql")
      try String(repeating: "old content\n", count: 10_000).write(to: file, atomically: true, encoding: .utf8)
      let ok = try runPGPhase(["schema", "dump", "--dsn", db.conninfo, "--out", file.path])
      #expect(ok.status == 0 && ok.stdout.isEmpty)
      let written = try String(contentsOf: file, encoding: .utf8)
      #expect(written.hasPrefix(SchemaSnapshot.canonicalHeader) && !written.contains("old content"))
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["schema.sql"])
      // A database that cannot be reached: exit 3, the file is left as it was.
      let unreachable = try runPGPhase(["schema", "dump", "--dsn", "\(db.conninfo) port=1", "--out", file.path])
      #expect(unreachable.status == 3)
      #expect(try String(contentsOf: file, encoding: .utf8) == written)
      // A folder that does not exist: exit 1, nothing written.
      let missing = dir.appendingPathComponent("no/such/dir/schema.sql")
      let bad = try runPGPhase(["schema", "dump", "--dsn", db.conninfo, "--out", missing.path])
      #expect(bad.status == 1 && bad.stderr.contains("cannot write"))
    }
  }
}
