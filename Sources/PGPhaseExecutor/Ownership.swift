import Foundation
import PGPhaseModel
import PGPhasePostgres

extension Journal {
  /// Version 4: what pgphase created. One row per object a step created (`Step.createdObjects`),
  /// with the identity that proves it is the one pgphase made: the `oid` of the relation,
  /// constraint, trigger or function (for a column, its table's oid and the column's `attnum`).
  /// A row whose `oid` is NULL is an intent: a non-transactional step (an index build) recorded the
  /// name before it started, when no object had it, and has not seen the object yet.
  /// `columns` (the table columns the object depends on, as pg_depend had them when it was made)
  /// and `index_oid` (a unique or primary key constraint's index) let `verify` follow what a later
  /// step's drop takes along.
  ///
  /// `steps.owns_recorded` is false on the rows written before this version: their objects were
  /// never recorded, so for them (and only them) a done step's objects are trusted by name, as
  /// before. Every row written since defaults to true.
  static let ownershipMigration = """
    CREATE TABLE pgphase.created_objects (
      intent text NOT NULL,
      step_id text NOT NULL,
      label text NOT NULL,
      object jsonb NOT NULL,
      oid oid,
      attnum smallint,
      columns text[] NOT NULL DEFAULT '{}',
      index_oid oid,
      recorded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (intent, step_id, label)
    );
    ALTER TABLE pgphase.steps ADD COLUMN owns_recorded boolean NOT NULL DEFAULT false;
    ALTER TABLE pgphase.steps ALTER COLUMN owns_recorded SET DEFAULT true;
    """
}

/// An object of the name a step creates, as the live catalog has it now.
struct LiveObject: Sendable, Equatable, CustomStringConvertible {
  /// The relation, constraint, trigger or function; for a column, its table.
  var oid: UInt32
  /// For a column.
  var attnum: Int?
  /// For a relation: what it is (a table holding the name of a view, say).
  var relationKind: Catalog.RelationKind?

  var description: String {
    (relationKind.map { "\($0.article), " } ?? "") + "oid \(oid)" + (attnum.map { ", attnum \($0)" } ?? "")
  }
}

/// How a step stands to an object of a name it creates.
enum Claim: Sendable, Equatable {
  /// Nothing has the name.
  case free
  /// The journal recorded this very object (same oid, same attnum) as created by the step.
  case ours
  /// The step recorded the name before it started (an index build), when nothing had it, and has
  /// not seen the object since: the object there now is the one its build made.
  case intended
  /// The step's journal row was written before pgphase recorded what it created: trusted by name.
  case legacy
  /// Something pgphase did not create has the name.
  case foreign(LiveObject)
}

/// One row of `pgphase.created_objects`.
struct OwnershipRecord: Sendable, Equatable {
  var intent: String
  var stepID: String
  var object: CreatedObject
  var oid: UInt32?
  var attnum: Int?
  /// Columns of its table the object depended on when it was made (names at that time).
  var columns: [String]
  /// For a unique or primary key constraint: its index.
  var indexOID: UInt32?
}

/// The ownership half of the journal: records what a step created, and tells whether an object
/// of a name a step creates is that step's. Writes on whatever transaction the connection is in,
/// so a transactional step's records commit with its DDL.
struct Ownership {
  let connection: Connection
  let intent: String

  /// The object that has `o`'s name now, or nil. A relation's name is taken by any relation
  /// (tables, views, indexes and sequences share one namespace); a function's by the function of
  /// that name without arguments in the schema a CREATE FUNCTION would use.
  static func live(_ o: CreatedObject, on c: Connection) throws -> LiveObject? {
    let row: Row?
    switch o {
    case .table(let name), .view(let name), .index(let name, _):
      row = try c.execute(
        "SELECT oid::int8 AS oid, NULL::int AS attnum, relkind::text AS kind FROM pg_class WHERE oid = to_regclass($1)",
        [name.sql]
      ).first
    case .column(let table, let column):
      row = try c.execute(
        """
        SELECT attrelid::int8 AS oid, attnum::int AS attnum, NULL AS kind FROM pg_attribute
        WHERE attrelid = to_regclass($1) AND attname = $2 AND attnum > 0 AND NOT attisdropped
        """, [table.sql, column]
      ).first
    case .constraint(let table, let name):
      row = try c.execute(
        "SELECT oid::int8 AS oid, NULL::int AS attnum, NULL AS kind FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2",
        [table.sql, name]
      ).first
    case .trigger(let table, let name):
      row = try c.execute(
        "SELECT oid::int8 AS oid, NULL::int AS attnum, NULL AS kind FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2",
        [table.sql, name]
      ).first
    case .function(let name):
      row = try c.execute(
        """
        SELECT p.oid::int8 AS oid, NULL::int AS attnum, NULL AS kind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.proname = $2 AND p.pronargs = 0 AND n.nspname = coalesce($1, current_schema())
        """, [name.schema, name.name]
      ).first
    }
    guard let row, let oid = try row.int("oid") else { return nil }
    return LiveObject(
      oid: UInt32(oid), attnum: try row.int("attnum"), relationKind: row["kind"].flatMap(Catalog.RelationKind.init(rawValue:)))
  }

