import PGPhaseModel
import Testing

/// What the planner (for user `sql` changes) and the format-1 reader see in SQL text.
@Suite struct StatementShapeTests {
  @Test(arguments: [
    (
      "REINDEX INDEX CONCURRENTLY public.t_v_idx",
      StatementShape.reindexIndexConcurrently(QualifiedName(schema: "public", "t_v_idx"))
    ),
    ("reindex (verbose) index concurrently T_V_Idx;", .reindexIndexConcurrently(QualifiedName("t_v_idx"))),
    (
      "REINDEX INDEX CONCURRENTLY \"Odd\".\"My \"\"Idx\"\"\" ;\n",
      .reindexIndexConcurrently(QualifiedName(schema: "Odd", "My \"Idx\""))
    ),
    ("DROP INDEX CONCURRENTLY t_v_idx", .dropIndexConcurrently(QualifiedName("t_v_idx"))),
    ("-- drop it\nDROP INDEX CONCURRENTLY IF EXISTS s.i RESTRICT", .dropIndexConcurrently(QualifiedName(schema: "s", "i"))),
    (
      "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS k ON ONLY public.t USING btree (a, (lower(b))) WHERE a > 0",
      .createIndexConcurrently(
        unique: true, name: "k", table: QualifiedName(schema: "public", "t"),
        definition: "USING btree (a, (lower(b))) WHERE a > 0")
    ),
    (
      "CREATE INDEX CONCURRENTLY i ON t (a) /* trailing */;",
      .createIndexConcurrently(unique: false, name: "i", table: QualifiedName("t"), definition: "(a)")
    ),
    (
      "ALTER TABLE public.t VALIDATE CONSTRAINT t_b_check",
      .validateConstraint(table: QualifiedName(schema: "public", "t"), name: "t_b_check")
    ),
    ("VACUUM (ANALYZE) incidents, check_runs", .other(concurrently: false)),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", .other(concurrently: true)),
    // Two statements are never one index step.
    ("DROP INDEX CONCURRENTLY a; DROP INDEX CONCURRENTLY b", .other(concurrently: true)),
    ("REINDEX INDEX CONCURRENTLY a; SELECT 1", .other(concurrently: true)),
    // The word in a comment, a string, a dollar-quoted body or a quoted identifier is not a keyword.
    ("SELECT 'CONCURRENTLY' -- CONCURRENTLY\n", .other(concurrently: false)),
    ("SELECT E'it\\'s CONCURRENTLY', \"CONCURRENTLY\" /* CONCURRENTLY /* nested */ */", .other(concurrently: false)),
    ("DO $x$ BEGIN EXECUTE 'REINDEX INDEX CONCURRENTLY i'; END $x$", .other(concurrently: false)),
    ("REINDEX INDEX i", .other(concurrently: false)),
    ("DROP INDEX CONCURRENTLY i CASCADE", .other(concurrently: true)),
  ])
  func reads(sql: String, shape: StatementShape) {
    #expect(StatementShape(sql) == shape, "\(sql)")
  }
}
