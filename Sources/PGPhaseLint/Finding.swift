public import PGPhaseModel

/// One problem the linter found: a value, not an error.
public struct Finding: Hashable, Sendable, Codable {
  public var rule: Rule
  public var severity: Diagnostic.Severity
  public var message: String
  /// The safer way to write it, as concrete as the statement allows (often the exact SQL).
  public var help: String?
  public var location: SourceLocation
  /// The lock the offending statement takes, when there is one.
  public var lock: LockMode?

  public init(
    rule: Rule, severity: Diagnostic.Severity, message: String, help: String?, location: SourceLocation, lock: LockMode?
  ) {
    self.rule = rule
    self.severity = severity
    self.message = message
    self.help = help
    self.location = location
    self.lock = lock
  }

  public var diagnostic: Diagnostic {
    Diagnostic(severity, "\(message) [\(rule.rawValue)]", at: location, hint: help)
  }
}

/// What the linter is told about its environment.
public struct LintOptions: Hashable, Sendable {
  /// The PostgreSQL major version the migrations run on; version-dependent rules use it.
  public var pgVersion: Int
  /// Rules that run. Defaults to every rule enabled by default.
  public var enabledRules: Set<Rule>
  /// Whether the migration runner wraps each .sql file in one transaction (as Flyway does).
  public var transactionalFiles: Bool

  public init(pgVersion: Int = 15, enabledRules: Set<Rule> = Rule.defaultEnabled, transactionalFiles: Bool = false) {
    self.pgVersion = pgVersion
    self.enabledRules = enabledRules
    self.transactionalFiles = transactionalFiles
  }
}

extension Rule {
  public static let defaultEnabled: Set<Rule> = Set(allCases.filter(\.enabledByDefault))
}
