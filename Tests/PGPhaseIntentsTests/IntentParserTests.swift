import PGPhaseIntents
import PGPhaseModel
import Testing

private func parse(_ yaml: String, file: String = "intents/x.yaml") -> (Intent?, [Diagnostic]) {
  IntentParser.parse(yaml: yaml, file: file, defaultID: "x")
}

@Suite struct IntentParserTests {
  @Test func readsTheExampleFromTheDesign() throws {
    let yaml = """
      id: 20261120_incident_severity
      description: Severity for incidents.
      schema: public
      settings:
        lock_timeout: 2s
        backfill_batch_size: 5000
      changes:
        - add_column:
            table: incidents
            column:
              name: severity
              type: text
              default: "'minor'"
              nullable: false
              check: "severity IN ('minor', 'major', 'critical')"
        - create_index:
            table: incidents
            name: incidents_unresolved_idx
            columns: [created_at, "lower(title)"]
            where: "resolved_at IS NULL"
      """
    let (intent, diagnostics) = parse(yaml)
    #expect(diagnostics.isEmpty)
    let i = try #require(intent)
    #expect(i.id == "20261120_incident_severity")
    #expect(i.settings == IntentSettings(lockTimeout: "2s", backfillBatchSize: 5000))
    #expect(i.changes.count == 2)
    guard case .addColumn(let add) = i.changes[0].operation else {
      Issue.record("expected add_column")
      return
    }
    #expect(add.table == QualifiedName(schema: "public", "incidents"))
    #expect(add.column.defaultExpression == "'minor'")
    #expect(add.column.nullable == false)
    #expect(
      i.changes[0].location(of: "column.nullable") == PGPhaseModel.SourceLocation(file: "intents/x.yaml", line: 14, column: 19))
    guard case .createIndex(let index) = i.changes[1].operation else {
      Issue.record("expected create_index")
      return
    }
    #expect(index.keys == [.column("created_at"), .expression("lower(title)")])
  }

  @Test func idDefaultsToTheFileName() throws {
    let (intent, _) = IntentParser.parse(
      yaml: "changes:\n  - drop_index: {name: old_idx}\n", file: "a/20261201_x.yaml",
      defaultID: IntentParser.defaultID(forFileName: "20261201_x.yaml"))
    #expect(try #require(intent).id == "20261201_x")
  }

  @Test func malformedYAMLIsLocated() {
    let (intent, diagnostics) = parse("changes:\n  - add_column: {table: t\n  - x\n")
    #expect(intent == nil)
    let d = diagnostics.first
    #expect(d?.severity == .error)
    #expect(d?.message.hasPrefix("malformed YAML") == true)
    #expect(d?.location?.file == "intents/x.yaml")
    #expect((d?.location?.line ?? 0) >= 2)
  }

  @Test func unknownOperationSuggestsTheClosest() {
    let (intent, diagnostics) = parse("changes:\n  - add_colum:\n      table: t\n")
    #expect(intent == nil)
    #expect(diagnostics.count == 1)
    #expect(diagnostics[0].message == "unknown operation `add_colum`")
    #expect(diagnostics[0].hint == "did you mean `add_column`?")
    #expect(diagnostics[0].location == PGPhaseModel.SourceLocation(file: "intents/x.yaml", line: 2, column: 5))
  }

  /// A typo'd key is one error, at the typo, with the suggestion; not also "missing required
  /// key" at the mapping (the old reader reported both, the missing key first).
  @Test func unknownKeySuggestsTheClosestAndIsTheOnlyError() {
    let (_, diagnostics) = parse("changes:\n  - drop_column:\n      table: t\n      colum: c\n")
    #expect(
      diagnostics.map(\.description) == [
        "intents/x.yaml:4:7: error: unknown key `colum` in `drop_column`\n  hint: did you mean `column`?"
      ])
    let (_, column) = parse("changes:\n  - add_column:\n      table: t\n      column: {nmae: c, type: text}\n")
    #expect(column.map(\.message) == ["unknown key `nmae` in column definition"])
    // A key that is missing with no typo in sight is still reported, at the mapping.
    let (_, missing) = parse("changes:\n  - drop_column:\n      table: t\n      cascade: true\n")
    #expect(
      missing.map(\.message) == ["`drop_column` is missing required key `column`", "unknown key `cascade` in `drop_column`"])
  }

  @Test func wrongTypesAreReported() {
    let yaml = """
      changes:
        - create_index:
            table: t
            name: i
            columns: c
            unique: maybe
      """
    let (_, diagnostics) = parse(yaml)
    #expect(
      diagnostics.contains { $0.message.contains("`create_index.columns` must be a non-empty list") && $0.location?.line == 5 })
    #expect(diagnostics.contains { $0.message.contains("`create_index.unique` must be true or false") && $0.location?.line == 6 })
  }

  @Test func reportsEveryErrorInTheFileNotOnlyTheFirst() {
    let yaml = """
      id: ok
      descripton: typo
      changes:
        - drop_table: {}
        - sql: {phase: later, up: "SELECT 1"}
        - rename_table: {from: a, to: b, extra: 1}
        - add_column: {table: t, column: {name: c}}
      """
    let (intent, diagnostics) = parse(yaml)
    #expect(intent == nil)
    let lines = Set(diagnostics.compactMap(\.location?.line))
    #expect(lines.isSuperset(of: [2, 4, 5, 6, 7]), "got \(diagnostics.map(\.description))")
    #expect(diagnostics.contains { $0.hint == "did you mean `description`?" })
    #expect(diagnostics.contains { $0.message.contains("`sql.phase` must be one of expand, backfill, contract") })
  }

  @Test func aChangeMustHaveExactlyOneOperation() {
    let (_, diagnostics) = parse("changes:\n  - drop_table: {table: a}\n    drop_index: {name: b}\n")
    #expect(diagnostics.contains { $0.message.contains("exactly one operation key, found 2") })
  }

  @Test func duplicateKeysAreReported() {
    let (_, diagnostics) = parse("changes:\n  - drop_table:\n      table: a\n      table: b\n")
    #expect(diagnostics.contains { $0.message.contains("duplicate key `table`") })
  }

  @Test func badIDsAndSettings() {
    let (_, diagnostics) = parse(
      "id: ../escape\nsettings: {lock_timeout: soon, backfill_batch_size: 0}\nchanges:\n  - drop_index: {name: i}\n")
    #expect(diagnostics.contains { $0.message.contains("intent id `../escape` may contain only") })
    #expect(diagnostics.contains { $0.message.contains("`settings.lock_timeout` must be a duration") })
    #expect(diagnostics.contains { $0.message.contains("`settings.backfill_batch_size` must be at least 1") })
  }

  @Test func emptyFileAndEmptyChanges() {
    #expect(parse("").1.first?.message == "the intent file is empty")
    #expect(parse("changes: []\n").1.first?.message == "`changes` must list at least one change")
  }

  @Test func duplicateIDsAcrossFiles() {
    let a = IntentSource(path: "i/a.yaml", text: "id: same\nchanges:\n  - drop_index: {name: x}\n")
    let b = IntentSource(path: "i/b.yaml", text: "id: same\nchanges:\n  - drop_index: {name: y}\n")
    let (_, diagnostics) = IntentLoader.load([a, b])
    #expect(diagnostics.count == 1)
    #expect(diagnostics[0].message == "duplicate intent id `same`, also used by i/a.yaml:1:5")
    #expect(diagnostics[0].location == PGPhaseModel.SourceLocation(file: "i/b.yaml", line: 1, column: 5))
  }

  @Test func loaderOrdersByID() {
    let b = IntentSource(path: "i/b.yaml", text: "changes:\n  - drop_index: {name: x}\n")
    let a = IntentSource(path: "i/a.yaml", text: "changes:\n  - drop_index: {name: y}\n")
    #expect(IntentLoader.load([b, a]).intents.map(\.id) == ["a", "b"])
  }
}
