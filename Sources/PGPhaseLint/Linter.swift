import Foundation
public import PGPhaseModel

/// Finds lock-heavy and unsafe DDL. One `Linter` lints a run's files in order: what earlier files
/// create (column types, validated NOT NULL checks) informs later ones, as it would on the server.
/// Each file starts with a fresh transaction and lock_timeout state.
public struct Linter: Sendable {
  public var options: LintOptions
  var schema = SchemaKnowledge()

  public init(options: LintOptions = LintOptions()) {
    self.options = options
  }

  /// Lints one SQL file; findings are sorted by position.
  public mutating func lint(_ source: SQLSource) -> [Finding] {
    let statements: [ParsedStatement]
    switch PGQuery.parse(source) {
    case .failure(let error):
      return [
        Finding(
          rule: .parseError, severity: .error, message: error.message, help: Rule.parseError.alternative,
          location: source.location(ofByte: error.byteOffset), lock: nil)
      ]
    case .success(let parsed): statements = parsed
    }
    let unit = LintUnit(options: options, schema: schema, mode: .file)
    if options.transactionalFiles { unit.begin(implicit: true) }
    for (index, statement) in statements.enumerated() {
      unit.check(statement, in: source, index: index) { source.location(ofByte: $0) }
    }
    schema = unit.schema
    let ignores = IgnoreComments(source: source, statements: statements, options: options)
    return ignores.apply(to: unit.findings, statements: unit.findingStatements).sorted {
      ($0.location, $0.rule) < ($1.location, $1.rule)
    }
  }

  /// Lints SQL text as one file, with fresh knowledge.
  public static func lint(sql: String, file: String = "<stdin>", options: LintOptions = LintOptions()) -> [Finding] {
    var linter = Linter(options: options)
    return linter.lint(SQLSource(file: file, text: sql))
  }

  /// Lints a plan step by step. Each transactional step is one transaction and each other step
  /// runs alone; the executor applies the plan's lock_timeout before every statement, and drops
  /// are what the contract phase is for. A table created earlier in the same phase counts as new
  /// (no app uses it yet). `text`, the plan.json the plan came from, lets findings point at the
  /// line of the step's id; without it they point at line 1.
  public func lint(plan: Plan, file: String, text: String? = nil) -> [Finding] {
    let planText = text.map { SQLSource(file: file, text: $0) }
    let lockTimeoutSet = !["", "0", "0ms", "0s"].contains(plan.lockTimeout.trimmingCharacters(in: .whitespaces))
    var schema = self.schema
    var findings: [Finding] = []
    for phasePlan in plan.phases {
      let unit = LintUnit(options: options, schema: schema, mode: .plan(phase: phasePlan.phase, lockTimeout: lockTimeoutSet))
      for step in phasePlan.steps {
        let stepLocation =
          planText.flatMap { Self.locate(step: step.id, in: $0) } ?? SourceLocation(file: file, line: 1, column: 1)
        if step.transactional { unit.begin(implicit: true) }
        unit.batchedStep = step.backfill != nil
        for sql in step.sql {
          let source = SQLSource(file: file, text: sql)
          switch PGQuery.parse(source) {
          case .failure(let error):
            unit.findings.append(
              Finding(
                rule: .parseError, severity: .error, message: "step \(step.id): \(error.message)",
                help: Rule.parseError.alternative,
                location: stepLocation, lock: nil))
          case .success(let statements):
            for (index, statement) in statements.enumerated() {
              unit.check(statement, in: source, index: index) { _ in stepLocation }
            }
          }
        }
        if step.transactional { unit.end() }
        unit.batchedStep = false
      }
      schema = unit.schema
      findings += unit.findings.map {
        var f = $0
        f.message = "\(phasePlan.phase.rawValue) step: \(f.message)"
        return f
      }
    }
    return findings.sorted { ($0.location, $0.rule) < ($1.location, $1.rule) }
  }

  /// The position of `"id": "<step>"` in a plan.json text.
  static func locate(step id: String, in source: SQLSource) -> SourceLocation? {
    let needle = "\"\(id)\""
    guard let range = source.text.range(of: needle) else { return nil }
    let offset = source.text.utf8.distance(from: source.text.utf8.startIndex, to: range.lowerBound)
    return source.location(ofByte: offset)
  }
}

/// What the run has learnt about the schema from the files linted so far.
struct SchemaKnowledge: Sendable {
  /// table → column → type.
  var columns: [String: [String: TypeRef]] = [:]
  /// `table.column` proven NOT NULL by a validated CHECK (col IS NOT NULL).
  var validatedNotNull: Set<String> = []
  /// `table.constraint` → column, for CHECK (col IS NOT NULL) constraints added NOT VALID.
  var notValidNotNullChecks: [String: String] = [:]
}
