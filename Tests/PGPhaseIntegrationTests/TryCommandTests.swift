import Foundation
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

/// `pgphase try`: its own throwaway PostgreSQL (not the test server), every phase of every
/// intent with the app probes between phases, a summary, and nothing left behind.
@Suite(.serialized) struct TryCommandTests {
  /// Folders `pgphase try` creates for its server.
  func tryFolders() -> Set<String> {
    Set(((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter { $0.hasPrefix("pgphase-try") })
  }

  /// Server processes running from `folder` (e.g. `/tmp/pgphase-try.Ab12Cd`).
  func servers(in folder: String) throws -> Int {
    let ps = Process()
    ps.executableURL = URL(fileURLWithPath: "/bin/ps")
    ps.arguments = ["-eo", "args"]
    let out = Pipe()
    ps.standardOutput = out
    try ps.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    ps.waitUntilExit()
    return text.split(separator: "\n").filter { $0.contains(folder + "/") && $0.contains("postgres") }.count
  }

  /// The server folder a run announced on stderr (`try: PostgreSQL 15.x in /tmp/pgphase-try.X (...)`).
  func announcedFolder(_ stderr: String) throws -> String {
    let line = try #require(stderr.split(separator: "\n").first { $0.hasPrefix("try: PostgreSQL ") }, "\(stderr)")
    let folder = try #require(line.split(separator: " ").first { $0.hasPrefix("/tmp/pgphase-try.") })
    return String(folder)
  }

  /// Other engineers' `try` runs may be alive at the same time: look only at this run's folder.
  func expectRemoved(_ folder: String) throws {
    #expect(!FileManager.default.fileExists(atPath: folder), "\(folder) was left behind")
    #expect(try servers(in: folder) == 0, "a server still runs in \(folder)")
  }

  /// On the test server's major version, so the suite run on 18 rehearses on 18 too.
  @Test(.enabled(if: TestServer.shouldRun)) func tryTheExampleIntentsFromTheRepository() throws {
    let result = try runPGPhase(["try", "examples/intents", "--pg", String(TestServer.major)], in: repositoryRoot)
    #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
    let lines = result.stdout.split(separator: "\n").map(String.init)
    #expect(lines.first == "loaded examples/schema.sql")
    let header = try #require(lines.first { $0.hasPrefix("intent ") })
    #expect(
      header.split(separator: " ", omittingEmptySubsequences: true) == [
        "intent", "expand", "backfill", "contract", "probes", "time",
      ])
    let ids = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("examples/intents").path)
      .map { String($0.dropLast(".yaml".count)) }.sorted()
    #expect(ids.count == 12)
    for id in ids {
      let row = try #require(lines.first { $0.hasPrefix(id + " ") }, "no summary row for \(id)")
      let cells = row.split(separator: " ", omittingEmptySubsequences: true)
      #expect(cells.contains("FAILED") == false && cells.contains("skipped") == false, "\(row)")
      #expect(row.contains("5 ok"), "old+new after expand, old+new after backfill, new after contract: \(row)")
    }
    #expect(lines.last == "ok: 12 intents applied through contract; 60 probes passed")
    #expect(result.stderr.contains("try: PostgreSQL \(TestServer.major)."), "\(result.stderr)")
    try expectRemoved(try announcedFolder(result.stderr))
  }

