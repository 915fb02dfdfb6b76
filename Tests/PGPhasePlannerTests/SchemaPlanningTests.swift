import Foundation
import PGPhaseIntents
import PGPhaseModel
import PGPhasePlanner
import PGPhaseSchema
import Testing

/// The schema the tests plan against, as `pg_dump --schema-only` would write it.
let shopSchemaFile = "Tests/PGPhasePlannerTests/Fixtures/schema/schema.sql"

func shopSnapshot() -> SchemaSnapshot {
  let text = (try? String(contentsOf: repositoryRoot.appendingPathComponent(shopSchemaFile), encoding: .utf8)) ?? ""
  let reading = SchemaFileReader.read(text, file: shopSchemaFile)
  #expect(!reading.snapshot.tables.isEmpty)
  #expect(reading.diagnostics.isEmpty, "\(reading.diagnostics.map(\.description))")
  return reading.snapshot
}

/// Plans intents (a0.yaml, b1.yaml, …) against the shop schema.
func planWithSchema(_ yamls: [String]) -> (plans: [Plan], diagnostics: [Diagnostic]) {
  planIntents(yamls, schema: shopSnapshot())
}

/// One intent's `changes:` against the shop schema; its diagnostics.
func schemaErrors(_ changes: String) -> [Diagnostic] {
  planWithSchema(["changes:\n" + changes]).diagnostics
}

