import Foundation
public import PGPhaseModel
public import PGPhasePostgres

/// What `pgphase verify` found: drift between the journal and the live catalog.
public struct VerifyReport: Sendable, Codable, Equatable {
  /// One problem, located by intent and step where it has one.
  public struct Finding: Sendable, Codable, Equatable {
    /// What was found.
    public enum Kind: String, Sendable, Codable {
      /// A done step's postcondition does not hold: an object missing, extra, of the wrong type
      /// or definition, an index invalid, a constraint not validated, a trigger gone.
      case drift
      /// A step the journal says is running (its runner is gone) or failed: `repair` resolves it.
      case unresolvedStep = "unresolved_step"
      /// An invalid index pgphase builds (or a `_ccnew`/`_ccold` leftover of one).
      case invalidIndex = "invalid_index"
      /// An invalid index pgphase does not own: reported, never touched.
      case foreignInvalidIndex = "foreign_invalid_index"
    }

    /// The error a failed step recorded.
    public struct StepError: Sendable, Codable, Equatable {
      /// The SQLSTATE it recorded, when the server gave one.
      public var sqlState: String?
      /// The message it recorded.
      public var message: String

      /// A recorded error.
      public init(sqlState: String?, message: String) {
        self.sqlState = sqlState
        self.message = message
      }

      enum CodingKeys: String, CodingKey {
        case message
        case sqlState = "sqlstate"
      }
    }

    /// What was found.
    public var kind: Kind
    /// The intent of the step concerned, if any.
    public var intent: String?
    /// The step concerned, if any.
    public var step: String?
    /// The table, index, view or function concerned.
    public var object: String?
    /// What differs (drift and invalid indexes); nil for an unresolved step.
    public var problem: PostconditionResult.Violation.Problem?
    /// For drift: the postcondition that does not hold, as plan.json writes it.
    public var expected: Postcondition?
    /// For an unresolved step: `running` or `failed`.
    public var state: StepState?
    /// For a failed step: the error it recorded.
    public var error: StepError?
    /// For people: what was found, and what to do.
    public var message: String
    /// `pgphase repair` resolves it (a step to finish or undo, an index to rebuild, a constraint to
    /// validate). Other drift needs a person: repair does not recreate dropped objects.
    public var repairable: Bool

    /// A finding; only the fields that apply to its kind are set.
    public init(
      kind: Kind, intent: String? = nil, step: String? = nil, object: String? = nil,
      problem: PostconditionResult.Violation.Problem? = nil, expected: Postcondition? = nil, state: StepState? = nil,
      error: StepError? = nil, message: String, repairable: Bool = false
    ) {
      self.kind = kind
      self.intent = intent
      self.step = step
      self.object = object
      self.problem = problem
      self.expected = expected
      self.state = state
      self.error = error
      self.message = message
      self.repairable = repairable
    }

    /// The finding as a diagnostic: `<intent> <step>: error: ...` (a warning when not pgphase's).
    public var diagnostic: Diagnostic {
      var context: [String: String] = [:]
      if let intent { context[Diagnostic.ContextKey.intent] = intent }
      if let step { context[Diagnostic.ContextKey.step] = step }
      if let sqlState = error?.sqlState { context[Diagnostic.ContextKey.sqlState] = sqlState }
      return Diagnostic(
        kind == .foreignInvalidIndex ? .warning : .error, message, at: nil, object: object, context: context,
        hint: repairable ? "`pgphase repair` resolves it" : nil)
    }
  }

  /// Done steps whose postconditions were checked.
  public var checkedSteps: Int
  /// Postconditions checked (superseded ones are not).
  public var checkedPostconditions: Int
  /// Steps the journal says are done and that have only unchecked postconditions.
  public var uncheckableSteps: Int
  /// Every problem found, in apply order.
  public var findings: [Finding]
  /// Steps running in a live backend right now (not drift: someone is applying).
  public var inProgress: [String]

  /// No drift and nothing unresolved.
  public var isClean: Bool { findings.isEmpty }

  enum CodingKeys: String, CodingKey {
    case findings
    case checkedSteps = "checked_steps"
    case checkedPostconditions = "checked_postconditions"
    case uncheckableSteps = "uncheckable_steps"
    case inProgress = "in_progress"
    case isClean = "clean"
  }

  /// A report of one verification.
  public init(checkedSteps: Int, checkedPostconditions: Int, uncheckableSteps: Int, findings: [Finding], inProgress: [String]) {
    self.checkedSteps = checkedSteps
    self.checkedPostconditions = checkedPostconditions
    self.uncheckableSteps = uncheckableSteps
    self.findings = findings
    self.inProgress = inProgress
  }