  /// The step's rows, by label.
  func records(of step: Step) throws -> [String: OwnershipRecord] {
    Dictionary(
      try Self.read(on: connection, intent: intent, step: step.id).map { ($0.object.description, $0) },
      uniquingKeysWith: { first, _ in first })
  }

  /// How `step` stands to the object of each name it creates, in the step's order.
  /// - Parameter probe: where to look for each object now (an object on a table that an earlier
  ///   step of the intent renames, not run yet, is on the table's current name).
  func claims(of step: Step, probe: (CreatedObject) -> CreatedObject = { $0 }) throws
    -> [(object: CreatedObject, claim: Claim)]
  {
    let objects = step.createdObjects
    guard !objects.isEmpty else { return [] }
    let records = try records(of: step)
    let legacy = try isLegacy(step)
    return try objects.map { o in
      guard let live = try Self.live(probe(o), on: connection) else { return (o, .free) }
      if let record = records[o.description] {
        if record.oid == nil { return (o, .intended) }
        if record.oid == live.oid && record.attnum == live.attnum { return (o, .ours) }
      } else if legacy {
        return (o, .legacy)
      }
      return (o, .foreign(live))
    }
  }

  /// How `step` stands to `o` (one of the objects it creates).
  func claim(_ o: CreatedObject, of step: Step) throws -> Claim {
    var only = step
    only.creates = [o]
    return try claims(of: only).first?.claim ?? .free
  }

  /// Refuses (naming them) when objects of names the step creates are not the step's own: what
  /// an undo may drop, and what repair may call finished, must be pgphase's.
  func requireOwned(_ step: Step) throws {
    let foreign = try foreign(in: step)
    if !foreign.isEmpty { throw StepRefusal.notCreatedByPgphase(foreign.map { Self.notOwned($0.object, $0.live) }) }
  }

  /// `column public.t.x (oid 16384, attnum 3)`: what has the name, for a refusal.
  static func notOwned(_ o: CreatedObject, _ live: LiveObject) -> String { "\(o) (\(live))" }

  /// Objects of the names the step creates that something else has, with what has them.
  func foreign(in step: Step) throws -> [(object: CreatedObject, live: LiveObject)] {
    try claims(of: step).compactMap { entry in
      if case .foreign(let live) = entry.claim { return (entry.object, live) }
      return nil
    }
  }

  /// Whether the step's journal row predates ownership records and may have created its objects
  /// (done, or a non-transactional step that started): then they are trusted by name.
  func isLegacy(_ step: Step) throws -> Bool {
    let row = try connection.execute(
      """
      SELECT state, coalesce((to_jsonb(s) ->> 'owns_recorded')::bool, false) AS recorded
      FROM pgphase.steps s WHERE intent = $1 AND step_id = $2
      """, [intent, step.id]
    ).first
    guard let row, try row.bool("recorded") == false else { return false }
    let state = StepState(rawValue: row["state"] ?? "") ?? .pending
    return state == .done || (!step.transactional && (state == .running || state == .failed))
  }

  /// Records that `step` created `objects` (each must exist now), with their identities and
  /// dependencies. Inside a transactional step's transaction, so the rows commit with its DDL.
  /// - Throws: `StepRefusal.createdObjectMissing` when the step did not create what it declares.
  func recordCreated(_ objects: [CreatedObject], by step: Step) throws {
    for o in objects {
      guard let live = try Self.live(o, on: connection) else { throw StepRefusal.createdObjectMissing(o.description) }
      var columns: [String] = []
      var index: UInt32?
      let table = o.table?.sql
      switch o {
      case .index:
        columns = try dependedColumns(catalog: "pg_class", oid: live.oid, table: table)
      case .constraint:
        columns = try dependedColumns(catalog: "pg_constraint", oid: live.oid, table: table)
        index = try connection.execute(
          "SELECT nullif(conindid, 0)::int8 FROM pg_constraint WHERE oid = $1::int8::oid AND contype IN ('u', 'p', 'x')",
          [String(live.oid)]
        ).scalarInt().map(UInt32.init)
      case .trigger:
        columns = try dependedColumns(catalog: "pg_trigger", oid: live.oid, table: table)
      case .table, .view, .column, .function:
        break
      }
      try write(o, by: step, oid: live.oid, attnum: live.attnum, columns: columns, index: index)
    }
  }

