import PGPhaseModel
import PGPhaseSQL

extension Reader {
  // MARK: - CREATE INDEX

  mutating func readCreateIndex(_ f: JSONValue) {
    guard let relation = f["relation"] else { return }
    let on = resolvingRelation(relation)
    if Self.isJournal(on) { return }
    let isTable = snapshot.tables.contains(on)
    guard isTable || snapshot.views[on]?.materialized == true else {
      error("CREATE INDEX on \(on), which the file has not created as a table or materialized view")
      return
    }
    let rel = relation.node("RangeVar") ?? relation
    let params = (f["indexParams"]?.array ?? []).compactMap { $0.node("IndexElem") }
    // The key list is the first parenthesised group after the relation's name.
    var open = s.token(atOrAfter: rel.location ?? statement.start)
    while open < s.tokens.count, s.tokens[open].kind != .openParen { open += 1 }
    let elements = open < s.tokens.count ? s.elements(ofGroupAt: open) : []
    guard elements.count == params.count else {
      error("cannot find the keys of this index in its text")
      return
    }
    var keys: [S.IndexKey] = []
    var used: [String] = []
    for (param, element) in zip(params, elements) {
      let span = s.span(element)
      let first = s.token(atOrAfter: span.lowerBound)
      if let column = param["name"]?.string {
        let rest = s.spanText(s.tokens[first].range.upperBound..<span.upperBound)
        keys.append(.init(column: column, options: rest.isEmpty ? nil : rest))
        used.append(column)
      } else {
        var last = first
        if s.tokens[first].kind == .openParen {
          last = s.closing(first) ?? first
        } else if let paren = s.firstTopLevel(from: first, limit: span.upperBound, where: { s.tokens[$0].kind == .openParen }) {
          last = s.closing(paren) ?? paren
        }
        let expression = s.text(s.tokens[first].range.lowerBound..<s.tokens[last].range.upperBound)
        let rest = s.spanText(s.tokens[last].range.upperBound..<span.upperBound)
        keys.append(.init(expression: expression, options: rest.isEmpty ? nil : rest))
        used += Self.columnReferences(param["expr"])
      }
    }
    let include = (f["indexIncludingParams"]?.array ?? []).compactMap { $0.node("IndexElem")?["name"]?.string }
    used += include
    var predicate: String?
    if f["whereClause"] != nil, let close = s.closing(open),
      let keyword = s.firstTopLevel(from: close + 1, limit: statement.end, where: { s.isWord($0, "WHERE") })
    {
      predicate = s.spanText(s.tokens[keyword].range.upperBound..<statement.end)
      used += Self.columnReferences(f["whereClause"])
    }
    let name =
      f["idxname"]?.string
      ?? chooseIndexBackedName(on, SQL.nameAddition(params.map { $0["name"]?.string ?? "expr" }), label: "idx")
    let qualified = on.sibling(name)
    if indexOwners[qualified] != nil {
      if f["if_not_exists"]?.bool != true { error("index \(qualified) is created twice") }
      return
    }
    let index = S.Index(
      name: name, unique: f["unique"]?.bool ?? false, method: f["accessMethod"]?.string ?? "btree", keys: keys, include: include,
      nullsNotDistinct: f["nulls_not_distinct"]?.bool ?? false, options: Self.settings(f["options"]), predicate: predicate,
      columns: used)
    indexOwners[qualified] = on
    snapshot.insert(index: index, on: on)
  }

  // MARK: - CREATE TRIGGER, CREATE STATISTICS

  mutating func readCreateTrigger(_ f: JSONValue) {
    guard let relation = f["relation"] else { return }
    let on = resolvingRelation(relation)
    if Self.isJournal(on) { return }
    let function = resolving(f["funcname"]?.names ?? []) { name in snapshot.functions.contains { $0.name == name } }
    let trigger = S.Trigger(
      name: f["trigname"]?.string ?? "", definition: statementText, columns: f["columns"]?.names ?? [], function: function)
    if !snapshot.insert(trigger: trigger, on: on) { error("CREATE TRIGGER on \(on), which the file has not created") }
  }

  mutating func readCreateStatistics(_ f: JSONValue) {
    guard let relation = f["relations"]?.array.first else { return }
    let on = resolvingRelation(relation)
    if Self.isJournal(on) { return }
    guard var table = snapshot.tables[on] else {
      error("CREATE STATISTICS on \(on), which the file has not created as a table")
      return
    }
    let elements = (f["exprs"]?.array ?? []).compactMap { $0.node("StatsElem") }
    var columns: [String] = []
    for element in elements {
      if let name = element["name"]?.string { columns.append(name) } else { columns += Self.columnReferences(element["expr"]) }
    }
    let parts = f["defnames"]?.names ?? []
    let name =
      parts.isEmpty
      ? on.sibling(
        SQL.chooseName(on.name, SQL.nameAddition(elements.map { $0["name"]?.string ?? "expr" }), label: "stat") { n in
          table.statistics.contains(on.sibling(n))
        })
      : creating(parts)
    table.statistics.insert(.init(name: name, definition: statementText, columns: table.inColumnOrder(columns)))
    snapshot.tables.insert(table)
  }

