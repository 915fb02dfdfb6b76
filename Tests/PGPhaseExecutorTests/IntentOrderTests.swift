import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// An intent that creates again what an earlier intent's contract drops: `advance --to contract`
/// runs the earlier contract first, in one go. Before the scheduler knew the objects steps touch,
/// the later expand ran first and failed with `relation "products" already exists` (42P07).
@Suite("Order between intents", .enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct IntentOrderTests {
  @Test func aTableDroppedByAnEarlierContractIsCreatedAfterIt() throws {
    _ = try pgphaseBinary()
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE products (id bigint PRIMARY KEY, name text);
        INSERT INTO products SELECT g, 'p' || g FROM generate_series(1, 20) g;
        CREATE TABLE orders (id bigint PRIMARY KEY, note text);
        """)
      let plans = try planIntents([
        (
          "20261130_drop_products",
          """
          schema: public
          changes:
            - drop_table: {table: products}
          """
        ),
        (
          "20261201_products_v2",
          """
          schema: public
          changes:
            - create_table:
                table: products
                columns:
                  - {name: id, type: bigint, primary_key: true}
                  - {name: sku, type: text, nullable: false}
            - add_column: {table: orders, column: {name: product_id, type: bigint}}
          """
        ),
      ])
      let dir = try writePlans(plans)
      defer { try? FileManager.default.removeItem(at: dir) }

      // b's expand alone waits, and says for what.
      let expand = try runPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, dir.path])
      #expect(expand.status == 0, "\(expand.stdout)\n\(expand.stderr)")
      #expect(
        (expand.stdout + expand.stderr).contains(
          "20261201_products_v2 expand waits for 20261130_drop_products: its contract phase drops table public.products, which this expand creates again"
        ), "\(expand.stdout)\n\(expand.stderr)")

      let advance = try runPGPhase(["advance", "--to", "contract", "--dsn", db.conninfo, dir.path])
      #expect(advance.status == 0, "\(advance.stdout)\n\(advance.stderr)")
      let columns = try db.connection.execute(
        "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'public.products'::regclass AND attnum > 0 AND NOT attisdropped"
      ).scalar
      #expect(columns == "id,sku", "the new products table, not the old one")
      #expect(try db.connection.execute("SELECT count(*) FROM pgphase.steps WHERE state <> 'done'").scalarInt() == 0)
      let verify = try runPGPhase(["verify", "--dsn", db.conninfo])
      #expect(verify.status == 0, "\(verify.stdout)\n\(verify.stderr)")
    }
  }

  /// b builds an index on the column a's alter_column replaces (int to bigint, same name). Before
  /// the scheduler knew the columns intents use, `advance --to contract` built b's index on the
  /// old column during a's window, and a's contract then refused to drop it (the index was
  /// nothing a's plan carried over): the rollout stopped. Now b waits for a's contract.
  @Test func anIndexOnAReplacedColumnIsBuiltAfterTheReplacement() throws {
    _ = try pgphaseBinary()
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE orders (id bigint PRIMARY KEY, amount int NOT NULL DEFAULT 0);
        INSERT INTO orders SELECT g, g FROM generate_series(1, 50) g;
        """)
      let plans = try planIntents([
        (
          "20261201_widen_amount",
          """
          schema: public
          changes:
            - alter_column: {table: orders, column: amount, type: bigint, up: "amount::bigint", down: "amount::integer", nullable: false, default: "0"}
          """
        ),
        (
          "20261202_index_amount",
          """
          schema: public
          changes:
            - create_index: {table: orders, name: orders_amount_half_idx, columns: [{expression: "(amount / 2)"}], where: "amount > 10"}
          """
        ),
      ])
      #expect(plans[1].plan.uses == [.init(table: QualifiedName(schema: "public", "orders"), column: "amount")])
      let dir = try writePlans(plans)
      defer { try? FileManager.default.removeItem(at: dir) }
      let advance = try runPGPhase(["advance", "--to", "contract", "--dsn", db.conninfo, dir.path])
      #expect(advance.status == 0, "\(advance.stdout)\n\(advance.stderr)")
      let order = try db.connection.execute(
        "SELECT string_agg(intent || ' ' || phase, ', ' ORDER BY finished_at) FROM (SELECT intent, split_part(step_id, '/', 1) AS phase, max(finished_at) AS finished_at FROM pgphase.steps GROUP BY 1, 2) p"
      ).scalar
      #expect(
        order
          == "20261201_widen_amount expand, 20261201_widen_amount backfill, 20261201_widen_amount contract, 20261202_index_amount expand",
        "\(advance.stdout)")
      #expect(
        try db.connection.execute(
          "SELECT pg_get_indexdef('orders_amount_half_idx'::regclass)"
        ).scalar == "CREATE INDEX orders_amount_half_idx ON public.orders USING btree (((amount / 2))) WHERE (amount > 10)")
      #expect(
        try db.connection.execute(
          "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'amount'"
        )
        .scalar == "bigint")
    }
  }
}
