import Foundation
import PGPhaseModel
import PGPhasePostgres

/// Why an intent's phase, or its rollback, is refused before anything of it runs.
public struct PreflightProblem: Sendable, Equatable, Codable, CustomStringConvertible {
  /// What stands in the way.
  public enum Kind: String, Sendable, Codable {
    /// A name a step creates is taken by an object pgphase did not create.
    case nameTaken = "name_taken"
    /// The role running pgphase lacks a privilege a step needs.
    case privilegeMissing = "privilege_missing"
    /// An undo would drop an object pgphase did not create.
    case notOwned = "not_owned"
    /// A table the intent touches is not as its plan assumed (`DriftGuard`).
    case drift
  }

  /// What stands in the way.
  public var kind: Kind
  /// The step that needs the name or the privilege.
  public var step: String?
  /// The object concerned (`column public.t.x`, `schema public`, `table public.t`).
  public var object: String
  /// For people: what is wrong.
  public var message: String
  /// For a missing privilege: the statement that grants it.
  public var grant: String?

  /// A problem found before the start.
  public init(kind: Kind, step: String?, object: String, message: String, grant: String? = nil) {
    self.kind = kind
    self.step = step
    self.object = object
    self.message = message
    self.grant = grant
  }

  /// `<step>: <message>` and the statement to run, if any.
  public var description: String {
    (step.map { "\($0): " } ?? "") + message + (grant.map { " (grant it with: \($0))" } ?? "")
  }
}

/// The checks made before an intent's phase (or its rollback) changes anything: every name its
/// steps create must be free (or already the step's own), and the role must hold every privilege
/// its steps need. Nothing is written: a refusal leaves the catalog and the journal as they were.
///
/// The privileges come from what each step is: creating a table, view, function or index needs
/// CREATE on its schema; adding a column, constraint or index, and any other ALTER, DROP or VALIDATE of
/// a table (every lock stronger than ROW EXCLUSIVE the step takes, other than on a foreign key's
/// target), needs ownership of the table; a trigger needs TRIGGER on its table; a foreign key
/// needs REFERENCES on the table it references; a backfill needs SELECT and UPDATE; every schema
/// named needs USAGE. User SQL (the `sql` operation) is not analysed: it is the user's to grant.
struct Preflight {
  let connection: Connection
  let plan: LoadedPlan

  private var intent: String { plan.plan.intent }
  private var ownership: Ownership { Ownership(connection: connection, intent: intent) }

  /// Before `phase` runs: the steps not done of that phase and, for expand and backfill, of
  /// every later phase up to backfill (what the intent creates before contract is checked before
  /// its first step).
  func checkBefore(_ phase: Phase, journal: [String: JournalStep]) throws {
    let phases = phase == .contract ? [Phase.contract] : Phase.allCases.filter { $0 >= phase && $0 <= .backfill }
    let steps = phases.flatMap { plan.plan.steps(in: $0) }.filter { journal[$0.id]?.state != .done }
    // Privileges first: without USAGE on a schema, nothing in it can even be looked up by name.
    var problems = try missingPrivileges(steps)
    if problems.isEmpty { problems = try takenNames(steps) }
    if !problems.isEmpty {
      throw ExecutorError.refusedBeforeStart(intent: intent, action: phase.rawValue, problems: problems)
    }
  }

  /// Before a rollback undoes `steps`: what each undo drops must be pgphase's, and the role must
  /// be able to drop it (own it, or own its table).
  func checkRollback(_ steps: [Step]) throws {
    var problems: [PreflightProblem] = []
    let role = try currentRole()
    for step in steps where step.undo != nil {
      for (object, live) in try ownership.foreign(in: step) {
        problems.append(
          .init(
            kind: .notOwned, step: step.id, object: object.description,
            message:
              "the undo drops \(Ownership.notOwned(object, live)), which pgphase did not create (the journal has no record of it): pgphase does not drop it"
          ))
      }
      for object in step.createdObjects {
        let owned: QualifiedName? =
          switch object {
          case .table(let o), .view(let o), .index(let o, _): o
          case .column(let t, _), .constraint(let t, _), .trigger(let t, _): t
          case .function: nil
          }
        guard let owned, let relation = try relationOwner(owned), !relation.usable else { continue }
        problems.append(ownerProblem(step: step, relation: owned, owner: relation, role: role, why: "to undo it"))
      }
    }
    if !problems.isEmpty { throw ExecutorError.refusedBeforeStart(intent: intent, action: "roll back", problems: problems) }
  }

  // MARK: - Names

