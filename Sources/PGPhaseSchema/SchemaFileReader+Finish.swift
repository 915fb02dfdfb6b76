import PGPhaseModel
import PGPhaseSQL

extension Reader {
  /// What can only be done once the whole file is read.
  mutating func finish() {
    for notNull in pendingNotNulls { applyNotNull(notNull) }
    resolvePrimaryKeyReferences()
    // Columns an object uses, in column order now that every column is known.
    snapshot.tables.updateEach { table in
      let t = table
      table.constraints.updateEach { c in if c.kind == .check { c.columns = t.inColumnOrder(c.columns) } }
      for i in table.columns.indices {
        if let columns = table.columns[i].generated?.columns { table.columns[i].generated?.columns = t.inColumnOrder(columns) }
      }
    }
    resolveViewDependencies()
    let saved = statement
    for comment in comments {
      statement = comment.span
      applyComment(comment.fields)
    }
    statement = saved
  }

  mutating func applyNotNull(_ n: GrammarBridge.NotNullStatement) {
    let name = resolvingRelation(n.table)
    if Self.isJournal(name) { return }
    guard var table = snapshot.tables[name], table.column(n.column) != nil else {
      error("NOT NULL of \(name).\(SQL.quoteIdentifier(n.column)), which the file has not created", at: n.location)
      return
    }
    table.updateColumn(n.column) { $0.notNull = .init(name: n.name, validated: n.validated, noInherit: n.noInherit) }
    snapshot.tables.insert(table)
  }

  /// `REFERENCES t` without columns means t's primary key.
  mutating func resolvePrimaryKeyReferences() {
    for pending in pendingPrimaryKeyReferences {
      guard var table = snapshot.tables[pending.table], var constraint = table.constraints[pending.constraint],
        let target = constraint.references?.table
      else { continue }
      guard let key = snapshot.tables[target]?.primaryKey else {
        error(
          "foreign key \(SQL.quoteIdentifier(pending.constraint)) references \(target), which has no primary key in the file",
          at: pending.location)
        continue
      }
      constraint.references?.columns = key.columns
      constraint.definition = synthesizedDefinition(constraint, on: table.name)
      table.constraints.insert(constraint)
      snapshot.tables.insert(table)
    }
  }

  mutating func resolveViewDependencies() {
    var viewColumns: [QualifiedName: [String]] = [:]
    for (name, query) in viewQueries {
      if let columns = ViewColumns.names(of: query) { viewColumns[name] = columns }
    }
    let tables = snapshot.tables
    let views = snapshot.views
    let path = searchPath
    let resolve: ([String]) -> QualifiedName = { parts in
      if parts.count >= 2 { return QualifiedName(schema: parts[parts.count - 2], parts.last ?? "") }
      for schema in path {
        let name = QualifiedName(schema: schema, parts.last ?? "")
        if tables.contains(name) || views.contains(name) { return name }
      }
      return QualifiedName(schema: path.first ?? "public", parts.last ?? "")
    }
    let columnsOf: (QualifiedName) -> [String]? = { name in
      if let table = tables[name] { return table.columns.map(\.name) }
      return viewColumns[name]
    }
    for (name, query) in viewQueries {
      guard var view = snapshot.views[name] else { continue }
      var resolver = ViewDependencyResolver(resolve: resolve, columnsOf: columnsOf)
      resolver.read(query: query)
      view.dependencies = resolver.dependencies.filter { $0.relation != name && !Self.isJournal($0.relation) }
      snapshot.views.insert(view)
    }
  }

  // MARK: - COMMENT

