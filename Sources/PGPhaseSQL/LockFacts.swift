public import PGPhaseModel

/// A relation a statement locks, the mode, and how the statement names it.
public struct RelationLock: Hashable, Sendable, CustomStringConvertible {
  /// How the locked relation relates to the statement.
  public enum Role: String, Sendable, Hashable {
    /// The table (or view, sequence) the statement names and changes.
    case target
    /// An index the statement names. PostgreSQL also locks the index's table, which the
    /// statement does not name; a caller that knows the table adds it (same mode).
    case index
    /// A table referenced by a foreign key the statement adds.
    case referenced
    /// The partitioned parent of a partition being created, attached or detached.
    case parent
    /// A partition being attached or detached.
    case partition
  }

  public var relation: QualifiedName
  public var mode: LockMode
  public var role: Role

  public init(relation: QualifiedName, mode: LockMode, role: Role = .target) {
    self.relation = relation
    self.mode = mode
    self.role = role
  }

  public var description: String { "\(mode.rawValue) on \(relation) (\(role.rawValue))" }
}

/// The table-level locks PostgreSQL takes for each statement, as facts a test can read and check
/// against `pg_locks` on a real server (LockFactsServerTests does, on every supported version).
/// Only locks on relations the statement names are listed, plus the ones a careful reader must
/// know about: the referenced table of a foreign key, the parent of a partition. Locks that
/// depend on the catalog (a DROP INDEX's table, the default partition, a domain's tables, the
/// tables a dropped table references) are the caller's to add from what it knows.
public enum LockFacts {
  /// Every lock the first statement of `sql` takes; [] when it does not parse or locks nothing
  /// that exists before it (CREATE TABLE, SET, BEGIN, ...).
  public static func locks(of sql: String) -> [RelationLock] {
    guard case .success(let statements) = SQLParser.parse(sql), let first = statements.first else { return [] }
    return locks(of: first)
  }

  /// The strongest lock the first statement of `sql` takes, or nil.
  public static func strongestMode(of sql: String) -> LockMode? {
    locks(of: sql).map(\.mode).max()
  }

  /// Every lock a parsed statement takes.
  package static func locks(of statement: ParsedStatement) -> [RelationLock] {
    locks(type: statement.type, fields: statement.fields)
  }

