import Foundation
import PGPhaseModel
import PGPhasePlanner
import PGPhaseSchema
import Testing

/// plan.json is written by `JSONOut`, not JSONEncoder (a third of `pgphase plan` of a thousand
/// intents was JSONEncoder), and must stay byte for byte what JSONEncoder wrote: committed
/// plans, and the hashes of applied ones, must not change with the writer.
@Suite struct PlanJSONTests {
  static func jsonEncoderText(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
  }

  static func expectSameAsJSONEncoder(_ plans: [Plan], sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    #expect(!plans.isEmpty, sourceLocation: sourceLocation)
    for plan in plans {
      let expected = try jsonEncoderText(plan)
      let written = try PlanRenderer.json(plan)
      #expect(
        written == expected,
        "\(plan.intent):\n\(LineDiff.unified(old: expected, new: written, oldName: "JSONEncoder", newName: "JSONOut"))",
        sourceLocation: sourceLocation)
    }
  }

  @Test func examplePlansAreWrittenAsJSONEncoderWritesThem() throws {
    try Self.expectSameAsJSONEncoder(try examplePlans())
  }

  /// With a schema, plans carry `assumes` (whole tables: columns, constraints, indexes, comments).
  @Test func plansWithAssumedTablesAreWrittenAsJSONEncoderWritesThem() throws {
    let text = try String(contentsOf: repositoryRoot.appendingPathComponent("examples/schema.sql"), encoding: .utf8)
    let reading = SchemaFileReader.read(text, file: "examples/schema.sql")
    let withExampleSchema = try folderPlans("examples/intents", schema: reading.snapshot)
    #expect(withExampleSchema.contains { $0.assumes != nil })
    try Self.expectSameAsJSONEncoder(withExampleSchema)
    let fixture = try folderPlans("Tests/PGPhasePlannerTests/Fixtures/schema/intents", schema: shopSnapshot())
    #expect(fixture.contains { $0.assumes != nil })
    try Self.expectSameAsJSONEncoder(fixture)
  }

  /// The intents bench/plan/gen_intents.py writes, each with every change the generator picks from.
  @Test func benchShapedPlansAreWrittenAsJSONEncoderWritesThem() throws {
    let intents = (0..<12).map { i in
      let t = "bench_t\(i)"
      let parent = "bench_p\(i)"
      return """
        description: Bench intent \(i) with "quotes", a back\\\\slash and a/slash.
        changes:
          - create_table:
              table: \(parent)
              columns:
                - {name: id, type: bigint, identity: always, primary_key: true}
                - {name: label, type: text, nullable: false}
          - add_column:
              table: \(t)
              column: {name: status, type: text, nullable: false, default: "'new'", check: "status IN ('new', 'done')"}
          - create_index:
              table: \(t)
              name: \(t)_status_idx
              columns: [status, "lower(note)"]
              where: "status <> 'done'"
          - add_check: {table: \(t), name: \(t)_amount_check, expression: "amount >= 0"}
          - add_foreign_key:
              table: \(t)
              name: \(t)_parent_fkey
              columns: [parent_id]
              references: {table: \(parent), columns: [id]}
              on_delete: cascade
          - add_unique: {table: \(t), name: \(t)_code_key, columns: [code]}
          - backfill: {table: \(t), set: {note: "coalesce(note, '')"}, where: "note IS NULL"}
          - set_not_null: {table: \(t), column: created_at, backfill: "now()"}
          - drop_column: {table: \(t), column: legacy}
          - sql: {phase: expand, up: "SELECT E'tab\\\\there', '\\u00e9t\\u00e9 \\u2603'"}
        """
    }
    let (plans, diagnostics) = planIntents(intents)
    #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))")
    #expect(plans.count == intents.count)
    try Self.expectSameAsJSONEncoder(plans)
  }

  /// What plans do not hold yet but a Codable model may: every escape, empty containers,
  /// numbers of every kind, dictionaries, nested and super containers, a key written twice.
  @Test func everyKindOfValueIsWrittenAsJSONEncoderWritesIt() throws {
    struct Inner: Codable, Equatable {
      var name = "a\"b\\c/d\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f} é ☃ 🐘"
      var empty: [String] = []
      var none: [String: Int] = [:]
      var optional: Int? = nil
    }
    struct Custom: Encodable {
      func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode("first", forKey: .twice)
        try c.encode("second", forKey: .twice)
        try c.encodeNil(forKey: .null)
        try c.encode(1, forKey: .capital)
        try c.encode(2, forKey: .upper)
        try c.encode(3.5, forKey: .aa)
        var nested = c.nestedContainer(keyedBy: Key.self, forKey: .nested)
        try nested.encode(Int8(-8), forKey: .a)
        try nested.encode(UInt64.max, forKey: .b)
        var list = c.nestedUnkeyedContainer(forKey: .list)
        try list.encode(true)
        try list.encodeNil()
        var deeper = list.nestedUnkeyedContainer()
        try deeper.encode(Int16(3))
        try Inner().encode(to: c.superEncoder())
        try "named".encode(to: c.superEncoder(forKey: .a))
        _ = c.nestedContainer(keyedBy: Key.self, forKey: .b)
      }
      enum Key: String, CodingKey {
        case twice, null, nested, list, a, b
        case capital = "Z"
        case aa = "a a"
        case upper = "B"
      }
    }
    struct Everything: Encodable {
      var inner = Inner()
      var inners = [Inner(), Inner(name: "", empty: ["x"], none: ["k": 1, "K": 2, "10": 3, "9": 4], optional: 0)]
      var custom = Custom()
      var doubles: [Double] = [0, 1, -1.5, 0.1, 1e21, 123456789.125, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
      var float: Float = 3.25
      var integers: [Int64] = [.min, .max]
      var unsigned: [UInt32] = [0, .max]
      var date = Date(timeIntervalSince1970: 1_700_000_000.5)
      var data = Data([0, 1, 2, 250])
      var url = URL(string: "https://example.com/a/b?c=d")!
      var decimal = Decimal(string: "12.345")!
      var nestedArrays: [[[Int]]] = [[], [[]], [[1, 2], []]]
      var dictionary: [String: [String: Bool]] = ["b": [:], "a": ["z": true, "Z": false, "é": true]]
      var intKeys: [Int: String] = [2: "two", 10: "ten"]
      var optionalPresent: String? = "here"
      var optionalAbsent: String? = nil
    }
    for value in [Everything(), Everything(inner: Inner(name: ""), optionalPresent: nil)] {
      let expected = try Self.jsonEncoderText(value)
      let written = try JSONOut(encoding: value).rendered(.jsonEncoderPretty)
      #expect(
        written == expected, "\(LineDiff.unified(old: expected, new: written, oldName: "JSONEncoder", newName: "JSONOut"))")
    }
    // Top-level values of every kind, as JSONEncoder writes fragments.
    #expect(try JSONOut(encoding: "x/y").rendered(.jsonEncoderPretty) == Self.jsonEncoderText("x/y"))
    #expect(try JSONOut(encoding: 42).rendered(.jsonEncoderPretty) == Self.jsonEncoderText(42))
    #expect(try JSONOut(encoding: [Inner]()).rendered(.jsonEncoderPretty) == Self.jsonEncoderText([Inner]()))
    #expect(try JSONOut(encoding: 2.5).rendered(.jsonEncoderPretty) == Self.jsonEncoderText(2.5))
  }

  /// As JSONEncoder: a value that encodes nothing at the top is an error, a number JSON cannot
  /// hold is refused.
  @Test func whatJSONEncoderRefusesIsRefused() {
    struct Nothing: Encodable { func encode(to encoder: any Encoder) throws {} }
    #expect(throws: EncodingError.self) { try JSONOut(encoding: Nothing()) }
    #expect(throws: EncodingError.self) { try JSONOut(encoding: [Double.nan]) }
  }
}
