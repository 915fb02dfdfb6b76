import Foundation
public import PGPhasePostgres

extension Connection {
  /// The table-level lock modes (`pg_locks.mode`, e.g. `AccessExclusiveLock`) that session `pid`
  /// holds on `table` (a name as `regclass` reads it, e.g. `public.incidents`). Used to MEASURE
  /// the lock a statement takes: run it in an open transaction on one connection, read here
  /// from another.
  public func lockModes(on table: String, heldBy pid: Int32) throws -> Set<String> {
    let result = try execute(
      """
      SELECT mode FROM pg_locks
      WHERE locktype = 'relation' AND relation = $1::regclass AND pid = $2::int AND granted
      """, [table, String(pid)])
    return Set(result.values.compactMap { $0[0] })
  }

  /// Lock modes session `pid` is waiting for on `table`.
  public func awaitedLockModes(on table: String, by pid: Int32) throws -> Set<String> {
    let result = try execute(
      """
      SELECT mode FROM pg_locks
      WHERE locktype = 'relation' AND relation = $1::regclass AND pid = $2::int AND NOT granted
      """, [table, String(pid)])
    return Set(result.values.compactMap { $0[0] })
  }

  /// Sends a whole SQL file in one `PQexec` (one implicit transaction unless the file has its
  /// own BEGIN/COMMIT). Fine for schema files; not for files with COPY FROM stdin.
  @discardableResult
  public func runSQLFile(_ path: String) throws -> QueryResult {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return try executeScript(text)
  }

  /// Polls `query` (which returns one boolean) until it is true, or throws after `timeout`.
  public func waitUntil(_ query: String, _ parameters: [String?] = [], timeout: Double = 10) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
      if try execute(query, parameters).scalarBool() == true { return }
      if Date() > deadline { throw TimeoutError(what: query) }
      Thread.sleep(forTimeInterval: 0.02)
    }
  }
}

public struct TimeoutError: Error, CustomStringConvertible {
  public var what: String
  public var description: String { "timed out waiting for: \(what)" }
}

/// Moves a non-Sendable value (e.g. a `Connection`) to one other thread. The test must make
/// sure only that thread uses it until the work is joined.
public struct UnsafeTransfer<Value>: @unchecked Sendable {
  public let value: Value
  public init(_ value: Value) { self.value = value }
}

/// Runs blocking work on its own thread (not on Swift concurrency's small cooperative pool, which
/// a blocked libpq call would starve) and lets the test wait for its result.
public final class BackgroundWork<T>: @unchecked Sendable {
  // Safety: `outcome` is written once by the worker before `done` is signalled, and read after.
  private var outcome: Result<T, any Error>?
  private let done = DispatchSemaphore(value: 0)

  public init(_ work: @escaping @Sendable () throws -> T) {
    let thread = Thread { [self] in
      let result = Result { try work() }
      self.outcome = result
      self.done.signal()
    }
    thread.start()
  }

  /// Whether the work has ended (its result is ready for `wait`).
  public var isFinished: Bool {
    if done.wait(timeout: .now()) == .timedOut { return false }
    done.signal()
    return true
  }

  /// Waits for the work; throws its error, or `TimeoutError` after `timeout` seconds.
  public func wait(timeout: Double = 60) throws -> T {
    if done.wait(timeout: .now() + timeout) == .timedOut { throw TimeoutError(what: "background work") }
    done.signal()  // later waits return at once
    return try outcome!.get()
  }
}
