import PGPhaseModel
import PGPhaseSQL

extension Reader {
  // MARK: - Schemas and extensions

  mutating func readCreateSchema(_ f: JSONValue) {
    guard let name = f["schemaname"]?.string else {
      error("CREATE SCHEMA AUTHORIZATION without a name cannot be read in a schema file")
      return
    }
    if name == "public" || name == SchemaSnapshot.journalSchema { return }
    if snapshot.schemas.contains(name) {
      if f["if_not_exists"]?.bool != true { error("schema \(SQL.quoteIdentifier(name)) is created twice") }
      return
    }
    if !(f["schemaElts"]?.array ?? []).isEmpty {
      error("CREATE SCHEMA with objects inside it cannot be read in a schema file: create them one by one")
    }
    snapshot.schemas.insert(.init(name: name))
  }

  mutating func readCreateExtension(_ f: JSONValue) {
    guard let name = f["extname"]?.string else { return }
    if name == "plpgsql" { return }  // every database has it
    var schema = defaultSchema
    for option in f["options"]?.array ?? [] {
      if let d = option.node("DefElem"), d["defname"]?.string == "schema", let s = Self.argumentText(d) { schema = s }
    }
    if snapshot.extensions.contains(name), f["if_not_exists"]?.bool != true {
      error("extension \(SQL.quoteIdentifier(name)) is created twice")
    }
    snapshot.extensions.insert(.init(name: name, schema: schema))
  }

  // MARK: - Types

  mutating func addType(_ type: S.TypeDefinition) {
    if Self.isJournal(type.name) { return }
    if snapshot.types.contains(type.name) {
      error("type \(type.name) is created twice")
      return
    }
    snapshot.types.insert(type)
  }

  mutating func readCreateEnum(_ f: JSONValue) {
    addType(.init(name: creating(f["typeName"]?.names ?? []), kind: .enumeration(labels: f["vals"]?.names ?? [])))
  }

  mutating func readAlterEnum(_ f: JSONValue) {
    let name = resolving(f["typeName"]?.names ?? []) { snapshot.types.contains($0) }
    guard var type = snapshot.types[name], case .enumeration(var labels) = type.kind else {
      error("enum \(name) is altered but the file has not created it")
      return
    }
    if let old = f["oldVal"]?.string, let new = f["newVal"]?.string {
      labels = labels.map { $0 == old ? new : $0 }
    } else if let new = f["newVal"]?.string {
      guard !labels.contains(new) else {
        if f["skipIfNewValExists"]?.bool != true { error("enum \(name) already has the label \(SQL.quoteLiteral(new))") }
        return
      }
      if let neighbor = f["newValNeighbor"]?.string, let at = labels.firstIndex(of: neighbor) {
        labels.insert(new, at: f["newValIsAfter"]?.bool == true ? at + 1 : at)
      } else {
        labels.append(new)
      }
    }
    type.kind = .enumeration(labels: labels)
    snapshot.types.insert(type)
  }

  mutating func readCompositeType(_ f: JSONValue) {
    guard let typeVar = f["typevar"] else { return }
    let attributes = (f["coldeflist"]?.array ?? []).compactMap { $0.node("ColumnDef") }.map { def -> S.CompositeAttribute in
      let end = s.elementEnd(from: def.location ?? statement.start, limit: statement.end)
      let type = typeText(def["typeName"] ?? .null, within: (def.location ?? statement.start)..<end, def: def)
      let collation = def["collClause"]?["collname"]?.names
      return S.CompositeAttribute(
        name: def["colname"]?.string ?? "", type: type,
        collation: collation.flatMap { parts in
          parts.last == "default"
            ? nil : QualifiedName(schema: parts.count >= 2 ? parts[parts.count - 2] : "pg_catalog", parts.last ?? "")
        })
    }
    addType(.init(name: creating(typeVar), kind: .composite(attributes: attributes)))
  }

