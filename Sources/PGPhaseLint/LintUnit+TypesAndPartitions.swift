import PGPhaseModel
import PGPhaseSQL

/// Domains, enums and partitions: DDL whose cost depends on other tables than the one named.
extension LintUnit {
  // MARK: domains

  func checkCreateDomain(_ f: JSONValue) {
    guard let name = f["domainname"]?.names.last else { return }
    schema.domains.insert(name)
    let checks = (f["constraints"]?.array ?? []).compactMap { $0.node("Constraint") }.filter {
      $0["contype"]?.string == "CONSTR_CHECK"
    }
    guard let check = checks.first else { return }
    emit(
      .createDomainWithCheck, at: check.location,
      "domain \(name) has a CHECK: every column of type \(name) is bound to it, and changing it later (ALTER DOMAIN ... ADD CONSTRAINT) scans every such column under a SHARE lock on each of their tables",
      help: "CREATE DOMAIN \(name) AS <type>;  -- and put the CHECK on each table's column, where it can be added NOT VALID")
  }

  func checkAlterDomain(_ f: JSONValue) {
    guard let domain = f["typeName"]?.names.last else { return }
    let subtype = f["subtype"]?.string ?? ""
    // C: ADD CONSTRAINT; O: SET NOT NULL (libpg_query's codes). Both check every value of every
    // column of the domain.
    guard subtype == "C" || subtype == "O" else { return }
    let constraint = f["def"]?.node("Constraint")
    if constraint?["skip_validation"]?.bool == true { return }
    let tables = (schema.domainTables[domain] ?? []).sorted()
    let which = tables.isEmpty ? "every table with a column of type \(domain)" : tables.joined(separator: ", ")
    let what = subtype == "O" ? "SET NOT NULL" : "ADD CONSTRAINT"
    let conname = constraint?["conname"]?.string ?? "\(domain)_check"
    emit(
      .alterDomainAddConstraint, at: constraint?.location,
      "ALTER DOMAIN \(domain) \(what) checks every column of type \(domain), holding SHARE (blocking writes) on \(which) during the scan",
      help: subtype == "O"
        ? "Add CHECK (col IS NOT NULL) NOT VALID on each table's column instead, and VALIDATE it in a later transaction."
        : "ALTER DOMAIN \(domain) ADD CONSTRAINT \(conname) CHECK (...) NOT VALID;  -- new values only\nALTER DOMAIN \(domain) VALIDATE CONSTRAINT \(conname);  -- later; still scans, but under SHARE UPDATE EXCLUSIVE",
      lock: .share)
  }

  // MARK: enums

  func checkCreateEnum(_ f: JSONValue) {
    guard let name = f["typeName"]?.names.last else { return }
    schema.enums[name] = (f["vals"]?.array ?? []).compactMap { $0.node("String")?["sval"]?.string }
  }

  func checkAlterEnum(_ f: JSONValue) {
    guard let type = f["typeName"]?.names.last, f["oldVal"] == nil, let value = f["newVal"]?.string else { return }
    if inTransaction, pgVersion < 12 {
      emit(
        .enumAddValueInTransaction, at: nil,
        "ALTER TYPE \(type) ADD VALUE cannot run inside a transaction block on PostgreSQL \(pgVersion) (allowed from 12)",
        help: "COMMIT;  -- first, then ALTER TYPE \(type) ADD VALUE '\(value)'; alone")
    }
    defer {
      if var values = schema.enums[type], !values.contains(value) {
        if let neighbor = f["newValNeighbor"]?.string, let i = values.firstIndex(of: neighbor) {
          values.insert(value, at: f["newValIsAfter"]?.bool == true ? i + 1 : i)
        } else {
          values.append(value)
        }
        schema.enums[type] = values
      }
    }
    guard let neighbor = f["newValNeighbor"]?.string else { return }
    let after = f["newValIsAfter"]?.bool == true
    if after, let values = schema.enums[type], values.last == neighbor { return }
    emit(
      .enumValueNotAtEnd, at: nil,
      "ADD VALUE '\(value)' \(after ? "AFTER" : "BEFORE") '\(neighbor)' puts the new value inside \(type)'s sort order: ORDER BY, <, > and indexes on \(type) columns order existing values around it, which an app that relies on the order may not expect",
      help: "ALTER TYPE \(type) ADD VALUE '\(value)';  -- at the end, if the order does not matter to the app")
  }

  // MARK: partitions

