import PGPhaseModel
import PGPhaseSQL

/// The tables and views a view's query reads, and which of their columns, found from the parse
/// tree the way the server records them in pg_depend for the view's rule: every relation in a
/// FROM (CTE names aside), every column a name in the query resolves to (in its own FROM, or an
/// outer one for a subquery), all columns for `*`, both sides' columns of a JOIN USING.
struct ViewDependencyResolver {
  /// An unqualified or qualified relation name, resolved along the file's search path.
  let resolve: ([String]) -> QualifiedName
  /// The columns of a table or view, when known.
  let columnsOf: (QualifiedName) -> [String]?

  private(set) var found: [QualifiedName: Set<String>] = [:]

  init(resolve: @escaping ([String]) -> QualifiedName, columnsOf: @escaping (QualifiedName) -> [String]?) {
    self.resolve = resolve
    self.columnsOf = columnsOf
  }

  /// What one FROM item makes visible.
  struct Item {
    /// The name a column reference qualifies it with: its alias, else the relation's name.
    var visibleName: String
    var relation: QualifiedName?
    /// Known columns; nil when they are not known (a CTE, a function, a view whose columns
    /// cannot be worked out).
    var columns: [String]?
  }

  var dependencies: [SchemaSnapshot.ViewDependency] {
    found.map { SchemaSnapshot.ViewDependency(relation: $0.key, columns: $0.value.sorted()) }.sorted()
  }

  mutating func read(query: JSONValue) {
    if let select = query.node("SelectStmt") { readSelect(select, outer: [], ctes: []) }
  }

  mutating func readSelect(_ select: JSONValue, outer: [[Item]], ctes: Set<String>) {
    var ctes = ctes
    if let with = select["withClause"]?.node("WithClause") {
      for cte in (with["ctes"]?.array ?? []).compactMap({ $0.node("CommonTableExpr") }) {
        if let name = cte["ctename"]?.string, with["recursive"]?.bool == true { ctes.insert(name) }
        if let query = cte["ctequery"]?.node("SelectStmt") { readSelect(query, outer: outer, ctes: ctes) }
        if let name = cte["ctename"]?.string { ctes.insert(name) }
      }
    }
    if select["op"]?.string.map({ $0 != "SETOP_NONE" }) ?? false {
      for side in ["larg", "rarg"] {
        if let part = select[side] { readSelect(part.node("SelectStmt") ?? part, outer: outer, ctes: ctes) }
      }
      return
    }
    var items: [Item] = []
    var pendingQuals: [(JSONValue, [Item])] = []
    for from in select["fromClause"]?.array ?? [] {
      items += fromItem(from, outer: outer, visible: items, ctes: ctes, quals: &pendingQuals)
    }
    let scopes = [items] + outer
    for (quals, joinItems) in pendingQuals { expression(quals, scopes: [joinItems] + scopes, ctes: ctes) }
    for key in [
      "targetList", "whereClause", "groupClause", "havingClause", "sortClause", "distinctClause", "windowClause",
      "limitCount", "limitOffset", "valuesLists",
    ] {
      if let value = select[key] { expression(value, scopes: scopes, ctes: ctes) }
    }
  }

  /// The items of one FROM entry; join conditions are read once every item is known.
  mutating func fromItem(
    _ node: JSONValue, outer: [[Item]], visible: [Item], ctes: Set<String>, quals: inout [(JSONValue, [Item])]
  ) -> [Item] {
    if let range = node.node("RangeVar") {
      let alias = range["alias"]?["aliasname"]?.string
      let relname = range["relname"]?.string ?? ""
      if range["schemaname"] == nil, ctes.contains(relname) {
        return [Item(visibleName: alias ?? relname, relation: nil, columns: nil)]
      }
      var parts = [relname]
      if let schema = range["schemaname"]?.string { parts.insert(schema, at: 0) }
      let relation = resolve(parts)
      if found[relation] == nil { found[relation] = [] }
      return [Item(visibleName: alias ?? relname, relation: relation, columns: columnsOf(relation))]
    }
    if let join = node.node("JoinExpr") {
      let left = join["larg"].map { fromItem($0, outer: outer, visible: visible, ctes: ctes, quals: &quals) } ?? []
      let right = join["rarg"].map { fromItem($0, outer: outer, visible: visible + left, ctes: ctes, quals: &quals) } ?? []
      var using = join["usingClause"]?.names ?? []
      if join["isNatural"]?.bool == true {
        let leftColumns = Set(left.flatMap { $0.columns ?? [] })
        using = right.flatMap { $0.columns ?? [] }.filter { leftColumns.contains($0) }
      }
      for name in using {
        for item in left + right where item.columns?.contains(name) ?? false { record(name, in: item) }
      }
      if let q = join["quals"] { quals.append((q, left + right)) }
      var items = left + right
      if let alias = join["alias"]?["aliasname"]?.string {
        items.append(Item(visibleName: alias, relation: nil, columns: nil))
      }
      return items
    }
    if let sub = node.node("RangeSubselect") {
      let lateral = sub["lateral"]?.bool ?? false
      if let query = sub["subquery"]?.node("SelectStmt") {
        readSelect(query, outer: lateral ? [visible] + outer : outer, ctes: ctes)
      }
      return [Item(visibleName: sub["alias"]?["aliasname"]?.string ?? "", relation: nil, columns: nil)]
    }
    if let function = node.node("RangeFunction") {
      if let calls = function["functions"] { expression(calls, scopes: [visible] + outer, ctes: ctes) }
      return [Item(visibleName: function["alias"]?["aliasname"]?.string ?? "", relation: nil, columns: nil)]
    }
    return []
  }

