import PGPhaseModel
import PGPhaseSQL

/// ALTER TABLE: columns, types, NOT NULL, constraints, partitions.
extension LintUnit {
  func checkAlterTable(_ f: JSONValue) {
    guard let table = f["relation"]?.relationName else { return }
    let isNewTable = isNew(table)
    let commands = (f["cmds"]?.array ?? []).compactMap { $0.node("AlterTableCmd") }
    // Each clause of a multi-clause ALTER TABLE is located at its own first token.
    let clauses = commands.count > 1 ? clauseStarts(count: commands.count) : []
    for (index, c) in commands.enumerated() {
      clauseStart = index < clauses.count ? clauses[index] : nil
      let subtype = c["subtype"]?.string ?? ""
      switch subtype {
      case "AT_AddColumn":
        guard let column = c["def"]?.node("ColumnDef") else { continue }
        if let name = column["colname"]?.string, let type = TypeRef(column["typeName"]) {
          schema.columns[table, default: [:]][name] = type
          if schema.domains.contains(type.name) { schema.domainTables[type.name, default: []].insert(table) }
        }
        let references = LockFacts.foreignKeyTargets(in: column).map(\.name)
        if !references.isEmpty { schema.foreignKeys[table, default: []].formUnion(references) }
        checkColumnStyle(column)
        if !isNewTable { checkAddColumn(table, column) }
      case "AT_AlterColumnType":
        guard let column = c["name"]?.string, let def = c["def"]?.node("ColumnDef"), let newType = TypeRef(def["typeName"]) else {
          continue
        }
        let oldType = schema.columns[table]?[column]
        schema.columns[table, default: [:]][column] = newType
        checkColumnStyle(def.settingName(column))
        if !isNewTable {
          checkAlterType(
            table, column, from: oldType, to: newType, using: def["raw_default"] != nil, at: def["typeName"]?.location)
        }
      case "AT_SetNotNull":
        guard let column = c["name"]?.string, !isNewTable else { continue }
        checkSetNotNull(table, column)
      case "AT_AddConstraint":
        guard let constraint = c["def"]?.node("Constraint") else { continue }
        checkAddConstraint(table, constraint, isNewTable: isNewTable)
        if constraint["contype"]?.string == "CONSTR_CHECK", constraint["skip_validation"]?.bool != true {
          schema.validatedChecks.insert(table)
        }
      case "AT_ValidateConstraint":
        guard let name = c["name"]?.string else { continue }
        schema.validatedChecks.insert(table)
        if txNotValid.contains("\(table).\(name)") {
          emit(
            .validateInSameTransaction, at: nil,
            "VALIDATE CONSTRAINT \(name) runs in the transaction that added it NOT VALID, so the scan happens under that statement's strong lock on \(table)",
            help: "COMMIT;  -- before: ALTER TABLE \(table) VALIDATE CONSTRAINT \(name);")
        }
        if let column = schema.notValidNotNullChecks["\(table).\(name)"] {
          schema.validatedNotNull.insert("\(table).\(column)")
        } else {
          schema.validatedUnknown[table, default: []].insert(name)
        }
      case "AT_DropColumn":
        let column = c["name"]?.string ?? "column"
        if inTransaction { txDroppedColumns.insert("\(table).\(column)") }
        guard !isNewTable, !contractPhase else { continue }
        let phaseNote = inPlan ? " outside the contract phase" : ""
        emit(
          .dropColumn, at: nil,
          "dropping column \(table).\(column)\(phaseNote) breaks the app version still running during the deploy",
          help:
            "Stop reading and writing \(column) in a deploy first; drop it in a later migration (a pgphase intent's contract phase)."
        )
      case "AT_AttachPartition":
        guard let partition = c["def"]?.node("PartitionCmd") else { continue }
        checkAttachPartition(table, partition)
      case "AT_DetachPartition":
        guard let partition = c["def"]?.node("PartitionCmd") else { continue }
        checkDetachPartition(table, partition)
      default: break
      }
    }
    clauseStart = nil
  }

