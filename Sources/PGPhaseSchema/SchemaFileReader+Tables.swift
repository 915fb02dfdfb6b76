import PGPhaseModel
import PGPhaseSQL

extension Reader {
  // MARK: - CREATE TABLE

  mutating func readCreateTable(_ f: JSONValue) {
    guard let relation = f["relation"] else { return }
    let rel = relation.node("RangeVar") ?? relation
    if rel["relpersistence"]?.string == "t" {
      warn("temporary tables are not part of a schema; left out")
      return
    }
    let name = creating(relation)
    if Self.isJournal(name) { return }
    if snapshot.tables.contains(name) || snapshot.views.contains(name) {
      if f["if_not_exists"]?.bool != true { error("\(name) is created twice") }
      return
    }
    if f["ofTypename"] != nil {
      error("typed tables (CREATE TABLE ... OF type) cannot be read in a schema file")
      return
    }
    var table = S.Table(name: name, unlogged: rel["relpersistence"]?.string == "u")
    let parents = f["inhRelations"]?.array ?? []
    if f["partbound"] != nil, let parentVar = parents.first {
      let parent = resolvingRelation(parentVar)
      guard let parentTable = snapshot.tables[parent] else {
        error("\(name) is a partition of \(parent), which the file has not created")
        return
      }
      table.partitionOf = .init(parent: parent, bound: partitionBound(from: parentVar.location ?? statement.start))
      // A partition made with PARTITION OF has its parent's columns, NOT NULLs (named as the
      // parent's, as on PostgreSQL 18) and CHECK constraints.
      table.columns = parentTable.columns.map { c in
        S.Column(name: c.name, type: c.type, collation: c.collation, notNull: c.notNull, generated: c.generated)
      }
      for check in parentTable.constraints where check.kind == .check && !check.definition.hasSuffix("NO INHERIT") {
        table.constraints.insert(
          S.Constraint(name: check.name, kind: .check, definition: check.definition, columns: check.columns))
      }
    } else if !parents.isEmpty {
      warn("table inheritance (INHERITS) is left out: \(name) is read with its own columns only")
    }
    for element in f["tableElts"]?.array ?? [] {
      if let def = element.node("ColumnDef") {
        let end = s.elementEnd(from: def.location ?? statement.start, limit: statement.end)
        if table.partitionOf != nil, let i = table.columnIndex(def["colname"]?.string ?? "") {
          // `PARTITION OF p (col WITH OPTIONS DEFAULT 0)`: options of an inherited column.
          var column = table.columns[i]
          applyColumnConstraints(def, to: &column, in: &table, end: end)
          table.columns[i] = column
        } else {
          addColumn(def, to: &table, end: end)
        }
      } else if let constraint = element.node("Constraint") {
        let end = s.elementEnd(from: constraint.location ?? statement.start, limit: statement.end)
        addConstraint(constraint, to: &table, end: end)
      } else if element.node("TableLikeClause") != nil {
        error("CREATE TABLE ... (LIKE ...) cannot be read in a schema file: write the columns out")
        return
      }
    }
    if let spec = f["partspec"] { table.partitionKey = partitionKey(spec) }
    table.options = Self.settings(f["options"])
    snapshot.tables.insert(table)
  }

  /// `RANGE (taken_at)`: the strategy, and the key as written.
  func partitionKey(_ spec: JSONValue) -> String? {
    let fields = spec.node("PartitionSpec") ?? spec
    guard let at = fields.location else { return nil }
    let strategy: String
    switch fields["strategy"]?.string?.lowercased() {
    case "range", "r", "partition_strategy_range": strategy = "RANGE"
    case "list", "l", "partition_strategy_list": strategy = "LIST"
    default: strategy = "HASH"
    }
    guard let key = s.groupContents(from: at, limit: statement.end) else { return nil }
    return "\(strategy) (\(s.spanText(key)))"
  }

