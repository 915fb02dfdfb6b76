public import PGPhaseModel
import Yams

/// `.pgphase.yaml`: which rules run, the server version, excluded paths and whether the runner
/// wraps each file in a transaction. Unknown keys and unknown rule ids are located errors.
public struct LintConfig: Hashable, Sendable {
  public var enable: [Rule] = []
  public var disable: [Rule] = []
  public var pgVersion: Int?
  public var exclude: [String] = []
  public var transactionalFiles: Bool?
  /// Globs of files the runner does not wrap in a transaction even when `transactionalFiles` is
  /// true (`no_transaction_files`), e.g. the files of a tool's non-transactional migrations.
  public var noTransactionFiles: [String] = []

  public init() {}

  /// Whether the runner wraps `path` in a transaction, as far as the config says.
  public func transactional(path: String) -> Bool? {
    if noTransactionFiles.contains(where: { Glob.matches($0, path) }) { return false }
    return nil
  }

  public static let fileName = ".pgphase.yaml"

  /// The options this config gives, starting from the defaults (or a `--pg-version` flag).
  public func options(pgVersionOverride: Int? = nil) -> LintOptions {
    var rules = Rule.defaultEnabled
    rules.formUnion(enable)
    rules.subtract(disable)
    return LintOptions(
      pgVersion: pgVersionOverride ?? pgVersion ?? 15, enabledRules: rules, transactionalFiles: transactionalFiles ?? false)
  }

  /// Parses the config text; every problem is reported, with its line and column.
  public static func parse(_ text: String, file: String) throws(DiagnosticsError) -> LintConfig {
    var config = LintConfig()
    var problems: [Diagnostic] = []
    func location(_ node: Node) -> SourceLocation {
      SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }
    let root: Node?
    do {
      root = try Yams.compose(yaml: text)
    } catch let error as YamlError {
      throw DiagnosticsError([.error("invalid YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))])
    } catch {
      throw DiagnosticsError([.error("invalid YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))])
    }
    guard let root else { return config }
    guard let mapping = root.mapping else {
      throw DiagnosticsError([.error("the config must be a mapping of keys to values", at: location(root))])
    }
    func rules(_ node: Node) -> [Rule] {
      guard let sequence = node.sequence else {
        problems.append(.error("expected a list of rule ids", at: location(node)))
        return []
      }
      var result: [Rule] = []
      for item in sequence {
        guard let id = item.string, let rule = Rule(rawValue: id), !rule.isMeta else {
          let near = Rule.allCases.map(\.rawValue).first { $0.hasPrefix(String((item.string ?? "").prefix(6))) }
          problems.append(
            .error(
              "unknown rule '\(item.string ?? "")'", at: location(item),
              hint: near.map { "did you mean '\($0)'? (`pgphase lint --list-rules` lists them all)" }))
          continue
        }
        result.append(rule)
      }
      return result
    }
    for (keyNode, value) in mapping {
      let key = keyNode.string ?? ""
      switch key {
      case "rules":
        guard let rulesMapping = value.mapping else {
          problems.append(.error("'rules' must be a mapping with 'enable' and/or 'disable'", at: location(value)))
          continue
        }
        for (ruleKey, list) in rulesMapping {
          switch ruleKey.string {
          case "enable": config.enable = rules(list)
          case "disable": config.disable = rules(list)
          default:
            problems.append(
              .error("unknown key 'rules.\(ruleKey.string ?? "")'", at: location(ruleKey), hint: "expected 'enable' or 'disable'")
            )
          }
        }
      case "pg_version":
        if let v = value.int, (9...30).contains(v) {
          config.pgVersion = v
        } else {
          problems.append(.error("'pg_version' must be a PostgreSQL major version such as 15", at: location(value)))
        }
      case "exclude":
        if let sequence = value.sequence, sequence.allSatisfy({ $0.string != nil }) {
          config.exclude = sequence.compactMap(\.string)
        } else {
          problems.append(.error("'exclude' must be a list of glob patterns", at: location(value)))
        }
      case "transactional_files":
        if let b = value.bool {
          config.transactionalFiles = b
        } else {
          problems.append(.error("'transactional_files' must be true or false", at: location(value)))
        }
      case "no_transaction_files":
        if let globs = Self.globList(value) {
          config.noTransactionFiles = globs
        } else {
          problems.append(.error("'no_transaction_files' must be a list of glob patterns", at: location(value)))
        }
      case "rollout":
        continue  // hooks, webhook and contract guard of apply/advance: read and checked by the CLI
      default:
        problems.append(
          .error(
            "unknown key '\(key)'", at: location(keyNode),
            hint: "expected one of: rules, pg_version, exclude, transactional_files, no_transaction_files, rollout"))
      }
    }
    if !problems.isEmpty { throw DiagnosticsError(problems) }
    return config
  }
}

extension LintConfig {
  /// A list of glob strings (the `no_transaction_files` setting), nil when the node is not one.
  fileprivate static func globList(_ node: Node) -> [String]? {
    guard let sequence = node.sequence, sequence.allSatisfy({ $0.string != nil }) else { return nil }
    return sequence.compactMap(\.string)
  }
}