  /// The byte offset of each top-level clause of the current ALTER TABLE statement: the tokens
  /// after `ALTER TABLE [IF EXISTS] [ONLY] name`, split at commas outside parentheses.
  func clauseStarts(count: Int) -> [Int] {
    guard let source = statementSource else { return [] }
    let text = source.text(statementStart..<statementEnd)
    guard case .success(let tokens) = SQLScanner.tokens(text) else { return [] }
    let code = tokens.filter { !$0.isComment }
    // Skip ALTER TABLE and the (possibly qualified, possibly IF EXISTS / ONLY) name: the first
    // clause starts at the first keyword after the name.
    var i = 2
    func word(_ t: SQLToken) -> String {
      String(decoding: source.bytes[(statementStart + t.range.lowerBound)..<(statementStart + t.range.upperBound)], as: UTF8.self)
        .uppercased()
    }
    while i < code.count, ["IF", "EXISTS", "ONLY"].contains(word(code[i])) { i += 1 }
    i += 1  // the name
    while i + 1 < code.count, code[i].kind == .other, word(code[i]) == "." { i += 2 }
    if i < code.count, word(code[i]) == "*" { i += 1 }
    var starts: [Int] = []
    guard i < code.count else { return [] }
    starts.append(statementStart + code[i].range.lowerBound)
    var depth = 0
    while i < code.count {
      switch code[i].kind {
      case .openParen: depth += 1
      case .closeParen: depth -= 1
      case .comma where depth == 0:
        if i + 1 < code.count { starts.append(statementStart + code[i + 1].range.lowerBound) }
      default: break
      }
      i += 1
    }
    return starts.count == count ? starts : []
  }

