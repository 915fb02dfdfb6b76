import Foundation
import PGPhaseModel

/// A table as one app version reads and writes it between expand and contract.
struct AppRelation: Sendable {
  /// The name this app uses (the old name of a renamed table is a view).
  var name: QualifiedName
  /// The table behind it.
  var physical: QualifiedName
  /// Primary key of `physical`; empty when it has none (then rows are not updated by key).
  var key: [ShapeColumn]
  /// The columns this app knows.
  var columns: [ShapeColumn]
  /// What a minimal INSERT of this app names: NOT NULL in its shape, without a default.
  var required: Set<String>
  /// Unique column lists of `physical`.
  var uniqueKeys: [[String]]
  var rows: Int

  var physicalKey: String { CatalogShape.key(physical) }
}

/// A column kept in step both ways by a sync trigger: `new = up(old)`, and a write through
/// `new` sets `old = down(new)`.
struct SyncPair: Sendable {
  var table: String
  var old: String
  var new: String
  /// The name `down` is written against (the column's name after contract).
  var final: String
  var down: String
}

/// A batched backfill of the plan, and whether a trigger does the same work for app writes.
struct PlannedBackfill: Sendable {
  var table: String
  var spec: BackfillSpec
  /// A fill or sync trigger keeps app writes in step, so no row an app writes may stay pending.
  var triggerBacked: Bool
}

/// What an intent's plan promises about data between expand and contract, read from the plan
/// (backfill specs and their triggers) and the intent (the `down` of two-way changes).
struct IntentPromises: Sendable {
  var backfills: [PlannedBackfill]
  var pairs: [SyncPair]
  /// Column lists the plan makes unique later (in backfill), by table: the new app already
  /// writes them as unique.
  var uniqueLater: [String: [[String]]] = [:]

  static let none = IntentPromises(backfills: [], pairs: [])

  init(backfills: [PlannedBackfill], pairs: [SyncPair]) {
    self.backfills = backfills
    self.pairs = pairs
  }

  init(plan: Plan, intent: Intent, old: CatalogShape) {
    var backfills: [PlannedBackfill] = []
    var pairs: [SyncPair] = []
    for step in plan.steps(in: .backfill) {
      guard let spec = step.backfill else { continue }
      let table = CatalogShape.key(spec.table)
      backfills.append(PlannedBackfill(table: table, spec: spec, triggerBacked: spec.bypassTrigger != nil))
      guard spec.bypassTrigger != nil, step.change >= 1, step.change <= intent.changes.count,
        let new = spec.assignments.first?.column
      else { continue }
      switch intent.changes[step.change - 1].operation {
      case .renameColumn(let op):
        pairs.append(SyncPair(table: table, old: op.from, new: new, final: op.to, down: SQL.quoteIdentifier(op.to)))
      case .alterColumn(let op):
        let final = op.newName ?? op.column
        var down = op.down ?? SQL.quoteIdentifier(final)
        if op.down == nil, op.type != nil, let type = old.relations[table]?.column(op.column)?.type {
          down = "CAST(\(SQL.quoteIdentifier(final)) AS \(type))"
        }
        pairs.append(SyncPair(table: table, old: op.column, new: new, final: final, down: down))
      default:
        break
      }
    }
    self.init(backfills: backfills, pairs: pairs)
    for step in plan.allSteps where step.change >= 1 && step.change <= intent.changes.count {
      for p in step.postconditions {
        guard case .indexExists(_, let on, true) = p else { continue }
        let table = CatalogShape.key(on)
        var columns: [String] = []
        switch intent.changes[step.change - 1].operation {
        case .addColumn(let op): columns = [op.column.name]
        case .addUnique(_, _, let c): columns = c
        case .alterColumn(let op) where op.unique:
          // Both names of a renamed column: each app writes the one it knows.
          if let newName = op.newName { uniqueLater[table, default: []].append([newName]) }
          columns = [op.column]
        case .createIndex(let op):
          columns = op.keys.compactMap { if case .column(let name) = $0 { name } else { nil } }
          if columns.count != op.keys.count { columns = [] }
        default: break
        }
        if !columns.isEmpty { uniqueLater[table, default: []].append(columns) }
      }
    }
  }

  /// Columns of `table` that a backfill without a trigger changes (a `backfill` change, a
  /// nullable new column): an app INSERT names them, with the value the backfill gives them,
  /// so it does not add rows the backfill has still to do behind its walk.
  func backfilledWithoutTrigger(_ table: String) -> Set<String> {
    Set(backfills.filter { $0.table == table && !$0.triggerBacked }.flatMap { $0.spec.assignments.map(\.column) })
  }

  /// Rows of `table` some backfill of this intent still has to do (nil: none planned on it).
  func pending(_ table: String, triggerBackedOnly: Bool) -> String? {
    let predicates = backfills.filter { $0.table == table && (!triggerBackedOnly || $0.triggerBacked) }.map {
      "(\($0.spec.pending))"
    }
    return predicates.isEmpty ? nil : predicates.joined(separator: " OR ")
  }

