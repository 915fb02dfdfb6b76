extension SchemaSnapshot {
  /// The first lines of every canonical dump.
  public static let canonicalHeader = """
    -- pgphase schema dump: the schema in canonical form (sorted, one object per statement).
    -- Load it with: psql -X -v ON_ERROR_STOP=1 -f FILE
    """

  /// The snapshot as SQL that psql loads into an empty database, in one canonical form: the same
  /// snapshot always gives the same bytes, objects sorted by name within their section, one
  /// object per statement, each followed by its comments.
  ///
  /// Sections, so that everything an object needs exists before it: schemas, extensions, types,
  /// functions, sequences, tables (with NOT NULL, defaults, identity, generated columns and
  /// CHECK constraints), partitions attached, keys and NOT VALID constraints, indexes, replica
  /// identities, index partitions attached, views and materialized views (each after the views
  /// it reads), functions whose signature or SQL body uses a table or view, triggers, statistics
  /// objects, and foreign keys last (after every key they may reference).
  public func canonicalSQL() -> String {
    var out: [String] = [
      SchemaSnapshot.canonicalHeader,
      """
      SET check_function_bodies = false;
      SET client_min_messages = warning;
      SELECT pg_catalog.set_config('search_path', '', false);
      """,
    ]
    func add(_ statements: [String]) {
      if !statements.isEmpty { out.append(statements.joined(separator: "\n")) }
    }
    for schema in schemas {
      add(
        ["CREATE SCHEMA \(SQL.quoteIdentifier(schema.name));"]
          + comment("SCHEMA \(SQL.quoteIdentifier(schema.name))", schema.comment))
    }
    for e in extensions {
      add(["CREATE EXTENSION IF NOT EXISTS \(SQL.quoteIdentifier(e.name)) WITH SCHEMA \(SQL.quoteIdentifier(e.schema));"])
    }
    for type in orderedTypes() { add(Self.typeSQL(type)) }
    let late = lateFunctions()
    for function in functions where !late.contains(function.key) { add(Self.functionSQL(function)) }
    for sequence in sequences { add(Self.sequenceSQL(sequence)) }
    for table in tables { add(tableSQL(table)) }
    for table in tables.sorted(by: { $0.name < $1.name }) {
      guard let partition = table.partitionOf else { continue }
      add(["ALTER TABLE ONLY \(partition.parent.sql) ATTACH PARTITION \(table.name.sql) \(partition.bound);"])
    }
    for table in tables {
      for constraint in table.constraints where constraint.kind != .foreignKey {
        guard let sql = separateConstraintSQL(constraint, of: table) else { continue }
        add([sql] + comment("CONSTRAINT \(SQL.quoteIdentifier(constraint.name)) ON \(table.name.sql)", constraint.comment))
      }
      for column in table.columns {
        guard let notNull = column.notNull, !notNull.validated, !inheritsNotValid(notNull, table: table) else { continue }
        add([
          "ALTER TABLE \(table.name.sql) ADD CONSTRAINT \(SQL.quoteIdentifier(notNull.name)) NOT NULL "
            + "\(SQL.quoteIdentifier(column.name)) NOT VALID\(notNull.noInherit ? " NO INHERIT" : "");"
        ])
      }
    }
    for table in tables {
      for index in table.indexes { add(Self.indexSQL(index, on: table.name, partitioned: table.partitionKey != nil)) }
    }
    for table in tables {
      if case .index(let index) = table.replicaIdentity {
        add(["ALTER TABLE ONLY \(table.name.sql) REPLICA IDENTITY USING INDEX \(SQL.quoteIdentifier(index));"])
      }
    }
    var attachments: [(child: QualifiedName, parent: QualifiedName)] = []
    for table in tables {
      for index in table.indexes {
        if let parent = index.partitionOf { attachments.append((table.name.sibling(index.name), parent)) }
      }
      for constraint in table.constraints {
        if let parent = constraint.partitionOf { attachments.append((table.name.sibling(constraint.name), parent)) }
      }
    }
    for attachment in attachments.sorted(by: { $0.child < $1.child }) {
      add(["ALTER INDEX \(attachment.parent.sql) ATTACH PARTITION \(attachment.child.sql);"])
    }
    for view in orderedViews() { add(Self.viewSQL(view)) }
    for function in functions where late.contains(function.key) { add(Self.functionSQL(function)) }
    var triggers: [(relation: QualifiedName, trigger: Trigger)] = []
    for table in tables { triggers += table.triggers.map { (table.name, $0) } }
    for view in views { triggers += view.triggers.map { (view.name, $0) } }
    for (relation, trigger) in triggers.sorted(by: { ($0.relation, $0.trigger.name) < ($1.relation, $1.trigger.name) }) {
      add(Self.triggerSQL(trigger, on: relation))
    }
    var statistics: [Statistics] = []
    for table in tables { statistics += table.statistics.sorted }
    for s in statistics.sorted(by: { $0.name < $1.name }) {
      var lines = ["\(s.definition);"]
      if let target = s.target { lines.append("ALTER STATISTICS \(s.name.sql) SET STATISTICS \(target);") }
      add(lines + comment("STATISTICS \(s.name.sql)", s.comment))
    }
    for table in tables {
      for constraint in table.constraints where constraint.kind == .foreignKey {
        let only = table.partitionKey == nil ? "ONLY " : ""
        add(
          [
            "ALTER TABLE \(only)\(table.name.sql) ADD CONSTRAINT \(SQL.quoteIdentifier(constraint.name)) \(constraint.definition);"
          ]
            + comment("CONSTRAINT \(SQL.quoteIdentifier(constraint.name)) ON \(table.name.sql)", constraint.comment))
      }
    }
    return out.joined(separator: "\n\n") + "\n"
  }

  // MARK: - Objects

  static func typeSQL(_ type: TypeDefinition) -> [String] {
    var lines: [String]
    let keyword: String
    switch type.kind {
    case .enumeration(let labels):
      keyword = "TYPE"
      lines = [
        "CREATE TYPE \(type.name.sql) AS ENUM (\n" + labels.map { "    \(SQL.quoteLiteral($0))" }.joined(separator: ",\n")
          + "\n);"
      ]
    case .composite(let attributes):
      keyword = "TYPE"
      let body = attributes.map { a in
        "    \(SQL.quoteIdentifier(a.name)) \(a.type)" + (a.collation.map { " COLLATE \($0.sql)" } ?? "")
      }
      lines = ["CREATE TYPE \(type.name.sql) AS (\n" + body.joined(separator: ",\n") + "\n);"]
    case .domain(let domain):
      keyword = "DOMAIN"
      var head = "CREATE DOMAIN \(type.name.sql) AS \(domain.baseType)"
      if let collation = domain.collation { head += " COLLATE \(collation.sql)" }
      if let expression = domain.defaultExpression { head += " DEFAULT \(expression)" }
      if domain.notNull { head += " NOT NULL" }
      for check in domain.checks where check.validated {
        head += "\n    CONSTRAINT \(SQL.quoteIdentifier(check.name)) \(check.definition)"
      }
      lines = [head + ";"]
      for check in domain.checks where !check.validated {
        lines.append(
          "ALTER DOMAIN \(type.name.sql) ADD CONSTRAINT \(SQL.quoteIdentifier(check.name)) \(check.definition) NOT VALID;")
      }
    }
    return lines + comment("\(keyword) \(type.name.sql)", type.comment)
  }

  static func functionSQL(_ f: Function) -> [String] {
    var text = "CREATE \(f.kind == .procedure ? "PROCEDURE" : "FUNCTION") \(f.name.sql)(\(f.arguments))"
    if let result = f.result { text += " RETURNS \(result)" }
    var attributes = ["LANGUAGE \(SQL.quoteIdentifier(f.language))"]
    if f.window { attributes.append("WINDOW") }
    switch f.volatility {
    case .immutable: attributes.append("IMMUTABLE")
    case .stable: attributes.append("STABLE")
    case .volatile: break
    }
    if f.leakproof { attributes.append("LEAKPROOF") }
    if f.strict { attributes.append("STRICT") }
    if f.securityDefiner { attributes.append("SECURITY DEFINER") }
    if f.cost != Function.defaultCost(language: f.language) { attributes.append("COST \(formatNumber(f.cost))") }
    if f.rows != 0 && f.rows != 1000 { attributes.append("ROWS \(formatNumber(f.rows))") }
    switch f.parallel {
    case .safe: attributes.append("PARALLEL SAFE")
    case .restricted: attributes.append("PARALLEL RESTRICTED")
    case .unsafe: break
    }
    text += "\n    " + attributes.joined(separator: " ")
    for setting in f.configuration {
      let name = setting.name.split(separator: ".", omittingEmptySubsequences: false).map { SQL.quoteIdentifier(String($0)) }
      text += "\n    SET \(name.joined(separator: ".")) TO \(settingValueSQL(setting))"
    }
    switch f.body {
    case .source(let source): text += "\n    AS \(dollarQuoted(source))"
    case .object(let file, let symbol): text += "\n    AS \(SQL.quoteLiteral(file)), \(SQL.quoteLiteral(symbol))"
    case .sqlBody(let body): text += "\n    \(body)"
    }
    let keyword = f.kind == .procedure ? "PROCEDURE" : "FUNCTION"
    return [text + ";"] + comment("\(keyword) \(f.name.sql)(\(f.identityArguments))", f.comment)
  }

  /// Settings whose value is a list of names (`GUC_LIST_QUOTE` in the server): stored as
  /// `a, "B c"`, written as one literal per element.
  public static let listSettings: Set<String> = [
    "search_path", "temp_tablespaces", "session_preload_libraries", "shared_preload_libraries", "local_preload_libraries",
  ]

  static func settingValueSQL(_ setting: Setting) -> String {
    guard listSettings.contains(setting.name.lowercased()) else { return SQL.quoteLiteral(setting.value) }
    return splitNameList(setting.value).map(SQL.quoteLiteral).joined(separator: ", ")
  }

  /// `a, "B c"` into `a` and `B c`, as the server's SplitIdentifierString reads a list setting.
  public static func splitNameList(_ value: String) -> [String] {
    SQL.splitQuoted(value, separator: ",", skippingWhitespace: true) ?? [value]
  }

  static func sequenceSQL(_ s: SequenceDefinition) -> [String] {
    [
      "CREATE SEQUENCE \(s.name.sql)\n"
        + sequenceOptionsSQL(s.options, includeType: true).map { "    \($0)" }.joined(separator: "\n")
        + ";"
    ] + comment("SEQUENCE \(s.name.sql)", s.comment)
  }

  /// `START WITH ... INCREMENT BY ... NO MINVALUE ...` as CREATE SEQUENCE and identity take them.
  public static func sequenceOptionsSQL(_ o: SequenceOptions, includeType: Bool) -> [String] {
    var parts: [String] = []
    if includeType && o.dataType != "bigint" { parts.append("AS \(o.dataType)") }
    parts.append("START WITH \(o.start)")
    parts.append("INCREMENT BY \(o.increment)")
    let defaults = SequenceOptions.defaultBounds(dataType: o.dataType, increment: o.increment)
    parts.append(o.minValue == defaults.min ? "NO MINVALUE" : "MINVALUE \(o.minValue)")
    parts.append(o.maxValue == defaults.max ? "NO MAXVALUE" : "MAXVALUE \(o.maxValue)")
    parts.append("CACHE \(o.cache)")
    if o.cycle { parts.append("CYCLE") }
    return parts
  }

  func tableSQL(_ table: Table) -> [String] {
    var elements = table.columns.map { columnSQL($0, of: table) }
    for check in table.constraints where check.kind == .check && check.validated {
      elements.append("CONSTRAINT \(SQL.quoteIdentifier(check.name)) \(check.definition)")
    }
    var text = "CREATE \(table.unlogged ? "UNLOGGED " : "")TABLE \(table.name.sql) ("
    text += elements.isEmpty ? "\n)" : "\n" + elements.map { "    \($0)" }.joined(separator: ",\n") + "\n)"
    if let key = table.partitionKey { text += "\nPARTITION BY \(key)" }
    if !table.options.isEmpty { text += "\nWITH (\(Self.settingsSQL(table.options)))" }
    var lines = [text + ";"]
    switch table.replicaIdentity {
    case .default, .index: break
    case .nothing: lines.append("ALTER TABLE ONLY \(table.name.sql) REPLICA IDENTITY NOTHING;")
    case .full: lines.append("ALTER TABLE ONLY \(table.name.sql) REPLICA IDENTITY FULL;")
    }
    lines += Self.comment("TABLE \(table.name.sql)", table.comment)
    for column in table.columns {
      lines += Self.comment("COLUMN \(table.name.sql).\(SQL.quoteIdentifier(column.name))", column.comment)
    }
    for check in table.constraints where check.kind == .check && check.validated {
      lines += Self.comment("CONSTRAINT \(SQL.quoteIdentifier(check.name)) ON \(table.name.sql)", check.comment)
    }
    for sequence in sequences where sequence.ownedBy?.table == table.name {
      lines.append("ALTER SEQUENCE \(sequence.name.sql) OWNED BY \(sequence.ownedBy!.description);")
    }
    return lines
  }

  func columnSQL(_ column: Column, of table: Table) -> String {
    var text = "\(SQL.quoteIdentifier(column.name)) \(column.type)"
    if let collation = column.collation { text += " COLLATE \(collation.sql)" }
    if let expression = column.defaultExpression { text += " DEFAULT \(expression)" }
    if let generated = column.generated {
      text += " GENERATED ALWAYS AS (\(generated.expression)) \(generated.stored ? "STORED" : "VIRTUAL")"
    }
    if let identity = column.identity {
      let options = ["SEQUENCE NAME \(identity.sequence.sql)"] + Self.sequenceOptionsSQL(identity.options, includeType: false)
      text +=
        " GENERATED \(identity.kind == .always ? "ALWAYS" : "BY DEFAULT") AS IDENTITY (\(options.joined(separator: " ")))"
    }
    if let notNull = column.notNull, notNull.validated {
      if notNull.name != NotNull.defaultName(table: table.name.name, column: column.name) {
        text += " CONSTRAINT \(SQL.quoteIdentifier(notNull.name))"
      }
      text += " NOT NULL"
      if notNull.noInherit { text += " NO INHERIT" }
    }
    return text
  }

  /// A key, exclusion or NOT VALID check constraint after the tables; nil for the CHECK
  /// constraints inside CREATE TABLE and for a partition's NOT VALID check its parent adds to it.
  func separateConstraintSQL(_ constraint: Constraint, of table: Table) -> String? {
    let name = SQL.quoteIdentifier(constraint.name)
    switch constraint.kind {
    case .check:
      if constraint.validated { return nil }
      if let parent = table.partitionOf.flatMap({ tables[$0.parent] }), parent.constraints[constraint.name]?.kind == .check {
        return nil
      }
      return "ALTER TABLE \(table.name.sql) ADD CONSTRAINT \(name) \(constraint.definition);"
    case .foreignKey:
      return nil
    case .primaryKey, .unique, .exclusion:
      return "ALTER TABLE ONLY \(table.name.sql) ADD CONSTRAINT \(name) \(constraint.definition);"
    }
  }

  /// Whether a partition's NOT VALID NOT NULL comes from its parent's (which adds it to the partition).
  func inheritsNotValid(_ notNull: NotNull, table: Table) -> Bool {
    guard let parent = table.partitionOf.flatMap({ tables[$0.parent] }) else { return false }
    return parent.columns.contains { $0.notNull?.name == notNull.name && !($0.notNull?.validated ?? true) }
  }

  static func indexSQL(_ index: Index, on relation: QualifiedName, partitioned: Bool) -> [String] {
    [index.createStatement(on: relation, only: partitioned) + ";"]
      + comment("INDEX \(relation.sibling(index.name).sql)", index.comment)
  }

  static func viewSQL(_ view: View) -> [String] {
    var text = "CREATE \(view.materialized ? "MATERIALIZED " : "")VIEW \(view.name.sql)"
    if !view.options.isEmpty { text += " WITH (\(settingsSQL(view.options)))" }
    text += " AS\n \(view.definition)"
    if view.materialized {
      text += "\n  WITH NO DATA"
    } else if let option = view.checkOption {
      text += "\n  WITH \(option.uppercased()) CHECK OPTION"
    }
    var lines = [text + ";"]
    lines += comment("\(view.materialized ? "MATERIALIZED VIEW" : "VIEW") \(view.name.sql)", view.comment)
    for (column, text) in view.columnComments.sorted(by: { $0.key < $1.key }) {
      lines += comment("COLUMN \(view.name.sql).\(SQL.quoteIdentifier(column))", text)
    }
    for index in view.indexes { lines += indexSQL(index, on: view.name, partitioned: false) }
    return lines
  }

  static func triggerSQL(_ trigger: Trigger, on relation: QualifiedName) -> [String] {
    var lines = ["\(trigger.definition);"]
    let name = SQL.quoteIdentifier(trigger.name)
    switch trigger.enabled {
    case .origin: break
    case .disabled: lines.append("ALTER TABLE \(relation.sql) DISABLE TRIGGER \(name);")
    case .replica: lines.append("ALTER TABLE \(relation.sql) ENABLE REPLICA TRIGGER \(name);")
    case .always: lines.append("ALTER TABLE \(relation.sql) ENABLE ALWAYS TRIGGER \(name);")
    }
    return lines + comment("TRIGGER \(name) ON \(relation.sql)", trigger.comment)
  }

  // MARK: - Order

  /// Enums first, then domains and composite types, each after the types it is made of.
  func orderedTypes() -> [TypeDefinition] {
    let all = types.sorted
    func uses(_ a: TypeDefinition) -> [QualifiedName] {
      let texts: [String]
      switch a.kind {
      case .enumeration: texts = []
      case .domain(let d): texts = [d.baseType]
      case .composite(let attributes): texts = attributes.map(\.type)
      }
      return all.filter { b in b.name != a.name && texts.contains { $0 == b.name.sql || $0.hasPrefix(b.name.sql + "[") } }.map(
        \.name)
    }
    return Self.topologicalOrder(all, key: \.name, dependencies: uses)
  }

  /// Views, each after the views it reads (then by name).
  func orderedViews() -> [View] {
    Self.topologicalOrder(views.sorted, key: \.name) { view in
      view.dependencies.map(\.relation).filter { views.contains($0) && $0 != view.name }
    }
  }

  /// Functions that must wait for tables and views: their arguments, result or SQL-standard body
  /// name one (by its qualified name, as the server prints it).
  func lateFunctions() -> Set<FunctionKey> {
    let relations = tables.map(\.name.sql) + views.map(\.name.sql)
    var late: Set<FunctionKey> = []
    for f in functions {
      var texts = [f.arguments, f.result ?? ""]
      if case .sqlBody(let body) = f.body { texts.append(body) }
      if relations.contains(where: { name in texts.contains { Self.mentions($0, name) } }) { late.insert(f.key) }
    }
    return late
  }

  /// Whether `text` contains `name` not as part of a longer name.
  static func mentions(_ text: String, _ name: String) -> Bool {
    var search = text[...]
    while let range = search.firstRange(of: name) {
      let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
      let after = range.upperBound == text.endIndex ? nil : text[range.upperBound]
      func isNamePart(_ c: Character?) -> Bool {
        c.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "\"" } ?? false
      }
      if !isNamePart(before) && !isNamePart(after) { return true }
      search = text[range.upperBound...]
    }
    return false
  }

  /// `items` (already sorted) in an order where each comes after its dependencies, the earliest
  /// sorted item first among those ready; a cycle is broken by taking the next item in sort order.
  static func topologicalOrder<T, K: Hashable>(_ items: [T], key: (T) -> K, dependencies: (T) -> [K]) -> [T] {
    var pending = items.map { (item: $0, key: key($0), deps: Set(dependencies($0))) }
    var done: Set<K> = []
    var out: [T] = []
    while !pending.isEmpty {
      let ready = pending.firstIndex { $0.deps.isSubset(of: done) } ?? 0
      let next = pending.remove(at: ready)
      out.append(next.item)
      done.insert(next.key)
    }
    return out
  }

  // MARK: - Text

  static func comment(_ target: String, _ text: String?) -> [String] {
    guard let text else { return [] }
    return ["COMMENT ON \(target) IS \(SQL.quoteLiteral(text));"]
  }

  func comment(_ target: String, _ text: String?) -> [String] { Self.comment(target, text) }

  static func settingsSQL(_ settings: [Setting]) -> String {
    settings.map { "\($0.name)=\(SQL.quoteLiteral($0.value))" }.joined(separator: ", ")
  }

  /// `$$body$$`, with a tag the body does not contain even without its closing `$` (so a body
  /// ending in `$` or `$x` is quoted safely), as pg_dump chooses one.
  static func dollarQuoted(_ body: String) -> String {
    var tag = ""
    var n = 0
    while body.contains("$\(tag)") {
      n += 1
      tag = n == 1 ? "body" : "body\(n)"
    }
    return "$\(tag)$\(body)$\(tag)$"
  }

  /// A cost or row estimate as PostgreSQL prints a float4: `100`, `0.5`.
  static func formatNumber(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
  }
}

