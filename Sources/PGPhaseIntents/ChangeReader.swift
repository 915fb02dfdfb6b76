import PGPhaseModel
import PGPhaseYAML

/// Reads the body of one change entry into an `Operation`, recording where each field was.
/// Names go through `identifier` (a string of at most 63 bytes), SQL through `expression`.
struct ChangeReader {
  var reader: YAMLReader
  let schema: String?
  let op: String
  var fieldLocations: [String: SourceLocation] = [:]

  init(reader: YAMLReader, schema: String?, op: String) {
    self.reader = reader
    self.schema = schema
    self.op = op
  }

  static let fields: [String: (allowed: [String], required: [String])] = [
    "create_table": (["table", "columns", "primary_key", "constraints", "comment"], ["table", "columns"]),
    "drop_table": (["table"], ["table"]),
    "rename_table": (["from", "to"], ["from", "to"]),
    "add_column": (["table", "column", "backfill"], ["table", "column"]),
    "drop_column": (["table", "column"], ["table", "column"]),
    "rename_column": (["table", "from", "to", "type", "nullable", "default"], ["table", "from", "to"]),
    "alter_column": (
      ["table", "column", "type", "up", "down", "new_name", "nullable", "default", "comment", "unique", "check"],
      ["table", "column"]
    ),
    "set_not_null": (["table", "column", "backfill"], ["table", "column"]),
    "drop_not_null": (["table", "column"], ["table", "column"]),
    "set_default": (["table", "column", "default"], ["table", "column", "default"]),
    "drop_default": (["table", "column"], ["table", "column"]),
    "add_check": (["table", "name", "expression"], ["table", "name", "expression"]),
    "add_foreign_key": (
      ["table", "name", "columns", "references", "on_delete", "on_update"], ["table", "name", "columns", "references"]
    ),
    "add_unique": (["table", "name", "columns"], ["table", "name", "columns"]),
    "drop_constraint": (["table", "name"], ["table", "name"]),
    "rename_constraint": (["table", "from", "to"], ["table", "from", "to"]),
    "comment_table": (["table", "comment"], ["table", "comment"]),
    "comment_column": (["table", "column", "comment"], ["table", "column", "comment"]),
    "set_replica_identity": (["table", "identity", "index"], ["table", "identity"]),
    "create_index": (
      ["table", "name", "columns", "unique", "where", "using", "include", "with"], ["table", "name", "columns"]
    ),
    "drop_index": (["name"], ["name"]),
    "backfill": (["table", "set", "where"], ["table", "set"]),
    "sql": (["phase", "up", "down", "transactional"], ["phase", "up"]),
  ]

  mutating func read(_ body: YAMLNode) -> Operation? {
    let spec = Self.fields[op]!
    guard let f = reader.mapping(body, what: "`\(op)`", allowed: spec.allowed, required: spec.required) else { return nil }
    for (key, node) in f.values { fieldLocations[key] = node.location }
    let before = reader.diagnostics.count
    let result = build(f)
    return reader.diagnostics.count == before ? result : nil
  }

  // MARK: Field readers

  private mutating func str(_ f: YAMLFields, _ key: String) -> String? { reader.string(f[key], "`\(op).\(key)`") }

  /// SQL passed through: `default`, `check`, `where`, `up`, `down`, `backfill`, `expression`.
  private mutating func sql(_ f: YAMLFields, _ key: String) -> String? { reader.expression(f[key], "`\(op).\(key)`") }

  private mutating func name(_ f: YAMLFields, _ key: String) -> String? { identifier(f[key], "`\(op).\(key)`") }

  /// A name: a string PostgreSQL will not truncate.
  private mutating func identifier(_ node: YAMLNode?, _ what: String) -> String? {
    guard let node, let text = reader.string(node, what) else { return nil }
    reader.checkIdentifier(text, at: node, what: what)
    return text
  }

