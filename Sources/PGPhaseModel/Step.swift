/// One unit of execution and of journaling: either one transaction, or one statement sent alone
/// outside any transaction. What the executor does with it is decided by `action`; `sql` is the
/// same work as text, for review and for running a phase by hand with psql.
public struct Step: Hashable, Sendable, Codable {
  /// Stable within a plan: `<phase>/<nn>-<slug>`.
  public var id: String
  /// The phase it belongs to (also the prefix of `id`).
  public var phase: Phase
  /// 1-based index of the intent change this step came from.
  public var change: Int
  /// Where that change is written in the intent file; nil in plans read from format 1, which did
  /// not record it.
  public var location: SourceLocation?
  /// The operation of the change, as its YAML key (`add_column`, ...).
  public var operation: String
  /// One line for humans: what this step does and why it is safe.
  public var summary: String
  /// Statements, without trailing semicolons. A non-transactional step has exactly one.
  public var sql: [String]
  /// What the step is, which decides how the executor runs, watches, resumes and repairs it.
  public var action: StepAction
  /// The relations it locks and how, as the planner judges it (empty for user SQL).
  public var locks: [LockedRelation]
  /// How long the lock is held, which is what the app notices.
  public var cost: CostClass
  /// How to reverse the step. nil in expand or backfill means nothing needs undoing (for example
  /// data written into a column that the expand undo drops); every contract step is irreversible.
  public var undo: Undo?
  /// What the live catalog shows once the step is done: used to resume after a crash and by verify.
  public var postconditions: [Postcondition]
  /// What the live catalog must show before the step may run, when it is not done yet. The
  /// executor refuses the step, and says why, rather than lose what the plan cannot see.
  public var preconditions: [Precondition]
  /// What the step brings into existence, which pgphase then owns (see `CreatedObject`); nil in
  /// a plan written before steps declared it, where `createdObjects` derives it.
  public var creates: [CreatedObject]?
  /// The CHECK and index expressions the step writes, as its intent wrote them (see
  /// `WrittenExpression`); empty for steps that write none.
  public var writes: [WrittenExpression]

  /// A step; most are `transaction`s with no preconditions.
  public init(
    id: String, phase: Phase, change: Int, location: SourceLocation? = nil, operation: String, summary: String,
    sql: [String], action: StepAction, locks: [LockedRelation], cost: CostClass, undo: Undo?,
    postconditions: [Postcondition], preconditions: [Precondition] = [], creates: [CreatedObject]? = nil,
    writes: [WrittenExpression] = []
  ) {
    self.id = id
    self.phase = phase
    self.change = change
    self.location = location
    self.operation = operation
    self.summary = summary
    self.sql = sql
    self.action = action
    self.locks = locks
    self.cost = cost
    self.undo = undo
    self.postconditions = postconditions
    self.preconditions = preconditions
    self.creates = creates
    self.writes = writes
  }

  /// Whether the step runs inside one transaction (with its journal row), as its action says.
  public var transactional: Bool { action.isTransactional }

  /// The batched data change, when the step is one.
  public var backfill: BackfillSpec? {
    if case .backfill(let spec) = action { return spec }
    return nil
  }

  /// The strongest lock the step takes, if any.
  public var strongestLock: LockMode? { locks.map(\.mode).max() }

  enum CodingKeys: String, CodingKey {
    case id, phase, change, location, operation, summary, sql, transactional, action, locks, cost, undo, postconditions
    case preconditions, creates, writes
  }

