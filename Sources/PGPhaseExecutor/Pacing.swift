import Foundation

/// How far replicas, replication slots and the WAL rate may go before long work pauses.
///
/// A backfill writes WAL as fast as the primary can, and a replica that replays it more slowly
/// falls behind: reads sent to it see stale data, and a slot's retained WAL fills the primary's
/// disk. Before each batch (and before an index build starts) the executor reads the replication
/// state and waits while a limit is passed (`Pacer`).
public struct PacingLimits: Sendable, Equatable {
  /// Seconds of replay (or flush) lag of a streaming replica that pause the work; nil: no limit.
  public var maxReplicaLag: Double?
  /// Bytes of WAL an active replication slot may retain; nil: no limit. Inactive slots are
  /// reported, not waited for: their consumer may never come back.
  public var maxSlotWAL: Int64?
  /// Bytes of WAL per second the server may write (all sessions, read from
  /// `pg_current_wal_lsn()`); nil: no limit.
  public var maxWALRate: Double?

  /// The defaults of `apply` and `advance`: 10 s of lag, 1 GiB retained, no rate limit.
  public init(maxReplicaLag: Double? = 10, maxSlotWAL: Int64? = 1 << 30, maxWALRate: Double? = nil) {
    self.maxReplicaLag = maxReplicaLag
    self.maxSlotWAL = maxSlotWAL
    self.maxWALRate = maxWALRate
  }

  /// No pacing at all.
  public static let none = PacingLimits(maxReplicaLag: nil, maxSlotWAL: nil, maxWALRate: nil)

  /// Whether any limit is set (otherwise nothing is ever read).
  public var isActive: Bool { maxReplicaLag != nil || maxSlotWAL != nil || maxWALRate != nil }
}

/// The replication state of the primary at one moment, as the executor reads it
/// (`ReplicationReading.read`); the pacing decision is made from these values alone.
package struct ReplicationReading: Sendable, Equatable {
  /// One row of `pg_stat_replication`.
  package struct Replica: Sendable, Equatable, Codable {
    /// `application_name` (the standby's `cluster_name` or `primary_conninfo` name).
    package var name: String
    package var pid: Int32
    /// `streaming`, `catchup`, `backup`, ...
    package var state: String?
    /// Seconds, from the server's own lag tracking; nil when not measured.
    package var replayLag: Double?
    package var flushLag: Double?
    /// WAL position (bytes) the standby reported replayed; nil when hidden or not reported.
    package var replayLSN: UInt64?
    /// Server time (epoch seconds) of the standby's last reply.
    package var replyTime: Double?

    package init(
      name: String, pid: Int32 = 0, state: String? = "streaming", replayLag: Double? = nil, flushLag: Double? = nil,
      replayLSN: UInt64? = nil, replyTime: Double? = nil
    ) {
      self.name = name
      self.pid = pid
      self.state = state
      self.replayLag = replayLag
      self.flushLag = flushLag
      self.replayLSN = replayLSN
      self.replyTime = replyTime
    }

    enum CodingKeys: String, CodingKey {
      case name, pid, state
      case replayLag = "replay_lag"
      case flushLag = "flush_lag"
      case replayLSN = "replay_lsn"
      case replyTime = "reply_time"
    }
  }

  /// One row of `pg_replication_slots`.
  package struct Slot: Sendable, Equatable, Codable {
    package var name: String
    /// `physical` or `logical`.
    package var type: String
    package var active: Bool
    /// Bytes of WAL kept for it (current position minus `restart_lsn`); nil without a restart point.
    package var retainedBytes: Int64?

    package init(name: String, type: String = "logical", active: Bool, retainedBytes: Int64?) {
      self.name = name
      self.type = type
      self.active = active
      self.retainedBytes = retainedBytes
    }

    enum CodingKeys: String, CodingKey {
      case name, type, active
      case retainedBytes = "retained"
    }
  }

  /// Server time, epoch seconds (`clock_timestamp()`).
  package var time: Double
  /// The current WAL write position in bytes (`pg_current_wal_lsn()`).
  package var lsn: UInt64
  package var replicas: [Replica]
  package var slots: [Slot]

  package init(time: Double, lsn: UInt64, replicas: [Replica] = [], slots: [Slot] = []) {
    self.time = time
    self.lsn = lsn
    self.replicas = replicas
    self.slots = slots
  }
}

