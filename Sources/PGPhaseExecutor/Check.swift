import Foundation
public import PGPhaseModel
public import PGPhasePostgres

/// What an app release was built with: the intents of its plans folder and what it needs of each.
public struct ReleaseManifest: Sendable, Equatable {
  /// What an app needs of one intent to start.
  public enum Need: String, Sendable {
    /// Expand and backfill done: the default, since an app usually reads what backfill writes.
    case backfill
    /// Expand done is enough: the app does not read backfilled data of this intent.
    case expand
    /// Nothing: the intent has no expand or backfill steps.
    case none
  }

  /// Intent ids with their needs, sorted by id.
  public var intents: [(id: String, need: Need)]
  /// `r-<16 hex>` from the ids and plan hashes, unless a name was given.
  public var release: String

  /// - Parameter expandOnly: intents the app works with before their backfill is done.
  public init(plans: [LoadedPlan], expandOnly: Set<String> = [], name: String? = nil) {
    intents = plans.sorted { $0.plan.intent < $1.plan.intent }.map { lp in
      let plan = lp.plan
      if plan.steps(in: .expand).isEmpty && plan.steps(in: .backfill).isEmpty { return (plan.intent, .none) }
      return (plan.intent, expandOnly.contains(plan.intent) || plan.steps(in: .backfill).isEmpty ? .expand : .backfill)
    }
    let fingerprint = plans.map { "\($0.plan.intent) \($0.hash)\n" }.sorted().joined()
    release = name ?? "r-" + fnv1a64Hex(Data(fingerprint.utf8))
  }

  /// Same release and the same needs per intent (the tuples are not Equatable).
  public static func == (a: ReleaseManifest, b: ReleaseManifest) -> Bool {
    a.release == b.release && a.intents.map { "\($0.id):\($0.need.rawValue)" } == b.intents.map { "\($0.id):\($0.need.rawValue)" }
  }

  /// The `known` argument of `pgphase.check_compatible`.
  public var sqlArgument: [String] {
    intents.map { $0.need == .backfill ? $0.id : "\($0.id):\($0.need.rawValue)" }
  }

  /// The one query an app runs at start-up (for docs and `pgphase check --print-sql`).
  public func startupQuery(host: String? = nil) -> String {
    let array = "ARRAY[" + sqlArgument.map { SQLLiteral.quote($0) }.joined(separator: ", ") + "]::text[]"
    let hostSQL = host.map { SQLLiteral.quote($0) } ?? "NULL"
    return "SELECT * FROM pgphase.check_compatible(\(array), \(SQLLiteral.quote(release)), \(hostSQL)) WHERE blocking"
  }
}

/// One finding of the compatibility check.
public struct CompatibilityFinding: Sendable, Equatable, Codable {
  /// The intent concerned.
  public var intent: String
  /// The phase concerned.
  public var phase: Phase
  /// Whether it makes the database incompatible with the release (else it is a note).
  public var blocking: Bool
  /// What is wrong, for the app's start-up log.
  public var problem: String
  /// The command that fixes it, when there is one.
  public var fix: String?

  /// A finding as `pgphase.check_compatible` returns it.
  public init(intent: String, phase: Phase, blocking: Bool, problem: String, fix: String?) {
    self.intent = intent
    self.phase = phase
    self.blocking = blocking
    self.problem = problem
    self.fix = fix
  }
}

/// The answer of `pgphase check`: compatible when no finding blocks.
public struct CompatibilityReport: Sendable, Equatable, Codable {
  /// The release checked, as named in check-ins.
  public var release: String
  /// Every finding, blocking or not.
  public var findings: [CompatibilityFinding]
  /// Whether the app may start: no finding blocks.
  public var compatible: Bool { !findings.contains { $0.blocking } }

  /// One line per finding, blocking ones first, and a verdict.
  public func render() -> String {
    var lines: [String] = []
    for f in findings.sorted(by: { ($0.blocking ? 0 : 1, $0.intent) < ($1.blocking ? 0 : 1, $1.intent) }) {
      let tag = f.blocking ? "INCOMPATIBLE" : "note"
      lines.append("\(tag): \(f.intent) \(f.phase.rawValue): \(f.problem)" + (f.fix.map { "\n  fix: \($0)" } ?? ""))
    }
    let blocking = findings.filter(\.blocking).count
    lines.append(
      compatible
        ? "compatible: this database can serve release \(release)"
        : "not compatible: \(blocking) problem\(blocking == 1 ? "" : "s") for release \(release)")
    return lines.joined(separator: "\n")
  }

  enum CodingKeys: String, CodingKey { case release, findings, compatible }

  /// A report of `findings` for `release`.
  public init(release: String, findings: [CompatibilityFinding]) {
    self.release = release
    self.findings = findings
  }

  /// Reads the JSON `encode(to:)` writes (`compatible` is derived).
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    release = try c.decode(String.self, forKey: .release)
    findings = try c.decode([CompatibilityFinding].self, forKey: .findings)
  }

  /// Writes `compatible` too, for callers that only read that.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(release, forKey: .release)
    try c.encode(findings, forKey: .findings)
    try c.encode(compatible, forKey: .compatible)
  }
}

/// The app compatibility check. The logic lives in SQL (`pgphase.check_compatible`, journal
/// version 3) so apps in any language run the same check; this calls it.
public enum CompatibilityCheck {
  /// Runs the check; with `host`, also records a check-in of the release from that host.
  /// A database without a journal (never migrated by pgphase) has nothing expanded.
  public static func run(_ manifest: ReleaseManifest, recordFrom host: String?, on c: Connection) throws
    -> CompatibilityReport
  {
    let hasFunction =
      try c.execute("SELECT to_regprocedure('pgphase.check_compatible(text[],text,text)') IS NOT NULL").scalarBool() ?? false
    guard hasFunction else {
      let missing = manifest.intents.filter { $0.need != .none }.map {
        CompatibilityFinding(
          intent: $0.id, phase: .expand, blocking: true,
          problem: "expand has not started (this database has no pgphase journal at version 3 or later)",
          fix: "run `pgphase advance --to \($0.need.rawValue)` with this release's plans")
      }
      return CompatibilityReport(release: manifest.release, findings: missing)
    }
    let result = try c.execute(
      "SELECT intent, phase, blocking, problem, fix FROM pgphase.check_compatible($1::text[], $2, $3)",
      [textArrayLiteral(manifest.sqlArgument), host == nil ? nil : manifest.release, host])
    let findings = result.rows.map { row in
      CompatibilityFinding(
        intent: row["intent"] ?? "", phase: Phase(rawValue: row["phase"] ?? "") ?? .expand, blocking: row["blocking"] == "t",
        problem: row["problem"] ?? "", fix: row["fix"])
    }
    return CompatibilityReport(release: manifest.release, findings: findings)
  }
}

/// Quoting for SQL shown to users (never for executed queries, which use parameters).
enum SQLLiteral {
  static func quote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
}
