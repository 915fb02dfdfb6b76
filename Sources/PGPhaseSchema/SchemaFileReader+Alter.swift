import PGPhaseModel
import PGPhaseSQL

extension Reader {
  /// The byte ranges of an ALTER statement's comma-separated subcommands, in order, found after
  /// the relation name that starts at `nameOffset`.
  func subcommandRanges(afterNameAt nameOffset: Int) -> [Range<Int>] {
    var i = s.token(atOrAfter: nameOffset) + 1
    while s.isSymbol(i, "."), i + 1 < s.tokens.count { i += 2 }
    guard i < s.tokens.count, s.tokens[i].range.lowerBound < statement.end else { return [] }
    var ranges: [Range<Int>] = []
    var start = s.tokens[i].range.lowerBound
    var depth = 0
    while i < s.tokens.count, s.tokens[i].range.lowerBound < statement.end {
      if depth == 0, s.tokens[i].kind == .comma {
        ranges.append(start..<s.tokens[i].range.lowerBound)
        start = s.tokens[i].range.upperBound
      }
      depth += s.depthChange(i)
      i += 1
    }
    ranges.append(start..<statement.end)
    return ranges
  }

  mutating func readAlterTable(_ f: JSONValue) {
    guard let relation = f["relation"] else { return }
    let cmds = (f["cmds"]?.array ?? []).compactMap { $0.node("AlterTableCmd") }
    // Owners only: nothing a snapshot holds.
    if cmds.allSatisfy({ $0["subtype"]?.string == "AT_ChangeOwner" }) { return }
    let name = resolvingRelation(relation)
    if Self.isJournal(name) { return }
    let rel = relation.node("RangeVar") ?? relation
    let ranges = subcommandRanges(afterNameAt: rel.location ?? statement.start)
    if f["objtype"]?.string == "OBJECT_INDEX" {
      for (cmd, range) in zip(cmds, ranges) { alterIndex(name, cmd, range) }
      return
    }
    if var view = snapshot.views[name] {
      for cmd in cmds {
        switch cmd["subtype"]?.string {
        case "AT_ChangeOwner": break
        case "AT_SetRelOptions": view.options = merge(view.options, Self.settings(cmd["def"]))
        case "AT_EnableTrig", "AT_DisableTrig", "AT_EnableAlwaysTrig", "AT_EnableReplicaTrig":
          setTriggerState(cmd, in: &view.triggers, of: name)
        default: error("ALTER of a view: this subcommand cannot be read in a schema file")
        }
      }
      snapshot.views.insert(view)
      return
    }
    guard var table = snapshot.tables[name] else {
      if snapshot.sequences.contains(name) { return }  // ALTER TABLE seq OWNER TO (older pg_dump)
      if f["missing_ok"]?.bool != true { error("\(name) is altered but the file has not created it") }
      return
    }
    for (index, cmd) in cmds.enumerated() {
      let range = index < ranges.count ? ranges[index] : statement.start..<statement.end
      alterTable(&table, cmd, range)
    }
    snapshot.tables.insert(table)
  }

