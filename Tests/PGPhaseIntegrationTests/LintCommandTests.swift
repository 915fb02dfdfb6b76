import Foundation
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// `pgphase lint` as CI runs it: many files at once, squawk's config, and `--trace`.
@Suite struct LintCommandTests {
  func folder(_ files: [String: String]) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgphase-lint-\(UUID().uuidString)")
    for (name, text) in files {
      let url = dir.appendingPathComponent(name)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try text.write(to: url, atomically: true, encoding: .utf8)
    }
    return dir
  }

  /// Hundreds of paths (taken past ArgumentParser, whose positional parsing is quadratic) give
  /// the same report as the folder, and options after the paths still count.
  @Test func manyPathsWithOptionsAfterThem() throws {
    var files: [String: String] = [:]
    for i in 0..<150 {
      files[String(format: "m/%03d.sql", i)] = i % 10 == 0 ? "CREATE INDEX i\(i) ON t (a);\n" : "SELECT \(i);\n"
    }
    let dir = try folder(files)
    defer { try? FileManager.default.removeItem(at: dir) }
    let paths = files.keys.sorted()
    let listed = try runPGPhase(["lint"] + paths + ["--format", "json"], in: dir)
    let byFolder = try runPGPhase(["lint", "m", "--format", "json"], in: dir)
    #expect(listed.status == 1)
    #expect(listed.stdout == byFolder.stdout)
    let report = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any]
    #expect((report?["findings"] as? [Any])?.count == 15)
    #expect((report?["files"] as? [Any])?.count == 150)
  }

  @Test func aSquawkConfigIsReadWithoutPgphaseYaml() throws {
    let dir = try folder([
      ".squawk.toml": "excluded_rules = [\"require-concurrent-index-creation\"]\n",
      "001.sql": "CREATE INDEX i ON t (a);\n",
    ])
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = try runPGPhase(["lint", "001.sql"], in: dir)
    #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
  }

  @Test func flywayAndDieselSayWhichFilesRunOutsideATransaction() throws {
    let cic = "CREATE INDEX CONCURRENTLY i ON t (a);\n"
    let dir = try folder([
      ".pgphase.yaml": "transactional_files: true\n",
      "flyway/V1__index.sql": cic, "flyway/V1__index.sql.conf": "executeInTransaction=false\n",
      "flyway/V2__index.sql": cic,
      "diesel/2024-01-01_index/up.sql": cic, "diesel/2024-01-01_index/metadata.toml": "run_in_transaction = false\n",
    ])
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = try runPGPhase(["lint", "flyway", "diesel", "--format", "json"], in: dir)
    let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
    let flagged = (report?["findings"] as? [[String: Any]] ?? []).map { "\($0["file"] ?? "") \($0["rule"] ?? "")" }
    #expect(flagged == ["flyway/V2__index.sql concurrently-in-transaction"], "\(run.stdout)")
  }

  @Test func noTransactionFilesInTheConfig() throws {
    let cic = "CREATE INDEX CONCURRENTLY i ON t (a);\n"
    let dir = try folder([
      ".pgphase.yaml": "transactional_files: true\nno_transaction_files: [\"late/*.sql\"]\n",
      "early/001.sql": cic, "late/002.sql": cic,
    ])
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = try runPGPhase(["lint", "early", "late", "--format", "json"], in: dir)
    let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
    let flagged = (report?["findings"] as? [[String: Any]] ?? []).map { "\($0["file"] ?? "")" }
    #expect(flagged == ["early/001.sql"], "\(run.stdout)\(run.stderr)")
  }

  /// `--trace` starts its own server (as `try` does), reports per statement, and removes it.
  @Test(.enabled(if: TestServer.shouldRun)) func traceRunsOnAThrowawayServer() throws {
    let dir = try folder([
      "schema.sql": "CREATE TABLE t (id bigint PRIMARY KEY, a int);\nINSERT INTO t VALUES (1, 1);\n",
      "001.sql": "BEGIN;\nALTER TABLE t ADD COLUMN b int;\nUPDATE t SET b = 1;\nCOMMIT;\n",
    ])
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = try runPGPhase(["lint", "--trace", "--schema", "schema.sql", "001.sql"], in: dir)
    #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
    #expect(run.stdout.contains("001.sql:2:1: ALTER TABLE t ADD COLUMN b int"))
    #expect(run.stdout.contains("lock ACCESS EXCLUSIVE on t (table), held until line 4"))
    #expect(run.stdout.contains("[trace-held-access-exclusive]"))
    let line = try #require(run.stderr.split(separator: "\n").first { $0.hasPrefix("trace: PostgreSQL") })
    let server = try #require(line.split(separator: " ").first { $0.hasPrefix("/tmp/pgphase-try.") })
    #expect(!FileManager.default.fileExists(atPath: String(server)))
    let json = try runPGPhase(["lint", "--trace", "--schema", "schema.sql", "--format", "json", "001.sql"], in: dir)
    let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
    let trace = try #require(report?["trace"] as? [[String: Any]])
    #expect((trace.first?["statements"] as? [Any])?.count == 2)
  }

  @Test func traceOptionsNeedTraceAndANamedDatabase() throws {
    let dir = try folder(["001.sql": "SELECT 1;\n"])
    defer { try? FileManager.default.removeItem(at: dir) }
    #expect(try runPGPhase(["lint", "--dsn", "dbname=x", "001.sql"], in: dir).status == 2)
    let unnamed = try runPGPhase(["lint", "--trace", "--dsn", "host=/tmp", "001.sql"], in: dir)
    #expect(unnamed.status == 2)
    #expect(unnamed.stderr.contains("must name the scratch database"))
    #expect(try runPGPhase(["lint", "--trace", "--dsn", "postgres://localhost/", "001.sql"], in: dir).status == 2)
  }
}