  /// CREATE TABLE ... PARTITION OF, and ATTACH PARTITION: with a default partition, PostgreSQL
  /// scans it (under ACCESS EXCLUSIVE) for rows that now belong to the new partition.
  func checkNewPartition(_ partition: String, of parent: String, isDefault: Bool, attaching: Bool) {
    if isDefault {
      schema.defaultPartitions[parent] = partition
      return
    }
    guard let defaultPartition = schema.defaultPartitions[parent], !isNew(defaultPartition) else { return }
    emit(
      .defaultPartitionScan, at: nil,
      "\(attaching ? "attaching" : "creating") partition \(partition) of \(parent) scans the default partition \(defaultPartition) for rows that belong to it, under ACCESS EXCLUSIVE on \(defaultPartition) (and \(attaching ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE") on \(parent))",
      help:
        "ALTER TABLE \(defaultPartition) ADD CONSTRAINT \(defaultPartition)_excludes CHECK (NOT (<the new partition's bound>)) NOT VALID;\nALTER TABLE \(defaultPartition) VALIDATE CONSTRAINT \(defaultPartition)_excludes;  -- then the scan is skipped",
      lock: .accessExclusive)
  }

  func checkAttachPartition(_ parent: String, _ command: JSONValue) {
    guard let partition = command["name"]?.relationName else { return }
    let isDefault = command["bound"]?["is_default"]?.bool == true
    checkNewPartition(partition, of: parent, isDefault: isDefault, attaching: true)
    guard !isNew(partition), !schema.validatedChecks.contains(partition) else { return }
    emit(
      .attachPartitionScan, at: nil,
      "ATTACH PARTITION \(partition) scans \(partition) under ACCESS EXCLUSIVE to prove every row fits the partition bound, unless a validated CHECK constraint on \(partition) already implies it",
      help: """
        ALTER TABLE \(partition) ADD CONSTRAINT \(partition)_bound CHECK (<the partition bound as a condition>) NOT VALID;
        ALTER TABLE \(partition) VALIDATE CONSTRAINT \(partition)_bound;  -- SHARE UPDATE EXCLUSIVE: no blocking
        \(statementText);  -- no scan now
        """, lock: .accessExclusive)
  }

  func checkDetachPartition(_ parent: String, _ command: JSONValue) {
    let partition = command["name"]?.relationName ?? "the partition"
    if schema.defaultPartitions[parent] == partition { schema.defaultPartitions[parent] = nil }
    if command["concurrent"]?.bool == true {
      checkNotInTransaction("DETACH PARTITION ... CONCURRENTLY")
      return
    }
    guard pgVersion >= 14, !isNew(parent) else { return }
    emit(
      .detachPartitionWithoutConcurrently, at: nil,
      "DETACH PARTITION \(partition) without CONCURRENTLY takes ACCESS EXCLUSIVE on \(parent): every query on the partitioned table waits",
      help:
        "ALTER TABLE \(parent) DETACH PARTITION \(partition) CONCURRENTLY;  -- PostgreSQL 14+, alone, outside a transaction block"
    )
  }

  // MARK: DO blocks

  /// A DO block's statements run in one transaction, as if written there: they are checked like
  /// the file's own, at the block's line for each. `EXECUTE` builds its statement at run time,
  /// which no static check can see.
  func checkDoBlock(_ f: JSONValue) {
    let options = (f["args"]?.array ?? []).compactMap { $0.node("DefElem") }
    let language = options.first { $0["defname"]?.string == "language" }?["arg"]?.node("String")?["sval"]?.string ?? "plpgsql"
    guard language.lowercased() == "plpgsql",
      let body = options.first(where: { $0["defname"]?.string == "as" })?["arg"]?.node("String")?["sval"]?.string
    else { return }
    let outerSource = statementSource
    let outerStart = statementStart
    let outerEnd = statementEnd
    let outerLocation = location(of: nil)
    let bodyLine = doBodyLine() ?? outerLocation.line
    func at(_ line: Int) -> SourceLocation {
      SourceLocation(file: outerLocation.file, line: bodyLine + line - 1, column: line == 1 ? outerLocation.column : 1)
    }
    guard let statements = SQLParser.plpgsqlStatements(body: body) else {
      emit(
        .dynamicSQLInDoBlock, at: nil,
        "pgphase cannot read this DO block as PL/pgSQL, so the statements it runs are not checked",
        help: "Move the DDL out of the DO block into plain statements.")
      return
    }
    let opened = !inTransaction
    if opened { begin(implicit: true) }
    defer {
      fixedLocation = nil
      statementSource = outerSource
      statementStart = outerStart
      statementEnd = outerEnd
      if opened { end() }
    }
    for statement in statements {
      fixedLocation = at(statement.line)
      if statement.isDynamic {
        emit(
          .dynamicSQLInDoBlock, at: nil,
          "EXECUTE in a DO block runs SQL built at run time (\(statement.sql.prefix(80))): pgphase cannot check what it locks or rewrites",
          help: "Write the statement out in the migration, or check it with `pgphase lint --trace`.")
        continue
      }
      guard case .success(let parsed) = SQLParser.parse(statement.sql) else { continue }
      let inner = SQLSource(file: outerLocation.file, text: statement.sql)
      for p in parsed {
        statementSource = inner
        statementStart = p.start
        statementEnd = p.end
        check(type: p.type, fields: p.fields)
      }
    }
  }

  /// The line where the current DO statement's body string starts.
  private func doBodyLine() -> Int? {
    guard let source = statementSource else { return nil }
    let text = source.text(statementStart..<statementEnd)
    guard case .success(let tokens) = SQLScanner.tokens(text), let body = tokens.first(where: { $0.kind == .string }) else {
      return nil
    }
    return source.line(ofByte: statementStart + body.range.lowerBound)
  }
}
