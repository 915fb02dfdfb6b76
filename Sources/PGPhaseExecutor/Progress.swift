import Foundation

/// How long-running work (index builds, backfills) shows progress.
public enum ProgressStyle: Sendable {
  /// A bar redrawn in place with `\r`: for a person at a terminal.
  case bar
  /// A plain line at most every `interval` seconds: readable in CI and Kubernetes logs.
  case lines
}

/// Throttled progress output for one piece of long work.
///
/// Callers report as often as they like; the reporter decides what to print: with `.bar` at most
/// ten redraws a second, fitted to the terminal's width (a line wider than the screen wraps, and
/// each redraw then scrolls instead of redrawing in place); with `.lines` one line per interval.
/// `finish` ends a bar with a newline.
package final class ProgressReporter {
  package let label: String
  package let style: ProgressStyle
  package let interval: Double
  private let write: (String) -> Void
  private let width: () -> Int?
  private let start = Date()
  private var lastPrint: Date?
  private var drewBar = false

  /// - Parameters:
  ///   - write: where text goes (stderr); with `.bar` it receives partial lines starting with
  ///     `\r` and no newline.
  ///   - width: the terminal's columns now (nil: unknown), read at every redraw of a bar.
  package init(
    label: String, style: ProgressStyle, interval: Double, width: @escaping () -> Int? = { nil },
    write: @escaping (String) -> Void
  ) {
    self.label = label
    self.style = style
    self.interval = interval
    self.width = width
    self.write = write
  }

  /// Seconds since the reporter was made.
  package var elapsed: Double { Date().timeIntervalSince(start) }

  /// Reports `done` of `total` units (nil total: unknown; an empty `unit`: no counts) and a
  /// free-form detail (rate, phase, who blocks, why it pauses). Prints only when the throttle
  /// allows, or always when `force`.
  package func update(done: Int64, total: Int64?, unit: String, detail: String = "", force: Bool = false) {
    let now = Date()
    let minimum = style == .bar ? 0.1 : interval
    if !force, let lastPrint, now.timeIntervalSince(lastPrint) < minimum { return }
    if !force, lastPrint == nil, style == .lines, now.timeIntervalSince(start) < interval { return }
    lastPrint = now
    let line = ProgressLine(label: label, done: done, total: total, unit: unit, detail: detail)
    switch style {
    case .bar:
      write("\r\u{1B}[2K" + line.fitted(to: width()))
      drewBar = true
    case .lines:
      write(line.plain + "\n")
    }
  }

  /// Ends the bar's line, if one was drawn, and prints `summary` when given.
  package func finish(_ summary: String? = nil) {
    if drewBar { write("\n") }
    drewBar = false
    if let summary { write("\(label): \(summary)\n") }
  }
}

/// One progress report, rendered as a plain log line or as a bar that fits a width.
package struct ProgressLine: Equatable, Sendable {
  package var label: String
  package var done: Int64
  package var total: Int64?
  package var unit: String
  package var detail: String

  package init(label: String, done: Int64, total: Int64?, unit: String, detail: String) {
    self.label = label
    self.done = done
    self.total = total
    self.unit = unit
    self.detail = detail
  }

  var fraction: Double? { total.flatMap { $0 > 0 ? min(1, Double(done) / Double($0)) : nil } }
  var percent: String { fraction.map { String(format: "%3.0f%%", $0 * 100) } ?? "" }
  var counts: String { unit.isEmpty ? "" : total.map { "\(done)/\($0) \(unit)" } ?? "\(done) \(unit)" }

  /// `label: 42% 420/1000 rows detail`, for logs.
  package var plain: String {
    "\(label):" + [percent, counts, detail].filter { !$0.isEmpty }.map { " " + $0 }.joined()
  }

  /// The bar line in at most `width - 1` columns (the last column is left free: writing into it
  /// makes some terminals wrap). What gives way first: the bar narrows from 24 to 10 cells and then
  /// goes, the counts go, the detail is cut (a pause reason is in the detail: it is kept as long as
  /// anything else of the detail), then the label is cut in the middle. Nil width: the full line.
  package func fitted(to width: Int?) -> String {
    func bar(_ cells: Int) -> String {
      guard let fraction, cells > 0 else { return "" }
      let filled = Int(fraction * Double(cells))
      return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: cells - filled) + "]"
    }
    func join(_ parts: [String]) -> String { parts.filter { !$0.isEmpty }.joined(separator: " ") }
    guard let width else { return join([label, bar(24), percent, counts, detail]) }
    let room = max(1, width - 1)
    for cells in [24, 20, 16, 12, 10, 0] {
      let line = join([label, bar(cells), percent, counts, detail])
      if line.count <= room { return line }
    }
    let noCounts = join([label, percent, detail])
    if noCounts.count <= room { return noCounts }
    // The detail is cut to what is left after the label (at most half the room) and the percent.
    let head = Self.cutMiddle(label, to: max(8, room / 2))
    let fixed = join([head, percent])
    let left = room - fixed.count - 1
    if left >= 8 { return fixed + " " + Self.cutEnd(detail, to: left) }
    return Self.cutEnd(join([head, percent, detail]), to: room)
  }

  /// `text` in at most `n` characters, ending in `…` when cut.
  static func cutEnd(_ text: String, to n: Int) -> String {
    guard text.count > n else { return text }
    guard n > 1 else { return String(text.prefix(n)) }
    return String(text.prefix(n - 1)) + "…"
  }

  /// `text` in at most `n` characters, its middle replaced by `…` when cut (an intent id's date
  /// and a step's name both stay readable).
  static func cutMiddle(_ text: String, to n: Int) -> String {
    guard text.count > n else { return text }
    guard n > 2 else { return String(text.prefix(n)) }
    let tail = (n - 1) / 2
    return String(text.prefix(n - 1 - tail)) + "…" + String(text.suffix(tail))
  }
}
