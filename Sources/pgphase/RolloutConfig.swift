import Foundation
import PGPhaseModel
import Yams

/// The `rollout:` section of `.pgphase.yaml`: hooks, webhook and contract-guard window that a
/// team sets once instead of on every `apply`/`advance` command line. Flags override it.
///
///     rollout:
///       before_phase: ./scripts/snapshot.sh
///       after_phase: ./scripts/announce.sh
///       notify: https://hooks.slack.com/services/...
///       guard_window: 15m
struct RolloutConfig: Equatable {
  var beforePhase: String?
  var afterPhase: String?
  var notify: String?
  var guardWindow: String?

  static let keys = ["before_phase", "after_phase", "notify", "guard_window"]

  /// Reads `path`, or `.pgphase.yaml` in the current folder when nil (absent: an empty config).
  /// - Throws: `DiagnosticsError` with file:line:column for a bad section or an unreadable file.
  static func load(path: String?) throws(DiagnosticsError) -> RolloutConfig {
    let file = path ?? ".pgphase.yaml"
    guard let data = FileManager.default.contents(atPath: file) else {
      if path == nil { return RolloutConfig() }
      throw DiagnosticsError([.error("cannot read config file", at: SourceLocation(file: file, line: 1, column: 1))])
    }
    return try parse(String(decoding: data, as: UTF8.self), file: file)
  }

  static func parse(_ text: String, file: String) throws(DiagnosticsError) -> RolloutConfig {
    func location(_ node: Node?) -> SourceLocation {
      SourceLocation(file: file, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1)
    }
    let root: Node?
    do {
      root = try Yams.compose(yaml: text)
    } catch {
      throw DiagnosticsError([.error("invalid YAML: \(error)", at: location(nil))])
    }
    guard let section = root?.mapping?["rollout"] else { return RolloutConfig() }
    guard let mapping = section.mapping else {
      throw DiagnosticsError([
        .error("'rollout' must be a mapping with keys \(keys.joined(separator: ", "))", at: location(section))
      ])
    }
    var config = RolloutConfig()
    var problems: [Diagnostic] = []
    for (keyNode, value) in mapping {
      let key = keyNode.string ?? ""
      guard keys.contains(key) else {
        let near = keys.first { $0.hasPrefix(String(key.prefix(3))) }
        problems.append(
          .error(
            "unknown key 'rollout.\(key)'", at: location(keyNode),
            hint: near.map { "did you mean '\($0)'?" } ?? "expected one of: \(keys.joined(separator: ", "))"))
        continue
      }
      guard let string = value.string, value.scalar != nil else {
        problems.append(.error("'rollout.\(key)' must be a string", at: location(value)))
        continue
      }
      switch key {
      case "before_phase": config.beforePhase = string
      case "after_phase": config.afterPhase = string
      case "notify": config.notify = string
      default: config.guardWindow = string
      }
    }
    if !problems.isEmpty { throw DiagnosticsError(problems) }
    return config
  }
}