  /// Reads the JSON `encode(to:)` writes (`clean` is derived).
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    checkedSteps = try c.decode(Int.self, forKey: .checkedSteps)
    checkedPostconditions = try c.decode(Int.self, forKey: .checkedPostconditions)
    uncheckableSteps = try c.decode(Int.self, forKey: .uncheckableSteps)
    findings = try c.decode([Finding].self, forKey: .findings)
    inProgress = try c.decode([String].self, forKey: .inProgress)
  }

  /// Writes `clean` too, for callers that only read that.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(checkedSteps, forKey: .checkedSteps)
    try c.encode(checkedPostconditions, forKey: .checkedPostconditions)
    try c.encode(uncheckableSteps, forKey: .uncheckableSteps)
    try c.encode(findings, forKey: .findings)
    try c.encode(inProgress, forKey: .inProgress)
    try c.encode(isClean, forKey: .isClean)
  }

  /// Human-readable lines.
  public func render() -> String {
    var lines: [String] = []
    for f in findings {
      let location = [f.intent, f.step].compactMap { $0 }.joined(separator: " ")
      let tag: String =
        switch f.kind {
        case .drift: "DRIFT"
        case .unresolvedStep: "UNRESOLVED"
        case .invalidIndex: "INVALID INDEX"
        case .foreignInvalidIndex: "INVALID INDEX (not pgphase's)"
        }
      lines.append("\(tag) \(location.isEmpty ? "" : location + ": ")\(f.message)")
    }
    for step in inProgress { lines.append("in progress: \(step)") }
    let summary =
      "checked \(checkedPostconditions) postcondition\(checkedPostconditions == 1 ? "" : "s") of \(checkedSteps) done step\(checkedSteps == 1 ? "" : "s")"
      + (uncheckableSteps > 0
        ? " (\(uncheckableSteps) done step\(uncheckableSteps == 1 ? " has" : "s have") no checkable postcondition)" : "")
    if isClean {
      lines.append("no drift: \(summary)")
    } else {
      let repairable = findings.filter(\.repairable).count
      lines.append(
        "\(findings.count) problem\(findings.count == 1 ? "" : "s") found; \(summary)"
          + (repairable > 0 ? "; `pgphase repair` resolves \(repairable) of them" : ""))
    }
    return lines.joined(separator: "\n")
  }
}

/// A done step's postcondition that should hold now: the latest word on its object.
struct Expectation {
  var intent: String
  var step: Step
  var postcondition: Postcondition
}

/// The plans the journal recorded (what actually ran), and what their done steps promise.
struct JournalPlans {
  var plans: [LoadedPlan]
  var journal: [String: [String: JournalStep]]

  static func read(on c: Connection) throws -> JournalPlans {
    guard try Journal.exists(on: c) else { return JournalPlans(plans: [], journal: [:]) }
    let rows = try c.execute("SELECT intent, plan::text AS plan FROM pgphase.intents ORDER BY intent").rows
    var plans: [LoadedPlan] = []
    for row in rows {
      guard let text = row["plan"] else { continue }
      plans.append(try LoadedPlan.decode(Data(text.utf8), from: "the journal's plan of \(row["intent"] ?? "?")"))
    }
    return JournalPlans(plans: plans, journal: try Journal.steps(intent: nil, on: c))
  }

  /// Every (intent, step) in apply order: intents by id, steps in plan order.
  var orderedSteps: [(LoadedPlan, Step)] {
    plans.flatMap { lp in lp.plan.allSteps.map { (lp, $0) } }
  }

  func state(_ intent: String, _ step: String) -> JournalStep? { journal[intent]?[step] }

  /// Postconditions of done steps that later done steps did not supersede. A later word on the
  /// same object replaces an earlier one (a constraint added NOT VALID, then validated, then
  /// dropped); a table or column made absent retires everything said about it (a renamed table's
  /// columns, a dropped column's default). Data checks (`no_rows_match`) are not schema and are
  /// left out: rows written after a backfill are the application's business.
  func expectations() -> (expected: [Expectation], doneSteps: Int, uncheckable: Int) {
    var entries: [(key: String, value: Expectation)] = []
    var done = 0
    var uncheckable = 0
    for (lp, step) in orderedSteps where state(lp.plan.intent, step.id)?.state == .done {
      done += 1
      let checkable = step.postconditions.filter { $0.kind != .unchecked && $0.kind != .noRowsMatch }
      if checkable.isEmpty { uncheckable += 1 }
      for p in checkable {
        let key = Self.key(p)
        switch p {
        case .tableAbsent(let object), .viewAbsent(let object):
          let name = Self.norm(object)
          entries.removeAll { $0.value.postcondition.table.map(Self.norm) == name || $0.key.hasSuffix("|" + name) }
        case .columnAbsent(let table, let column):
          entries.removeAll {
            $0.value.postcondition.table.map(Self.norm) == Self.norm(table) && $0.value.postcondition.column == column
          }
        default: break
        }
        entries.removeAll { $0.key == key }
        entries.append((key, Expectation(intent: lp.plan.intent, step: step, postcondition: p)))
      }
    }
    return (entries.map(\.value), done, uncheckable)
  }

