import Foundation
package import PGPhaseModel
public import PGPhasePostgres

/// How a transactional step that hit `lock_timeout` (55P03) or a deadlock (40P01) is retried:
/// jittered exponential backoff, `baseDelay · 2^n · (0.5 ... 1.5)`, each delay at most `maxDelay`,
/// at most `maxRetries` retries and never past `deadline` seconds after the first attempt.
public struct RetryPolicy: Sendable, Equatable {
  /// Seconds before the first retry.
  public var baseDelay: Double
  /// Seconds a single wait never exceeds.
  public var maxDelay: Double
  /// Retries before the step fails.
  public var maxRetries: Int
  /// Seconds after the first attempt past which no retry starts.
  public var deadline: Double

  /// The defaults: 200 ms doubling up to 30 s, ten retries within five minutes.
  public init(baseDelay: Double = 0.2, maxDelay: Double = 30, maxRetries: Int = 10, deadline: Double = 300) {
    self.baseDelay = baseDelay
    self.maxDelay = maxDelay
    self.maxRetries = maxRetries
    self.deadline = deadline
  }

  /// The delay before retry number `retry` (0-based), jittered at random.
  public func delay(forRetry retry: Int) -> Double {
    delay(forRetry: retry, jitter: Double.random(in: 0.5...1.5))
  }

  /// The delay before retry number `retry` (0-based) with the given jitter factor (0.5 ... 1.5):
  /// `min(maxDelay, baseDelay · 2^retry) · jitter`. Jitter keeps runners that collided from
  /// retrying in step.
  public func delay(forRetry retry: Int, jitter: Double) -> Double {
    let raw = baseDelay * pow(2, Double(min(retry, 30)))
    return min(maxDelay, raw) * jitter
  }

  /// Whether to stop after `retries` retries, `elapsed` seconds after the first attempt, rather
  /// than wait `nextDelay` and try again: at most `maxRetries`, never past `deadline`.
  public func givesUp(afterRetries retries: Int, elapsed: Double, nextDelay: Double) -> Bool {
    retries >= maxRetries || elapsed + nextDelay > deadline
  }

  /// Lock timeouts (55P03) and deadlocks (40P01): errors that a later attempt may not meet.
  public static func isRetryable(_ error: PostgresError) -> Bool {
    error.isLockTimeout || error.isDeadlock
  }
}

/// A session holding or awaiting a lock on one of a step's relations.
package struct LockHolder: Sendable, Equatable, CustomStringConvertible {
  package var pid: Int32
  package var relation: String
  package var mode: String
  package var granted: Bool
  package var state: String?
  package var query: String?
  package var applicationName: String?
  package var transactionAgeSeconds: Double?
  /// `pg_stat_activity.backend_type`, e.g. `client backend`, `autovacuum worker`.
  package var backendType: String?

  package init(
    pid: Int32, relation: String, mode: String, granted: Bool, state: String?, query: String?, applicationName: String?,
    transactionAgeSeconds: Double?, backendType: String?
  ) {
    self.pid = pid
    self.relation = relation
    self.mode = mode
    self.granted = granted
    self.state = state
    self.query = query
    self.applicationName = applicationName
    self.transactionAgeSeconds = transactionAgeSeconds
    self.backendType = backendType
  }

  package var description: String {
    var text = "pid \(pid)"
    if let applicationName, !applicationName.isEmpty { text += " (\(applicationName))" }
    text += " \(granted ? "holds" : "waits for") \(mode) on \(relation)"
    if let state { text += ", \(state)" }
    if let age = transactionAgeSeconds { text += ", transaction open for \(formatSeconds(age))" }
    if let query, !query.isEmpty { text += ", last query: \(query.prefix(200))" }
    return text
  }
}

