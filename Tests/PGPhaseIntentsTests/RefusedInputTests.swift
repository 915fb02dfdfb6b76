import PGPhaseIntents
import PGPhaseModel
import Testing

/// Input the reader used to accept and must refuse (issue 13, finding 6), each with a located
/// error. Every test here goes through `IntentParser.parse(yaml:)`, so it runs unchanged
/// against the reader before the fix, where each of them failed.
private func parse(_ yaml: String) -> (Intent?, [Diagnostic]) {
  IntentParser.parse(yaml: yaml, file: "i.yaml", defaultID: "i")
}

private func errors(_ yaml: String) -> [Diagnostic] { parse(yaml).1.filter { $0.severity == .error } }

/// The location of the first occurrence of `marker` in `text`, as the reader reports it.
private func location(of marker: String, in text: String) -> PGPhaseModel.SourceLocation {
  let prefix = text[..<text.range(of: marker)!.lowerBound]
  let line = prefix.filter { $0 == "\n" }.count + 1
  let column = prefix.count - (prefix.lastIndex(of: "\n").map { prefix.distance(from: prefix.startIndex, to: $0) + 1 } ?? 0) + 1
  return PGPhaseModel.SourceLocation(file: "i.yaml", line: line, column: column)
}

@Suite struct RefusedInputTests {
  /// `type: False` planned `ADD COLUMN endpoint false`: YAML reads a boolean there, and so does
  /// every editor and the JSON Schema.
  @Test func aBooleanWhereATypeIsRequiredIsRefused() {
    let yaml = "changes:\n  - add_column: {table: checks, column: {name: endpoint, type: False}}\n"
    let d = errors(yaml)
    #expect(
      d.map(\.description) == [
        "i.yaml:2:64: error: column `type` must be a string, found `False` (a YAML boolean)\n  hint: quote it if you mean the text: `'False'`"
      ])
  }

  static let nonStrings = ["False", "yes", "off", "12", "-1", "1.5", "0x1F", "2024-01-01", "~"]
  static let stringFields = [
    "changes:\n  - add_column: {table: t, column: {name: c, type: VALUE}}\n",
    "changes:\n  - add_column: {table: t, column: {name: VALUE, type: text}}\n",
    "changes:\n  - drop_table: {table: VALUE}\n",
    "changes:\n  - drop_column: {table: t, column: VALUE}\n",
    "changes:\n  - create_index: {table: t, name: i, columns: [VALUE]}\n",
    "changes:\n  - add_unique: {table: t, name: u, columns: [VALUE]}\n",
    "changes:\n  - backfill: {table: t, set: {VALUE: 1}}\n",
    "changes:\n  - sql: {phase: expand, up: VALUE}\n",
    "changes:\n  - alter_column: {table: t, column: c, type: VALUE, down: c}\n",
    "changes:\n  - rename_constraint: {table: t, from: VALUE, to: b}\n",
    "changes:\n  - rename_constraint: {table: t, from: a, to: VALUE}\n",
    "changes:\n  - set_replica_identity: {table: t, identity: index, index: VALUE}\n",
    "changes:\n  - create_index: {table: t, name: i, columns: [{column: c, opclass: VALUE}]}\n",
    "changes:\n  - create_table: {table: t, columns: [{name: c, type: text}], comment: VALUE}\n",
    "schema: VALUE\nchanges:\n  - drop_index: {name: i}\n",
    "id: VALUE\nchanges:\n  - drop_index: {name: i}\n",
    "description: VALUE\nchanges:\n  - drop_index: {name: i}\n",
  ]

  /// Every field that takes a name, a type or text refuses every non-string scalar, at it.
  @Test(arguments: stringFields)
  func nonStringScalarsAreRefusedWhereAStringIsRequired(template: String) {
    for value in Self.nonStrings {
      let yaml = template.replacingOccurrences(of: "VALUE", with: value)
      let d = errors(yaml)
      #expect(d.count == 1, "\(value) in \(template): \(d.map(\.description))")
      #expect(d.first?.location == location(of: value, in: yaml), "\(value) in \(template): \(d.map(\.description))")
      // The same field quoted is text.
      let quoted = template.replacingOccurrences(of: "VALUE", with: "'v\(value.filter { $0.isLetter || $0.isNumber })'")
      #expect(errors(quoted).isEmpty, "\(quoted): \(errors(quoted).map(\.description))")
    }
  }

  /// SQL fields take plain numbers and booleans as written, but only in the forms YAML and
  /// PostgreSQL read alike: `0x1F` is 31 to YAML and a syntax error to PostgreSQL 15, `017` is
  /// 15 to YAML and 17 to PostgreSQL, `yes` is true to YAML and a column name to PostgreSQL.
  @Test func sqlFieldsTakeNumbersAndBooleansOnlyWhereYAMLAndSQLAgree() throws {
    for value in ["0", "-3", "1.5", ".5", "1e6", "false", "TRUE"] {
      let (intent, d) = parse("changes:\n  - set_default: {table: t, column: c, default: \(value)}\n")
      #expect(d.isEmpty, "\(value): \(d.map(\.description))")
      guard case .setDefault(_, _, let written)? = intent?.changes.first?.operation else {
        Issue.record("\(value) not read")
        continue
      }
      #expect(written == value)
    }
    for value in ["yes", "off", "0x1F", "0o17", "017", "1_000", ".inf", ".nan", "2024-01-01", "1:30"] {
      let yaml = "changes:\n  - set_default: {table: t, column: c, default: \(value)}\n"
      let d = errors(yaml)
      #expect(d.count == 1 && d.first?.location == location(of: value, in: yaml), "\(value): \(d.map(\.description))")
      #expect(d.first?.message.contains("which YAML and SQL read differently") == true, "\(value)")
    }
  }

  /// `!!binary` and `!custom` were ignored and the tagged text taken as if untagged.
  @Test func explicitTagsAreRefused() {
    for (yaml, tag) in [
      ("changes:\n  - drop_index: {name: !!binary aGk=}\n", "!!binary"),
      ("changes:\n  - drop_index: {name: !custom idx}\n", "!custom"),
      ("changes:\n  - drop_index: {name: !!str 5}\n", "!!str"),
      ("changes:\n  - drop_index: !custom {name: idx}\n", "!custom"),
      ("changes: !custom\n  - drop_index: {name: idx}\n", "!custom"),
      ("changes:\n  - create_index: {table: t, name: i, columns: !!set {a}}\n", "!!set"),
    ] {
      let d = errors(yaml)
      #expect(
        d.contains { $0.message == "explicit YAML tag `\(tag)` is not supported" && $0.location == location(of: tag, in: yaml) },
        "\(yaml): \(d.map(\.description))")
    }
  }

  /// A tag on a key was taken as untagged when it named the type YAML gives the key anyway
  /// (`!!str name:`): keys are read as written, so a tag there is refused like anywhere else.
  @Test func explicitTagsOnKeysAreRefused() {
    for (yaml, tag) in [
      ("changes:\n  - drop_index: {!!str name: idx}\n", "!!str"),
      ("changes:\n  - drop_index: {!!int name: idx}\n", "!!int"),
      ("changes:\n  - !!str drop_index: {name: idx}\n", "!!str"),
    ] {
      let d = errors(yaml)
      #expect(
        d.map(\.message) == ["explicit YAML tag `\(tag)` is not supported"] && d.first?.location == location(of: tag, in: yaml),
        "\(yaml): \(d.map(\.description))")
    }
  }

  /// A mapping written as a key is refused as a key; what it holds was reported as tagged
  /// `!!str` (Yams had resolved its tags), a tag the user never wrote.
  @Test func aMappingAsAKeyIsRefusedAsAKeyWithoutAnInventedTag() {
    let yaml = "changes:\n  - drop_index:\n      ? {a: b}\n      : c\n"
    let d = errors(yaml)
    #expect(d.contains { $0.message == "`drop_index` keys must be plain names, found a mapping" }, "\(d.map(\.description))")
    #expect(!d.contains { $0.message.contains("tag") }, "\(d.map(\.description))")
  }

  /// A key written twice is one error at its first place, however each is quoted.
  @Test func aKeyWrittenTwiceIsADuplicateWhateverItsQuoting() {
    for yaml in [
      "changes:\n  - drop_index: {name: a, name: b}\n",
      "changes:\n  - drop_index: {name: a, \"name\": b}\n",
      "changes:\n  - drop_index: {'name': a, name: b}\n",
    ] {
      let d = errors(yaml)
      #expect(d.count == 1, "\(yaml): \(d.map(\.description))")
      #expect(d.first?.message == "duplicate key `name` in a mapping", "\(yaml): \(d.map(\.description))")
      #expect(d.first?.location == PGPhaseModel.SourceLocation(file: "i.yaml", line: 2, column: 18), "\(yaml)")
    }
  }

  /// A NUL written as an escape passed plan and lint and failed only at apply.
  @Test func nulCharactersAreRefusedAtTheValue() {
    for escape in ["\\0", "\\x00", "\\u0000"] {
      let yaml = "changes:\n  - sql: {phase: expand, up: \"SELECT '\(escape)'\"}\n"
      let d = errors(yaml)
      #expect(d.count == 1 && d.first?.location == location(of: "\"SELECT", in: yaml), "\(escape): \(d.map(\.description))")
      #expect(d.first?.message.contains("NUL") == true)
    }
    let raw = "changes:\n  - drop_index: {name: a\u{0}b}\n"
    #expect(errors(raw).map(\.location) == [PGPhaseModel.SourceLocation(file: "i.yaml", line: 2, column: 25)])
  }

  @Test func controlCharactersAreLocated() {
    let d = errors("changes:\n  - drop_index: {name: a\u{7}b}\n")
    #expect(
      d.map(\.description) == [
        "i.yaml:2:25: error: the file contains control character U+0007, which YAML does not allow\n  hint: remove it"
      ])
  }

  /// A template with NAME where one name goes, for every field of the language that names a
  /// table, schema, column, constraint, index or access method.
  static let identifierFields = [
    "schema: NAME\nchanges:\n  - drop_index: {name: i}\n",
    "changes:\n  - create_table: {table: NAME, columns: [{name: a, type: int}]}\n",
    "changes:\n  - create_table: {table: NAME.t, columns: [{name: a, type: int}]}\n",
    "changes:\n  - create_table: {table: t, columns: [{name: NAME, type: int}]}\n",
    "changes:\n  - create_table: {table: t, columns: [{name: a, type: int}], primary_key: [NAME]}\n",
    "changes:\n  - create_table: {table: t, columns: [{name: a, type: int}], constraints: [{name: NAME, check: a > 0}]}\n",
    "changes:\n  - create_table: {table: t, columns: [{name: a, type: int}], constraints: [{name: c, unique: [NAME]}]}\n",
    "changes:\n  - create_table: {table: t, columns: [{name: a, type: int}], constraints: [{name: c, columns: [NAME], references: {table: u, columns: [id]}}]}\n",
    "changes:\n  - create_table: {table: t, columns: [{name: a, type: int}], constraints: [{name: c, columns: [a], references: {table: NAME, columns: [id]}}]}\n",
    "changes:\n  - create_table: {table: t, columns: [{name: a, type: int}], constraints: [{name: c, columns: [a], references: {table: u, columns: [NAME]}}]}\n",
    "changes:\n  - create_table: {table: t, columns: [{name: a, type: int, references: {table: NAME, column: id}}]}\n",
    "changes:\n  - create_table: {table: t, columns: [{name: a, type: int, references: {table: u, column: NAME}}]}\n",
    "changes:\n  - drop_table: {table: NAME}\n",
    "changes:\n  - rename_table: {from: NAME, to: b}\n",
    "changes:\n  - rename_table: {from: a, to: NAME}\n",
    "changes:\n  - add_column: {table: NAME, column: {name: c, type: int}}\n",
    "changes:\n  - add_column: {table: t, column: {name: NAME, type: int}}\n",
    "changes:\n  - drop_column: {table: t, column: NAME}\n",
    "changes:\n  - rename_column: {table: t, from: NAME, to: b}\n",
    "changes:\n  - rename_column: {table: t, from: a, to: NAME}\n",
    "changes:\n  - alter_column: {table: t, column: NAME, type: bigint, down: x}\n",
    "changes:\n  - alter_column: {table: t, column: c, new_name: NAME}\n",
    "changes:\n  - set_not_null: {table: t, column: NAME}\n",
    "changes:\n  - drop_not_null: {table: t, column: NAME}\n",
    "changes:\n  - set_default: {table: t, column: NAME, default: 0}\n",
    "changes:\n  - drop_default: {table: t, column: NAME}\n",
    "changes:\n  - add_check: {table: t, name: NAME, expression: a > 0}\n",
    "changes:\n  - add_foreign_key: {table: t, name: NAME, columns: [a], references: {table: u, columns: [id]}}\n",
    "changes:\n  - add_foreign_key: {table: t, name: f, columns: [NAME], references: {table: u, columns: [id]}}\n",
    "changes:\n  - add_foreign_key: {table: t, name: f, columns: [a], references: {table: NAME, columns: [id]}}\n",
    "changes:\n  - add_foreign_key: {table: t, name: f, columns: [a], references: {table: u, columns: [NAME]}}\n",
    "changes:\n  - add_unique: {table: t, name: NAME, columns: [a]}\n",
    "changes:\n  - add_unique: {table: t, name: u, columns: [NAME]}\n",
    "changes:\n  - drop_constraint: {table: t, name: NAME}\n",
    "changes:\n  - create_index: {table: t, name: NAME, columns: [a]}\n",
    "changes:\n  - create_index: {table: t, name: i, columns: [NAME]}\n",
    "changes:\n  - create_index: {table: t, name: i, columns: [{column: NAME}]}\n",
    "changes:\n  - create_index: {table: t, name: i, columns: [a], include: [NAME]}\n",
    "changes:\n  - create_index: {table: t, name: i, columns: [a], using: NAME}\n",
    "changes:\n  - drop_index: {name: NAME}\n",
    "changes:\n  - drop_index: {name: NAME.i}\n",
    "changes:\n  - backfill: {table: t, set: {NAME: 1}}\n",
  ]

  /// PostgreSQL truncates names to 63 bytes. An add_unique naming a 67-byte column that does
  /// not exist built its index on an existing column whose name is those 67 bytes' first 63.
  @Test(arguments: identifierFields)
  func everyNameOver63BytesIsRefused(template: String) {
    let long = String(repeating: "n", count: 64)
    let yaml = template.replacingOccurrences(of: "NAME", with: long)
    let d = errors(yaml)
    #expect(d.count == 1, "\(d.map(\.description))")
    #expect(d.first?.location == location(of: long, in: yaml), "\(d.map(\.description))")
    #expect(
      d.first?.message.contains("is 64 bytes long; PostgreSQL truncates names to 63 bytes") == true, "\(d.map(\.description))")
    // 63 bytes, and 63 bytes of two-byte letters and one more, are names PostgreSQL keeps whole.
    for fits in [String(repeating: "n", count: 63), String(repeating: "ä", count: 31) + "x"] {
      let ok = template.replacingOccurrences(of: "NAME", with: fits)
      #expect(errors(ok).isEmpty, "\(errors(ok).map(\.description))")
    }
    let twoByte = template.replacingOccurrences(of: "NAME", with: String(repeating: "ä", count: 32))
    #expect(errors(twoByte).count == 1, "32 two-byte letters are 64 bytes")
  }

  /// An id names the plan's folder: one that cannot be a folder name failed the run with
  /// `NSCocoaErrorDomain Code=514` after other plan folders were already removed.
  @Test func idsThatCannotBeFolderNamesAreLocatedErrors() {
    for id in [String(repeating: "x", count: 256), String(repeating: "é", count: 128), "a/b", ".", "..", ".hidden"] {
      let yaml = "id: '\(id)'\nchanges:\n  - drop_index: {name: i}\n"
      let d = errors(yaml)
      #expect(d.count == 1 && d.first?.location == PGPhaseModel.SourceLocation(file: "i.yaml", line: 1, column: 5), "\(id): \(d)")
    }
    #expect(errors("id: '\(String(repeating: "x", count: 255))'\nchanges:\n  - drop_index: {name: i}\n").isEmpty)
  }

  /// A 1 MB value was echoed whole in its error.
  @Test func longValuesAreCutInMessages() {
    let huge = String(repeating: "v", count: 1_000_000)
    for yaml in [
      "changes:\n  - sql: {phase: '\(huge)', up: x}\n",
      "changes:\n  - drop_index: {name: '\(huge)'}\n",
      "changes:\n  - add_column: {table: t, column: {name: c, type: \(huge)}}\n".replacingOccurrences(
        of: huge, with: "1" + String(repeating: "0", count: 999_999)),
      "id: '\(huge)'\nchanges:\n  - drop_index: {name: i}\n",
      "settings: {lock_timeout: '\(huge)'}\nchanges:\n  - drop_index: {name: i}\n",
    ] {
      let d = errors(yaml)
      #expect(!d.isEmpty)
      for diagnostic in d {
        #expect(diagnostic.description.utf8.count < 1000, "\(diagnostic.description.prefix(300))")
        #expect(diagnostic.description.contains("… (1000000 bytes)"), "\(diagnostic.description.prefix(300))")
      }
    }
  }

  /// 175k changes in one file took 80 s and 1.3 GB; past the bound it is one clear error.
  @Test func changeCountAndFileSizeAreBounded() {
    let change = "  - drop_index: {name: i}\n"
    let atBound = "changes:\n" + String(repeating: change, count: IntentParser.maxChanges)
    #expect(parse(atBound).0?.changes.count == IntentParser.maxChanges)
    let over = "changes:\n" + String(repeating: change, count: IntentParser.maxChanges + 1)
    #expect(
      errors(over).map(\.description) == [
        "i.yaml:2:3: error: `changes` lists 1001 changes; an intent may have at most 1000\n  hint: split the work into several intents; they apply in id order"
      ])
    let big = "description: '" + String(repeating: "d", count: 1 << 20) + "'\nchanges:\n" + change
    let d = errors(big)
    #expect(d.count == 1 && d.first?.location == PGPhaseModel.SourceLocation(file: "i.yaml", line: 1, column: 1))
    #expect(d.first?.message.contains("pgphase reads YAML files of at most 1048576 bytes") == true, "\(d)")
  }

  /// A few hundred bytes of anchors and aliases expand to hundreds of millions of nodes.
  @Test func anAliasBombIsRefused() {
    var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
    for i in 1...8 { yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ") + "]\n" }
    yaml += "changes:\n  - drop_index: {name: i}\n"
    let d = errors(yaml)
    #expect(d.count == 1 && d.first?.message.hasPrefix("the document has too many nodes") == true, "\(d.map(\.description))")
  }

  /// A file with a problem in every change reports the first hundred and says how many more.
  @Test func diagnosticsPerFileAreCapped() {
    let yaml = "changes:\n" + String(repeating: "  - drop_index: {nme: i}\n", count: 150)
    let d = errors(yaml)
    #expect(d.count == IntentParser.maxDiagnostics + 1)
    #expect(d.last?.message == "50 more problems in this file not shown")
  }

  /// A malformed file's error is at the place it breaks, with libyaml's nesting limit said plainly.
  @Test func deepNestingIsALocatedError() {
    let d = errors("changes:\n  - " + String(repeating: "[", count: 2000) + String(repeating: "]", count: 2000) + "\n")
    #expect(d.count == 1 && d.first?.message == "malformed YAML: nested more than 1000 levels deep", "\(d)")
  }

  @Test func mergeKeysAreNamed() {
    let d = errors("changes:\n  - drop_index: {<<: {name: i}}\n")
    #expect(d.contains { $0.message == "YAML merge keys (`<<`) are not supported in `drop_index`" }, "\(d)")
  }
}