  func checkAddColumn(_ table: String, _ column: JSONValue) {
    let name = column["colname"]?.string ?? "column"
    let type = TypeRef(column["typeName"])
    let constraints = (column["constraints"]?.array ?? []).compactMap { $0.node("Constraint") }
    let kind = { (c: JSONValue) in c["contype"]?.string ?? "" }
    let defaultExpr = constraints.first { kind($0) == "CONSTR_DEFAULT" }?["raw_expr"]
    let typeText = type?.description ?? "<type>"
    let notNull = constraints.contains { kind($0) == "CONSTR_NOTNULL" || kind($0) == "CONSTR_PRIMARY" }

    if let generated = constraints.first(where: { kind($0) == "CONSTR_GENERATED" }) {
      emit(
        .addStoredGeneratedColumn, at: generated.location,
        "adding STORED generated column \(table).\(name) computes it for every row: the table is rewritten under ACCESS EXCLUSIVE",
        help:
          "ALTER TABLE \(table) ADD COLUMN \(name) \(typeText);  -- plain column: fill it with a trigger and a batched backfill, or compute it in a view"
      )
    }
    let serial = type.map { TypeRef.serialNames.contains($0.name) } ?? false
    let identity = constraints.first { kind($0) == "CONSTR_IDENTITY" }
    var volatile: (String, Int?)?
    if let defaultExpr { volatile = Self.volatileCall(in: defaultExpr) }
    if serial { volatile = ("nextval (\(type!.name))", column["typeName"]?.location) }
    if let identity { volatile = ("an identity sequence", identity.location) }
    if let (function, at) = volatile {
      emit(
        .addColumnRewritingDefault, at: at,
        "adding \(table).\(name) with a default from \(function) evaluates it for every row: the table is rewritten under ACCESS EXCLUSIVE",
        help: """
          ALTER TABLE \(table) ADD COLUMN \(name) \(serial ? "bigint" : typeText);  -- instant; then SET DEFAULT for new rows and backfill existing rows in batches
          """)
    } else if let defaultExpr, pgVersion < 11, !Self.isNullConstant(defaultExpr) {
      emit(
        .addColumnRewritingDefault, at: defaultExpr.node?.fields.location,
        "on PostgreSQL \(pgVersion) any non-null default on ADD COLUMN rewrites \(table) under ACCESS EXCLUSIVE (instant only from 11)",
        help:
          "ALTER TABLE \(table) ADD COLUMN \(name) \(typeText);\nALTER TABLE \(table) ALTER COLUMN \(name) SET DEFAULT <expr>;  -- then backfill existing rows in batches"
      )
    }
    let hasDefault =
      (defaultExpr.map { !Self.isNullConstant($0) } ?? false) || serial || identity != nil
      || constraints.contains { kind($0) == "CONSTR_GENERATED" }
    if notNull && !hasDefault {
      emit(
        .addColumnNotNullWithoutDefault,
        at: constraints.first { kind($0) == "CONSTR_NOTNULL" || kind($0) == "CONSTR_PRIMARY" }?.location,
        "adding NOT NULL column \(table).\(name) without a default fails as soon as \(table) has a row",
        help:
          "ALTER TABLE \(table) ADD COLUMN \(name) \(typeText) NOT NULL DEFAULT <constant>;  -- instant on PG 11+; or add it nullable, backfill, then SET NOT NULL via a validated CHECK"
      )
    }
    for c in constraints {
      switch kind(c) {
      case "CONSTR_FOREIGN":
        let target = c["pktable"]?.relationName ?? "other"
        let targetColumn = c["pk_attrs"]?.names.first.map { " (\($0))" } ?? ""
        let conname = c["conname"]?.string ?? "\(table)_\(name)_fkey"
        emit(
          .constraintMissingNotValid, at: c.location,
          "REFERENCES on a new column of \(table) validates at once, holding SHARE ROW EXCLUSIVE on \(table) and \(target) during the scan",
          help: """
            ALTER TABLE \(table) ADD COLUMN \(name) \(typeText);
            ALTER TABLE \(table) ADD CONSTRAINT \(conname) FOREIGN KEY (\(name)) REFERENCES \(target)\(targetColumn) NOT VALID;
            ALTER TABLE \(table) VALIDATE CONSTRAINT \(conname);  -- in a later transaction
            """, lock: .shareRowExclusive)
      case "CONSTR_CHECK":
        emit(
          .constraintMissingNotValid, at: c.location,
          "CHECK on a new column of \(table) scans the table under ACCESS EXCLUSIVE",
          help:
            "Add the column without the CHECK, then ADD CONSTRAINT ... CHECK (...) NOT VALID and VALIDATE it in a later transaction.",
          lock: .accessExclusive)
      case "CONSTR_UNIQUE", "CONSTR_PRIMARY":
        let what = kind(c) == "CONSTR_UNIQUE" ? "UNIQUE" : "PRIMARY KEY"
        emit(
          .uniqueWithoutUsingIndex, at: c.location, "\(what) on a new column of \(table) builds its index under ACCESS EXCLUSIVE",
          help: """
            ALTER TABLE \(table) ADD COLUMN \(name) \(typeText);
            CREATE UNIQUE INDEX CONCURRENTLY \(table)_\(name)_key ON \(table) (\(name));
            ALTER TABLE \(table) ADD CONSTRAINT \(table)_\(name)_key \(what) USING INDEX \(table)_\(name)_key;
            """)
      default: break
      }
    }
  }