  mutating func readCreateDomain(_ f: JSONValue) {
    let name = creating(f["domainname"]?.names ?? [])
    let typeName = f["typeName"] ?? .null
    var markers = (f["constraints"]?.array ?? []).compactMap { $0.node("Constraint")?.location }
    if let collation = f["collClause"]?.location { markers.append(collation) }
    markers.sort()
    let typeStart = typeName.location ?? statement.start
    let type = TypeNames.format(
      typeName, defaultSchema: defaultSchema, written: s.spanText(typeStart..<(markers.first { $0 > typeStart } ?? statement.end))
    )
    var domain = S.Domain(baseType: type)
    if let parts = f["collClause"]?["collname"]?.names, parts.last != "default" {
      domain.collation = QualifiedName(schema: parts.count >= 2 ? parts[parts.count - 2] : "pg_catalog", parts.last ?? "")
    }
    for node in f["constraints"]?.array ?? [] {
      guard let c = node.node("Constraint"), let at = c.location else { continue }
      let end = markers.first { $0 > at } ?? statement.end
      switch c["contype"]?.string {
      case "CONSTR_NOTNULL": domain.notNull = true
      case "CONSTR_NULL": domain.notNull = false
      case "CONSTR_DEFAULT":
        if let keyword = s.firstTopLevel(from: s.token(atOrAfter: at), limit: end, where: { s.isWord($0, "DEFAULT") }) {
          domain.defaultExpression = s.spanText(s.tokens[keyword].range.upperBound..<end)
        }
      case "CONSTR_CHECK":
        domain.checks.append(domainCheck(c, domain: name, existing: domain.checks, end: end))
      default:
        error("a domain constraint of this kind cannot be read here", at: at)
      }
    }
    domain.checks.sort { $0.name < $1.name }
    addType(.init(name: name, kind: .domain(domain)))
  }

  func domainCheck(_ c: JSONValue, domain: QualifiedName, existing: [S.DomainCheck], end: Int) -> S.DomainCheck {
    let at = c.location ?? statement.start
    let keyword = s.firstTopLevel(from: s.token(atOrAfter: at), limit: end) { s.isWord($0, "CHECK") }
    var text = keyword.map { s.spanText(s.tokens[$0].range.lowerBound..<end) } ?? ""
    let validated = !(c["skip_validation"]?.bool ?? false)
    if !validated, text.hasSuffix(" NOT VALID") { text.removeLast(" NOT VALID".count) }
    let name =
      c["conname"]?.string ?? SQL.chooseName(domain.name, nil, label: "check") { n in existing.contains { $0.name == n } }
    return S.DomainCheck(name: name, definition: text, validated: validated)
  }

  mutating func readAlterDomain(_ f: JSONValue) {
    let name = resolving(f["typeName"]?.names ?? []) { snapshot.types.contains($0) }
    guard var type = snapshot.types[name], case .domain(var domain) = type.kind else {
      error("domain \(name) is altered but the file has not created it")
      return
    }
    switch f["subtype"]?.string {
    case "C":
      guard let c = f["def"]?.node("Constraint") else { return }
      domain.checks.append(domainCheck(c, domain: name, existing: domain.checks, end: statement.end))
      domain.checks.sort { $0.name < $1.name }
    case "X": domain.checks.removeAll { $0.name == f["name"]?.string }
    case "V":
      for i in domain.checks.indices where domain.checks[i].name == f["name"]?.string { domain.checks[i].validated = true }
    case "N": domain.notNull = false
    case "O": domain.notNull = true
    case "T":
      let keyword = s.firstTopLevel(from: s.token(atOrAfter: statement.start), limit: statement.end) { s.isWord($0, "DEFAULT") }
      domain.defaultExpression = f["def"] == nil ? nil : keyword.map { s.spanText(s.tokens[$0].range.upperBound..<statement.end) }
    default:
      error("ALTER DOMAIN: this subcommand cannot be read in a schema file")
      return
    }
    type.kind = .domain(domain)
    snapshot.types.insert(type)
  }

  // MARK: - Sequences

  mutating func readCreateSequence(_ f: JSONValue) {
    guard let sequenceVar = f["sequence"] else { return }
    if (sequenceVar.node("RangeVar") ?? sequenceVar)["relpersistence"]?.string == "t" { return }
    let name = creating(sequenceVar)
    if Self.isJournal(name) { return }
    if snapshot.sequences.contains(name) {
      if f["if_not_exists"]?.bool != true { error("sequence \(name) is created twice") }
      return
    }
    let options = f["options"]?.array ?? []
    var sequence = S.SequenceDefinition(name: name, options: sequenceOptions(options, dataType: "bigint"))
    sequence.ownedBy = ownedBy(options)
    snapshot.sequences.insert(sequence)
  }