  /// A non-empty list of names, each checked; each item's location is kept as `path[i]` (the
  /// planner points at the one name a schema lacks).
  private mutating func identifiers(_ node: YAMLNode?, _ what: String, path: String) -> [String]? {
    guard let items = reader.sequence(node, what) else { return nil }
    var out: [String] = []
    for (i, item) in items.enumerated() {
      fieldLocations["\(path)[\(i)]"] = item.location
      if let s = identifier(item, "each item of \(what)") { out.append(s) }
    }
    return out.count == items.count ? out : nil
  }

  private mutating func names(_ f: YAMLFields, _ key: String) -> [String]? {
    identifiers(f[key], "`\(op).\(key)`", path: key)
  }

  /// `name` or `schema.name`, each part a name PostgreSQL will not truncate.
  /// `defaultSchema: false` leaves an unqualified name unqualified (a collation or operator
  /// class, found through the search_path, not in the intent's schema).
  private mutating func qualifiedName(_ node: YAMLNode?, _ what: String, defaultSchema: Bool = true) -> QualifiedName? {
    guard let node, let text = reader.string(node, what) else { return nil }
    guard var name = QualifiedName(parsing: text) else {
      reader.error(
        "\(what) must be `name` or `schema.name`, found `\(YAMLReader.excerpt(text))`", at: node,
        hint: "double-quote a part that contains a dot: `\"my.table\"`")
      return nil
    }
    // The intent's default schema was checked where it is written.
    if let part = name.schema { reader.checkIdentifier(part, at: node, what: "the schema in \(what)") }
    reader.checkIdentifier(name.name, at: node, what: what)
    if name.schema == nil && defaultSchema { name.schema = schema }
    return name
  }

  private mutating func qualified(_ f: YAMLFields, _ key: String) -> QualifiedName? { qualifiedName(f[key], "`\(op).\(key)`") }

  /// A comment: text, or `null` (nil inside) to remove it; nil when the value is neither.
  private mutating func comment(_ f: YAMLFields, _ key: String) -> String?? {
    guard let node = f[key] else { return nil }
    if node.isNull { return .some(nil) }
    return str(f, key).map { .some($0) }
  }

  private mutating func action(_ node: YAMLNode?, _ key: String) -> ReferentialAction? {
    reader.oneOf(node, "`\(key)`", as: ReferentialAction.self)
  }

  // MARK: Operations