  /// Records, before a non-transactional step builds it, that the step is about to create `o`
  /// (no oid yet): committed before the build starts, so after a kill the object of that name is
  /// known to be the step's.
  func recordIntended(_ o: CreatedObject, by step: Step) throws {
    try write(o, by: step, oid: nil, attnum: nil, columns: [], index: nil)
  }

  /// The step was undone: it owns nothing any more.
  func forget(_ step: Step) throws {
    try connection.execute("DELETE FROM pgphase.created_objects WHERE intent = $1 AND step_id = $2", [intent, step.id])
    try markRecorded(step)
  }

  /// A pgphase index rebuilt by `REINDEX CONCURRENTLY` (which gives it a new oid) stays pgphase's.
  static func followRebuild(from old: UInt32, to new: UInt32, on c: Connection) throws {
    guard old != new, try c.execute("SELECT to_regclass('pgphase.created_objects') IS NOT NULL").scalarBool() == true else {
      return
    }
    try c.execute(
      "UPDATE pgphase.created_objects SET oid = $2::int8::oid, recorded_at = now() WHERE oid = $1::int8::oid AND object ->> 'kind' = 'index'",
      [String(old), String(new)])
  }

  /// Every row (of one step when given); none when the journal predates version 4.
  static func read(on c: Connection, intent: String? = nil, step: String? = nil) throws -> [OwnershipRecord] {
    guard try c.execute("SELECT to_regclass('pgphase.created_objects') IS NOT NULL").scalarBool() == true else { return [] }
    let rows = try c.execute(
      """
      SELECT intent, step_id, object::text AS object, oid::int8 AS oid, attnum::int AS attnum, columns::text AS columns,
             index_oid::int8 AS index_oid
      FROM pgphase.created_objects
      WHERE ($1::text IS NULL OR intent = $1) AND ($2::text IS NULL OR step_id = $2)
      ORDER BY intent, step_id, label
      """, [intent, step]
    ).rows
    return try rows.map { row in
      OwnershipRecord(
        intent: row["intent"] ?? "", stepID: row["step_id"] ?? "",
        object: try JSONDecoder().decode(CreatedObject.self, from: Data((row["object"] ?? "").utf8)),
        oid: try row.int("oid").map(UInt32.init), attnum: try row.int("attnum"),
        columns: parseTextArray(row["columns"] ?? "{}"), indexOID: try row.int("index_oid").map(UInt32.init))
    }
  }

  private func write(_ o: CreatedObject, by step: Step, oid: UInt32?, attnum: Int?, columns: [String], index: UInt32?) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let object = String(decoding: try encoder.encode(o), as: UTF8.self)
    try connection.execute(
      """
      INSERT INTO pgphase.created_objects AS o (intent, step_id, label, object, oid, attnum, columns, index_oid)
      VALUES ($1, $2, $3, $4::jsonb, $5::int8::oid, $6::int2, $7::text[], $8::int8::oid)
      ON CONFLICT (intent, step_id, label) DO UPDATE SET
        object = excluded.object, oid = excluded.oid, attnum = excluded.attnum, columns = excluded.columns,
        index_oid = excluded.index_oid, recorded_at = now()
      """,
      [
        intent, step.id, o.description, object, oid.map { String($0) }, attnum.map { String($0) }, textArrayLiteral(columns),
        index.map { String($0) },
      ])
    try markRecorded(step)
  }

  /// From now on the step's objects are recorded (a row from before version 4 stops being trusted by name).
  private func markRecorded(_ step: Step) throws {
    try connection.execute(
      "UPDATE pgphase.steps SET owns_recorded = true WHERE intent = $1 AND step_id = $2 AND NOT owns_recorded", [intent, step.id])
  }

  /// The columns of `table` the object depends on, by pg_depend.
  private func dependedColumns(catalog: String, oid: UInt32, table: String?) throws -> [String] {
    guard let table else { return [] }
    let text = try connection.execute(
      """
      SELECT coalesce(array_agg(DISTINCT a.attname::text), '{}')::text
      FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
      WHERE d.classid = $1::regclass AND d.objid = $2::int8::oid AND d.refobjsubid > 0 AND d.refobjid = to_regclass($3)
      """, [catalog, String(oid), table]
    ).scalar
    return parseTextArray(text ?? "{}").sorted()
  }
}