  func checkAlterType(_ table: String, _ column: String, from old: TypeRef?, to new: TypeRef, using: Bool, at: Int?) {
    let alternative = """
      ALTER TABLE \(table) ADD COLUMN \(column)_new \(new);  -- expand
      -- sync writes with a trigger, backfill in batches, switch the app, then drop \(column) and rename in a later deploy
      """
    if using {
      emit(
        .columnTypeRewrite, at: at,
        "ALTER COLUMN \(table).\(column) TYPE \(new) USING ... rewrites \(table) under ACCESS EXCLUSIVE", help: alternative)
      return
    }
    if let old {
      if TypeRef.isBinaryCompatible(from: old, to: new, pgVersion: pgVersion, sessionTimeZoneUTC: sessionTimeZoneUTC) {
        return
      }
      emit(
        .columnTypeRewrite, at: at,
        "changing \(table).\(column) from \(old) to \(new) rewrites \(table) and its indexes under ACCESS EXCLUSIVE",
        help: alternative)
      return
    }
    // Old type unknown: a change to text/varchar/numeric is often binary-compatible, and so is
    // timestamp <-> timestamptz under a UTC session time zone (PostgreSQL 12+).
    let maybeCompatible =
      ["text", "varchar", "numeric", "varbit", "inet"].contains(new.name)
      || (["timestamp", "timestamptz"].contains(new.name) && sessionTimeZoneUTC && pgVersion >= 12)
    emit(
      .columnTypeRewrite, at: at,
      maybeCompatible
        ? "changing \(table).\(column) to \(new) rewrites \(table) under ACCESS EXCLUSIVE unless the old type is binary-compatible (the old type is not in the linted files)"
        : "changing \(table).\(column) to \(new) rewrites \(table) and its indexes under ACCESS EXCLUSIVE",
      help: alternative, severity: maybeCompatible ? .warning : .error)
  }

  func checkSetNotNull(_ table: String, _ column: String) {
    if pgVersion >= 12, schema.validatedNotNull.contains("\(table).\(column)") { return }
    // VALIDATE CONSTRAINT of a constraint the files never showed, named after the column
    // (`orders_status_not_null`, `status_nn`): taken as the CHECK (status IS NOT NULL) it names.
    if pgVersion >= 12, let validated = schema.validatedUnknown[table],
      validated.contains(where: { Self.constraint($0, namesNotNullOf: column) })
    {
      return
    }
    // Not `<table>_<column>_not_null`, the name PostgreSQL 18 gives the NOT NULL itself.
    let checkName = "\(table)_\(column)_not_null_check"
    if pgVersion < 12 {
      emit(
        .setNotNullWithoutCheck, at: nil,
        "SET NOT NULL on \(table).\(column) scans the whole table under ACCESS EXCLUSIVE (PostgreSQL \(pgVersion) cannot use a CHECK to skip the scan; 12+ can)",
        help: "Keep a validated CHECK (\(column) IS NOT NULL) constraint instead of SET NOT NULL until you run PostgreSQL 12+.")
      return
    }
    emit(
      .setNotNullWithoutCheck, at: nil,
      "SET NOT NULL on \(table).\(column) scans the whole table under ACCESS EXCLUSIVE: no validated CHECK (\(column) IS NOT NULL) precedes it",
      help: """
        ALTER TABLE \(table) ADD CONSTRAINT \(checkName) CHECK (\(column) IS NOT NULL) NOT VALID;
        ALTER TABLE \(table) VALIDATE CONSTRAINT \(checkName);  -- separate transaction, does not block writes
        ALTER TABLE \(table) ALTER COLUMN \(column) SET NOT NULL;  -- no scan now
        ALTER TABLE \(table) DROP CONSTRAINT \(checkName);
        """)
  }

