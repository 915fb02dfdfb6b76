import Foundation
import PGPhaseModel
import Testing

private typealias S = SchemaSnapshot

private let orders = QualifiedName(schema: "public", "orders")

/// `orders (id bigint identity PK, amount integer NOT NULL DEFAULT 0, note text)` with an index on amount.
private func ordersSnapshot() -> SchemaSnapshot {
  var table = S.Table(
    name: orders,
    columns: [
      S.Column(
        name: "id", type: "bigint", notNull: .init(name: "orders_id_not_null"),
        identity: .init(kind: .always, sequence: orders.sibling("orders_id_seq"), options: .init())),
      S.Column(name: "amount", type: "integer", notNull: .init(name: "orders_amount_not_null"), defaultExpression: "0"),
      S.Column(name: "note", type: "text"),
    ])
  table.constraints.insert(.init(name: "orders_pkey", kind: .primaryKey, definition: "PRIMARY KEY (id)", columns: ["id"]))
  table.indexes.insert(.init(name: "orders_amount_idx", keys: [.init(column: "amount")], columns: ["amount"]))
  return SchemaSnapshot(tables: [table])
}

@Suite struct ObjectNameTests {
  @Test func namesAsTheServerMakesThem() {
    #expect(SQL.makeObjectName("orders", "amount", label: "idx") == "orders_amount_idx")
    #expect(SQL.makeObjectName("orders", nil, label: "pkey") == "orders_pkey")
    #expect(S.NotNull.defaultName(table: "orders", column: "amount") == "orders_amount_not_null")
  }

  @Test func longNamesCutTheLongerPartFirst() {
    let long = String(repeating: "a", count: 60)
    let name = SQL.makeObjectName(long, "id", label: "seq")
    #expect(name.utf8.count == 63)
    #expect(name == String(repeating: "a", count: 56) + "_id_seq")
    let both = SQL.makeObjectName(String(repeating: "t", count: 40), String(repeating: "c", count: 40), label: "key")
    // 58 bytes for the two names: taken from each in turn, the second first when they are equal.
    #expect(both == String(repeating: "t", count: 29) + "_" + String(repeating: "c", count: 29) + "_key")
  }

  @Test func cutsNeverSplitACharacter() {
    // 30 two-byte characters: 60 bytes, cut to 56 of the 63 (id, seq and two underscores).
    let name = SQL.makeObjectName(String(repeating: "é", count: 30), "id", label: "seq")
    #expect(name == String(repeating: "é", count: 28) + "_id_seq")
    #expect(name.utf8.count <= 63)
  }

  @Test func takenNamesGetANumber() {
    let taken: Set<String> = ["orders_amount_key", "orders_amount_key1"]
    #expect(SQL.chooseName("orders", "amount", label: "key") { taken.contains($0) } == "orders_amount_key2")
  }
}

@Suite struct SchemaObjectMapTests {
  @Test func iteratesAndEncodesInKeyOrder() throws {
    let map: SchemaObjectMap<S.Namespace> = [.init(name: "zeta"), .init(name: "alpha"), .init(name: "mid")]
    #expect(map.map(\.name) == ["alpha", "mid", "zeta"])
    let json = String(decoding: try JSONEncoder().encode(map), as: UTF8.self)
    #expect(json == #"[{"name":"alpha"},{"name":"mid"},{"name":"zeta"}]"#)
    #expect(try JSONDecoder().decode(SchemaObjectMap<S.Namespace>.self, from: Data(json.utf8)) == map)
  }

  @Test func twoObjectsWithOneNameDoNotDecode() {
    let json = #"[{"name":"a"},{"name":"a"}]"#
    #expect(throws: DecodingError.self) { try JSONDecoder().decode(SchemaObjectMap<S.Namespace>.self, from: Data(json.utf8)) }
  }

  @Test func lookUpReplaceRemove() {
    var map: SchemaObjectMap<S.Namespace> = [.init(name: "a")]
    map["a"]?.comment = "first"
    #expect(map["a"]?.comment == "first")
    map.insert(.init(name: "b"))
    #expect(map.count == 2 && map.contains("b"))
    map["a"] = nil
    #expect(map.keys == ["b"])
  }
}

