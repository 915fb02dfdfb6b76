import PGPhaseModel
import Testing

/// Hints that suggest SQL quote names as PostgreSQL needs them (issue 13, finding 6): the hint
/// for a column named `order` said `down: "order::<old type>"`, which is a syntax error.
@Suite struct HintTests {
  @Test(arguments: [
    ("order", "'\"order\"::<old type>'"), ("Total", "'\"Total\"::<old type>'"), ("amount", "'amount::<old type>'"),
  ])
  func theDownHintQuotesTheColumn(column: String, expected: String) {
    let d = planErrors("  - alter_column: {table: orders, column: \(column), type: bigint, up: \"1\"}\n")
    let hint = d.first { $0.message.contains("needs `down`") }?.hint
    #expect(hint == "for a type change write e.g. `down: \(expected)`", "\(d.map(\.description))")
  }
}
