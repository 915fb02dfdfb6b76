import ArgumentParser
import Foundation
import PGPhaseExecutor

/// Flags of `apply` and `advance` that pause backfills and index builds for replicas.
struct PacingFlags: ParsableArguments {
  @Option(
    name: .customLong("max-replica-lag"),
    help:
      "Pause backfill batches (and the start of index builds) while a replica's replay or flush lag is above this, e.g. 10s (0 turns it off)."
  )
  var maxReplicaLag: String = "10s"

  @Option(
    name: .customLong("max-slot-wal"),
    help:
      "Pause while an active replication slot retains more WAL than this, e.g. 1GB, 512MB (0 turns it off; inactive slots are reported, not waited for)."
  )
  var maxSlotWAL: String = "1GB"

  @Option(
    name: .customLong("max-wal-rate"),
    help:
      "Pace backfills so the server writes at most this much WAL a second, e.g. 20MB (all sessions' WAL, from pg_current_wal_lsn(); default: no limit)."
  )
  var maxWALRate: String?

  func limits() throws -> PacingLimits {
    let lag = try parseDuration(maxReplicaLag, flag: "--max-replica-lag")
    let slot = try parseSize(maxSlotWAL, flag: "--max-slot-wal")
    let rate = try maxWALRate.map { try parseSize($0, flag: "--max-wal-rate", perSecond: true) }
    if let rate, rate <= 0 { throw ValidationError("--max-wal-rate must be above 0") }
    return PacingLimits(
      maxReplicaLag: lag > 0 ? lag : nil, maxSlotWAL: slot > 0 ? slot : nil, maxWALRate: rate.map { Double($0) })
  }
}

/// `1GB`, `512MB`, `64kB`, `1048576` (bytes; units are 1024-based, as PostgreSQL's) as bytes;
/// with `perSecond`, a trailing `/s` is accepted.
func parseSize(_ text: String, flag: String, perSecond: Bool = false) throws -> Int64 {
  var t = text.trimmingCharacters(in: .whitespaces).lowercased()
  if perSecond, t.hasSuffix("/s") { t = String(t.dropLast(2)) }
  let units: [(String, Double)] = [("tb", 0x1p40), ("gb", 0x1p30), ("mb", 0x1p20), ("kb", 1024), ("b", 1)]
  var factor = 1.0
  for (suffix, f) in units where t.hasSuffix(suffix) {
    t = String(t.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces)
    factor = f
    break
  }
  guard let v = Double(t), v >= 0, v * factor < 0x1p62 else {
    throw ValidationError("\(flag): cannot read \"\(text)\" as a size (e.g. 1GB, 512MB, 64kB\(perSecond ? ", 20MB/s" : ""))")
  }
  return Int64((v * factor).rounded())
}
