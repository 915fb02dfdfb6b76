public import PGPhaseModel

/// A relation a statement locks and the mode, as PostgreSQL 15 takes it.
struct StatementLock: Hashable, Sendable {
  var relation: String
  var mode: LockMode
}

extension Linter {
  /// The strongest table-level lock `sql` (one statement) takes, or nil when it locks no existing
  /// relation (CREATE TABLE, SET, BEGIN, ...). Checked on PostgreSQL 15 with
  /// `BEGIN; stmt; SELECT mode FROM pg_locks WHERE relation = 't'::regclass;`.
  public static func lockMode(of sql: String) -> LockMode? {
    guard case .success(let statements) = PGQuery.parse(SQLSource(file: "", text: sql)), let first = statements.first else {
      return nil
    }
    return locks(of: first).map(\.mode).max()
  }

  /// Every relation a statement locks, with the mode.
  static func locks(of statement: ParsedStatement) -> [StatementLock] {
    let f = statement.fields
    func on(_ rangeVar: JSONValue?, _ mode: LockMode) -> [StatementLock] {
      guard let name = rangeVar?.relationName else { return [] }
      return [StatementLock(relation: name, mode: mode)]
    }
    switch statement.type {
    case "IndexStmt":
      return on(f["relation"], f["concurrent"]?.bool == true ? .shareUpdateExclusive : .share)
    case "AlterTableStmt":
      guard let table = f["relation"]?.relationName else { return [] }
      var result: [StatementLock] = []
      let isIndex = f["objtype"]?.string == "OBJECT_INDEX"
      for cmd in f["cmds"]?.array ?? [] {
        guard let c = cmd.node("AlterTableCmd") else { continue }
        let (mode, referenced) = alterTableLock(c, isIndex: isIndex)
        result.append(StatementLock(relation: table, mode: mode))
        if let referenced { result.append(StatementLock(relation: referenced, mode: .shareRowExclusive)) }
      }
      return result
    case "RenameStmt":
      // Index renames take SHARE UPDATE EXCLUSIVE since PG 12; everything else ACCESS EXCLUSIVE.
      let mode: LockMode = f["renameType"]?.string == "OBJECT_INDEX" ? .shareUpdateExclusive : .accessExclusive
      return on(f["relation"], mode)
    case "DropStmt":
      let type = f["removeType"]?.string ?? ""
      let relationTypes: Set<String> = [
        "OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SEQUENCE", "OBJECT_FOREIGN_TABLE",
      ]
      guard relationTypes.contains(type) else {
        if type == "OBJECT_TRIGGER" || type == "OBJECT_RULE" || type == "OBJECT_POLICY" {
          // DROP TRIGGER t ON table: objects = [[table..., trigger]]
          return (f["objects"]?.array ?? []).compactMap {
            let parts = $0.node("List")?["items"]?.names ?? []
            return parts.count >= 2 ? StatementLock(relation: parts[parts.count - 2], mode: .accessExclusive) : nil
          }
        }
        return []
      }
      let mode: LockMode = f["concurrent"]?.bool == true ? .shareUpdateExclusive : .accessExclusive
      return (f["objects"]?.array ?? []).compactMap {
        ($0.node("List")?["items"]?.names.last).map { StatementLock(relation: $0, mode: mode) }
      }
    case "TruncateStmt":
      return (f["relations"]?.array ?? []).compactMap {
        $0.node("RangeVar")?.relationName.map { StatementLock(relation: $0, mode: .accessExclusive) }
      }
    case "LockStmt":
      let modes: [LockMode] = [
        .accessShare, .rowShare, .rowExclusive, .shareUpdateExclusive, .share, .shareRowExclusive, .exclusive, .accessExclusive,
      ]
      let raw = f["mode"]?.int ?? 8
      let mode = modes[max(1, min(8, raw)) - 1]
      return (f["relations"]?.array ?? []).compactMap {
        $0.node("RangeVar")?.relationName.map { StatementLock(relation: $0, mode: mode) }
      }
    case "VacuumStmt":
      let options = (f["options"]?.array ?? []).compactMap { $0.node("DefElem")?["defname"]?.string }
      let isVacuum = f["is_vacuumcmd"]?.bool == true
      let mode: LockMode = isVacuum && options.contains("full") ? .accessExclusive : .shareUpdateExclusive
      return (f["rels"]?.array ?? []).flatMap { on($0.node("VacuumRelation")?["relation"], mode) }
    case "ClusterStmt":
      return on(f["relation"], .accessExclusive)
    case "RefreshMatViewStmt":
      return on(f["relation"], f["concurrent"]?.bool == true ? .exclusive : .accessExclusive)
    case "ReindexStmt":
      let concurrent = (f["params"]?.array ?? []).contains { $0.node("DefElem")?["defname"]?.string == "concurrently" }
      // Plain REINDEX: SHARE on the table and ACCESS EXCLUSIVE on each index, which stalls
      // every query planned on the table.
      return on(f["relation"], concurrent ? .shareUpdateExclusive : .accessExclusive)
    case "CreateTrigStmt":
      return on(f["relation"], .shareRowExclusive)
    case "CreateStmt":
      // The new table is invisible to others; a REFERENCES clause locks the referenced table.
      return foreignKeyTargets(in: f).map { StatementLock(relation: $0, mode: .shareRowExclusive) }
    case "UpdateStmt", "DeleteStmt", "InsertStmt", "MergeStmt":
      return on(f["relation"], .rowExclusive)
    case "CommentStmt":
      // COMMENT ON TABLE/COLUMN/INDEX/VIEW/...: SHARE UPDATE EXCLUSIVE on the relation (measured on
      // 15, 17 and 18 by the lock-truth suite); the object is [schema.]relation[.column].
      let relationTypes: [String: Int] = [
        "OBJECT_TABLE": 0, "OBJECT_INDEX": 0, "OBJECT_VIEW": 0, "OBJECT_MATVIEW": 0, "OBJECT_SEQUENCE": 0,
        "OBJECT_FOREIGN_TABLE": 0, "OBJECT_COLUMN": 1,
      ]
      guard let drop = relationTypes[f["objtype"]?.string ?? ""],
        let parts = f["object"]?.node("List")?["items"]?.names, parts.count > drop, let name = parts.dropLast(drop).last
      else { return [] }
      return [StatementLock(relation: name, mode: .shareUpdateExclusive)]
    case "CreateStatsStmt":
      return []
    default:
      return []
    }
  }