  mutating func applyComment(_ f: JSONValue) {
    let text = f["comment"]?.string
    let object = f["object"] ?? .null
    let parts = object.node("List")?["items"]?.names ?? []
    switch f["objtype"]?.string {
    case "OBJECT_SCHEMA":
      guard let name = object.node("String")?["sval"]?.string, name != "public", !Self.isJournalSchema(name) else { return }
      guard snapshot.schemas.contains(name) else { return missing("schema \(SQL.quoteIdentifier(name))") }
      snapshot.schemas[name]?.comment = text
    case "OBJECT_TYPE", "OBJECT_DOMAIN":
      let name = resolving(object.node("TypeName")?["names"]?.names ?? []) { snapshot.types.contains($0) }
      if Self.isJournal(name) { return }
      guard snapshot.types.contains(name) else { return missing("type \(name)") }
      snapshot.types[name]?.comment = text
    case "OBJECT_FUNCTION", "OBJECT_PROCEDURE":
      commentOnFunction(object.node("ObjectWithArgs") ?? .null, text)
    case "OBJECT_TABLE", "OBJECT_FOREIGN_TABLE":
      let name = resolvingRelation(parts)
      if Self.isJournal(name) { return }
      guard snapshot.tables.contains(name) else { return missing("table \(name)") }
      snapshot.tables[name]?.comment = text
    case "OBJECT_VIEW", "OBJECT_MATVIEW":
      let name = resolvingRelation(parts)
      if Self.isJournal(name) { return }
      guard snapshot.views.contains(name) else { return missing("view \(name)") }
      snapshot.views[name]?.comment = text
    case "OBJECT_SEQUENCE":
      let name = resolvingRelation(parts)
      if Self.isJournal(name) { return }
      if snapshot.sequences.contains(name) {
        snapshot.sequences[name]?.comment = text
      } else if !isIdentitySequence(name) {
        missing("sequence \(name)")
      }
    case "OBJECT_INDEX":
      let name = resolving(parts) { indexOwners[$0] != nil }
      if Self.isJournal(name) { return }
      guard let owner = indexOwners[name] else { return missing("index \(name)") }
      if snapshot.tables[owner]?.indexes.contains(name.name) == true {
        snapshot.tables[owner]?.indexes[name.name]?.comment = text
      } else if snapshot.views[owner]?.indexes.contains(name.name) == true {
        snapshot.views[owner]?.indexes[name.name]?.comment = text
      }
    case "OBJECT_COLUMN":
      guard parts.count >= 2 else { return }
      let relation = resolvingRelation(Array(parts.dropLast()))
      let column = parts.last!
      if Self.isJournal(relation) { return }
      if snapshot.tables[relation]?.column(column) != nil {
        snapshot.tables[relation]?.updateColumn(column) { $0.comment = text }
      } else if snapshot.views.contains(relation) {
        snapshot.views[relation]?.columnComments[column] = text
      } else {
        missing("column \(relation).\(SQL.quoteIdentifier(column))")
      }
    case "OBJECT_TABCONSTRAINT":
      guard parts.count >= 2 else { return }
      let table = resolvingRelation(Array(parts.dropLast()))
      let name = parts.last!
      if Self.isJournal(table) { return }
      if snapshot.tables[table]?.constraints.contains(name) == true {
        snapshot.tables[table]?.constraints[name]?.comment = text
      } else if snapshot.tables[table]?.columns.contains(where: { $0.notNull?.name == name }) == true {
        warn("comments on NOT NULL constraints are left out of a schema snapshot")
      } else {
        missing("constraint \(SQL.quoteIdentifier(name)) on \(table)")
      }
    case "OBJECT_TRIGGER":
      guard parts.count >= 2 else { return }
      let relation = resolvingRelation(Array(parts.dropLast()))
      let name = parts.last!
      if Self.isJournal(relation) { return }
      if snapshot.tables[relation]?.triggers.contains(name) == true {
        snapshot.tables[relation]?.triggers[name]?.comment = text
      } else if snapshot.views[relation]?.triggers.contains(name) == true {
        snapshot.views[relation]?.triggers[name]?.comment = text
      } else {
        missing("trigger \(SQL.quoteIdentifier(name)) on \(relation)")
      }
    case "OBJECT_STATISTIC_EXT":
      let name = resolving(parts) { n in snapshot.tables.contains { $0.statistics.contains(n) } }
      if Self.isJournal(name) { return }
      guard let table = snapshot.tables.first(where: { $0.statistics.contains(name) }) else {
        return missing("statistics \(name)")
      }
      snapshot.tables[table.name]?.statistics[name]?.comment = text
    case "OBJECT_EXTENSION":
      break  // an extension's comment comes with it
    default:
      break  // comments on objects a snapshot leaves out
    }
  }

  static func isJournalSchema(_ name: String) -> Bool { name == SchemaSnapshot.journalSchema }

  func isIdentitySequence(_ name: QualifiedName) -> Bool {
    snapshot.tables.contains { $0.columns.contains { $0.identity?.sequence == name } }
  }

  mutating func missing(_ what: String) {
    error("COMMENT ON \(what), which the file has not created")
  }

  mutating func commentOnFunction(_ object: JSONValue, _ text: String?) {
    let parts = object["objname"]?.names ?? []
    let name = resolving(parts) { n in snapshot.functions.contains { $0.name == n } }
    if Self.isJournal(name) { return }
    let candidates = snapshot.functions.filter { $0.name == name }
    var match: S.Function?
    if object["args_unspecified"]?.bool == true || candidates.count == 1 && object["objargs"] == nil {
      match = candidates.count == 1 ? candidates[0] : nil
    } else {
      let types = (object["objargs"]?.array ?? []).compactMap { $0.node("TypeName") }.map {
        TypeNames.format($0, defaultSchema: defaultSchema, written: "")
      }
      match = candidates.first { inputTypes(of: $0) == types }
    }
    guard let match else { return missing("function \(name)") }
    snapshot.functions[match.key]?.comment = text
  }