package enum LockInspector {
  /// Other sessions holding (or queued for) locks on `relations`, read from `pg_locks` and
  /// `pg_stat_activity`. Used after a 55P03 to say who blocked a step.
  package static func holders(of relations: [QualifiedName], on connection: Connection) throws -> [LockHolder] {
    var out: [LockHolder] = []
    for relation in Set(relations).sorted() {
      let result = try connection.execute(
        """
        SELECT l.pid, l.mode, l.granted, a.state, a.query, a.application_name, a.backend_type,
               extract(epoch FROM clock_timestamp() - a.xact_start)::float8 AS age
        FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'relation' AND l.relation = to_regclass($1) AND l.pid <> pg_backend_pid()
        ORDER BY l.granted DESC, l.pid
        """, [relation.sql])
      for row in result.rows {
        out.append(
          LockHolder(
            pid: Int32(try row.int("pid") ?? 0), relation: relation.sql, mode: row["mode"] ?? "?",
            granted: try row.bool("granted") ?? false, state: row["state"], query: row["query"],
            applicationName: row["application_name"], transactionAgeSeconds: try row.double("age"),
            backendType: row["backend_type"]))
      }
    }
    return out
  }
}

extension LockMode {
  /// PostgreSQL's table of conflicting lock modes: whether a session holding `self` on a table
  /// makes one asking for `other` wait (it is symmetric).
  package func conflicts(with other: LockMode) -> Bool {
    let conflicting: Set<LockMode> =
      switch self {
      case .accessShare: [.accessExclusive]
      case .rowShare: [.exclusive, .accessExclusive]
      case .rowExclusive: [.share, .shareRowExclusive, .exclusive, .accessExclusive]
      case .shareUpdateExclusive: [.shareUpdateExclusive, .share, .shareRowExclusive, .exclusive, .accessExclusive]
      case .share: [.rowExclusive, .shareUpdateExclusive, .shareRowExclusive, .exclusive, .accessExclusive]
      case .shareRowExclusive: [.rowExclusive, .shareUpdateExclusive, .share, .shareRowExclusive, .exclusive, .accessExclusive]
      case .exclusive:
        [.rowShare, .rowExclusive, .shareUpdateExclusive, .share, .shareRowExclusive, .exclusive, .accessExclusive]
      case .accessExclusive: Set(LockMode.allCases)
      }
    return conflicting.contains(other)
  }

  /// The mode `pg_locks.mode` names (`AccessShareLock`), nil for a name it does not know.
  package init?(pgLocksName name: String) {
    guard let mode = LockMode.allCases.first(where: { $0.pgLocksName == name }) else { return nil }
    self = mode
  }
}

/// Finds the sessions a step would queue behind for long: before a step whose lock makes
/// ordinary reads or writes wait, the executor looks for transactions that hold a conflicting
/// lock on its tables, or wait in their queue, and have been open longer than a limit. Queuing
/// behind one of them would make every later query on the table queue behind the step, for as
/// long as it stays open (until `lock_timeout` ends the wait). Pure: the holders come from
/// `LockInspector`.
package enum BlockerCheck {
  /// The holders among `holders` that the step's `locks` would wait for and that are older than
  /// `maxAge` seconds. A step whose locks block neither reads nor writes never waits here, nor does
  /// anything for an autovacuum worker (it gives way to a lock request) unless it runs to prevent
  /// wraparound (it does not).
  package static func longBlockers(_ holders: [LockHolder], of locks: [LockedRelation], maxAge: Double) -> [LockHolder] {
    holders.filter { h in
      guard let age = h.transactionAgeSeconds, age > maxAge else { return false }
      if h.backendType == "autovacuum worker", !(h.query ?? "").contains("to prevent wraparound") { return false }
      let held = LockMode(pgLocksName: h.mode)
      return locks.contains { lock in
        guard lock.relation.sql == h.relation, lock.mode.blocksWrites else { return false }
        // A waiting session is in the queue the step would join; a holder, when the modes conflict.
        return !h.granted || held.map { $0.conflicts(with: lock.mode) } ?? true
      }
    }
  }
}

/// Seconds of a PostgreSQL duration setting as written in a plan: `2s`, `500ms`, `1min`, `1h`, a
/// bare number of milliseconds; nil when it cannot be read.
package func durationSettingSeconds(_ text: String) -> Double? {
  let t = text.trimmingCharacters(in: .whitespaces).lowercased()
  let units: [(String, Double)] = [("ms", 0.001), ("us", 0.000001), ("min", 60), ("s", 1), ("h", 3600), ("d", 86400)]
  for (suffix, factor) in units where t.hasSuffix(suffix) {
    if let v = Double(t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)) { return v * factor }
    return nil
  }
  return Double(t).map { $0 / 1000 }
}
