public import PGPhaseLint
public import PGPhaseModel
public import PGPhaseYAML

/// `.pgphase.yaml`, every section read by one reader: the lint settings at the top level, the
/// `rollout:` section of apply/advance, the `schema:` file of plan. Every problem is reported at
/// its line and column, with a did-you-mean for a misspelt key. Each setting is one `YAMLKey`
/// declaration below; a new section is one `.section(...)` line and a field.
public struct ProjectConfig: Equatable, Sendable {
  public var lint = LintConfig()
  public var rollout = RolloutConfig()
  /// `schema:`, the schema file `plan` starts from when no `--schema` is given.
  public var schema: SchemaFileSetting?

  public init() {}

  public static let fileName = ".pgphase.yaml"
  /// Same bounds as intent files.
  public static let limits = YAMLLimits()

  /// The keys of the file. Lint settings stay at the top level, where they have always been.
  static var keys: [YAMLKey<ProjectConfig>] {
    lintKeys.map { $0.scoped(to: \.lint) } + [
      .section("rollout", \.rollout, keys: RolloutConfig.keys),
      YAMLKey("schema") { reader, node, config, path in
        if let text = reader.string(node, "`\(path)`") { config.schema = SchemaFileSetting(path: text, location: node.location) }
      },
    ]
  }

  static var lintKeys: [YAMLKey<LintConfig>] {
    [
      .section("rules", \.self, keys: [rules("enable", \.enable), rules("disable", \.disable)]),
      .int("pg_version", \.pgVersion, in: 9...30),
      .strings("exclude", \.exclude),
      .bool("transactional_files", \.transactionalFiles),
      .strings("no_transaction_files", \.noTransactionFiles),
    ]
  }

  /// A list of rule ids; an unknown id is an error at it with the closest rule.
  static func rules(_ name: String, _ field: WritableKeyPath<LintConfig, [Rule]>) -> YAMLKey<LintConfig> {
    YAMLKey(name) { reader, node, config, path in
      guard let items = reader.sequence(node, "`\(path)`", nonEmpty: false) else { return }
      let ids = Rule.allCases.filter { !$0.isMeta }.map(\.rawValue)
      var found: [Rule] = []
      for item in items {
        guard let id = reader.string(item, "each item of `\(path)`") else { continue }
        if let rule = Rule(rawValue: id), !rule.isMeta {
          found.append(rule)
        } else {
          let near = Suggest.closest(to: id, in: ids).map { "did you mean `\($0)`? " } ?? ""
          reader.error(
            "unknown rule `\(YAMLReader.excerpt(id))` in `\(path)`", at: item,
            hint: "\(near)(`pgphase lint --list-rules` lists them all)")
        }
      }
      config[keyPath: field] = found
    }
  }

  /// Parses the file's bytes. An empty file is the default config.
  /// - Throws: `DiagnosticsError` with every problem, sorted by position.
  public static func parse(_ bytes: some Collection<UInt8>, file: String) throws(DiagnosticsError) -> ProjectConfig {
    let (root, problems) = YAMLDocument.parse(bytes, file: file, limits: limits)
    if problems.hasErrors { throw DiagnosticsError(problems) }
    var config = ProjectConfig()
    guard let root else { return config }
    var reader = YAMLReader(file: file)
    reader.read(root, into: &config, keys: keys)
    if reader.diagnostics.hasErrors {
      throw DiagnosticsError(
        reader.diagnostics.sorted {
          ($0.location?.line ?? 0, $0.location?.column ?? 0) < ($1.location?.line ?? 0, $1.location?.column ?? 0)
        })
    }
    return config
  }

  /// Parses YAML text.
  public static func parse(_ text: String, file: String) throws(DiagnosticsError) -> ProjectConfig {
    try parse(Array(text.utf8), file: file)
  }
}

/// The `rollout:` section: hooks, webhook and contract-guard window that a team sets once
/// instead of on every `apply`/`advance` command line. Flags override it.
///
///     rollout:
///       before_phase: ./scripts/snapshot.sh
///       after_phase: ./scripts/announce.sh
///       notify: https://hooks.slack.com/services/...
///       guard_window: 15m
public struct RolloutConfig: Equatable, Sendable {
  public var beforePhase: String?
  public var afterPhase: String?
  public var notify: String?
  public var guardWindow: String?

  public init() {}

  static var keys: [YAMLKey<RolloutConfig>] {
    [
      .string("before_phase", \.beforePhase),
      .string("after_phase", \.afterPhase),
      .string("notify", \.notify),
      .string("guard_window", \.guardWindow),
    ]
  }
}

/// `schema: FILE` in `.pgphase.yaml`: the schema (`pgphase schema dump` or `pg_dump --schema-only`
/// output) that `plan` starts from, as `--schema` does. A relative path is relative to the config
/// file's folder, so the setting means the same file from wherever pgphase runs.
public struct SchemaFileSetting: Equatable, Sendable {
  /// As written.
  public var path: String
  /// Where it is written, for a file that cannot be read.
  public var location: SourceLocation

  public init(path: String, location: SourceLocation) {
    self.path = path
    self.location = location
  }

  /// The file, relative to the current folder: `path` under the config file's folder unless it is absolute.
  public var resolvedPath: String {
    if path.hasPrefix("/") { return path }
    let folder = location.file.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    return folder.isEmpty ? path : "\(folder)/\(path)"
  }
}