extension SchemaSnapshot.Index {
  /// `CREATE [UNIQUE] INDEX name ON [ONLY] table USING method (keys) [INCLUDE (...)] [NULLS NOT
  /// DISTINCT] [WITH (...)] [WHERE ...]`, without a semicolon: for an index read from a server,
  /// exactly what `pg_get_indexdef` prints. `only` for the index of a partitioned table.
  public func createStatement(on table: QualifiedName, only: Bool = false) -> String {
    "CREATE \(unique ? "UNIQUE " : "")INDEX \(SQL.quoteIdentifier(name)) ON \(only ? "ONLY " : "")\(table.sql) \(definition)"
  }

  /// What follows the table in CREATE INDEX: `USING method (keys) [INCLUDE (...)] [NULLS NOT
  /// DISTINCT] [WITH (...)] [WHERE ...]`, as `IndexBuild.definition` holds it.
  public var definition: String {
    var text = "USING \(method) (\(keys.map(\.sql).joined(separator: ", ")))"
    if !include.isEmpty { text += " INCLUDE (\(include.map(SQL.quoteIdentifier).joined(separator: ", ")))" }
    if nullsNotDistinct { text += " NULLS NOT DISTINCT" }
    if !options.isEmpty { text += " WITH (\(SchemaSnapshot.settingsSQL(options)))" }
    if let predicate { text += " WHERE \(predicate)" }
    return text
  }
}
