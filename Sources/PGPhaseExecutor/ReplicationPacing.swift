import Foundation
import PGPhasePostgres

extension ReplicationReading {
  /// One round trip: the server's clock and WAL position, every replica (a base backup's
  /// walsender excluded: it replays nothing) and every slot.
  static let query = """
    SELECT extract(epoch FROM clock_timestamp())::float8 AS now,
      (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::int8 AS lsn,
      (SELECT coalesce(json_agg(json_build_object(
          'name', coalesce(r.application_name, ''), 'pid', r.pid, 'state', r.state,
          'replay_lag', extract(epoch FROM r.replay_lag), 'flush_lag', extract(epoch FROM r.flush_lag),
          'replay_lsn', (r.replay_lsn - '0/0'::pg_lsn)::int8, 'reply_time', extract(epoch FROM r.reply_time))), '[]')
        FROM pg_stat_replication r WHERE r.state IS DISTINCT FROM 'backup')::text AS replicas,
      (SELECT coalesce(json_agg(json_build_object(
          'name', s.slot_name, 'type', s.slot_type, 'active', s.active,
          'retained', CASE WHEN NOT pg_is_in_recovery() THEN (pg_current_wal_lsn() - s.restart_lsn)::int8 END)), '[]')
        FROM pg_replication_slots s)::text AS slots
    """

  /// Reads the replication state on `c` (outside any transaction the caller cares about: it is
  /// one autocommit SELECT of catalog views).
  static func read(on c: Connection) throws -> ReplicationReading {
    let row = try c.execute(query).first
    let decoder = JSONDecoder()
    let replicas = try decoder.decode([Replica].self, from: Data((row?["replicas"] ?? "[]").utf8))
    let slots = try decoder.decode([Slot].self, from: Data((row?["slots"] ?? "[]").utf8))
    return ReplicationReading(
      time: try row?.double("now") ?? 0, lsn: UInt64(max(0, try row?.int("lsn") ?? 0)), replicas: replicas, slots: slots)
  }
}

extension StepRunner {
  /// Waits while replication is past the limits of `options.pacing` (see `Pacer`), logging when
  /// a pause starts and ends and handing the pause reason to `show` (nil when the pause ends),
  /// for the progress line. Costs nothing but one catalog read a second when the server has no
  /// replica and no slot.
  func pace(_ label: String, show: ((String?) -> Void)? = nil) throws {
    let clock = { ProcessInfo.processInfo.systemUptime }
    guard pacer.wantsReading(at: clock()) else { return }
    var pausedSince: Double?
    while true {
      try checkInterrupted()
      let decision = pacer.decide(try ReplicationReading.read(on: c), at: clock())
      for note in decision.notes { log("\(label): \(note)") }
      guard case .pause(let reason, let seconds) = decision.action else {
        if let pausedSince {
          log("\(label): resumed after pausing \(formatSeconds(clock() - pausedSince))")
          show?(nil)
        }
        return
      }
      if pausedSince == nil {
        pausedSince = clock()
        log("\(label): paused: \(reason)")
      }
      show?("paused: \(reason)")
      Thread.sleep(forTimeInterval: min(max(seconds, 0.05), 1))
    }
  }

  /// Before a step that cannot be paced once started (an index build): waits while replication
  /// is past its limits, the reason on a progress line of its own.
  func paceStart(_ label: String) throws {
    var progress: ProgressReporter?
    try pace(label) { reason in
      if let reason {
        if progress == nil { progress = self.makeProgress(label: label) }
        progress?.update(done: 0, total: nil, unit: "", detail: "waiting to start, \(reason)")
      } else {
        progress?.finish()
      }
    }
  }
}
