import Foundation
public import PGPhaseModel

/// A plan read from `plans/<intent>/plan.json`, with its stable hash.
public struct LoadedPlan: Sendable {
  public var plan: Plan
  /// The plan re-encoded as JSON with sorted keys: independent of whitespace and key order.
  public var canonicalJSON: String
  /// `fnv1a64:<16 hex digits>`: 64-bit FNV-1a of `canonicalJSON`'s UTF-8 bytes. Not a
  /// cryptographic hash: it detects edits, it does not resist forgery.
  public var hash: String

  public init(_ plan: Plan) throws {
    self.plan = plan
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(plan)
    canonicalJSON = String(decoding: data, as: UTF8.self)
    hash = "fnv1a64:" + fnv1a64Hex(data)
  }

  /// Reads every `<dir>/*/plan.json`, sorted by intent id.
  /// - Throws: `ExecutorError.badPlans` when the folder or a plan cannot be read.
  public static func loadAll(from dir: String) throws -> [LoadedPlan] {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
      throw ExecutorError.badPlans("\(dir) is not a folder of plans")
    }
    let entries = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    var plans: [LoadedPlan] = []
    for entry in entries where fm.fileExists(atPath: "\(dir)/\(entry)/plan.json") {
      plans.append(try load(path: "\(dir)/\(entry)/plan.json"))
    }
    return plans.sorted { $0.plan.intent < $1.plan.intent }
  }

  public static func load(path: String) throws -> LoadedPlan {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ExecutorError.badPlans("cannot read \(path)")
    }
    do {
      let plan = try JSONDecoder().decode(Plan.self, from: data)
      guard plan.format == Plan.currentFormat else {
        throw ExecutorError.badPlans("\(path): plan format \(plan.format) is not supported (expected \(Plan.currentFormat))")
      }
      return try LoadedPlan(plan)
    } catch let error as ExecutorError {
      throw error
    } catch {
      throw ExecutorError.badPlans("\(path): \(error)")
    }
  }
}

func fnv1a64Hex(_ data: Data) -> String {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325
  for byte in data {
    hash ^= UInt64(byte)
    hash = hash &* 0x0000_0100_0000_01b3
  }
  let hex = String(hash, radix: 16)
  return String(repeating: "0", count: 16 - hex.count) + hex
}

/// Why the executor stopped. `exitStatus` maps to the CLI contract.
public enum ExecutorError: Error, CustomStringConvertible {
  /// Plans folder unreadable or a plan malformed (exit 2).
  case badPlans(String)
  /// Bad request, e.g. an unknown intent (exit 2).
  case usage(String)
  /// Could not take the runner lock in time (exit 3).
  case lockWaitTimeout(seconds: Double, holder: String?)
  /// Could not reach the database (exit 3).
  case connection(String)
  /// A step failed; the journal records it (exit 1).
  case stepFailed(intent: String, step: String, error: PostgresErrorSummary)
  /// The plan changed after steps of it ran (exit 1).
  case planChanged(intent: String, reason: String)
  /// Phase order violated (exit 1).
  case phaseOrder(String)
  /// Rollback refused (exit 1).
  case rollbackRefused(String)
  /// SIGINT or SIGTERM: the running step was cancelled and journaled (exit 128 + signal).
  case interrupted(signal: Int32)
  /// The journal was written by a newer pgphase (exit 1).
  case journalTooNew(found: Int, supported: Int)

  public var exitStatus: Int32 {
    switch self {
    case .badPlans, .usage: 2
    case .lockWaitTimeout, .connection: 3
    case .interrupted(let signal): 128 + signal
    default: 1
    }
  }

  public var description: String {
    switch self {
    case .badPlans(let m): "bad plans: \(m)"
    case .usage(let m): m
    case .lockWaitTimeout(let s, let holder):
      "could not take the pgphase runner lock within \(formatSeconds(s))" + (holder.map { "; held by \($0)" } ?? "")
    case .connection(let m): m
    case .stepFailed(let intent, let step, let e): "\(intent) \(step) failed: \(e)"
    case .planChanged(let intent, let reason):
      "plan of \(intent) changed after some of its steps ran: \(reason). Revert the plan edit, or write a new intent for the change"
    case .phaseOrder(let m): m
    case .rollbackRefused(let m): m
    case .interrupted(let signal):
      "interrupted by signal \(signal): the running step was cancelled and journaled; rerun to continue"
    case .journalTooNew(let found, let supported):
      "the pgphase journal is at version \(found) but this pgphase supports up to \(supported): upgrade pgphase"
    }
  }
}

/// The parts of a failure worth printing and journaling.
public struct PostgresErrorSummary: Sendable, CustomStringConvertible {
  public var sqlState: String?
  public var message: String
  public var detail: String?
  public var statement: String?

  public init(sqlState: String?, message: String, detail: String?, statement: String?) {
    self.sqlState = sqlState
    self.message = message
    self.detail = detail
    self.statement = statement
  }

  public var description: String {
    var text = message
    if let sqlState { text += " (SQLSTATE \(sqlState))" }
    if let detail { text += "; detail: \(detail)" }
    if let statement { text += "; statement: \(statement)" }
    return text
  }
}

func formatSeconds(_ s: Double) -> String {
  if s < 1 { return "\(Int((s * 1000).rounded()))ms" }
  if s < 120 { return String(format: "%.1fs", s) }
  return String(format: "%.0fm%02.0fs", (s / 60).rounded(.down), s.truncatingRemainder(dividingBy: 60))
}