  /// Reads a current-format step; `transactional` must agree with the action.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    id = try c.decode(String.self, forKey: .id)
    phase = try c.decode(Phase.self, forKey: .phase)
    change = try c.decode(Int.self, forKey: .change)
    location = try c.decodeIfPresent(SourceLocation.self, forKey: .location)
    operation = try c.decode(String.self, forKey: .operation)
    summary = try c.decode(String.self, forKey: .summary)
    sql = try c.decode([String].self, forKey: .sql)
    action = try c.decode(StepAction.self, forKey: .action)
    locks = try c.decode([LockedRelation].self, forKey: .locks)
    cost = try c.decode(CostClass.self, forKey: .cost)
    undo = try c.decodeIfPresent(Undo.self, forKey: .undo)
    postconditions = try c.decode([Postcondition].self, forKey: .postconditions)
    preconditions = try c.decodeIfPresent([Precondition].self, forKey: .preconditions) ?? []
    creates = try c.decodeIfPresent([CreatedObject].self, forKey: .creates)
    writes = try c.decodeIfPresent([WrittenExpression].self, forKey: .writes) ?? []
    // `transactional` is written for readers of plan.json; the action decides. A file where the
    // two disagree was edited by hand into something the executor cannot honour.
    if let written = try c.decodeIfPresent(Bool.self, forKey: .transactional), written != action.isTransactional {
      throw DecodingError.dataCorruptedError(
        forKey: .transactional, in: c,
        debugDescription:
          "step \(id) says transactional: \(written), but its action \(action.kind.rawValue) is \(action.isTransactional ? "" : "not ")transactional"
      )
    }
  }

  /// Writes `transactional` beside the action for readers, preconditions only when there are some,
  /// and `creates` when declared (a step read from an older plan writes it back as it was read).
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(id, forKey: .id)
    try c.encode(phase, forKey: .phase)
    try c.encode(change, forKey: .change)
    try c.encodeIfPresent(location, forKey: .location)
    try c.encode(operation, forKey: .operation)
    try c.encode(summary, forKey: .summary)
    try c.encode(sql, forKey: .sql)
    try c.encode(transactional, forKey: .transactional)
    try c.encode(action, forKey: .action)
    try c.encode(locks, forKey: .locks)
    try c.encode(cost, forKey: .cost)
    try c.encodeIfPresent(undo, forKey: .undo)
    try c.encode(postconditions, forKey: .postconditions)
    if !preconditions.isEmpty { try c.encode(preconditions, forKey: .preconditions) }
    try c.encodeIfPresent(creates, forKey: .creates)
    if !writes.isEmpty { try c.encode(writes, forKey: .writes) }
  }
}

/// An expression a step writes into the schema, as its intent wrote it. The server keeps only
/// its own deparsed form (`CHECK ((amount > 0))` for `amount > 0`), so this is the one record of
/// the intent's words: `schema dump` shows them where the server confirms it holds the same
/// expression, as `plans/schema.sql` does. (A column default's words are its `column_default`
/// postcondition.)
///
/// In plan.json: `{"kind": "check", "table": {...}, "name": "...", "expression": "..."}` and
/// `{"kind": "index", "object": {...}, "table": {...}, "keys": ["lower(email)", null], "predicate": "..."}`.
public enum WrittenExpression: Hashable, Sendable, Codable {
  /// The expression of the CHECK constraint `name` on `table` (what `CHECK (...)` encloses).
  case check(table: QualifiedName, name: String, expression: String)
  /// The index's keys in order (a key's expression, nil for a column) and its predicate.
  case index(QualifiedName, on: QualifiedName, keys: [String?], predicate: String?)

  enum Kind: String, Codable { case check, index }
  enum CodingKeys: String, CodingKey { case kind, table, name, expression, object, keys, predicate }

  /// Reads the JSON object described on the type.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    switch try c.decode(Kind.self, forKey: .kind) {
    case .check:
      self = .check(
        table: try c.decode(QualifiedName.self, forKey: .table), name: try c.decode(String.self, forKey: .name),
        expression: try c.decode(String.self, forKey: .expression))
    case .index:
      self = .index(
        try c.decode(QualifiedName.self, forKey: .object), on: try c.decode(QualifiedName.self, forKey: .table),
        keys: try c.decode([String?].self, forKey: .keys), predicate: try c.decodeIfPresent(String.self, forKey: .predicate))
    }
  }

  /// Writes the fields of the case only.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    switch self {
    case .check(let table, let name, let expression):
      try c.encode(Kind.check, forKey: .kind)
      try c.encode(table, forKey: .table)
      try c.encode(name, forKey: .name)
      try c.encode(expression, forKey: .expression)
    case .index(let index, let table, let keys, let predicate):
      try c.encode(Kind.index, forKey: .kind)
      try c.encode(index, forKey: .object)
      try c.encode(table, forKey: .table)
      try c.encode(keys, forKey: .keys)
      try c.encodeIfPresent(predicate, forKey: .predicate)
    }
  }

  /// The table the expression is on.
  public var table: QualifiedName {
    switch self {
    case .check(let table, _, _), .index(_, let table, _, _): table
    }
  }

  /// The same expression on `table` (for a table a rename moved); an index keeps its name, in
  /// `table`'s schema.
  public func onTable(_ table: QualifiedName) -> WrittenExpression {
    switch self {
    case .check(_, let name, let expression): .check(table: table, name: name, expression: expression)
    case .index(let index, _, let keys, let predicate):
      .index(index.schema == nil ? index : table.sibling(index.name), on: table, keys: keys, predicate: predicate)
    }
  }
}