  /// The lock of one ALTER TABLE subcommand, and a table it references (foreign keys lock both).
  static func alterTableLock(_ cmd: JSONValue, isIndex: Bool) -> (LockMode, String?) {
    let subtype = cmd["subtype"]?.string ?? ""
    switch subtype {
    case "AT_AddConstraint":
      if let constraint = cmd["def"]?.node("Constraint"), constraint["contype"]?.string == "CONSTR_FOREIGN" {
        return (.shareRowExclusive, constraint["pktable"]?.relationName)
      }
      return (.accessExclusive, nil)
    case "AT_AddColumn":
      let referenced = cmd["def"].map { foreignKeyTargets(in: $0).first } ?? nil
      return (.accessExclusive, referenced)
    case "AT_ValidateConstraint", "AT_SetStatistics", "AT_SetOptions", "AT_ResetOptions", "AT_ClusterOn",
      "AT_DropCluster", "AT_AttachPartition", "AT_DetachPartitionFinalize", "AT_SetRelOptions", "AT_ResetRelOptions":
      return (.shareUpdateExclusive, nil)
    case "AT_DetachPartition":
      let concurrent = cmd["def"]?.node("PartitionCmd")?["concurrent"]?.bool == true
      return (concurrent ? .shareUpdateExclusive : .accessExclusive, nil)
    case "AT_EnableTrig", "AT_EnableAlwaysTrig", "AT_EnableReplicaTrig", "AT_DisableTrig", "AT_EnableTrigAll",
      "AT_DisableTrigAll", "AT_EnableTrigUser", "AT_DisableTrigUser":
      return (.shareRowExclusive, nil)
    default:
      return (.accessExclusive, nil)
    }
  }

  /// Tables referenced by REFERENCES clauses anywhere in a CREATE TABLE or column definition.
  static func foreignKeyTargets(in node: JSONValue) -> [String] {
    var targets: [String] = []
    node.walk { value in
      if let c = value.node("Constraint"), c["contype"]?.string == "CONSTR_FOREIGN", let t = c["pktable"]?.relationName {
        targets.append(t)
      }
    }
    return targets
  }
}