  /// Indexes the plans build or drop, normalized (`schema.name`, schema defaulting to public).
  var ownedIndexes: [String: (intent: String, step: String)] {
    var out: [String: (intent: String, step: String)] = [:]
    for (lp, step) in orderedSteps {
      for p in step.postconditions where p.kind == .indexExists || p.kind == .indexAbsent {
        guard let index = p.subject else { continue }
        out[Self.norm(index)] = (lp.plan.intent, step.id)
      }
    }
    return out
  }

  static func norm(_ name: QualifiedName) -> String { "\(name.schema ?? "public").\(name.name)" }

  /// What a postcondition is the latest word on: a later one with the same key replaces it.
  static func key(_ p: Postcondition) -> String {
    switch p {
    case .tableExists(let o), .tableAbsent(let o), .viewExists(let o), .viewAbsent(let o): "rel|\(norm(o))"
    case .columnExists(let t, let c, _, _), .columnAbsent(let t, let c): "col|\(norm(t))|\(c)"
    case .columnDefault(let t, let c, _): "def|\(norm(t))|\(c)"
    case .constraintExists(let t, let n, _), .constraintAbsent(let t, let n): "con|\(norm(t))|\(n)"
    case .indexExists, .indexAbsent: "idx|\(p.subject.map(norm) ?? "")"
    case .triggerExists(let t, let n), .triggerAbsent(let t, let n): "trg|\(norm(t))|\(n)"
    case .functionExists(let o), .functionAbsent(let o): "fn|\(norm(o))"
    case .noRowsMatch(let t, let predicate): "other|\(p.kind.rawValue)|\(norm(t))|\(predicate)"
    case .unchecked: "other|\(p.kind.rawValue)"
    }
  }
}

/// `pgphase verify`: checks what the journal says is done against the live catalog.
public enum Verifier {
  /// Reads the journal (no runner lock: it only reads) and checks every done step's postconditions
  /// that still apply, every step left running or failed, and every invalid index in the database.
  public static func verify(on c: Connection) throws -> VerifyReport {
    let jp = try JournalPlans.read(on: c)
    let (expected, doneSteps, uncheckable) = jp.expectations()
    var findings: [VerifyReport.Finding] = []
    var driftIndexes: Set<String> = []
    for e in expected {
      let result = try PostconditionChecker.check(e.postcondition, on: c)
      let object = e.postcondition.objectDescription
      if result == .holds, let problem = try definitionDrift(e, on: c) {
        findings.append(
          .init(
            kind: .drift, intent: e.intent, step: e.step.id, object: object, problem: .differs, expected: e.postcondition,
            message: problem))
      }
      if case .violated(let violation) = result {
        findings.append(
          .init(
            kind: .drift, intent: e.intent, step: e.step.id, object: object, problem: violation.problem,
            expected: e.postcondition, message: violation.reason, repairable: try isRepairable(e, on: c)))
        if e.postcondition.kind == .indexExists, let index = e.postcondition.subject {
          driftIndexes.insert(JournalPlans.norm(index))
        }
      }
    }
    var inProgress: [String] = []
    for (lp, step) in jp.orderedSteps {
      guard let record = jp.state(lp.plan.intent, step.id), record.state == .running || record.state == .failed else { continue }
      if record.state == .running, let pid = record.backendPID, try backendAlive(pid, on: c) {
        inProgress.append("\(lp.plan.intent) \(step.id) by \(record.runner ?? "?") (pid \(pid))")
        continue
      }
      let why =
        record.state == .failed
        ? "failed: \(record.errorMessage ?? "unknown error")\(record.errorSQLState.map { " (SQLSTATE \($0))" } ?? "")"
        : "left running by \(record.runner ?? "a runner") that is gone"
      let error =
        record.state == .failed
        ? VerifyReport.Finding.StepError(sqlState: record.errorSQLState, message: record.errorMessage ?? "unknown error") : nil
      findings.append(
        .init(
          kind: .unresolvedStep, intent: lp.plan.intent, step: step.id, object: step.action.index?.description,
          state: record.state, error: error, message: why, repairable: true))
    }
    let owned = jp.ownedIndexes
    for index in try invalidIndexes(on: c) where !driftIndexes.contains(index.normalized) {
      if let owner = owned[index.normalized] {
        findings.append(
          .init(
            kind: .invalidIndex, intent: owner.intent, step: owner.step, object: index.name, problem: .invalidIndex,
            message: "index \(index.name) on \(index.table) is invalid (indisvalid = false): `pgphase repair` rebuilds it",
            repairable: true))
      } else if let base = index.reindexBase, let owner = owned[base] {
        findings.append(
          .init(
            kind: .invalidIndex, intent: owner.intent, step: owner.step, object: index.name, problem: .present,
            message:
              "index \(index.name) on \(index.table) is an invalid leftover of REINDEX CONCURRENTLY: `pgphase repair` drops it",
            repairable: true))
      } else {
        findings.append(
          .init(
            kind: .foreignInvalidIndex, object: index.name, problem: .invalidIndex,
            message:
              "index \(index.name) on \(index.table) is invalid (indisvalid = false) and not built by pgphase: reads ignore it, writes still maintain it; drop it concurrently and rebuild it"
          ))
      }
    }
    return VerifyReport(
      checkedSteps: doneSteps - uncheckable, checkedPostconditions: expected.count, uncheckableSteps: uncheckable,
      findings: findings, inProgress: inProgress)
  }

