/// The three phases every intent compiles to, always run in this order.
public enum Phase: String, Sendable, Codable, CaseIterable, Comparable {
  /// Additive and backward compatible: old and new app both work afterwards.
  case expand
  /// Data work in small batches, then constraint validation.
  case backfill
  /// Removes what only the old app needed; the point of no return.
  case contract

  public static func < (a: Phase, b: Phase) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// PostgreSQL's table-level lock modes, weakest first.
public enum LockMode: String, Sendable, Codable, CaseIterable, Comparable {
  case accessShare = "ACCESS SHARE"
  case rowShare = "ROW SHARE"
  case rowExclusive = "ROW EXCLUSIVE"
  case shareUpdateExclusive = "SHARE UPDATE EXCLUSIVE"
  case share = "SHARE"
  case shareRowExclusive = "SHARE ROW EXCLUSIVE"
  case exclusive = "EXCLUSIVE"
  case accessExclusive = "ACCESS EXCLUSIVE"

  public static func < (a: LockMode, b: LockMode) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }

  /// The name `pg_locks.mode` uses, e.g. `AccessExclusiveLock`.
  public var pgLocksName: String {
    rawValue.lowercased().split(separator: " ").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined() + "Lock"
  }

  /// Whether ordinary INSERT/UPDATE/DELETE (ROW EXCLUSIVE) wait while this is held.
  public var blocksWrites: Bool { self >= .share }
  /// Whether plain SELECT (ACCESS SHARE) waits while this is held.
  public var blocksReads: Bool { self == .accessExclusive }
}

/// How long a step holds its lock, which is what decides whether the app notices it.
public enum CostClass: String, Sendable, Codable, CaseIterable, Comparable {
  /// Catalog change only; the lock is held for milliseconds.
  case catalogOnly = "catalog-only"
  /// Reads the table (or writes in batches) without blocking the app's writes.
  case scanNoWriteBlock = "scan-no-write-block"
  /// Scans the table while holding a lock that blocks writes.
  case scanBlocksWrites = "scan-blocks-writes"
  /// Rewrites the whole table under ACCESS EXCLUSIVE.
  case rewrite
  /// User SQL (the `sql` operation): the planner does not analyse it; `pgphase lint` does.
  case unknown

  public static func < (a: CostClass, b: CostClass) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// A relation a step locks, and how.
public struct LockedRelation: Hashable, Sendable, Codable {
  public var relation: QualifiedName
  public var mode: LockMode

  public init(_ relation: QualifiedName, _ mode: LockMode) {
    self.relation = relation
    self.mode = mode
  }
}

/// SQL that undoes a step, with its own transactional flag (the undo of a concurrent index
/// build is a concurrent drop, which cannot run in a transaction either).
public struct Undo: Hashable, Sendable, Codable {
  public var sql: [String]
  public var transactional: Bool

  public init(sql: [String], transactional: Bool = true) {
    self.sql = sql
    self.transactional = transactional
  }
}

/// Describes a batched data change so the executor can run it in small keyset batches.
/// `sql` of the step holds the same change as one statement, for review and for tiny tables.
public struct BackfillSpec: Hashable, Sendable, Codable {
  public var table: QualifiedName
  public var assignments: [Assignment]
  /// Selects the rows that still need the change; a rerun touches only these, so it is idempotent.
  public var pending: String
  /// The pgphase trigger (fill or sync) on `table` whose work each batch does itself. The
  /// trigger's `WHEN` skips it while the session's `pgphase.bypass_trigger` names it, so the
  /// backfill does not pay a PL/pgSQL call per row; other sessions' writes still fire it.
  public var bypassTrigger: String?