  private mutating func build(_ f: YAMLFields) -> Operation? {
    switch op {
    case "create_table":
      guard let table = qualified(f, "table") else { return nil }
      var columns: [ColumnDefinition] = []
      if let node = f["columns"] {
        if case .sequence(let items) = node.content, !items.isEmpty {
          for (i, item) in items.enumerated() {
            if let c = column(item, path: "columns[\(i)]") { columns.append(c) }
          }
        } else {
          reader.error("`create_table.columns` must be a non-empty list of column definitions", at: node)
        }
      }
      var constraints: [TableConstraint] = []
      if let items = reader.sequence(f["constraints"], "`create_table.constraints`", nonEmpty: false) {
        for (i, item) in items.enumerated() {
          if let c = tableConstraint(item, path: "constraints[\(i)]") { constraints.append(c) }
        }
      }
      var primaryKey: [String]?
      var primaryKeyName: String?
      if let node = f["primary_key"] {
        if case .mapping = node.content {
          if let pk = reader.mapping(
            node, what: "`create_table.primary_key`", allowed: ["name", "columns"], required: ["columns"])
          {
            record(pk, at: "primary_key")
            primaryKeyName = pk["name"].flatMap { identifier($0, "`primary_key.name`") }
            primaryKey = identifiers(pk["columns"], "`primary_key.columns`", path: "primary_key.columns")
          }
        } else if case .sequence = node.content {
          primaryKey = names(f, "primary_key")
        } else {
          reader.error(
            "`create_table.primary_key` must be a list of columns or `{name, columns}`, found \(YAMLReader.describe(node))",
            at: node, hint: "e.g. `primary_key: [a, b]` or `primary_key: {name: t_pk, columns: [a, b]}`")
        }
      }
      return .createTable(
        CreateTable(
          table: table, columns: columns, primaryKey: primaryKey, primaryKeyName: primaryKeyName, constraints: constraints,
          comment: str(f, "comment")))
    case "drop_table":
      return qualified(f, "table").map { .dropTable(table: $0) }
    case "rename_table":
      guard let from = qualified(f, "from"), let to = name(f, "to") else { return nil }
      return .renameTable(from: from, to: to)
    case "add_column":
      guard let table = qualified(f, "table"), let node = f["column"], let column = column(node, path: "column") else {
        return nil
      }
      return .addColumn(AddColumn(table: table, column: column, backfill: sql(f, "backfill")))
    case "drop_column":
      guard let table = qualified(f, "table"), let column = name(f, "column") else { return nil }
      return .dropColumn(table: table, column: column)
    case "rename_column":
      guard let table = qualified(f, "table"), let from = name(f, "from"), let to = name(f, "to") else { return nil }
      return .renameColumn(
        RenameColumn(
          table: table, from: from, to: to, type: str(f, "type"),
          nullable: reader.bool(f["nullable"], "`rename_column.nullable`"), defaultExpression: sql(f, "default")))
    case "alter_column":
      guard let table = qualified(f, "table"), let column = name(f, "column") else { return nil }
      let newName = f["new_name"] != nil ? name(f, "new_name") : nil
      return .alterColumn(
        AlterColumn(
          table: table, column: column, type: str(f, "type"), up: sql(f, "up"), down: sql(f, "down"),
          newName: newName, nullable: reader.bool(f["nullable"], "`alter_column.nullable`"), defaultExpression: sql(f, "default"),
          comment: f["comment"] != nil ? comment(f, "comment") : nil,
          unique: reader.bool(f["unique"], "`alter_column.unique`") ?? false, check: sql(f, "check")))
    case "set_not_null":
      guard let table = qualified(f, "table"), let column = name(f, "column") else { return nil }
      return .setNotNull(table: table, column: column, backfill: sql(f, "backfill"))
    case "drop_not_null":
      guard let table = qualified(f, "table"), let column = name(f, "column") else { return nil }
      return .dropNotNull(table: table, column: column)
    case "set_default":
      guard let table = qualified(f, "table"), let column = name(f, "column"), let value = sql(f, "default") else { return nil }
      return .setDefault(table: table, column: column, default: value)
    case "drop_default":
      guard let table = qualified(f, "table"), let column = name(f, "column") else { return nil }
      return .dropDefault(table: table, column: column)
    case "add_check":
      guard let table = qualified(f, "table"), let n = name(f, "name"), let e = sql(f, "expression") else { return nil }
      return .addCheck(table: table, name: n, expression: e)
    case "add_foreign_key":
      guard let table = qualified(f, "table"), let n = name(f, "name"), let columns = names(f, "columns"),
        let node = f["references"], let target = foreignKeyTarget(node, path: "references")
      else { return nil }
      if target.columns.count != columns.count {
        reader.error("`add_foreign_key` has \(columns.count) column(s) but references \(target.columns.count)", at: node)
      }
      return .addForeignKey(
        AddForeignKey(
          table: table, name: n, columns: columns, references: target,
          onDelete: action(f["on_delete"], "on_delete"), onUpdate: action(f["on_update"], "on_update")))
    case "add_unique":
      guard let table = qualified(f, "table"), let n = name(f, "name"), let columns = names(f, "columns") else { return nil }
      return .addUnique(table: table, name: n, columns: columns)
    case "drop_constraint":
      guard let table = qualified(f, "table"), let n = name(f, "name") else { return nil }
      return .dropConstraint(table: table, name: n)
    case "rename_constraint":
      guard let table = qualified(f, "table"), let from = name(f, "from"), let to = name(f, "to") else { return nil }
      return .renameConstraint(table: table, from: from, to: to)
    case "comment_table":
      guard let table = qualified(f, "table"), let comment = comment(f, "comment") else { return nil }
      return .commentTable(table: table, comment: comment)
    case "comment_column":
      guard let table = qualified(f, "table"), let column = name(f, "column"), let comment = comment(f, "comment") else {
        return nil
      }
      return .commentColumn(table: table, column: column, comment: comment)
    case "set_replica_identity":
      guard let table = qualified(f, "table"), let node = f["identity"], let keyword = str(f, "identity") else { return nil }
      guard ReplicaIdentitySetting.keywords.contains(keyword) else {
        reader.error(
          "`set_replica_identity.identity` must be one of \(ReplicaIdentitySetting.keywords.joined(separator: ", ")), found `\(YAMLReader.excerpt(keyword))`",
          at: node,
          hint: Suggest.closest(to: keyword, in: ReplicaIdentitySetting.keywords).map { "did you mean `\($0)`?" })
        return nil
      }
      if keyword == "index" {
        guard f["index"] != nil else {
          reader.error("`identity: index` needs `index:`, the unique index whose columns identify a row", at: node)
          return nil
        }
        return name(f, "index").map { .setReplicaIdentity(table: table, identity: .index($0)) }
      }
      if let index = f["index"] {
        reader.error("`index` goes only with `identity: index`", at: index, hint: "remove it, or write `identity: index`")
        return nil
      }
      let identity: ReplicaIdentitySetting = keyword == "full" ? .full : keyword == "nothing" ? .nothing : .default
      return .setReplicaIdentity(table: table, identity: identity)
    case "create_index":
      guard let table = qualified(f, "table"), let n = name(f, "name"), let node = f["columns"] else { return nil }
      let keys = indexKeys(node)
      let unique = reader.bool(f["unique"], "`create_index.unique`") ?? false
      let include = f["include"] != nil ? names(f, "include") ?? [] : []
      var parameters: [StorageParameter] = []
      if let node = f["with"] { parameters = storageParameters(node) }
      guard let keys else { return nil }
      return .createIndex(
        CreateIndex(
          table: table, name: n, keys: keys.map(\.key), unique: unique, predicate: sql(f, "where"),
          method: name(f, "using"), include: include,
          keyOptions: keys.contains { !$0.options.isEmpty } ? keys.map(\.options) : [], storageParameters: parameters))
    case "drop_index":
      return qualified(f, "name").map { .dropIndex(name: $0) }
    case "backfill":
      guard let table = qualified(f, "table"), let node = f["set"] else { return nil }
      guard case .mapping(let entries) = node.content, !entries.isEmpty else {
        reader.error("`backfill.set` must be a mapping of column: expression", at: node)
        return nil
      }
      var assignments: [Assignment] = []
      for entry in entries {
        guard let column = identifier(entry.key, "a column in `backfill.set`"),
          let expression = reader.expression(
            entry.value, "the expression for `\(YAMLReader.excerpt(column))` in `backfill.set`")
        else { continue }
        fieldLocations["set.\(column)"] = entry.key.location
        assignments.append(Assignment(column: column, expression: expression))
      }
      return .backfill(Backfill(table: table, assignments: assignments, predicate: sql(f, "where")))
    case "sql":
      let phase = reader.oneOf(f["phase"], "`sql.phase`", as: Phase.self)
      let transactional = reader.bool(f["transactional"], "`sql.transactional`") ?? true
      guard let phase, let up = str(f, "up") else { return nil }
      return .sql(RawSQL(phase: phase, up: up, down: str(f, "down"), transactional: transactional))
    default:
      return nil
    }
  }

