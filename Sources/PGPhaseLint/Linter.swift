import Dispatch
import Foundation
public import PGPhaseModel
public import PGPhaseSQL

/// Finds lock-heavy and unsafe DDL. One `Linter` lints a run's files in order: what earlier files
/// create (column types, indexes, foreign keys, validated NOT NULL checks) informs later ones, as
/// it would on the server. Each file starts with a fresh transaction and lock_timeout state.
public struct Linter: Sendable {
  public var options: LintOptions
  var schema = SchemaKnowledge()

  public init(options: LintOptions = LintOptions()) {
    self.options = options
  }

  /// One SQL file to lint, and whether its runner wraps it in a transaction (nil: the config's
  /// `transactional_files`; a `-- pgphase:[no-]transaction` comment in the file wins over both).
  public struct Input: Sendable {
    public var source: SQLSource
    public var transactional: Bool?

    public init(source: SQLSource, transactional: Bool? = nil) {
      self.source = source
      self.transactional = transactional
    }
  }

  /// A file after the per-file work that does not depend on other files (parsing, scanning):
  /// done in parallel by `lint(_:)`.
  struct PreparedFile: Sendable {
    var input: Input
    var outcome: ParseOutcome
    var directives: FileDirectives
    var longIdentifiers: [(range: Range<Int>, bytes: Int)]
  }

  /// Lints one SQL file; findings are sorted by position.
  public mutating func lint(_ source: SQLSource, transactional: Bool? = nil) -> [Finding] {
    lint(prepared: Self.prepare(Input(source: source, transactional: transactional)))
  }

  /// Lints files in order. Parsing and scanning, the costly part, run on worker threads ahead of
  /// the rules, which run here file by file, in order, since what one file creates informs the
  /// next. At most `parseAhead` files are parsed and not yet checked at any time, so memory stays
  /// bounded: holding every file's tree until the rules ran cost more in page faults and frees
  /// than parallel parsing saved.
  public mutating func lint(_ inputs: [Input]) -> [[Finding]] {
    guard inputs.count > 1 else { return inputs.map { lint(prepared: Self.prepare($0)) } }
    return lint(count: inputs.count) { inputs[$0] }.map { $0 ?? [] }
  }