  /// `FOR VALUES ...` or `DEFAULT`, the first after `offset`, as written.
  func partitionBound(from offset: Int, limit: Int? = nil) -> String {
    let limit = limit ?? statement.end
    var i = s.token(atOrAfter: offset)
    while i < s.tokens.count, s.tokens[i].range.lowerBound < limit {
      if s.isWord(i, "DEFAULT") { return "DEFAULT" }
      if s.isWord(i, "FOR"), s.isWord(i + 1, "VALUES") {
        var j = i + 2
        if s.isWord(j, "FROM") {
          j += 1
          guard let close = s.closing(j), s.isWord(close + 1, "TO"), let end = s.closing(close + 2) else { break }
          j = end
        } else {
          j += 1
          guard let end = s.closing(j) else { break }
          j = end
        }
        return s.text(s.tokens[i].range.lowerBound..<s.tokens[j].range.upperBound)
      }
      i += 1
    }
    return s.spanText(offset..<limit)
  }

  // MARK: - Columns

  mutating func addColumn(_ def: JSONValue, to table: inout S.Table, end: Int) {
    let name = def["colname"]?.string ?? ""
    guard table.column(name) == nil else {
      error("column \(SQL.quoteIdentifier(name)) of \(table.name) is created twice", at: def.location)
      return
    }
    let typeName = def["typeName"] ?? .null
    var column = S.Column(name: name, type: "")
    if let serialType = TypeNames.serial(typeName) {
      column.type = serialType
      let sequence = table.name.sibling(
        SQL.chooseName(table.name.name, name, label: "seq") { relationNameTaken(table.name.sibling($0)) })
      snapshot.sequences.insert(
        .init(name: sequence, options: .init(dataType: serialType), ownedBy: .init(table: table.name, column: name)))
      column.defaultExpression = "nextval(\(sequence.literal)::regclass)"
      column.notNull = .init(name: S.NotNull.defaultName(table: table.name.name, column: name))
    } else {
      column.type = typeText(typeName, within: (def.location ?? statement.start)..<end, def: def)
    }
    applyColumnConstraints(def, to: &column, in: &table, end: end)
    table.columns.append(column)
    // Constraints on the column were added before it; now their columns are known.
    for key in table.constraints where key.kind == .primaryKey { markNotNull(key.columns, in: &table) }
  }

  /// A column's type as format_type spells it.
  func typeText(_ typeName: JSONValue, within range: Range<Int>, def: JSONValue?) -> String {
    let start = typeName.location ?? range.lowerBound
    let markers = def.map(columnMarkers) ?? []
    let end = markers.first { $0 > start } ?? range.upperBound
    let written = s.spanText(start..<end)
    let names = typeName["names"]?.names ?? []
    let schema = names.count == 1 ? resolving(names) { snapshot.types.contains($0) }.schema ?? defaultSchema : defaultSchema
    return TypeNames.format(typeName, defaultSchema: schema, written: written)
  }

  /// Where each clause after a column's type starts: its constraints and its COLLATE.
  func columnMarkers(_ def: JSONValue) -> [Int] {
    var markers = (def["constraints"]?.array ?? []).compactMap { $0.node("Constraint")?.location }
    if let collation = def["collClause"]?.location { markers.append(collation) }
    return markers.sorted()
  }