/// One intent's `changes:` against the shop schema; its plan, failing the test on any diagnostic.
func planChangesWithSchema(_ changes: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Plan {
  let (plans, diagnostics) = planWithSchema(["changes:\n" + changes])
  #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))", sourceLocation: sourceLocation)
  return plans.first ?? Plan(intent: "", description: nil, source: "", lockTimeout: "", backfillBatchSize: nil, phases: [])
}

@Suite struct SchemaNameCheckTests {
  /// The one error, at the YAML node of the misspelt name (line 2 of the file is the change).
  func only(_ diagnostics: [Diagnostic], sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Diagnostic? {
    #expect(diagnostics.count == 1, "\(diagnostics.map(\.description))", sourceLocation: sourceLocation)
    #expect(diagnostics.allSatisfy { $0.severity == .error }, sourceLocation: sourceLocation)
    return diagnostics.first
  }

  @Test func unknownTableIsLocatedWithTheClosestName() throws {
    let d = try #require(only(schemaErrors("  - drop_column: {table: ordrs, column: title}\n")))
    #expect(d.message == "table `public.ordrs` is not in the schema, and no earlier change creates it")
    #expect(d.location == SourceLocation(file: "intents/a0.yaml", line: 2, column: 26))
    #expect(d.object == "public.ordrs")
    #expect(d.hint == "did you mean `orders`?")
    #expect(d.description.hasPrefix("intents/a0.yaml:2:26: error: table `public.ordrs`"))
  }

  @Test func aMisspeltSchemaSuggestsTheQualifiedName() throws {
    let d = try #require(only(schemaErrors("  - drop_column: {table: pubic.orders, column: title}\n")))
    #expect(d.object == "pubic.orders")
    #expect(d.hint == "did you mean `public.orders`?")
  }

  @Test func unknownColumnIsLocatedWithTheClosestName() throws {
    let d = try #require(
      only(
        schemaErrors(
          """
            - set_default:
                table: orders
                column: amout
                default: "1"

          """)))
    #expect(d.message == "table `public.orders` has no column `amout`")
    #expect(d.location == SourceLocation(file: "intents/a0.yaml", line: 4, column: 15))
    #expect(d.object == "public.orders.amout")
    #expect(d.hint == "did you mean `amount`?")
  }

  /// A CHECK's or an index's expression names only the table's columns: a misspelt one is
  /// located at the field that holds the expression, with the closest column.
  @Test func aColumnMisspeltInAnExpressionIsLocated() throws {
    let check = try #require(
      only(schemaErrors("  - add_check: {table: orders, name: orders_amount_pos, expression: \"amout > 0\"}\n")))
    #expect(check.message == "table `public.orders` has no column `amout`")
    #expect(check.location == SourceLocation(file: "intents/a0.yaml", line: 2, column: 69))
    #expect(check.hint == "did you mean `amount`?")
    let index = try #require(
      only(
        schemaErrors(
          "  - create_index: {table: orders, name: orders_t_idx, columns: [{expression: \"lower(titel)\"}], where: \"stauts = 'open'\"}\n"
        )
        .filter { $0.message.contains("titel") }))
    #expect(index.hint == "did you mean `title`?")
    #expect(
      schemaErrors(
        "  - create_index: {table: orders, name: orders_t_idx, columns: [{expression: \"lower(title)\"}], where: \"stauts = 'open'\"}\n"
      ).map(\.message) == ["table `public.orders` has no column `stauts`"])
    // A backfill's value may name an outer query's columns: recorded, never an error.
    #expect(
      schemaErrors(
        "  - backfill: {table: orders, set: {title: \"(SELECT c.email FROM customers c WHERE c.id = customer_id)\"}}\n"
      ).isEmpty)
  }

  @Test func aColumnFarFromEveryNameListsTheColumns() throws {
    let d = try #require(only(schemaErrors("  - drop_not_null: {table: orders, column: zzzzzzzz}\n")))
    #expect(d.hint == "its columns: id, customer_id, amount, title, status")
  }

  @Test func unknownIndexIsLocatedWithTheClosestName() throws {
    let d = try #require(only(schemaErrors("  - drop_index: {name: orders_custmer_idx}\n")))
    #expect(d.message == "index `public.orders_custmer_idx` is not in the schema, and no earlier change creates it")
    #expect(d.location == SourceLocation(file: "intents/a0.yaml", line: 2, column: 24))
    #expect(d.hint == "did you mean `orders_customer_idx`?")
  }

  @Test func theIndexOfAConstraintIsDroppedWithTheConstraint() throws {
    let d = try #require(only(schemaErrors("  - drop_index: {name: orders_pkey}\n")))
    #expect(d.message == "index `public.orders_pkey` belongs to the constraint `orders_pkey` of `public.orders`")
    #expect(d.hint == "use `drop_constraint` (table: public.orders, name: orders_pkey)")
  }

  @Test func unknownConstraintIsLocatedWithTheClosestName() throws {
    let d = try #require(only(schemaErrors("  - drop_constraint: {table: orders, name: orders_amount_chk}\n")))
    #expect(d.message == "table `public.orders` has no constraint `orders_amount_chk`")
    #expect(d.location == SourceLocation(file: "intents/a0.yaml", line: 2, column: 44))
    #expect(d.hint == "did you mean `orders_amount_check`?")
  }

  /// Each name of a list, a nested mapping or a backfill's `set` is reported at its own node
  /// (the last occurrence of `name` on `line`).
  @Test func namesInListsAndNestedFieldsAreLocatedAtTheirItem() throws {
    let cases: [(String, line: Int, name: String, message: String)] = [
      ("  - add_unique: {table: orders, name: orders_u, columns: [id, titel]}\n", 2, "titel", "no column `titel`"),
      ("  - create_index: {table: orders, name: i, columns: [id, stauts]}\n", 2, "stauts", "no column `stauts`"),
      ("  - create_index: {table: orders, name: i, columns: [id], include: [amout]}\n", 2, "amout", "no column `amout`"),
      ("  - backfill: {table: orders, set: {titel: \"'x'\"}}\n", 2, "titel", "no column `titel`"),
      (
        "  - add_foreign_key: {table: orders, name: f, columns: [customer_id], references: {table: customer, columns: [id]}}\n",
        2, "customer,", "table `public.customer` is not in the schema"
      ),
      (
        "  - add_foreign_key: {table: orders, name: f, columns: [customr_id], references: {table: customers, columns: [id]}}\n",
        2, "customr_id", "no column `customr_id`"
      ),
      (
        "  - add_foreign_key: {table: orders, name: f, columns: [customer_id], references: {table: customers, columns: [idd]}}\n",
        2, "idd", "no column `idd`"
      ),
      (
        "  - add_column: {table: orders, column: {name: c, type: bigint, references: {table: customers, column: ident}}}\n",
        2, "ident", "no column `ident`"
      ),
      (
        """
          - create_table:
              table: lines
              columns:
                - {name: order_id, type: bigint, references: {table: orders, column: idd}}

        """, 5, "idd", "no column `idd`"
      ),
      (
        """
          - create_table:
              table: lines
              columns:
                - {name: order_id, type: bigint}
              constraints:
                - {name: lines_order_fkey, columns: [order_id], references: {table: ordrs, columns: [id]}}

        """, 7, "ordrs", "table `public.ordrs` is not in the schema"
      ),
      (
        """
          - create_table:
              table: lines
              columns:
                - {name: order_id, type: bigint}
              constraints:
                - {name: lines_order_key, unique: [order_idd]}

        """, 7, "order_idd", "`lines` has no column `order_idd`"
      ),
    ]
    for (changes, line, name, message) in cases {
      let text = "changes:\n" + changes
      let lineText = text.split(separator: "\n", omittingEmptySubsequences: false)[line - 1]
      let column = try #require(
        lineText.ranges(of: name).last.map { lineText.distance(from: lineText.startIndex, to: $0.lowerBound) + 1 })
      let d = try #require(only(schemaErrors(changes)), "\(changes)")
      #expect(d.location == SourceLocation(file: "intents/a0.yaml", line: line, column: column), "\(changes)")
      #expect(d.message.contains(message), "\(d.message)")
    }
  }

  @Test func creatingWhatTheSchemaHasIsAnError() throws {
    let cases = [
      "  - create_table: {table: orders, columns: [{name: id, type: bigint}]}\n",
      "  - create_index: {table: orders, name: orders_customer_idx, columns: [customer_id]}\n",
      "  - create_index: {table: orders, name: open_orders, columns: [customer_id]}\n",
      "  - add_column: {table: orders, column: {name: amount, type: int}}\n",
      "  - add_check: {table: orders, name: orders_amount_check, expression: \"amount > 0\"}\n",
      "  - rename_column: {table: orders, from: title, to: status}\n",
      "  - rename_table: {from: orders, to: customers}\n",
    ]
    for changes in cases {
      let d = try #require(only(schemaErrors(changes)), "\(changes)")
      #expect(d.message.hasSuffix("already exists in the schema"), "\(d.message)")
    }
  }

  @Test func aViewIsNotATable() throws {
    let d = try #require(only(schemaErrors("  - backfill: {table: open_orders, set: {id: \"id\"}}\n")))
    #expect(d.message == "`open_orders` is a view, not a table")
  }

  /// Names that an earlier change (of the same intent or an earlier one) creates are known there.
  @Test func namesAnEarlierChangeCreatesAreKnown() {
    let (_, diagnostics) = planWithSchema([
      """
      changes:
        - create_table:
            table: refunds
            columns:
              - {name: id, type: bigint, primary_key: true}
              - {name: order_id, type: bigint, references: {table: orders, column: id}}
        - add_column: {table: orders, column: {name: note, type: text}}
        - create_index: {table: refunds, name: refunds_order_idx, columns: [order_id]}
      """,
      """
      changes:
        - backfill: {table: orders, set: {note: "'none'"}}
        - set_not_null: {table: orders, column: note}
        - add_unique: {table: refunds, name: refunds_order_key, columns: [order_id]}
        - drop_index: {name: refunds_order_idx}
        - rename_table: {from: refunds, to: returns}
        - rename_column: {table: orders, from: title, to: summary}
      """,
      """
      changes:
        - drop_constraint: {table: returns, name: refunds_order_key}
        - drop_constraint: {table: returns, name: refunds_pkey}
        - drop_constraint: {table: returns, name: refunds_order_id_fkey}
        - set_default: {table: orders, column: summary, default: "''"}
        - create_index: {table: returns, name: refunds_order_idx, columns: [order_id]}
      """,
    ])
    #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))")
  }

  /// A name an earlier change drops or renames away is unknown afterwards: one error each, the
  /// one that says which intent dropped it.
  @Test func namesAnEarlierChangeDropsAreUnknown() {
    let (_, diagnostics) = planWithSchema([
      """
      changes:
        - drop_column: {table: orders, column: status}
        - drop_index: {name: orders_customer_idx}
        - drop_constraint: {table: orders, name: orders_amount_check}
        - rename_column: {table: orders, from: title, to: summary}
        - drop_table: {table: customers}
      """,
      """
      changes:
        - set_default: {table: orders, column: status, default: "'x'"}
        - drop_index: {name: orders_customer_idx}
        - drop_constraint: {table: orders, name: orders_amount_check}
        - drop_not_null: {table: orders, column: title}
        - backfill: {table: customers, set: {email: "lower(email)"}}
      """,
    ])
    let messages = diagnostics.map(\.message)
    #expect(
      messages == [
        "column orders.status was dropped by intent `a0` at intents/a0.yaml:2:5",
        "index orders_customer_idx was dropped by intent `a0` at intents/a0.yaml:3:5",
        "constraint orders_amount_check on orders was dropped by intent `a0` at intents/a0.yaml:4:5",
        "column orders.title was dropped by intent `a0` at intents/a0.yaml:5:5",
        "table customers was dropped by intent `a0` at intents/a0.yaml:6:5",
      ], "\(diagnostics.map(\.description))")
    #expect(diagnostics.allSatisfy { $0.location?.file == "intents/b1.yaml" })
  }

  /// Dropping a column drops what is on it, as PostgreSQL does: its index and its constraints.
  @Test func whatIsOnADroppedColumnIsGoneWithIt() {
    let (_, diagnostics) = planWithSchema([
      "changes:\n  - drop_column: {table: orders, column: customer_id}\n",
      """
      changes:
        - drop_index: {name: orders_customer_idx}
        - drop_constraint: {table: orders, name: orders_customer_fkey}
        - drop_constraint: {table: orders, name: orders_amount_check}
      """,
    ])
    #expect(
      diagnostics.map(\.message) == [
        "index `public.orders_customer_idx` is not in the schema, and no earlier change creates it",
        "table `public.orders` has no constraint `orders_customer_fkey`",
      ], "\(diagnostics.map(\.description))")
  }

  /// Without a schema nothing is known beyond what intents create, so nothing is refused for it.
  @Test func withoutASchemaUnknownNamesPass() {
    let (_, diagnostics) = planIntents([
      "changes:\n  - drop_column: {table: ordrs, column: title}\n  - drop_index: {name: nope}\n"
    ])
    #expect(diagnostics.isEmpty)
  }
}

