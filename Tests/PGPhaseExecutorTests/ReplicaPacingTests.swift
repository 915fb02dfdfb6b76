import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseServer
import PGPhaseTestSupport
import Testing

/// A primary and a streaming standby of this test's own: the primary is a throwaway server
/// (`EphemeralPostgres`, of the test server's major version) with `wal_level=replica`, the standby
/// a `pg_basebackup -R` of it in a second data directory under the same temporary folder, run by
/// a second postmaster on its own socket. Both listen on Unix sockets only and run as `postgres`
/// when the test runs as root. `stop()` stops both and removes the folder.
final class StreamingPair {
  /// The standby's `cluster_name`, which is the `application_name` the primary shows for it.
  static let standbyName = "standby1"

  let primary: EphemeralPostgres
  let standbyData: String
  /// The port in the standby's socket name (its socket is in the primary's folder too).
  let standbyPort: Int
  private var stopped = false

  /// Starts the primary, takes the base backup and starts the standby, then waits until the
  /// primary shows it streaming. Throws (a failure, never a skip) when no test server is there.
  init() throws {
    try TestServer.require()
    var options = EphemeralPostgres.Options(
      major: TestServer.major,
      settings: ["wal_level": "replica", "max_wal_senders": "4", "shared_buffers": "32MB"])
    options.folderPrefix = "pgphase-replica"
    primary = try EphemeralPostgres.create(options)
    standbyData = "\(primary.directory)/standby"
    standbyPort = primary.port + 1
    do {
      try primary.start()
      let basebackup = "\(primary.binDirectory)/pg_basebackup"
      guard FileManager.default.isExecutableFile(atPath: basebackup) else {
        throw SetupError(what: "\(basebackup) is missing: a streaming standby needs it")
      }
      try primary.run(
        [
          basebackup, "-D", standbyData, "-R", "-X", "stream", "-c", "fast", "-h", primary.directory, "-p",
          String(primary.port), "-U", primary.user,
        ], what: "pg_basebackup")
      // The primary's settings came on its command line, not in postgresql.conf: the standby gets
      // them too (a hot standby refuses to have fewer connections or WAL senders than its
      // primary). Its replies keep the default interval (10 s, and one per WAL message received),
      // as a production standby's do.
      var standbySettings = options.settings
      standbySettings["cluster_name"] = Self.standbyName
      standbySettings["hot_standby"] = "on"
      try primary.startPostmaster(
        data: standbyData, port: standbyPort, settings: standbySettings, log: "\(primary.directory)/standby.log")
      let c = try Connection.connect(dsn: primary.dsn, applicationName: "replica-test")
      defer { c.close() }
      try c.waitUntil(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming')",
        [Self.standbyName], timeout: 60)
    } catch {
      stop()
      throw error
    }
  }

  /// A connection string for `database` on the primary.
  func primaryDSN(database: String) -> String { primary.dsn(database: database) }

  /// A connection string for `database` on the standby (read-only).
  func standbyDSN(database: String) -> String {
    "host='\(primary.directory)' port=\(standbyPort) user='\(primary.user)' dbname='\(database)'"
  }

  /// Waits until the standby has replayed everything the primary had logged when called: up to
  /// the insert position, not `pg_current_wal_lsn()` (the write position), which the commits of
  /// a session with `synchronous_commit = off` (a backfill's) can still be ahead of.
  func waitForStandbyToCatchUp(database: String, timeout: Double = 60) throws {
    let p = try Connection.connect(dsn: primaryDSN(database: database), applicationName: "replica-test")
    defer { p.close() }
    let lsn = try #require(try p.execute("SELECT pg_current_wal_insert_lsn()::text").scalar)
    let s = try Connection.connect(dsn: standbyDSN(database: database), applicationName: "replica-test")
    defer { s.close() }
    try s.waitUntil("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", [lsn], timeout: timeout)
  }

