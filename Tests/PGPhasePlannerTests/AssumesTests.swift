import PGPhaseModel
import PGPhasePlanner
import Testing

/// `Plan.assumes`: the touched tables the schema had before the intent, as they were when the
/// intent started; what the executor's drift guard compares with the live tables.
@Suite struct AssumesTests {
  static let orders = QualifiedName(schema: "public", "orders")
  static let customers = QualifiedName(schema: "public", "customers")

  static let intents = [
    """
    changes:
      - create_table:
          table: notes
          columns:
            - {name: id, type: bigint, primary_key: true}
      - add_column: {table: orders, column: {name: extra, type: text}}
    """,
    """
    changes:
      - add_column: {table: notes, column: {name: body, type: text}}
      - add_column: {table: orders, column: {name: more, type: text}}
    """,
    """
    changes:
      - add_foreign_key:
          table: orders
          name: orders_more_fkey
          columns: [customer_id]
          references: {table: customers, columns: [id]}
    """,
    """
    changes:
      - create_table:
          table: tags
          columns:
            - {name: id, type: bigint, primary_key: true}
    """,
  ]

  @Test func onlyTablesTheSchemaHadAreAssumedAsTheIntentFoundThem() throws {
    let schema = shopSnapshot()
    let (plans, diagnostics) = planIntents(Self.intents, schema: schema)
    #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))")
    try #require(plans.count == 4)
    // a0 creates notes (never assumed) and changes orders: orders as the schema has it.
    #expect(plans[0].assumes?.map(\.name) == [Self.orders])
    #expect(plans[0].assumes?.first == schema.tables[Self.orders])
    // b1 touches notes (made by a0: not the schema's) and orders, which a0 changed: with `extra`, without `more`.
    #expect(plans[1].assumes?.map(\.name) == [Self.orders])
    let columns = plans[1].assumes?.first?.columns.map(\.name) ?? []
    #expect(columns.contains("extra") && !columns.contains("more"), "\(columns)")
    #expect(columns == (schema.tables[Self.orders]?.columns.map(\.name) ?? []) + ["extra"])
    // c2's foreign key locks customers too; an untouched table is never assumed.
    #expect(plans[2].assumes?.map(\.name) == [Self.customers, Self.orders])
    #expect(plans[2].assumes?.last?.column("more") != nil)
    // d3 only creates a table: nothing assumed, and no `assumes` key in plan.json.
    #expect(plans[3].assumes == nil)
    #expect(try !PlanRenderer.json(plans[3]).contains("assumes"))
    #expect(try PlanRenderer.json(plans[0]).contains("\"assumes\""))
    // Round trip: what the executor reads is what the planner wrote.
    #expect(try PlanRenderer.decode(json: PlanRenderer.json(plans[1])) == plans[1])
  }

  @Test func withoutASchemaNothingIsAssumed() throws {
    let (plans, diagnostics) = planIntents(Self.intents)
    #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))")
    try #require(plans.count == 4)
    for plan in plans {
      #expect(plan.assumes == nil, "\(plan.intent)")
      #expect(try !PlanRenderer.json(plan).contains("assumes"))
    }
  }
}
