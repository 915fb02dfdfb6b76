import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// The example schema plus enough incidents that backfills take several batches.
func seedForCrashTests(_ c: Connection) throws {
  try c.runSQLFile(schemaFile)
  try c.execute(
    """
    INSERT INTO incidents (title, status, created_at, reporter_email, impact)
    SELECT 'bulk ' || g, 'open', timestamptz '2026-01-01 00:00+00' + g * interval '1 minute',
           CASE WHEN g % 3 = 0 THEN 'User' || g || '@Example.COM' END, g % 1000
    FROM generate_series(1, 30000) g
    """)
}

/// The public schema's shape (columns, constraints, indexes with validity, triggers) and a
/// checksum of every table's rows.
func fingerprint(_ c: Connection) throws -> [String] {
  var lines: [String] = []
  lines += try c.execute(
    """
    SELECT format('%s.%s %s notnull=%s default=%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1
    """
  ).values.map { $0[0] ?? "" }
  lines += try c.execute(
    """
    SELECT format('constraint %s.%s %s validated=%s', r.relname, x.conname, pg_get_constraintdef(x.oid), x.convalidated)
    FROM pg_constraint x JOIN pg_class r ON r.oid = x.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
    WHERE n.nspname = 'public' ORDER BY 1
    """
  ).values.map { $0[0] ?? "" }
  lines += try c.execute(
    """
    SELECT format('index %s valid=%s ready=%s', pg_get_indexdef(i.indexrelid), i.indisvalid, i.indisready)
    FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_namespace n ON n.oid = x.relnamespace
    WHERE n.nspname = 'public' ORDER BY 1
    """
  ).values.map { $0[0] ?? "" }
  lines += try c.execute(
    """
    SELECT format('trigger %s %s', t.tgname, pg_get_triggerdef(t.oid)) FROM pg_trigger t
    JOIN pg_class r ON r.oid = t.tgrelid JOIN pg_namespace n ON n.oid = r.relnamespace
    WHERE n.nspname = 'public' AND NOT t.tgisinternal ORDER BY 1
    """
  ).values.map { $0[0] ?? "" }
  let tables = try c.execute(
    "SELECT quote_ident(relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1"
  ).values.compactMap { $0[0] }
  for table in tables {
    let sum = try c.execute(
      "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '-') FROM \(table) t"
    ).scalar
    lines.append("data \(table) \(sum ?? "")")
  }
  return lines
}

/// Runs pgphase and SIGKILLs it once `deadline` passes; returns whether it was killed.
func runUntil(_ arguments: [String], deadline: Date) throws -> (killed: Bool, status: Int32) {
  let process = try startPGPhase(arguments)
  while process.isRunning {
    if Date() >= deadline {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      return (true, process.terminationStatus)
    }
    Thread.sleep(forTimeInterval: 0.001)
  }
  return (false, process.terminationStatus)
}

/// Runs pgphase and SIGKILLs it the moment its stdout shows the `count`-th finished step (a
/// `... done in ...` line, printed right after the step's journal row committed): the kill lands
/// on that step boundary, before or just as the next step starts. Returns whether it was killed.
func runKilledAfterSteps(_ arguments: [String], count: Int, delay: Double = 0) throws -> Bool {
  let out = Pipe()
  let process = try startPGPhase(arguments, stdout: out)
  let handle = out.fileHandleForReading
  var buffer = Data()
  var seen = 0
  while true {
    let chunk = handle.availableData
    if chunk.isEmpty { break }
    buffer.append(chunk)
    while let newline = buffer.firstIndex(of: 10) {
      let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
      buffer.removeSubrange(buffer.startIndex...newline)
      guard line.contains(" done in ") else { continue }
      seen += 1
      if seen == count {
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return true
      }
    }
  }
  process.waitUntilExit()
  return false
}