  mutating func applyColumnConstraints(_ def: JSONValue, to column: inout S.Column, in table: inout S.Table, end: Int) {
    if let collation = def["collClause"] {
      let parts = collation["collname"]?.names ?? []
      if parts.last != "default" {
        column.collation = QualifiedName(schema: parts.count >= 2 ? parts[parts.count - 2] : "pg_catalog", parts.last ?? "")
      }
    }
    let markers = columnMarkers(def)
    var lastKey: String?
    for node in def["constraints"]?.array ?? [] {
      guard let c = node.node("Constraint"), let at = c.location else { continue }
      let clauseEnd = markers.first { $0 > at } ?? end
      switch c["contype"]?.string {
      case "CONSTR_NULL":
        column.notNull = nil
      case "CONSTR_NOTNULL":
        let not = s.token(atOrAfter: c["conname"] == nil ? at : s.tokens[s.token(atOrAfter: at) + 2].range.lowerBound)
        column.notNull = .init(
          name: c["conname"]?.string ?? S.NotNull.defaultName(table: table.name.name, column: column.name),
          noInherit: not < s.tokens.count && bridge.noInheritNotNull.contains(s.tokens[not].range.lowerBound))
      case "CONSTR_DEFAULT":
        let keyword = s.firstTopLevel(from: s.token(atOrAfter: at), limit: clauseEnd) { s.isWord($0, "DEFAULT") }
        guard let keyword else { continue }
        let after = s.tokens[keyword].range.upperBound
        if bridge.virtualGenerated.contains(s.tokens[keyword].range.lowerBound),
          let expression = s.groupContents(from: after, limit: clauseEnd)
        {
          column.generated = generated(s.spanText(expression), stored: false, tree: c["raw_expr"], table: table)
        } else {
          column.defaultExpression = s.spanText(after..<clauseEnd)
        }
      case "CONSTR_GENERATED":
        guard let expression = s.groupContents(from: at, limit: clauseEnd) else { continue }
        let keyword = s.firstTopLevel(from: s.token(atOrAfter: at), limit: clauseEnd) { s.isWord($0, "GENERATED") }
        let virtual = keyword.map { bridge.virtualGenerated.contains(s.tokens[$0].range.lowerBound) } ?? false
        column.generated = generated(s.spanText(expression), stored: !virtual, tree: c["raw_expr"], table: table)
      case "CONSTR_IDENTITY":
        column.identity = identity(c, column: column.name, table: table.name, type: column.type)
        if column.notNull == nil {
          column.notNull = .init(name: S.NotNull.defaultName(table: table.name.name, column: column.name))
        }
      case "CONSTR_CHECK":
        addCheck(c, columns: Self.columnReferences(c["raw_expr"]), to: &table, textEnd: clauseEnd)
      case "CONSTR_PRIMARY", "CONSTR_UNIQUE":
        let isPrimary = c["contype"]?.string == "CONSTR_PRIMARY"
        let name =
          c["conname"]?.string
          ?? chooseIndexBackedName(table.name, isPrimary ? nil : column.name, label: isPrimary ? "pkey" : "key")
        columnKeyOptions[ConstraintKey(table: table.name, name: name)] = ColumnKeyOptions(
          nullsNotDistinct: c["nulls_not_distinct"]?.bool ?? false, options: Self.settings(c["options"]))
        var key = S.Constraint(name: name, kind: isPrimary ? .primaryKey : .unique, definition: "", columns: [column.name])
        key.definition = synthesizedDefinition(key, on: table.name)
        table.constraints.insert(key)
        indexOwners[table.name.sibling(name)] = table.name
        if isPrimary, column.notNull == nil {
          column.notNull = .init(name: S.NotNull.defaultName(table: table.name.name, column: column.name))
        }
        lastKey = name
      case "CONSTR_FOREIGN":
        let name =
          c["conname"]?.string ?? chooseConstraintName(table.name, SQL.nameAddition([column.name]), label: "fkey")
        addForeignKey(c, name: name, columns: [column.name], to: &table)
        lastKey = name
      case "CONSTR_ATTR_DEFERRABLE", "CONSTR_ATTR_DEFERRED", "CONSTR_ATTR_NOT_DEFERRABLE", "CONSTR_ATTR_IMMEDIATE":
        // Applies to the key or foreign key written just before it.
        guard let lastKey, var key = table.constraints[lastKey] else { continue }
        switch c["contype"]?.string {
        case "CONSTR_ATTR_DEFERRABLE": key.deferrable = true
        case "CONSTR_ATTR_DEFERRED":
          key.deferrable = true
          key.initiallyDeferred = true
        case "CONSTR_ATTR_NOT_DEFERRABLE": key.deferrable = false
        default: key.initiallyDeferred = false
        }
        key.definition = synthesizedDefinition(key, on: table.name)
        table.constraints.insert(key)
      default:
        error("a column constraint of this kind cannot be read here", at: at)
      }
    }
  }

  /// Its columns in column order at the end of the file (it may name columns written after it).
  func generated(_ expression: String, stored: Bool, tree: JSONValue?, table: S.Table) -> S.Generated {
    S.Generated(expression: expression, stored: stored, columns: Self.columnReferences(tree))
  }

