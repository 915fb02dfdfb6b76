import PGPhaseLint
import PGPhaseModel
import PGPhaseSQL
import Testing

/// Files are parsed on worker threads ahead of the rules: the findings must be exactly those of
/// linting the files one by one, in order, including what one file teaches the next.
@Suite struct ParallelLintTests {
  @Test func parallelParsingGivesTheSequentialAnswer() {
    var inputs: [Linter.Input] = []
    for i in 0..<600 {
      let sql: String
      switch i % 4 {
      case 0: sql = "CREATE TABLE t\(i) (v varchar(10), n int);"
      case 1:
        sql =
          "SET lock_timeout = '1s';\nALTER TABLE t\(i - 1) ALTER COLUMN v TYPE text;\nALTER TABLE t\(i - 1) ALTER COLUMN n TYPE bigint;"
      case 2: sql = "CREATE INDEX i\(i) ON t\(i - 2) (n);\nSELEC \(i);"
      default: sql = "-- pgphase:ignore drop-table reason\nDROP TABLE t\(i - 3);"
      }
      inputs.append(Linter.Input(source: SQLSource(file: "\(i).sql", text: sql)))
    }
    var parallel = Linter()
    let together = parallel.lint(inputs)
    var sequential = Linter()
    let oneByOne = inputs.map { sequential.lint($0.source) }
    #expect(together == oneByOne)
    #expect(together.count == 600)
    // The type change is known binary-compatible only from the earlier file's CREATE TABLE.
    #expect(together[1].map(\.rule) == [.columnTypeRewrite])
  }
}
