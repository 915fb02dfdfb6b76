import PGPhaseIntents
import PGPhaseModel
import Testing

/// The fields issue 16 added: read into the operation, and refused, located, when malformed.
@Suite struct CatalogOperationReaderTests {
  func read(_ changes: String) -> (Operation?, [Diagnostic]) {
    let (intent, d) = IntentParser.parse(yaml: "changes:\n" + changes, file: "i.yaml", defaultID: "i")
    return (intent?.changes.first?.operation, d.filter { $0.severity == .error })
  }

  func errors(_ changes: String) -> [String] { read(changes).1.map(\.description) }

  @Test func commentsAreSetOrRemovedWithNull() {
    #expect(
      read("  - comment_table: {table: t, comment: \"Orders\"}\n").0
        == .commentTable(table: QualifiedName(schema: nil, "t"), comment: "Orders"))
    #expect(
      read("  - comment_table: {table: t, comment: null}\n").0
        == .commentTable(table: QualifiedName(schema: nil, "t"), comment: nil))
    #expect(
      read("  - comment_column: {table: t, column: c, comment: ~}\n").0
        == .commentColumn(table: QualifiedName(schema: nil, "t"), column: "c", comment: nil))
    #expect(
      errors("  - comment_column: {table: t, column: c}\n") == [
        "i.yaml:2:21: error: `comment_column` is missing required key `comment`"
      ])
    #expect(
      errors("  - comment_table: {table: t, comment: 12}\n") == [
        "i.yaml:2:40: error: `comment_table.comment` must be a string, found `12` (a YAML number)\n  hint: quote it if you mean the text: `'12'`"
      ])
  }

  @Test func aNamedPrimaryKey() throws {
    let (op, d) = read(
      "  - create_table: {table: t, columns: [{name: a, type: int}], primary_key: {name: t_pk, columns: [a]}, comment: \"x\"}\n")
    #expect(d.isEmpty, "\(d)")
    guard case .createTable(let t) = op else {
      Issue.record("\(String(describing: op))")
      return
    }
    #expect(t.primaryKey == ["a"] && t.primaryKeyName == "t_pk" && t.comment == "x")
    #expect(
      errors("  - create_table: {table: t, columns: [{name: a, type: int}], primary_key: a}\n") == [
        "i.yaml:2:76: error: `create_table.primary_key` must be a list of columns or `{name, columns}`, found `a`\n  hint: e.g. `primary_key: [a, b]` or `primary_key: {name: t_pk, columns: [a, b]}`"
      ])
    let long = String(repeating: "k", count: 64)
    let e = errors("  - create_table: {table: t, columns: [{name: a, type: int}], primary_key: {name: \(long), columns: [a]}}\n")
    #expect(e.count == 1 && e[0].hasPrefix("i.yaml:2:83: error: `primary_key.name` is 64 bytes long"), "\(e)")
  }

  @Test func replicaIdentity() {
    #expect(
      read("  - set_replica_identity: {table: t, identity: index, index: t_key}\n").0
        == .setReplicaIdentity(table: QualifiedName(schema: nil, "t"), identity: .index("t_key")))
    #expect(
      read("  - set_replica_identity: {table: t, identity: full}\n").0
        == .setReplicaIdentity(table: QualifiedName(schema: nil, "t"), identity: .full))
    #expect(
      errors("  - set_replica_identity: {table: t, identity: ful}\n") == [
        "i.yaml:2:48: error: `set_replica_identity.identity` must be one of default, full, nothing, index, found `ful`\n  hint: did you mean `full`?"
      ])
    #expect(
      errors("  - set_replica_identity: {table: t, identity: index}\n") == [
        "i.yaml:2:48: error: `identity: index` needs `index:`, the unique index whose columns identify a row"
      ])
    #expect(
      errors("  - set_replica_identity: {table: t, identity: full, index: t_key}\n") == [
        "i.yaml:2:61: error: `index` goes only with `identity: index`\n  hint: remove it, or write `identity: index`"
      ])
  }

  @Test func indexKeyOptionsAndStorageParameters() throws {
    let (op, d) = read(
      """
        - create_index:
            table: t
            name: i
            columns: [{column: a, opclass: text_pattern_ops, order: desc, nulls: last}, {expression: "lower(b)", collate: "C"}, c]
            with: {fillfactor: 70, deduplicate_items: false, buffering: auto}

      """)
    #expect(d.isEmpty, "\(d)")
    guard case .createIndex(let index) = op else {
      Issue.record("\(String(describing: op))")
      return
    }
    #expect(index.keySQL == ["a text_pattern_ops DESC NULLS LAST", "(lower(b)) COLLATE \"C\"", "c"])
    #expect(index.storageParameters.map(\.sql) == ["fillfactor = 70", "deduplicate_items = false", "buffering = 'auto'"])
    #expect(
      errors("  - create_index: {table: t, name: i, columns: [{column: a, order: down}]}\n") == [
        "i.yaml:2:68: error: `order` must be one of asc, desc, found `down`\n  hint: one of: asc, desc"
      ])
    #expect(
      errors("  - create_index: {table: t, name: i, columns: [{column: a, opclas: x}]}\n") == [
        "i.yaml:2:61: error: unknown key `opclas` in index key\n  hint: did you mean `opclass`?"
      ])
    #expect(
      errors("  - create_index: {table: t, name: i, columns: [{column: a, expression: b}]}\n") == [
        "i.yaml:2:49: error: an index key has `column` or `expression`, not both"
      ])
    #expect(
      errors("  - create_index: {table: t, name: i, columns: [a], with: [fillfactor]}\n") == [
        "i.yaml:2:59: error: `create_index.with` must be a mapping of storage parameter: value, found a list\n  hint: e.g. `with: {fillfactor: 70}`"
      ])
    #expect(
      errors("  - create_index: {table: t, name: i, columns: [a], with: {fillfactor: ~}}\n") == [
        "i.yaml:2:72: error: the value of `fillfactor` in `create_index.with` must be a number, true/false or text, found nothing (null)"
      ])
    #expect(
      errors("  - create_index: {table: t, name: i, columns: [a], with: {fillfactor: 0x46}}\n").first?.hasPrefix(
        "i.yaml:2:72: error: the value of `fillfactor` in `create_index.with` is `0x46` (a YAML number), which YAML and SQL read differently"
      )
        == true)
  }

  @Test func alterColumnTakesUniqueCheckAndComment() throws {
    let (op, d) = read("  - alter_column: {table: t, column: c, unique: true, check: \"c > 0\", comment: null}\n")
    #expect(d.isEmpty, "\(d)")
    guard case .alterColumn(let a) = op else {
      Issue.record("\(String(describing: op))")
      return
    }
    #expect(a.unique && a.check == "c > 0" && a.comment == .some(nil) && !a.replacesColumn)
    #expect(
      errors("  - alter_column: {table: t, column: c, unique: 1}\n") == [
        "i.yaml:2:49: error: `alter_column.unique` must be true or false, found `1` (a YAML number)"
      ])
  }

  @Test func renameConstraint() {
    #expect(
      read("  - rename_constraint: {table: t, from: a, to: b}\n").0
        == .renameConstraint(table: QualifiedName(schema: nil, "t"), from: "a", to: "b"))
    #expect(
      errors("  - rename_constraint: {table: t, form: a, to: b}\n") == [
        "i.yaml:2:35: error: unknown key `form` in `rename_constraint`\n  hint: did you mean `from`?"
      ])
  }
}
