import Foundation
package import PGPhasePostgres

/// What stands between pgphase and the server, as two of its connections see it.
package enum PoolerFinding: Sendable, Equatable {
  /// Each connection is one server session: the backend pid libpq was given at connect time is
  /// the one that runs its statements.
  case direct
  /// A pooler or proxy (the pid given at connect time is not the backend's), but each connection
  /// kept its own backend for every transaction probed: session pooling.
  case sessionPooler(evidence: String)
  /// Consecutive transactions of one connection ran on different backends, or two connections
  /// shared one: transaction (or statement) pooling. A session advisory lock taken there stays on
  /// whichever backend ran it, for whoever gets that backend next.
  case transactionPooler(evidence: String)
}

/// Detects a transaction-mode pooler before the runner lock is taken.
///
/// Two independent signs, on two connections A and B to the same DSN:
/// 1. libpq's `PQbackendPID` is the pid from the server's BackendKeyData at connect time; a
///    pooler hands the client a key of its own (it must: the client's cancel key has to stay
///    valid while its transactions move between server connections), so a mismatch with
///    `pg_backend_pid()` shows a pooler is there, whatever its mode.
/// 2. The mode is shown by where autocommit statements run: A twice, B twice, A again, each its
///    own transaction. Through a session pool (or directly) A always gets its backend and B
///    another. Through a transaction pool each statement gets whichever server connection the
///    pool hands out: one that reuses the connection freed last gives B A's backend, one that
///    goes round the idle ones gives A a second backend, a pool of one gives everyone the same.
///    No statement waits while another connection holds a server connection, so a pool of one
///    cannot deadlock the probe. Three rounds, a few milliseconds.
package enum PoolerGuard {
  /// Probes with `a` and `b` (both idle, on the same database and role).
  package static func probe(_ a: Connection, _ b: Connection, rounds: Int = 3) throws -> PoolerFinding {
    func pid(_ c: Connection) throws -> Int32 { Int32(try c.execute("SELECT pg_backend_pid()").scalarInt() ?? 0) }
    var proxied: (server: Int32, client: Int32)?
    for _ in 0..<rounds {
      let a1 = try pid(a)
      let a2 = try pid(a)
      let b1 = try pid(b)
      let b2 = try pid(b)
      let a3 = try pid(a)
      if proxied == nil, a1 != a.backendPID || b1 != b.backendPID { proxied = (a1, a.backendPID) }
      if a1 != a2 || a2 != a3 {
        return .transactionPooler(
          evidence:
            "consecutive statements of one connection ran on backends \([a1, a2, a3].map(String.init).joined(separator: ", "))")
      }
      if b1 != b2 {
        return .transactionPooler(evidence: "consecutive statements of one connection ran on backends \(b1) and \(b2)")
      }
      if b1 == a1 {
        return .transactionPooler(evidence: "two connections ran their statements on the same backend, \(b1)")
      }
    }
    guard let proxied else { return .direct }
    return .sessionPooler(
      evidence:
        "connected through a pooler or proxy (backend \(proxied.server) answers for connection pid \(proxied.client)), in session mode: each connection kept its own backend"
    )
  }
}
