import Foundation
import PGPhaseModel
import Testing

/// Every command prints a problem one way: `<place>: severity: message`, then detail, statement
/// and hint on indented lines.
@Suite struct DiagnosticTests {
  @Test func aFileProblemIsPlacedAtItsLineAndColumn() {
    let d = Diagnostic.error(
      "unknown key `colum`", at: SourceLocation(file: "intents/a.yaml", line: 4, column: 7), hint: "did you mean `column`?")
    #expect(d.description == "intents/a.yaml:4:7: error: unknown key `colum`\n  hint: did you mean `column`?")
  }

  @Test func aStepProblemIsPlacedAtItsIntentAndStep() {
    var d = Diagnostic.error("failed: relation \"t\" already exists", intent: "20261120_x", step: "expand/01-create-table-t")
    d.context[Diagnostic.ContextKey.sqlState] = "42P07"
    d.context[Diagnostic.ContextKey.statement] = "CREATE TABLE t ()"
    #expect(
      d.description
        == "20261120_x expand/01-create-table-t: error: failed: relation \"t\" already exists (SQLSTATE 42P07)\n  statement: CREATE TABLE t ()"
    )
    #expect(d.sqlState == "42P07")
    #expect(Diagnostic.error("waits", intent: "20261120_x").description == "20261120_x: error: waits")
  }

  @Test func withoutAPlaceOnlyTheSeverityLeads() {
    #expect(Diagnostic.error("could not connect", at: nil).description == "error: could not connect")
  }

  /// A file without a position (a plan that cannot be read) or an object is the place when
  /// there is nothing more precise.
  @Test func anObjectIsThePlaceOfLastResort() {
    let file = Diagnostic(.error, "not a readable pgphase plan", at: nil, object: "plans/a/plan.json")
    #expect(file.description == "plans/a/plan.json: error: not a readable pgphase plan")
    var step = Diagnostic.error("failed: x", intent: "a", step: "expand/01-x", object: "public.i")
    #expect(step.description == "a expand/01-x: error: failed: x")
    step.location = SourceLocation(file: "a.yaml", line: 2, column: 3)
    #expect(step.description == "a.yaml:2:3: error: failed: x")
  }

  @Test func roundTripsAsJSON() throws {
    var d = Diagnostic(.warning, "m", at: nil, object: "public.t", context: ["intent": "i"], hint: "h")
    d.context["step"] = "expand/01-a"
    let data = try JSONEncoder().encode(d)
    #expect(try JSONDecoder().decode(Diagnostic.self, from: data) == d)
    let plain = try JSONEncoder().encode(Diagnostic.error("x", at: nil))
    #expect(!String(decoding: plain, as: UTF8.self).contains("context"), "an empty context is left out")
  }
}
