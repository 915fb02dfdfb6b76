import PGPhaseModel
import PGPhasePlanner
import PGPhaseSchema
import Testing

/// What alter_column and rename_column carry over to the new column, phase by phase, and what
/// they refuse at plan time (located at the change) because it cannot follow a column.
/// (CarryOverTests in the executor suite applies such plans on a real server.)
@Suite struct CarryOverPlanningTests {
  static let schema = """
    CREATE TABLE public.parents (id integer NOT NULL, code text);
    ALTER TABLE ONLY public.parents ADD CONSTRAINT parents_pkey PRIMARY KEY (id);
    CREATE TABLE public.items (id integer NOT NULL, parent_id integer, qty integer NOT NULL, code text, v integer);
    ALTER TABLE ONLY public.items ADD CONSTRAINT items_pkey PRIMARY KEY (id);
    ALTER TABLE ONLY public.items ADD CONSTRAINT items_code_key UNIQUE (code) INCLUDE (qty);
    ALTER TABLE public.items ADD CONSTRAINT items_qty_check CHECK ((qty > 0));
    ALTER TABLE ONLY public.items ADD CONSTRAINT items_parent_fkey FOREIGN KEY (parent_id) REFERENCES public.parents(id) ON DELETE CASCADE;
    CREATE INDEX items_qty_idx ON public.items USING btree (qty) WHERE (qty > 10);
    CREATE TABLE public.lines (id integer NOT NULL, item_id integer);
    ALTER TABLE ONLY public.lines ADD CONSTRAINT lines_item_fkey FOREIGN KEY (item_id) REFERENCES public.items(id);
    CREATE VIEW public.item_codes AS SELECT items.code FROM public.items;
    CREATE TABLE public.gen (a integer, b integer GENERATED ALWAYS AS ((a * 2)) STORED, c integer GENERATED ALWAYS AS IDENTITY);
    CREATE TABLE public.booking (r int4range, x integer);
    ALTER TABLE public.booking ADD CONSTRAINT booking_r_excl EXCLUDE USING gist (r WITH &&);
    CREATE TABLE public.events (at date NOT NULL, n integer) PARTITION BY RANGE (at);
    CREATE INDEX events_n_idx ON ONLY public.events USING btree (n);
    """

  static func plan(_ changes: String) -> (plan: Plan?, diagnostics: [Diagnostic]) {
    let reading = SchemaFileReader.read(schema, file: "schema.sql")
    #expect(!reading.hasErrors, "\(reading.diagnostics.map(\.description))")
    let (plans, diagnostics) = planIntents(["changes:\n" + changes], schema: reading.snapshot)
    return (plans.first, diagnostics)
  }