  func checkAddConstraint(_ table: String, _ c: JSONValue, isNewTable: Bool) {
    let type = c["contype"]?.string ?? ""
    let name = c["conname"]?.string
    let notValid = c["skip_validation"]?.bool == true
    // Track CHECK (col IS NOT NULL) for SET NOT NULL.
    if type == "CONSTR_CHECK", let column = Self.notNullColumn(c["raw_expr"]) {
      if notValid {
        if let name { schema.notValidNotNullChecks["\(table).\(name)"] = column }
      } else {
        schema.validatedNotNull.insert("\(table).\(column)")
      }
    }
    if notValid, let name, inTransaction { txNotValid.insert("\(table).\(name)") }
    noteConstraintIndex(table, c, columns: c["keys"]?.names ?? [])
    if type == "CONSTR_FOREIGN", let target = c["pktable"]?.relationName { schema.foreignKeys[table, default: []].insert(target) }
    guard !isNewTable else { return }
    let conname = name ?? "\(table)_constraint"
    switch type {
    case "CONSTR_FOREIGN", "CONSTR_CHECK":
      guard !notValid else { return }
      let isFK = type == "CONSTR_FOREIGN"
      let what = isFK ? "FOREIGN KEY \(conname)" : "CHECK \(conname)"
      let lockText =
        isFK
        ? "SHARE ROW EXCLUSIVE on \(table) and \(c["pktable"]?.relationName ?? "the referenced table")"
        : "ACCESS EXCLUSIVE on \(table)"
      let original = statementText
      emit(
        .constraintMissingNotValid, at: c.location,
        "adding \(what) without NOT VALID scans \(table) while holding \(lockText)",
        help: """
          \(original) NOT VALID;
          ALTER TABLE \(table) VALIDATE CONSTRAINT \(conname);  -- in a later transaction: SHARE UPDATE EXCLUSIVE, no blocking
          """, lock: isFK ? .shareRowExclusive : .accessExclusive)
    case "CONSTR_UNIQUE", "CONSTR_PRIMARY":
      guard c["indexname"] == nil else { return }
      let what = type == "CONSTR_UNIQUE" ? "UNIQUE" : "PRIMARY KEY"
      let columns = (c["keys"]?.names ?? []).joined(separator: ", ")
      emit(
        .uniqueWithoutUsingIndex, at: c.location,
        "adding \(what) \(conname) builds its index while holding ACCESS EXCLUSIVE on \(table): reads and writes wait for the whole build",
        help: """
          CREATE UNIQUE INDEX CONCURRENTLY \(conname) ON \(table) (\(columns));
          ALTER TABLE \(table) ADD CONSTRAINT \(conname) \(what) USING INDEX \(conname);
          """)
    case "CONSTR_EXCLUSION":
      emit(
        .excludeConstraint, at: c.location,
        "adding EXCLUDE constraint \(conname) builds its index under ACCESS EXCLUSIVE on \(table); PostgreSQL has no online way to add one",
        help:
          "No safe form exists (EXCLUDE has neither NOT VALID nor USING INDEX): run it in a maintenance window, or enforce the rule with a trigger or in the application."
      )
    default: break
    }
  }

  /// `col IS NOT NULL` → `col`.
  static func notNullColumn(_ expression: JSONValue?) -> String? {
    guard let test = expression?.node("NullTest"), test["nulltesttype"]?.string == "IS_NOT_NULL",
      let column = test["arg"]?.node("ColumnRef")?["fields"]?.names.last
    else { return nil }
    return column
  }

  /// Whether a constraint's name says it is `column IS NOT NULL` (`t_col_not_null`, `col_nn`, ...).
  static func constraint(_ name: String, namesNotNullOf column: String) -> Bool {
    let lower = name.lowercased()
    guard lower.contains(column.lowercased()) else { return false }
    return ["not_null", "notnull", "_nn", "nn_", "not_nul"].contains { lower.contains($0) }
  }

  static func isNullConstant(_ expression: JSONValue) -> Bool {
    expression.node("A_Const")?["isnull"]?.bool == true
  }

  /// The first call in an expression that makes it volatile (how to name it, and its location).
  static func volatileCall(in expression: JSONValue) -> (String, Int?)? {
    guard let call = FunctionVolatility.firstVolatileCall(in: expression) else { return nil }
    let what =
      call.volatility == .unknown
      ? "\(call.name)(), a function pgphase does not know to be stable (so treated as volatile)" : "\(call.name)()"
    return (what, call.byteOffset)
  }
}