  struct SetupError: Error, CustomStringConvertible {
    var what: String
    var description: String { what }
  }

  /// Stops the standby, then the primary, and removes the folder (both data directories).
  func stop() {
    guard !stopped else { return }
    stopped = true
    primary.stopPostmaster(data: standbyData)
    primary.stop()
  }
}

/// Runs `body` with a fresh streaming pair, stopped and removed afterwards however `body` ends.
func withStreamingPair<T>(_ body: (StreamingPair) throws -> T) throws -> T {
  let pair = try StreamingPair()
  defer { pair.stop() }
  return try body(pair)
}

/// Polls `condition` every 100 ms until it holds; false after `timeout` seconds.
private func eventually(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
  let deadline = Date().addingTimeInterval(timeout)
  while true {
    if try condition() { return true }
    if Date() > deadline { return false }
    Thread.sleep(forTimeInterval: 0.1)
  }
}

/// Backfills paced by a real streaming standby: with its replay paused the batches stop and the
/// output says why, naming the standby; once it replays again they resume and every row ends up
/// right, on the primary and on the standby. Without replicas the same backfill never pauses.
@Suite("ReplicaPacing", .serialized)
struct ReplicaPacingTests {
  static let rows = 100_000
  static let setup = widenAmountSetup(rows: rows)
  /// Rows whose new column is not the planned value: 0 once the backfill is done.
  static let wrongRows = "SELECT count(*) FROM t WHERE _pgphase_new_amount IS DISTINCT FROM amount::bigint * 3"

  /// Small batches with a short pause between them, so the backfill takes several seconds
  /// whatever the machine (at most 500 rows per 20 ms), and progress lines every half second.
  /// The batch target is no smaller than 50 ms: below a batch's fixed cost (a loaded machine's
  /// round trips and commit), the batch sizer shrinks batches to one row.
  static let backfillFlags = [
    "apply", "--phase", "backfill", "--max-replica-lag", "1s", "--batch-target", "50ms", "--max-batch-rows", "500",
    "--batch-pause", "20ms", "--progress-interval", "500ms",
  ]

