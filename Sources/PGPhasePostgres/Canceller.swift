internal import CLibPQ
import Foundation

/// Cancels the statement a connection is running, from any thread: it wraps libpq's
/// `PGcancel`, which `PQcancel` may use concurrently with the connection and even from a
/// signal handler. Made by `Connection.makeCanceller()`; stays valid after the connection closes
/// (cancelling then does nothing useful).
///
/// Cancelling is a request: the server answers the running statement with SQLSTATE 57014
/// (`query_canceled`) on the connection's own thread, which then unwinds normally.
public final class Canceller: @unchecked Sendable {
  // Safety: `cancel` is only read; PQcancel is documented as thread-safe on one PGcancel.
  private let pgCancel: OpaquePointer

  init(_ pgCancel: OpaquePointer) { self.pgCancel = pgCancel }

  deinit { PQfreeCancel(pgCancel) }

  /// Asks the server to cancel the current statement of the connection.
  public func cancel() throws(CancelError) {
    var buffer = [CChar](repeating: 0, count: 256)
    let ok = buffer.withUnsafeMutableBufferPointer { PQcancel(pgCancel, $0.baseAddress, Int32($0.count)) }
    if ok != 1 {
      let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
      throw CancelError(message: message.trimmingCharacters(in: .whitespacesAndNewlines))
    }
  }
}

/// What `installCancelOnSignals` set up; keep it alive while the statement runs.
public final class SignalCancellation: @unchecked Sendable {
  // Safety: mutable state is guarded by `lock`.
  private let lock = NSLock()
  private var sources: [any DispatchSourceSignal] = []
  private var signals: [Int32] = []
  private var received: Int32?

  init() {}

  /// The first signal that arrived, if any: a caller exits with 128 + it (130 for SIGINT,
  /// 143 for SIGTERM) once it has cleaned up.
  public var receivedSignal: Int32? {
    lock.lock()
    defer { lock.unlock() }
    return received
  }

  fileprivate func install(_ signals: [Int32], canceller: Canceller, onSignal: (@Sendable (Int32) -> Void)?) {
    lock.lock()
    defer { lock.unlock() }
    self.signals = signals
    for number in signals {
      // Ignore the default action so the dispatch source sees the signal instead.
      Foundation.signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler { [weak self] in
        self?.handle(number, canceller: canceller, onSignal: onSignal)
      }
      source.resume()
      sources.append(source)
    }
  }

  private func handle(_ number: Int32, canceller: Canceller, onSignal: (@Sendable (Int32) -> Void)?) {
    lock.lock()
    let first = received == nil
    if first { received = number }
    let installed = signals
    lock.unlock()
    guard first else { return }
    // A second signal should stop the process at once: give every handled signal its default
    // action back, then cancel the running statement so the caller unwinds and cleans up.
    for number in installed { Foundation.signal(number, SIG_DFL) }
    try? canceller.cancel()
    onSignal?(number)
  }

  /// Stops handling the signals and restores their default actions.
  public func uninstall() {
    lock.lock()
    defer { lock.unlock() }
    for source in sources { source.cancel() }
    sources = []
    for number in signals { Foundation.signal(number, SIG_DFL) }
    signals = []
  }
}

/// Wires signals (nil means SIGINT and SIGTERM) to a `Canceller`.
///
/// The first signal cancels the running statement; the statement fails with SQLSTATE 57014 on
/// its own thread, so the caller records what happened (journal, logs) and exits with
/// `128 + receivedSignal`. The signals get their default action back at that moment, so a
/// second Ctrl-C (or SIGTERM from an impatient supervisor) ends the process at once.
/// `onSignal` runs on a dispatch queue after the cancel request was sent.
///
/// Signals are received through `DispatchSource`, so the handler runs on an ordinary thread,
/// not in signal context.
@discardableResult
public func installCancelOnSignals(
  _ canceller: Canceller, signals: [Int32]? = nil, onSignal: (@Sendable (Int32) -> Void)? = nil
) -> SignalCancellation {
  let cancellation = SignalCancellation()
  cancellation.install(signals ?? [SIGINT, SIGTERM], canceller: canceller, onSignal: onSignal)
  return cancellation
}