  public init(table: QualifiedName, assignments: [Assignment], pending: String, bypassTrigger: String? = nil) {
    self.table = table
    self.assignments = assignments
    self.pending = pending
    self.bypassTrigger = bypassTrigger
  }
}

/// What the live catalog must show once a step is done. The executor checks it to resume
/// after a crash, and `verify` checks it to find drift. Fields not relevant to a kind are nil.
public struct Postcondition: Hashable, Sendable, Codable {
  public enum Kind: String, Sendable, Codable, CaseIterable {
    case tableExists = "table_exists"
    case tableAbsent = "table_absent"
    case viewExists = "view_exists"
    case viewAbsent = "view_absent"
    case columnExists = "column_exists"
    case columnAbsent = "column_absent"
    case columnDefault = "column_default"
    case constraintExists = "constraint_exists"
    case constraintAbsent = "constraint_absent"
    case indexExists = "index_exists"
    case indexAbsent = "index_absent"
    case triggerExists = "trigger_exists"
    case triggerAbsent = "trigger_absent"
    case functionExists = "function_exists"
    case functionAbsent = "function_absent"
    /// No row matches `predicate` in `table`: a backfill is complete.
    case noRowsMatch = "no_rows_match"
    /// A precondition: `column` of `table` can be replaced by a new column without losing anything
    /// dropping it takes along (indexes, constraints, foreign keys, views, owned sequences), and
    /// the new column keeps its NOT NULL (`nullable` false) and its default (`default` set).
    case columnReplaceable = "column_replaceable"
    /// A `sql` step: nothing the planner can check; the journal alone records it.
    case unchecked
  }

  public var kind: Kind
  /// The table, view, index or function the condition is about (an index or trigger's table is `table`).
  public var object: QualifiedName?
  public var table: QualifiedName?
  public var column: String?
  public var name: String?
  /// Column type as written in the intent.
  public var type: String?
  public var nullable: Bool?
  /// Column default expression as written; nil with kind column_default means "no default".
  public var defaultExpression: String?
  /// For constraints: must be validated (`convalidated`).
  public var validated: Bool?
  /// For indexes: must be valid and ready (`indisvalid`, `indisready`).
  public var valid: Bool?
  public var unique: Bool?
  public var predicate: String?

  public init(kind: Kind) { self.kind = kind }

  enum CodingKeys: String, CodingKey {
    case kind, object, table, column, name, type, nullable, validated, valid, unique, predicate
    case defaultExpression = "default"
  }

  public static func tableExists(_ table: QualifiedName) -> Postcondition {
    var p = Postcondition(kind: .tableExists)
    p.object = table
    return p
  }
  public static func tableAbsent(_ table: QualifiedName) -> Postcondition {
    var p = Postcondition(kind: .tableAbsent)
    p.object = table
    return p
  }
  public static func viewExists(_ view: QualifiedName) -> Postcondition {
    var p = Postcondition(kind: .viewExists)
    p.object = view
    return p
  }
  public static func viewAbsent(_ view: QualifiedName) -> Postcondition {
    var p = Postcondition(kind: .viewAbsent)
    p.object = view
    return p
  }
  public static func columnExists(_ table: QualifiedName, _ column: String, type: String?, nullable: Bool?) -> Postcondition {
    var p = Postcondition(kind: .columnExists)
    p.table = table
    p.column = column
    p.type = type
    p.nullable = nullable
    return p
  }
  public static func columnAbsent(_ table: QualifiedName, _ column: String) -> Postcondition {
    var p = Postcondition(kind: .columnAbsent)
    p.table = table
    p.column = column
    return p
  }
  public static func columnDefault(_ table: QualifiedName, _ column: String, _ expression: String?) -> Postcondition {
    var p = Postcondition(kind: .columnDefault)
    p.table = table
    p.column = column
    p.defaultExpression = expression
    return p
  }
  public static func constraintExists(_ table: QualifiedName, _ name: String, validated: Bool) -> Postcondition {
    var p = Postcondition(kind: .constraintExists)
    p.table = table
    p.name = name
    p.validated = validated
    return p
  }
  public static func constraintAbsent(_ table: QualifiedName, _ name: String) -> Postcondition {
    var p = Postcondition(kind: .constraintAbsent)
    p.table = table
    p.name = name
    return p
  }
  public static func indexExists(_ index: QualifiedName, on table: QualifiedName, unique: Bool) -> Postcondition {
    var p = Postcondition(kind: .indexExists)
    p.object = index
    p.table = table
    p.unique = unique
    p.valid = true
    return p
  }
  public static func indexAbsent(_ index: QualifiedName) -> Postcondition {
    var p = Postcondition(kind: .indexAbsent)
    p.object = index
    return p
  }
  public static func triggerExists(_ table: QualifiedName, _ name: String) -> Postcondition {
    var p = Postcondition(kind: .triggerExists)
    p.table = table
    p.name = name
    return p
  }
  public static func triggerAbsent(_ table: QualifiedName, _ name: String) -> Postcondition {
    var p = Postcondition(kind: .triggerAbsent)
    p.table = table
    p.name = name
    return p
  }
  public static func functionExists(_ function: QualifiedName) -> Postcondition {
    var p = Postcondition(kind: .functionExists)
    p.object = function
    return p
  }
  public static func functionAbsent(_ function: QualifiedName) -> Postcondition {
    var p = Postcondition(kind: .functionAbsent)
    p.object = function
    return p
  }
  public static func noRowsMatch(_ table: QualifiedName, _ predicate: String) -> Postcondition {
    var p = Postcondition(kind: .noRowsMatch)
    p.table = table
    p.predicate = predicate
    return p
  }
  /// `nullable` and `defaultExpression` describe the column that replaces `column`.
  public static func columnReplaceable(_ table: QualifiedName, _ column: String, nullable: Bool, default expression: String?)
    -> Postcondition
  {
    var p = Postcondition(kind: .columnReplaceable)
    p.table = table
    p.column = column
    p.nullable = nullable
    p.defaultExpression = expression
    return p
  }
  public static let unchecked = Postcondition(kind: .unchecked)
}

/// One unit of execution and of journaling: either one transaction (`transactional`), or one
/// statement sent alone outside any transaction.
public struct Step: Hashable, Sendable, Codable {
  /// Stable within a plan: `<phase>/<nn>-<slug>`.
  public var id: String
  public var phase: Phase
  /// 1-based index of the intent change this step came from.
  public var change: Int
  public var operation: String
  /// One line for humans: what this step does and why it is safe.
  public var summary: String
  /// Statements, without trailing semicolons. A non-transactional step has exactly one.
  public var sql: [String]
  public var transactional: Bool
  public var locks: [LockedRelation]
  public var cost: CostClass
  /// How to reverse the step. nil in expand or backfill means nothing needs undoing (for example
  /// data written into a column that the expand undo drops); every contract step is irreversible.
  public var undo: Undo?
  public var postconditions: [Postcondition]
  /// What the live catalog must show before the step may run, when it is not done yet; nil when
  /// nothing. The executor refuses the step, and says why, rather than lose what the plan cannot see.
  public var preconditions: [Postcondition]?
  public var backfill: BackfillSpec?

