public import Foundation

/// A plan as read from plan.json (or from the journal, which stores the same JSON), in whichever
/// format it was written: the executor runs plans of older formats, converted on reading.
public struct PlanDocument: Sendable {
  /// Formats this pgphase reads: 1 (converted, see `PlanFormat1`) and the current one.
  public static let readableFormats = [1, Plan.currentFormat]

  /// The plan, in the current format's model whatever it was written in.
  public var plan: Plan
  /// The format it was written in.
  public var format: Int

  /// A plan and the format it was read in (current for a plan made in memory).
  public init(plan: Plan, format: Int = Plan.currentFormat) {
    self.plan = plan
    self.format = format
  }

  /// Reads a plan of any readable format.
  /// - Throws: `PlanReadError` saying what is wrong and, for what cannot be read, how to re-plan.
  public static func decode(_ data: Data) throws(PlanReadError) -> PlanDocument {
    struct Header: Decodable { var format: Int? }
    let format: Int
    do {
      guard let found = try JSONDecoder().decode(Header.self, from: data).format else {
        throw PlanReadError.malformed("no `format` field: not a pgphase plan")
      }
      format = found
    } catch let error as PlanReadError {
      throw error
    } catch {
      throw PlanReadError.malformed(describe(error))
    }
    switch format {
    case Plan.currentFormat:
      do {
        return PlanDocument(plan: try JSONDecoder().decode(Plan.self, from: data), format: format)
      } catch {
        throw PlanReadError.malformed(describe(error))
      }
    case 1:
      return PlanDocument(plan: try PlanFormat1.read(data), format: 1)
    default:
      throw PlanReadError.unsupportedFormat(format)
    }
  }

  /// The plan as JSON in `format` (1 or current) with sorted keys and no whitespace: what its
  /// hash is computed from. A format-1 document gives back the bytes the pgphase that wrote it
  /// hashed, so its hash, and the release ids made from it, stay the same.
  public func canonicalJSON(asFormat format: Int) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = format == 1 ? try encoder.encode(PlanFormat1.project(plan)) : try encoder.encode(plan)
    return String(decoding: data, as: UTF8.self)
  }

  /// Decoding errors name the path to the bad field (`phases[0].steps[3].action`).
  static func describe(_ error: any Error) -> String {
    guard let error = error as? DecodingError else { return "\(error)" }
    func path(_ context: DecodingError.Context) -> String {
      let parts = context.codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }
      let joined = parts.joined()
      return joined.isEmpty ? "" : " at \(joined.hasPrefix(".") ? String(joined.dropFirst()) : joined)"
    }
    switch error {
    case .dataCorrupted(let context): return "\(context.debugDescription)\(path(context))"
    case .keyNotFound(let key, let context): return "missing `\(key.stringValue)`\(path(context))"
    case .typeMismatch(let type, let context): return "expected \(type)\(path(context))"
    case .valueNotFound(let type, let context): return "missing \(type) value\(path(context))"
    @unknown default: return "\(error)"
    }
  }
}

/// Why a plan could not be read.
public enum PlanReadError: Error, Sendable, Equatable, CustomStringConvertible {
  /// Not JSON, or not a plan of the format it claims.
  case malformed(String)
  /// A format this pgphase does not know (newer, or never existed).
  case unsupportedFormat(Int)
  /// A format-1 step whose action cannot be derived safely from what that format stored.
  case unconvertible(step: String, reason: String)

  /// What is wrong and what to do: upgrade pgphase, or re-plan.
  public var description: String {
    switch self {
    case .malformed(let what): "not a readable pgphase plan: \(what)"
    case .unsupportedFormat(let format):
      "plan format \(format) is not supported (this pgphase reads formats \(PlanDocument.readableFormats.map(String.init).joined(separator: " and "))): "
        + (format > Plan.currentFormat ? "upgrade pgphase" : "re-plan with `pgphase plan`")
    case .unconvertible(let step, let reason):
      "step \(step) of this format-1 plan cannot be converted (\(reason)): re-plan with `pgphase plan` and apply the new plans"
    }
  }
}
