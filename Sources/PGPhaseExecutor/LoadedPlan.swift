public import Foundation
public import PGPhaseModel

/// A plan read from `plans/<intent>/plan.json` (or from the journal), with its stable hash.
public struct LoadedPlan: Sendable {
  /// The plan, converted to the current model when it was written in an older format.
  public var plan: Plan
  /// The format it was written in; its hash is computed in that format.
  public var format: Int
  /// The plan re-encoded as JSON with sorted keys in `format`: independent of whitespace and key
  /// order, and for a format-1 file the same bytes the pgphase that wrote it hashed.
  public var canonicalJSON: String
  /// `fnv1a64:<16 hex digits>`: 64-bit FNV-1a of `canonicalJSON`'s UTF-8 bytes. Not a
  /// cryptographic hash: it detects edits, it does not resist forgery.
  public var hash: String

  /// A plan made in memory (current format).
  public init(_ plan: Plan) throws {
    try self.init(PlanDocument(plan: plan))
  }

  /// A plan as read, in the format it was written in.
  public init(_ document: PlanDocument) throws {
    plan = document.plan
    format = document.format
    canonicalJSON = try document.canonicalJSON(asFormat: document.format)
    hash = Self.hash(canonicalJSON)
  }

  /// The hash the plan would have in `format`, to compare with one recorded by a pgphase that
  /// wrote that format: a journal from before an upgrade still matches the same plan re-planned.
  public func hash(asFormat format: Int) throws -> String {
    format == self.format ? hash : Self.hash(try PlanDocument(plan: plan).canonicalJSON(asFormat: format))
  }

  static func hash(_ json: String) -> String { "fnv1a64:" + fnv1a64Hex(Data(json.utf8)) }

  /// Reads every `<dir>/*/plan.json`, sorted by intent id.
  /// - Throws: `ExecutorError.badPlans` when the folder or a plan cannot be read.
  public static func loadAll(from dir: String) throws -> [LoadedPlan] {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
      throw ExecutorError.badPlans(path: dir, problem: "not a folder of plans")
    }
    let entries = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    var plans: [LoadedPlan] = []
    for entry in entries where fm.fileExists(atPath: "\(dir)/\(entry)/plan.json") {
      plans.append(try load(path: "\(dir)/\(entry)/plan.json"))
    }
    return plans.sorted { $0.plan.intent < $1.plan.intent }
  }

  /// Reads one plan.json of any readable format.
  public static func load(path: String) throws -> LoadedPlan {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ExecutorError.badPlans(path: path, problem: "cannot read the file")
    }
    return try decode(data, from: path)
  }

  /// Reads plan JSON; `source` names where it came from in errors (a path, or the journal).
  public static func decode(_ data: Data, from source: String) throws -> LoadedPlan {
    do {
      return try LoadedPlan(try PlanDocument.decode(data))
    } catch let error as PlanReadError {
      throw ExecutorError.badPlans(path: source, problem: error.description)
    }
  }
}

/// 64-bit FNV-1a as 16 hex digits: tiny, deterministic, enough to detect edits.
func fnv1a64Hex(_ data: Data) -> String {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325
  for byte in data {
    hash ^= UInt64(byte)
    hash = hash &* 0x0000_0100_0000_01b3
  }
  let hex = String(hash, radix: 16)
  return String(repeating: "0", count: 16 - hex.count) + hex
}