  /// A column's identity (`GENERATED ... AS IDENTITY (options)`), its sequence named as the
  /// server names it when the file does not.
  func identity(_ c: JSONValue, column: String, table: QualifiedName, type: String) -> S.Identity {
    let options = c["options"]?.array ?? []
    var sequence: QualifiedName?
    for option in options {
      guard let d = option.node("DefElem"), d["defname"]?.string == "sequence_name" else { continue }
      let parts = d["arg"]?.node("List")?["items"]?.names ?? []
      sequence = QualifiedName(schema: parts.count >= 2 ? parts[parts.count - 2] : table.schema, parts.last ?? "")
    }
    let name =
      sequence ?? table.sibling(SQL.chooseName(table.name, column, label: "seq") { relationNameTaken(table.sibling($0)) })
    return S.Identity(
      kind: c["generated_when"]?.string == "d" ? .byDefault : .always, sequence: name,
      options: sequenceOptions(options, dataType: type))
  }

  /// Sequence options from DefElems; what is not written takes its default.
  func sequenceOptions(_ options: [JSONValue], dataType: String) -> S.SequenceOptions {
    var values: [String: Int64] = [:]
    var dataType = dataType
    var cycle = false
    for option in options {
      guard let d = option.node("DefElem"), let name = d["defname"]?.string else { continue }
      switch name {
      case "as":
        if let t = d["arg"]?.node("TypeName") { dataType = TypeNames.format(t, defaultSchema: "pg_catalog", written: dataType) }
      case "cycle": cycle = d.defElemBool
      case "start", "increment", "minvalue", "maxvalue", "cache":
        if let value = integer(d) { values[name] = value }
      default: break
      }
    }
    return S.SequenceOptions(
      dataType: dataType, start: values["start"], increment: values["increment"] ?? 1, minValue: values["minvalue"],
      maxValue: values["maxvalue"], cache: values["cache"] ?? 1, cycle: cycle)
  }

  /// A DefElem's integer argument. libpg_query's JSON leaves out an Integer's value when it is
  /// zero or negative (`INCREMENT BY -1` comes out as `{"Integer": {}}`), so then the number is
  /// read from the text after the option's keyword.
  func integer(_ d: JSONValue) -> Int64? {
    guard let arg = d["arg"] else { return nil }
    if let i = arg.node("Integer") {
      if let value = i["ival"]?.int, value > 0 { return Int64(value) }
      return integer(after: d.location ?? statement.start)
    }
    return Self.argumentText(d).flatMap { Int64($0) }
  }

  /// The first number after `offset` in the statement, with its sign.
  func integer(after offset: Int) -> Int64? {
    var i = s.token(atOrAfter: offset)
    while i < s.tokens.count, s.tokens[i].range.lowerBound < statement.end {
      if s.tokens[i].kind == .number {
        guard let value = Int64(s.text(of: i)) else { return nil }
        return i > 0 && s.isSymbol(i - 1, "-") ? -value : value
      }
      i += 1
    }
    return nil
  }

  mutating func markNotNull(_ columns: [String], in table: inout S.Table) {
    let tableName = table.name.name
    for name in columns {
      table.updateColumn(name) { column in
        if column.notNull == nil { column.notNull = .init(name: S.NotNull.defaultName(table: tableName, column: name)) }
      }
    }
  }

  // MARK: - Constraints

