import Foundation
import PGPhaseModel
import Testing

private let t = QualifiedName(schema: "public", "t")

/// Every postcondition and precondition case, with the JSON object plan.json holds for it
/// (the same in formats 1 and 2).
private let conditions: [(Postcondition, String)] = [
  (.tableExists(t), #"{"kind":"table_exists","object":{"name":"t","schema":"public"}}"#),
  (.tableAbsent(t), #"{"kind":"table_absent","object":{"name":"t","schema":"public"}}"#),
  (.viewExists(t), #"{"kind":"view_exists","object":{"name":"t","schema":"public"}}"#),
  (.viewAbsent(t), #"{"kind":"view_absent","object":{"name":"t","schema":"public"}}"#),
  (
    .columnExists(t, "c", type: "text", nullable: false),
    #"{"column":"c","kind":"column_exists","nullable":false,"table":{"name":"t","schema":"public"},"type":"text"}"#
  ),
  (
    .columnExists(t, "c", type: nil, nullable: nil),
    #"{"column":"c","kind":"column_exists","table":{"name":"t","schema":"public"}}"#
  ),
  (.columnAbsent(t, "c"), #"{"column":"c","kind":"column_absent","table":{"name":"t","schema":"public"}}"#),
  (
    .columnDefault(t, "c", "'x'"),
    #"{"column":"c","default":"'x'","kind":"column_default","table":{"name":"t","schema":"public"}}"#
  ),
  (.columnDefault(t, "c", nil), #"{"column":"c","kind":"column_default","table":{"name":"t","schema":"public"}}"#),
  (
    .constraintExists(t, "k", validated: true),
    #"{"kind":"constraint_exists","name":"k","table":{"name":"t","schema":"public"},"validated":true}"#
  ),
  (.constraintAbsent(t, "k"), #"{"kind":"constraint_absent","name":"k","table":{"name":"t","schema":"public"}}"#),
  (
    .indexExists(QualifiedName("i"), on: t, unique: true),
    #"{"kind":"index_exists","object":{"name":"i"},"table":{"name":"t","schema":"public"},"unique":true,"valid":true}"#
  ),
  (.indexAbsent(QualifiedName("i")), #"{"kind":"index_absent","object":{"name":"i"}}"#),
  (.triggerExists(t, "g"), #"{"kind":"trigger_exists","name":"g","table":{"name":"t","schema":"public"}}"#),
  (.triggerAbsent(t, "g"), #"{"kind":"trigger_absent","name":"g","table":{"name":"t","schema":"public"}}"#),
  (.functionExists(t), #"{"kind":"function_exists","object":{"name":"t","schema":"public"}}"#),
  (.functionAbsent(t), #"{"kind":"function_absent","object":{"name":"t","schema":"public"}}"#),
  (.noRowsMatch(t, "c IS NULL"), #"{"kind":"no_rows_match","predicate":"c IS NULL","table":{"name":"t","schema":"public"}}"#),
  (.unchecked, #"{"kind":"unchecked"}"#),
]

private func encode<T: Encodable>(_ value: T) throws -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
  return String(decoding: try encoder.encode(value), as: UTF8.self)
}

private func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
  try JSONDecoder().decode(type, from: Data(json.utf8))
}

@Suite struct PlanCodingTests {
  @Test func everyPostconditionKeepsItsJSONShape() throws {
    #expect(Set(conditions.map(\.0.kind)) == Set(Postcondition.Kind.allCases))
    for (condition, json) in conditions {
      #expect(try encode(condition) == json)
      #expect(try decode(Postcondition.self, json) == condition, "\(json)")
    }
  }

  @Test func preconditionKeepsItsJSONShape() throws {
    let p = Precondition.columnReplaceable(t, "c", nullable: false, default: "0")
    let json =
      #"{"column":"c","default":"0","kind":"column_replaceable","nullable":false,"table":{"name":"t","schema":"public"}}"#
    #expect(try encode(p) == json)
    #expect(try decode(Precondition.self, json) == p)
  }

  /// A check missing what its kind needs, or carrying what its kind does not take, is refused when
  /// the plan is read, not discovered half-way through a run.
  @Test(arguments: [
    (#"{"kind":"table_exists"}"#, "object"),
    (#"{"kind":"column_exists","table":{"name":"t"}}"#, "column"),
    (#"{"kind":"constraint_exists","table":{"name":"t"},"name":"k"}"#, "validated"),
    (#"{"kind":"column_absent","table":{"name":"t"},"column":"c","type":"int"}"#, "type"),
    (#"{"kind":"index_exists","object":{"name":"i"},"table":{"name":"t"},"unique":false,"valid":false}"#, "valid"),
    (#"{"kind":"column_exists","table":{"name":"t"},"column":"c","default":"1"}"#, "default"),
    (#"{"kind":"no_such_check"}"#, "kind"),
  ])
  func malformedConditionsAreRefused(json: String, field: String) throws {
    let error = #expect(throws: DecodingError.self) { try decode(Postcondition.self, json) }
    let text = "\(try #require(error))"
    #expect(text.contains(field), "\(text)")
  }

  @Test func everyActionRoundTrips() throws {
    let actions: [StepAction] = [
      .transaction,
      .validateConstraint(table: t, name: "k"),
      .buildIndex(IndexBuild(index: t.sibling("i"), table: t, unique: true, definition: "USING gin (a) WHERE a IS NOT NULL")),
      .rebuildIndex(QualifiedName("i")),
      .dropIndex(t.sibling("i")),
      .backfill(
        BackfillSpec(table: t, assignments: [Assignment(column: "c", expression: "1")], pending: "c IS NULL", bypassTrigger: "g")),
      .backfill(BackfillSpec(table: t, assignments: [], pending: "true")),
      .sql(transactional: false, concurrently: true),
      .sql(transactional: true, concurrently: false),
    ]
    #expect(Set(actions.map(\.kind)) == Set(StepAction.Kind.allCases))
    for action in actions {
      #expect(try decode(StepAction.self, try encode(action)) == action)
    }
    #expect(
      try encode(StepAction.validateConstraint(table: t, name: "k"))
        == #"{"kind":"validate_constraint","name":"k","table":{"name":"t","schema":"public"}}"#)
  }

  /// `transactional` is written for readers; a hand edit that contradicts the action is refused.
  @Test func transactionalMustAgreeWithTheAction() throws {
    let step = Step(
      id: "expand/01-i", phase: .expand, change: 1, location: SourceLocation(file: "i.yaml", line: 3, column: 5),
      operation: "create_index", summary: "s", sql: ["CREATE INDEX CONCURRENTLY i ON t (a)"],
      action: .buildIndex(IndexBuild(index: t.sibling("i"), table: t, unique: false, definition: "(a)")), locks: [],
      cost: .scanNoWriteBlock, undo: nil, postconditions: [])
    let json = try encode(step)
    #expect(json.contains(#""transactional":false"#))
    #expect(json.contains(#""location":{"column":5,"file":"i.yaml","line":3}"#))
    #expect(!json.contains("preconditions"), "an empty precondition list is not written")
    #expect(try decode(Step.self, json) == step)
    let edited = json.replacingOccurrences(of: #""transactional":false"#, with: #""transactional":true"#)
    let error = #expect(throws: DecodingError.self) { try decode(Step.self, edited) }
    #expect("\(try #require(error))".contains("build_index is not transactional"))
  }

  @Test func indexBuildRendersTheStatementItDescribes() {
    let build = IndexBuild(
      index: t.sibling("Big Idx"), table: t, unique: true,
      definition: IndexBuild.definition(method: "btree", keys: ["a", "(lower(b))"], include: ["c"], predicate: "a > 0"))
    #expect(
      build.createSQL(concurrently: true)
        == "CREATE UNIQUE INDEX CONCURRENTLY \"Big Idx\" ON public.t USING btree (a, (lower(b))) INCLUDE (c) WHERE a > 0")
    #expect(
      build.createSQL(concurrently: false, on: "pg_temp.p")
        == "CREATE UNIQUE INDEX \"Big Idx\" ON pg_temp.p USING btree (a, (lower(b))) INCLUDE (c) WHERE a > 0")
  }

  @Test func unsupportedFormatsSayWhatToDo() throws {
    let newer = #expect(throws: PlanReadError.self) { try PlanDocument.decode(Data(#"{"format": 3}"#.utf8)) }
    #expect(newer == .unsupportedFormat(3))
    #expect("\(try #require(newer))".contains("upgrade pgphase"))
    let older = #expect(throws: PlanReadError.self) { try PlanDocument.decode(Data(#"{"format": 0}"#.utf8)) }
    #expect("\(try #require(older))".contains("re-plan with `pgphase plan`"))
    let none = #expect(throws: PlanReadError.self) { try PlanDocument.decode(Data(#"{"intent": "x"}"#.utf8)) }
    #expect("\(try #require(none))".contains("not a pgphase plan"))
  }
}