/// With a schema, rename_column and alter_column take what they need of the column from it.
@Suite struct SchemaColumnFactsTests {
  let orders = QualifiedName("orders")

  @Test func renameColumnTakesTypeAndCommentFromTheSchema() {
    let plan = planChangesWithSchema("  - rename_column: {table: orders, from: title, to: summary}\n")
    #expect(plan.steps(in: .expand)[0].sql == ["ALTER TABLE orders ADD COLUMN summary character varying(200)"])
    #expect(
      plan.steps(in: .expand)[1].sql == ["COMMENT ON COLUMN orders.summary IS 'Shown on the invoice; it''s public'"])
    #expect(plan.steps(in: .expand)[0].preconditions == [.columnReplaceable(orders, "title", nullable: true, default: nil)])
    #expect(!plan.allSteps.flatMap(\.sql).contains { $0.contains("NOT NULL") && !$0.contains("IS NOT NULL") })
  }

  @Test func renameColumnKeepsNotNullAndDefault() {
    let plan = planChangesWithSchema("  - rename_column: {table: orders, from: amount, to: total}\n")
    let sql = plan.allSteps.flatMap(\.sql)
    #expect(sql.contains("ALTER TABLE orders ADD COLUMN total integer"))
    #expect(sql.contains("ALTER TABLE orders ALTER COLUMN total SET DEFAULT 0"))
    #expect(sql.contains("ALTER TABLE orders ALTER COLUMN total SET NOT NULL"))
    // The CHECK on amount is carried over to the new column: the precondition expects it.
    #expect(
      plan.steps(in: .expand)[0].preconditions == [
        .columnReplaceable(
          orders, "amount", nullable: false, default: "0", carried: ["constraint:public.orders:orders_amount_check"])
      ])
    // No comment on amount: no comment step.
    #expect(!sql.contains { $0.hasPrefix("COMMENT") })
  }

  @Test func whatTheIntentSaysWinsOverTheSchema() {
    let plan = planChangesWithSchema(
      "  - rename_column: {table: orders, from: amount, to: total, type: bigint, nullable: true, default: \"1\"}\n")
    let sql = plan.allSteps.flatMap(\.sql)
    #expect(sql.contains("ALTER TABLE orders ADD COLUMN total bigint"))
    #expect(sql.contains("ALTER TABLE orders ALTER COLUMN total SET DEFAULT 1"))
    #expect(!sql.contains("ALTER TABLE orders ALTER COLUMN total SET NOT NULL"))
  }

  @Test func alterColumnTakesTheOldTypeDefaultAndNotNullFromTheSchema() {
    let plan = planChangesWithSchema("  - alter_column: {table: orders, column: amount, type: bigint}\n")
    let sql = plan.allSteps.flatMap(\.sql)
    #expect(sql.contains("ALTER TABLE orders ADD COLUMN _pgphase_new_amount bigint"))
    // The new app's writes reach the old column through a cast to the old type.
    #expect(
      sql.contains {
        $0.contains("SELECT (CAST(amount AS integer)) INTO _pgphase_down FROM (SELECT NEW._pgphase_new_amount AS amount)")
      })
    #expect(sql.contains("ALTER TABLE orders ALTER COLUMN _pgphase_new_amount SET DEFAULT 0"))
    #expect(sql.contains("ALTER TABLE orders ALTER COLUMN amount SET NOT NULL"))
    #expect(
      plan.steps(in: .expand)[0].preconditions == [
        .columnReplaceable(
          orders, "amount", nullable: false, default: "0", carried: ["constraint:public.orders:orders_amount_check"])
      ])
  }

  @Test func alterColumnKeepsTheComment() {
    let plan = planChangesWithSchema("  - alter_column: {table: orders, column: title, type: text}\n")
    #expect(
      plan.allSteps.flatMap(\.sql).contains(
        "COMMENT ON COLUMN orders._pgphase_new_title IS 'Shown on the invoice; it''s public'"))
  }

  /// What an earlier intent changed is what a later one sees.
  @Test func aLaterIntentSeesTheColumnAsEarlierOnesLeftIt() {
    let (plans, diagnostics) = planWithSchema([
      "changes:\n  - alter_column: {table: orders, column: amount, type: bigint, default: \"5\"}\n",
      "changes:\n  - rename_column: {table: orders, from: amount, to: total}\n",
    ])
    #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))")
    let sql = plans[1].allSteps.flatMap(\.sql)
    #expect(sql.contains("ALTER TABLE orders ADD COLUMN total bigint"))
    #expect(sql.contains("ALTER TABLE orders ALTER COLUMN total SET DEFAULT 5"))
    #expect(sql.contains("ALTER TABLE orders ALTER COLUMN total SET NOT NULL"))
  }

  /// Without a schema the type must still be given, and the error says how to avoid it.
  @Test func withoutASchemaRenameColumnAsksForTheTypeOrASchema() throws {
    let d = try #require(planErrors("  - rename_column: {table: t, from: a, to: b}\n").first)
    #expect(d.message.contains("no schema was given (`plan --schema`)"))
    #expect(d.hint?.contains("plan with `--schema`") == true)
  }
}

