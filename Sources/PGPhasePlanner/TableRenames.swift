import PGPhaseModel

/// The `rename_table` changes of one intent, and what every other change's table names resolve to.
///
/// A rename runs first in expand, so the old name is a view over the renamed table from then on,
/// showing only the columns the old app knows. Every later step (the rest of expand, every
/// backfill, every contract step) runs after it, so a change that names the table, by either
/// name and wherever it stands in the file, acts on the renamed table: its backfill walks the
/// table, not the view; its triggers, constraints and indexes go on the table; its
/// postconditions name what `verify` will find. The view is dropped first in contract, before
/// anything drops a column it reads.
struct TableRenames {
  /// The renames that run first, in file order: the change's index and the table it renames
  /// (an earlier rename of the same intent already applied).
  private(set) var first: [(index: Int, from: QualifiedName, to: String)] = []
  private var targets: [SchemaModel.TableKey: QualifiedName] = [:]

  init(_ changes: [Change]) {
    var createdHere: Set<SchemaModel.TableKey> = []
    for (i, change) in changes.enumerated() {
      switch change.operation {
      case .createTable(let op):
        createdHere.insert(SchemaModel.TableKey(op.table))
      case .renameTable(let from, let to):
        // A table this intent creates does not exist before its create_table runs: that
        // rename stays where it is written.
        let from = resolve(from)
        guard !createdHere.contains(SchemaModel.TableKey(from)) else { continue }
        first.append((i, from, to))
        let target = from.sibling(to)
        for (key, value) in targets where value == from { targets[key] = target }
        targets[SchemaModel.TableKey(from)] = target
      default:
        break
      }
    }
  }

  /// The table `name` denotes once the renames have run.
  func resolve(_ name: QualifiedName) -> QualifiedName { targets[SchemaModel.TableKey(name)] ?? name }

  /// `operation` with every table it acts on or references resolved (a create_table's own name
  /// and raw `sql` are left as written). Not for the renames in `first`, which run before the rest.
  func resolve(_ operation: Operation) -> Operation {
    switch operation {
    case .createTable(var op):
      op.columns = op.columns.map { c in
        var c = c
        if let r = c.references { c.references?.table = resolve(r.table) }
        return c
      }
      op.constraints = op.constraints.map { k in
        var k = k
        if case .foreignKey(let columns, var target, let onDelete, let onUpdate) = k.kind {
          target.table = resolve(target.table)
          k.kind = .foreignKey(columns: columns, references: target, onDelete: onDelete, onUpdate: onUpdate)
        }
        return k
      }
      return .createTable(op)
    case .dropTable(let t): return .dropTable(table: resolve(t))
    case .renameTable(let from, let to): return .renameTable(from: resolve(from), to: to)
    case .addColumn(var op):
      op.table = resolve(op.table)
      if let r = op.column.references { op.column.references?.table = resolve(r.table) }
      return .addColumn(op)
    case .dropColumn(let t, let c): return .dropColumn(table: resolve(t), column: c)
    case .renameColumn(var op):
      op.table = resolve(op.table)
      return .renameColumn(op)
    case .alterColumn(var op):
      op.table = resolve(op.table)
      return .alterColumn(op)
    case .setNotNull(let t, let c, let b): return .setNotNull(table: resolve(t), column: c, backfill: b)
    case .dropNotNull(let t, let c): return .dropNotNull(table: resolve(t), column: c)
    case .setDefault(let t, let c, let d): return .setDefault(table: resolve(t), column: c, default: d)
    case .dropDefault(let t, let c): return .dropDefault(table: resolve(t), column: c)
    case .addCheck(let t, let n, let e): return .addCheck(table: resolve(t), name: n, expression: e)
    case .addForeignKey(var op):
      op.table = resolve(op.table)
      op.references.table = resolve(op.references.table)
      return .addForeignKey(op)
    case .addUnique(let t, let n, let c): return .addUnique(table: resolve(t), name: n, columns: c)
    case .dropConstraint(let t, let n): return .dropConstraint(table: resolve(t), name: n)
    case .renameConstraint(let t, let from, let to): return .renameConstraint(table: resolve(t), from: from, to: to)
    case .commentTable(let t, let c): return .commentTable(table: resolve(t), comment: c)
    case .commentColumn(let t, let column, let c): return .commentColumn(table: resolve(t), column: column, comment: c)
    case .setReplicaIdentity(let t, let identity): return .setReplicaIdentity(table: resolve(t), identity: identity)
    case .createIndex(var op):
      op.table = resolve(op.table)
      return .createIndex(op)
    case .backfill(var op):
      op.table = resolve(op.table)
      return .backfill(op)
    case .dropIndex, .sql:
      return operation
    }
  }
}
