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
        SELECT l.pid, l.mode, l.granted, a.state, a.query, a.application_name,
               extract(epoch FROM now() - a.xact_start)::float8 AS age
        FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'relation' AND l.relation = to_regclass($1) AND l.pid <> pg_backend_pid()
        ORDER BY l.granted DESC, l.pid
        """, [relation.sql])
      for row in result.rows {
        out.append(
          LockHolder(
            pid: Int32(try row.int("pid") ?? 0), relation: relation.sql, mode: row["mode"] ?? "?",
            granted: try row.bool("granted") ?? false, state: row["state"], query: row["query"],
            applicationName: row["application_name"], transactionAgeSeconds: try row.double("age")))
      }
    }
    return out
  }
}