/// What a step is: the executor dispatches on this, never on the step's SQL text.
public enum StepAction: Hashable, Sendable, Codable {
  /// DDL (or any statements) in one transaction under the plan's short lock_timeout, retried on
  /// lock timeouts and deadlocks, with the journal row written in the same transaction.
  case transaction
  /// `ALTER TABLE ... VALIDATE CONSTRAINT`: a transaction like `transaction` that scans the table
  /// without blocking writes.
  case validateConstraint(table: QualifiedName, name: String)
  /// `CREATE [UNIQUE] INDEX CONCURRENTLY`, alone and without lock_timeout: watched, checked valid
  /// afterwards, an invalid leftover dropped and built again.
  case buildIndex(IndexBuild)
  /// `REINDEX INDEX CONCURRENTLY` of an existing index, with its `_ccnew`/`_ccold` leftovers cleaned.
  case rebuildIndex(QualifiedName)
  /// `DROP INDEX CONCURRENTLY`, alone and without lock_timeout, dropped again if cancelled.
  case dropIndex(QualifiedName)
  /// A data change run in short keyset batches, resumable from a checkpoint.
  case backfill(BackfillSpec)
  /// SQL the user wrote (the `sql` operation). Outside a transaction it is sent alone; when it uses
  /// CONCURRENTLY it runs without the short lock_timeout, which would cancel its waits.
  case sql(transactional: Bool, concurrently: Bool)

  /// The action's name in plan.json.
  public enum Kind: String, Sendable, Codable, CaseIterable {
    case transaction
    case validateConstraint = "validate_constraint"
    case buildIndex = "build_index"
    case rebuildIndex = "rebuild_index"
    case dropIndex = "drop_index"
    case backfill
    case sql
  }

  /// The action's name in plan.json.
  public var kind: Kind {
    switch self {
    case .transaction: .transaction
    case .validateConstraint: .validateConstraint
    case .buildIndex: .buildIndex
    case .rebuildIndex: .rebuildIndex
    case .dropIndex: .dropIndex
    case .backfill: .backfill
    case .sql: .sql
    }
  }

  /// Whether the step runs as one transaction.
  public var isTransactional: Bool {
    switch self {
    case .transaction, .validateConstraint: true
    case .buildIndex, .rebuildIndex, .dropIndex, .backfill: false
    case .sql(let transactional, _): transactional
    }
  }

  /// The index a concurrent index step builds, rebuilds or drops.
  public var index: QualifiedName? {
    switch self {
    case .buildIndex(let build): build.index
    case .rebuildIndex(let index), .dropIndex(let index): index
    default: nil
    }
  }

  enum CodingKeys: String, CodingKey {
    case kind, table, name, index, unique, definition, assignments, pending, transactional, concurrently
    case bypassTrigger = "bypass_trigger"
  }