  /// Lints `count` files in order, as `lint(_:)` does, each given by `load(i)`. `load` runs on
  /// the parsing workers, so the caller's work to produce an input (reading the file and the
  /// files beside it) is done in parallel too, ahead of the rules; the linter does no I/O
  /// itself. A file `load` gives nil for (one that could not be read) is skipped: nil findings.
  public mutating func lint(count: Int, load: @escaping @Sendable (Int) -> Input?) -> [[Finding]?] {
    guard count > 1 else { return (0..<count).map { load($0).map { lint(prepared: Self.prepare($0)) } } }
    let slots = PreparedSlots(count: count)
    let ahead = DispatchSemaphore(value: Self.parseAhead)
    // Each worker takes a token, then the next file: so the tokens are always held by the
    // lowest files not yet checked, and the file the rules wait for is never held back.
    let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, count))
    for _ in 0..<workers {
      DispatchQueue.global().async {
        while true {
          ahead.wait()
          guard let i = slots.claim() else {
            ahead.signal()
            slots.emptyTrashUntilFinished()
            return
          }
          slots.put(i, load(i).map(Self.prepare))
          slots.emptyTrash()
        }
      }
    }
    var results: [[Finding]?] = []
    results.reserveCapacity(count)
    for i in 0..<count {
      guard let file = slots.take(i) else {
        ahead.signal()
        results.append(nil)
        continue
      }
      ahead.signal()
      results.append(lint(prepared: file))
      slots.discard(file)
    }
    slots.finish()
    return results
  }

  /// Files parsed ahead of the rules, at most: a few per worker keep the rules fed; 64 held
  /// 5 MB more of trees on a 500-file lint, a sixth of its page faults.
  static let parseAhead = 8

  /// Lints SQL text as one file, with fresh knowledge.
  public static func lint(sql: String, file: String = "<stdin>", options: LintOptions = LintOptions()) -> [Finding] {
    var linter = Linter(options: options)
    return linter.lint(SQLSource(file: file, text: sql))
  }

  static func prepare(_ input: Input) -> PreparedFile {
    let outcome = SQLParser.parse(input.source)
    let directives = FileDirectives(source: input.source, statements: outcome.statements)
    return PreparedFile(
      input: input, outcome: outcome, directives: directives, longIdentifiers: Self.longIdentifiers(in: input.source))
  }

  mutating func lint(prepared file: PreparedFile) -> [Finding] {
    let source = file.input.source
    let statements = file.outcome.statements
    var findings = file.outcome.errors.map { parseErrorFinding($0, in: source) }
    // The unit takes the run's knowledge for the file and hands it back: left shared with
    // `schema`, the unit's first change would copy every dictionary (the whole run's knowledge,
    // once per file; 15% of a 2,000-file lint under `perf`, growing with the run).
    let unit = LintUnit(options: options, schema: SchemaKnowledge(), mode: .file)
    swap(&unit.schema, &schema)
    let transactional = file.directives.transaction ?? file.input.transactional ?? options.transactionalFiles
    unit.runnerTransaction = transactional
    if transactional { unit.begin(implicit: true) }
    for (index, statement) in statements.enumerated() {
      unit.check(statement, in: source, index: index) { source.location(ofByte: $0) }
    }
    unit.finish()
    swap(&unit.schema, &schema)
    var statementIndices = unit.findingStatements
    findings += unit.findings
    statementIndices = Array(repeating: -1, count: findings.count - statementIndices.count) + statementIndices
    for (range, bytes) in file.longIdentifiers where options.enabledRules.contains(.identifierTooLong) {
      let name = source.text(range)
      findings.append(
        Finding(
          rule: .identifierTooLong, severity: Rule.identifierTooLong.defaultSeverity,
          message:
            "identifier \(name.prefix(20))... is \(bytes) bytes; PostgreSQL keeps only the first 63 (NAMEDATALEN - 1), so it names something else than written",
          help: "Shorten the name to 63 bytes or fewer.", location: source.location(ofByte: range.lowerBound),
          lock: nil))
      statementIndices.append(statements.firstIndex { $0.start <= range.lowerBound && range.lowerBound < $0.end } ?? -1)
    }
    let kept = file.directives.apply(to: findings, statements: statementIndices, options: options)
    return Self.collapseLockTimeout(kept).sorted { ($0.location, $0.rule) < ($1.location, $1.rule) }
  }

  func parseErrorFinding(_ error: SQLSyntaxError, in source: SQLSource) -> Finding {
    var message = error.message
    var severity = Diagnostic.Severity.error
    var help = Rule.parseError.alternative
    if let version = error.newerGrammar {
      message +=
        " (this statement needs a PostgreSQL \(version)+ grammar; pgphase parses with PostgreSQL \(SQLParser.grammarVersion)'s, so it is not checked)"
      if options.pgVersion >= version {
        severity = .warning
        help = "Nothing to fix if the migrations run on PostgreSQL \(version)+; pgphase cannot check this statement."
      } else {
        help =
          "PostgreSQL \(options.pgVersion) rejects this syntax too (it arrived in \(version)); rewrite it, or set --pg-version."
      }
    }
    return Finding(
      rule: .parseError, severity: severity, message: message, help: help, location: source.location(ofByte: error.byteOffset),
      lock: nil)
  }

  /// require-lock-timeout fires once per file, at the first statement, naming how many others
  /// there are: one SET fixes them all.
  static func collapseLockTimeout(_ findings: [Finding]) -> [Finding] {
    let lockTimeout = findings.filter { $0.rule == .requireLockTimeout }.sorted { $0.location < $1.location }
    guard lockTimeout.count > 1, var first = lockTimeout.first else { return findings }
    let lines = lockTimeout.dropFirst().map { String($0.location.line) }
    let shown = lines.prefix(8).joined(separator: ", ") + (lines.count > 8 ? ", ..." : "")
    first.message +=
      "; \(lines.count) more statement\(lines.count == 1 ? "" : "s") in this file (line\(lines.count == 1 ? "" : "s") \(shown)) \(lines.count == 1 ? "waits" : "wait") without one too"
    return findings.filter { $0.rule != .requireLockTimeout } + [first]
  }

  /// Identifiers of more than 63 bytes, by PostgreSQL's scanner (a quoted identifier's length is
  /// that of its content). A byte scan first: most files have no run of 64 name bytes at all.
  static func longIdentifiers(in source: SQLSource) -> [(range: Range<Int>, bytes: Int)] {
    guard mayHaveLongIdentifier(source.bytes) else { return [] }
    guard case .success(let tokens) = SQLScanner.tokens(source.text) else { return [] }
    var result: [(Range<Int>, Int)] = []
    for token in tokens where token.kind == .identifier {
      var length = token.range.count
      if source.bytes[token.range.lowerBound] == UInt8(ascii: "\"") {
        let inner = source.text((token.range.lowerBound + 1)..<(token.range.upperBound - 1))
        length = inner.replacingOccurrences(of: "\"\"", with: "\"").utf8.count
      }
      if length > SQL.maxIdentifierBytes { result.append((token.range, length)) }
    }
    return result
  }

  /// A run of more than 63 name bytes, or more than 63 bytes between two double quotes on one
  /// line. Never false when a long identifier is there; sometimes true when none is.
  static func mayHaveLongIdentifier(_ bytes: [UInt8]) -> Bool {
    var run = 0
    var lastQuote: Int?
    for (i, b) in bytes.enumerated() {
      let isName =
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x24
        || b >= 0x80
      run = isName ? run + 1 : 0
      if run > SQL.maxIdentifierBytes { return true }
      if b == 0x0A { lastQuote = nil }
      if b == UInt8(ascii: "\"") {
        if let last = lastQuote, i - last - 1 > SQL.maxIdentifierBytes { return true }
        lastQuote = i
      }
    }
    return false
  }

  /// Lints a plan step by step. Each transactional step is one transaction and each other step
  /// runs alone; the executor applies the plan's lock_timeout before every statement, and drops
  /// are what the contract phase is for. A table created earlier in the same phase counts as new
  /// (no app uses it yet). `text`, the plan.json the plan came from, lets findings point at the
  /// line of the step's id; without it they point at the intent change the step came from (a plan
  /// compiled from an intent file in memory), else at line 1.
  public func lint(plan: Plan, file: String, text: String? = nil) -> [Finding] {
    let planText = text.map { SQLSource(file: file, text: $0) }
    let lockTimeoutSet = !["", "0", "0ms", "0s"].contains(plan.lockTimeout.trimmingCharacters(in: .whitespaces))
    var schema = self.schema
    var findings: [Finding] = []
    for phasePlan in plan.phases {
      let unit = LintUnit(options: options, schema: schema, mode: .plan(phase: phasePlan.phase, lockTimeout: lockTimeoutSet))
      for step in phasePlan.steps {
        let stepLocation =
          planText.flatMap { Self.locate(step: step.id, in: $0) } ?? step.location
          ?? SourceLocation(file: file, line: 1, column: 1)
        if step.transactional { unit.begin(implicit: true) }
        unit.batchedStep = step.backfill != nil
        for sql in step.sql {
          let source = SQLSource(file: file, text: sql)
          switch SQLParser.parse(sql) {
          case .failure(let error):
            unit.findings.append(
              Finding(
                rule: .parseError, severity: .error, message: "step \(step.id): \(error.message)",
                help: Rule.parseError.alternative,
                location: stepLocation, lock: nil))
            unit.findingStatements.append(-1)
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
      findings += Self.collapseLockTimeout(unit.findings).map {
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

/// Parsed files handed from the parsing workers to the rules, one slot per file.
private final class PreparedSlots: @unchecked Sendable {
  // Safety: each slot is claimed and written once by one worker and taken once by the rules'
  // thread; every access holds `condition`'s lock, and a taken slot is emptied so its tree is freed.
  private enum Slot {
    case waiting
    /// Parsed, or nil: the file could not be loaded.
    case ready(Linter.PreparedFile?)
  }
  private var slots: [Slot]
  private var next = 0
  /// Files the rules are done with, freed by the workers: freeing a parse tree (thousands of
  /// small values) costs about as much as a tenth of checking it, off the rules' thread.
  private var trash: [Linter.PreparedFile] = []
  private let condition = NSCondition()

  init(count: Int) { slots = Array(repeating: .waiting, count: count) }

  /// The next file to parse, in order; nil when every file is claimed.
  func claim() -> Int? {
    condition.lock()
    defer { condition.unlock() }
    guard next < slots.count else { return nil }
    next += 1
    return next - 1
  }

  func put(_ index: Int, _ value: Linter.PreparedFile?) {
    condition.lock()
    slots[index] = .ready(value)
    condition.broadcast()
    condition.unlock()
  }

  /// Set when the rules have checked every file.
  private var finished = false

  /// Hands a checked file over to be freed by a worker.
  func discard(_ file: consuming Linter.PreparedFile) {
    condition.lock()
    trash.append(file)
    condition.broadcast()
    condition.unlock()
  }

  /// Frees the files the rules are done with, on the calling thread.
  func emptyTrash() {
    condition.lock()
    let files = trash
    trash = []
    condition.unlock()
    _ = consume files
  }

  /// For a worker with no file left to parse: frees checked files as they come, until the rules
  /// are done (else the last files' trees would be freed on the rules' thread).
  func emptyTrashUntilFinished() {
    condition.lock()
    while true {
      if !trash.isEmpty {
        let files = trash
        trash = []
        condition.unlock()
        _ = consume files
        condition.lock()
      } else if finished {
        condition.unlock()
        return
      } else {
        condition.wait()
      }
    }
  }

  /// The rules are done: the workers still freeing files stop.
  func finish() {
    condition.lock()
    finished = true
    condition.broadcast()
    condition.unlock()
  }

  /// Waits until file `index` is parsed, and takes it.
  func take(_ index: Int) -> Linter.PreparedFile? {
    condition.lock()
    defer { condition.unlock() }
    while true {
      if case .ready(let value) = slots[index] {
        slots[index] = .waiting
        return value
      }
      condition.wait()
    }
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
  /// table → constraints validated by VALIDATE CONSTRAINT whose definition the files never showed.
  var validatedUnknown: [String: Set<String>] = [:]
  /// Tables with a validated CHECK constraint (for ATTACH PARTITION).
  var validatedChecks: Set<String> = []
  /// index → its table, from CREATE INDEX and the constraints that build an index.
  var indexTables: [String: String] = [:]
  /// table → the tables its foreign keys reference.
  var foreignKeys: [String: Set<String>] = [:]
  /// Domains created in the files, and domain → tables with a column of it.
  var domains: Set<String> = []
  var domainTables: [String: Set<String>] = [:]
  /// enum type → its values in order, when the files created it.
  var enums: [String: [String]] = [:]
  /// Partitioned tables, and partitioned table → its default partition.
  var partitioned: Set<String> = []
  var defaultPartitions: [String: String] = [:]

  /// Forgets what is known about a dropped table.
  mutating func forget(table: String) {
    columns[table] = nil
    foreignKeys[table] = nil
    validatedChecks.remove(table)
    validatedUnknown[table] = nil
    partitioned.remove(table)
    defaultPartitions[table] = nil
    indexTables = indexTables.filter { $0.value != table }
    for (domain, tables) in domainTables { domainTables[domain] = tables.subtracting([table]) }
  }
}