/// The schema the planner leaves (what `plans/schema.sql` renders) holds what intents create as a
/// dump of the migrated database reads it: types as `format_type` prints them, identity sequences,
/// foreign key actions, every column an index or CHECK uses, columns replaced by rename_column and
/// alter_column last, serial sequences gone with their table. Each of these differed from the
/// reader's snapshot of the same DDL, and the drift guard refused the example plans planned
/// against examples/schema.sql for the index's columns.
@Suite struct SchemaAfterTests {
  @Test func objectsIntentsCreateAreWhatTheServerWouldHold() throws {
    let start = SchemaFileReader.read(
      """
      CREATE TABLE public.parents (id bigint NOT NULL, CONSTRAINT parents_pkey PRIMARY KEY (id));
      CREATE TABLE public.notes (id serial NOT NULL, body text, label text NOT NULL, qty integer);
      """, file: "start.sql")
    #expect(!start.hasErrors, "\(start.diagnostics.map(\.description))")
    let intents = """
      changes:
        - create_table:
            table: items
            columns:
              - {name: id, type: int8, identity: always, primary_key: true}
              - {name: parent_id, type: bigint, references: {table: parents, column: id, on_delete: cascade}}
              - {name: code, type: varchar(20), nullable: false}
              - {name: at, type: timestamptz, default: "now()"}
            constraints:
              - {name: items_code_check, check: "length(code) > 1 AND code <> 'x'"}
        - create_index: {table: items, name: items_lower_code_idx, columns: ["lower(code)"], where: "at IS NOT NULL"}
        - add_foreign_key:
            table: items
            name: items_parent_fkey2
            columns: [parent_id]
            references: {table: parents, columns: [id]}
            on_update: restrict
        - alter_column: {table: notes, column: qty, type: int8, up: "qty::bigint", down: "qty::integer"}
        - rename_column: {table: notes, from: label, to: title}
      """
    let sources = [IntentSource(path: "intents/a.yaml", text: intents)]
    let (loaded, parseDiagnostics) = IntentLoader.load(sources)
    #expect(parseDiagnostics.isEmpty, "\(parseDiagnostics.map(\.description))")
    let outcome = Planner.planning(loaded, schema: start.snapshot)
    #expect(outcome.diagnostics.isEmpty, "\(outcome.diagnostics.map(\.description))")

    // The same objects as a dump of the migrated database writes them.
    let expected = SchemaFileReader.read(
      """
      CREATE TABLE public.items (
          id bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME public.items_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1) NOT NULL,
          parent_id bigint,
          code character varying(20) NOT NULL,
          at timestamp with time zone DEFAULT now(),
          CONSTRAINT items_code_check CHECK (length(code) > 1 AND code <> 'x')
      );
      CREATE TABLE public.notes (id integer DEFAULT nextval('public.notes_id_seq'::regclass) NOT NULL, body text, qty bigint, title text NOT NULL);
      CREATE SEQUENCE public.notes_id_seq AS integer START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
      ALTER SEQUENCE public.notes_id_seq OWNED BY public.notes.id;
      ALTER TABLE ONLY public.items ADD CONSTRAINT items_pkey PRIMARY KEY (id);
      CREATE INDEX items_lower_code_idx ON public.items USING btree (lower(code)) WHERE at IS NOT NULL;
      ALTER TABLE ONLY public.items ADD CONSTRAINT items_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES public.parents(id) ON DELETE CASCADE;
      ALTER TABLE ONLY public.items ADD CONSTRAINT items_parent_fkey2 FOREIGN KEY (parent_id) REFERENCES public.parents(id) ON UPDATE RESTRICT;
      """, file: "expected.sql")
    #expect(!expected.hasErrors, "\(expected.diagnostics.map(\.description))")
    for name in ["items", "notes"] {
      let key = QualifiedName(schema: "public", name)
      let planned = outcome.schema.tables[key]
      let dumped = expected.snapshot.tables[key]
      #expect(planned == dumped, "\(name):\nplanned \(String(describing: planned))\ndumped  \(String(describing: dumped))")
    }
  }

