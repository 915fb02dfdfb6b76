import Testing

@testable import PGPhaseExecutor

/// The pacing decision is a pure function of the readings (the server's clock and WAL positions
/// come in the readings): every rule is tested here without a server.
@Suite struct PacingTests {
  typealias Replica = ReplicationReading.Replica
  typealias Slot = ReplicationReading.Slot

  func reading(_ time: Double, lsn: UInt64, replicas: [Replica] = [], slots: [Slot] = []) -> ReplicationReading {
    ReplicationReading(time: time, lsn: lsn, replicas: replicas, slots: slots)
  }

  @Test func noReplicaNoSlotGoesAndReadsOncePerSecond() {
    var pacer = Pacer(limits: PacingLimits())
    #expect(pacer.wantsReading(at: 100))
    #expect(pacer.decide(reading(1000, lsn: 10), at: 100).action == .go)
    #expect(!pacer.wantsReading(at: 100.5), "nothing to pace for: no reading before a second has passed")
    #expect(pacer.wantsReading(at: 101))
    #expect(!Pacer(limits: .none).wantsReading(at: 0), "no limit: never read")
  }

  @Test func aReplicaOrSlotMeansAReadingBeforeEveryBatch() {
    var pacer = Pacer(limits: PacingLimits())
    _ = pacer.decide(reading(1000, lsn: 10, replicas: [Replica(name: "s1", replayLag: 0.1, replayLSN: 5)]), at: 100)
    #expect(pacer.wantsReading(at: 100.01))
    var slotted = Pacer(limits: PacingLimits())
    _ = slotted.decide(reading(1000, lsn: 10, slots: [Slot(name: "sub", active: true, retainedBytes: 5)]), at: 100)
    #expect(slotted.wantsReading(at: 100.01))
  }

  @Test func replayLagOverTheLimitPausesWithTheReplicaNamed() {
    var pacer = Pacer(limits: PacingLimits(maxReplicaLag: 10))
    let lagging = Replica(name: "standby1", replayLag: 14, flushLag: 0.2, replayLSN: 100)
    let d = pacer.decide(reading(1000, lsn: 500, replicas: [lagging]), at: 0)
    #expect(d.action == .pause(reason: "replica standby1 replay lag 14s > 10s", seconds: 0.5))
    let fine = Replica(name: "standby1", replayLag: 9, replayLSN: 100)
    #expect(pacer.decide(reading(1001, lsn: 600, replicas: [fine]), at: 1).action == .go)
  }

  @Test func flushLagCountsToo() {
    var pacer = Pacer(limits: PacingLimits(maxReplicaLag: 2))
    let d = pacer.decide(reading(1000, lsn: 500, replicas: [Replica(name: "r", replayLag: 1, flushLag: 3, replayLSN: 1)]), at: 0)
    #expect(d.action == .pause(reason: "replica r flush lag 3s > 2s", seconds: 0.5))
  }

  @Test func aReplicaThatReplayedEverythingHasNoLagWhateverWasMeasuredBefore() {
    var pacer = Pacer(limits: PacingLimits(maxReplicaLag: 1))
    let caughtUp = Replica(name: "r", replayLag: 30, replayLSN: 500)
    #expect(pacer.decide(reading(1000, lsn: 500, replicas: [caughtUp]), at: 0).action == .go)
  }

  /// Replay paused on the standby: the server keeps showing the last measured lag (small), but
  /// the standby's position stays behind WAL that the readings saw written long ago.
  @Test func aStandbyWhoseReplayStoppedIsDatedFromTheReadings() {
    var pacer = Pacer(limits: PacingLimits(maxReplicaLag: 5))
    let stuck = { (reply: Double) in Replica(name: "r", replayLag: 0.01, replayLSN: 1000, replyTime: reply) }
    #expect(pacer.decide(reading(100, lsn: 1000, replicas: [stuck(100)]), at: 0).action == .go)
    #expect(pacer.decide(reading(101, lsn: 2000, replicas: [stuck(101)]), at: 1).action == .go, "1s behind")
    // Replies keep coming with the same position; WAL passed it at t=101.
    let d = pacer.decide(reading(108, lsn: 9000, replicas: [stuck(107.5)]), at: 8)
    #expect(d.action == .pause(reason: "replica r replay lag 6.5s > 5s", seconds: 0.5))
    // It replays again and catches up.
    let moving = Replica(name: "r", replayLag: 6.5, replayLSN: 9000, replyTime: 109)
    #expect(pacer.decide(reading(109, lsn: 9000, replicas: [moving]), at: 9).action == .go)
  }

