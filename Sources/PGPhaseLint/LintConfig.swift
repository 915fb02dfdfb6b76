/// The lint settings of `.pgphase.yaml`: which rules run, the server version, excluded paths and
/// whether the runner wraps each file in a transaction. A plain value: PGPhaseConfig reads it
/// from the file (with located errors), the linter only receives it.
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

  /// Whether the runner wraps `path` in a transaction, as far as the config says per file (nil:
  /// the `transactionalFiles` default applies).
  public func transactional(path: String) -> Bool? {
    noTransactionFiles.contains { Glob.matches($0, path) } ? false : nil
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
}