  @Test func aKeyWithForeignKeysToItMovesWithTheColumn() throws {
    let (plan, diagnostics) = Self.plan("  - alter_column: {table: items, column: id, type: bigint}\n")
    #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))")
    let p = try #require(plan)
    // Expand: the primary key's unique index, built concurrently on the new column.
    let build = try #require(p.steps(in: .expand).first { $0.action.kind == .buildIndex })
    #expect(build.sql == ["CREATE UNIQUE INDEX CONCURRENTLY _pgphase_new_items_pkey ON items USING btree (_pgphase_new_id)"])
    // Backfill: the other table's foreign key to the new column, only after the copy, then validated.
    let backfill = p.steps(in: .backfill).map { $0.sql[0] }
    #expect(
      backfill.suffix(2) == [
        "ALTER TABLE public.lines ADD CONSTRAINT _pgphase_new_lines_item_fkey FOREIGN KEY (item_id) REFERENCES public.items(_pgphase_new_id) NOT VALID",
        "ALTER TABLE public.lines VALIDATE CONSTRAINT _pgphase_new_lines_item_fkey",
      ])
    #expect(backfill.first?.hasPrefix("UPDATE items SET _pgphase_new_id") == true)
    // Contract: one transaction drops the old key's foreign key and column, makes the new column
    // NOT NULL, attaches the key and gives everything its original name.
    let drop = try #require(p.steps(in: .contract).first { $0.sql.contains("ALTER TABLE items DROP COLUMN id") })
    #expect(
      Array(drop.sql.drop { !$0.hasPrefix("ALTER TABLE public.lines DROP") }) == [
        "ALTER TABLE public.lines DROP CONSTRAINT lines_item_fkey",
        "ALTER TABLE items DROP COLUMN id",
        "ALTER TABLE items RENAME COLUMN _pgphase_new_id TO id",
        "ALTER TABLE items ALTER COLUMN id SET NOT NULL",
        "ALTER TABLE items DROP CONSTRAINT items__pgphase_new_id_not_null_check",
        "ALTER TABLE items ADD CONSTRAINT items_pkey PRIMARY KEY USING INDEX _pgphase_new_items_pkey",
        "ALTER TABLE items_pkey RENAME COLUMN _pgphase_new_id TO id",
        "ALTER TABLE public.lines RENAME CONSTRAINT _pgphase_new_lines_item_fkey TO lines_item_fkey",
      ])
    #expect(drop.locks.map(\.relation.name) == ["items", "lines"])
    #expect(
      drop.preconditions == [
        .columnReplaceable(
          QualifiedName("items"), "id", nullable: false, default: nil,
          carried: ["constraint:public.items:items_pkey", "index:items_pkey", "constraint:public.lines:lines_item_fkey"])
      ])
    // No separate SET NOT NULL step: it ran inside the drop.
    #expect(!p.steps(in: .contract).contains { $0.sql == ["ALTER TABLE items ALTER COLUMN id SET NOT NULL"] })
  }

  @Test func indexesChecksAndUniqueKeysFollowARename() throws {
    let (plan, diagnostics) = Self.plan("  - rename_column: {table: items, from: qty, to: quantity}\n")
    #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))")
    let p = try #require(plan)
    let expand = p.steps(in: .expand).flatMap(\.sql)
    #expect(expand.contains("ALTER TABLE items ADD CONSTRAINT _pgphase_new_items_qty_check CHECK ((quantity > 0)) NOT VALID"))
    #expect(
      expand.contains(
        "CREATE INDEX CONCURRENTLY _pgphase_new_items_qty_idx ON items USING btree (quantity) WHERE (quantity > 10)"))
    #expect(
      expand.contains(
        "CREATE UNIQUE INDEX CONCURRENTLY _pgphase_new_items_code_key ON items USING btree (code) INCLUDE (quantity)"))
    let backfill = p.steps(in: .backfill).flatMap(\.sql)
    #expect(backfill.contains("ALTER TABLE items VALIDATE CONSTRAINT _pgphase_new_items_qty_check"))
    let contract = p.steps(in: .contract).flatMap(\.sql)
    for statement in [
      "ALTER TABLE items RENAME CONSTRAINT _pgphase_new_items_qty_check TO items_qty_check",
      "ALTER INDEX _pgphase_new_items_qty_idx RENAME TO items_qty_idx",
      "ALTER TABLE items ADD CONSTRAINT items_code_key UNIQUE USING INDEX _pgphase_new_items_code_key",
    ] {
      #expect(contract.contains(statement), "\(statement)")
    }
    // A rename keeps the new column's name: no index column to rename.
    #expect(!contract.contains { $0.contains("RENAME COLUMN quantity") })
  }

  /// An identity column's replacement becomes identity in contract, in the drop's transaction:
  /// the old sequence's next value kept before the drop, then NOT NULL and ADD GENERATED on the
  /// final column with the old sequence's name, started after that value.
  @Test func anIdentityMovesInTheDropTransaction() throws {
    let (plan, diagnostics) = Self.plan("  - alter_column: {table: gen, column: c, type: bigint}\n")
    #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))")
    let p = try #require(plan)
    let drop = try #require(p.steps(in: .contract).first { $0.sql.contains("ALTER TABLE gen DROP COLUMN c") })
    let sql = Array(drop.sql.drop { !$0.hasPrefix("SELECT set_config") })
    #expect(
      sql == [
        "SELECT set_config('pgphase.identity_next', nextval('public.gen_c_seq')::text, true)",
        "ALTER TABLE gen DROP COLUMN c",
        "ALTER TABLE gen RENAME COLUMN _pgphase_new_c TO c",
        "ALTER TABLE gen ALTER COLUMN c SET NOT NULL",
        "ALTER TABLE gen DROP CONSTRAINT gen__pgphase_new_c_not_null_check",
        "ALTER TABLE gen ALTER COLUMN c ADD GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME public.gen_c_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1)",
        "SELECT setval('public.gen_c_seq', current_setting('pgphase.identity_next')::bigint)",
      ])
    #expect(
      drop.preconditions.first.map { p in
        if case .columnReplaceable(_, _, _, _, let carried) = p { return carried } else { return [] }
      } == ["identity:c", "sequence:public.gen_c_seq"])
  }

  @Test func anOutgoingForeignKeyIsAddedNotValidThenValidated() throws {
    let (plan, diagnostics) = Self.plan("  - alter_column: {table: items, column: parent_id, type: bigint}\n")
    #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))")
    let p = try #require(plan)
    let add = try #require(p.steps(in: .expand).first { $0.sql[0].contains("_pgphase_new_items_parent_fkey") })
    #expect(
      add.sql == [
        "ALTER TABLE items ADD CONSTRAINT _pgphase_new_items_parent_fkey FOREIGN KEY (_pgphase_new_parent_id) REFERENCES public.parents(id) ON DELETE CASCADE NOT VALID"
      ])
    #expect(add.locks.map(\.mode) == [.shareRowExclusive, .shareRowExclusive])
    let validate = try #require(
      p.steps(in: .backfill).first { $0.action.kind == .validateConstraint && $0.sql[0].contains("parent") })
    #expect(validate.locks.map(\.relation.name) == ["items", "parents"])
  }

  /// What cannot follow a column is refused before anything is planned, at the change, saying why.
  @Test(arguments: [
    (
      "  - rename_column: {table: items, from: code, to: sku}\n",
      "items.code is read by view public.item_codes: a view cannot follow a column to its replacement"
    ),
    (
      "  - alter_column: {table: gen, column: a, type: bigint}\n",
      "gen.a is used by generated column b, which cannot follow it to a new column"
    ),
    (
      "  - alter_column: {table: gen, column: c, type: numeric}\n",
      "gen.c is an identity column: the new type numeric cannot hold an identity (smallint, integer or bigint only)"
    ),
    (
      "  - alter_column: {table: booking, column: r, type: tstzrange, up: \"NULL\", down: \"NULL\"}\n",
      "booking.r is in exclusion constraint booking_r_excl, which pgphase cannot build without blocking writes"
    ),
    (
      "  - rename_column: {table: events, from: at, to: happened_at}\n",
      "events.at is in the partition key of events (PARTITION BY RANGE (at)): PostgreSQL cannot drop it, so it cannot be replaced"
    ),
    (
      "  - alter_column: {table: events, column: n, type: bigint}\n",
      "events.n has index events_n_idx, and events is partitioned: indexes cannot be built concurrently on it"
    ),
  ])
  func refusedAtPlanTime(change: String, message: String) throws {
    let (plan, diagnostics) = Self.plan(change)
    #expect(plan == nil)
    let errors = diagnostics.filter { $0.severity == .error }
    #expect(errors.map(\.message).contains(message), "\(errors.map(\.message))")
    // Located at the change (line 2 of the intent file: the first change).
    #expect(errors.allSatisfy { $0.location?.line == 2 }, "\(errors.map(\.description))")
    #expect(errors.allSatisfy { $0.hint != nil })
  }
}