  mutating func readAlterSequence(_ f: JSONValue) {
    guard let sequenceVar = f["sequence"] else { return }
    let name = resolvingRelation(sequenceVar)
    if Self.isJournal(name) { return }
    guard var sequence = snapshot.sequences[name] else {
      if f["missing_ok"]?.bool != true { error("sequence \(name) is altered but the file has not created it") }
      return
    }
    let options = f["options"]?.array ?? []
    for option in options {
      guard let d = option.node("DefElem"), let key = d["defname"]?.string else { continue }
      switch key {
      case "owned_by": sequence.ownedBy = ownedBy(options)
      case "restart": break  // a position, not schema
      default:
        var merged = sequence.options
        let changed = sequenceOptions([option], dataType: merged.dataType)
        switch key {
        case "as": merged.dataType = changed.dataType
        case "start": merged.start = changed.start
        case "increment": merged.increment = changed.increment
        case "minvalue": merged.minValue = changed.minValue
        case "maxvalue": merged.maxValue = changed.maxValue
        case "cache": merged.cache = changed.cache
        case "cycle": merged.cycle = changed.cycle
        default: break
        }
        sequence.options = merged
      }
    }
    snapshot.sequences.insert(sequence)
  }

  /// `OWNED BY [schema.]table.column` (nil for `OWNED BY NONE`).
  func ownedBy(_ options: [JSONValue]) -> S.ColumnPath? {
    for option in options {
      guard let d = option.node("DefElem"), d["defname"]?.string == "owned_by" else { continue }
      let parts = d["arg"]?.node("List")?["items"]?.names ?? []
      guard parts.count >= 2 else { return nil }
      return S.ColumnPath(table: resolvingRelation(Array(parts.dropLast())), column: parts.last!)
    }
    return nil
  }

  // MARK: - Functions

