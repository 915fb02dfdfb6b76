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
  let process = Process()
  process.executableURL = URL(fileURLWithPath: try pgphaseBinary())
  process.arguments = arguments
  process.standardOutput = FileHandle.nullDevice
  process.standardError = FileHandle.nullDevice
  try process.run()
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

@Suite("Crash safety", .serialized)
struct CrashSafetyTests {
  /// (e) SIGKILL a runner at a spread of moments, rerun to completion, and compare the final
  /// catalog and data with an uninterrupted run.
  @Test(.enabled(if: TestServer.shouldRun))
  func killedRunnerRecoversToTheSameResult() throws {
    _ = try pgphaseBinary()
    let intentArgs = concurrentIntents.flatMap { ["--intent", $0] }
    let phases = ["expand", "backfill", "contract"]
    func applyAll(_ dsn: String) throws {
      for phase in phases {
        let r = try runPGPhase(["apply", "--phase", phase, "--dsn", dsn] + intentArgs + [plansDir])
        #expect(r.status == 0, "\(phase): \(r.stderr)")
      }
    }
    let (reference, uninterrupted) = try withTestDatabase { db -> ([String], Double) in
      try seedForCrashTests(db.connection)
      let start = Date()
      try applyAll(db.conninfo)
      return (try fingerprint(db.connection), Date().timeIntervalSince(start))
    }
    #expect(reference.contains { $0.hasPrefix("index ") && $0.hasSuffix("valid=t ready=t") })
    #expect(!reference.contains { $0.contains("valid=f") })
    // Kill points spread over the uninterrupted run's duration (plus process start-up).
    let points = 24
    var killed = 0
    for i in 0..<points {
      let delay = uninterrupted * Double(i + 1) / Double(points)
      try withTestDatabase { db in
        try seedForCrashTests(db.connection)
        let start = Date()
        for phase in phases {
          let r = try runUntil(
            ["apply", "--phase", phase, "--dsn", db.conninfo] + intentArgs + [plansDir], deadline: start.addingTimeInterval(delay)
          )
          if r.killed {
            killed += 1
            break
          }
          #expect(r.status == 0)
        }
        try applyAll(db.conninfo)
        let result = try fingerprint(db.connection)
        #expect(
          result == reference,
          "kill after \(Int(delay * 1000))ms: \(zip(result, reference).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "different lengths")"
        )
        let notDone = try db.connection.execute("SELECT count(*) FROM pgphase.steps WHERE state <> 'done'").scalarInt()
        #expect(notDone == 0)
      }
    }
    print(
      "crash safety: uninterrupted run \(String(format: "%.2f", uninterrupted))s; \(points) kill points, \(killed) runs actually killed mid-way"
    )
    #expect(killed >= points / 4)
  }
}