  /// The value `column` of a row has once the backfills are done: the first assignment to it,
  /// where the row is still pending.
  func converged(_ table: String, _ column: String) -> String? {
    for b in backfills where b.table == table {
      if let a = b.spec.assignments.first(where: { $0.column == column }) {
        return "CASE WHEN (\(b.spec.pending)) THEN (\(a.expression)) ELSE \(SQL.quoteIdentifier(column)) END"
      }
    }
    return nil
  }

  /// Columns of `table` whose values pgphase's triggers maintain: targets of trigger-backed
  /// backfills (new columns, filled columns) and the old side of sync pairs.
  func maintained(_ table: String) -> Set<String> {
    var out = Set(backfills.filter { $0.table == table && $0.triggerBacked }.flatMap { $0.spec.assignments.map(\.column) })
    for p in pairs where p.table == table { out.insert(p.old) }
    return out
  }

  /// Columns a fill trigger fills when a write leaves them NULL.
  func filled(_ table: String) -> Set<String> {
    let paired = Set(pairs.filter { $0.table == table }.map(\.new))
    return Set(
      backfills.filter { $0.table == table && $0.triggerBacked }.flatMap { $0.spec.assignments.map(\.column) }
    ).subtracting(paired)
  }
}

/// The shapes of the two app versions between expand and contract, derived from the catalog
/// before and after expand and from what the plan's contract removes.
enum AppShapes {
  /// The old app: every relation of the catalog before expand, with the columns it had then,
  /// under the same name (a renamed table's old name is a view by now).
  static func old(before: CatalogShape, window: CatalogShape) -> [AppRelation] {
    before.relations.values.sorted { $0.name < $1.name }.compactMap { r in
      guard let physical = window.physical(r.name), let table = window.relation(physical) else { return nil }
      let columns = r.columns.compactMap { c in table.column(c.name).map { merge(old: c, live: $0) } }
      let required = Set(columns.filter { $0.notNull && !$0.hasDefault && !$0.databaseFilled }.map(\.name))
      return AppRelation(
        name: r.name, physical: physical, key: table.primaryKey.compactMap(table.column), columns: columns,
        required: required, uniqueKeys: table.uniqueKeys, rows: table.rowCount)
    }
  }

  /// The new app: every relation of the window that contract keeps, without the columns
  /// contract drops (old columns, shadows renamed into place), under the names it has then.
  static func new(window: CatalogShape, plan: Plan) -> [AppRelation] {
    var droppedRelations: Set<String> = []
    var droppedColumns: Set<String> = []
    var notNullLater: Set<String> = []
    for step in plan.allSteps {
      for p in step.postconditions {
        if step.phase == .contract, p.kind == .tableAbsent || p.kind == .viewAbsent, let o = p.subject {
          droppedRelations.insert(CatalogShape.key(o))
        }
        if step.phase == .contract, p.kind == .columnAbsent, let t = p.table, let c = p.column {
          droppedColumns.insert("\(CatalogShape.key(t))|\(c)")
        }
        if case .columnExists(let t, let c, _, false) = p {
          notNullLater.insert("\(CatalogShape.key(t))|\(c)")
        }
      }
    }
    return window.relations.values.sorted { $0.name < $1.name }.compactMap { r in
      let key = CatalogShape.key(r.name)
      guard !droppedRelations.contains(key), let physical = window.physical(r.name), let table = window.relation(physical)
      else { return nil }
      let tableKey = CatalogShape.key(physical)
      let columns = r.columns.filter { !droppedColumns.contains("\(tableKey)|\($0.name)") }.compactMap { c in
        table.column(c.name).map { merge(old: c, live: $0) }
      }
      let required = Set(
        columns.filter {
          ($0.notNull || notNullLater.contains("\(tableKey)|\($0.name)")) && !$0.hasDefault && !$0.databaseFilled
        }.map(\.name))
      return AppRelation(
        name: r.name, physical: physical, key: table.primaryKey.compactMap(table.column), columns: columns,
        required: required, uniqueKeys: table.uniqueKeys, rows: table.rowCount)
    }
  }

  /// The new app's relations after contract: the same names, now as the catalog has them.
  static func afterContract(_ shape: [AppRelation], catalog: CatalogShape) -> (relations: [AppRelation], missing: [String]) {
    var missing: [String] = []
    var out: [AppRelation] = []
    for r in shape {
      guard let live = catalog.relation(r.name), live.kind != "v" else {
        missing.append("relation \(r.name)")
        continue
      }
      var columns: [ShapeColumn] = []
      for c in r.columns {
        if let l = live.column(c.name) { columns.append(l) } else { missing.append("column \(r.name).\(c.name)") }
      }
      let required = Set(columns.filter { $0.notNull && !$0.hasDefault && !$0.databaseFilled }.map(\.name))
      out.append(
        AppRelation(
          name: r.name, physical: r.name, key: live.primaryKey.compactMap(live.column), columns: columns, required: required,
          uniqueKeys: live.uniqueKeys, rows: live.rowCount))
    }
    return (out, missing)
  }

  /// What the app knew of the column (name, nullability, default) with the live table's facts
  /// (checks, keys) that decide which values it may write.
  private static func merge(old: ShapeColumn, live: ShapeColumn) -> ShapeColumn {
    var c = old
    c.inCheck = live.inCheck
    c.inForeignKey = live.inForeignKey
    if old.type != live.type { c.type = live.type }
    return c
  }
}
