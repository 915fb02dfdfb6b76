/// The three phases every intent compiles to, always run in this order.
public enum Phase: String, Sendable, Codable, CaseIterable, Comparable {
  /// Additive and backward compatible: old and new app both work afterwards.
  case expand
  /// Data work in small batches, then constraint validation.
  case backfill
  /// Removes what only the old app needed; the point of no return.
  case contract

  /// Phases order as they run: expand, backfill, contract.
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

  /// Weakest first, as PostgreSQL's conflict table grows.
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

  /// Cheapest first.
  public static func < (a: CostClass, b: CostClass) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// A relation a step locks, and how.
public struct LockedRelation: Hashable, Sendable, Codable {
  /// The table, index or other relation locked.
  public var relation: QualifiedName
  /// The mode requested.
  public var mode: LockMode

  /// `relation` locked in `mode`.
  public init(_ relation: QualifiedName, _ mode: LockMode) {
    self.relation = relation
    self.mode = mode
  }
}

/// SQL that undoes a step, with its own transactional flag (the undo of a concurrent index
/// build is a concurrent drop, which cannot run in a transaction either).
public struct Undo: Hashable, Sendable, Codable {
  /// The statements that undo the step, in order.
  public var sql: [String]
  /// false sends each statement alone (a concurrent index drop).
  public var transactional: Bool

  /// An undo; transactional unless said otherwise.
  public init(sql: [String], transactional: Bool = true) {
    self.sql = sql
    self.transactional = transactional
  }
}

/// The steps of one phase, in the order they run.
public struct PhasePlan: Hashable, Sendable, Codable {
  /// Which phase.
  public var phase: Phase
  /// Its steps in run order; ids number them within the phase.
  public var steps: [Step]

  /// The steps of one phase.
  public init(phase: Phase, steps: [Step]) {
    self.phase = phase
    self.steps = steps
  }
}

/// The compiled form of one intent: three phases of steps.
public struct Plan: Hashable, Sendable, Codable {
  /// The format `pgphase plan` writes. Bumped when the plan format changes incompatibly; the
  /// executor still reads the formats listed in `PlanDocument.readableFormats`.
  /// 2: steps carry a typed `action` and the `location` of their change.
  public static let currentFormat = 2

  /// Always `currentFormat` in memory: older formats are converted when read.
  public var format: Int
  /// The intent's id; plans apply in id order.
  public var intent: String
  /// The intent's description, for headers and review.
  public var description: String?
  /// The intent file, as the planner was given it.
  public var source: String
  /// lock_timeout the executor applies to every strong-lock statement of this intent.
  public var lockTimeout: String
  /// Rows in a backfill's first batch; nil means the executor's default.
  public var backfillBatchSize: Int?
  /// Expand, backfill and contract, in that order (a phase may have no steps).
  public var phases: [PhasePlan]
  /// The tables the steps touch that existed before the intent (in the schema the plan started
  /// from, not made by this or an earlier intent), as the planner assumed them when the intent
  /// starts, in name order: what the executor's drift guard compares with the live tables before
  /// the intent's first step. Nil (and absent from plan.json) when planned without a schema, so
  /// such plans, and their hashes, are as before.
  public var assumes: [SchemaSnapshot.Table]?
  /// The columns the intent's changes name (its own and its expressions'), sorted: a later
  /// intent's expand waits for an earlier contract that replaces one of them (docs/executor.md).
  /// Nil (and absent from plan.json) when there are none.
  public var uses: [SchemaSnapshot.ColumnPath]?

  /// A plan in the current format.
  public init(
    intent: String, description: String?, source: String, lockTimeout: String, backfillBatchSize: Int?, phases: [PhasePlan],
    assumes: [SchemaSnapshot.Table]? = nil, uses: [SchemaSnapshot.ColumnPath]? = nil
  ) {
    self.format = Plan.currentFormat
    self.intent = intent
    self.description = description
    self.source = source
    self.lockTimeout = lockTimeout
    self.backfillBatchSize = backfillBatchSize
    self.phases = phases
    self.assumes = assumes?.isEmpty == false ? assumes : nil
    self.uses = uses?.isEmpty == false ? uses : nil
  }

  /// The steps of `phase`, empty when it has none.
  public func steps(in phase: Phase) -> [Step] {
    phases.first { $0.phase == phase }?.steps ?? []
  }

  /// Every step in run order: expand, then backfill, then contract.
  public var allSteps: [Step] { phases.flatMap(\.steps) }

  /// The relations the steps lock or backfill (tables, and the indexes and views some steps
  /// lock), an unqualified name put in `defaultSchema` as the session's search_path does: the
  /// tables an intent touches, for `assumes` and the drift guard.
  public func touchedRelations(defaultSchema: String = "public") -> Set<QualifiedName> {
    var names = Set<QualifiedName>()
    func add(_ name: QualifiedName) { names.insert(name.schema == nil ? QualifiedName(schema: defaultSchema, name.name) : name) }
    for step in allSteps {
      for lock in step.locks { add(lock.relation) }
      if case .backfill(let spec) = step.action { add(spec.table) }
    }
    return names
  }

  enum CodingKeys: String, CodingKey {
    case format, intent, description, source, phases, assumes, uses
    case lockTimeout = "lock_timeout"
    case backfillBatchSize = "backfill_batch_size"
  }

  /// Reads a current-format plan; older formats go through `PlanDocument.decode`.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    format = try c.decode(Int.self, forKey: .format)
    guard format == Plan.currentFormat else {
      throw DecodingError.dataCorruptedError(
        forKey: .format, in: c,
        debugDescription: "plan format \(format) is not format \(Plan.currentFormat); read it with PlanDocument.decode")
    }
    intent = try c.decode(String.self, forKey: .intent)
    description = try c.decodeIfPresent(String.self, forKey: .description)
    source = try c.decode(String.self, forKey: .source)
    lockTimeout = try c.decode(String.self, forKey: .lockTimeout)
    backfillBatchSize = try c.decodeIfPresent(Int.self, forKey: .backfillBatchSize)
    phases = try c.decode([PhasePlan].self, forKey: .phases)
    assumes = try c.decodeIfPresent([SchemaSnapshot.Table].self, forKey: .assumes)
    uses = try c.decodeIfPresent([SchemaSnapshot.ColumnPath].self, forKey: .uses)
  }
}