  @Test func activeSlotsOverTheLimitPauseInactiveOnesAreReportedOnce() {
    var pacer = Pacer(limits: PacingLimits(maxSlotWAL: 1 << 30))
    let active = Slot(name: "sub1", type: "logical", active: true, retainedBytes: 3 << 30)
    let inactive = Slot(name: "old", type: "logical", active: false, retainedBytes: 5 << 30)
    let d = pacer.decide(reading(1, lsn: 1, slots: [active, inactive]), at: 0)
    #expect(d.action == .pause(reason: "logical slot sub1 retains 3GB of WAL > 1GB", seconds: 0.5))
    #expect(d.notes.count == 1)
    #expect(d.notes.first?.contains("old retains 5GB") == true && d.notes.first?.contains("inactive") == true)
    let again = pacer.decide(reading(2, lsn: 1, slots: [inactive]), at: 1)
    #expect(again.action == .go, "an inactive slot is never waited for")
    #expect(again.notes.isEmpty, "reported once")
  }

  @Test func walRateIsATokenBucketOfOneSecond() {
    let mb: UInt64 = 1 << 20
    var pacer = Pacer(limits: PacingLimits(maxReplicaLag: nil, maxSlotWAL: nil, maxWALRate: Double(mb)))
    #expect(pacer.wantsReading(at: 0))
    #expect(pacer.decide(reading(0, lsn: 0), at: 0).action == .go)
    #expect(pacer.wantsReading(at: 0.01), "a rate limit reads before every batch")
    // Half a MB in half a second: within the rate.
    #expect(pacer.decide(reading(0.5, lsn: mb / 2), at: 0.5).action == .go)
    // Then 3 MB in the next half second: the burst allowance (1 MB) is used, 2 MB are paid back.
    let d = pacer.decide(reading(1.0, lsn: mb / 2 + 3 * mb), at: 1)
    guard case .pause(let reason, let seconds) = d.action else {
      Issue.record("expected a pause, got \(d.action)")
      return
    }
    #expect(reason == "WAL rate over 1MB/s")
    #expect(abs(seconds - 2.0) < 1e-9)
    // Having waited the 2 s, it goes on.
    #expect(pacer.decide(reading(3.0, lsn: mb / 2 + 3 * mb), at: 3).action == .go)
  }

  @Test func severalReasonsAreAllNamed() {
    var pacer = Pacer(limits: PacingLimits(maxReplicaLag: 1, maxSlotWAL: 100))
    let d = pacer.decide(
      reading(
        10, lsn: 1000,
        replicas: [Replica(name: "a", replayLag: 2, replayLSN: 1), Replica(name: "b", replayLag: 0.5, replayLSN: 2)],
        slots: [Slot(name: "s", type: "physical", active: true, retainedBytes: 200)]), at: 0)
    #expect(d.action == .pause(reason: "replica a replay lag 2s > 1s; physical slot s retains 200B of WAL > 100B", seconds: 0.5))
  }

  @Test func aRoleThatCannotSeeTheLagIsToldOnce() {
    var pacer = Pacer(limits: PacingLimits())
    let hidden = Replica(name: "", pid: 42, state: nil)
    let d = pacer.decide(reading(1, lsn: 1, replicas: [hidden]), at: 0)
    #expect(d.action == .go)
    #expect(
      d.notes == ["the lag of replica pid 42 is hidden from this role: grant it pg_monitor (or pg_read_all_stats) to pace by it"])
    #expect(pacer.decide(reading(2, lsn: 1, replicas: [hidden]), at: 1).notes.isEmpty)
  }

  @Test func sizesAndSecondsPrintShort() {
    #expect(Pacer.bytes(512) == "512B")
    #expect(Pacer.bytes(1 << 30) == "1GB")
    #expect(Pacer.bytes(1_500_000_000) == "1.4GB")
    #expect(Pacer.seconds(0.25) == "250ms")
    #expect(Pacer.seconds(14.2) == "14s")
    #expect(Pacer.seconds(2.5) == "2.5s")
    #expect(Pacer.seconds(300) == "5m00s")
  }
}