  mutating func alterTable(_ table: inout S.Table, _ cmd: JSONValue, _ range: Range<Int>) {
    let column = cmd["name"]?.string ?? ""
    func requireColumn() -> Bool {
      if table.column(column) != nil { return true }
      error("column \(SQL.quoteIdentifier(column)) of \(table.name) is not in the file", at: range.lowerBound)
      return false
    }
    switch cmd["subtype"]?.string {
    case "AT_ChangeOwner", "AT_SetTableSpace", "AT_SetAccessMethod":
      break
    case "AT_AddColumn":
      guard let def = cmd["def"]?.node("ColumnDef") else { return }
      if table.column(def["colname"]?.string ?? "") != nil, cmd["missing_ok"]?.bool == true { return }
      addColumn(def, to: &table, end: range.upperBound)
    case "AT_DropColumn":
      guard table.column(column) != nil else {
        if cmd["missing_ok"]?.bool != true { _ = requireColumn() }
        return
      }
      table.columns.removeAll { $0.name == column }
      for c in table.constraints where c.columns.contains(column) { table.constraints.remove(c.name) }
      for i in table.indexes where i.columns.contains(column) { table.indexes.remove(i.name) }
    case "AT_AddConstraint":
      guard let c = cmd["def"]?.node("Constraint") else { return }
      addConstraint(c, to: &table, end: range.upperBound)
    case "AT_DropConstraint":
      if table.constraints.remove(column) == nil, cmd["missing_ok"]?.bool != true {
        error("constraint \(SQL.quoteIdentifier(column)) of \(table.name) is not in the file", at: range.lowerBound)
      }
    case "AT_ValidateConstraint":
      guard var c = table.constraints[column] else { return }
      c.validated = true
      if c.definition.hasSuffix(" NOT VALID") { c.definition.removeLast(" NOT VALID".count) }
      table.constraints.insert(c)
    case "AT_ColumnDefault":
      guard requireColumn() else { return }
      let keyword = s.firstTopLevel(from: s.token(atOrAfter: range.lowerBound), limit: range.upperBound) {
        s.isWord($0, "DEFAULT")
      }
      let text = keyword.map { s.spanText(s.tokens[$0].range.upperBound..<range.upperBound) }
      table.updateColumn(column) { $0.defaultExpression = cmd["def"] == nil ? nil : text }
    case "AT_SetNotNull":
      guard requireColumn() else { return }
      let tableName = table.name.name
      table.updateColumn(column) { c in
        if c.notNull == nil { c.notNull = .init(name: S.NotNull.defaultName(table: tableName, column: column)) }
      }
    case "AT_DropNotNull":
      guard requireColumn() else { return }
      table.updateColumn(column) { $0.notNull = nil }
    case "AT_AddIdentity":
      guard requireColumn(), let c = cmd["def"]?.node("Constraint") else { return }
      let type = table.column(column)?.type ?? "integer"
      let identity = identity(c, column: column, table: table.name, type: type)
      let tableName = table.name.name
      table.updateColumn(column) { col in
        col.identity = identity
        if col.notNull == nil { col.notNull = .init(name: S.NotNull.defaultName(table: tableName, column: column)) }
      }
    case "AT_DropIdentity":
      table.updateColumn(column) { $0.identity = nil }
    case "AT_AlterColumnType":
      guard requireColumn(), let def = cmd["def"]?.node("ColumnDef"), let typeName = def["typeName"] else { return }
      let type = typeText(typeName, within: range, def: nil)
      table.updateColumn(column) { $0.type = type }
    case "AT_ReplicaIdentity":
      let spec = cmd["def"]?.node("ReplicaIdentityStmt")
      switch spec?["identity_type"]?.string {
      case "f": table.replicaIdentity = .full
      case "n": table.replicaIdentity = .nothing
      case "i": table.replicaIdentity = .index(spec?["name"]?.string ?? "")
      default: table.replicaIdentity = .default
      }
    case "AT_EnableTrig", "AT_DisableTrig", "AT_EnableAlwaysTrig", "AT_EnableReplicaTrig":
      setTriggerState(cmd, in: &table.triggers, of: table.name)
    case "AT_AttachPartition":
      guard let part = cmd["def"]?.node("PartitionCmd"), let childVar = part["name"] else { return }
      let child = resolvingRelation(childVar)
      guard var childTable = snapshot.tables[child] else {
        error("partition \(child) is attached but the file has not created it", at: range.lowerBound)
        return
      }
      let nameEnd = s.token(atOrAfter: childVar.location ?? range.lowerBound)
      childTable.partitionOf = .init(
        parent: table.name,
        bound: partitionBound(from: s.tokens[min(nameEnd, s.tokens.count - 1)].range.upperBound, limit: range.upperBound))
      snapshot.tables.insert(childTable)
    case "AT_SetRelOptions":
      table.options = merge(table.options, Self.settings(cmd["def"]))
    case "AT_ResetRelOptions":
      let names = Set(Self.settings(cmd["def"]).map(\.name))
      table.options.removeAll { names.contains($0.name) }
    case "AT_SetLogged": table.unlogged = false
    case "AT_SetUnLogged": table.unlogged = true
    case "AT_ClusterOn", "AT_DropCluster":
      warn("CLUSTER ON is left out of a schema snapshot", at: range.lowerBound)
    case "AT_SetStatistics", "AT_SetStorage", "AT_SetCompression", "AT_SetOptions", "AT_ResetOptions":
      warn("column storage, compression and statistics settings are left out of a schema snapshot", at: range.lowerBound)
    case "AT_EnableRowSecurity", "AT_DisableRowSecurity", "AT_ForceRowSecurity", "AT_NoForceRowSecurity":
      warn("row level security is left out of a schema snapshot", at: range.lowerBound)
    case "AT_AddInherit", "AT_DropInherit":
      warn("table inheritance is left out of a schema snapshot", at: range.lowerBound)
    case let other:
      error("ALTER TABLE: \(Self.subcommandWords(other)) cannot be read in a schema file", at: range.lowerBound)
    }
  }