  /// Names the steps create that objects pgphase did not create have. An object on a table that
  /// an earlier step renames is looked for on the table's current name; the view a rename leaves
  /// under the old name takes the name the same step frees; a rename's new name must be free.
  private func takenNames(_ steps: [Step]) throws -> [PreflightProblem] {
    var problems: [PreflightProblem] = []
    var renamed: [(from: QualifiedName, to: QualifiedName)] = []
    for step in steps {
      let rename = step.tableRename
      let probe: (CreatedObject) -> CreatedObject = { o in
        guard let table = o.table, let r = renamed.last(where: { Self.same($0.to, table) }) else { return o }
        return o.onTable(r.from)
      }
      for (object, claim) in try ownership.claims(of: step, probe: probe) {
        guard case .foreign(let live) = claim else { continue }
        if let rename, case .view(let v) = object, Self.same(v, rename.from) { continue }
        problems.append(
          .init(
            kind: .nameTaken, step: step.id, object: object.description,
            message:
              "\(Ownership.notOwned(probe(object), live)) already exists and pgphase did not create it; the step would create \(object)"
          ))
      }
      if let rename {
        if let live = try Ownership.live(.table(rename.to), on: connection) {
          problems.append(
            .init(
              kind: .nameTaken, step: step.id, object: "table \(rename.to)",
              message: "\(rename.to) already exists (\(live)); the step would rename \(rename.from) to it"))
        }
        renamed.append(rename)
      }
    }
    return problems
  }

  /// Whether two names are the same object's (an unqualified name is taken as the search path's
  /// first schema's, as the plan's statements would resolve it).
  static func same(_ a: QualifiedName, _ b: QualifiedName) -> Bool {
    a.name == b.name && (a.schema == b.schema || a.schema == nil || b.schema == nil)
  }

  // MARK: - Privileges

  /// What a step needs of the role.
  enum Need: Hashable {
    /// To own the relation (ALTER, DROP, CREATE INDEX, VALIDATE need the owner's privileges).
    case owner(QualifiedName)
    /// CREATE on the schema (nil: the first schema of the search path).
    case create(schema: String?)
    /// A table privilege (`REFERENCES`, `TRIGGER`, `SELECT`, `UPDATE`).
    case privilege(String, on: QualifiedName)
  }

  /// What `step` needs, from what it creates and what it locks (see the type).
  static func needs(of step: Step) -> [Need] {
    var needs: [Need] = []
    var createdTables: [QualifiedName] = []
    var triggerTables: [QualifiedName] = []
    var alteredTables: [QualifiedName] = []
    for object in step.createdObjects {
      switch object {
      case .table(let t):
        createdTables.append(t)
        needs.append(.create(schema: t.schema))
      case .view(let v): needs.append(.create(schema: v.schema))
      case .function(let f): needs.append(.create(schema: f.schema))
      case .column(let t, _), .constraint(let t, _):
        alteredTables.append(t)
        needs.append(.owner(t))
      case .index(let i, let t):
        // An index is a relation in its table's schema: CREATE INDEX also needs CREATE there.
        alteredTables.append(t)
        needs += [.owner(t), .create(schema: i.schema ?? t.schema)]
      case .trigger(let t, _):
        triggerTables.append(t)
        needs.append(.privilege("TRIGGER", on: t))
      }
    }
    for lock in step.locks {
      let r = lock.relation
      if createdTables.contains(where: { same($0, r) }) { continue }
      switch lock.mode {
      case .accessShare, .rowShare: continue
      case .rowExclusive: needs += [.privilege("SELECT", on: r), .privilege("UPDATE", on: r)]
      case .shareRowExclusive:
        if triggerTables.contains(where: { same($0, r) }) { continue }
        needs.append(alteredTables.contains(where: { same($0, r) }) ? .owner(r) : .privilege("REFERENCES", on: r))
      case .shareUpdateExclusive, .share, .exclusive, .accessExclusive:
        needs.append(.owner(r))
      }
    }
    var seen = Set<Need>()
    return needs.filter { seen.insert($0).inserted }
  }