  static let columnKeys = [
    "name", "type", "nullable", "default", "check", "unique", "primary_key", "references", "identity", "comment",
  ]

  private mutating func column(_ node: YAMLNode, path: String) -> ColumnDefinition? {
    guard let f = reader.mapping(node, what: "column definition", allowed: Self.columnKeys, required: ["name", "type"]) else {
      return nil
    }
    for (key, value) in f.values { fieldLocations["\(path).\(key)"] = value.location }
    fieldLocations[path] = node.location
    guard let name = identifier(f["name"], "column `name`"), let type = reader.string(f["type"], "column `type`") else {
      return nil
    }
    var c = ColumnDefinition(name: name, type: type)
    c.nullable = reader.bool(f["nullable"], "`nullable`") ?? true
    c.defaultExpression = reader.expression(f["default"], "`default`")
    c.check = reader.expression(f["check"], "`check`")
    c.unique = reader.bool(f["unique"], "`unique`") ?? false
    c.primaryKey = reader.bool(f["primary_key"], "`primary_key`") ?? false
    c.identity = reader.oneOf(f["identity"], "`identity`", as: IdentityKind.self)
    c.comment = reader.string(f["comment"], "`comment`")
    if let r = f["references"],
      let rf = reader.mapping(
        r, what: "`references`", allowed: ["table", "column", "on_delete", "on_update"], required: ["table", "column"])
    {
      record(rf, at: "\(path).references")
      if let table = qualifiedName(rf["table"], "`references.table`"),
        let column = identifier(rf["column"], "`references.column`")
      {
        c.references = ColumnReference(
          table: table, column: column, onDelete: action(rf["on_delete"], "on_delete"),
          onUpdate: action(rf["on_update"], "on_update"))
      }
    }
    if c.primaryKey, let node = f["nullable"], c.nullable {
      reader.error("a primary key column cannot be nullable", at: node)
    }
    if c.identity != nil, c.defaultExpression != nil, let node = f["default"] {
      reader.error("an identity column cannot also have a `default`", at: node)
    }
    return c
  }

