package import PGPhaseModel

/// Which tables a statement changes rows of.
package enum DataChanges {
  /// Targets of INSERT, UPDATE, DELETE and MERGE anywhere in a statement (data-modifying CTEs
  /// included), and of COPY ... FROM.
  package static func targets(of statement: ParsedStatement) -> [QualifiedName] {
    var out: [QualifiedName] = []
    JSONValue.object([(statement.type, statement.fields)]).walk { value in
      guard let (type, fields) = value.node else { return }
      switch type {
      case "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt":
        if let table = fields["relation"]?.qualifiedName { out.append(table) }
      case "CopyStmt":
        if fields["is_from"]?.bool == true, let table = fields["relation"]?.qualifiedName { out.append(table) }
      default: break
      }
    }
    return out
  }
}