  /// `AT_EnableAlwaysTrig` as `enable always trig`.
  static func subcommandWords(_ subtype: String?) -> String {
    guard let subtype else { return "this subcommand" }
    return words(subtype.replacing("AT_", with: "") + "Stmt").lowercased()
  }

  func merge(_ old: [S.Setting], _ new: [S.Setting]) -> [S.Setting] {
    var out = old
    for setting in new {
      if let i = out.firstIndex(where: { $0.name == setting.name }) { out[i] = setting } else { out.append(setting) }
    }
    return out
  }

  mutating func setTriggerState(_ cmd: JSONValue, in triggers: inout SchemaObjectMap<S.Trigger>, of relation: QualifiedName) {
    let name = cmd["name"]?.string ?? ""
    guard var trigger = triggers[name] else {
      warn(
        "trigger \(SQL.quoteIdentifier(name)) on \(relation) is not in the file (ENABLE/DISABLE of all or system triggers is left out)"
      )
      return
    }
    switch cmd["subtype"]?.string {
    case "AT_DisableTrig": trigger.enabled = .disabled
    case "AT_EnableAlwaysTrig": trigger.enabled = .always
    case "AT_EnableReplicaTrig": trigger.enabled = .replica
    default: trigger.enabled = .origin
    }
    triggers.insert(trigger)
  }

  /// `ALTER INDEX parent ATTACH PARTITION child`.
  mutating func alterIndex(_ parent: QualifiedName, _ cmd: JSONValue, _ range: Range<Int>) {
    switch cmd["subtype"]?.string {
    case "AT_AttachPartition":
      guard let childVar = cmd["def"]?.node("PartitionCmd")?["name"] else { return }
      let parts = [childVar["schemaname"]?.string, childVar["relname"]?.string].compactMap { $0 }
      let child = resolving(parts) { indexOwners[$0] != nil }
      let parentIndex = resolving([parent.schema, parent.name].compactMap { $0 }) { indexOwners[$0] != nil }
      guard let table = indexOwners[child], var owner = snapshot.tables[table] else {
        error("index \(child) is attached but the file has not created it", at: range.lowerBound)
        return
      }
      if var index = owner.indexes[child.name] {
        index.partitionOf = parentIndex
        owner.indexes.insert(index)
      } else if var key = owner.constraints[child.name] {
        key.partitionOf = parentIndex
        owner.constraints.insert(key)
      }
      snapshot.tables.insert(owner)
    case "AT_ChangeOwner", "AT_SetTableSpace": break
    case "AT_SetRelOptions":
      guard let table = indexOwners[parent], var owner = snapshot.tables[table], var index = owner.indexes[parent.name] else {
        return
      }
      index.options = merge(index.options, Self.settings(cmd["def"]))
      owner.indexes.insert(index)
      snapshot.tables.insert(owner)
    default:
      error("ALTER INDEX: \(Self.subcommandWords(cmd["subtype"]?.string)) cannot be read in a schema file", at: range.lowerBound)
    }
  }
}