/// Decides, from successive `ReplicationReading`s alone, whether long work may go on or must
/// wait, and why. Pure: the readings carry the server's clock, so it is tested without a server.
///
/// - A replica's lag is the larger of what the server measured (`replay_lag`, `flush_lag`) and
///   what the readings show: a standby whose replay is paused reports the same position while the
///   server's measured lag stays at its last value, so the lag is also taken as the time since the
///   first reading whose WAL position had passed the standby's replay position (as of its last
///   reply). A standby that has replayed everything has no lag, whatever was measured before.
/// - An active slot that retains more than the limit pauses; an inactive one is reported once.
/// - The WAL rate is a token bucket of one second's worth: WAL written beyond the rate is paid
///   back by waiting.
package struct Pacer: Sendable {
  package var limits: PacingLimits
  /// Seconds between readings while the last one showed no replica and no slot and no rate is
  /// set: one catalog query a second, so a server without replicas pays nothing measurable.
  package var idleReadInterval: Double = 1

  /// (server time, WAL position) of recent readings, oldest first.
  private(set) var history: [(time: Double, lsn: UInt64)] = []
  private var bucket: (time: Double, lsn: UInt64, tokens: Double)?
  private var reportedSlots: Set<String> = []
  private var reportedHidden = false
  private var lastReadAt: Double?
  private var lastHadReplication = false

  package init(limits: PacingLimits) { self.limits = limits }

  /// What to do next.
  package enum Action: Equatable {
    case go
    /// Wait (at most `seconds`, then read again) for the reason given, e.g. `replica standby1
    /// replay lag 14s > 10s`.
    case pause(reason: String, seconds: Double)
  }

  /// The action, and notes to log once (inactive slots over the limit).
  package struct Decision: Equatable {
    package var action: Action
    package var notes: [String] = []
  }

  /// Whether to read the replication state now (local monotonic seconds): always when a rate is
  /// set or the last reading showed replication, else once per `idleReadInterval`.
  package func wantsReading(at now: Double) -> Bool {
    guard limits.isActive else { return false }
    if limits.maxWALRate != nil || lastHadReplication { return true }
    guard let lastReadAt else { return true }
    return now - lastReadAt >= idleReadInterval
  }

  /// Takes a reading made at local time `now` and decides.
  package mutating func decide(_ r: ReplicationReading, at now: Double) -> Decision {
    lastReadAt = now
    lastHadReplication = !r.replicas.isEmpty || !r.slots.isEmpty
    record(r)
    var notes: [String] = []
    var reasons: [(String, Double)] = []
    if let limit = limits.maxReplicaLag {
      if !reportedHidden, let hidden = r.replicas.first(where: { $0.state == nil }) {
        reportedHidden = true
        notes.append(
          "the lag of replica pid \(hidden.pid) is hidden from this role: grant it pg_monitor (or pg_read_all_stats) to pace by it"
        )
      }
      for replica in r.replicas where replica.state != nil {
        let (lag, kind) = Self.lag(of: replica, in: r, history: history)
        if lag > limit {
          reasons.append(("replica \(replica.name) \(kind) lag \(Self.seconds(lag)) > \(Self.seconds(limit))", 0.5))
        }
      }
    }
    if let limit = limits.maxSlotWAL {
      for slot in r.slots {
        guard let retained = slot.retainedBytes, retained > limit else {
          reportedSlots.remove(slot.name)
          continue
        }
        let what = "\(slot.type) slot \(slot.name) retains \(Self.bytes(retained)) of WAL > \(Self.bytes(limit))"
        if slot.active {
          reasons.append((what, 0.5))
        } else if reportedSlots.insert(slot.name).inserted {
          notes.append(
            "\(what), but it is inactive: not waiting for it (its consumer may never return); drop it or bring it back")
        }
      }
    }
    if let rate = limits.maxWALRate, rate > 0 {
      let wait = payForWAL(r, rate: rate)
      if wait > 0 {
        reasons.append(("WAL rate over \(Self.bytes(Int64(rate)))/s", wait))
      }
    }
    guard !reasons.isEmpty else { return Decision(action: .go, notes: notes) }
    let reason = reasons.map(\.0).joined(separator: "; ")
    return Decision(action: .pause(reason: reason, seconds: reasons.map(\.1).max() ?? 0.5), notes: notes)
  }

  /// Keeps the readings of the last few minutes (enough to date any lag worth pausing for).
  private mutating func record(_ r: ReplicationReading) {
    if let last = history.last, last.lsn == r.lsn {
      return  // nothing written since: the older sample dates that position better
    }
    history.append((r.time, r.lsn))
    let horizon = r.time - max(600, 2 * (limits.maxReplicaLag ?? 0))
    if let keep = history.firstIndex(where: { $0.time >= horizon }), keep > 0 { history.removeFirst(keep) }
    if history.count > 10_000 { history.removeFirst(history.count - 10_000) }
  }

  /// The token bucket: seconds to wait so the WAL written since the bucket started stays within
  /// `rate` bytes a second plus one second of burst.
  private mutating func payForWAL(_ r: ReplicationReading, rate: Double) -> Double {
    guard let b = bucket else {
      bucket = (r.time, r.lsn, rate)
      return 0
    }
    let written = r.lsn >= b.lsn ? Double(r.lsn - b.lsn) : 0
    let tokens = min(rate, b.tokens + rate * max(0, r.time - b.time)) - written
    bucket = (r.time, r.lsn, tokens)
    return tokens < 0 ? -tokens / rate : 0
  }

  /// A replica's lag in seconds and which measure it is (`replay`, `flush`).
  static func lag(of replica: ReplicationReading.Replica, in r: ReplicationReading, history: [(time: Double, lsn: UInt64)])
    -> (Double, String)
  {
    if let replayed = replica.replayLSN, replayed >= r.lsn { return (0, "replay") }
    var lag = replica.replayLag ?? 0
    var kind = "replay"
    if let flush = replica.flushLag, flush > lag {
      lag = flush
      kind = "flush"
    }
    if let replayed = replica.replayLSN, let first = history.first(where: { $0.lsn > replayed }) {
      let asOf = replica.replyTime ?? r.time
      if asOf - first.time > lag {
        lag = asOf - first.time
        kind = "replay"
      }
    }
    return (lag, kind)
  }

  /// `14s`, `1.5s`, `2s`, `250ms`.
  static func seconds(_ s: Double) -> String {
    if s < 1 { return "\(Int((s * 1000).rounded()))ms" }
    if s >= 120 { return formatSeconds(s.rounded()) }
    if s < 10, s != s.rounded() { return String(format: "%.1fs", s) }
    return "\(Int(s.rounded()))s"
  }

  /// `512MB`, `1.2GB`, 1024-based as PostgreSQL prints sizes.
  package static func bytes(_ n: Int64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var value = Double(n)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    if unit == 0 || value >= 100 || value == value.rounded() { return "\(Int(value.rounded()))\(units[unit])" }
    return String(format: "%.1f", value) + units[unit]
  }
}
