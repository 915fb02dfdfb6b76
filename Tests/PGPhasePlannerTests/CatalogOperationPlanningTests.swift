import Foundation
import PGPhaseModel
import PGPhasePlanner
import Testing

/// Planning the operations issue 16 added, against the shop schema: their phases and undo, the
/// names they use checked where written, and what later changes see of them.
@Suite struct CatalogOperationPlanningTests {
  @Test func catalogOnlyChangesRunInExpandWithTheirUndo() throws {
    let plan = planChangesWithSchema(
      """
        - comment_table: {table: orders, comment: "Orders"}
        - comment_column: {table: orders, column: title, comment: null}
        - rename_constraint: {table: orders, from: orders_amount_check, to: orders_amount_positive}
        - set_replica_identity: {table: orders, identity: full}
        - drop_default: {table: orders, column: status}

      """)
    let expand = plan.steps(in: .expand)
    #expect(
      expand.flatMap(\.sql) == [
        "COMMENT ON TABLE orders IS 'Orders'", "COMMENT ON COLUMN orders.title IS NULL",
        "ALTER TABLE orders RENAME CONSTRAINT orders_amount_check TO orders_amount_positive",
        "ALTER TABLE orders REPLICA IDENTITY FULL",
      ])
    #expect(
      expand.compactMap(\.undo).flatMap(\.sql) == [
        "COMMENT ON TABLE orders IS NULL",
        "COMMENT ON COLUMN orders.title IS 'Shown on the invoice; it''s public'",
        "ALTER TABLE orders RENAME CONSTRAINT orders_amount_positive TO orders_amount_check",
        "ALTER TABLE orders REPLICA IDENTITY DEFAULT",
      ])
    #expect(
      expand.map { $0.locks.map(\.mode) } == [
        [.shareUpdateExclusive], [.shareUpdateExclusive], [.accessExclusive], [.accessExclusive],
      ])
    // Dropping a default the old app's inserts rely on waits for contract.
    #expect(plan.sql(.contract) == ["ALTER TABLE orders ALTER COLUMN status DROP DEFAULT"])
  }

  @Test func namesAreCheckedWhereWritten() throws {
    let d1 = schemaErrors("  - rename_constraint: {table: orders, from: orders_amount_chek, to: x}\n")
    #expect(
      d1.map(\.description) == [
        "intents/a0.yaml:2:46: error: table `public.orders` has no constraint `orders_amount_chek`\n  hint: did you mean `orders_amount_check`?"
      ])
    let d2 = schemaErrors("  - rename_constraint: {table: orders, from: orders_amount_check, to: orders_pkey}\n")
    #expect(
      d2.map(\.description) == [
        "intents/a0.yaml:2:71: error: constraint orders_pkey on orders already exists in the schema\n  hint: choose another name, or drop it in an earlier change"
      ])
    let d3 = schemaErrors("  - comment_column: {table: orders, column: titel, comment: x}\n")
    #expect(d3.first?.hint == "did you mean `title`?")
    let d4 = schemaErrors("  - set_replica_identity: {table: orders, identity: index, index: orders_custmer_idx}\n")
    #expect(
      d4.map(\.description) == [
        "intents/a0.yaml:2:67: error: `orders` has no index `orders_custmer_idx`\n  hint: did you mean `orders_customer_idx`?"
      ])
    let d5 = schemaErrors("  - set_replica_identity: {table: orders, identity: index, index: orders_customer_idx}\n")
    #expect(
      d5.map(\.message) == [
        "index `orders_customer_idx` cannot be a replica identity: it must be unique, without WHERE and without expressions"
      ])
    #expect(schemaErrors("  - set_replica_identity: {table: orders, identity: index, index: orders_pkey}\n").isEmpty)
  }

  @Test func aLaterIntentSeesTheNewName() {
    let (_, d) = planWithSchema([
      "changes:\n  - rename_constraint: {table: orders, from: orders_amount_check, to: orders_amount_positive}\n",
      "changes:\n  - drop_constraint: {table: orders, name: orders_amount_check}\n  - drop_constraint: {table: orders, name: orders_amount_positive}\n",
    ])
    #expect(
      d.map(\.message) == [
        "constraint orders_amount_check on orders was dropped by intent `a0` at intents/a0.yaml:2:5"
      ])
  }

  @Test func alterColumnGivesTheNewColumnItsConstraints() throws {
    let plan = planChangesWithSchema(
      "  - alter_column: {table: orders, column: title, type: text, unique: true, check: \"title <> ''\", comment: \"t\"}\n")
    #expect(
      plan.sql(.expand).contains(
        "ALTER TABLE orders ADD CONSTRAINT orders_title_check CHECK (_pgphase_new_title <> '') NOT VALID"))
    #expect(plan.sql(.expand).contains("COMMENT ON COLUMN orders._pgphase_new_title IS 't'"))
    let backfill = plan.sql(.backfill)
    let copy = try #require(backfill.firstIndex { $0.hasPrefix("UPDATE orders SET _pgphase_new_title") })
    let build = try #require(
      backfill.firstIndex(of: "CREATE UNIQUE INDEX CONCURRENTLY orders_title_key ON orders (_pgphase_new_title)"))
    #expect(copy < build, "the unique index is built after the copy")
    #expect(backfill.contains("ALTER TABLE orders ADD CONSTRAINT orders_title_key UNIQUE USING INDEX orders_title_key"))
    #expect(plan.sql(.contract).last == "ALTER TABLE orders_title_key RENAME COLUMN _pgphase_new_title TO title")
    // The old column's CHECK keeps its name on the new one: a new CHECK of that name is refused.
    let d = schemaErrors("  - alter_column: {table: orders, column: amount, type: bigint, check: \"amount < 10\"}\n")
    #expect(
      d.map(\.description) == [
        "intents/a0.yaml:2:72: error: constraint orders_amount_check on orders already exists in the schema\n  hint: choose another name, or drop it in an earlier change"
      ])
  }

  @Test func alterColumnInPlacePlansEachFieldAsItsOperation() {
    let plan = planChangesWithSchema(
      "  - alter_column: {table: orders, column: title, nullable: false, default: \"''\", comment: \"t\", check: \"title <> ''\", unique: true}\n"
    )
    #expect(plan.steps(in: .expand).map(\.operation).allSatisfy { $0 == "alter_column" })
    #expect(
      plan.sql(.expand) == [
        "ALTER TABLE orders ALTER COLUMN title SET DEFAULT ''", "COMMENT ON COLUMN orders.title IS 't'",
        "ALTER TABLE orders ADD CONSTRAINT orders_title_check CHECK (title <> '') NOT VALID",
        "CREATE UNIQUE INDEX CONCURRENTLY orders_title_key ON orders (title)",
        "ALTER TABLE orders ADD CONSTRAINT orders_title_key UNIQUE USING INDEX orders_title_key",
      ])
    // NOT NULL without a backfill: only once the old app is gone, as set_not_null plans it.
    #expect(plan.sql(.contract).contains("ALTER TABLE orders ALTER COLUMN title SET NOT NULL"))
    // Already NOT NULL in the schema: nothing to do for `nullable: false`.
    #expect(planChangesWithSchema("  - alter_column: {table: orders, column: status, nullable: false}\n").allSteps.isEmpty)
    let d = schemaErrors("  - alter_column: {table: orders, column: title}\n")
    #expect(d.map(\.message) == ["`alter_column` says nothing to change"])
  }
}
