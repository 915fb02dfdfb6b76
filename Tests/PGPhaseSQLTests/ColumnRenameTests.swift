import PGPhaseSQL
import Testing

/// Renaming a column's references in definitions: only references change, never a string, a
/// type, a function or another column that shares the name's spelling.
@Suite struct ColumnRenameTests {
  @Test(arguments: [
    ("(amount > 0)", "(_new > 0)"),
    ("((amount > 0) AND (amount < 100))", "((_new > 0) AND (_new < 100))"),
    ("(amount::text <> 'amount')", "(_new::text <> 'amount')"),
    ("amount(amount)", "amount(_new)"),
    ("lower(\"amount\")", "lower(_new)"),
    ("(t.amount > other_amount)", "(t._new > other_amount)"),
    ("(NEW.amount IS DISTINCT FROM OLD.amount)", "(NEW._new IS DISTINCT FROM OLD._new)"),
    ("(\"Amount\" > 0)", "(\"Amount\" > 0)"),
    ("(x > 0) -- amount", "(x > 0) -- amount"),
  ])
  func expressions(input: String, expected: String) {
    #expect(ColumnRename.expression(input, from: "amount", to: "_new") == expected)
  }

  @Test func aNewNameThatNeedsQuotes() {
    #expect(ColumnRename.expression("(amount > 0)", from: "amount", to: "Amount 2") == "(\"Amount 2\" > 0)")
  }

  @Test func aColumnNamedLikeAnUnreservedKeyword() {
    #expect(ColumnRename.expression("(value > 0)", from: "value", to: "v2") == "(v2 > 0)")
    #expect(ColumnRename.constraint("UNIQUE (value, other)", from: "value", to: "v2") == "UNIQUE (v2, other)")
  }

  @Test func constraintDefinitions() {
    #expect(ColumnRename.constraint("CHECK ((amount >= 0)) NOT VALID", from: "amount", to: "a2") == "CHECK ((a2 >= 0)) NOT VALID")
    #expect(ColumnRename.constraint("PRIMARY KEY (id)", from: "id", to: "id2") == "PRIMARY KEY (id2)")
    #expect(
      ColumnRename.constraint("UNIQUE NULLS NOT DISTINCT (a, b) INCLUDE (b, c)", from: "b", to: "b2")
        == "UNIQUE NULLS NOT DISTINCT (a, b2) INCLUDE (b2, c)")
    // The local columns change; the referenced ones, in another table, do not.
    #expect(
      ColumnRename.constraint(
        "FOREIGN KEY (parent_id) REFERENCES public.parents(parent_id) ON DELETE CASCADE", from: "parent_id", to: "p2")
        == "FOREIGN KEY (p2) REFERENCES public.parents(parent_id) ON DELETE CASCADE")
    #expect(
      ColumnRename.referencedColumn("FOREIGN KEY (item_id) REFERENCES public.items(id) NOT VALID", from: "id", to: "id2")
        == "FOREIGN KEY (item_id) REFERENCES public.items(id2) NOT VALID")
    #expect(ColumnRename.referencedColumn("FOREIGN KEY (item_id) REFERENCES items ON DELETE CASCADE", from: "id", to: "x") == nil)
    #expect(ColumnRename.constraint("CHECK ((", from: "a", to: "b") == nil)
  }

  @Test func triggersAndStatistics() {
    #expect(
      ColumnRename.statement(
        "CREATE TRIGGER audit BEFORE UPDATE OF amount, note ON public.items FOR EACH ROW WHEN ((old.amount IS DISTINCT FROM new.amount)) EXECUTE FUNCTION public.audit()",
        from: "amount", to: "a2")
        == "CREATE TRIGGER audit BEFORE UPDATE OF a2, note ON public.items FOR EACH ROW WHEN ((old.a2 IS DISTINCT FROM new.a2)) EXECUTE FUNCTION public.audit()"
    )
    #expect(
      ColumnRename.statement(
        "CREATE STATISTICS public.items_stats (ndistinct) ON amount, note, (amount * 2) FROM public.items", from: "amount",
        to: "a2") == "CREATE STATISTICS public.items_stats (ndistinct) ON a2, note, (a2 * 2) FROM public.items")
  }
}