  /// Walks an expression tree: column references resolve in `scopes` (innermost first);
  /// subqueries see them as outer scopes.
  mutating func expression(_ node: JSONValue, scopes: [[Item]], ctes: Set<String>) {
    switch node {
    case .array(let values):
      for value in values { expression(value, scopes: scopes, ctes: ctes) }
    case .object(let members):
      if members.count == 1, members[0].0 == "SelectStmt" {
        readSelect(members[0].1, outer: scopes, ctes: ctes)
        return
      }
      if members.count == 1, members[0].0 == "ColumnRef" {
        columnRef(members[0].1, scopes: scopes, expandStar: false)
        return
      }
      for (_, value) in members { expression(value, scopes: scopes, ctes: ctes) }
    default:
      break
    }
  }

  mutating func columnRef(_ ref: JSONValue, scopes: [[Item]], expandStar: Bool) {
    let fields = ref["fields"]?.array ?? []
    let names = fields.compactMap { $0.node("String")?["sval"]?.string }
    let star = fields.last?.node("A_Star") != nil
    if star {
      guard expandStar else { return }
      let qualifier = names.last
      for scope in scopes {
        let items = qualifier.map { q in scope.filter { $0.visibleName == q } } ?? scope
        guard !items.isEmpty else { continue }
        for item in items { for column in item.columns ?? [] { record(column, in: item) } }
        return
      }
      return
    }
    guard let column = names.last else { return }
    if names.count >= 2 {
      let qualifier = names[names.count - 2]
      let schema = names.count >= 3 ? names[names.count - 3] : nil
      for scope in scopes {
        if let item = scope.first(where: { $0.visibleName == qualifier && (schema == nil || $0.relation?.schema == schema) }) {
          record(column, in: item)
          return
        }
      }
      return
    }
    for scope in scopes {
      if let item = scope.first(where: { $0.columns?.contains(column) ?? false }) {
        record(column, in: item)
        return
      }
      // A whole-row reference by alias (`SELECT c FROM t c`) names no column.
      if scope.contains(where: { $0.visibleName == column }) { return }
      let unknown = scope.filter { $0.relation != nil && $0.columns == nil }
      if unknown.count == 1, scope.count == 1 {
        record(column, in: unknown[0])
        return
      }
    }
  }

  mutating func record(_ column: String, in item: Item) {
    guard let relation = item.relation else { return }
    found[relation, default: []].insert(column)
  }
}

/// The names of a view's output columns from its query tree, as the server names them.
enum ViewColumns {
  static func names(of query: JSONValue) -> [String]? {
    guard let select = query.node("SelectStmt") else { return nil }
    if let left = select["larg"], select["op"]?.string.map({ $0 != "SETOP_NONE" }) ?? false {
      return names(of: .object([("SelectStmt", left.node("SelectStmt") ?? left)]))
    }
    var out: [String] = []
    for target in (select["targetList"]?.array ?? []).compactMap({ $0.node("ResTarget") }) {
      if let name = target["name"]?.string {
        out.append(name)
        continue
      }
      guard let value = target["val"] else { return nil }
      if let ref = value.node("ColumnRef") {
        if ref["fields"]?.array.last?.node("A_Star") != nil { return nil }
        out.append(ref["fields"]?.names.last ?? "?column?")
      } else if let call = value.node("FuncCall") {
        out.append(call["funcname"]?.names.last ?? "?column?")
      } else {
        out.append("?column?")
      }
    }
    return out
  }
}