  @Test(.enabled(if: TestServer.shouldRun))
  func aBackfillPausesWhileTheStandbyLagsAndResumesWhenItCatchesUp() throws {
    _ = try pgphaseBinary()
    let lp = try widenAmountPlan()
    let step = try backfillStepID(lp)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgphase-replica-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let plans = dir.appendingPathComponent("plans")
    try writePlans([lp], to: plans)
    let outputFile = dir.appendingPathComponent("output.txt")
    _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
    let output = { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }

    try withStreamingPair { pair in
      let admin = try Connection.connect(dsn: pair.primary.dsn, applicationName: "replica-test")
      try admin.executeAlone("CREATE DATABASE app")
      admin.close()
      let dsn = pair.primaryDSN(database: "app")
      let c = try Connection.connect(dsn: dsn, applicationName: "replica-test")
      defer { c.close() }
      try c.executeScript(Self.setup)
      let expand = try runPGPhase(["apply", "--phase", "expand", "--dsn", dsn, plans.path])
      #expect(expand.status == 0, "\(expand.stdout)\n\(expand.stderr)")
      try pair.waitForStandbyToCatchUp(database: "app")

      // Pause replay on the standby and write some WAL it will not replay.
      let standby = try Connection.connect(dsn: pair.standbyDSN(database: "app"), applicationName: "replica-test")
      defer { standby.close() }
      try standby.execute("SELECT pg_wal_replay_pause()")
      try c.execute("CREATE TABLE wal_filler AS SELECT g FROM generate_series(1, 10000) g")
      try standby.waitUntil("SELECT pg_get_wal_replay_pause_state() = 'paused'", timeout: 30)

      let handle = try FileHandle(forWritingTo: outputFile)
      defer { try? handle.close() }
      let process = try startPGPhase(Self.backfillFlags + ["--dsn", dsn, plans.path], output: handle)
      defer {
        if process.isRunning {
          process.terminate()
          process.waitUntilExit()
        }
      }
      let journal = { try BackfillJournal.read(lp.plan.intent, step, on: c) }

      // The lag passes 1 s: the batches stop, and the log says so, naming the standby.
      let pauseLine = "\(lp.plan.intent) \(step): paused: replica \(StreamingPair.standbyName) replay lag "
      let paused = eventually(timeout: 90) { output().contains(pauseLine) || !process.isRunning }
      try #require(paused && process.isRunning, "no pause before the backfill ended:\n\(output())")
      #expect(output().contains(" > 1s"), "\(output())")
      let atPause = try journal()
      #expect(atPause.state == "running")
      #expect(atPause.rowsDone < Self.rows, "the backfill had finished when it paused")
      // The progress line shows the pause too (rows done, then the reason).
      let progressShowsPause = eventually(timeout: 30) {
        output().split(separator: "\n").contains { line in
          line.contains(" rows paused: replica \(StreamingPair.standbyName) replay lag ")
        }
      }
      #expect(progressShowsPause, "\(output())")
      // While replay stays paused the lag only grows: not one more batch, however long we watch.
      for _ in 0..<15 {
        Thread.sleep(forTimeInterval: 0.2)
        let now = try journal()
        #expect(now.rowsDone == atPause.rowsDone && now.batches == atPause.batches, "a batch ran during the pause")
        #expect(process.isRunning)
      }
      #expect(!output().contains("resumed after pausing"))

      // Replay again: the backfill resumes and finishes.
      try standby.execute("SELECT pg_wal_replay_resume()")
      let ended = eventually(timeout: 180) { !process.isRunning }
      try #require(ended, "the backfill did not finish after the standby caught up:\n\(output())")
      #expect(process.terminationStatus == 0, "\(output())")
      #expect(output().contains("\(lp.plan.intent) \(step): resumed after pausing "), "\(output())")
      let done = try journal()
      #expect(done.state == "done")
      #expect(done.rowsDone == Self.rows)
      #expect(done.batches > atPause.batches)
      #expect(try c.execute(Self.wrongRows).scalarInt() == 0)
      // And the standby has every row right too.
      try pair.waitForStandbyToCatchUp(database: "app")
      #expect(try standby.execute(Self.wrongRows).scalarInt() == 0)
      #expect(try standby.execute("SELECT count(*) FROM t WHERE _pgphase_new_amount IS NOT NULL").scalarInt() == Self.rows)
    }
  }

  /// No replica, no slot: the same backfill with the same 1 s limit never pauses.
  @Test(.enabled(if: TestServer.shouldRun))
  func withoutReplicasTheSameBackfillNeverPauses() throws {
    _ = try pgphaseBinary()
    let lp = try widenAmountPlan()
    let step = try backfillStepID(lp)
    let plans = try writePlans([lp])
    defer { try? FileManager.default.removeItem(at: plans) }
    try withTestDatabase { db in
      try db.connection.executeScript(Self.setup)
      #expect(try db.connection.execute("SELECT count(*) FROM pg_stat_replication").scalarInt() == 0)
      let expand = try runPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, plans.path])
      #expect(expand.status == 0, "\(expand.stdout)\n\(expand.stderr)")
      let r = try runPGPhaseMerged(Self.backfillFlags + ["--dsn", db.conninfo, plans.path])
      #expect(r.status == 0, "\(r.output)")
      #expect(!r.output.contains("paused"), "\(r.output)")
      #expect(r.output.contains("\(lp.plan.intent) \(step): \(Self.rows) rows updated"), "\(r.output)")
      let done = try BackfillJournal.read(lp.plan.intent, step, on: db.connection)
      #expect(done.state == "done" && done.rowsDone == Self.rows)
      #expect(try db.connection.execute(Self.wrongRows).scalarInt() == 0)
    }
  }
}
