import PGPhaseExecutor
import Testing

/// Retry policy and batch sizing are plain functions: tested here without a database or a clock.
@Suite struct RetryAndBatchSizingTests {
  @Test func retryDelaysDoubleUpToTheCapWithinTheJitter() {
    let policy = RetryPolicy(baseDelay: 0.2, maxDelay: 30, maxRetries: 10, deadline: 300)
    #expect(policy.delay(forRetry: 0, jitter: 1) == 0.2)
    #expect(policy.delay(forRetry: 3, jitter: 1) == 1.6)
    #expect(policy.delay(forRetry: 3, jitter: 0.5) == 0.8)
    #expect(policy.delay(forRetry: 3, jitter: 1.5) == 2.4000000000000004)
    #expect(policy.delay(forRetry: 20, jitter: 1) == 30)
    #expect(policy.delay(forRetry: 1000, jitter: 1.5) == 45)
    for retry in 0..<12 {
      let d = policy.delay(forRetry: retry)
      let raw = min(30, 0.2 * Double(1 << retry))
      #expect(d >= raw * 0.5 && d <= raw * 1.5, "retry \(retry): \(d)")
    }
  }

  @Test func retriesStopAtTheCountOrBeforeTheDeadline() {
    let policy = RetryPolicy(baseDelay: 0.2, maxDelay: 30, maxRetries: 3, deadline: 10)
    #expect(!policy.givesUp(afterRetries: 0, elapsed: 0, nextDelay: 0.2))
    #expect(!policy.givesUp(afterRetries: 2, elapsed: 5, nextDelay: 4.9))
    #expect(policy.givesUp(afterRetries: 3, elapsed: 1, nextDelay: 0.1), "the count")
    #expect(policy.givesUp(afterRetries: 1, elapsed: 8, nextDelay: 2.5), "waiting would pass the deadline")
  }

  /// Timings are powers of two so the expected sizes are exact.
  @Test func batchesGrowAtMostHalfAgainAndAimAtTheTarget() {
    var sizer = BatchSizer(target: 0.125, limit: 200_000)
    // 2^-17 s a row: 16384 rows would take the target, but a batch grows at most 1.5x.
    #expect(sizer.next(after: 1024, took: 1024 * 0x1p-17, size: 1024) == 1536)
    #expect(sizer.next(after: 1536, took: 1536 * 0x1p-17, size: 1536) == 2304)
    // A slow batch (2^-10 s a row) shrinks the next one at once to what fits the target.
    #expect(sizer.next(after: 2304, took: 2304 * 0x1p-10, size: 2304) == 128)
    // A fast one after it counts only in part (smoothed): 182, not 192 (1.5x) or 16384.
    #expect(sizer.next(after: 128, took: 128 * 0x1p-17, size: 128) == 182)
  }

  /// One stalled batch (a lock wait, a checkpoint, a loaded machine) shrinks the next to a single
  /// row; fast batches after it grow it back to the limit. (A one-row batch used to stay one row
  /// for good: 1.5 times 1, rounded down, is 1. Measured: 29,000 batches for 45,000 rows.)
  @Test func aOneRowBatchGrowsAgain() {
    var sizer = BatchSizer(target: 0.1, limit: 5000)
    var size = sizer.next(after: 500, took: 60, size: 500)
    #expect(size == 1)
    for _ in 0..<40 { size = sizer.next(after: size, took: Double(size) * 0.00001, size: size) }
    #expect(size == 5000)
    var fresh = BatchSizer(target: 0.1, limit: 5000)
    #expect(fresh.next(after: 1, took: 0.00001, size: 1) == 2, "a fast one-row batch grows by one row")
  }

  @Test func batchesStayWithinTheLimitAndAboveZero() {
    var sizer = BatchSizer(target: 0.1, limit: 5000)
    #expect(sizer.next(after: 4000, took: 0.0001, size: 4000) == 5000)
    var slow = BatchSizer(target: 0.1, limit: 5000)
    #expect(slow.next(after: 10, took: 100, size: 10) == 1)
    var empty = BatchSizer(target: 0.1, limit: 5000)
    #expect(empty.next(after: 0, took: 1, size: 42) == 42, "an empty batch says nothing about cost")
  }
}
