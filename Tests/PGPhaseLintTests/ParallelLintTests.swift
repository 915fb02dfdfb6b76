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

  /// Files handed over by a loader (the command line reads them on the parsing workers): a file
  /// the loader gives nil for has nil findings, and what the earlier files taught still reaches
  /// the later ones.
  @Test func loadedFilesGiveTheSequentialAnswer() {
    var texts: [String?] = []
    for i in 0..<300 {
      switch i % 3 {
      case 0: texts.append("CREATE TABLE t\(i) (v varchar(10), n int);")
      case 1: texts.append(nil)
      default:
        texts.append("SET lock_timeout = '1s';\nALTER TABLE t\(i - 2) ALTER COLUMN v TYPE text;")
      }
    }
    let inputs = texts.enumerated().map { i, text in
      text.map { Linter.Input(source: SQLSource(file: "\(i).sql", text: $0)) }
    }
    var loaded = Linter()
    let together = loaded.lint(count: inputs.count) { inputs[$0] }
    var sequential = Linter()
    let oneByOne = inputs.map { input in input.map { sequential.lint($0.source) } }
    #expect(together == oneByOne)
    #expect(together.count == 300)
    #expect(together[1] == nil)
    // varchar to text is binary-compatible: known only from file 0's CREATE TABLE, across file 1.
    #expect(together[2] == [])
    var fresh = Linter()
    #expect(fresh.lint(inputs[2]!.source).map(\.rule) == [.columnTypeRewrite])
  }
}