/// Reasons the journal disagrees with the catalog: a step journaled done whose postconditions do
/// not hold now. Only `steps` are checked (a later step may legitimately undo an earlier one's
/// postcondition, e.g. contract dropping the sync trigger expand created).
func journalDisagreements(_ c: Connection, plans: [LoadedPlan], steps: Set<String>) throws -> [String] {
  let journal = try Journal.steps(intent: nil, on: c)
  var out: [String] = []
  for lp in plans {
    for step in lp.plan.allSteps where steps.contains("\(lp.plan.intent) \(step.id)") {
      guard journal[lp.plan.intent]?[step.id]?.state == .done else { continue }
      for p in step.postconditions {
        if case .violated(let reason) = try PostconditionChecker.check(p, on: c) {
          out.append("\(lp.plan.intent) \(step.id): journal says done but \(reason)")
        }
      }
    }
  }
  return out
}

/// A database seeded for crash tests, kept as a template so each kill point starts from a cheap
/// copy. Dropped when `body` returns.
func withSeededTemplate<T>(_ body: (String) throws -> T) throws -> T {
  let template = try TestDatabase.create()
  defer { try? template.drop() }
  try seedForCrashTests(template.connection)
  template.disconnect()
  return try body(template.name)
}

@Suite("Crash safety", .serialized)
struct CrashSafetyTests {
  /// SIGKILL `pgphase advance` on every step boundary of every example plan, and at moments
  /// spread inside steps, then rerun: the journal agrees with the catalog at the kill, and the
  /// rerun converges to the catalog, rows and checksums of an uninterrupted run.
  @Test(.enabled(if: TestServer.shouldRun))
  func killedRunnerRecoversToTheSameResult() throws {
    _ = try pgphaseBinary()
    let plans = try LoadedPlan.loadAll(from: plansDir)
    let order = plans.flatMap { lp in lp.plan.allSteps.map { "\(lp.plan.intent) \($0.id)" } }
    func advanceAll(_ dsn: String) throws -> RunResult {
      let r = try runPGPhase(["advance", "--to", "contract", "--dsn", dsn, plansDir])
      #expect(r.status == 0, "\(r.stderr)")
      return r
    }
    try withSeededTemplate { template in
      let (reference, uninterrupted, stepOrder) = try withTestDatabase(template: template) { db -> ([String], Double, [String]) in
        let start = Date()
        let r = try advanceAll(db.conninfo)
        let elapsed = Date().timeIntervalSince(start)
        let done = r.stdout.split(separator: "\n").filter { $0.contains(" done in ") }.map { line in
          line.split(separator: " ").prefix(2).joined(separator: " ")
        }
        return (try fingerprint(db.connection), elapsed, done)
      }
      // One process runs every step of every intent, in id order, each once.
      #expect(Set(stepOrder) == Set(order) && stepOrder.count == order.count, "\(stepOrder)")
      #expect(reference.contains { $0.hasPrefix("index ") && $0.hasSuffix("valid=t ready=t") })
      #expect(!reference.contains { $0.contains("valid=f") })

      func converge(_ db: TestDatabase, _ label: String) throws {
        _ = try advanceAll(db.conninfo)
        let result = try fingerprint(db.connection)
        #expect(
          result == reference,
          "\(label): \(zip(result, reference).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "different lengths")")
        let notDone = try db.connection.execute("SELECT count(*) FROM pgphase.steps WHERE state <> 'done'").scalarInt()
        #expect(notDone == 0, "\(label)")
        #expect(try journalDisagreements(db.connection, plans: plans, steps: [stepOrder.last!]).isEmpty, "\(label)")
      }

      // Every step boundary: killed right after step k committed.
      var boundaries = 0
      for k in 1..<stepOrder.count {
        try withTestDatabase(template: template) { db in
          let killed = try runKilledAfterSteps(["advance", "--to", "contract", "--dsn", db.conninfo, plansDir], count: k)
          #expect(killed, "boundary \(k)")
          // The kill lands within microseconds of the line; the next step may have committed
          // too. Check the step journaled done last.
          let last = try db.connection.execute(
            "SELECT intent || ' ' || step_id FROM pgphase.steps WHERE state = 'done' ORDER BY finished_at DESC LIMIT 1"
          ).scalar
          let problems = try journalDisagreements(db.connection, plans: plans, steps: [last ?? ""])
          #expect(problems.isEmpty, "killed after \(stepOrder[k - 1]), last done \(last ?? "-"): \(problems)")
          let done = try db.connection.execute("SELECT count(*) FROM pgphase.steps WHERE state = 'done'").scalarInt() ?? 0
          #expect(done >= k, "boundary \(k): only \(done) steps journaled done")
          try converge(db, "killed after \(stepOrder[k - 1])")
          boundaries += 1
        }
      }
      // Inside every non-transactional step (backfills, index builds): 20ms after the step
      // before it finished.
      let aloneSteps = Set(
        plans.flatMap { lp in lp.plan.allSteps.filter { !$0.transactional }.map { "\(lp.plan.intent) \($0.id)" } })
      var killedInside = 0
      for (k, step) in stepOrder.enumerated() where k > 0 && aloneSteps.contains(step) {
        try withTestDatabase(template: template) { db in
          let killed = try runKilledAfterSteps(
            ["advance", "--to", "contract", "--dsn", db.conninfo, plansDir], count: k, delay: 0.02)
          #expect(killed, "inside \(step)")
          if killed { killedInside += 1 }
          try converge(db, "killed inside \(step)")
        }
      }
      let timed = aloneSteps.count - (aloneSteps.contains(stepOrder[0]) ? 1 : 0)
      print(
        "crash safety: \(stepOrder.count) steps, uninterrupted \(String(format: "%.2f", uninterrupted))s; killed at \(boundaries) step boundaries and 20ms into \(killedInside)/\(timed) non-transactional steps: \(boundaries + killedInside) kill points"
      )
      #expect(boundaries == stepOrder.count - 1)
      #expect(killedInside == timed && timed >= 10)
    }
  }

  /// SIGKILL inside a long transactional step (a 200k-row table created and keyed): nothing of it is
  /// visible afterwards, the journal has no 'done' row for it, and a rerun applies it once.
  @Test(.enabled(if: TestServer.shouldRun))
  func killInsideALongTransactionalStepLeavesNothing() throws {
    try withTestDatabase { db in
      try db.connection.execute("CREATE TABLE big AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 200000) g")
      let lp = try testPlan(
        "t_long",
        [
          sqlStep(
            "expand/01-long",
            [
              "CREATE TABLE big_upper AS SELECT id, upper(body) AS upper_body FROM big",
              "ALTER TABLE big_upper ADD PRIMARY KEY (id)",
              "SELECT pg_sleep(0.5)",
            ])
        ])
      let dir = try writePlans([lp])
      defer { try? FileManager.default.removeItem(at: dir) }
      let process = try startPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, dir.path])
      // Inside the step: the UPDATE or the sleep after it is running in the step's transaction.
      try db.connection.waitUntil(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'pgphase apply%' AND state = 'active' AND (query LIKE 'CREATE TABLE big_upper%' OR query LIKE 'ALTER TABLE big_upper%' OR query LIKE 'SELECT pg_sleep%'))"
      )
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      #expect(process.terminationReason == .uncaughtSignal)
      // The server ends the orphaned transaction once it notices the client is gone.
      try db.connection.waitUntil(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'pgphase apply%' AND state <> 'idle')",
        timeout: 30)
      #expect(try db.connection.execute("SELECT to_regclass('big_upper') IS NULL").scalarBool() == true)
      let journal = try Journal.steps(intent: "t_long", on: db.connection)["t_long"] ?? [:]
      #expect(journal["expand/01-long"]?.state != .done)
      let rerun = try runPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, dir.path])
      #expect(rerun.status == 0, "\(rerun.stderr)")
      #expect(
        try db.connection.execute("SELECT count(*) FROM big JOIN big_upper USING (id) WHERE upper_body = upper(body)").scalarInt()
          == 200000)
      let after = try Journal.steps(intent: "t_long", on: db.connection)["t_long"] ?? [:]
      #expect(after["expand/01-long"]?.state == .done && after["expand/01-long"]?.attempts == 1)
    }
  }
}