  /// A table constraint of CREATE TABLE or ALTER TABLE ADD; its definition is the text from after
  /// its name to `end`.
  mutating func addConstraint(_ c: JSONValue, to table: inout S.Table, end: Int) {
    let at = c.location ?? statement.start
    var first = s.token(atOrAfter: at)
    if c["conname"] != nil, s.isWord(first, "CONSTRAINT") { first += 2 }
    let textStart = first < s.tokens.count ? s.tokens[first].range.lowerBound : at
    let text = s.spanText(textStart..<end)
    let deferrable = c["deferrable"]?.bool ?? false
    let deferred = c["initdeferred"]?.bool ?? false
    switch c["contype"]?.string {
    case "CONSTR_CHECK":
      addCheck(c, columns: Self.columnReferences(c["raw_expr"]), to: &table, textEnd: end)
    case "CONSTR_PRIMARY", "CONSTR_UNIQUE":
      let isPrimary = c["contype"]?.string == "CONSTR_PRIMARY"
      if let indexName = c["indexname"]?.string {
        addConstraintUsingIndex(c, index: indexName, primary: isPrimary, to: &table)
        return
      }
      let keys = c["keys"]?.names ?? []
      let name =
        c["conname"]?.string
        ?? chooseIndexBackedName(table.name, isPrimary ? nil : SQL.nameAddition(keys), label: isPrimary ? "pkey" : "key")
      guard !table.constraints.contains(name) else {
        error("constraint \(SQL.quoteIdentifier(name)) of \(table.name) is created twice", at: at)
        return
      }
      table.constraints.insert(
        S.Constraint(
          name: name, kind: isPrimary ? .primaryKey : .unique, definition: text, columns: keys, deferrable: deferrable,
          initiallyDeferred: deferred))
      indexOwners[table.name.sibling(name)] = table.name
      if isPrimary { markNotNull(keys, in: &table) }
    case "CONSTR_FOREIGN":
      let columns = c["fk_attrs"]?.names ?? []
      let name = c["conname"]?.string ?? chooseConstraintName(table.name, SQL.nameAddition(columns), label: "fkey")
      addForeignKey(c, name: name, columns: columns, to: &table, text: text)
    case "CONSTR_EXCLUSION":
      let elements = (c["exclusions"]?.array ?? []).compactMap { $0.node("List")?["items"]?.array.first?.node("IndexElem") }
      let columns = elements.compactMap { $0["name"]?.string }
      let name =
        c["conname"]?.string
        ?? chooseIndexBackedName(table.name, SQL.nameAddition(elements.map { $0["name"]?.string ?? "expr" }), label: "excl")
      table.constraints.insert(
        S.Constraint(
          name: name, kind: .exclusion, definition: text, columns: columns, deferrable: deferrable, initiallyDeferred: deferred))
      indexOwners[table.name.sibling(name)] = table.name
    default:
      error("a table constraint of this kind cannot be read here", at: at)
    }
  }

  mutating func addCheck(_ c: JSONValue, columns: [String], to table: inout S.Table, textEnd: Int) {
    let at = c.location ?? statement.start
    guard let keyword = s.firstTopLevel(from: s.token(atOrAfter: at), limit: textEnd, where: { s.isWord($0, "CHECK") }) else {
      return
    }
    let text = s.spanText(s.tokens[keyword].range.lowerBound..<textEnd)
    var used: [String] = []
    for column in columns where !used.contains(column) { used.append(column) }
    let name =
      c["conname"]?.string
      ?? chooseConstraintName(table.name, used.count == 1 ? used[0] : nil, label: "check")
    let validated = !(c["skip_validation"]?.bool ?? false)
    // In column order at the end of the file: a CHECK may name columns written after it.
    table.constraints.insert(S.Constraint(name: name, kind: .check, definition: text, columns: used, validated: validated))
  }

  mutating func addForeignKey(_ c: JSONValue, name: String, columns: [String], to table: inout S.Table, text: String? = nil) {
    guard let target = c["pktable"] else { return }
    let referenced = resolvingRelation(target)
    let referencedColumns = c["pk_attrs"]?.names ?? []
    let validated = !(c["skip_validation"]?.bool ?? false)
    var constraint = S.Constraint(
      name: name, kind: .foreignKey, definition: text ?? "", columns: columns,
      references: .init(table: referenced, columns: referencedColumns), validated: validated,
      deferrable: c["deferrable"]?.bool ?? false, initiallyDeferred: c["initdeferred"]?.bool ?? false)
    if text == nil {
      foreignKeyActions[ConstraintKey(table: table.name, name: name)] = Self.actions(c)
      if referencedColumns.isEmpty {
        pendingPrimaryKeyReferences.append((table.name, name, c.location ?? statement.start))
      } else {
        constraint.definition = synthesizedDefinition(constraint, on: table.name)
      }
    }
    table.constraints.insert(constraint)
  }

  /// ON UPDATE / ON DELETE / MATCH of a foreign key in the parse tree, as SQL words.
  static func actions(_ c: JSONValue) -> ForeignKeyActions {
    func word(_ code: String?) -> String? {
      switch code {
      case "r": "RESTRICT"
      case "c": "CASCADE"
      case "n": "SET NULL"
      case "d": "SET DEFAULT"
      default: nil
      }
    }
    return ForeignKeyActions(
      matchFull: c["fk_matchtype"]?.string == "f", onUpdate: word(c["fk_upd_action"]?.string),
      onDelete: word(c["fk_del_action"]?.string), deleteSetColumns: c["fk_del_set_cols"]?.names ?? [])
  }