@Suite struct CanonicalSQLTests {
  @Test func sameSnapshotSameBytesWhateverTheOrderItWasBuiltIn() {
    var a = ordersSnapshot()
    a.schemas = [.init(name: "b"), .init(name: "a", comment: "first")]
    var b = SchemaSnapshot(schemas: [.init(name: "a", comment: "first"), .init(name: "b")])
    b.tables = a.tables
    #expect(a == b)
    #expect(a.canonicalSQL() == b.canonicalSQL())
    #expect(a.canonicalSQL().contains("CREATE SCHEMA a;\nCOMMENT ON SCHEMA a IS 'first';\n\nCREATE SCHEMA b;"))
  }

  @Test func tablesColumnsAndNamedNotNull() {
    var snapshot = ordersSnapshot()
    snapshot.tables[orders]?.updateColumn("note") { $0.notNull = .init(name: "note_required") }
    let sql = snapshot.canonicalSQL()
    #expect(
      sql.contains(
        """
        CREATE TABLE public.orders (
            id bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME public.orders_id_seq START WITH 1 INCREMENT BY 1 \
        NO MINVALUE NO MAXVALUE CACHE 1) NOT NULL,
            amount integer DEFAULT 0 NOT NULL,
            note text CONSTRAINT note_required NOT NULL
        );
        """))
    #expect(sql.contains("ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);"))
    #expect(sql.contains("CREATE INDEX orders_amount_idx ON public.orders USING btree (amount);"))
  }

  @Test func viewsFollowTheViewsTheyRead() throws {
    var snapshot = ordersSnapshot()
    let outer = QualifiedName(schema: "public", "a_outer")
    let inner = QualifiedName(schema: "public", "z_inner")
    snapshot.views.insert(
      .init(
        name: outer, definition: "SELECT amount FROM public.z_inner", dependencies: [.init(relation: inner, columns: ["amount"])])
    )
    snapshot.views.insert(
      .init(
        name: inner, definition: "SELECT amount FROM public.orders", dependencies: [.init(relation: orders, columns: ["amount"])])
    )
    let sql = snapshot.canonicalSQL()
    let innerAt = try #require(sql.range(of: "CREATE VIEW public.z_inner")).lowerBound
    let outerAt = try #require(sql.range(of: "CREATE VIEW public.a_outer")).lowerBound
    #expect(innerAt < outerAt)
  }

  @Test func foreignKeysComeAfterEveryTableAndKey() throws {
    var snapshot = ordersSnapshot()
    let items = QualifiedName(schema: "public", "a_items")
    var table = S.Table(name: items, columns: [S.Column(name: "order_id", type: "bigint")])
    table.constraints.insert(
      .init(
        name: "a_items_order_id_fkey", kind: .foreignKey, definition: "FOREIGN KEY (order_id) REFERENCES public.orders(id)",
        columns: ["order_id"], references: .init(table: orders, columns: ["id"])))
    snapshot.tables.insert(table)
    let sql = snapshot.canonicalSQL()
    let fk = try #require(sql.range(of: "ADD CONSTRAINT a_items_order_id_fkey")).lowerBound
    let pk = try #require(sql.range(of: "ADD CONSTRAINT orders_pkey")).lowerBound
    let lastTable = try #require(sql.range(of: "CREATE TABLE public.orders")).lowerBound
    #expect(pk < fk && lastTable < fk)
    #expect(
      snapshot.dependents(ofColumn: "id", in: orders).contains(
        .incomingForeignKey(table: items, constraint: "a_items_order_id_fkey")))
  }

  @Test func functionsThatNeedATableComeAfterTheTables() throws {
    var snapshot = ordersSnapshot()
    snapshot.functions.insert(
      .init(
        name: QualifiedName(schema: "public", "a_count"), arguments: "", identityArguments: "", result: "bigint", language: "sql",
        cost: 100, body: .sqlBody("BEGIN ATOMIC\n SELECT count(*) AS count\n    FROM public.orders;\nEND")))
    snapshot.functions.insert(
      .init(
        name: QualifiedName(schema: "public", "z_plain"), arguments: "x integer", identityArguments: "x integer",
        result: "integer",
        language: "sql", volatility: .immutable, cost: 100, body: .source("SELECT x $1")))
    let sql = snapshot.canonicalSQL()
    let late = try #require(sql.range(of: "CREATE FUNCTION public.a_count")).lowerBound
    let plain = try #require(sql.range(of: "CREATE FUNCTION public.z_plain")).lowerBound
    let table = try #require(sql.range(of: "CREATE TABLE public.orders")).lowerBound
    #expect(plain < table && table < late)
    // A body holding `$` is quoted with a tag it does not hold.
    #expect(sql.contains("AS $body$SELECT x $1$body$;"))
  }
}