  public init(
    id: String, phase: Phase, change: Int, operation: String, summary: String, sql: [String],
    transactional: Bool, locks: [LockedRelation], cost: CostClass, undo: Undo?,
    postconditions: [Postcondition], preconditions: [Postcondition]? = nil, backfill: BackfillSpec? = nil
  ) {
    self.id = id
    self.phase = phase
    self.change = change
    self.operation = operation
    self.summary = summary
    self.sql = sql
    self.transactional = transactional
    self.locks = locks
    self.cost = cost
    self.undo = undo
    self.postconditions = postconditions
    self.preconditions = preconditions
    self.backfill = backfill
  }

  /// The strongest lock the step takes, if any.
  public var strongestLock: LockMode? { locks.map(\.mode).max() }
}

public struct PhasePlan: Hashable, Sendable, Codable {
  public var phase: Phase
  public var steps: [Step]

  public init(phase: Phase, steps: [Step]) {
    self.phase = phase
    self.steps = steps
  }
}

/// The compiled form of one intent: three phases of steps.
public struct Plan: Hashable, Sendable, Codable {
  /// Bumped when the plan format changes incompatibly.
  public static let currentFormat = 1

  public var format: Int
  public var intent: String
  public var description: String?
  /// The intent file, as the planner was given it.
  public var source: String
  /// lock_timeout the executor applies to every strong-lock statement of this intent.
  public var lockTimeout: String
  public var backfillBatchSize: Int?
  public var phases: [PhasePlan]

  public init(
    intent: String, description: String?, source: String, lockTimeout: String, backfillBatchSize: Int?, phases: [PhasePlan]
  ) {
    self.format = Plan.currentFormat
    self.intent = intent
    self.description = description
    self.source = source
    self.lockTimeout = lockTimeout
    self.backfillBatchSize = backfillBatchSize
    self.phases = phases
  }

  public func steps(in phase: Phase) -> [Step] {
    phases.first { $0.phase == phase }?.steps ?? []
  }

  public var allSteps: [Step] { phases.flatMap(\.steps) }

  enum CodingKeys: String, CodingKey {
    case format, intent, description, source, phases
    case lockTimeout = "lock_timeout"
    case backfillBatchSize = "backfill_batch_size"
  }
}