  mutating func readCreateFunction(_ f: JSONValue) {
    let name = creating(f["funcname"]?.names ?? [])
    if Self.isJournal(name) { return }
    let isProcedure = f["is_procedure"]?.bool ?? false
    let parameters = (f["parameters"]?.array ?? []).compactMap { $0.node("FunctionParameter") }
    // The parameter list is the group after the name; defaults are taken from its text.
    var open = s.token(atOrAfter: statement.start)
    while open < s.tokens.count, s.tokens[open].kind != .openParen { open += 1 }
    let elements = open < s.tokens.count ? s.elements(ofGroupAt: open) : []
    var arguments: [String] = []
    var identity: [String] = []
    var tableColumns: [String] = []
    var outTypes: [String] = []
    for (index, p) in parameters.enumerated() {
      let mode = p["mode"]?.string ?? "FUNC_PARAM_DEFAULT"
      let element = index < elements.count ? elements[index] : statement.start..<statement.start
      let defaultKeyword = s.firstTopLevel(
        from: s.token(atOrAfter: element.lowerBound), limit: element.upperBound,
        where: { s.isWord($0, "DEFAULT") || s.isSymbol($0, "=") })
      let typeEnd = defaultKeyword.map { s.tokens[$0].range.lowerBound } ?? element.upperBound
      let type = typeText(p["argType"] ?? .null, within: (p["argType"]?.location ?? element.lowerBound)..<typeEnd, def: nil)
      let named = (p["name"]?.string).map { "\(SQL.quoteIdentifier($0)) " } ?? ""
      if mode == "FUNC_PARAM_TABLE" {
        tableColumns.append(named + type)
        continue
      }
      let prefix: String
      switch mode {
      case "FUNC_PARAM_OUT": prefix = "OUT "
      case "FUNC_PARAM_INOUT": prefix = "INOUT "
      case "FUNC_PARAM_VARIADIC": prefix = "VARIADIC "
      default: prefix = isProcedure ? "IN " : ""
      }
      if mode == "FUNC_PARAM_OUT" || mode == "FUNC_PARAM_INOUT" { outTypes.append(type) }
      var argument = prefix + named + type
      identity.append(argument)
      if p["defexpr"] != nil, let keyword = defaultKeyword {
        argument += " DEFAULT " + s.spanText(s.tokens[keyword].range.upperBound..<element.upperBound)
      }
      arguments.append(argument)
    }
    var result: String?
    if !isProcedure {
      if !tableColumns.isEmpty {
        result = "TABLE(\(tableColumns.joined(separator: ", ")))"
      } else if let returnType = f["returnType"] {
        let start = returnType.location ?? statement.start
        let end =
          s.firstTopLevel(from: s.token(atOrAfter: start) + 1, limit: statement.end) { i in
            s.tokens[i].kind == .keyword && !s.isWord(i, "WITH") && !s.isWord(i, "TIME") && !s.isWord(i, "ZONE")
              && !s.isWord(i, "WITHOUT") && !s.isWord(i, "VARYING") && !s.isWord(i, "PRECISION")
          }.map { s.tokens[$0].range.lowerBound } ?? statement.end
        result = (returnType["setof"]?.bool == true ? "SETOF " : "") + typeText(returnType, within: start..<end, def: nil)
      } else {
        result = outTypes.count == 1 ? outTypes[0] : "record"
      }
    }
    var function = S.Function(
      name: name, kind: isProcedure ? .procedure : .function, arguments: arguments.joined(separator: ", "),
      identityArguments: identity.joined(separator: ", "), result: result, language: "sql", cost: 0, body: .source(""))
    var cost: Double?
    var rows: Double?
    for option in f["options"]?.array ?? [] {
      guard let d = option.node("DefElem"), let key = d["defname"]?.string else { continue }
      let value = Self.argumentText(d)
      switch key {
      case "language": function.language = (value ?? "sql").lowercased()
      case "volatility": function.volatility = S.Function.Volatility(rawValue: value ?? "") ?? .volatile
      case "strict": function.strict = d.defElemBool
      case "security": function.securityDefiner = d.defElemBool
      case "leakproof": function.leakproof = d.defElemBool
      case "parallel": function.parallel = S.Function.Parallel(rawValue: value ?? "") ?? .unsafe
      case "window": function.window = d.defElemBool
      case "cost": cost = value.flatMap(Double.init)
      case "rows": rows = value.flatMap(Double.init)
      case "set":
        if let set = d["arg"]?.node("VariableSetStmt") { readFunctionSetting(set, into: &function) }
      case "as":
        let parts = d["arg"]?.node("List")?["items"]?.array.compactMap { $0.node("String")?["sval"]?.string } ?? []
        function.body = parts.count >= 2 ? .object(file: parts[0], symbol: parts[1]) : .source(parts.first ?? "")
      case "support": warn("a function's SUPPORT function is left out of a schema snapshot", at: d.location)
      default: break
      }
    }
    if f["sql_body"] != nil,
      let keyword = s.firstTopLevel(
        from: s.token(atOrAfter: statement.start), limit: statement.end,
        where: { s.isWord($0, "RETURN") || s.isWord($0, "BEGIN") })
    {
      function.body = .sqlBody(s.spanText(s.tokens[keyword].range.lowerBound..<statement.end))
    }
    function.cost = cost ?? S.Function.defaultCost(language: function.language)
    let returnsSet = result?.hasPrefix("SETOF ") == true || result?.hasPrefix("TABLE(") == true
    function.rows = rows ?? (returnsSet ? 1000 : 0)
    if snapshot.functions.contains(function.key), f["replace"]?.bool != true {
      error("\(function.kind.rawValue) \(function.key) is created twice")
      return
    }
    if let old = snapshot.functions[function.key] { function.comment = old.comment }
    snapshot.functions.insert(function)
  }

  /// `SET name = value` of a function, stored as the server stores it (`search_path=a, "B"`).
  mutating func readFunctionSetting(_ set: JSONValue, into function: inout S.Function) {
    guard let name = set["name"]?.string else { return }
    guard set["kind"]?.string == "VAR_SET_VALUE" else {
      warn("SET \(name) FROM CURRENT cannot be read without the server: left out")
      return
    }
    let values = (set["args"]?.array ?? []).compactMap(\.constantText)
    let listSetting = SchemaSnapshot.listSettings.contains(name.lowercased())
    let value = values.map { listSetting ? SQL.quoteIdentifier($0) : $0 }.joined(separator: ", ")
    function.configuration.append(.init(name: name, value: value))
  }
}