  /// For an index a done step built: a different definition than the step's (same name, other
  /// columns, predicate or method), found by building the step's index on an empty copy of the
  /// table. nil when equal or when it cannot be compared (a column renamed since, for one).
  static func definitionDrift(_ e: Expectation, on c: Connection) throws -> String? {
    guard case .buildIndex(let build) = e.step.action, let index = e.postcondition.subject,
      try Catalog(c).indexState(name: index) != nil
    else { return nil }
    let comparison: IndexDefinition.Comparison
    do {
      comparison = try IndexDefinition.compare(build, withExisting: index, on: c)
    } catch let error as PostgresError where !error.connectionLost {
      return nil
    }
    guard case .differs(let existing, let planned) = comparison else { return nil }
    return "index \(index) has definition \(existing), but the step built \(planned)"
  }

  /// Whether `repair` fixes this violated expectation: an index step's index missing or invalid
  /// (its table there), or a constraint a step validated that exists NOT VALID.
  static func isRepairable(_ e: Expectation, on c: Connection) throws -> Bool {
    let catalog = Catalog(c)
    switch e.postcondition {
    case .indexExists(_, let table, _):
      guard case .buildIndex = e.step.action, let index = e.postcondition.subject else { return false }
      if try catalog.relationKind(table) == nil { return false }
      guard let state = try catalog.indexState(name: index) else { return try catalog.relationKind(index) == nil }
      return !state.isUsable
    case .constraintExists(let table, let name, let validated):
      guard validated else { return false }
      return try catalog.constraint(name, on: table).map { !$0.validated } ?? false
    default:
      return false
    }
  }

  static func backendAlive(_ pid: Int32, on c: Connection) throws -> Bool {
    try c.execute("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1::int)", [String(pid)]).scalarBool() ?? false
  }

  struct InvalidIndex {
    var name: String
    var schema: String
    var relname: String
    var table: String
    var normalized: String { "\(schema).\(relname)" }
    /// `schema.base` when the name ends in `_ccnew[N]` / `_ccold[N]`, as REINDEX CONCURRENTLY names
    /// its temporary copies.
    var reindexBase: String? {
      let name = relname.reversed().drop { $0.isASCII && $0.isNumber }
      for suffix in ["wencc_", "dlocc_"] where name.starts(with: suffix) {
        return "\(schema).\(String(name.dropFirst(suffix.count).reversed()))"
      }
      return nil
    }
  }

  /// Every index with `indisvalid = false` outside the system schemas.
  static func invalidIndexes(on c: Connection) throws -> [InvalidIndex] {
    try c.execute(
      """
      SELECT c.oid::regclass::text AS name, n.nspname, c.relname, i.indrelid::regclass::text AS tbl
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
      ORDER BY 1
      """
    ).rows.map { row in
      InvalidIndex(name: row["name"] ?? "", schema: row["nspname"] ?? "", relname: row["relname"] ?? "", table: row["tbl"] ?? "")
    }
  }
}