  /// Keeps where each field of a nested mapping is, as `path.key`.
  private mutating func record(_ f: YAMLFields, at path: String) {
    for (key, value) in f.values { fieldLocations["\(path).\(key)"] = value.location }
  }

  /// `path`: where the `references` mapping is (`references`, `constraints[2].references`).
  private mutating func foreignKeyTarget(_ node: YAMLNode, path: String) -> ForeignKeyTarget? {
    guard let f = reader.mapping(node, what: "`references`", allowed: ["table", "columns"], required: ["table", "columns"])
    else { return nil }
    record(f, at: path)
    guard let table = qualifiedName(f["table"], "`references.table`"),
      let columns = identifiers(f["columns"], "`references.columns`", path: "\(path).columns")
    else { return nil }
    return ForeignKeyTarget(table: table, columns: columns)
  }

  private mutating func tableConstraint(_ node: YAMLNode, path: String) -> TableConstraint? {
    guard
      let f = reader.mapping(
        node, what: "table constraint", allowed: ["name", "check", "unique", "columns", "references", "on_delete", "on_update"],
        required: ["name"])
    else { return nil }
    record(f, at: path)
    guard let name = identifier(f["name"], "constraint `name`") else { return nil }
    let kinds = ["check", "unique", "references"].filter { f[$0] != nil }
    guard kinds.count == 1 else {
      reader.error(
        "table constraint `\(name)` needs exactly one of `check`, `unique` or `references` (with `columns`)", at: node)
      return nil
    }
    switch kinds[0] {
    case "check":
      return reader.expression(f["check"], "`check`").map { TableConstraint(name: name, kind: .check($0)) }
    case "unique":
      return identifiers(f["unique"], "`unique`", path: "\(path).unique").map { TableConstraint(name: name, kind: .unique($0)) }
    default:
      guard let columns = identifiers(f["columns"], "`columns`", path: "\(path).columns") else {
        if f["columns"] == nil { reader.error("foreign key constraint `\(name)` needs `columns`", at: node) }
        return nil
      }
      guard let references = f["references"], let target = foreignKeyTarget(references, path: "\(path).references") else {
        return nil
      }
      return TableConstraint(
        name: name,
        kind: .foreignKey(
          columns: columns, references: target,
          onDelete: action(f["on_delete"], "on_delete"), onUpdate: action(f["on_update"], "on_update")))
    }
  }