  /// The privileges the steps need that the role lacks, each with the statement that grants it.
  /// A relation that does not exist yet (an earlier step creates it, so the role will own it) is
  /// not checked; one an earlier step renames is checked under its current name.
  private func missingPrivileges(_ steps: [Step]) throws -> [PreflightProblem] {
    let role = try currentRole()
    var problems: [PreflightProblem] = []
    var reported = Set<String>()
    var renamed: [(from: QualifiedName, to: QualifiedName)] = []
    func add(_ p: PreflightProblem) {
      if reported.insert(p.grant ?? p.message).inserted { problems.append(p) }
    }
    for step in steps {
      for need in Self.needs(of: step) {
        func current(_ r: QualifiedName) -> QualifiedName {
          renamed.last(where: { Self.same($0.to, r) }).map { $0.from } ?? r
        }
        switch need {
        case .create(let schema):
          let name = try schemaName(schema)
          if let missing = try schemaUsage(name, role: role, step: step) {
            add(missing)
            continue
          }
          guard try connection.execute("SELECT has_schema_privilege($1, 'CREATE')", [name]).scalarBool() == false else {
            continue
          }
          add(
            .init(
              kind: .privilegeMissing, step: step.id, object: "schema \(SQL.quoteIdentifier(name))",
              message: "\(role) needs CREATE on schema \(SQL.quoteIdentifier(name)) to create what the step creates",
              grant: "GRANT CREATE ON SCHEMA \(SQL.quoteIdentifier(name)) TO \(SQL.quoteIdentifier(role));"))
        case .owner(let r):
          let relation = current(r)
          if let missing = try schemaUsage(try schemaName(relation.schema), role: role, step: step) { add(missing) }
          guard let owner = try relationOwner(relation), !owner.usable else { continue }
          add(ownerProblem(step: step, relation: relation, owner: owner, role: role, why: "to change it"))
        case .privilege(let privilege, let r):
          let relation = current(r)
          if let missing = try schemaUsage(try schemaName(relation.schema), role: role, step: step) { add(missing) }
          guard let found = try relationOwner(relation),
            try connection.execute("SELECT has_table_privilege($1::int8::oid, $2)", [String(found.oid), privilege])
              .scalarBool() == false
          else { continue }
          add(
            .init(
              kind: .privilegeMissing, step: step.id, object: "table \(relation)",
              message: "\(role) needs \(privilege) on table \(relation)",
              grant: "GRANT \(privilege) ON TABLE \(relation.sql) TO \(SQL.quoteIdentifier(role));"))
        }
      }
      if let rename = step.tableRename { renamed.append(rename) }
    }
    return problems
  }

  /// The relation, its owner, and whether the role has the owner's privileges; nil when there is
  /// no such relation. Read from the catalogs by name (an unqualified name through the search
  /// path, as the step's statements would resolve it), so a schema without USAGE does not stop
  /// the other checks.
  private func relationOwner(_ relation: QualifiedName) throws -> (
    oid: UInt32, owner: String, superuser: Bool, usable: Bool
  )? {
    guard
      let row = try connection.execute(
        """
        SELECT c.oid::int8 AS oid, c.relowner::regrole::text AS owner, r.rolsuper, pg_has_role(c.relowner, 'USAGE') AS usable
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner
        WHERE c.relname = $2 AND (n.nspname = $1 OR ($1 IS NULL AND n.nspname = ANY (current_schemas(true))))
        ORDER BY array_position(current_schemas(true), n.nspname::name) NULLS LAST LIMIT 1
        """, [relation.schema, relation.name]
      ).first, let oid = try row.int("oid")
    else { return nil }
    return (UInt32(oid), row["owner"] ?? "?", try row.bool("rolsuper") ?? false, try row.bool("usable") ?? false)
  }

  /// The role needs the owner's privileges on `relation`: membership in the owning role, or,
  /// when the owner is a superuser (whose membership must not be handed out), the relation itself.
  private func ownerProblem(
    step: Step, relation: QualifiedName, owner: (oid: UInt32, owner: String, superuser: Bool, usable: Bool), role: String,
    why: String
  ) -> PreflightProblem {
    let me = SQL.quoteIdentifier(role)
    let grant =
      owner.superuser
      ? "ALTER TABLE \(relation.sql) OWNER TO \(me);" : "GRANT \(owner.owner) TO \(me);"
    return .init(
      kind: .privilegeMissing, step: step.id, object: "table \(relation)",
      message: "\(role) must own \(relation) (or be a member of its owner, \(owner.owner)) \(why)", grant: grant)
  }

  /// A problem when the role lacks USAGE on `schema` (nothing in it can even be named).
  private func schemaUsage(_ schema: String, role: String, step: Step) throws -> PreflightProblem? {
    let exists = try connection.execute("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", [schema]).scalarBool()
    guard exists == true, try connection.execute("SELECT has_schema_privilege($1, 'USAGE')", [schema]).scalarBool() == false
    else { return nil }
    return .init(
      kind: .privilegeMissing, step: step.id, object: "schema \(SQL.quoteIdentifier(schema))",
      message: "\(role) needs USAGE on schema \(SQL.quoteIdentifier(schema))",
      grant: "GRANT USAGE ON SCHEMA \(SQL.quoteIdentifier(schema)) TO \(SQL.quoteIdentifier(role));")
  }

  /// `schema`, or the schema an unqualified name is created in (the search path's first).
  private func schemaName(_ schema: String?) throws -> String {
    if let schema { return schema }
    return try connection.execute("SELECT coalesce(current_schema(), 'public')").scalar ?? "public"
  }

  private func currentRole() throws -> String {
    try connection.execute("SELECT current_user::text").scalar ?? "?"
  }
}
