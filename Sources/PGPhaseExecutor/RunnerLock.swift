import Foundation
package import PGPhasePostgres

/// The one-runner-at-a-time lock: a session-level advisory lock on its own connection, taken by
/// polling `pg_try_advisory_lock` with no transaction open (never a blocking `pg_advisory_lock`,
/// which holds a snapshot that a concurrent index build would wait for).
package final class RunnerLock {
  /// `pg_try_advisory_lock(int4, int4)` key: 'pgph' and 1. In pg_locks: classid, objid, objsubid = 2.
  package static let key1: Int32 = 0x7067_7068
  package static let key2: Int32 = 1

  package let connection: Connection

  private init(connection: Connection) { self.connection = connection }

  /// Polls every `pollInterval` until the lock is taken or `wait` seconds pass; logs who holds it
  /// every `reportInterval` seconds meanwhile.
  /// - Throws: `ExecutorError.lockWaitTimeout`.
  package static func acquire(
    dsn: String?, applicationName: String, wait: Double, pollInterval: Double = 0.2, reportInterval: Double = 5,
    log: (String) -> Void
  ) throws -> RunnerLock {
    let connection: Connection
    do {
      connection = try Connection.connect(dsn: dsn, applicationName: applicationName)
    } catch {
      throw ExecutorError.connection(error)
    }
    let start = Date()
    var lastReport = start
    var holder: String?
    while true {
      if try connection.execute("SELECT pg_try_advisory_lock($1::int, $2::int)", [String(key1), String(key2)]).scalarBool()
        == true
      {
        return RunnerLock(connection: connection)
      }
      let now = Date()
      if now.timeIntervalSince(start) >= wait {
        holder = try? describeHolder(on: connection)
        connection.close()
        throw ExecutorError.lockWaitTimeout(seconds: wait, holder: holder)
      }
      if holder == nil || now.timeIntervalSince(lastReport) >= reportInterval {
        holder = try? describeHolder(on: connection)
        log("waiting for the pgphase runner lock, held by \(holder ?? "an unknown session")")
        lastReport = now
      }
      Thread.sleep(forTimeInterval: pollInterval)
    }
  }

  /// `pid 123 (pgphase apply host:42), connected 12.3s ago, idle`, or nil when nobody holds it.
  package static func describeHolder(on connection: Connection) throws -> String? {
    let result = try connection.execute(
      """
      SELECT l.pid, a.application_name, a.state,
             extract(epoch FROM now() - a.backend_start)::float8 AS connected,
             extract(epoch FROM now() - a.xact_start)::float8 AS xact
      FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::int::oid AND l.objid = $2::int::oid
        AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      """, [String(key1), String(key2)])
    guard let row = result.first else { return nil }
    var text = "pid \(row["pid"] ?? "?") (\(row["application_name"] ?? "?"))"
    if let connected = try row.double("connected") { text += ", connected \(formatSeconds(connected)) ago" }
    if let state = row["state"] { text += ", \(state)" }
    if let xact = try row.double("xact") { text += ", transaction open for \(formatSeconds(xact))" }
    return text
  }

  package func release() {
    _ = try? connection.execute("SELECT pg_advisory_unlock($1::int, $2::int)", [String(Self.key1), String(Self.key2)])
    connection.close()
  }
}