  package static func locks(type: String, fields f: JSONValue) -> [RelationLock] {
    func on(_ rangeVar: JSONValue?, _ mode: LockMode, _ role: RelationLock.Role = .target) -> [RelationLock] {
      guard let name = rangeVar?.qualifiedName else { return [] }
      return [RelationLock(relation: name, mode: mode, role: role)]
    }
    func objects() -> [QualifiedName] {
      (f["objects"]?.array ?? []).compactMap { QualifiedName(parts: $0.node("List")?["items"]?.names ?? []) }
    }
    switch type {
    case "IndexStmt":
      return on(f["relation"], f["concurrent"]?.bool == true ? .shareUpdateExclusive : .share)
    case "AlterTableStmt":
      guard let table = f["relation"]?.qualifiedName else { return [] }
      let isIndex = f["objtype"]?.string == "OBJECT_INDEX"
      var result: [RelationLock] = []
      for cmd in f["cmds"]?.array ?? [] {
        guard let c = cmd.node("AlterTableCmd") else { continue }
        result += alterTableLocks(c, table: table, isIndex: isIndex)
      }
      return result
    case "RenameStmt":
      // Index renames take SHARE UPDATE EXCLUSIVE since PG 12; everything else ACCESS EXCLUSIVE.
      let isIndex = f["renameType"]?.string == "OBJECT_INDEX"
      return on(f["relation"], isIndex ? .shareUpdateExclusive : .accessExclusive, isIndex ? .index : .target)
    case "DropStmt":
      let kind = f["removeType"]?.string ?? ""
      let mode: LockMode = f["concurrent"]?.bool == true ? .shareUpdateExclusive : .accessExclusive
      switch kind {
      case "OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SEQUENCE", "OBJECT_FOREIGN_TABLE":
        return objects().map { RelationLock(relation: $0, mode: mode) }
      case "OBJECT_INDEX":
        return objects().map { RelationLock(relation: $0, mode: mode, role: .index) }
      case "OBJECT_TRIGGER", "OBJECT_RULE", "OBJECT_POLICY":
        // DROP TRIGGER t ON table: objects = [[schema?, table, trigger]]
        return (f["objects"]?.array ?? []).compactMap {
          let parts = $0.node("List")?["items"]?.names ?? []
          return QualifiedName(parts: Array(parts.dropLast())).map { RelationLock(relation: $0, mode: .accessExclusive) }
        }
      default: return []
      }
    case "TruncateStmt":
      return (f["relations"]?.array ?? []).flatMap { on($0, .accessExclusive) }
    case "LockStmt":
      let modes: [LockMode] = [
        .accessShare, .rowShare, .rowExclusive, .shareUpdateExclusive, .share, .shareRowExclusive, .exclusive, .accessExclusive,
      ]
      let raw = f["mode"]?.int ?? 8
      let mode = modes[max(1, min(8, raw)) - 1]
      return (f["relations"]?.array ?? []).flatMap { on($0, mode) }
    case "VacuumStmt":
      let full = (f["options"]?.array ?? []).contains {
        guard let option = $0.node("DefElem"), option["defname"]?.string == "full" else { return false }
        return option.defElemBool
      }
      let isVacuum = f["is_vacuumcmd"]?.bool == true
      let mode: LockMode = isVacuum && full ? .accessExclusive : .shareUpdateExclusive
      return (f["rels"]?.array ?? []).flatMap { on($0.node("VacuumRelation")?["relation"], mode) }
    case "ClusterStmt":
      return on(f["relation"], .accessExclusive)
    case "RefreshMatViewStmt":
      return on(f["relation"], f["concurrent"]?.bool == true ? .exclusive : .accessExclusive)
    case "ReindexStmt":
      let concurrent = (f["params"]?.array ?? []).contains {
        $0.node("DefElem").map { $0["defname"]?.string == "concurrently" && $0.defElemBool } ?? false
      }
      // Plain REINDEX: SHARE on the table and ACCESS EXCLUSIVE on each index, which stalls every
      // query planned on the table.
      let mode: LockMode = concurrent ? .shareUpdateExclusive : .accessExclusive
      return on(f["relation"], mode, f["kind"]?.string == "REINDEX_OBJECT_INDEX" ? .index : .target)
    case "CreateTrigStmt":
      return on(f["relation"], .shareRowExclusive)
    case "CreatePolicyStmt", "AlterPolicyStmt":
      return on(f["table"], .accessExclusive)
    case "RuleStmt":
      return on(f["relation"], .accessExclusive)
    case "CreateStmt":
      // The new table is invisible to others. A REFERENCES clause locks the referenced table, and
      // PARTITION OF locks the parent in ACCESS EXCLUSIVE (measured on 15, 17 and 18).
      var result = foreignKeyTargets(in: f).map { RelationLock(relation: $0, mode: .shareRowExclusive, role: .referenced) }
      for parent in f["inhRelations"]?.array ?? [] where f["partbound"] != nil {
        result += on(parent, .accessExclusive, .parent)
      }
      return result
    case "CommentStmt":
      let relationKinds: Set<String> = ["OBJECT_TABLE", "OBJECT_COLUMN", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_INDEX"]
      guard relationKinds.contains(f["objtype"]?.string ?? ""), let parts = f["object"]?.node("List")?["items"]?.names
      else { return [] }
      let relation = f["objtype"]?.string == "OBJECT_COLUMN" ? Array(parts.dropLast()) : parts
      return QualifiedName(parts: relation).map { [RelationLock(relation: $0, mode: .shareUpdateExclusive)] } ?? []
    case "CreateStatsStmt":
      return (f["relations"]?.array ?? []).flatMap { on($0, .shareUpdateExclusive) }
    case "UpdateStmt", "DeleteStmt", "InsertStmt", "MergeStmt":
      return on(f["relation"], .rowExclusive)
    default:
      return []
    }
  }

  /// The locks of one ALTER TABLE subcommand on `table` and on the tables it references.
  static func alterTableLocks(_ cmd: JSONValue, table: QualifiedName, isIndex: Bool) -> [RelationLock] {
    let subtype = cmd["subtype"]?.string ?? ""
    let role: RelationLock.Role = isIndex ? .index : .target
    func onTable(_ mode: LockMode) -> RelationLock { RelationLock(relation: table, mode: mode, role: role) }
    switch subtype {
    case "AT_AddConstraint":
      if let constraint = cmd["def"]?.node("Constraint"), constraint["contype"]?.string == "CONSTR_FOREIGN" {
        return [onTable(.shareRowExclusive)]
          + (constraint["pktable"]?.qualifiedName.map {
            [RelationLock(relation: $0, mode: .shareRowExclusive, role: .referenced)]
          } ?? [])
      }
      return [onTable(.accessExclusive)]
    case "AT_AddColumn":
      let referenced = cmd["def"].map { foreignKeyTargets(in: $0) } ?? []
      return [onTable(.accessExclusive)]
        + referenced.map { RelationLock(relation: $0, mode: .shareRowExclusive, role: .referenced) }
    case "AT_AttachPartition", "AT_DetachPartition":
      let partitionCommand = cmd["def"]?.node("PartitionCmd")
      let concurrent = partitionCommand?["concurrent"]?.bool == true
      // ATTACH: SHARE UPDATE EXCLUSIVE on the parent (PG 12+); DETACH: ACCESS EXCLUSIVE, or
      // SHARE UPDATE EXCLUSIVE with CONCURRENTLY (PG 14+). The partition itself: ACCESS EXCLUSIVE.
      let parentMode: LockMode = subtype == "AT_AttachPartition" || concurrent ? .shareUpdateExclusive : .accessExclusive
      var result = [RelationLock(relation: table, mode: parentMode, role: .parent)]
      if let partition = partitionCommand?["name"]?.qualifiedName {
        result.append(
          RelationLock(relation: partition, mode: concurrent ? .shareUpdateExclusive : .accessExclusive, role: .partition))
      }
      return result
    case "AT_ValidateConstraint", "AT_SetStatistics", "AT_SetOptions", "AT_ResetOptions", "AT_ClusterOn",
      "AT_DropCluster", "AT_DetachPartitionFinalize", "AT_SetRelOptions", "AT_ResetRelOptions":
      return [onTable(.shareUpdateExclusive)]
    case "AT_EnableTrig", "AT_EnableAlwaysTrig", "AT_EnableReplicaTrig", "AT_DisableTrig", "AT_EnableTrigAll",
      "AT_DisableTrigAll", "AT_EnableTrigUser", "AT_DisableTrigUser":
      return [onTable(.shareRowExclusive)]
    case "AT_AddInherit":
      return [onTable(.accessExclusive)]
        + (cmd["def"]?.qualifiedName.map { [RelationLock(relation: $0, mode: .shareUpdateExclusive, role: .parent)] } ?? [])
    default:
      return [onTable(.accessExclusive)]
    }
  }

  /// Tables referenced by the REFERENCES clauses of a CREATE TABLE (its fields) or of a column
  /// definition (wrapped in `{"ColumnDef": ...}` or not), in the order they are written. The
  /// grammar puts a foreign key only in a column's constraints or among the table's elements
  /// (columns, table constraints, PARTITION OF / OF type column options), so only those are
  /// read: walking the whole tree (every default, type and name) was the most costly rule work
  /// on real migrations under `perf`.
  package static func foreignKeyTargets(in node: JSONValue) -> [QualifiedName] {
    var targets: [QualifiedName] = []
    func constraint(_ value: JSONValue) {
      if let c = value.node("Constraint"), c["contype"]?.string == "CONSTR_FOREIGN", let table = c["pktable"]?.qualifiedName {
        targets.append(table)
      }
    }
    func column(_ fields: JSONValue) {
      for c in fields["constraints"]?.array ?? [] { constraint(c) }
    }
    if let def = node.node("ColumnDef") {
      column(def)
      return targets
    }
    for element in node["tableElts"]?.array ?? [] {
      if let def = element.node("ColumnDef") { column(def) } else { constraint(element) }
    }
    column(node)
    return targets
  }
}