  /// Reads `{"kind": ..., <fields of the case>}`.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    switch try c.decode(Kind.self, forKey: .kind) {
    case .transaction: self = .transaction
    case .validateConstraint:
      self = .validateConstraint(
        table: try c.decode(QualifiedName.self, forKey: .table), name: try c.decode(String.self, forKey: .name))
    case .buildIndex:
      self = .buildIndex(
        IndexBuild(
          index: try c.decode(QualifiedName.self, forKey: .index), table: try c.decode(QualifiedName.self, forKey: .table),
          unique: try c.decode(Bool.self, forKey: .unique), definition: try c.decode(String.self, forKey: .definition)))
    case .rebuildIndex: self = .rebuildIndex(try c.decode(QualifiedName.self, forKey: .index))
    case .dropIndex: self = .dropIndex(try c.decode(QualifiedName.self, forKey: .index))
    case .backfill:
      self = .backfill(
        BackfillSpec(
          table: try c.decode(QualifiedName.self, forKey: .table),
          assignments: try c.decode([Assignment].self, forKey: .assignments),
          pending: try c.decode(String.self, forKey: .pending),
          bypassTrigger: try c.decodeIfPresent(String.self, forKey: .bypassTrigger)))
    case .sql:
      self = .sql(
        transactional: try c.decode(Bool.self, forKey: .transactional),
        concurrently: try c.decode(Bool.self, forKey: .concurrently))
    }
  }

  /// Writes `{"kind": ..., <fields of the case>}`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(kind, forKey: .kind)
    switch self {
    case .transaction: break
    case .validateConstraint(let table, let name):
      try c.encode(table, forKey: .table)
      try c.encode(name, forKey: .name)
    case .buildIndex(let build):
      try c.encode(build.index, forKey: .index)
      try c.encode(build.table, forKey: .table)
      try c.encode(build.unique, forKey: .unique)
      try c.encode(build.definition, forKey: .definition)
    case .rebuildIndex(let index), .dropIndex(let index):
      try c.encode(index, forKey: .index)
    case .backfill(let spec):
      try c.encode(spec.table, forKey: .table)
      try c.encode(spec.assignments, forKey: .assignments)
      try c.encode(spec.pending, forKey: .pending)
      try c.encodeIfPresent(spec.bypassTrigger, forKey: .bypassTrigger)
    case .sql(let transactional, let concurrently):
      try c.encode(transactional, forKey: .transactional)
      try c.encode(concurrently, forKey: .concurrently)
    }
  }
}

/// An index built with `CREATE [UNIQUE] INDEX CONCURRENTLY`: its identity, and its definition in
/// a form the executor can build again on an empty copy of the table, to compare definitions.
public struct IndexBuild: Hashable, Sendable {
  /// The index, in its table's schema (an index always lives there).
  public var index: QualifiedName
  /// The indexed table.
  public var table: QualifiedName
  /// A unique index.
  public var unique: Bool
  /// What follows `ON <table>` in CREATE INDEX: `[USING method] (keys) [INCLUDE (...)] [WHERE ...]`.
  public var definition: String

  /// An index build.
  public init(index: QualifiedName, table: QualifiedName, unique: Bool, definition: String) {
    self.index = index
    self.table = table
    self.unique = unique
    self.definition = definition
  }

  /// The definition for index keys and options as the intent language gives them.
  /// `with`: storage parameters as SQL (`fillfactor = 70`).
  public static func definition(
    method: String?, keys: [String], include: [String], with parameters: [String] = [], predicate: String?
  ) -> String {
    var text = method.map { "USING \($0) " } ?? ""
    text += "(\(keys.joined(separator: ", ")))"
    if !include.isEmpty { text += " INCLUDE (\(include.map(SQL.quoteIdentifier).joined(separator: ", ")))" }
    if !parameters.isEmpty { text += " WITH (\(parameters.joined(separator: ", ")))" }
    if let predicate { text += " WHERE \(predicate)" }
    return text
  }

  /// `CREATE [UNIQUE] INDEX [CONCURRENTLY] name ON <table> definition`; `table` replaces the
  /// index's own table (SQL text) when given, for building the same index elsewhere.
  public func createSQL(concurrently: Bool, on table: String? = nil) -> String {
    "CREATE \(unique ? "UNIQUE " : "")INDEX \(concurrently ? "CONCURRENTLY " : "")\(SQL.quoteIdentifier(index.name))"
      + " ON \(table ?? self.table.sql) \(definition)"
  }
}

/// Describes a batched data change so the executor can run it in small keyset batches.
/// `sql` of the step holds the same change as one statement, for review and for tiny tables.
public struct BackfillSpec: Hashable, Sendable {
  /// The table updated.
  public var table: QualifiedName
  /// Column → SQL expression, applied to every pending row.
  public var assignments: [Assignment]
  /// Selects the rows that still need the change; a rerun touches only these, so it is idempotent.
  public var pending: String
  /// The pgphase trigger (fill or sync) on `table` whose work each batch does itself. The
  /// trigger's `WHEN` skips it while the session's `pgphase.bypass_trigger` names it, so the
  /// backfill does not pay a PL/pgSQL call per row; other sessions' writes still fire it.
  public var bypassTrigger: String?

  /// A backfill of `table` setting `assignments` on the `pending` rows.
  public init(table: QualifiedName, assignments: [Assignment], pending: String, bypassTrigger: String? = nil) {
    self.table = table
    self.assignments = assignments
    self.pending = pending
    self.bypassTrigger = bypassTrigger
  }
}