  /// A `sql` change's DDL is in the schema after the intents (a function, a comment, a table it
  /// alters; data and maintenance statements change nothing); what the planner cannot read is a
  /// warning at the change's `up`, not left out silently. Without a starting schema nothing is said.
  @Test func sqlChangesDDLIsReadIntoTheSchemaAndWhatIsNotReadIsAWarning() throws {
    let start = SchemaFileReader.read("CREATE TABLE public.notes (id bigint NOT NULL, body text);", file: "start.sql")
    #expect(!start.hasErrors, "\(start.diagnostics.map(\.description))")
    let intents = """
      changes:
        - sql:
            phase: expand
            up: |
              CREATE FUNCTION note_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM notes $$;
              ALTER TABLE notes ADD COLUMN tag text;
              UPDATE notes SET tag = 'x';
        - sql:
            phase: backfill
            up: VACUUM (ANALYZE) notes
            transactional: false
        - sql:
            phase: contract
            up: |
              COMMENT ON TABLE notes IS 'Notes.';
              CREATE POLICY mine ON notes USING (true);
      """
    let (loaded, parseDiagnostics) = IntentLoader.load([IntentSource(path: "intents/a.yaml", text: intents)])
    #expect(parseDiagnostics.isEmpty, "\(parseDiagnostics.map(\.description))")
    let outcome = Planner.planning(loaded, schema: start.snapshot)
    #expect(!outcome.plans.isEmpty)
    #expect(
      outcome.diagnostics.map(\.description) == [
        "intents/a.yaml:14:11: warning: the schema after the intents (PLANS/schema.sql) may be incomplete: row security policies are not part of a schema snapshot; left out (line 2 of `up`)\n  hint: the planner reads a `sql` change's DDL as a schema file is read (docs/schema.md, \"Reading SQL files\")"
      ])
    let notes = try #require(outcome.schema.tables[QualifiedName(schema: "public", "notes")])
    #expect(notes.columns.map(\.name) == ["id", "body", "tag"])
    #expect(notes.comment == "Notes.")
    #expect(outcome.schema.functions.map(\.name) == [QualifiedName(schema: "public", "note_count")])
    // The plan's assumes has the table the DDL changed, as it was before the intent.
    #expect(outcome.plans.first?.assumes?.map(\.name) == [QualifiedName(schema: "public", "notes")])

    let without = Planner.planning(loaded)
    #expect(without.diagnostics.isEmpty, "\(without.diagnostics.map(\.description))")
    #expect(without.schema.functions.isEmpty)
  }

  @Test func droppingATableDropsTheSequencesItsColumnsOwn() throws {
    let start = SchemaFileReader.read("CREATE TABLE public.notes (id serial PRIMARY KEY, body text);", file: "start.sql")
    #expect(start.snapshot.sequences.count == 1)
    let (loaded, _) = IntentLoader.load([
      IntentSource(path: "intents/a.yaml", text: "changes:\n  - drop_table: {table: notes}\n")
    ])
    let outcome = Planner.planning(loaded, schema: start.snapshot)
    #expect(outcome.diagnostics.isEmpty, "\(outcome.diagnostics.map(\.description))")
    #expect(outcome.schema.sequences.isEmpty)
    #expect(outcome.schema.canonicalSQL() == SchemaSnapshot().canonicalSQL())
  }
}
