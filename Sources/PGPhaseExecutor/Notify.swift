import Foundation
public import PGPhaseModel

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// One webhook event about a phase. `text` is what Slack's incoming webhooks show; the other
/// fields are for machines (Slack ignores them).
public struct PhaseEvent: Sendable, Codable, Equatable {
  /// Which moment of the phase.
  public enum Kind: String, Sendable, Codable {
    case started = "phase_started"
    case finished = "phase_finished"
    case failed = "phase_failed"
  }

  /// The one line Slack shows.
  public var text: String
  /// Which moment of the phase.
  public var event: Kind
  /// The phase.
  public var phase: Phase
  /// The intents of the phase group.
  public var intents: [String]
  /// The database's name, when known.
  public var database: String?
  /// `pgphase <command> <host>:<pid>`.
  public var runner: String
  /// Seconds the phase took (finished or failed).
  public var durationSeconds: Double?
  /// What failed, for a failed phase.
  public var error: String?

  /// An event; `text` is composed from the other fields.
  public init(
    kind: Kind, phase: Phase, intents: [String], database: String?, runner: String, seconds: Double?, error: String?
  ) {
    self.event = kind
    self.phase = phase
    self.intents = intents
    self.database = database
    self.runner = runner
    self.durationSeconds = seconds
    self.error = error
    let verb =
      switch kind {
      case .started: "started"
      case .finished: "finished"
      case .failed: "FAILED"
      }
    var text =
      "pgphase: \(phase.rawValue) \(verb) for \(intents.joined(separator: ", "))" + (database.map { " on \($0)" } ?? "")
    if let seconds { text += " in \(formatSeconds(seconds))" }
    if let error { text += ": \(error)" }
    self.text = text
  }

  enum CodingKeys: String, CodingKey {
    case text, event, phase, intents, database, runner, error
    case durationSeconds = "duration_seconds"
  }
}

/// Posts JSON to webhooks with Foundation's URLSession; blocking, with a timeout.
enum Notifier {
  /// Posts `event`; returns a description of what went wrong, or nil on a 2xx answer.
  static func post(_ event: PhaseEvent, to urlText: String, timeout: Double) -> String? {
    guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
      return "not an http(s) URL"
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard let body = try? encoder.encode(event) else { return "could not encode the event" }
    var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
    request.httpMethod = "POST"
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    request.httpBody = body
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    let task = URLSession.shared.dataTask(with: request) { _, response, error in
      if let error {
        outcome.set("\(error.localizedDescription)")
      } else if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
        outcome.set("the webhook answered HTTP \(http.statusCode)")
      }
      done.signal()
    }
    task.resume()
    if done.wait(timeout: .now() + timeout + 1) == .timedOut {
      task.cancel()
      return "no answer within \(formatSeconds(timeout))"
    }
    return outcome.get()
  }

  /// The completion handler's finding, handed back to the waiting thread.
  private final class Outcome: @unchecked Sendable {
    // Safety: every access holds `lock`.
    private let lock = NSLock()
    private var problem: String?
    func set(_ text: String) { lock.withLock { problem = text } }
    func get() -> String? { lock.withLock { problem } }
  }
}

/// A URL without user info, query or path: webhook URLs carry their secret in the path.
func redactURL(_ text: String) -> String {
  guard let url = URL(string: text), let host = url.host else { return "(webhook)" }
  return "\(url.scheme ?? "https")://\(host)\(url.port.map { ":\($0)" } ?? "")/…"
}
