// pgphase-schema-bench: how long reading a large schema file takes (the file reader), and
// rendering it back (the canonical form), on a generated schema of N tables in the canonical form
// `pgphase schema dump` writes: each table with 8 columns (identity key, text, numeric with a
// default, timestamps, a foreign key to the table before it), a CHECK, two indexes (one partial,
// one on an expression) and comments.
//
//   swift run -c release pgphase-schema-bench [TABLES] [ROUNDS]      (default 1000 tables, 5 rounds)
import Foundation
import PGPhaseModel
import PGPhaseSQL
import PGPhaseSchema

typealias S = SchemaSnapshot

func generate(_ count: Int) -> SchemaSnapshot {
  var snapshot = SchemaSnapshot()
  for t in 0..<count {
    let name = QualifiedName(schema: "public", "table_\(t)")
    var table = S.Table(name: name, comment: "Table \(t)")
    table.columns = [
      S.Column(
        name: "id", type: "bigint", notNull: .init(name: S.NotNull.defaultName(table: name.name, column: "id")),
        identity: .init(kind: .always, sequence: name.sibling("table_\(t)_id_seq"), options: .init())),
      S.Column(name: "title", type: "text", notNull: .init(name: S.NotNull.defaultName(table: name.name, column: "title"))),
      S.Column(name: "amount", type: "numeric(12,2)", defaultExpression: "0"),
      S.Column(name: "status", type: "text", defaultExpression: "'open'::text", comment: "lifecycle"),
      S.Column(name: "created_at", type: "timestamp with time zone", defaultExpression: "now()"),
      S.Column(name: "updated_at", type: "timestamp with time zone"),
      S.Column(name: "parent_id", type: "bigint"),
      S.Column(name: "note", type: "character varying(200)"),
    ]
    table.constraints.insert(.init(name: "\(name.name)_pkey", kind: .primaryKey, definition: "PRIMARY KEY (id)", columns: ["id"]))
    table.constraints.insert(
      .init(name: "\(name.name)_amount_check", kind: .check, definition: "CHECK ((amount >= (0)::numeric))", columns: ["amount"]))
    if t > 0 {
      let parent = QualifiedName(schema: "public", "table_\(t - 1)")
      table.constraints.insert(
        .init(
          name: "\(name.name)_parent_id_fkey", kind: .foreignKey,
          definition: "FOREIGN KEY (parent_id) REFERENCES \(parent.sql)(id) ON DELETE CASCADE", columns: ["parent_id"],
          references: .init(table: parent, columns: ["id"])))
    }
    table.indexes.insert(
      .init(
        name: "\(name.name)_open_idx", keys: [.init(column: "created_at", options: "DESC")],
        predicate: "(status = 'open'::text)", columns: ["status", "created_at"]))
    table.indexes.insert(.init(name: "\(name.name)_title_idx", keys: [.init(expression: "lower(title)")], columns: ["title"]))
    snapshot.tables.insert(table)
  }
  return snapshot
}

let arguments = CommandLine.arguments
let count = arguments.count > 1 ? Int(arguments[1]) ?? 1000 : 1000
let rounds = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5
let sql = generate(count).canonicalSQL()
print("schema of \(count) tables: \(sql.utf8.count) bytes, \(sql.split(separator: "\n").count) lines")

func measure(_ label: String, _ body: () -> Void) {
  var times: [Double] = []
  for _ in 0..<rounds {
    let start = Date()
    body()
    times.append(Date().timeIntervalSince(start) * 1000)
  }
  times.sort()
  print(String(format: "%@: median %.0f ms, min %.0f ms (%d rounds)", label, times[times.count / 2], times[0], rounds))
}

measure("  of which: scan") { _ = SQLScanner.tokens(sql) }
measure("  of which: parse") { _ = SQLParser.parse(SQLSource(file: "schema.sql", text: sql)) }
var reading: SchemaFileReading?
measure("read") { reading = SchemaFileReader.read(sql, file: "schema.sql") }
guard let reading, reading.diagnostics.isEmpty, reading.snapshot.tables.count == count else {
  print("the file did not read back: \(reading?.diagnostics.prefix(3) ?? [])")
  exit(1)
}
measure("render") { _ = reading.snapshot.canonicalSQL() }
measure("compare") { _ = reading.snapshot.differences(to: reading.snapshot) }
print(reading.snapshot.canonicalSQL() == sql ? "read back and rendered: the same bytes" : "rendered differently")
