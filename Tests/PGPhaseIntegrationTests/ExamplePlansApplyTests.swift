import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// The compatibility invariant on a real PostgreSQL 15: every example intent's phases apply in
/// order on top of the base schema; after expand and after backfill both the old app's and the
/// new app's probes succeed; after contract the new app's does; every step's postcondition holds
/// in the live catalog; and the final catalog is the expected one.
@Suite(.serialized) struct ExamplePlansApplyTests {
  @Test func everyExampleAppliesWithOldAndNewAppWorkingBetweenExpandAndContract() throws {
    try withTestDatabase { db in
      let c = db.connection
      _ = try c.executeScript(try readRepositoryFile("examples/schema.sql"))
      let plans = try committedPlans()
      #expect(plans.count >= 8)
      var probesRun = 0
      var postconditionsChecked = 0
      for plan in plans {
        let old = try readRepositoryFile("examples/probes/\(plan.intent)/old.sql")
        let new = try readRepositoryFile("examples/probes/\(plan.intent)/new.sql")
        for phase in Phase.allCases {
          for step in plan.steps(in: phase) {
            do {
              try applyStep(step, of: plan, on: c)
            } catch {
              Issue.record("\(plan.intent) \(step.id) failed: \(error)")
              return
            }
            for p in step.postconditions where p.kind != .unchecked {
              let result = try PostconditionChecker.check(p, on: c)
              #expect(result.holds, "\(plan.intent) \(step.id): \(result)")
              postconditionsChecked += 1
            }
          }
          let probes: [(String, String)] = phase == .contract ? [("new", new)] : [("old", old), ("new", new)]
          for (name, sql) in probes {
            do {
              try runProbe(sql, on: c)
              probesRun += 1
            } catch {
              Issue.record("\(plan.intent): the \(name) app's probe failed after \(phase.rawValue): \(error)")
            }
          }
        }
      }
      #expect(probesRun == plans.count * 5)
      #expect(postconditionsChecked > 100)

      // Nothing of pgphase's machinery is left behind, and no index is invalid.
      let leftovers = try c.execute(
        """
        SELECT tgname FROM pg_trigger WHERE tgname LIKE 'pgphase%' AND NOT tgisinternal
        UNION ALL SELECT proname FROM pg_proc WHERE proname LIKE 'pgphase%'
        UNION ALL SELECT attname FROM pg_attribute WHERE attname LIKE '_pgphase%' AND NOT attisdropped
        UNION ALL SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid
        """)
      #expect(leftovers.rows.isEmpty, "\(leftovers.rows)")
      try expectCatalog(on: c, matches: "Tests/PGPhaseIntegrationTests/expected-final-catalog.txt")
    }
  }

  /// Compares a readable dump of the public schema with a committed file.
  /// `PGPHASE_RECORD=1` rewrites the file, and then the test fails so CI cannot pass by recording.
  func expectCatalog(on c: Connection, matches path: String) throws {
    let dump =
      try c.execute(
        """
        SELECT 'table ' || c.relname || ' (' || c.relkind::text || ')' FROM pg_class c
          WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v')
        UNION ALL
        SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
          || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
          || CASE WHEN EXISTS (SELECT 1 FROM pg_constraint n WHERE n.conrelid = a.attrelid AND n.contype = 'n'
                                 AND n.conkey = ARRAY[a.attnum] AND NOT n.convalidated) THEN ' (not validated)' ELSE '' END
          || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
          || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v') AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL
        SELECT 'constraint ' || conrelid::regclass::text || '.' || conname || ' ' || pg_get_constraintdef(oid)
          || CASE WHEN convalidated THEN '' ELSE ' (not validated)' END
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
          -- 18 also lists each NOT NULL here (contype n); the column line says it on every version
          AND contype <> 'n'
        UNION ALL
        SELECT 'index ' || pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' (INVALID)' END
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'public'::regnamespace
        UNION ALL
        SELECT 'trigger ' || tgrelid::regclass::text || '.' || tgname FROM pg_trigger WHERE NOT tgisinternal
        ORDER BY 1
        """
      ).rows.map { $0[0] ?? "" }.joined(separator: "\n") + "\n"
    let url = repositoryRoot.appendingPathComponent(path)
    let expected = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    if ProcessInfo.processInfo.environment["PGPHASE_RECORD"] == "1" {
      try dump.write(to: url, atomically: true, encoding: .utf8)
      Issue.record("PGPHASE_RECORD=1 rewrote \(path); rerun without it")
      return
    }
    #expect(
      dump == expected,
      "final catalog differs from \(path); if the change is intended, rerun with PGPHASE_RECORD=1 and review the diff")
  }
}