  mutating func readAlterStatistics(_ f: JSONValue) {
    let parts = f["defnames"]?.names ?? []
    let name = resolving(parts) { n in snapshot.tables.contains { $0.statistics.contains(n) } }
    guard var table = snapshot.tables.first(where: { $0.statistics.contains(name) }), var statistics = table.statistics[name]
    else {
      if f["missing_ok"]?.bool != true { error("statistics \(name) is altered but the file has not created it") }
      return
    }
    // libpg_query's JSON drops a zero or negative target; the text has it.
    let keyword = s.firstTopLevel(from: s.token(atOrAfter: statement.start), limit: statement.end) { s.isWord($0, "STATISTICS") }
    let skip = keyword.map { s.firstTopLevel(from: $0 + 1, limit: statement.end) { s.isWord($0, "STATISTICS") } ?? $0 }
    let target = skip.flatMap { integer(after: s.tokens[$0].range.upperBound) } ?? -1
    statistics.target = target < 0 ? nil : Int(target)
    table.statistics.insert(statistics)
    snapshot.tables.insert(table)
  }

  // MARK: - Views

  mutating func readCreateView(_ f: JSONValue) {
    guard let viewVar = f["view"], let query = f["query"] else { return }
    let name = creating(viewVar)
    if Self.isJournal(name) { return }
    if snapshot.views.contains(name), f["replace"]?.bool != true {
      error("view \(name) is created twice")
      return
    }
    var options = Self.settings(f["options"])
    var checkOption = options.first { $0.name == "check_option" }?.value
    options.removeAll { $0.name == "check_option" }
    switch f["withCheckOption"]?.string {
    case "CASCADED_CHECK_OPTION": checkOption = "cascaded"
    case "LOCAL_CHECK_OPTION": checkOption = "local"
    default: break
    }
    guard var definition = viewQueryText(from: viewVar.location ?? statement.start) else {
      error("cannot find the query of view \(name) in its text")
      return
    }
    if checkOption != nil { definition = strippingTrailing(definition, ["WITH", "*", "CHECK", "OPTION"]) }
    var view = S.View(name: name, definition: definition, options: options, checkOption: checkOption)
    if let old = snapshot.views[name] {
      view.comment = old.comment
      view.triggers = old.triggers
    }
    viewQueries[name] = query
    snapshot.views.insert(view)
  }

  mutating func readCreateTableAs(_ f: JSONValue) {
    guard f["objtype"]?.string == "OBJECT_MATVIEW" else {
      error("CREATE TABLE ... AS cannot be read in a schema file: write the table's columns out")
      return
    }
    guard let into = f["into"], let rel = into["rel"], let query = f["query"] else { return }
    let name = creating(rel)
    if Self.isJournal(name) { return }
    if snapshot.views.contains(name) {
      if f["if_not_exists"]?.bool != true { error("materialized view \(name) is created twice") }
      return
    }
    guard var definition = viewQueryText(from: rel.location ?? statement.start) else {
      error("cannot find the query of materialized view \(name) in its text")
      return
    }
    definition = strippingTrailing(definition, ["WITH", "NO", "DATA"])
    definition = strippingTrailing(definition, ["WITH", "DATA"])
    viewQueries[name] = query
    snapshot.views.insert(S.View(name: name, materialized: true, definition: definition, options: Self.settings(into["options"])))
  }

  /// The query of CREATE [MATERIALIZED] VIEW: after the first top-level AS that follows the name.
  func viewQueryText(from nameOffset: Int) -> String? {
    let start = s.token(atOrAfter: nameOffset)
    guard let keyword = s.firstTopLevel(from: start, limit: statement.end, where: { s.isWord($0, "AS") }) else { return nil }
    return s.spanText(s.tokens[keyword].range.upperBound..<statement.end)
  }

  /// `text` without the words at its end (`*` matches any one word), compared without case.
  func strippingTrailing(_ text: String, _ words: [String]) -> String {
    guard case .success(let tokens) = SQLScanner.tokens(text) else { return text }
    let code = tokens.filter { !$0.isComment }
    guard code.count > words.count else { return text }
    let bytes = Array(text.utf8)
    let tail = code.suffix(words.count)
    for (token, word) in zip(tail, words) where word != "*" {
      let spelled = String(decoding: bytes[token.range], as: UTF8.self)
      if spelled.uppercased() != word { return text }
    }
    let cut = code[code.count - words.count - 1].range.upperBound
    return String(decoding: bytes[0..<cut], as: UTF8.self)
  }
}