  /// Both streams into one pipe (a terminal, a CI log): the banner names the server version, the
  /// schema is loaded before any step line, and every line is whole and from one writer. Before,
  /// stdout was block-buffered while stderr was not: stderr's step lines overtook `loaded ...`, and
  /// a block boundary cut stdout lines in two (`202  20261127_link_incidents_to_checks expand/...`).
  @Test(.enabled(if: TestServer.shouldRun)) func mergedOutputIsLineAtomicAndInOrder() throws {
    let result = try runPGPhaseMerged(["try", "examples/intents"], in: repositoryRoot)
    #expect(result.status == 0, "\(result.output)")
    let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    let banner = try #require(lines.first)
    #expect(
      banner.wholeMatch(of: /try: PostgreSQL \d+\.\d+ in \/tmp\/pgphase-try\.[A-Za-z0-9]+ \(removed at the end\)/) != nil,
      "\(banner)")
    #expect(lines.dropFirst().first == "loaded examples/schema.sql", "\(lines.prefix(3))")
    let step = #/  (?<intent>\d{8}_[a-z0-9_]+) (expand|backfill|contract)/\d\d-[a-z0-9-]+/#
    let stepDone = #/ done in \d+ms( \(\d+ rows?\))?/#
    let stepProgress = #/: (built in \d+ms|\d+ rows? updated, \d+ rows? scanned in \d+ batch(es)?, \d+ms)/#
    var intent: String?
    var table = false
    for line in lines.dropFirst(2) {
      if let m = line.wholeMatch(of: /(?<id>\d{8}_[a-z0-9_]+):/) {
        intent = String(m.output.id)
      } else if let m = line.prefixMatch(of: step) {
        #expect(String(m.output.intent) == intent, "a step line outside its intent's section: \(line)")
        let rest = line[m.range.upperBound...]
        #expect(rest.wholeMatch(of: stepDone) != nil || rest.wholeMatch(of: stepProgress) != nil, "mixed line: \(line)")
      } else if line.hasPrefix("intent ") {
        table = true
      } else if table, line.wholeMatch(of: /\d{8}_[a-z0-9_]+ +((ok \(\d+\)|-) +){3}5 ok +\d+\.\d\ds/) != nil {
        continue
      } else {
        #expect(line == "ok: 12 intents applied through contract; 60 probes passed", "unexpected line: \(line)")
      }
    }
    #expect(lines.last == "ok: 12 intents applied through contract; 60 probes passed")
  }

  /// A probe that fails is reported, the run exits 1, and the server is gone all the same.
  @Test(.enabled(if: TestServer.shouldRun)) func failingProbeIsReportedAndTheServerRemoved() throws {
    let probes = try makeTemporaryDirectory()
    let intents = try makeTemporaryDirectory()
    let id = "20261120_incident_severity"
    try FileManager.default.copyItem(
      at: repositoryRoot.appendingPathComponent("examples/intents/\(id).yaml"), to: intents.appendingPathComponent("\(id).yaml"))
    try FileManager.default.createDirectory(at: probes.appendingPathComponent(id), withIntermediateDirectories: true)
    try "SELECT id, title FROM incidents LIMIT 1;".write(
      to: probes.appendingPathComponent("\(id)/old.sql"), atomically: true, encoding: .utf8)
    // The new app reads a column no intent adds.
    try "SELECT severity, priority_score FROM incidents LIMIT 1;".write(
      to: probes.appendingPathComponent("\(id)/new.sql"), atomically: true, encoding: .utf8)
    let result = try runPGPhase([
      "try", intents.path, "--base", repositoryRoot.appendingPathComponent("examples/schema.sql").path, "--probes", probes.path,
    ])
    #expect(result.status == 1, "\(result.stdout)\n\(result.stderr)")
    #expect(result.stderr.contains("\(id): the new app's probe FAILED after expand:"), "\(result.stderr)")
    #expect(result.stderr.contains("priority_score"))
    let row = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix(id + " ") })
    #expect(row.contains("FAILED: new after expand, new after backfill, new after contract"), "\(row)")
    #expect(result.stdout.hasSuffix("FAILED: see above\n"))
    try expectRemoved(try announcedFolder(result.stderr))
  }

  /// SIGTERM while a probe runs: the server is stopped and its folder removed before the exit.
  @Test(.enabled(if: TestServer.shouldRun)) func sigtermStopsAndRemovesTheServer() throws {
    let probes = try makeTemporaryDirectory()
    let id = "20261120_incident_severity"
    try FileManager.default.createDirectory(at: probes.appendingPathComponent(id), withIntermediateDirectories: true)
    try "SELECT pg_sleep(60);".write(to: probes.appendingPathComponent("\(id)/old.sql"), atomically: true, encoding: .utf8)
    let before = tryFolders()
    let process = try startPGPhase(["try", "examples/intents", "--probes", probes.path], in: repositoryRoot)
    defer { if process.isRunning { kill(process.processIdentifier, SIGTERM) } }
    // Wait until the server runs the sleeping probe; that server's folder is this run's.
    let deadline = Date().addingTimeInterval(60)
    var folder: String?
    while folder == nil, Date() < deadline, process.isRunning {
      folder = tryFolders().subtracting(before).map { "/tmp/\($0)" }.first { path in
        guard FileManager.default.fileExists(atPath: "\(path)/.s.PGSQL.5432"),
          let c = try? Connection.connect(
            dsn: "host=\(path) port=5432 user=postgres dbname=postgres", applicationName: "pgphase-tests")
        else { return false }
        defer { c.close() }
        let probe = "SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()"
        return (try? c.execute(probe).scalarBool()) == true
      }
      if folder == nil { Thread.sleep(forTimeInterval: 0.1) }
    }
    let running = try #require(folder, "the probe never ran")
    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
    #expect(process.terminationReason == .exit && process.terminationStatus == 128 + SIGTERM)
    try expectRemoved(running)
  }

  @Test func badInputIsExitTwo() throws {
    let result = try runPGPhase(["try", "/nonexistent/plans"])
    #expect(result.status == 2, "\(result.stderr)")
  }
}