  /// A plain identifier is a column; anything else (a call, an operator, a cast) is an expression.
  /// `{expression: …}` or `{column: …}` says it explicitly, and may give the key's `collate`,
  /// `opclass`, `order` and `nulls`.
  private mutating func indexKeys(_ node: YAMLNode) -> [(key: IndexKey, options: IndexKeyOptions)]? {
    guard case .sequence(let items) = node.content, !items.isEmpty else {
      reader.error("`create_index.columns` must be a non-empty list", at: node)
      return nil
    }
    var keys: [(key: IndexKey, options: IndexKeyOptions)] = []
    for (i, item) in items.enumerated() {
      fieldLocations["columns[\(i)]"] = item.location
      if case .mapping = item.content {
        guard
          let f = reader.mapping(
            item, what: "index key", allowed: ["column", "expression", "collate", "opclass", "order", "nulls"])
        else { continue }
        record(f, at: "columns[\(i)]")
        var options = IndexKeyOptions()
        options.collation = f["collate"].flatMap { qualifiedName($0, "`collate`", defaultSchema: false) }
        options.opclass = f["opclass"].flatMap { qualifiedName($0, "`opclass`", defaultSchema: false) }
        options.order = reader.oneOf(f["order"], "`order`", as: IndexKeyOptions.Order.self)
        options.nulls = reader.oneOf(f["nulls"], "`nulls`", as: IndexKeyOptions.Nulls.self)
        if f["column"] != nil && f["expression"] != nil {
          reader.error("an index key has `column` or `expression`, not both", at: item)
        } else if let c = identifier(f["column"], "`column`") {
          keys.append((.column(c), options))
        } else if let e = reader.expression(f["expression"], "`expression`") {
          keys.append((.expression(e), options))
        } else if f["column"] == nil && f["expression"] == nil {
          reader.error("an index key mapping needs `column` or `expression`", at: item)
        }
      } else if let text = reader.string(item, "an index key") {
        if Self.isPlainIdentifier(text) {
          reader.checkIdentifier(text, at: item, what: "the index key")
          keys.append((.column(text), IndexKeyOptions()))
        } else {
          keys.append((.expression(text), IndexKeyOptions()))
        }
      }
    }
    return keys.count == items.count ? keys : nil
  }

  /// `with: {fillfactor: 70, deduplicate_items: false, buffering: auto}`: names, each with a
  /// number, `true`/`false` or text.
  private mutating func storageParameters(_ node: YAMLNode) -> [StorageParameter] {
    guard case .mapping(let entries) = node.content, !entries.isEmpty else {
      reader.error(
        "`create_index.with` must be a mapping of storage parameter: value, found \(YAMLReader.describe(node))", at: node,
        hint: "e.g. `with: {fillfactor: 70}`")
      return []
    }
    var out: [StorageParameter] = []
    var seen = Set<String>()
    for entry in entries {
      guard let name = identifier(entry.key, "a storage parameter in `create_index.with`") else { continue }
      fieldLocations["with.\(name)"] = entry.key.location
      if !seen.insert(name).inserted {
        reader.error("storage parameter `\(YAMLReader.excerpt(name))` is given twice", at: entry.key)
        continue
      }
      guard let scalar = entry.value.scalar, scalar.kind != .null, scalar.kind != .timestamp else {
        reader.error(
          "the value of `\(YAMLReader.excerpt(name))` in `create_index.with` must be a number, true/false or text, found \(YAMLReader.describe(entry.value))",
          at: entry.value)
        continue
      }
      if scalar.kind == .string {
        guard let text = reader.string(entry.value, "the value of `\(YAMLReader.excerpt(name))` in `create_index.with`") else {
          continue
        }
        out.append(StorageParameter(name: name, value: text, quoted: true))
      } else if let text = reader.expression(
        entry.value, "the value of `\(YAMLReader.excerpt(name))` in `create_index.with`")
      {
        out.append(StorageParameter(name: name, value: text.lowercased()))
      }
    }
    return out
  }

  static func isPlainIdentifier(_ text: String) -> Bool {
    guard let first = text.first, first.isLetter || first == "_" else { return false }
    return text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "$" }
  }
}
