import Testing

@testable import PGPhaseExecutor

/// A bar line must fit the terminal: wider, it wraps and every redraw scrolls a new line.
@Suite struct ProgressLineTests {
  let line = ProgressLine(
    label: "20261120_incident_severity backfill/01-backfill-incidents-severity-level", done: 420_000, total: 1_000_000,
    unit: "rows", detail: "paused: replica standby1 replay lag 14s > 10s")

  @Test func theFullLineWhenTheWidthIsUnknown() {
    #expect(
      line.fitted(to: nil)
        == "20261120_incident_severity backfill/01-backfill-incidents-severity-level [##########..............]  42% 420000/1000000 rows paused: replica standby1 replay lag 14s > 10s"
    )
    #expect(
      line.plain.hasPrefix(
        "20261120_incident_severity backfill/01-backfill-incidents-severity-level:  42% 420000/1000000 rows paused"))
  }

  @Test func everyWidthFitsInAllButTheLastColumn() {
    let variants = [
      line, ProgressLine(label: "x", done: 1, total: nil, unit: "blocks", detail: ""),
      ProgressLine(
        label: String(repeating: "l", count: 300), done: 5, total: 10, unit: "rows", detail: String(repeating: "d", count: 300)),
      ProgressLine(label: "idx", done: 0, total: nil, unit: "", detail: "waiting to start, paused: replica r replay lag 3s > 1s"),
    ]
    for v in variants {
      for width in 1...200 {
        let text = v.fitted(to: width)
        #expect(text.count <= max(1, width - 1), "width \(width): \(text.count) columns: \(text)")
        #expect(!text.contains("\n"))
      }
    }
  }

  @Test func thePauseReasonOutlivesTheBarAndTheCounts() {
    let at80 = line.fitted(to: 80)
    #expect(at80.count <= 79)
    #expect(at80.contains("paused: replica standby1"), "\(at80)")
    #expect(!at80.contains("[#"), "the bar gave way first: \(at80)")
    let at120 = line.fitted(to: 120)
    #expect(at120.contains("paused: replica standby1 replay lag 14s > 10s"), "\(at120)")
  }

  @Test func theBarNarrowsBeforeItGoes() {
    let short = ProgressLine(label: "t backfill/01", done: 50, total: 100, unit: "rows", detail: "1000 rows/s")
    let wide = short.fitted(to: 100)
    #expect(wide.contains("[" + String(repeating: "#", count: 12) + String(repeating: ".", count: 12) + "]"))
    let narrow = short.fitted(to: 60)
    #expect(narrow == "t backfill/01 [######......]  50% 50/100 rows 1000 rows/s", "\(narrow)")
    #expect(!short.fitted(to: 50).contains("["), "no room for the narrowest bar")
  }

  @Test func cutsKeepBothEndsOfALabel() {
    #expect(ProgressLine.cutMiddle("20261120_incident_severity", to: 11) == "20261…erity")
    #expect(ProgressLine.cutEnd("paused: replica", to: 8) == "paused:…")
  }
}
