import Foundation
package import PGPhaseModel
import PGPhasePostgres

/// One sample of `pg_stat_progress_create_index` for a build, with the session it waits for.
package struct IndexBuildSample: Sendable, Equatable {
  package var progress: Catalog.IndexBuildProgress
  /// The session named by `current_locker_pid`, when the build waits for one.
  package var locker: LockerSession?

  /// `pg_stat_activity` of the session a build waits for.
  package struct LockerSession: Sendable, Equatable {
    package var pid: Int32
    /// e.g. `idle in transaction`; nil when not visible to this role.
    package var state: String?
    /// Seconds since its transaction began; nil when it has none.
    package var transactionAgeSeconds: Double?
    package var query: String?
    package var applicationName: String?
  }

  /// The progress line's detail: phase, then who the build waits for.
  package var detail: String {
    var text = progress.phase
    if let tuples = progress.tuplesTotal, tuples > 0, let done = progress.tuplesDone, progress.blocksTotal ?? 0 > 0 {
      text += ", tuples \(done)/\(tuples)"
    }
    if let locker {
      text += "; waiting for pid \(locker.pid)"
      if let app = locker.applicationName, !app.isEmpty { text += " (\(app))" }
      if let state = locker.state { text += " \(state)" }
      if let age = locker.transactionAgeSeconds { text += ", transaction open for \(formatSeconds(age))" }
      if let query = locker.query, !query.isEmpty {
        text += ": \(query.prefix(120).replacingOccurrences(of: "\n", with: " "))"
      }
    } else if let pid = progress.currentLockerPID {
      text += "; waiting for pid \(pid)"
    }
    return text
  }
}

extension Catalog {
  /// The create-index progress of backend `pid` (a build this runner started), with its locker.
  package func indexBuildSample(pid: Int32) throws -> IndexBuildSample? {
    let result = try connection.execute(
      """
      SELECT p.pid, p.command, p.phase, p.lockers_total, p.lockers_done, p.current_locker_pid,
             p.blocks_total, p.blocks_done, p.tuples_total, p.tuples_done, a.application_name,
             l.state AS l_state, l.query AS l_query, l.application_name AS l_app,
             extract(epoch FROM now() - l.xact_start)::float8 AS l_age
      FROM pg_stat_progress_create_index p
      LEFT JOIN pg_stat_activity a ON a.pid = p.pid
      LEFT JOIN pg_stat_activity l ON l.pid = p.current_locker_pid AND p.current_locker_pid <> 0
      WHERE p.pid = $1::int
      """, [String(pid)])
    guard let row = result.first else { return nil }
    let lockerPID = try row.int("current_locker_pid").flatMap { $0 == 0 ? nil : Int32($0) }
    let progress = IndexBuildProgress(
      pid: Int32(try row.int("pid") ?? 0), command: row["command"] ?? "", phase: row["phase"] ?? "",
      lockersTotal: try row.int("lockers_total"), lockersDone: try row.int("lockers_done"), currentLockerPID: lockerPID,
      blocksTotal: try row.int("blocks_total"), blocksDone: try row.int("blocks_done"),
      tuplesTotal: try row.int("tuples_total"), tuplesDone: try row.int("tuples_done"),
      applicationName: row["application_name"])
    var locker: IndexBuildSample.LockerSession?
    if let lockerPID {
      locker = IndexBuildSample.LockerSession(
        pid: lockerPID, state: row["l_state"], transactionAgeSeconds: try row.double("l_age"), query: row["l_query"],
        applicationName: row["l_app"])
    }
    return IndexBuildSample(progress: progress, locker: locker)
  }

  /// Invalid leftovers of `REINDEX CONCURRENTLY` of `index`: `<name>_ccnew[N]` and `<name>_ccold[N]`
  /// in the index's schema, as `regclass` text.
  package func reindexLeftovers(of index: QualifiedName) throws -> [String] {
    let result = try connection.execute(
      """
      SELECT c.oid::regclass::text FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid AND n.nspname = coalesce($1, current_schema())
        AND left(c.relname, length($2)) = $2 AND substr(c.relname, length($2) + 1) ~ '^_cc(new|old)[0-9]*$'
      ORDER BY 1
      """, [index.schema, index.name])
    return result.values.compactMap { $0.first ?? nil }
  }
}

/// Watches one index build from a second connection, on its own thread, until `stop()`.
///
/// The build blocks the executor's connection (and thread) for its whole duration, so the
/// progress view can only be read from elsewhere. The watcher opens its own connection inside its
/// thread (a `Connection` belongs to one thread) and reports through the run's `ProgressReporter`.
final class IndexBuildWatcher: @unchecked Sendable {
  // Safety: `reporter` is used only by the watcher thread until `stop()` has joined it, then only
  // by the caller; `samples` and `stopping` are guarded by `lock`.
  private let lock = NSLock()
  private var stopping = false
  private var lastSample: IndexBuildSample?
  private let wake = DispatchSemaphore(value: 0)
  private let finished = DispatchSemaphore(value: 0)
  private let reporter: ProgressReporter

  /// Polls the build run by backend `pid` every `pollInterval` seconds, the first time after one
  /// interval: a build shorter than that costs no second connection and no query.
  init(dsn: String?, applicationName: String, pid: Int32, pollInterval: Double, reporter: ProgressReporter) {
    self.reporter = reporter
    let thread = Thread { [self] in
      defer { finished.signal() }
      var connection: Connection?
      defer { connection?.close() }
      while true {
        _ = wake.wait(timeout: .now() + pollInterval)
        if isStopping { break }
        if connection == nil {
          connection = try? Connection.connect(dsn: dsn, applicationName: applicationName + " progress")
        }
        guard let c = connection else { break }
        if let sample = try? Catalog(c).indexBuildSample(pid: pid) {
          lock.lock()
          lastSample = sample
          lock.unlock()
          report(sample, force: false)
        }
      }
    }
    thread.start()
  }

  private var isStopping: Bool {
    lock.lock()
    defer { lock.unlock() }
    return stopping
  }

  private func report(_ sample: IndexBuildSample, force: Bool) {
    let p = sample.progress
    if let total = p.blocksTotal, total > 0 {
      reporter.update(done: Int64(p.blocksDone ?? 0), total: Int64(total), unit: "blocks", detail: sample.detail, force: force)
    } else if let total = p.tuplesTotal, total > 0 {
      reporter.update(done: Int64(p.tuplesDone ?? 0), total: Int64(total), unit: "tuples", detail: sample.detail, force: force)
    } else if let total = p.lockersTotal, total > 0 {
      // Waiting phases: how many of the transactions it waits for have ended.
      reporter.update(
        done: Int64(p.lockersDone ?? 0), total: Int64(total), unit: "lockers", detail: sample.detail, force: force)
    } else {
      reporter.update(done: 0, total: nil, unit: "blocks", detail: sample.detail, force: force)
    }
  }

  /// Stops and joins the thread; returns the last sample seen (nil if the build was too quick).
  @discardableResult
  func stop(summary: String? = nil) -> IndexBuildSample? {
    lock.lock()
    stopping = true
    lock.unlock()
    wake.signal()
    finished.wait()
    reporter.finish(summary)
    lock.lock()
    defer { lock.unlock() }
    return lastSample
  }
}