  /// The definition of a key or foreign key written on a column (the file has no text for it),
  /// made as the server prints it.
  func synthesizedDefinition(_ c: S.Constraint, on table: QualifiedName) -> String {
    let key = ConstraintKey(table: table, name: c.name)
    switch c.kind {
    case .foreignKey:
      guard let references = c.references else { return c.definition }
      let a = foreignKeyActions[key] ?? ForeignKeyActions()
      return S.Constraint.foreignKeyDefinition(
        columns: c.columns, references: references, matchFull: a.matchFull, onUpdate: a.onUpdate, onDelete: a.onDelete,
        deleteSetColumns: a.deleteSetColumns, deferrable: c.deferrable, deferred: c.initiallyDeferred, validated: c.validated)
    case .primaryKey, .unique:
      let o = columnKeyOptions[key] ?? ColumnKeyOptions()
      return S.Constraint.keyDefinition(
        kind: c.kind, columns: c.columns, nullsNotDistinct: o.nullsNotDistinct, options: o.options, deferrable: c.deferrable,
        deferred: c.initiallyDeferred)
    default:
      return c.definition
    }
  }

  /// `ADD CONSTRAINT c UNIQUE USING INDEX i`: the index becomes the constraint's, renamed to it.
  mutating func addConstraintUsingIndex(_ c: JSONValue, index: String, primary: Bool, to table: inout S.Table) {
    guard let found = table.indexes[index] else {
      error("index \(SQL.quoteIdentifier(index)) of \(table.name) is not in the file", at: c.location)
      return
    }
    let name = c["conname"]?.string ?? index
    let columns = found.keys.compactMap(\.column)
    table.indexes.remove(index)
    indexOwners[table.name.sibling(index)] = nil
    table.constraints.insert(
      S.Constraint(
        name: name, kind: primary ? .primaryKey : .unique,
        definition: S.Constraint.keyDefinition(
          kind: primary ? .primaryKey : .unique, columns: columns, include: found.include,
          nullsNotDistinct: found.nullsNotDistinct,
          options: found.options, deferrable: c["deferrable"]?.bool ?? false, deferred: c["initdeferred"]?.bool ?? false),
        columns: columns, deferrable: c["deferrable"]?.bool ?? false, initiallyDeferred: c["initdeferred"]?.bool ?? false))
    indexOwners[table.name.sibling(name)] = table.name
    if primary { markNotNull(columns, in: &table) }
  }

  /// A name for a constraint nobody named, as `ChooseConstraintName` picks it: unique among the
  /// constraints of the schema.
  func chooseConstraintName(_ table: QualifiedName, _ addition: String?, label: String) -> String {
    SQL.chooseName(table.name, addition, label: label) { candidate in
      snapshot.tables.contains { $0.name.schema == table.schema && $0.constraints.contains(candidate) }
    }
  }

  /// A name for an index (or a key's index) nobody named: unique among the relations of the schema.
  func chooseIndexBackedName(_ table: QualifiedName, _ addition: String?, label: String) -> String {
    SQL.chooseName(table.name, addition, label: label) { relationNameTaken(table.sibling($0)) }
  }

  // MARK: - PostgreSQL 18's ADD CONSTRAINT ... NOT NULL

  mutating func addNotNullConstraint(_ n: GrammarBridge.NotNullStatement) {
    // Read after the statements around it, so the table exists; apply at the end of the file.
    pendingNotNulls.append(n)
  }
}

/// ON UPDATE / ON DELETE / MATCH of a foreign key written on a column.
struct ForeignKeyActions: Hashable {
  var matchFull = false
  var onUpdate: String?
  var onDelete: String?
  var deleteSetColumns: [String] = []
}

/// NULLS NOT DISTINCT and storage parameters of a key written on a column.
struct ColumnKeyOptions: Hashable {
  var nullsNotDistinct = false
  var options: [SchemaSnapshot.Setting] = []
}

struct ConstraintKey: Hashable {
  var table: QualifiedName
  var name: String
}