  /// The types of a function's input arguments (what names it in COMMENT or DROP), from its
  /// argument list: `IN a integer, OUT b text, c numeric DEFAULT 1` gives integer and numeric.
  func inputTypes(of function: S.Function) -> [String] {
    guard case .success(let statements) = SQLParser.parse("CREATE FUNCTION f(\(function.identityArguments)) RETURNS void AS ''"),
      let parameters = statements.first?.fields["parameters"]?.array
    else { return [] }
    return parameters.compactMap { $0.node("FunctionParameter") }.compactMap { p in
      let mode = p["mode"]?.string
      guard mode != "FUNC_PARAM_OUT", mode != "FUNC_PARAM_TABLE" else { return nil }
      return TypeNames.format(p["argType"] ?? .null, defaultSchema: defaultSchema, written: "")
    }
  }

  // MARK: - DROP and RENAME

  mutating func readDrop(_ f: JSONValue) {
    let missingOK = f["missing_ok"]?.bool ?? false
    for object in f["objects"]?.array ?? [] {
      let parts = object.node("List")?["items"]?.names ?? (object.node("String")?["sval"]?.string.map { [$0] } ?? [])
      var dropped = true
      switch f["removeType"]?.string {
      case "OBJECT_TABLE": dropped = snapshot.tables.remove(resolvingRelation(parts)) != nil
      case "OBJECT_VIEW", "OBJECT_MATVIEW": dropped = snapshot.views.remove(resolvingRelation(parts)) != nil
      case "OBJECT_SEQUENCE": dropped = snapshot.sequences.remove(resolvingRelation(parts)) != nil
      case "OBJECT_INDEX":
        let name = resolving(parts) { indexOwners[$0] != nil }
        if let owner = indexOwners[name] {
          snapshot.tables[owner]?.indexes.remove(name.name)
          snapshot.views[owner]?.indexes.remove(name.name)
          indexOwners[name] = nil
        } else {
          dropped = false
        }
      case "OBJECT_SCHEMA": dropped = snapshot.schemas.remove(parts.last ?? "") != nil
      case "OBJECT_EXTENSION": dropped = snapshot.extensions.remove(parts.last ?? "") != nil
      case "OBJECT_TYPE", "OBJECT_DOMAIN":
        let names = object.node("TypeName")?["names"]?.names ?? parts
        dropped = snapshot.types.remove(resolving(names) { snapshot.types.contains($0) }) != nil
      case "OBJECT_TRIGGER":
        guard parts.count >= 2 else { continue }
        let relation = resolvingRelation(Array(parts.dropLast()))
        dropped =
          snapshot.tables[relation]?.triggers.remove(parts.last!) != nil
          || snapshot.views[relation]?.triggers.remove(parts.last!) != nil
      case "OBJECT_FUNCTION", "OBJECT_PROCEDURE":
        let names = object.node("ObjectWithArgs")?["objname"]?.names ?? parts
        let name = resolving(names) { n in snapshot.functions.contains { $0.name == n } }
        let matches = snapshot.functions.filter { $0.name == name }
        for function in matches { snapshot.functions.remove(function.key) }
        dropped = !matches.isEmpty
      default:
        error("DROP of this kind of object cannot be read in a schema file")
        return
      }
      if !dropped && !missingOK { error("DROP of \(parts.joined(separator: ".")), which the file has not created") }
    }
  }

  mutating func readRename(_ f: JSONValue) {
    guard let newName = f["newname"]?.string else { return }
    let relation = f["relation"].map(resolvingRelation)
    switch f["renameType"]?.string {
    case "OBJECT_TABLE":
      guard let relation, var table = snapshot.tables.remove(relation) else { return missingRename() }
      table.name = relation.sibling(newName)
      snapshot.tables.insert(table)
    case "OBJECT_COLUMN":
      guard let relation, var table = snapshot.tables[relation], let old = f["subname"]?.string,
        let i = table.columnIndex(old)
      else { return missingRename() }
      table.columns[i].name = newName
      snapshot.tables.insert(table)
    case "OBJECT_TABCONSTRAINT":
      guard let relation, var table = snapshot.tables[relation], let old = f["subname"]?.string,
        var constraint = table.constraints.remove(old)
      else { return missingRename() }
      constraint.name = newName
      table.constraints.insert(constraint)
      snapshot.tables.insert(table)
    case "OBJECT_INDEX":
      guard let relation else { return missingRename() }
      let name = resolving([relation.schema, relation.name].compactMap { $0 }) { indexOwners[$0] != nil }
      guard let owner = indexOwners[name], var table = snapshot.tables[owner], var index = table.indexes.remove(name.name) else {
        return missingRename()
      }
      index.name = newName
      table.indexes.insert(index)
      snapshot.tables.insert(table)
      indexOwners[name] = nil
      indexOwners[name.sibling(newName)] = owner
    default:
      error("RENAME of this kind of object cannot be read in a schema file")
    }
  }

  mutating func missingRename() {
    error("RENAME of an object the file has not created")
  }
}