@Suite struct SchemaDifferenceTests {
  @Test func equalSnapshotsHaveNoDifference() {
    #expect(ordersSnapshot().differences(to: ordersSnapshot()).isEmpty)
  }

  @Test func anExtraIndexOnAColumnIsNamedOnTheColumn() {
    var live = ordersSnapshot()
    live.tables[orders]?.indexes.insert(
      .init(name: "orders_amount_brin", method: "brin", keys: [.init(column: "amount")], columns: ["amount"]))
    let differences = ordersSnapshot().differences(to: live)
    #expect(
      differences.map { $0.message(expected: "plan assumed", actual: "live has") } == [
        "public.orders.amount: plan assumed integer NOT NULL DEFAULT 0 with index orders_amount_idx; live has also index orders_amount_brin",
        "index public.orders_amount_brin: plan assumed none; live has CREATE INDEX orders_amount_brin ON public.orders USING brin (amount)",
      ])
  }

  @Test func changedTypeDefaultAndNotNullAreNamed() {
    var live = ordersSnapshot()
    live.tables[orders]?.updateColumn("amount") {
      $0.type = "bigint"
      $0.defaultExpression = nil
      $0.notNull = nil
      $0.comment = "in cents"
    }
    let differences = ordersSnapshot().differences(to: live)
    #expect(
      differences.map(\.description) == [
        "public.orders.amount: expected integer NOT NULL DEFAULT 0 with index orders_amount_idx; "
          + "found bigint, no NOT NULL, no DEFAULT, comment 'in cents'"
      ])
  }

  @Test func missingAndExtraColumnsAndTables() {
    var live = ordersSnapshot()
    live.tables[orders]?.columns.removeAll { $0.name == "note" }
    live.tables[orders]?.columns.append(S.Column(name: "memo", type: "text"))
    live.tables.insert(S.Table(name: QualifiedName(schema: "public", "extra"), columns: [S.Column(name: "x", type: "int")]))
    #expect(
      ordersSnapshot().differences(to: live).map(\.description) == [
        "table public.extra: expected none; found table with columns x",
        "public.orders.note: expected text; found none",
        "public.orders.memo: expected none; found text",
      ])
  }

  @Test func onlyTheTablesAskedAboutAreCompared() {
    var live = ordersSnapshot()
    live.tables.insert(S.Table(name: QualifiedName(schema: "public", "extra")))
    live.schemas.insert(.init(name: "other"))
    #expect(ordersSnapshot().differences(to: live, tables: [orders]).isEmpty)
    #expect(ordersSnapshot().differences(to: live).count == 2)
  }

  @Test func aChangedIndexIsDescribedWhole() {
    var live = ordersSnapshot()
    live.tables[orders]?.indexes["orders_amount_idx"]?.predicate = "(amount > 0)"
    #expect(
      ordersSnapshot().differences(to: live).map(\.description) == [
        "index public.orders_amount_idx: expected CREATE INDEX orders_amount_idx ON public.orders USING btree (amount); "
          + "found CREATE INDEX orders_amount_idx ON public.orders USING btree (amount) WHERE (amount > 0)"
      ])
  }

  @Test func snapshotsSurviveJSON() throws {
    var snapshot = ordersSnapshot()
    snapshot.types.insert(.init(name: QualifiedName(schema: "public", "mood"), kind: .enumeration(labels: ["sad", "ok"])))
    snapshot.tables[orders]?.replicaIdentity = .index("orders_pkey")
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(snapshot)
    let decoded = try JSONDecoder().decode(SchemaSnapshot.self, from: data)
    #expect(decoded == snapshot)
    #expect(try encoder.encode(decoded) == data)
  }
}
